"""`nnspec train` as people run it: logs, progress, checkpoints, Ctrl-C, resume, NaN."""
import fcntl
import io
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios

import numpy as np
import pytest

import nnspec
from nnspec.training.progress import Progress

from conftest import MODELS, run_cli

SHAPES = MODELS / "shapes.nn"


def _same_weights(a, b):
    a, b = nnspec.load(a), nnspec.load(b)
    return all(a.weights[k].tobytes() == b.weights[k].tobytes() for k in a.weights) \
        and a.history == b.history


def test_output_to_a_file_is_one_line_per_epoch_and_the_log_is_json(tmp_path):
    log = tmp_path / "metrics.jsonl"
    with open(tmp_path / "log.txt", "w") as out:  # `nnspec train ... > log.txt`
        rc = subprocess.run([sys.executable, "-m", "nnspec.cli", "train", str(SHAPES), "-o",
                             str(tmp_path / "s.nnb"), "--epochs", "3", "--log", str(log)],
                            stdout=out, stderr=subprocess.PIPE, text=True).returncode
    assert rc == 0
    text = (tmp_path / "log.txt").read_text()
    assert "\r" not in text
    lines = text.splitlines()
    assert [l.split()[1] for l in lines if l.startswith("epoch")] == ["1/3", "2/3", "3/3"]
    assert len(lines) == 6  # header, 3 epochs, test, saved
    records = [json.loads(l) for l in log.read_text().splitlines()]
    assert [r.get("epoch") for r in records[:3]] == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"} <= set(records[0])
    assert records[3]["event"] == "test" and 0 <= records[3]["accuracy"] <= 1


def test_quiet_prints_nothing(tmp_path):
    r = run_cli("train", SHAPES, "-o", tmp_path / "s.nnb", "--epochs", "1", "--quiet")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert nnspec.load(tmp_path / "s.nnb").epoch == 1


def test_a_terminal_gets_a_progress_bar():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    model = nnspec.compile("input 2\ndense 3 softmax")
    x, y = np.random.default_rng(0).random((40, 2)), np.arange(40) % 3
    model.fit(x, y, epochs=2, batch_size=10, callbacks=[Progress(stream)])
    text = stream.getvalue()
    assert "\r" in text and "epoch 1/2" in text and "epoch 2/2" in text and "4/4" in text
    lines = io.StringIO()
    model.fit(x, y, epochs=2, batch_size=10, callbacks=[Progress(lines)])
    assert [l.split()[:2] for l in lines.getvalue().splitlines()] == [["epoch", "3/4"],
                                                                       ["epoch", "4/4"]]


def test_a_diverging_run_stops_with_status_1_and_keeps_the_last_good_checkpoint(tmp_path):
    out = tmp_path / "s.nnb"
    r = run_cli("train", SHAPES, "-o", out, "--lr", "1e6", "--checkpoint-dir", tmp_path / "ck")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Warning" not in r.stderr
    assert "error: epoch 1, batch" in r.stderr and "the loss is nan" in r.stderr
    assert "try a lower learning rate (lr is 1e+06)" in r.stderr
    last = r.stderr.strip().rsplit("the last good checkpoint is ", 1)[1]
    model = nnspec.load(last)
    assert model.epoch == 0 and all(np.isfinite(w).all() for w in model.weights.values())
    assert not out.exists()


def test_a_last_update_that_overflows_is_a_divergence_not_a_bundle_of_nan(tmp_path):
    """The loss is checked before each update; the last batch's update, which no
    later loss checks, may overflow the weights: that too is a divergence, and
    no bundle is written (one of NaN weights could not be loaded)."""
    x, y = np.ones((4, 2)), np.full(4, 3.0)
    model = nnspec.compile("input 2\ndense 1", loss="mse", optimizer="sgd", lr=1e308,
                           epochs=1, target_scale="none")
    with pytest.raises(nnspec.TrainingDiverged) as e:
        model.fit(x, y, batch_size=4)
    assert str(e.value).startswith("epoch 1: the last update left dense1.W with NaN or "
                                   "infinite values; try a lower learning rate")
    assert model.epoch == 0
    with pytest.raises(nnspec.NNSpecError, match=r"^dense1.W holds NaN or infinite values "
                                                 r"\(training diverged\), so the model is "
                                                 r"not saved"):
        model.save(tmp_path / "nan.nnb")  # save refuses what load would refuse
    assert not (tmp_path / "nan.nnb").exists()
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,y\n" + "1,1,3\n" * 4)
    (tmp_path / "t.nn").write_text('input 2\ndense 1\ntrain {\n  data = csv("t.csv", label=y)'
                                   '\n  loss = mse\n  optimizer = sgd\n  lr = 1e308\n'
                                   '  split = 100/0/0\n  scale = none\n}\n')
    r = run_cli("train", tmp_path / "t.nn", "-o", tmp_path / "t.nnb")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "the last update left dense1" in r.stderr and not (tmp_path / "t.nnb").exists()


