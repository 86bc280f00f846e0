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
import numpy as np

from ...lang.kinds.recurrent import GATES
from ..activations import forward as act
from .base import Layer, init_weights


def _initializer(kind):
    def init(p, in_shape, rng, dtype):
        f, h, k = in_shape[-1], p["units"], GATES[kind]
        w = init_weights(p, (f, k * h), f, k * h, rng, dtype)
        # the recurrent matrix: orthogonal per gate, as Keras and Saxe et al. advise
        blocks = [np.linalg.qr(rng.normal(size=(h, h)))[0] for _ in range(k)]
        w["U"] = np.concatenate(blocks, axis=1).astype(dtype)
        if kind == "lstm" and "b" in w:
            w["b"][h:2 * h] = 1  # forget gate open at the start (Jozefowicz et al.)
        if kind == "gru" and "b" in w:
            w["rb"] = np.zeros(k * h, dtype)
        return w
    return init


def _sigmoid(z):
    return act("sigmoid", z)


def _project(w, x):
    n, t, f = x.shape
    xw = (x.reshape(n * t, f) @ w["W"]).reshape(n, t, -1)
    return xw + w["b"] if "b" in w else xw


def _output(p, hs):
    return hs if p["return_sequences"] else hs[:, -1]


def _seq_dy(p, dy, shape):
    """The gradient on every step's state, from that on the layer's output."""
    if p["return_sequences"]:
        return dy
    full = np.zeros(shape, dy.dtype)
    full[:, -1] = dy
    return full


def _weight_grads(w, x, hs, dxw, dhu, need_dx):
    """(dx or None, {dW, db, dU, and gru's drb}) as whole-sequence matmuls, from the
    gradients on the input projections (dxw) and on the recurrent ones (dhu)."""
    n, t, f = x.shape
    hprev = np.concatenate([np.zeros_like(hs[:, :1]), hs[:, :-1]], axis=1)  # h_{t-1}, h_0 = 0
    k = dxw.shape[-1]
    grads = {"W": x.reshape(n * t, f).T @ dxw.reshape(n * t, k),
             "U": hprev.reshape(n * t, -1).T @ dhu.reshape(n * t, k)}
    if "b" in w:
        grads["b"] = dxw.sum(axis=(0, 1))
    if "rb" in w:
        grads["rb"] = dhu.sum(axis=(0, 1))
    dx = (dxw.reshape(n * t, k) @ w["W"].T).reshape(x.shape) if need_dx else None
    return dx, grads


def rnn_forward(p, w, x, mode):
    xw = _project(w, x)
    n, t, _ = x.shape
    hs = np.empty((n, t, p["units"]), x.dtype)
    h = np.zeros((n, p["units"]), x.dtype)
    for s in range(t):
        h = np.tanh(xw[:, s] + h @ w["U"])
        hs[:, s] = h
    return _output(p, hs), (x, hs)


def rnn_backward(p, w, cache, dy, need_dx):
    x, hs = cache
    dhs = _seq_dy(p, dy, hs.shape)
    dz = np.empty_like(hs)
    dh = np.zeros_like(hs[:, 0])
    for s in reversed(range(hs.shape[1])):
        dz[:, s] = (dhs[:, s] + dh) * (1 - hs[:, s] * hs[:, s])
        dh = dz[:, s] @ w["U"].T
    return _weight_grads(w, x, hs, dz, dz, need_dx)


def lstm_forward(p, w, x, mode):
    xw = _project(w, x)
    n, t, _ = x.shape
    h_n = p["units"]
    gates = np.empty((n, t, 4 * h_n), x.dtype)  # i, f, g, o after their activations
    cs = np.empty((n, t, h_n), x.dtype)
    hs = np.empty((n, t, h_n), x.dtype)
    h = np.zeros((n, h_n), x.dtype)
    c = np.zeros((n, h_n), x.dtype)
    for s in range(t):
        z = xw[:, s] + h @ w["U"]
        g = gates[:, s]
        g[:, :2 * h_n] = _sigmoid(z[:, :2 * h_n])
        g[:, 2 * h_n:3 * h_n] = np.tanh(z[:, 2 * h_n:3 * h_n])
        g[:, 3 * h_n:] = _sigmoid(z[:, 3 * h_n:])
        i, f, gg, o = np.split(g, 4, axis=1)
        c = f * c + i * gg
        h = o * np.tanh(c)
        cs[:, s], hs[:, s] = c, h
    return _output(p, hs), (x, gates, cs, hs)


