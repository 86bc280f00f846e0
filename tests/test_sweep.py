"""Sweeps (nnspec/sweeps/, `nnspec sweep`): the sweep block and placeholder defaults
in the language, each error at its line, a study that survives kill -9 and Ctrl-C,
many processes on one study, and the files a sweep writes. Tiny XOR specs, a few
epochs: every trial takes a fraction of a second."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nnspec
from nnspec.errors import SpecError
from nnspec.lang import fmt, parse, template

from conftest import MODELS, ROOT, run_cli

optuna = pytest.importorskip("optuna", reason='sweeps need optuna: pip install "nnspec[sweep]"')

XOR = """input 2
dense {hidden} tanh -> dense 1 sigmoid  # {hidden} hidden nodes
train {
  loss = mse
  lr = 0.5
  batch_size = 4
  epochs = EPOCHS
  data = xor
  split = 100/0
}

sweep {
  SPACES
}
"""


def spec(tmp_path, spaces="hidden = [2, 4]\n  seed = range(2)\n  objective = minimize(loss)",
         epochs=30, name="xor.nn"):
    path = tmp_path / name
    path.write_text(XOR.replace("EPOCHS", str(epochs)).replace("SPACES", spaces))
    return path


def rows(folder):
    with open(folder / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def sweep_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "nnspec", "sweep", *map(str, args)],
                          capture_output=True, text=True, timeout=kw.get("timeout", 120))


# -- the language ----------------------------------------------------------------

def test_a_sweep_block_parses_formats_and_is_left_out_of_the_network():
    text = XOR.replace("EPOCHS", "5").replace("{hidden}", "{hidden=3}").replace(
        "SPACES", "hidden = [2, 4]  # two sizes\n  lr = loguniform(1e-3, 1)\n  sampler = tpe\n"
        "  trials = 8\n  objective = minimize(loss)\n  prune = median")
    network = parse(text)
    assert network.nodes[1].p["units"] == 3  # the placeholder's default
    pretty = fmt.fmt(text)
    assert "sweep {\n  hidden = [2, 4]  # two sizes\n  lr = loguniform(0.001, 1)" in pretty
    assert fmt.fmt(pretty) == pretty and parse(pretty) == network


def test_defaults_in_words_dims_and_train_settings_and_fill():
    text = ("input 8x8x1\nconv 3x3x{filters=4} same relu -> flatten -> dense {width=16} relu\n"
            "  -> dense 2 softmax\ntrain {\n  lr = {lr=0.05}\n  data = shapes(40)\n}\n")
    model = nnspec.compile(text)
    assert model.network.nodes[1].p["kernel"] == (3, 3, 4) and model.config.lr == 0.05
    filled = template.fill(text, {"filters": 2, "width": 8, "lr": 0.1})
    assert "3x3x2" in filled and "dense 8 relu" in filled and "lr = 0.1" in filled
    assert nnspec.compile(filled).network.nodes[1].p["kernel"] == (3, 3, 2)
    # a block's own parameter is not a placeholder
    block = "input 4\nblock b(f) {\n  dense {f} relu\n}\nb({w=3})\n"
    assert list(template.placeholders(block)) == ["w"]
    assert parse(template.fill(block, {"w": 5})).nodes[1].p["units"] == 5


def test_compile_set_prints_the_filled_spec_an_ordinary_one(tmp_path):
    path = spec(tmp_path)
    r = run_cli("compile", path, "--set", "hidden=4", "--set", "lr=0.1", "--set", "seed=3")
    assert r.returncode == 0, r.stderr
    assert "dense 4 tanh" in r.stdout and "lr = 0.1" in r.stdout and "seed = 3" in r.stdout
    assert "sweep" not in r.stdout and "# {hidden} hidden nodes" in r.stdout  # comments kept
    assert "{" not in r.stdout.replace("train {", "").replace("# {hidden}", "")
    (tmp_path / "filled.nn").write_text(r.stdout)
    assert run_cli("compile", tmp_path / "filled.nn").returncode == 0
    r = run_cli("train", path, "-o", tmp_path / "one.nnb", "-q", "--set", "hidden=3")
    assert r.returncode == 0, r.stderr
    assert nnspec.load(tmp_path / "one.nnb").network.nodes[1].p["units"] == 3


def test_train_without_values_says_to_sweep_or_set(tmp_path):
    r = run_cli("train", spec(tmp_path), "-o", tmp_path / "m.nnb")
    assert r.returncode == 2
    first = r.stderr.splitlines()[0]
    assert first.startswith("error: ") and ":2:7: '{hidden}' has no value" in first
    assert "nnspec sweep" in first and "--set hidden=VALUE" in first


ERRORS = [
    # (sweep entries, spec's placeholder, line, column, what the message says)
    ("seed = [1, 2]", "{hidden}", 2, 7, "'{hidden}' has no space in the sweep block and no default"),
    ("hidden = [2]\n  hiden = [3]", "{hidden}", 14, 3, "'hiden', which the spec does not use"),
    ("hidden = []", "{hidden}", 13, 12, "an empty list"),
    ("hidden = [2]\n  lr = loguniform(1, 0.001)", "{hidden}", 14, 8, "the bounds are reversed"),
    ("hidden = int(8, 2)", "{hidden}", 13, 12, "the bounds are reversed"),
    ("hidden = [2]\n  sampler = grd", "{hidden}", 14, 13, "unknown sampler 'grd'; did you mean 'grid'?"),
    ("hidden = [2]\n  objective = minimize(val_loss)", "{hidden}", 14, 3,
     "the objective's metric 'val_loss' is not one a run logs"),
    ("hidden = [2]\n  objective = lowest(loss)", "{hidden}", 14, 15, "objective is minimize(METRIC)"),
    ("hidden = [2]\n  lr = loguniform(0, 1)", "{hidden}", 14, 8, "above 0"),
    ("hidden = [2]\n  batch_size = [0]", "{hidden}", 14, 16, "'batch_size'"),
    ("hidden = [2]\n  prune = mean", "{hidden}", 14, 11, "unknown pruner 'mean'"),
    ("hidden = loguniform(1, 8)\n  sampler = grid", "{hidden}", 13, 3, "a grid takes lists"),
    ("hidden = [2]\n  sampler = random", "{hidden}", 12, 1, "needs its number of trials"),
]


@pytest.mark.parametrize("spaces, hole, line, column, message", ERRORS,
                         ids=[e[4][:30] for e in ERRORS])
def test_each_sweep_error_is_one_line_at_its_place(tmp_path, spaces, hole, line, column,
                                                    message):
    path = spec(tmp_path, spaces)
    r = sweep_cli(path, "-o", tmp_path / "out")
    assert r.returncode == 2, r.stderr
    first, *rest = r.stderr.splitlines()
    assert first.startswith(f"error: {path}:{line}:{column}: "), first
    assert message in first
    assert len(rest) == 2 and rest[1].strip() == "^"  # the line quoted, and a caret
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("url, shown", [
    ("postgresql://nnspec:s3cr3t-pw@127.0.0.1:1/study", "postgresql://nnspec:***@127.0.0.1:1/study"),
    ("mysql+pymysql://root:s3cr3t-pw@localhost:1/db", "mysql+pymysql://root:***@localhost:1/db"),
    ("sqlite:////no/such/folder/s3cr3t-pw.db", "sqlite:////no/such/folder/s3cr3t-pw.db"),
])
def test_a_storage_that_cannot_be_opened_is_one_line_without_its_password(tmp_path, url, shown):
    r = sweep_cli(spec(tmp_path), "-o", tmp_path / "out", "--storage", url)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"error: cannot open the storage {shown}" in r.stderr
    if "sqlite" not in url:
        assert "s3cr3t-pw" not in r.stderr + r.stdout


def test_import_nnspec_and_a_compile_load_no_optuna(tmp_path):
    code = ("import sys, nnspec, nnspec.cli.parser\nnnspec.compile(sys.argv[1])\n"
            "from nnspec.sweeps import space\nspace.read_plan(open(sys.argv[1]).read())\n"
            "assert 'optuna' not in sys.modules, 'optuna imported'\n")
    r = subprocess.run([sys.executable, "-c", code, str(MODELS / "seeds" / "seed004_xor.nn")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


# -- running a sweep ---------------------------------------------------------------

def test_a_grid_sweep_writes_its_files_and_a_rerun_trains_nothing_twice(tmp_path):
    out = tmp_path / "out"
    r = sweep_cli(spec(tmp_path), "-o", out, "--keep", "all")
    assert r.returncode == 0, r.stderr
    assert "trial 4/4 done: loss " in r.stdout and "(best " in r.stdout
    assert "rank  trial  loss" in r.stdout  # the leaderboard
    table = rows(out)
    assert [int(t["number"]) for t in table] == [0, 1, 2, 3]
    assert [(t["hidden"], t["seed"]) for t in table] == [("2", "0"), ("2", "1"), ("4", "0"),
                                                        ("4", "1")]
    assert set(table[0]) >= {"number", "state", "hidden", "seed", "value", "loss", "best_loss",
                             "epochs", "seconds"}
    assert all(t["state"] == "complete" and t["epochs"] == "30" for t in table)
    best = min(table, key=lambda t: float(t["value"]))
    model = nnspec.load(out / "best.nnb")
    assert model.network.nodes[1].p["units"] == int(best["hidden"])
    assert "sweep" not in model.text
    assert sorted(p.name for p in out.glob("trial-*.nnb")) == [f"trial-00{i}.nnb" for i in range(4)]
    lines = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    assert [len(line["history"]["loss"]) for line in lines] == [30] * 4
    again = sweep_cli(spec(tmp_path), "-o", out)
    assert again.returncode == 0 and "4 of 4 trials done" in again.stdout
    assert " done: " not in again.stdout  # no trial trained again
    assert len(rows(out)) == 4
    for kind, extra in (("sweep", ["--color", "seed"]), ("params", [])):
        r = run_cli("plot", out, "--kind", kind, "-o", tmp_path / f"{kind}.png", *extra)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / f"{kind}.png").stat().st_size > 5000


def test_python_api_returns_rows_and_the_best_model(tmp_path):
    result = nnspec.sweep(spec(tmp_path, "hidden = [2, 3]\n  lr = uniform(0.1, 1)\n"
                               "  sampler = random\n  trials = 3"),
                          out=tmp_path / "out", quiet=True)
    assert len(result.trials) == 3 and result.metric == "loss"
    assert all(0.1 <= r["lr"] <= 1 and r["hidden"] in (2, 3) for r in result.trials)
    best = min(result.trials, key=lambda r: r["value"])
    assert result.best.config.lr == pytest.approx(best["lr"])


def test_jobs_two_from_a_thread_that_is_not_the_main_one(tmp_path):
    """A notebook's or a server's worker thread: no signal handler may be set there
    (Python's ValueError, after the workers had started, before), so SIGTERM is
    not passed on from it; the workers run the grid, and the thread waits for them."""
    import threading
    done = {}

    def run():
        try:
            done["result"] = nnspec.sweep(spec(tmp_path, "hidden = [2, 3]\n  seed = range(2)"),
                                          out=tmp_path / "out", jobs=2, quiet=True)
        except Exception as e:  # noqa: BLE001  the test reports what the thread raised
            done["error"] = e
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(240)
    assert "error" not in done, done.get("error")
    assert len(done["result"].trials) == 4


def test_jobs_two_runs_the_grid_once(tmp_path):
    out = tmp_path / "out"
    r = sweep_cli(spec(tmp_path, "hidden = [2, 3, 4]\n  seed = range(2)"), "-o", out,
                  "--jobs", "2")
    assert r.returncode == 0, r.stderr
    table = rows(out)
    assert len(table) == 6 and all(t["state"] == "complete" for t in table)
    assert sorted((t["hidden"], t["seed"]) for t in table) == \
        sorted((str(h), str(s)) for h in (2, 3, 4) for s in (0, 1))


def test_two_processes_on_one_journal_complete_exactly_the_trials_between_them(tmp_path):
    """Two `nnspec sweep` commands started together on one journal file: 40 trials
    of a random study, no more, no fewer."""
    path = spec(tmp_path, "hidden = int(2, 6)\n  lr = loguniform(0.01, 1)\n"
                "  sampler = random\n  trials = 40", epochs=3)
    journal = tmp_path / "shared.log"
    procs = [subprocess.Popen([sys.executable, "-m", "nnspec", "sweep", str(path), "-o",
                               str(tmp_path / f"machine{i}"), "--storage", str(journal), "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    results = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    study = optuna.load_study(study_name="xor",
                              storage=JournalStorage(JournalFileBackend(str(journal))))
    complete = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    assert len(complete) == 40
    assert len({t.number for t in complete}) == 40
    # each machine's trials.csv holds the whole study
    assert len(rows(tmp_path / "machine0")) == 40 or len(rows(tmp_path / "machine1")) == 40


def _wait_rows(folder, count, proc, limit=90):
    start = time.time()
    while time.time() - start < limit:
        if (folder / "trials.csv").is_file() and len(rows(folder)) >= count:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no {count} trials in {limit} s")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "SIGTERM"])
def test_a_sweep_stopped_mid_way_continues_where_it_was(tmp_path, how):
    """kill -9 (or SIGTERM) with trials finished and one running; the same command
    again runs the rest, the one cut off included, and none finished twice."""
    path = spec(tmp_path, "hidden = [2, 3]\n  seed = range(3)", epochs=1500)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "nnspec", "sweep", str(path), "-o", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_rows(out, 2, proc)
    proc.send_signal(how)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == (-9 if how == signal.SIGKILL else 130), stderr
    before = rows(out)
    assert 2 <= len(before) < 6
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"{len(before)} of 6 trials done" in again.stdout
    ran = again.stdout.count(" done: ")
    assert ran == 6 - len(before), (stdout, again.stdout)  # the rest, the one cut off among them
    table = rows(out)
    numbers = [t["number"] for t in table]
    assert len(numbers) == len(set(numbers)) == 6  # each trial once
    assert sorted((t["hidden"], t["seed"]) for t in table) == \
        sorted((str(h), str(s)) for h in (2, 3) for s in range(3))
    assert before == table[:len(before)]  # the finished trials kept, never rerun


def _states(out):
    """{trial state name: count} in the sweep's default study (out/study.db)."""
    study = optuna.load_study(study_name="xor", storage=f"sqlite:///{out / 'study.db'}")
    states = {}
    for t in study.get_trials(deepcopy=False):
        states[t.state.name] = states.get(t.state.name, 0) + 1
    return states


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_stop_when_their_sweep_is_killed(tmp_path):
    """kill -9 on `nnspec sweep --jobs 2` (no chance to pass SIGTERM on): its
    workers, each minutes into a trial, get SIGTERM from the kernel, requeue
    their trials and exit within seconds, rather than train on unseen (orphaned,
    they would run their trials, and the grid, to the end)."""
    path = spec(tmp_path, "hidden = [2, 3]\n  seed = range(3)", epochs=10 ** 7)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "nnspec", "sweep", str(path), "-o", str(out), "--jobs", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = time.time()
    running = 0
    while running < 2:
        assert proc.poll() is None and time.time() - start < 120, proc.communicate()
        time.sleep(0.2)
        try:  # read beside the workers, which may be creating the database's tables
            running = _states(out).get("RUNNING", 0) if (out / "study.db").is_file() else 0
        except Exception:  # noqa: BLE001  sqlalchemy's errors of a half-made database
            running = 0
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert len(children) == 2
    proc.kill()
    proc.wait(timeout=60)  # not communicate(): a worker left running holds its pipes
    start = time.time()
    while any(Path(f"/proc/{c}").exists() and "zombie" not in Path(
            f"/proc/{c}/status").read_text() for c in children):
        assert time.time() - start < 60, "a worker outlived its sweep"
        time.sleep(0.1)
    proc.stdout.close()
    proc.stderr.close()
    states = _states(out)  # both cut-off trials given back, none left running or done
    assert states.get("RUNNING", 0) == 0 and states.get("COMPLETE", 0) == 0, states


def test_pruning_stops_runs_that_trail(tmp_path):
    result = nnspec.sweep(spec(tmp_path, "hidden = [2]\n  lr = loguniform(1e-4, 1)\n"
                               "  sampler = random\n  trials = 14\n  prune = median", epochs=200),
                          out=tmp_path / "out", quiet=True)
    states = [r["state"] for r in result.trials]
    assert len(states) == 14 and set(states) <= {"complete", "pruned"}
    pruned = [r for r in result.trials if r["state"] == "pruned"]
    assert all(r["epochs"] < 200 for r in pruned)


def test_seed_004_exact_spec_has_its_grid():
    from nnspec.sweeps import space
    text = (MODELS / "seeds" / "seed004_xor.nn").read_text()
    plan = space.read_plan(text)
    assert plan.sampler == "grid" and len(plan.grid) == 80
    assert {p["hidden"] for p in plan.grid} == {2, 4, 8, 16}
    assert nnspec.compile(text).network.nodes[1].p["units"] == 2  # trained alone: H = 2


def test_masked_hides_passwords():
    from nnspec.sweeps.study import masked
    assert masked("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db" or \
        "p@ss" not in masked("postgresql://u:p@ss@h/db")
    assert masked("mysql://user:pw@host:3306/x") == "mysql://user:***@host:3306/x"
    assert masked("sqlite:///a/b.db") == "sqlite:///a/b.db"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_a_zombie_is_no_live_process():
    """A trial's process that died but was not reaped (where nothing reaps orphans,
    as in many containers) must not hold its trial forever: files.io.alive says
    it is gone, as it says of a reaped one, and of this process that it runs."""
    from nnspec.files.io import alive
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    start = time.time()
    while "Z" not in Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]:
        assert time.time() - start < 30
        time.sleep(0.05)
    assert not alive(child.pid)  # a zombie
    child.wait()
    assert not alive(child.pid) and alive(os.getpid())
