"""Masking in the torch engine (pytorch/masked.py): every masked row of
test_masking held to the numpy engine in float64, forward and gradients, and
PyTorch's own modules as the oracle: nn.LSTM, nn.GRU and nn.RNN over packed
sequences, and masked means and maxima as plain torch ops. Skipped without
torch."""
import numpy as np
import pytest

import nnspec
from nnspec.engine.layers.base import Mode

from test_masking import HEAD, IDS, MASKED

torch = pytest.importorskip("torch")
from nnspec.pytorch.modules import Net  # noqa: E402  after torch is known to be there


def _torch_pass(model, ids, readout):
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in model.weights.items()}
    out = Net(model.graph, tensors).train(True)(torch.tensor(ids))
    (out * torch.tensor(readout)).sum().backward()
    return out.detach().numpy(), {k: t.grad.numpy() if t.grad is not None else 0 * v
                                  for (k, t), v in zip(tensors.items(), model.weights.values())}


@pytest.mark.parametrize("body", [b for b in MASKED if "dropout" not in b])
def test_the_torch_engine_masks_as_the_numpy_engine(body, rng):
    """float64: the same function through other kernels (packed cells, PyTorch's
    attention), so rounding in another order: 1e-10."""
    model = nnspec.compile(HEAD + body, dtype="float64", seed=7)
    model.set_weights({k: v + rng.normal(0, 0.3, v.shape) for k, v in model.weights.items()})
    readout = rng.normal(size=(len(IDS),) + model.graph.output_shape)
    want, tape = model.graph.forward(model.weights, IDS, Mode(True))
    grads, _ = model.graph.backward(tape, readout.copy())
    got, got_grads = _torch_pass(model, IDS, readout)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    for k in model.graph.trainable:
        np.testing.assert_allclose(got_grads[k], grads[k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_torch_engine_fit_with_a_mask_matches_numpy(rng):
    spec = HEAD + "lstm 4 -> dense 3 softmax\ntrain { optimizer = adam\n lr = 0.01 }"
    a = nnspec.compile(spec, dtype="float64")
    b = nnspec.compile(spec, dtype="float64")
    x = rng.integers(0, 7, (12, 6)).astype(float)
    x[::3, 3:] = 0
    y = rng.integers(0, 3, 12)
    a.fit(x, y, epochs=3, batch_size=4)
    b.fit(x, y, epochs=3, batch_size=4, engine="torch")
    for k, v in a.weights.items():  # 12 steps of float64 rounding in another order
        np.testing.assert_allclose(b.weights[k], v, rtol=1e-9, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(b.predict(x), a.predict(x), rtol=1e-9)
    # the torch engine's predict, in passes of 4 (float64, other kernels: 1e-10)
    np.testing.assert_allclose(b.predict(x, engine="torch", batch_size=4), b.predict(x),
                               rtol=1e-10)


@pytest.mark.parametrize("both", [False, True], ids=["", "bidirectional"])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_masked_recurrent_layers_against_pytorchs_over_packed_sequences(kind, both, rng):
    """nn.LSTM/GRU/RNN over each row's seen steps, packed, against the numpy
    engine's masked layer (float64, rounding in another order: 1e-11); both
    ways, PyTorch's backward direction reads each packed row from its last seen
    step. A row with none seen is left out of the oracle: its state is 0."""
    from torch.nn.utils.rnn import pack_sequence, pad_packed_sequence
    model = nnspec.compile(f"input 6x3\n{kind} 4 return_sequences=true"
                           + (" bidirectional=true" if both else ""), dtype="float64")
    model.set_weights({k: rng.normal(0, 0.5, v.shape) for k, v in model.weights.items()})
    node, w = model.graph.nodes[0], model.weights
    x, mask = rng.normal(size=(5, 6, 3)), IDS != 0
    mode = Mode(False)
    mode.mask = mask
    from nnspec.engine.layers.recurrent import LAYERS
    own = {short: w[full] for short, full in model.graph.keys[node.name]}
    every = LAYERS[kind].forward(node.p, own, x, mode)[0]
    oracle = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](
        3, 4, batch_first=True, bidirectional=both).double()
    with torch.no_grad():
        for suffix, theirs in [("", "")] + ([("_r", "_reverse")] if both else []):
            getattr(oracle, f"weight_ih_l0{theirs}").copy_(torch.tensor(own["W" + suffix].T))
            getattr(oracle, f"weight_hh_l0{theirs}").copy_(torch.tensor(own["U" + suffix].T))
            getattr(oracle, f"bias_ih_l0{theirs}").copy_(torch.tensor(own["b" + suffix]))
            getattr(oracle, f"bias_hh_l0{theirs}").copy_(
                torch.tensor(own["rb" + suffix]) if kind == "gru" else 0)
    rows = [r for r in range(5) if mask[r].any()]
    packed = pack_sequence([torch.tensor(x[r][mask[r]]) for r in rows], enforce_sorted=False)
    out, last = oracle(packed)
    out = pad_packed_sequence(out, batch_first=True)[0].detach().numpy()
    last = (last[0] if kind == "lstm" else last).detach().numpy()  # (directions, rows, 4)
    for i, r in enumerate(rows):
        seen = mask[r].sum()
        np.testing.assert_allclose(every[r][mask[r]], out[i, :seen], rtol=1e-11, atol=1e-13)
        assert not every[r][~mask[r]].any()  # zeros at the masked steps
        # forward's last state after the last seen step; backward's after the first
        np.testing.assert_allclose(every[r][mask[r]][-1][:4], last[0, i], rtol=1e-11,
                                   atol=1e-13)
        if both:
            np.testing.assert_allclose(every[r][mask[r]][0][4:], last[1, i], rtol=1e-11,
                                       atol=1e-13)
    assert not every[4].any()


def test_masked_pools_against_torch_ops(rng):
    """The numpy engine's masked mean and max against torch's masked_select per row
    (float64: a sum in another order, 1e-13)."""
    from nnspec.engine.layers import pool_global
    x, mask = rng.normal(size=(5, 6, 3)), IDS != 0
    mode = Mode(False)
    mode.mask = mask
    mean = pool_global.global_avg_forward({}, {}, x, mode)[0]
    top = pool_global.global_max_forward({}, {}, x, mode)[0]
    for r in range(5):
        seen = torch.tensor(x[r])[torch.tensor(mask[r])]
        want_mean = seen.mean(0).numpy() if len(seen) else np.zeros(3)
        want_max = seen.amax(0).numpy() if len(seen) else np.zeros(3)
        np.testing.assert_allclose(mean[r], want_mean, rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(top[r], want_max)
