"""Every loss's value and gradient against numbers worked out here from its
formula, in plain Python floats, not by calling nnspec: the gradient checks
hold a loss's gradient to its own value, so a wrong value with a matching
gradient (Huber's delta, a sum for a mean) passed them; the PyTorch oracle,
which would catch it, is an optional extra.

The arrays are small and chosen so a likely slip changes the number: residuals
on both sides of Huber's delta and between 1 and 2 (so delta 2 differs), three
outputs (so mse's mean over outputs and quadratic's half sum differ), an output
of exactly 1 and 0 against the other target (so binary cross-entropy's clip
decides the value), and logits whose exp overflows float32.
"""
import math

import numpy as np
import pytest

from nnspec.engine import losses

OUT = [[0.5, -1.0, 2.0], [2.0, 0.0, -3.5]]  # two samples of three outputs
REAL = [[1.0, 1.0, 0.5], [0.25, 0.0, -0.5]]  # residuals -0.5 -2 1.5, 1.75 0 -3
PROBS = [[0.9, 0.2, 1.0], [0.6, 0.0, 0.5]]  # 1.0 and 0.0 against targets 0 and 1
BINARY = [[1.0, 0.0, 0.0], [0.3, 1.0, 1.0]]  # soft targets too
LOGITS = [[2.0, -1.0, 100.0], [0.0, -100.0, 1.5]]  # e^100 overflows float32
CLASSES = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]  # one-hot rows
EPS = 1e-7  # binary cross-entropy clips probabilities to [EPS, 1 - EPS]
DELTA = 1.0  # Huber's, Keras' and PyTorch's default


def _cells(a, b):
    return [(u, v) for row_a, row_b in zip(a, b) for u, v in zip(row_a, row_b)]


def _sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def _mse(out, y):
    pairs = _cells(out, y)
    return (sum((o - t) ** 2 for o, t in pairs) / len(pairs),
            [2 * (o - t) / len(pairs) for o, t in pairs])


def _quadratic(out, y):
    """Half the squared error summed over a sample's outputs, mean over samples."""
    n = len(out)
    return (sum(0.5 * (o - t) ** 2 for o, t in _cells(out, y)) / n,
            [(o - t) / n for o, t in _cells(out, y)])


def _mae(out, y):
    pairs = _cells(out, y)
    return (sum(abs(o - t) for o, t in pairs) / len(pairs),
            [(1 if o > t else -1 if o < t else 0) / len(pairs) for o, t in pairs])


def _huber(out, y):
    pairs, value, grad = _cells(out, y), 0.0, []
    for o, t in pairs:
        r = o - t
        if abs(r) <= DELTA:
            value += 0.5 * r * r
            grad.append(r / len(pairs))
        else:
            value += DELTA * (abs(r) - 0.5 * DELTA)
            grad.append(DELTA * (1 if r > 0 else -1) / len(pairs))
    return value / len(pairs), grad


def _binary_cross_entropy(out, y):
    """-(y log p + (1 - y) log(1 - p)), mean over every output; p clipped to [EPS, 1 - EPS]."""
    pairs, value, grad = _cells(out, y), 0.0, []
    for o, t in pairs:
        p = min(max(o, EPS), 1 - EPS)
        value -= t * math.log(p) + (1 - t) * math.log(1 - p)
        grad.append((-t / p + (1 - t) / (1 - p)) / len(pairs))
    return value / len(pairs), grad


def _sigmoid_binary_cross_entropy(z, y):
    """On logits: p = sigmoid(z), log(1 - p) = -log(1 + e^z); the gradient wrt z is p - y."""
    pairs, value, grad = _cells(z, y), 0.0, []
    for s, t in pairs:
        value -= t * -math.log(1 + math.exp(-s)) + (1 - t) * -math.log(1 + math.exp(s))
        grad.append((_sigmoid(s) - t) / len(pairs))
    return value / len(pairs), grad


def _softmax_cross_entropy(z, y):
    """-sum y log softmax(z) a sample, mean over samples; the gradient wrt z is (p - y) / n."""
    value, grad = 0.0, []
    for zs, ys in zip(z, y):
        top = max(zs)
        total = sum(math.exp(s - top) for s in zs)
        value -= sum(t * (s - top - math.log(total)) for s, t in zip(zs, ys))
        grad += [(math.exp(s - top) / total - t) / len(z) for s, t in zip(zs, ys)]
    return value / len(z), grad


# (loss, output activation) -> (the hand formula, output or logits, targets)
HAND = {
    ("mse", "linear"): (_mse, OUT, REAL),
    ("quadratic", "linear"): (_quadratic, OUT, REAL),
    ("mae", "linear"): (_mae, OUT, REAL),
    ("huber", "linear"): (_huber, OUT, REAL),
    ("binary_cross_entropy", "linear"): (_binary_cross_entropy, PROBS, BINARY),
    ("binary_cross_entropy", "sigmoid"): (_sigmoid_binary_cross_entropy, LOGITS, BINARY),
    ("cross_entropy", "softmax"): (_softmax_cross_entropy, LOGITS, CLASSES),
}


def test_every_loss_and_fused_pair_has_hand_computed_numbers():
    assert {loss for loss, _ in HAND} == set(losses.LOSSES)
    assert set(losses.FUSED) <= set(HAND)


@pytest.mark.parametrize("loss,activation", sorted(HAND))
def test_loss_value_and_gradient_match_the_formula_worked_by_hand(loss, activation):
    formula, given, target = HAND[loss, activation]
    want_value, want_grad = formula(given, target)
    z, y = np.array(given), np.array(target)
    # the engine's one entry (graph.py): fused pairs take the logits z, the others
    # the output; a plain pair's z is the output, as a linear activation gives
    value, grad, wrt_z = losses.value_and_grad(loss, activation, z, z, y)
    assert wrt_z == ((loss, activation) in losses.FUSED)
    assert value == pytest.approx(want_value, rel=1e-12)
    np.testing.assert_allclose(grad.ravel(), want_grad, rtol=1e-12, atol=1e-15)
    # float32 stays float32 (a float64 scalar would upcast the whole batch); its
    # value is not held to the float64 numbers: float32 clips at 1 - 1.2e-7
    z32, y32 = z.astype(np.float32), y.astype(np.float32)
    value32, grad32, _ = losses.value_and_grad(loss, activation, z32, z32, y32)
    assert grad32.dtype == np.float32 and math.isfinite(value32)


def test_the_hand_numbers_tell_the_likely_slips_apart():
    """The arrays above are chosen so each slip the tests guard against moves the
    value: this holds the test's own data to that, once, by the formulas alone."""
    assert _mse(OUT, REAL)[0] != pytest.approx(_quadratic(OUT, REAL)[0])
    residuals = [abs(o - t) for o, t in _cells(OUT, REAL)]
    assert any(r < DELTA for r in residuals) and any(DELTA < r < 2 * DELTA for r in residuals)
    assert any(r > 2 * DELTA for r in residuals)
    assert (1.0, 0.0) in _cells(PROBS, BINARY) and (0.0, 1.0) in _cells(PROBS, BINARY)
    assert max(max(map(abs, row)) for row in LOGITS) > math.log(np.finfo(np.float32).max)
