"""Layers that move values without weights: flatten, reshape, upsample.

upsample is nearest-neighbour unpooling (Keras' UpSampling2D): every pixel
becomes a KHxKW block, so its gradient is the block's sum.
"""
import numpy as np

from ..signature import Signature, Word
from .base import LayerType, ShapeProblem, fmt_shape

FLATTEN = Signature(usage="flatten")
RESHAPE = Signature(usage="reshape DIMS   (e.g. reshape 7x7x16; for one axis use flatten)",
                    words=(Word("shape", "dims", required=True),))
UPSAMPLE = Signature(usage="upsample KHxKW   (or upsample K for KxK)",
                     words=(Word("size", "size", required=True),))


def _flatten_shape(p, in_shape):
    return (int(np.prod(in_shape)),)


def _reshape_shape(p, in_shape):
    if int(np.prod(p["shape"])) != int(np.prod(in_shape)):
        raise ShapeProblem(f"needs {int(np.prod(p['shape']))} values to make "
                           f"{fmt_shape(p['shape'])}, but its input holds {int(np.prod(in_shape))}")
    return tuple(p["shape"])


def _to(shape_of):
    def forward(p, w, x, mode):
        return x.reshape((len(x),) + shape_of(p, x.shape[1:])), x.shape
    return forward


def _back(p, w, x_shape, dy, need_dx):
    return (dy.reshape(x_shape) if need_dx else None), {}


def _upsample_shape(p, in_shape):
    if len(in_shape) != 3:
        raise ShapeProblem(f"needs an HxWxC input, got {fmt_shape(in_shape)}")
    (sh, sw), (h, w, c) = p["size"], in_shape
    if min(sh, sw) < 1:
        raise ShapeProblem("needs a size of at least 1x1")
    return (h * sh, w * sw, c)


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


FLATTEN_LAYER = LayerType(FLATTEN, _flatten_shape, None, _to(_flatten_shape), _back,
                          flops=_no_flops)
RESHAPE_LAYER = LayerType(RESHAPE, _reshape_shape, None, _to(_reshape_shape), _back,
                          flops=_no_flops)
UPSAMPLE_LAYER = LayerType(UPSAMPLE, _upsample_shape, None, _upsample_forward,
                           _upsample_backward, flops=_no_flops)
