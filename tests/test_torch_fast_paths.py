"""The torch engine's fast paths against their references, in float64.

- the engine's network (nnspec/pytorch/modules.py: fused recurrent layers,
  channels_last convolutions and pooling, scaled_dot_product_attention)
  against the readable module export writes (export/torch_source.py, a loop
  over steps, a transpose around every convolution), forward and gradients,
  for every row of the export table (every kind, every gradient-table row,
  every shipped spec);
- the multi-tensor update (optimizers.step) against the per-parameter update
  (optimizers.update), for every optimizer; penalties and clipping against
  the numpy loop's;
- Model.predict(engine="torch") and `nnspec infer --engine torch` against the
  numpy engine, with the model's preprocessing;
- checkpoints resumed on the other engine.
Skipped without torch (`pip install "nnspec[torch]"`).
"""
import importlib.util
import json
import os
import signal
import time

import numpy as np
import pytest

import nnspec
from nnspec.training.optimizers import OPTIMIZERS

from conftest import run_cli
from test_export import KIND_NAMES, ROWS, _inputs, _randomized, scaled_model

torch = pytest.importorskip("torch")
from nnspec.export.torch import parameter_keys  # noqa: E402
from nnspec.export.torch_source import source  # noqa: E402
from nnspec.pytorch import gradients, optimizers, place  # noqa: E402
from nnspec.pytorch.modules import Net  # noqa: E402


def _reference(model, tmp_path):
    """The readable module export writes, with a copy of the model's weights."""
    path = tmp_path / "reference_net.py"
    path.write_text(source(model, engine=True), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"reference_{tmp_path.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.Net().double()
    named = dict(net.named_parameters()) | dict(net.named_buffers())
    tensors = {name: named[key] for name, key in parameter_keys(model.graph).items()}
    with torch.no_grad():
        for name, tensor in tensors.items():
            tensor.copy_(torch.from_numpy(model.weights[name]))
    return net, tensors


@pytest.mark.parametrize("spec,how", ROWS, ids=[f"row{i}" for i in range(len(ROWS))])
def test_the_engines_network_computes_what_the_readable_module_does(spec, how, tmp_path):
    rng = np.random.default_rng(1)
    model = _randomized(nnspec.compile(spec, dtype="float64"), rng)
    reference, theirs = _reference(model, tmp_path)
    ours = place.weights(model, torch, torch.device("cpu")).tensors
    net = Net(model.graph, ours)
    training = "dropout" not in spec  # each draws its masks its own way
    net.train(training)
    reference.train(training)
    x = _inputs(model, how, 5, rng)
    x = {k: torch.from_numpy(v.astype(np.float64)) for k, v in x.items()} \
        if isinstance(x, dict) else torch.from_numpy(x.astype(np.float64))
    # the reference takes each input by position, in the graph's order
    got = net(x, logits=True)
    want = reference(*([x[k] for k in model.graph.inputs] if isinstance(x, dict) else [x]),
                     logits=True)
    got, want = (got, want) if isinstance(got, dict) else ({"": got}, {"": want})
    assert got.keys() == want.keys()
    for name in got:
        np.testing.assert_allclose(got[name].detach().numpy(), want[name].detach().numpy(),
                                   rtol=1e-9, atol=1e-10, err_msg=name)
    if not model.graph.trainable:
        return
    readouts = {k: torch.from_numpy(rng.normal(size=tuple(v.shape))) for k, v in got.items()}
    sum((got[k] * r).sum() for k, r in readouts.items()).backward()
    sum((want[k] * r).sum() for k, r in readouts.items()).backward()
    for name in model.graph.trainable:
        a, b = ours[name].grad, theirs[name].grad
        if b is None:
            assert a is None or not a.any(), name
            continue
        scale = max(float(b.abs().max()), 1e-3)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-8, atol=1e-9 * scale,
                                   err_msg=name)
    for name, role in model.graph.roles.items():  # running statistics moved alike
        if role == "statistic":
            np.testing.assert_allclose(ours[name].numpy(), theirs[name].numpy(), rtol=1e-12)


@pytest.mark.parametrize("spec", ["input 7x5\nlstm 16 return_sequences=true",
                                  "input 7x5\ngru 16", "input 7x5\nrnn 16",
                                  "input 7x5\nlstm 16 bidirectional",
                                  "input 7x5\ngru 8 bidirectional return_sequences=true",
                                  "input 7x5\nrnn 8 bidirectional"])
