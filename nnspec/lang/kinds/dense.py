"""How a fully connected layer is written, its shape and its weights: any input
rank, flattened per sample (the implicit flatten after a convolution); W is
(inputs, units), b (units,)."""
import math

from ..signature import Signature, Word
from .base import ACTIVATION, WEIGHT_OPTIONS, Kind, ShapeProblem, kernel_and_bias

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


KINDS = {"dense": Kind(SIGNATURE, shape, weights, example="input 4\ndense 3 tanh")}
