"""Many parameters updated as one: the trainer's packing of an optimizer's step.

numpy pays about a microsecond a call, and a dozen calls per parameter were
most of Adam's time on small networks: the MLP of benchmarks/ trained 1.2x
faster with every parameter packed end to end into one vector, updated by one
call per operation (alternating packed and unpacked steps in one process);
where the arrays are large, memory bounds the update and packing gains
little.

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
from ..lang.kinds import ROLES

# A pack of at least twice this many values is updated in parts, one per core:
# an optimizer's update is elementwise, so the parts compute exactly what one
# pass would, and numpy lets go of the GIL while it loops. Adam took a third of
# the wide MLP's step (1.9M weights, about 2 ns a value on one core); in two
# parts the MLP trained 1.18x faster (11.0k -> 13.0k samples/s, alternated in
# one process, benchmarks/vs_torch.py's network), the deeper CNN (420k) 1.02x.
# A part (2^17 values, ~0.3 ms) must outweigh the ~0.1 ms of handing it over.
MIN_PART = 1 << 17


def layout(graph, config):
    """The parameters in storage order: trained ones grouped by whether AdamW's
    decay reaches them and by their layer's own lr= option, then the rest."""
    own_lr = {full: graph.params[node].get("lr") for node, keys in graph.keys.items()
              for _, full in keys}

    def key(name):
        role = ROLES[graph.roles[name]]
        lr = own_lr[name] if own_lr[name] is not None else config.lr
        return (not role[2], not role[1], lr)
    return sorted(graph.declared, key=key)


def contiguous(weights, order):
    """{name: array} -> {name: view} of one new vector holding them end to end in
    `order` (the dict keeps the order it had)."""
    if not weights:
        return dict(weights)
    dtype = next(iter(weights.values())).dtype
    storage = np.empty(sum(weights[n].size for n in order), dtype)
    views, start = {}, 0
    for name in order:
        size = weights[name].size
        views[name] = storage[start:start + size].reshape(weights[name].shape)
        views[name][...] = weights[name]
        start += size
    return {name: views[name] for name in weights}


def step(optimizer, weights, grads, lrs, packs):
    """optimizer.step(weights, grads, lrs), a group of parameters at a time where the
    optimizer's update is elementwise (FLAT). packs: a dict the caller keeps."""
    if not optimizer.FLAT:
        return optimizer.step(weights, grads, lrs)
    groups = {}
    for name in grads:  # Python floats: an np.float64 rate makes float32 loops float64
        decays = optimizer.DECOUPLED and name in optimizer.decayed
        groups.setdefault((float(lrs[name]), decays), []).append(name)
    plan = []
    for i, ((rate, decays), names) in enumerate(groups.items()):
        key = f"*{i}"  # a name no parameter has
        pack = packs.get(key)
        if pack is None or not pack.holds(weights, names, optimizer.state):
            pack = packs[key] = Pack.of(weights, names)
        plan.append((key, names, rate, decays, pack))
    optimizer.slots = lambda name, like: _slot(packs, optimizer.state, name)
    optimizer.t += 1
    for key, names, rate, decays, pack in plan:
        if pack is None:
            for name in names:
                optimizer.update(name, weights[name], grads[name], rate)
            continue
        pack.gather(grads)
        parts = pack.parts(packs, key)
        named = {key} | {k for k, _ in parts}
        if decays and not named <= optimizer.decayed:  # fit resets decayed; packs persist
            optimizer.decayed = optimizer.decayed | named
        if len(parts) < 2:
            optimizer.update(key, pack.w, pack.g, rate)
        else:
            parallel.run(lambda i: optimizer.update(parts[i][0], parts[i][1].w, parts[i][1].g,
                                                    rate), len(parts))


def _slot(packs, state, name):
    """A pack's state vector for `<pack>/<slot>`, or None for a parameter's own."""
    key, _, suffix = name.partition("/")
    pack = packs.get(key)
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
        self.made = False  # whether a step has run: its state slots exist then

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
        if n < 2 or not self.made:
            self.made = True
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
