"""Every layer, activation and loss against central finite differences, in float64.

Layer rows use a random linear read-out of the output (loss = sum(out * R)),
which exercises exactly the layer's backward; loss rows go through the model's
own objective, regularization and reduction included.
"""
from unittest import mock

import numpy as np
import pytest

import nnspec
from nnspec.engine.activations import NAMES as ACTIVATIONS
from nnspec.lang.kinds import KINDS as REGISTRY
from nnspec.engine.layers.base import Mode
from nnspec.engine.losses import LOSSES
from nnspec.lang import heads
from nnspec.lang.names import ACTIVATIONS
from nnspec.lang import parse

from conftest import assert_close_grad, numeric_grad

# (spec body, batch[, how]) — shapes, strides, modes, odd sizes, kernels larger than the
# stride. Passes are training passes (batch statistics, dropout masks from a fixed seed)
# unless how is "inference"; "ids:V" feeds integer ids below V (embeddings).
LAYER_ROWS = [
    ("input 5x5x1\nconv 3x3x2 valid", 2),
    ("input 5x5x1\nconv 3x3x2 same", 3),
    ("input 5x5x1\nconv 3x3x2 full", 1),
    ("input 7x6x2\nconv 3x2x3 same stride=2", 2),
    ("input 7x6x2\nconv 3x2x3 valid stride=2", 3),
    ("input 8x7x3\nconv 5x5x2 same stride=3", 2),
    ("input 8x7x3\nconv 2x3x4 full stride=2", 2),
    ("input 6x6x2\nconv 1x1x3 valid", 2),
    ("input 9x9x1\nconv 4x4x2 valid stride=2", 1),
    ("input 6x5x2\nconv 3x3x2 same bias=false", 2),
    ("input 5\ndense 3", 4),
    ("input 3x4x2\ndense 5", 3),
    ("input 7\ndense 1 bias=false", 2),
    ("input 4x3\ndense 5", 3),  # a sequence: on each step
    ("input 5x2\ndense 3 bias=false -> dense 2 tanh", 2),
    ("input 3x4\ndense 3 relu -> flatten -> dense 2", 2),
    ("input 6x6x1\nconv 3x3x2 same tanh -> conv 3x3x3 valid sigmoid -> dense 4 relu", 2),
    ("input 8x8x2\nmaxpool 2x2", 2),
    ("input 7x9x2\nmaxpool 3x2", 2),
    ("input 7x7x3\nmaxpool 3 stride=2", 2),
    ("input 9x8x1\nmaxpool 4x4 stride=1", 1),
    ("input 8x9x2\nmaxpool 2 stride=3", 2),  # gaps between windows
    ("input 8x9x2\navgpool 2x1 stride=3", 2),
    ("input 22x22x2\nmaxpool 4", 1),  # seed 001's: the last two rows are in no window
    ("input 8x8x2\navgpool 2", 2),
    ("input 7x9x2\navgpool 3x2", 2),  # tiles all but the last row and column
    ("input 7x7x2\navgpool 3x2 stride=2", 3),
    ("input 6x6x1\nmaxpool 4 same stride=1", 2),  # seed 001's pooling, smaller
    ("input 7x6x2\nmaxpool 3 same stride=2", 2),
    ("input 5x7x1\navgpool 2x3 same", 2),
    ("input 6x6x2\navgpool 4 same stride=1", 2),
    ("input 12x12x1\nconv 5x5x4 valid relu -> maxpool 4x4 -> dense 3 softmax", 2),
    # a conv given only the rows its pooling reads (graph._crops), with an input gradient
    ("input 14x14x1\nconv 3x3x2 valid tanh -> conv 3x3x3 valid stride=2 -> avgpool 2x3", 2),
    ("input 12x11x2\nconv 2x2x3 valid dilation=2 -> maxpool 3", 2),
    # graphs: merges, a layer read by several, blocks and repeats
    ("input 5x5x2\na: conv 3x3x2 same tanh\nconv 1x1x2 same -> add(a) relu", 2),
    ("input 4\na: dense 4 tanh\ninput -> b: dense 4\nadd(a, b, input) sigmoid", 3),
    ("input 4x4x1 -> a: conv 3x3x2 same\ninput -> b: conv 1x1x3 same\nconcat(a, b, input) tanh", 2),
    ("input 6x6x1\nblock res(f) {\n  conv 3x3x{f} same relu -> conv 3x3x{f} same -> add(in)\n}\n"
     "conv 3x3x2 same -> (res(2)) x2 -> dense 3", 2),
    # four or more channels: the other im2col layout
    ("input 6x5x4\nconv 3x3x2 same stride=2", 2),
    ("input 7x7x5\nconv 2x3x3 full", 1),
    ("input 9x9x4\nconv 3x3x2 valid dilation=2 stride=2", 2),
    # dilation
    ("input 9x9x2\nconv 3x3x2 valid dilation=2", 2),
    ("input 8x7x1\nconv 3x2x3 same dilation=2 stride=2", 2),
    ("input 6x6x1\nconv 2x2x2 full dilation=3", 1),
    # larger stride-1 images
    ("input 12x12x1\nconv 3x3x2 same tanh", 2),
    ("input 10x9x2\nconv 3x2x3 same bias=false", 2),
    ("input 9x11x3\nconv 2x3x2 valid -> conv 3x3x4 same", 1),
    # stride-1 'same' with few channels copies flat runs (conv._im2col_same)
    ("input 7x8x2\nconv 3x3x2 same dilation=2", 2),
    ("input 6x7x3\nconv 2x4x2 same tanh", 3),
    ("input 5x9x1\nconv 5x1x2 same dilation=2 -> conv 1x5x2 same", 2),
    # global pooling, reshaping, unpooling
    ("input 5x4x3\nglobalavgpool", 2),
    ("input 5x4x3\nglobalmaxpool", 3),
    ("input 7x3\nglobalmaxpool", 2),
    ("input 7x3\nglobalavgpool", 1),
    ("input 3x4x2\nflatten -> dense 3", 2),
    ("input 12\nreshape 3x2x2 -> conv 2x2x2 valid", 2),
    ("input 3x3x2\nupsample 2", 2),
    ("input 2x3x1\nupsample 3x2 -> conv 2x2x1 valid", 1),
    # dropout and normalization, in training and at inference
    ("input 6\ndropout 0.4 -> dense 3", 4),
    ("input 4x4x2\ndropout 0.5", 3),
    ("input 6\ndropout 0.4 -> dense 3", 2, "inference"),
    ("input 6\ndense 4 bias=false -> batchnorm -> tanh", 5),
    ("input 5x5x2\nconv 3x3x3 same bias=false -> batchnorm relu", 2),
    ("input 5x3\nbatchnorm", 3),
    ("input 6\ndense 4 -> batchnorm", 3, "inference"),
    ("input 6\nlayernorm", 3),
    ("input 4x5\nlayernorm -> dense 2", 2),
    ("input 3x3x4\nlayernorm", 1),
    # sequences
    ("input 5x3\nrnn 4", 2),
    ("input 4x2\nrnn 3 return_sequences=true bias=false", 3),
    ("input 5x3\nlstm 4", 2),
    ("input 6x2\nlstm 3 return_sequences=true", 1),
    ("input 5x3\ngru 4", 2),
    ("input 4x2\ngru 3 return_sequences=true", 3),
    ("input 4x3\ngru 2 bias=false", 2),
    ("input 4x3\nlstm 3 return_sequences=true -> lstm 2", 2),
    # bidirectional: a second cell over the reversed sequence, outputs concatenated
    ("input 5x3\nrnn 4 bidirectional", 2),
    ("input 4x2\nrnn 3 bidirectional return_sequences=true bias=false", 3),
    ("input 5x3\nlstm 4 bidirectional", 2),
    ("input 6x2\nlstm 3 bidirectional return_sequences=true", 2),
    ("input 1x3\nlstm 2 bidirectional return_sequences=true", 3),  # one step
    ("input 5x3\ngru 4 bidirectional", 2),
    ("input 4x2\ngru 3 bidirectional return_sequences=true", 3),
    ("input 4x3\ngru 2 bidirectional bias=false", 2),
    ("input 4x3\ngru 3 bidirectional return_sequences=true -> lstm 2 bidirectional", 2),
    ("input 5x3\nlstm 4 bidirectional", 2, "inference"),  # the last-state fast path
    ("input 5\nembedding 4x2 -> gru 3 bidirectional", 3, "ids:4"),
    ("input 5x4\nattention 1", 2),
    ("input 5x4\nattention 2 causal=true", 2),
    ("input 3x6\nattention 3 bias=false -> dense 2", 1),
    ("input 6x4\nattention 2 -> layernorm -> globalavgpool", 3),
    ("input 7\nembedding 9x3", 2, "ids:9"),
    ("input 5\nembedding 4x2 -> lstm 3", 3, "ids:4"),  # ids repeat: their rows sum
    # 1-D convolutions over time: few features (the narrow im2col, the flat-run
    # copy of stride-1 'same') and many, strides, dilations, each padding
    ("input 7x2\nconv 3x3 valid", 2),
    ("input 7x2\nconv 3x3 same tanh", 3),
    ("input 6x3\nconv 2x2 full", 2),
    ("input 9x5\nconv 3x4 same stride=2", 2),
    ("input 9x5\nconv 3x2 valid stride=2 dilation=2", 2),
    # 'same' of an even span pads one more step after than before
    ("input 9x5\nconv 4x3 same stride=2", 2),
    ("input 7x2\nconv 2x3 same", 2),
    ("input 8x2\nconv 2x3 full stride=3 dilation=2", 2),
    ("input 8x1\nconv 3x2 same dilation=2 bias=false", 3),
    ("input 6x4\nconv 1x3 valid", 2),
    ("input 6\nembedding 5x4 -> conv 3x3 same relu -> conv 2x2 valid -> lstm 2", 2, "ids:5"),
    # pooling over time (a Kx1 window on TIMEx1xFEATURES): windows that tile the
    # steps, leave the last ones, overlap, skip some; 'same' even and uneven
    ("input 8x3\nmaxpool 2", 2),
    ("input 9x2\nmaxpool 2", 2),  # the last step is in no window
    ("input 7x3\nmaxpool 3 stride=1", 2),
    ("input 10x2\nmaxpool 2 stride=3", 2),  # gaps between windows
    ("input 7x2\nmaxpool 4 same stride=1", 2),  # one step before, two after
    ("input 9x3\nmaxpool 3 same stride=2", 3),
    ("input 5x2\nmaxpool 2 same", 2),  # the last window is half padding
    ("input 8x3\navgpool 2", 2),
    ("input 11x2\navgpool 3 stride=2", 2),
    ("input 7x2\navgpool 4 same stride=1", 2),  # the edge windows average fewer steps
    ("input 10x3\navgpool 3 same stride=3", 3),
    ("input 9x2\nconv 3x4 same relu -> maxpool 2 -> lstm 2", 2),  # relu moved after the pool
    ("input 6\nembedding 5x3 -> avgpool 2 same -> globalmaxpool", 2, "ids:5"),
    # masked sequences (embedding mask_zero=true; ids below 3, so a third are padding):
    # test_masking.py has rows with padding at the end, in the middle and everywhere
    ("input 6\nembedding 3x2 mask_zero=true -> lstm 3", 3, "ids:3"),
    ("input 5\nembedding 3x3 mask_zero=true -> gru 2 return_sequences=true -> globalmaxpool",
     3, "ids:3"),
    ("input 6\nembedding 3x4 mask_zero=true -> attention 2 -> rnn 2", 2, "ids:3"),
    ("input 5\nembedding 3x2 mask_zero=true -> dense 3 tanh -> globalavgpool", 3, "ids:3"),
    # many short rows: softmax reduces them transposed (activations.row_max)
    ("input 6\ndense 5 softmax", 70),
    ("input 8x5\nsoftmax", 9),
] + [(f"input 6\ndense 5 {act}", 3) for act in ACTIVATIONS] \
  + [(f"input 2x3\ndense 5 -> {act}", 2) for act in ACTIVATIONS]


