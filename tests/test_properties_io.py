"""Generated networks of 1 to 3 inputs and 1 to 3 outputs (issue 30): each input
has its own branch of layers from the whole registry (test_properties' layer
generators), the branches meet in a concat or an add, and each output is a
head of its own kind (probabilities, logits, a sigmoid, values), some with a
weight, some feeding a later output. Each is trained one step with every
optimizer, saved, loaded, resumed, and exported to ONNX and to PyTorch and back.
"""
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec.lang import parse
from nnspec.lang.kinds import KINDS
from nnspec.training.optimizers import OPTIMIZERS

from conftest import inputs_for, targets_for
from test_properties import (_any_rank_layers, _image_layers, _sequence_layers, _shape_of,
                             _vector_layers)

# an output's head: its layer's activation, and the losses it may name (None: the
# loss it implies, no loss= written)
HEADS = {"probabilities": ("softmax", ("cross_entropy", None)),
         "logits": ("", ("cross_entropy",)),
         "sigmoid": ("sigmoid", ("binary_cross_entropy",)),
         "values": ("", ("mse", "mae", "huber", None))}


def _branch(draw, i):
    """Input i's declaration and the layers from it to a vector named b{i}."""
    start = draw(st.sampled_from(["image", "sequence", "vector", "tokens"]))
    top = []
    if start == "image":
        side = draw(st.integers(3, 5))
        shape = f"{side}x{side}x{draw(st.integers(1, 2))}"
    elif start == "sequence":
        shape = f"{draw(st.integers(2, 4))}x{draw(st.sampled_from([2, 4]))}"
    else:
        shape = f"{draw(st.integers(2, 5))}"
    if start == "tokens":  # embedded token ids, with positions added or not
        vocab = draw(st.integers(2, 5))
        top = [f"embedding {vocab}x4"] + (["positional"] if draw(st.booleans()) else [])
    scale = " scale=standard" if start == "vector" and draw(st.booleans()) else ""
    decl = f"in{i}: input {shape}{scale}"
    chain = list(top)
    for _ in range(draw(st.integers(0, 2))):
        now = _shape_of([], [f"input {shape}"], chain)
        by_rank = {3: _image_layers, 2: _sequence_layers, 1: _vector_layers}[len(now)]
        by_kind = {}  # each kind as likely as the next, however many ways it is written
        for text in by_rank(draw, now) + _any_rank_layers(draw, now):
            by_kind.setdefault(text.split()[0], []).append(text)
        chain.append(draw(st.sampled_from(by_kind[draw(st.sampled_from(sorted(by_kind)))])))
    now = _shape_of([], [f"input {shape}"], chain)
    if len(now) > 1:
        chain.append("flatten")
    return decl, chain


@st.composite
def io_networks(draw):
    """-> a spec's text, without a train block."""
    n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    width = draw(st.integers(2, 4))
    lines = []
    for i in range(n_in):
        decl, chain = _branch(draw, i)
        lines.insert(i, decl)
        lines.append(" -> ".join([f"in{i}", *chain, f"b{i}: dense {width} tanh"]))
    ends = ", ".join(f"b{i}" for i in range(n_in))
    merge = draw(st.sampled_from(["concat", "add"])) if n_in > 1 else None
    lines.append(f"{merge}({ends}) -> trunk: dense 4 relu" if merge else "b0 -> trunk: dense 4 relu")
    outputs = []
    for k in range(n_out):
        kind = draw(st.sampled_from(sorted(HEADS)))
        act, losses = HEADS[kind]
        source = draw(st.sampled_from(["trunk", *(o for o in outputs)]))  # an output may feed on
        units = 1 if kind == "sigmoid" and draw(st.booleans()) else draw(st.integers(2, 3))
        lines.append(f"{source} -> o{k}: dense {units} {act}".rstrip())
        loss = draw(st.sampled_from(losses))
        weight = draw(st.sampled_from([None, 0.5, 2]))
        lines.append(" ".join(["output", f"o{k}", f"loss={loss}" if loss else "",
                               f"weight={weight}" if weight else ""]).rstrip().replace("  ", " "))
        outputs.append(f"o{k}")
    return "\n".join(lines)


