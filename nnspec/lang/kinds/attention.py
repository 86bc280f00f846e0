"""How multi-head self-attention is written, its shape and weights: over a
TIMExFEATURES input, HEADS dividing the features; W (d, 3d) for q, k and v
and Wo (d, d) with their biases b and bo; causal=true masks later steps."""
from ..signature import Opt, Signature, Word
from .base import mask_passes, WEIGHT_OPTIONS, Kind, ShapeProblem, kernel_and_bias

SIGNATURE = Signature(usage="attention HEADS [causal=true] [lr=..] [l2=..] [init=..]",
                      words=(Word("heads", "int", required=True),),
                      options=(Opt("causal", bool, False),) + WEIGHT_OPTIONS)


def shape(p, in_shape):
    if len(in_shape) != 2:
        raise ShapeProblem("needs a TIMExFEATURES input")
    if p["heads"] < 1 or in_shape[-1] % p["heads"]:
        raise ShapeProblem(f"needs a head count that divides the {in_shape[-1]} features, "
                           f"got {p['heads']}")
    return in_shape


def weights(p, in_shape):
    d = in_shape[-1]
    qkv, out = kernel_and_bias(p, (d, 3 * d)), kernel_and_bias(p, (d, d))
    return qkv + tuple((short + "o", shape, role) for short, shape, role in out)


# a masked step is no key (its score is -inf) and its own output goes on masked
KINDS = {"attention": Kind(SIGNATURE, shape, weights, example="input 3x4\nattention 2",
                           masking=mask_passes)}
