"""Shape inference: every layer's output shape, checked before anything runs.

Shapes exclude the batch axis. A layer's own rule (layers/*.shape) says what
is wrong; this module says where: the layer's name, line and column, and the
shape it received and from which layer. It also bounds what a spec can ask
for before anything is allocated: the values a layer outputs per sample and
the network's parameters.
"""
import math

from ..errors import ShapeError
from . import masks
from .kinds import KINDS, ShapeProblem
from .kinds.base import fmt_shape
from .printer import describe

# A layer's output holds at most this many values per sample (1 GiB of float32),
# and the network at most MAX_PARAMETERS weights (4 GiB of float32): sizes a
# numpy network on one machine can still train, and a typo's extra digits cannot
# reach (`dense 99999999999` is an error here, not a MemoryError at init).
MAX_VALUES = 1 << 28
MAX_PARAMETERS = 1 << 30


def infer(network, whole=True):
    """ir.Network -> {node name: output shape}. Raises ShapeError. whole=False: a
    network still being written, whose output may yet be a masked sequence."""
    shapes = {}
    parameters = 0
    for node in network.nodes:
        if node.kind == "input":
            shapes[node.name] = tuple(node.p["shape"])
            _bound(node, shapes[node.name])
            continue
        layer = KINDS[node.kind]
        in_shape = [shapes[s] for s in node.inputs] if layer.merge else shapes[node.inputs[0]]
        try:
            shapes[node.name] = tuple(layer.shape(node.p, in_shape))
        except ShapeProblem as problem:
            where = " from " + ", ".join(node.inputs) if layer.merge else \
                f", got {fmt_shape(in_shape)} from {node.inputs[0]}"
            raise _error(node, f"{describe(node)} {problem}{where}{_hint(network, node, problem)}"
                         ) from None
        _bound(node, shapes[node.name])
        if layer.weights is not None:
            parameters += sum(math.prod(shape) for _, shape, _ in layer.weights(node.p, in_shape))
            if parameters > MAX_PARAMETERS:
                raise _error(node, f"{describe(node)} brings the network to {parameters:,} "
                                   f"parameters; the most nnspec builds is {MAX_PARAMETERS:,}")
    if masks.any_mask(network):
        masks.carriers(network, whole)  # a layer that cannot take a mask: an error at its line
    return shapes


def _hint(network, node, problem):
    """What to write where a layer reads the spec's input and one more axis of 1
    would fit it: a grayscale image written 28x28 (HxWxC: 28x28x1), a series
    written 20 (TIMExFEATURES: 20x1)."""
    source = network.node(node.inputs[0]) if len(node.inputs) == 1 else None
    if source is None or source.kind != "input":
        return ""
    dims = tuple(source.p["shape"])
    wants = {"needs an HxWxC input": 2, "needs a TIMExFEATURES input": 1}
    if any(str(problem).startswith(w) and len(dims) == n for w, n in wants.items()):
        return f"; write input {fmt_shape(dims + (1,))}"
    return ""


def _bound(node, shape):
    values = math.prod(shape)
    if values > MAX_VALUES:
        raise _error(node, f"{describe(node) if node.kind != 'input' else 'the input'} outputs "
                           f"{fmt_shape(shape)} = {values:,} values per sample; the most a "
                           f"layer may output is {MAX_VALUES:,}")


def _error(node, message):
    loc = node.loc
    return ShapeError(f"{node.name}: {message}", loc.line if loc else None,
                      loc.column if loc else None)
