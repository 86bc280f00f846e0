"""The bundle's document: every key of the payload, written and read here.

    write(path, model, checkpoint)   model: anything with text, graph, weights,
                                     classes, preprocess and history
    document(model, checkpoint)      the payload map, which bundle.pack makes bytes
    read(path) -> Stored             every field checked; the graph built once

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
from ..engine import preprocess as scaling
from ..engine.graph import Graph
from ..errors import BundleError, NNSpecError, shown
from ..lang import parse, shapes
from ..lang.settings import CHOICES
from . import bundle, checkpoints, columns, legacy, lineage

DTYPES = CHOICES["dtype"]
# What loading a bundle of `size` bytes may take beside its weights' arrays: a
# small multiple of the file, and room for the largest network the language
# allows (100,000 layers, a few hundred bytes of Python objects each) however
# small the file that writes it. tests/test_memory.py and test_fuzz.py hold load
# to it.
LOAD_FLOOR = 8 << 20


def load_bound(size, weight_bytes):
    """The most bytes loading a bundle of `size` bytes with these weights may hold."""
    return 8 * max(size, LOAD_FLOOR) + weight_bytes
_KEYS = {"nnspec": str, "numpy": str, "created": str, "spec": str, "dtype": str,
         "classes": (list, type(None)), "preprocess": dict, "weights": dict, "history": dict,
         "checkpoint": dict, "features": (list, type(None)), "trained": dict,
         "inputs": dict, "outputs": dict, "targets": dict, "frozen": list, "lineage": dict}


@dataclass
class Stored:
    spec: str
    source: str  # where the spec came from, for messages: "m.nnb:spec"
    dtype: str
    network: object
    graph: object  # built once, here, to check the weights; the Model takes it
    weights: dict
    classes: dict  # {output: class names or None}
    preprocessing: dict  # {input: its preprocessing}
    history: dict
    overrides: dict  # the compile overrides a checkpoint was trained with
    checkpoint: dict  # the raw checkpoint map, or None
    features: tuple  # a CSV's feature column names (1.3), or None
    version: tuple
    meta: dict
    targets: dict = None  # {output: {"mean", "std"}} of a target scaling (1.7)


def write(path, model, checkpoint=None):
    bundle.save(path, document(model, checkpoint))


def document(model, checkpoint=None):
    """The payload map of a bundle of model. A network of one input and one output
    keeps the keys every format has; several inputs or outputs add `inputs` and
    `outputs` (1.6), and the first ones' stand in the old keys too."""
    bad = next((k for k, w in model.weights.items() if not np.isfinite(w).all()), None)
    if bad is not None:  # load refuses them, so save does: no bundle that cannot load
        raise NNSpecError(f"{bad} holds NaN or infinite values (training diverged), so the "
                          "model is not saved: train again with a lower learning rate")
    classes = model.classes
    doc = {
        "nnspec": __version__,
        "numpy": np.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "spec": model.text,
        "dtype": model.graph.dtype.name,
        "classes": list(classes) if classes is not None else None,
        "preprocess": dict(model.preprocess),
        "weights": {k: bundle.encode_array(v) for k, v in model.weights.items()},
        "history": model.history,
        "features": list(model.features) if model.features is not None else None,
    }
    if len(model.preprocessing) > 1 or len(model.output_classes) > 1:
        doc["inputs"] = {name: {"preprocess": dict(pre)}
                         for name, pre in model.preprocessing.items()}
        doc["outputs"] = {name: {"classes": list(c) if c is not None else None}
                          for name, c in model.output_classes.items()}
    # always (1.7): an empty list says every layer trains, whatever the spec's
    # trainable=false, which model.unfreeze (--unfreeze) overrode
    doc["frozen"] = sorted(model.graph.frozen)
    if getattr(model, "lineage", None):
        doc["lineage"] = model.lineage
    if getattr(model, "trained", None):
        doc["trained"] = dict(model.trained)
    if getattr(model, "target_scaling", None):
        doc["targets"] = {k: dict(v) for k, v in model.target_scaling.items()}
    if checkpoint is not None:
        doc["checkpoint"] = checkpoint
    return doc


