"""Batch and layer normalization, with learned scale (gamma) and shift (beta).

batchnorm normalizes each feature (the last axis: a dense unit, a conv
channel) over every other axis of the batch; while training it uses the
batch's statistics and moves the running ones (`mean`, `var`, saved with the
weights) toward them, as PyTorch does (momentum 0.1, unbiased variance); at
inference it uses the running ones. layernorm normalizes each sample's last
axis and behaves the same in training and inference.
"""
import math

import numpy as np

from ..activations import row_sum
from .base import Layer, column_sums


def _init(p, shapes, rng, dtype):
    """gamma and the running variance at 1, beta and the running mean at 0."""
    ones = ("gamma", "var")
    return {k: (np.ones if k in ones else np.zeros)(shape, dtype) for k, shape in shapes.items()}


def _backward(w, xhat, inv_std, dy):
    """Gradients of y = gamma * xhat + beta, xhat = (x - mean) * inv_std, with
    mean and variance fixed (batch norm after an inference pass)."""
    features = tuple(range(dy.ndim - 1))
    grads = {"gamma": (dy * xhat).sum(axis=features), "beta": dy.sum(axis=features)}
    return dy * w["gamma"] * inv_std, grads


def batch_forward(p, w, x, mode):
    """x: (batch, ..., features) -> same shape."""
    if not mode.training or mode.frozen:
        # y = x scale + shift, two passes; backward (seldom after inference)
        # normalizes x again
        inv_std = 1 / np.sqrt(w["var"] + x.dtype.type(p["eps"]))
        scale = w["gamma"] * inv_std
        y = np.multiply(x, scale, out=mode.empty("y", x.shape, x.dtype))
        y += w["beta"] - w["mean"] * scale
        return y, (x, inv_std, None)
    # over rows of features, in as few passes as the math allows (mean; x - mean;
    # its squares summed; scaled; y), its arrays from the pass's buffers: each
    # pass over a large activation and each temporary is paid in memory traffic,
    # which made batch norm a large part of a CNN's step (benchmarks/README.md,
    # "Fast paths").
    # Split among threads (parallel.py), each part sums its own rows and
    # mode.batch_sum adds the parts' sums, so all normalize by the whole batch.
    rows = x.reshape(-1, x.shape[-1])
    c = rows.shape[1]
    sums = np.empty(c + 1, np.float64)  # the row count rides along, exact in float64
    sums[:c], sums[c] = np.add.reduce(rows, axis=0), len(rows)
    sums = mode.batch_sum(sums)
    m = x.dtype.type(sums[c])
    mean = sums[:c].astype(x.dtype) / m
    xhat = np.subtract(rows, mean, out=mode.empty("xhat", rows.shape, x.dtype))
    var = mode.batch_sum(np.einsum("ij,ij->j", xhat, xhat)) / m
    inv_std = 1 / np.sqrt(var + x.dtype.type(p["eps"]))
    xhat *= inv_std
    if mode.rank == 0:  # the running statistics move once a step
        mom = x.dtype.type(p["momentum"])
        w["mean"] *= 1 - mom
        w["mean"] += mom * mean
        w["var"] *= 1 - mom
        w["var"] += mom * var * x.dtype.type(sums[c] / max(sums[c] - 1, 1))
    y = np.multiply(xhat, w["gamma"], out=mode.empty("y", rows.shape, x.dtype))
    y += w["beta"]
    return y.reshape(x.shape), (xhat, inv_std, mode, m)


def batch_backward(p, w, cache, dy, need_dx):
    if cache[2] is None:  # after inference: x, normalized by the running statistics
        x, inv_std, _ = cache
        return _backward(w, (x - w["mean"]) * inv_std, inv_std, dy)
    xhat, inv_std, mode, m = cache
    # dx = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) inv_std, dxhat = dy gamma,
    # the means over the batch: mean(dxhat) is gamma mean(dy) and mean(dxhat xhat)
    # gamma mean(dy xhat), the sums of the parameters' gradients
    # (a part's gradients are its own rows' sums; the step adds the parts')
    rows = dy.reshape(xhat.shape)
    grads = {"gamma": np.einsum("ij,ij->j", rows, xhat), "beta": np.add.reduce(rows, axis=0)}
    if not need_dx:
        return None, grads
    c = len(grads["gamma"])
    both = mode.batch_sum(np.concatenate([grads["gamma"], grads["beta"]]))
    dx = np.multiply(xhat, both[:c] / m, out=mode.empty("dx", xhat.shape, xhat.dtype))
    np.subtract(rows, dx, out=dx)
    dx -= both[c:] / m
    dx *= w["gamma"] * inv_std
    return dx.reshape(dy.shape), grads


def layer_forward(p, w, x, mode):
    """Over rows of features, in few passes and the pass's buffers; the row sums
    as products with a vector of ones (row_sum), which for short rows is faster
    than numpy's reductions, as numpy reduces a last axis a row at a time
    (benchmarks/README.md, "Fast paths")."""
    rows = x.reshape(-1, x.shape[-1])
    d = x.dtype.type(rows.shape[1])
    xhat = np.subtract(rows, row_sum(rows) / d, out=mode.empty("xhat", rows.shape, x.dtype))
    y = np.multiply(xhat, xhat, out=mode.empty("y", rows.shape, x.dtype))
    inv_std = 1 / np.sqrt(row_sum(y) / d + x.dtype.type(p["eps"]))
    xhat *= inv_std
    np.multiply(xhat, w["gamma"], out=y)
    y += w["beta"]
    return y.reshape(x.shape), (xhat, inv_std, mode)


def layer_backward(p, w, cache, dy, need_dx):
    """dx = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) inv_std over each row,
    dxhat = dy gamma, its two row means as products with gamma: mean(dy gamma)
    and mean(dy xhat gamma)."""
    xhat, inv_std, mode = cache
    rows = dy.reshape(xhat.shape)
    d = dy.dtype.type(rows.shape[1])
    dy_xhat = np.multiply(rows, xhat, out=mode.empty("dy xhat", rows.shape, dy.dtype))
    grads = {"gamma": column_sums(dy_xhat), "beta": column_sums(rows)}
    if not need_dx:
        return None, grads
    gamma = w["gamma"]
    mean_dxhat = (rows @ gamma)[:, None] / d
    mean_dxhat_xhat = (dy_xhat @ gamma)[:, None] / d
    dx = np.multiply(rows, gamma, out=mode.empty("dx", rows.shape, dy.dtype))
    dx -= mean_dxhat
    dx -= np.multiply(xhat, mean_dxhat_xhat, out=dy_xhat)
    dx *= inv_std
    return dx.reshape(dy.shape), grads


def _flops(p, in_shape, out_shape):
    return 4 * math.prod(in_shape)


LAYERS = {"batchnorm": Layer(batch_forward, batch_backward, _init, _flops, couples_batch=True),
          "layernorm": Layer(layer_forward, layer_backward, _init, _flops)}
