"""Data sets from the user's files, as a train block names them:

    data = "digits.npz"                  arrays x, y (numbers, or names); optional x_test,
                                         y_test, classes
    data = "iris.csv"                    a header row; the label column is `label`, else the last
    data = csv("iris.csv", label="species")
    data = "photos/"                     or images("photos"): one subfolder of images per class

Relative paths are taken from the spec file's folder (or the current one for
spec text). CSV labels that are not numbers become class indices, in sorted
order, and their names travel into the bundle, as an image folder's do.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import DataError
from ...lang.ir import Call
from ...lang.signature import suggest
from .files import IMAGE_SUFFIXES, numbers, read_image, read_npz, read_table

@dataclass
class Dataset:
    x: np.ndarray
    y: np.ndarray
    classes: tuple = None
    pixels: bool = False  # whether x holds images: their preprocessing is then "pixels"
    test: tuple = None  # (x, y) of a data set's own test part (MNIST's t10k files)
    features: tuple = None  # a CSV's feature column names, in x's order
    label: str = None  # where the labels come from, for the training header (a CSV's column)


FORMS = {"csv": ("label",), "images": (), "npz": ()}  # form -> its options


def is_file_set(spec):
    """Whether a train block's data value names a file or folder, not a data set."""
    if isinstance(spec, Call):
        return spec.name in FORMS
    return "/" in spec or "." in spec


def load(spec, base, input_shape):
    """-> Dataset."""
    call = spec if isinstance(spec, Call) else Call("", (spec,))
    if not call.args or not isinstance(call.args[0], str):
        raise DataError(f"data {call}: give the path first, e.g. {call.name}(\"file\")")
    path = Path(call.args[0])
    path = path if path.is_absolute() or base is None else Path(base) / path
    options = dict(call.kwargs)
    unknown = set(options) - set(FORMS.get(call.name, ()))
    if unknown or len(call.args) > 1:
        known = ", ".join(FORMS.get(call.name, ())) or "none"
        raise DataError(f"data {call}: takes the path and options: {known}")
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if call.name == "images" or (not call.name and path.is_dir()):
        return _images(path, input_shape)
    if call.name == "csv" or (not call.name and path.suffix.lower() == ".csv"):
        return _csv(path, options.get("label", None))
    if call.name == "npz" or (not call.name and path.suffix.lower() == ".npz"):
        return _npz(path)
    raise DataError(f"{path}: unknown data file type {path.suffix!r} "
                    "(use .npz, .csv or a folder of class folders)")


def _npz(path):
    arrays = read_npz(path)
    for key in ("x", "y"):
        if key not in arrays:
            raise DataError(f"{path}: holds {', '.join(arrays) or 'nothing'}; "
                            "expected arrays named x and y")
    if len(arrays["x"]) != len(arrays["y"]):
        raise DataError(f"{path}: x has {len(arrays['x'])} samples but y has {len(arrays['y'])}")
    test = None
    if "x_test" in arrays or "y_test" in arrays:
        if not {"x_test", "y_test"} <= set(arrays):
            raise DataError(f"{path}: x_test and y_test come together")
        test = (arrays["x_test"], arrays["y_test"])
    classes = tuple(str(c) for c in arrays["classes"]) if "classes" in arrays else None
    y = arrays["y"]
    if y.dtype.kind in "US":  # string labels: class indices in sorted order, names kept
        if classes is not None:
            raise DataError(f"{path}: y holds names, so it needs no classes array")
        names = np.concatenate([y.ravel()] + ([test[1].ravel()] if test else []))
        classes = tuple(str(c) for c in np.unique(names))
        index = {c: i for i, c in enumerate(classes)}
        y = np.array([index[str(c)] for c in y.ravel()])
        if test is not None:
            test = (test[0], np.array([index[str(c)] for c in test[1].ravel()]))
    # 8-bit x may be pixels or counts: only the spec's `scale = pixels` says which
    return Dataset(arrays["x"], y, classes, test=test)


def _csv(path, label):
    table = read_table(path)
    header, rows = table.header, table.rows
    if header is None or not rows:
        raise DataError(f"{path}: needs a header row and at least one row of data")
    name = label or ("label" if "label" in header else header[-1])
    if name not in header:
        raise DataError(f"{path}: no column {name!r}{suggest(name, header)} "
                        f"(columns: {', '.join(header)})")
    col = header.index(name)
    said = f"label column {name!r}" + ("" if label or name == "label" else
                                       " (the last; csv(FILE, label=NAME) names another)")
    features = [j for j in range(len(header)) if j != col]
    x = numbers(path, table, features, "; the features are numbers: leave the column out of "
                "the file, or name it as the label")
    labels = [r[col] for r in rows]
    if "" in labels:
        line = table.lines[labels.index("")]
        raise DataError(f"{path}:{line}: column {name!r} is empty there; every row needs "
                        "its label")
    try:
        y = np.array([float(v) for v in labels])
    except ValueError:
        classes = tuple(sorted(set(labels)))
        index = {c: i for i, c in enumerate(classes)}
        return Dataset(x, np.array([index[v] for v in labels]), classes,
                       features=tuple(header[j] for j in features), label=said)
    numbers(path, table, [col])  # a label of inf or nan: named at its line
    return Dataset(x, y, features=tuple(header[j] for j in features), label=said)


def _images(path, input_shape):
    if len(input_shape) not in (2, 3):
        raise DataError(f"{path}: a folder of images needs an image input (HxWxC), "
                        f"the spec's is {'x'.join(map(str, input_shape))}")
    classes = tuple(sorted(d.name for d in path.iterdir() if d.is_dir()))
    if not classes:
        raise DataError(f"{path}: expected one subfolder of images per class, found none")
    xs, ys = [], []
    for i, name in enumerate(classes):
        files = sorted(f for f in (path / name).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        xs += [read_image(f, input_shape) for f in files]
        ys += [i] * len(files)
    if not xs:
        raise DataError(f"{path}: its class folders hold no images ({', '.join(IMAGE_SUFFIXES)})")
    return Dataset(np.stack(xs), np.array(ys), classes, pixels=True)
