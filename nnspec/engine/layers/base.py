"""What the engine needs of a layer kind: plain functions, no state.

    init(p, shapes, rng, dtype) -> {"W": ..., "b": ...}  shapes: {short name: shape},
                                                        as the kind declares them
    forward(p, w, x, mode) -> (y, cache)    mode.mask: the steps it sees, or None
    backward(p, w, cache, dy, need_dx) -> (dx or None, {"W": dW, ...})
    flops(p, in_shape, out_shape) -> per sample (None: one per output value)

`p` is the node's parameter dict, `w` its weights by short name, `mode` a
Mode (training or not, and the pass's random numbers). backward must not
write into dy: a merge hands one array to several inputs. Arrays include the
batch axis: (batch, h, w, c) or (batch, n). How a kind is written, its shape
rule and its weights' shapes and roles are the language's (lang/kinds/).
"""
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import init


def _fold(rows, width):
    """How many rows to treat as one. numpy's loops over the rows of a (rows, width)
    array are slow when a row holds a few values (a bias over 2 filters: adding it
    to 65536 rows takes 12 times as long as to the same data as 128 rows of 1024),
    so such arrays are handled as (rows / r, r * width), r * width near 1024."""
    return math.gcd(rows, max(1, 1024 // max(width, 1)))


def add_bias(y, b):
    """y (rows, width) += b, in place."""
    r = _fold(*y.shape)
    if r > 1 and y.flags.c_contiguous:
        wide = y.reshape(-1, r * y.shape[1])  # a view: y is contiguous
        np.add(wide, np.tile(b, r), out=wide)
    else:
        y += b
    return y


def column_sums(d):
    """(rows, width) -> (width,): the gradient of a bias added to every row."""
    rows, width = d.shape
    r = _fold(rows, width)
    if r > 1 and d.flags.c_contiguous:
        return d.reshape(-1, r * width).sum(axis=0).reshape(r, width).sum(axis=0)
    return d.sum(axis=0)


@dataclass(frozen=True)
class Layer:
    forward: Callable
    backward: Callable
    init: Callable = None  # None: the kind has no weights
    flops: Callable = None
    # a sample's output depends on the others' (batch norm): a training step
    # split among threads sums its statistics over the parts (parallel.Team)
    couples_batch: bool = False


class Mode:
    """One forward pass: `training`, and `rng` for the layers that draw random
    numbers (dropout). The generator is made on first use from `seed` (a
    SeedSequence), so a pass is repeatable: a training step seeds it from the
    run's seed and the step number, which makes resuming exact.

    `buffers` (a dict, kept by the caller from pass to pass) lets layers reuse
    their large arrays: `empty(slot, shape, dtype)` hands back the memory it
    gave the same layer and slot last time when it is large enough. Without
    it every pass allocates afresh, and for arrays of megabytes that is slow:
    glibc returns them to the OS on free and every page faults back in. A
    buffer is valid until the same layer's next pass, so a caller that keeps
    buffers must copy what it keeps (graph.predict does).
    """

    def __init__(self, training=False, seed=None, buffers=None):
        self.training = training
        self.seed = seed
        self.buffers = buffers
        self.node = None  # the layer running now; set by the graph
        # (batch, time) bool: which steps of its input the layer running now sees,
        # in a network with embedding mask_zero=true (lang/masks.py), else None; set
        # by the graph, and a layer that reads it keeps it in its cache for backward
        self.mask = None
        # whether the layer running now is frozen (trainable=false): it computes as
        # at inference (batch norm by its running statistics) in a training pass
        self.frozen = False
        self._rng = None
        # a part of a batch split among threads: its rank, and the parallel.Team
        # through which a layer that needs the whole batch (batch norm) sums with
        # the other parts; None for a whole batch
        self.rank, self.team = 0, None
        # (node, slot) -> the most bytes of a scratch buffer the node asked for
        # (predict's staging counts them as the node's own, as before they were shared)
        self.scratch_bytes = {}

    def part(self, r, buffers, team=None):
        """The Mode of the r-th part of a batch split among threads: its own
        buffers, random numbers from its own child of this seed, and the team
        of parts it sums batch statistics with."""
        seed = self.seed
        if seed is not None:
            if not isinstance(seed, np.random.SeedSequence):
                seed = np.random.SeedSequence(seed)
            seed = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key + (r,))
        own = Mode(self.training, seed, buffers)
        own.rank, own.team = r, team
        return own

    def batch_sum(self, value):
        """value summed over every part of the batch (itself for a whole batch);
        each part gets the same sum."""
        return value if self.team is None else self.team.total(self.rank, value)

    def empty(self, slot, shape, dtype):
        if self.buffers is None:
            return np.empty(shape, dtype)
        key = (self.node, slot)
        shape = tuple(shape)
        buf = self.buffers.get(key)
        if buf is not None and buf.shape == shape and buf.dtype == dtype:
            return buf
        size = math.prod(shape)
        memory = None if buf is None else buf.base if buf.base is not None else buf
        if memory is None or memory.size < size or memory.dtype != dtype:
            memory = np.empty(size, dtype)
        # a smaller batch (an epoch's last) gets the front of the same memory
        buf = self.buffers[key] = memory[:size].reshape(shape)
        return buf

    def zeros(self, slot, shape, dtype):
        buf = self.empty(slot, shape, dtype)
        buf.fill(0)
        return buf

    def scratch(self, slot, shape, dtype):
        """As empty, but one buffer for every layer of the pass: for an array a
        layer needs only while it runs (a conv's im2col columns, which no cache
        keeps), so that a network holds one, not one a layer."""
        node, self.node = self.node, None
        try:
            buf = self.empty(slot, shape, dtype)
        finally:
            self.node = node
        key = (node, slot)
        self.scratch_bytes[key] = max(self.scratch_bytes.get(key, 0), buf.nbytes)
        return buf

    @property
    def rng(self):
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return self._rng



def init_weights(p, shape, fan_in, fan_out, rng, dtype):
    """W from the layer's initializer, b from bias_init (zeros by default; drawn
    after W, so a layer without bias_init draws as before), when it has a bias."""
    name = p.get("init") or init.default_for(p.get("activation"))
    out = {"W": init.weights(name, rng, shape, fan_in, fan_out, dtype)}
    if p.get("bias", True):
        out["b"] = init.weights(p.get("bias_init") or "zeros", rng, (shape[-1],), fan_in,
                                fan_out, dtype)
    return out
