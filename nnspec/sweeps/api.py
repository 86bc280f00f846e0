"""nnspec.sweep(): a spec's sweep, run to its target; what `nnspec sweep` calls.

    result = nnspec.sweep("models/seeds/seed004_xor.nn", out="xor", jobs=2)
    result.trials   # trials.csv's rows, as dicts
    result.best     # the best trial's Model (DIR/best.nnb), or None
"""
import hashlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..errors import NNSpecError, SpecError
from ..files.io import read_spec
from ..training.loop import TrainingInterrupted
from . import files, runner, space
from . import study as studies


class Context:
    """What every trial of one sweep needs."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class Result:
    """A sweep's outcome: trials (trials.csv's rows), best (the best Model or None),
    study (the Optuna study), out (its folder)."""

    def __init__(self, trials, best, study, out, metric):
        self.trials, self.best, self.study, self.out, self.metric = trials, best, study, out, metric

    def __repr__(self):
        return f"<sweep {self.out}: {len(self.trials)} trials, objective {self.metric}>"


def first_point(plan):
    return {s.name: (s.values[0] if s.kind == "list" else s.values[0]) for s in plan.spaces}


def sweep(spec, out, jobs=1, trials=None, storage=None, study=None, keep="best",
          data_dir=None, quiet=False, worker=False):
    """Run the sweep of a spec (text or a .nn path) with its results in `out`.

    jobs: trials at a time, each in a process of its own with one BLAS thread.
    trials: the number of trials to reach, over every process on the study (the
    sweep block's `trials`; a grid: its size). storage: an Optuna storage URL or a
    .log/.journal file (default: sqlite in out/study.db); study: its name (default:
    the spec file's stem). keep: "best" or "all" (every trial's bundle).
    Returns a Result. The same call again continues the study where it stopped.
    """
    text, source = read_spec(spec)
    plan = space.read_plan(text, source)
    if keep not in ("best", "all"):
        raise NNSpecError(f"keep is best or all, got {keep!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise NNSpecError(f"jobs is a whole number of at least 1, got {jobs!r}")
    try:  # every trial compiles alike: the first point's errors, at their lines
        probe = runner.compiled(text, source, plan, {
            s.name: runner.choice(v) for s, v in zip(plan.spaces, first_point(plan).values())})
    except SpecError as e:
        raise e.located(source, text)
    metrics = runner.logged(probe)
    space.check_metric(plan, metrics, source, text)
    metric = plan.metric or ("val_loss" if "val_loss" in metrics else "loss")
    if plan.sampler == "grid":
        target = len(plan.grid) if trials is None else min(trials, len(plan.grid))
    else:
        target = trials or plan.trials
        if target is None:
            loc = plan.loc
            raise SpecError(f"a {plan.sampler} sweep needs its number of trials: trials = N in "
                            "the sweep block, or --trials N", loc.line, loc.column, source, text)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise NNSpecError(f"{out}: cannot make the folder ({e.strerror})") from None
    name = study or (Path(source).stem if source != "<spec>" else "sweep")
    url = storage if storage is not None else f"sqlite:///{(out / 'study.db').resolve()}"
    store = studies.storage(url, out)
    fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    the_study = studies.create(store, name, plan, fingerprint)
    say = (lambda *a: None) if quiet else (lambda line: print(line, flush=True))
    ctx = Context(text=text, source=source, plan=plan, metric=metric, target=target, out=out,
                  keep=keep, data_dir=data_dir, say=say)
    if not worker:
        rerun = studies.recover(the_study)
        if plan.sampler == "grid":
            studies.enqueue_grid(the_study, plan, lambda k, v: runner.choice(v))
        done = len(studies.finished(the_study))
        say(f"sweep {source}: study {name!r} in {studies.masked(url)}; {plan.sampler}, "
            f"{done} of {target} trials done" + (f", {rerun} cut off to rerun" if rerun else "")
            + f"; objective {plan.direction}({metric}); {jobs} at a time")
    try:
        if jobs == 1 or worker:
            runner.work(ctx, the_study)
        else:
            _workers(spec if isinstance(spec, (str, Path)) and source != "<spec>" else None,
                     text, ctx, url, name, jobs, trials)
    except (KeyboardInterrupt, TrainingInterrupted):
        # stopped after a trial was told the study but before its row was written:
        # trials.csv as the study holds it, which the same command continues from
        files.write_csv(out, files.rows(the_study, plan))
        raise
    table = files.rows(the_study, plan)
    files.write_csv(out, table)
    if not worker:
        say(f"{len(table)} trials in {out / files.CSV}; the best of them:\n"
            + files.leaderboard(table, plan, metric, plan.direction))
    best = None
    if (out / files.BEST).is_file() and not worker:
        from ..api import load
        best = load(out / files.BEST)
        say(f"best bundle: {out / files.BEST}")
    return Result(table, best, the_study, out, metric)


def _dies_with(parent):
    """A worker's preexec on Linux, or None: SIGTERM the worker when the process
    that started it dies (kill -9 leaves that process no chance to pass SIGTERM
    on), so that it requeues its trial and stops, rather than running on alone.
    prctl is looked up here, in the parent: the forked child only calls it (a
    library loaded in a child forked from a threaded parent can deadlock). The
    kernel sends the signal when the starting *thread* ends: _workers waits for
    the workers in that same thread."""
    import ctypes
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # no prctl: a worker outlives a kill -9
        return None

    def arrange():
        if prctl(1, signal.SIGTERM) == 0 and os.getppid() != parent:  # PR_SET_PDEATHSIG
            os.kill(os.getpid(), signal.SIGTERM)  # the parent died before the line above
    return arrange


def _workers(path, text, ctx, url, name, jobs, trials):
    """jobs processes of `nnspec sweep --worker` on the same study, one BLAS thread
    each; SIGTERM to this process is passed on to them."""
    if path is None:  # spec text: the workers read it from a file in the folder
        path = ctx.out / "spec.nn"
        path.write_text(text)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", NNSPEC_THREADS="1")
    command = [sys.executable, "-m", "nnspec", "sweep", str(path), "-o", str(ctx.out),
               "--storage", str(url), "--study", name, "--keep", ctx.keep, "--worker"]
    if trials is not None:
        command += ["--trials", str(trials)]
    if ctx.data_dir:
        command += ["--data-dir", str(ctx.data_dir)]
    arrange = _dies_with(os.getpid()) if sys.platform.startswith("linux") else None
    procs = []
    # only the main thread may set a handler; from another, SIGTERM is not passed on
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *a: [p.send_signal(signal.SIGTERM)
                                                         for p in procs if p.poll() is None]) \
        if main else None
    try:
        procs += [subprocess.Popen(command, env=env, preexec_fn=arrange) for _ in range(jobs)]
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:  # Ctrl-C reached the workers too: they requeue their trials
        for p in procs:
            p.wait()
        raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
    if any(c == 130 for c in codes):
        raise KeyboardInterrupt
    bad = [c for c in codes if c not in (0, 130)]
    if bad:
        raise NNSpecError(f"a sweep worker failed (exit status {bad[0]}); its error is above")
