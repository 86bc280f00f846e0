"""The recurrent cells as their equations read, one step at a time, in (batch,
time) order: what recurrent.py's loops compute in time-major arrays in place,
for tests (the equations test holds the loops to these in float64) and for
readers. Layouts as recurrent.py's: W (features, k*units), U (units,
k*units), gates lstm (i, f, g, o) and gru (r, z, n), gru's second bias `rb`
inside its reset gate; bidirectional, the same cell of the reverse weights
(W_r, ...) over the reversed sequence, concatenated after the forward's."""
import numpy as np

from ...lang.kinds.recurrent import directions
from ..activations import forward as act


def _sigmoid(z):
    return act("sigmoid", z)


def _project(w, x):
    n, t, f = x.shape
    xw = (x.reshape(n * t, f) @ w["W"]).reshape(n, t, -1)
    return xw + w["b"] if "b" in w else xw


def _output(p, hs):
    return hs if p["return_sequences"] else hs[:, -1]


def reference(kind, p, w, x, mask=None):
    """Each kind's cell as its equations read, one step at a time, in (batch, time)
    order: what recurrent.py's loops compute, for tests and readers. mask:
    (batch, time) bool, the steps seen (embedding mask_zero=true); a masked
    step keeps the state (h and c) and outputs zeros; the backward direction
    reads the mask reversed with the steps."""
    ahead, back = directions(w)
    y = _one_way(kind, p, ahead, x, mask)
    if not p["bidirectional"]:
        return y
    y_back = _one_way(kind, p, back, x[:, ::-1], None if mask is None else mask[:, ::-1])
    if p["return_sequences"]:
        y_back = y_back[:, ::-1]  # step t: the state after reading steps T-1 .. t
    return np.concatenate([y, y_back], axis=-1)


def _one_way(kind, p, w, x, mask=None):
    n, t, _ = x.shape
    h_n = p["units"]
    h = np.zeros((n, h_n), x.dtype)
    c = np.zeros((n, h_n), x.dtype)
    xw = _project(w, x)
    hs = []
    for s in range(t):
        h_before, c_before = h, c
        hu = h @ w["U"] + (w["rb"] if "rb" in w else 0)
        if kind == "rnn":
            h = np.tanh(xw[:, s] + hu)
        elif kind == "lstm":
            z = xw[:, s] + hu
            i, f, o = (_sigmoid(z[:, k * h_n:(k + 1) * h_n]) for k in (0, 1, 3))
            c = f * c + i * np.tanh(z[:, 2 * h_n:3 * h_n])
            h = o * np.tanh(c)
        else:
            r = _sigmoid(xw[:, s, :h_n] + hu[:, :h_n])
            z = _sigmoid(xw[:, s, h_n:2 * h_n] + hu[:, h_n:2 * h_n])
            nn = np.tanh(xw[:, s, 2 * h_n:] + r * hu[:, 2 * h_n:])
            h = (1 - z) * nn + z * h
        if mask is not None:
            seen = mask[:, s, None]
            h, c = np.where(seen, h, h_before), np.where(seen, c, c_before)
            hs.append(np.where(seen, h, 0))
        else:
            hs.append(h)
    if mask is not None and not p["return_sequences"]:
        return h
    return _output(p, np.stack(hs, axis=1))
