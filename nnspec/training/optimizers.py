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


def _check(name, value, low, high=None, low_open=False):
    value = float(value)
    ok = (value > low if low_open else value >= low) and (high is None or value < high)
    if not ok:
        span = f"in {'(' if low_open else '['}{low:g}, {high:g})" if high is not None else \
            f"{'above' if low_open else 'at least'} {low:g}"
        raise ValueError(f"{name} must be {span}, got {value:g}")
    return value


ALL = "*"  # the name update() is given for every parameter packed into one vector


class Optimizer:
    """`update(name, w, g, lr)` does one parameter's arithmetic. Where that is
    elementwise with a scalar lr (FLAT) and every parameter has the same rate,
    step() runs it once over all parameters packed end to end (name ALL):
    numpy pays about a microsecond a call, and a dozen calls per parameter
    were most of Adam's time on small networks (the MLP of benchmarks/ trains
    1.2x faster packed; where the arrays are large, memory bounds the update
    and packing gains little). The weights and state arrays then
    become views of the packed vectors (_Packing), updated in place from then
    on; state keeps its per-parameter names and shapes for checkpoints."""

    OPTIONS = ()
    FLAT = True
    # the parameters that decoupled weight decay reaches (AdamW): the trainer sets
    # them from the roles their layers declare (lang/kinds/base.py: ROLES), weight matrices
    decayed = frozenset()

    def __init__(self):
        self.state = {}
        self.t = 0
        self._scratch = {}  # per-parameter work arrays: not state, never saved
        self._packing = None

    def scratch(self, name, like):
        arr = self._scratch.get(name)
        if arr is None or arr.shape != like.shape or arr.dtype != like.dtype:
            arr = self._scratch[name] = np.empty_like(like)
        return arr

    def slot(self, name, like):
        """The state array `name`, created as zeros shaped like the parameter."""
        if name.startswith(ALL + "/"):
            return self._packing.slot(self.state, name[len(ALL) + 1:])
        arr = self.state.get(name)
        if arr is None:
            arr = self.state[name] = np.zeros_like(like)
        return arr

    def step(self, weights, grads, lrs):
        self.t += 1
        # Python floats: an np.float64 rate would turn float32 updates into float64 loops
        rates = {float(lrs[name]) for name in grads}
        if self.FLAT and len(grads) > 1 and len(rates) == 1:
            packing = self._packing
            if packing is None or not packing.holds(weights, grads, self.state):
                packing = self._packing = _Packing.of(weights, grads)
            if packing is not None:
                packing.gather(grads)
                self.update(ALL, packing.w, packing.g, rates.pop())
                return
        for name, g in grads.items():
            self.update(name, weights[name], g, float(lrs[name]))

    def update(self, name, w, g, lr):
        raise NotImplementedError


