"""What every layer kind provides, and the options layers with weights share.

A layer kind is plain functions, no state:
    shape(p, in_shape) -> out_shape          raises ShapeProblem("needs ...")
    init(p, in_shape, rng, dtype) -> {"W": ..., "b": ...}
    forward(p, w, x, mode) -> (y, cache)
    backward(p, w, cache, dy, need_dx) -> (dx or None, {"W": dW, ...})
`p` is the node's parameter dict, `w` its weights by short name, `mode` a
Mode (training or not, and the pass's random numbers). backward must not
write into dy: a merge hands one array to several inputs. Shapes exclude
the batch axis; arrays include it: (batch, h, w, c) or (batch, n).

Each layer kind with weights declares them, without allocating anything:
    weights(p, in_shape) -> ((short name, shape, role), ...)
and init must return exactly those. The role says what a weight is for, and
everything that cares asks the role, never the name (see ROLES):
penalties, weight decay, what is trained, what a bundle must hold. Weights of
role "statistic" (batch norm's running statistics) are not trained: backward
gives no gradient for them, and forward updates them in place while
training. They are saved with the others.
"""
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import activations, init
from ..signature import Opt, Signature, Word


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


# role -> (the l1 and l2 options that penalise it, whether AdamW decays it, trained).
# l1=/l2= reach every weight matrix (kernels, recurrent kernels, embedding
# tables), l1_bias=/l2_bias= every bias; norm scales and shifts and running
# statistics take no penalty, as in Keras and PyTorch's usual parameter groups.
ROLES = {
    "kernel": (("l1", "l2"), True, True),
    "recurrent": (("l1", "l2"), True, True),
    "embedding": (("l1", "l2"), True, True),
    "bias": (("l1_bias", "l2_bias"), False, True),
    "norm": ((), False, True),
    "statistic": ((), False, False),
}


class ShapeProblem(ValueError):
    """Raised by a shape rule; shapes.py adds the layer, location and input."""


@dataclass(frozen=True)
class LayerType:
    signature: Signature
    shape: Callable
    init: Callable = None
    forward: Callable = None
    backward: Callable = None
    merge: bool = False  # takes several inputs, as lists (layers/merge.py)
    flops: Callable = None  # flops(p, in_shape, out_shape) -> per sample; None: elementwise
    weights: Callable = None  # weights(p, in_shape) -> ((short, shape, role), ...)
    owns_output: bool = False  # forward's output is a new array (or its own buffer), no view
    couples_batch: bool = False  # a sample's output depends on the others' (batch norm)
    # reads(p, in_shape, out_shape) -> (rows, cols): the leading rows and columns of
    # an HxWxC input that the layer's windows cover (pooling leaves the rest)
    reads: Callable = None
    # needs(p, rows, cols) -> (rows, cols): the leading input rows and columns that
    # give the first rows x cols outputs; None where that is not a plain crop
    needs: Callable = None


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
        self._rng = None

    def part(self, r, buffers):
        """The Mode of the r-th part of a batch split among threads: its own
        buffers, and random numbers from its own child of this seed."""
        seed = self.seed
        if seed is not None:
            if not isinstance(seed, np.random.SeedSequence):
                seed = np.random.SeedSequence(seed)
            seed = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key + (r,))
        return Mode(self.training, seed, buffers)

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

    @property
    def rng(self):
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return self._rng



ACTIVATION = Word("activation", "choice", activations.NAMES, default="linear")

WEIGHT_OPTIONS = (
    Opt("lr", float, None, minimum=0.0),
    Opt("l1", float, None, minimum=0.0),
    Opt("l2", float, None, minimum=0.0),
    Opt("l1_bias", float, None, minimum=0.0),
    Opt("l2_bias", float, None, minimum=0.0),
    Opt("init", str, None, read=init.read_option),
    Opt("bias", bool, True),
)


def kernel_and_bias(p, shape):
    """The declaration of a weight matrix W of `shape` and, unless bias=false, its bias b."""
    return (("W", tuple(shape), "kernel"),) + ((("b", (shape[-1],), "bias"),)
                                               if p.get("bias", True) else ())


def init_weights(p, shape, fan_in, fan_out, rng, dtype):
    """W from the layer's initializer, b zeros (when the layer has a bias)."""
    name = p.get("init") or init.default_for(p.get("activation"))
    out = {"W": init.weights(name, rng, shape, fan_in, fan_out, dtype)}
    if p.get("bias", True):
        out["b"] = init.weights("zeros", rng, (shape[-1],), fan_in, fan_out, dtype)
    return out


def fmt_shape(shape):
    return "x".join(str(d) for d in shape)