def _mode(how):
    """A fresh Mode per pass with one seed, so every pass draws the same masks."""
    return Mode(how != "inference", np.random.SeedSequence(11))


def _inputs(rng, how, shape):
    if how.startswith("ids:"):
        return rng.integers(0, int(how[4:]), size=shape).astype(float)
    return rng.normal(size=shape)


def _example_row(kind):
    """Every kind's own example (lang/kinds: Kind.example) is a row too, so a kind
    added with its example is gradient-checked with no edit here; an embedding's
    ids stay below its vocabulary."""
    example = REGISTRY[kind].example
    first = parse(example).nodes[1]
    return (example, 3) + ((f"ids:{first.p['table'][0]}",) if first.kind == "embedding" else ())


LAYER_ROWS += [_example_row(kind) for kind in sorted(REGISTRY)]


def test_layer_table_covers_every_layer_kind():
    used = {n.kind for row in LAYER_ROWS for n in parse(row[0]).nodes}
    assert set(REGISTRY) - used == set()
    assert {"train", "inference"} <= {(r + ("train",))[2] for r in LAYER_ROWS}


def _row_id(row):
    return row[0].replace("\n", " | ") + (f" [{row[2]}]" if len(row) > 2 else "")


@pytest.mark.parametrize("row", LAYER_ROWS, ids=[_row_id(r) for r in LAYER_ROWS])
def test_layer_gradients(row, rng):
    body, batch, how = (row + ("train",))[:3]
    model = nnspec.compile(body, dtype="float64", seed=7)
    graph, weights = model.graph, model.weights
    for name in graph.trainable:  # biases start at zero; move them so they matter
        weights[name] += rng.normal(0, 0.1, weights[name].shape)
    x = _inputs(rng, how, (batch,) + graph.input_shape)
    readout = rng.normal(size=(batch,) + graph.output_shape)

    def f():
        out, _ = graph.forward(weights, x, _mode(how))
        return float((out * readout).sum())

    out, tape = graph.forward(weights, x, _mode(how))
    assert out.shape == (batch,) + graph.output_shape  # shape inference agrees with forward
    grads, dx = graph.backward(tape, readout.copy(), input_grad=True)
    assert set(grads) == set(graph.trainable)
    for name in graph.trainable:
        assert grads[name].dtype == np.float64
        assert_close_grad(grads[name], numeric_grad(f, weights[name]), name)
    if how.startswith("ids:"):  # token ids have no gradient, and 3 + 1e-6 is no token id
        assert not dx.any()
        with pytest.raises(nnspec.DataError, match="not a whole number"):
            graph.forward(weights, x + 1e-6, _mode(how))
        return
    assert_close_grad(dx, numeric_grad(f, x), "input")


