"""What every figure shares: a pyplot-free Figure, saving, and reading a model's outputs."""
import io
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..files.io import write_atomic

CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf")


def figure(width, height):
    """A Figure drawn by Agg, with no pyplot global state behind it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig, path, dpi=100):
    """Write a figure; the format follows the suffix (.png, .svg, .pdf). The file is
    replaced whole, so a crash leaves the previous one."""
    path = Path(path)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png")
    except ValueError as e:
        raise DataError(f"{path}: {e}") from None
    write_atomic(path, buf.getvalue())
    return path


def rgb(fig, dpi=72):
    """The figure's pixels, (height, width, 3) uint8, for animation frames."""
    fig.set_dpi(dpi)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def class_names(model, width):
    return list(model.classes) if model.classes else [str(i) for i in range(width)]


def is_classifier(model):
    """Classes come out of it: a cross-entropy loss, named classes (a squared-error
    net on MNIST), or one sigmoid unit (seed 004's XOR gate, trained with squared
    error). Any other net is a regression."""
    width = model.graph.output_shape[-1]
    last = model.network.nodes[-1]
    sigmoid = last.kind == "sigmoid" or dict(last.params).get("activation") == "sigmoid"
    if model.config.loss == "binary_cross_entropy" or (width == 1 and sigmoid):
        return True
    return width > 1 and (model.config.loss == "cross_entropy" or bool(model.classes))


def probabilities_of(model, x):
    """(batch, classes): a sigmoid unit's p becomes the two columns 1 - p and p."""
    out = model.predict(x)
    if out.shape[-1] == 1:
        out = np.concatenate([1 - out, out], axis=-1)
    return out


def labels_of(y, classes):
    """Integer labels from integer or one-hot targets."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == classes and classes > 1:
        return y.argmax(axis=-1)
    return np.rint(y.reshape(len(y))).astype(np.int64)


def need_classifier(model, what):
    if not is_classifier(model):
        raise DataError(f"{what}: needs a classifier; this model's outputs are values "
                        f"(loss {model.config.loss})")
