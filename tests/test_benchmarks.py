"""benchmarks/floors.py's list of matrix products: a floor is only as true as the
products it times, so each matrix layer's list is held to the FLOPs the
summary counts for it, forward and training."""
import sys
from pathlib import Path

import pytest

import nnspec
from nnspec.engine.layers import flops

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import floors  # noqa: E402
import vs_torch  # noqa: E402

ONE_OF_EACH = {  # a network whose second layer is each kind floors.PRODUCTS knows
    "conv": "input 9x9x3\nconv 3x3x4 same relu -> conv 5x5x6 valid relu stride=2 -> dense 2",
    "dense": "input 7x5\ndense 6 relu -> dense 3 relu -> flatten -> dense 2",
    "rnn": "input 6x5\ndense 4 -> rnn 8 -> dense 2",
    "lstm": "input 6x5\ndense 4 -> lstm 8 -> dense 2",
    "gru": "input 6x5\ndense 4 -> gru 8 -> dense 2",
    "attention": "input 6x8\ndense 8 -> attention 2 -> globalavgpool -> dense 2",
}


@pytest.mark.parametrize("kind", sorted(floors.PRODUCTS))
def test_every_matrix_layers_products_count_the_summarys_flops(kind):
    graph = nnspec.compile(ONE_OF_EACH[kind]).graph
    node = graph.nodes[1]
    assert node.kind == kind
    p, shape_in, shape_out = graph.params[node.name], graph.shapes[node.inputs[0]], \
        graph.shapes[node.name]
    batch = 3
    summary = flops(node, graph.shapes) * batch
    forward = floors.flops(floors.PRODUCTS[kind](p, shape_in, shape_out, batch, False, False))
    training = floors.flops(floors.PRODUCTS[kind](p, shape_in, shape_out, batch, True, True))
    # exact but for a conv's bias column (1 in kh*kw*c + 1) and a recurrent
    # layer's first step, whose state is zero (1 step in t)
    assert summary * 5 / 6 <= forward <= summary * 28 / 27
    assert 2.9 * forward <= training <= 3.2 * forward
    no_dx = floors.flops(floors.PRODUCTS[kind](p, shape_in, shape_out, batch, True, False))
    assert no_dx < training  # the input gradient is a product of its own


@pytest.mark.parametrize("name", sorted(vs_torch.NETS))
def test_a_benchmark_networks_products_cover_its_matrix_layers(name):
    graph = nnspec.compile(vs_torch.NETS[name][0]).graph
    matrix = sum(flops(n, graph.shapes) for n in graph.nodes if n.kind in floors.PRODUCTS)
    forward = floors.flops(floors.products(graph, 1, False))
    assert matrix * 0.9 <= forward <= matrix * 1.1
    first = graph.nodes[0]
    training = floors.flops(floors.products(graph, 1, True))
    assert training < 3 * forward or first.kind not in floors.PRODUCTS  # no dx for the input


@pytest.mark.parametrize("spec,grid", [("input 12x10x5\nconv 3x3x7 same", 14 * 12),
                                       ("input 12x10x5\nconv 5x3x7 valid", 12 * 10),
                                       ("input 12x10x5\nconv 3x3x7 same stride=2", None)])
def test_a_convs_alternative_products_do_the_same_work(spec, grid):
    """Each alternative of a Choice computes the same sums: the flat grid's
    FLOPs are the im2col product's without its bias column, over every
    position of the padded input (`grid`) instead of the output's. It serves
    stride 1 only."""
    graph = nnspec.compile(spec).graph
    forward, dw = floors.products(graph, 4, True)  # the first layer: no input gradient
    kh, kw, _ = graph.params[graph.nodes[0].name]["kernel"]
    k = kh * kw * 5
    positions = graph.output_shape[0] * graph.output_shape[1]
    assert len(forward) == len(dw) == (1 if grid is None else 2)
    for choice in (forward, dw):
        if grid is not None:
            assert floors.flops(choice[1]) * positions * (k + 1) == \
                floors.flops(choice[0]) * grid * k