def lstm_backward(p, w, cache, dy, need_dx):
    x, gates, cs, hs = cache
    n, t, h_n = hs.shape
    dhs = _seq_dy(p, dy, hs.shape)
    dz = np.empty_like(gates)
    dh = np.zeros((n, h_n), hs.dtype)
    dc = np.zeros((n, h_n), hs.dtype)
    for s in reversed(range(t)):
        i, f, g, o = np.split(gates[:, s], 4, axis=1)
        tc = np.tanh(cs[:, s])
        dh = dhs[:, s] + dh
        dc = dc + dh * o * (1 - tc * tc)
        c_prev = cs[:, s - 1] if s else np.zeros_like(dc)
        dz[:, s, :h_n] = dc * g * i * (1 - i)
        dz[:, s, h_n:2 * h_n] = dc * c_prev * f * (1 - f)
        dz[:, s, 2 * h_n:3 * h_n] = dc * i * (1 - g * g)
        dz[:, s, 3 * h_n:] = dh * tc * o * (1 - o)
        dc = dc * f
        dh = dz[:, s] @ w["U"].T
    return _weight_grads(w, x, hs, dz, dz, need_dx)


def gru_forward(p, w, x, mode):
    xw = _project(w, x)
    n, t, _ = x.shape
    h_n = p["units"]
    rzn = np.empty((n, t, 3 * h_n), x.dtype)  # r, z, n after their activations
    hus = np.empty((n, t, h_n), x.dtype)  # h_{t-1} U_n + rb_n, inside the reset gate
    hs = np.empty((n, t, h_n), x.dtype)
    h = np.zeros((n, h_n), x.dtype)
    for s in range(t):
        hu = h @ w["U"]
        if "rb" in w:
            hu += w["rb"]
        g = rzn[:, s]
        g[:, :2 * h_n] = _sigmoid(xw[:, s, :2 * h_n] + hu[:, :2 * h_n])
        r, z = g[:, :h_n], g[:, h_n:2 * h_n]
        g[:, 2 * h_n:] = np.tanh(xw[:, s, 2 * h_n:] + r * hu[:, 2 * h_n:])
        hus[:, s] = hu[:, 2 * h_n:]
        h = (1 - z) * g[:, 2 * h_n:] + z * h
        hs[:, s] = h
    return _output(p, hs), (x, rzn, hus, hs)


def gru_backward(p, w, cache, dy, need_dx):
    x, rzn, hus, hs = cache
    n, t, h_n = hs.shape
    dhs = _seq_dy(p, dy, hs.shape)
    dxw = np.empty_like(rzn)
    dhu = np.empty_like(rzn)
    dh = np.zeros((n, h_n), hs.dtype)
    for s in reversed(range(t)):
        r, z, nn = np.split(rzn[:, s], 3, axis=1)
        h_prev = hs[:, s - 1] if s else np.zeros_like(dh)
        dh = dhs[:, s] + dh
        dn = dh * (1 - z) * (1 - nn * nn)
        dr = dn * hus[:, s] * r * (1 - r)
        dzz = dh * (h_prev - nn) * z * (1 - z)
        dxw[:, s, :h_n], dxw[:, s, h_n:2 * h_n], dxw[:, s, 2 * h_n:] = dr, dzz, dn
        dhu[:, s, :h_n], dhu[:, s, h_n:2 * h_n], dhu[:, s, 2 * h_n:] = dr, dzz, dn * r
        dh = dh * z + dhu[:, s] @ w["U"].T
    return _weight_grads(w, x, hs, dxw, dhu, need_dx)


def _flops(kind):
    def flops(p, in_shape, out_shape):
        t, f = in_shape
        k, h = GATES[kind], p["units"]
        return 2 * t * k * h * (f + h)
    return flops


LAYERS = {"rnn": Layer(rnn_forward, rnn_backward, _initializer("rnn"), _flops("rnn")),
          "lstm": Layer(lstm_forward, lstm_backward, _initializer("lstm"), _flops("lstm")),
          "gru": Layer(gru_forward, gru_backward, _initializer("gru"), _flops("gru"))}
