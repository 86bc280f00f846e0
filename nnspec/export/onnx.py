"""A trained model as an ONNX graph, built with onnx's helper API (no torch).

The graph keeps the bundle's layout: its input is (batch, *input_shape),
channels last, and convolutions and pooling run between two Transposes to
ONNX's channels-first layout and back (onnxruntime folds adjacent pairs).
'same' and 'full' padding are explicit pads, as nnspec computes them, never
SAME_UPPER. Batch norm is its inference form, dropout is gone, recurrent
layers are ONNX's RNN, LSTM and GRU ops with their gates reordered, and
attention is a MatMul/Softmax subgraph. Opset 17; the IR version is pinned to
one that current onnxruntime reads. A fitted preprocessing (standard, minmax)
is the graph's first Mul and Add, so the graph takes raw inputs as predict
does; pixels take floats in [0, 1]. Class names and preprocessing travel in
the model's metadata. docs/export.md maps each kind.
"""
import json
import math

import numpy as np

from ..engine.preprocess import FITTED
from ..errors import NNSpecError
from ..lang.kinds.conv import pads, span
from ..lang.kinds.dense import per_step
from ..lang.kinds.pool import padding, stride
from ..lang.printer import describe
from ..optional import need

OPSET = 17
IR_VERSION = 8  # onnxruntime 1.14 and later read it
_SIMPLE = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "softplus": "Softplus"}


# Operators onnxruntime (1.16 to 1.23, CPU) has no float64 kernel for: a float64
# graph with one of them loads nowhere onnxruntime runs (tests/test_export.py
# checks this list against the installed onnxruntime)
NO_FLOAT64_IN_ONNXRUNTIME = ("Conv", "AveragePool", "Softplus", "Elu", "RNN", "LSTM", "GRU")
DTYPES = ("float32", "float64")


