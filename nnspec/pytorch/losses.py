"""nnspec's losses (engine/losses.py) and output activations in torch ops, on the
output layer's values before its activation (z): softmax with cross-entropy and
sigmoid with binary cross-entropy are fused there as in numpy, the others take
the activated output. Each returns the batch's mean per-sample loss."""
EPS = 1e-7  # engine/losses.py's clip
HUBER_DELTA = 1.0


def activation(torch, name):
    """The function of an activation name, in torch ops."""
    F = torch.nn.functional
    table = {"linear": lambda z: z, "relu": torch.relu, "tanh": torch.tanh,
             "sigmoid": torch.sigmoid, "softmax": lambda z: torch.softmax(z, -1),
             "leaky_relu": lambda z: F.leaky_relu(z, 0.01), "elu": F.elu,
             "gelu": lambda z: F.gelu(z, approximate="tanh"), "softplus": F.softplus,
             "silu": F.silu}
    return table[name]


def activate(torch, name, z):
    return activation(torch, name)(z)


def loss(torch, name, activation, z, out, y):
    """The mean data loss of a batch, as engine/losses.py computes it."""
    n = len(z)
    if name == "cross_entropy":
        if activation == "softmax":
            return -(y * torch.log_softmax(z, -1)).sum() / n
        return -(y * torch.log(out.clamp(EPS, 1.0))).sum() / n
    if name == "binary_cross_entropy":
        if activation == "sigmoid":  # log(1 + e^z) - z y, with no overflow
            return (z.clamp(min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean()
        p = out.clamp(EPS, 1 - EPS)
        return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    diff = out - y
    if name == "mse":
        return (diff * diff).mean()
    if name == "quadratic":
        return 0.5 * (diff * diff).sum() / n
    if name == "mae":
        return diff.abs().mean()
    if name == "huber":
        small = diff.abs() <= HUBER_DELTA
        return torch.where(small, 0.5 * diff * diff,
                           HUBER_DELTA * (diff.abs() - 0.5 * HUBER_DELTA)).mean()
    raise ValueError(f"the torch engine has no loss {name!r}")
