"""Masking (embedding VOCABxDIM mask_zero=true): which layers pass, end or refuse
a mask (lang/masks.py), the numpy engine's masked layers against finite
differences in float64 and against the cells as their equations read, and
"padding changes nothing": zero ids appended leave every output as it was."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec.engine import parallel, staging
from nnspec.engine.layers import recurrent, recurrent_reference
from nnspec.engine.layers.base import Mode
from nnspec.lang.kinds import KINDS

from conftest import assert_close_grad, numeric_grad

HEAD = "input 6\nembedding 7x4 mask_zero=true\n"

# ids of 5 rows: padding at the end, in the middle, at the start, none, and all
IDS = np.array([[3, 1, 4, 0, 0, 0],
                [5, 0, 2, 0, 6, 1],
                [0, 0, 3, 3, 2, 0],
                [1, 2, 3, 4, 5, 6],
                [0, 0, 0, 0, 0, 0]], float)

# one row per layer that reads a mask (recurrent layers with and without every
# state, the global pools, attention, a merge of masked sequences): gradient rows
MASKED = [
    "rnn 3", "lstm 3", "gru 3",
    "rnn 3 return_sequences=true -> globalavgpool",
    "lstm 3 return_sequences=true -> lstm 2",
    "gru 3 return_sequences=true bias=false -> globalmaxpool",
    "globalavgpool", "globalmaxpool", "dense 3 tanh -> globalmaxpool",
    "attention 2 -> globalavgpool",
    "attention 2 causal=true -> layernorm -> gru 2",
    "a: dense 4 tanh\nembedding1 -> b: lstm 4 return_sequences=true\nadd(a, b) -> globalavgpool",
    "a: dense 3\nembedding1 -> b: dense 2\nconcat(a, b) relu -> dropout 0.3 -> rnn 2",
    # both directions: the backward one reads the mask reversed with the steps
    "lstm 3 bidirectional", "gru 2 bidirectional bias=false", "rnn 2 bidirectional",
    "lstm 2 bidirectional return_sequences=true -> globalmaxpool",
    "gru 3 bidirectional return_sequences=true -> rnn 2 bidirectional",
]


def _model(body, dtype="float64", seed=7):
    return nnspec.compile(HEAD + body, dtype=dtype, seed=seed)


@pytest.mark.parametrize("body", MASKED)
def test_masked_layer_gradients(body, rng):
    model = _model(body)
    graph, weights = model.graph, model.weights
    for name in graph.trainable:  # biases start at zero; move them so they matter
        weights[name] += rng.normal(0, 0.3, weights[name].shape)
    readout = rng.normal(size=(len(IDS),) + graph.output_shape)

    def f():
        out, _ = graph.forward(weights, IDS, Mode(True, np.random.SeedSequence(3)))
        return float((out * readout).sum())

    out, tape = graph.forward(weights, IDS, Mode(True, np.random.SeedSequence(3)))
    assert np.isfinite(out).all()
    grads, _ = graph.backward(tape, readout.copy())
    for name in graph.trainable:
        assert_close_grad(grads[name], numeric_grad(f, weights[name]), name)
    # the padding id's row of the table is never read, so it learns nothing
    assert not grads["embedding1.W"][0].any()


@pytest.mark.parametrize("both", [False, True], ids=["", "bidirectional"])
@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_the_masked_loops_compute_the_masked_cells(kind, sequences, both, rng):
    """The fast loops with a mask against recurrent_reference's masked cell, in
    float64 (rounding in another order: 1e-12), and both against the cell run over
    each row's seen steps alone (carry-over is skipping the masked steps; both
    ways, the backward direction over the seen steps from the last)."""
    model = nnspec.compile(f"input 6x3\n{kind} 5 return_sequences={str(sequences).lower()}"
                           + (" bidirectional=true" if both else ""), dtype="float64")
    model.set_weights({k: rng.normal(0, 0.7, v.shape) for k, v in model.weights.items()})
    node = model.graph.nodes[0]
    w = {short: model.weights[full] for short, full in model.graph.keys[node.name]}
    x, mask = rng.normal(0, 1, (5, 6, 3)), IDS != 0
    want = recurrent_reference.reference(kind, node.p, w, x, mask)
    layer = recurrent.LAYERS[kind]
    for training in (True, False):
        mode = Mode(training)
        mode.mask = mask
        got, cache = layer.forward(node.p, w, x, mode)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    for row in range(len(x)):
        seen = x[row:row + 1, mask[row]]
        alone = recurrent_reference.reference(kind, node.p, w, seen) if seen.shape[1] else None
        if sequences:  # the seen steps' states, zeros at the masked
            expect = np.zeros((6, 10 if both else 5))
            if alone is not None:
                expect[mask[row]] = alone[0]
            np.testing.assert_allclose(want[row], expect, rtol=1e-12, atol=1e-13)
        else:
            np.testing.assert_allclose(want[row], 0 if alone is None else alone[0],
                                       rtol=1e-12, atol=1e-13)


def test_without_a_mask_the_graph_computes_none():
    model = nnspec.compile("input 6\nembedding 7x4\nlstm 3")
    assert model.graph.masked is None
    mode = Mode(False)
    model.graph.forward(model.weights, IDS, mode)
    assert mode.mask is None


QUADRATIC = "\ntrain {\n  loss = quadratic\n}"  # no softmax head on the output


def test_masked_pools_reduce_the_seen_steps_and_give_zero_for_none(rng):
    model = _model("dense 3 -> globalavgpool" + QUADRATIC)
    x = IDS
    out = model.predict(x)
    assert np.all(out[4] == 0)  # no step seen
    # the mean of the seen steps' dense outputs
    w = model.weights
    per_step = w["embedding1.W"][x.astype(int)] @ w["dense1.W"] + w["dense1.b"]
    mean = (per_step * (x != 0)[..., None]).sum(1) / np.maximum((x != 0).sum(1), 1)[:, None]
    np.testing.assert_allclose(out[:4], mean[:4], rtol=1e-12)
    top = _model("dense 3 -> globalmaxpool" + QUADRATIC)
    top.set_weights(model.weights)
    big = np.where((x != 0)[..., None], per_step, -np.inf).max(1)
    np.testing.assert_allclose(top.predict(x)[:4], big[:4], rtol=1e-12)
    assert np.all(top.predict(x)[4] == 0)


def test_a_query_that_sees_no_key_gets_zero_weights(rng):
    """attention's own output: where a query sees no key (causal, before a row's
    first seen step; a row with none seen) a v is 0, so only the bias bo is left."""
    from nnspec.engine.layers import attention
    model = nnspec.compile("input 6x4\nattention 2 causal=true", dtype="float64")
    w = {k.split(".")[1]: rng.normal(size=v.shape) for k, v in model.weights.items()}
    mode = Mode(False)
    mode.mask = IDS != 0
    y = attention.forward(model.graph.nodes[0].p, w, rng.normal(size=(5, 6, 4)), mode)[0]
    blind = np.cumsum(IDS != 0, axis=1) == 0  # (row, query): no key seen yet
    assert blind[2, :2].all() and blind[4].all()
    np.testing.assert_allclose(y[blind], np.broadcast_to(w["bo"], y[blind].shape), rtol=1e-12)
    assert np.isfinite(y).all()


def test_attention_with_every_key_masked_gives_no_nan():
    model = _model("attention 2 causal=true bias=false -> globalavgpool" + QUADRATIC)
    out = model.predict(IDS)  # row 2 starts with masked steps: their queries see no key
    assert np.isfinite(out).all()
    assert np.all(out[4] == 0)


def _padded(ids, extra):
    return np.concatenate([ids, np.zeros((len(ids), extra))], axis=1)


PADDABLE = [b for b in MASKED if "dropout" not in b] + ["attention 1 -> lstm 2"]


@pytest.mark.parametrize("body", PADDABLE)
def test_padding_changes_nothing(body):
    """Zero ids appended (a longer input, same weights) give the same outputs: the
    masked steps are skipped, not computed as zeros. float64, 1e-12: the seen
    steps' arithmetic is the same, but a matmul over more rows may round in
    another order (BLAS blocks by size)."""
    short = _model(body)
    spec = (HEAD + body).replace("input 6", "input 9")
    long = nnspec.compile(spec, dtype="float64", seed=7)
    long.set_weights(short.weights)
    np.testing.assert_allclose(long.predict(_padded(IDS, 3)), short.predict(IDS), rtol=1e-12,
                               atol=1e-12)


LAYERS = ["dense 4 tanh", "layernorm", "relu", "dropout 0.2", "attention 2",
          "attention 1 causal=true", "rnn 4 return_sequences=true",
          "lstm 2 return_sequences=true", "gru 4 return_sequences=true",
          "lstm 2 bidirectional return_sequences=true"]
ENDS = ["lstm 3", "gru 2", "rnn 2", "globalavgpool", "globalmaxpool", "lstm 2 bidirectional",
        "gru 3 bidirectional"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(middle=st.lists(st.sampled_from(LAYERS), max_size=3), end=st.sampled_from(ENDS),
       ids=st.lists(st.lists(st.integers(0, 6), min_size=5, max_size=5), min_size=1,
                    max_size=4),
       extra=st.integers(1, 4))
def test_padding_changes_nothing_in_generated_networks(middle, end, ids, extra):
    """Any chain of layers that pass a mask, ended by one that reads it: zero ids
    appended change no output (float64; 1e-10 for rounding in another order, as
    above, through a few layers)."""
    body = " -> ".join(middle + [end])
    short = nnspec.compile(f"input 5\nembedding 7x4 mask_zero=true\n{body}", dtype="float64",
                           seed=1)
    long = nnspec.compile(f"input {5 + extra}\nembedding 7x4 mask_zero=true\n{body}",
                          dtype="float64", seed=1)
    long.set_weights(short.weights)
    x = np.array(ids, float)
    np.testing.assert_allclose(long.predict(_padded(x, extra)), short.predict(x), rtol=1e-10,
                               atol=1e-10)


def test_predict_in_many_passes_equals_one():
    """A masked network is never cut into stages (its layers need the masks of
    those before them), where the same network unmasked would be (a long lstm,
    then dense layers whose weights predict would read once per few samples);
    split into passes of a few samples, it predicts as in one (float64: 1e-12
    for BLAS rounding rows in other groups)."""
    body = "input 200\nembedding 50x8{} -> lstm 16 -> dense 100 relu -> dense 100 -> dense 2"
    plain = nnspec.compile(body.format(""), dtype="float64", seed=1)
    model = nnspec.compile(body.format(" mask_zero=true"), dtype="float64", seed=1)
    x = np.random.default_rng(0).integers(0, 50, (40, 200)).astype(float)
    x[:, 150:] = 0
    plain.predict(x[:8])  # the first predict measures the passes' buffers
    assert staging.stages(plain.graph, plain.weights, 1024)[0] > 0
    one = model.predict(x[:8])
    assert staging.stages(model.graph, model.weights, 1024)[0] == 0
    parts = model.predict(x, batch_size=3)
    np.testing.assert_allclose(parts[:8], one, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(parts, model.predict(x), rtol=1e-12, atol=1e-14)


def test_a_batch_split_among_threads_equals_one(monkeypatch):
    from nnspec import prepare
    model = _model("gru 3 return_sequences=true -> globalavgpool -> dense 2 softmax")
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 7, (9, 6)).astype(float), rng.integers(0, 2, 9)
    x[:, 4:] = 0
    t = prepare.targets(model, x, y)
    monkeypatch.setattr(parallel, "MIN_STEP_FLOPS", 1)
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(parallel, "THREADS", threads)
        r = parallel.loss_and_grads(model.graph, model.weights, x, t, model.plan.terms,
                                    Mode(True, buffers={}))
        results.append((r.value, r.out.copy(), {k: g.copy() for k, g in r.grads.items()}))
    (v1, o1, g1), (v2, o2, g2) = results
    # rows split among parts: BLAS may round a row another way beside other rows
    assert np.isclose(v1, v2, rtol=1e-13)
    np.testing.assert_allclose(o2, o1, rtol=1e-13)
    for key in g1:
        np.testing.assert_allclose(g2[key], g1[key], rtol=1e-12, atol=1e-15)


# what each kind does after a masked embedding: a line that takes a 6x4 sequence,
# and "passes", "ends" or "refuses"; the table covers every kind (the image
# layers, which take no sequence, meet the mask at the reshape before them)
KIND_LINES = {
    "dense": ("dense 3", "passes"), "dropout": ("dropout 0.1", "passes"),
    "layernorm": ("layernorm", "passes"), "positional": ("positional", "passes"),
    "attention": ("attention 2", "passes"),
    "rnn": ("rnn 2 return_sequences=true", "passes"), "lstm": ("lstm 2", "ends"),
    "gru": ("gru 2", "ends"), "globalmaxpool": ("globalmaxpool", "ends"),
    "globalavgpool": ("globalavgpool", "ends"),
    "add": ("a: dense 4\nadd(a, embedding1)", "passes"),
    "concat": ("a: dense 2\nconcat(a, embedding1)", "passes"),
    "flatten": ("flatten", "refuses"), "reshape": ("reshape 4x6", "refuses"),
    "conv": ("conv 3x2", "refuses"), "batchnorm": ("batchnorm", "refuses"),
    "upsample": ("reshape 6x4x1", "refuses"), "maxpool": ("reshape 6x4x1", "refuses"),
    "avgpool": ("reshape 6x4x1", "refuses"), "embedding": ("relu", "passes"),
}


def test_every_kind_passes_ends_or_refuses_a_mask():
    """A walk of the layer registry: each kind's rule, and the one-line error at
    the line of a layer that cannot take a mask."""
    from nnspec.lang.names import ACTIVATIONS
    lines = dict(KIND_LINES, **{a: (a, "passes") for a in ACTIVATIONS})
    assert set(KINDS) <= set(lines), f"add a row for {set(KINDS) - set(lines)}"
    for kind, (line, rule) in lines.items():
        spec = f"{HEAD}{line}\nlstm 2\n" if rule == "passes" else f"{HEAD}{line}\ndense 2\n"
        if rule == "refuses":
            with pytest.raises(nnspec.ShapeError) as e:
                nnspec.compile(spec)
            assert "cannot see which steps mask_zero=true hides" in str(e.value), kind
            assert ":3:1:" in str(e.value) and "\n" not in str(e.value)
            assert "globalavgpool" in str(e.value)  # what to write instead
        else:
            nnspec.compile(spec)  # passes on to the lstm, or ends before the dense


def test_an_output_over_a_masked_sequence_is_refused_at_its_line():
    with pytest.raises(nnspec.ShapeError, match=r":3:1: dense1: dense 2 outputs a masked "):
        nnspec.compile(HEAD + "dense 2")


def test_mask_zero_needs_a_sequence_of_ids():
    with pytest.raises(nnspec.ShapeError, match=r":2:1: .*mask_zero=true needs a sequence"):
        nnspec.compile("input 6x2\nembedding 7x4 mask_zero=true\nlstm 2")


def test_mask_zero_prints_and_parses_back_and_saves(tmp_path):
    model = _model("lstm 3")
    from nnspec.lang import parse
    from nnspec.lang.printer import format_network
    text = format_network(model.network)
    assert "mask_zero=true" in text and parse(text).nodes == model.network.nodes
    path = tmp_path / "m.nnb"
    model.save(path)
    again = nnspec.load(path)
    assert again.graph.masked is not None
    np.testing.assert_array_equal(again.predict(IDS), model.predict(IDS))


def test_a_merge_masks_a_step_where_any_masked_input_does(rng):
    """Two inputs with their own padding, concatenated: the lstm sees a step only
    where both see it (the cell over those steps alone, float64: 1e-12)."""
    spec = ("left: input 6\nright: input 6\nleft -> a: embedding 7x2 mask_zero=true\n"
            "right -> b: embedding 7x3 mask_zero=true\nconcat(a, b) -> lstm 3\n"
            "train {\n  loss = quadratic\n}")
    model = nnspec.compile(spec, dtype="float64", seed=2)
    left, right = IDS, np.roll(IDS, 1, axis=1)
    got = model.predict({"left": left, "right": right})
    w = model.weights
    x = np.concatenate([w["a.W"][left.astype(int)], w["b.W"][right.astype(int)]], axis=-1)
    node = model.graph.nodes[-1]
    want = recurrent_reference.reference("lstm", node.p, {k: w[f"lstm1.{k}"] for k in "WUb"},
                                         x, (left != 0) & (right != 0))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    assert not np.allclose(want, recurrent_reference.reference(
        "lstm", node.p, {k: w[f"lstm1.{k}"] for k in "WUb"}, x, left != 0))
