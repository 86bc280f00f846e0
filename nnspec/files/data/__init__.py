"""Data sets as a spec's train block names them: a generator (`data = shapes(2000)`),
a named set (`data = mnist`), or the user's files (`data = "digits.npz"`, see sets.py)."""
from dataclasses import dataclass

import numpy as np

from ...engine import preprocess
from ...errors import DataError
from ...lang.ir import Call
from ...lang.signature import suggest
from . import generators, named, sets
from .sets import Dataset


GENERATORS = {"shapes": generators.shapes, "spiral": generators.spiral,
              "vertical": generators.vertical, "sine": generators.sine, "xor": generators.xor}
IMAGES = {"shapes"}  # data sets of images, which infer may be given as 8-bit pixels


def load(spec, rng, data_dir=None, base=None, input_shape=()):
    """A train block's `data` value (a name, a path or a Call) -> Dataset.
    base: the folder relative paths start from; input_shape: the spec's, for images."""
    if sets.is_file_set(spec):
        return sets.load(spec, base, input_shape)
    call = spec if isinstance(spec, Call) else Call(str(spec))
    if call.name in named.SETS:
        n, test = _sizes(call)
        x, y, tx, ty, classes = named.load(call.name, data_dir)
        return Dataset(x[:n], y[:n], classes, True, (tx[:test], ty[:test]))  # the first samples
    make = GENERATORS.get(call.name)
    if make is None:
        known = [*GENERATORS, *named.SETS, *sets.FORMS]
        raise DataError(f"unknown data set '{call.name}'{suggest(call.name, known)} "
                        f"(known: {', '.join(known)})")
    try:
        x, y, classes = make(rng, *call.args, **dict(call.kwargs))
    except TypeError as e:
        raise DataError(f"data set {call}: {e}") from None
    return Dataset(x, y, classes, call.name in IMAGES)


def _sizes(call):
    """mnist(n=12000, test=2000): how many training and test samples to keep (all
    by default); `n` may also be given first, as mnist(12000)."""
    options = dict(zip(("n", "test"), call.args)) | dict(call.kwargs)
    unknown = set(options) - {"n", "test"} or len(call.args) > 2
    if unknown:
        raise DataError(f"data set {call}: takes n (training samples) and test (test samples)")
    for key, value in options.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(f"data set {call}: {key} must be a whole number of at least 1")
    return options.get("n"), options.get("test")


@dataclass
class Splits:
    train: tuple  # (x, y)
    validation: tuple  # (x, y), or None when the split gives it nothing
    test: tuple  # (x, y), or None
    classes: tuple = None
    scale: object = "none"  # the `scale` setting's value (engine/preprocess.py: make)
    features: tuple = None
    draw: object = None
    label: str = None  # where the labels come from (a CSV's column), for the header  # resample = true: epoch -> that epoch's training (x, y)


def prepare(config, rng, data_dir=None, base=None, input_shape=()):
    """A train config's data set, generated or loaded and split, all from rng.
    A data set with its own test part keeps it as the test set; the split's
    train and validation shares then divide the rest (its test share is unused)."""
    if config.data is None:
        raise DataError("the spec names no data; add e.g. 'data = shapes(2000)' to its train block")
    ds = load(config.data, rng, data_dir, base, input_shape)
    scale = config.scale or ("pixels" if ds.pixels else "none")
    if preprocess.kind_of(scale) == "pixels":  # 8-bit pixels are scaled once, here
        ds.x = _pixels(ds.x, scale)
        ds.test = None if ds.test is None else (_pixels(ds.test[0], scale), ds.test[1])
    fractions = config.split
    fresh = None
    if config.validation is not None:  # drawn after the data set, from the same rng
        fresh = _validation(config, ds, scale, rng, data_dir, base, input_shape)
        fractions = (fractions[0] + fractions[1], 0.0, fractions[2])  # no share set aside
    kept = fractions[0] + fractions[1]
    if ds.test is not None and kept > 0:
        fractions = (fractions[0] / kept, fractions[1] / kept, 0.0)
    parts = [(ds.x[i], ds.y[i]) if len(i) else None
             for i in split(len(ds.x), fractions, rng, config.shuffle)]
    if ds.test is not None:
        parts[2] = ds.test
    if fresh is not None:
        parts[1] = fresh
    if parts[0] is None:
        raise DataError(f"split {'/'.join(f'{f:g}' for f in config.split)} of {len(ds.x)} "
                        "samples leaves none for training")
    draw = _redraw(config, parts[0], fractions, scale, rng) if config.resample else None
    return Splits(*parts, classes=ds.classes, scale=scale, features=ds.features, draw=draw,
                  label=ds.label)


def _redraw(config, first, fractions, scale, rng):
    """resample = true: epoch -> its training (x, y). Epoch 0 has the split's; each
    later one a fresh draw of the generator, split as the first was, from a seed of
    its own (the data seed's and the epoch's), so a resumed run draws the same."""
    call = config.data if isinstance(config.data, Call) else Call(str(config.data))
    if sets.is_file_set(config.data) or call.name not in GENERATORS:
        raise DataError(f"resample: {config.data} is read once; resample draws each epoch "
                        f"anew from a generator ({', '.join(GENERATORS)})")
    base = int(rng.integers(1 << 63))  # drawn last: the data and its split are as without

    def draw(epoch):
        if epoch == 0:
            return first
        ds = load(call, np.random.default_rng((base, epoch)))
        x = _pixels(ds.x, scale) if preprocess.kind_of(scale) == "pixels" else ds.x
        train = split(len(x), fractions, np.random.default_rng((base, epoch, 1)), config.shuffle)[0]
        return x[train], ds.y[train]
    return draw


def _validation(config, ds, scale, rng, data_dir, base, input_shape):
    """The `validation` setting's data set as (x, y), scaled as the training data."""
    try:
        vds = load(config.validation, rng, data_dir, base, input_shape)
    except DataError as e:
        raise DataError(f"validation: {e}") from None
    if vds.classes != ds.classes or vds.features != ds.features:
        raise DataError(f"validation: {config.validation} names other classes or features "
                        "than the data")
    x = _pixels(vds.x, scale) if preprocess.kind_of(scale) == "pixels" else vds.x
    return x, vds.y


def _pixels(x, setting):
    """Integer pixels -> float32 in [0, 1] (or pixels(LOW, HIGH)'s range), as the
    preprocessing maps them; floats are taken to be scaled already (a generator's
    images)."""
    pixels = preprocess.make(setting)
    return preprocess.apply(pixels, x, np.float32) if preprocess.applies(pixels, x) else x


def split(n, fractions, rng, shuffle=True):
    """Index arrays (train, validation, test) in the given fractions: shuffled, or
    with shuffle=False the data set's first samples for training, then validation."""
    order = rng.permutation(n) if shuffle else np.arange(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
