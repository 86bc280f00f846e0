"""The PyTorch engine (nnspec/pytorch/): the same run as the numpy engine.

Float64, the same initial weights and batches: every optimizer under every
schedule, every loss, penalties, clipping, reductions and per-layer rates, and
every layer kind's example, match the numpy engine to 1e-9 relative after 50
steps (float64 rounding in another order of sums, compounded over the steps:
1e-9 leaves four orders of magnitude above what was seen). Resuming is exact,
state moves between the engines, the CLI writes an ordinary bundle that records
its engine, and two processes under torchrun (gloo) take the same steps as one.
Skipped without torch (`pip install "nnspec[torch]"`).
"""
import json

import numpy as np
import pytest

import nnspec
from nnspec.lang.kinds import KINDS
from nnspec.training.optimizers import OPTIMIZERS
from nnspec.training.schedules import SCHEDULES

from conftest import MODELS, inputs_for, run_cli, targets_for
from nnspec.training.loop import take
from test_export import _how, _inputs
from test_multi_io import EXAMPLE, GRADIENT_SPECS

torch = pytest.importorskip("torch")

SCHEDULE_TEXT = {"constant": None, "inverse_time": "inverse_time(0.1)",
                 "exponential": "exponential(0.9, steps=3)", "step": "step(2, gamma=0.5)",
                 "cosine": "cosine(warmup=5, floor=0.1)", "plateau": "plateau(patience=1)"}


def _twins(spec, rng, n=10, classes=3, **overrides):
    """Two float64 models with the same weights, and data for them."""
    a = nnspec.compile(spec, dtype="float64", **overrides)
    b = nnspec.compile(spec, dtype="float64", **overrides)
    x = rng.normal(0, 1, (n,) + a.graph.input_shape)
    y = rng.integers(0, classes, n)
    return a, b, x, y


def _same(a, b, rtol=1e-9):
    """Each array to rtol of its own scale: an entry whose gradient is zero in exact
    arithmetic (attention's key bias) holds only rounding, of either sign."""
    def close(got, want, name):
        scale = max(float(np.abs(want).max(initial=0)), 1e-3)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=name)
    for k, v in a.weights.items():
        close(b.weights[k], v, k)
    assert a.optimizer.t == b.optimizer.t
    for k, v in a.optimizer.state.items():
        close(b.optimizer.state[k], v, k)


def test_the_tables_walk_every_optimizer_and_schedule():
    assert set(SCHEDULE_TEXT) == set(SCHEDULES)


@pytest.mark.parametrize("schedule", sorted(SCHEDULE_TEXT))
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_50_float64_steps_match_the_numpy_engine(optimizer, schedule, rng):
    spec = ("input 4\ndense 6 tanh lr=0.03 l1=0.001 -> dense 3 softmax l2_bias=0.01\n"
            f"train {{ optimizer = {optimizer}\n lr = 0.05\n l2 = 0.002\n clip_norm = 2.0\n"
            + (f" schedule = {SCHEDULE_TEXT[schedule]}\n" if SCHEDULE_TEXT[schedule] else "")
            + "}")
    if optimizer == "sgd":
        spec = spec.replace("optimizer = sgd",
                            "optimizer = sgd(momentum=0.9, nesterov=true, weight_decay=0.05)")
    a, b, x, y = _twins(spec, rng)
    validation = (x[:4], y[:4])
    ha = a.fit(x, y, epochs=10, batch_size=2, validation_data=validation)
    hb = b.fit(x, y, epochs=10, batch_size=2, validation_data=validation, engine="torch")
    assert a.optimizer.t == 50
    _same(a, b)
    for key in ha:
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-9, err_msg=key)


LOSS_ROWS = [
    ("dense 3 softmax", "cross_entropy", 3), ("dense 3", "cross_entropy", 3),  # logits
    ("dense 1 sigmoid", "binary_cross_entropy", 2), ("dense 1", "binary_cross_entropy", 2),
    ("dense 2 softmax", "binary_cross_entropy", 0),
    ("dense 2", "mse", 0), ("dense 3 softmax", "quadratic", 3), ("dense 2", "mae", 0),
    ("dense 2", "huber", 0)]


