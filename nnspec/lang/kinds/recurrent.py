"""How rnn, lstm and gru are written, their shapes and weights: over a
TIMExFEATURES input, the last state (UNITS) or every state (TIMExUNITS with
return_sequences=true). W (features, k*units), U (units, k*units) and b,
with k gates (lstm 4: i, f, g, o; gru 3: r, z, n, and gru's second bias rb),
laid out as PyTorch's."""
from ..signature import Opt, Signature, Word
from .base import WEIGHT_OPTIONS, Kind, ShapeProblem, kernel_and_bias

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _signature(kind):
    return Signature(usage=f"{kind} UNITS [return_sequences=true] [lr=..] [l2=..] [init=..]",
                     words=(Word("units", "int", required=True),),
                     options=(Opt("return_sequences", bool, False),) + WEIGHT_OPTIONS)


def _shape(p, in_shape):
    if len(in_shape) != 2:
        raise ShapeProblem("needs a TIMExFEATURES input")
    if p["units"] < 1:
        raise ShapeProblem("needs at least 1 unit")
    return (in_shape[0], p["units"]) if p["return_sequences"] else (p["units"],)


def _weights(kind):
    def weights(p, in_shape):
        f, h, k = in_shape[-1], p["units"], GATES[kind]
        out = kernel_and_bias(p, (f, k * h)) + (("U", (h, k * h), "recurrent"),)
        if kind == "gru" and p["bias"]:
            out += (("rb", (k * h,), "bias"),)
        return out
    return weights


def _masking(p):
    """A masked step keeps the state: every state's output goes on masked (its
    masked steps are zeros), the last state ends the mask."""
    return p["return_sequences"]


KINDS = {kind: Kind(_signature(kind), _shape, _weights(kind), example=f"input 3x2\n{kind} 2",
                    masking=_masking)
         for kind in GATES}
