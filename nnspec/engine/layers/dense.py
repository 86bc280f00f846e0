"""Fully connected layer. Any input rank: inputs are flattened per sample,
which is the implicit flatten after a convolution."""
import numpy as np

from .base import Layer, add_bias, column_sums, init_weights


def init(p, in_shape, rng, dtype):
    fan_in = int(np.prod(in_shape))
    return init_weights(p, (fan_in, p["units"]), fan_in, p["units"], rng, dtype)


def forward(p, w, x, mode):
    """x: (batch, ...) -> (batch, units)."""
    x2 = x.reshape(len(x), -1)
    y = np.matmul(x2, w["W"], out=mode.empty("y", (len(x), p["units"]), x.dtype))
    if "b" in w:
        add_bias(y, w["b"])
    return y, (x2, x.shape, mode)


def backward(p, w, cache, dy, need_dx):
    x2, x_shape, mode = cache
    grads = {"W": x2.T @ dy}
    if "b" in w:
        grads["b"] = column_sums(dy)
    dx = None
    if need_dx:
        dx = np.matmul(dy, w["W"].T, out=mode.empty("dx", x2.shape, dy.dtype)).reshape(x_shape)
    return dx, grads


def flops(p, in_shape, out_shape):
    return 2 * int(np.prod(in_shape)) * p["units"]


LAYERS = {"dense": Layer(forward, backward, init, flops)}
