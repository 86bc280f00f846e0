"""2-D convolution, channels-last, by im2col, with optional stride and dilation.

Forward gathers every receptive field into one matrix and does a single
matmul. Backward is two matmuls plus a col2im that loops over the kernel's
kh*kw offsets adding strided slices, so there is no scatter-add and no Python
loop over samples or pixels. The input gradient's matmul writes each offset's
(or, for few channels, each offset and channel's) part as one contiguous
block, so each add runs over whole rows of the image: numpy pays per inner
loop, and inner loops of only c values made col2im slow (benchmarks/README.md,
"Fast paths").

The gather has two layouts, whichever copies faster (benchmarks/README.md,
"Fast paths"): for inputs with few channels (an image's first layer) a
loop over the kh*kw offsets copies whole contiguous planes into a
(kh*kw*c, positions) matrix, and the matmuls take its transpose for free;
with more channels, a strided window view copied once into (positions,
kh*kw*c) is faster.

A training pass keeps the columns for backward only where they are small
(forward's docstring); else backward gathers them again, or reads the input
on a grid (conv_grid.py), and the columns live in one scratch buffer a pass.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ...lang.kinds.conv import as_image, is_1d, pads, span
from . import conv_grid
from .base import Layer, init_weights


def init(p, shapes, rng, dtype):
    *taps, c, f = shapes["W"]  # (kh, kw, c, f), or a 1-D conv's (k, c, f)
    taps = math.prod(taps)
    return init_weights(p, shapes["W"], taps * c, taps * f, rng, dtype)


_NARROW = 4  # fewer input channels than this: gather by kernel offsets, transposed
# Fewer filters than this: the narrow layout's weight gradient, (k, positions) @
# (positions, f), as f matrix-vector products. BLAS's matrix kernels work on
# blocks of 8 columns (OpenBLAS's Haswell sgemm), so a product with fewer runs
# slower than f products with a vector; from 8 the matrix product wins
# (benchmarks/README.md, "Fast paths").
GEMV_FILTERS = 8
# A wide stride-1 conv's backward reads its input on a grid (conv_grid.py) where
# the grid's rows, padding included, are at most this many times its outputs;
# beyond, the padding's rows cost more than gathering the columns again (a 3x3
# 'same' conv over 32x32 has 1.13 times as many, over 14x14 1.31: backward 8.0
# against 10.2 ms and 7.8 against 5.8 ms, benchmarks/README.md "Fast paths")
GRID_ROWS = 1.2
# A wide conv keeps its columns where they hold at most this many times its
# input's values: a 3x3 conv of stride 2 (2.25 times), whose gathering again
# cost the strided net 10% of its training speed (benchmarks/README.md "Fast
# paths"); a stride-1 conv's are kh*kw times.
KEEP = 4


def _im2col(p, xp, oh, ow, alloc, ones):
    """-> (matrix, narrow): receptive fields in W's (kh, kw, c) order, as rows, or
    for a narrow input as columns; with `ones`, one more column (row) of ones,
    which carries the bias through the same matmuls (no pass to add it, none
    to sum its gradient). alloc: mode.empty, or mode.scratch where no cache
    keeps the matrix."""
    kh, kw, _ = p["kernel"]
    (sh, sw), s, d = span(p), p["stride"], p["dilation"]
    n, _, _, c = xp.shape
    k = kh * kw * c
    if c >= _NARROW:
        windows = sliding_window_view(xp, (sh, sw), axis=(1, 2))[:, : oh * s : s, : ow * s : s,
                                                                :, ::d, ::d]
        cols = alloc("cols", (n, oh, ow, k + ones), xp.dtype)
        rows = cols[..., :k].reshape(n, oh, ow, kh, kw, c)
        np.copyto(rows, windows.transpose(0, 1, 2, 4, 5, 3))  # rows of (kh, kw, c)
        cols[..., k:] = 1
        return cols.reshape(n * oh * ow, k + ones), False
    cols = alloc("cols", (k + ones, n * oh * ow), xp.dtype)
    planes = cols[:k].reshape(kh, kw, c, n, oh, ow)
    for i in range(kh):
        for j in range(kw):
            planes[i, j] = xp[:, i * d: i * d + oh * s: s, j * d: j * d + ow * s: s].transpose(3, 0, 1, 2)
    cols[k:] = 1
    return cols, True


def _im2col_same(p, x, pt, pl, alloc, ones):
    """The narrow im2col of a stride-1 'same' conv, whose output is as wide as x.

    Because it is, each kernel offset's plane, read in row-major order, is one
    contiguous run of x flattened with zero rows above and below: a copy of
    h*w values a sample, where copying out of a padded image goes a row (w
    values) at a time. A run starting left of (right of) column 0 picks up
    the previous (next) row's end at each row's start (end); those columns are
    the padding's zeros and are zeroed after the copy. Long runs are what a
    copy does fastest, where padding and gathering go a row at a time
    (benchmarks/README.md, "Fast paths").
    """
    kh, kw, _ = p["kernel"]
    d = p["dilation"]
    n, h, wd, c = x.shape
    k = kh * kw * c
    size = h * wd * c
    flat = alloc("flat", (n, ((kh - 1) * d + h) * wd * c + (kw - 1) * d * c), x.dtype)
    start = (pt * wd + pl) * c
    flat[:, :start] = 0
    flat[:, start + size:] = 0
    flat[:, start:start + size] = x.reshape(n, size)
    cols = alloc("cols", (k + ones, n * h * wd), x.dtype)
    planes = cols[:k].reshape(kh, kw, c, n, h, wd)
    for i in range(kh):
        for j in range(kw):
            at = (i * d * wd + j * d) * c
            planes[i, j] = flat[:, at:at + size].reshape(n, h, wd, c).transpose(3, 0, 1, 2)
            shift = j * d - pl  # columns read from the neighbouring row
            if shift < 0:
                planes[i, j, ..., :-shift] = 0
            elif shift > 0:
                planes[i, j, ..., wd - shift:] = 0
    cols[k:] = 1
    return cols


def _gather(p, x, geometry, alloc, bias):
    """-> (cols, narrow): x's receptive fields, padded as the conv pads."""
    (pt, pb), (pl, pr), (oh, ow) = geometry
    n, h, wd, c = x.shape
    if c < _NARROW and p["stride"] == 1 and (oh, ow) == (h, wd):
        return _im2col_same(p, x, pt, pl, alloc, bias), True
    xp = x
    if pt + pb + pl + pr:
        xp = alloc("padded", (n, h + pt + pb, wd + pl + pr, c), x.dtype)
        xp.fill(0)
        xp[:, pt:pt + h, pl:pl + wd] = x
    return _im2col(p, xp, oh, ow, alloc, bias)


