"""Layers that move values without weights: flatten, reshape, upsample.

upsample is nearest-neighbour unpooling (Keras' UpSampling2D): every pixel
becomes a KHxKW block, so its gradient is the block's sum.
"""
import numpy as np

from ...lang.kinds.reshape import flatten_shape, reshape_shape
from .base import Layer


def _to(shape_of):
    def forward(p, w, x, mode):
        return x.reshape((len(x),) + shape_of(p, x.shape[1:])), x.shape
    return forward


def _back(p, w, x_shape, dy, need_dx):
    return (dy.reshape(x_shape) if need_dx else None), {}


def _upsample_forward(p, w, x, mode):
    sh, sw = p["size"]
    n, h, wd, c = x.shape
    y = np.broadcast_to(x[:, :, None, :, None, :], (n, h, sh, wd, sw, c))
    return y.reshape(n, h * sh, wd * sw, c), None


def _upsample_backward(p, w, cache, dy, need_dx):
    if not need_dx:
        return None, {}
    sh, sw = p["size"]
    n, h, wd, c = dy.shape
    return dy.reshape(n, h // sh, sh, wd // sw, sw, c).sum(axis=(2, 4)), {}


def _no_flops(p, in_shape, out_shape):
    return 0


LAYERS = {"flatten": Layer(_to(flatten_shape), _back, flops=_no_flops),
          "reshape": Layer(_to(reshape_shape), _back, flops=_no_flops),
          "upsample": Layer(_upsample_forward, _upsample_backward, flops=_no_flops)}
