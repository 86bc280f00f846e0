"""What trains each output: its loss and weight (engine/losses.Term), the head it
applies (lang/heads.py: probabilities, logits or values) and its metrics, from
its `output` line, else the train block's, else what the output implies.

History and logs name a network's numbers as Keras does: with one output,
`loss` and its metrics (`accuracy`); with several, `loss` is the weighted total
and each output's are `NAME_loss` and `NAME_METRIC` (`digit_accuracy`).
"""
from typing import NamedTuple

from ..engine import losses, target_scale
from ..errors import SpecError
from ..lang import heads
from ..lang.signature import suggest
from . import metrics


class Plan(NamedTuple):
    terms: tuple  # losses.Term per output, in the spec's order
    heads: dict  # {output node: the activation it applies}
    metrics: dict  # {output name: {metric key: fn}}


def _at(loc):
    return (loc.line, loc.column) if loc is not None else (None, None)


def plan(network, shapes, config, loss_given):
    """The Plan of a network under a train config (its loss resolved for a network
    of one output); loss_given: whether the train block or an override names the
    loss (else each output takes the one it implies). Raises SpecError at the
    output's line (its `output` line where it has one)."""
    terms, out_heads, out_metrics = [], {}, {}
    single = len(network.outputs) == 1
    for out in network.outputs:
        node = network.node(out.node)
        shape = shapes[out.node]
        written = heads.activation_of(network, out.node)
        loss = out.loss or (config.loss if loss_given else heads.default_loss(written, shape))
        where = out.loc if out.loss or out.metrics else node.loc
        if loss not in losses.LOSSES:
            raise SpecError(f"unknown loss '{loss}'{suggest(loss, losses.LOSSES)} "
                            f"(one of: {', '.join(losses.LOSSES)})", *_at(where))
        try:
            out_heads[out.node] = heads.head(loss, written, shape[-1],
                                             heads.passed_on(network, out.node))
        except heads.HeadProblem as e:
            label = node.name if single else f"output {out.name} ({node.name})"
            raise SpecError(f"{label}: {e}", *_at(node.loc if not out.loss else out.loc)) \
                from None
        try:
            found = metrics.resolve(out.metrics if out.metrics is not None else config.metrics,
                                    shape[-1], loss)
        except ValueError as e:
            loc = out.loc if out.metrics is not None else config.loc("metrics")
            raise SpecError(str(e), *_at(loc)) from None
        terms.append(losses.Term(out.name, out.node, loss, out.weight))
        out_metrics[out.name] = found
    return Plan(tuple(terms), out_heads, out_metrics)


def keys(plan):
    """The history's keys of a network's training numbers, in order: `loss` and
    each metric; with several outputs also each output's, prefixed by its name."""
    if len(plan.terms) == 1:
        return ["loss", *plan.metrics[plan.terms[0].name]]
    out = ["loss"]
    for term in plan.terms:
        out += [f"{term.name}_loss", *(f"{term.name}_{k}" for k in plan.metrics[term.name])]
    return out


def check_monitor(monitor, plan, what):
    """Raise ValueError unless early stopping or plateau's `monitor` is a number
    training records (keys(plan), or its val_ form): a misspelt one would
    otherwise never be seen, and training would run on as if it had no stop."""
    names = keys(plan) + ["val_" + k for k in keys(plan)]
    if monitor not in names:
        raise ValueError(f"{what}: monitor={monitor} is no number training records"
                         f"{suggest(monitor, names)} (one of: {', '.join(names)})")


def logged(plan, value, each, outs, targets, scaling=None):
    """A batch's (or a whole set's) numbers under keys(plan): value, the weighted
    total; each, {output: mean loss}; outs and targets, arrays or dicts by name.
    scaling: {output: target scaling}, whose outputs' numbers are given in the
    targets' own units (engine/target_scale.py)."""
    if scaling:
        value, each, outs, targets = _unscaled(plan, each, outs, targets, scaling)
    if len(plan.terms) == 1:
        name = plan.terms[0].name
        return {"loss": value, **{k: fn(outs, targets) for k, fn in plan.metrics[name].items()}}
    out = {"loss": value}
    for term in plan.terms:
        out[f"{term.name}_loss"] = each[term.name]
        for k, fn in plan.metrics[term.name].items():
            out[f"{term.name}_{k}"] = fn(outs[term.name], targets[term.name])
    return out


def _unscaled(plan, each, outs, targets, scaling):
    """logged's numbers in the targets' units: each scaled output's loss times
    its factor, its outputs and targets unscaled for the metrics."""
    many = len(plan.terms) > 1
    each, outs = dict(each), dict(outs) if many else outs
    targets = dict(targets) if many else targets
    for term in plan.terms:
        stats = scaling.get(term.name)
        if stats is None:
            continue
        each[term.name] *= target_scale.loss_factor(stats, term.loss)
        if many:
            outs[term.name] = target_scale.unscale(stats, outs[term.name])
            targets[term.name] = target_scale.unscale(stats, targets[term.name])
        else:
            outs, targets = target_scale.unscale(stats, outs), target_scale.unscale(stats, targets)
    value = sum(t.weight * each[t.name] for t in plan.terms)
    return value, each, outs, targets


class Tally:
    """An epoch's sample-weighted sums of the numbers keys(plan) names, from each
    batch's step (the numpy engine's; nnspec/pytorch/metrics.py keeps them on the
    torch engine's device). sums: a Position's, to go on from."""

    def __init__(self, plan, sums=None, scaling=None):
        self.plan, self.scaling = plan, scaling  # scaling: logged's
        self.total = dict(sums) if sums else {**dict.fromkeys(keys(plan), 0.0), "seen": 0}

    def add(self, result, targets):
        """A batch's step: its Result (graph.py) and targets."""
        n = rows(targets)
        for key, value in logged(self.plan, result.value, result.each, result.out,
                                 targets, self.scaling).items():
            self.total[key] += value * n
        self.total["seen"] += n

    def sums(self):
        return dict(self.total)

    def means(self):
        seen = max(self.total["seen"], 1)
        return {k: v / seen for k, v in self.total.items() if k != "seen"}

    def running(self, batch_loss):
        """The means so far, and batch_loss: this batch's alone (seed 000's curve)."""
        return {**self.means(), "batch_loss": batch_loss}


def rows(x):
    """How many samples an array, or a dict of them by input or output, holds."""
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
