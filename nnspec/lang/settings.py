"""The train block: each setting declared once (SETTINGS), and checked at its line.

Settings that name things (loss, optimizer, schedule, metrics) are checked
against their registries later, by training/config.py, when the model is built.
"""
from dataclasses import dataclass, field, make_dataclass

from ..errors import SpecError
from . import ir
from .signature import suggest

NUMBER = ("int", "float")
MAX_SEED = (1 << 63) - 1  # seeds, batch sizes and epochs travel as 64-bit integers
MAX_COUNT = (1 << 31) - 1


@dataclass(frozen=True)
class Setting:
    """One train setting, declared once: the spec's parser, the checks of values
    given on the command line or to compile(), the printer and the checkpoint's
    record of overrides all read it from here."""

    key: str
    default: object
    forms: tuple  # the value forms a spec may write; () for none (optimizer_options)
    stored: str  # a checkpoint's override: "int", "float", "name", "bool" (written
    #              true or false), "text" (spec text), "options" (a map) or "ratio"
    minimum: float = None
    maximum: int = None
    choices: tuple = ()  # names it may take, checked here; others are checked by config.py


# In the printer's (and nnspec fmt's) order.
SETTINGS = (
    Setting("loss", "cross_entropy", ("name",), "name"),
    Setting("optimizer", "sgd", ("name", "call"), "name"),
    # None: the optimizer's own default (training/optimizers.py: LR), as in Keras
    Setting("lr", None, NUMBER, "float", minimum=0.0),
    Setting("schedule", None, ("name", "call"), "text"),  # None is constant
    Setting("batch_size", 32, ("int",), "int", minimum=1, maximum=MAX_COUNT),
    Setting("epochs", 10, ("int",), "int", minimum=0, maximum=MAX_COUNT),
    Setting("l1", 0.0, NUMBER, "float", minimum=0.0),  # on weights
    Setting("l2", 0.0, NUMBER, "float", minimum=0.0),
    Setting("l1_bias", 0.0, NUMBER, "float", minimum=0.0),  # on biases (seed 003)
    Setting("l2_bias", 0.0, NUMBER, "float", minimum=0.0),
    Setting("clip_norm", 0.0, NUMBER, "float", minimum=0.0),  # the global gradient norm; 0: off
    # the batch loss: the "mean" of per-sample losses, or their "sum"
    Setting("reduction", "mean", ("name",), "name", choices=("mean", "sum")),
    # names or calls (top_k(3)); () is accuracy, or MAE for one output
    Setting("metrics", (), ("name", "call", "list"), "text"),
    Setting("early_stopping", None, ("int", "call"), "text", minimum=1),  # int: the patience
    Setting("data", None, ("name", "call", "string"), "text"),  # resolved by files/data
    # a data set of its own for validation (a fresh draw of a generator, or a file),
    # instead of the split's validation share
    Setting("validation", None, ("name", "call", "string"), "text"),
    Setting("split", (0.7, 0.15, 0.15), ("ratio",), "ratio"),
    # false: the samples in the data set's order, for the split and every epoch's batches
    Setting("shuffle", True, ("name",), "bool"),
    # true: every epoch after the first trains on a fresh draw of the data's generator
    # (seed 001's sine, 1000 new points an iteration)
    Setting("resample", False, ("name",), "bool"),
    # the model's input preprocessing (engine/preprocess.py); None: pixels for data
    # sets of images, else none
    # pixels(LOW, HIGH): 8-bit pixels onto [LOW, HIGH] (seed 002's x / 127.5 - 1 is pixels(-1, 1))
    Setting("scale", None, ("name", "call"), "text",
            choices=("none", "pixels", "standard", "minmax")),
    Setting("seed", 0, ("int",), "int", minimum=0, maximum=MAX_SEED),
    # the compute type; None is float32, and compile(dtype=) wins
    Setting("dtype", None, ("name",), "name", choices=("float32", "float64")),
    Setting("optimizer_options", (), (), "options"),  # written inside optimizer(...)
)
BY_KEY = {s.key: s for s in SETTINGS}
CHOICES = {s.key: s.choices for s in SETTINGS if s.choices}


