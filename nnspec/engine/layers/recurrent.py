"""Recurrent layers over (batch, time, features): rnn, lstm and gru.

Each step is h_t = cell(x_t, h_{t-1}) from h_0 = 0; recurrent_reference.py
writes the cells as their equations read. The input projections of all steps
are one matmul before the loop (x @ W), so the loop over time does only the
recurrent matmul and the gates; backward through time loops back over the
steps for the gate gradients and then forms dW, dU and dx as single matmuls
over all steps. The loops keep time-major arrays (each step's rows contiguous)
and work in place, since numpy's per-call cost is most of a small step: on the
benchmark's LSTM 64 over 32 steps (batch 64) this took training from 12.2k to
22.5k samples/s and prediction from 23.6k to 51.5k (python
benchmarks/vs_torch.py --nets lstm,gru). Their arrays of all steps come from
the pass's buffers (Mode.empty), as the conv layers' do: allocated afresh,
each megabyte was unmapped and page-faulted back every step, and the
benchmark's LSTM and GRU trained 2.08x and 1.89x faster with buffers (8.9k ->
18.7k and 8.5k -> 16.1k samples/s, alternated in one process). Layouts follow
PyTorch: W (features, k*units), U (units, k*units), gates in order lstm (i, f,
g, o) and gru (r, z, n); gru has a second bias `rb` inside its reset gate, as
PyTorch's b_hh. The output is the last state (batch, units), or every state
(batch, time, units) with return_sequences=true.
"""
import numpy as np

from ...lang.kinds.recurrent import GATES
from .. import init as initializers
from .base import Layer, init_weights


def _initializer(kind):
    def init(p, in_shape, rng, dtype):
        f, h, k = in_shape[-1], p["units"], GATES[kind]
        w = init_weights(p, (f, k * h), f, k * h, rng, dtype)
        # the recurrent matrix: orthogonal per gate, as Keras and Saxe et al. advise
        blocks = [np.linalg.qr(rng.normal(size=(h, h)))[0] for _ in range(k)]
        w["U"] = np.concatenate(blocks, axis=1).astype(dtype)
        if kind == "lstm" and "b" in w and not p.get("bias_init"):
            w["b"][h:2 * h] = 1  # forget gate open at the start (Jozefowicz et al.)
        if kind == "gru" and "b" in w:  # the second bias takes bias_init too
            w["rb"] = initializers.weights(p.get("bias_init") or "zeros", rng, (k * h,), f, k * h, dtype)
        return w
    return init


def rnn_forward(p, w, x, mode):
    n, t, _ = x.shape
    hs = _time_major_projection(w, x, mode, "hs")  # becomes every step's state, in place
    hu = mode.empty("hu", hs.shape[1:], x.dtype)
    for s in range(t):
        if s:
            hs[s] += np.matmul(hs[s - 1], w["U"], out=hu)
        np.tanh(hs[s], out=hs[s])
    return _sequence_output(p, hs), (x, hs, mode)


def rnn_backward(p, w, cache, dy, need_dx):
    x, hs, mode = cache
    dhs, dh = _step_gradients(p, dy, hs)
    dz = np.multiply(hs, hs, out=mode.empty("dz", hs.shape, hs.dtype))
    np.subtract(1, dz, out=dz)  # tanh's derivative, then each step's gradient on its sum
    for s in reversed(range(hs.shape[0])):
        if dhs is not None:
            dh += dhs[s]
        dz[s] *= dh
        if s:
            np.matmul(dz[s], w["U"].T, out=dh)
    return _weight_grads(w, x, hs, dz, dz, need_dx, mode)


def _sequence_output(p, hs):
    """Time-major states -> the layer's output (batch, time, units) or (batch, units)."""
    return hs.transpose(1, 0, 2) if p["return_sequences"] else hs[-1]


def _step_gradients(p, dy, hs):
    """(time-major gradients on every step's state or None, the running dh): with
    only the last state as output, dy starts dh and no step adds more."""
    if p["return_sequences"]:
        return dy.transpose(1, 0, 2), np.zeros(hs.shape[1:], hs.dtype)
    return None, dy.astype(hs.dtype, copy=True)


def _time_major_projection(w, x, mode, slot):
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


CHUNK_BYTES = 1 << 20  # the input projections inference computes at a time


