"""Generated networks: every layer kind, with blocks, repeats and merges, trained
one step with every optimizer, saved, loaded, predicted and resumed.

Hand-picked specs missed that a block's parameters ('res1/conv1.W') broke
checkpoints; here hypothesis writes the specs. A network is grown layer by
layer from what the shape so far allows (the shape comes from nnspec's own
shape inference), so every generated spec is valid and every kind in the
registry is placed by that composer, not only by its own example
(test_the_generator_reaches_every_layer_kind).
"""
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec.lang import masks, shapes
from nnspec.lang.kinds import KINDS
from nnspec.lang.names import ACTIVATIONS as ACTIVATION_LAYERS
from nnspec.training.optimizers import OPTIMIZERS
from nnspec.lang import parse

ACTS = ("relu", "tanh", "sigmoid", "linear", "softmax")
CLASSES = 3


def _spec(blocks, top, chain):
    return "\n".join(blocks + top[:1] + [" -> ".join(top[1:] + chain)])


def _shape_of(blocks, top, chain):
    """The shape after the chain so far (a linear layer changes nothing)."""
    network = parse(_spec(blocks, top, chain + ["linear"]))
    return shapes.infer(network, whole=False)[network.outputs[0].node]


def _weight_options(draw):
    opts = draw(st.lists(st.sampled_from(["bias=false", "l1=0.01", "l2=0.02", "l1_bias=0.01",
                                          "l2_bias=0.02", "lr=0.5", "init=glorot_normal",
                                          "init=normal(0.1)"]), max_size=2, unique=True))
    if "init=glorot_normal" in opts and "init=normal(0.1)" in opts:
        opts.remove("init=normal(0.1)")
    return " ".join(opts)


def _image_layers(draw, shape):
    h, w, c = shape
    out = []
    k = draw(st.sampled_from([1, 2, 3]))
    pad = draw(st.sampled_from(["same", "valid", "full"]))
    stride = draw(st.sampled_from([1, 1, 2]))
    dilation = draw(st.sampled_from([1, 1, 2]))
    span = (k - 1) * dilation + 1
    if pad != "valid" or min(h, w) >= span:
        out.append(f"conv {k}x{k}x{draw(st.integers(1, 3))} {pad} {draw(st.sampled_from(ACTS))} "
                   f"stride={stride} dilation={dilation} {_weight_options(draw)}")
    if min(h, w) >= 2:
        out += ["maxpool 2", "avgpool 2", "maxpool 2x1 stride=1", "avgpool 1x2 stride=1"]
    out += ["maxpool 3 same stride=2", "avgpool 2 same", "maxpool 4 same stride=1"]
    if h * w <= 64:
        out.append("upsample 2")
    out += ["globalmaxpool", "globalavgpool", "flatten", f"reshape {h * w}x{c}"]
    return out


def _sequence_layers(draw, shape):
    t, f = shape
    units = draw(st.integers(1, 4))
    seq = draw(st.sampled_from(["", " return_sequences=true"]))
    # both directions: the word, or its option form
    both = draw(st.sampled_from(["", " bidirectional", " bidirectional=true"]))
    word, options = (both, seq) if "=" not in both else ("", seq + both)  # options last
    out = [f"{kind} {units}{word}{options} {_weight_options(draw)}"
           for kind in ("rnn", "lstm", "gru")]
    heads = draw(st.sampled_from([h for h in (1, 2, 4) if f % h == 0]))
    out.append(f"attention {heads}{draw(st.sampled_from(['', ' causal=true']))} "
               f"{_weight_options(draw)}")
    out.append(f"positional {draw(st.sampled_from(['', 'lr=0.5', 'init=normal(0.1)']))}")
    k, pad = draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from(["same", "valid", "full"]))
    stride, dilation = draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2]))
    if pad != "valid" or t >= (k - 1) * dilation + 1:  # a 1-D conv over time
        out.append(f"conv {k}x{draw(st.integers(1, 4))} {pad} {draw(st.sampled_from(ACTS))} "
                   f"stride={stride} dilation={dilation} {_weight_options(draw)}")
    k, stride = draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from(["", " stride=1",
                                                                        " stride=2"]))
    for kind in ("maxpool", "avgpool"):  # pooling over time
        out.append(f"{kind} {k} {draw(st.sampled_from(['same', 'valid'] if t >= k else ['same']))}"
                   f"{stride}")
    out += ["globalavgpool", "globalmaxpool", "flatten", f"dense {units}"]
    return out


