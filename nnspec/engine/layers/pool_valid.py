"""Max and average pooling over KHxKW windows inside the input (valid), channels-last.

Both loop over the kh*kw offsets inside a window, never over samples or
pixels: the offset (i, j) of every window at once is the strided slice
x[:, i::sh, j::sw], so max pooling is a running np.maximum over kh*kw slices
and average pooling a running sum, whose inner loops run over whole rows,
where reducing a 6-D window view loops over a window's few values
(benchmarks/README.md, "Fast paths"). Backward walks the same slices:
each gets dy where it held its window's maximum, or dy / (kh*kw) for the
average; overlapping windows add, non-overlapping ones just write. Max
pooling splits the gradient equally between tied maxima. Rows and columns
past the last window get no gradient. Where it touches fewer elements (large
overlapping windows, see _separable), max pooling is a max over each
window's rows and then over its columns, the same maxima; its gradient then
splits a tie equally among the tied columns and within each among the tied
rows (equal shares when every tied column holds as many, as in a window of
zeros; a valid subgradient, summing to dy, always).
"""
import math

import numpy as np

from ...lang.kinds.pool import as_image, shape, stride


def _slices(p, oh, ow):
    """The strided slice of the input at each offset (i, j) within a window."""
    (kh, kw), (sh, sw) = p["window"], stride(p)
    return [(slice(None), slice(i, i + (oh - 1) * sh + 1, sh), slice(j, j + (ow - 1) * sw + 1, sw))
            for i in range(kh) for j in range(kw)]


def _tiles(p, a, oh, ow):
    """a's windows as a (n, oh, kh, ow, kw, c) view when they tile it exactly
    (stride = window, nothing left over), else None."""
    (kh, kw), (sh, sw) = p["window"], stride(p)
    n, h, w, c = a.shape
    if (sh, sw) != (kh, kw) or (oh * kh, ow * kw) != (h, w):
        return None  # a view of a view here measured slower than the per-offset loop
    return a.reshape(n, oh, kh, ow, kw, c)


# Below this many channels, max pooling's backward over exactly tiling windows
# compares whole image rows (w * c values) against y repeated along each
# window's width, instead of the 6-D window view whose innermost loop is c
# long: numpy pays per inner loop, so the fewer the channels the more rows win;
# from 32 channels the two are even (benchmarks/README.md, "Fast paths").
ROW_CHANNELS = 32


def _rows(p, x, y):
    """(x as (n, oh, kh, w * c), f(a) -> a (n, oh, ow, c) repeated along each
    window's width as (n, oh, 1, w * c)) for windows that tile x exactly."""
    (_, kw), (n, oh, ow, c) = p["window"], y.shape
    width = ow * kw * c

    def wide(a):
        return np.repeat(a[:, :, :, None], kw, axis=3).reshape(n, oh, 1, width)
    return x.reshape(n, oh, -1, width), wide


def _dx(p, x_shape, y_shape, dtype, mode):
    """dx's array, zeroed where no window will write it."""
    (kh, kw), (sh, sw) = p["window"], stride(p)
    _, oh, ow, _ = y_shape
    if (sh, sw) != (kh, kw):
        return mode.zeros("dx", x_shape, dtype)
    dx = mode.empty("dx", x_shape, dtype)
    dx[:, oh * kh:] = 0  # the rows and columns past the last window
    dx[:, :, ow * kw:] = 0
    return dx


def _gradient(p, x_shape, y_shape, a, b, mode):
    """dx, where the offset k of _slices gets a[k] * b[k]."""
    (kh, kw), (sh, sw) = p["window"], stride(p)
    _, oh, ow, _ = y_shape
    overlap = sh < kh or sw < kw
    dx = mode.zeros("dx", x_shape, b[0].dtype) if overlap else _dx(p, x_shape, y_shape,
                                                                  b[0].dtype, mode)
    for k, where in enumerate(_slices(p, oh, ow)):
        if overlap:
            dx[where] += a[k] * b[k]
        else:  # each input value is in one window at most: write, no temporary
            np.multiply(a[k], b[k], out=dx[where])
    return dx


def _out(p, x, mode):
    n, h, w, c = x.shape
    return mode.empty("y", (n,) + shape(p, (h, w, c)), x.dtype)


def _separable(p, x_shape, y_shape):
    """Whether to take a max over rows, then over columns (kh + kw passes, and an
    intermediate of oh x W) rather than over each of the kh*kw offsets: where that
    touches under two thirds as many elements: near one, the second kernel's
    zeroed intermediate costs more than the fewer elements save
    (benchmarks/README.md, "Fast paths")."""
    (kh, kw), (_, w, _), (oh, ow) = p["window"], x_shape[1:], y_shape[1:3]
    return 3 * ((kh - 1) * oh * w + (kw - 1) * oh * ow + oh * w) < 2 * kh * kw * oh * ow


def _along(k, s, o, axis):
    """The strided slices of an axis at each offset within a window of k."""
    return [(slice(None),) * axis + (slice(i, i + (o - 1) * s + 1, s),) for i in range(k)]


