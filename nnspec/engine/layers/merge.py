"""Merges: layers with several inputs, named in the spec (`add(a, b)`).

Their rules take lists: shape(p, [in_shape, ...]), forward(p, w, [x, ...]),
and backward returns a list of input gradients, one per input.
"""
import numpy as np

from .base import Layer


def _add_forward(p, w, xs, mode):
    y = np.add(xs[0], xs[1], out=mode.empty("y", xs[0].shape, xs[0].dtype))
    for x in xs[2:]:
        y += x
    return y, len(xs)


def _add_backward(p, w, cache, dy, need_dx):
    return [dy] * cache, {}


def _concat_forward(p, w, xs, mode):
    return np.concatenate(xs, axis=-1), np.cumsum([x.shape[-1] for x in xs])[:-1]


def _concat_backward(p, w, cache, dy, need_dx):
    return np.split(dy, cache, axis=-1), {}


LAYERS = {"add": Layer(_add_forward, _add_backward),
          "concat": Layer(_concat_forward, _concat_backward)}
