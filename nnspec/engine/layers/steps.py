"""What the recurrent layers share: the input projection of every step as one
matmul into time-major arrays (each step's rows contiguous, which the step
loops read and write in place), the output of the last or every state, and
backward's weight and input gradients as single matmuls over all steps."""
import numpy as np

CHUNK_BYTES = 1 << 20  # the input projections inference of the last state computes at a time


def reverse_time(a):
    """(batch, time, ...) read from its last step: a view, no copy. Reversing a
    whole sequence is what a bidirectional layer's backward direction reads, and
    what it does to anything that goes with the steps (its outputs, their
    gradients; a mask, whose carried-over steps keep their meaning reversed)."""
    return a[:, ::-1]


def sequence_output(p, hs):
    """Time-major states -> the layer's output (batch, time, units) or (batch, units)."""
    return hs.transpose(1, 0, 2) if p["return_sequences"] else hs[-1]


def step_gradients(p, dy, hs):
    """(time-major gradients on every step's state or None, the running dh): with
    only the last state as output, dy starts dh and no step adds more."""
    if p["return_sequences"]:
        return dy.transpose(1, 0, 2), np.zeros(hs.shape[1:], hs.dtype)
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
