"""Multi-head scaled dot-product self-attention over (batch, time, features).

    q, k, v = x W (one matmul; W is (d, 3d), split into heads of d / heads)
    a = softmax(q k^T / sqrt(d / heads))   (causal=true: step t sees steps <= t)
    y = concat_heads(a v) Wo + bo

Every head and batch is one batched matmul (`@` on 4-D arrays); the masked
scores are -inf before the softmax, so masked weights are exactly 0. Over a
masked sequence (embedding mask_zero=true, mode.mask) the masked steps are no
keys either, and a query whose every key is masked outputs 0 (its weights are
0, so only the bias bo remains), not NaN.
"""
import numpy as np

from ..activations import row_sum, softmax_into
from .base import Layer, add_bias, column_sums, init_weights


def init(p, shapes, rng, dtype):
    d = shapes["Wo"][0]  # q, k and v are each d to d, as the output projection
    w = init_weights(p, shapes["W"], d, d, rng, dtype)
    out = init_weights(p, shapes["Wo"], d, d, rng, dtype)
    w["Wo"] = out["W"]
    if "b" in out:
        w["bo"] = out["b"]
    return w


def _heads(a, h):
    """(n, t, d) -> (n, h, t, d / h)."""
    n, t, d = a.shape
    return a.reshape(n, t, h, d // h).transpose(0, 2, 1, 3)


SPREAD = 20  # how far (in e-folds) a row's mean score may lie below its head's largest


def _softmax_scores(scores):
    """softmax over the last axis of (n, heads, t, t) scores, written over them.

    A row's softmax is the same whatever is subtracted from it; the plain one
    (softmax_into) subtracts the row's max, whose reduction over many short
    rows of t values costs more than the exp (benchmarks/README.md, "Fast
    paths"). This subtracts the largest score of each head's block, one
    reduction over long rows, where no row's mean (and so no row's max) lies
    more than SPREAD below it. Then no exp overflows, a row's largest term is
    at least e^-SPREAD, terms that underflow (below e^-87) weigh under e^-67
    of it, and the result is the plain one but for rounding: the shifted
    scores are up to SPREAD larger, and so are their rounding errors (at most
    about SPREAD ulps). Otherwise (scores far apart or not finite) it is the
    plain one."""
    n, h, t, _ = scores.shape
    block = scores.reshape(n, h, t * t).max(axis=-1)[..., None, None]
    with np.errstate(invalid="ignore"):  # inf - inf: not finite, so the plain way
        near = np.all(block - row_sum(scores) / scores.dtype.type(t) <= SPREAD)
    if not near:
        return softmax_into(scores)
    scores -= block
    np.exp(scores, out=scores)
    scores /= row_sum(scores)
    return scores


def _masked_softmax(scores):
    """softmax_into where a row may have every score -inf: its weights are 0."""
    none = np.all(scores == -np.inf, axis=-1)
    scores[none] = 0
    a = softmax_into(scores)
    a[none] = 0
    return a


def forward(p, w, x, mode):
    """Its arrays come from mode.empty, like the other layers' large ones, so that
    predict sees their size and passes as many samples as keep them in the cache
    (~100 instead of 1024; benchmarks/README.md, "Fast paths")."""
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
    if mode.mask is not None:
        np.copyto(scores, -np.inf, where=~mode.mask[:, None, None, :])  # masked keys
        a = _masked_softmax(scores)
    elif p["causal"]:
        a = softmax_into(scores)
    else:
        a = _softmax_scores(scores)
    o = mode.empty("o", (n, t, h, d // h), x.dtype)
    np.matmul(a, v, out=o.transpose(0, 2, 1, 3))  # the heads merged as they are written
    o = o.reshape(n * t, d)
    y = np.matmul(o, w["Wo"], out=mode.empty("y", (n * t, d), x.dtype))
    if "bo" in w:
        add_bias(y, w["bo"])
    return y.reshape(n, t, d), (x, q, k, v, a, o, scale, mode)


def backward(p, w, cache, dy, need_dx):
    """Its arrays come from the pass's buffers too, and dq, dk and dv are written
    by their matmuls straight into the heads-merged columns of one (n t, 3 d)
    array: three merges and a concatenation, each a copy of the whole, were
    much of the backward's time (benchmarks/README.md, "Fast paths")."""
    x, q, k, v, a, o, scale, mode = cache
    n, t, d = x.shape
    heads = p["heads"]
    dy2 = dy.reshape(n * t, d)
    grads = {"Wo": o.T @ dy2}
    if "bo" in w:
        grads["bo"] = column_sums(dy2)
    do = np.matmul(dy2, w["Wo"].T, out=mode.empty("do", (n * t, d), x.dtype))
    do = _heads(do.reshape(n, t, d), heads)
    # the softmax's backward, in place: ds = a (da - sum(da a)) scale
    da = np.matmul(do, v.transpose(0, 1, 3, 2), out=mode.empty("da", a.shape, x.dtype))
    both = np.multiply(da, a, out=mode.empty("da a", a.shape, x.dtype))
    da -= row_sum(both)
    da *= a
    da *= scale
    ds = da
    dqkv = mode.empty("dqkv", (n, t, 3, heads, d // heads), x.dtype)
    np.matmul(ds, k, out=dqkv[:, :, 0].transpose(0, 2, 1, 3))
    np.matmul(ds.transpose(0, 1, 3, 2), q, out=dqkv[:, :, 1].transpose(0, 2, 1, 3))
    np.matmul(a.transpose(0, 1, 3, 2), do, out=dqkv[:, :, 2].transpose(0, 2, 1, 3))
    dqkv = dqkv.reshape(n * t, 3 * d)
    grads["W"] = x.reshape(n * t, d).T @ dqkv
    if "b" in w:
        grads["b"] = column_sums(dqkv)
    if not need_dx:
        return None, grads
    dx = np.matmul(dqkv, w["W"].T, out=mode.empty("dx", (n * t, d), x.dtype))
    return dx.reshape(x.shape), grads


def flops(p, in_shape, out_shape):
    t, d = in_shape
    return 2 * t * d * 4 * d + 4 * t * t * d


LAYERS = {"attention": Layer(forward, backward, init, flops)}
