"""Layers that only move values: flatten, reshape (to dims holding as many
values) and upsample (each value repeated KHxKW times)."""
import math

from ..signature import Signature, Word
from .base import Kind, ShapeProblem, fmt_shape

FLATTEN = Signature(usage="flatten")


RESHAPE = Signature(usage="reshape DIMS   (e.g. reshape 7x7x16; for one axis use flatten)",
                    words=(Word("shape", "dims", required=True),))


UPSAMPLE = Signature(usage="upsample KHxKW   (or upsample K for KxK)",
                     words=(Word("size", "size", required=True),))


def flatten_shape(p, in_shape):
    return (math.prod(in_shape),)


def reshape_shape(p, in_shape):
    if math.prod(p["shape"]) != math.prod(in_shape):
        raise ShapeProblem(f"needs {math.prod(p['shape'])} values to make "
                           f"{fmt_shape(p['shape'])}, but its input holds {math.prod(in_shape)}")
    return tuple(p["shape"])


def _upsample_shape(p, in_shape):
    if len(in_shape) != 3:
        raise ShapeProblem("needs an HxWxC input")
    (sh, sw), (h, w, c) = p["size"], in_shape
    if min(sh, sw) < 1:
        raise ShapeProblem("needs a size of at least 1x1")
    return (h * sh, w * sw, c)


KINDS = {"flatten": Kind(FLATTEN, flatten_shape, example="input 2x3x2\nflatten"),
         "reshape": Kind(RESHAPE, reshape_shape, example="input 6\nreshape 2x3"),
         "upsample": Kind(UPSAMPLE, _upsample_shape, example="input 2x3x1\nupsample 2")}
