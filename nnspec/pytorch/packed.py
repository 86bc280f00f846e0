"""A small network's update on a CPU: each group of parameters that share a rate
updated as one vector, as the numpy engine does (training/packing.py).

A foreach operation costs a Python call and then a loop over its tensors in
C++; for a small network (the benchmark's 2-8-2 net, its MLP, its recurrent
nets) the update's dozen of them were a fifth of a step. The model's weights
are one vector laid out by group (engine/storage.layout), so a group is one slice of
it: the update runs on that slice as one tensor, the gradients land in a vector
of the same layout (each parameter's .grad is a view of it, into which
backward adds, zeroed once a step), and the state slots are the numpy engine's
packed vectors (packing.Pack), of which the optimizer's state holds views. A
large network gains nothing (each operation is a pass over memory either way)
and would pay the zeroing, so it keeps a gradient tensor per parameter.
"""
from ..training.packing import Pack
from . import optimizers

SMALL = 1 << 17  # trained values up to which a network's update is packed


def plan(torch, model, rates, tensors):
    """Packs for the parameters in rates, or None where packing does not apply
    (a large network, a group that is not one slice, an optimizer that looks at
    each parameter's rows)."""
    opt = model.state.optimizer
    if not opt.FLAT or sum(tensors[n].numel() for n in rates) > SMALL:
        return None
    groups = {}
    for name, (lr, _, _) in rates.items():
        decays = opt.DECOUPLED and name in opt.decayed
        groups.setdefault((float(lr), decays), []).append(name)
    packs = []
    for i, ((lr, decays), names) in enumerate(groups.items()):
        pack = Pack.of(model.weights, names)
        if pack is None:
            return None
        packs.append((f"*torch{i}", lr, decays, pack))
    return Packs(torch, opt, tensors, packs)


class Packs:
    def __init__(self, torch, opt, tensors, packs):
        self.torch, self.opt = torch, opt
        self.packs = []
        for key, lr, decays, pack in packs:
            for name, view in pack.g_views.items():
                tensors[name].grad = torch.from_numpy(view)
            if decays:
                opt.decayed = opt.decayed | {key}
            self.packs.append((key, lr, torch.from_numpy(pack.w), torch.from_numpy(pack.g),
                               pack, {}))

    def zero_grad(self):
        for _, _, _, g, _, _ in self.packs:
            g.zero_()

    def step(self, factor, state):
        """One update of every pack (opt.t already counts it); state: the
        optimizer's state dict, whose per-parameter arrays become the packs' views."""
        for key, lr, w, g, pack, slots in self.packs:
            def slot(suffix, pack=pack, slots=slots):
                if suffix not in slots:
                    slots[suffix] = self.torch.from_numpy(pack.slot(state, suffix))
                return [slots[suffix]]
            optimizers.step(self.torch, self.opt, [key], [w], [g], [float(lr * factor)], slot)