def _accepted(loss, act, width=4):
    try:
        heads.head(loss, act, width)
        return True
    except heads.HeadProblem:
        return False


# every (loss, output activation) pair the language accepts (lang/heads.py) with
# targets of each kind the loss takes; a linear output under cross_entropy or
# binary_cross_entropy is logits, trained through the fused softmax or sigmoid
TARGETS = {"cross_entropy": ("int", "onehot"), "binary_cross_entropy": ("binary", "soft"),
           "huber": ("wide", "real")}  # huber: residuals on both sides of the delta
LOSS_ROWS = [(loss, act, labels) for loss in LOSSES for act in ACTIVATIONS
             if _accepted(loss, act) for labels in TARGETS.get(loss, ("real", "int"))]


def test_loss_table_covers_every_loss_and_the_pairs_that_fuse():
    assert {row[0] for row in LOSS_ROWS} == set(LOSSES) == set(heads.LOSSES)
    assert {("cross_entropy", "linear"), ("binary_cross_entropy", "linear"),
            ("binary_cross_entropy", "softmax"), ("quadratic", "softmax")} <= \
        {row[:2] for row in LOSS_ROWS}
    assert ("cross_entropy", "sigmoid") not in {row[:2] for row in LOSS_ROWS}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss,act,labels", LOSS_ROWS)
