"""What a training step of the numpy engine holds in memory, planned from the
shapes before anything is allocated, and the bound on it.

A spec can ask for any size within the language's bounds (lang/shapes.py), and
a typo's extra digits (`input 3x3x100000`) would otherwise show up as gigabytes
taken at the first step. Model checks the plan when it is compiled or loaded,
before its weights exist, and fit checks it again for the batch size it is
given: a plan over MAX_STEP_BYTES is one error at the line of the layer that
needs the most.

The plan is an upper bound of what numpy allocates, not an exact count
(tests/test_memory.py holds tracemalloc's peak under it plus OVERHEAD, the
Python objects, for every kind):

- parameters, PARAMETER_COPIES times: the weights (twice while they are first
  laid out), their gradients, the gradients gathered into the optimizer's
  packed vector, two optimizer state slots (Adam's m and v), the update's
  scratch, and one to spare;
- per sample, for each layer: its output and activation, their gradients and
  its input's gradient, plus its own work arrays (WORK: im2col columns,
  attention scores, a recurrent layer's per-step gates);
- predict's first pass, of a few samples, which measures the passes that follow.
"""
import math

from ..errors import ShapeError
from ..lang.kinds import KINDS
from ..lang.kinds.conv import as_image, pads, span
from ..lang.printer import describe

MAX_STEP_BYTES = 8 << 30  # 8 GiB: twice the 200-layer ResNet of benchmarks/parse_200.py
PARAMETER_COPIES = 8
OVERHEAD = 2 << 20  # bytes of Python objects beside the arrays, for a network of few layers
# predict's first pass (engine/staging.py) of 8 samples, forward only: as 4
# samples of a training step
PROBE = 4


def _conv(p, in_shape, out_shape):
    p, in_shape = as_image(p, in_shape)  # a 1-D conv works as a Kx1 2-D one
    kh, kw, _ = p["kernel"]
    (sh, sw), s = span(p), p["stride"]
    h, w, c = in_shape
    padded = (h + sum(pads(h, sh, s, p["padding"]))) * (w + sum(pads(w, sw, s, p["padding"]))) * c
    positions = math.prod(out_shape[:-1])
    columns = positions * (kh * kw * c + 1)
    # the gathered columns, kept for backward; their gradient (narrow inputs) or
    # one kernel offset's block of it; a padded input and its gradient
    return columns + (columns if c < 4 else positions * c) + 2 * padded


def _pool(p, in_shape, out_shape):
    return 3 * math.prod(in_shape)  # the windows' maxima mask, padding, the input gradient


def _recurrent(gates):
    def work(p, in_shape, out_shape):
        t, f = in_shape
        units = p["units"]
        one_way = t * units * (2 * gates + 6) + 2 * t * f
        if p["bidirectional"]:  # each direction's own, and the sum of their dx
            return 2 * one_way + t * f
        return one_way
    return work


def _attention(p, in_shape, out_shape):
    t, d = in_shape
    return 4 * p["heads"] * t * t + 16 * t * d


def _norm(p, in_shape, out_shape):
    return 4 * math.prod(in_shape)


# kind -> work(p, in_shape, out_shape): a layer's own arrays, values per sample
WORK = {"conv": _conv, "maxpool": _pool, "avgpool": _pool, "globalmaxpool": _pool,
        "globalavgpool": _pool, "upsample": _pool, "rnn": _recurrent(1),
        "lstm": _recurrent(4), "gru": _recurrent(3), "attention": _attention,
        "batchnorm": _norm, "layernorm": _norm}


VIEWS = ("flatten", "reshape")  # a view of their input: no arrays of their own


def per_sample(graph, node):
    """Values one sample holds in a training step for this node."""
    if node.kind in VIEWS:
        return 0
    shapes = graph.shapes
    out = shapes[node.name]
    ins = [shapes[s] for s in node.inputs]
    values = 4 * math.prod(out) + 2 * sum(math.prod(s) for s in ins)
    work = WORK.get(node.kind)
    if work is not None:
        values += work(node.p, ins if KINDS[node.kind].merge else ins[0], out)
    return values


def plan(graph, batch_size):
    """-> (bytes a training step at batch_size may hold, {node name: (its bytes,
    values a sample, parameters)})."""
    size = graph.dtype.itemsize
    samples = batch_size + PROBE
    by_node = {}
    for node in graph.nodes:
        params = sum(math.prod(graph.declared[full][0]) for _, full in graph.keys[node.name])
        values = per_sample(graph, node)
        by_node[node.name] = ((values * samples + params * PARAMETER_COPIES) * size, values,
                              params)
    inputs = 2 * math.prod(graph.input_shape) * samples * size
    return inputs + sum(b for b, _, _ in by_node.values()), by_node


def check(graph, batch_size, source=None):
    """A ShapeError at the heaviest layer's line where a step at batch_size would
    hold more than MAX_STEP_BYTES."""
    total, by_node = plan(graph, batch_size)
    if total <= MAX_STEP_BYTES:
        return
    name = max(by_node, key=lambda n: by_node[n][0])
    node = next(n for n in graph.nodes if n.name == name)
    _, values, params = by_node[name]
    loc = node.loc
    raise ShapeError(
        f"{name}: {describe(node)}: a training step at batch size {batch_size} would hold "
        f"about {_size(total)}, more than the {_size(MAX_STEP_BYTES)} nnspec plans for "
        f"(this layer: {values:,} values a sample, {params:,} parameters); lower batch_size, "
        "or make the layer or its input smaller", loc.line if loc else None,
        loc.column if loc else None, source)


def _size(n):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