def _data(model, n=6, seed=0):
    """n samples of every input (token ids for an embedding) and targets of every
    output as its loss takes them; arrays for a network of one input or output,
    dicts by name for several."""
    rng = np.random.default_rng(seed)
    return inputs_for(model, n, rng, dtype=np.float64), targets_for(model, n, rng)


def _each(out):
    return out.items() if isinstance(out, dict) else [(None, out)]


def _equal(got, want, what):
    for name, value in _each(want):
        np.testing.assert_array_equal(got[name] if name else got, value, err_msg=f"{what} {name}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(io_networks())
def test_generated_networks_of_several_ends_train_save_load_and_resume(spec):
    with tempfile.TemporaryDirectory() as tmp:
        for name in OPTIMIZERS:
            text = spec + f"\ntrain {{\n optimizer = {name}\n batch_size = 4\n seed = 3\n}}"
            model = nnspec.compile(text, dtype="float64")
            x, y = _data(model)
            history = model.fit(x, y, epochs=1)
            names = [t.name for t in model.plan.terms]
            if len(names) > 1:  # the total is the weighted sum of each output's loss
                total = sum(t.weight * history[f"{t.name}_loss"][0] for t in model.plan.terms)
                assert history["loss"][0] == pytest.approx(total, rel=1e-9)
            path = Path(tmp) / f"{name}.nnb"
            model.save(path, checkpoint=True)
            loaded = nnspec.load(path)
            # the same weights, batch and machine: the same numbers, bit for bit
            _equal(loaded.predict(x), model.predict(x), name)
            assert loaded.preprocessing == model.preprocessing
            loaded.fit(x, y, epochs=1)
            model.fit(x, y, epochs=1)
            for key, value in model.weights.items():
                np.testing.assert_array_equal(loaded.weights[key], value, err_msg=f"{name} {key}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(io_networks())
def test_generated_networks_of_several_ends_export_to_onnx_and_torch(spec):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    from nnspec.export import from_safetensors, to_onnx, to_torch
    model = nnspec.compile(spec)
    x, y = _data(model)
    model.fit(x, y, epochs=1)
    x = {k: v.astype(np.float32) for k, v in x.items()} if isinstance(x, dict) \
        else x.astype(np.float32)
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    one = len(model.graph.inputs) == 1 and len(model.graph.outputs) == 1
    got = session.run(None, {"input": x} if one else dict(x) if isinstance(x, dict)
                      else {model.graph.inputs[0]: x})
    for (name, want), value in zip(_each(model.predict(x)), got):
        # float32 both sides, other kernels and orders of sums: 1e-5 of the output's scale
        scale = max(float(np.abs(want).max()), 1.0)
        np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-5 * scale, err_msg=name)
    with tempfile.TemporaryDirectory() as tmp:
        to_torch(model, Path(tmp) / "out")
        back = from_safetensors(nnspec.compile(spec), Path(tmp) / "out" / "model.safetensors")
    assert back.preprocessing == model.preprocessing
    _equal(back.predict(x), model.predict(x), "torch round trip")


def test_the_generator_reaches_every_layer_kind_and_every_head():
    """The registry walk behind the property tests: every layer kind in some
    input's branch, every head kind, and 1 to 3 inputs and outputs."""
    kinds, heads, ends = set(), set(), set()

    @settings(max_examples=1000, deadline=None, database=None, derandomize=True)
    @given(io_networks())
    def collect(net):
        network = parse(net)
        kinds.update(n.kind for n in network.nodes)
        for n in network.nodes:
            if n.name.startswith("o"):
                heads.add(dict(n.params).get("activation", "linear"))
        ends.add((len(network.inputs), len(network.outputs)))
    collect()
    assert set(KINDS) - kinds == set()
    assert heads == {"softmax", "sigmoid", "linear"}
    assert ends == {(i, o) for i in (1, 2, 3) for o in (1, 2, 3)}
