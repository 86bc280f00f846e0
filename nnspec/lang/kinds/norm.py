"""Batch and layer normalization, with learned scale (gamma) and shift (beta).

batchnorm normalizes each feature (the last axis: a dense unit, a conv
channel) over every other axis of the batch; while training it uses the
batch's statistics and moves the running ones (`mean`, `var`, saved with the
weights) toward them, as PyTorch does (momentum 0.1, unbiased variance); at
inference it uses the running ones. layernorm normalizes each sample's last
axis and behaves the same in training and inference.
"""
from ..signature import Opt, Signature
from .base import ACTIVATION, Kind


BATCHNORM = Signature(usage="batchnorm [activation] [momentum=0.1] [eps=1e-5]",
                      words=(ACTIVATION,),
                      options=(Opt("momentum", float, 0.1, minimum=0.0),
                               Opt("eps", float, 1e-5, minimum=0.0),
                               Opt("lr", float, None, minimum=0.0)))


LAYERNORM = Signature(usage="layernorm [activation] [eps=1e-5]",
                      words=(ACTIVATION,),
                      options=(Opt("eps", float, 1e-5, minimum=0.0),
                               Opt("lr", float, None, minimum=0.0)))


def shape(p, in_shape):
    return in_shape


def _weights(p, in_shape, state):
    c = (in_shape[-1],)
    return (("gamma", c, "norm"), ("beta", c, "norm")) + \
        ((("mean", c, "statistic"), ("var", c, "statistic")) if state else ())


KINDS = {"batchnorm": Kind(BATCHNORM, shape, lambda p, s: _weights(p, s, True)),
         "layernorm": Kind(LAYERNORM, shape, lambda p, s: _weights(p, s, False))}
