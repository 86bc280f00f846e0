"""The fit loop: shuffled mini-batches, regularization, clipping, schedules,
per-epoch metrics, callbacks, and stopping cleanly on Ctrl-C.

The model's weights are updated in place, and its training state (state.py)
moved on. Every random choice comes from the state's shuffling Generator, so a
seed gives the same run, and an interrupted run resumes exactly: the
generator's state at the start of the current epoch and the batches already
done are kept in its `position`.
"""
import math
import signal
import threading

import numpy as np

from ..engine import losses, parallel, staging, target_scale
from ..engine.staging import PREDICT_BATCH
from ..errors import DataError, NNSpecError, listed
from ..lang.kinds import ROLES
from ..lang.settings import CHOICES
from . import outputs
from .callbacks import EarlyStopping
from .penalties import clip, coefficients, regularize
from .schedules import Plateau
from .state import Position


class TrainingDiverged(NNSpecError):
    """The loss became NaN or infinite."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training between two batches; the model is consistent and
    `model.save(path, checkpoint=True)` writes a checkpoint that resumes exactly."""


REDUCTIONS = CHOICES["reduction"]


def objective(graph, weights, x, targets, config, plan, rates, mode=True, sample_weight=None):
    """One batch: (objective, the graph's Result: the mean data loss, each output's,
    the outputs and the gradients).

    The objective is the reduced loss plus the penalty; history reports the
    mean per-sample data loss, which is comparable across reductions. With
    several outputs the data loss is each output's mean loss times its weight,
    summed. With reduction "sum" the batch loss is the sum of per-sample losses
    (as classic from-scratch code accumulates per-sample gradients), so the
    gradient is the batch size times the mean's; the penalty is added once per
    batch. sample_weight: the batch's weights, normalised (losses.sample_weights)."""
    result = parallel.loss_and_grads(graph, weights, x, targets, plan.terms, mode, sample_weight)
    total = result.value
    if config.reduction == "sum":
        n = rows(x)
        total = result.value * n
        for g in result.grads.values():
            g *= n
    return total + regularize(weights, result.grads, rates), result


rows = outputs.rows


def take(x, idx):
    """Samples idx of an array, or of each array of a dict."""
    return {k: v[idx] for k, v in x.items()} if isinstance(x, dict) else x[idx]


def gradients(graph, weights, x, targets, config, plan, rates, mode, sample_weight=None):
    """(objective, {parameter: gradient}) of one batch, as training minimises it,
    without moving the running statistics (batch norm) as a training pass does."""
    kept = {k: weights[k].copy() for k, r in graph.roles.items() if r == "statistic"}
    try:
        value, result = objective(graph, weights, x, targets, config, plan, rates, mode,
                                  losses.sample_weights(sample_weight))
    finally:
        for key, saved in kept.items():
            np.copyto(weights[key], saved)
    return value, result.grads


def evaluate(graph, weights, x, targets, plan, batch_size=PREDICT_BATCH, scaling=None):
    """The loss and metrics over (x, targets), named as outputs.keys(plan) names
    them; the targets as the network's outputs; scaling: the model's target
    scaling, whose outputs report in the targets' units."""
    out = staging.predict(graph, weights, x, batch_size)
    many = isinstance(out, dict)
    total, each = 0.0, {}
    for term in plan.terms:
        o = out[term.name] if many else out
        act = graph.acts[term.node]
        each[term.name], _, _ = losses.value_and_grad(term.loss, act, _logits(act, o), o,
                                                      targets[term.name] if many else targets)
        total += term.weight * each[term.name]
    return outputs.logged(plan, total, each, out, targets, scaling)


def _logits(activation, out):
    # Fused losses take logits; log(p) is a valid set of logits for softmax,
    # log(p / (1 - p)) the logit of a sigmoid.
    if activation == "softmax":
        return np.log(np.clip(out, 1e-30, None))
    if activation == "sigmoid":
        p = np.clip(out, 1e-30, 1 - 1e-7)
        return np.log(p) - np.log1p(-p)
    return out


