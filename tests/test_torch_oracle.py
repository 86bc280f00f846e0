"""nnspec's layers against PyTorch's, forward and backward, in float64.

Each row is a spec and the same computation written with torch.nn.functional
on nnspec's own weights (as tensors in nnspec's layout, so autograd's
gradients come back in that layout too). Skipped where torch is not
installed: `pip install torch==2.13.0` installs its CPU build.
"""
import numpy as np
import pytest

import nnspec
from nnspec.engine.layers.base import Mode

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _nchw(x):
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


def _tf_same_pads(size, k, s):
    """TensorFlow's 'same': output ceil(size / s), extra padding after."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def conv(padding, stride=1, dilation=1):
    def run(x, w):
        weight = w["W"].permute(3, 2, 0, 1)  # (kh, kw, c, f) -> (f, c, kh, kw)
        kh, kw = weight.shape[2:]
        span = [(k - 1) * dilation + 1 for k in (kh, kw)]
        if padding == "full":
            pad = (span[1] - 1, span[1] - 1, span[0] - 1, span[0] - 1)
        elif padding == "same":
            (t, b), (l, r) = (_tf_same_pads(x.shape[i], span[i - 1], stride) for i in (1, 2))
            pad = (l, r, t, b)
        else:
            pad = (0, 0, 0, 0)
        y = F.conv2d(F.pad(_nchw(x), pad), weight, w.get("b"), stride=stride, dilation=dilation)
        return _nhwc(y)
    return run


def conv1d(padding, stride=1, dilation=1):
    """torch's Conv1d over (batch, features, time), nnspec's W (k, features, filters)."""
    def run(x, w):
        weight = w["W"].permute(2, 1, 0)  # (k, c, f) -> (f, c, k)
        span = (weight.shape[2] - 1) * dilation + 1
        pad = {"valid": (0, 0), "full": (span - 1, span - 1),
               "same": _tf_same_pads(x.shape[1], span, stride)}[padding]
        y = F.conv1d(F.pad(x.transpose(1, 2), pad), weight, w.get("b"), stride=stride,
                     dilation=dilation)
        return y.transpose(1, 2)
    return run


def pool(fn, k, stride=None):
    return lambda x, w: _nhwc(fn(_nchw(x), k, stride))


def pool1d(fn, k, stride=None, padding="valid"):
    """torch's max_pool1d / avg_pool1d over (batch, features, time). 'same' as PyTorch
    pads: `before` steps each side (the padding never wins a max, and
    count_include_pad=False averages the input's values only); where TensorFlow pads
    one more step after, that step is padded here (-inf for a max) and an average
    that counted it is rescaled to the input's values its window holds."""
    def run(x, w):
        t, s = x.shape[1], stride or k
        before, after = _tf_same_pads(t, k, s) if padding == "same" else (0, 0)
        xt = x.transpose(1, 2)
        if fn is F.max_pool1d:
            return fn(F.pad(xt, (0, after - before), value=-np.inf), k, s, before).transpose(1, 2)
        y = fn(F.pad(xt, (0, after - before)), k, s, before, count_include_pad=False)
        starts = np.arange(y.shape[-1]) * s - before
        held = np.minimum(starts + k, t) - np.maximum(starts, 0)
        counted = np.minimum(starts + k, t + after - before) - np.maximum(starts, 0)
        return (y * torch.tensor(counted / held)).transpose(1, 2)
    return run


def batchnorm(x, w):
    dims = x.dim()
    xt = x.reshape(-1, x.shape[-1]) if dims != 4 else _nchw(x)
    mean, var = w["mean"].clone(), w["var"].clone()
    y = F.batch_norm(xt, mean, var, w["gamma"], w["beta"], training=True, momentum=0.1, eps=1e-5)
    batchnorm.running = (mean, var)
    return _nhwc(y) if dims == 4 else y.reshape(x.shape)


def layernorm(x, w):
    return F.layer_norm(x, (x.shape[-1],), w["gamma"], w["beta"], eps=1e-5)


def recurrent(kind, sequences=False, bidirectional=False):
    """torch.nn.RNN/LSTM/GRU with nnspec's weights copied in; bidirectional, the
    backward direction's W_r, U_r, b_r (rb_r) as PyTorch's *_reverse, and the last
    states from PyTorch's h_n (2, batch, units), forward's first."""
    def run(x, w):
        h = w["U"].shape[0]
        module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
        module = module(x.shape[-1], h, batch_first=True,
                        bidirectional=bidirectional).double()
        flat = {}
        for suffix, theirs in [("", "")] + ([("_r", "_reverse")] if bidirectional else []):
            rb = w["rb" + suffix] if kind == "gru" else torch.zeros_like(w["b" + suffix])
            flat.update({f"weight_ih_l0{theirs}": w["W" + suffix].T,
                         f"weight_hh_l0{theirs}": w["U" + suffix].T,
                         f"bias_ih_l0{theirs}": w["b" + suffix], f"bias_hh_l0{theirs}": rb})
        y, last = torch.func.functional_call(module, flat, (x,))
        if sequences:
            return y
        if bidirectional:
            h_n = last[0] if kind == "lstm" else last  # (2, batch, units)
            return h_n.transpose(0, 1).reshape(len(x), 2 * h)
        return y[:, -1]
    return run


def attention(heads, causal=False):
    def run(x, w):
        t, d = x.shape[1:]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if causal else None
        y, _ = F.multi_head_attention_forward(
            x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1), d, heads,
            w["W"].T, w["b"], None, None, False, 0.0, w["Wo"].T, w["bo"],
            training=False, need_weights=False, attn_mask=mask)
        return y.transpose(0, 1)
    return run


