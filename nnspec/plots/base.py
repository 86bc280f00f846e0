"""What every figure shares: a pyplot-free Figure, saving, and reading a model's outputs."""
import io
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import DataError
from ..files.io import write_atomic
from ..lang import heads

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


class Head(NamedTuple):
    """One output of a model, as a figure reads it: its name, width, loss, classes,
    whether it ends in one sigmoid unit, and its predictions for x."""
    name: str
    width: int
    loss: str
    classes: list | None
    sigmoid: bool
    model: object

    def predict(self, x):
        out = self.model.predict(x)
        return out[self.name] if isinstance(out, dict) else out


def head(model, output=None):
    """The Head of `output` (a name; None: the model's only output)."""
    names = [o.name for o in model.graph.outputs]
    if output is None:
        if len(names) > 1:
            raise DataError(f"this model has outputs {', '.join(names)}: say which one to draw "
                            f"with --output NAME")
        output = names[0]
    elif output not in names:
        raise DataError(f"--output {output}: the model's outputs are {', '.join(names)}")
    node = next(o.node for o in model.graph.outputs if o.name == output)
    loss = next(t.loss for t in model.plan.terms if t.name == output)
    width = model.graph.shapes[node][-1]
    return Head(output, width, loss, model.output_classes.get(output),
                heads.activation_of(model.network, node) == "sigmoid", model)


def target(y, head):
    """The targets of one output: y itself, or y[head.name] where y is a dict."""
    if isinstance(y, dict):
        if head.name not in y:
            raise DataError(f"the targets hold no '{head.name}' (they hold {', '.join(y)})")
        return y[head.name]
    return y


def image_input(model, x, what):
    """(input shape, its samples) of the one input a figure shows: the model's only
    input, or of several its only image (HxWx1 or HxWx3)."""
    shapes = model.graph.input_shapes
    if len(shapes) == 1:
        name = next(iter(shapes))
        return shapes[name], (x[name] if isinstance(x, dict) else x)
    images = [n for n, s in shapes.items() if len(s) == 3 and s[-1] in (1, 3)]
    if len(images) != 1 or not isinstance(x, dict):
        raise DataError(f"{what}: shows one image input; this model takes "
                        f"{', '.join(shapes)}, {len(images)} of them images")
    return shapes[images[0]], x[images[0]]


def class_names(head, width):
    return list(head.classes) if head.classes else [str(i) for i in range(width)]


def is_classifier(head):
    """Classes come out of it: a cross-entropy loss, named classes (a squared-error
    net on MNIST), or one sigmoid unit (seed 004's XOR gate, trained with squared
    error). Any other output is a regression."""
    if head.loss == "binary_cross_entropy" or (head.width == 1 and head.sigmoid):
        return True
    return head.width > 1 and (head.loss == "cross_entropy" or bool(head.classes))


def probabilities_of(head, x):
    """(batch, classes): a sigmoid unit's p becomes the two columns 1 - p and p."""
    out = head.predict(x)
    if out.shape[-1] == 1:
        out = np.concatenate([1 - out, out], axis=-1)
    return out


def labels_of(y, classes):
    """Integer labels from integer or one-hot targets."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == classes and classes > 1:
        return y.argmax(axis=-1)
    return np.rint(y.reshape(len(y))).astype(np.int64)


def need_classifier(head, what):
    if not is_classifier(head):
        whose = "this model's outputs are" if len(head.model.graph.outputs) == 1 \
            else f"output {head.name} gives"
        raise DataError(f"{what}: needs a classifier; {whose} values (loss {head.loss})")
