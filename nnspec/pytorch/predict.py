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
from ..export import need
from ..lang.printer import describe
from . import losses, metrics, place, threads

_NETS = weakref.WeakKeyDictionary()  # model -> (key, placed weights, net)
# On a CPU a pass takes as many samples as keep its layers' outputs within
# PASS_BYTES (a power of two from 32 to the caller's batch_size): passes whose
# arrays stay near the cache ran up to 2x faster, small networks gain from
# few large passes (benchmarks/README.md). A GPU takes batch_size.
PASS_BYTES = 16 << 20


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
    """check(part of x) for the token ids of embeddings that read the input (the
    numpy engine's own check, so the same errors); the module cannot index a
    table with an id outside it."""
    readers = [n for n in graph.nodes if n.kind == "embedding" and n.inputs == (graph.input_name,)]

    def check(part):
        for node in readers:
            try:
                _ids(graph.params[node.name], part)
            except DataError as e:
                raise DataError(f"{graph.where(node)}: {node.name} ({describe(node)}): {e}") \
                    from None
    return check


def predict(model, x, vet, device="cpu", batch_size=PREDICT_BATCH):
    """The network's outputs for prepared inputs x (numpy), vet(part) checking each
    part before it goes to the device."""
    torch, net, device = network(model, device)
    graph = model.graph
    ids = input_check(graph)
    result = np.empty((len(x),) + graph.output_shape, dtype=graph.dtype)
    step = pass_size(graph, batch_size, device)
    with torch.inference_mode():
        for i in range(0, len(x), step):
            part = x[i:i + step]
            vet(part)
            ids(part)
            out = net(torch.from_numpy(np.ascontiguousarray(part)).to(device))
            result[i:i + len(part)] = out.cpu().numpy()
    return result


def _values(graph, node):
    """Values a layer holds per sample while it runs: its output, and a fused
    recurrent layer's every step and gate (its kernel's work arrays)."""
    out = math.prod(graph.shapes[node.name])
    if node.kind in GATES:
        out += graph.shapes[node.inputs[0]][0] * node.p["units"] * (GATES[node.kind] + 2)
    return out


def pass_size(graph, batch_size, device):
    """Samples a predict pass takes (see PASS_BYTES)."""
    if device.type != "cpu":
        return batch_size
    sample = sum(_values(graph, n) for n in graph.nodes) * graph.dtype.itemsize
    step = 32
    while step * 2 <= batch_size and step * 2 * sample <= PASS_BYTES:
        step *= 2
    return min(step, batch_size)


def evaluate(torch, net, model, x, t, keys):
    """{'loss': ..., metric: ...} over prepared inputs and targets (tensors on the
    net's device), as training/loop.evaluate computes them in numpy; one read."""
    config, activation = model.config, model.graph.output_activation
    fns = metrics.sums(keys)
    batch_size = pass_size(model.graph, PREDICT_BATCH, x.device)
    activate, loss = losses.activation(torch, activation), losses.function(torch, config.loss,
                                                                           activation)
    total = None
    net.train(False)
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb, tb = x[i:i + batch_size], t[i:i + batch_size]
            z = net(xb, logits=True)
            out = activate(z)
            value = loss(z, out, tb)
            part = metrics.batch_sums(torch, fns, value, out, tb)
            total = part if total is None else total + part
    sums = total.tolist() if total is not None else [0.0] * (len(keys) + 1)
    return {k: v / max(len(x), 1) for k, v in zip(["loss"] + list(keys), sums)}
