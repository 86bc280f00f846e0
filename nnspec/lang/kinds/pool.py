"""How pooling is written and the shapes it gives: `maxpool K` or `KHxKW` with
an optional stride (the window by default); windows wholly inside the input
(`valid`, the default) or `same` padding, as TensorFlow pads (output
ceil(size / stride), the extra row or column after), where a max ignores the
padding and an average counts only the input's values, as Keras' do.
On an HxWxC image `K` is a KxK window; on a TIMExFEATURES sequence `maxpool K`
pools K steps over time (Keras' MaxPooling1D), computed as a Kx1 window over a
TIMEx1xFEATURES image (as_image), as a 1-D conv is (kinds/conv.py). The window
is kept as written (an int K or a pair), so K prints back as K.
`globalmaxpool` and `globalavgpool` reduce every axis but the last."""
from ..signature import Opt, Signature, Word
from .base import mask_ends, Kind, ShapeProblem
from .conv import out_size, pads


def _signature(kind):
    return Signature(usage=f"{kind} KHxKW [valid|same] [stride=S]   (or {kind} K: KxK on an "
                           f"image, K steps on a TIMExFEATURES sequence)",
                     words=(Word("window", "window", required=True),
                            Word("padding", "choice", ("valid", "same"), default="valid")),
                     options=(Opt("stride", int, None, minimum=1),))


def as_image(p, in_shape):
    """(p, in_shape) as the 2-D pool over an HxWxC image that computes it: on an
    image K is KxK; a TIMExFEATURES sequence is a TIMEx1xFEATURES image under a
    Kx1 window, striding S steps over time and 1 across. Idempotent."""
    k = p["window"]
    if len(in_shape) == 2 and isinstance(k, int):
        s = p["stride"] or k
        return {**p, "window": (k, 1), "stride": (s, 1)}, (in_shape[0], 1, in_shape[1])
    return ({**p, "window": (k, k)} if isinstance(k, int) else p), tuple(in_shape)


def stride(p):
    """(sh, sw) of an image pool's p (as_image's): the window unless stride= says."""
    s = p["stride"]
    if not s:
        return p["window"]
    return s if isinstance(s, tuple) else (s, s)


def padding(p, in_shape):
    """((top, bottom), (left, right)) of a pool's padding on an HxWxC input; on a
    TIMExFEATURES one ((before, after), (0, 0)), time first."""
    p, in_shape = as_image(p, in_shape)
    (kh, kw), (sh, sw) = p["window"], stride(p)
    mode = p.get("padding", "valid")
    return pads(in_shape[0], kh, sh, mode), pads(in_shape[1], kw, sw, mode)


def _shape(kind):
    def shape(p, in_shape):
        k = p["window"]
        if len(in_shape) == 2 and not isinstance(k, int):
            raise ShapeProblem(f"needs an HxWxC input (over a TIMExFEATURES sequence write "
                               f"{kind} {k[0]})")
        if len(in_shape) == 1 and isinstance(k, int):  # shapes.py then says to write TIMEx1
            raise ShapeProblem(f"needs a TIMExFEATURES input ({kind} {k} pools over time) "
                               f"or an HxWxC image")
        if len(in_shape) not in (2, 3):
            raise ShapeProblem("needs an HxWxC input" + (" or a TIMExFEATURES sequence"
                                                        if isinstance(k, int) else ""))
        seq = len(in_shape) == 2
        p, in_shape = as_image(p, in_shape)
        (kh, kw), (sh, sw) = p["window"], stride(p)
        h, w, c = in_shape
        if p.get("padding", "valid") == "same":
            out = (out_size(h, kh, sh, "same"), out_size(w, kw, sw, "same"), c)
        elif h < kh or w < kw:
            raise ShapeProblem(f"needs at least {kh} steps" if seq else
                               f"needs at least {kh}x{kw} input")
        else:
            out = ((h - kh) // sh + 1, (w - kw) // sw + 1, c)
        return (out[0], c) if seq else out
    return shape


shape = _shape("maxpool")  # the engine's, on shapes the language has checked

def _global_signature(kind):
    return Signature(usage=kind)


def global_shape(p, in_shape):
    if len(in_shape) < 2:
        raise ShapeProblem("needs an input with a channel axis (HxWxC or TxF)")
    return (in_shape[-1],)


KINDS = {"maxpool": Kind(_signature("maxpool"), _shape("maxpool"),
                         example="input 5x4x2\nmaxpool 2 same"),
         "avgpool": Kind(_signature("avgpool"), _shape("avgpool"),
                         example="input 5x4x2\navgpool 3 same stride=2"),
         # over a masked sequence: the max or mean of the unmasked steps
         "globalmaxpool": Kind(_global_signature("globalmaxpool"), global_shape,
                               example="input 3x3x2\nglobalmaxpool", masking=mask_ends),
         "globalavgpool": Kind(_global_signature("globalavgpool"), global_shape,
                               example="input 3x2\nglobalavgpool", masking=mask_ends)}