def test_ctrl_c_writes_a_checkpoint_and_resuming_matches_an_uninterrupted_run(tmp_path):
    straight = tmp_path / "straight.nnb"
    assert run_cli("train", SHAPES, "-o", straight, "--epochs", "12", "-q").returncode == 0
    out, ck = tmp_path / "s.nnb", tmp_path / "ck"
    p = subprocess.Popen([sys.executable, "-m", "nnspec.cli", "train", str(SHAPES), "-o", str(out),
                          "--epochs", "12", "--checkpoint-dir", str(ck)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().startswith("training")
    assert p.stdout.readline().startswith("epoch 1/12")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "checkpoint written to" in err and "resume with: nnspec train" in err
    assert "Traceback" not in err and not out.exists()
    r = run_cli("train", SHAPES, "-o", out, "--resume", ck)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("resuming")
    assert _same_weights(out, straight)


def test_resume_from_a_bundle_goes_on_to_the_new_total(tmp_path):
    two, four = tmp_path / "two.nnb", tmp_path / "four.nnb"
    assert run_cli("train", SHAPES, "-o", two, "--epochs", "2", "--seed", "3", "-q").returncode == 0
    assert run_cli("train", SHAPES, "-o", four, "--epochs", "4", "--seed", "3", "-q").returncode == 0
    # the seed comes from the checkpoint; the total from --epochs
    r = run_cli("train", SHAPES, "-o", tmp_path / "more.nnb", "--resume", two, "--epochs", "4")
    assert r.returncode == 0, r.stderr
    assert [l.split()[1] for l in r.stdout.splitlines() if l.startswith("epoch")] == ["3/4", "4/4"]
    # a 4-epoch run differs from 2 + 2 only in the test line, added when each run ends
    a, b = nnspec.load(tmp_path / "more.nnb"), nnspec.load(four)
    assert all(a.weights[k].tobytes() == b.weights[k].tobytes() for k in a.weights)


@pytest.mark.parametrize("args,words", [
    (["--seed", "9"], "--seed: cannot change when resuming"),
    (["--optimizer", "adam"], "--optimizer: cannot change when resuming"),
])
def test_resume_refuses_changes_that_would_make_another_run(args, words, tmp_path):
    ck = tmp_path / "ck"
    assert run_cli("train", SHAPES, "-o", tmp_path / "a.nnb", "--epochs", "1",
                   "--checkpoint-dir", ck, "-q").returncode == 0
    r = run_cli("train", SHAPES, "-o", tmp_path / "b.nnb", "--resume", ck, *args)
    assert r.returncode == 2 and words in r.stderr and r.stderr.count("\n") == 1


def test_resume_errors_are_one_line(tmp_path):
    spec = tmp_path / "other.nn"
    spec.write_text(SHAPES.read_text().replace("dense 100", "dense 50"))
    ck = tmp_path / "ck"
    assert run_cli("train", SHAPES, "-o", tmp_path / "a.nnb", "--epochs", "1",
                   "--checkpoint-dir", ck, "-q").returncode == 0
    (tmp_path / "empty").mkdir()
    plain = tmp_path / "plain.nnb"
    nnspec.compile(SHAPES).save(plain)
    for args, words in [
        ((spec, "--resume", ck), "different network than"),
        ((SHAPES, "--resume", tmp_path / "empty"), "no checkpoints"),
        ((SHAPES, "--resume", plain), "holds no training state"),
        ((SHAPES, "--optimizer", "adam(lr=1)"), "give the learning rate with --lr"),
        ((SHAPES, "--optimizer", "adam(beta1=2)"), "beta1 must be in [0, 1), got 2"),
        ((SHAPES, "--optimizer", "adma"), "did you mean 'adam'"),
    ]:
        r = run_cli("train", *args, "-o", tmp_path / "x.nnb")
        assert r.returncode == 2 and words in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_optimizer_and_lr_flags_replace_the_spec(tmp_path):
    out = tmp_path / "s.nnb"
    r = run_cli("train", SHAPES, "-o", out, "--epochs", "1", "--optimizer",
                "sgd(momentum=0.5)", "--lr", "0.003", "-q")
    assert r.returncode == 0, r.stderr
    model = nnspec.load(out)
    assert model.config.optimizer == "sgd" and dict(model.config.optimizer_options) == {
        "momentum": 0.5}
    assert model.config.lr == 0.003 and model.history["lr"] == [0.003]
    assert set(model.optimizer.state) == {f"{k}/b" for k in model.weights}  # momentum buffers


def test_unwritable_places_are_one_line_errors(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    for args in (["--log", blocked / "m.jsonl"], ["--checkpoint-dir", blocked / "ck"]):
        r = run_cli("train", SHAPES, "-o", tmp_path / "s.nnb", "--epochs", "1", *args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "cannot" in r.stderr, r.stderr
    r = run_cli("compile", SHAPES, "--graph", blocked / "g.png")
    assert r.returncode == 2 and "cannot write the drawing" in r.stderr
    assert "Traceback" not in r.stderr


def test_resume_with_a_missing_spec_is_one_line(tmp_path):
    ck = tmp_path / "ck"
    assert run_cli("train", SHAPES, "-o", tmp_path / "a.nnb", "--epochs", "1",
                   "--checkpoint-dir", ck, "-q").returncode == 0
    r = run_cli("train", tmp_path / "gone.nn", "-o", tmp_path / "b.nnb", "--resume", ck)
    assert r.returncode == 2 and "cannot read spec" in r.stderr and "Traceback" not in r.stderr


def test_on_an_80_column_terminal_every_epoch_shows_its_whole_result(tmp_path):
    """A pseudo-terminal of 80 columns: the bar may be cut to fit, the epoch's line
    (validation metrics and lr included) is a line of its own that is not."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "nnspec.cli", "train", str(SHAPES), "-o",
                             str(tmp_path / "m.nnb"), "--epochs", "2"], stdin=child, stdout=child, stderr=child,
                            env={**os.environ, "COLUMNS": "80"})
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(main)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    results = [line.split("\r")[-1] for line in text.split("\n") if "val_accuracy" in line]
    epochs = [line for line in results if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/2", "2/2"], text
    assert all("val_loss" in line and " lr " in line for line in epochs)


def test_print_every_and_the_early_stopping_report(tmp_path):
    spec = tmp_path / "s.nn"
    spec.write_text("input 16x16x1\nconv 3x3x2 same tanh -> dense 4 softmax\ntrain {\n"
                    " data = shapes(300)\n epochs = 60\n lr = 0.3\n"
                    " early_stopping = early_stopping(2, monitor=val_loss)\n}\n")
    r = run_cli("train", spec, "-o", tmp_path / "m.nnb", "--print-every", "5")
    assert r.returncode == 0, r.stderr
    shown = [int(line.split()[1].split("/")[0]) for line in r.stdout.splitlines()
             if line.startswith("epoch ")]
    model = nnspec.load(tmp_path / "m.nnb")
    ran = len(model.history["loss"])
    assert ran < 60 and shown == [e for e in range(1, ran + 1) if e % 5 == 0] + (
        [ran] if ran % 5 else [])  # every fifth, and the last
    stopper = model.stopper
    assert f"early stopping after epoch {ran}: val_loss did not improve" in r.stdout
    assert "restored the weights of epoch" in r.stdout and stopper.best_epoch < ran
    assert run_cli("train", spec, "-o", tmp_path / "m.nnb", "--print-every", "0").returncode == 2


@pytest.mark.parametrize("terminal", [True, False])
def test_the_last_epoch_is_shown_when_training_stops_between_every_nth(terminal):
    """--print-every skips epochs; an epoch that ends training early is shown all
    the same, with a bar (a terminal) or without."""
    class Stream(io.StringIO):
        def isatty(self):
            return terminal

    class StopAt3(nnspec.Callback):
        def on_epoch_end(self, epoch, logs):
            self.model.stop_training = epoch == 3

    stream = Stream()
    model = nnspec.compile("input 2\ndense 3 softmax")
    x, y = np.random.default_rng(0).random((40, 2)), np.arange(40) % 3
    model.fit(x, y, epochs=10, batch_size=10, callbacks=[Progress(stream, every=2), StopAt3()])
    results = [m.group(1) for line in stream.getvalue().splitlines()
               for m in [re.match(r"epoch (\d+/\d+)  loss", line.split("\r")[-1])] if m]
    assert results == ["2/10", "3/10"], stream.getvalue()
