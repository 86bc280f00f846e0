"""globalmaxpool and globalavgpool: every axis but the batch and the features
reduced (an image's HxW, a sequence's steps). A max splits its gradient
equally between tied maxima. Over a masked sequence (embedding mask_zero=true,
mode.mask) they reduce the seen steps alone, and a row with no step seen
gives 0, as Keras' do."""
import math
from typing import NamedTuple

import numpy as np


def _inner_axes(x):
    return tuple(range(1, x.ndim - 1))


def global_max_forward(p, w, x, mode):
    if mode.mask is not None:
        return _masked_max(x, mode.mask[..., None])
    y = x.max(axis=_inner_axes(x))
    return y, (x, y, None)


def _masked_max(x, seen):
    """The max of x (batch, time, features) over the seen steps; 0 where none is."""
    y = np.where(seen, x, -np.inf).max(axis=1)
    y[~seen.any(axis=1)[:, 0]] = 0
    return y.astype(x.dtype, copy=False), (x, y, seen)


def global_max_backward(p, w, cache, dy, need_dx):
    if not need_dx:
        return None, {}
    x, y, seen = cache
    shape = (len(x),) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    mask = x == y.reshape(shape)
    if seen is not None:
        mask &= seen  # a row with no step seen has no maximum: no gradient
        share = dy / np.maximum(mask.sum(axis=1, dtype=dy.dtype), 1)
        return mask * share.reshape(shape), {}
    share = dy / mask.sum(axis=_inner_axes(x), dtype=dy.dtype)  # ties split the gradient
    return mask * share.reshape(shape), {}


class SeenMean(NamedTuple):
    """A masked mean's cache."""

    seen: object  # (batch, time, 1) bool
    count: object  # (batch, 1): the seen steps, or 1 where none is


def global_avg_forward(p, w, x, mode):
    if mode.mask is not None:
        seen = mode.mask[..., None]
        count = np.maximum(seen.sum(axis=1, dtype=x.dtype), 1)  # (batch, 1): 1 where none
        return np.einsum("ntf,nt->nf", x, mode.mask.astype(x.dtype)) / count, \
            SeenMean(seen, count)
    return x.mean(axis=_inner_axes(x)), x.shape


def global_avg_backward(p, w, cache, dy, need_dx):
    if not need_dx:
        return None, {}
    if isinstance(cache, SeenMean):
        return cache.seen * (dy / cache.count)[:, None, :], {}
    x_shape = cache
    count = dy.dtype.type(int(np.prod(x_shape[1:-1])))
    shape = (len(dy),) + (1,) * (len(x_shape) - 2) + (x_shape[-1],)
    return np.broadcast_to((dy / count).reshape(shape), x_shape), {}


def global_flops(p, in_shape, out_shape):
    return math.prod(in_shape)
