"""Embedding: integer token ids -> learned vectors, `embedding VOCABxDIM`; and
`positional`, a learned vector per step added to a sequence.

The input holds ids in 0..VOCAB-1 (as the network's float type; they are
rounded). Backward sums each id's output gradients into its row by sorting
the ids and adding runs (np.add.reduceat), so there is no scatter-add; ids
have no gradient, so the input's is zero.
"""
import numpy as np

from ...errors import DataError
from .. import init
from .base import Layer


def initialize(p, shapes, rng, dtype):
    vocab, dim = shapes["W"]
    name = p["init"] or init.Call("uniform", (0.05,))  # Keras' default for embeddings
    return {"W": init.weights(name, rng, shapes["W"], vocab, dim, dtype)}


def _ids(p, x):
    ids = np.rint(x)
    if not np.array_equal(ids, x):  # token ids are whole numbers: 2.5 is no token
        bad = x[ids != x].flat[0]
        raise DataError(f"the input holds {float(bad):.10g}, which is not a whole number "
                        "(a token id)")
    ids = ids.astype(np.int64)
    vocab = p["table"][0]
    if ids.size and ids.min() < 0:
        raise DataError(f"the input holds the id {ids.min()}; token ids start at 0")
    if ids.size and ids.max() >= vocab:
        raise DataError(f"the input holds ids up to {ids.max()}, outside the vocabulary "
                        f"0..{vocab - 1}: write embedding {ids.max() + 1}x{p['table'][1]}, or "
                        f"map rarer ids below {vocab}")
    return ids


def forward(p, w, x, mode):
    ids = _ids(p, x)
    return w["W"][ids], (ids, x.shape)


def backward(p, w, cache, dy, need_dx):
    ids, x_shape = cache
    flat = ids.ravel()
    order = np.argsort(flat, kind="stable")
    sorted_ids = flat[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    rows = dy.reshape(len(flat), -1)[order]
    dw = np.zeros_like(w["W"])
    if len(flat):
        dw[sorted_ids[starts]] = np.add.reduceat(rows, starts, axis=0)
    return (np.zeros(x_shape, dy.dtype) if need_dx else None), {"W": dw}


def flops(p, in_shape, out_shape):
    return 0


def positional_init(p, shapes, rng, dtype):
    name = p["init"] or init.Call("uniform", (0.05,))
    steps, features = shapes["P"]
    return {"P": init.weights(name, rng, shapes["P"], steps, features, dtype)}


def positional_forward(p, w, x, mode):
    return x + w["P"], None


def positional_backward(p, w, cache, dy, need_dx):
    return (dy if need_dx else None), {"P": dy.sum(axis=0)}


LAYERS = {"embedding": Layer(forward, backward, initialize, flops),
          "positional": Layer(positional_forward, positional_backward, positional_init)}