def test_loss_gradients(loss, act, labels, reduction, weighted, rng):
    """Each loss's gradient, and with per-sample weights (one of them 0) the
    weighted loss's (training/weights.py)."""
    spec = (f"input 3x3x2\nconv 2x2x2 valid tanh l1=0.01 -> dense 4 {act} l2=0.02\n"
            f"train {{\n loss = {loss}\n reduction = {reduction}\n}}")
    model = nnspec.compile(spec, dtype="float64", seed=3)
    x = rng.normal(size=(5, 3, 3, 2))
    if labels == "int":
        y = rng.integers(0, 4, size=5)
    elif labels == "onehot":
        y = np.eye(4)[rng.integers(0, 4, size=5)]
    elif labels == "binary":
        y = rng.integers(0, 2, size=(5, 4)).astype(float)
    elif labels == "soft":
        y = rng.uniform(size=(5, 4))
    else:
        y = rng.normal(scale=3.0 if labels == "wide" else 1.0, size=(5, 4))
    sw = np.array([0.5, 2.0, 0.0, 1.0, 3.5]) if weighted else None
    _, grads = model.gradients(x, y, sample_weight=sw)
    for name, w in model.weights.items():
        num = numeric_grad(lambda: model.gradients(x, y, sample_weight=sw)[0], w)
        assert_close_grad(grads[name], num, name)


