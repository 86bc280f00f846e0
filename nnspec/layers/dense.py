"""Fully connected layer. Any input rank: inputs are flattened per sample,
which is the implicit flatten after a convolution."""
import math

import numpy as np

from ..signature import Signature, Word
from .base import (ACTIVATION, WEIGHT_OPTIONS, LayerType, ShapeProblem, add_bias, column_sums,
                   init_weights, kernel_and_bias)

SIGNATURE = Signature(
    usage="dense UNITS [activation] [lr=..] [l1=..] [l2=..] [init=..] [bias=false]",
    words=(Word("units", "int", required=True), ACTIVATION),
    options=WEIGHT_OPTIONS,
)


def shape(p, in_shape):
    if p["units"] < 1:
        raise ShapeProblem("needs at least 1 unit")
    return (p["units"],)


def weights(p, in_shape):
    return kernel_and_bias(p, (math.prod(in_shape), p["units"]))


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


LAYER = LayerType(SIGNATURE, shape, init, forward, backward, flops=flops, owns_output=True,
                  weights=weights)
