"""Data sets as a spec's train block names them: a generator (`data = shapes(2000)`),
a named set (`data = mnist`), or the user's files (`data = "digits.npz"`, see sets.py)."""
import dataclasses
from dataclasses import dataclass

import numpy as np

from ...engine import preprocess
from ...errors import DataError
from ...lang.ir import Call
from ...lang.signature import suggest
from . import generators, named, sets
from .sets import Dataset


GENERATORS = {"shapes": generators.shapes, "spiral": generators.spiral,
              "vertical": generators.vertical, "sine": generators.sine, "xor": generators.xor,
              "glyphs": generators.glyphs}
IMAGES = {"shapes": {"input"}, "glyphs": {"image"}}  # the inputs of a generator's images


@dataclass(frozen=True)
class Ends:
    """What a network takes and answers with, which its data must match: its inputs
    {name: shape}, their own scale= options {name: value or None}, its outputs."""

    inputs: dict
    outputs: tuple
    scales: dict
    vocabularies: dict = None  # {input: VOCAB of an embedding reading it}: a text's ids

    @property
    def single(self):
        return len(self.inputs) == 1 and len(self.outputs) == 1


def load(spec, rng, data_dir=None, base=None, ends=None):
    """A train block's `data` value (a name, a path or a Call) -> Dataset, its x, y
    and classes by the network's input and output names. base: the folder relative
    paths start from."""
    if sets.is_file_set(spec):
        return by_names(sets.load(spec, base, ends), ends)
    call = spec if isinstance(spec, Call) else Call(str(spec))
    if call.name in named.SETS:
        n, test = _sizes(call)
        x, y, tx, ty, classes = named.load(call.name, data_dir)
        return by_names(Dataset(x[:n], y[:n], classes, True, (tx[:test], ty[:test])), ends)
    make = GENERATORS.get(call.name)
    if make is None:
        known = [*GENERATORS, *named.SETS, *sets.FORMS]
        raise DataError(f"unknown data set '{call.name}'{suggest(call.name, known)} "
                        f"(known: {', '.join(known)})")
    try:
        x, y, classes = make(rng, *call.args, **dict(call.kwargs))
    except TypeError as e:
        raise DataError(f"data set {call}: {e}") from None
    return by_names(Dataset(x, y, classes, IMAGES.get(call.name, set())), ends, call.name)


def by_names(ds, ends, what=None):
    """A Dataset with x, y, its test part and classes as dicts by the network's
    input and output names: a data set of one array each goes to a network of one
    input and one output; one of named arrays must name the network's own."""
    if ends is None:
        return ds
    if not isinstance(ds.x, dict):
        if not ends.single:
            raise DataError(f"{what or 'the data'} holds one array of inputs and one of "
                            f"labels; the network has inputs {', '.join(ends.inputs)} and "
                            f"outputs {', '.join(ends.outputs)}: give an npz with an array by "
                            "each name")
        (i,), (o,) = list(ends.inputs), ends.outputs
        pixels = {i} if ds.pixels is True or (isinstance(ds.pixels, set) and ds.pixels) \
            else set()
        test = None if ds.test is None else ({i: ds.test[0]}, {o: ds.test[1]})
        return dataclasses.replace(ds, x={i: ds.x}, y={o: ds.y}, classes={o: ds.classes},
                                   pixels=pixels, test=test)
    for have, want, kind in ((ds.x, ends.inputs, "inputs"), (ds.y, ends.outputs, "outputs")):
        if set(have) != set(want):
            raise DataError(f"{what or 'the data'} gives {kind} {', '.join(have)}; the network's "
                            f"{kind} are {', '.join(want)}: name them so")
    return dataclasses.replace(ds, classes={o: (ds.classes or {}).get(o) for o in ends.outputs},
                               pixels=ds.pixels if isinstance(ds.pixels, set) else set())


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
    train: tuple  # (x, y): arrays for a network of one input and one output, else dicts
    validation: tuple  # likewise, or None when the split gives it nothing
    test: tuple  # likewise, or None
    classes: dict = None  # {output: class names or None}
    scale: dict = None  # {input: the `scale` value it takes} (engine/preprocess.py: make)
    features: tuple = None
    draw: object = None  # resample = true: epoch -> that epoch's training (x, y)
    label: str = None  # where the labels come from (a CSV's column), for the header
    columns: dict = None  # {input: its table columns, unfitted} (engine/tables.py)
    weights: tuple = None  # per-sample weights of (train, validation, test), or None


