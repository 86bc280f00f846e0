"""The lstm's steps (recurrent.py dispatches to them): training keeps every step's
gates and states for backward through time; inference of the last state keeps
only the step's. Gates in PyTorch's order i, f, g, o."""
import numpy as np

from . import steps
from .steps import (keep_state, sequence_output, split_gradient, step_gradients, step_mask,
                    time_major_projection, weight_grads)


def _lstm_gate_scales(h_n, dtype):
    """(a, b) with sigmoid(z) = a tanh(a z) + b on the i, f, o gates and tanh(z) = 1
    tanh(1 z) + 0 on g: one tanh call for all four gates instead of three
    activations over slices (the step's numpy calls are most of its time)."""
    a = np.full(4 * h_n, 0.5, dtype)
    a[2 * h_n:3 * h_n] = 1
    b = np.full(4 * h_n, 0.5, dtype)
    b[2 * h_n:3 * h_n] = 0
    return a, b


def _lstm_gates(z, h, u, hu, a, b):
    """A step's gates i, f, g, o, activated in place in z, its input projection:
    z += h U (h: the previous state, None at the first step), then sigmoid and
    tanh as a tanh (z a) + b (_lstm_gate_scales)."""
    if h is not None:
        z += np.matmul(h, u, out=hu)
    z *= a
    np.tanh(z, out=z)
    z *= a
    z += b
    h_n = z.shape[1] // 4
    return z[:, :h_n], z[:, h_n:2 * h_n], z[:, 2 * h_n:3 * h_n], z[:, 3 * h_n:]


def lstm_last_state(p, w, x, mode):
    """the lstm's last state without the every-step states training keeps for
    backward: inference holds only this step's c and h, and projects the input
    a chunk of steps at a time (about CHUNK_BYTES of gates, which stay in the
    cache while the steps read them), where projecting every step at once
    wrote them all to memory and read them back (benchmarks/README.md, "Fast
    paths")."""
    n, t, _ = x.shape
    h_n = p["units"]
    a, b = _lstm_gate_scales(h_n, x.dtype)
    c, tc, h, ig = (mode.empty(slot, (n, h_n), x.dtype) for slot in ("c", "tc", "h", "ig"))
    hu = mode.empty("hu", (n, 4 * h_n), x.dtype)
    chunk = max(1, steps.CHUNK_BYTES // hu.nbytes)
    for s in range(t):
        if s % chunk == 0:
            gates = time_major_projection(w, x[:, s:s + chunk], mode, "gates")
        i, f, g, o = _lstm_gates(gates[s % chunk], h if s else None, w["U"], hu, a, b)
        if s:
            c *= f
            c += np.multiply(i, g, out=ig)
        else:
            np.multiply(i, g, out=c)
        np.tanh(c, out=tc)
        np.multiply(o, tc, out=h)
    return h


def lstm_steps(p, w, x, mode):
    """(output, cache): every step's gates and states, as backward needs them:
    recurrent_reference.py's lstm cell, step by step in time-major arrays with
    in-place numpy calls, 11 a step instead of 25 (the benchmark's LSTM 64 over
    32 steps spends nearly all its time in them)."""
    n, t, _ = x.shape
    h_n = p["units"]
    m = step_mask(mode.mask, x.dtype)  # None without embedding mask_zero=true
    gates = time_major_projection(w, x, mode, "gates")  # becomes i, f, g, o, activated
    a, b = _lstm_gate_scales(h_n, x.dtype)
    # tanh(c) too, which backward needs
    cs, tcs, hs = (mode.empty(slot, (t, n, h_n), x.dtype) for slot in ("cs", "tcs", "hs"))
    hu = mode.empty("hu", (n, 4 * h_n), x.dtype)
    ig = mode.empty("ig", (n, h_n), x.dtype)
    for s in range(t):
        i, f, g, o = _lstm_gates(gates[s], hs[s - 1] if s else None, w["U"], hu, a, b)
        if s:
            np.multiply(f, cs[s - 1], out=cs[s])
            cs[s] += np.multiply(i, g, out=ig)
        else:
            np.multiply(i, g, out=cs[s])
        np.tanh(cs[s], out=tcs[s])
        np.multiply(o, tcs[s], out=hs[s])
        if m is not None:  # tcs[s] stays the cell's, which backward reads for seen rows
            keep_state(m, s, cs[s], cs)
            keep_state(m, s, hs[s], hs)
    return sequence_output(p, hs, m), (x, gates, cs, tcs, hs, m, mode)


def lstm_backward(p, w, cache, dy, need_dx):
    x, gates, cs, tcs, hs, m, mode = cache
    t, n, h_n = hs.shape
    dhs, dh = step_gradients(p, dy, hs, m)
    # each gate's activation derivative: s (1 - s) for i, f, o; 1 - g^2 for g
    deriv = np.subtract(1, gates, out=mode.empty("deriv", gates.shape, gates.dtype))
    deriv *= gates
    g = gates[..., 2 * h_n:3 * h_n]
    np.multiply(g, g, out=deriv[..., 2 * h_n:3 * h_n])
    np.subtract(1, deriv[..., 2 * h_n:3 * h_n], out=deriv[..., 2 * h_n:3 * h_n])
    dz = mode.empty("dz", gates.shape, gates.dtype)
    dc = mode.zeros("dc", (n, h_n), hs.dtype)
    tmp = mode.empty("tmp", (n, h_n), hs.dtype)
    if m is not None:
        keep_h, keep_c = (mode.empty(slot, (n, h_n), hs.dtype) for slot in ("keep_h", "keep_c"))
    for s in reversed(range(t)):
        if dhs is not None:
            dh += dhs[s]
        if m is not None:
            split_gradient(m, s, dh, keep_h)
            split_gradient(m, s, dc, keep_c)
        g4, d = gates[s], dz[s]
        i, f, g, o = g4[:, :h_n], g4[:, h_n:2 * h_n], g4[:, 2 * h_n:3 * h_n], g4[:, 3 * h_n:]
        np.multiply(tcs[s], tcs[s], out=tmp)  # dc += dh o (1 - tanh(c)^2)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp
        np.multiply(dc, g, out=d[:, :h_n])
        if s:
            np.multiply(dc, cs[s - 1], out=d[:, h_n:2 * h_n])
        else:
            d[:, h_n:2 * h_n] = 0
        np.multiply(dc, i, out=d[:, 2 * h_n:3 * h_n])
        np.multiply(dh, tcs[s], out=d[:, 3 * h_n:])
        d *= deriv[s]
        dc *= f
        if s:
            np.matmul(d, w["U"].T, out=dh)
        if m is not None:
            dc += keep_c
            dh += keep_h
    return weight_grads(w, x, hs, dz, dz, need_dx, mode)
