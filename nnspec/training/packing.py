"""Many parameters updated as one: the trainer's packing of an optimizer's step.

numpy pays for every call, and a dozen calls per parameter were most of
Adam's time on small networks, so every parameter is packed end to end into
one vector and updated by one call per operation; where the arrays are
large, memory bounds the update and packing gains little (the numbers:
benchmarks/README.md, "Fast paths").

A model's weights live end to end in one vector from the moment it is made
(`contiguous`), ordered so that the parameters an optimizer may treat alike
(the same layer rate, decayed by AdamW or not) sit together. `model.weights`
holds views of that vector, which no step replaces: training updates them in
place, and set_weights copies into them. A step updates each group of
parameters that share a rate (and, for AdamW, whether decay reaches them) as
one slice of that vector, with one vector per optimizer state slot; where a
group is not one slice (an array a user put in model.weights, rates mixed
across the layout), its parameters are updated one by one, with the same
arithmetic.
"""
import numpy as np

from ..engine import parallel

# A pack of at least twice this many values is updated in parts, one per core:
# an optimizer's update is elementwise, so the parts compute exactly what one
# pass would, and numpy lets go of the GIL while it loops, which pays where the
# update is a large share of the step (a wide network's Adam). The size: a
# part's work must outweigh the cost of handing it to a thread
# (benchmarks/README.md, "Fast paths").
MIN_PART = 1 << 17


class Packs:
    """An optimizer's packing of its parameters (the optimizer owns one): which
    groups of parameters it updates as one slice of the weight vector, their
    Pack objects, and their state slots."""

    def __init__(self):
        self.packs = {}  # "*i" (a name no parameter has), "*i.r" for parts -> Pack or Part

    def step(self, optimizer, weights, grads, lrs):
        """One update of every parameter in grads, a group sharing a rate (and, for
        decoupled decay, whether it reaches them) at a time."""
        groups = {}
        for name in grads:  # Python floats: an np.float64 rate makes float32 loops float64
            decays = optimizer.DECOUPLED and name in optimizer.decayed
            groups.setdefault((float(lrs[name]), decays), []).append(name)
        plan = []
        for i, ((rate, decays), names) in enumerate(groups.items()):
            key = f"*{i}"
            pack = self.packs.get(key)
            if pack is None or not pack.holds(weights, names, optimizer.state):
                pack = self.packs[key] = Pack.of(weights, names)
            plan.append((key, names, rate, decays, pack))
        for key, names, rate, decays, pack in plan:
            if pack is None:  # not one slice: one parameter at a time, the same arithmetic
                for name in names:
                    optimizer.update(name, weights[name], grads[name], rate)
                continue
            pack.gather(grads)
            parts = pack.parts(self.packs, key)
            if decays:  # the pack and its parts are decayed as their parameters are
                optimizer.decayed = optimizer.decayed | {key} | {k for k, _ in parts}
            if len(parts) < 2:
                optimizer.update(key, pack.w, pack.g, rate)
            else:
                parallel.run(lambda i: optimizer.update(parts[i][0], parts[i][1].w,
                                                        parts[i][1].g, rate), len(parts))

    def slot(self, state, name):
        """A pack's state vector for `<pack>/<slot>`, or None for a parameter's own."""
        key, _, suffix = name.partition("/")
        pack = self.packs.get(key)
        return None if pack is None else pack.slot(state, suffix)


def _offset(view):
    base = view.base
    return (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) \
        // view.itemsize


class Pack:
    """A group of parameters that are one slice `w` of a model's weight vector,
    their gradients gathered into `g`, and each state slot (`m`, `v`, ...) in a
    vector of its own, of which the optimizer's per-parameter state holds views."""

    def __init__(self, weights, names, w):
        self.views = {n: weights[n] for n in names}
        self.w = w
        self.g = np.empty_like(w)
        self.g_views = self._split(self.g)
        self.slots = {}  # slot suffix -> (vector, {parameter: view})
        self.stepped = False  # whether a step has run: its state slots exist then

    @classmethod
    def of(cls, weights, names):
        """The pack of these parameters, or None where they are not one slice of one
        vector (or are one parameter alone: nothing to gain)."""
        arrays = [weights[n] for n in names]
        base = arrays[0].base
        if len(names) < 2 or base is None or base.ndim != 1 or any(
                a.base is not base or not a.flags.c_contiguous for a in arrays):
            return None
        order = sorted(names, key=lambda n: _offset(weights[n]))
        start = _offset(weights[order[0]])
        end = start + sum(weights[n].size for n in order)
        position = start
        for name in order:
            if _offset(weights[name]) != position:
                return None
            position += weights[name].size
        return cls(weights, order, base[start:end])

    def _split(self, vector):
        views, start = {}, 0
        for n, w in self.views.items():
            views[n] = vector[start:start + w.size].reshape(w.shape)
            start += w.size
        return views

    def holds(self, weights, names, state):
        """Whether weights and state still hold this pack's views (a checkpoint
        restore replaces the state arrays) for the same parameters."""
        return (len(names) == len(self.views) and all(n in self.views for n in names)
                and all(weights.get(n) is view for n, view in self.views.items())
                and all(state.get(f"{n}/{suffix}") is view
                        for suffix, (_, views) in self.slots.items() for n, view in views.items()))

    def parts(self, packs, key):
        """[(key, Part)] to update side by side, registered in packs under keys of
        their own; [] while the pack is small or one core, or its state slots are
        not made yet (the first step makes them, unsplit: never two threads at once)."""
        n = parallel.parts(parallel.THREADS, self.w.size, MIN_PART)
        if n < 2 or not self.stepped:
            self.stepped = True
            return []
        bounds = np.linspace(0, self.w.size, n + 1).astype(int)
        out = []
        for i in range(n):
            part_key = f"{key}.{i}"
            part = packs.get(part_key)
            span = (bounds[i], bounds[i + 1])
            if not isinstance(part, Part) or part.pack is not self or part.span != span:
                part = packs[part_key] = Part(self, *span)
            out.append((part_key, part))
        return out

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


class Part:
    """Values start:end of a pack, updated on a thread of their own: its w, g and
    state slots are slices of the pack's."""

    def __init__(self, pack, start, end):
        self.pack, self.span = pack, (start, end)
        self.w, self.g = pack.w[start:end], pack.g[start:end]

    def slot(self, state, suffix):
        start, end = self.span
        return self.pack.slot(state, suffix)[start:end]
