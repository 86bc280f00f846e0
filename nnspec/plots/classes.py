"""What a classifier decides: confusion matrix, decision boundary, example
predictions, and one input's class probabilities."""
import numpy as np

from ..errors import DataError
from .base import (CLASS_COLORS, class_names, figure, head, image_input, labels_of,
                   need_classifier, probabilities_of, target)


def confusion(model, x, y, title=None, output=None):
    """Rows are the true classes, columns the predicted ones; each cell gives its
    count and is shaded by the share of its row (seed 002's prediction matrix).
    output: which output, for a model of several (x and y then dicts by name)."""
    out = head(model, output)
    need_classifier(out, "confusion")
    probs = probabilities_of(out, x)
    k = probs.shape[-1]
    names = class_names(out, k)
    true, pred = labels_of(target(y, out), k), probs.argmax(axis=-1)
    counts = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = max(4.5, 0.55 * k + 2.5)
    fig = figure(side + 0.8, side)
    ax = fig.subplots()
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    if k <= 20:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right"
                  if max(map(len, names)) > 2 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"{title or 'confusion matrix'}: {len(true)} samples, accuracy {accuracy:.2%}")
    return fig


def boundary(model, x, y=None, resolution=200, title=None, ax=None, smooth=True, output=None):
    """A two-input classifier's decision regions, coloured by the probability of each
    class (a confident region is saturated, a boundary is pale), with the points
    (coloured by their true class where y is given) on top."""
    out = head(model, output)
    need_classifier(out, "boundary")
    if len(model.graph.inputs) != 1 or model.graph.input_shape != (2,):
        takes = ", ".join(f"{n} {'x'.join(map(str, s))}" for n, s in
                          model.graph.input_shapes.items()) if len(model.graph.inputs) > 1 \
            else "x".join(map(str, model.graph.input_shape))
        raise DataError(f"boundary: needs a model with 2 inputs, this one takes {takes}")
    x = np.asarray(x, dtype=np.float64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = 0.08 * np.maximum(hi - lo, 1e-9)
    gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    probs = probabilities_of(out, grid.astype(model.graph.dtype))
    k = probs.shape[-1]
    palette = _palette(k)
    image = (probs @ palette).reshape(resolution, resolution, 3)
    image = np.clip(1 - 0.55 * (1 - image), 0, 1)  # lighter, so the points stand out
    if ax is None:
        fig = figure(5.5, 5)
        ax = fig.subplots()
    ax.imshow(image, origin="lower", extent=(gx[0], gx[-1], gy[0], gy[-1]), aspect="auto",
              interpolation="bilinear" if smooth else "nearest")
    names = class_names(out, k)
    if y is None:
        ax.scatter(x[:, 0], x[:, 1], s=10, c="black", alpha=0.6, label="points")
    else:
        true = labels_of(target(y, out), k)
        for c in range(k):
            pick = true == c
            ax.scatter(x[pick, 0], x[pick, 1], s=12, color=palette[c], edgecolor="black",
                       linewidth=0.5, label=names[c])
        pred = probabilities_of(out, x.astype(model.graph.dtype)).argmax(axis=-1)
        accuracy = float(np.mean(pred == true))
        ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
        title = title or f"decision boundary: accuracy {accuracy:.2%} on {len(x)} points"
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title or "decision boundary")
    return ax.figure


def _palette(k):
    from matplotlib.colors import to_rgb
    if k <= len(CLASS_COLORS):
        return np.array([to_rgb(c) for c in CLASS_COLORS[:k]])
    from matplotlib import colormaps
    return colormaps["hsv"](np.linspace(0, 1, k, endpoint=False))[:, :3]


def predictions(model, x, y=None, count=16, title=None, output=None):
    """A grid of input images, each titled with its predicted class and probability,
    and its true class where y is given (green when right, red when wrong)."""
    out = head(model, output)
    need_classifier(out, "predictions")
    shape, images = image_input(model, x, "predictions")
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise DataError(f"predictions: needs image inputs (HxWx1 or HxWx3), this model takes "
                        f"{'x'.join(map(str, shape))}")
    if count < 1 or len(images) < 1:
        raise DataError(f"predictions: nothing to show ({len(images)} samples, count {count})")
    x = _first(x, count)
    images = np.asarray(images)[:count]
    probs = probabilities_of(out, x)
    names = class_names(out, probs.shape[-1])
    pred = probs.argmax(axis=-1)
    true = None if y is None else labels_of(np.asarray(target(y, out))[:count],
                                            probs.shape[-1])
    cols = min(len(images), 8)
    rows = -(-len(images) // cols)
    fig = figure(1.5 * cols, 1.75 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        ax.imshow(_image(images[i]), cmap="gray" if shape[-1] == 1 else None)
        label = f"{names[pred[i]]} {probs[i, pred[i]]:.0%}"
        color = "black"
        if true is not None:
            label += f"\ntrue: {names[true[i]]}"
            color = "#2ca02c" if true[i] == pred[i] else "#d62728"
        ax.set_title(label, fontsize=8, color=color)
    right = "" if true is None else f", {int(np.sum(true == pred))} of {len(images)} right"
    fig.suptitle(title or f"predictions (predicted class and probability{right})")
    return fig


def _batch(sample, shape):
    sample = np.asarray(sample)
    return sample[None] if sample.shape == tuple(shape) else sample


def _first(x, count):
    """The first `count` samples of x, an array or a dict of arrays by input."""
    if isinstance(x, dict):
        return {name: np.asarray(part)[:count] for name, part in x.items()}
    return np.asarray(x)[:count]


def _image(sample):
    img = np.asarray(sample, dtype=np.float64)
    lo, hi = img.min(), img.max()
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img[..., 0] if img.shape[-1] == 1 else img


def probabilities(model, sample, label=None, title=None, output=None):
    """One input beside a bar per class: seed 003's Fashion-MNIST prediction.
    sample: one input, or a batch whose first is shown (a dict for several inputs)."""
    out = head(model, output)
    need_classifier(out, "probabilities")
    if isinstance(sample, dict):
        sample = {name: _batch(part, model.graph.input_shapes[name])
                  for name, part in sample.items()}
    else:
        sample = _batch(sample, model.graph.input_shape)
    shape, shown = image_input(model, sample, "probabilities")
    probs = probabilities_of(out, _first(sample, 1))[0]
    names = class_names(out, len(probs))
    image = len(shape) == 3 and shape[-1] in (1, 3)
    fig = figure(8 if image else 5, max(3, 0.32 * len(probs) + 1))
    if image:
        left, ax = fig.subplots(1, 2, width_ratios=(1, 1.4))
        left.imshow(_image(np.asarray(shown)[0]), cmap="gray" if shape[-1] == 1 else None)
        left.axis("off")
        left.set_title("input" if label is None else f"input (true: {label})")
    else:
        ax = fig.subplots()
    best = int(probs.argmax())
    colors = ["#d62728" if i == best else "#1f77b4" for i in range(len(probs))]
    ax.barh(range(len(probs)), probs, color=colors)
    for i, p in enumerate(probs):
        inside = p > 0.8  # a long bar holds its own number
        ax.text(p - 0.02 if inside else p + 0.02, i, f"{p:.3f}", va="center", fontsize=8,
                ha="right" if inside else "left", color="white" if inside else "black")
    ax.set_yticks(range(len(probs)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability")
    ax.set_title(title or f"prediction: {names[best]} ({probs[best]:.0%})")
    return fig
