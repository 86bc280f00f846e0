"""Recurrent layers over (batch, time, features): rnn, lstm and gru.

Each step is h_t = cell(x_t, h_{t-1}) from h_0 = 0. The input projections of
all steps are one matmul before the loop (x @ W), so the loop over time does
only the recurrent matmul and the gates; backward through time loops back
over the steps for the gate gradients and then forms dW, dU and dx as single
matmuls over all steps. Layouts follow PyTorch: W (features, k*units), U
(units, k*units), gates in order lstm (i, f, g, o) and gru (r, z, n); gru has
a second bias `rb` inside its reset gate, as PyTorch's b_hh. The output is
the last state (batch, units), or every state (batch, time, units) with
return_sequences=true.
"""
from ..signature import Opt, Signature, Word
from .base import WEIGHT_OPTIONS, Kind, ShapeProblem, fmt_shape, kernel_and_bias


GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _signature(kind):
    return Signature(usage=f"{kind} UNITS [return_sequences=true] [lr=..] [l2=..] [init=..]",
                     words=(Word("units", "int", required=True),),
                     options=(Opt("return_sequences", bool, False),) + WEIGHT_OPTIONS)


def _shape(p, in_shape):
    if len(in_shape) != 2:
        raise ShapeProblem(f"needs a TIMExFEATURES input, got {fmt_shape(in_shape)}")
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


KINDS = {kind: Kind(_signature(kind), _shape, _weights(kind)) for kind in GATES}
