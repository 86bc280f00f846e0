"""How pooling is written and the shapes it gives: `maxpool K` or `KHxKW` with
an optional stride (the window by default), windows that fit wholly inside the
input; `globalmaxpool` and `globalavgpool` reduce every axis but the last."""
from ..signature import Opt, Signature, Word
from .base import Kind, ShapeProblem, fmt_shape


def _signature(kind):
    return Signature(usage=f"{kind} KHxKW [stride=S]   (or {kind} K for KxK)",
                     words=(Word("window", "size", required=True),),
                     options=(Opt("stride", int, None, minimum=1),))


def stride(p):
    return (p["stride"], p["stride"]) if p["stride"] else p["window"]


def shape(p, in_shape):
    kh, kw = p["window"]
    sh, sw = stride(p)
    if len(in_shape) != 3:
        raise ShapeProblem(f"needs an HxWxC input, got {fmt_shape(in_shape)}")
    h, w, c = in_shape
    if h < kh or w < kw:
        raise ShapeProblem(f"needs at least {kh}x{kw} input")
    return ((h - kh) // sh + 1, (w - kw) // sw + 1, c)


def _global_signature(kind):
    return Signature(usage=kind)


def global_shape(p, in_shape):
    if len(in_shape) < 2:
        raise ShapeProblem(f"needs an input with a channel axis (HxWxC or TxF), "
                           f"got {fmt_shape(in_shape)}")
    return (in_shape[-1],)


KINDS = {"maxpool": Kind(_signature("maxpool"), shape, example="input 5x4x2\nmaxpool 2"),
         "avgpool": Kind(_signature("avgpool"), shape, example="input 5x4x2\navgpool 2 stride=1"),
         "globalmaxpool": Kind(_global_signature("globalmaxpool"), global_shape,
                               example="input 3x3x2\nglobalmaxpool"),
         "globalavgpool": Kind(_global_signature("globalavgpool"), global_shape,
                               example="input 3x2\nglobalavgpool")}
