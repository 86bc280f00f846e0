"""What the recurrent layers share: the input projection of every step as one
matmul into time-major arrays (each step's rows contiguous, which the step
loops read and write in place), the output of the last or every state, and
backward's weight and input gradients as single matmuls over all steps.

Masked steps (embedding mask_zero=true) keep the state: after a step's cell,
a row whose step is masked gets the previous state back (h_t = h_{t-1}, and
the lstm's c_t = c_{t-1}), so the last state is the one after the last seen
step, as the cell run over the seen steps alone gives; every state's output
is zero at masked steps. Backward splits the gradient on a step's state: the
seen rows' part goes through the cell, the masked rows' part straight on to
the previous state. Without a mask the loops do nothing of this."""
from typing import NamedTuple

import numpy as np

CHUNK_BYTES = 1 << 20  # the input projections inference of the last state computes at a time


def reverse_time(a):
    """(batch, time, ...) read from its last step: a view, no copy. Reversing a
    whole sequence is what a bidirectional layer's backward direction reads, and
    what it does to anything that goes with the steps (its outputs, their
    gradients; a mask, whose carried-over steps keep their meaning reversed)."""
    return a[:, ::-1]


class Steps(NamedTuple):
    """A mask over the steps, time-major, as the loops read it."""

    hidden: object  # (time, batch, 1) bool: the masked rows of each step
    seen: object  # (time, batch, 1) of the states' dtype: 1 where a step is seen, else 0
    unseen: object  # 1 - seen


def step_mask(mask, dtype):
    """mode.mask (batch, time) bool -> Steps, or None without a mask."""
    if mask is None:
        return None
    hidden = ~mask.T[..., None]
    seen = (~hidden).astype(dtype)
    return Steps(hidden, seen, 1 - seen)


def keep_state(m, s, state, states):
    """A masked row of step s keeps its previous state (0 before the first step):
    state is step s's, states[s - 1] the one before."""
    np.copyto(state, states[s - 1] if s else 0, where=m.hidden[s])


def split_gradient(m, s, dh, keep):
    """dh (on step s's state) -> its seen rows' part, in place, and the masked
    rows', in keep, which goes straight to the previous state."""
    np.multiply(dh, m.unseen[s], out=keep)
    dh *= m.seen[s]


def sequence_output(p, hs, m=None):
    """Time-major states -> the layer's output (batch, time, units) or (batch, units),
    zero at masked steps."""
    if p["return_sequences"]:
        return (hs if m is None else hs * m.seen).transpose(1, 0, 2)
    return hs[-1]


def step_gradients(p, dy, hs, m=None):
    """(time-major gradients on every step's state or None, the running dh): with
    only the last state as output, dy starts dh and no step adds more. A masked
    step's output is zero, so it passes no gradient."""
    if p["return_sequences"]:
        dhs = dy.transpose(1, 0, 2)
        return (dhs if m is None else dhs * m.seen), np.zeros(hs.shape[1:], hs.dtype)
    return None, dy.astype(hs.dtype, copy=True)


def time_major_projection(w, x, mode, slot):
    """x (batch, time, features) -> x W + b as (time, batch, k), in mode's buffer
    `slot`: each step's rows contiguous, which the loops below read and write
    step by step."""
    n, t, f = x.shape
    k = w["W"].shape[1]
    xw = np.matmul(x.transpose(1, 0, 2).reshape(t * n, f), w["W"],
                   out=mode.empty(slot, (t * n, k), x.dtype))
    if "b" in w:
        xw += w["b"]
    return xw.reshape(t, n, k)


def weight_grads(w, x, hs, dxw, dhu, need_dx, mode):
    """(dx or None, {dW, db, dU, and gru's drb}) as whole-sequence matmuls, from the
    time-major states hs (time, batch, units) and the gradients on the input
    projections (dxw) and on the recurrent ones (dhu), (time, batch, k)."""
    n, t, f = x.shape
    k = dxw.shape[-1]
    hprev = mode.empty("hprev", hs.shape, hs.dtype)  # h_{t-1}, h_0 = 0
    hprev[0] = 0
    hprev[1:] = hs[:-1]
    xt = x.transpose(1, 0, 2).reshape(t * n, f)
    grads = {"W": xt.T @ dxw.reshape(t * n, k),
             "U": hprev.reshape(t * n, -1).T @ dhu.reshape(t * n, k)}
    if "b" in w:
        grads["b"] = dxw.sum(axis=(0, 1))
    if "rb" in w:
        grads["rb"] = dhu.sum(axis=(0, 1))
    dx = None
    if need_dx:
        dx = np.matmul(dxw.reshape(t * n, k), w["W"].T, out=mode.empty("dx", (t * n, f), x.dtype))
        dx = dx.reshape(t, n, f).transpose(1, 0, 2)
    return dx, grads
