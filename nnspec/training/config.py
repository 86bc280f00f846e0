"""A train block's settings -> the objects that carry them out: the optimizer,
the learning-rate schedule, the metrics and early stopping. Each setting is
checked here, so that a mistake is reported at its line before any training.
"""
import dataclasses
import inspect

from ..engine import losses, preprocess, target_scale
from ..errors import SpecError
from ..lang.ir import Call
from ..lang.settings import TrainConfig
from ..lang.signature import suggest
from . import outputs, weights
from .callbacks import EarlyStopping
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULES

STOPPERS = {"early_stopping": EarlyStopping}


def instantiate(registry, value, what):
    """A name or Call -> registry[name](*args, **kwargs); ValueError says what is wrong."""
    call = value if isinstance(value, Call) else Call(str(value))
    cls = registry.get(call.name)
    if cls is None:
        raise ValueError(f"unknown {what} '{call.name}'{suggest(call.name, registry)} "
                         f"(one of: {', '.join(registry)})")
    for key, _ in call.kwargs:
        if key not in cls.OPTIONS:
            raise ValueError(f"unknown option '{key}' for {call.name}{suggest(key, cls.OPTIONS)}"
                             f" (options: {', '.join(cls.OPTIONS) or 'none'})")
    params = inspect.signature(cls).parameters
    if len(call.args) > len(params):
        raise ValueError(f"{call.name} takes at most {len(params)} values, got {len(call.args)}")
    given = set(list(params)[:len(call.args)]) | {k for k, _ in call.kwargs}
    missing = [k for k, p in params.items() if p.default is p.empty and k not in given]
    if missing:
        raise ValueError(f"{call.name} needs {missing[0]}, e.g. {call.name}({missing[0]}=...)")
    bools = {"true": True, "false": False}  # spec text writes booleans as names
    args = [bools.get(a, a) if isinstance(a, str) else a for a in call.args]
    kwargs = {k: bools.get(v, v) if isinstance(v, str) else v for k, v in call.kwargs}
    try:
        return cls(*args, **kwargs)
    except TypeError as e:  # e.g. a value given both by position and by name
        raise ValueError(f"{call.name}: {e}") from None
    except ValueError as e:
        raise ValueError(f"{call.name}: {e}") from None


def optimizer(config):
    return instantiate(OPTIMIZERS, Call(config.optimizer, (), config.optimizer_options),
                       "optimizer")


def default_lr(config):
    """The learning rate of a spec that names none: its optimizer's (0.01 for sgd
    and adagrad, 0.001 for rmsprop and the adams); an unknown optimizer is
    reported by check()."""
    cls = OPTIMIZERS.get(config.optimizer)
    return cls.LR if cls is not None else 0.01


def schedule(config):
    return instantiate(SCHEDULES, config.schedule or "constant", "schedule")


def stopper(config):
    """An EarlyStopping for the train block's early_stopping, or None."""
    if config.early_stopping is None:
        return None
    return instantiate(STOPPERS, config.early_stopping, "early stopping")


def resolve(network, shapes, overrides=None):
    """The settings a network trains with, and what trains each output: the train
    block, `overrides` (given on the command line or to compile) replacing its
    settings, the defaults that follow from the network resolved (the loss from
    the output, lr from the optimizer), every setting checked. Raises SpecError at
    the line of the first problem: a setting's, or an output's for a loss that
    does not fit it (lang/heads.py). -> (TrainConfig, outputs.Plan)."""
    config = network.train or TrainConfig()
    overrides = dict(overrides or {})
    loss_given = "loss" in overrides or config.loc("loss") is not None
    # an overridden setting no longer comes from the spec: forget its location
    overrides["locs"] = tuple((k, v) for k, v in config.locs if k not in overrides)
    config = dataclasses.replace(config, **overrides)
    if config.lr is None:  # the optimizer's own default rate
        config = dataclasses.replace(config, lr=default_lr(config))
    for key, message in check(config):
        loc = config.loc(key)  # the first problem, at its line if the spec set it
        raise SpecError(message, loc.line if loc else None, loc.column if loc else None)
    plan = outputs.plan(network, shapes, config, loss_given)
    for key, watcher in (("early_stopping", stopper(config)), ("schedule", schedule(config))):
        if getattr(watcher, "monitor", None) is not None:
            try:
                outputs.check_monitor(watcher.monitor, plan, key)
            except ValueError as e:
                loc = config.loc(key)
                raise SpecError(str(e), loc.line if loc else None,
                                loc.column if loc else None) from None
    if config.class_weight is not None and not weights.classifies(plan):
        loc = config.loc("class_weight")
        raise SpecError(weights.NOT_CLASSIFYING, loc.line if loc else None,
                        loc.column if loc else None)
    if config.target_scale == "standard":
        for term in plan.terms:  # a classifier's outputs are left as they are
            why = term.loss in losses.REGRESSION and \
                target_scale.unscalable(term, network.node(term.node))
            if why:
                loc = config.loc("target_scale")
                raise SpecError(f"target_scale = standard: output {term.name} {why}",
                                loc.line if loc else None, loc.column if loc else None)
    if not loss_given:  # the first output's, as a network of one output reports it
        config = dataclasses.replace(config, loss=plan.terms[0].loss)
    return config, plan


def check(config):
    """Yield (setting, message) for each problem in a train config (each output's
    loss and metrics are checked by outputs.plan)."""
    if config.loss not in losses.LOSSES:
        yield "loss", (f"unknown loss '{config.loss}'{suggest(config.loss, losses.LOSSES)} "
                       f"(one of: {', '.join(losses.LOSSES)})")
    if config.scale is not None:
        try:
            preprocess.make(config.scale)
        except ValueError as e:
            yield "scale", str(e)
    weights = config.class_weight
    if weights is not None and weights != "balanced" and not (
            isinstance(weights, tuple) and weights and all(
                isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0
                for w in weights)):
        yield "class_weight", ("class_weight is balanced, or a list of one weight (0 or more) "
                               f"per class in the classes' order, e.g. [1, 5]; got {weights}")
    elif isinstance(weights, tuple) and not any(weights):
        yield "class_weight", (f"class_weight {list(weights)} weighs every class 0, so nothing "
                               "would train; give at least one class a weight above 0")
    for key, make in (("optimizer", optimizer), ("schedule", schedule),
                      ("early_stopping", stopper)):
        try:
            make(config)
        except ValueError as e:
            yield key, str(e)
