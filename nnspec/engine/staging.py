"""How many samples a predict pass takes, and in which stages.

A pass over data still in the CPU's cache is faster than one over a large
batch, so predict splits a batch into passes whose arrays fit in about
PREDICT_CACHE_BYTES, and a CNN's dense layers, which read their weights once
per pass, take many samples at a time after the convolutions (stages()).
The outputs are those of one pass over everything, up to rounding: a row of
a matmul may round differently with other rows beside it.
"""
import math
import weakref

import numpy as np

from .layers.base import Mode

# A pass's arrays should stay in the CPU's cache, so a CNN predicts a few dozen
# images a pass, not hundreds; 6 MB, within the L2 and L3 of the machines
# measured, gives the MNIST and deeper CNNs passes of 32 and 12
# (benchmarks/README.md, "Fast paths").
PREDICT_CACHE_BYTES = 6 << 20
# The most samples a pass takes unless the caller says otherwise. Networks with
# small samples (an MLP) are then bounded by this rather than by the cache, and
# fewer, larger passes pay numpy's per-call cost less often (the same table).
PREDICT_BATCH = 1024
# graph -> (bytes one sample's pass holds in buffers, {node: its part of them}),
# measured by a graph's first predict
_MEASURED = weakref.WeakKeyDictionary()


def predict(graph, weights, x, batch_size=PREDICT_BATCH, check=None):
    """Outputs for x, at most batch_size samples at a time, and fewer where that
    keeps a pass's arrays in the CPU's cache (see PREDICT_CACHE_BYTES).
    check(part), where given, vets each part of x just before its pass reads
    it, while it is in the cache (Model.predict's finiteness check). A network
    of several inputs or outputs takes and gives dicts by name, a pass at a time
    (staged passes are for one input and one output)."""
    if len(graph.inputs) > 1 or len(graph.outputs) > 1:
        return _by_name(graph, weights, x, batch_size, check)
    result = np.empty((len(x),) + graph.output_shape, dtype=graph.dtype)
    mode = Mode(False, buffers=graph.buffers["predict"])
    check = check or (lambda part: None)
    if graph not in _MEASURED and len(x):
        # a first small pass measures them; its outputs are not kept, so that
        # every call splits x the same way (BLAS results for a row can depend
        # on how many rows share the matmul)
        probe = min(len(x), 8)
        check(x[:probe])
        graph.forward(weights, x[:probe], mode)
        node_bytes = {n.name: 0.0 for n in graph.nodes}
        for (name, _), buf in mode.buffers.items():
            if name is not None:  # Mode.scratch's are counted where they are used
                node_bytes[name] += buf.nbytes / probe
        for (name, _), size in mode.scratch_bytes.items():
            node_bytes[name] += size / probe
        _MEASURED[graph] = (sum(node_bytes.values()), node_bytes)
    cut, head, tail = stages(graph, weights, batch_size)
    for i in range(0, len(x), tail):
        part = x[i:i + tail]
        if cut:  # the layers before the cut a few samples at a time
            mode.node = handed = graph.nodes[cut - 1].name
            mid = mode.empty("handed", (len(part),) + graph.shapes[handed], graph.dtype)
            for j in range(0, len(part), head):
                check(part[j:j + head])
                mid[j:j + head] = graph.forward(weights, part[j:j + head], mode, 0, cut)[0]
            part = mid
        else:
            check(part)
        result[i:i + tail] = graph.forward(weights, part, mode, cut)[0]
    return result

def _by_name(graph, weights, x, batch_size, check):
    """predict for a network of several inputs or outputs: x {input: array} ->
    {output name: array}, batch_size samples a pass. check: check(name, part) for
    several inputs, check(part) for one (as prepare.prepared gives it)."""
    mode = Mode(False, buffers=graph.buffers["predict"])
    if not isinstance(x, dict):
        x = {graph.input_name: x}
        check = check and (lambda name, part, one=check: one(part))
    count = len(next(iter(x.values())))
    result = {o.name: np.empty((count,) + graph.shapes[o.node], graph.dtype)
              for o in graph.outputs}
    for i in range(0, count, batch_size):
        part = {name: array[i:i + batch_size] for name, array in x.items()}
        for name, array in part.items():
            if check is not None:
                check(name, array)
        out = graph.forward(weights, part, mode)[0]
        if not isinstance(out, dict):
            out = {graph.outputs[0].name: out}
        for name, array in out.items():
            result[name][i:i + batch_size] = array
    return result if len(graph.outputs) > 1 else result[graph.outputs[0].name]


def stages(graph, weights, batch_size):
    """(cut, head, tail): predict runs nodes[:cut] `head` samples a pass and
    nodes[cut:] `tail` at a time. A CNN's convolutions want a few samples a
    pass to stay in the cache, its dense layers many, since each pass reads
    their weights again (benchmarks/README.md, "Fast paths"). The cut is the
    first node after which a pass of batch_size samples fits in
    PREDICT_CACHE_BYTES and only the node before it is read
    (its output, written and read once, need not stay in the cache), if
    reading the later layers' weights once per `head` samples would cost
    more than handing that output over (not so for the shapes CNN, whose
    dense weights are 0.2 MB); cut 0 runs the whole graph at once."""
    def step(per_sample):
        fit = max(8, int(PREDICT_CACHE_BYTES // max(per_sample or 1, 1)) // 8 * 8)
        return min(batch_size, fit)
    sample_bytes, node_bytes = _MEASURED.get(graph, (None, None))
    # a masked network's layers need the masks of those before them (graph.forward)
    if sample_bytes is None or step(sample_bytes) == batch_size or graph.masked:
        return 0, batch_size, step(sample_bytes)
    names = [n.name for n in graph.nodes]
    index = {name: i for i, name in enumerate(names)}
    index[graph.input_name] = -1
    # suffix sums and minima, so that finding the cut is linear in the layers:
    # after[i] the bytes of nodes[i:], reach[i] the earliest node they read
    after, reach = [0.0] * (len(names) + 1), [len(names)] * (len(names) + 1)
    for i in range(len(names) - 1, -1, -1):
        after[i] = after[i + 1] + node_bytes[names[i]]
        reach[i] = min([reach[i + 1]] + [index[src] for src in graph.nodes[i].inputs])
    for cut in range(1, len(names)):
        if reach[cut] < cut - 1 or step(after[cut]) != batch_size:
            continue  # a later node reads past the handed one, or the rest does not fit
        handed = names[cut - 1]
        head = step(sum(node_bytes[name] for name in names[:cut]))  # once: it returns
        reread = sum(weights[k].nbytes for name in names[cut:] for _, k in graph.keys[name])
        if reread / head > math.prod(graph.shapes[handed]) * graph.dtype.itemsize:
            return cut, head, batch_size
        break
    return 0, step(sample_bytes), step(sample_bytes)


def measured(graph):
    """(bytes a sample's predict pass holds, {node: its part}), or (None, None)
    before the graph's first predict."""
    return _MEASURED.get(graph, (None, None))
