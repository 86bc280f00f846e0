"""Convolution as its sum reads: for each kernel offset, the input shifted by it
(strided, dilated, from the padded input) times that offset's filter slice. What
conv.py computes by im2col and one matrix product, for tests (the equations
test holds conv.forward to this in float64) and for readers. Layouts as
conv.py's: x (batch, h, w, c), W (kh, kw, c, filters)."""
import numpy as np

from ...lang.kinds.conv import pads, span


def conv(p, w, x):
    kh, kw, _ = p["kernel"]
    (sh, sw), s, d = span(p), p["stride"], p["dilation"]
    n, h, wd, _ = x.shape
    (top, bottom), (left, right) = pads(h, sh, s, p["padding"]), pads(wd, sw, s, p["padding"])
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    oh = (xp.shape[1] - sh) // s + 1
    ow = (xp.shape[2] - sw) // s + 1
    y = np.zeros((n, oh, ow, w["W"].shape[-1]), x.dtype)
    for i in range(kh):
        for j in range(kw):
            shifted = xp[:, i * d:i * d + (oh - 1) * s + 1:s, j * d:j * d + (ow - 1) * s + 1:s]
            y += shifted @ w["W"][i, j]
    return y + w["b"] if "b" in w else y
