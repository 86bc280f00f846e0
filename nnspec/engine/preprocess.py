"""Preprocessing that is part of a model: raw input -> network input, x * scale + offset.

The train block's `scale` picks it; the bundle stores it, and predict, evaluate,
fit, `nnspec infer`, the exports and the scikit-learn estimator apply it, so a
model always takes what its data set holds.

    kind      scale, offset                         applied to
    none      1, 0                                  nothing
    pixels    1/255, 0; pixels(LOW, HIGH):          integer inputs (8-bit pixels); floats
              (HIGH - LOW)/255, LOW                 are taken to be scaled already
    standard  per feature (the last axis), from     every input: (x - mean) / std
              the training split
    minmax    likewise                              every input: (x - min) / (max - min)

A feature that never varies in the training split (or only by rounding, or by
less than float32's smallest normal number) keeps scale 1 and is only shifted,
as scikit-learn's StandardScaler and MinMaxScaler do.
"""
import math

import numpy as np

from ..errors import DataError
from . import tables

from ..lang.ir import Call
from ..lang.settings import CHOICES
from ..lang.syntax import parse_value

KINDS = CHOICES["scale"]
FITTED = ("standard", "minmax")  # kinds whose numbers come from the training data


def _read(setting):
    """A `scale` value given as spec text to compile() ("pixels(-1, 1)") -> its Call."""
    if isinstance(setting, str) and "(" in setting:
        form, value = parse_value(setting, "scale")
        return value
    return setting


def kind_of(setting):
    """The train block's `scale` value (a name, or a call as pixels(-1, 1)) -> its kind."""
    setting = _read(setting)
    return setting.name if isinstance(setting, Call) else setting


def make(setting):
    """The preprocessing a `scale` value names; a fitted kind's is unfitted until fit()
    is given data. ValueError for a call that is not pixels(LOW, HIGH), LOW < HIGH."""
    setting = _read(setting)
    if isinstance(setting, Call):
        bounds = setting.args + tuple(v for _, v in setting.kwargs)
        if setting.name != "pixels" or setting.kwargs or len(bounds) != 2 or not all(
                isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds) \
                or not bounds[0] < bounds[1]:
            raise ValueError(f"scale takes pixels(LOW, HIGH) with LOW < HIGH (8-bit pixels onto "
                             f"[LOW, HIGH]), got {setting}")
        low, high = map(float, bounds)
        return {"kind": "pixels", "scale": (high - low) / 255, "offset": low}
    kind = setting
    if kind == "pixels":
        return {"kind": "pixels", "scale": 1 / 255, "offset": 0.0}
    if kind in FITTED:
        return {"kind": kind}
    return {"kind": "none", "scale": 1.0, "offset": 0.0}


def fitted(pre):
    return "scale" in pre


def inherited(theirs, said):
    """What of a base's fitted preprocessing a fine-tuned model's input takes, in
    words ("standard scaling and columns (...)"), or None: nothing of it fitted,
    or the spec says another kind (said: the input's scale value, or None)."""
    columns = theirs.get("columns")
    what = ([f"{theirs['kind']} scaling"] if theirs["kind"] in FITTED and fitted(theirs)
            else []) + ([f"columns ({tables.describe(columns)})"] if columns and
                        tables.fitted(columns) else [])
    if not what or (said is not None and kind_of(said) != theirs["kind"]):
        return None
    return " and ".join(what)


def ready(pre):
    """Whether pre is fitted throughout: its numbers and a table's vocabularies."""
    return fitted(pre) and tables.fitted(pre.get("columns", ()))


def fit(kind, x, only=None):
    """Per-feature numbers of a fitted kind from raw training inputs x (batch, ...,
    features); only: which features it scales (a table's numbers), the others
    are kept as they are (scale 1, offset 0)."""
    rows = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1])
    if kind == "standard":
        low, spread = rows.mean(axis=0), rows.std(axis=0)
    else:
        low = rows.min(axis=0)
        spread = rows.max(axis=0) - low
    spread = np.where(constant(spread, rows), 1.0, spread)
    if only is not None:
        keep = ~np.asarray(only, bool)
        low, spread = np.where(keep, 0.0, low), np.where(keep, 1.0, spread)
    return {"kind": kind, "scale": (1 / spread).tolist(), "offset": (-low / spread).tolist()}


def fit_input(pre, raw):
    """An input's preprocessing fitted on its raw training data: a table's columns
    (their vocabularies, engine/tables.py) first, then a fitted kind's numbers
    on what they give. Others are returned as they are."""
    columns = pre.get("columns")
    if columns is None:
        return fit(pre["kind"], raw) if pre["kind"] in FITTED and not fitted(pre) else pre
    if not tables.fitted(columns):
        columns = tables.fit(columns, tables.table(raw, columns))
    if pre["kind"] in FITTED and not fitted(pre):
        encoded = tables.encode(columns, tables.table(raw, columns))
        return {**fit(pre["kind"], encoded, tables.scaled(columns)), "columns": columns}
    return {**pre, "columns": columns}


