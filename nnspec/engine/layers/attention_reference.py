"""Multi-head self-attention as its equations read, head by head: what
attention.py computes with merged heads in buffers of the pass, for tests (the
equations test holds attention.forward to this in float64) and readers. W is
(d, 3d) for q, k and v side by side, Wo (d, d); heads split the features."""
import numpy as np


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(p, w, x):
    n, t, d = x.shape
    heads, k = p["heads"], d // p["heads"]
    qkv = x @ w["W"] + (w["b"] if "b" in w else 0)
    q, key, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
    out = np.empty_like(q)
    for h in range(heads):
        cols = slice(h * k, (h + 1) * k)
        scores = q[..., cols] @ key[..., cols].transpose(0, 2, 1) / np.sqrt(k)
        if p["causal"]:  # a step sees only itself and earlier steps
            scores = np.where(np.triu(np.ones((t, t), bool), 1), -np.inf, scores)
        out[..., cols] = _softmax(scores) @ v[..., cols]
    return out @ w["Wo"] + (w["bo"] if "bo" in w else 0)
