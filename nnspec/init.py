"""Weight initializers: name -> f(rng, shape, fan_in, fan_out) -> float64 array."""
import numpy as np


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


def _zeros(rng, shape, fan_in, fan_out):
    return np.zeros(shape)


INITIALIZERS = {
    "glorot_uniform": _glorot_uniform,
    "xavier": _glorot_uniform,
    "glorot_normal": _glorot_normal,
    "he_uniform": _he_uniform,
    "he": _he_normal,
    "he_normal": _he_normal,
    "lecun": _lecun_normal,
    "zeros": _zeros,
}
NAMES = tuple(INITIALIZERS)


def default_for(activation):
    """He for the rectifier, Glorot for the saturating activations."""
    return "he_uniform" if activation == "relu" else "glorot_uniform"


def weights(name, rng, shape, fan_in, fan_out, dtype):
    return INITIALIZERS[name](rng, shape, fan_in, fan_out).astype(dtype)
