"""The fit loop: shuffled mini-batches, regularization, per-epoch metrics.

The model's weights are updated in place. Randomness comes from the Generator
passed in (spawned from the user's seed), so a seed gives the same run.
"""
import math

import numpy as np

from . import losses, metrics
from .errors import NNSpecError


class TrainingDiverged(NNSpecError):
    """The loss became NaN or infinite."""


def coefficients(graph, weights, config):
    """Per-parameter (lr, l1, l2): a layer's own options, else the train block's.
    Regularization applies to weights, not biases."""
    out = {}
    for name in weights:
        layer, key = name.rsplit(".", 1)
        p = graph.params[layer]
        lr = p.get("lr") if p.get("lr") is not None else config.lr
        l1 = p.get("l1") if p.get("l1") is not None else config.l1
        l2 = p.get("l2") if p.get("l2") is not None else config.l2
        out[name] = (lr, l1, l2) if key == "W" else (lr, 0.0, 0.0)
    return out


def regularize(weights, grads, coefs):
    """Add l1*sum|w| + l2*sum(w^2) to the gradients; return the penalty."""
    penalty = 0.0
    for name, (_, l1, l2) in coefs.items():
        w = weights[name]
        if l1:
            penalty += l1 * float(np.abs(w).sum())
            grads[name] += l1 * np.sign(w)
        if l2:
            penalty += l2 * float((w * w).sum())
            grads[name] += (2 * l2) * w
    return penalty


REDUCTIONS = ("mean", "sum")


def objective(graph, weights, x, t, config, coefs):
    """One batch: (objective, mean data loss, output, grads).

    The objective is the reduced loss plus the penalty; history reports the
    mean per-sample data loss, which is comparable across reductions.

    With reduction "sum" the batch loss is the sum of per-sample losses (as
    classic from-scratch code accumulates per-sample gradients), so the
    gradient is len(x) times the mean's; the penalty is added once per batch.
    """
    value, out, grads, _ = graph.loss_and_grads(weights, x, t, config.loss)
    total = value
    if config.reduction == "sum":
        total = value * len(x)
        for g in grads.values():
            g *= len(x)
    return total + regularize(weights, grads, coefs), value, out, grads


def evaluate(graph, weights, x, t, loss, batch_size=256):
    """{'loss': ..., metric: ...} over (x, t) with t already as targets."""
    out = graph.predict(weights, x, batch_size)
    value, _, _ = losses.value_and_grad(loss, graph.output_activation,
                                        _logits(graph, out), out, t)
    metric = metrics.default_for(graph.output_shape[-1])
    return {"loss": value, metric: metrics.METRICS[metric](out, t)}


def _logits(graph, out):
    # Fused losses take logits; log(p) is a valid set of logits for softmax.
    if graph.output_activation == "softmax":
        return np.log(np.clip(out, 1e-30, None))
    return out


def fit(graph, weights, optimizer, config, x, t, rng, validation=None, on_epoch=None):
    """Train in place for config.epochs; returns the history dict of lists."""
    coefs = coefficients(graph, weights, config)
    lrs = {name: c[0] for name, c in coefs.items()}
    metric = metrics.default_for(graph.output_shape[-1])
    history = {"loss": [], metric: []}
    if validation is not None:
        history["val_loss"], history["val_" + metric] = [], []
    n, bs = len(x), config.batch_size
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        total, score, seen = 0.0, 0.0, 0
        for b, start in enumerate(range(0, n, bs)):
            idx = order[start:start + bs]
            xb, tb = x[idx], t[idx]
            total_b, value, out, grads = objective(graph, weights, xb, tb, config, coefs)
            if not math.isfinite(total_b):
                raise TrainingDiverged(f"epoch {epoch + 1}, batch {b + 1}: the loss is {total_b}; "
                                       f"try a lower learning rate (lr is {config.lr})")
            optimizer.step(weights, grads, lrs)
            total += value * len(idx)
            score += metrics.METRICS[metric](out, tb) * len(idx)
            seen += len(idx)
        history["loss"].append(total / max(seen, 1))
        history[metric].append(score / max(seen, 1))
        if validation is not None:
            vals = evaluate(graph, weights, *validation, config.loss)
            history["val_loss"].append(vals["loss"])
            history["val_" + metric].append(vals[metric])
        if on_epoch is not None:
            on_epoch(epoch + 1, {k: v[-1] for k, v in history.items()})
    return history
