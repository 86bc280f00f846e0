"""How merges are written and the shapes they give: add(a, b, ...) of inputs of
one shape, concat(a, b, ...) along the last axis of inputs that differ only
there."""
from ..signature import Signature
from .base import ACTIVATION, mask_passes, Kind, ShapeProblem, fmt_shape

ADD_SIGNATURE = Signature(usage="add(a, b, ...) [activation]", words=(ACTIVATION,))


CONCAT_SIGNATURE = Signature(usage="concat(a, b, ...) [activation]", words=(ACTIVATION,))


def _add_shape(p, in_shapes):
    if any(s != in_shapes[0] for s in in_shapes):
        raise ShapeProblem("needs inputs of one shape, got "
                           + ", ".join(fmt_shape(s) for s in in_shapes))
    return in_shapes[0]


def _concat_shape(p, in_shapes):
    ranks = {len(s) for s in in_shapes}
    if len(ranks) > 1 or any(s[:-1] != in_shapes[0][:-1] for s in in_shapes):
        raise ShapeProblem("needs inputs that differ only in their last dimension, got "
                           + ", ".join(fmt_shape(s) for s in in_shapes))
    return in_shapes[0][:-1] + (sum(s[-1] for s in in_shapes),)


# a merge of sequences masks a step where any masked input does (lang/masks.py)
KINDS = {"add": Kind(ADD_SIGNATURE, _add_shape, merge=True, masking=mask_passes,
                    example="input 3 -> a: dense 2\na -> b: dense 2\nadd(a, b)"),
         "concat": Kind(CONCAT_SIGNATURE, _concat_shape, merge=True, masking=mask_passes,
                       example="input 3 -> a: dense 2\na -> b: dense 1\nconcat(a, b)")}