def test_fused_recurrent_layers_in_float32_match_the_loop(spec, tmp_path):
    """float32 takes oneDNN's LSTM on a CPU, another kernel than float64's."""
    rng = np.random.default_rng(2)
    model = _randomized(nnspec.compile(spec, loss="mse"), rng)
    net = Net(model.graph, place.weights(model, torch, torch.device("cpu")).tensors)
    reference, _ = _reference(model, tmp_path)
    x = torch.from_numpy(rng.normal(size=(9, 7, 5)).astype(np.float32))
    np.testing.assert_allclose(net(x).detach().numpy(), reference.float()(x).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_a_batch_norm_of_one_row_trains_as_numpys(rng):
    """PyTorch's batch norm refuses one value per feature; nnspec gives beta."""
    spec = "input 4\ndense 3 -> batchnorm -> dense 2 softmax\ntrain { optimizer = adam }"
    a = nnspec.compile(spec, dtype="float64")
    b = nnspec.compile(spec, dtype="float64")
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 2, 5)
    a.fit(x, y, epochs=2, batch_size=4)  # the last batch is one sample
    b.fit(x, y, epochs=2, batch_size=4, engine="torch")
    for k, v in a.weights.items():  # dense1.b's gradient is 0 but for rounding: 1e-9
        np.testing.assert_allclose(b.weights[k], v, rtol=1e-9, atol=1e-9, err_msg=k)


@pytest.fixture
def device_path(monkeypatch):
    """The path a GPU takes, on the CPU: the model's arrays copied to the "device"
    and back at each sync, data sets resident there and indexed there, and the
    multi-tensor update over a list of tensors (packing is for CPUs)."""
    monkeypatch.setattr(place, "shares", lambda device: False)
    monkeypatch.setattr(place, "free_memory", lambda torch, device: 1 << 40)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_on_the_device_path_matches_the_numpy_engine(optimizer, device_path,
                                                                     rng):
    from test_torch_engine import test_50_float64_steps_match_the_numpy_engine as table
    table(optimizer, "cosine", rng)


@pytest.mark.parametrize("kind", ["conv", "maxpool", "avgpool", "lstm", "embedding", "batchnorm",
                                  "attention"])
def test_layers_on_the_device_path_match_the_numpy_engine(kind, device_path, rng):
    from test_torch_engine import FORMS
    from test_torch_engine import test_every_kind_trains_as_in_numpy as table
    for form, example in FORMS:  # the kind's example, and its other forms (1-D)
        if form == kind:
            table(kind, example, rng)


@pytest.mark.parametrize("reduction", ["mean"])
def test_several_inputs_and_outputs_on_the_device_path_match_the_numpy_engine(
        reduction, device_path, rng):
    """Inputs, targets and validation by name resident on the "device"."""
    from test_torch_engine import MULTI_IO
    from test_torch_engine import test_several_inputs_and_outputs_train_as_in_numpy as table
    table(MULTI_IO[0], reduction, rng)


def test_a_masked_network_on_the_device_path_matches_the_numpy_engine(device_path, rng):
    """embedding mask_zero=true: the masks made and packed on the "device"."""
    from test_masking_torch import test_torch_engine_fit_with_a_mask_matches_numpy as table
    table(rng)


def test_predict_on_the_device_path_is_numpys(device_path):
    test_predict_with_the_torch_engine_is_numpys(ROWS[0][0], ROWS[0][1])


def _optimizer(name):
    options = {"sgd": dict(momentum=0.9, nesterov=True, weight_decay=0.05),
               "adamw": dict(weight_decay=0.1)}.get(name, {})
    opt = OPTIMIZERS[name](**options)
    opt.decayed = frozenset({"a.W", "c.W"})
    return opt


