"""`nnspec plot BUNDLE --kind KIND -o FILE.png`: a figure of a trained bundle.

history and kernels need only the bundle. The other kinds need data: the
bundle's own data set (its spec's `data` line, regenerated from its seed, so
the test split is the one it was tested on) or `--data`, and its test split
(else validation, else train) unless `--split` says which.
"""
import numpy as np

from .. import load
from ..errors import DataError
from ..plots import base, classes, curves, hinton
from .train import data_flag

SPLITS = ("test", "validation", "train")


def plot(args):
    file, args.output = image_file(args.file, args.output)
    model = load(args.bundle)
    fig = FIGURES[args.kind](model, args)
    base.save(fig, file)
    print(f"wrote {file}")


def image_file(file, output):
    """(the image to write, the output to draw) from -o and --output. Before
    networks had named outputs `--output` was -o's long form: a value with a
    suffix (`loss.png`) is still the image, since an output's name has no dot."""
    if output is not None and "." in output and file is None:
        file, output = output, None
    if file is None:
        raise DataError("plot: say where to write the figure: -o FILE.png (or .svg, .pdf)")
    return file, output


def _history(model, args):
    if not model.history:
        raise DataError(f"{args.bundle}: holds no training history")
    title = f"{args.bundle}: training history" + (f" of {args.output}" if args.output else "")
    return curves.history(model.history, title=title, output=args.output)


def _kernels(model, args):
    return hinton.kernels(model, args.layer)


def _with_data(draw):
    def figure(model, args):
        x, y, where = data(model, args)
        return draw(model, x, y, args, where)
    return figure


def data(model, args):
    """(x, y, 'the test split of mnist') for the bundle's data or --data."""
    if args.data:
        model.configure(data=data_flag(args.data))
    splits = model.data(args.data_dir)
    names = [args.split] if args.split else SPLITS
    for name in names:
        part = getattr(splits, name)
        if part is not None and _rows(part[0]):
            return part[0], part[1], f"the {name} split"
    raise DataError(f"--split {args.split}: the data set has no {args.split} samples")


def _rows(x):
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


def _from(x, i, count=None):
    """Samples i to i + count (to the end where count is None) of an array or a
    dict of arrays by name."""
    if not 0 <= i < _rows(x):
        raise DataError(f"--index {i}: the split holds samples 0 to {_rows(x) - 1}")
    end = None if count is None else i + count
    if isinstance(x, dict):
        return {name: part[i:end] for name, part in x.items()}
    return x[i:end]


FIGURES = {
    "history": _history,
    "kernels": _kernels,
    "confusion": _with_data(lambda m, x, y, a, where: classes.confusion(
        m, x, y, title=f"confusion matrix, {where}", output=a.output)),
    "boundary": _with_data(lambda m, x, y, a, where: classes.boundary(
        m, x, y, output=a.output)),
    "predictions": _with_data(lambda m, x, y, a, where: classes.predictions(
        m, _from(x, a.index), _from(y, a.index), a.count, output=a.output)),
    "probabilities": _with_data(lambda m, x, y, a, where: classes.probabilities(
        m, _from(x, a.index, 1), _true(m, _from(y, a.index, 1), a.output), output=a.output)),
    "regression": _with_data(lambda m, x, y, a, where: curves.regression(
        m, x, y, output=a.output)),
}


def _true(model, label, output):
    """A sample's true class name, from an integer or one-hot label."""
    out = base.head(model, output)
    width = max(out.width, 2)
    index = int(base.labels_of(np.asarray(base.target(label, out)), width)[0])
    return base.class_names(out, width)[index]
