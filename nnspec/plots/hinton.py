"""Hinton diagrams of convolution kernels (seed 000): white squares for positive
weights, black for negative, the area of a square proportional to its magnitude.

All of a layer's kernels go into one axes as one collection of rectangles, so a
layer with thousands of weights draws as fast as one with ten.
"""
import numpy as np

from ..errors import DataError
from .base import figure

MAX_SIDE = 16  # at most this many filters and input channels are drawn per layer


def kernels(model, layers=None, title=None):
    """One panel per conv layer (or the named `layers`): filters across, input
    channels down, each kernel a KHxKW Hinton diagram on a grey square."""
    convs = [n.name for n in model.network.nodes if n.kind == "conv"]
    if layers is not None:
        layers = [layers] if isinstance(layers, str) else list(layers)
        unknown = [name for name in layers if name not in convs]
        if unknown:
            raise DataError(f"kernels: {unknown[0]!r} is not a conv layer of this model "
                            f"(conv layers: {', '.join(convs) or 'none'})")
        convs = layers
    if not convs:
        raise DataError("kernels: this model has no conv layers")
    ws = [np.asarray(model.weights[f"{name}.W"], dtype=np.float64) for name in convs]
    fig = figure(4.5 * len(convs), 4.2)
    axes = fig.subplots(1, len(convs), squeeze=False)[0]
    for ax, name, w in zip(axes, convs, ws):
        _hinton(ax, name, w)
    if title:
        fig.suptitle(title)
    return fig


def _hinton(ax, name, w):
    """w: (kh, kw, in_channels, filters). With one input channel the filters wrap
    into rows of up to 8; otherwise filters go across and input channels down."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle
    kh, kw, cin, cout = w.shape
    if cin == 1:
        shown = w[:, :, :, :MAX_SIDE * 4]
        cols = min(shown.shape[3], 8)
        tiles = [(j // cols, j % cols, 0, j) for j in range(shown.shape[3])]
    else:
        shown = w[:, :, :MAX_SIDE, :MAX_SIDE]
        cols = shown.shape[3]
        tiles = [(i, j, i, j) for i in range(shown.shape[2]) for j in range(cols)]
    rows = tiles[-1][0] + 1
    scale = np.abs(shown).max() or 1.0
    grey, squares, colors = [], [], []
    for row, col, i, j in tiles:
        x0, y0 = col * (kw + 1), row * (kh + 1)
        grey.append(Rectangle((x0 - 0.5, y0 - 0.5), kw, kh))
        for r in range(kh):
            for c in range(kw):
                v = shown[r, c, i, j]
                side = 0.92 * np.sqrt(abs(v) / scale)
                squares.append(Rectangle((x0 + c - side / 2, y0 + r - side / 2), side, side))
                colors.append("white" if v > 0 else "black")
    ax.add_collection(PatchCollection(grey, facecolor="#808080", edgecolor="none"))
    ax.add_collection(PatchCollection(squares, facecolor=colors, edgecolor="none"))
    ax.set_xlim(-1, cols * (kw + 1) - 1)
    ax.set_ylim(rows * (kh + 1) - 1, -1)
    ax.set_aspect("equal")
    ax.tick_params(length=0)
    drawn = len(tiles) if cin == 1 else shown.shape[3]
    more = f" (the first {drawn})" if drawn < cout else ""
    if cin == 1:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"filters 1 to {drawn}, in rows of {cols}{more}")
    else:
        ax.set_xticks([j * (kw + 1) + (kw - 1) / 2 for j in range(cols)],
                      [str(j + 1) for j in range(cols)], fontsize=7)
        ax.set_yticks([i * (kh + 1) + (kh - 1) / 2 for i in range(rows)],
                      [str(i + 1) for i in range(rows)], fontsize=7)
        ax.set_xlabel(f"filter{more}")
        ax.set_ylabel("input channel" + (f" (the first {rows} of {cin})" if cin > rows else ""))
    ax.set_title(f"{name}: {cout} kernels of {kh}x{kw}x{cin}\n"
                 f"white +, black -, area ~ |w| (max {scale:.3g})", fontsize=10)
    for side in ax.spines.values():
        side.set_visible(False)
