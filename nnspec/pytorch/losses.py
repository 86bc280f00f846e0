"""nnspec's losses (engine/losses.py) and output activations in torch ops, on the
output layer's values before its activation (z): softmax with cross-entropy and
sigmoid with binary cross-entropy are fused there as in numpy, the others take
the activated output. Each returns the batch's mean per-sample loss."""
EPS = 1e-7  # engine/losses.py's clip
HUBER_DELTA = 1.0


# torch.softmax's CPU kernel is slow on rows shorter than a vector register (16
# floats with AVX-512): 1024 rows of 10 took 85-94 us, of 32 values 15 us. The
# same steps as four ops take 35 us, so a classifier of few classes predicts
# through them: FEW_CLASSES, from MANY_ROWS rows (at 64 rows torch's was the
# faster, 7.4 against 8.3 us; benchmarks/README.md, "Fast paths").
# tests/test_torch_fast_paths.py holds the two equal.
FEW_CLASSES, MANY_ROWS = 16, 256


def softmax(torch, z):
    """softmax over the last axis; where no gradient is taken (predict), on a CPU,
    over many short rows, as the max-shifted exponentials over their sum in
    place."""
    if z.requires_grad or z.device.type != "cpu" or z.dim() < 2 or \
            z.shape[-1] >= FEW_CLASSES or z.numel() < MANY_ROWS * z.shape[-1]:
        return torch.softmax(z, -1)
    e = (z - z.amax(-1, keepdim=True)).exp_()
    return e.div_(e.sum(-1, keepdim=True))


def activation(torch, name):
    """The function of an activation name, in torch ops."""
    F = torch.nn.functional
    table = {"linear": lambda z: z, "relu": torch.relu, "tanh": torch.tanh,
             "sigmoid": torch.sigmoid, "softmax": lambda z: softmax(torch, z),
             "leaky_relu": lambda z: F.leaky_relu(z, 0.01), "elu": F.elu,
             "gelu": lambda z: F.gelu(z, approximate="tanh"), "softplus": F.softplus,
             "silu": F.silu}
    return table[name]


def activate(torch, name, z):
    return activation(torch, name)(z)


def function(torch, name, activation):
    """fn(z, out, y) -> the batch's mean data loss, as engine/losses.py computes it;
    PyTorch's own loss functions where they compute the same (one call each)."""
    F = torch.nn.functional
    if name == "cross_entropy":
        if activation == "softmax":  # targets as probabilities: -sum(y log_softmax(z)) / n
            return lambda z, out, y: F.cross_entropy(z, y)
        return lambda z, out, y: -(y * torch.log(out.clamp(EPS, 1.0))).sum() / len(z)
    if name == "binary_cross_entropy":
        if activation == "sigmoid":  # log(1 + e^z) - z y, with no overflow
            return lambda z, out, y: F.binary_cross_entropy_with_logits(z, y)

        def binary(z, out, y):
            p = out.clamp(EPS, 1 - EPS)
            return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
        return binary
    table = {"mse": lambda z, out, y: F.mse_loss(out, y),
             "quadratic": lambda z, out, y: 0.5 * F.mse_loss(out, y, reduction="sum") / len(z),
             "mae": lambda z, out, y: F.l1_loss(out, y),
             # 0.5 d^2 within delta, else delta (|d| - delta / 2): nnspec's and PyTorch's
             "huber": lambda z, out, y: F.huber_loss(out, y, delta=HUBER_DELTA)}
    if name not in table:
        raise ValueError(f"the torch engine has no loss {name!r}")
    return table[name]


def per_sample(torch, name, activation):
    """fn(z, out, y) -> (batch,) each sample's loss, whose mean is function's (a
    weighted batch's loss is the mean of each sample's times its weight, as
    engine/losses.py's Terms.weighted): the mean of its elementwise terms, or for
    the cross-entropies over classes and the quadratic loss their sum."""
    F = torch.nn.functional
    if name == "cross_entropy":
        terms = (lambda z, out, y: -(y * F.log_softmax(z, -1))) if activation == "softmax" \
            else (lambda z, out, y: -(y * torch.log(out.clamp(EPS, 1.0))))
        summed = True
    elif name == "binary_cross_entropy":
        terms = (lambda z, out, y: F.binary_cross_entropy_with_logits(z, y, reduction="none")) \
            if activation == "sigmoid" else (lambda z, out, y: -(
                y * torch.log(out.clamp(EPS, 1 - EPS))
                + (1 - y) * torch.log(1 - out.clamp(EPS, 1 - EPS))))
        summed = False
    else:
        function(torch, name, activation)  # the one message for a loss it lacks
        terms = {"mse": lambda z, out, y: (out - y) ** 2,
                 "quadratic": lambda z, out, y: 0.5 * (out - y) ** 2,
                 "mae": lambda z, out, y: (out - y).abs(),
                 "huber": lambda z, out, y: F.huber_loss(out, y, reduction="none",
                                                         delta=HUBER_DELTA)}[name]
        summed = name == "quadratic"

    def each(z, out, y):
        rows = terms(z, out, y).reshape(len(z), -1)
        return rows.sum(1) if summed else rows.mean(1)
    return each
