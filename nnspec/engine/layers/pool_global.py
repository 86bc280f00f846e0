"""globalmaxpool and globalavgpool: every axis but the batch and the features
reduced (an image's HxW, a sequence's steps). A max splits its gradient
equally between tied maxima."""
import math

import numpy as np


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
    return math.prod(in_shape)
