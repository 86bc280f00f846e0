"""Losses, as (value, gradient) of the batch mean.

A loss is f(out, target) -> (value, d_out). Where the output activation and
the loss combine into something simpler and stabler, FUSED holds
f(z, target) -> (value, d_z) on the pre-activation z: softmax with
cross-entropy has gradient (p - y) / n and never takes log of 0.
"""
from typing import NamedTuple

import numpy as np

from ..errors import DataError
from . import activations

_EPS = 1e-7


def _cross_entropy(out, y):
    # lang/heads.py gives every output trained with cross_entropy a softmax head,
    # and FUSED computes the pair from the logits; there is no other form
    raise AssertionError("cross_entropy runs fused with its softmax head")


def _mse(out, y):
    diff = out - y
    return float((diff * diff).mean()), (2.0 / diff.size * diff).astype(out.dtype, copy=False)


def _quadratic(out, y):
    """Half the squared error summed over a sample's outputs, mean over samples: the
    "quadratic cost" of Nielsen's book, which seed 002 trains with; its gradient is
    (out - y) / n, where mse's is 2 (out - y) / (n * outputs)."""
    n = len(out)
    diff = out - y
    return float(0.5 * (diff * diff).sum() / n), (diff / out.dtype.type(n)).astype(out.dtype,
                                                                               copy=False)


def _mae(out, y):
    diff = out - y
    return float(np.abs(diff).mean()), (np.sign(diff) / out.dtype.type(diff.size))


HUBER_DELTA = 1.0  # Keras' and PyTorch's default


def _huber(out, y):
    """Quadratic within HUBER_DELTA of the target, linear beyond: mse's smooth
    start without its pull from outliers."""
    diff = out - y
    d = out.dtype.type(HUBER_DELTA)
    small = np.abs(diff) <= d
    value = np.where(small, 0.5 * diff * diff, d * (np.abs(diff) - 0.5 * d)).mean()
    grad = np.where(small, diff, d * np.sign(diff)) / out.dtype.type(diff.size)
    return float(value), grad


def _binary_cross_entropy(out, y):
    p = np.clip(out, _EPS, 1 - _EPS)
    value = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    grad = (p - y) / (p * (1 - p)) / out.dtype.type(out.size)
    return float(value), grad.astype(out.dtype, copy=False)


def _sigmoid_binary_cross_entropy(z, y):
    # log(1 + e^z) - z*y, written so that no exp overflows
    value = (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()
    e = np.exp(-np.abs(z))
    p = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return float(value), ((p - y) / z.dtype.type(z.size)).astype(z.dtype, copy=False)


def _softmax_cross_entropy(z, y):
    n = len(z)
    shifted = z - activations.row_max(z)
    e = np.exp(shifted)
    total = activations.row_sum(e)
    value = float(-(y * (shifted - np.log(total))).sum() / n)
    return value, ((e / total - y) / n).astype(z.dtype, copy=False)


class Term(NamedTuple):
    """One output's part of a network's objective: the output's name, the node
    that computes it, its loss and its weight (its share of the total)."""

    name: str
    node: str
    loss: str
    weight: float = 1.0


LOSSES = {"cross_entropy": _cross_entropy, "mse": _mse, "quadratic": _quadratic, "mae": _mae,
          "huber": _huber, "binary_cross_entropy": _binary_cross_entropy}
REGRESSION = ("mse", "quadratic", "mae", "huber")  # losses whose targets are any real values
FUSED = {("cross_entropy", "softmax"): _softmax_cross_entropy,
         ("binary_cross_entropy", "sigmoid"): _sigmoid_binary_cross_entropy}


def targets(y, out_width, dtype, loss=None, what="y"):
    """Labels as the network's output: integer class labels become one-hot. Every
    value is checked first (finite, within dtype's range), and against what the
    loss can learn from: cross_entropy one class per sample (a row of
    probabilities summing to 1), binary_cross_entropy targets from 0 to 1."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        held = "text" if y.dtype.kind in "US" else f"{y.dtype} values"
        raise DataError(f"{what} holds {held}; labels are numbers (class indices, one-hot rows "
                        "or values): names become indices with np.unique(y, return_inverse=True)")
    _check_values(y, dtype, what)
    if y.ndim == 1 and out_width > 1:
        if not np.issubdtype(y.dtype, np.integer):
            whole = np.mod(y, 1) == 0
            if not whole.all():
                i = int(np.argmin(whole))
                raise DataError(f"{what}[{i}] is {y[i]:g}: labels for {out_width} outputs are "
                                "class indices (whole numbers) or one-hot rows")
            y = y.astype(np.int64)
        if len(y) and (y.min() < 0 or y.max() >= out_width):
            i = int(np.argmin(y)) if y.min() < 0 else int(np.argmax(y))
            raise DataError(f"{what}[{i}] is label {y[i]}, out of range for {out_width} classes "
                            f"(0..{out_width - 1})")
        onehot = np.zeros((len(y), out_width), dtype=dtype)
        onehot[np.arange(len(y)), y] = 1
        return onehot
    if y.ndim == 1:
        y = y[:, None]
    t = y.astype(dtype, copy=False)
    _check_for(loss, t, what)
    return t


def _row(bad):
    """The first sample (row) where a boolean array of samples is True."""
    return int(np.argmax(bad.reshape(len(bad), -1).any(axis=1)))


def _check_values(y, dtype, what):
    if y.dtype.kind != "f" or not len(y):
        return
    limit = np.finfo(dtype).max
    bad = ~np.isfinite(y) | (np.abs(y, where=np.isfinite(y), out=np.zeros(y.shape)) > limit)
    if bad.any():
        i = _row(bad)
        value = y[i].flat[int(np.argmax(bad[i].ravel()))] if y.ndim > 1 else y[i]
        raise DataError(f"{what}[{i}] holds {value:g}; targets must be finite numbers"
                        + (f" within {np.dtype(dtype).name}'s range" if np.isfinite(value)
                           else ""))


def _check_for(loss, t, what):
    """Targets a probability loss cannot learn from: one line naming the sample."""
    if not len(t) or loss not in ("cross_entropy", "binary_cross_entropy"):
        return
    outside = (t < 0) | (t > 1)
    if outside.any():
        i = _row(outside)
        raise DataError(f"{what}[{i}] holds {t[i][outside[i]].flat[0]:g}; {loss} takes targets "
                        "from 0 to 1 (for values write loss = mse)")
    if loss == "cross_entropy":
        sums = t.reshape(len(t), -1, t.shape[-1]).sum(axis=-1)
        off = np.abs(sums - 1) > 1e-3  # rows of probabilities, rounded as float32 rounds
        if off.any():
            i = _row(off)
            raise DataError(
                f"{what}[{i}] sums to {sums[i].flat[int(np.argmax(off[i]))]:g}; cross_entropy "
                "takes one class per sample (a class index, or a row of probabilities summing "
                "to 1): for several labels a sample write sigmoid and loss = "
                "binary_cross_entropy, for values loss = mse")


def value_and_grad(loss, activation, z, out, y):
    """-> (value, gradient, gradient_is_wrt_z)."""
    fused = FUSED.get((loss, activation))
    if fused is not None:
        value, dz = fused(z, y)
        return value, dz, True
    value, dout = LOSSES[loss](out, y)
    return value, dout, False