def constant(spread, rows):
    """Which features count as constant: a spread within rounding of the feature's
    size (a constant feature whose mean did not come out exact; scikit-learn's
    _is_constant_feature draws the same line), or one so small that its inverse
    would overflow a float32 model's inputs (below float32's smallest normal)."""
    size = np.abs(rows).max(axis=0, initial=0)
    return (spread <= 10 * np.finfo(np.float64).eps * size) | (spread < np.finfo(np.float32).tiny)


def applies(pre, x):
    """Whether pre changes the raw array x."""
    if pre["kind"] == "pixels":
        return np.issubdtype(np.asarray(x).dtype, np.integer)
    return pre["kind"] in FITTED


def apply(pre, x, dtype):
    """Raw inputs -> network inputs of dtype (x itself where nothing applies and it
    already has that dtype). A fitted kind must have been fitted."""
    x = np.asarray(x)
    if not applies(pre, x):
        return x.astype(dtype, copy=False)
    # float64 raw data is mapped in float64, then rounded once: a feature of mean 3
    # and std 0.01 loses 1e-5 of its unit scale to the cancellation in float32
    work = np.result_type(x.dtype, dtype) if np.issubdtype(x.dtype, np.floating) else dtype
    out = x.astype(work)  # a copy: the caller's array is left as it was
    out *= np.asarray(pre["scale"], dtype=work)
    out += np.asarray(pre["offset"], dtype=work)
    return out.astype(dtype, copy=False)


def vet(pre, raw_dtype, what="x"):
    """check(part) for parts of inputs as apply() prepared them from raw data of
    raw_dtype: a DataError for NaN or infinite values, and for values that
    contradict a pixels scaling (floats outside [LOW, HIGH], which it takes as
    already scaled; integers outside 0..255). One min and one max per part (a
    numpy array, or a torch tensor: bounds()): they see NaN and infinities too,
    so no other pass over the data is needed."""
    raw = np.dtype(raw_dtype)
    low, high = (pre["offset"], pre["offset"] + 255 * pre["scale"]) \
        if pre["kind"] == "pixels" else (-np.inf, np.inf)
    slack = (high - low) / 255 if pre["kind"] == "pixels" else 0  # one 8-bit step

    def check(part):
        if not math.prod(part.shape):
            return
        least, most = bounds(part)
        if not (math.isfinite(least) and math.isfinite(most)):
            raise DataError(f"{what} contains NaN or infinite values")
        if least >= low - slack and most <= high + slack:
            return
        if raw.kind == "f":
            raise DataError(f"{what} holds {raw.name} values from {least:g} to {most:g}, but the "
                            f"model's scale is pixels, which maps 8-bit integers onto "
                            f"[{low:g}, {high:g}] and takes floats as already there: give the "
                            f"pixels as integers (x.astype('uint8')), or as floats in "
                            f"[{low:g}, {high:g}]")
        value = (most if most > high + slack else least) - pre["offset"]
        raise DataError(f"{what} holds the integer {value / pre['scale']:.0f}, but the model's "
                        "scale is pixels, for 8-bit values 0..255: scale other integers "
                        "yourself, or train with scale = standard")
    return check


def bounds(part):
    """(least, greatest) value of a numpy array, or of a torch tensor (the torch
    engine's predict hands in parts larger than the cache: tensor.aminmax reads
    them once, where numpy's min and max read them twice; NaN comes out of both,
    as of numpy's). Floats, so that the messages print alike."""
    if isinstance(part, np.ndarray):
        return float(part.min()), float(part.max())
    least, most = part.aminmax()
    return float(least), float(most)


def describe(pre):
    """One line for `nnspec inspect` and the training header."""
    kind = pre["kind"]
    if kind == "none":
        return "none: the network takes inputs as given"
    if kind == "pixels":
        low, high = pre["offset"], pre["offset"] + 255 * pre["scale"]
        onto = "divided by 255" if (low, high) == (0.0, 1.0) else f"mapped onto [{low:g}, {high:g}]"
        return (f"pixels: 8-bit integer inputs are {onto}; floats must lie in "
                f"[{low:g}, {high:g}] already")
    if "columns" in pre:
        numbers = any(c["type"] == "number" for c in pre["columns"]) and kind in FITTED
        what = "(x - mean) / std" if kind == "standard" else "(x - min) / (max - min)"
        return f"{kind}: table columns {tables.describe(pre['columns'])}" + (
            f"; numbers {what} from the training split" if numbers else "")
    if not fitted(pre):
        return f"{kind}: per feature, fitted on the training split when training starts"
    what = "(x - mean) / std" if kind == "standard" else "(x - min) / (max - min)"
    return f"{kind}: {what} for each of {len(pre['scale'])} features, from the training split"