def forward(p, w, x, mode):
    """x: (batch, h, w, c) -> (batch, oh, ow, filters). What a training pass keeps
    for backward: a narrow input's columns (kh*kw copies of a few channels) and
    those of a wide one up to KEEP times its size; else the input alone (a
    stride-1 conv's columns are kh*kw copies of it: ResNet's numpy worker held
    3x PyTorch's memory, benchmarks/README.md "Issue 33"), which backward reads
    on a grid (conv_grid.py) or gathers into columns again, whichever is faster
    for the layer (GRID_ROWS)."""
    kh, kw, f = p["kernel"]
    (sh, sw), s = span(p), p["stride"]
    n, h, wd, c = x.shape
    (pt, pb), (pl, pr) = pads(h, sh, s, p["padding"]), pads(wd, sw, s, p["padding"])
    oh = (h + pt + pb - sh) // s + 1
    ow = (wd + pl + pr - sw) // s + 1
    geometry = ((pt, pb), (pl, pr), (oh, ow))
    bias, wide = "b" in w, c >= _NARROW
    if wide and mode.training and s == 1 and \
            (h + pt + pb) * (wd + pl + pr) <= GRID_ROWS * oh * ow:
        grid = conv_grid.Grid(p, x, ((pt, pb), (pl, pr)))
        cols, narrow = _im2col(p, grid.rows(mode).reshape(grid.shape), oh, ow, mode.scratch,
                               bias)
        cache = ("grid", grid, mode)
    else:  # columns of at most KEEP times the input's values (a strided conv's) are kept
        keep = mode.training and (not wide or oh * ow * (kh * kw * c + 1) <= KEEP * h * wd * c)
        cols, narrow = _gather(p, x, geometry, mode.empty if keep else mode.scratch, bias)
        cache = ("columns", cols, narrow, geometry, x.shape, mode) if keep else \
            ("input", x, geometry, mode)
    k = kh * kw * c
    w2 = w["W"].reshape(k, f)
    if bias:  # the ones row of cols meets b
        w2 = np.concatenate([w2, w["b"][None]], out=mode.empty("Wb", (k + 1, f), x.dtype))
    y = np.matmul(cols.T if narrow else cols, w2, out=mode.empty("y", (n * oh * ow, f), x.dtype))
    return y.reshape(n, oh, ow, f), cache


