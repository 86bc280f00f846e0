"""What a stride-1 convolution keeps for backward: its input, not its im2col
columns, and the backward that reads it.

The columns hold kh*kw copies of the input (a 3x3 conv over 16 channels: 38 MB
at batch 64 and 32x32, against 4.7 MB for the padded input), and a network
kept every conv layer's until its backward: ResNet's numpy worker peaked at 3x
PyTorch's memory (benchmarks/README.md, "Issue 33"). Forward now builds the
columns in one scratch buffer that every layer shares (Mode.scratch), and
backward works from the input alone (which the layer before holds anyway),
laying it out padded again in scratch.

It can, without copying anything kh*kw times, because of the grid: lay the
padded input out as rows of c values, (n * H * W, c) for a padded H x W, and
give every output the row of its top-left input. The input under kernel offset
(i, j) of every output is then the same rows shifted by i*d*W + j*d, one
contiguous slice. So the weight gradient of an offset is one product of that
slice with the output gradient laid on the same grid (zeros at the grid's
positions that are no output), and the input gradient is each offset's
product added into the shifted slice: contiguous adds over whole runs of
rows, where a window view would add c values at a time. conv.py's im2col
backward, which stays for strided convs, is the reference the tests hold this
to (tests/test_references.py).
"""
import numpy as np

from .base import column_sums


class Grid:
    """Where a stride-1 conv's outputs lie on its padded input laid out as rows
    (rows()), from x, which the layer before holds anyway."""

    def __init__(self, p, x, pads):
        kh, kw, _ = p["kernel"]
        d = p["dilation"]
        (pt, pb), (pl, pr) = self.pads = pads
        n, h, w, c = x.shape
        self.x = x
        self.shape = (n, h + pt + pb, w + pl + pr, c)
        _, H, W, _ = self.shape
        self.out = (H - (kh - 1) * d, W - (kw - 1) * d)
        # every output's rows and the rows under its last offset lie in the
        # first `used` rows (the grid's last positions are no output)
        self.used = n * H * W - (kh - 1) * d * W - (kw - 1) * d
        self.offsets = [i * d * W + j * d for i in range(kh) for j in range(kw)]

    def rows(self, mode):
        """(n * H * W, c): the padded input, in a scratch buffer (forward's and
        backward's: a copy of x a pass, where keeping it would hold one a layer),
        or x's own memory where there is no padding."""
        x, (pt, pb), (pl, pr) = self.x, *self.pads
        if not pt + pb + pl + pr and x.flags.c_contiguous:
            return x.reshape(-1, x.shape[-1])
        rows = mode.scratch("grid", (len(x) * self.shape[1] * self.shape[2], x.shape[-1]),
                            x.dtype)
        _, h, w, _ = x.shape
        image = rows.reshape(self.shape)
        image[:, :pt] = 0
        image[:, pt + h:] = 0
        image[:, pt:pt + h, :pl] = 0
        image[:, pt:pt + h, pl + w:] = 0
        image[:, pt:pt + h, pl:pl + w] = x
        return rows


def backward(p, w, grid, dy, need_dx, mode):
    kh, kw, f = p["kernel"]
    n, H, W, c = grid.shape
    oh, ow = grid.out
    used = grid.used
    laid = mode.scratch("grid dy", (n * H * W, f), dy.dtype)
    image = laid.reshape(n, H, W, f)
    image[:, :oh, :ow] = dy
    image[:, oh:] = 0
    image[:, :oh, ow:] = 0
    laid = laid[:used]
    rows = grid.rows(mode)
    dw = np.empty((kh * kw, c, f), dy.dtype)
    for k, at in enumerate(grid.offsets):
        np.matmul(rows[at:at + used].T, laid, out=dw[k])
    grads = {"W": dw.reshape(kh, kw, c, f)}
    if "b" in w:
        grads["b"] = column_sums(dy.reshape(-1, f))
    if not need_dx:
        return None, grads
    dx = mode.zeros("dx", (n * H * W, c), dy.dtype)
    per_offset = w["W"].reshape(kh * kw, c, f).transpose(0, 2, 1)
    block = mode.scratch("grid block", (used, c), dy.dtype)
    for k, at in enumerate(grid.offsets):
        np.matmul(laid, per_offset[k], out=block)
        dx[at:at + used] += block
    (top, _), (left, _) = grid.pads
    h, wd = grid.x.shape[1:3]
    return dx.reshape(n, H, W, c)[:, top:top + h, left:left + wd], grads