def _loc(self, key):
    return dict(self.locs).get(key)


# The train block, with defaults for what it leaves out; locs: ((key, Loc), ...)
TrainConfig = make_dataclass(
    "TrainConfig", [(s.key, object, field(default=s.default)) for s in SETTINGS]
    + [("locs", tuple, field(default=(), compare=False))],
    frozen=True, namespace={"loc": _loc, "__module__": __name__})


def problems(config):
    """Yield (key, message) for each value outside its setting's bounds or choices:
    values given on the command line or to compile() skip the parser's checks."""
    for s in SETTINGS:
        value = getattr(config, s.key)
        if s.stored == "bool" and not isinstance(value, bool):
            yield s.key, f"{s.key} must be true or false, got {value!r}"
        elif s.stored == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            yield s.key, f"{s.key} must be a whole number, got {value!r}"
        elif s.maximum is not None and not s.minimum <= value <= s.maximum:
            yield s.key, f"{s.key} must be a whole number from {s.minimum} to {s.maximum:,}, " \
                f"got {value!r}"
        elif s.stored == "float" and s.minimum is not None and value is not None \
                and value < s.minimum:
            yield s.key, f"{s.key} must be at least {s.minimum}, got {value}"
        elif s.choices and value is not None and _named(value) not in s.choices:
            yield s.key, f"{s.key} must be one of {', '.join(s.choices)}, got {value!r}"


def _named(value):
    """A setting's value as the name its choices list: a call's name, pixels(-1, 1)'s
    pixels (what the call takes is checked where it is made)."""
    if isinstance(value, str) and "(" in value:  # spec text given to compile(), as "pixels(-1, 1)"
        return value.split("(")[0].strip()
    return value.name if isinstance(value, ir.Call) else value


def train_config(st):
    """A ('train', settings, loc) statement -> TrainConfig, each setting checked."""
    _, settings, loc = st
    values, locs = {}, {}
    for key, form, value, kloc in settings:
        setting = BY_KEY.get(key)
        if setting is None or not setting.forms:
            written = [s.key for s in SETTINGS if s.forms]
            raise SpecError(f"unknown train setting '{key}'{suggest(key, written)} "
                            f"(settings: {', '.join(written)})", kloc.line, kloc.column)
        if key in values:
            raise SpecError(f"train setting '{key}' given twice", kloc.line, kloc.column)
        if form not in setting.forms:
            raise SpecError(f"train setting '{key}' cannot be {ir.format_value(value)}",
                            kloc.line, kloc.column)
        if setting.minimum is not None and form in NUMBER and value < setting.minimum:
            raise SpecError(f"train setting '{key}' must be at least {setting.minimum}, "
                            f"got {value}", kloc.line, kloc.column)
        if setting.stored == "bool":
            if value not in ("true", "false"):
                raise SpecError(f"train setting '{key}' is true or false, got {value}",
                                kloc.line, kloc.column)
            value = value == "true"
        if setting.choices and _named(value) not in setting.choices:
            raise SpecError(f"train setting '{key}' must be one of "
                            f"{', '.join(setting.choices)}, got {value}", kloc.line, kloc.column)
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
    for key in values:
        if BY_KEY[key].stored == "float":
            values[key] = float(values[key])
    if "metrics" in values and not isinstance(values["metrics"], tuple):
        values["metrics"] = (values["metrics"],)
    if isinstance(values.get("early_stopping"), int):  # a bare number is the patience
        values["early_stopping"] = ir.Call("early_stopping", (), (("patience",
                                                                    values["early_stopping"]),))
    return TrainConfig(**values, locs=tuple(locs.items()))
