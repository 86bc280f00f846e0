"""The `checkpoint` section of a bundle: what resuming training needs.

    {"epoch": int, "step": int,
     "optimizer": {"name": str, "state": {key: array}},
     "schedule": {"name": str, "state": {key: number}},
     "rng": RNG, "position": {"batch": int, "rng": RNG, "sums": {key: number}} or nil,
     "stopper": {"best": float, "wait": int, "best_epoch": int, "weights": {param: array}} or nil,
     "overrides": {"seed": int, "lr": float, "batch_size": int, "epochs": int,
                   "optimizer": str, "optimizer_options": {key: value}, "l1", "l2",
                   "l1_bias", "l2_bias", "clip_norm": float, "loss", "reduction",
                   "schedule", "data": str (a name), "split": [3 floats]} (any subset)}
    RNG = {"bit_generator": "PCG64", "state": str, "inc": str, "has_uint32": int, "uinteger": int}

Format 1.0 checkpoints had only epoch, optimizer and rng; the rest is optional.
The shuffling generator's 128-bit PCG64 state is stored as decimal strings
(msgpack integers stop at 64 bits). Optimizer state keys are parameter names,
optionally with a suffix (`conv1.W/m`); each array must have its parameter's
shape. `position` is set when Ctrl-C stopped training inside an epoch: the
generator's state at that epoch's start and the batches already done.
"""
import math

import numpy as np

from ..errors import BundleError, DataError, SpecError
from ..lang.ir import format_value
from ..lang.settings import SETTINGS
from ..lang.syntax import parse_value
from ..training import metrics
from ..training.loop import Position, coefficients
from . import bundle
from .io import shown

FIELD = "payload.checkpoint"
_RNG = {"bit_generator": str, "state": str, "inc": str, "has_uint32": int, "uinteger": int}
_STORED = {"int": int, "float": float, "name": str, "bool": bool, "text": str, "options": dict,
           "ratio": list}
_OVERRIDES = {s.key: _STORED[s.stored] for s in SETTINGS}  # as the train block declares them
# settings that may be names, calls or lists: stored as the spec text that writes them
_TEXT = tuple(s.key for s in SETTINGS if s.stored == "text")
_SCALARS = (int, float, str, bool)


def _encode_rng(state):
    if state.get("bit_generator") != "PCG64":
        raise BundleError(f"cannot checkpoint a {state.get('bit_generator')} generator")
    return {"bit_generator": "PCG64", "state": str(state["state"]["state"]),
            "inc": str(state["state"]["inc"]), "has_uint32": int(state["has_uint32"]),
            "uinteger": int(state["uinteger"])}


def _decode_rng(rng, field, allow_extra):
    bundle.check_map(rng, field, _RNG, allow_extra=allow_extra)
    if rng["bit_generator"] != "PCG64" or not (rng["state"].isdigit() and rng["inc"].isdigit()):
        raise BundleError(f"{field}: not a PCG64 state")
    if len(rng["state"]) > 40 or len(rng["inc"]) > 40:
        raise BundleError(f"{field}: state out of range")
    state = {"bit_generator": "PCG64",
             "state": {"state": int(rng["state"]), "inc": int(rng["inc"])},
             "has_uint32": rng["has_uint32"], "uinteger": rng["uinteger"]}
    try:
        np.random.PCG64().state = state
    except (ValueError, TypeError, OverflowError) as e:
        raise BundleError(f"{field}: {e}") from None
    return state


def _arrays(arrays):
    return {k: bundle.encode_array(v) for k, v in arrays.items()}


def encode_overrides(given):
    """Model.overrides -> the checkpoint's `overrides` map. Model.configure calls it
    too, so an override that cannot be stored fails before training, not after."""
    overrides = {}
    for key, value in given.items():
        if key == "optimizer_options":
            value = dict(value)
        elif key == "split":
            value = [float(v) for v in value]
        elif key in _TEXT and value is not None:
            value = format_value(value)  # shapes(100), csv("/d/t.csv", label="y"), [mae]
        elif isinstance(value, (int, float)) and _OVERRIDES.get(key) is float:
            value = float(value)
        if key not in _OVERRIDES or not isinstance(value, _OVERRIDES[key]) or (
                isinstance(value, int) and not -(1 << 63) <= value < 1 << 64):
            raise DataError(f"cannot checkpoint the override {key}={value!r}; "
                            "put it in the spec's train block")
        overrides[key] = value
    return overrides


