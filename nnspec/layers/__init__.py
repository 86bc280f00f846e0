"""The layer registry: kind name -> LayerType. One line per kind."""
from . import conv, dense
from .base import LayerType, ShapeProblem

REGISTRY = {
    "conv": conv.LAYER,
    "dense": dense.LAYER,
}

__all__ = ["REGISTRY", "LayerType", "ShapeProblem"]
