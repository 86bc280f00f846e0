"""Losses, as (value, gradient) of the batch mean.

A loss is f(out, target) -> (value, d_out). Where the output activation and
the loss combine into something simpler and stabler, FUSED holds
f(z, target) -> (value, d_z) on the pre-activation z: softmax with
cross-entropy has gradient (p - y) / n and never takes log of 0.
"""
import numpy as np

from .errors import DataError

_EPS = 1e-7


def _cross_entropy(out, y):
    n = len(out)
    p = np.clip(out, _EPS, 1.0)
    return float(-(y * np.log(p)).sum() / n), (-y / p / n).astype(out.dtype, copy=False)


def _mse(out, y):
    diff = out - y
    return float((diff * diff).mean()), (2.0 / diff.size * diff).astype(out.dtype, copy=False)


def _softmax_cross_entropy(z, y):
    n = len(z)
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=-1, keepdims=True)
    value = float(-(y * (shifted - np.log(total))).sum() / n)
    return value, ((e / total - y) / n).astype(z.dtype, copy=False)


LOSSES = {"cross_entropy": _cross_entropy, "mse": _mse}
FUSED = {("cross_entropy", "softmax"): _softmax_cross_entropy}
CLASSIFICATION = {"cross_entropy"}


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
