"""How a compiled graph runs a network: rewrites that change the work, never the result."""
import numpy as np
import pytest

import nnspec
from nnspec.engine import staging

from conftest import assert_close_grad, numeric_grad


def _as_written(graph):
    """The activations the spec wrote, node by node (an output's head, lang/heads.py,
    included): the graph without rewrites."""
    return {n.name: graph.activation(n.name) for n in graph.nodes}


def _run(graph, weights, x, dy_seed=1):
    out, tape = graph.forward(weights, x, True)
    dy = np.random.default_rng(dy_seed).normal(size=out.shape).astype(out.dtype)
    grads, dx = graph.backward(tape, dy, input_grad=True)
    return out.copy(), {k: v.copy() for k, v in grads.items()}, dx.copy()


RELU_POOL = [
    "input 8x8x2\nconv 3x3x4 same relu -> maxpool 2 -> dense 3",
    "input 9x9x1\nconv 2x2x3 valid relu -> maxpool 3 stride=2 -> dense 3",  # overlapping
    "input 22x22x1\nconv 1x1x2 valid relu -> maxpool 4 -> dense 2",  # rows in no window
    "input 6x6x1\nconv 3x3x2 same -> relu -> maxpool 2 -> dense 3",  # relu as a layer
    "input 6x6x2\nconv 3x3x3 same relu -> globalmaxpool -> dense 2",
    "input 8x8x1\nconv 3x3x2 same relu -> maxpool 2 -> maxpool 2 -> dense 2",  # moves twice
    "input 9x3\nconv 3x4 same relu -> maxpool 2 -> dense 3",  # over time, the last step left
    "input 8x2\nconv 2x3 valid relu -> maxpool 3 same stride=2 -> lstm 2",
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spec", RELU_POOL)
def test_relu_moves_after_max_pooling_with_identical_results(spec, dtype):
    """relu then max pooling runs as pooling then relu, on the smaller array; the output
    and every gradient are bit for bit those of the network as written, including the
    all-negative windows where relu-first sees a tie of zeros."""
    model = nnspec.compile(spec, dtype=dtype)
    graph = model.graph
    written = _as_written(graph)
    moved = [name for name in written if written[name] == "relu" and graph.acts[name] == "linear"]
    assert moved, "the rewrite did not happen"
    pools = [n.name for n in graph.nodes if n.kind in ("maxpool", "globalmaxpool")]
    assert graph.acts[pools[-1]] == "relu"
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(4,) + graph.input_shape) - 0.7).astype(dtype)  # many negatives
    x[0, :2, :2] = 1.0  # equal positive maxima too
    got = _run(graph, model.weights, x)
    graph.acts = written
    want = _run(graph, model.weights, x)
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1].keys() == want[1].keys()
    for key in want[1]:
        np.testing.assert_array_equal(got[1][key], want[1][key], err_msg=key)
    np.testing.assert_array_equal(got[2], want[2])


@pytest.mark.parametrize("spec", [
    "input 6x6x1\na: conv 3x3x2 same relu\nmaxpool 2 -> upsample 2 -> add(a)",  # 2 readers
    "input 6x6x1\nconv 3x3x2 same relu -> avgpool 2 -> dense 2",  # not a max
    "input 6x6x1\nconv 3x3x2 same tanh -> maxpool 2 -> dense 2",  # not relu
    "input 6x6x1\nconv 3x3x2 same relu -> maxpool 2",  # the pooling is the output
])
def test_relu_stays_where_moving_it_would_change_something(spec):
    graph = nnspec.compile(spec).graph
    assert graph.acts == _as_written(graph)


CROPPED = [  # (spec, the conv given fewer input rows and columns, and how many)
    ("input 28x28x1\nconv 7x7x32 valid relu -> maxpool 4x4 -> dense 10", "conv1", (26, 26)),
    ("input 14x14x1\nconv 3x3x2 valid tanh -> conv 3x3x3 valid stride=2 -> avgpool 2x3 "
     "-> dense 2", "conv2", (9, 7)),  # a first layer and a strided one with an input gradient
    ("input 12x11x2\nconv 2x2x3 valid dilation=2 -> maxpool 3 -> dense 2", "conv1", (11, 11)),
    ("input 9x9x1\nconv 2x2x3 valid relu -> maxpool 3 stride=2 -> dense 3", "conv1", (8, 8)),
]


@pytest.mark.parametrize("spec,name,crop", CROPPED)
def test_a_conv_computes_only_the_rows_its_pooling_reads(spec, name, crop):
    """The outputs past a pooling's last window are not computed: the same result, and
    the same gradients (the skipped outputs' are zero) up to the order of dW's sum."""
    model = nnspec.compile(spec, dtype="float64")
    graph = model.graph
    assert graph.crops == {name: crop}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5,) + graph.input_shape)
    got = _run(graph, model.weights, x)
    graph.crops = {}
    want = _run(graph, model.weights, x)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13, atol=1e-15)
    assert got[1].keys() == want[1].keys()
    for key in want[1]:
        np.testing.assert_allclose(got[1][key], want[1][key], rtol=1e-12, atol=1e-14, err_msg=key)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12, atol=1e-14)
    assert got[2].shape == x.shape


