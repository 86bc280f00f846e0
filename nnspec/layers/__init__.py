"""The layer registry: kind name -> LayerType. One line per kind."""
from . import conv, dense, pool
from .base import LayerType, ShapeProblem

REGISTRY = {
    "conv": conv.LAYER,
    "dense": dense.LAYER,
    "maxpool": pool.MAXPOOL,
    "avgpool": pool.AVGPOOL,
}

__all__ = ["REGISTRY", "LayerType", "ShapeProblem"]
