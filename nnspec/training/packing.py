"""Many parameters updated as one: the trainer's packing of an optimizer's step.

numpy pays about a microsecond a call, and a dozen calls per parameter were
most of Adam's time on small networks: the MLP of benchmarks/ trained 1.2x
faster with every parameter packed end to end into one vector, updated by one
call per operation (alternating packed and unpacked steps in one process);
where the arrays are large, memory bounds the update and packing gains
little. Parameters are packed in groups that share a rate and whether weight
decay reaches them, so per-layer rates and AdamW's decay need no special
case in the optimizer, which only ever sees arrays and a name.

Packing makes the weights (and the optimizer's state) views of the packs'
vectors from the first step on: `model.weights[name]` is then a view that
training updates in place. An array replaced from outside (set_weights, a
checkpoint restore) is noticed and packed again.
"""
import math

import numpy as np


def step(optimizer, weights, grads, lrs, packs):
    """optimizer.step(weights, grads, lrs), packed where the optimizer's update is
    elementwise (FLAT). packs: a dict the caller keeps from step to step."""
    if not optimizer.FLAT:
        return optimizer.step(weights, grads, lrs)
    groups = {}
    for name in grads:  # Python floats: an np.float64 rate makes float32 loops float64
        groups.setdefault((float(lrs[name]), name in optimizer.decayed), []).append(name)
    plan = []
    for i, ((rate, decays), names) in enumerate(groups.items()):
        key = f"*{i}"  # a name no parameter has
        pack = packs.get(key)
        if len(names) > 1 and (pack is None or not pack.holds(weights, names, optimizer.state)):
            pack = packs[key] = Pack.of(weights, {n: grads[n] for n in names})
        plan.append((key, names, rate, decays, pack if len(names) > 1 else None))
    optimizer.slots = lambda name, like: _slot(packs, optimizer.state, name)
    optimizer.t += 1
    for key, names, rate, decays, pack in plan:
        if pack is None:
            for name in names:
                optimizer.update(name, weights[name], grads[name], rate)
            continue
        if decays:
            optimizer.decayed = optimizer.decayed | {key}
        pack.gather(grads)
        optimizer.update(key, pack.w, pack.g, rate)


def _slot(packs, state, name):
    """A pack's state vector for `<pack>/<slot>`, or None for a parameter's own."""
    key, _, suffix = name.partition("/")
    pack = packs.get(key)
    return None if pack is None else pack.slot(state, suffix)


class Pack:
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

    def holds(self, weights, names, state):
        """Whether weights and state still hold this pack's views (a checkpoint
        restore or set_weights replaces them) for the same parameters."""
        return (len(names) == len(self.shapes) and all(n in self.shapes for n in names)
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
