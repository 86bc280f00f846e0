"""A spec's sweep block -> a Plan: each varied name's space, and the sweep's own
settings, every mistake a SpecError at its line. No numpy, no Optuna.

    sweep {
      hidden = [2, 4, 8, 16]          # a list: the values a grid takes
      lr = loguniform(1e-3, 1)        # also uniform(a, b), int(a, b), range(n), range(a, b)
      sampler = grid                  # grid (every space a list), random, tpe
      trials = 80                     # for random and tpe
      objective = minimize(val_loss)  # any metric a run logs
      prune = median                  # optional: median, hyperband or none
    }

A name is a {placeholder} of the spec (outside blocks) or a train setting.
"""
import itertools
from typing import NamedTuple

from ..errors import SpecError
from ..lang import ir, template
from ..lang.settings import BY_KEY, read
from ..lang.signature import suggest
from ..lang.syntax import syntax

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("median", "hyperband", "none")
DIRECTIONS = ("minimize", "maximize")
OWN = ("sampler", "trials", "objective", "prune")  # the sweep's settings, not spaces
KINDS = ("list", "uniform", "loguniform", "int")
WRITTEN = "a list [a, b, ...], uniform(a, b), loguniform(a, b), int(a, b) or range(n)"


class Space(NamedTuple):
    name: str
    kind: str  # "list", "uniform", "loguniform" or "int"
    values: tuple  # a list's values; (low, high) otherwise
    setting: bool  # a train setting (else a placeholder)
    loc: ir.Loc


class Plan(NamedTuple):
    spaces: tuple  # Spaces, as written
    sampler: str
    trials: int  # None: not written (grid: its size)
    metric: str  # None: val_loss where the spec validates, else loss
    direction: str
    prune: str
    locs: dict  # sweep setting -> its Loc, for later checks (the metric)
    loc: ir.Loc  # the sweep block's

    @property
    def grid(self):
        """Every combination of the lists, in order (the last name varying fastest)."""
        names = [s.name for s in self.spaces]
        return [dict(zip(names, combo)) for combo in
                itertools.product(*(s.values for s in self.spaces))]


def _fail(message, loc):
    raise SpecError(message, loc.line if loc else None, loc.column if loc else None)


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _space(name, value, loc, setting):
    form, v, vloc = value
    if form == "list":
        if not v:
            _fail(f"the sweep's space for '{name}' is an empty list; give it values", vloc)
        values = tuple(v)
    elif form == "call" and v.name in ("uniform", "loguniform", "int", "range"):
        if v.kwargs or not all(_number(a) for a in v.args) or \
                len(v.args) not in ((1, 2) if v.name == "range" else (2,)):
            usage = "range(n) or range(a, b)" if v.name == "range" else f"{v.name}(low, high)"
            _fail(f"{v.name} takes two numbers: {usage}, got {v}", vloc)
        if v.name in ("int", "range") and not all(isinstance(a, int) for a in v.args):
            _fail(f"{v.name} takes whole numbers, got {v}", vloc)
        if v.name == "range":
            low, high = (0, v.args[0]) if len(v.args) == 1 else v.args
            if high <= low:
                _fail(f"{v} is empty: its end must be above its start", vloc)
            if high - low > 100_000:
                _fail(f"{v} has {high - low:,} values; a list has at most 100,000", vloc)
            return Space(name, "list", tuple(range(low, high)), setting, loc)
        low, high = v.args
        if not low < high if v.name != "int" else not low <= high:
            _fail(f"{v}: the bounds are reversed or equal; write {v.name}(low, high) with "
                  f"low below high", vloc)
        if v.name == "loguniform" and low <= 0:
            _fail(f"{v}: loguniform's bounds must be above 0", vloc)
        return Space(name, v.name, (low, high), setting, loc)
    elif form in ("int", "float", "name", "string", "call"):
        values = (v,)  # one value: the name held fixed for the sweep
    else:
        _fail(f"the sweep's space for '{name}' is {WRITTEN}, got "
              f"{ir.format_value(v)}", vloc)
    if setting:
        for item in values:
            try:
                read(name, item)
            except SpecError as e:
                _fail(f"the sweep's value {ir.format_value(item)} for '{name}': {e.message}",
                      vloc)
    return Space(name, "list", values, setting, loc)


