"""One trial, and one worker's loop of trials.

A trial: the spec with the trial's values filled in (placeholders as text, the
sweep block left out: lang/template.fill), the train settings it varies as
overrides, trained on the spec's data as `nnspec train` trains it; the
objective's metric reported to the study as training goes, so a pruner can stop
a run that trails (at most about 100 reports a run, so a 10000-epoch run does
not write 10000 times to the storage).
"""
import contextlib
import math
import os
import signal
import sys
import time

from ..errors import NNSpecError
from ..lang import parse, template
from ..lang.ir import Call
from ..lang.settings import read_all
from ..training.callbacks import Callback
from ..training.loop import TrainingInterrupted
from . import files
from . import study as studies

REPORTS = 100  # reports to the pruner per run, at most
HEARTBEAT = 60  # seconds between a running trial's heartbeats


def choice(value):
    """A list's value as an Optuna choice: numbers and names as they are, calls as
    spec text (`adam(beta1=0.8)`)."""
    return str(value) if isinstance(value, Call) else value


def suggest(trial, space):
    if space.kind == "list":
        return trial.suggest_categorical(space.name, [choice(v) for v in space.values])
    low, high = space.values
    if space.kind == "int":
        return trial.suggest_int(space.name, low, high)
    return trial.suggest_float(space.name, float(low), float(high),
                               log=space.kind == "loguniform")


def compiled(text, source, plan, params, **extra):
    """The Model of one trial's values (a dict name -> value)."""
    from ..model import Model
    holes = {s.name: params[s.name] for s in plan.spaces if not s.setting}
    given = {s.name: params[s.name] for s in plan.spaces if s.setting}
    read_all(given)  # checked as every setting is
    # the settings are written into the train block: the trial's spec (and its
    # bundle's) says everything it trained with
    filled = template.fill(text, holes, given, source=source)
    return Model(parse(filled, source), filled, source, **extra)


def logged(model):
    """The metrics a run of this model logs, in its history's order."""
    from ..training import outputs
    keys = outputs.keys(model.plan)
    config = model.config
    validates = config.validation is not None or config.split[1] > 0
    tests = config.validation is None and config.split[2] > 0
    return keys + (["val_" + k for k in keys] if validates else []) + \
        (["test_" + k for k in keys] if tests else [])


class _Report(Callback):
    """The objective's metric to the study every few epochs; prunes; heartbeats."""

    def __init__(self, trial, metric, epochs, prune):
        self.trial, self.metric, self.prune = trial, metric, prune
        self.every = max(1, epochs // REPORTS)
        self.epochs = epochs
        self.pruned = None
        self.beat = time.time()

    def on_epoch_end(self, epoch, logs):
        now = time.time()
        if now - self.beat > HEARTBEAT:
            self.trial.set_user_attr("heartbeat", now)
            self.beat = now
        if not self.prune or self.metric not in logs:
            return
        if epoch % self.every == 0 or epoch == self.epochs:
            value = float(logs[self.metric])
            if not math.isfinite(value):
                return
            self.trial.report(value, epoch)
            if self.trial.should_prune():
                self.pruned = epoch
                self.model.stop_training = True


def train(trial, ctx, params):
    """Train one trial -> (model, record): record is what trials.csv and
    trials.jsonl keep of it."""
    start = time.perf_counter()
    model = compiled(ctx.text, ctx.source, ctx.plan, params)
    splits = model.data(ctx.data_dir)
    report = _Report(trial, ctx.metric, model.config.epochs, ctx.plan.prune != "none")
    model.fit(*splits.train, validation_data=splits.validation, callbacks=[report])
    if splits.test and report.pruned is None:
        for key, value in model.evaluate(*splits.test).items():
            model.history["test_" + key] = [value]
    history = {k: [float(x) for x in v] for k, v in model.history.items()
               if k != "lr" and v and all(isinstance(x, (int, float)) for x in v)}
    final = {k: v[-1] for k, v in history.items()}
    best = {k: (max(v) if "accuracy" in k else min(v)) for k, v in history.items()}
    return model, {"number": trial.number, "params": params, "final": final, "best": best,
                   "epochs": model.epoch, "seconds": round(time.perf_counter() - start, 3),
                   "pruned": report.pruned, "history": history}


@contextlib.contextmanager
def _whole():
    """Ctrl-C and SIGTERM wait until a trial is asked for and marked as this
    process's: cut off in between, it would be running with no process to name,
    and a rerun could neither tell it stale nor run its values (seen under load)."""
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def work(ctx, study):
    """Run trials until the study holds ctx.target counted trials (or a grid has no
    point left to take). Ctrl-C or SIGTERM: the trial running is queued again and
    TrainingInterrupted goes up."""
    opt = studies.optuna()
    state = opt.trial.TrialState
    while True:
        if len(studies.finished(study)) >= ctx.target:
            return
        if ctx.plan.sampler == "grid" and not studies.waiting(study):
            return
        # SQLite has no SELECT ... FOR UPDATE: two processes asking at once could take
        # the same waiting trial, or the same trial number; on one machine a lock
        # in the folder makes asking one at a time (journal files and server
        # databases are atomic on their own)
        trial = None
        try:
            # a signal held while asking is raised as the block ends: inside this try,
            # so the trial just marked is queued again, not left running with no process
            with files.locked(ctx.out / ".ask.lock"), _whole():
                asked = study.ask()
                if studies.surplus(study, asked, ctx.plan, ctx.target):
                    asked.set_user_attr("nnspec", "surplus")
                    study.tell(asked, state=state.FAIL)
                    return
                for key, value in (("host", studies.HOST), ("pid", os.getpid()),
                                   ("heartbeat", time.time())):
                    asked.set_user_attr(key, value)
                trial = asked
            params = {s.name: suggest(trial, s) for s in ctx.plan.spaces}
            model, record = train(trial, ctx, params)
        except (KeyboardInterrupt, TrainingInterrupted):
            if trial is not None:
                studies.retry(study, study._storage.get_trial(trial._trial_id))
            raise TrainingInterrupted("interrupted") from None
        except NNSpecError as e:  # this trial's values do not train (a shape, divergence)
            trial.set_user_attr("error", str(e)[:500])
            study.tell(trial, state=state.FAIL)
            files.progress(ctx, study, trial.number, f"failed: {str(e)[:200]}")
            continue
        value = record["final"].get(ctx.metric)
        for key in ("final", "best", "epochs", "seconds"):
            trial.set_user_attr(key, record[key])
        files.append_history(ctx.out, record)
        if ctx.keep == "all":
            model.save(files.trial_path(ctx.out, trial.number), checkpoint=False)
        if record["pruned"] is not None:
            study.tell(trial, state=state.PRUNED)
            how = f"pruned at epoch {record['pruned']}"
        elif value is None or not math.isfinite(value):
            trial.set_user_attr("error", f"{ctx.metric} is {value}")
            study.tell(trial, state=state.FAIL)
            how = f"failed: {ctx.metric} is {value}"
        else:
            study.tell(trial, value)
            files.save_best(ctx.out, study, trial.number, model)
            how = "done"
        files.progress(ctx, study, trial.number, how, value)
        sys.stdout.flush()