def _twin_weights(twin, model):
    """The hand-written twin's parameters set to nnspec's: each layer of the graph
    that has weights, in order, to the twin's next module that has them."""
    import torch
    tnn = torch.nn
    graph, weights = model.graph, {k: torch.from_numpy(v) for k, v in model.weights.items()}
    kinds = (tnn.Conv2d, tnn.Linear, tnn.BatchNorm2d, tnn.LayerNorm, tnn.Embedding, tnn.RNNBase,
             tnn.MultiheadAttention)
    inner = {id(m) for a in twin.modules() if isinstance(a, tnn.MultiheadAttention)
             for m in a.children()}  # its out_proj is set with it
    modules = [m for m in twin.modules() if isinstance(m, kinds) and id(m) not in inner]
    nodes = [n for n in graph.nodes if graph.keys[n.name]]
    assert len(modules) == len(nodes), (modules, [n.name for n in nodes])
    for module, node in zip(modules, nodes):
        w = {short: weights[full] for short, full in graph.keys[node.name]}
        given = {}
        if isinstance(module, tnn.Conv2d):
            given = {"weight": w["W"].permute(3, 2, 0, 1), "bias": w["b"]}
        elif isinstance(module, tnn.Linear):
            W, shape = w["W"], graph.shapes[node.inputs[0]]
            if len(shape) == 3:  # nnspec flattens (h, w, c), the twin (c, h, w)
                W = W.reshape(*shape, -1).permute(2, 0, 1, 3).reshape(W.shape)
            given = {"weight": W.T, "bias": w["b"]}
        elif isinstance(module, (tnn.BatchNorm2d, tnn.LayerNorm)):
            assert module.eps == node.p["eps"]
            given = {"weight": w["gamma"], "bias": w["beta"]}
            if isinstance(module, tnn.BatchNorm2d):
                given.update(running_mean=w["mean"], running_var=w["var"])
        elif isinstance(module, tnn.Embedding):
            given = {"weight": w["W"]}
        elif isinstance(module, tnn.RNNBase):
            for end, suffix in (("", "_l0"), ("_r", "_l0_reverse")):
                if "W" + end in w:
                    rb = w.get("rb" + end, torch.zeros_like(w["b" + end]))
                    given.update({"weight_ih" + suffix: w["W" + end].T,
                                  "weight_hh" + suffix: w["U" + end].T,
                                  "bias_ih" + suffix: w["b" + end], "bias_hh" + suffix: rb})
        else:  # MultiheadAttention: nnspec's W is q, k and v side by side
            given = {"in_proj_weight": w["W"].T, "in_proj_bias": w["b"],
                     "out_proj.weight": w["Wo"].T, "out_proj.bias": w["bo"]}
        state = module.state_dict()
        assert set(given) <= set(state), (type(module), set(given) - set(state))
        for key, value in given.items():
            assert state[key].shape == value.shape, (node.name, key)
            state[key] = value.clone()
        module.load_state_dict(state)


@pytest.mark.parametrize("name", sorted(vs_torch.NETS))
def test_each_pytorch_twin_computes_the_benchmark_networks_function(name):
    """The benchmark times nnspec against a hand-written PyTorch loop of the same
    network: with nnspec's weights in it, the twin predicts what nnspec predicts
    (float64; the twins' outputs are logits, nnspec's softmax). A twin that
    pads or flattens otherwise times another function."""
    torch = pytest.importorskip("torch")
    import numpy as np
    model = nnspec.compile(vs_torch.NETS[name][0], dtype="float64", seed=1)
    rng = np.random.default_rng(0)
    for key, value in model.weights.items():  # statistics away from 0 and 1
        if key.endswith((".mean", ".var", ".beta", ".gamma", ".b")):
            value[...] = rng.uniform(0.5, 1.5, value.shape) if key.endswith((".var", ".gamma")) \
                else rng.normal(0, 0.3, value.shape)
    x, _ = vs_torch.data(name, 6)
    twin = vs_torch.torch_net(name).double().eval()
    _twin_weights(twin, model)
    tx = torch.from_numpy(x.astype(np.float64))
    with torch.no_grad():
        out = torch.softmax(twin(tx.permute(0, 3, 1, 2) if tx.dim() == 4 else tx), 1).numpy()
    # float64 sums in another order: 1e-12 of outputs below 1
    np.testing.assert_allclose(out, model.predict(x), rtol=0, atol=1e-12)