class _CtrlC:
    """While active, the first Ctrl-C or SIGTERM (what `timeout`, schedulers and
    container runtimes send) only sets `fired`: the loop stops at the next batch
    boundary, weights whole, and the caller writes a checkpoint. A second one
    interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.fired = False
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame):
        if self.fired:
            raise KeyboardInterrupt
        self.fired = True

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, handler)


class NumpySteps:
    """The numpy engine's training step: the graph's loss and gradients, penalties,
    clipping and the optimizer's update, on model.weights in place. Another engine
    (nnspec/pytorch/) has the same methods: step and sync, and batch, tally and
    evaluate, by which it keeps batches, the epoch's sums and validation on its
    own device."""

    def __init__(self, model):
        self.model = model

    def step(self, x, targets, rates, factor, sample_weight=None):
        """One batch -> (objective, the graph's Result); applied only when the
        objective is finite."""
        model = self.model
        total, result = objective(model.graph, model.weights, x, targets, model.config,
                                  model.plan, rates, model.training_mode(), sample_weight)
        if math.isfinite(total):
            if model.config.clip_norm:
                clip(result.grads, model.config.clip_norm)
            model.state.optimizer.step(model.weights, result.grads,
                                       {k: r.lr * factor for k, r in rates.items()})
        return total, result

    def sync(self):
        """Bring model.weights and the optimizer's state up to date (here they are)."""

    def batch(self, x, targets, idx):
        """The samples idx, as step takes them."""
        return take(x, idx), take(targets, idx)

    def tally(self, sums=None):
        """What adds up the epoch's loss and metrics from step's results."""
        return outputs.Tally(self.model.plan, sums, self.model.target_scaling)

    def evaluate(self, x, targets):
        model = self.model
        return evaluate(model.graph, model.weights, x, targets, model.plan,
                        scaling=model.target_scaling)


def fit(model, x, targets, validation, epochs, batch_size, callbacks=(), engine=None,
        redraw=None, sample_weight=None):
    """Train model in place for `epochs` more epochs (finishing an interrupted one
    first), moving model.state on; returns this call's history. Raises
    TrainingDiverged on a NaN or infinite loss (before applying that batch),
    TrainingInterrupted on Ctrl-C. engine: what runs each step (NumpySteps by
    default); it syncs the model's weights at the end of every epoch, so
    evaluation, callbacks and checkpoints see them. redraw: epoch -> (x, targets)
    of that epoch (resample = true), as many samples as x. x and targets are
    arrays, or dicts by input and output name. sample_weight: (samples,) weights
    of their losses (training/weights.py), or None."""
    graph, config, state = model.graph, model.config, model.state
    rates = coefficients(graph, config, model.overrides)
    if graph.frozen and not rates:  # a run that would move nothing
        raise DataError(f"fit: every layer with weights is frozen ({listed(sorted(graph.frozen))}"
                        "), so nothing would train; "
                        "unfreeze some: model.unfreeze(NAME), nnspec train --unfreeze NAME")
    state.optimizer.decay(k for k in rates if ROLES[graph.roles[k]].decayed)
    engine = engine or NumpySteps(model)
    n = rows(x)
    batches = math.ceil(n / batch_size)
    end = state.epoch + epochs
    state.schedule.begin(end * batches)
    model.stop_training = False
    history = {}
    for watcher in (state.schedule, *callbacks):  # before any epoch is spent
        if isinstance(watcher, (Plateau, EarlyStopping)):
            try:
                outputs.check_monitor(watcher.monitor, model.plan, type(watcher).__name__)
            except ValueError as e:
                raise DataError(str(e)) from None
    for cb in callbacks:
        cb.model = model
        cb.on_train_begin({"epochs": end, "batches": batches, "samples": n})
    # overflow in a diverging run is reported once, as TrainingDiverged, not as warnings
    with _CtrlC() as ctrl_c, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while state.epoch < end and not model.stop_training:
            if redraw is not None:
                x, targets = redraw(state.epoch)
            logs = _epoch(model, engine, x, targets, batch_size, batches, rates, callbacks,
                          ctrl_c, sample_weight)
            if validation is not None:
                vals = engine.evaluate(*validation)
                logs.update({"val_" + k: v for k, v in vals.items()})
            # the rate of the epoch's last update
            logs["lr"] = config.lr * state.schedule.factor(max(state.step - 1, 0),
                                                           state.epoch - 1)
            state.schedule.epoch_end(logs)
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
                model.history.setdefault(key, []).append(value)
            for cb in callbacks:
                cb.on_epoch_end(state.epoch, logs)
    for cb in callbacks:
        cb.on_train_end({})
    return history


def _epoch(model, engine, x, targets, batch_size, batches, rates, callbacks, ctrl_c,
           sample_weight=None):
    """One epoch (or the rest of an interrupted one); returns its mean metrics."""
    state, plan = model.state, model.plan
    rng = state.shuffle_rng
    position = state.position
    if position is None:
        position = Position(0, rng.bit_generator.state)
    else:
        rng.bit_generator.state = position.rng_state
    order = rng.permutation(rows(x)) if model.config.shuffle else np.arange(rows(x))
    tally = engine.tally(position.sums)
    for cb in callbacks:
        cb.on_epoch_begin(state.epoch + 1, {"batch": position.batch})
    for b in range(position.batch, batches):
        if ctrl_c.fired:
            if b == 0:  # nothing done in this epoch: resume it from its start
                rng.bit_generator.state = position.rng_state
            state.position = Position(b, position.rng_state, tally.sums()) if b else None
            engine.sync()
            raise TrainingInterrupted(f"interrupted in epoch {state.epoch + 1}, after batch {b}")
        idx = order[b * batch_size:(b + 1) * batch_size]
        xb, tb = engine.batch(x, targets, idx)
        factor = state.schedule.factor(state.step, state.epoch)
        if sample_weight is None:
            total, result = engine.step(xb, tb, rates, factor)
        else:
            total, result = engine.step(xb, tb, rates, factor,
                                        losses.sample_weights(sample_weight[idx]))
        if not math.isfinite(total):
            engine.sync()
            raise TrainingDiverged(
                f"epoch {state.epoch + 1}, batch {b + 1}: the loss is {total}; try a lower "
                f"learning rate (lr is {max(r.lr for r in rates.values()):g})"
                + target_scale.far_hint(targets, plan.terms))
        tally.add(result, tb)
        if callbacks:
            running = tally.running(result.value)
            for cb in callbacks:
                cb.on_batch_end(b + 1, running)
    engine.sync()
    # an update from a finite loss can still overflow (a last batch's, which no
    # later loss would catch): a model of NaN weights is no model to save
    bad = next((k for k, w in model.weights.items() if not np.isfinite(w).all()), None)
    if bad is not None:
        raise TrainingDiverged(
            f"epoch {state.epoch + 1}: the last update left {bad} with NaN or infinite values; "
            f"try a lower learning rate (lr is {max(r.lr for r in rates.values()):g})"
            + target_scale.far_hint(targets, plan.terms))
    state.position = None
    state.epoch += 1
    return tally.means()
