"""Multi-head scaled dot-product self-attention over (batch, time, features).

    q, k, v = x W (one matmul; W is (d, 3d), split into heads of d / heads)
    a = softmax(q k^T / sqrt(d / heads))   (causal=true: step t sees steps <= t)
    y = concat_heads(a v) Wo + bo

Every head and batch is one batched matmul (`@` on 4-D arrays); the masked
scores are -inf before the softmax, so masked weights are exactly 0.
"""
from ..signature import Opt, Signature, Word
from .base import WEIGHT_OPTIONS, Kind, ShapeProblem, fmt_shape, kernel_and_bias


SIGNATURE = Signature(usage="attention HEADS [causal=true] [lr=..] [l2=..] [init=..]",
                      words=(Word("heads", "int", required=True),),
                      options=(Opt("causal", bool, False),) + WEIGHT_OPTIONS)


def shape(p, in_shape):
    if len(in_shape) != 2:
        raise ShapeProblem(f"needs a TIMExFEATURES input, got {fmt_shape(in_shape)}")
    if p["heads"] < 1 or in_shape[-1] % p["heads"]:
        raise ShapeProblem(f"needs a head count that divides the {in_shape[-1]} features, "
                           f"got {p['heads']}")
    return in_shape


def weights(p, in_shape):
    d = in_shape[-1]
    qkv, out = kernel_and_bias(p, (d, 3 * d)), kernel_and_bias(p, (d, d))
    return qkv + tuple((short + "o", shape, role) for short, shape, role in out)


KINDS = {"attention": Kind(SIGNATURE, shape, weights)}
