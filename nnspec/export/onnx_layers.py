"""Each layer kind as ONNX operators (onnx.py builds the graph around them): a
rule takes the builder, the layer's parameters and weights, its inputs' value
names and its input and output shapes, and returns its output's value name.
docs/export.md maps each kind."""
import numpy as np

from ..lang.kinds.conv import is_1d, pads, span
from ..lang.kinds.dense import per_step
from ..lang.kinds.pool import as_image, padding, stride
from ..lang.kinds.recurrent import directions
from . import onnx_masked as masked


def _dense(b, p, w, ins, in_shape, out_shape):
    x = ins[0]
    if len(in_shape) > 1 and not per_step(p, in_shape):  # a sequence's MatMul acts per step
        x = b.op("Flatten", [x], axis=1)
    y = b.op("MatMul", [x, b.const(w["W"], "W")])
    return b.op("Add", [y, b.const(w["b"], "b")]) if "b" in w else y


def _conv1d(b, p, w, ins, in_shape):
    """ONNX's Conv over (batch, features, time) with a 1-D kernel: W (k, c, f) as (f, c, k)."""
    s, d = p["stride"], p["dilation"]
    before, after = pads(in_shape[0], span(p)[0], s, p["padding"])
    inputs = [b.op("Transpose", [ins[0]], perm=[0, 2, 1]),
              b.const(np.transpose(w["W"], (2, 1, 0)), "W")]
    if "b" in w:
        inputs.append(b.const(w["b"], "b"))
    y = b.op("Conv", inputs, kernel_shape=[p["kernel"][0]], strides=[s], dilations=[d],
             pads=[before, after])
    return b.op("Transpose", [y], perm=[0, 2, 1])


def _conv(b, p, w, ins, in_shape, out_shape):
    if is_1d(p):
        return _conv1d(b, p, w, ins, in_shape)
    (sh, sw), s, d = span(p), p["stride"], p["dilation"]
    top, bottom = pads(in_shape[0], sh, s, p["padding"])
    left, right = pads(in_shape[1], sw, s, p["padding"])
    inputs = [b.nchw(ins[0]), b.const(np.transpose(w["W"], (3, 2, 0, 1)), "W")]
    if "b" in w:
        inputs.append(b.const(w["b"], "b"))
    kh, kw, _ = p["kernel"]
    y = b.op("Conv", inputs, kernel_shape=[kh, kw], strides=[s, s], dilations=[d, d],
             pads=[top, left, bottom, right])
    return b.nhwc(y)


def _pool(kind):
    def rule(b, p, w, ins, in_shape, out_shape):
        (top, bottom), (left, right) = padding(p, in_shape)
        p, _ = as_image(p, in_shape)  # K is KxK on an image, Kx1 over time
        # ONNX's max pooling ignores pads, and its average leaves them out of the
        # count with count_include_pad=0 (the default, said here for readers of the
        # file): nnspec's same padding
        count = {"count_include_pad": 0} if kind == "AveragePool" else {}
        if len(in_shape) == 2:  # over time: a 1-D pool over (batch, features, time)
            y = b.op(kind, [b.op("Transpose", [ins[0]], perm=[0, 2, 1])],
                     kernel_shape=[p["window"][0]], strides=[stride(p)[0]], pads=[top, bottom],
                     **count)
            return b.op("Transpose", [y], perm=[0, 2, 1])
        y = b.op(kind, [b.nchw(ins[0])], kernel_shape=list(p["window"]),
                 strides=list(stride(p)), pads=[top, left, bottom, right], **count)
        return b.nhwc(y)
    return rule


def _global(kind):
    def rule(b, p, w, ins, in_shape, out_shape):
        if b.mask is not None:
            return masked.global_pool(b, kind, ins[0], b.mask, b.elem)
        return b.op(kind, [ins[0]], axes=list(range(1, len(in_shape))), keepdims=0)
    return rule


def _reshape(b, p, w, ins, in_shape, out_shape):
    return b.op("Reshape", [ins[0], b.const([0, *out_shape], "shape", np.int64)])


def _upsample(b, p, w, ins, in_shape, out_shape):
    scales = b.const([1.0, *p["size"], 1.0], "scales", np.float32)
    return b.op("Resize", [ins[0], "", scales], mode="nearest",
                coordinate_transformation_mode="asymmetric", nearest_mode="floor")


def _identity(b, p, w, ins, in_shape, out_shape):
    return ins[0]


def _batchnorm(b, p, w, ins, in_shape, out_shape):
    inv_std = 1 / np.sqrt(w["var"] + w["var"].dtype.type(p["eps"]))
    x = b.op("Mul", [b.op("Sub", [ins[0], b.const(w["mean"], "mean")]), b.const(inv_std, "inv")])
    return b.op("Add", [b.op("Mul", [x, b.const(w["gamma"], "gamma")]), b.const(w["beta"], "beta")])


def _layernorm(b, p, w, ins, in_shape, out_shape):
    return b.op("LayerNormalization", [ins[0], b.const(w["gamma"], "gamma"),
                                       b.const(w["beta"], "beta")], axis=-1, epsilon=p["eps"])


def _embedding(b, p, w, ins, in_shape, out_shape):
    ids = b.op("Cast", [b.op("Round", [ins[0]])], to=b.onnx.TensorProto.INT64)
    return b.op("Gather", [b.const(w["W"], "table"), ids], axis=0)