def test_a_cropped_conv_keeps_its_declared_shape():
    model = nnspec.compile(CROPPED[0][0])
    lines = []
    model.summary(print_fn=lines.append)
    assert "22x22x32" in lines[0]
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    model.graph.crops = {}
    want = model.predict(x)
    model.graph = nnspec.compile(CROPPED[0][0]).graph
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-5)


@pytest.mark.parametrize("spec", [
    "input 22x22x1\nconv 1x1x2 same -> maxpool 4 -> dense 2",  # padding: rows are not a crop
    "input 22x22x1\nconv 1x1x2 valid -> maxpool 4",  # ... fine, but check the reader too
    "input 22x22x1 -> a: conv 1x1x2 valid\na -> maxpool 4 -> b: dense 2\n"
    "a -> c: dense 2\nadd(b, c)",  # read by a dense as well
    "input 22x22x1\nconv 1x1x2 valid -> dense 2",  # a dense reads every row
    "input 20x20x1\nconv 1x1x2 valid -> maxpool 4 -> dense 2",  # the windows tile it
])
def test_no_crop_where_every_output_row_is_read_or_padding_is(spec):
    graph = nnspec.compile(spec).graph
    want = {"conv1": (20, 20)} if spec.endswith("maxpool 4") else {}
    assert graph.crops == want


@pytest.mark.parametrize("spec", [
    "input 21x3\nconv 3x4 -> maxpool 2 -> dense 2",  # the pool leaves the last step
    "input 26x2\nconv 3x4 valid stride=2 -> avgpool 3 stride=4 -> dense 2",  # gaps, last step
    "input 12x2\nconv 2x3 valid relu -> maxpool 4 stride=3 -> dense 2"])
def test_a_conv_over_time_before_a_pool_that_leaves_steps_is_the_reference(spec):
    """A pool over time reads (steps, every feature) (pool_valid.reads); the 1-D conv
    before it is not cropped (conv.needs: crops are of images) and the network
    computes what conv_reference and pool_reference do, forward and backward."""
    from nnspec.engine.layers import conv_reference, pool_reference
    from nnspec.engine.passes import HINTS
    from nnspec.lang.kinds.conv import as_image
    model = nnspec.compile(spec, dtype="float64", loss="mse")
    graph = model.graph
    conv, pool = graph.nodes[0], graph.nodes[1]
    rows, cols = HINTS[pool.kind].reads(pool.p, graph.shapes[conv.name], graph.shapes[pool.name])
    assert rows < graph.shapes[conv.name][0] and cols == graph.shapes[conv.name][1]
    assert graph.crops == {}
    rng = np.random.default_rng(0)
    for w in model.weights.values():
        w[...] = rng.normal(0, 0.5, w.shape)
    w = {short: model.weights[full] for short, full in graph.keys[conv.name]}
    x = rng.normal(size=(3,) + graph.input_shape)

    dense = {short: model.weights[full] for short, full in graph.keys[graph.nodes[2].name]}

    def reference(x):
        z = conv_reference.conv(as_image(conv.p), {**w, "W": w["W"][:, None]},  # Kx1 taps
                                x[:, :, None])[:, :, 0]
        z = np.maximum(z, 0) if conv.p["activation"] == "relu" else z
        z = pool_reference.pool(pool.kind[:3], pool.p, z)
        return z @ dense["W"] + dense["b"]  # on each step
    out, tape = graph.forward(model.weights, x, True)
    # the same sums in another order (im2col against a loop over taps): 1e-12
    np.testing.assert_allclose(out, reference(x), rtol=1e-12, atol=1e-12)
    dy = rng.normal(size=out.shape)
    _, dx = graph.backward(tape, dy, input_grad=True)
    assert_close_grad(dx, numeric_grad(lambda: float((reference(x) * dy).sum()), x), "input")


def _pass_sizes(graph, monkeypatch, tails=None):
    """The sizes of predict's passes over x (a list that fills as it runs), and in
    `tails` those of its later stage, from the cut (staging.stages)."""
    sizes = []
    forward = graph.forward

    def counted(weights, x, mode=None, start=0, stop=None):
        (sizes if start == 0 else tails).append(len(x))
        return forward(weights, x, mode, start, stop)
    monkeypatch.setattr(graph, "forward", counted)
    return sizes