def test_the_tables_walk_every_loss_and_the_torch_activations_match_numpys(rng):
    """Every loss has a row (fused and not where it fuses); every activation, as the
    output's, computes in torch what numpy does (float64: rounding, 1e-12)."""
    from nnspec.engine import activations
    from nnspec.engine.losses import FUSED, LOSSES
    from nnspec.pytorch import losses as torch_losses
    assert {loss for _, loss, _ in LOSS_ROWS} == set(LOSSES)
    heads = {(loss, nnspec.compile(f"input 3\n{head}", loss=loss).graph.output_activation)
             for head, loss, _ in LOSS_ROWS}
    assert heads >= set(FUSED)
    z = rng.normal(0, 3, (5, 4))
    for name in activations.NAMES:
        got = torch_losses.activate(torch, name, torch.from_numpy(z)).numpy()
        np.testing.assert_allclose(got, activations.forward(name, z.copy()), rtol=1e-12,
                                   atol=1e-12, err_msg=name)


@pytest.mark.parametrize("head,loss,targets", LOSS_ROWS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_every_loss_and_reduction_match(head, loss, targets, reduction, weighted, rng):
    """Each loss, summed or averaged, and weighted by sample (a zero weight among
    them): the weights, the optimizer's state and the history as numpy's."""
    spec = f"input 3\ndense 4 relu -> {head}\ntrain {{ loss = {loss}\n reduction = {reduction} }}"
    a, b, x, _ = _twins(spec, rng, n=12)
    out = a.graph.output_shape[-1]
    y = rng.integers(0, targets, 12) if targets == 3 else (
        rng.integers(0, 2, (12, out)).astype(float) if "cross" in loss else
        rng.normal(0, 2, (12, out)))
    if targets == 2:
        y = rng.integers(0, 2, 12)
    w = np.r_[0.0, rng.uniform(0.2, 3, 11)] if weighted else None
    ha = a.fit(x, y, epochs=5, batch_size=5, sample_weight=w)
    hb = b.fit(x, y, epochs=5, batch_size=5, engine="torch", sample_weight=w)
    _same(a, b)
    for key in ha:
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-9, err_msg=key)


@pytest.mark.parametrize("loss", ["mse", "mae", "quadratic"])
def test_a_target_scaling_and_class_weights_train_as_in_numpy(loss, rng):
    """A price-like target (mean 2e5) learnt on unit scale, its loss, metrics and
    validation in the targets' units, and a classifier's balanced class weights,
    as the numpy engine does them (float64: 1e-9, as above)."""
    spec = (f"input 3\ndense 4 tanh -> p: dense 1\noutput p loss={loss} metrics=mae\n"
            "train {\n  target_scale = standard\n}")
    a, b, x, _ = _twins(spec, rng, n=12)
    y = 2e5 + 5e4 * rng.normal(size=(12, 1))
    ha = a.fit(x, y, epochs=5, batch_size=5, validation_data=(x[:4], y[:4]))
    hb = b.fit(x, y, epochs=5, batch_size=5, validation_data=(x[:4], y[:4]), engine="torch")
    assert a.target_scaling and b.target_scaling == a.target_scaling
    assert ha["loss"][0] > 1e4  # in dollars (or squared), not on unit scale
    _same(a, b)
    for key in ha:
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-9, err_msg=key)
    np.testing.assert_allclose(b.predict(x, engine="torch"), a.predict(x), rtol=1e-9)
    c, d, x, y = _twins("input 3\ndense 4 tanh -> dense 3 softmax", rng, n=12)
    y[:9] = 0
    ha = c.fit(x, y, epochs=5, batch_size=5, class_weight="balanced")
    hb = d.fit(x, y, epochs=5, batch_size=5, class_weight="balanced", engine="torch")
    _same(c, d)
    np.testing.assert_allclose(hb["loss"], ha["loss"], rtol=1e-9)


MULTI_IO = [*GRADIENT_SPECS,
            # the shipped example (a conv beside a scaled input), without its early
            # stopping, so that both runs take all 50 steps
            EXAMPLE.replace("  early_stopping = early_stopping(patience=3, "
                            "monitor=val_digit_accuracy)\n", "")]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("spec", MULTI_IO, ids=[f"spec{i}" for i in range(len(MULTI_IO))])
