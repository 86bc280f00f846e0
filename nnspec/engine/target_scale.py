"""A regression output's targets on unit scale: the train setting `target_scale`.

A price in dollars (mean 200,000) trained as it is makes the first steps'
gradients that large, and training diverges. With `target_scale = standard`
the network learns (y - mean) / std, the numbers from the training split;
predict answers y again (out * std + mean), and the loss and metrics that
training prints are in y's units too: mse and quadratic times std^2, mae
times std, metrics on the unscaled values. The bundle keeps the numbers
(files/document.py, key `targets`).

Its default: `standard` for the regression outputs of a typed table
(csv(..., category=...)), as numbers there are standardised; elsewhere
`standard` only for targets far from unit scale (`far`), which as they are
would diverge or crawl; the training header says which it did and why.
"""
import numpy as np

from ..lang.heads import PROBABILITY_LOSSES

# a loss's power of std: the loss of unscaled values is the scaled one times std**power
POWER = {"mse": 2, "quadratic": 2, "mae": 1}


# targets whose size, the larger of |mean| and std, lies outside these train
# as they are, from outputs that start near 0 and steps of about lr, badly:
# above 10, plain SGD's first gradients are that large and diverge, and Adam's
# steps of 0.001 take tens of thousands of updates to reach a mean of 50;
# below 0.01 the network's initial outputs dwarf them. Every seed's targets
# (a sine, one-hot rows, XOR's 0 and 1) lie inside.
UNIT = (0.01, 10.0)


def unscalable(term, node):
    """Why an output cannot learn scaled targets, or None where it can: a loss
    with no unit to print in y's (huber's delta), or an output layer whose
    activation cannot give (y - mean) / std, negative below the mean and
    unbounded (relu, sigmoid, tanh, ...: a relu head would never answer below
    the mean). Only a linear output can."""
    if term.loss not in POWER:
        return (f"trains with {term.loss}, whose loss has no unit to print in y's; use "
                f"{', '.join(POWER)}, or scale the targets yourself")
    activation = node.p.get("activation", "linear")
    if activation != "linear":
        return (f"ends in {activation}, which cannot give the scaled targets (y - mean) / "
                "std (negative below the mean): make the output layer linear, or write "
                "target_scale = none")
    return None


def far(stats):
    """Whether targets of these statistics lie far from unit scale (UNIT)."""
    size = max(abs(stats["mean"]), stats["std"])
    return not UNIT[0] <= size <= UNIT[1]


def fit(y):
    """{"mean", "std"} of training targets (one value per sample, or rows)."""
    values = np.asarray(y, dtype=np.float64).reshape(-1)
    std = float(values.std()) if values.size else 1.0
    return {"mean": float(values.mean()) if values.size else 0.0,
            "std": std if std > 0 and np.isfinite(std) else 1.0}


def scale(stats, t):
    """Targets in y's units -> what the network learns."""
    return ((t - t.dtype.type(stats["mean"])) / t.dtype.type(stats["std"])).astype(t.dtype)


def unscale(stats, out):
    """The network's outputs -> y's units."""
    return (out * out.dtype.type(stats["std"]) + out.dtype.type(stats["mean"])).astype(out.dtype)


def loss_factor(stats, loss):
    return stats["std"] ** POWER[loss]


def describe(stats):
    return f"(y - {stats['mean']:.6g}) / {stats['std']:.6g}, from the training split"


def far_hint(targets, terms):
    """Why a regression may have diverged, for its message: targets far from unit
    scale (a price in dollars) make the first steps' gradients that large."""
    for term in terms:
        t = targets[term.name] if isinstance(targets, dict) else targets
        if term.loss in PROBABILITY_LOSSES or not t.size:
            continue
        largest = float(np.max(np.abs(t)))
        if largest >= 1e3:
            name = f"{term.name}'s targets" if isinstance(targets, dict) else "the targets"
            return (f"; {name} reach {largest:,.6g}: a network's outputs start near 0, so "
                    f"scale the targets to about unit size: write target_scale = standard "
                    f"(or divide them by {largest:.0e})")
    return ""
