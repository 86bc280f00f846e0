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
from pathlib import Path

import numpy as np

from ...errors import DataError
from ...lang.ir import Call
from .files import IMAGE_SUFFIXES, read_image, read_npz, read_table

FORMS = {"csv": ("label",), "images": (), "npz": ()}  # form -> its options


def is_file_set(spec):
    """Whether a train block's data value names a file or folder, not a data set."""
    if isinstance(spec, Call):
        return spec.name in FORMS
    return "/" in spec or "." in spec


def load(spec, base, input_shape):
    """-> (x, y, test or None, classes or None, pixels: whether x is images (a folder),
    feature names or None: a CSV's columns, which infer then reads by name)."""
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
    return arrays["x"], y, test, classes, False, None


def _csv(path, label):
    header, rows = read_table(path)
    if header is None or not rows:
        raise DataError(f"{path}: needs a header row and at least one row of data")
    name = label or ("label" if "label" in header else header[-1])
    if name not in header:
        raise DataError(f"{path}: no column '{name}' (columns: {', '.join(header)})")
    col = header.index(name)
    try:
        x = np.array([[float(v) for j, v in enumerate(r) if j != col] for r in rows])
    except ValueError as e:
        raise DataError(f"{path}: a feature is not a number ({e})") from None
    labels = [r[col] for r in rows]
    features = tuple(h for j, h in enumerate(header) if j != col)
    try:
        return x, np.array([float(v) for v in labels]), None, None, False, features
    except ValueError:
        classes = tuple(sorted(set(labels)))
        index = {c: i for i, c in enumerate(classes)}
        return x, np.array([index[v] for v in labels]), None, classes, False, features


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
    return np.stack(xs), np.array(ys), None, classes, True, None