def dense(x, w):
    return x.reshape(len(x), -1) @ w["W"] + w["b"]


def then(first, act):
    return lambda x, w: act(first(x, w))


ROWS = [
    ("input 7x6x2\nconv 3x3x4 valid", conv("valid")),
    ("input 7x6x2\nconv 3x2x4 same", conv("same")),
    ("input 7x6x2\nconv 3x3x3 same stride=2", conv("same", 2)),
    ("input 8x7x3\nconv 5x5x2 same stride=3", conv("same", 3)),
    ("input 6x6x2\nconv 3x3x2 full", conv("full")),
    ("input 7x7x1\nconv 2x3x2 full stride=2", conv("full", 2)),
    ("input 9x9x2\nconv 3x3x2 valid dilation=2", conv("valid", 1, 2)),
    ("input 7x6x5\nconv 3x3x4 same stride=2", conv("same", 2)),
    ("input 9x9x4\nconv 3x3x2 full dilation=2", conv("full", 1, 2)),
    ("input 9x8x2\nconv 3x3x2 same dilation=2 stride=2", conv("same", 2, 2)),
    ("input 20x16\nconv 3x32 same", conv1d("same")),
    ("input 9x2\nconv 3x4 valid", conv1d("valid")),
    ("input 9x5\nconv 4x3 same stride=2", conv1d("same", 2)),
    ("input 8x3\nconv 2x2 full stride=3", conv1d("full", 3)),
    ("input 11x4\nconv 3x2 valid dilation=2 stride=2", conv1d("valid", 2, 2)),
    ("input 10x1\nconv 3x3 same dilation=3", conv1d("same", 1, 3)),
    ("input 8x8x2\nmaxpool 2", pool(F.max_pool2d, 2)),
    ("input 7x9x2\nmaxpool 3x2", pool(F.max_pool2d, (3, 2))),
    ("input 7x7x3\nmaxpool 3 stride=2", pool(F.max_pool2d, 3, 2)),
    ("input 22x22x2\nmaxpool 4", pool(F.max_pool2d, 4)),  # seed 001's: 22 is not a multiple
    ("input 8x8x2\navgpool 2", pool(F.avg_pool2d, 2)),
    ("input 7x7x2\navgpool 3x2 stride=2", pool(F.avg_pool2d, (3, 2), 2)),
    ("input 8x3\nmaxpool 2", pool1d(F.max_pool1d, 2)),
    ("input 9x2\nmaxpool 2", pool1d(F.max_pool1d, 2)),  # the last step in no window
    ("input 7x3\nmaxpool 3 stride=1", pool1d(F.max_pool1d, 3, 1)),
    ("input 10x2\nmaxpool 2 stride=3", pool1d(F.max_pool1d, 2, 3)),
    ("input 7x2\nmaxpool 4 same stride=1", pool1d(F.max_pool1d, 4, 1, "same")),  # pads 1, 2
    ("input 9x3\nmaxpool 3 same stride=2", pool1d(F.max_pool1d, 3, 2, "same")),
    ("input 5x2\nmaxpool 2 same", pool1d(F.max_pool1d, 2, None, "same")),  # pads 0, 1
    ("input 8x3\navgpool 2", pool1d(F.avg_pool1d, 2)),
    ("input 11x2\navgpool 3 stride=2", pool1d(F.avg_pool1d, 3, 2)),
    ("input 7x2\navgpool 4 same stride=1", pool1d(F.avg_pool1d, 4, 1, "same")),
    ("input 10x3\navgpool 3 same stride=3", pool1d(F.avg_pool1d, 3, 3, "same")),
    ("input 9x4\navgpool 5 same stride=2", pool1d(F.avg_pool1d, 5, 2, "same")),  # pads 2, 2
    ("input 5x2\navgpool 2 same", pool1d(F.avg_pool1d, 2, None, "same")),
    ("input 3x3x2\nupsample 2x3",
     lambda x, w: _nhwc(F.interpolate(_nchw(x), scale_factor=(2, 3), mode="nearest"))),
    ("input 6\nbatchnorm", batchnorm),
    ("input 5x5x3\nbatchnorm", batchnorm),
    ("input 6\nlayernorm", layernorm),
    ("input 4x6\nlayernorm", layernorm),
    ("input 5x3\nrnn 4", recurrent("rnn")),
    ("input 5x3\nlstm 4", recurrent("lstm")),
    ("input 6x2\nlstm 3 return_sequences=true", recurrent("lstm", True)),
    ("input 5x3\ngru 4", recurrent("gru")),
    ("input 4x2\ngru 3 return_sequences=true", recurrent("gru", True)),
    ("input 5x3\nrnn 4 bidirectional", recurrent("rnn", False, True)),
    ("input 4x2\nrnn 3 bidirectional return_sequences=true", recurrent("rnn", True, True)),
    ("input 5x3\nlstm 4 bidirectional", recurrent("lstm", False, True)),
    ("input 6x2\nlstm 3 bidirectional return_sequences=true", recurrent("lstm", True, True)),
    ("input 7x4\nlstm 2 bidirectional", recurrent("lstm", False, True)),
    ("input 5x3\ngru 4 bidirectional", recurrent("gru", False, True)),
    ("input 4x2\ngru 3 bidirectional return_sequences=true", recurrent("gru", True, True)),
    ("input 5x4\nattention 1", attention(1)),
    ("input 6x8\nattention 2", attention(2)),
    ("input 6x8\nattention 4 causal=true", attention(4, True)),
    ("input 6\ndense 5 gelu", then(dense, lambda z: F.gelu(z, approximate="tanh"))),
    ("input 6\ndense 5 elu", then(dense, F.elu)),
    ("input 6\ndense 5 leaky_relu", then(dense, F.leaky_relu)),
    ("input 6\ndense 5 softplus", then(dense, F.softplus)),
    ("input 6\ndense 5 silu", then(dense, F.silu)),
]


