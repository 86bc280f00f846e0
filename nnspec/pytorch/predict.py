"""Inference on the torch engine's device: Model.predict(engine="torch"), `nnspec
infer --engine torch`, and the fit loop's validation (evaluate). The network
for inference is built once per model and device and kept while the model's
weight arrays are the same ones (on a CPU its tensors are those arrays, so a
fit in between is seen; on a GPU the weights are copied there on every call,
since the host's may have changed)."""
import math
import weakref

import numpy as np

from ..engine.layers.embedding import _ids
from ..engine.staging import PREDICT_BATCH
from ..errors import DataError, NNSpecError
from ..lang.kinds.recurrent import GATES
from ..optional import need
from ..lang.printer import describe
from . import heap, place, threads

_NETS = weakref.WeakKeyDictionary()  # model -> (key, placed weights, net)
# On a CPU a pass takes as many samples as keep its layers' outputs within
# PASS_BYTES (a power of two from 32 to the caller's batch_size): passes whose
# arrays stay near the cache ran up to 2x faster, small networks gain from
# few large passes. 32 MB since the engine keeps glibc's freed blocks up to
# that size (heap.py): the RNN's predict 10.6 -> 6.8 ms (1024 a pass against
# 512), the bidirectional LSTM's 50 -> 46.8 ms (256 against 128), none slower
# (benchmarks/README.md, "Fast paths"). A GPU takes batch_size.
PASS_BYTES = 32 << 20
# Passes of a network with convolutions take at most CONV_PASS samples: at 1024
# glibc gave each pass's freed arrays back to the system and the next pass
# faulted them in again (the shapes CNN 12.9 ms against 7.2 ms at 512, and 7.2
# ms at 1024 with MALLOC_TRIM_THRESHOLD_ raised: benchmarks/README.md).
CONV_PASS = 512
# Beyond this a part's values are checked on its tensor (checked()): 2 MB, the
# L2 cache a core of the benchmarks' CPU has.
ONE_PASS_BYTES = 2 << 20


def device_of(torch, device):
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise NNSpecError(f"--device {device}: {e}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NNSpecError("--device cuda: this torch has no CUDA device available "
                        f"(torch {torch.__version__}); use --device cpu")
    return device


def network(model, device="cpu"):
    """(torch, the model's inference Net on device, the device)."""
    torch = need("torch", "torch", "the torch engine")
    threads.configure(torch)
    threads.balance(torch, threads.RECHECK)
    heap.settle()
    from .modules import Net
    device = device_of(torch, device)
    key = (str(device), model.graph, tuple(id(a) for a in model.weights.values()))
    hit = _NETS.get(model)
    if hit is not None and hit[0][0] == key[0] and hit[0][1] is key[1] and hit[0][2] == key[2]:
        hit[1].upload()
        return torch, hit[2], device
    placed = place.weights(model, torch, device, trained=False)
    net = Net(model.graph, placed.tensors).train(False)
    _NETS[model] = (key, placed, net)
    return torch, net, device


def input_check(graph):
    """check(part of x: an array, or a dict by input) for the token ids of
    embeddings that read an input (the numpy engine's own check, so the same
    errors); the module cannot index a table with an id outside it."""
    readers = [n for n in graph.nodes if n.kind == "embedding" and n.inputs[0] in graph.inputs]

    def check(part):
        for node in readers:
            try:
                _ids(graph.params[node.name],
                     part[node.inputs[0]] if isinstance(part, dict) else part)
            except DataError as e:
                raise DataError(f"{graph.where(node)}: {node.name} ({describe(node)}): {e}") \
                    from None
    return check


def predict(model, x, vet, device="cpu", batch_size=PREDICT_BATCH):
    """The network's outputs for prepared inputs x (numpy: an array, or a dict by
    input), vet checking each part before it goes to the device (vet(part), or
    vet(name, part) for several inputs, as prepare.prepared gives it) -> an array,
    or {output name: array} for several outputs."""
    torch, net, device = network(model, device)
    graph = model.graph
    ids = input_check(graph)
    count = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
    result = {o.name: np.empty((count,) + graph.shapes[o.node], dtype=graph.dtype)
              for o in graph.outputs}
    step = pass_size(graph, batch_size, device)
    with torch.inference_mode():
        for i in range(0, count, step):
            threads.balance(torch, threads.RECHECK)  # a measurement may be due (threads.py)
            part = place.each(x, lambda a: np.ascontiguousarray(a[i:i + step]))
            held = place.each(part, torch.from_numpy)
            if isinstance(part, dict):
                for name, array in part.items():
                    vet(name, checked(array, held[name], device))
            else:
                vet(checked(part, held, device))
            ids(part)
            out = net(place.each(held, lambda t: t.to(device)))
            if not isinstance(out, dict):
                out = {graph.outputs[0].name: out}
            for name, tensor in out.items():
                result[name][i:i + step] = tensor.cpu().numpy()
    return result if len(graph.outputs) > 1 else result[graph.outputs[0].name]


def checked(array, tensor, device):
    """What vet reads of a part: on a CPU, the tensor where the part outgrows
    ONE_PASS_BYTES (engine/preprocess.bounds: one aminmax pass, where numpy's min
    and max read it twice); else the array, numpy's two passes being faster while
    the part stays in the cache (benchmarks/README.md, "Fast paths")."""
    return tensor if device.type == "cpu" and array.nbytes > ONE_PASS_BYTES else array


def _values(graph, node):
    """Values a layer holds per sample while it runs: its output, and a fused
    recurrent layer's every step and gate (its kernel's work arrays)."""
    out = math.prod(graph.shapes[node.name])
    if node.kind in GATES:
        out += graph.shapes[node.inputs[0]][0] * node.p["units"] * (GATES[node.kind] + 2) * (
            2 if node.p["bidirectional"] else 1)
    return out


def pass_size(graph, batch_size, device):
    """Samples a predict pass takes (see PASS_BYTES)."""
    if device.type != "cpu":
        return batch_size
    sample = sum(_values(graph, n) for n in graph.nodes) * graph.dtype.itemsize
    most = min(batch_size, CONV_PASS) if any(n.kind == "conv" for n in graph.nodes) \
        else batch_size
    step = 32
    while step * 2 <= most and step * 2 * sample <= PASS_BYTES:
        step *= 2
    return min(step, batch_size)


def evaluate(torch, net, model, x, targets, objective):
    """{'loss': ..., metric: ...} over prepared inputs and targets (tensors on the
    net's device, or dicts of them by name), named as training/outputs.keys names
    them and as training/loop.evaluate computes them in numpy; one read."""
    count = place.rows(x)
    step = pass_size(model.graph, PREDICT_BATCH, place.device_of_tensors(x))
    total = None
    net.train(False)
    with torch.no_grad():
        for i in range(0, count, step):
            xb = place.each(x, lambda a: a[i:i + step])
            tb = place.each(targets, lambda a: a[i:i + step])
            z = net(xb, logits=True)
            _, part = objective.value_and_sums(z, tb, place.rows(xb), training=False)
            total = part if total is None else total + part
    sums = total.tolist() if total is not None else [0.0] * len(objective.keys)
    return {k: v / max(count, 1) for k, v in zip(objective.keys, sums)}