@pytest.mark.parametrize("shape", [(3, 10), (70, 10), (256, 4), (9, 8, 5), (100, 32), (100, 33),
                                   (64, 200), (0, 10)])
def test_row_max_and_sum_equal_numpys_reductions(shape, rng):
    from nnspec.engine.activations import row_max, row_sum
    z = rng.normal(size=shape)
    for arr in (z, z.astype(np.float32), np.swapaxes(z, 0, -1).copy().swapaxes(0, -1)):
        assert row_max(arr).shape == arr.shape[:-1] + (1,) and row_max(arr).dtype == arr.dtype
        assert np.array_equal(row_max(arr), arr.max(axis=-1, keepdims=True))
        tol = 1e-5 if arr.dtype == np.float32 else 1e-13  # summed in another order
        np.testing.assert_allclose(row_sum(arr), arr.sum(axis=-1, keepdims=True), rtol=tol, atol=tol)
    if z.size:
        z[len(z) // 2, ..., 0] = np.nan  # a NaN is that row's max and sum, as numpy's
        assert np.isnan(row_max(z)[len(z) // 2]).all() and np.isnan(row_sum(z)[len(z) // 2]).all()
        assert np.isfinite(np.delete(row_max(z), len(z) // 2, axis=0)).all()


def test_fused_cross_entropy_over_many_rows_matches_the_textbook_formula(rng):
    from nnspec.engine.losses import FUSED
    z, y = rng.normal(size=(200, 10)) * 5, np.eye(10)[rng.integers(0, 10, 200)]
    terms, dz = FUSED[("cross_entropy", "softmax")](z, y)
    value = terms.mean()
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    assert value == pytest.approx(-np.mean(np.log((p * y).sum(axis=1))), rel=1e-12)
    np.testing.assert_allclose(dz, (p - y) / 200, rtol=1e-12, atol=1e-15)


def test_integer_and_onehot_labels_give_the_same_gradients(rng):
    model = nnspec.compile("input 4\ndense 3 softmax", dtype="float64")
    x, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    loss_a, ga = model.gradients(x, y)
    loss_b, gb = model.gradients(x, np.eye(3)[y])
    assert loss_a == pytest.approx(loss_b)
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k])


@pytest.mark.parametrize("row", LAYER_ROWS, ids=[_row_id(r) for r in LAYER_ROWS])
def test_float32_stays_float32_through_every_layer(row, rng):
    """No layer may upcast: a float64 temporary silently doubles the cost of all below it."""
    body, batch, how = (row + ("train",))[:3]
    model = nnspec.compile(body + " -> dense 3 softmax")  # the fused loss path, as in training
    graph = model.graph
    x = _inputs(rng, how, (batch,) + graph.input_shape).astype(np.float32)
    out, tape = graph.forward(model.weights, x, _mode(how))
    assert out.dtype == np.float32
    grads, dx = graph.backward(tape, np.ones_like(out), input_grad=True)
    assert dx.dtype == np.float32
    assert {k: g.dtype for k, g in grads.items()} == {k: np.dtype("float32") for k in grads}


@pytest.mark.parametrize("spec", ["input 4x4x1\nmaxpool 2", "input 5x5x1\nmaxpool 2",
                                  "input 4x4x1\nmaxpool 3 stride=1", "input 3x3x1\nglobalmaxpool"])
def test_tied_maxima_share_the_gradient_equally(spec):
    """The max is not differentiable at a tie; every tied input gets an equal share
    (a valid subgradient), so the shares sum to the output's gradient."""
    model = nnspec.compile(spec, dtype="float64")
    x = np.ones((1,) + model.graph.input_shape)
    out, tape = model.graph.forward(model.weights, x)
    dy = np.arange(1, out.size + 1, dtype=float).reshape(out.shape)
    _, dx = model.graph.backward(tape, dy, input_grad=True)
    assert dx.sum() == pytest.approx(dy.sum())
    window = 9 if "3" in spec.split("\n")[1] else 4
    if "stride" not in spec and "global" not in spec:
        assert dx[0, 0, 0, 0] == pytest.approx(1 / window)


@pytest.mark.parametrize("rows,width,contiguous", [
    (65536, 2, True),   # folded 512 rows into one
    (50176, 32, True),  # folded 16
    (64, 128, True),    # folded 8
    (7, 3, True),       # 7 rows: nothing to fold
    (30, 5000, True),   # wider than a fold
    (64, 6, False),     # a strided view is added to as it is
])
def test_bias_add_and_sum_fold_rows_without_changing_the_result(rows, width, contiguous, rng):
    from nnspec.engine.layers.base import add_bias, column_sums
    y = rng.normal(size=(rows, width * (1 if contiguous else 2)))
    y = y if contiguous else y[:, ::2]
    b = rng.normal(size=width)
    want = y + b
    got = add_bias(y, b)
    assert got is y  # in place
    np.testing.assert_allclose(y, want, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(column_sums(y), want.sum(axis=0), rtol=1e-10)


@pytest.mark.parametrize("both", ["", " bidirectional"])
@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_the_recurrent_loops_compute_the_cells_as_their_equations_read(kind, sequences, both):
    """The fast loops (time-major, in place, sigmoid through tanh) against
    recurrent_reference.reference, in float64: rounding in another order, 1e-12."""
    from nnspec.engine.layers import recurrent, recurrent_reference, steps
    model = nnspec.compile(f"input 6x3\n{kind} 5{both} return_sequences={str(sequences).lower()}",
                           dtype="float64")
    rng = np.random.default_rng(7)
    model.set_weights({k: rng.normal(0, 0.7, v.shape) for k, v in model.weights.items()})
    node = model.graph.nodes[0]
    w = {short: model.weights[full] for short, full in model.graph.keys[node.name]}
    x = rng.normal(0, 1, (4, 6, 3))
    want = recurrent_reference.reference(kind, node.p, w, x)
    layer, dy = recurrent.LAYERS[kind], rng.normal(0, 1, want.shape)
    grads = []
    for training in (True, False):  # inference's own loop (lstm: chunks of steps)
        for chunk_bytes in (1 << 20, 1):
            # buffers as fit and predict keep them: a bidirectional layer's two
            # directions must not share them
            with mock.patch.object(steps, "CHUNK_BYTES", chunk_bytes):
                got, cache = layer.forward(node.p, w, x, Mode(training, buffers={}))
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
            grads.append(layer.backward(node.p, w, cache, dy, True))  # after either pass
    for dx, g in grads[1:]:
        np.testing.assert_allclose(dx, grads[0][0], rtol=1e-12, atol=1e-13)
        for k in g:
            np.testing.assert_allclose(g[k], grads[0][1][k], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("spec", ["input 12x12x3\nmaxpool 4 same stride=1",
                                  "input 9x11x2\nmaxpool 3 stride=1",
                                  "input 13x13x2\nmaxpool 3 stride=2",
                                  "input 10x9x2\nmaxpool 4x3 stride=1",
                                  "input 8x8x2\nmaxpool 2"])
def test_max_pooling_by_rows_then_columns_is_the_per_offset_kernel(spec, rng):
    """The separable kernel (where pool._separable takes it) gives the per-offset
    kernel's maxima exactly and, without ties, its gradient exactly (each input's
    gradient is a sum of the same dy values; float64: 1e-15 for the order); with
    ties (a window of zeros from a relu) both conserve dy's sum."""
    from nnspec.engine.layers import pool_valid as pool
    model = nnspec.compile(spec, dtype="float64")
    plain = rng.normal(size=(3,) + model.graph.input_shape)
    inputs = (plain, np.maximum(plain, 0))  # the second with ties of zeros
    dy = rng.uniform(0.5, 1.5, (3,) + model.graph.output_shape)
    runs = {}
    for separable in (False, True):
        with mock.patch.object(pool, "_separable", lambda *a, v=separable: v):
            for k, x in enumerate(inputs):
                out, tape = model.graph.forward(model.weights, x, Mode(True))
                runs[separable, k] = (out, model.graph.backward(tape, dy, input_grad=True)[1])
    for k in (0, 1):
        np.testing.assert_array_equal(runs[True, k][0], runs[False, k][0])
    np.testing.assert_allclose(runs[True, 0][1], runs[False, 0][1], rtol=1e-15, atol=1e-15)
    assert runs[True, 1][1].sum() == pytest.approx(dy.sum(), rel=1e-12)
    assert runs[False, 1][1].sum() == pytest.approx(dy.sum(), rel=1e-12)


@pytest.mark.parametrize("channels", [1, 6, 31, 32, 40])
def test_max_pooling_backward_by_rows_is_the_window_views(channels, rng):
    """Exactly tiling windows below pool.ROW_CHANNELS channels compare whole rows;
    the gradient is the window view's, exactly (each input gets one dy or none),
    with ties (zeros from a relu) split the same way."""
    from nnspec.engine.layers import pool_valid as pool
    model = nnspec.compile(f"input 8x6x{channels}\nmaxpool 2", dtype="float64")
    x = np.maximum(rng.normal(size=(3,) + model.graph.input_shape), 0)
    dy = rng.uniform(0.5, 1.5, (3,) + model.graph.output_shape)
    grads = []
    for row_channels in (0, 1 << 20):
        with mock.patch.object(pool, "ROW_CHANNELS", row_channels):
            out, tape = model.graph.forward(model.weights, x, Mode(True))
            grads.append(model.graph.backward(tape, dy, input_grad=True)[1])
    np.testing.assert_array_equal(grads[1], grads[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ["close", "far row", "large", "inf", "nan"])
def test_attention_softmax_by_head_is_the_plain_softmax(case, dtype, rng):
    """attention._softmax_scores subtracts each head's largest score, or falls
    back to each row's max where rows lie far apart or are not finite; either
    way it is activations.softmax_into up to rounding, which the larger shift
    (up to SPREAD e-folds) scales by at most SPREAD ulps: rtol 4 SPREAD eps."""
    from nnspec.engine.activations import softmax_into
    from nnspec.engine.layers import attention
    scores = rng.normal(0, 3, (4, 2, 7, 7)).astype(dtype)
    if case == "far row":  # one row's scores e^30 below the rest of its head
        scores[1, 0, 3] -= 30
    elif case == "large":  # exp would overflow without a shift
        scores += 200
    elif case in ("inf", "nan"):
        scores[2, 1, 4, 5] = np.inf if case == "inf" else np.nan
    with np.errstate(invalid="ignore"):  # inf - inf, as the plain softmax meets it
        expected = softmax_into(scores.copy())
        got = attention._softmax_scores(scores.copy())
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(got, expected, rtol=4 * attention.SPREAD * eps, atol=0)
    if case in ("close", "large"):  # the head's shift was taken, not the plain one
        with mock.patch.object(attention, "softmax_into", side_effect=AssertionError):
            attention._softmax_scores(scores.copy())


@pytest.mark.parametrize("filters", [1, 3, 7, 8])
def test_a_narrow_convs_weight_gradient_by_vectors_is_the_matrix_product(filters, rng):
    """Below conv.GEMV_FILTERS filters the narrow layout's weight gradient is one
    matrix-vector product a filter; it sums the same terms as the matrix product
    (float64, 1e-12 for their order)."""
    from nnspec.engine.layers import conv
    model = nnspec.compile(f"input 9x7x2\nconv 3x3x{filters} same", dtype="float64")
    x = rng.normal(size=(5,) + model.graph.input_shape)
    dy = rng.normal(size=(5,) + model.graph.output_shape)
    grads = []
    for below in (0, 1 << 20):
        with mock.patch.object(conv, "GEMV_FILTERS", below):
            out, tape = model.graph.forward(model.weights, x, Mode(True))
            grads.append(model.graph.backward(tape, dy)[0])
    for key in grads[0]:
        np.testing.assert_allclose(grads[1][key], grads[0][key], rtol=1e-12, atol=1e-13)
