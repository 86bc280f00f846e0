"""Optimizers. State is a flat dict keyed by parameter name; updates are in place.

`step(weights, grads, lrs)` applies one update; lrs maps each parameter to its
learning rate for this step (per-layer rates and the schedule already applied
by the trainer). `t` counts the updates made; Adam's bias correction and the
learning-rate schedules read it, and checkpoints store it.

State keys are `<param>` or `<param>/<slot>` (`dense1.W/m`); every state array
has its parameter's shape, which is what checkpoints check on load.
"""
import math

import numpy as np

from .packing import Packs


def _check(name, value, low, high=None, low_open=False):
    value = float(value)
    ok = (value > low if low_open else value >= low) and (high is None or value < high)
    if not ok:
        span = f"in {'(' if low_open else '['}{low:g}, {high:g})" if high is not None else \
            f"{'above' if low_open else 'at least'} {low:g}"
        raise ValueError(f"{name} must be {span}, got {value:g}")
    return value



class Optimizer:
    """`update(name, w, g, lr)` does one parameter's arithmetic, in place, on the
    arrays it is given; `step` applies it to every parameter. Where the update
    is elementwise with a scalar rate (FLAT), step hands it many parameters
    packed end to end as one (training/packing.py): then `name` is the pack's,
    and its state slots are that pack's vectors."""

    OPTIONS = ()
    LR = 0.01  # the learning rate of a spec that names none: Keras' and PyTorch's defaults
    FLAT = True
    DECOUPLED = False  # decays the parameters in `decayed` (AdamW)
    # the parameters (or packs) that decoupled weight decay reaches (AdamW): see decay()
    decayed = frozenset()

    def __init__(self):
        self.state = {}
        self.t = 0  # updates made
        self._scratch = {}  # per-parameter work arrays: not state, never saved
        self.packs = Packs()  # how a FLAT optimizer updates many parameters as one

    def scratch(self, name, like):
        arr = self._scratch.get(name)
        if arr is None or arr.shape != like.shape or arr.dtype != like.dtype:
            arr = self._scratch[name] = np.empty_like(like)
        return arr

    def slot(self, name, like):
        """The state array `name`, created as zeros shaped like the parameter (a
        pack's vector for a pack's name)."""
        packed = self.packs.slot(self.state, name)
        if packed is not None:
            return packed
        arr = self.state.get(name)
        if arr is None:
            arr = self.state[name] = np.zeros_like(like)
        return arr

    def decay(self, names):
        """The parameters decoupled weight decay reaches (the trainer names them by
        their roles: lang/kinds/base.py)."""
        self.decayed = frozenset(names)

    def step(self, weights, grads, lrs):
        """One update of every parameter in grads; lrs: each one's rate this step.
        Where the update is elementwise (FLAT), groups of parameters that are one
        slice of the weight vector are updated as one (packing.py)."""
        self.t += 1
        if self.FLAT:
            return self.packs.step(self, weights, grads, lrs)
        for name, g in grads.items():
            # Python floats: an np.float64 rate would turn float32 updates into float64 loops
            self.update(name, weights[name], g, float(lrs[name]))

    def update(self, name, w, g, lr):
        raise NotImplementedError


