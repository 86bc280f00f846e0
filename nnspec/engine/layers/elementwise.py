"""Layers that act on each value alone: an activation as a layer of its own
(`dense 10 -> softmax`), and dropout.

An activation layer is the identity; the graph applies its `activation`
parameter as it does for any layer, so `dense 10 -> softmax` trains with the
same fused softmax cross-entropy as `dense 10 softmax`.

dropout (inverted, as in Keras and PyTorch) zeroes each value with
probability `rate` while training and scales the rest by 1 / (1 - rate), so
inference is the identity. Its masks come from the pass's Mode, which is
seeded per training step.
"""
from ...lang.names import ACTIVATIONS
from .base import Layer


def _identity(p, w, x, mode):
    return x, None


def _pass_back(p, w, cache, dy, need_dx):
    return (dy if need_dx else None), {}


def _dropout_forward(p, w, x, mode):
    if not mode.training or p["rate"] == 0:
        return x, None
    keep = x.dtype.type(1 - p["rate"])
    mask = (mode.rng.random(x.shape, dtype=x.dtype) < keep) / keep
    return x * mask, mask


def _dropout_backward(p, w, mask, dy, need_dx):
    if not need_dx:
        return None, {}
    return (dy if mask is None else dy * mask), {}


LAYERS = {"dropout": Layer(_dropout_forward, _dropout_backward),
          **{name: Layer(_identity, _pass_back) for name in ACTIVATIONS}}