def _lstm_last_state(p, w, x, mode):
    """the lstm's last state without the every-step states training keeps for
    backward: inference holds only this step's c and h, and projects the input
    a chunk of steps at a time (about CHUNK_BYTES of gates, which stay in the
    cache while the steps read them). The benchmark's LSTM 64 over 32 steps
    predicted 1.15x to 1.2x faster so (48k -> 55k samples/s, then 55k -> 60-65k
    with chunks of 1 step at 1024 samples a pass, 4 at 256; alternated in one
    process, python benchmarks/vs_torch.py --nets lstm)."""
    n, t, _ = x.shape
    h_n = p["units"]
    a, b = _lstm_gate_scales(h_n, x.dtype)
    c, tc, h, ig = (mode.empty(slot, (n, h_n), x.dtype) for slot in ("c", "tc", "h", "ig"))
    hu = mode.empty("hu", (n, 4 * h_n), x.dtype)
    chunk = max(1, CHUNK_BYTES // hu.nbytes)
    for s in range(t):
        if s % chunk == 0:
            gates = _time_major_projection(w, x[:, s:s + chunk], mode, "gates")
        i, f, g, o = _lstm_gates(gates[s % chunk], h if s else None, w["U"], hu, a, b)
        if s:
            c *= f
            c += np.multiply(i, g, out=ig)
        else:
            np.multiply(i, g, out=c)
        np.tanh(c, out=tc)
        np.multiply(o, tc, out=h)
    return h


def _lstm_steps(p, w, x, mode):
    """(output, cache): every step's gates and states, as backward needs them:
    recurrent_reference.py's lstm cell, step by step in time-major arrays with
    in-place numpy calls, 11 a step instead of 25 (the benchmark's LSTM 64 over
    32 steps spends nearly all its time in them)."""
    n, t, _ = x.shape
    h_n = p["units"]
    gates = _time_major_projection(w, x, mode, "gates")  # becomes i, f, g, o, activated
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
    return _sequence_output(p, hs), (x, gates, cs, tcs, hs, mode)


def lstm_backward(p, w, cache, dy, need_dx):
    x, gates, cs, tcs, hs, mode = cache
    t, n, h_n = hs.shape
    dhs, dh = _step_gradients(p, dy, hs)
    # each gate's activation derivative: s (1 - s) for i, f, o; 1 - g^2 for g
    deriv = np.subtract(1, gates, out=mode.empty("deriv", gates.shape, gates.dtype))
    deriv *= gates
    g = gates[..., 2 * h_n:3 * h_n]
    np.multiply(g, g, out=deriv[..., 2 * h_n:3 * h_n])
    np.subtract(1, deriv[..., 2 * h_n:3 * h_n], out=deriv[..., 2 * h_n:3 * h_n])
    dz = mode.empty("dz", gates.shape, gates.dtype)
    dc = mode.zeros("dc", (n, h_n), hs.dtype)
    tmp = mode.empty("tmp", (n, h_n), hs.dtype)
    for s in reversed(range(t)):
        if dhs is not None:
            dh += dhs[s]
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
    return _weight_grads(w, x, hs, dz, dz, need_dx, mode)


def _weight_grads(w, x, hs, dxw, dhu, need_dx, mode):
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


def _gru_step(g, h_prev, w, hu, tmp, hus, h):
    """One step of recurrent_reference.py's gru cell, in place: g is the step's
    input projection (becomes r, z, n), h_prev the previous state (None at the
    first step), hus gets h_prev U_n + rb_n (inside the reset gate, as backward
    needs it) and h the new state (it may be h_prev itself, which is read
    before h is written)."""
    h_n = hus.shape[1]
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
    hus[...] = hu[:, 2 * h_n:]
    nn += np.multiply(r, hus, out=tmp)
    np.tanh(nn, out=nn)
    if h_prev is not None:  # h = n + z (h_prev - n)
        np.subtract(h_prev, nn, out=tmp)
    else:
        np.negative(nn, out=tmp)
    tmp *= z
    np.add(nn, tmp, out=h)


def _gru_last_state(p, w, x, mode):
    """the gru's last state, kept alone, with the input projected a chunk of
    steps at a time, as _lstm_last_state does: the benchmark's GRU 64 over 32
    steps predicted 52-54k -> 63-66k samples/s (alternated in one process)."""
    n, t, _ = x.shape
    h_n = p["units"]
    h, tmp, hus = (mode.empty(slot, (n, h_n), x.dtype) for slot in ("h", "tmp", "hus"))
    hu = mode.empty("hu", (n, 3 * h_n), x.dtype)
    chunk = max(1, CHUNK_BYTES // hu.nbytes)
    for s in range(t):
        if s % chunk == 0:
            rzn = _time_major_projection(w, x[:, s:s + chunk], mode, "rzn")
        _gru_step(rzn[s % chunk], h if s else None, w, hu, tmp, hus, h)
    return h


def _gru_steps(p, w, x, mode):
    """(output, cache): recurrent_reference.py's gru in time-major arrays with
    in-place calls (14 a step, from 22)."""
    n, t, _ = x.shape
    h_n = p["units"]
    rzn = _time_major_projection(w, x, mode, "rzn")  # becomes r, z, n, activated
    # h_{t-1} U_n + rb_n (inside the reset gate), and the states
    hus, hs = (mode.empty(slot, (t, n, h_n), x.dtype) for slot in ("hus", "hs"))
    hu = mode.empty("hu", (n, 3 * h_n), x.dtype)
    tmp = mode.empty("tmp", (n, h_n), x.dtype)
    for s in range(t):
        _gru_step(rzn[s], hs[s - 1] if s else None, w, hu, tmp, hus[s], hs[s])
    return _sequence_output(p, hs), (x, rzn, hus, hs, mode)


def gru_backward(p, w, cache, dy, need_dx):
    x, rzn, hus, hs, mode = cache
    t, n, h_n = hs.shape
    dhs, dh = _step_gradients(p, dy, hs)
    # the gates' derivatives: s (1 - s) for r and z, 1 - n^2 for n
    deriv = np.subtract(1, rzn, out=mode.empty("deriv", rzn.shape, rzn.dtype))
    deriv *= rzn
    nn = rzn[..., 2 * h_n:]
    np.multiply(nn, nn, out=deriv[..., 2 * h_n:])
    np.subtract(1, deriv[..., 2 * h_n:], out=deriv[..., 2 * h_n:])
    d_rz, d_n = deriv[..., :2 * h_n], deriv[..., 2 * h_n:]
    dxw, dhu = (mode.empty(slot, rzn.shape, rzn.dtype) for slot in ("dxw", "dhu"))
    kept = mode.empty("kept", (n, h_n), hs.dtype)
    for s in reversed(range(t)):
        if dhs is not None:
            dh += dhs[s]
        r, z, nn = rzn[s, :, :h_n], rzn[s, :, h_n:2 * h_n], rzn[s, :, 2 * h_n:]
        dr, dz, dn = dxw[s, :, :h_n], dxw[s, :, h_n:2 * h_n], dxw[s, :, 2 * h_n:]
        np.multiply(dh, z, out=kept)  # what reaches h_{t-1} directly
        np.subtract(dh, kept, out=dn)  # dh (1 - z) (1 - n^2)
        dn *= d_n[s]
        np.multiply(dn, hus[s], out=dr)
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
    return _weight_grads(w, x, hs, dxw, dhu, need_dx, mode)


def _gated(last_state, steps, backward):
    """A gated layer's (forward, backward): inference of the last state alone
    runs last_state, which keeps only the step's state; backward after it
    (seldom asked for) runs the steps again, from x and the pass's mode."""
    def forward(p, w, x, mode):
        if not mode.training and not p["return_sequences"]:
            return last_state(p, w, x, mode), (x, mode)
        return steps(p, w, x, mode)

    def backward_any(p, w, cache, dy, need_dx):
        if len(cache) == 2:  # an inference pass's: x and its mode
            cache = steps(p, w, *cache)[1]
        return backward(p, w, cache, dy, need_dx)
    return forward, backward_any


def _flops(kind):
    def flops(p, in_shape, out_shape):
        t, f = in_shape
        k, h = GATES[kind], p["units"]
        return 2 * t * k * h * (f + h)
    return flops


LAYERS = {"rnn": Layer(rnn_forward, rnn_backward, _initializer("rnn"), _flops("rnn")),
          "lstm": Layer(*_gated(_lstm_last_state, _lstm_steps, lstm_backward),
                        _initializer("lstm"), _flops("lstm")),
          "gru": Layer(*_gated(_gru_last_state, _gru_steps, gru_backward),
                       _initializer("gru"), _flops("gru"))}
