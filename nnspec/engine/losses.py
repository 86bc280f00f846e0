"""Losses, as (value, gradient) of the batch mean.

A loss is f(out, target) -> (value, d_out). Where the output activation and
the loss combine into something simpler and stabler, FUSED holds
f(z, target) -> (value, d_z) on the pre-activation z: softmax with
cross-entropy has gradient (p - y) / n and never takes log of 0.
"""
import numpy as np

from ..errors import DataError
from . import activations

_EPS = 1e-7


def _cross_entropy(out, y):
    n = len(out)
    p = np.clip(out, _EPS, 1.0)
    return float(-(y * np.log(p)).sum() / n), (-y / p / n).astype(out.dtype, copy=False)


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


LOSSES = {"cross_entropy": _cross_entropy, "mse": _mse, "quadratic": _quadratic, "mae": _mae,
          "huber": _huber, "binary_cross_entropy": _binary_cross_entropy}
REGRESSION = ("mse", "quadratic", "mae", "huber")  # losses whose targets are any real values
FUSED = {("cross_entropy", "softmax"): _softmax_cross_entropy,
         ("binary_cross_entropy", "sigmoid"): _sigmoid_binary_cross_entropy}


def targets(y, out_width, dtype):
    """Labels as the network's output: integer class labels become one-hot."""
    y = np.asarray(y)
    if y.ndim == 1 and out_width > 1:
        if not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.mod(y, 1) == 0):
                raise DataError("labels must be integers (class indices) or one-hot rows")
            y = y.astype(np.int64)
        if len(y) and (y.min() < 0 or y.max() >= out_width):
            bad = y.min() if y.min() < 0 else y.max()
            raise DataError(f"label {bad} is out of range for {out_width} classes (0..{out_width - 1})")
        onehot = np.zeros((len(y), out_width), dtype=dtype)
        onehot[np.arange(len(y)), y] = 1
        return onehot
    if y.ndim == 1:
        y = y[:, None]
    return y.astype(dtype, copy=False)


def value_and_grad(loss, activation, z, out, y):
    """-> (value, gradient, gradient_is_wrt_z)."""
    fused = FUSED.get((loss, activation))
    if fused is not None:
        value, dz = fused(z, y)
        return value, dz, True
    value, dout = LOSSES[loss](out, y)
    return value, dout, False