def test_several_inputs_and_outputs_train_as_in_numpy(spec, reduction, rng):
    """Inputs and targets by name, each output's loss times its weight, its own
    metrics and validation: 50 steps as the numpy engine takes them, history too."""
    overrides = dict(dtype="float64", l2=0.002, clip_norm=2.0, reduction=reduction,
                     optimizer="adam", lr=0.01 if reduction == "mean" else 0.001)
    a, b = nnspec.compile(spec, **overrides), nnspec.compile(spec, **overrides)
    assert "early_stopping" not in spec or a.stopper is None
    x, y = inputs_for(a, 10, rng, np.float64), targets_for(a, 10, rng)
    validation = (take(x, slice(0, 4)), take(y, slice(0, 4)))
    ha = a.fit(x, y, epochs=10, batch_size=2, validation_data=validation)
    hb = b.fit(x, y, epochs=10, batch_size=2, validation_data=validation, engine="torch")
    assert a.optimizer.t == 50
    _same(a, b)
    assert len(a.graph.outputs) > 1 and "val_loss" in ha and ha.keys() == hb.keys()
    for key in ha:
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-9, err_msg=key)
    # predictions by name, as numpy's (float64 rounding: 1e-9)
    got, want = b.predict(x, engine="torch"), a.predict(x)
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-9, atol=1e-12, err_msg=name)


EXAMPLES = [k for k in sorted(KINDS) if k != "dropout"]  # dropout: torch draws other masks
# the forms a kind's one example does not show: conv and pooling over a sequence (1-D;
# 'same' pads of 1 and 2 steps, then 1 and 1: PyTorch's own padding, count_include_pad),
# recurrent layers both ways, and both ways over a masked sequence
FORMS = [(k, KINDS[k].example) for k in EXAMPLES] + [
    ("conv", "input 9x3\nconv 4x4 same relu stride=2 -> conv 2x5 full dilation=2"),
    ("maxpool", "input 9x3\nconv 3x4 same relu -> maxpool 4 same stride=1 "
                "-> maxpool 3 same stride=1 -> maxpool 2"),
    ("avgpool", "input 9x3\navgpool 4 same stride=1 -> avgpool 3 same stride=1 "
                "-> avgpool 2 same -> avgpool 3 stride=2"),
    ("lstm", "input 5x3\nlstm 3 bidirectional return_sequences=true -> lstm 2 bidirectional"),
    ("gru", "input 5x3\ngru 3 bidirectional bias=false"),
    ("rnn", "input 4x3\nrnn 2 bidirectional return_sequences=true")]


@pytest.mark.parametrize("kind,example", FORMS, ids=[f"{k}{i}" for i, (k, _) in enumerate(FORMS)])
def test_every_kind_trains_as_in_numpy(kind, example, rng):
    spec = example + ("\n-> flatten" if len(nnspec.compile(example).graph.output_shape) > 1
                      else "") + "\n-> dense 3 softmax\ntrain { optimizer = adam\n lr = 0.01 }"
    a = nnspec.compile(spec, dtype="float64")
    b = nnspec.compile(spec, dtype="float64")
    x = _inputs(a, _how(kind), 12, rng).astype(np.float64)
    y = rng.integers(0, 3, 12)
    a.fit(x, y, epochs=3, batch_size=4)
    b.fit(x, y, epochs=3, batch_size=4, engine="torch")
    _same(a, b)


def test_dropout_is_drawn_from_the_seed_and_resumes_exactly(rng, tmp_path):
    spec = "input 6\ndense 8 relu -> dropout 0.5 -> dense 3 softmax"
    x, y = rng.normal(0, 1, (16, 6)), rng.integers(0, 3, 16)
    straight = nnspec.compile(spec)
    straight.fit(x, y, epochs=2, batch_size=4, engine="torch")
    first = nnspec.compile(spec)
    first.fit(x, y, epochs=1, batch_size=4, engine="torch")
    first.save(tmp_path / "ck.nnb", checkpoint=True)
    resumed = nnspec.load(tmp_path / "ck.nnb")
    resumed.fit(x, y, epochs=1, batch_size=4, engine="torch")
    for k, v in straight.weights.items():
        assert np.array_equal(resumed.weights[k], v), k
    assert resumed.trained == {"engine": "torch", "device": "cpu", "processes": 1}


