"""Each trained parameter's rate and penalties (a layer's own options, else the
train block's, reaching the weights their roles name), the penalties added to
the gradients, and clipping of the global gradient norm."""
import math
from typing import NamedTuple

import numpy as np

from ..lang.kinds import ROLES


class Rates(NamedTuple):
    """A trained parameter's learning rate and penalties."""

    lr: float
    l1: float
    l2: float


def coefficients(graph, config, overrides):
    """Per-parameter Rates (lr, l1, l2): a layer's own options, else the train block's.
    Which penalty options reach a parameter is its role's (lang/kinds/base.py: ROLES):
    weight matrices take l1/l2, biases l1_bias/l2_bias, the rest none. An lr given
    as an override (`--lr`, compile(lr=...)) is every layer's rate, a layer's own
    lr= included; overrides: the model's."""
    layer_lr = "lr" not in overrides
    out = {}
    for node in graph.nodes:
        p = graph.params[node.name]

        def pick(option):
            return p[option] if p.get(option) is not None else getattr(config, option)

        lr = pick("lr") if layer_lr else config.lr
        for _, name in graph.keys[node.name]:
            role = ROLES[graph.roles[name]]
            if role.trained:
                out[name] = Rates(lr, *(tuple(pick(o) for o in role.penalties) or (0.0, 0.0)))
    return out


def regularize(weights, grads, rates):
    """Add l1*sum|w| + l2*sum(w^2) to the gradients; return the penalty."""
    penalty = 0.0
    for name, (_, l1, l2) in rates.items():
        w = weights[name]
        if l1:
            penalty += l1 * float(np.abs(w).sum())
            grads[name] += l1 * np.sign(w)
        if l2:
            penalty += l2 * float((w * w).sum())
            grads[name] += (2 * l2) * w
    return penalty


def clip(grads, max_norm):
    """Scale all gradients together so their global L2 norm is at most max_norm
    (PyTorch's clip_grad_norm_); returns the norm before clipping."""
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
    if norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads.values():
            g *= scale
    return norm
