"""How a 2-D convolution is written, the shape it gives and its weights.

`conv KHxKWxFILTERS [valid|same|full] [activation] stride=S dilation=D`, channels
last; input channels are inferred. 'same' pads as TensorFlow does (output
ceil(size / stride), the extra row or column after), 'full' by span - 1 on
each side. W is (kh, kw, in_channels, filters), b (filters,). The padding
arithmetic here is the engine's too (engine/layers/conv.py).
"""
from ..signature import Opt, Signature, Word
from .base import ACTIVATION, WEIGHT_OPTIONS, Kind, ShapeProblem, kernel_and_bias

SIGNATURE = Signature(
    usage="conv KHxKWxFILTERS [same|valid|full] [activation] [stride=..] [dilation=..] [lr=..] ...",
    words=(
        Word("kernel", "dims", ranks=(3,), required=True),
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


def span(p):
    """The kernel's extent on the input: a dilated kernel spreads its taps apart."""
    kh, kw, _ = p["kernel"]
    d = p["dilation"]
    return (kh - 1) * d + 1, (kw - 1) * d + 1


def shape(p, in_shape):
    _, _, f = p["kernel"]
    kh, kw = span(p)
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
    kh, kw, f = p["kernel"]
    return kernel_and_bias(p, (kh, kw, in_shape[-1], f))


KINDS = {"conv": Kind(SIGNATURE, shape, weights, example="input 5x5x2\nconv 3x3x2 same relu")}
