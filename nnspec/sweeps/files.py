"""What a sweep writes in its folder, and the lines it prints.

    trials.csv     one row per trial (number, state, each parameter, the objective's
                   value, each metric's final and best value, epochs, seconds, error),
                   rewritten from the study after every trial and at the end
    trials.jsonl   one line per trial this machine trained: its number, values and
                   history (every epoch's metrics)
    best.nnb       the best trial's bundle, written atomically when a trial becomes
                   the best (by the machine that trained it)
    trial-NNN.nnb  every trial's bundle, with --keep all

Several processes write here at once: trials.csv and best.nnb atomically (the
best under a lock, so a slower worker never puts back an older best), the
history lines appended under a lock.
"""
import csv
import fcntl
import io
import json
import math
from contextlib import contextmanager
from pathlib import Path

from ..files.io import write_atomic

CSV, JSONL, BEST = "trials.csv", "trials.jsonl", "best.nnb"


def trial_path(out, number):
    return Path(out) / f"trial-{number:03d}.nnb"


@contextmanager
def locked(path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def append_history(out, record):
    with locked(Path(out) / JSONL) as handle:
        handle.write(json.dumps(record, allow_nan=True) + "\n")
        handle.flush()


def histories(out):
    """{trial number: its trials.jsonl record}, the last line of a number winning."""
    path = Path(out) / JSONL
    records = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # a line cut off by a kill
                continue
            records[record["number"]] = record
    return records


def save_best(out, study, number, model):
    with locked(Path(out) / ".best.lock"):
        try:
            best = study.best_trial.number
        except ValueError:
            return
        if best == number:
            model.save(Path(out) / BEST, checkpoint=False)


def rows(study, plan):
    """The counted, finished trials as trials.csv's rows (dicts), by number."""
    from .study import counted
    trials = sorted((t for t in study.get_trials(deepcopy=False)
                     if counted(t) and t.state.is_finished()), key=lambda t: t.number)
    metrics = []
    for t in trials:
        metrics += [k for k in t.user_attrs.get("final", {}) if k not in metrics]
    out = []
    for t in trials:
        row = {"number": t.number, "state": t.state.name.lower()}
        row.update({s.name: t.params.get(s.name, "") for s in plan.spaces})
        row["value"] = t.value if t.value is not None else ""
        final, best = t.user_attrs.get("final", {}), t.user_attrs.get("best", {})
        for key in metrics:
            row[key] = final.get(key, "")
            row["best_" + key] = best.get(key, "")
        row["epochs"] = t.user_attrs.get("epochs", "")
        row["seconds"] = t.user_attrs.get("seconds", "")
        row["error"] = t.user_attrs.get("error", "")
        out.append(row)
    return out


def write_csv(out, table):
    buffer = io.StringIO()
    columns = list(table[0]) if table else ["number", "state", "value"]
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    write_atomic(Path(out) / CSV, buffer.getvalue().encode("utf-8"))


def read_csv(out):
    """trials.csv's rows, numbers as numbers."""
    path = Path(out) / CSV
    with open(path, newline="") as handle:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            pass
    return text


def _shown(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def progress(ctx, study, number, how, value=None):
    """`trial 12/80 done: val_loss 0.123 (best 0.101, trial 7)`, and trials.csv anew."""
    from .study import finished
    write_csv(ctx.out, rows(study, ctx.plan))
    done = len(finished(study))
    line = f"trial {done}/{ctx.target} {how}"
    if value is not None and not how.startswith("failed"):
        line += f": {ctx.metric} {_shown(value)}"
    try:
        best = study.best_trial
        line += f" (best {_shown(best.value)}, trial {best.number})"
    except ValueError:
        pass
    ctx.say(line)


def leaderboard(table, plan, metric, direction, top=10):
    """The best `top` complete trials as a text table."""
    done = [r for r in table if r["state"] == "complete" and isinstance(r["value"], float)
            and math.isfinite(r["value"])]
    done.sort(key=lambda r: r["value"], reverse=direction == "maximize")
    names = [s.name for s in plan.spaces]
    head = ["rank", "trial", metric] + names + ["epochs", "seconds"]
    body = [[str(i + 1), str(r["number"]), _shown(r["value"])]
            + [_shown(r[n]) for n in names] + [str(r["epochs"]), _shown(r["seconds"])]
            for i, r in enumerate(done[:top])]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(line, widths)).rstrip()
             for line in [head] + body]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