@pytest.mark.parametrize("name", sorted(OPTIMIZERS) + ["sgd-plain"])
def test_the_multi_tensor_update_is_the_per_parameter_one(name):
    rng = np.random.default_rng(3)
    shapes = {"a.W": (4, 3), "a.b": (3,), "c.W": (6, 2), "e.W": (5, 2)}
    ours, theirs = (_optimizer(name.split("-")[0]) for _ in range(2))
    if name == "sgd-plain":
        ours.momentum = theirs.momentum = 0.0
    w = {k: rng.normal(size=s) for k, s in shapes.items()}
    w_ours = {k: torch.tensor(v) for k, v in w.items()}
    w_theirs = {k: torch.tensor(v) for k, v in w.items()}
    state_ours, state_theirs = {}, {}
    names = list(shapes)
    for t in range(20):
        grads = {k: rng.normal(size=s) for k, s in shapes.items()}
        grads["e.W"][rng.integers(0, 5)] = 0  # a row no sample used (LazyAdam)
        lrs = [0.05 * (1 + i) / (1 + t) for i in range(len(names))]
        ours.t += 1
        theirs.t += 1

        def slots(suffix):
            return [state_ours.setdefault(f"{k}/{suffix}",
                                          torch.zeros(shapes[k], dtype=torch.float64))
                    for k in names]
        optimizers.step(torch, ours, names, [w_ours[k] for k in names],
                        [torch.tensor(grads[k]) for k in names], lrs, slots)
        for k, lr in zip(names, lrs):
            def slot(key, k=k):
                return state_theirs.setdefault(key, torch.zeros(shapes[k], dtype=torch.float64))
            optimizers.update(torch, theirs, k, w_theirs[k], torch.tensor(grads[k]), lr, slot)
    assert set(state_theirs) <= set(state_ours)
    for k in names:
        np.testing.assert_allclose(w_ours[k].numpy(), w_theirs[k].numpy(), rtol=1e-12, err_msg=k)
    for k, v in state_theirs.items():
        np.testing.assert_allclose(state_ours[k].numpy(), v.numpy(), rtol=1e-12, err_msg=k)


def test_penalties_and_clipping_on_lists_are_the_numpy_loops():
    from nnspec.training.loop import clip, regularize
    rng = np.random.default_rng(4)
    names = ["a.W", "a.b", "c.W"]
    w = {k: rng.normal(size=(3, 2)) for k in names}
    g = {k: rng.normal(size=(3, 2)) for k in names}
    coefs = {"a.W": (0.1, 0.01, 0.02), "a.b": (0.1, 0.0, 0.0), "c.W": (0.1, 0.03, 0.0)}
    gs = [torch.tensor(g[k]) for k in names]
    penalties = gradients.Penalties(torch, names, [coefs[k][1] for k in names],
                                    [coefs[k][2] for k in names], "cpu", torch.float64)
    penalty = penalties.apply([torch.tensor(w[k]) for k in names], gs)
    expected = regularize(w, g, coefs)
    assert float(penalty) == pytest.approx(expected, rel=1e-12)
    for max_norm in (0.5, 100.0):  # clipped, and not
        g_np = {k: v.copy() for k, v in g.items()}
        g_t = [torch.tensor(g_np[k]) for k in names]
        clip(g_np, max_norm)
        gradients.clip(torch, g_t, max_norm)
        for k, t in zip(names, g_t):
            np.testing.assert_allclose(t.numpy(), g_np[k], rtol=1e-12, err_msg=k)


@pytest.mark.parametrize("spec,how", ROWS, ids=[f"row{i}" for i in range(len(ROWS))])
def test_predict_with_the_torch_engine_is_numpys(spec, how):
    rng = np.random.default_rng(0)
    model = _randomized(nnspec.compile(spec), rng)
    x = _inputs(model, how, 11, rng)
    _close(model.predict(x, engine="torch", batch_size=4), model.predict(x))  # passes of 4,
    # and a rest
    model.set_weights({k: v * 0.5 for k, v in model.weights.items()})  # seen on the next call
    _close(model.predict(x, engine="torch"), model.predict(x))


def _close(got, want):
    """Outputs (an array, or a dict by output name) alike: float32 in other kernels,
    1e-5 of each output's scale."""
    if not isinstance(want, dict):
        got, want = {"": got}, {"": want}
    assert isinstance(got, dict) and got.keys() == want.keys()
    for name, array in want.items():
        scale = max(float(np.abs(array).max()), 1.0)
        np.testing.assert_allclose(got[name], array, rtol=1e-5, atol=1e-5 * scale,
                                   err_msg=name)


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_predict_with_the_torch_engine_takes_raw_inputs(kind):
    model, raw = scaled_model(kind)
    np.testing.assert_allclose(model.predict(raw, engine="torch"), model.predict(raw),
                               rtol=1e-5, atol=1e-6)


