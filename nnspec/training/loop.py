"""The fit loop: shuffled mini-batches, regularization, clipping, schedules,
per-epoch metrics, callbacks, and stopping cleanly on Ctrl-C.

The model's weights are updated in place. Every random choice comes from the
model's shuffling Generator, so a seed gives the same run, and an interrupted
run resumes exactly: the generator's state at the start of the current epoch
and the batches already done are kept in `model.position`.
"""
import math
import signal
import threading
from dataclasses import dataclass, field

import numpy as np

from ..engine import losses, parallel, staging
from ..engine.staging import PREDICT_BATCH
from ..errors import NNSpecError
from ..lang.heads import PROBABILITY_LOSSES
from ..lang.kinds import ROLES
from ..lang.settings import CHOICES
from . import metrics, packing


class TrainingDiverged(NNSpecError):
    """The loss became NaN or infinite."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training between two batches; the model is consistent and
    `model.save(path, checkpoint=True)` writes a checkpoint that resumes exactly."""


@dataclass
class Position:
    """Where an unfinished epoch stopped."""

    batch: int  # batches done in the epoch
    rng_state: dict  # the shuffling generator's state when the epoch began
    sums: dict = field(default_factory=dict)  # sample-weighted sums of loss and metrics


def coefficients(graph, config, overrides):
    """Per-parameter (lr, l1, l2): a layer's own options, else the train block's.
    Which penalty options reach a parameter is its role's (lang/kinds/base.py: ROLES):
    weight matrices take l1/l2, biases l1_bias/l2_bias, the rest none. An lr given
    as an override (`--lr`, compile(lr=...)) is every layer's rate, a layer's own
    lr= included; overrides: the model's."""
    layer_lr = "lr" not in overrides
    out = {}
    for node in graph.nodes:
        p = graph.params[node.name]

        def pick(option):
            return p[option] if p.get(option) is not None else getattr(config, option)

        lr = pick("lr") if layer_lr else config.lr
        for _, name in graph.keys[node.name]:
            penalties, _, trained = ROLES[graph.roles[name]]
            if trained:
                out[name] = (lr,) + (tuple(pick(o) for o in penalties) or (0.0, 0.0))
    return out


def regularize(weights, grads, coefs):
    """Add l1*sum|w| + l2*sum(w^2) to the gradients; return the penalty."""
    penalty = 0.0
    for name, (_, l1, l2) in coefs.items():
        w = weights[name]
        if l1:
            penalty += l1 * float(np.abs(w).sum())
            grads[name] += l1 * np.sign(w)
        if l2:
            penalty += l2 * float((w * w).sum())
            grads[name] += (2 * l2) * w
    return penalty


def clip(grads, max_norm):
    """Scale all gradients together so their global L2 norm is at most max_norm
    (PyTorch's clip_grad_norm_); returns the norm before clipping."""
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
    if norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads.values():
            g *= scale
    return norm


REDUCTIONS = CHOICES["reduction"]


def objective(graph, weights, x, t, config, coefs, mode=True):
    """One batch: (objective, mean data loss, output, grads).

    The objective is the reduced loss plus the penalty; history reports the
    mean per-sample data loss, which is comparable across reductions.

    With reduction "sum" the batch loss is the sum of per-sample losses (as
    classic from-scratch code accumulates per-sample gradients), so the
    gradient is len(x) times the mean's; the penalty is added once per batch.
    """
    value, out, grads, _ = parallel.loss_and_grads(graph, weights, x, t, config.loss, mode)
    total = value
    if config.reduction == "sum":
        total = value * len(x)
        for g in grads.values():
            g *= len(x)
    return total + regularize(weights, grads, coefs), value, out, grads


def evaluate(graph, weights, x, t, loss, names=(), batch_size=PREDICT_BATCH):
    """{'loss': ..., metric: ...} over (x, t) with t already as targets."""
    out = staging.predict(graph, weights, x, batch_size)
    value, _, _ = losses.value_and_grad(loss, graph.output_activation,
                                        _logits(graph, out), out, t)
    found = metrics.resolve(names, graph.output_shape[-1], loss)
    return {"loss": value, **{k: fn(out, t) for k, fn in found.items()}}


def _logits(graph, out):
    # Fused losses take logits; log(p) is a valid set of logits for softmax,
    # log(p / (1 - p)) the logit of a sigmoid.
    if graph.output_activation == "softmax":
        return np.log(np.clip(out, 1e-30, None))
    if graph.output_activation == "sigmoid":
        p = np.clip(out, 1e-30, 1 - 1e-7)
        return np.log(p) - np.log1p(-p)
    return out