def prepare(config, rng, data_dir=None, base=None, ends=None):
    """A train config's data set, generated or loaded and split, all from rng.
    A data set with its own test part keeps it as the test set; the split's
    train and validation shares then divide the rest (its test share is unused).
    ends: the network's inputs and outputs, which the data's arrays must match."""
    if config.data is None:
        raise DataError("the spec names no data; add e.g. 'data = shapes(2000)' to its train block")
    ds = load(config.data, rng, data_dir, base, ends)
    tables = ds.columns or {}
    # a table's numbers (a CSV's, typed or not) are standardised by default: a column
    # in the thousands beside one in thousandths trains badly, or diverges, as it is;
    # but not an embedding's input, whose numbers are token ids
    plain = ds.features is not None and not tables
    ids = set(ends.vocabularies or ())
    scale = {name: ends.scales.get(name) or config.scale or
             ("pixels" if name in ds.pixels else "standard"
              if (plain and name not in ids) or _numbers(tables.get(name)) else "none")
             for name in ends.inputs}
    ds.x = _pixels(ds.x, scale)  # 8-bit pixels are scaled once, here
    ds.test = None if ds.test is None else (_pixels(ds.test[0], scale), ds.test[1])
    fractions = config.split
    fresh = None
    if config.validation is not None:  # drawn after the data set, from the same rng
        fresh = _validation(config, ds, scale, rng, data_dir, base, ends)
        fractions = (fractions[0] + fractions[1], 0.0, fractions[2])  # no share set aside
    kept = fractions[0] + fractions[1]
    if ds.test is not None and kept > 0:
        fractions = (fractions[0] / kept, fractions[1] / kept, 0.0)
    count = _count(ds.x)
    indices = split(count, fractions, rng, config.shuffle)
    parts = [(_take(ds.x, i), _take(ds.y, i)) if len(i) else None for i in indices]
    weights = None if ds.weights is None else tuple(ds.weights[i] for i in indices)
    if weights is not None and fresh is not None:  # the validation set's own has none
        weights = (weights[0], None, weights[2])
    if ds.test is not None:
        parts[2] = ds.test
    if fresh is not None:
        parts[1] = fresh
    if parts[0] is None:
        raise DataError(f"split {'/'.join(f'{f:g}' for f in config.split)} of {count} "
                        "samples leaves none for training")
    draw = _redraw(config, parts[0], fractions, scale, rng, ends) if config.resample else None
    if ends.single:  # arrays, as people use them: splits.test[0][:5]
        parts = [None if p is None else (next(iter(p[0].values())), next(iter(p[1].values())))
                 for p in parts]
        if draw is not None:
            first = draw
            draw = lambda epoch: tuple(next(iter(v.values())) for v in first(epoch))  # noqa
    return Splits(*parts, classes=ds.classes, scale=scale, features=ds.features, draw=draw,
                  label=ds.label, columns=ds.columns, weights=weights)


def _numbers(columns):
    """Whether a table input reads number columns: a table's default scaling
    standardises them (a text's ids and a category's are left as they are)."""
    return any(c["type"] == "number" for c in columns or ())


def _count(x):
    return len(next(iter(x.values())))


def _take(x, idx):
    return {k: v[idx] for k, v in x.items()}


def _redraw(config, first, fractions, scale, rng, ends):
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
        ds = load(call, np.random.default_rng((base, epoch)), ends=ends)
        x = _pixels(ds.x, scale)
        train = split(_count(x), fractions, np.random.default_rng((base, epoch, 1)),
                      config.shuffle)[0]
        return _take(x, train), _take(ds.y, train)
    return draw


def _validation(config, ds, scale, rng, data_dir, base, ends):
    """The `validation` setting's data set as (x, y), scaled as the training data."""
    try:
        vds = load(config.validation, rng, data_dir, base, ends)
    except DataError as e:
        raise DataError(f"validation: {e}") from None
    if vds.classes != ds.classes or vds.features != ds.features:
        raise DataError(f"validation: {config.validation} names other classes or features "
                        "than the data")
    return _pixels(vds.x, scale), vds.y


def _pixels(x, scale):
    """Each input's integer pixels -> float32 in [0, 1] (or pixels(LOW, HIGH)'s
    range), as its preprocessing maps them, where its scale is pixels; floats are
    taken to be scaled already (a generator's images)."""
    out = {}
    for name, array in x.items():
        if preprocess.kind_of(scale[name]) == "pixels":
            pixels = preprocess.make(scale[name])
            if preprocess.applies(pixels, array):
                array = preprocess.apply(pixels, array, np.float32)
        out[name] = array
    return out


def split(n, fractions, rng, shuffle=True):
    """Index arrays (train, validation, test) in the given fractions: shuffled, or
    with shuffle=False the data set's first samples for training, then validation."""
    order = rng.permutation(n) if shuffle else np.arange(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