class SGD(Optimizer):
    """b = momentum * b + g;  w -= lr * b   (Nesterov: w -= lr * (g + momentum * b));
    with weight_decay, w -= lr * weight_decay * w first.

    PyTorch's form (torch.optim.SGD, dampening 0): the buffer holds gradients,
    not steps, so a schedule that changes lr scales the whole step at once.
    The Keras form (v = momentum * v - lr * g) agrees only while lr is constant;
    checkpoints of format 1.1 and before stored that v, and resuming one turns
    it into b = -v / lr (checkpoints.py)."""

    OPTIONS = ("momentum", "nesterov", "weight_decay")

    def __init__(self, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__()
        self.momentum = _check("momentum", momentum, 0.0, 1.0)
        if not isinstance(nesterov, bool):
            raise ValueError(f"nesterov must be true or false, got {nesterov}")
        self.nesterov = nesterov
        # decoupled, as AdamW's: w -= lr * weight_decay * w before the step, on the
        # weight matrices (seed 002's W <- (1 - lr * 0.015) W)
        self.weight_decay = _check("weight_decay", weight_decay, 0.0)
        self.DECOUPLED = self.weight_decay > 0

    def update(self, name, w, g, lr):
        if self.weight_decay and name in self.decayed:
            w *= 1 - lr * self.weight_decay
        if self.momentum == 0.0:
            w -= lr * g
            return
        b = self.slot(name + "/b", w)
        b *= self.momentum
        b += g
        if self.nesterov:
            w -= lr * (g + self.momentum * b)
        else:
            w -= lr * b


class Adagrad(Optimizer):
    """cache += g^2;  w -= lr * g / (sqrt(cache) + eps)."""

    OPTIONS = ("eps",)

    def __init__(self, eps=1e-7):
        super().__init__()
        self.eps = _check("eps", eps, 0.0, low_open=True)

    def update(self, name, w, g, lr):
        cache = self.slot(name + "/cache", w)
        cache += g * g
        w -= lr * g / (np.sqrt(cache) + self.eps)


class RMSProp(Optimizer):
    """cache = rho * cache + (1 - rho) * g^2;  w -= lr * g / (sqrt(cache) + eps)."""

    OPTIONS = ("rho", "eps")
    LR = 0.001

    def __init__(self, rho=0.9, eps=1e-7):
        super().__init__()
        self.rho = _check("rho", rho, 0.0, 1.0)
        self.eps = _check("eps", eps, 0.0, low_open=True)

    def update(self, name, w, g, lr):
        cache = self.slot(name + "/cache", w)
        cache *= self.rho
        cache += (1 - self.rho) * (g * g)
        w -= lr * g / (np.sqrt(cache) + self.eps)


class Adam(Optimizer):
    """m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    w -= lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t), v_hat likewise."""

    OPTIONS = ("beta1", "beta2", "eps")
    LR = 0.001

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-7):
        super().__init__()
        self.beta1 = _check("beta1", beta1, 0.0, 1.0)
        self.beta2 = _check("beta2", beta2, 0.0, 1.0)
        self.eps = _check("eps", eps, 0.0, low_open=True)

    def update(self, name, w, g, lr):
        self.adam(w, g, self.slot(name + "/m", w), self.slot(name + "/v", w),
                  self.scratch(name, w), lr)

    def adam(self, w, g, m, v, tmp, lr):
        """m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; w -= lr m_hat / (sqrt(v_hat) + eps),
        in place (tmp: work space shaped like w), written as PyTorch does to save a
        division: w -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps)."""
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=tmp)
        m += tmp
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.beta2
        v += tmp
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        np.sqrt(v, out=tmp)
        tmp /= math.sqrt(c2)  # a Python float: np.float64 would make this a float64 loop
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / c1
        w -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): w -= lr * decay * w
    before the Adam step. Decay reaches the parameters in `decayed`: the trainer
    names every weight matrix (kernels, recurrent kernels, embedding tables),
    not biases or norms, as nnspec's l1/l2 do."""

    OPTIONS = Adam.OPTIONS + ("weight_decay",)
    DECOUPLED = True

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0.01):
        super().__init__(beta1, beta2, eps)
        self.weight_decay = _check("weight_decay", weight_decay, 0.0)

    def update(self, name, w, g, lr):
        if self.weight_decay and name in self.decayed:
            w *= 1 - lr * self.weight_decay
        super().update(name, w, g, lr)


class LazyAdam(Adam):
    """Adam that touches only the rows (first axis) whose gradient is not all
    zero: an embedding row no sample looked up keeps its weights and moments.
    Bias correction uses the global step, as TensorFlow Addons' LazyAdam does."""

    FLAT = False  # its update looks at each parameter's rows

    def update(self, name, w, g, lr):
        if w.ndim < 2:
            return super().update(name, w, g, lr)
        rows = np.flatnonzero(np.any(g.reshape(len(g), -1) != 0, axis=1))
        if len(rows) == len(g):
            return super().update(name, w, g, lr)
        m, v = self.slot(name + "/m", w), self.slot(name + "/v", w)
        wr, mr, vr = w[rows], m[rows], v[rows]  # copies: updated, then written back
        self.adam(wr, g[rows], mr, vr, np.empty_like(wr), lr)
        w[rows], m[rows], v[rows] = wr, mr, vr


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSProp, "adam": Adam,
              "adamw": AdamW, "lazy_adam": LazyAdam}
