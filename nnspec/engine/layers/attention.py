"""Multi-head scaled dot-product self-attention over (batch, time, features).

    q, k, v = x W (one matmul; W is (d, 3d), split into heads of d / heads)
    a = softmax(q k^T / sqrt(d / heads))   (causal=true: step t sees steps <= t)
    y = concat_heads(a v) Wo + bo

Every head and batch is one batched matmul (`@` on 4-D arrays); the masked
scores are -inf before the softmax, so masked weights are exactly 0.
"""
import numpy as np

from ..activations import softmax_into
from .base import Layer, add_bias, column_sums, init_weights


def init(p, in_shape, rng, dtype):
    d = in_shape[-1]
    w = init_weights(p, (d, 3 * d), d, d, rng, dtype)
    out = init_weights(p, (d, d), d, d, rng, dtype)
    w["Wo"] = out["W"]
    if "b" in out:
        w["bo"] = out["b"]
    return w


def _heads(a, h):
    """(n, t, d) -> (n, h, t, d / h)."""
    n, t, d = a.shape
    return a.reshape(n, t, h, d // h).transpose(0, 2, 1, 3)


def _merge(a):
    """(n, h, t, d / h) -> (n, t, d)."""
    n, h, t, dk = a.shape
    return a.transpose(0, 2, 1, 3).reshape(n, t, h * dk)


def forward(p, w, x, mode):
    """Its arrays come from mode.empty, like the other layers' large ones, so that
    predict sees their size and passes as many samples as keep them in the cache
    (~100 instead of 1024): the benchmark's attention net predicted 1.7x faster
    (23-24k -> 39-40k samples/s, alternated in one process; python
    benchmarks/vs_torch.py --nets attention compares it with PyTorch)."""
    n, t, d = x.shape
    h = p["heads"]
    qkv = np.matmul(x.reshape(n * t, d), w["W"], out=mode.empty("qkv", (n * t, 3 * d), x.dtype))
    if "b" in w:
        add_bias(qkv, w["b"])
    q, k, v = (_heads(part.reshape(n, t, d), h) for part in np.split(qkv, 3, axis=1))
    scale = x.dtype.type(1 / np.sqrt(d // h))
    scores = np.matmul(q, k.transpose(0, 1, 3, 2), out=mode.empty("scores", (n, h, t, t),
                                                                   x.dtype))
    scores *= scale
    if p["causal"]:
        scores[..., np.triu(np.ones((t, t), bool), 1)] = -np.inf
    a = softmax_into(scores)
    o = mode.empty("o", (n, t, h, d // h), x.dtype)
    np.matmul(a, v, out=o.transpose(0, 2, 1, 3))  # the heads merged as they are written
    o = o.reshape(n * t, d)
    y = np.matmul(o, w["Wo"], out=mode.empty("y", (n * t, d), x.dtype))
    if "bo" in w:
        add_bias(y, w["bo"])
    return y.reshape(n, t, d), (x, q, k, v, a, o, scale)


def backward(p, w, cache, dy, need_dx):
    x, q, k, v, a, o, scale = cache
    n, t, d = x.shape
    dy2 = dy.reshape(n * t, d)
    grads = {"Wo": o.T @ dy2}
    if "bo" in w:
        grads["bo"] = column_sums(dy2)
    do = _heads((dy2 @ w["Wo"].T).reshape(n, t, d), p["heads"])
    da = do @ v.transpose(0, 1, 3, 2)
    dv = a.transpose(0, 1, 3, 2) @ do
    ds = a * (da - (da * a).sum(axis=-1, keepdims=True)) * scale
    dq = ds @ k
    dk = ds.transpose(0, 1, 3, 2) @ q
    dqkv = np.concatenate([_merge(g) for g in (dq, dk, dv)], axis=-1).reshape(n * t, 3 * d)
    grads["W"] = x.reshape(n * t, d).T @ dqkv
    if "b" in w:
        grads["b"] = column_sums(dqkv)
    dx = (dqkv @ w["W"].T).reshape(x.shape) if need_dx else None
    return dx, grads


def flops(p, in_shape, out_shape):
    t, d = in_shape
    return 2 * t * d * 4 * d + 4 * t * t * d


LAYERS = {"attention": Layer(forward, backward, init, flops)}
