"""Rewrites of how the graph runs a network that change its speed, never its
results beyond rounding, each with the measurement that justifies it.

The hints below are facts about a kind's compute that the rewrites read; they
sit here, apart from the layers' contracts, because nothing but speed depends
on them. graph.py asks this module which activation a node applies
(`activations`) and which input rows it is given (`crops`).
"""
from dataclasses import dataclass
from typing import Callable

from .layers import conv, pool_valid


@dataclass(frozen=True)
class Hint:
    # forward's output is a new array (or its own buffer), never a view of its
    # input: an in-place activation may then overwrite it
    owns_output: bool = False
    # reads(p, in_shape, out_shape) -> (rows, cols): the leading rows and columns
    # of an HxWxC input that the kind's windows cover (pooling leaves the rest)
    reads: Callable = None
    # needs(p, rows, cols) -> (rows, cols): the leading input rows and columns that
    # give the first rows x cols outputs; None where that is not a plain crop
    needs: Callable = None


HINTS = {
    "conv": Hint(owns_output=True, needs=conv.needs),
    "dense": Hint(owns_output=True),
    "maxpool": Hint(reads=pool_valid.reads),
    "avgpool": Hint(reads=pool_valid.reads),
}
_NONE = Hint()


def owns_output(kind):
    return HINTS.get(kind, _NONE).owns_output


def _readers(nodes):
    readers = {}
    for n in nodes:
        for src in n.inputs:
            readers.setdefault(src, []).append(n)
    return readers


def crops(nodes, params, shapes, outputs):
    """{node: (rows, cols)}: the leading input rows and columns a layer is given.
    A pooling layer's windows can stop short of its input's last rows and
    columns (seed 001's 4x4 pooling of a 22x22 conv output reads 20x20), so
    the convolution before it, if that is the pooling's only input and reads
    no padding, computes those outputs for nothing: 17% of its work there.
    Such a convolution is given only the input rows its read outputs need.
    The outputs it skips would get a zero gradient, so training is unchanged
    but for the order in which dW's sum is rounded; shapes and summaries keep
    the declared sizes."""
    readers = _readers(nodes)
    crops = {}
    for n in nodes:
        after = readers.get(n.name, [])
        needs = HINTS.get(n.kind, _NONE).needs
        reads = HINTS.get(after[0].kind, _NONE).reads if len(after) == 1 else None
        if needs is None or reads is None or n.name in outputs:
            continue
        out = shapes[n.name]
        rows, cols = reads(params[after[0].name], out, shapes[after[0].name])
        crop = needs(params[n.name], rows, cols) if (rows, cols) != tuple(out[:2]) else None
        if crop is not None:
            crops[n.name] = crop
    return crops


def activations(nodes, params, outputs):
    """Which activation each node applies. As written, except that a relu whose
    only reader is a max pooling (not the output) moves after the pooling:
    max(relu(z)) equals relu(max(z)), and pooling first runs relu, and its
    gradient, on an array kh*kw times smaller. The gradients agree exactly too: where the window's
    max is <= 0 both give zero (relu-first sees a tie of zeros, each share of
    which relu then zeroes), elsewhere both route dy to the same maxima."""
    acts = {n.name: params[n.name].get("activation", "linear") for n in nodes}
    readers = _readers(nodes)
    for n in nodes:
        after = readers.get(n.name, [])
        if (acts[n.name] == "relu" and len(after) == 1 and n.name not in outputs
                and after[0].name not in outputs
                and after[0].kind in ("maxpool", "globalmaxpool")
                and acts[after[0].name] == "linear"):
            acts[n.name], acts[after[0].name] = "linear", "relu"
    return acts
