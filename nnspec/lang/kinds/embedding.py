"""How embeddings are written, their shapes and tables: `embedding VOCABxDIM`
turns each whole number in 0..VOCAB-1 into a row of DIM values, so an input
of shape S gives S x DIM; `positional` adds a learned vector per step to a
TIMExFEATURES input (its table P is TIMExFEATURES), as attention models need
to know where each token stands."""
from ..names import read_initializer
from ..signature import Opt, Signature, Word
from .base import Kind, ShapeProblem, mask_passes

SIGNATURE = Signature(usage="embedding VOCABxDIM [mask_zero=true] [lr=..] [init=..]",
                      words=(Word("table", "dims", ranks=(2,), required=True),),
                      options=(Opt("lr", float, None, minimum=0.0),
                               Opt("l2", float, None, minimum=0.0),
                               Opt("init", str, None, read=read_initializer),
                               # id 0 is padding: its steps are masked (lang/masks.py)
                               Opt("mask_zero", bool, False)))


def shape(p, in_shape):
    vocab, dim = p["table"]
    if min(vocab, dim) < 1:
        raise ShapeProblem("needs a table of at least 1x1")
    if p.get("mask_zero") and len(in_shape) != 1:
        raise ShapeProblem("with mask_zero=true needs a sequence of ids (input T), as its mask "
                           "hides steps")
    return tuple(in_shape) + (dim,)


def weights(p, in_shape):
    return (("W", tuple(p["table"]), "embedding"),)


POSITIONAL = Signature(usage="positional [lr=..] [init=..]",
                       options=(Opt("lr", float, None, minimum=0.0),
                                Opt("init", str, None, read=read_initializer)))


def positional_shape(p, in_shape):
    if len(in_shape) != 2:
        raise ShapeProblem("needs a TIMExFEATURES input")
    return tuple(in_shape)


def positional_weights(p, in_shape):
    return (("P", tuple(in_shape), "embedding"),)


KINDS = {"embedding": Kind(SIGNATURE, shape, weights, example="input 3\nembedding 5x2"),
         "positional": Kind(POSITIONAL, positional_shape, positional_weights,
                            example="input 3 -> embedding 5x4 -> positional -> attention 2",
                            masking=mask_passes)}
