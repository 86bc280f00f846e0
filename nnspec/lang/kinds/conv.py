"""How a convolution is written, the shape it gives and its weights.

`conv KHxKWxFILTERS [valid|same|full] [activation] stride=S dilation=D`, channels
last; input channels are inferred. `conv KxFILTERS ...` on a TIMExFEATURES
sequence is a 1-D convolution over time: a 2-D one over a TIMEx1xFEATURES image
with a Kx1 kernel (as_image), which is how the engine and the exports compute
it. Its W is (k, features, filters), Keras' Conv1D layout; as (k, 1, features,
filters) it is the same memory, so the engine reads it as a view. 'same' pads as TensorFlow does (output
ceil(size / stride), the extra row or column after), 'full' by span - 1 on
each side. W is (kh, kw, in_channels, filters), b (filters,). The padding
arithmetic here is the engine's too (engine/layers/conv.py).
"""
from ..signature import Opt, Signature, Word
from .base import ACTIVATION, WEIGHT_OPTIONS, Kind, ShapeProblem, kernel_and_bias

SIGNATURE = Signature(
    usage="conv KHxKWxFILTERS (on an image) or KxFILTERS (on a sequence) [same|valid|full] "
          "[activation] [stride=..] [dilation=..] [lr=..] ...",
    words=(
        Word("kernel", "dims", ranks=(2, 3), required=True),
        Word("padding", "choice", ("valid", "same", "full"), default="valid"),
        ACTIVATION,
    ),
    options=(Opt("stride", int, 1, minimum=1), Opt("dilation", int, 1, minimum=1)) + WEIGHT_OPTIONS,
)


def out_size(size, k, s, padding):
    if padding == "same":
        return -(-size // s)
    if padding == "full":
        return (size + k - 2) // s + 1
    return (size - k) // s + 1


def pads(size, k, s, padding):
    """(before, after) zero padding along one spatial axis."""
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return k - 1, k - 1
    total = max((out_size(size, k, s, "same") - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def is_1d(p):
    return len(p["kernel"]) == 2


def as_image(p, in_shape=None):
    """A 1-D conv's parameters (and input shape) as the 2-D conv that computes it:
    kernel (k, 1, filters) over a TIMEx1xFEATURES image. A 2-D conv's as they are."""
    if not is_1d(p):
        return p if in_shape is None else (p, in_shape)
    k, f = p["kernel"]
    p = {**p, "kernel": (k, 1, f)}
    return p if in_shape is None else (p, (in_shape[0], 1, *in_shape[1:]))


def span(p):
    """The kernel's extent on the input: a dilated kernel spreads its taps apart."""
    kh, kw, _ = as_image(p)["kernel"]
    d = p["dilation"]
    return (kh - 1) * d + 1, (kw - 1) * d + 1


def shape(p, in_shape):
    if is_1d(p):
        k, f = p["kernel"]
        if len(in_shape) == 1:  # shapes.py then says to write the input TIMEx1
            raise ShapeProblem(f"needs a TIMExFEATURES input (conv {k}x{f} is a 1-D convolution)")
        if len(in_shape) != 2:
            raise ShapeProblem(f"is a 1-D convolution (kernel {k}, {f} filters) and needs a "
                               f"TIMExFEATURES sequence; on an image write conv KHxKWxFILTERS, "
                               f"e.g. conv {k}x{k}x{f}")
        if min(p["kernel"]) < 1:
            raise ShapeProblem("needs a kernel of at least 1x1")
        k = span(p)[0]
        if p["padding"] == "valid" and in_shape[0] < k:
            raise ShapeProblem(f"needs at least {k} steps"
                               + (" (its dilated span)" if p["dilation"] > 1 else ""))
        h, _, f = shape(*as_image(p, in_shape))
        return h, f
    _, _, f = p["kernel"]
    kh, kw = span(p)
    if len(in_shape) == 2:
        raise ShapeProblem(f"needs an HxWxC input (over a TIMExFEATURES sequence write "
                           f"conv {p['kernel'][0]}x{f})")
    if len(in_shape) != 3:
        raise ShapeProblem("needs an HxWxC input")
    if min(p["kernel"]) < 1:
        raise ShapeProblem("needs a kernel of at least 1x1x1")
    h, w, _ = in_shape
    if p["padding"] == "valid" and (h < kh or w < kw):
        raise ShapeProblem(f"needs at least {kh}x{kw} input"
                           + (" (its dilated span)" if p["dilation"] > 1 else ""))
    s = p["stride"]
    return (out_size(h, kh, s, p["padding"]), out_size(w, kw, s, p["padding"]), f)


def weights(p, in_shape):
    if is_1d(p):
        k, f = p["kernel"]
        return kernel_and_bias(p, (k, in_shape[-1], f))
    kh, kw, f = p["kernel"]
    return kernel_and_bias(p, (kh, kw, in_shape[-1], f))


KINDS = {"conv": Kind(SIGNATURE, shape, weights, example="input 5x5x2\nconv 3x3x2 same relu")}
