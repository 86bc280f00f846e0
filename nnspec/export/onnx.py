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
the model's metadata. A table input is a graph input per column, its
category lookups inside the graph (onnx_tables.py). docs/export.md maps each
kind.
"""
import json
import math

import numpy as np

from ..engine.preprocess import FITTED
from ..errors import NNSpecError
from ..lang.masks import follow
from ..lang.printer import describe
from ..optional import need
from . import onnx_tables
from .onnx_layers import RULES

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
        self.mask = None  # (batch, time) bool: the steps the layer being built sees

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
    single = len(graph.inputs) == 1 and len(graph.outputs) == 1
    # graph inputs: `input` for a network of one (as every export before), else by name
    feeds = {name: "input" if single else name for name in graph.inputs}
    tensor = onnx.helper.tensor_dtype_to_np_dtype
    elem = b.elem = next(k for k in range(1, 17) if _np_of(tensor, k) == b.dtype)
    values, table_inputs = {}, []
    for name, feed in feeds.items():
        pre, values[name] = model.preprocessing[name], feed
        if "columns" in pre:  # a graph input per column (onnx_tables.py)
            infos, values[name] = onnx_tables.feeds(b, pre["columns"], elem)
            table_inputs += infos
            feed = values[name]
        if pre["kind"] in FITTED and "scale" not in pre:
            raise NNSpecError(f"the {pre['kind']} scaling of {name} is not fitted yet: train "
                              "the model first (its numbers come from the training data)")
        if pre["kind"] in FITTED:
            scale, offset = b.const(pre["scale"], "scale"), b.const(pre["offset"], "offset")
            values[name] = b.op("Add", [b.op("Mul", [feed, scale]), offset])
    masks = {}  # each masked node's (batch, time) bool value (lang/masks.py)
    for node in graph.nodes:
        if graph.masked:  # the mask a rule reads, as the engine's Mode.mask
            b.mask = follow(node, graph.masked, values[node.inputs[0]], masks,
                            lambda m, n: b.op("And", [m, n]),
                            lambda ids: b.op("Not", [b.op("Equal", [ids, b.const(0.0)])]))
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
    inputs = table_inputs + [
        onnx.helper.make_tensor_value_info(feed, elem, ["batch", *graph.input_shapes[name]])
        for name, feed in feeds.items() if "columns" not in model.preprocessing[name]]
    outputs = []
    for o in graph.outputs:
        value = values[o.node]
        stats = getattr(model, "target_scaling", {}).get(o.name)
        if stats is not None:  # the network learnt (y - mean) / std: answer y
            value = b.op("Add", [b.op("Mul", [value, b.const(stats["std"], "std")]),
                                 b.const(stats["mean"], "mean")])
        if not single:  # each output under its own name
            b.nodes.append(onnx.helper.make_node("Identity", [value], [o.name]))
            value = o.name
        outputs.append(onnx.helper.make_tensor_value_info(value, elem,
                                                          ["batch", *graph.shapes[o.node]]))
    g = onnx.helper.make_graph(b.nodes, "nnspec", inputs, outputs, b.inits)
    opsets = [onnx.helper.make_opsetid("", OPSET)] + (
        [onnx.helper.make_opsetid("ai.onnx.ml", onnx_tables.ML_OPSET)]
        if onnx_tables.uses_ml(model) else [])
    proto = onnx.helper.make_model(g, producer_name="nnspec", opset_imports=opsets)
    proto.ir_version = IR_VERSION
    meta = {"classes": json.dumps(list(model.classes) if model.classes else None),
            "dtype": b.dtype.name,
            "preprocess": json.dumps(model.preprocess), "spec": model.text,
            "layout": "channels last, as the bundle: (batch, " +
                      ", ".join(map(str, graph.input_shape)) + ")"}
    if not single:
        meta.update(classes=json.dumps({k: list(v) if v else None
                                        for k, v in model.output_classes.items()}),
                    preprocess=json.dumps(model.preprocessing),
                    layout="channels last, as the bundle: " + "; ".join(
                        f"{n} (batch, {', '.join(map(str, s))})"
                        for n, s in graph.input_shapes.items()))
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
