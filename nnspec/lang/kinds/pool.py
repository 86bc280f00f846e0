"""How pooling is written and the shapes it gives: `maxpool K` or `KHxKW` with
an optional stride (the window by default); windows wholly inside the input
(`valid`, the default) or `same` padding, as TensorFlow pads (output
ceil(size / stride), the extra row or column after), where a max ignores the
padding and an average counts only the input's values, as Keras' do.
`globalmaxpool` and `globalavgpool` reduce every axis but the last."""
from ..signature import Opt, Signature, Word
from .base import mask_ends, Kind, ShapeProblem
from .conv import out_size, pads


def _signature(kind):
    return Signature(usage=f"{kind} KHxKW [valid|same] [stride=S]   (or {kind} K for KxK)",
                     words=(Word("window", "size", required=True),
                            Word("padding", "choice", ("valid", "same"), default="valid")),
                     options=(Opt("stride", int, None, minimum=1),))


def stride(p):
    return (p["stride"], p["stride"]) if p["stride"] else p["window"]


def padding(p, in_shape):
    """((top, bottom), (left, right)) of a pool's padding on an HxWxC input."""
    (kh, kw), (sh, sw) = p["window"], stride(p)
    mode = p.get("padding", "valid")
    return pads(in_shape[0], kh, sh, mode), pads(in_shape[1], kw, sw, mode)


def shape(p, in_shape):
    kh, kw = p["window"]
    sh, sw = stride(p)
    if len(in_shape) != 3:
        raise ShapeProblem("needs an HxWxC input")
    h, w, c = in_shape
    if p.get("padding", "valid") == "same":
        return (out_size(h, kh, sh, "same"), out_size(w, kw, sw, "same"), c)
    if h < kh or w < kw:
        raise ShapeProblem(f"needs at least {kh}x{kw} input")
    return ((h - kh) // sh + 1, (w - kw) // sw + 1, c)


def _global_signature(kind):
    return Signature(usage=kind)


def global_shape(p, in_shape):
    if len(in_shape) < 2:
        raise ShapeProblem("needs an input with a channel axis (HxWxC or TxF)")
    return (in_shape[-1],)


KINDS = {"maxpool": Kind(_signature("maxpool"), shape, example="input 5x4x2\nmaxpool 2 same"),
         "avgpool": Kind(_signature("avgpool"), shape,
                         example="input 5x4x2\navgpool 3 same stride=2"),
         # over a masked sequence: the max or mean of the unmasked steps
         "globalmaxpool": Kind(_global_signature("globalmaxpool"), global_shape,
                               example="input 3x3x2\nglobalmaxpool", masking=mask_ends),
         "globalavgpool": Kind(_global_signature("globalavgpool"), global_shape,
                               example="input 3x2\nglobalavgpool", masking=mask_ends)}
