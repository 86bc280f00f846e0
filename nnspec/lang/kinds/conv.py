"""2-D convolution, channels-last, by im2col, with optional stride and dilation.

Forward gathers every receptive field into one matrix and does a single
matmul. Backward is two matmuls plus a col2im that loops over the kernel's
kh*kw offsets adding strided slices, so there is no scatter-add and no Python
loop over samples or pixels. The input gradient's matmul writes each offset's
(or, for few channels, each offset and channel's) part as one contiguous
block, so each add runs over whole rows of the image: numpy pays per inner
loop, and adding c = 32 values at a time made col2im 2.5x slower.

The gather has two layouts, whichever copies faster (measured on this
project's 2-core VM): for inputs with few channels (an image's first layer) a
loop over the kh*kw offsets copies whole contiguous planes into a
(kh*kw*c, positions) matrix, and the matmuls take its transpose for free;
with more channels, a strided window view copied once into (positions,
kh*kw*c) is faster.
"""
from ..signature import Opt, Signature, Word
from .base import ACTIVATION, WEIGHT_OPTIONS, Kind, ShapeProblem, fmt_shape, kernel_and_bias


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
        raise ShapeProblem(f"needs an HxWxC input, got {fmt_shape(in_shape)}")
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


KINDS = {"conv": Kind(SIGNATURE, shape, weights)}
