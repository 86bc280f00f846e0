"""The torch engine's batch and layer norms (modules.py builds the network), and
the views between nnspec's channels-last layout and PyTorch's NCHW indexing
that its convolutions and poolings share."""
import torch
import torch.nn.functional as F


def _nchw(x):  # NHWC -> NCHW as a view: channels_last memory
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


def batchnorm(node, in_shape, w, net):
    p = node.p
    mean, var, gamma, beta = w["mean"], w["var"], w["gamma"], w["beta"]

    def forward(x):
        # features on axis 1, as PyTorch's batch norm takes them: a view of NHWC
        xt = _nchw(x) if x.dim() == 4 else x.reshape(-1, x.shape[-1])
        training = net.training and node.name not in net.frozen  # frozen: as at inference
        if training and xt.numel() == xt.shape[1]:  # one value per feature
            return _single_row(x, mean, var, beta, p["momentum"])
        y = F.batch_norm(xt, mean, var, gamma, beta, training, p["momentum"], p["eps"])
        return _nhwc(y) if x.dim() == 4 else y.reshape(x.shape)
    return forward


def _single_row(x, mean, var, beta, momentum):
    """Batch norm over one value per feature, which PyTorch refuses: each value is
    its own mean, so the output is beta, and the batch variance is 0 (nnspec's
    unbiased factor m / max(m - 1, 1) is 1 here)."""
    with torch.no_grad():
        mean.mul_(1 - momentum).add_(momentum * x.reshape(-1, x.shape[-1])[0])
        var.mul_(1 - momentum)
    return beta.expand(x.shape)  # nothing flows back to x


def layernorm(node, in_shape, w, net):
    gamma, beta, eps = w["gamma"], w["beta"], node.p["eps"]
    return lambda x: F.layer_norm(x, (x.shape[-1],), gamma, beta, eps)