class _Packing:
    """Parameters laid end to end in one vector `w`, their gradients in `g`,
    and each state slot (`m`, `v`, ...) in a vector of its own; the weights
    dict and the optimizer's state hold views of these."""

    def __init__(self, shapes, dtype):
        self.shapes = shapes  # {parameter: shape}, in packing order
        self.w = np.empty(sum(math.prod(s) for s in shapes.values()), dtype)
        self.views = self._split(self.w)
        self.g = np.empty_like(self.w)
        self.g_views = self._split(self.g)
        self.slots = {}  # slot suffix -> (vector, {parameter: view})

    @classmethod
    def of(cls, weights, grads):
        """Packs the weights named in grads, replacing them in `weights` with views;
        None where they do not share one float dtype."""
        dtypes = {weights[n].dtype for n in grads} | {np.asarray(g).dtype for g in grads.values()}
        if len(dtypes) != 1 or next(iter(dtypes)).kind != "f" or any(
                np.shape(g) != weights[n].shape for n, g in grads.items()):
            return None
        packing = cls({n: weights[n].shape for n in grads}, dtypes.pop())
        for n, view in packing.views.items():
            view[...] = weights[n]
            weights[n] = view
        return packing

    def _split(self, vector):
        views, start = {}, 0
        for n, shape in self.shapes.items():
            size = math.prod(shape)
            views[n] = vector[start:start + size].reshape(shape)
            start += size
        return views

    def holds(self, weights, grads, state):
        """Whether weights and state still hold this packing's views (a checkpoint
        restore or set_weights replaces them) for the same parameters."""
        return (len(grads) == len(self.shapes) and all(n in self.shapes for n in grads)
                and all(weights.get(n) is view for n, view in self.views.items())
                and all(state.get(f"{n}/{suffix}") is view
                        for suffix, (_, views) in self.slots.items() for n, view in views.items()))

    def gather(self, grads):
        for n, view in self.g_views.items():
            np.copyto(view, grads[n])

    def slot(self, state, suffix):
        """The vector of state slot `suffix`, packed from the per-parameter arrays
        (zeros where there are none yet) on first use."""
        if suffix not in self.slots:
            vector = np.empty_like(self.w)
            views = self._split(vector)
            for n, view in views.items():
                old = state.get(f"{n}/{suffix}")
                view[...] = 0 if old is None else old
                state[f"{n}/{suffix}"] = view
            self.slots[suffix] = (vector, views)
        return self.slots[suffix][0]


class SGD(Optimizer):
    """b = momentum * b + g;  w -= lr * b   (Nesterov: w -= lr * (g + momentum * b)).

    PyTorch's form (torch.optim.SGD, dampening 0): the buffer holds gradients,
    not steps, so a schedule that changes lr scales the whole step at once.
    The Keras form (v = momentum * v - lr * g) agrees only while lr is constant;
    checkpoints of format 1.1 and before stored that v, and resuming one turns
    it into b = -v / lr (checkpoints.py)."""

    OPTIONS = ("momentum", "nesterov")

    def __init__(self, momentum=0.0, nesterov=False):
        super().__init__()
        self.momentum = _check("momentum", momentum, 0.0, 1.0)
        if not isinstance(nesterov, bool):
            raise ValueError(f"nesterov must be true or false, got {nesterov}")
        self.nesterov = nesterov

    def update(self, name, w, g, lr):
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

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-7):
        super().__init__()
        self.beta1 = _check("beta1", beta1, 0.0, 1.0)
        self.beta2 = _check("beta2", beta2, 0.0, 1.0)
        self.eps = _check("eps", eps, 0.0, low_open=True)

    def moments(self, name, w, g):
        m = self.slot(name + "/m", w)
        v = self.slot(name + "/v", w)
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * (g * g)
        return m, v

    def direction(self, m, v):
        """m_hat / (sqrt(v_hat) + eps), written as PyTorch does to save a division."""
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        return (m / c1) / (np.sqrt(v) / math.sqrt(c2) + self.eps)

    def update(self, name, w, g, lr):
        # the same arithmetic as moments() and direction(), in place: no temporaries
        m = self.slot(name + "/m", w)
        v = self.slot(name + "/v", w)
        tmp = self.scratch(name, w)
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

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0.01):
        super().__init__(beta1, beta2, eps)
        self.weight_decay = _check("weight_decay", weight_decay, 0.0)

    def update(self, name, w, g, lr):
        if self.weight_decay:
            parts = self._packing.views.items() if name == ALL else [(name, w)]
            for part, array in parts:
                if part in self.decayed:
                    array *= 1 - lr * self.weight_decay
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
        m = self.slot(name + "/m", w)
        v = self.slot(name + "/v", w)
        gr = g[rows]
        m[rows] = self.beta1 * m[rows] + (1 - self.beta1) * gr
        v[rows] = self.beta2 * v[rows] + (1 - self.beta2) * (gr * gr)
        w[rows] -= lr * self.direction(m[rows], v[rows])


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSProp, "adam": Adam,
              "adamw": AdamW, "lazy_adam": LazyAdam}