def test_bad_token_ids_are_one_line_on_the_torch_engine_too(rng):
    from nnspec.errors import DataError
    model = nnspec.compile("input 3\nembedding 5x2 -> flatten -> dense 2 softmax")
    x, y = np.array([[0, 1, 7]] * 4, np.float32), np.zeros(4, int)
    with pytest.raises(DataError, match="outside the vocabulary") as numpy_error:
        model.fit(x, y, epochs=1)
    with pytest.raises(DataError, match="outside the vocabulary") as torch_error:
        model.fit(x, y, epochs=1, engine="torch")
    assert str(torch_error.value) == str(numpy_error.value)
    with pytest.raises(DataError, match="outside the vocabulary"):
        model.predict(x, engine="torch")


def test_infer_with_the_torch_engine(tmp_path):
    model = _randomized(nnspec.compile("input 4\ndense 5 tanh -> dense 3 softmax"),
                        np.random.default_rng(6))
    model.save(tmp_path / "m.nnb")
    np.save(tmp_path / "x.npy", np.random.default_rng(7).normal(size=(3, 4)).astype(np.float32))
    runs = [run_cli("infer", tmp_path / "m.nnb", tmp_path / "x.npy", "--format", "json", *flags)
            for flags in ([], ["--engine", "torch"])]
    assert all(r.returncode == 0 for r in runs), runs[1].stderr
    numpy_rows, torch_rows = (json.loads(r.stdout) for r in runs)
    assert [r["class"] for r in torch_rows] == [r["class"] for r in numpy_rows]
    r = run_cli("infer", tmp_path / "m.nnb", tmp_path / "x.npy", "--device", "cuda")
    assert r.returncode == 2 and "--engine torch" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("first,then", [("torch", "numpy"), ("numpy", "torch")])
def test_a_checkpoint_resumes_on_the_other_engine(first, then, rng, tmp_path):
    """Stopped mid-epoch (Ctrl-C), saved, loaded and finished on the other
    engine: the weights and optimizer state of one straight run (float64)."""
    spec = ("input 4\ndense 6 tanh -> batchnorm -> dense 3 softmax\n"
            "train { optimizer = adam\n lr = 0.02\n schedule = cosine(warmup=3) }")
    x, y = rng.normal(size=(20, 4)), rng.integers(0, 3, 20)
    straight = nnspec.compile(spec, dtype="float64")
    straight.fit(x, y, epochs=3, batch_size=4)

    class CtrlC(nnspec.Callback):
        def on_batch_end(self, batch, logs):
            if self.model.epoch == 1 and batch == 2:
                os.kill(os.getpid(), signal.SIGINT)  # the loop stops after this batch

    model = nnspec.compile(spec, dtype="float64")
    with pytest.raises(nnspec.TrainingInterrupted):
        model.fit(x, y, epochs=3, batch_size=4, engine=first, callbacks=[CtrlC()])
    model.save(tmp_path / "ck.nnb", checkpoint=True)
    resumed = nnspec.load(tmp_path / "ck.nnb")
    resumed.fit(x, y, epochs=3 - resumed.epoch, batch_size=4, engine=then)
    assert resumed.optimizer.t == straight.optimizer.t
    for k, v in straight.weights.items():
        np.testing.assert_allclose(resumed.weights[k], v, rtol=1e-9, atol=1e-12, err_msg=k)
    for k, v in straight.optimizer.state.items():
        np.testing.assert_allclose(resumed.optimizer.state[k], v, rtol=1e-9, atol=1e-12,
                                   err_msg=k)


@pytest.mark.parametrize("head,loss,metrics", [
    ("dense 4 softmax", "cross_entropy", "[accuracy, top_k(2), top_k(4)]"),
    ("dense 4 softmax", "cross_entropy", "[accuracy, mae, mse]"),
    ("dense 3 sigmoid", "binary_cross_entropy", "[binary_accuracy, mae]")])
