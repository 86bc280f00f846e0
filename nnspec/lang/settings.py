"""The train block: each setting declared once (SETTINGS), and checked at its line.

Settings that name things (loss, optimizer, schedule, metrics) are checked
against their registries later, by training/config.py, when the model is built.
"""
from dataclasses import dataclass, field, make_dataclass

from ..errors import SpecError
from . import ir, tree
from .signature import suggest
from .syntax import parse_value

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


def _named(value):
    """A setting's value as the name its choices list: a call's name, pixels(-1, 1)'s
    pixels (what the call takes is checked where it is made)."""
    return value.name if isinstance(value, ir.Call) else value


def _written(value):
    """A Python value given for a setting (compile(), a checkpoint's overrides) ->
    (form, value) as the spec would write it."""
    if isinstance(value, bool):
        return "name", "true" if value else "false"
    if isinstance(value, int):
        return "int", value
    if isinstance(value, float):
        return "float", value
    if isinstance(value, ir.Call):
        return "call", value
    if isinstance(value, (tuple, list)) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return "ratio", tuple(value)
    if isinstance(value, (tuple, list)):
        return "list", tuple(value)
    return "name", value


def _form(setting, value):
    """(form, value) of a setting given as a tree.Value, spec text or a Python value."""
    if isinstance(value, tree.Value):
        return value.form, value.value
    if not isinstance(value, str):
        return _written(value)
    try:
        form, parsed = parse_value(value, setting.key)
    except SpecError:
        if "string" in setting.forms:  # a path, as `--data digits.npz`
            return "string", value
        raise
    if form == "name" and "string" in setting.forms and ("/" in value or "." in value):
        return "string", value
    return form, parsed


def read(key, value, loc=None):
    """One train setting -> {key: its checked value}, as the spec writes it (a
    tree.Value), or as the command line, compile(), a checkpoint and the estimator
    give it (spec text such as "adam(beta1=0.8)", or a Python value). The one
    reader of settings: every way in checks the same. Usually one key;
    optimizer(lr=..., ...) gives optimizer, optimizer_options and lr.
    Raises SpecError (at loc, where given)."""
    at = (loc.line, loc.column) if loc is not None else (None, None)
    setting = BY_KEY.get(key)
    if key == "optimizer_options" and not isinstance(value, (str, tree.Value)):
        options = dict(value)  # compile(optimizer_options=...), a checkpoint's
        if not all(isinstance(k, str) and isinstance(v, (int, float, str)) for k, v in
                   options.items()):
            raise SpecError("optimizer_options are names and numbers", *at)
        return {key: tuple(sorted(options.items()))}
    if setting is None or not setting.forms:
        written = [s.key for s in SETTINGS if s.forms]
        raise SpecError(f"unknown train setting '{key}'{suggest(key, written)} "
                        f"(settings: {', '.join(written)})", *at)
    form, value = _form(setting, value)
    shown = ir.format_value(value)
    if form not in setting.forms:
        raise SpecError(f"train setting '{key}' cannot be {shown}", *at)
    if setting.maximum is not None and not setting.minimum <= value <= setting.maximum:
        raise SpecError(f"train setting '{key}' must be a whole number from {setting.minimum} "
                        f"to {setting.maximum:,}, got {value}", *at)
    if setting.minimum is not None and form in NUMBER and value < setting.minimum:
        raise SpecError(f"train setting '{key}' must be at least {setting.minimum}, got {value}",
                        *at)
    if setting.stored == "bool":
        if value not in ("true", "false"):
            raise SpecError(f"train setting '{key}' is true or false, got {shown}", *at)
        value = value == "true"
    if setting.choices and _named(value) not in setting.choices:
        raise SpecError(f"train setting '{key}' must be one of {', '.join(setting.choices)}, "
                        f"got {shown}", *at)
    return _normalised(key, form, value, at)


def read_all(given):
    """{key: value or text, None for not given} -> {key: checked value}, each read
    by read(). Another optimizer drops the spec's options unless its own are given:
    optimizer_options, where given, are read after it."""
    out = {}
    for key in sorted(given, key=lambda k: k == "optimizer_options"):
        if given[key] is not None:
            out.update(read(key, given[key]))
    return out


def _normalised(key, form, value, at):
    if key == "optimizer":
        if form == "name":
            return {"optimizer": value, "optimizer_options": ()}
        if value.args:
            raise SpecError(f"optimizer options are named, e.g. {value.name}(lr=0.01)", *at)
        options = dict(value.kwargs)
        out = {"optimizer": value.name}
        if "lr" in options:
            out.update(read("lr", options.pop("lr")))
        out["optimizer_options"] = tuple(sorted(options.items()))
        return out
    if key == "split":
        if len(value) not in (2, 3) or sum(value) <= 0 or min(value) < 0:
            raise SpecError("split is train/validation[/test], e.g. 70/15/15", *at)
        return {key: tuple(p / sum(value) for p in value) + (0.0,) * (3 - len(value))}
    if BY_KEY[key].stored == "float":
        return {key: float(value)}
    if key == "metrics" and not isinstance(value, tuple):
        return {key: (value,)}
    if key == "early_stopping" and form == "int":  # a bare number is the patience
        return {key: ir.Call("early_stopping", (), (("patience", value),))}
    return {key: value}


def train_config(st):
    """A tree.Train statement -> TrainConfig, each setting read as read() reads it."""
    values, locs = {}, {}
    for key, value, kloc in st.settings:
        if key in locs:
            raise SpecError(f"train setting '{key}' given twice", kloc.line, kloc.column)
        given = read(key, value, kloc)
        if "lr" in given and "lr" in values:  # optimizer(lr=...) and lr = ...
            where = locs.get("lr", kloc)
            raise SpecError("lr given both in the optimizer and as a setting", where.line,
                            where.column)
        values.update(given)
        locs[key] = kloc
    return TrainConfig(**values, locs=tuple(locs.items()))
