"""What every layer kind provides, and the options layers with weights share.

A layer kind is plain functions, no state:
    shape(p, in_shape) -> out_shape          raises ShapeProblem("needs ...")
    init(p, in_shape, rng, dtype) -> {"W": ..., "b": ...}
    forward(p, w, x, training) -> (y, cache)
    backward(p, w, cache, dy, need_dx) -> (dx or None, {"W": dW, ...})
`p` is the node's parameter dict, `w` its weights by short name. backward
must not write into dy: a merge hands one array to several inputs. Shapes
exclude the batch axis; arrays include it: (batch, h, w, c) or (batch, n).
"""
from dataclasses import dataclass
from typing import Callable

from .. import activations, init
from ..signature import Opt, Signature, Word


class ShapeProblem(ValueError):
    """Raised by a shape rule; shapes.py adds the layer, location and input."""


@dataclass(frozen=True)
class LayerType:
    signature: Signature
    shape: Callable
    init: Callable = None
    forward: Callable = None
    backward: Callable = None
    merge: bool = False  # takes several inputs, as lists (layers/merge.py)
    flops: Callable = None  # flops(p, in_shape, out_shape) -> per sample; None: elementwise


ACTIVATION = Word("activation", "choice", activations.NAMES, default="linear")

WEIGHT_OPTIONS = (
    Opt("lr", float, None, minimum=0.0),
    Opt("l1", float, None, minimum=0.0),
    Opt("l2", float, None, minimum=0.0),
    Opt("l1_bias", float, None, minimum=0.0),
    Opt("l2_bias", float, None, minimum=0.0),
    Opt("init", str, None, choices=init.NAMES),
    Opt("bias", bool, True),
)


def init_weights(p, shape, fan_in, fan_out, rng, dtype):
    """W from the layer's initializer, b zeros (when the layer has a bias)."""
    name = p.get("init") or init.default_for(p.get("activation"))
    out = {"W": init.weights(name, rng, shape, fan_in, fan_out, dtype)}
    if p.get("bias", True):
        out["b"] = init.weights("zeros", rng, (shape[-1],), fan_in, fan_out, dtype)
    return out


def fmt_shape(shape):
    return "x".join(str(d) for d in shape)
