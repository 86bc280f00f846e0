"""Pooling as its definition reads: each output is the max or mean of its window
of the input, the window clipped to the input where padding would lie (so a max
never takes the padding, and a mean counts only the input's values). What
pool.py computes by reshapes, strided slices and separable passes, for tests
(the equations test holds pool.py's forward to this in float64) and readers."""
import numpy as np

from ...lang.kinds.pool import as_image, padding, stride


def pool(kind, p, x):
    """kind: "max" or "avg"; x (batch, h, w, c), or (batch, time, features) pooled
    over time as a (batch, time, 1, features) image is under a Kx1 window."""
    if x.ndim == 3:
        return pool(kind, as_image(p, x.shape[1:])[0], x[:, :, None])[:, :, 0]
    p, _ = as_image(p, x.shape[1:])  # K is KxK
    (kh, kw), (sh, sw) = p["window"], stride(p)
    (top, bottom), (left, right) = padding(p, x.shape[1:])
    oh = (x.shape[1] + top + bottom - kh) // sh + 1
    ow = (x.shape[2] + left + right - kw) // sw + 1
    reduce = np.max if kind == "max" else np.mean
    y = np.empty((len(x), oh, ow, x.shape[3]), x.dtype)
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - top, j * sw - left
            window = x[:, max(r0, 0):r0 + kh, max(c0, 0):c0 + kw]
            y[:, i, j] = reduce(window, axis=(1, 2))
    return y


def global_pool(kind, x):
    """Every axis but the batch and the last reduced."""
    axes = tuple(range(1, x.ndim - 1))
    return x.max(axis=axes) if kind == "max" else x.mean(axis=axes)
