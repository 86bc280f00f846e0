"""nnspec's optimizers (training/optimizers.py) restated in torch ops: the same
arithmetic in the same order, on the same state slots (`dense1.W/m`), so state
moves between the engines and a checkpoint resumes on either. The hyperparameters
and the step count `t` are read from the model's own optimizer object."""
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
