"""Pooling with `same` padding: pool.py's valid kernels over the input padded as
TensorFlow pads it, with -inf for a max (a window always holds one of the
input's values) and zeros for an average, whose sum is then divided by the
input's values each window holds rather than by kh*kw (Keras' and
TensorFlow's average)."""
import numpy as np

from ...lang.kinds.pool import padding, shape, stride
from .pool_valid import avg_backward, avg_forward, max_backward, max_forward


def _pad(p, x, mode, fill):
    """(x padded for p's windows, the valid params, (top, left)); x itself when no
    padding is needed."""
    valid = dict(p, padding="valid")
    (pt, pb), (pl, pr) = padding(p, x.shape[1:])
    if not pt + pb + pl + pr:
        return x, valid, (0, 0)
    n, h, w, c = x.shape
    xp = mode.empty("padded", (n, h + pt + pb, w + pl + pr, c), x.dtype)
    xp.fill(fill)
    xp[:, pt:pt + h, pl:pl + w] = x
    return xp, valid, (pt, pl)


def _counts(p, in_shape, dtype):
    """(oh, ow, 1): how many of the input's values each window of p covers."""
    (kh, kw), (sh, sw) = p["window"], stride(p)
    out = shape(p, in_shape)
    along = []
    for size, k, s, (before, _), o in zip(in_shape[:2], (kh, kw), (sh, sw),
                                           padding(p, in_shape), out[:2]):
        start = np.arange(o) * s - before
        along.append(np.minimum(start + k, size) - np.maximum(start, 0))
    return np.outer(*along).astype(dtype)[..., None]


def _crop(dxp, at, x_shape):
    (pt, pl), (_, h, w, _) = at, x_shape
    return dxp[:, pt:pt + h, pl:pl + w]


def max_same_forward(p, w, x, mode):
    xp, valid, at = _pad(p, x, mode, -np.inf)
    y, inner = max_forward(valid, w, xp, mode)
    return y, (inner, valid, at, x.shape)


def max_same_backward(p, w, cache, dy, need_dx):
    inner, valid, at, x_shape = cache
    dxp, _ = max_backward(valid, w, inner, dy, need_dx)
    return (None if dxp is None else _crop(dxp, at, x_shape)), {}


def avg_same_forward(p, w, x, mode):
    xp, valid, at = _pad(p, x, mode, 0)
    y, _ = avg_forward(valid, w, xp, mode)
    kh, kw = p["window"]
    scale = x.dtype.type(kh * kw) / _counts(p, x.shape[1:], x.dtype)
    y *= scale
    return y, (xp.shape, mode, valid, at, x.shape, scale)


def avg_same_backward(p, w, cache, dy, need_dx):
    xp_shape, mode, valid, at, x_shape, scale = cache
    dxp, _ = avg_backward(valid, w, (xp_shape, mode), dy * scale, need_dx)
    return (None if dxp is None else _crop(dxp, at, x_shape)), {}
