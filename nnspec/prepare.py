"""Raw data -> what a model's network takes: inputs conformed to the spec's input,
checked and preprocessed; labels as its outputs' targets; the spec's own data
set split. Model (model.py) calls these for fit, evaluate, predict, gradients
and data; each problem is one DataError that names the data and says what to
write or do.
"""
from pathlib import Path

import numpy as np

from .engine import losses, preprocess
from .errors import DataError
from .files import data, document
from .files.inputs import conform
from .lang.kinds.base import fmt_shape


def inputs(model, x, what="x"):
    """Raw x -> the network's inputs (preprocessed, the model's dtype), its shape
    and values checked."""
    x, vet = prepared(model, x, what)
    vet(x)
    return x


def prepared(model, x, what="x"):
    """Raw x -> (the network's inputs, shape checked, vet: check(part) of their
    values), for a caller that checks part by part (predict)."""
    x = conformed(model, x, what)
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{what} must be numeric, got dtype {x.dtype}")
    pre = model.preprocess
    if not preprocess.fitted(pre):
        raise DataError(f"the model's {pre['kind']} scaling is not fitted: train it first "
                        "(fit, or nnspec train)")
    vet = preprocess.vet(pre, x.dtype, what)
    return preprocess.apply(pre, x, model.graph.dtype), vet


def conformed(model, x, what="x"):
    """x as (batch, *input_shape): one sample or a batch, a missing channel axis of 1
    added, flat rows unflattened (files/inputs.conform); else where the spec's input
    is and what to write."""
    x = np.asarray(x)
    fitted = conform(x, model.graph.input_shape) if x.ndim else None
    if fitted is not None:
        return fitted
    node = model.network.input
    where = f"{model.source}:{node.loc.line}" if node.loc else model.source
    sample = x.shape[1:] if x.ndim > 1 else x.shape
    hint = f": write input {fmt_shape(sample)}, or reshape {what}" \
        if len(sample) and min(sample) > 0 else ""
    raise DataError(f"{what} has shape {x.shape}: samples of {fmt_shape(sample) or 'one value'}"
                    f", but the spec's input ({where}) takes "
                    f"{fmt_shape(model.graph.input_shape)}{hint}")


def targets(model, x, y, what="y"):
    """Labels (class indices, one-hot rows or values) -> the output's targets,
    checked against the loss (engine/losses.targets)."""
    y = np.asarray(y)
    if len(y) != len(x):
        raise DataError(f"{what} has {len(y)} rows but the inputs have {len(x)}")
    shape = model.graph.output_shape
    t = losses.targets(y, shape[-1], model.graph.dtype, model.config.loss, what)
    if t.shape[1:] != shape:
        raise DataError(f"{what} has shape {y.shape}, the model outputs "
                        f"(batch, {', '.join(map(str, shape))})")
    return t


def for_fit(model, x, y, validation_data=None):
    """fit's data -> (inputs, targets, (validation inputs, targets) or None)."""
    x = inputs(model, x)
    validation = None
    if validation_data is not None:
        vx = inputs(model, validation_data[0], "validation x")
        validation = (vx, targets(model, vx, validation_data[1], "validation y"))
    return x, targets(model, x, y), validation


def splits(model, rng, data_dir=None):
    """The spec's data set split (files/data.prepare), errors at the setting's line,
    and the preprocessing the model takes with it: fitted on the training split
    (standard, minmax), or as the data set says (pixels for images). Fitted
    numbers the model holds already (a resumed or fine-tuned model) are kept: its
    trained weights expect inputs scaled by them."""
    config, source = model.config, model.source
    try:
        base = Path(source).parent if Path(source).is_file() else None
        out = data.prepare(config, rng, data_dir, base, model.graph.input_shape)
    except DataError as e:  # at the setting the problem is in
        setting = str(e).split(":")[0]
        loc = config.loc(setting if setting in ("validation", "resample") else "data")
        where = f"{source}:{loc.line}:{loc.column}" if loc else source
        raise DataError(f"{where}: {e}") from None
    if out.classes is not None and len(out.classes) != document.class_count(model.graph):
        raise DataError(f"{source}: the data names {len(out.classes)} classes, but the model "
                        f"has {model.graph.output_shape[-1]} outputs")
    pre, kind = model.preprocess, preprocess.kind_of(out.scale)
    if pre["kind"] != kind or not preprocess.fitted(pre):
        pre = preprocess.fit(kind, out.train[0]) if kind in preprocess.FITTED \
            else preprocess.make(out.scale)
    return out, pre


def fitted_scaling(model, x):
    """The model's fitted preprocessing (standard, minmax) with its numbers from
    raw training inputs x."""
    x = conformed(model, x)
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise DataError("x must hold finite numbers to fit the model's "
                        f"{model.preprocess['kind']} scaling")
    return preprocess.fit(model.preprocess["kind"], x)
