"""Raw data -> what a model's network takes: inputs conformed to the spec's input,
checked and preprocessed; labels as its outputs' targets; the spec's own data
set split. Model (model.py) calls these for fit, evaluate, predict, gradients
and data; each problem is one DataError that names the data and says what to
write or do.
"""
from pathlib import Path

import numpy as np

from .engine import losses, memory, preprocess, tables, target_scale
from .errors import DataError, SpecError
from .files import data, document
from .arrays import by_name, check_width, encoded, routed
from .files.inputs import conform
from .lang.kinds.base import fmt_shape


def inputs(model, x, what="x"):
    """Raw x -> the network's inputs (preprocessed, the model's dtype), shapes and
    values checked: an array, or {input: array} for several inputs."""
    x, vet = prepared(model, x, what)
    if isinstance(x, dict):
        for name, array in x.items():
            vet(name, array)
    else:
        vet(x)
    return x


def prepared(model, x, what="x"):
    """Raw x -> (the network's inputs, shapes checked, vet: check(part) of their
    values, or check(name, part) for several inputs), for a caller that checks
    part by part (predict)."""
    names = model.graph.inputs
    raw = routed(model, x, what)
    out, vets = {}, {}
    for name, array in raw.items():
        label = what if len(names) == 1 else f"{what}[{name!r}]"
        pre = model.preprocessing[name]
        if "columns" in pre:
            array = encoded(model, name, array, label)
        array = conformed(model, array, label, name)
        if not np.issubdtype(array.dtype, np.number) or \
                np.issubdtype(array.dtype, np.complexfloating):
            raise DataError(f"{label} must be numeric, got dtype {array.dtype}")
        if not preprocess.fitted(pre):
            whose = "" if len(names) == 1 else f" of {name}"
            raise DataError(f"the model's {pre['kind']} scaling{whose} is not fitted: train "
                            "it first (fit, or nnspec train)")
        vets[name] = preprocess.vet(pre, array.dtype, label)
        out[name] = preprocess.apply(pre, array, model.graph.dtype)
    rows = {len(a) for a in out.values()}
    if len(rows) > 1:
        raise DataError(f"{what}: the inputs hold different numbers of samples: " +
                        ", ".join(f"{n} {len(a)}" for n, a in out.items()))
    if len(names) == 1:
        return out[names[0]], vets[names[0]]
    return out, lambda name, part: vets[name](part)


def conformed(model, x, what="x", name=None):
    """x as (batch, *input_shape) of input `name` (the first by default): one sample
    or a batch, a missing channel axis of 1 added, flat rows unflattened
    (files/inputs.conform); else where the spec's input is and what to write."""
    node = model.network.node(name or model.graph.input_name)
    shape = model.graph.input_shapes[node.name]
    x = np.asarray(x)
    fitted = conform(x, shape) if x.ndim else None
    if fitted is not None:
        return fitted
    where = f"{model.source}:{node.loc.line}" if node.loc else model.source
    sample = x.shape[1:] if x.ndim > 1 else x.shape
    hint = f": write input {fmt_shape(sample)}, or reshape {what}" \
        if len(sample) and min(sample) > 0 else ""
    raise DataError(f"{what} has shape {x.shape}: samples of {fmt_shape(sample) or 'one value'}"
                    f", but the spec's input ({where}) takes {fmt_shape(shape)}{hint}")


def targets(model, x, y, what="y"):
    """Labels (class indices, one-hot rows or values) -> each output's targets,
    checked against its loss (engine/losses.targets): an array, or {output name:
    array} for several outputs."""
    terms = model.plan.terms
    raw = by_name(y, [t.name for t in terms], what)
    count = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
    out = {}
    for term in terms:
        label = what if len(terms) == 1 else f"{what}[{term.name!r}]"
        values = np.asarray(raw[term.name])
        if len(values) != count:
            raise DataError(f"{label} has {len(values)} rows but the inputs have {count}")
        shape = model.graph.shapes[term.node]
        t = losses.targets(values, shape[-1], model.graph.dtype, term.loss, label)
        if t.shape[1:] != shape:
            raise DataError(f"{label} has shape {values.shape}, the model outputs "
                            f"(batch, {', '.join(map(str, shape))})")
        stats = model.target_scaling.get(term.name)
        out[term.name] = t if stats is None else target_scale.scale(stats, t)
    return out if len(terms) > 1 else out[terms[0].name]


