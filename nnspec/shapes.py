"""Shape inference: every layer's output shape, checked before anything runs.

Shapes exclude the batch axis. A layer's own rule (layers/*.shape) says what
is wrong; this module says where: the layer's name, line and column, and the
shape it received and from which layer.
"""
from .errors import ShapeError
from .layers import REGISTRY, ShapeProblem
from .layers.base import fmt_shape
from .printer import describe


def infer(network):
    """ir.Network -> {node name: output shape}. Raises ShapeError."""
    shapes = {}
    for node in network.nodes:
        if node.kind == "input":
            shapes[node.name] = tuple(node.p["shape"])
            continue
        layer = REGISTRY[node.kind]
        try:
            if layer.merge:
                shapes[node.name] = tuple(layer.shape(node.p, [shapes[s] for s in node.inputs]))
                continue
            src = node.inputs[0]
            shapes[node.name] = tuple(layer.shape(node.p, shapes[src]))
        except ShapeProblem as problem:
            loc = node.loc
            where = f", got {fmt_shape(shapes[src])} from {src}" if not layer.merge else \
                " from " + ", ".join(node.inputs)
            raise ShapeError(f"{node.name}: {describe(node)} {problem}{where}",
                             loc.line if loc else None, loc.column if loc else None) from None
    return shapes
