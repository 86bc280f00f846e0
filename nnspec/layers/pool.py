"""Max and average pooling over KHxKW windows, channels-last.

When the stride equals the window (the usual case) the windows tile the
input's top-left oh*kh x ow*kw corner (rows and columns past it are in no
window and get no gradient), so that corner is reshaped to (n, oh, kh, ow,
kw, c) and reduced: no windows at all. Otherwise windows come from a strided
view, and backward spreads gradients back by looping over the kh*kw window
offsets (no scatter-add). Max pooling splits the gradient equally between
tied maxima.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..signature import Opt, Signature, Word
from .base import LayerType, ShapeProblem, fmt_shape


def _signature(kind):
    return Signature(usage=f"{kind} KHxKW [stride=S]   (or {kind} K for KxK)",
                     words=(Word("window", "size", required=True),),
                     options=(Opt("stride", int, None, minimum=1),))


def _stride(p):
    return (p["stride"], p["stride"]) if p["stride"] else p["window"]


def shape(p, in_shape):
    kh, kw = p["window"]
    sh, sw = _stride(p)
    if len(in_shape) != 3:
        raise ShapeProblem(f"needs an HxWxC input, got {fmt_shape(in_shape)}")
    h, w, c = in_shape
    if h < kh or w < kw:
        raise ShapeProblem(f"needs at least {kh}x{kw} input")
    return ((h - kh) // sh + 1, (w - kw) // sw + 1, c)


def _tiled(p, x_shape):
    """(n, oh, kh, ow, kw, c) when the windows do not overlap, else None."""
    kh, kw = p["window"]
    n, h, w, c = x_shape
    if _stride(p) != (kh, kw):
        return None
    return (n, h // kh, kh, w // kw, kw, c)


def _blocks(p, x):
    """x's windows as (n, oh, kh, ow, kw, c), or None when they overlap."""
    tiled = _tiled(p, x.shape)
    if tiled is None:
        return None
    _, oh, kh, ow, kw, _ = tiled
    if (oh * kh, ow * kw) != x.shape[1:3]:
        x = x[:, :oh * kh, :ow * kw]  # the rows and columns past the last window
    return x.reshape(tiled)


def _untile(a, b, tiled, x_shape):
    """a * b on the tiled windows (n, oh, kh, ow, kw, c) -> the whole input's
    gradient (zero past the last window), written in place into the result."""
    dx = np.empty(x_shape, dtype=b.dtype)
    n, oh, kh, ow, kw, c = tiled
    if (oh * kh, ow * kw) != x_shape[1:3]:
        dx[:, oh * kh:] = 0
        dx[:, :, ow * kw:] = 0
    # splitting the rows and columns of the covered corner is a view, not a copy
    np.multiply(a, b, out=dx[:, :oh * kh, :ow * kw].reshape(n, oh, kh, ow, kw, c))
    return dx


def _windows(p, x):
    """(n, oh, ow, c, kh, kw) strided view of x's windows."""
    (kh, kw), (sh, sw) = p["window"], _stride(p)
    return sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]


def _spread(p, dwin, x_shape, dtype):
    """Sum window gradients (n, oh, ow, c, kh, kw) back onto the input."""
    (kh, kw), (sh, sw) = p["window"], _stride(p)
    _, oh, ow = dwin.shape[:3]
    dx = np.zeros(x_shape, dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, i:i + oh * sh:sh, j:j + ow * sw:sw] += dwin[..., i, j]
    return dx


def max_forward(p, w, x, mode):
    blocks = _blocks(p, x)
    if blocks is not None:
        y = blocks.max(axis=(2, 4))
        return y, (x, y)
    win = _windows(p, x)
    y = win.max(axis=(4, 5))
    return y, (x, y)


def max_backward(p, w, cache, dy, need_dx):
    x, y = cache
    if not need_dx:
        return None, {}
    blocks = _blocks(p, x)
    if blocks is not None:
        mask = blocks == y[:, :, None, :, None, :]
        if np.count_nonzero(mask) == y.size:  # no ties, the usual case: skip counting
            share = dy
        else:
            share = dy / mask.sum(axis=(2, 4), dtype=dy.dtype)  # int counts would upcast
        return _untile(mask, share[:, :, None, :, None, :], blocks.shape, x.shape), {}
    mask = _windows(p, x) == y[..., None, None]
    share = dy / mask.sum(axis=(4, 5), dtype=dy.dtype)
    return _spread(p, mask * share[..., None, None], x.shape, dy.dtype), {}


def avg_forward(p, w, x, mode):
    blocks = _blocks(p, x)
    y = blocks.mean(axis=(2, 4)) if blocks is not None else _windows(p, x).mean(axis=(4, 5))
    return y, x.shape


def avg_backward(p, w, x_shape, dy, need_dx):
    if not need_dx:
        return None, {}
    kh, kw = p["window"]
    share = dy / dy.dtype.type(kh * kw)
    tiled = _tiled(p, x_shape)
    if tiled is not None:
        return _untile(np.ones((), share.dtype), share[:, :, None, :, None, :], tiled, x_shape), {}
    dwin = np.broadcast_to(share[..., None, None], share.shape + (kh, kw))
    return _spread(p, dwin, x_shape, dy.dtype), {}


def flops(p, in_shape, out_shape):
    """One comparison or addition per window element."""
    kh, kw = p["window"]
    return kh * kw * int(np.prod(out_shape))


MAXPOOL = LayerType(_signature("maxpool"), shape, None, max_forward, max_backward, flops=flops)
AVGPOOL = LayerType(_signature("avgpool"), shape, None, avg_forward, avg_backward, flops=flops)


# Global pooling: one value per channel (the last axis) over every other axis,
# for images (h, w, c) and sequences (t, f) alike.

def _global_signature(kind):
    return Signature(usage=kind)


def global_shape(p, in_shape):
    if len(in_shape) < 2:
        raise ShapeProblem(f"needs an input with a channel axis (HxWxC or TxF), "
                           f"got {fmt_shape(in_shape)}")
    return (in_shape[-1],)


def _inner_axes(x):
    return tuple(range(1, x.ndim - 1))


def global_max_forward(p, w, x, mode):
    y = x.max(axis=_inner_axes(x))
    return y, (x, y)


def global_max_backward(p, w, cache, dy, need_dx):
    if not need_dx:
        return None, {}
    x, y = cache
    shape = (len(x),) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    mask = x == y.reshape(shape)
    share = dy / mask.sum(axis=_inner_axes(x), dtype=dy.dtype)  # ties split the gradient
    return mask * share.reshape(shape), {}


def global_avg_forward(p, w, x, mode):
    return x.mean(axis=_inner_axes(x)), x.shape


def global_avg_backward(p, w, x_shape, dy, need_dx):
    if not need_dx:
        return None, {}
    count = dy.dtype.type(int(np.prod(x_shape[1:-1])))
    shape = (len(dy),) + (1,) * (len(x_shape) - 2) + (x_shape[-1],)
    return np.broadcast_to((dy / count).reshape(shape), x_shape), {}


def global_flops(p, in_shape, out_shape):
    return int(np.prod(in_shape))


GLOBAL_MAXPOOL = LayerType(_global_signature("globalmaxpool"), global_shape, None,
                           global_max_forward, global_max_backward, flops=global_flops)
GLOBAL_AVGPOOL = LayerType(_global_signature("globalavgpool"), global_shape, None,
                           global_avg_forward, global_avg_backward, flops=global_flops)