def test_state_moves_between_the_engines(rng):
    spec = "input 4\ndense 5 tanh -> batchnorm -> dense 3 softmax\ntrain { optimizer = adamw }"
    a, b, x, y = _twins(spec, rng, n=12)
    a.fit(x, y, epochs=2, batch_size=4)
    b.fit(x, y, epochs=1, batch_size=4, engine="torch")
    b.fit(x, y, epochs=1, batch_size=4)  # numpy takes up torch's moments and statistics
    _same(a, b)


def test_the_cli_trains_with_torch_and_the_bundle_says_so(tmp_path):
    r = run_cli("train", MODELS / "shapes.nn", "--engine", "torch", "--epochs", "1", "-o",
                tmp_path / "s.nnb")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].startswith("epoch 1/1  loss ")
    model = nnspec.load(tmp_path / "s.nnb")
    np.save(tmp_path / "x.npy", model.data().test[0][:3])
    r = run_cli("infer", tmp_path / "s.nnb", tmp_path / "x.npy", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) == 3  # one row a sample
    r = run_cli("inspect", tmp_path / "s.nnb")
    assert "trained     by the torch engine on cpu" in r.stdout


def test_the_cli_trains_and_infers_several_inputs_and_outputs_with_torch(tmp_path):
    bundle, log = tmp_path / "ex.nnb", tmp_path / "log.jsonl"
    r = run_cli("train", MODELS / "two_inputs_two_outputs.nn", "-o", bundle, "--set",
                "data=glyphs(200)", "--epochs", "1", "--log", log, "--quiet", "--engine", "torch")
    assert r.returncode == 0, r.stderr
    first = json.loads(log.read_text().splitlines()[0])
    assert list(first)[:11] == ["epoch", "loss", "digit_loss", "digit_accuracy", "size_loss",
                                "size_mae", "val_loss", "val_digit_loss", "val_digit_accuracy",
                                "val_size_loss", "val_size_mae"]
    model = nnspec.load(bundle)
    assert model.trained["engine"] == "torch"
    np.savez(tmp_path / "in.npz", **{k: v[:3] for k, v in model.data().test[0].items()})
    rows = [json.loads(run_cli("infer", bundle, tmp_path / "in.npz", "--format", "json",
                               *flags).stdout) for flags in ([], ["--engine", "torch"])]
    assert [g["output"] for g in rows[1]] == ["digit"] * 3 + ["size"] * 3
    for ours, numpys in zip(*rows):
        if ours["output"] == "digit":
            assert ours["index"] == numpys["index"]
        else:  # float32 in other kernels: 1e-5
            assert ours["values"] == pytest.approx(numpys["values"], rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("flags,message", [
    (["--engine", "torch", "--device", "cuda:7"], "--device cuda"),
    (["--engine", "torch", "--device", "tpu"], "--device tpu"),
    (["--device", "cuda"], "--device and --nproc are the torch engine's"),
])
def test_a_device_that_cannot_be_had_is_one_line(flags, message, tmp_path):
    if "cuda" in flags[-1] and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = run_cli("train", MODELS / "seed001_spiral.nn", "-o", tmp_path / "s.nnb", *flags)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_two_processes_under_torchrun_take_the_same_steps_as_one(tmp_path):
    """DDP over gloo on 127.0.0.1: the global batch of 32 split between two
    processes. float32, sums in another order: 1e-5."""
    spec = tmp_path / "s.nn"
    spec.write_text("input 2\ndense 16 tanh -> dense 3 softmax\n"
                    "train { data = spiral(60, classes=3)\n batch_size = 32\n epochs = 2\n"
                    " optimizer = sgd(momentum=0.9)\n lr = 0.1 }\n")
    one = run_cli("train", spec, "--engine", "torch", "-o", tmp_path / "one.nnb", "-q")
    assert one.returncode == 0, one.stderr
    two = run_cli("train", spec, "--engine", "torch", "--nproc", "2", "-o", tmp_path / "two.nnb",
                  timeout=300)
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("epoch 2/2") == 1  # one process speaks
    a, b = nnspec.load(tmp_path / "one.nnb"), nnspec.load(tmp_path / "two.nnb")
    assert b.trained["processes"] == 2
    for k, v in a.weights.items():
        np.testing.assert_allclose(b.weights[k], v, rtol=1e-5, atol=1e-6, err_msg=k)
    np.testing.assert_allclose(b.history["loss"], a.history["loss"], rtol=1e-5)


def test_several_inputs_and_outputs_under_torchrun_take_the_same_steps_as_one(tmp_path):
    """Each process's share of every named input and target; the outputs' losses and
    metrics summed across the processes. In float64: Adam divides by the root of its
    second moment, so a weight whose gradient is near zero turns float32's rounding
    of sums in another order into 1e-4 of its step (seen, one weight in 50,000);
    float64 rounding, compounded over the steps, stays far below 1e-9."""
    flags = ["--engine", "torch", "--set", "data=glyphs(96)", "--set", "dtype=float64",
             "--epochs", "1", "-q"]
    spec = MODELS / "two_inputs_two_outputs.nn"
    one = run_cli("train", spec, "-o", tmp_path / "one.nnb", *flags)
    assert one.returncode == 0, one.stderr
    two = run_cli("train", spec, "-o", tmp_path / "two.nnb", "--nproc", "2", *flags,
                  timeout=300)
    assert two.returncode == 0, two.stderr
    a, b = nnspec.load(tmp_path / "one.nnb"), nnspec.load(tmp_path / "two.nnb")
    assert b.trained["processes"] == 2 and a.history.keys() == b.history.keys()
    assert a.graph.dtype == np.float64
    for k, v in a.weights.items():
        np.testing.assert_allclose(b.weights[k], v, rtol=1e-9, atol=1e-12, err_msg=k)
    for key in ("loss", "digit_accuracy", "size_mae", "val_size_loss"):
        np.testing.assert_allclose(b.history[key], a.history[key], rtol=1e-9, err_msg=key)


def test_ctrl_c_with_the_torch_engine_writes_a_checkpoint_that_resumes_exactly(tmp_path):
    import signal
    import subprocess
    import sys
    shapes, flags = MODELS / "shapes.nn", ["--engine", "torch", "--epochs", "8"]
    straight = tmp_path / "straight.nnb"
    assert run_cli("train", shapes, "-o", straight, *flags, "-q").returncode == 0
    out, ck = tmp_path / "s.nnb", tmp_path / "ck"
    p = subprocess.Popen([sys.executable, "-m", "nnspec.cli", "train", str(shapes), "-o",
                          str(out), *flags, "--checkpoint-dir", str(ck)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().startswith("training")
    assert p.stdout.readline().startswith("epoch 1/8")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "checkpoint written to" in err, err
    r = run_cli("train", shapes, "-o", out, "--resume", ck, "--engine", "torch")
    assert r.returncode == 0, r.stderr
    a, b = nnspec.load(out), nnspec.load(straight)
    assert all(a.weights[k].tobytes() == b.weights[k].tobytes() for k in a.weights)


FROZEN_KINDS = [k for k in EXAMPLES if KINDS[k].weights is not None]


@pytest.mark.parametrize("kind", FROZEN_KINDS)
def test_frozen_layers_train_as_in_numpy_and_do_not_move(kind, rng):
    """Issue 31: a frozen layer of every kind with weights (a batch norm at its
    running statistics), under penalties and AdamW's decay: the torch engine's 50
    float64 steps equal numpy's to 1e-9, and the frozen weights do not move by a bit."""
    example = KINDS[kind].example
    spec = example + ("\n-> flatten" if len(nnspec.compile(example).graph.output_shape) > 1
                      else "") + "\n-> dense 3 softmax\ntrain { optimizer = adamw(weight_decay=0.1)" \
        "\n lr = 0.01\n l2 = 0.01 }"
    a = nnspec.compile(spec, dtype="float64")
    b = nnspec.compile(spec, dtype="float64")
    node = next(n.name for n in a.network.nodes if n.kind == kind)
    a.freeze(node)
    b.freeze(node)
    before = {k: v.copy() for k, v in a.weights.items()}
    x = _inputs(a, _how(kind), 20, rng).astype(np.float64)
    y = rng.integers(0, 3, 20)
    a.fit(x, y, epochs=10, batch_size=4)
    b.fit(x, y, epochs=10, batch_size=4, engine="torch")
    assert a.optimizer.t == 50
    _same(a, b)
    for _, key in b.graph.keys[node]:
        np.testing.assert_array_equal(b.weights[key], before[key], err_msg=key)
