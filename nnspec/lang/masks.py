"""Which layers carry a mask: `embedding VOCABxDIM mask_zero=true` hides the
steps whose id is 0 from what comes after it, as Keras' mask does.

Each kind says what it does with a masked input (Kind.masking, kinds/base.py):
a per-step layer passes the mask on, a recurrent layer's last state or a
global pool reads it and ends it, and any other layer (flatten, conv, batch
norm, ...) cannot see which steps are masked, so a masked input is an error
at its line, as Keras 2 raised for a layer that does not support masking.
A merge masks a step where any of its masked inputs does (an unmasked input
counts as all steps seen). An output may not be a masked sequence: its
padded steps would be predicted and scored like the others.
"""
from ..errors import ShapeError
from .kinds import KINDS
from .printer import describe

# the kinds whose compute reads the mask (the others pass it on untouched or refuse
# it): each engine and export gives it to these alone
READS = ("rnn", "lstm", "gru", "attention", "globalmaxpool", "globalavgpool")

FIX = ("put a recurrent layer (lstm 16) or a global pool (globalavgpool) before it, "
       "or drop mask_zero=true")


def carriers(network, outputs=True):
    """{node name: whether its output carries a mask}, for every layer; raises
    ShapeError at the first layer that cannot take the mask it is given, and
    (outputs=True) at an output that is a masked sequence."""
    masked = {}
    for node in network.nodes:
        if node.kind == "input":
            masked[node.name] = False
            continue
        if node.kind == "embedding" and node.p.get("mask_zero"):
            masked[node.name] = True
            continue
        source = [s for s in node.inputs if masked[s]]
        rule = KINDS[node.kind].masking
        if source and rule is None:
            raise _error(node, f"{describe(node)} cannot see which steps mask_zero=true hides "
                               f"(its input {source[0]} is masked); {FIX}")
        masked[node.name] = bool(source) and rule(node.p)
    for output in network.outputs if outputs else ():
        if masked[output.node]:
            node = network.node(output.node)
            raise _error(node, f"{describe(node)} outputs a masked sequence, whose padded "
                               f"steps would be scored as the others; {FIX}")
    return masked


def follow(node, carries, first, masks, both=lambda a, b: a & b, nonzero=lambda x: x != 0):
    """In a pass (either engine's, or an ONNX graph's, which passes its own both and
    nonzero), the mask node's layer sees, (batch, time) bool or None: its input's
    (a merge's: where every masked input sees the step). Records node's own mask
    in masks {name: mask}: its ids != 0 for a masking embedding (first: its
    input's value), the one it sees where it passes it on (carries[node])."""
    seen = None
    for src in node.inputs:
        if masks.get(src) is not None and masks[src] is not seen:  # the same mask once
            seen = masks[src] if seen is None else both(seen, masks[src])
    if node.kind == "embedding" and node.p.get("mask_zero"):
        masks[node.name] = nonzero(first)  # id 0 is padding
    elif carries[node.name]:
        masks[node.name] = seen
    return seen


def any_mask(network):
    return any(n.kind == "embedding" and n.p.get("mask_zero") for n in network.nodes)


def _error(node, message):
    loc = node.loc
    return ShapeError(f"{node.name}: {message}", loc.line if loc else None,
                      loc.column if loc else None)