def test_every_metric_sums_on_the_device_as_numpy_does(head, loss, metrics, rng):
    spec = (f"input 3\ndense 5 tanh -> {head}\n"
            f"train {{ loss = {loss}\n metrics = {metrics}\n optimizer = adam }}")
    a = nnspec.compile(spec, dtype="float64")
    b = nnspec.compile(spec, dtype="float64")
    x = rng.normal(size=(30, 3))
    y = rng.integers(0, 4, 30) if "softmax" in head else rng.integers(0, 2, (30, 3))
    validation = (x[:7], y[:7])
    ha = a.fit(x, y, epochs=3, batch_size=8, validation_data=validation)
    hb = b.fit(x, y, epochs=3, batch_size=8, validation_data=validation, engine="torch")
    assert set(ha) == set(hb) and len(ha) > 4
    for key in ha:
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-9, err_msg=key)


def test_the_engine_leaves_cores_that_other_processes_keep_busy(monkeypatch):
    """balance() at each step on a clock the test moves: a look that sees running
    threads elsewhere changes nothing until CONFIRM seconds later, when their
    measured share of the cores (the lesser of it and the look) decides."""
    import types
    from nnspec.pytorch import threads
    before = torch.get_num_threads()
    clock, share, looks = [100.0], [None], []
    monkeypatch.setattr(threads, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(threads, "_state",
                        {"wanted": 2, "pinned": False, "checked": 0.0, "pending": None})
    monkeypatch.setattr(threads, "_cores", lambda: range(2))
    monkeypatch.setattr(threads, "_ticks", lambda: (0, 0))
    monkeypatch.setattr(threads, "busy_since", lambda then: share[0])

    def step(at, running, measured, expected):
        clock[0] = 100.0 + at
        share[0] = measured
        monkeypatch.setattr(threads, "busy_elsewhere", lambda: looks.append(at) or running)
        threads.balance(torch, threads.RECHECK_FIT)
        assert torch.get_num_threads() == expected, (at, running, measured)

    try:
        torch.set_num_threads(2)
        c = threads.CONFIRM + 0.01  # past it, whatever the clock's rounding
        step(0.0, 1, 1, 2)  # seen: nothing changes yet
        step(threads.CONFIRM * 0.9, 1, 1, 2)  # no look (RECHECK_FIT), not measured yet
        step(c, 1, 1, 1)  # measured: a core kept busy, and running still
        step(3.1, 0, 1, 2)  # a look that sees none: every thread
        step(6.2, 2, 0, 2)
        step(6.2 + c, 2, 0, 2)  # measured: they ran now and then
        step(9.4, 2, 2, 2)
        step(9.4 + c, 2, 2, 1)  # measured: at most what the look saw, less one of 2 cores
        step(12.6, 1, 1, 1)
        step(12.6 + c, 0, 1, 2)  # measured, but none runs now: it ran while this one slept
        step(15.7, 1, 1, 2)
        step(15.7 + threads.STALE + 0.1, 1, 1, 2)  # too late to stand: a new look instead
        step(15.8 + threads.STALE + c, 1, None, 1)  # nothing measured: the looks stand
        step(40.0, None, 1, 2)  # nothing read: as wanted
        assert looks == [0.0, c, 3.1, 6.2, 6.2 + c, 9.4, 9.4 + c, 12.6, 12.6 + c, 15.7,
                         15.7 + threads.STALE + 0.1, 15.8 + threads.STALE + c, 40.0]

        def unreadable():
            raise OSError("no /proc/stat")
        monkeypatch.setattr(threads, "_ticks", unreadable)
        step(43.1, 1, 0, 1)  # nothing to measure with: the look stands
        threads._state["pinned"] = True  # the user's count stands
        torch.set_num_threads(2)
        step(46.2, 1, 1, 2)
    finally:
        torch.set_num_threads(before)


def test_share_since_counts_a_busy_process_and_not_this_ones_own_threads():
    """/proc/stat's busy time less this process's own (Linux): a child process
    that spins is a core kept busy; a thread of this process that spins is not."""
    import subprocess
    import sys
    import threading
    from nnspec.pytorch import threads
    try:
        threads.mark()
    except OSError:
        pytest.skip("no /proc/stat here")

    def share():
        then = threads.mark()
        time.sleep(0.2)
        return threads.share_since(then)
    idle = [share() for _ in range(3)]
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)  # started
        busy = [share() for _ in range(3)]
        then = threads.mark()
        time.sleep(0.2)
        assert threads.busy_since(then) >= 1
    finally:
        child.kill()
        child.wait()
    assert max(busy) > min(idle) + 0.5, (busy, idle)  # a core's worth more
    stop = threading.Event()
    spinner = threading.Thread(target=lambda: [None for _ in iter(stop.is_set, True)])
    spinner.start()
    try:
        spinning = [share() for _ in range(3)]
    finally:
        stop.set()
        spinner.join()
    # its own thread ran all along (a core's worth), the machine's background
    # may vary between looks: counted as another process's, the least look
    # with it would lie a core above the most without
    assert min(spinning) < max(idle) + 0.5, (spinning, idle)


