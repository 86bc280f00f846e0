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
    model = load(args.bundle)
    fig = FIGURES[args.kind](model, args)
    base.save(fig, args.output)
    print(f"wrote {args.output}")


def _history(model, args):
    if not model.history:
        raise DataError(f"{args.bundle}: holds no training history")
    return curves.history(model.history, title=f"{args.bundle}: training history")


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
        if part is not None and len(part[0]):
            return part[0], part[1], f"the {name} split"
    raise DataError(f"--split {args.split}: the data set has no {args.split} samples")


FIGURES = {
    "history": _history,
    "kernels": _kernels,
    "confusion": _with_data(lambda m, x, y, a, where: classes.confusion(
        m, x, y, title=f"confusion matrix, {where}")),
    "boundary": _with_data(lambda m, x, y, a, where: classes.boundary(m, x, y)),
    "predictions": _with_data(lambda m, x, y, a, where: classes.predictions(
        m, x[_index(a.index, x):], y[a.index:], a.count)),
    "probabilities": _with_data(lambda m, x, y, a, where: classes.probabilities(
        m, x[_index(a.index, x)], _true(m, y[_index(a.index, x)]))),
    "regression": _with_data(lambda m, x, y, a, where: curves.regression(m, x, y)),
}


def _index(i, x):
    if not 0 <= i < len(x):
        raise DataError(f"--index {i}: the split holds samples 0 to {len(x) - 1}")
    return i


def _true(model, label):
    """A sample's true class name, from an integer or one-hot label."""
    width = max(model.graph.output_shape[-1], 2)
    index = int(base.labels_of(np.asarray(label)[None], width)[0])
    return base.class_names(model, width)[index]