def pass_size(what, batch_size):
    """predict's and evaluate's batch_size: a whole number of at least 1."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise DataError(f"{what}: batch_size must be a whole number of at least 1, "
                        f"got {batch_size!r}")


def engine(what, name, device):
    """fit's and predict's engine: numpy (on the cpu), or torch on any device."""
    if name != "torch" and (name != "numpy" or device != "cpu"):
        raise DataError(f"{what}: engine is numpy (on the cpu) or torch, got engine={name!r}, "
                        f"device={device!r}")


def fit_sizes(model, epochs, batch_size):
    """fit's epochs and batch size (the spec's by default), checked; a batch size
    the spec does not say has its memory planned again (engine/memory.py)."""
    epochs = model.config.epochs if epochs is None else epochs
    batch_size = model.config.batch_size if batch_size is None else batch_size
    if batch_size < 1 or epochs < 0:
        raise DataError(f"fit: batch_size must be at least 1 and epochs at least 0, got "
                        f"batch_size={batch_size}, epochs={epochs}")
    if batch_size != model.config.batch_size:
        try:
            memory.check(model.graph, batch_size)
        except SpecError as e:
            raise DataError(f"fit: {e}") from None
    return epochs, batch_size


def classes_of(out, names):
    """One output's predicted class per sample: names where the model knows them,
    else indices. One output unit is a probability of the second class (a
    sigmoid), not a score."""
    idx = (out[..., 0] > 0.5).astype(np.int64) if out.shape[-1] == 1 else out.argmax(axis=-1)
    return [names[i] for i in idx] if names else idx


def for_fit(model, x, y, validation_data=None):
    """fit's data -> (inputs, targets, (validation inputs, targets) or None)."""
    x = inputs(model, x)
    validation = None
    if validation_data is not None:
        vx = inputs(model, validation_data[0], "validation x")
        validation = (vx, targets(model, vx, validation_data[1], "validation y"))
    return x, targets(model, x, y), validation


def text_column(model, column):
    """A text column (engine/tables.py) sized for the model's one input: as many ids
    as it is long, as many in all as the VOCAB of an embedding reading it."""
    graph = model.graph
    vocabulary = ends(model).vocabularies.get(graph.input_name)
    return tables.sized(column, graph.input_shape, vocabulary or tables.DEFAULT_VOCABULARY)


def ends(model):
    """The model's inputs and outputs, which a data set's arrays must match."""
    graph = model.graph
    vocabularies = {i: n.p["table"][0] for n in model.network.nodes if n.kind == "embedding"
                    for i in n.inputs if i in graph.input_shapes}
    return data.Ends(dict(graph.input_shapes), tuple(o.name for o in graph.outputs),
                     {n.name: n.p.get("scale") for n in model.network.inputs}, vocabularies)


def splits(model, rng, data_dir=None):
    """The spec's data set split (files/data.prepare), errors at the setting's line,
    and the preprocessing the model takes with it, input by input: fitted on the
    training split (standard, minmax), or as the data set says (pixels for
    images). Fitted numbers the model holds already (a resumed or fine-tuned
    model) are kept: its trained weights expect inputs scaled by them."""
    config, source = model.config, model.source
    try:
        base = Path(source).parent if Path(source).is_file() else None
        out = data.prepare(config, rng, data_dir, base, ends(model))
    except DataError as e:  # at the setting the problem is in
        setting = str(e).split(":")[0]
        loc = config.loc(setting if setting in ("validation", "resample") else "data")
        where = f"{source}:{loc.line}:{loc.column}" if loc else source
        raise DataError(f"{where}: {e}") from None
    for term in model.plan.terms:
        classes = out.classes.get(term.name)
        units = model.graph.shapes[term.node][-1]
        if classes is not None and len(classes) != document.class_count(units):
            which = "the model has" if len(model.plan.terms) == 1 else \
                f"output {term.name} has"
            raise DataError(f"{source}: the data names {len(classes)} classes, but {which} "
                            f"{units} outputs")
    preprocessing = dict(model.preprocessing)
    train = by_name(out.train[0], model.graph.inputs, "x")
    columns = out.columns or {}
    for name, scale in out.scale.items():
        pre, kind = preprocessing[name], preprocess.kind_of(scale)
        if name in columns:
            same = [(c["name"], c["type"]) for c in pre.get("columns", ())] == \
                [(c["name"], c["type"]) for c in columns[name]]
            if pre["kind"] != kind or not same:  # else a resumed model's, kept
                pre = {**preprocess.make(scale), "columns": columns[name]}
            preprocessing[name] = preprocess.fit_input(pre, train[name])
            check_width(model, name, preprocessing[name]["columns"])
        elif pre["kind"] != kind or not preprocess.fitted(pre):
            preprocessing[name] = preprocess.fit(kind, train[name]) \
                if kind in preprocess.FITTED else preprocess.make(scale)
    return out, preprocessing


def fitted_scaling(model, x):
    """The model's preprocessing of every input, the fitted kinds (standard, minmax)
    with their numbers from raw training inputs x."""
    out = dict(model.preprocessing)
    for name, array in routed(model, x, "x").items():
        pre = out[name]
        if "columns" in pre:
            out[name] = preprocess.fit_input(pre, tables.table(array, pre["columns"]))
            check_width(model, name, out[name]["columns"])
            continue
        if preprocess.fitted(pre):
            continue
        array = conformed(model, array, "x", name)
        if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
            raise DataError(f"x must hold finite numbers to fit the model's {pre['kind']} "
                            f"scaling of {name}")
        out[name] = preprocess.fit(pre["kind"], array)
    return out
