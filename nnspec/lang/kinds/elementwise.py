"""Layers that act on each value alone: an activation as a layer of its own
(`dense 10 -> softmax`, the identity with that activation) and dropout
(`dropout RATE`, 0 <= RATE < 1)."""
from ..names import ACTIVATIONS
from ..signature import Signature, Word
from .base import mask_passes, Kind, ShapeProblem


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
    return Kind(Signature(usage=name, words=(Word("activation", "choice", (name,), default=name),)), _same,
                example=f"input 2x3\n{name}", masking=mask_passes)


KINDS = {"dropout": Kind(DROPOUT, _dropout_shape, example="input 4\ndropout 0.5",
                        masking=mask_passes),
         **{name: _activation(name) for name in ACTIVATIONS}}
