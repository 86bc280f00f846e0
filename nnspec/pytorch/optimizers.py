"""nnspec's optimizers (training/optimizers.py) restated in torch ops: the same
arithmetic in the same order, on the same state slots (`dense1.W/m`), so state
moves between the engines and a checkpoint resumes on either. The hyperparameters
and the step count `t` are read from the model's own optimizer object.

`step` updates every parameter at once with PyTorch's multi-tensor (foreach)
operations, a handful of calls a step whatever the number of parameters (one
kernel launch per operation on a GPU; on a CPU, one Python call per operation
where PyTorch's own Adam makes one per operation and parameter); `update` is
the same rule for one parameter, the reference that
tests/test_torch_fast_paths.py holds `step` to. Only the parameters handed in
are updated: one left out (frozen) keeps its weights and state.
"""
import math


def update(torch, opt, name, w, g, lr, slot):
    """One parameter's update, in place. slot(key) -> its state tensor (zeros at first)."""
    kind = type(opt).__name__
    if kind == "SGD":
        if opt.weight_decay and name in opt.decayed:
            w.mul_(1 - lr * opt.weight_decay)
        if opt.momentum == 0.0:
            w.sub_(lr * g)
            return
        b = slot(name + "/b")
        b.mul_(opt.momentum).add_(g)
        w.sub_(lr * (g + opt.momentum * b) if opt.nesterov else lr * b)
    elif kind == "Adagrad":
        cache = slot(name + "/cache")
        cache.add_(g * g)
        w.sub_(lr * g / (torch.sqrt(cache) + opt.eps))
    elif kind == "RMSProp":
        cache = slot(name + "/cache")
        cache.mul_(opt.rho).add_((1 - opt.rho) * (g * g))
        w.sub_(lr * g / (torch.sqrt(cache) + opt.eps))
    elif kind == "AdamW":
        if opt.weight_decay and name in opt.decayed:
            w.mul_(1 - lr * opt.weight_decay)
        _adam(torch, opt, w, g, slot(name + "/m"), slot(name + "/v"), lr)
    elif kind == "LazyAdam" and w.dim() >= 2:
        rows = torch.nonzero(g.reshape(len(g), -1).ne(0).any(dim=1)).flatten()
        m, v = slot(name + "/m"), slot(name + "/v")
        if len(rows) == len(g):
            _adam(torch, opt, w, g, m, v, lr)
            return
        wr, mr, vr = w[rows], m[rows], v[rows]  # copies: updated, then written back
        _adam(torch, opt, wr, g[rows], mr, vr, lr)
        w[rows], m[rows], v[rows] = wr, mr, vr
    elif kind in ("Adam", "LazyAdam"):
        _adam(torch, opt, w, g, slot(name + "/m"), slot(name + "/v"), lr)
    else:
        raise ValueError(f"the torch engine has no optimizer {kind}")


def _adam(torch, opt, w, g, m, v, lr):
    """As Optimizer.adam: w -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps)."""
    m.mul_(opt.beta1).add_(g * (1 - opt.beta1))
    v.mul_(opt.beta2).add_((g * g) * (1 - opt.beta2))
    c1 = 1 - opt.beta1 ** opt.t
    c2 = 1 - opt.beta2 ** opt.t
    w.sub_(m / (torch.sqrt(v) / math.sqrt(c2) + opt.eps) * (lr / c1))


def step(torch, opt, names, ws, gs, lrs, slots):
    """One update of the parameters `names` (weights ws, gradients gs, rates lrs:
    lists in that order), in place. slots(suffix) -> the list of their state
    tensors `name/suffix` (zeros at first). opt.t is already this update's."""
    kind = type(opt).__name__
    if kind == "LazyAdam":  # its rows are each parameter's own: one at a time
        for name, w, g, lr, m, v in zip(names, ws, gs, lrs, slots("m"), slots("v")):
            update(torch, opt, name, w, g, lr, {name + "/m": m, name + "/v": v}.__getitem__)
        return
    F = _Foreach(torch)
    if getattr(opt, "weight_decay", 0) and kind in ("SGD", "AdamW"):
        decayed = [i for i, name in enumerate(names) if name in opt.decayed]
        if decayed:
            F.mul_([ws[i] for i in decayed], [1 - lrs[i] * opt.weight_decay for i in decayed])
    if kind == "SGD":
        if opt.momentum == 0.0:
            F.sub_(ws, F.mul(gs, lrs))
            return
        b = slots("b")
        F.mul_(b, opt.momentum)
        F.add_(b, gs)
        if opt.nesterov:
            F.sub_(ws, F.mul(F.add(gs, F.mul(b, opt.momentum)), lrs))
        else:
            F.sub_(ws, F.mul(b, lrs))
    elif kind in ("Adagrad", "RMSProp"):
        cache = slots("cache")
        if kind == "RMSProp":
            F.mul_(cache, opt.rho)
            F.add_(cache, F.mul(F.mul(gs, gs), 1 - opt.rho))
        else:
            F.add_(cache, F.mul(gs, gs))
        denominator = F.sqrt(cache)
        F.add_(denominator, opt.eps)
        F.sub_(ws, F.div(F.mul(gs, lrs), denominator))
    elif kind in ("Adam", "AdamW"):
        _adam_lists(F, opt, ws, gs, slots("m"), slots("v"), lrs)
    else:
        raise ValueError(f"the torch engine has no optimizer {kind}")


def _adam_lists(F, opt, ws, gs, m, v, lrs):
    """As Optimizer.adam, on lists: w -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps),
    the same operations in the same order, fused where PyTorch has the pair as one
    (g (1 - b1) added as add's alpha, g^2 (1 - b2) as addcmul, the last division
    and step as addcdiv): eight passes over the parameters' memory, not thirteen,
    as PyTorch's own Adam."""
    F.mul_(m, opt.beta1)
    F.add_(m, gs, alpha=1 - opt.beta1)
    F.mul_(v, opt.beta2)
    F.addcmul_(v, gs, gs, value=1 - opt.beta2)
    c1 = 1 - opt.beta1 ** opt.t
    c2 = 1 - opt.beta2 ** opt.t
    denominator = F.sqrt(v)
    F.div_(denominator, math.sqrt(c2))
    F.add_(denominator, opt.eps)
    F.addcdiv_(ws, m, denominator, [-lr / c1 for lr in lrs])


class _Foreach:
    """torch._foreach_mul_ and its kin as F.mul_ (a short name for the rules above)."""

    def __init__(self, torch):
        self.torch = torch

    def __getattr__(self, op):
        return getattr(self.torch, "_foreach_" + op)
