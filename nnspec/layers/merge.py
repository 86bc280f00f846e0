"""Merges: layers with several inputs, named in the spec (`add(a, b)`).

Their rules take lists: shape(p, [in_shape, ...]), forward(p, w, [x, ...]),
and backward returns a list of input gradients, one per input.
"""
import numpy as np

from ..signature import Signature
from .base import ACTIVATION, LayerType, ShapeProblem, fmt_shape

ADD_SIGNATURE = Signature(usage="add(a, b, ...) [activation]", words=(ACTIVATION,))
CONCAT_SIGNATURE = Signature(usage="concat(a, b, ...) [activation]", words=(ACTIVATION,))


def _add_shape(p, in_shapes):
    if any(s != in_shapes[0] for s in in_shapes):
        raise ShapeProblem("needs inputs of one shape, got "
                           + ", ".join(fmt_shape(s) for s in in_shapes))
    return in_shapes[0]


def _add_forward(p, w, xs, mode):
    y = xs[0] + xs[1]
    for x in xs[2:]:
        y += x
    return y, len(xs)


def _add_backward(p, w, cache, dy, need_dx):
    return [dy] * cache, {}


def _concat_shape(p, in_shapes):
    ranks = {len(s) for s in in_shapes}
    if len(ranks) > 1 or any(s[:-1] != in_shapes[0][:-1] for s in in_shapes):
        raise ShapeProblem("needs inputs that differ only in their last dimension, got "
                           + ", ".join(fmt_shape(s) for s in in_shapes))
    return in_shapes[0][:-1] + (sum(s[-1] for s in in_shapes),)


def _concat_forward(p, w, xs, mode):
    return np.concatenate(xs, axis=-1), np.cumsum([x.shape[-1] for x in xs])[:-1]


def _concat_backward(p, w, cache, dy, need_dx):
    return np.split(dy, cache, axis=-1), {}


ADD = LayerType(ADD_SIGNATURE, _add_shape, None, _add_forward, _add_backward, merge=True)
CONCAT = LayerType(CONCAT_SIGNATURE, _concat_shape, None, _concat_forward, _concat_backward,
                   merge=True)
