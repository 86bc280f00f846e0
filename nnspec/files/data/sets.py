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
from . import columns
from .files import IMAGE_SUFFIXES, Table, numbers, read_image, read_npz, read_table

@dataclass
class Dataset:
    x: np.ndarray
    y: np.ndarray
    classes: tuple = None
    pixels: bool = False  # whether x holds images: their preprocessing is then "pixels"
    test: tuple = None  # (x, y) of a data set's own test part (MNIST's t10k files)
    features: tuple = None  # a CSV's feature column names, in x's order
    label: str = None  # where the labels come from, for the training header (a CSV's column)
    columns: dict = None  # {input: its table columns} of a typed CSV (files/data/columns.py)
    weights: np.ndarray = None  # per-sample weights (a CSV's weight= column), or None


COLUMNS = ("label", "category", "text", "weight", "vocabulary")  # a table's typed columns
FORMS = {"csv": COLUMNS, "images": (), "npz": COLUMNS}  # form -> its options


def is_file_set(spec):
    """Whether a train block's data value names a file or folder, not a data set."""
    if isinstance(spec, Call):
        return spec.name in FORMS
    return "/" in spec or "." in spec


def load(spec, base, ends):
    """-> Dataset; ends: the network's inputs and outputs (files/data.Ends)."""
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
        return _images(path, next(iter(ends.inputs.values())) if ends else ())
    if call.name == "csv" or (not call.name and path.suffix.lower() == ".csv"):
        return _csv(path, options.get("label", None), ends, options)
    if call.name == "npz" or (not call.name and path.suffix.lower() == ".npz"):
        if options:  # npz("t.npz", label=..., category=[...]): an array a column
            return _csv(path, options.get("label"), ends, options, _table(path, read_npz(path)))
        return _npz(path, ends)
    raise DataError(f"{path}: unknown data file type {path.suffix!r} "
                    "(use .npz, .csv or a folder of class folders)")


def _npz(path, ends):
    """Arrays x and y (optional x_test, y_test, classes) for a network of one input
    and one output; else an array by each input's and output's name (optional
    NAME_test, NAME_classes)."""
    arrays = read_npz(path)
    if ends is not None and not ends.single:
        return _named_npz(path, arrays, ends)
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
    given = tuple(str(c) for c in arrays["classes"]) if "classes" in arrays else None
    y, test_y, classes = _labels(path, "y", arrays["y"], test[1] if test else None, given)
    # 8-bit x may be pixels or counts: only the spec's `scale = pixels` says which
    return Dataset(arrays["x"], y, classes, test=None if test is None else (test[0], test_y))


def _labels(path, name, y, test, classes):
    """String labels -> class indices in sorted order, their names kept."""
    if y.dtype.kind not in "US":
        return y, test, classes
    if classes is not None:
        raise DataError(f"{path}: {name} holds names, so it needs no classes array")
    names = np.concatenate([y.ravel()] + ([test.ravel()] if test is not None else []))
    classes = tuple(str(c) for c in np.unique(names))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[str(c)] for c in y.ravel()])
    if test is not None:
        test = np.array([index[str(c)] for c in test.ravel()])
    return y, test, classes


def _named_npz(path, arrays, ends):
    names = list(ends.inputs) + list(ends.outputs)
    missing = [n for n in names if n not in arrays]
    known = set(names) | {f"{n}_test" for n in names} | {f"{n}_classes" for n in ends.outputs}
    extra = [k for k in arrays if k not in known]
    if missing or extra:
        raise DataError(f"{path}: " + (f"no array {missing[0]!r}" if missing else
                                      f"the array {extra[0]!r} is no input or output") +
                        f"; the network's inputs are {', '.join(ends.inputs)}, its outputs "
                        f"{', '.join(ends.outputs)} (a test part: NAME_test)")
    lengths = {n: len(arrays[n]) for n in names}
    if len(set(lengths.values())) > 1:
        raise DataError(f"{path}: its arrays hold different numbers of samples: "
                        + ", ".join(f"{n} {c}" for n, c in lengths.items()))
    tests = [n for n in names if f"{n}_test" in arrays]
    if tests and len(tests) != len(names):
        raise DataError(f"{path}: {tests[0]}_test needs a test array by every name ("
                        f"{', '.join(f'{n}_test' for n in names)})")
    x = {n: arrays[n] for n in ends.inputs}
    test_x = {n: arrays[f"{n}_test"] for n in ends.inputs} if tests else None
    y, test_y, classes = {}, {}, {}
    for name in ends.outputs:
        given = arrays.get(f"{name}_classes")
        y[name], test_y[name], classes[name] = _labels(
            path, name, arrays[name], arrays.get(f"{name}_test"),
            None if given is None else tuple(str(c) for c in given))
    return Dataset(x, y, classes, test=(test_x, test_y) if tests else None)