def _vector_layers(draw, shape):
    (n,) = shape
    out = [f"dense {draw(st.integers(1, 5))} {draw(st.sampled_from(ACTS))} "
           f"{_weight_options(draw)}"]
    split = [a for a in (2, 3) if n % a == 0 and n > a]
    if split:
        out.append(f"reshape {split[0]}x{n // split[0]}")
    return out


def _any_rank_layers(draw, shape):
    return ["batchnorm", f"batchnorm {draw(st.sampled_from(ACTS))} momentum=0.2", "layernorm",
            "dropout 0.25", *ACTIVATION_LAYERS]


def _masked(blocks, top, chain):
    """Whether the network so far ends in a masked sequence (embedding mask_zero=true):
    then only layers that can take a mask come next (lang/masks.py)."""
    if "mask_zero=true" not in top[-1]:
        return False
    network = parse(_spec(blocks, top, chain))
    return masks.carriers(network, outputs=False)[network.nodes[-1].name]


def _takes_mask(text):
    return KINDS[text.split()[0].split("(")[0]].masking is not None


def _preserving(draw, shape, masked=False):
    """A layer whose output has `shape` again: for repeats and residual blocks."""
    out = ["layernorm", "dropout 0.5", "relu", "tanh"] + ([] if masked else ["batchnorm"])
    if len(shape) == 3:
        out.append(f"conv 3x3x{shape[-1]} same relu")
    if len(shape) == 1:
        out.append(f"dense {shape[0]} tanh")
    if len(shape) == 2:
        out += [f"attention 1 {draw(st.sampled_from(['', 'causal=true']))}", "positional"]
    return draw(st.sampled_from(out))


def _widening(shape):
    """A layer that changes only the last axis: for concat blocks."""
    return {3: "conv 1x1x2 same", 2: "gru 2 return_sequences=true", 1: "dense 2"}[len(shape)]


def _head(shape, masked=False):
    """The classifier at a network's end: a sequence is flattened first, since dense
    acts on each of its steps; a masked one pooled over its seen steps."""
    flat = "globalavgpool -> " if masked else "flatten -> "
    return (flat if len(shape) == 2 else "") + f"dense {CLASSES} softmax"


@st.composite
def composed_networks(draw):
    """A network grown layer by layer from what the shape so far allows:
    -> (spec text without a train block, input shape, vocabulary or None)."""
    start = draw(st.sampled_from(["image", "sequence", "vector", "tokens"]))
    vocab = None
    if start == "image":
        side = draw(st.integers(3, 6))
        top = [f"input {side}x{side - draw(st.integers(0, 1))}x{draw(st.integers(1, 3))}"]
    elif start == "sequence":
        top = [f"input {draw(st.integers(2, 4))}x{draw(st.sampled_from([2, 4]))}"]
    elif start == "vector":
        top = [f"input {draw(st.integers(2, 6))}"]
    else:
        vocab = draw(st.integers(2, 5))
        top = [f"input {draw(st.integers(2, 4))}",
               f"embedding {vocab}x4" + draw(st.sampled_from(["", " mask_zero=true"]))]
    blocks, chain = [], []
    for i in range(draw(st.integers(1, 4))):
        shape = _shape_of(blocks, top, chain)
        masked = _masked(blocks, top, chain)
        kind = draw(st.sampled_from(["repeat", "residual", "concat", "parameter"] + ["layer"] * 6))
        if kind == "repeat":
            chain.append(f"({_preserving(draw, shape, masked)}) x{draw(st.integers(1, 3))}")
        elif kind == "residual":
            layer = _preserving(draw, shape, masked)
            blocks.append(f"block res{i}() {{\n  {layer} -> add(in)\n}}")
            chain.append(f"res{i}()")
        elif kind == "concat":
            blocks.append(f"block cat{i}() {{\n  {_widening(shape)} -> concat(in) relu\n}}")
            chain.append(f"cat{i}()")
        elif kind == "parameter" and len(shape) in (1, 3):
            layer = "dense {u} relu" if len(shape) == 1 else "conv 1x1x{u} same"
            blocks.append(f"block p{i}(u) {{\n  {layer}\n}}")
            chain.append(f"p{i}({draw(st.integers(1, 3))})")
        else:
            by_rank = {3: _image_layers, 2: _sequence_layers, 1: _vector_layers}[len(shape)]
            by_kind = {}  # each kind as likely as the next, however many ways it is written
            for text in by_rank(draw, shape) + _any_rank_layers(draw, shape):
                if not masked or _takes_mask(text):
                    by_kind.setdefault(text.split()[0], []).append(text)
            chain.append(draw(st.sampled_from(by_kind[draw(st.sampled_from(sorted(by_kind)))])))
        _shape_of(blocks, top, chain)  # every step is valid, or the generator is wrong
    chain.append(_head(_shape_of(blocks, top, chain), _masked(blocks, top, chain)))
    spec = _spec(blocks, top, chain)
    return spec, tuple(parse(spec).nodes[0].p["shape"]), vocab


