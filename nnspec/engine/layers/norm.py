"""Batch and layer normalization, with learned scale (gamma) and shift (beta).

batchnorm normalizes each feature (the last axis: a dense unit, a conv
channel) over every other axis of the batch; while training it uses the
batch's statistics and moves the running ones (`mean`, `var`, saved with the
weights) toward them, as PyTorch does (momentum 0.1, unbiased variance); at
inference it uses the running ones. layernorm normalizes each sample's last
axis and behaves the same in training and inference.
"""
import numpy as np

from .base import Layer


def _init(p, in_shape, rng, dtype, state):
    c = in_shape[-1]
    out = {"gamma": np.ones(c, dtype), "beta": np.zeros(c, dtype)}
    if state:
        out.update({"mean": np.zeros(c, dtype), "var": np.ones(c, dtype)})
    return out


def _normalize(x, mean, var, eps):
    inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
    return (x - mean) * inv_std, inv_std


def _backward(w, xhat, inv_std, dy, stat_axes):
    """Gradients of y = gamma * xhat + beta, xhat = (x - mean) * inv_std, where
    mean and variance were taken over stat_axes of x (None: fixed statistics)."""
    features = tuple(range(dy.ndim - 1))
    grads = {"gamma": (dy * xhat).sum(axis=features), "beta": dy.sum(axis=features)}
    dxhat = dy * w["gamma"]
    if stat_axes is None:
        return dxhat * inv_std, grads
    dx = (dxhat - dxhat.mean(axis=stat_axes, keepdims=True)
          - xhat * (dxhat * xhat).mean(axis=stat_axes, keepdims=True)) * inv_std
    return dx, grads


def batch_forward(p, w, x, mode):
    """x: (batch, ..., features) -> same shape."""
    if not mode.training:
        xhat, inv_std = _normalize(x, w["mean"], w["var"], p["eps"])
        return xhat * w["gamma"] + w["beta"], (xhat, inv_std, None)
    # over rows of features, in as few passes as the math allows (mean; x - mean;
    # its squares summed; scaled; y): the VGG benchmark's batch norm made 10, with
    # temporaries, and was a third of its step; with this forward and backward the
    # benchmark's training went from 437-443 to 513-550 samples/s (two runs each,
    # python benchmarks/vs_torch.py --nets vgg_bn)
    # Split among threads (parallel.py), each part sums its own rows and
    # mode.batch_sum adds the parts' sums, so all normalize by the whole batch.
    rows = x.reshape(-1, x.shape[-1])
    c = rows.shape[1]
    sums = np.empty(c + 1, np.float64)  # the row count rides along, exact in float64
    sums[:c], sums[c] = np.add.reduce(rows, axis=0), len(rows)
    sums = mode.batch_sum(sums)
    m = x.dtype.type(sums[c])
    mean = sums[:c].astype(x.dtype) / m
    xhat = np.subtract(rows, mean)
    var = mode.batch_sum(np.einsum("ij,ij->j", xhat, xhat)) / m
    inv_std = 1 / np.sqrt(var + x.dtype.type(p["eps"]))
    xhat *= inv_std
    if mode.rank == 0:  # the running statistics move once a step
        mom = x.dtype.type(p["momentum"])
        w["mean"] *= 1 - mom
        w["mean"] += mom * mean
        w["var"] *= 1 - mom
        w["var"] += mom * var * x.dtype.type(sums[c] / max(sums[c] - 1, 1))
    y = np.multiply(xhat, w["gamma"])
    y += w["beta"]
    return y.reshape(x.shape), (xhat, inv_std, mode, m)


def batch_backward(p, w, cache, dy, need_dx):
    xhat, inv_std, mode = cache[:3]
    if mode is None:
        return _backward(w, xhat, inv_std, dy, None)
    # _backward's formula with the batch's sums reused: mean(dxhat) is gamma
    # mean(dy), mean(dxhat xhat) is gamma mean(dy xhat), the parameters' gradients
    # (a part's gradients are its own rows' sums; the step adds the parts')
    rows = dy.reshape(xhat.shape)
    m = cache[3]
    grads = {"gamma": np.einsum("ij,ij->j", rows, xhat), "beta": np.add.reduce(rows, axis=0)}
    if not need_dx:
        return None, grads
    c = len(grads["gamma"])
    both = mode.batch_sum(np.concatenate([grads["gamma"], grads["beta"]]))
    dx = np.multiply(xhat, both[:c] / m)
    np.subtract(rows, dx, out=dx)
    dx -= both[c:] / m
    dx *= w["gamma"] * inv_std
    return dx.reshape(dy.shape), grads


def layer_forward(p, w, x, mode):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    xhat, inv_std = _normalize(x, mean, var, p["eps"])
    return xhat * w["gamma"] + w["beta"], (xhat, inv_std)


def layer_backward(p, w, cache, dy, need_dx):
    xhat, inv_std = cache
    return _backward(w, xhat, inv_std, dy, -1)


def _flops(p, in_shape, out_shape):
    return 4 * int(np.prod(in_shape))


LAYERS = {"batchnorm": Layer(batch_forward, batch_backward,
                             lambda p, s, rng, dt: _init(p, s, rng, dt, True), _flops,
                             couples_batch=True),
          "layernorm": Layer(layer_forward, layer_backward,
                             lambda p, s, rng, dt: _init(p, s, rng, dt, False), _flops)}
