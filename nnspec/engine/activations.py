"""Activation functions: forward(z) -> a and backward(z, a, da) -> dz.

backward gets both the input z and the output a so each can use whichever is
cheaper (sigmoid and tanh reuse a). Every function keeps z's dtype: constants
are cast to it, so a float32 network never computes in float64. The common
ones (relu, tanh) can write into a given array instead of a new one.
"""
import numpy as np

LEAKY_SLOPE = 0.01  # PyTorch's default negative slope
ELU_ALPHA = 1.0
_GELU_C = np.sqrt(2.0 / np.pi)


def _c(value, z):
    return z.dtype.type(value)


def _linear(z):
    return z


def _linear_back(z, a, da):
    return da


def _relu(z, out=None):
    return np.maximum(z, 0, out=out)


def _relu_back(z, a, da, out=None):
    # a > 0 exactly where z > 0, so this holds when relu overwrote z with a
    if out is None:
        return da * (a > 0)
    np.greater(a, 0, out=out)  # 1.0 or 0.0, with no boolean temporary
    return np.multiply(out, da, out=out)


def _leaky_relu(z):
    return np.where(z > 0, z, z * _c(LEAKY_SLOPE, z))


def _leaky_relu_back(z, a, da):
    return np.where(z > 0, da, da * _c(LEAKY_SLOPE, z))


def _elu(z):
    # expm1 of a non-positive number only: large z never overflows
    return np.where(z > 0, z, _c(ELU_ALPHA, z) * np.expm1(np.minimum(z, 0)))


def _elu_back(z, a, da):
    return np.where(z > 0, da, da * (a + _c(ELU_ALPHA, z)))


def _gelu(z):
    """The tanh approximation (PyTorch's approximate='tanh', BERT's and GPT-2's)."""
    inner = _c(_GELU_C, z) * (z + _c(0.044715, z) * z * z * z)
    return _c(0.5, z) * z * (1 + np.tanh(inner))


def _gelu_back(z, a, da):
    inner = _c(_GELU_C, z) * (z + _c(0.044715, z) * z * z * z)
    t = np.tanh(inner)
    d_inner = _c(_GELU_C, z) * (1 + _c(3 * 0.044715, z) * z * z)
    return da * (_c(0.5, z) * (1 + t) + _c(0.5, z) * z * (1 - t * t) * d_inner)


def _sigmoid(z):
    # exp of a non-positive number only, so large |z| never overflows
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_back(z, a, da):
    return da * a * (1 - a)


def _softplus(z):
    # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large z
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _softplus_back(z, a, da):
    return da * _sigmoid(z)


def _silu(z):
    return z * _sigmoid(z)


def _silu_back(z, a, da):
    s = _sigmoid(z)
    return da * (s * (1 + z * (1 - s)))


def _tanh(z, out=None):
    return np.tanh(z, out=out)


def _tanh_back(z, a, da, out=None):
    out = np.multiply(a, a, out=out)
    np.subtract(1, out, out=out)
    return np.multiply(da, out, out=out)


def _short_rows(z):
    """Whether z has many short rows: numpy reduces the last axis one row at a
    time, slow for the few outputs of a classifier over a batch of hundreds
    (below 64 rows or above 32 columns, the plain reduction was as fast)."""
    return z.ndim >= 2 and z.shape[-1] <= 32 and z.size >= 64 * z.shape[-1]


def row_max(z):
    """z.max(axis=-1, keepdims=True); for many short rows by copying z transposed
    and reducing along its first axis, whose inner loops are long
    (benchmarks/README.md, "Fast paths")."""
    if not _short_rows(z):
        return z.max(axis=-1, keepdims=True)
    width = z.shape[-1]
    return np.ascontiguousarray(z.reshape(-1, width).T).max(axis=0).reshape(z.shape[:-1] + (1,))


def row_sum(z):
    """z.sum(axis=-1, keepdims=True); for many short rows as a product with a
    vector of ones, one BLAS call for all rows."""
    if not _short_rows(z):
        return z.sum(axis=-1, keepdims=True)
    return np.matmul(z, np.ones(z.shape[-1], z.dtype))[..., None]


def _softmax(z):
    return softmax_into(np.subtract(z, row_max(z)), shifted=True)


def softmax_into(z, shifted=False):
    """softmax(z) over the last axis, written over z (attention's scores)."""
    if not shifted:
        z -= row_max(z)
    np.exp(z, out=z)
    z /= row_sum(z)
    return z


def _softmax_back(z, a, da):
    return a * (da - row_sum(da * a))


ACTIVATIONS = {
    "linear": (_linear, _linear_back),
    "relu": (_relu, _relu_back),
    "leaky_relu": (_leaky_relu, _leaky_relu_back),
    "elu": (_elu, _elu_back),
    "gelu": (_gelu, _gelu_back),
    "tanh": (_tanh, _tanh_back),
    "sigmoid": (_sigmoid, _sigmoid_back),
    "softplus": (_softplus, _softplus_back),
    "silu": (_silu, _silu_back),
    "softmax": (_softmax, _softmax_back),
}
NAMES = tuple(ACTIVATIONS)


_WRITE_INTO = {"relu", "tanh"}
# backward needs only the output a, so forward may overwrite z with it
IN_PLACE = {"relu", "tanh", "linear"}


def forward(name, z, out=None):
    """a = f(z); into `out` where the function can write into an array."""
    if out is not None and name in _WRITE_INTO:
        return ACTIVATIONS[name][0](z, out)
    return ACTIVATIONS[name][0](z)


def backward(name, z, a, da, out=None):
    """dz from da; into `out` where the function can (out must not be da)."""
    if out is not None and name in _WRITE_INTO:
        return ACTIVATIONS[name][1](z, a, da, out)
    return ACTIVATIONS[name][1](z, a, da)
