"""Fully connected layer: one matrix product over rows of W's width. A sequence's
rows are its steps (dense acts on each); a vector's or an image's row is the
whole sample (the implicit flatten after a convolution). lang/kinds/dense.py
says which."""
import math

import numpy as np

from ...lang.kinds.dense import per_step
from .base import Layer, add_bias, column_sums, init_weights


def init(p, shapes, rng, dtype):
    fan_in, fan_out = shapes["W"]
    return init_weights(p, shapes["W"], fan_in, fan_out, rng, dtype)


def forward(p, w, x, mode):
    """x: (batch, ...) -> (batch, units), or (batch, time, units) for a sequence."""
    x2 = x.reshape(-1, w["W"].shape[0])
    y = np.matmul(x2, w["W"], out=mode.empty("y", (len(x2), p["units"]), x.dtype))
    if "b" in w:
        add_bias(y, w["b"])
    out = x.shape[:-1] if per_step(p, x.shape[1:]) else x.shape[:1]
    return y.reshape(out + (p["units"],)), (x2, x.shape, mode)


def backward(p, w, cache, dy, need_dx):
    x2, x_shape, mode = cache
    dy = dy.reshape(len(x2), -1)
    grads = {"W": x2.T @ dy}
    if "b" in w:
        grads["b"] = column_sums(dy)
    dx = None
    if need_dx:
        dx = np.matmul(dy, w["W"].T, out=mode.empty("dx", x2.shape, dy.dtype)).reshape(x_shape)
    return dx, grads


def flops(p, in_shape, out_shape):
    return 2 * math.prod(in_shape) * p["units"]


LAYERS = {"dense": Layer(forward, backward, init, flops)}