@st.composite
def example_networks(draw):
    """A kind's own example (lang/kinds: Kind.example) verbatim, then a head."""
    example = KINDS[draw(st.sampled_from(sorted(KINDS)))].example
    network = parse(example)
    first = network.nodes[1]
    vocab = first.p["table"][0] if first.kind == "embedding" else None
    head = _head(shapes.infer(network)[network.nodes[-1].name])
    return example + f"\n-> {head}", tuple(network.nodes[0].p["shape"]), vocab


@st.composite
def networks(draw):
    """What the property test trains: one in five a kind's example, the rest composed."""
    return draw(example_networks() if draw(st.integers(0, 4)) == 0 else composed_networks())


def _data(input_shape, vocab, n=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, vocab, (n, *input_shape)).astype(np.float32) if vocab else \
        rng.standard_normal((n, *input_shape)).astype(np.float32)
    return x, rng.integers(0, CLASSES, n)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_every_generated_network_trains_saves_loads_and_resumes_with_every_optimizer(net):
    spec, input_shape, vocab = net
    x, y = _data(input_shape, vocab)
    with tempfile.TemporaryDirectory() as tmp:
        for name in OPTIMIZERS:
            text = spec + (f"\ntrain {{\n optimizer = {name}\n batch_size = 4\n seed = 3\n "
                           "early_stopping = early_stopping(5, monitor=loss)\n}")
            model = nnspec.compile(text, dtype="float64")
            model.fit(x, y, epochs=1)
            path = Path(tmp) / f"{name}.nnb"
            model.save(path, checkpoint=True)
            loaded = nnspec.load(path)
            # the same weights, batch and machine: the same numbers, bit for bit
            np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
            assert loaded.predict_classes(x).shape == (len(x),)
            loaded.fit(x, y, epochs=1)
            model.fit(x, y, epochs=1)
            for key, value in model.weights.items():
                np.testing.assert_array_equal(loaded.weights[key], value, err_msg=f"{name} {key}")


def test_the_generator_reaches_every_layer_kind():
    """The registry walk behind the property test: a kind added to KINDS that the
    composing generator cannot place fails here, not silently outside every generated
    case. Only composed networks count: the examples hold every kind verbatim, so
    counting them would let a kind the composer never places (upsample, positional
    once) pass unseen."""
    found, over_time = set(), set()

    @settings(max_examples=1000, deadline=None, database=None, derandomize=True)
    @given(composed_networks())
    def collect(net):
        network = parse(net[0])
        for n in network.nodes:
            found.add(n.kind)
            if n.kind in KINDS:  # not the input: its flag words (bidirectional) too
                found.update(f"{n.kind} {w.key}" for w in KINDS[n.kind].signature.words
                             if w.form == "flag" and n.p[w.key])
        sizes = shapes.infer(network)  # the forms written over a sequence (1-D) too
        over_time.update(n.kind for n in network.nodes
                         if n.inputs and not KINDS[n.kind].merge and len(sizes[n.inputs[0]]) == 2)
    collect()
    flags = {f"{k} {w.key}" for k in KINDS for w in KINDS[k].signature.words if w.form == "flag"}
    assert (set(KINDS) | flags) - found == set()
    assert {"conv", "maxpool", "avgpool"} <= over_time


