"""The Optuna study a sweep runs on: its storage, sampler and pruner, the trials
that count toward the target, and one worker's loop. The only module that
imports Optuna, and only when a sweep runs.

Storage: `sqlite:///DIR/study.db` by default; any Optuna URL (PostgreSQL, MySQL);
a path ending .log or .journal is a journal file (Optuna's JournalFileBackend),
which many processes and machines on a shared disk can use. The study is loaded
where it exists, so the same command continues it.

What counts: every finished trial (complete, pruned or failed) toward `trials`,
the target of all processes together, except the sweep's own bookkeeping, marked
in the trial's user attribute "nnspec": "stale" (a trial whose process died, or
that Ctrl-C cut off; its values are queued again, so it is rerun) and "surplus"
(a trial asked for when the target was already taken: told failed at once).
A trial is surplus when as many counted trials come before it (by number) as
the target: so two processes on one study finish exactly `trials` between them.
A grid is queued as waiting trials, one per point, and a point already taken by
an earlier trial is surplus too: every point runs once.
"""
import os
import re
import socket
import time

from ..errors import NNSpecError
from ..files.io import alive
from ..optional import need

GRACE = 600  # seconds without a heartbeat after which another machine's trial is stale
MARK = 5  # seconds after which a running trial no process has marked is stale
HOST = socket.gethostname()


def masked(url):
    """A storage URL as it may be printed: its password replaced by ***."""
    return re.sub(r"(?<=://)([^/@:]*):([^/@]*)@", r"\1:***@", str(url))


def _password(url):
    m = re.search(r"://[^/@:]*:([^/@]*)@", str(url))
    return m.group(1) if m and m.group(1) else None


def optuna():
    need("optuna", "sweep", "nnspec sweep")
    import optuna as module
    module.logging.set_verbosity(module.logging.WARNING)
    return module


def storage(url, out):
    """--storage (None: DIR/study.db) -> an Optuna storage. An error never shows the
    URL's password."""
    opt = optuna()
    url = str(url) if url is not None else f"sqlite:///{os.path.abspath(os.path.join(out, 'study.db'))}"
    try:
        if url.endswith((".log", ".journal")) and "://" not in url:
            from optuna.storages.journal import JournalFileBackend
            return opt.storages.JournalStorage(JournalFileBackend(url))
        kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
        return opt.storages.RDBStorage(url, engine_kwargs=kwargs)
    except ModuleNotFoundError as e:
        raise NNSpecError(f"cannot open the storage {masked(url)}: its driver is not "
                          f"installed (pip install {e.name})") from None
    except Exception as e:  # noqa: BLE001 - drivers raise their own kinds
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        secret = _password(url)
        if secret:
            why = why.replace(secret, "***")
        raise NNSpecError(f"cannot open the storage {masked(url)}: {masked(why)[:300]}") \
            from None


def create(store, name, plan, fingerprint):
    """The study `name` in `store`, made or loaded. A study made from another spec or
    sweep is an error (a new --study name starts afresh)."""
    opt = optuna()
    samplers = {"grid": opt.samplers.RandomSampler, "random": opt.samplers.RandomSampler,
                "tpe": opt.samplers.TPESampler}
    pruners = {"median": lambda: opt.pruners.MedianPruner(n_startup_trials=5),
               "hyperband": opt.pruners.HyperbandPruner, "none": opt.pruners.NopPruner}
    try:
        study = opt.create_study(study_name=name, storage=store, direction=plan.direction,
                                 sampler=samplers[plan.sampler](), pruner=pruners[plan.prune](),
                                 load_if_exists=True)
    except Exception as e:  # noqa: BLE001
        raise NNSpecError(f"cannot open the study {name!r}: {masked(str(e).splitlines()[0])}") \
            from None
    made = study.user_attrs.get("nnspec")
    if made is None:
        study.set_user_attr("nnspec", fingerprint)
    elif made != fingerprint:
        raise NNSpecError(f"the study {name!r} in this storage was made from another spec or "
                          "sweep; name a new one with --study NAME (or remove its study.db)")
    if study.direction.name.lower() != plan.direction:
        raise NNSpecError(f"the study {name!r} was made to {study.direction.name.lower()}; "
                          "name a new one with --study NAME")
    return study


# -- which trials count ---------------------------------------------------------

def counted(t):
    return t.user_attrs.get("nnspec") not in ("stale", "surplus")


def finished(study):
    """The counted trials that have finished."""
    return [t for t in study.get_trials(deepcopy=False)
            if counted(t) and t.state.is_finished()]


def _stale(t, now):
    if "pid" not in t.user_attrs:  # not marked whole (host, then pid): cut off before
        return now - _started(t) >= MARK
    host, pid = t.user_attrs.get("host"), t.user_attrs.get("pid")
    if host == HOST and isinstance(pid, int):
        return pid != os.getpid() and not alive(pid)
    beat = t.user_attrs.get("heartbeat", t.datetime_start.timestamp() if t.datetime_start
                            else now)
    return now - beat > GRACE


def values(t):
    """A trial's parameter values: those it suggested, else those it was queued
    with (a waiting trial, or one cut off before it suggested any)."""
    return {**t.system_attrs.get("fixed_params", {}), **t.params}


def retry(study, t):
    """Mark a trial cut off (a killed process, Ctrl-C) stale and queue its values again."""
    opt = optuna()
    store = study._storage
    try:
        store.set_trial_user_attr(t._trial_id, "nnspec", "stale")
        store.set_trial_state_values(t._trial_id, opt.trial.TrialState.FAIL)
    except Exception:  # noqa: BLE001 - another worker marked it first
        return False
    study.enqueue_trial(values(t), user_attrs={"retries": t.number})
    return True


def recover(study):
    """Trials left running by a process that is gone: rerun. -> how many. A trial
    that no process has marked as its own was cut off between being asked for and
    being marked (kill -9 in that window: seen under load); a live process marks
    its trial within milliseconds, so one still unmarked after MARK seconds is stale."""
    opt = optuna()
    running = (opt.trial.TrialState.RUNNING,)
    young = [t for t in study.get_trials(deepcopy=False, states=running)
             if "pid" not in t.user_attrs and time.time() - _started(t) < MARK]
    if young:  # give a live process the time to mark it
        time.sleep(max(MARK - (time.time() - min(_started(t) for t in young)), 0))
    now = time.time()
    return sum(retry(study, t) for t in study.get_trials(deepcopy=False, states=running)
               if _stale(t, now))


def _started(t):
    return t.datetime_start.timestamp() if t.datetime_start else time.time()


def enqueue_grid(study, plan, choices):
    """Queue each grid point no counted trial has taken (nor waits for)."""
    taken = [values(t) for t in study.get_trials(deepcopy=False) if counted(t)]
    for point in plan.grid:
        params = {k: choices(k, v) for k, v in point.items()}
        if params not in taken:
            study.enqueue_trial(params)
            taken.append(params)


def surplus(study, trial, plan, target):
    """Whether a trial just asked for is one too many (see the module's note)."""
    before = [t for t in study.get_trials(deepcopy=False)
              if t.number < trial.number and counted(t)]
    if len(before) >= target:
        return True
    if plan.sampler == "grid":
        fixed = trial._cached_frozen_trial.system_attrs.get("fixed_params")
        return fixed is None or any(values(t) == fixed for t in before)
    return False


def waiting(study):
    opt = optuna()
    return bool(study.get_trials(deepcopy=False, states=(opt.trial.TrialState.WAITING,)))
