"""A table input's columns in the ONNX graph (export/onnx.py): one graph input
per column, named as the column, and the lookups predict does:

    number    a float input (batch, 1), its value
    category  a string input (batch, 1); ai.onnx.ml's LabelEncoder maps each
              value to its id (0 for one training never saw), then OneHot, or
              the id itself for an input of its own
    text      a float input (batch, length) of token ids: standard ONNX has no
              regular-expression tokenizer, so the graph takes what the
              tokenizer gives (engine/tables.py); the vocabulary travels in the
              model's metadata ("preprocess"), and `nnspec infer` tokenizes

The columns are concatenated in the model's order, then scaled as any input.
"""
import numpy as np

ML_OPSET = 2  # LabelEncoder with keys_strings and values_int64s


def feeds(b, columns, elem):
    """-> (graph inputs as value infos, the table's value (batch, features))."""
    helper, onnx = b.helper, b.onnx
    infos, parts = [], []
    for column in columns:
        name, kind = column["name"], column["type"]
        if kind == "category":
            infos.append(helper.make_tensor_value_info(name, onnx.TensorProto.STRING,
                                                       ["batch", 1]))
            ids = b.op("LabelEncoder", [name], domain="ai.onnx.ml",
                       keys_strings=list(column["values"]),
                       values_int64s=list(range(1, len(column["values"]) + 1)), default_int64=0)
            if column.get("ids"):
                parts.append(b.op("Cast", [ids], to=elem))
                continue
            depth = len(column["values"]) + 1
            hot = b.op("OneHot", [ids, b.const([depth], "depth", np.int64),
                                  b.const([0, 1], "onehot")], axis=-1)
            parts.append(b.op("Squeeze", [hot, b.const([1], "axis", np.int64)]))
        else:
            width = 1 if kind == "number" else column["length"]
            infos.append(helper.make_tensor_value_info(name, elem, ["batch", width]))
            parts.append(name)
    value = parts[0] if len(parts) == 1 else b.op("Concat", parts, axis=1)
    return infos, value


def uses_ml(model):
    """Whether any input's columns need ai.onnx.ml (a category's lookup)."""
    return any(c["type"] == "category" for pre in model.preprocessing.values()
               for c in pre.get("columns", ()))
