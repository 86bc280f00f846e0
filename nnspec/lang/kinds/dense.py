"""How a fully connected layer is written, its shape and its weights. On a
sequence (TIMExFEATURES) it acts on each step, as Keras' Dense does: W is
(features, units) and the output TIMExUNITS. On vectors and images it takes
every value of a sample (the implicit flatten after a convolution): W is
(inputs, units). b is (units,). `flatten` flattens a sequence explicitly."""
import math

from ..signature import Signature, Word
from .base import ACTIVATION, mask_passes, WEIGHT_OPTIONS, Kind, ShapeProblem, kernel_and_bias

SIGNATURE = Signature(
    usage="dense UNITS [activation] [lr=..] [l1=..] [l2=..] [init=..] [bias=false]",
    words=(Word("units", "int", required=True), ACTIVATION),
    options=WEIGHT_OPTIONS,
)


def per_step(p, in_shape):
    """Whether dense acts on each step of its input: a sequence's. (`flatten` is
    no option a spec can write: files/document.py sets it to read specs of
    bundles before 1.4, when dense flattened sequences too.)"""
    return len(in_shape) == 2 and not p.get("flatten")


def shape(p, in_shape):
    if p["units"] < 1:
        raise ShapeProblem("needs at least 1 unit")
    return (in_shape[0], p["units"]) if per_step(p, in_shape) else (p["units"],)


def weights(p, in_shape):
    inputs = in_shape[-1] if per_step(p, in_shape) else math.prod(in_shape)
    return kernel_and_bias(p, (inputs, p["units"]))


# over a sequence dense acts on each step alone, so a mask passes through it
KINDS = {"dense": Kind(SIGNATURE, shape, weights, example="input 4\ndense 3 tanh",
                       masking=mask_passes)}
