"""The train block: each setting's accepted forms and bounds, checked at its line.

Settings that name things (optimizer, schedule, metrics) are checked against
their registries later, by config.py, when the model is built.
"""
from . import ir
from ..errors import SpecError
from .signature import suggest

# The train block's settings: key -> (accepted value forms, check).
_TRAIN = {
    "loss": ("name",),
    "optimizer": ("name", "call"),
    "lr": ("int", "float"),
    "batch_size": ("int",),
    "epochs": ("int",),
    "l1": ("int", "float"),
    "l2": ("int", "float"),
    "reduction": ("name",),
    "data": ("name", "call", "string"),
    "split": ("ratio",),
    "seed": ("int",),
    "l1_bias": ("int", "float"),
    "l2_bias": ("int", "float"),
    "schedule": ("name", "call"),
    "clip_norm": ("int", "float"),
    "metrics": ("name", "call", "list"),
    "early_stopping": ("int", "call"),
    "dtype": ("name",),
}
CHOICES = {"dtype": ("float32", "float64"), "reduction": ("mean", "sum")}
_MINIMUM = {"lr": 0.0, "batch_size": 1, "epochs": 0, "l1": 0.0, "l2": 0.0, "seed": 0,
            "l1_bias": 0.0, "l2_bias": 0.0, "clip_norm": 0.0, "early_stopping": 1}


def train_config(st):
    """A ('train', settings, loc) statement -> ir.TrainConfig, each setting checked."""
    _, settings, loc = st
    values, locs = {}, {}
    for key, form, value, kloc in settings:
        if key not in _TRAIN:
            raise SpecError(f"unknown train setting '{key}'{suggest(key, _TRAIN)} "
                            f"(settings: {', '.join(_TRAIN)})", kloc.line, kloc.column)
        if key in values:
            raise SpecError(f"train setting '{key}' given twice", kloc.line, kloc.column)
        if form not in _TRAIN[key]:
            raise SpecError(f"train setting '{key}' cannot be {ir.format_value(value)}",
                            kloc.line, kloc.column)
        if key in _MINIMUM and not isinstance(value, ir.Call) and value < _MINIMUM[key]:
            raise SpecError(f"train setting '{key}' must be at least {_MINIMUM[key]}, "
                            f"got {value}", kloc.line, kloc.column)
        if key in CHOICES and value not in CHOICES[key]:
            raise SpecError(f"train setting '{key}' must be one of {', '.join(CHOICES[key])}, "
                            f"got {value}", kloc.line, kloc.column)
        values[key], locs[key] = value, kloc
    if isinstance(values.get("optimizer"), ir.Call):
        call = values["optimizer"]
        if call.args:
            kloc = locs["optimizer"]
            raise SpecError(f"optimizer options are named, e.g. {call.name}(lr=0.01)",
                            kloc.line, kloc.column)
        options = dict(call.kwargs)
        if "lr" in options:
            if "lr" in values:
                raise SpecError("lr given both in the optimizer and as a setting",
                                locs["lr"].line, locs["lr"].column)
            values["lr"] = options.pop("lr")
        values["optimizer"] = call.name
        values["optimizer_options"] = tuple(sorted(options.items()))
    if "split" in values:
        parts = values["split"]
        if len(parts) not in (2, 3) or sum(parts) <= 0:
            raise SpecError("split is train/validation[/test], e.g. 70/15/15",
                            locs["split"].line, locs["split"].column)
        values["split"] = tuple(p / sum(parts) for p in parts) + (0.0,) * (3 - len(parts))
    for key in ("lr", "l1", "l2", "l1_bias", "l2_bias", "clip_norm"):
        if key in values:
            values[key] = float(values[key])
    if "metrics" in values and not isinstance(values["metrics"], tuple):
        values["metrics"] = (values["metrics"],)
    if isinstance(values.get("early_stopping"), int):  # a bare number is the patience
        values["early_stopping"] = ir.Call("early_stopping", (), (("patience",
                                                                    values["early_stopping"]),))
    return ir.TrainConfig(**values, locs=tuple(locs.items()))
