"""The layer registry: kind name -> LayerType. One line per kind."""
from . import conv, dense, merge, pool
from .base import LayerType, ShapeProblem

REGISTRY = {
    "conv": conv.LAYER,
    "dense": dense.LAYER,
    "maxpool": pool.MAXPOOL,
    "avgpool": pool.AVGPOOL,
    "add": merge.ADD,
    "concat": merge.CONCAT,
}

__all__ = ["REGISTRY", "LayerType", "ShapeProblem"]
