"""Batch and layer normalization as their formulas read: what norm.py computes in
few passes over buffers of the pass, for tests (the equations test holds
norm.py to this in float64) and readers. Features are the last axis."""
import numpy as np


def batch_norm(p, w, x, training):
    """-> (y, the running mean and variance after this pass). Training normalizes
    by the batch's mean and (biased) variance over every axis but the features,
    and moves the running statistics by `momentum` towards the batch's mean and
    unbiased variance, as PyTorch does; inference uses the running statistics."""
    rows = x.reshape(-1, x.shape[-1])
    if not training:
        mean, var = w["mean"], w["var"]
        running = (w["mean"], w["var"])
    else:
        mean, var = rows.mean(axis=0), rows.var(axis=0)
        m, mom = len(rows), p["momentum"]
        unbiased = var * m / max(m - 1, 1)
        running = ((1 - mom) * w["mean"] + mom * mean, (1 - mom) * w["var"] + mom * unbiased)
    y = (rows - mean) / np.sqrt(var + p["eps"]) * w["gamma"] + w["beta"]
    return y.reshape(x.shape), running


def layer_norm(p, w, x):
    """Each row of features normalized by its own mean and (biased) variance."""
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + p["eps"]) * w["gamma"] + w["beta"]