def _max_along(x, k, s, o, axis, out):
    first, *rest = _along(k, s, o, axis)
    np.copyto(out, x[first])
    for where in rest:
        np.maximum(out, x[where], out=out)
    return out


def _max_along_back(x, y, dy, k, s, o, axis, dx):
    """dx (zeroed) += dy routed to the maxima of each 1-D window; ties split equally."""
    slices = _along(k, s, o, axis)
    masks = [x[where] == y for where in slices]
    share = dy if sum(np.count_nonzero(m) for m in masks) == y.size else \
        dy / sum(m.astype(dy.dtype) for m in masks)
    for mask, where in zip(masks, slices):
        dx[where] += mask * share
    return dx


def max_forward(p, w, x, mode):
    y = _out(p, x, mode)
    if _separable(p, x.shape, y.shape):
        (kh, kw), (sh, sw), (oh, ow) = p["window"], stride(p), y.shape[1:3]
        rows = mode.empty("rows", (len(x), oh) + x.shape[2:], x.dtype)
        _max_along(x, kh, sh, oh, 1, rows)
        _max_along(rows, kw, sw, ow, 2, y)
        return y, (x, y, mode, rows)
    first, *rest = _slices(p, *y.shape[1:3])
    np.copyto(y, x[first])
    for where in rest:
        np.maximum(y, x[where], out=y)
    return y, (x, y, mode, None)


def max_backward(p, w, cache, dy, need_dx):
    x, y, mode, rows = cache
    if not need_dx:
        return None, {}
    if rows is not None:  # back through the columns' max, then the rows'
        (kh, kw), (sh, sw), (oh, ow) = p["window"], stride(p), y.shape[1:3]
        drows = _max_along_back(rows, y, dy, kw, sw, ow, 2, mode.zeros("drows", rows.shape,
                                                                       dy.dtype))
        return _max_along_back(x, rows, drows, kh, sh, oh, 1,
                               mode.zeros("dx", x.shape, dy.dtype)), {}
    tiles = _tiles(p, x, *y.shape[1:3])
    if tiles is not None:  # one comparison over all windows: twice as fast as per offset
        widen = (slice(None), slice(None), None, slice(None), None)
        by_rows = _rows(p, x, y) if y.shape[-1] < ROW_CHANNELS else None
        if by_rows is None:
            mask = np.equal(tiles, y[widen], out=mode.empty("mask", tiles.shape, bool))
        else:
            x_rows, wide = by_rows
            mask = np.equal(x_rows, wide(y), out=mode.empty("mask", x_rows.shape, bool))
        ties = np.count_nonzero(mask) != y.size
        share = dy / mask.reshape(tiles.shape).sum(axis=(2, 4), dtype=dy.dtype) if ties else dy
        dx = _dx(p, x.shape, y.shape, dy.dtype, mode)
        if by_rows is None:
            np.multiply(mask, share[widen], out=_tiles(p, dx, *y.shape[1:3]))
        else:
            np.multiply(mask, wide(share), out=dx.reshape(x_rows.shape))
        return dx, {}
    masks = [x[where] == y for where in _slices(p, *y.shape[1:3])]
    if sum(np.count_nonzero(m) for m in masks) == y.size:  # no ties, the usual case
        share = dy
    else:
        share = dy / sum(m.astype(dy.dtype) for m in masks)
    return _gradient(p, x.shape, y.shape, masks, [share] * len(masks), mode), {}


def avg_forward(p, w, x, mode):
    y = _out(p, x, mode)
    first, *rest = _slices(p, *y.shape[1:3])
    np.copyto(y, x[first])
    for where in rest:
        y += x[where]
    kh, kw = p["window"]
    y *= x.dtype.type(1 / (kh * kw))
    return y, (x.shape, mode)


def avg_backward(p, w, cache, dy, need_dx):
    x_shape, mode = cache
    if not need_dx:
        return None, {}
    kh, kw = p["window"]
    share = dy * dy.dtype.type(1 / (kh * kw))
    return _gradient(p, x_shape, dy.shape, [1] * (kh * kw), [share] * (kh * kw), mode), {}


def flops(p, in_shape, out_shape):
    """One comparison or addition per window element."""
    kh, kw = p["window"]
    return kh * kw * math.prod(out_shape)


def reads(p, in_shape, out_shape):
    """Rows and columns up to the end of the last window; the rest get no gradient.
    Same padding reads every row and column. On a TIMExFEATURES input: (steps up
    to the end of the last window, every feature)."""
    if p.get("padding") == "same":
        return in_shape[0], in_shape[1]
    q, _ = as_image(p, in_shape)
    (kh, kw), (sh, sw) = q["window"], stride(q)
    rows = (out_shape[0] - 1) * sh + kh
    if len(in_shape) == 2:  # over time: every feature is read
        return rows, in_shape[1]
    return rows, (out_shape[1] - 1) * sw + kw
