"""Learning-rate schedules, as a factor on the base learning rate.

A factor rather than a rate, so that per-layer rates (seed 000) follow the
same curve: a layer with lr=0.001 under a schedule gets 0.001 * factor.

    factor(step, epoch): step = updates made before this one (0 for the first),
                         epoch = epochs completed before this one.
    begin(total_steps):  called by the trainer with the run's total updates.
    epoch_end(logs):     called after each epoch with its metrics (plateau).
    state / load(state): what a checkpoint stores, numbers only.
"""
import math


def _positive(name, value, integer=False):
    if integer and not isinstance(value, int) or not value > 0:
        raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'}, "
                         f"got {value}")
    return value


def _fraction(name, value):
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


class Schedule:
    OPTIONS = ()
    OPTIONAL_STATE = ()  # state keys a checkpoint may leave out

    def factor(self, step, epoch):
        return 1.0

    def begin(self, total_steps):
        pass

    def epoch_end(self, logs):
        pass

    @property
    def state(self):
        return {}

    def load(self, state):
        pass


class Constant(Schedule):
    """The base learning rate throughout."""


class InverseTime(Schedule):
    """lr / (1 + decay * step), per update, as seed 003 (nnfs) decays."""

    OPTIONS = ("decay",)

    def __init__(self, decay):
        if not decay >= 0:
            raise ValueError(f"decay must be at least 0, got {decay}")
        self.decay = float(decay)

    def factor(self, step, epoch):
        return 1.0 / (1.0 + self.decay * step)


class Exponential(Schedule):
    """lr * rate ** (step / steps): multiplied by `rate` every `steps` updates."""

    OPTIONS = ("rate", "steps")

    def __init__(self, rate, steps=1):
        self.rate = _fraction("rate", rate)
        self.steps = _positive("steps", steps, integer=True)

    def factor(self, step, epoch):
        return self.rate ** (step / self.steps)


class Step(Schedule):
    """lr * gamma ** (epoch // every): multiplied by `gamma` every `every` epochs."""

    OPTIONS = ("every", "gamma")

    def __init__(self, every, gamma=0.1):
        self.every = _positive("every", every, integer=True)
        self.gamma = _fraction("gamma", gamma)

    def factor(self, step, epoch):
        return self.gamma ** (epoch // self.every)


class Cosine(Schedule):
    """Linear warm-up, then a half cosine down to floor * lr at the run's last update.

    Updates count from 0. The first `warmup` of them rise linearly,
    lr/(warmup+1), 2 lr/(warmup+1), ..., so that update `warmup` is the first
    (and only) one at the full rate; from there a half cosine falls to
    floor * lr, reached exactly at the last update of the run (update
    total - 1, total being `steps` or the run's updates) and held after it."""

    OPTIONS = ("warmup", "floor", "steps")
    OPTIONAL_STATE = ("before_1_2",)

    def __init__(self, warmup=0, floor=0.0, steps=None):
        if not (isinstance(warmup, int) and warmup >= 0):
            raise ValueError(f"warmup must be a whole number of updates, got {warmup}")
        self.warmup = warmup
        self.floor = _fraction("floor", floor)
        self.steps = steps if steps is None else _positive("steps", steps, integer=True)
        self.total = self.steps

    before_1_2 = False  # a run begun in format 1.0 or 1.1 resumes on that curve

    def begin(self, total_steps):
        self.total = self.steps or total_steps

    @property
    def state(self):
        return {"before_1_2": 1} if self.before_1_2 else {}

    def load(self, state):
        self.before_1_2 = bool(state.get("before_1_2"))

    def factor(self, step, epoch):
        if self.before_1_2:
            return self._before_1_2(step)
        if step < self.warmup:
            return (step + 1) / (self.warmup + 1)
        span = (self.total or 1) - 1 - self.warmup  # updates from the peak to the last one
        if span <= 0:  # no update after the peak
            return 1.0 if step == self.warmup else self.floor
        progress = min(1.0, (step - self.warmup) / span)
        return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))

    def _before_1_2(self, step):
        """The curve of nnspec's first format versions: it reached the full rate only
        after the warm-up, and the floor one update after the run. Checkpoints of
        1.0 and 1.1 resume on it (files/checkpoints.py), so they continue as begun."""
        if step < self.warmup:
            return (step + 1) / self.warmup
        span = max(1, (self.total or 1) - self.warmup)
        progress = min(1.0, (step - self.warmup) / span)
        return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))


class Plateau(Schedule):
    """Multiply the rate by `factor` when `monitor` (val_loss, or loss without
    validation data) has not improved by `min_delta` for `patience` epochs."""

    OPTIONS = ("factor", "patience", "min_delta", "monitor")

    def __init__(self, factor=0.1, patience=10, min_delta=0.0, monitor="val_loss"):
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        if not (isinstance(patience, int) and patience >= 0):
            raise ValueError(f"patience must be a whole number of epochs, got {patience}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be at least 0, got {min_delta}")
        self.shrink, self.patience, self.min_delta = float(factor), patience, float(min_delta)
        self.monitor = str(monitor)
        self.scale, self.best, self.wait = 1.0, math.inf, 0

    def factor(self, step, epoch):
        return self.scale

    def epoch_end(self, logs):
        value = logs.get(self.monitor, logs.get(self.monitor.removeprefix("val_")))
        if value is None:
            return
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait > self.patience:
            self.scale *= self.shrink
            self.wait = 0

    @property
    def state(self):
        return {"scale": self.scale, "best": self.best, "wait": self.wait}

    def load(self, state):
        self.scale, self.best, self.wait = float(state["scale"]), float(state["best"]), \
            int(state["wait"])


SCHEDULES = {"constant": Constant, "inverse_time": InverseTime, "exponential": Exponential,
             "step": Step, "cosine": Cosine, "plateau": Plateau}
