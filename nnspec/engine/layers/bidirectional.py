"""The word `bidirectional` on rnn, lstm and gru: a second cell, of its own
weights (W_r, U_r, b_r, rb_r), runs the one-direction layer's own forward
and backward over the sequence read from its end (reverse_time), and the two
directions' outputs are concatenated on the feature axis, forward's first:
the last states (forward's after the last step, backward's after step 0), or
with return_sequences=true at each step t both directions' states at t (the
backward one's sequence is reversed back), as PyTorch's bidirectional=True.
So both directions keep the inference fast path of the last state alone.
"""
import numpy as np

from ...lang.kinds.recurrent import directions, reverse
from .base import Layer
from .steps import reverse_time


class ReverseMode:
    """The pass, for the backward direction: everything as the mode's, but its
    buffers (Mode.empty) in slots of their own, so that the forward direction's,
    which its cache holds, are not written over, and its mask (embedding
    mask_zero=true) read from the last step, as the steps are: a masked step
    keeps the state, so the backward direction's last state is the one after
    the first seen step, as the cell run backward over the seen steps gives."""

    def __init__(self, mode):
        self.mode = mode

    @property
    def mask(self):
        mask = self.mode.mask
        return None if mask is None else reverse_time(mask)

    def __getattr__(self, name):
        return getattr(self.mode, name)

    def empty(self, slot, shape, dtype):
        return self.mode.empty("reverse " + slot, shape, dtype)

    def zeros(self, slot, shape, dtype):
        return self.mode.zeros("reverse " + slot, shape, dtype)


def _concat(parts, mode):
    shape = parts[0].shape[:-1] + (sum(a.shape[-1] for a in parts),)
    return np.concatenate(parts, axis=-1, out=mode.empty("both", shape, parts[0].dtype))


def bidirectional(layer):
    """A one-direction Layer -> the Layer that, where p["bidirectional"], runs it both ways."""
    def forward(p, w, x, mode):
        if not p["bidirectional"]:
            return layer.forward(p, w, x, mode)
        ahead, back = directions(w)
        y, cache = layer.forward(p, ahead, x, mode)
        y_back, cache_back = layer.forward(p, back, reverse_time(x), ReverseMode(mode))
        if p["return_sequences"]:
            y_back = reverse_time(y_back)  # step t holds the backward state at t
        return _concat([y, y_back], mode), (cache, cache_back)

    def backward(p, w, cache, dy, need_dx):
        if not p["bidirectional"]:
            return layer.backward(p, w, cache, dy, need_dx)
        ahead, back = directions(w)
        units = p["units"]
        dy_back = dy[..., units:]
        if p["return_sequences"]:
            dy_back = reverse_time(dy_back)
        dx, grads = layer.backward(p, ahead, cache[0], dy[..., :units], need_dx)
        dx_back, grads_back = layer.backward(p, back, cache[1], dy_back, need_dx)
        grads.update({reverse(k): v for k, v in grads_back.items()})
        return (dx + reverse_time(dx_back) if need_dx else None), grads

    def init(p, shapes, rng, dtype):
        w = layer.init(p, shapes, rng, dtype)  # the forward's, drawn first as without the word
        if p["bidirectional"]:
            ahead = {k: shapes[k] for k in w}
            w.update({reverse(k): v for k, v in layer.init(p, ahead, rng, dtype).items()})
        return w

    def flops(p, in_shape, out_shape):
        return layer.flops(p, in_shape, out_shape) * (2 if p["bidirectional"] else 1)

    return Layer(forward, backward, init, flops, layer.couples_batch)
