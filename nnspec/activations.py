"""Activation functions: forward(z) -> a and backward(z, a, da) -> dz.

backward gets both the input z and the output a so each can use whichever is
cheaper (sigmoid and tanh reuse a). Every function keeps z's dtype.
"""
import numpy as np


def _linear(z):
    return z


def _linear_back(z, a, da):
    return da


def _relu(z):
    return np.maximum(z, 0)


def _relu_back(z, a, da):
    return da * (z > 0)


def _tanh(z):
    return np.tanh(z)


def _tanh_back(z, a, da):
    return da * (1 - a * a)


def _sigmoid(z):
    # exp of a non-positive number only, so large |z| never overflows
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_back(z, a, da):
    return da * a * (1 - a)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_back(z, a, da):
    return a * (da - (da * a).sum(axis=-1, keepdims=True))


ACTIVATIONS = {
    "linear": (_linear, _linear_back),
    "relu": (_relu, _relu_back),
    "tanh": (_tanh, _tanh_back),
    "sigmoid": (_sigmoid, _sigmoid_back),
    "softmax": (_softmax, _softmax_back),
}
NAMES = tuple(ACTIVATIONS)


def forward(name, z):
    return ACTIVATIONS[name][0](z)


def backward(name, z, a, da):
    return ACTIVATIONS[name][1](z, a, da)
