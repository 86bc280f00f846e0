"""Inference inputs from files: read them as raw inputs, which predict then
prepares as in training (the model's preprocessing).

Used by `nnspec infer` (cli/report.py formats its results); also plain Python.
"""
import numpy as np

from ..errors import DataError, shown
from .data.files import IMAGE_SUFFIXES, numbers, read_array, read_csv, read_npz, read_table


def load_inputs(model, path, invert=False):
    """A file -> (names, raw inputs for model.predict): one name per sample, e.g. 'x.npy[3]'.
    invert: an image's pixels as 255 - value (a photo of a dark object on a light
    background, for a model of light-on-dark images: seed 003's shirt photo)."""
    graph = model.graph
    if len(graph.inputs) > 1:
        return _named(model, path)
    shape = graph.input_shape
    features = getattr(model, "features", None)
    image = str(path).lower().endswith(IMAGE_SUFFIXES)
    if invert and not image:
        raise DataError(f"{shown(path)}: --invert applies to image files "
                        f"({', '.join(IMAGE_SUFFIXES)})")
    if features and str(path).lower().endswith(".csv"):
        raw = _columns(path, features)
    else:
        raw = read_array(path, shape)
    if invert:
        raw = 255 - raw  # images are read as uint8
    x = conform(raw, shape)
    if x is None:
        want = "x".join(map(str, shape))
        raise DataError(f"{path}: holds an array of shape {raw.shape}; the model takes samples "
                        f"of {want} (one, or a batch of them)")
    name = str(path)
    if len(x) == 1 and image:
        return [name], x
    return [f"{name}[{i}]" for i in range(len(x))], x


def _named(model, path):
    """A network of several inputs reads an npz with an array by each input's name."""
    names = model.graph.inputs
    if not str(path).lower().endswith(".npz"):
        raise DataError(f"{shown(path)}: the model has inputs {', '.join(names)}; give an npz "
                        "with an array by each name")
    arrays = read_npz(path)
    missing = [n for n in names if n not in arrays]
    if missing:
        raise DataError(f"{shown(path)}: no array {missing[0]!r}; the model's inputs are "
                        f"{', '.join(names)}")
    x = {}
    for name in names:
        shape = model.graph.input_shapes[name]
        x[name] = conform(arrays[name], shape)
        if x[name] is None:
            raise DataError(f"{shown(path)}[{name}]: an array of shape {arrays[name].shape}; "
                            f"the input takes samples of {'x'.join(map(str, shape))}")
    count = len(x[names[0]])
    return [f"{path}[{i}]" for i in range(count)], x


def _columns(path, features):
    """A CSV with a header -> its columns named as the model's features, in the
    model's order: a label column, or any other, is left out. Without a header,
    the columns are the features in order."""
    table = read_table(path)
    if table.header is None:
        return read_csv(path)
    missing = [f for f in features if f not in table.header]
    if missing:
        raise DataError(f"{shown(path)}: no column {shown(repr(missing[0]))}; the model reads "
                        f"{', '.join(map(shown, features))}")
    return numbers(path, table, [table.header.index(f) for f in features])


def conform(raw, shape):
    """Inputs as a model takes them, (batch, *shape), from one sample or a batch, with
    a missing channel axis of 1 added ((n, 28, 28) for 28x28x1) and flat rows
    unflattened (a CSV's); None where raw fits none of these."""
    size = int(np.prod(shape))
    if raw.shape == shape or (raw.shape + (1,) == shape):
        return raw.reshape((1,) + shape)
    if raw.shape[1:] == shape:
        return raw
    if raw.ndim >= 1 and raw.shape[1:] + (1,) == shape:
        return raw.reshape(raw.shape + (1,))
    if raw.ndim == 2 and raw.shape[1] == size:  # CSV rows or flat vectors
        return raw.reshape((len(raw),) + shape)
    return None