def test_nnspec_threads_pins_the_torch_engines_count(monkeypatch):
    from nnspec.pytorch import threads
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_state",
                        {"wanted": None, "pinned": False, "checked": 0.0, "seen": None})
    monkeypatch.setenv("NNSPEC_THREADS", "1")
    try:
        threads.configure(torch)
        assert torch.get_num_threads() == 1 and threads._state["pinned"]
    finally:
        torch.set_num_threads(before)


BAD_PARTS = {  # name: (a part as prepare.prepared gives it, the raw dtype, scale)
    "nan": (np.array([[0.5, np.nan], [1.0, 2.0]]), np.float32, "none"),
    "inf": (np.array([[0.5, np.inf], [1.0, 2.0]]), np.float32, "none"),
    "-inf": (np.array([[-np.inf, 0.5], [1.0, 2.0]]), np.float32, "none"),
    "float pixels": (np.array([[0.5, 3.0], [0.1, 0.2]]), np.float32, "pixels"),
    "integer pixels": (np.array([[300, 2], [0, 1]]) / 255, np.int64, "pixels"),
    "negative integers": (np.array([[-9, 2], [0, 1]]) / 255, np.int64, "pixels"),
    "fine": (np.array([[0.5, 0.25], [0.0, 1.0]]), np.float32, "pixels"),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", BAD_PARTS)
def test_vet_reads_a_tensor_as_it_reads_an_array(case, dtype):
    """preprocess.bounds' one aminmax pass over a tensor (predict's parts beyond
    the cache) against numpy's min and max: the same verdict, the same line."""
    from nnspec.engine import preprocess
    from nnspec.errors import DataError
    part, raw, scale = BAD_PARTS[case]
    check = preprocess.vet(preprocess.make(scale), raw)
    verdicts = []
    for seen in (part.astype(dtype), torch.from_numpy(part.astype(dtype))):
        try:
            check(seen)
            verdicts.append(None)
        except DataError as e:
            verdicts.append(str(e))
    assert verdicts[0] == verdicts[1]
    assert (verdicts[0] is None) == (case == "fine")
    check(torch.zeros((0, 2), dtype=torch.float64))  # nothing to read, nothing to say


@pytest.mark.parametrize("bad", ["nan", "inf", "pixel"])
def test_predict_checks_large_parts_on_the_tensor_as_on_the_array(bad, monkeypatch):
    """Parts over ONE_PASS_BYTES are vetted on their tensor: the torch engine's
    predict refuses the same part with the same line as with its arrays vetted
    (the reference), and the numpy engine refuses it too."""
    from nnspec.errors import DataError
    from nnspec.pytorch import predict
    model = nnspec.compile("input 8x8x1\nconv 3x3x2 same relu -> flatten -> dense 3 softmax\n"
                           "train { scale = pixels }")
    x = np.random.default_rng(1).random((40, 8, 8, 1)).astype(np.float32)
    x[33, 2, 5, 0] = {"nan": np.nan, "inf": np.inf, "pixel": 7.0}[bad]
    original, errors = predict.checked, {}
    for limit in (1 << 40, 0):  # every part's array, then every part's tensor
        seen = []
        monkeypatch.setattr(predict, "ONE_PASS_BYTES", limit)
        monkeypatch.setattr(predict, "checked", lambda *a: seen.append(original(*a)) or seen[-1])
        with pytest.raises(DataError) as error:
            model.predict(x, engine="torch", batch_size=32)
        errors[limit] = str(error.value)
        assert len(seen) == 2 and all(isinstance(s, torch.Tensor) == (limit == 0) for s in seen)
    assert errors[0] == errors[1 << 40]
    with pytest.raises(DataError, match=errors[0].split(" ")[1]):  # "contains", "holds"
        model.predict(x)


def test_convolution_networks_take_at_most_conv_pass_samples_a_pass():
    from nnspec.pytorch import predict
    device = torch.device("cpu")
    conv = nnspec.compile("input 4x4x1\nconv 3x3x2 same tanh -> flatten -> dense 2 softmax")
    dense = nnspec.compile("input 4\ndense 3 tanh -> dense 2 softmax")
    assert predict.pass_size(conv.graph, 4096, device) == predict.CONV_PASS
    assert predict.pass_size(dense.graph, 4096, device) == 4096
    assert predict.pass_size(conv.graph, 64, device) == 64


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(256, 1), (256, 2), (300, 10), (1024, 15), (64, 10),
                                   (4, 256, 3), (256, 16), (512, 40)])
