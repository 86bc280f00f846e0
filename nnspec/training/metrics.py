"""Metrics over whole arrays of outputs and targets (targets as the network's output).

A spec names them in its train block (`metrics = [accuracy, top_k(3)]`);
`resolve` turns those names into {history key: function}.
"""
import numpy as np

from ..lang.ir import Call
from ..lang.signature import suggest


def accuracy(out, y):
    return float(np.mean(out.argmax(axis=-1) == y.argmax(axis=-1)))


def binary_accuracy(out, y):
    """Per output: is it on the same side of 0.5 as the target (sigmoid outputs)."""
    return float(np.mean((out > 0.5) == (y > 0.5)))


def top_k(k):
    """The share of samples whose true class is among the k highest outputs."""
    def metric(out, y):
        if k >= out.shape[-1]:
            return 1.0
        truth = y.argmax(axis=-1)
        score = np.take_along_axis(out, truth[..., None], axis=-1)
        return float(np.mean((out > score).sum(axis=-1) < k))
    return metric


def mae(out, y):
    return float(np.mean(np.abs(out - y)))


def mse(out, y):
    return float(np.mean((out - y) ** 2))


METRICS = {"accuracy": accuracy, "binary_accuracy": binary_accuracy, "mae": mae, "mse": mse}
FACTORIES = {"top_k": top_k}


def default_for(out_width, loss=None):
    """Binary accuracy for binary cross-entropy, accuracy for classifiers
    (several outputs), MAE for regression."""
    if loss == "binary_cross_entropy":
        return "binary_accuracy"
    return "accuracy" if out_width > 1 else "mae"


def resolve(names, out_width, loss=None):
    """Metric names or calls (top_k(3)) -> {history key: fn}; defaults when empty."""
    out = {}
    for item in names or (default_for(out_width, loss),):
        call = item if isinstance(item, Call) else Call(str(item))
        if call.name in METRICS and not call.args and not call.kwargs:
            out[call.name] = METRICS[call.name]
        elif call.name in FACTORIES:
            k = dict(call.kwargs).get("k", call.args[0] if call.args else 5)
            if not (isinstance(k, int) and k >= 1) or len(call.args) + len(call.kwargs) > 1:
                raise ValueError(f"top_k takes one whole number k >= 1, e.g. top_k(3); got {call}")
            out[f"top{k}_accuracy"] = FACTORIES[call.name](k)
        else:
            known = [*METRICS, *FACTORIES]
            label = str(call) if call.args or call.kwargs else call.name
            raise ValueError(f"unknown metric '{label}'{suggest(call.name, known)} "
                             f"(one of: {', '.join(known)})")
    return out