def encode(model):
    overrides = encode_overrides(model.overrides)
    position = model.position
    stopper = model.stopper.state if model.stopper is not None else None
    if stopper is not None:
        stopper = {**stopper, "weights": _arrays(stopper["weights"])}
    return {
        "epoch": model.epoch,
        "step": model.optimizer.t,
        "optimizer": {"name": model.config.optimizer, "state": _arrays(model.optimizer.state)},
        "schedule": {"name": type(model.schedule).__name__, "state": model.schedule.state},
        "rng": _encode_rng(model.shuffle_rng.bit_generator.state),
        "position": None if position is None else {
            "batch": position.batch, "rng": _encode_rng(position.rng_state),
            "sums": position.sums},
        "stopper": stopper,
        "overrides": overrides,
    }


def overrides(doc, allow_extra=False):
    """The compile overrides a checkpoint was trained with, checked, as Model kwargs."""
    if not isinstance(doc, dict) or "overrides" not in doc:
        return {}
    field = f"{FIELD}.overrides"
    stored = doc["overrides"]
    bundle.check_map(stored, field, _OVERRIDES, optional=tuple(_OVERRIDES),
                     allow_extra=allow_extra)
    out = {k: v for k, v in stored.items() if k in _OVERRIDES}
    if "optimizer_options" in out:
        options = out["optimizer_options"]
        if not all(isinstance(k, str) and isinstance(v, _SCALARS) for k, v in options.items()):
            raise BundleError(f"{field}.optimizer_options: expected names and numbers")
        out["optimizer_options"] = tuple(sorted(options.items()))
    for key in _TEXT:
        if key in out:  # spec text; before format 1.2 a data path or name was stored bare
            try:
                out[key] = parse_value(out[key])[1]
            except SpecError:
                if key != "data":
                    raise BundleError(f"{field}.{key}: {shown(out[key])} is not a setting's "
                                      "value") from None
    if "split" in out:
        if len(out["split"]) != 3 or not all(isinstance(v, float) for v in out["split"]):
            raise BundleError(f"{field}.split: expected three numbers")
        out["split"] = tuple(out["split"])
    return out


def _parameter_of(declared, key):
    """A state key -> its parameter. Keys are `<param>/<slot>`, or a bare parameter
    name; parameter names hold '/' themselves inside blocks (`res1/conv1.W/m`),
    so the slot is what follows the last '/'."""
    if key in declared:
        return key
    param, _, slot = key.rpartition("/")
    return param if slot and param in declared else None


def _decode_state(model, states, field, slots=True):
    """{key: encoded array} for parameters -> {key: array of the model's dtype}.
    slots: optimizer state of trained parameters; else a copy of the weights,
    keyed by every parameter's name."""
    out = {}
    declared = model.graph.declared
    for key, value in states.items():
        param = _parameter_of(declared, key) if slots else key
        if param not in (model.graph.trainable if slots else declared):
            raise BundleError(f"{field}: {shown(repr(key))} is not "
                              + ("a trained parameter's state" if slots else "a parameter"))
        arr = bundle.decode_array(value, f"{field}.{key}")
        if arr.shape != declared[param][0]:
            raise BundleError(f"{field}.{key}: shape {list(arr.shape)}, the "
                              f"parameter has {list(declared[param][0])}")
        out[key] = arr.astype(model.graph.dtype)
    return out


def _momentum_as_gradients(model, state, version):
    """SGD momentum of format 1.1 and before held steps (v = mu v - lr g, the Keras
    form); nnspec now keeps PyTorch's buffer of gradients (b = mu b + g, w -= lr b).
    Under a constant rate v = -lr b, so b = -v / lr with the rate of the last update."""
    if version > (1, 1):
        return state
    rates = coefficients(model.graph, model.config, model.overrides)
    factor = model.schedule.factor(max(model.optimizer.t - 1, 0), max(model.epoch - 1, 0))
    out = {}
    for key, v in state.items():
        param = _parameter_of(model.graph.declared, key)
        lr = rates[param][0] * factor
        out[param + "/b"] = -v / v.dtype.type(lr) if lr else np.zeros_like(v)
    return out


