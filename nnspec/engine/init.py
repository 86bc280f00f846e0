"""Weight initializers: name -> f(rng, shape, fan_in, fan_out) -> float64 array.

A layer's `init=` option (its weight matrices') and `bias_init=` (its biases',
zeros by default) are a name (`init=he`) or a call with a scale:
`init=normal(0.01)` (mean 0, that standard deviation), `init=uniform(0.05)`
(on [-0.05, 0.05]) or `uniform(0, 1)` (on [0, 1]); lang/names.py reads them,
and lists the names. A bias takes its layer's fan-in and fan-out.
"""
import numpy as np

from ..lang.ir import Call


def _glorot_uniform(rng, shape, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


def _glorot_normal(rng, shape, fan_in, fan_out):
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), shape)


def _he_uniform(rng, shape, fan_in, fan_out):
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, shape)


def _he_normal(rng, shape, fan_in, fan_out):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)


def _lecun_normal(rng, shape, fan_in, fan_out):
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), shape)


def _lecun_uniform(rng, shape, fan_in, fan_out):
    limit = np.sqrt(3.0 / fan_in)
    return rng.uniform(-limit, limit, shape)


def _zeros(rng, shape, fan_in, fan_out):
    return np.zeros(shape)


def _ones(rng, shape, fan_in, fan_out):
    return np.ones(shape)


INITIALIZERS = {
    "glorot_uniform": _glorot_uniform,
    "xavier": _glorot_uniform,
    "xavier_uniform": _glorot_uniform,
    "glorot_normal": _glorot_normal,
    "xavier_normal": _glorot_normal,
    "he_uniform": _he_uniform,
    "he": _he_normal,
    "he_normal": _he_normal,
    "lecun": _lecun_normal,
    "lecun_normal": _lecun_normal,
    "lecun_uniform": _lecun_uniform,
    "zeros": _zeros,
    "ones": _ones,
}
SCALED = {  # init=normal(std), init=uniform(limit), as lang/names.py reads them
    "normal": lambda rng, shape, scale: rng.normal(0.0, scale, shape),
    "uniform": lambda rng, shape, *bounds: rng.uniform(-bounds[0], bounds[0], shape)
    if len(bounds) == 1 else rng.uniform(bounds[0], bounds[1], shape),
}


def default_for(activation):
    """He for the rectifiers, Glorot for the saturating activations."""
    return "he_uniform" if activation in ("relu", "leaky_relu", "elu", "gelu", "silu") \
        else "glorot_uniform"


def weights(name, rng, shape, fan_in, fan_out, dtype):
    if isinstance(name, Call):
        return SCALED[name.name](rng, shape, *name.args).astype(dtype)
    return INITIALIZERS[name](rng, shape, fan_in, fan_out).astype(dtype)
