"""Each family with a fast path beside its plain math (engine/layers/*_reference.py):
the fast forward equals the reference in float64 (rounding in another order:
1e-12) over strides, paddings, dilations, narrow and wide inputs, windows and
modes; and the fast backward equals the reference's gradient by central
differences on small inputs. recurrent_reference.py's test is in test_gradients."""
import itertools

import numpy as np
import pytest

import nnspec
from nnspec.engine.layers import (attention_reference, conv_reference, norm_reference,
                                  pool_reference)
from nnspec.engine.layers.base import Mode

from conftest import assert_close_grad, numeric_grad


def _layer(spec, rng):
    """A one-layer network in float64, its weights random (variances positive), and x."""
    model = nnspec.compile(spec, dtype="float64", loss="mse")  # the layer's raw output
    for name, w in model.weights.items():
        w[...] = np.abs(rng.normal(1, 0.3, w.shape)) if name.endswith(".var") else \
            rng.normal(0, 0.5, w.shape)
    node = model.graph.nodes[0]
    w = {short: model.weights[full] for short, full in model.graph.keys[node.name]}
    return model, node, w


CONV = [f"input {h}x{w}x{c}\nconv {k}x{f} {pad} stride={s} dilation={d}" + bias
        for (h, w), c, (k, f), pad, s, d, bias in itertools.product(
            [(7, 6), (9, 9)], [1, 3, 5], [("3x3", 4), ("2x3", 2)], ["valid", "same", "full"],
            [1, 2, 3], [1, 2], ["", " bias=false"])
        if not (pad == "valid" and d == 2 and s == 3)]


@pytest.mark.parametrize("spec", CONV)
def test_conv_is_its_sum_over_kernel_offsets(spec):
    rng = np.random.default_rng(0)
    model, node, w = _layer(spec, rng)
    x = rng.normal(size=(3,) + model.graph.input_shape)
    got, _ = model.graph.forward(model.weights, x, Mode(True))
    np.testing.assert_allclose(got, conv_reference.conv(node.p, w, x), rtol=1e-12, atol=1e-12)


POOL = [f"input {h}x{w}x2\n{kind}pool {win} {pad}" + (f" stride={s}" if s else "")
        for kind, (h, w), win, pad, s in itertools.product(
            ["max", "avg"], [(8, 8), (7, 9), (22, 22)], ["2", "3x2", "4"], ["valid", "same"],
            [None, 1, 2])]
POOL += [f"input {t}x{f}\n{kind}pool {k} {pad}" + (f" stride={s}" if s else "")  # over time
         for kind, (t, f), k, pad, s in itertools.product(
             ["max", "avg"], [(8, 3), (9, 1), (22, 5)], [1, 2, 3, 4], ["valid", "same"],
             [None, 1, 2, 5])]


@pytest.mark.parametrize("spec", POOL)
def test_pooling_is_the_max_or_mean_of_each_window(spec):
    rng = np.random.default_rng(1)
    model, node, _ = _layer(spec, rng)
    x = rng.normal(size=(3,) + model.graph.input_shape)
    got, _ = model.graph.forward(model.weights, x, Mode(True))
    want = pool_reference.pool(node.kind[:3], node.p, x)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec", ["input 5x4x3\nglobalmaxpool", "input 5x4x3\nglobalavgpool",
                                  "input 6x3\nglobalmaxpool", "input 6x3\nglobalavgpool"])
def test_global_pooling_reduces_every_axis_but_the_features(spec):
    rng = np.random.default_rng(2)
    model, node, _ = _layer(spec, rng)
    x = rng.normal(size=(3,) + model.graph.input_shape)
    got, _ = model.graph.forward(model.weights, x, Mode(True))
    np.testing.assert_allclose(got, pool_reference.global_pool(node.kind[6:9], x),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("spec", ["input 6\nbatchnorm", "input 5x4x3\nbatchnorm momentum=0.3",
                                  "input 4x7\nbatchnorm eps=0.01"])
def test_batch_norm_is_its_formula_and_moves_the_running_statistics(spec, training):
    rng = np.random.default_rng(3)
    model, node, w = _layer(spec, rng)
    before = {k: v.copy() for k, v in w.items()}
    x = rng.normal(2, 3, size=(9,) + model.graph.input_shape)
    got, _ = model.graph.forward(model.weights, x, Mode(training))
    want, (mean, var) = norm_reference.batch_norm(node.p, before, x, training)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w["mean"], mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w["var"], var, rtol=1e-12, atol=1e-12)
    if training:  # unbiased: the batch's variance times m / (m - 1) moves the running one
        assert not np.allclose(w["var"], (1 - node.p["momentum"]) * before["var"]
                               + node.p["momentum"] * x.reshape(-1, x.shape[-1]).var(axis=0))


@pytest.mark.parametrize("spec", ["input 6\nlayernorm", "input 4x7\nlayernorm eps=0.01"])
def test_layer_norm_is_its_formula(spec):
    rng = np.random.default_rng(4)
    model, node, w = _layer(spec, rng)
    x = rng.normal(2, 3, size=(9,) + model.graph.input_shape)
    got, _ = model.graph.forward(model.weights, x, Mode(True))
    np.testing.assert_allclose(got, norm_reference.layer_norm(node.p, w, x), rtol=1e-12,
                               atol=1e-12)