def decode(model, doc, version):
    """Restore optimizer, schedule, position, early stopping, epoch and RNG into a
    freshly loaded model, checking each. version: the file's (major, minor)."""
    allow_extra = version > bundle.VERSION
    optional = ("step", "schedule", "position", "stopper", "overrides")
    bundle.check_map(doc, FIELD, {"epoch": int, "optimizer": dict, "rng": dict, "step": int,
                                  "schedule": dict, "position": (dict, type(None)),
                                  "stopper": (dict, type(None)), "overrides": dict},
                     optional=optional, allow_extra=allow_extra)
    for key in ("epoch", "step"):
        if doc.get(key, 0) < 0:
            raise BundleError(f"{FIELD}.{key}: {doc[key]} is negative")
    opt = doc["optimizer"]
    bundle.check_map(opt, f"{FIELD}.optimizer", {"name": str, "state": dict},
                     allow_extra=allow_extra)
    if opt["name"] != model.config.optimizer:
        raise BundleError(f"{FIELD}.optimizer.name: {opt['name']!r}, but the spec trains with "
                          f"{model.config.optimizer!r}")
    state = _decode_state(model, opt["state"], f"{FIELD}.optimizer.state")
    model.optimizer.t = doc.get("step", 0)
    model.epoch = doc["epoch"]
    if "schedule" in doc:
        _decode_schedule(model, doc["schedule"], allow_extra)
    if opt["name"] == "sgd":
        state = _momentum_as_gradients(model, state, version)
    model.optimizer.state = state
    model.shuffle_rng = np.random.Generator(np.random.PCG64())
    model.shuffle_rng.bit_generator.state = _decode_rng(doc["rng"], f"{FIELD}.rng", allow_extra)
    position = doc.get("position")
    if position is not None:
        field = f"{FIELD}.position"
        bundle.check_map(position, field, {"batch": int, "rng": dict, "sums": dict},
                         allow_extra=allow_extra)
        sums = position["sums"]
        keys = {"loss", "seen", *metrics.resolve(model.config.metrics, model.graph.output_shape[-1],
                                                 model.config.loss)}
        if position["batch"] < 1 or set(sums) != keys or not all(
                _number(v) and v >= 0 for v in sums.values()):
            raise BundleError(f"{field}: not a position inside an epoch (sums of "
                              f"{', '.join(sorted(keys))})")
        model.position = Position(position["batch"],
                                  _decode_rng(position["rng"], f"{field}.rng", allow_extra),
                                  dict(position["sums"]))
    if doc.get("stopper") is not None and model.stopper is not None:
        field = f"{FIELD}.stopper"
        stopper = doc["stopper"]
        bundle.check_map(stopper, field, {"best": float, "wait": int, "best_epoch": int,
                                          "weights": dict}, allow_extra=allow_extra)
        weights = _decode_state(model, stopper["weights"], f"{field}.weights", slots=False)
        if weights and set(weights) != set(model.graph.declared) or math.isnan(stopper["best"]) \
                or stopper["wait"] < 0 or not 0 <= stopper["best_epoch"] <= doc["epoch"]:
            raise BundleError(f"{field}: not an early-stopping state of this network")
        model.stopper.load({**stopper, "weights": weights})


def _decode_schedule(model, doc, allow_extra):
    field = f"{FIELD}.schedule"
    bundle.check_map(doc, field, {"name": str, "state": dict}, allow_extra=allow_extra)
    want = type(model.schedule).__name__
    if doc["name"] != want:
        raise BundleError(f"{field}.name: {doc['name']!r}, but the spec's schedule is {want!r}")
    expected = model.schedule.state
    state = doc["state"]
    if set(state) != set(expected) or not all(
            _number(v) and (v >= 0 if isinstance(expected[k], int) else not math.isnan(v))
            and isinstance(v, int) >= isinstance(expected[k], int) for k, v in state.items()):
        raise BundleError(f"{field}.state: expected numbers for {sorted(expected) or 'nothing'} "
                          "(counts as whole numbers of at least 0)")
    model.schedule.load(state)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