def test_the_short_rows_softmax_is_torchs(shape, dtype, monkeypatch):
    """Predict's softmax over many rows of few classes (losses.softmax: four ops,
    where torch.softmax's CPU kernel is slow on short rows) equals torch.softmax:
    the same max shift, exponentials and sum, so within float rounding (a sum of
    up to 15 terms: 1e-6 in float32, 1e-14 in float64), on logits of every scale,
    rows of equal logits, and rows holding -inf (a class ruled out). The rows
    below MANY_ROWS or of FEW_CLASSES or more take torch.softmax itself."""
    from nnspec.pytorch import losses
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1, shape) * rng.choice([1e-3, 1.0, 30.0, 1e4], shape[:-1] + (1,))
    z[..., 1, :] = 7.0
    if shape[-1] > 1:
        z[..., 2, 0] = -np.inf
    z = torch.tensor(z, dtype=getattr(torch, dtype))
    with torch.inference_mode():
        want = torch.softmax(z, -1)
        calls, real = [], torch.softmax
        monkeypatch.setattr(torch, "softmax", lambda *a, **k: calls.append(1) or real(*a, **k))
        got = losses.softmax(torch, z)
    tolerance = 1e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=tolerance, atol=tolerance)
    fast = shape[-1] < losses.FEW_CLASSES and z.numel() >= losses.MANY_ROWS * shape[-1]
    assert fast == (not calls)


@pytest.mark.parametrize("spec,fused", [
    ("input 16x16x2\nconv 3x3x4 same relu stride=2 -> conv 3x3x3 same tanh stride=2 "
     "-> conv 3x3x2 same sigmoid stride=2 -> conv 3x3x2 same stride=2 -> flatten -> dense 3", 3),
    ("input 7x6x3\nconv 2x2x4 same relu -> conv 2x2x3 same -> conv 2x3x2 same tanh "
     "-> flatten -> dense 2 softmax", 1),  # a linear layer before a conv: padded by F.pad
    ("input 8x8x2\nconv 3x3x4 same relu stride=2 -> maxpool 2 stride=1 -> flatten -> dense 2",
     0),  # its one reader a pool: no padding to write into
    ("input 8x8x2\nblock r() {\n  conv 2x2x2 same -> add(in) relu\n}\nconv 3x3x2 same relu "
     "-> r() -> flatten -> dense 2", 0),  # read by the conv and the add
])
def test_predict_writes_an_activation_into_the_padding_of_the_conv_after_it(spec, fused,
                                                                           monkeypatch):
    """At predict, a layer whose one reader is a conv that pads unevenly (nnspec's
    'same' is TensorFlow's; padded.py) writes its activation inside a zero border,
    and the conv reads it as its padded input: predict equals the numpy engine's
    in float64 (the same sums in other kernels: 1e-10), and equals predict with
    the writes turned off; the layers written so are those planned (`fused`)."""
    from nnspec.pytorch import padded
    rng = np.random.default_rng(3)
    model = _randomized(nnspec.compile(spec, dtype="float64"), rng)
    x = rng.normal(size=(5,) + model.graph.input_shape)
    assert len(padded.plan(model.graph)) == fused
    written, write = [], padded.write
    monkeypatch.setattr(padded, "write", lambda *a: written.append(1) or write(*a))
    got = model.predict(x, engine="torch")
    assert len(written) == fused
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-10, atol=1e-10)
    monkeypatch.setattr(padded, "plan", lambda graph: {})
    from nnspec.pytorch import predict
    predict._NETS.clear()  # built anew, without the writes
    np.testing.assert_allclose(model.predict(x, engine="torch"), got, rtol=1e-12, atol=1e-12)