def _own(key, value, loc, plan):
    form, v, vloc = value
    if key in ("sampler", "prune"):
        known, what = (SAMPLERS, "sampler") if key == "sampler" else (PRUNERS, "pruner")
        if form != "name" or v not in known:
            _fail(f"unknown {what} '{ir.format_value(v)}'{suggest(v, known)} "
                  f"(one of: {', '.join(known)})", vloc)
        plan[key] = v
    elif key == "trials":
        if form != "int" or v < 1:
            _fail(f"trials is a whole number of at least 1, got {ir.format_value(v)}", vloc)
        plan["trials"] = v
    elif key == "objective":
        if form == "name":  # a metric alone: accuracies are maximised, the rest minimised
            plan["metric"], plan["direction"] = v, ("maximize" if "accuracy" in v
                                                    else "minimize")
        elif form == "call" and v.name in DIRECTIONS and len(v.args) == 1 and not v.kwargs \
                and isinstance(v.args[0], str):
            plan["metric"], plan["direction"] = v.args[0], v.name
        else:
            _fail(f"objective is minimize(METRIC) or maximize(METRIC), e.g. "
                  f"minimize(val_loss), got {ir.format_value(v)}", vloc)


def read_plan(text, source="<spec>"):
    """A spec's text -> its Plan. Raises SpecError (located) for a spec without a
    sweep block and for each mistake in it."""
    statements = syntax(text, source)
    try:
        return _plan(text, source, statements)
    except SpecError as e:
        raise e.located(source, text)


def _plan(text, source, statements):
    block = template.sweep_block(text, source, statements)
    if block is None:
        raise SpecError("the spec has no sweep block; add one, e.g. sweep { lr = "
                        "loguniform(1e-4, 1e-1) }")
    holes = template.placeholders(text, source, statements)
    settings = [k for k, s in BY_KEY.items() if s.forms]
    plan = dict(sampler=None, trials=None, metric=None, direction="minimize", prune="none")
    spaces, locs = [], {}
    for key, value, loc in block.settings:
        if key in locs:
            _fail(f"'{key}' is given twice in the sweep block (first at line "
                  f"{locs[key].line})", loc)
        locs[key] = loc
        if key in OWN:
            _own(key, value, loc, plan)
        elif key in holes or key in settings:
            spaces.append(_space(key, value, loc, key not in holes))
        else:
            known = list(holes) + settings + list(OWN)
            _fail(f"the sweep gives a space to '{key}', which the spec does not use (a "
                  f"sweep names the spec's {{placeholders}}: {', '.join(holes) or 'none'}; "
                  f"a train setting; or {', '.join(OWN)}){suggest(key, known)}", loc)
    varied = {s.name for s in spaces}
    for hole in holes.values():
        if hole.name not in varied and hole.default is None:
            _fail(f"'{{{hole.name}}}' has no space in the sweep block and no default: add "
                  f"'{hole.name} = [...]' to the sweep, or write {{{hole.name}=VALUE}}",
                  hole.loc)
    if not spaces:
        _fail("the sweep block gives no spaces; add one, e.g. lr = loguniform(1e-4, 1e-1)",
              block.loc)
    lists = all(s.kind == "list" for s in spaces)
    sampler = plan["sampler"] or ("grid" if lists else "tpe")
    if sampler == "grid":
        for s in spaces:
            if s.kind != "list":
                _fail(f"a grid takes lists; '{s.name}' is {s.kind}(...): give it a list, or "
                      f"choose sampler = random or tpe", s.loc)
    plan["sampler"] = sampler
    return Plan(tuple(spaces), locs=locs, loc=block.loc, **plan)


def check_metric(plan, metrics, source=None, text=None):
    """The objective names a metric a run logs (`metrics`: the history's keys)."""
    if plan.metric is not None and plan.metric not in metrics:
        loc = plan.locs.get("objective")
        raise SpecError(f"the objective's metric '{plan.metric}' is not one a run logs"
                        f"{suggest(plan.metric, metrics)} (it logs: {', '.join(metrics)})",
                        loc.line if loc else None, loc.column if loc else None,
                        source, text)
