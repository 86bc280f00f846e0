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

from ..errors import BundleError, DataError, SpecError, shown
from ..lang.ir import format_value
from ..lang.settings import SETTINGS, read
from ..lang.syntax import parse_value
from ..training import outputs
from ..training.optimizers import OPTIMIZERS
from ..training.state import Position
from . import bundle

FIELD = "payload.checkpoint"
_RNG = {"bit_generator": str, "state": str, "inc": str, "has_uint32": int, "uinteger": int}
_STORED = {"int": int, "float": float, "name": str, "bool": bool, "text": str, "options": dict,
           "ratio": list}
_OVERRIDES = {s.key: _STORED[s.stored] for s in SETTINGS}  # as the train block declares them
# settings that may be names, calls or lists: stored as the spec text that writes them
_TEXT = tuple(s.key for s in SETTINGS if s.stored == "text")
_SCALARS = (int, float, str, bool)
OPTIMIZER_NAMES = {cls: name for name, cls in OPTIMIZERS.items()}


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
    """Model.overrides, each read by lang/settings.read -> the checkpoint's
    `overrides` map."""
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


def encode(state, overrides):
    """A TrainingState (training/state.py) and the model's overrides -> the map."""
    position = state.position
    stopper = state.stopper.state if state.stopper is not None else None
    if stopper is not None:
        stopper = {**stopper, "weights": _arrays(stopper["weights"])}
    return {
        "epoch": state.epoch,
        "step": state.step,
        "optimizer": {"name": OPTIMIZER_NAMES[type(state.optimizer)],
                      "state": _arrays(state.optimizer.state)},
        "schedule": {"name": type(state.schedule).__name__, "state": state.schedule.state},
        "rng": _encode_rng(state.shuffle_rng.bit_generator.state),
        "position": None if position is None else {
            "batch": position.batch, "rng": _encode_rng(position.rng_state),
            "sums": position.sums},
        "stopper": stopper,
        "overrides": encode_overrides(overrides),
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
    for key, value in out.items():  # as every setting is read (lang/settings.read)
        if key != "data":
            try:
                read(key, value)
            except SpecError as e:
                raise BundleError(f"{field}.{key}: {e.message}") from None
    return out


def _parameter_of(declared, key):
    """A state key -> its parameter. Keys are `<param>/<slot>`, or a bare parameter
    name; parameter names hold '/' themselves inside blocks (`res1/conv1.W/m`),
    so the slot is what follows the last '/'."""
    if key in declared:
        return key
    param, _, slot = key.rpartition("/")
    return param if slot and param in declared else None


def _decode_state(graph, states, field, slots=True):
    """{key: encoded array} for parameters -> {key: array of the graph's dtype}.
    slots: optimizer state of trained parameters; else a copy of the weights,
    keyed by every parameter's name."""
    out = {}
    declared = graph.declared
    for key, value in states.items():
        param = _parameter_of(declared, key) if slots else key
        if param not in (graph.trainable if slots else declared):
            raise BundleError(f"{field}: {shown(repr(key))} is not "
                              + ("a trained parameter's state" if slots else "a parameter"))
        arr = bundle.decode_array(value, f"{field}.{key}")
        if arr.shape != declared[param][0]:
            raise BundleError(f"{field}.{key}: shape {list(arr.shape)}, the "
                              f"parameter has {list(declared[param][0])}")
        out[key] = arr.astype(graph.dtype)
    return out


def _momentum_as_gradients(state, graph, rates, momentum, version):
    """SGD momentum of format 1.1 and before held steps (v = mu v - lr g, the Keras
    form); nnspec now keeps PyTorch's buffer of gradients (b = mu b + g, w -= lr b).
    Under a constant rate v = -lr b, so b = -v / lr with the rate of the last update."""
    if version > (1, 1):
        return momentum
    factor = state.schedule.factor(max(state.step - 1, 0), max(state.epoch - 1, 0))
    out = {}
    for key, v in momentum.items():
        param = _parameter_of(graph.declared, key)
        lr = rates[param].lr * factor
        out[param + "/b"] = -v / v.dtype.type(lr) if lr else np.zeros_like(v)
    return out


def decode(doc, state, graph, config, plan, rates, version):
    """A checkpoint map -> the TrainingState it holds, every field checked: `state`,
    a fresh one of the model's train config (its optimizer, schedule and early
    stopping objects), is filled in and returned. version: the file's (major, minor);
    plan: what trains each output (training/outputs.py); rates: the trained
    parameters' (training/penalties.coefficients)."""
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
    if opt["name"] != config.optimizer:
        raise BundleError(f"{FIELD}.optimizer.name: {opt['name']!r}, but the spec trains with "
                          f"{config.optimizer!r}")
    slots = _decode_state(graph, opt["state"], f"{FIELD}.optimizer.state")
    state.optimizer.t = doc.get("step", 0)
    state.epoch = doc["epoch"]
    if "schedule" in doc:
        _decode_schedule(state.schedule, doc["schedule"], allow_extra)
    if version < (1, 2) and hasattr(state.schedule, "before_1_2"):
        state.schedule.before_1_2 = True  # the cosine's first curve, which the run began on
    if opt["name"] == "sgd":
        slots = _momentum_as_gradients(state, graph, rates, slots, version)
    state.optimizer.state = slots
    state.shuffle_rng = np.random.Generator(np.random.PCG64())
    state.shuffle_rng.bit_generator.state = _decode_rng(doc["rng"], f"{FIELD}.rng", allow_extra)
    position = doc.get("position")
    if position is not None:
        field = f"{FIELD}.position"
        bundle.check_map(position, field, {"batch": int, "rng": dict, "sums": dict},
                         allow_extra=allow_extra)
        sums = position["sums"]
        keys = {"seen", *outputs.keys(plan)}
        if position["batch"] < 1 or set(sums) != keys or not all(
                _number(v) and v >= 0 for v in sums.values()):
            raise BundleError(f"{field}: not a position inside an epoch (sums of "
                              f"{', '.join(sorted(keys))})")
        state.position = Position(position["batch"],
                                  _decode_rng(position["rng"], f"{field}.rng", allow_extra),
                                  dict(position["sums"]))
    if doc.get("stopper") is not None and state.stopper is not None:
        field = f"{FIELD}.stopper"
        stopper = doc["stopper"]
        bundle.check_map(stopper, field, {"best": float, "wait": int, "best_epoch": int,
                                          "weights": dict}, allow_extra=allow_extra)
        weights = _decode_state(graph, stopper["weights"], f"{field}.weights", slots=False)
        if weights and set(weights) != set(graph.declared) or math.isnan(stopper["best"]) \
                or stopper["wait"] < 0 or not 0 <= stopper["best_epoch"] <= doc["epoch"]:
            raise BundleError(f"{field}: not an early-stopping state of this network")
        state.stopper.load({**stopper, "weights": weights})
    return state


def _decode_schedule(schedule, doc, allow_extra):
    field = f"{FIELD}.schedule"
    bundle.check_map(doc, field, {"name": str, "state": dict}, allow_extra=allow_extra)
    want = type(schedule).__name__
    if doc["name"] != want:
        raise BundleError(f"{field}.name: {doc['name']!r}, but the spec's schedule is {want!r}")
    expected = schedule.state
    state = doc["state"]
    if set(state) - set(schedule.OPTIONAL_STATE) != set(expected) or not all(
            _number(v) and (v >= 0 if isinstance(expected.get(k, 0), int) else not math.isnan(v))
            and isinstance(v, int) >= isinstance(expected.get(k, 0), int)
            for k, v in state.items()):
        raise BundleError(f"{field}.state: expected numbers for {sorted(expected) or 'nothing'} "
                          "(counts as whole numbers of at least 0)")
    schedule.load(state)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