def _table(path, arrays):
    """An npz of one array per column, each a value per row (numbers or strings),
    as a Table of strings, in the archive's order; a message's place is its row."""
    for name, a in arrays.items():
        if a.ndim != 1 or a.dtype.kind not in "biufUS":
            raise DataError(f"{path}: typed as a table (csv's options), it holds an array per "
                            f"column, each one value per row; {name!r} has shape {a.shape} "
                            f"and dtype {a.dtype}" + (" (save strings as .astype(str))"
                                                      if a.dtype.kind == "O" else ""))
    if len({len(a) for a in arrays.values()}) > 1:
        raise DataError(f"{path}: its columns hold different numbers of rows: " + ", ".join(
            f"{n} {len(a)}" for n, a in arrays.items()))
    columns = [(a.astype(int) if a.dtype.kind == "b" else a).astype(str).tolist()
               for a in arrays.values()]  # booleans as the numbers 0 and 1
    rows = [list(r) for r in zip(*columns)]
    return Table(list(arrays), rows, [f"row {i}" for i in range(len(rows))])


def _csv(path, label, ends=None, options=None, table=None):
    """A table: its label column(s) and its feature columns (every other one). A
    network of one output takes the column `label=` names, else `label`, else the
    last; a network of several outputs takes each output's from the column of its
    name. The features go to the network's one input. table: the file's, read
    already (an npz's columns)."""
    table = table or read_table(path)
    header, rows = table.header, table.rows
    if header is None or not rows:
        raise DataError(f"{path}: needs a header row and at least one row of data")
    outputs = tuple(ends.outputs) if ends is not None else ()
    if len(outputs) > 1:
        if label is not None:
            raise DataError(f"{path}: with several outputs, each reads the column of its name "
                            f"({', '.join(outputs)}); leave label= out")
        names = list(outputs)
        said = "label columns " + ", ".join(map(repr, names)) + " (the outputs' names)"
    else:
        names = [label or ("label" if "label" in header else header[-1])]
        said = f"label column {names[0]!r}" + ("" if label or names[0] == "label" else
                                               " (the last; csv(FILE, label=NAME) names another)")
    for name in names:
        if name not in header:
            raise DataError(f"{path}: no column {name!r}{suggest(name, header)} "
                            f"(columns: {', '.join(header)})")
    cols = [header.index(n) for n in names]
    y, classes = {}, {}
    for name, col in zip(names, cols):
        y[name], classes[name] = _column_labels(path, table, name, col)
    if columns.typed(options or {}):
        x, typed, weights, feature_names = columns.read(path, table, names, options, ends)
        if ends is not None and not ends.single:
            if len(outputs) == 1:  # the label column is the one output's
                y, classes = {outputs[0]: y[names[0]]}, {outputs[0]: classes[names[0]]}
            return Dataset(x, y, classes, features=feature_names, label=said, columns=typed,
                           weights=weights)
        (array,) = x.values()
        return Dataset(array, y[names[0]], classes[names[0]], features=feature_names,
                       label=said, columns=typed, weights=weights)
    if ends is not None and len(ends.inputs) > 1:
        raise DataError(f"{path}: a table's features go to one input; the network has "
                        f"{len(ends.inputs)} ({', '.join(ends.inputs)}): name an input after "
                        "each column it reads, and type them (csv(..., category=[...]))")
    features = [j for j in range(len(header)) if j not in cols]
    x = numbers(path, table, features, "; a column of names is a category: name it so, "
                f"{_form(path)}(\"{path.name}\", category=[COLUMN]), or leave it out of the file")
    feature_names = tuple(header[j] for j in features)
    if len(outputs) > 1:
        return Dataset({next(iter(ends.inputs)): x}, y, classes, features=feature_names,
                       label=said)
    return Dataset(x, y[names[0]], classes[names[0]], features=feature_names, label=said)


def _form(path):
    return "npz" if path.suffix.lower() == ".npz" else "csv"


def _column_labels(path, table, name, col):
    """A label column -> (values, None), or (class indices, class names) where it
    holds names."""
    labels = [r[col] for r in table.rows]
    if "" in labels:
        line = table.lines[labels.index("")]
        raise DataError(f"{path}:{line}: column {name!r} is empty there; every row needs "
                        "its label")
    try:
        values = np.array([float(v) for v in labels])
    except ValueError:
        classes = tuple(sorted(set(labels)))
        index = {c: i for i, c in enumerate(classes)}
        return np.array([index[v] for v in labels]), classes
    numbers(path, table, [col])  # a label of inf or nan: named at its line
    return values, None


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
