"""The gru's steps (recurrent.py dispatches to them): gates r, z, n in PyTorch's
order, its second bias `rb` inside the reset gate (PyTorch's b_hh). Training
keeps every step's gates for backward; inference of the last state only the
step's."""
import numpy as np

from . import steps
from .steps import (keep_state, sequence_output, split_gradient, step_gradients, step_mask,
                    time_major_projection, weight_grads)


def _gru_step(g, h_prev, w, hu, tmp, hu_n, h):
    """One step of recurrent_reference.py's gru cell, in place: g is the step's
    input projection (becomes r, z, n), h_prev the previous state (None at the
    first step), hu_n gets h_prev U_n + rb_n (inside the reset gate, as backward
    needs it) and h the new state (it may be h_prev itself, which is read
    before h is written)."""
    h_n = hu_n.shape[1]
    if h_prev is not None:
        np.matmul(h_prev, w["U"], out=hu)
    else:
        hu[:] = 0
    if "rb" in w:
        hu += w["rb"]
    rz, nn = g[:, :2 * h_n], g[:, 2 * h_n:]
    rz += hu[:, :2 * h_n]
    rz *= 0.5  # sigmoid(v) = 0.5 tanh(0.5 v) + 0.5: one call for both gates
    np.tanh(rz, out=rz)
    rz *= 0.5
    rz += 0.5
    r, z = rz[:, :h_n], rz[:, h_n:]
    hu_n[...] = hu[:, 2 * h_n:]
    nn += np.multiply(r, hu_n, out=tmp)
    np.tanh(nn, out=nn)
    if h_prev is not None:  # h = n + z (h_prev - n)
        np.subtract(h_prev, nn, out=tmp)
    else:
        np.negative(nn, out=tmp)
    tmp *= z
    np.add(nn, tmp, out=h)


def gru_last_state(p, w, x, mode):
    """the gru's last state, kept alone, with the input projected a chunk of
    steps at a time, as lstm_last_state does and for its reason: the chunk's
    projections stay in the cache while the steps read them (benchmarks/README.md,
    "Fast paths")."""
    n, t, _ = x.shape
    h_n = p["units"]
    h, tmp, hu_n = (mode.empty(slot, (n, h_n), x.dtype) for slot in ("h", "tmp", "hu_n"))
    hu = mode.empty("hu", (n, 3 * h_n), x.dtype)
    chunk = max(1, steps.CHUNK_BYTES // hu.nbytes)
    for s in range(t):
        if s % chunk == 0:
            gates = time_major_projection(w, x[:, s:s + chunk], mode, "gates")
        _gru_step(gates[s % chunk], h if s else None, w, hu, tmp, hu_n, h)
    return h


def gru_steps(p, w, x, mode):
    """(output, cache): recurrent_reference.py's gru in time-major arrays with
    in-place calls (14 a step, from 22)."""
    n, t, _ = x.shape
    h_n = p["units"]
    m = step_mask(mode.mask, x.dtype)  # None without embedding mask_zero=true
    gates = time_major_projection(w, x, mode, "gates")  # becomes r, z, n, activated
    # h_{t-1} U_n + rb_n (inside the reset gate), and the states
    hu_steps, hs = (mode.empty(slot, (t, n, h_n), x.dtype) for slot in ("hu_steps", "hs"))
    hu = mode.empty("hu", (n, 3 * h_n), x.dtype)
    tmp = mode.empty("tmp", (n, h_n), x.dtype)
    for s in range(t):
        _gru_step(gates[s], hs[s - 1] if s else None, w, hu, tmp, hu_steps[s], hs[s])
        if m is not None:
            keep_state(m, s, hs[s], hs)
    return sequence_output(p, hs, m), (x, gates, hu_steps, hs, m, mode)


def gru_backward(p, w, cache, dy, need_dx):
    x, gates, hu_steps, hs, m, mode = cache
    t, n, h_n = hs.shape
    dhs, dh = step_gradients(p, dy, hs, m)
    # the gates' derivatives: s (1 - s) for r and z, 1 - n^2 for n
    deriv = np.subtract(1, gates, out=mode.empty("deriv", gates.shape, gates.dtype))
    deriv *= gates
    nn = gates[..., 2 * h_n:]
    np.multiply(nn, nn, out=deriv[..., 2 * h_n:])
    np.subtract(1, deriv[..., 2 * h_n:], out=deriv[..., 2 * h_n:])
    d_rz, d_n = deriv[..., :2 * h_n], deriv[..., 2 * h_n:]
    dxw, dhu = (mode.empty(slot, gates.shape, gates.dtype) for slot in ("dxw", "dhu"))
    kept = mode.empty("kept", (n, h_n), hs.dtype)
    if m is not None:
        keep = mode.empty("keep", (n, h_n), hs.dtype)
    for s in reversed(range(t)):
        if dhs is not None:
            dh += dhs[s]
        if m is not None:
            split_gradient(m, s, dh, keep)
        r, z, nn = gates[s, :, :h_n], gates[s, :, h_n:2 * h_n], gates[s, :, 2 * h_n:]
        dr, dz, dn = dxw[s, :, :h_n], dxw[s, :, h_n:2 * h_n], dxw[s, :, 2 * h_n:]
        np.multiply(dh, z, out=kept)  # what reaches h_{t-1} directly
        np.subtract(dh, kept, out=dn)  # dh (1 - z) (1 - n^2)
        dn *= d_n[s]
        np.multiply(dn, hu_steps[s], out=dr)
        dr *= d_rz[s, :, :h_n]
        if s:
            np.subtract(hs[s - 1], nn, out=dz)
        else:
            np.negative(nn, out=dz)
        dz *= dh
        dz *= d_rz[s, :, h_n:]
        dhu[s, :, :2 * h_n] = dxw[s, :, :2 * h_n]
        np.multiply(dn, r, out=dhu[s, :, 2 * h_n:])
        np.matmul(dhu[s], w["U"].T, out=dh)
        dh += kept
        if m is not None:
            dh += keep
    return weight_grads(w, x, hs, dxw, dhu, need_dx, mode)