def read(path, data=None):
    """A bundle file, or its bytes as data (path then only names it) -> Stored."""
    doc, version = bundle.read(path) if data is None else bundle.unpack(data, path)
    newer_minor = tuple(version) > bundle.VERSION
    bundle.check_map(doc, "payload", _KEYS, optional=("checkpoint", "features", "trained",
                                                       "inputs", "outputs", "targets",
                                                       "frozen", "lineage"),
                     allow_extra=newer_minor)
    if "trained" in doc:
        bundle.check_map(doc["trained"], "payload.trained",
                         {"engine": str, "device": str, "processes": int}, allow_extra=newer_minor)
    if doc["dtype"] not in DTYPES:
        raise BundleError(f"payload.dtype: {shown(repr(doc['dtype']))} is not one of "
                          f"{', '.join(DTYPES)}")
    overrides = checkpoints.overrides(doc.get("checkpoint"), newer_minor)
    source = f"{shown(path)}:spec"
    try:
        network = parse(doc["spec"], source)
        if tuple(version) < (1, 4):
            doc["spec"] = legacy.flatten_before_dense(doc["spec"], network)
            network = parse(doc["spec"], source)
        if tuple(version) < (1, 5):
            doc["spec"] = legacy.rate_before_defaults(doc["spec"], network, overrides)
            network = parse(doc["spec"], source)
        graph = Graph(network, shapes.infer(network), doc["dtype"], source=source)
    except NNSpecError as e:
        raise BundleError(f"payload.spec: the stored spec does not compile: {e}") from None
    if "frozen" in doc:
        graph.freeze(lineage.check_frozen(doc["frozen"], graph))
    started = lineage.check(doc.get("lineage"), newer_minor)
    weights = _weights(doc["weights"], graph)
    classes, preprocessing = _endpoints(doc, graph, tuple(version), newer_minor)
    features = check_features(doc.get("features"), graph)
    meta = {k: doc[k] for k in ("nnspec", "numpy", "created")}
    meta.update(format=".".join(map(str, version)), checkpoint="checkpoint" in doc,
                trained=doc.get("trained"), lineage=started)
    return Stored(doc["spec"], source, doc["dtype"], network, graph, weights,
                  classes, preprocessing, _history(doc["history"]), overrides,
                  doc.get("checkpoint"), features, tuple(version), meta,
                  columns.check_targets(doc.get("targets"), graph, newer_minor))


def _endpoints(doc, graph, version, newer_minor):
    """-> ({output: class names or None}, {input: preprocessing}), each checked: from
    `inputs` and `outputs` (1.6) where the network has several, else from the keys
    of every format, which hold the one input's and output's."""
    many = len(graph.inputs) > 1 or len(graph.outputs) > 1
    if not many:
        output, input_name = graph.outputs[0], graph.input_name
        return ({output.name: check_classes(doc["classes"], _units(graph, output))},
                {input_name: check_preprocess(doc["preprocess"], graph.input_shape, version,
                                              newer_minor)})
    for key in ("inputs", "outputs"):
        if key not in doc:
            raise BundleError(f"payload: missing key {key!r} (the network has several inputs "
                              "or outputs)")
    names = {"inputs": graph.inputs, "outputs": [o.name for o in graph.outputs]}
    for key, want in names.items():
        if not isinstance(doc[key], dict) or set(doc[key]) != set(want):
            raise BundleError(f"payload.{key}: expected a map by {', '.join(want)}")
    preprocessing = {}
    for name in graph.inputs:
        field = f"payload.inputs.{name}"
        bundle.check_map(doc["inputs"][name], field, {"preprocess": dict},
                         allow_extra=newer_minor)
        preprocessing[name] = check_preprocess(doc["inputs"][name]["preprocess"],
                                               graph.input_shapes[name], version, newer_minor,
                                               field + ".preprocess")
    classes = {}
    for output in graph.outputs:
        field = f"payload.outputs.{output.name}"
        bundle.check_map(doc["outputs"][output.name], field, {"classes": (list, type(None))},
                         allow_extra=newer_minor)
        classes[output.name] = check_classes(doc["outputs"][output.name]["classes"],
                                             _units(graph, output), field + ".classes")
    return classes, preprocessing


def _units(graph, output):
    return graph.shapes[output.node][-1]