ATTENTION = [f"input {t}x{d}\nattention {h}" + (" causal=true" if c else "") + b
             for t, d, h, c, b in itertools.product([1, 5, 40], [4, 8], [1, 2, 4], [False, True],
                                                    ["", " bias=false"]) if d % h == 0]


@pytest.mark.parametrize("spec", ATTENTION)
def test_attention_is_its_equations_head_by_head(spec):
    rng = np.random.default_rng(5)
    model, node, w = _layer(spec, rng)
    x = rng.normal(size=(3,) + model.graph.input_shape)
    got, _ = model.graph.forward(model.weights, x, Mode(True))
    np.testing.assert_allclose(got, attention_reference.attention(node.p, w, x), rtol=1e-12,
                               atol=1e-12)


def _reference_of(node):
    kind = node.kind
    if kind == "conv":
        return lambda p, w, x: conv_reference.conv(p, w, x)
    if kind in ("maxpool", "avgpool"):
        return lambda p, w, x: pool_reference.pool(kind[:3], p, x)
    if kind == "batchnorm":
        return lambda p, w, x: norm_reference.batch_norm(p, w, x, True)[0]
    if kind == "layernorm":
        return lambda p, w, x: norm_reference.layer_norm(p, w, x)
    return lambda p, w, x: attention_reference.attention(p, w, x)


@pytest.mark.parametrize("spec", [
    "input 5x5x2\nconv 3x3x2 same stride=2", "input 6x5x5\nconv 2x2x3 full dilation=2",
    # stride 1 over 4 and more channels: conv_grid.py
    "input 5x6x4\nconv 3x3x3 same", "input 6x5x4\nconv 3x2x2 valid dilation=2 bias=false",
    "input 6x6x1\nmaxpool 3 same stride=2", "input 5x7x2\navgpool 2x3 same stride=1",
    "input 9x2\nmaxpool 4 same stride=2", "input 8x3\navgpool 3 same",
    "input 4x3\nbatchnorm", "input 3x2x3\nlayernorm", "input 4x4\nattention 2 causal=true"])
def test_the_fast_backward_is_the_references_gradient(spec):
    rng = np.random.default_rng(6)
    model, node, w = _layer(spec, rng)
    graph = model.graph
    x = rng.normal(size=(2,) + graph.input_shape)
    readout = rng.normal(size=(2,) + graph.output_shape)
    saved = {k: v.copy() for k, v in w.items()}
    out, tape = graph.forward(model.weights, x, Mode(True))
    grads, dx = graph.backward(tape, readout, input_grad=True)
    reference = _reference_of(node)

    def value():
        return float((reference(node.p, saved, x) * readout).sum())
    assert_close_grad(dx, numeric_grad(value, x), "input")
    for short, full in graph.keys[node.name]:
        if full in graph.trainable:
            assert_close_grad(grads[full], numeric_grad(value, saved[short]), full)


WIDE = [spec for spec in CONV if "x1\n" not in spec and "x3\n" not in spec]
WIDE += ["input 12x5\nconv 3x4 same", "input 12x5\nconv 4x2 valid dilation=3 bias=false"]


@pytest.mark.parametrize("spec", WIDE)
def test_a_wide_convs_backward_from_its_input_is_its_backward_from_kept_columns(
        spec, monkeypatch):
    """A training pass of a conv over 4 or more channels keeps its input, not its
    im2col columns, unless they are small (conv.KEEP); backward reads the input
    on a grid (conv_grid.py: stride 1, where the grid's padding rows are few,
    conv.GRID_ROWS) or gathers the columns again. Each way, forced, is held to
    the backward from kept columns: the same sums in another order, 1e-12 in
    float64 (test_the_fast_backward_is_the_references_gradient holds that one
    to the reference). Each training pass runs twice on the same buffers, filled
    with NaN between the two (as another layer may leave a scratch buffer), so
    that what a buffer held before cannot leak into the second."""
    from nnspec.engine.layers import conv
    rng = np.random.default_rng(7)
    model, node, w = _layer(spec, rng)
    p, shape = node.p, (3,) + model.graph.input_shape
    x, dy = rng.normal(size=shape), rng.normal(size=(3,) + model.graph.output_shape)

    def trained(rows, keep):
        monkeypatch.setattr(conv, "GRID_ROWS", rows)
        monkeypatch.setattr(conv, "KEEP", keep)
        buffers = {}
        for x_i, dy_i in ((rng.normal(size=x.shape), rng.normal(size=dy.shape)), (x, dy)):
            for buffer in buffers.values():
                buffer.fill(np.nan)
            mode = Mode(True, buffers=buffers)
            mode.node = node.name
            y, cache = conv.sequence_forward(p, w, x_i, mode)
            dx, grads = conv.sequence_backward(p, w, cache, dy_i, True)
        return cache[0], [y.copy(), dx.copy(), {k: v.copy() for k, v in grads.items()}]

    path, want = trained(0.0, np.inf)
    assert path == "columns"
    ways = {"input": (0.0, 0)}
    if "stride=1" in spec or "stride" not in spec:
        ways["grid"] = (np.inf, 0)
    for way, (rows, keep) in ways.items():
        path, got = trained(rows, keep)
        assert path == way
        for a, b in zip(got[:2], want[:2]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        assert got[2].keys() == want[2].keys()
        for k in want[2]:
            np.testing.assert_allclose(got[2][k], want[2][k], rtol=1e-12, atol=1e-12)