# ONNX's gate order, as indices into nnspec's (PyTorch's) blocks of `units` columns:
# LSTM i, o, f, c from nnspec's i, f, g, o; GRU z, r, h from r, z, n
_GATES = {"rnn": ("RNN", [0]), "lstm": ("LSTM", [0, 3, 1, 2]), "gru": ("GRU", [1, 0, 2])}


def _recurrent(kind):
    op, order = _GATES[kind]

    def blocks(a, h):
        return np.concatenate([a[..., g * h:(g + 1) * h] for g in order], axis=-1)

    def stacked(w, h):
        """One direction's (W, R, B) as ONNX lays them out: (k*h, features),
        (k*h, units), (2*k*h,) the input's bias then the recurrent one."""
        zeros = np.zeros(len(order) * h)
        return (blocks(w["W"], h).T, blocks(w["U"], h).T,
                np.concatenate([blocks(w["b"], h) if "b" in w else zeros,
                                blocks(w["rb"], h) if "rb" in w else zeros]))

    def rule(b, p, w, ins, in_shape, out_shape):
        h, both = p["units"], p["bidirectional"]
        # ONNX stacks the directions on a first axis: [forward, reverse]
        ways = [stacked(one, h) for one in directions(w)] if both else [stacked(w, h)]
        wx, wh, bias = (np.stack([way[i] for way in ways]) for i in range(3))
        attrs = {"hidden_size": h}
        if both:
            attrs["direction"] = "bidirectional"
        if kind == "gru":
            attrs["linear_before_reset"] = 1  # the reset gate scales h U + rb, as PyTorch
        x, lens = ins[0], []
        if b.mask is not None:  # the seen steps first, as many as sequence_lens says
            x, dest, lengths, some = masked.compact(b, x, b.mask, b.elem)
            lens = [lengths]
        x = b.op("Transpose", [x], perm=[1, 0, 2])  # (time, batch, features)
        y, y_h = b.ops(op, [x, b.const(wx, "W"), b.const(wh, "R"), b.const(bias, "B")] + lens,
                       ["y", "y_h"] + (["y_c"] if kind == "lstm" else []), **attrs)[:2]
        # Y (time, directions, batch, units), Y_h (directions, batch, units) -> nnspec's
        # layout: both directions' units concatenated, forward's first, on the last axis
        if p["return_sequences"]:
            seq = b.op("Transpose", [y], perm=[2, 0, 1, 3])  # (batch, time, directions, units)
            seq = b.op("Reshape", [seq, b.const([0, 0, (2 if both else 1) * h], "shape",
                                                np.int64)])
            return seq if b.mask is None else masked.scatter_back(b, seq, dest, b.mask, b.elem)
        last = b.op("Transpose", [y_h], perm=[1, 0, 2])  # (batch, directions, units)
        last = b.op("Reshape", [last, b.const([0, (2 if both else 1) * h], "shape", np.int64)])
        return last if b.mask is None else b.op("Mul", [last, some])
    return rule


def _attention(b, p, w, ins, in_shape, out_shape):
    t, d = in_shape
    heads = p["heads"]
    qkv = b.op("MatMul", [ins[0], b.const(w["W"], "W")])
    if "b" in w:
        qkv = b.op("Add", [qkv, b.const(w["b"], "b")])
    split = b.const([d, d, d], "split", np.int64)
    parts = b.ops("Split", [qkv, split], ["q", "k", "v"], axis=-1)
    shape = b.const([0, t, heads, d // heads], "heads", np.int64)
    q, k, v = (b.op("Transpose", [b.op("Reshape", [part, shape])], perm=[0, 2, 1, 3])
               for part in parts)
    kt = b.op("Transpose", [k], perm=[0, 1, 3, 2])
    scores = b.op("Mul", [b.op("MatMul", [q, kt]), b.const(1 / np.sqrt(d // heads))])
    if p["causal"]:
        mask = np.where(np.triu(np.ones((t, t), bool), 1), -np.inf, 0.0)
        scores = b.op("Add", [scores, b.const(mask, "mask")])
    if b.mask is not None:
        scores = masked.key_mask(b, scores, b.mask)
    a = b.op("Softmax", [scores], axis=-1)
    if b.mask is not None:
        a = masked.no_nan(b, a)
    o = b.op("Transpose", [b.op("MatMul", [a, v])], perm=[0, 2, 1, 3])
    o = b.op("Reshape", [o, b.const([0, t, d], "merge", np.int64)])
    y = b.op("MatMul", [o, b.const(w["Wo"], "Wo")])
    return b.op("Add", [y, b.const(w["bo"], "bo")]) if "bo" in w else y


RULES = {
    "dense": _dense, "conv": _conv,
    "maxpool": _pool("MaxPool"), "avgpool": _pool("AveragePool"),
    "globalmaxpool": _global("ReduceMax"), "globalavgpool": _global("ReduceMean"),
    "flatten": _reshape, "reshape": _reshape, "upsample": _upsample,
    "dropout": _identity, "batchnorm": _batchnorm, "layernorm": _layernorm,
    "add": lambda b, p, w, ins, i, o: b.op("Sum", ins),
    "concat": lambda b, p, w, ins, i, o: b.op("Concat", ins, axis=-1),
    "embedding": _embedding, "attention": _attention,
    "positional": lambda b, p, w, ins, i, o: b.op("Add", [ins[0], b.const(w["P"], "P")]),
    **{kind: _recurrent(kind) for kind in _GATES},
    **{name: _identity for name in ("linear", "relu", "leaky_relu", "elu", "gelu", "tanh",
                                    "sigmoid", "softplus", "silu", "softmax")},
}
