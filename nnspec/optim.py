"""Optimizers. State is a flat dict keyed by parameter name; updates are in place.

`step(weights, grads, lrs)` applies one update; lrs maps each parameter to its
learning rate (per-layer rates already resolved by the trainer).
"""
import numpy as np


class SGD:
    """Plain SGD, with optional (Nesterov) momentum:
    v = momentum * v - lr * g;  w += v   (Nesterov: w += momentum * v - lr * g)."""

    OPTIONS = ("momentum", "nesterov")

    def __init__(self, momentum=0.0, nesterov=False):
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.state = {}

    def step(self, weights, grads, lrs):
        for name, g in grads.items():
            w, lr = weights[name], lrs[name]
            if self.momentum == 0.0:
                np.subtract(w, lr * g, out=w)
                continue
            v = self.state.get(name)
            if v is None:
                v = self.state[name] = np.zeros_like(w)
            v *= self.momentum
            v -= lr * g
            if self.nesterov:
                w += self.momentum * v - lr * g
            else:
                w += v


OPTIMIZERS = {"sgd": SGD}