@pytest.mark.parametrize("spec,reference", ROWS, ids=[r[0].replace("\n", " | ") for r in ROWS])
def test_forward_and_gradients_match_pytorch(spec, reference, rng):
    # loss = mse: the output as the layer computes it (a linear output under the
    # default cross_entropy would be logits, softmax applied: lang/heads.py)
    model = nnspec.compile(spec, dtype="float64", seed=5, loss="mse")
    graph, weights = model.graph, model.weights
    for name in graph.trainable:  # away from the initial zeros and ones
        weights[name] += rng.normal(0, 0.2, weights[name].shape)
    before = {k: v.copy() for k, v in weights.items()}
    x = rng.normal(size=(3,) + graph.input_shape)
    readout = rng.normal(size=(3,) + graph.output_shape)
    out, tape = graph.forward(weights, x, Mode(True))
    grads, dx = graph.backward(tape, readout, input_grad=True)

    xt = torch.tensor(x, requires_grad=True)
    wt = {k.rsplit(".", 1)[1]: torch.tensor(v, requires_grad=k in graph.trainable)
          for k, v in before.items()}
    yt = reference(xt, wt)
    (yt * torch.tensor(readout)).sum().backward()
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    for name in graph.trainable:
        short = name.rsplit(".", 1)[1]
        np.testing.assert_allclose(grads[name], wt[short].grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=name)
    if reference is batchnorm:  # the running statistics move as PyTorch's do
        mean, var = batchnorm.running
        layer = graph.nodes[0].name
        np.testing.assert_allclose(weights[f"{layer}.mean"], mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(weights[f"{layer}.var"], var.numpy(), rtol=1e-12)


LOSS_ROWS = [
    ("huber", "linear", lambda z, y: F.huber_loss(z, y, delta=1.0)),
    ("mae", "linear", F.l1_loss),
    ("mse", "linear", F.mse_loss),
    ("quadratic", "linear", lambda z, y: 0.5 * F.mse_loss(z, y, reduction="sum") / len(z)),
    ("binary_cross_entropy", "sigmoid", F.binary_cross_entropy_with_logits),
    ("cross_entropy", "softmax", lambda z, y: F.cross_entropy(z, y.argmax(axis=1))),
]


@pytest.mark.parametrize("loss,act,reference", LOSS_ROWS, ids=[r[0] for r in LOSS_ROWS])
def test_losses_match_pytorch(loss, act, reference, rng):
    model = nnspec.compile(f"input 4\ndense 3 {act}\ntrain {{\n loss = {loss}\n}}",
                           dtype="float64")
    x = rng.normal(size=(6, 4))
    if loss.endswith("cross_entropy"):
        y = np.eye(3)[rng.integers(0, 3, 6)] if act == "softmax" else rng.integers(0, 2, (6, 3))
    else:
        y = rng.normal(scale=2.0, size=(6, 3))  # huber: residuals on both sides of 1
    value, grads = model.gradients(x, y)
    w = {k: torch.tensor(v, requires_grad=True) for k, v in model.weights.items()}
    z = torch.tensor(x) @ w["dense1.W"] + w["dense1.b"]
    expected = reference(z, torch.tensor(y, dtype=torch.float64))
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-10)
    for k, v in w.items():
        np.testing.assert_allclose(grads[k], v.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("schedule", ["exponential(rate=0.9)", "cosine(warmup=5, floor=0.1)",
                                      "step(every=1, gamma=0.5)"])
def test_sgd_momentum_under_a_schedule_matches_torch(schedule, nesterov):
    """nnspec's SGD is torch.optim.SGD (dampening 0): with the same per-update factors,
    given to torch as a LambdaLR, 50 float64 steps agree to 1e-10."""
    from nnspec.training import config as settings
    from nnspec.lang.settings import TrainConfig
    from nnspec.lang.syntax import parse_value
    cfg = TrainConfig(optimizer="sgd", optimizer_options=(("momentum", 0.9),
                                                          ("nesterov", nesterov)),
                      schedule=parse_value(schedule)[1])
    ours, sched = settings.optimizer(cfg), settings.schedule(cfg)
    sched.begin(50)
    rng = np.random.default_rng(0)
    w = {"a.W": rng.standard_normal((4, 3)), "a.b": rng.standard_normal(3)}
    params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in w.items()}
    theirs = torch.optim.SGD(list(params.values()), lr=0.1, momentum=0.9, nesterov=nesterov)
    epoch_of = lambda t: t // 10  # noqa: E731  ten updates an epoch, for step()
    lam = torch.optim.lr_scheduler.LambdaLR(theirs, lambda t: sched.factor(t, epoch_of(t)))
    for t in range(50):
        grads = {k: rng.standard_normal(v.shape) for k, v in w.items()}
        ours.step(w, grads, dict.fromkeys(w, 0.1 * sched.factor(t, epoch_of(t))))
        for k, p in params.items():
            p.grad = torch.tensor(grads[k])
        theirs.step()
        lam.step()
    for k, p in params.items():
        np.testing.assert_allclose(w[k], p.detach().numpy(), rtol=1e-10, atol=1e-12)
