"""The engine's layer registry: kind -> Layer (init, forward, backward, flops).

Every kind the language declares (lang/kinds/) is computed by the module of
its family here: lang/kinds/conv.py declares `conv`, engine/layers/conv.py's
LAYERS computes it. A kind declared without compute fails at import.
"""
import importlib
import math

from ...lang.kinds import FAMILY
from .base import Layer, Mode

REGISTRY = {kind: importlib.import_module(f".{family}", __name__).LAYERS[kind]
            for kind, family in FAMILY.items()}


def flops(node, shapes):
    """A node's forward FLOPs per sample: a multiply-add counts 2 (conv, dense),
    pooling one per window element, a merge one per output value."""
    out = shapes[node.name]
    layer = REGISTRY[node.kind]
    if layer.flops is not None:
        return layer.flops(node.p, shapes[node.inputs[0]], out)
    return math.prod(out) * max(len(node.inputs) - 1, 1)


__all__ = ["REGISTRY", "Layer", "Mode", "flops"]