def test_the_generator_reaches_mask_zero_and_places_what_takes_a_mask_after_it():
    """embedding mask_zero=true is generated, and after it the layers that pass a mask
    on (per step, attention, every state) and those that end it; never one that
    cannot take it (the property test would fail on its one-line error)."""
    after_mask = set()

    @settings(max_examples=500, deadline=None, database=None, derandomize=True)
    @given(composed_networks())
    def collect(net):
        network = parse(net[0])
        if masks.any_mask(network):
            carries = masks.carriers(network)
            after_mask.update(n.kind for n in network.nodes
                              if any(carries.get(s) for s in n.inputs))
    collect()
    assert {"gru", "attention", "globalavgpool", "dense", "add", "layernorm"} <= after_mask
    assert all(KINDS[kind].masking is not None for kind in after_mask)


@pytest.mark.parametrize("kind", sorted(k for k, t in KINDS.items() if t.weights))
def test_penalties_and_decay_reach_every_weight_their_role_names(kind):
    """l1/l2 (and l1_bias/l2_bias) add exactly their penalty's gradient to every
    weight whose role they name, for every layer kind with weights; AdamW decays
    exactly the weight matrices."""
    from nnspec.lang.kinds import ROLES
    body = {"conv": "input 4x4x2\nconv 3x3x2 same", "embedding": "input 3\nembedding 4x4",
            "dense": "input 3\ndense 2", "rnn": "input 3x4\nrnn 2", "lstm": "input 3x4\nlstm 2",
            "gru": "input 3x4\ngru 2", "attention": "input 3x4\nattention 2"}.get(
        kind, f"input 3x4\n{kind}")
    spec = body + " -> " + _head(shapes.infer(parse(body))[parse(body).nodes[-1].name])
    x, y = _data(shapes.infer(parse(spec))["input"], 4 if kind == "embedding" else None)
    plain = nnspec.compile(spec, dtype="float64")
    rng = np.random.default_rng(5)  # no zeros: sign(0) would hide an l1 term
    plain.set_weights({k: rng.uniform(0.5, 1.5, v.shape) * rng.choice([-1, 1], v.shape)
                       for k, v in plain.weights.items()})
    _, g0 = plain.gradients(x, y)
    penalised = nnspec.compile(spec, dtype="float64", l1=0.3, l2=0.7, l1_bias=0.11, l2_bias=0.13)
    penalised.set_weights(plain.get_weights())
    _, g1 = penalised.gradients(x, y)
    graph = plain.graph
    first = graph.nodes[0].name
    names = [k for k in graph.declared if k.startswith(first + ".")]
    assert names, "the layer declares no weights"
    for name in names:
        role = graph.roles[name]
        (l1_opt, l2_opt) = ROLES[role].penalties or (None, None)
        decays, trained = ROLES[role].decayed, ROLES[role].trained
        if not trained:
            assert name not in g1
            continue
        w = plain.weights[name]
        want = {"l1": 0.3, "l2": 0.7, "l1_bias": 0.11, "l2_bias": 0.13}
        expected = (want[l1_opt] * np.sign(w) + 2 * want[l2_opt] * w) if l1_opt else 0 * w
        np.testing.assert_allclose(g1[name] - g0[name], expected, rtol=1e-9, atol=1e-12,
                                   err_msg=name)
        assert decays == (role in ("kernel", "recurrent", "embedding")), name
    adamw = nnspec.compile(spec + "\ntrain {\n optimizer = adamw(weight_decay=0.5)\n}",
                           dtype="float64")
    adamw.fit(x, y, epochs=1, batch_size=len(x))
    decayed = {k for k in graph.trainable if ROLES[graph.roles[k]].decayed}
    assert {k for k in adamw.optimizer.decayed if k in graph.declared} == decayed
    # a fresh AdamW given zero gradients moves nothing but by the decay, on exactly those
    fresh = OPTIMIZERS["adamw"](weight_decay=0.5)
    fresh.decay(decayed)
    before = adamw.get_weights()
    trained = {k: np.zeros_like(adamw.weights[k]) for k in graph.trainable}
    fresh.step(adamw.weights, trained, dict.fromkeys(trained, 0.1))
    for key in trained:
        factor = 1 - 0.1 * 0.5 if key in decayed else 1.0
        np.testing.assert_allclose(adamw.weights[key], before[key] * factor, rtol=1e-12,
                                   err_msg=key)
