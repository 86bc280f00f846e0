"""The bundle's document: every key of the payload, written and read here.

    write(path, model, checkpoint)   model: anything with text, graph, weights,
                                     classes, preprocess and history
    read(path) -> Stored             every field checked, nothing built

Reading checks the stored weights against the shapes the stored spec
declares before anything is allocated, so a small file cannot make nnspec
allocate a large one (docs/bundle-format.md, "Reading safely"). The
checkpoint map is checkpoints.py's; it is decoded into a model built from
what read() returns.
"""
import datetime
import math
from dataclasses import dataclass

import numpy as np

from .. import __version__
from ..engine.graph import Graph
from ..errors import BundleError, NNSpecError
from ..lang import parse, shapes
from ..lang.settings import CHOICES
from . import bundle, checkpoints
from .io import shown

DTYPES = CHOICES["dtype"]
_KEYS = {"nnspec": str, "numpy": str, "created": str, "spec": str, "dtype": str,
         "classes": (list, type(None)), "preprocess": dict, "weights": dict, "history": dict,
         "checkpoint": dict, "features": (list, type(None))}


@dataclass
class Stored:
    spec: str
    source: str  # where the spec came from, for messages: "m.nnb:spec"
    dtype: str
    network: object
    weights: dict
    classes: tuple
    preprocess: dict
    history: dict
    overrides: dict  # the compile overrides a checkpoint was trained with
    checkpoint: dict  # the raw checkpoint map, or None
    features: tuple  # a CSV's feature column names (1.3), or None
    version: tuple
    meta: dict


def write(path, model, checkpoint=None):
    doc = {
        "nnspec": __version__,
        "numpy": np.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "spec": model.text,
        "dtype": model.graph.dtype.name,
        "classes": list(model.classes) if model.classes is not None else None,
        "preprocess": {k: float(v) for k, v in model.preprocess.items()},
        "weights": {k: bundle.encode_array(v) for k, v in model.weights.items()},
        "history": model.history,
        "features": list(model.features) if model.features is not None else None,
    }
    if checkpoint is not None:
        doc["checkpoint"] = checkpoint
    bundle.save(path, doc)


def read(path):
    doc, version = bundle.read(path)
    newer_minor = tuple(version) > bundle.VERSION
    bundle.check_map(doc, "payload", _KEYS, optional=("checkpoint", "features"),
                     allow_extra=newer_minor)
    bundle.check_map(doc["preprocess"], "payload.preprocess", {"scale": float, "offset": float},
                     allow_extra=newer_minor)
    if doc["dtype"] not in DTYPES:
        raise BundleError(f"payload.dtype: {shown(repr(doc['dtype']))} is not one of "
                          f"{', '.join(DTYPES)}")
    overrides = checkpoints.overrides(doc.get("checkpoint"), newer_minor)
    source = f"{shown(path)}:spec"
    try:
        network = parse(doc["spec"], source)
        graph = Graph(network, shapes.infer(network), doc["dtype"])
    except NNSpecError as e:
        raise BundleError(f"payload.spec: the stored spec does not compile: {e}") from None
    weights = _weights(doc["weights"], graph)
    classes = doc["classes"]
    if classes is not None and (not all(isinstance(c, str) for c in classes)
                                or len(classes) != class_count(graph)):
        raise BundleError(f"payload.classes: expected a list of {class_count(graph)} names, "
                          "one per output")
    preprocess = {k: doc["preprocess"][k] for k in ("scale", "offset")}
    if not all(np.isfinite(v) for v in preprocess.values()):
        raise BundleError("payload.preprocess: scale and offset must be finite numbers")
    features = doc.get("features")
    if features is not None and (not all(isinstance(f, str) for f in features)
                                 or len(features) != math.prod(graph.input_shape)):
        raise BundleError("payload.features: expected one column name per input value")
    meta = {k: doc[k] for k in ("nnspec", "numpy", "created")}
    meta.update(format=".".join(map(str, version)), checkpoint="checkpoint" in doc)
    return Stored(doc["spec"], source, doc["dtype"], network, weights,
                  tuple(classes) if classes is not None else None, preprocess,
                  _history(doc["history"]), overrides, doc.get("checkpoint"),
                  tuple(features) if features is not None else None, tuple(version), meta)


def _weights(stored, graph):
    """payload.weights -> {name: array}, each of the shape and dtype its layer declares,
    and finite."""
    declared = graph.declared
    for name in sorted(set(stored) | set(declared), key=str):
        if name not in declared:
            raise BundleError(f"payload.weights: {shown(repr(name))} is not a parameter of the "
                              "stored spec")
        if name not in stored:
            raise BundleError(f"payload.weights: parameter {name!r} is missing")
    weights = {}
    for name, (shape, _) in declared.items():
        field = f"payload.weights.{name}"
        arr = bundle.decode_array(stored[name], field)
        if arr.shape != shape or arr.dtype != graph.dtype:
            raise BundleError(f"{field}: found {arr.dtype} {list(arr.shape)}, the spec needs "
                              f"{graph.dtype} {list(shape)}")
        if not np.isfinite(arr).all():
            raise BundleError(f"{field}: holds NaN or infinite values")
        weights[name] = arr
    return weights


def _history(history):
    for key, values in history.items():
        if not isinstance(key, str) or not isinstance(values, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise BundleError(f"payload.history: {shown(repr(key))} is not a list of numbers")
    return {k: [float(v) for v in vals] for k, vals in history.items()}


def class_count(graph):
    """How many class names a model's outputs take: one per unit, two for one sigmoid."""
    units = graph.output_shape[-1]
    return 2 if units == 1 else units