def _far_targets(t, loss):
    """Why a regression may have diverged: targets far from unit scale (a price in
    dollars) make the first steps' gradients that large."""
    if loss in PROBABILITY_LOSSES or not t.size:
        return ""
    largest = float(np.max(np.abs(t)))
    if largest < 1e3:
        return ""
    return (f"; the targets reach {largest:,.6g}: a network's outputs start near 0, so "
            f"scale the targets to about unit size (e.g. divide them by {largest:.0e})")



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
    clipping and the optimizer's packed update, on model.weights in place. Another
    engine (nnspec/pytorch/) has the same methods: step and sync, and batch, tally
    and evaluate, by which it keeps batches, the epoch's sums and validation on
    its own device."""

    def __init__(self, model):
        self.model = model

    def step(self, x, t, coefs, factor):
        """One batch -> (objective, mean data loss, outputs); applied only when the
        objective is finite."""
        model = self.model
        total, value, out, grads = objective(model.graph, model.weights, x, t, model.config,
                                             coefs, model.training_mode())
        if math.isfinite(total):
            if model.config.clip_norm:
                clip(grads, model.config.clip_norm)
            packing.step(model.optimizer, model.weights, grads,
                         {k: c[0] * factor for k, c in coefs.items()}, model.packs)
        return total, value, out

    def sync(self):
        """Bring model.weights and the optimizer's state up to date (here they are)."""

    def batch(self, x, t, idx):
        """The samples idx, as step takes them."""
        return x[idx], t[idx]

    def tally(self, found, sums=None):
        """What adds up the epoch's loss and metrics from step's outputs."""
        return metrics.Tally(found, sums)

    def evaluate(self, x, t):
        model = self.model
        return evaluate(model.graph, model.weights, x, t, model.config.loss,
                        model.config.metrics)


def fit(model, x, t, validation, epochs, batch_size, callbacks=(), engine=None, redraw=None):
    """Train model in place for `epochs` more epochs (finishing an interrupted one
    first); returns this call's history. Raises TrainingDiverged on a NaN or
    infinite loss (before applying that batch), TrainingInterrupted on Ctrl-C.
    engine: what runs each step (NumpySteps by default); it syncs the model's
    weights at the end of every epoch, so evaluation, callbacks and checkpoints
    see them. redraw: epoch -> (x, t) of that epoch (resample = true), as many
    samples as x."""
    graph, config = model.graph, model.config
    coefs = coefficients(graph, config, model.overrides)
    model.optimizer.decayed = frozenset(k for k in coefs if ROLES[graph.roles[k]][1])
    engine = engine or NumpySteps(model)
    found = metrics.resolve(config.metrics, graph.output_shape[-1], config.loss)
    n = len(x)
    batches = math.ceil(n / batch_size)
    end = model.epoch + epochs
    model.schedule.begin(end * batches)
    model.stop_training = False
    history = {}
    for cb in callbacks:
        cb.model = model
        cb.on_train_begin({"epochs": end, "batches": batches, "samples": n})
    # overflow in a diverging run is reported once, as TrainingDiverged, not as warnings
    with _CtrlC() as ctrl_c, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while model.epoch < end and not model.stop_training:
            if redraw is not None:
                x, t = redraw(model.epoch)
            logs = _epoch(model, engine, x, t, batch_size, batches, coefs, found, callbacks,
                          ctrl_c)
            if validation is not None:
                vals = engine.evaluate(*validation)
                logs.update({"val_" + k: v for k, v in vals.items()})
            # the rate of the epoch's last update
            logs["lr"] = config.lr * model.schedule.factor(max(model.optimizer.t - 1, 0),
                                                           model.epoch - 1)
            model.schedule.epoch_end(logs)
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
                model.history.setdefault(key, []).append(value)
            for cb in callbacks:
                cb.on_epoch_end(model.epoch, logs)
    for cb in callbacks:
        cb.on_train_end({})
    return history


def _epoch(model, engine, x, t, batch_size, batches, coefs, found, callbacks, ctrl_c):
    """One epoch (or the rest of an interrupted one); returns its mean metrics."""
    rng = model.shuffle_rng
    position = model.position
    if position is None:
        position = Position(0, rng.bit_generator.state)
    else:
        rng.bit_generator.state = position.rng_state
    order = rng.permutation(len(x)) if model.config.shuffle else np.arange(len(x))
    tally = engine.tally(found, position.sums)
    for cb in callbacks:
        cb.on_epoch_begin(model.epoch + 1, {"batch": position.batch})
    for b in range(position.batch, batches):
        if ctrl_c.fired:
            if b == 0:  # nothing done in this epoch: resume it from its start
                rng.bit_generator.state = position.rng_state
            model.position = Position(b, position.rng_state, tally.sums()) if b else None
            engine.sync()
            raise TrainingInterrupted(f"interrupted in epoch {model.epoch + 1}, after batch {b}")
        xb, tb = engine.batch(x, t, order[b * batch_size:(b + 1) * batch_size])
        factor = model.schedule.factor(model.optimizer.t, model.epoch)
        total, value, out = engine.step(xb, tb, coefs, factor)
        if not math.isfinite(total):
            engine.sync()
            raise TrainingDiverged(
                f"epoch {model.epoch + 1}, batch {b + 1}: the loss is {total}; try a lower "
                f"learning rate (lr is {max(c[0] for c in coefs.values()):g})"
                + _far_targets(t, model.config.loss))
        tally.add(value, out, tb)
        if callbacks:
            running = tally.running(value)
            for cb in callbacks:
                cb.on_batch_end(b + 1, running)
    engine.sync()
    model.position = None
    model.epoch += 1
    return tally.means()