def check_classes(classes, units, field="payload.classes"):
    """Stored class names of an output of `units` values -> a tuple, one per class,
    or None."""
    if classes is None:
        return None
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) \
            or len(classes) != class_count(units):
        raise BundleError(f"{field}: expected a list of {class_count(units)} names, "
                          "one per output")
    return tuple(classes)


def check_features(features, graph, field="payload.features"):
    """Stored feature column names -> a tuple of one per input value, or None."""
    if features is None:
        return None
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features) \
            or len(features) != math.prod(graph.input_shape):
        raise BundleError(f"{field}: expected one column name per input value")
    return tuple(features)


def check_preprocess(stored, input_shape, version=bundle.VERSION, newer_minor=False,
                     field="payload.preprocess"):
    """Stored preprocessing of an input of input_shape -> the model's
    (engine/preprocess.py), every number checked. Before 1.4 it was {scale,
    offset} for integer inputs: "pixels" unless the identity."""
    if version < (1, 4):
        bundle.check_map(stored, field, {"scale": float, "offset": float})
        kind = "none" if (stored["scale"], stored["offset"]) == (1.0, 0.0) else "pixels"
        stored = {"kind": kind, **stored}
    bundle.check_map(stored, field, {"kind": str, "scale": (float, list),
                                     "offset": (float, list), "columns": list},
                     optional=("scale", "offset", "columns"), allow_extra=newer_minor)
    kind = stored["kind"]
    if kind not in scaling.KINDS:
        raise BundleError(f"{field}.kind: {shown(repr(kind))} is not one of "
                          f"{', '.join(scaling.KINDS)}")
    numbers = [stored[k] for k in ("scale", "offset") if k in stored]
    features = input_shape[-1]
    if kind in scaling.FITTED:  # a list per feature each, or neither before fitting
        ok = len(numbers) in (0, 2) and all(
            isinstance(v, list) and len(v) == features
            and all(isinstance(f, float) and math.isfinite(f) for f in v) for v in numbers)
        want = f"lists of {features} finite numbers, one per input feature"
    else:
        ok = len(numbers) == 2 and all(isinstance(v, float) and math.isfinite(v) for v in numbers)
        want = "finite numbers"
    if not ok:
        raise BundleError(f"{field}: a {kind} scaling's scale and offset must be {want}")
    out = {k: stored[k] for k in ("kind", "scale", "offset") if k in stored}
    if "columns" in stored:
        out["columns"] = columns.check_columns(stored["columns"], input_shape, newer_minor,
                                               field + ".columns")
    return out


def _weights(stored, graph):
    """payload.weights -> {name: array}, each of the shape and dtype its layer declares,
    and finite."""
    declared = graph.declared
    if stored.keys() != declared.keys():
        for name in sorted(set(stored) | set(declared), key=str):
            if name not in declared:
                raise BundleError(f"payload.weights: {shown(repr(name))} is not a parameter "
                                  "of the stored spec")
            if name not in stored:
                raise BundleError(f"payload.weights: parameter {name!r} is missing")
    weights = {}
    for name, (shape, _) in declared.items():
        field = f"payload.weights.{name}"
        arr = bundle.decode_array(stored[name], field)
        if arr.shape != shape or arr.dtype != graph.dtype:
            raise BundleError(f"{field}: found {arr.dtype} {list(arr.shape)}, the spec needs "
                              f"{graph.dtype} {list(shape)}")
        weights[name] = arr
    # all at once, then the culprit by name: a pass per array cost a bundle of
    # many small layers more than reading it
    if weights and not np.isfinite(np.concatenate([a.ravel() for a in weights.values()])).all():
        name = next(k for k, a in weights.items() if not np.isfinite(a).all())
        raise BundleError(f"payload.weights.{name}: holds NaN or infinite values")
    return weights


def _history(history):
    for key, values in history.items():
        if not isinstance(key, str) or not isinstance(values, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise BundleError(f"payload.history: {shown(repr(key))} is not a list of numbers")
    return {k: [float(v) for v in vals] for k, vals in history.items()}


def class_count(units):
    """How many class names an output of `units` values takes: one per unit, two
    for one sigmoid."""
    return 2 if units == 1 else units
