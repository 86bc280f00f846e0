"""Recurrent layers over (batch, time, features): rnn, lstm and gru.

Each step is h_t = cell(x_t, h_{t-1}) from h_0 = 0; recurrent_reference.py
writes the cells as their equations read. The input projections of all steps
are one matmul before the loop (x @ W), so the loop over time does only the
recurrent matmul and the gates; backward through time loops back over the
steps for the gate gradients and then forms dW, dU and dx as single matmuls
over all steps (steps.py). The loops keep time-major arrays (each step's rows
contiguous) and work in place, since numpy's per-call cost is most of a small
step; the arrays of all steps come from the pass's buffers (Mode.empty), as
the conv layers' do, since allocated afresh each megabyte was unmapped and
page-faulted back every step (benchmarks/README.md has the numbers). Layouts
follow PyTorch: W (features, k*units), U (units, k*units), gates in order lstm
(i, f, g, o) and gru (r, z, n); gru has a second bias `rb` inside its reset
gate, as PyTorch's b_hh. The output is the last state (batch, units), or
every state (batch, time, units) with return_sequences=true. lstm.py and
gru.py hold the gated cells' steps; bidirectional.py runs them both ways.
"""
from typing import NamedTuple

import numpy as np

from ...lang.kinds.recurrent import GATES
from .. import init as initializers
from .base import Layer, init_weights
from .bidirectional import bidirectional
from .gru import gru_backward, gru_last_state, gru_steps
from .lstm import lstm_backward, lstm_last_state, lstm_steps
from .steps import (keep_state, sequence_output, split_gradient, step_gradients, step_mask,
                    time_major_projection, weight_grads)


def _initializer(kind):
    def init(p, shapes, rng, dtype):
        (f, kh), (h, _) = shapes["W"], shapes["U"]
        k = kh // h
        w = init_weights(p, shapes["W"], f, kh, rng, dtype)
        # the recurrent matrix: orthogonal per gate, as Keras and Saxe et al. advise
        blocks = [np.linalg.qr(rng.normal(size=(h, h)))[0] for _ in range(k)]
        w["U"] = np.concatenate(blocks, axis=1).astype(dtype)
        if kind == "lstm" and "b" in w and not p.get("bias_init"):
            w["b"][h:2 * h] = 1  # forget gate open at the start (Jozefowicz et al.)
        if kind == "gru" and "b" in w:  # the second bias takes bias_init too
            w["rb"] = initializers.weights(p.get("bias_init") or "zeros", rng, shapes["rb"], f,
                                           kh, dtype)
        return w
    return init


def rnn_forward(p, w, x, mode):
    n, t, _ = x.shape
    m = step_mask(mode.mask, x.dtype)  # None without embedding mask_zero=true
    hs = time_major_projection(w, x, mode, "hs")  # becomes every step's state, in place
    hu = mode.empty("hu", hs.shape[1:], x.dtype)
    for s in range(t):
        if s:
            hs[s] += np.matmul(hs[s - 1], w["U"], out=hu)
        np.tanh(hs[s], out=hs[s])
        if m is not None:
            keep_state(m, s, hs[s], hs)
    return sequence_output(p, hs, m), (x, hs, m, mode)


def rnn_backward(p, w, cache, dy, need_dx):
    x, hs, m, mode = cache
    dhs, dh = step_gradients(p, dy, hs, m)
    dz = np.multiply(hs, hs, out=mode.empty("dz", hs.shape, hs.dtype))
    np.subtract(1, dz, out=dz)  # tanh's derivative, then each step's gradient on its sum
    keep = None if m is None else mode.empty("keep", dh.shape, dh.dtype)
    for s in reversed(range(hs.shape[0])):
        if dhs is not None:
            dh += dhs[s]
        if m is not None:
            split_gradient(m, s, dh, keep)
        dz[s] *= dh
        if s:
            np.matmul(dz[s], w["U"].T, out=dh)
        if m is not None:
            dh += keep
    return weight_grads(w, x, hs, dz, dz, need_dx, mode)


class Replay(NamedTuple):
    """The cache of an inference pass of the last state alone, which keeps no
    step's gates: backward (seldom asked for after inference) runs the steps
    again from x."""

    x: object
    mode: object


def _gated(last_state, steps, backward):
    """A gated layer's (forward, backward): inference of the last state alone
    runs last_state, which keeps only the step's state; training, every
    state's output, and a masked input, run the steps, which keep what
    backward needs (and the previous step's state, which a masked step keeps)."""
    def forward(p, w, x, mode):
        if not mode.training and not p["return_sequences"] and mode.mask is None:
            return last_state(p, w, x, mode), Replay(x, mode)
        return steps(p, w, x, mode)

    def backward_any(p, w, cache, dy, need_dx):
        if isinstance(cache, Replay):
            cache = steps(p, w, cache.x, cache.mode)[1]
        return backward(p, w, cache, dy, need_dx)
    return forward, backward_any


def _flops(kind):
    def flops(p, in_shape, out_shape):
        t, f = in_shape
        k, h = GATES[kind], p["units"]
        return 2 * t * k * h * (f + h)
    return flops


# each with the word `bidirectional` (bidirectional.py)
LAYERS = {kind: bidirectional(layer) for kind, layer in {
    "rnn": Layer(rnn_forward, rnn_backward, _initializer("rnn"), _flops("rnn")),
    "lstm": Layer(*_gated(lstm_last_state, lstm_steps, lstm_backward),
                  _initializer("lstm"), _flops("lstm")),
    "gru": Layer(*_gated(gru_last_state, gru_steps, gru_backward),
                 _initializer("gru"), _flops("gru"))}.items()}