class _Builder:
    def __init__(self, model, onnx, dtype):
        self.model, self.onnx, self.helper = model, onnx, onnx.helper
        self.nodes, self.inits, self.count = [], [], 0
        self.dtype = np.dtype(dtype)

    def name(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value, hint="c", dtype=None):
        arr = np.asarray(value, dtype=dtype or self.dtype)
        name = self.name(hint)
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def op(self, kind, inputs, **attrs):
        out = self.name(kind.lower())
        self.nodes.append(self.helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def ops(self, kind, inputs, outputs, **attrs):
        names = [self.name(o) for o in outputs]
        self.nodes.append(self.helper.make_node(kind, list(inputs), names, **attrs))
        return names

    def activation(self, name, x):
        if name == "linear":
            return x
        if name in _SIMPLE:
            return self.op(_SIMPLE[name], [x])
        if name == "softmax":
            return self.op("Softmax", [x], axis=-1)
        if name == "leaky_relu":
            return self.op("LeakyRelu", [x], alpha=0.01)
        if name == "elu":
            return self.op("Elu", [x], alpha=1.0)
        if name == "silu":
            return self.op("Mul", [x, self.op("Sigmoid", [x])])
        if name == "gelu":  # the tanh approximation, as nnspec computes it
            cube = self.op("Mul", [self.op("Mul", [x, x]), x])
            inner = self.op("Add", [x, self.op("Mul", [cube, self.const(0.044715)])])
            t = self.op("Tanh", [self.op("Mul", [inner, self.const(math.sqrt(2 / math.pi))])])
            half = self.op("Mul", [x, self.const(0.5)])
            return self.op("Mul", [half, self.op("Add", [t, self.const(1.0)])])
        raise NNSpecError(f"cannot export the activation {name} to ONNX")

    def nchw(self, x):
        return self.op("Transpose", [x], perm=[0, 3, 1, 2])

    def nhwc(self, x):
        return self.op("Transpose", [x], perm=[0, 2, 3, 1])


def export(model, path=None, dtype="float32"):
    """The model as an onnx.ModelProto computing in dtype: float32 by default, which
    every ONNX runtime runs (a float64 model's weights are rounded to it);
    float64 where asked (see float64_gaps)."""
    onnx = need("onnx", "onnx")
    if dtype not in DTYPES:
        raise NNSpecError(f"an ONNX export computes in {' or '.join(DTYPES)}, not {dtype!r}")
    b = _Builder(model, onnx, dtype)
    graph = model.graph
    values = {graph.input_name: "input"}
    if model.preprocess["kind"] in FITTED:
        scale, offset = b.const(model.preprocess["scale"], "scale"), \
            b.const(model.preprocess["offset"], "offset")
        values[graph.input_name] = b.op("Add", [b.op("Mul", ["input", scale]), offset])
    for node in graph.nodes:
        rule = RULES.get(node.kind)
        if rule is None:
            loc = node.loc
            where = f"line {loc.line}: " if loc else ""
            raise NNSpecError(f"{where}{node.name}: {describe(node)} cannot be exported to ONNX")
        w = {short: model.weights[full] for short, full in graph.keys[node.name]}
        ins = [values[s] for s in node.inputs]
        in_shape = graph.shapes[node.inputs[0]]
        y = rule(b, node.p, w, ins, in_shape, graph.shapes[node.name])
        values[node.name] = b.activation(graph.activation(node.name), y)
    tensor = onnx.helper.tensor_dtype_to_np_dtype
    elem = next(k for k in range(1, 17) if _np_of(tensor, k) == b.dtype)
    inp = onnx.helper.make_tensor_value_info("input", elem, ["batch", *graph.input_shape])
    out = onnx.helper.make_tensor_value_info(values[graph.output], elem,
                                             ["batch", *graph.output_shape])
    g = onnx.helper.make_graph(b.nodes, "nnspec", [inp], [out], b.inits)
    proto = onnx.helper.make_model(g, producer_name="nnspec",
                                   opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    meta = {"classes": json.dumps(list(model.classes) if model.classes else None),
            "dtype": b.dtype.name,
            "preprocess": json.dumps(model.preprocess), "spec": model.text,
            "layout": "channels last, as the bundle: (batch, " +
                      ", ".join(map(str, graph.input_shape)) + ")"}
    onnx.helper.set_model_props(proto, meta)
    if path is not None:
        from ..files.io import write_atomic
        write_atomic(path, proto.SerializeToString())
    return proto


def float64_gaps(proto):
    """The operators of a float64 graph that onnxruntime cannot run, in graph order."""
    if proto.graph.input[0].type.tensor_type.elem_type != 11:  # DOUBLE
        return []
    return list(dict.fromkeys(n.op_type for n in proto.graph.node
                              if n.op_type in NO_FLOAT64_IN_ONNXRUNTIME))


def _np_of(tensor, k):
    try:
        return np.dtype(tensor(k))
    except (KeyError, TypeError, ValueError):
        return None


def _dense(b, p, w, ins, in_shape, out_shape):
    x = ins[0]
    if len(in_shape) > 1 and not per_step(p, in_shape):  # a sequence's MatMul acts per step
        x = b.op("Flatten", [x], axis=1)
    y = b.op("MatMul", [x, b.const(w["W"], "W")])
    return b.op("Add", [y, b.const(w["b"], "b")]) if "b" in w else y


def _conv(b, p, w, ins, in_shape, out_shape):
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
        # ONNX's max pooling ignores pads, and its average leaves them out of the
        # count with count_include_pad=0 (the default): nnspec's same padding
        y = b.op(kind, [b.nchw(ins[0])], kernel_shape=list(p["window"]),
                 strides=list(stride(p)), pads=[top, left, bottom, right])
        return b.nhwc(y)
    return rule


def _global(kind):
    def rule(b, p, w, ins, in_shape, out_shape):
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

    def rule(b, p, w, ins, in_shape, out_shape):
        h = p["units"]
        wx = blocks(w["W"], h).T[None]  # (1, k*h, features)
        wh = blocks(w["U"], h).T[None]  # (1, k*h, units)
        zeros = np.zeros(len(order) * h, b.dtype)
        bias = np.concatenate([blocks(w["b"], h) if "b" in w else zeros,
                               blocks(w["rb"], h) if "rb" in w else zeros])[None]
        attrs = {"hidden_size": h}
        if kind == "gru":
            attrs["linear_before_reset"] = 1  # the reset gate scales h U + rb, as PyTorch
        x = b.op("Transpose", [ins[0]], perm=[1, 0, 2])  # (time, batch, features)
        y, y_h = b.ops(op, [x, b.const(wx, "W"), b.const(wh, "R"), b.const(bias, "B")],
                       ["y", "y_h"] + (["y_c"] if kind == "lstm" else []), **attrs)[:2]
        if p["return_sequences"]:
            seq = b.op("Squeeze", [y, b.const([1], "axis", np.int64)])  # (time, batch, units)
            return b.op("Transpose", [seq], perm=[1, 0, 2])
        return b.op("Squeeze", [y_h, b.const([0], "axis", np.int64)])
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
    a = b.op("Softmax", [scores], axis=-1)
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