def test_predict_takes_fewer_samples_a_pass_where_samples_are_large(monkeypatch):
    """Behaviour, not tuning: a network whose samples hold megabytes of activations
    is predicted in passes smaller than batch_size, every sample exactly once,
    with the outputs of one sample at a time (up to rounding)."""
    model = nnspec.compile("input 28x28x1\nconv 3x3x32 same relu -> maxpool 2 -> dense 10 softmax")
    x = np.random.default_rng(0).random((300, 28, 28, 1), dtype=np.float32)
    tails = []
    sizes = _pass_sizes(model.graph, monkeypatch, tails)
    out = model.predict(x, batch_size=256)
    sample_bytes, _ = staging.measured(model.graph)
    assert sample_bytes > 28 * 28 * 32 * 4  # the conv's output alone
    passes = sizes[1:]  # the first call measures a few samples first
    assert sum(passes) == 300 and max(passes) < 256
    one_by_one = np.concatenate([model.predict(x[i:i + 1]) for i in range(0, 300, 37)])
    np.testing.assert_allclose(out[::37], one_by_one, rtol=1e-5, atol=1e-7)  # float32 rows


@pytest.mark.parametrize("spec", [
    "input 28x28x1\nconv 3x3x32 same relu -> maxpool 2 -> conv 3x3x64 same relu -> maxpool 2 "
    "-> dense 128 relu -> dense 10 softmax",
    "input 24x24x1 -> a: conv 3x3x16 same relu\na -> maxpool 2 -> flatten -> dense 256 relu "
    "-> b: dense 4\na -> globalavgpool -> c: dense 4\nadd(b, c) softmax",  # two branches
    "input 24x24x1 -> a: conv 3x3x16 same relu -> maxpool 2 -> b: conv 3x3x16 same\n"
    "b -> flatten -> dense 256 relu -> c: dense 4\nb -> globalmaxpool -> d: dense 4\n"
    "add(c, d) softmax",
    "input 24x24x1 -> a: conv 3x3x16 same relu -> maxpool 2 -> conv 3x3x16 same -> upsample 2 "
    "-> b: conv 3x3x16 same\nadd(a, b) -> maxpool 4 -> dense 256 relu -> dense 4 softmax",
    "input 16x16x1\nconv 3x3x2 same tanh -> conv 3x3x3 valid tanh -> dense 100 relu "
    "-> dense 4 softmax",
])
def test_predict_in_stages_computes_what_the_whole_graph_computes(spec):
    """Wherever staging cuts a graph (or does not), only the node before the cut is
    read after it, the later stage takes whole batches, and the outputs are those
    of the graph run a sample at a time (float64: to 1e-12)."""
    model = nnspec.compile(spec, dtype="float64")
    graph = model.graph
    x = np.random.default_rng(0).random((100,) + graph.input_shape)
    got = model.predict(x, batch_size=64)
    cut, head, tail = staging.stages(graph, model.weights, 64)
    assert 0 <= cut < len(graph.nodes) and 1 <= head <= 64 and 1 <= tail <= 64
    if cut:
        assert tail == 64 and head < tail
    names = {n.name for n in graph.nodes[cut:]} | {graph.nodes[cut - 1].name if cut else "input"}
    assert all(src in names for n in graph.nodes[cut:] for src in n.inputs)
    one_by_one = np.concatenate([model.predict(x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(got, one_by_one, rtol=1e-12, atol=1e-15)


def test_predict_passes_never_exceed_batch_size_and_cover_every_sample(monkeypatch):
    model = nnspec.compile("input 20\ndense 8 relu -> dense 3 softmax")
    x = np.random.default_rng(0).random((3000, 20), dtype=np.float32)
    model.predict(x[:3])  # the first call measures a sample
    sizes = _pass_sizes(model.graph, monkeypatch)
    for batch_size in (100, 3, staging.PREDICT_BATCH):
        sizes.clear()
        model.predict(x, batch_size=batch_size)
        assert max(sizes) <= batch_size and sum(sizes) == len(x)
    sizes.clear()
    model.predict(x)  # the default bound
    assert max(sizes) <= staging.PREDICT_BATCH and sum(sizes) == len(x)


def test_reused_buffers_hand_a_smaller_batch_the_same_memory():
    from nnspec.engine.layers.base import Mode
    mode = Mode(buffers={})
    mode.node = "conv1"
    big = mode.empty("y", (64, 5, 5, 3), np.float32)
    small = mode.empty("y", (10, 5, 5, 3), np.float32)
    assert small.shape == (10, 5, 5, 3) and small.flags.c_contiguous
    assert np.shares_memory(big, small)
    other = mode.empty("y", (10, 5, 5, 3), np.float64)  # another dtype: new memory
    assert not np.shares_memory(big, other)
    larger = mode.empty("y", (65, 5, 5, 3), np.float64)
    assert larger.shape == (65, 5, 5, 3)


def test_predict_splits_the_same_way_on_every_call():
    """The first call measures a sample's memory; it must not also change how that
    call splits x, or its outputs could differ in the last bit from later calls'."""
    model = nnspec.compile("input 16x16x1\nconv 3x3x2 same tanh -> conv 3x3x3 valid tanh "
                           "-> dense 100 relu -> dense 4 softmax")
    x = np.random.default_rng(0).random((300, 16, 16, 1), dtype=np.float32)
    first = model.predict(x)
    again = model.predict(x)
    assert first.tobytes() == again.tobytes()
