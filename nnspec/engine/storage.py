"""Where a model's parameters live: end to end in one vector, from the moment the
model is made, ordered so that the parameters an optimizer treats alike sit
together and it can update each group as one slice (training/packing.py).

`Model.weights` holds views of that vector, which nothing replaces: training
updates them in place, and set_weights copies into them.
"""
import numpy as np

from ..lang.kinds import ROLES


def layout(graph):
    """The parameters in storage order: trained ones grouped by whether decoupled
    weight decay reaches them and by their layer's own lr= option (the rest at the
    train block's rate together), then the running statistics."""
    own_lr = {full: graph.params[node].get("lr") for node, keys in graph.keys.items()
              for _, full in keys}

    def key(name):
        role = ROLES[graph.roles[name]]
        lr = own_lr[name]
        return (not role.trained, not role.decayed, lr is not None, lr or 0.0)
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