def backward(p, w, cache, dy, need_dx):
    if cache[0] == "grid":  # a stride-1 conv's input, on a grid (conv_grid.py)
        _, grid, mode = cache
        return conv_grid.backward(p, w, grid, dy, need_dx, mode)
    if cache[0] == "input":  # its columns gathered again, in the pass's scratch
        _, x, geometry, mode = cache
        cols, narrow = _gather(p, x, geometry, mode.scratch, "b" in w)
        x_shape = x.shape
    else:
        _, cols, narrow, geometry, x_shape, mode = cache
    (pt, pb), (pl, pr), _ = geometry
    _, h, wd, c = x_shape
    kh, kw, f = p["kernel"]
    s, d = p["stride"], p["dilation"]
    n, oh, ow, _ = dy.shape
    k = kh * kw * c
    dy2 = dy.reshape(-1, f)
    if narrow and f < GEMV_FILTERS:
        dw = np.empty((len(cols), f), dy.dtype)
        for j in range(f):  # one matrix-vector product a filter
            np.matmul(cols, dy2[:, j], out=dw[:, j])
    else:
        dw = cols @ dy2 if narrow else cols.T @ dy2  # a folded bias's row is the last
    grads = {"W": dw[:k].reshape(kh, kw, c, f)}
    if "b" in w:
        grads["b"] = dw[k]
    if not need_dx:
        return None, grads
    dxp = mode.zeros("dx", (n, h + pt + pb, wd + pl + pr, c), dy.dtype)
    if narrow:  # (kh, kw, c, positions): add plane by plane, a row of ow values at a time
        dcols = np.matmul(w["W"].reshape(-1, f), dy2.T,
                          out=mode.scratch("dcols", (k, n * oh * ow), dy.dtype))
        dcols = dcols.reshape(kh, kw, c, n, oh, ow)
        for i in range(kh):
            for j in range(kw):
                rows = dxp[:, i * d : i * d + oh * s : s, j * d : j * d + ow * s : s]
                for ch in range(c):
                    rows[..., ch] += dcols[i, j, ch]
    else:  # one matmul per kernel offset into a contiguous (positions, c) block, so
        # the add runs over whole rows (ow*c values) instead of c at a time; the
        # block is reused while it is still in the cache
        per_offset = w["W"].reshape(kh * kw, c, f).transpose(0, 2, 1)
        block = mode.scratch("dcols", (n * oh * ow, c), dy.dtype)
        for i in range(kh):
            for j in range(kw):
                np.matmul(dy2, per_offset[i * kw + j], out=block)
                dxp[:, i * d : i * d + oh * s : s, j * d : j * d + ow * s : s] += \
                    block.reshape(n, oh, ow, c)
    return dxp[:, pt : pt + h, pl : pl + wd], grads


def sequence_forward(p, w, x, mode):
    """forward, for a 1-D conv too: x (batch, time, features) -> (batch, time', filters)."""
    if not is_1d(p):
        return forward(p, w, x, mode)
    W = w["W"]
    y, cache = forward(as_image(p), {**w, "W": W.reshape(W.shape[0], 1, *W.shape[1:])},
                       x[:, :, None], mode)
    return y[:, :, 0], cache


def sequence_backward(p, w, cache, dy, need_dx):
    if not is_1d(p):
        return backward(p, w, cache, dy, need_dx)
    W = w["W"]
    dx, grads = backward(as_image(p), {**w, "W": W.reshape(W.shape[0], 1, *W.shape[1:])},
                         cache, dy[:, :, None], need_dx)
    grads["W"] = grads["W"].reshape(W.shape)
    return (None if dx is None else dx[:, :, 0]), grads


def flops(p, in_shape, out_shape):
    kh, kw, f = as_image(p)["kernel"]
    return 2 * kh * kw * in_shape[-1] * math.prod(out_shape)


def needs(p, rows, cols):
    """A 'valid' conv's first rows x cols outputs read only the input's first
    (rows - 1) * stride + span rows (and columns likewise)."""
    if p["padding"] != "valid" or is_1d(p):  # crops are of images' rows and columns
        return None
    (sh, sw), s = span(p), p["stride"]
    return (rows - 1) * s + sh, (cols - 1) * s + sw


LAYERS = {"conv": Layer(sequence_forward, sequence_backward, init, flops)}
