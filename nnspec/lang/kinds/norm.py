"""How batch and layer normalization are written and their weights: a learned
scale (gamma) and shift (beta) per feature, the last axis; batch norm also
keeps running mean and variance (role "statistic", not trained)."""
from ..signature import Opt, Signature
from .base import ACTIVATION, mask_passes, Kind

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


KINDS = {"batchnorm": Kind(BATCHNORM, shape, lambda p, s: _weights(p, s, True),
                          example="input 3x4\nbatchnorm"),
         "layernorm": Kind(LAYERNORM, shape, lambda p, s: _weights(p, s, False),
                          example="input 3x4\nlayernorm", masking=mask_passes)}
