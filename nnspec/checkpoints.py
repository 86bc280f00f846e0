"""The `checkpoint` section of a bundle: what resuming training needs.

    {"epoch": int, "optimizer": {"name": str, "state": {key: array}},
     "rng": {"bit_generator": "PCG64", "state": str, "inc": str,
             "has_uint32": int, "uinteger": int}}

The shuffling generator's 128-bit PCG64 state is stored as decimal strings
(msgpack integers stop at 64 bits). Optimizer state keys are parameter names,
optionally with a suffix (`conv1.W` or `conv1.W/m`); each array must have its
parameter's shape.
"""
import numpy as np

from . import bundle
from .errors import BundleError
from .optim import OPTIMIZERS


def encode(model):
    state = model.shuffle_rng.bit_generator.state
    if state.get("bit_generator") != "PCG64":
        raise BundleError(f"cannot checkpoint a {state.get('bit_generator')} generator")
    optimizer = model.optimizer
    return {
        "epoch": model.epoch,
        "optimizer": {"name": model.config.optimizer,
                      "state": {k: bundle.encode_array(v)
                                for k, v in (optimizer.state if optimizer else {}).items()}},
        "rng": {"bit_generator": "PCG64", "state": str(state["state"]["state"]),
                "inc": str(state["state"]["inc"]), "has_uint32": int(state["has_uint32"]),
                "uinteger": int(state["uinteger"])},
    }


def decode(model, doc, allow_extra=False):
    """Restore optimizer state, epoch and RNG into a freshly loaded model, checking each."""
    field = "payload.checkpoint"
    bundle.check_map(doc, field, {"epoch": int, "optimizer": dict, "rng": dict},
                     allow_extra=allow_extra)
    if doc["epoch"] < 0:
        raise BundleError(f"{field}.epoch: {doc['epoch']} is negative")
    opt = doc["optimizer"]
    bundle.check_map(opt, f"{field}.optimizer", {"name": str, "state": dict},
                     allow_extra=allow_extra)
    if opt["name"] != model.config.optimizer:
        raise BundleError(f"{field}.optimizer.name: {opt['name']!r}, but the spec trains with "
                          f"{model.config.optimizer!r}")
    optimizer = OPTIMIZERS[opt["name"]](**dict(model.config.optimizer_options))
    for key, value in opt["state"].items():
        param = str(key).split("/", 1)[0]
        if param not in model.weights:
            raise BundleError(f"{field}.optimizer.state: {key!r} is not a parameter's state")
        arr = bundle.decode_array(value, f"{field}.optimizer.state.{key}")
        if arr.shape != model.weights[param].shape:
            raise BundleError(f"{field}.optimizer.state.{key}: shape {list(arr.shape)}, the "
                              f"parameter has {list(model.weights[param].shape)}")
        optimizer.state[key] = arr.astype(model.graph.dtype)
    rng = doc["rng"]
    bundle.check_map(rng, f"{field}.rng", {"bit_generator": str, "state": str, "inc": str,
                                           "has_uint32": int, "uinteger": int},
                     allow_extra=allow_extra)
    if rng["bit_generator"] != "PCG64" or not (rng["state"].isdigit() and rng["inc"].isdigit()):
        raise BundleError(f"{field}.rng: not a PCG64 state")
    if len(rng["state"]) > 40 or len(rng["inc"]) > 40:
        raise BundleError(f"{field}.rng: state out of range")
    generator = np.random.PCG64()
    try:
        generator.state = {"bit_generator": "PCG64",
                           "state": {"state": int(rng["state"]), "inc": int(rng["inc"])},
                           "has_uint32": rng["has_uint32"], "uinteger": rng["uinteger"]}
    except (ValueError, TypeError, OverflowError) as e:
        raise BundleError(f"{field}.rng: {e}") from None
    model.shuffle_rng = np.random.Generator(generator)
    model.optimizer = optimizer
    model.epoch = doc["epoch"]
