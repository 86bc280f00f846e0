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
from ..names import ACTIVATIONS
from ..signature import Signature, Word
from .base import Kind, ShapeProblem


def _same(p, in_shape):
    return in_shape


DROPOUT = Signature(usage="dropout RATE   (the share of values zeroed while training, 0 <= RATE < 1)",
                    words=(Word("rate", "number", required=True),))


def _dropout_shape(p, in_shape):
    if not 0 <= p["rate"] < 1:
        raise ShapeProblem(f"needs a rate from 0 up to (not including) 1, got {p['rate']}")
    return in_shape


def _activation(name):
    """An activation as a layer of its own: `dense 10 -> softmax`."""
    return Kind(Signature(usage=name, words=(Word("activation", "choice", (name,), default=name),)), _same)


KINDS = {"dropout": Kind(DROPOUT, _dropout_shape),
         **{name: _activation(name) for name in ACTIVATIONS}}
