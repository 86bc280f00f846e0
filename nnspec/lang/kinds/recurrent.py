"""How rnn, lstm and gru are written, their shapes and weights: over a
TIMExFEATURES input, the last state (UNITS) or every state (TIMExUNITS with
return_sequences=true). W (features, k*units), U (units, k*units) and b,
with k gates (lstm 4: i, f, g, o; gru 3: r, z, n, and gru's second bias rb),
laid out as PyTorch's. With the word `bidirectional` a second cell of its
own weights (W_r, U_r, b_r, rb_r: PyTorch's *_reverse) reads the sequence
from its end, and the two directions' states are concatenated on the feature
axis, forward's first: the last states (forward's after the last step,
backward's after the first) give 2*UNITS, and with return_sequences=true step
t holds both directions' states at t, as PyTorch's bidirectional=True and
Keras' Bidirectional(merge_mode='concat') do."""
from ..signature import Opt, Signature, Word
from .base import WEIGHT_OPTIONS, Kind, ShapeProblem, kernel_and_bias

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _signature(kind):
    return Signature(usage=f"{kind} UNITS [bidirectional] [return_sequences=true] [lr=..] "
                           "[l2=..] [init=..]",
                     words=(Word("units", "int", required=True),
                            Word("bidirectional", "flag", default=False)),
                     options=(Opt("return_sequences", bool, False),) + WEIGHT_OPTIONS)


def _shape(p, in_shape):
    if len(in_shape) != 2:
        raise ShapeProblem("needs a TIMExFEATURES input")
    if p["units"] < 1:
        raise ShapeProblem("needs at least 1 unit")
    units = p["units"] * (2 if p["bidirectional"] else 1)
    return (in_shape[0], units) if p["return_sequences"] else (units,)


def _weights(kind):
    def weights(p, in_shape):
        f, h, k = in_shape[-1], p["units"], GATES[kind]
        out = kernel_and_bias(p, (f, k * h)) + (("U", (h, k * h), "recurrent"),)
        if kind == "gru" and p["bias"]:
            out += (("rb", (k * h,), "bias"),)
        if p["bidirectional"]:  # the backward direction's own: W_r, U_r, b_r, rb_r
            out += tuple((reverse(name), shape, role) for name, shape, role in out)
        return out
    return weights


def _masking(p):
    """A masked step keeps the state: every state's output goes on masked (its
    masked steps are zeros), the last state ends the mask. Both directions of a
    bidirectional layer keep it (the backward one over the reversed steps)."""
    return p["return_sequences"]


def reverse(name):
    """The backward direction's name for a weight: W -> W_r (PyTorch's weight_ih_l0_reverse)."""
    return name + "_r"


def directions(w):
    """A bidirectional layer's weights by short name -> (forward's, backward's),
    each by the one-direction layer's names (W, U, b, rb)."""
    suffix = reverse("")
    back = {k[:-len(suffix)]: v for k, v in w.items() if k.endswith(suffix)}
    return {k: v for k, v in w.items() if not k.endswith(suffix)}, back


KINDS = {kind: Kind(_signature(kind), _shape, _weights(kind), example=f"input 3x2\n{kind} 2",
                    masking=_masking)
         for kind in GATES}
