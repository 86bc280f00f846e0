"""The bundle's keys of table data (1.7), checked as document.py checks the rest:

    payload.preprocess.columns   (or payload.inputs.NAME.preprocess.columns) an
        input's table columns, engine/tables.py: [{name, type, values?, ids?,
        length?, vocabulary?, words?}, ...]
    payload.targets              {output: {mean, std}}: engine/target_scale.py
"""
import math

from ..engine import tables
from ..errors import BundleError, shown
from . import bundle

_COLUMN = {"name": str, "type": str, "values": list, "ids": bool, "length": int,
           "vocabulary": int, "words": list}
_NEEDS = {"number": (), "category": ("values",), "text": ("length", "vocabulary", "words")}


def check_columns(stored, input_shape, newer_minor=False, field="payload.preprocess.columns"):
    """Stored table columns of an input of input_shape -> the model's, each field
    checked, and together as wide as the input."""
    out = []
    for i, column in enumerate(stored):
        where = f"{field}[{i}]"
        bundle.check_map(column, where, _COLUMN, optional=tuple(set(_COLUMN) - {"name", "type"}),
                         allow_extra=newer_minor)
        kind = column["type"]
        if kind not in tables.TYPES:
            raise BundleError(f"{where}.type: {shown(repr(kind))} is not one of "
                              f"{', '.join(tables.TYPES)}")
        for key in _NEEDS[kind]:
            if key not in column:
                raise BundleError(f"{where}: a {kind} column needs {key!r}")
        for key in ("values", "words"):
            if key in column and not all(isinstance(v, str) for v in column[key]):
                raise BundleError(f"{where}.{key}: expected a list of strings")
        if kind == "text" and not (1 <= column["length"] and
                                   len(column["words"]) + tables.TEXT_FIRST
                                   <= column["vocabulary"]):
            raise BundleError(f"{where}: a text's length must be at least 1 and its words "
                              "fewer than its vocabulary")
        out.append({k: column[k] for k in _COLUMN if k in column})
    if sum(map(tables.width, out)) != math.prod(input_shape):
        raise BundleError(f"{field}: the columns give {sum(map(tables.width, out))} values, "
                          f"the input takes {math.prod(input_shape)}")
    return out


def check_targets(stored, graph, newer_minor=False):
    """payload.targets -> {output: {"mean", "std"}}, or None."""
    if stored is None:
        return None
    names = [o.name for o in graph.outputs]
    out = {}
    for name, stats in stored.items():
        field = f"payload.targets.{shown(str(name))}"
        if name not in names:
            raise BundleError(f"{field}: not an output of the stored spec")
        bundle.check_map(stats, field, {"mean": float, "std": float}, allow_extra=newer_minor)
        if not (math.isfinite(stats["mean"]) and math.isfinite(stats["std"]) and stats["std"] > 0):
            raise BundleError(f"{field}: mean and std must be finite, std above 0")
        out[name] = {"mean": stats["mean"], "std": stats["std"]}
    return out
