"""The trainer: optimizers and schedules against hand-computed steps, training
small problems, callbacks, early stopping, clipping, regularization, resume."""
import math
import os
import signal

import numpy as np
import pytest

import nnspec
from nnspec.training import loop as train
from nnspec.training import optimizers as optim
from nnspec.engine import storage
from nnspec.training import packing, schedules
from nnspec.training.callbacks import EarlyStopping
from nnspec.files.data import generators
from nnspec.training.metrics import top_k


def _two_steps(optimizer, lr=0.1, packed=False):
    """w = [1, -2] after gradients [0.5, 0.1] then [-0.2, 0.3]; packed: as two
    parameters, which the trainer's packing updates as one vector. Both are
    weight matrices, which AdamW decays."""
    optimizer.decay({"p.W", "q.W"})
    if not packed:
        w = {"p.W": np.array([1.0, -2.0])}
        for g in ([0.5, 0.1], [-0.2, 0.3]):
            optimizer.step(w, {"p.W": np.array(g)}, {"p.W": lr})
        return w["p.W"]
    w = storage.contiguous({"p.W": np.array([1.0]), "q.W": np.array([-2.0])}, ["p.W", "q.W"])
    for g in ([0.5, 0.1], [-0.2, 0.3]):
        optimizer.step(w, {"p.W": np.array(g[:1]), "q.W": np.array(g[1:])},
                       {"p.W": lr, "q.W": lr})
    packs = optimizer.packs.packs
    assert (packs and all(p is not None for p in packs.values())) or not optimizer.FLAT
    return np.concatenate([w["p.W"], w["q.W"]])


def _by_hand(update):
    """The same two steps, one coordinate at a time in plain Python floats."""
    out = []
    for w, gs in ((1.0, (0.5, -0.2)), (-2.0, (0.1, 0.3))):
        state = {}
        for t, g in enumerate(gs, 1):
            w = update(w, g, t, state, 0.1)
        out.append(w)
    return out


def _sgd(w, g, t, s, lr):
    return w - lr * g


def _momentum(w, g, t, s, lr, mu=0.9):  # PyTorch's torch.optim.SGD, dampening 0
    s["b"] = mu * s.get("b", 0.0) + g
    return w - lr * s["b"]


def _nesterov(w, g, t, s, lr, mu=0.9):
    s["b"] = mu * s.get("b", 0.0) + g
    return w - lr * (g + mu * s["b"])


def _adagrad(w, g, t, s, lr, eps=1e-7):
    s["c"] = s.get("c", 0.0) + g * g
    return w - lr * g / (math.sqrt(s["c"]) + eps)


def _rmsprop(w, g, t, s, lr, rho=0.9, eps=1e-7):
    s["c"] = rho * s.get("c", 0.0) + (1 - rho) * g * g
    return w - lr * g / (math.sqrt(s["c"]) + eps)


def _adam(w, g, t, s, lr, b1=0.9, b2=0.999, eps=1e-7, decay=0.0):
    w = w * (1 - lr * decay)
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    m_hat, v_hat = s["m"] / (1 - b1 ** t), s["v"] / (1 - b2 ** t)
    return w - lr * m_hat / (math.sqrt(v_hat) + eps)


OPTIMIZER_ROWS = [
    ("sgd", {}, _sgd),
    ("sgd", {"momentum": 0.9}, _momentum),
    ("sgd", {"momentum": 0.9, "nesterov": True}, _nesterov),
    ("sgd", {"weight_decay": 0.5}, lambda w, *a: _sgd(w * (1 - 0.1 * 0.5), *a)),
    ("sgd", {"momentum": 0.9, "weight_decay": 0.5},
     lambda w, *a: _momentum(w * (1 - 0.1 * 0.5), *a)),
    ("adagrad", {}, _adagrad),
    ("rmsprop", {}, _rmsprop),
    ("adam", {}, _adam),
    ("adamw", {"weight_decay": 0.5}, lambda *a: _adam(*a, decay=0.5)),
    ("lazy_adam", {}, _adam),
]


@pytest.mark.parametrize("packed", [False, True], ids=["one", "packed"])
@pytest.mark.parametrize("name,options,update", OPTIMIZER_ROWS,
                         ids=[f"{r[0]}{r[1] or ''}" for r in OPTIMIZER_ROWS])
def test_optimizer_steps_match_hand_computation(name, options, update, packed):
    got = _two_steps(optim.OPTIMIZERS[name](**options), packed=packed)
    np.testing.assert_allclose(got, _by_hand(update), rtol=1e-12, atol=1e-15)


def _parameters(rng, dtype):
    shapes = {"c.W": (3, 3, 2, 4), "c.b": (4,), "d.W": (36, 5), "d.b": (5,), "n.gamma": (5,)}
    return {n: rng.standard_normal(s).astype(dtype) for n, s in shapes.items()}


def _run(optimizer, weights, steps, rng, lrs=None):
    """Steps of random gradients: packed where the weights are views of one vector
    (storage.contiguous), one parameter at a time where they are arrays of their own."""
    for _ in range(steps):
        grads = {n: rng.standard_normal(w.shape).astype(w.dtype) for n, w in weights.items()}
        optimizer.step(weights, grads, lrs or dict.fromkeys(weights, 0.01))


@pytest.mark.parametrize("split", [False, True], ids=["whole", "in-parts"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,options", [(r[0], r[1]) for r in OPTIMIZER_ROWS],
                         ids=[f"{r[0]}{r[1] or ''}" for r in OPTIMIZER_ROWS])
def test_packed_steps_equal_per_parameter_steps_bit_for_bit(name, options, dtype, split,
                                                           monkeypatch):
    """in-parts: every pack above 8 values updated by 3 threads side by side, as a
    large model's are (packing.MIN_PART): still bit for bit."""
    if split:
        from nnspec.engine import parallel
        monkeypatch.setattr(packing, "MIN_PART", 8)
        monkeypatch.setattr(parallel, "THREADS", 3)
    packed, plain = optim.OPTIMIZERS[name](**options), optim.OPTIMIZERS[name](**options)
    packed.decay({"c.W", "d.W"})
    plain.decay({"c.W", "d.W"})
    w1 = _parameters(np.random.default_rng(0), dtype)
    w1 = storage.contiguous(w1, sorted(w1, key=lambda n: n not in packed.decayed))
    w2 = _parameters(np.random.default_rng(0), dtype)
    _run(packed, w1, 4, np.random.default_rng(1))
    packs = packed.packs.packs
    assert any(p is not None for p in packs.values()) or not packed.FLAT
    assert any(isinstance(p, packing.Part) for p in packs.values()) == (split and packed.FLAT)
    _run(plain, w2, 4, np.random.default_rng(1))
    assert packed.state.keys() == plain.state.keys()
    for name_, arr in list(w1.items()) + list(packed.state.items()):
        other = w2.get(name_, plain.state.get(name_))
        assert arr.shape == other.shape and arr.dtype == other.dtype
        assert np.array_equal(arr, other), name_


def test_packing_follows_weights_and_state_replaced_between_steps():
    # set_weights and a checkpoint restore put new arrays in the dicts; the
    # optimizer must read those, not its own stale vectors
    rng = np.random.default_rng(0)
    packed, plain = optim.Adam(), optim.Adam()
    w1 = _parameters(rng, np.float64)
    w2 = {n: a.copy() for n, a in w1.items()}
    w1 = storage.contiguous(w1, list(w1))
    _run(packed, w1, 2, np.random.default_rng(1))
    _run(plain, w2, 2, np.random.default_rng(1))
    for w in (w1, w2):
        w["d.W"] = w["d.W"] + 1.0
    packed.state = {k: v * 2 for k, v in packed.state.items()}
    plain.state = {k: v * 2 for k, v in plain.state.items()}
    _run(packed, w1, 2, np.random.default_rng(2))
    _run(plain, w2, 2, np.random.default_rng(2))
    for n in w1:
        assert np.array_equal(w1[n], w2[n]), n
    for k in plain.state:
        assert np.array_equal(packed.state[k], plain.state[k]), k


def test_per_layer_rates_are_applied_per_parameter():
    rng = np.random.default_rng(0)
    w = storage.contiguous(_parameters(rng, np.float64), list(_parameters(rng, np.float64)))
    before = {n: a.copy() for n, a in w.items()}
    lrs = {n: (0.0 if n.startswith("c.") else 0.01) for n in w}  # a frozen layer
    adam = optim.Adam()
    _run(adam, w, 2, rng, lrs)  # packed in two groups, by rate
    assert len([p for p in adam.packs.packs.values() if p is not None]) == 2
    assert all(np.array_equal(w[n], before[n]) for n in ("c.W", "c.b"))
    assert not np.array_equal(w["d.W"], before["d.W"])


def test_adam_first_step_is_lr_times_the_sign():
    # m_hat = g and v_hat = g^2 after one step, so the update is lr * g / (|g| + eps)
    w = {"p.W": np.array([1.0, 1.0])}
    optim.Adam().step(w, {"p.W": np.array([0.5, -4.0])}, {"p.W": 0.1})
    np.testing.assert_allclose(w["p.W"], [0.9, 1.1], rtol=1e-6)


def test_lazy_adam_leaves_rows_without_gradient_alone():
    w = {"e.W": np.ones((3, 2))}
    lazy, dense = optim.LazyAdam(), optim.Adam()
    dw = {"e.W": np.ones((3, 2))}
    for opt, ws in ((lazy, w), (dense, dw)):
        opt.step(ws, {"e.W": np.array([[1.0, 2.0], [0.0, 0.0], [0.0, -1.0]])}, {"e.W": 0.1})
        opt.step(ws, {"e.W": np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])}, {"e.W": 0.1})
    assert np.array_equal(w["e.W"][1], [1.0, 1.0])  # never looked up: untouched
    assert np.array_equal(lazy.state["e.W/m"][0], dense.state["e.W/m"][0] / 0.9)  # not decayed
    assert not np.array_equal(dw["e.W"][0], w["e.W"][0])  # dense Adam keeps moving row 0
    np.testing.assert_allclose(w["e.W"][2], dw["e.W"][2])  # rows with gradient: plain Adam


def test_adamw_decays_weights_not_biases():
    w = {"d.W": np.array([2.0]), "d.b": np.array([2.0])}
    adamw = optim.AdamW(weight_decay=0.5)
    adamw.decay({"d.W"})  # what the trainer marks from the layer's roles
    adamw.step(w, {"d.W": np.zeros(1), "d.b": np.zeros(1)},
                                       {"d.W": 0.1, "d.b": 0.1})
    assert w["d.W"][0] == pytest.approx(2.0 * (1 - 0.05)) and w["d.b"][0] == 2.0


SCHEDULE_ROWS = [
    ("inverse_time", {"decay": 0.5}, 0, 0, 1.0),
    ("inverse_time", {"decay": 0.5}, 2, 0, 0.5),
    ("exponential", {"rate": 0.5, "steps": 2}, 1, 0, 0.5 ** 0.5),
    ("exponential", {"rate": 0.5, "steps": 2}, 4, 0, 0.25),
    ("step", {"every": 2, "gamma": 0.1}, 99, 1, 1.0),
    ("step", {"every": 2, "gamma": 0.1}, 0, 2, 0.1),
    ("step", {"every": 2, "gamma": 0.1}, 0, 5, 0.01),
    ("cosine", {"warmup": 2}, 0, 0, 1 / 3),  # updates 0..5; the peak once, at update 2
    ("cosine", {"warmup": 2}, 1, 0, 2 / 3),
    ("cosine", {"warmup": 2}, 2, 0, 1.0),
    ("cosine", {"warmup": 2}, 3, 0, 0.5 * (1 + math.cos(math.pi / 3))),
    ("cosine", {"warmup": 2}, 5, 0, 0.0),  # the floor on the last update
    ("cosine", {"warmup": 2}, 6, 0, 0.0),
    ("cosine", {"floor": 0.1}, 0, 0, 1.0),
    ("cosine", {"floor": 0.1}, 5, 0, 0.1),
    ("cosine", {"steps": 3}, 1, 0, 0.5),
    ("cosine", {"steps": 3}, 2, 0, 0.0),
    ("cosine", {"steps": 1}, 0, 0, 1.0),
    ("cosine", {"steps": 1, "floor": 0.5}, 3, 0, 0.5),
]


@pytest.mark.parametrize("name,options,step,epoch,factor", SCHEDULE_ROWS)
def test_schedule_factors_match_hand_computation(name, options, step, epoch, factor):
    schedule = schedules.SCHEDULES[name](**options)
    schedule.begin(6)
    assert schedule.factor(step, epoch) == pytest.approx(factor, abs=1e-12)


def _record_rates(monkeypatch, rates):
    """Each step's rate of dense1.W, as the trainer hands it to the optimizer."""
    real = optim.Optimizer.step
    monkeypatch.setattr(optim.Optimizer, "step", lambda opt, w, g, lrs: (
        rates.append(lrs["dense1.W"]), real(opt, w, g, lrs)))


def test_cosine_rises_to_lr_once_and_lands_on_the_floor_at_the_last_update(monkeypatch):
    model, x, y = _spiral_model("optimizer = sgd\n lr = 0.4\n batch_size = 60\n "
                                "schedule = cosine(warmup=2, floor=0.25)")
    rates = []
    _record_rates(monkeypatch, rates)
    model.fit(x, y, epochs=3)  # 180 samples: 9 updates
    assert rates[:3] == pytest.approx([0.4 / 3, 0.8 / 3, 0.4])
    assert rates.count(max(rates)) == 1 and rates[-1] == pytest.approx(0.1)
    assert all(a > b for a, b in zip(rates[2:], rates[3:]))


def test_plateau_shrinks_after_patience_epochs_without_improvement():
    plateau = schedules.Plateau(factor=0.5, patience=1)
    scales = []
    for loss in (1.0, 0.9, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85):
        plateau.epoch_end({"val_loss": loss})
        scales.append(plateau.factor(0, 0))
    assert scales == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    plateau = schedules.Plateau(patience=0)
    plateau.epoch_end({"loss": 1.0})  # no validation: falls back to the training loss
    plateau.epoch_end({"loss": 1.0})
    assert plateau.factor(0, 0) == pytest.approx(0.1)


def test_the_learning_rate_a_run_uses_follows_its_schedule(monkeypatch):
    spec = ("input 2\ndense 3 softmax\ntrain {\n optimizer = sgd\n lr = 0.5\n"
            " schedule = inverse_time(decay=0.25)\n batch_size = 4\n}")
    model = nnspec.compile(spec, dtype="float64")
    x, y, _ = generators.spiral(np.random.default_rng(0), n=4)  # 12 samples: 3 batches
    seen = []
    _record_rates(monkeypatch, seen)
    model.fit(x, y, epochs=2)
    assert seen == pytest.approx([0.5 / (1 + 0.25 * t) for t in range(6)])
    assert model.history["lr"] == pytest.approx([0.5 / (1 + 0.25 * 2), 0.5 / (1 + 0.25 * 5)])


def _spiral_model(train_block, seed=0, layers="dense 64 relu -> dense 3 softmax"):
    """float64: 800 epochs of float32 rounding, which differs with the CPU's BLAS
    kernels and the order of sums, move the final loss by up to 0.07."""
    x, y, _ = generators.spiral(np.random.default_rng(seed), n=60)
    model = nnspec.compile(f"input 2\n{layers}\n"
                           f"train {{\n{train_block}\n seed = {seed}\n}}", dtype="float64")
    return model, x, y


TRAINS = [  # optimizer and schedule -> the spiral loss it reaches (180 points, 800 epochs)
    ("optimizer = sgd\n lr = 0.5", 0.5),
    ("optimizer = sgd(momentum=0.9)\n lr = 0.1", 0.3),
    ("optimizer = sgd(momentum=0.9, nesterov=true)\n lr = 0.1", 0.4),
    ("optimizer = adagrad\n lr = 0.2", 0.45),
    ("optimizer = rmsprop\n lr = 0.01", 0.55),
    ("optimizer = adam\n lr = 0.02", 0.4),
    ("optimizer = adamw(weight_decay=0.01)\n lr = 0.02", 0.4),
    ("optimizer = lazy_adam\n lr = 0.02", 0.4),
    ("optimizer = adam\n lr = 0.02\n schedule = inverse_time(decay=1e-4)", 0.45),
    ("optimizer = adam\n lr = 0.02\n schedule = exponential(rate=0.5, steps=3000)", 0.5),
    ("optimizer = adam\n lr = 0.02\n schedule = step(every=300, gamma=0.5)", 0.5),
    ("optimizer = adam\n lr = 0.03\n schedule = cosine(warmup=20)", 0.35),
    ("optimizer = adam\n lr = 0.02\n schedule = plateau(patience=30, factor=0.5, monitor=loss)",
     0.4),
]


@pytest.mark.parametrize("block,target", TRAINS, ids=[t[0].replace("\n ", " ") for t in TRAINS])
def test_each_optimizer_and_schedule_trains_the_spiral(block, target):
    model, x, y = _spiral_model(block + "\n batch_size = 32")
    start = model.evaluate(x, y)["loss"]
    history = model.fit(x, y, epochs=800)
    end = model.evaluate(x, y)
    assert start > 1.0 and end["loss"] < target, (start, end)
    if "schedule" in block:  # the schedule did act
        assert history["lr"][-1] < 0.9 * history["lr"][0]


def test_xor_with_four_hidden_units_learns_the_gate():
    x, y, _ = generators.xor(None)
    model = nnspec.compile("input 2\ndense 4 tanh -> dense 1 sigmoid\ntrain {\n loss = mse\n"
                           " optimizer = sgd(momentum=0.9)\n lr = 0.5\n batch_size = 4\n}")
    model.fit(x, y, epochs=500)
    assert model.evaluate(x, y)["loss"] < 0.01
    assert np.array_equal(model.predict(x)[:, 0] > 0.5, y[:, 0] > 0.5)


def test_top_k_by_hand():
    out = np.array([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1], [0.2, 0.3, 0.5]])
    truth = np.eye(3)[[2, 2, 0]]
    assert top_k(1)(out, truth) == pytest.approx(0.0)
    assert top_k(2)(out, truth) == pytest.approx(1 / 3)
    assert top_k(3)(out, truth) == 1.0


def test_metrics_setting_fills_the_history():
    model, x, y = _spiral_model("metrics = [accuracy, top_k(2)]\n epochs = 2")
    history = model.fit(x, y, validation_data=(x, y))
    assert {"accuracy", "top2_accuracy", "val_top2_accuracy", "lr"} <= set(history)
    assert all(0 <= v <= 1 for v in history["top2_accuracy"])
    assert all(a <= b for a, b in zip(history["accuracy"], history["top2_accuracy"]))


def test_clip_scales_the_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert train.clip(grads, 1.0) == pytest.approx(5.0)
    norm = math.sqrt(sum(float((g * g).sum()) for g in grads.values()))
    assert norm == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(grads["a"] / grads["b"].ravel()[0], [0.75, 0.0])
    small = {"a": np.array([0.3])}
    train.clip(small, 1.0)
    assert small["a"][0] == 0.3


def test_clip_norm_bounds_each_update():
    model, x, y = _spiral_model("optimizer = sgd\n lr = 1.0\n clip_norm = 0.01\n batch_size = 180")
    before = model.get_weights()
    model.fit(x, y, epochs=1)
    moved = math.sqrt(sum(float(((model.weights[k] - before[k]) ** 2).sum()) for k in before))
    assert 0.0099 < moved <= 0.01 + 1e-6


@pytest.mark.parametrize("where", ["train block", "layer option"])
def test_bias_regularization_adds_its_gradient(where, rng):
    block = "l2_bias = 0.5\n l1_bias = 0.25" if where == "train block" else ""
    option = " l2_bias=0.5 l1_bias=0.25" if where == "layer option" else ""
    spec = f"input 3\ndense 2 softmax{option}\ntrain {{\n l2 = 0.1\n {block}\n}}"
    model = nnspec.compile(spec, dtype="float64")
    plain = nnspec.compile("input 3\ndense 2 softmax\ntrain {\n l2 = 0.1\n}", dtype="float64")
    b = rng.normal(size=2)
    model.weights["dense1.b"][:] = b
    plain.set_weights(model.get_weights())
    x, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5)
    value, grads = model.gradients(x, y)
    plain_value, plain_grads = plain.gradients(x, y)
    np.testing.assert_allclose(grads["dense1.b"] - plain_grads["dense1.b"],
                               2 * 0.5 * b + 0.25 * np.sign(b))
    np.testing.assert_allclose(grads["dense1.W"], plain_grads["dense1.W"])
    assert value - plain_value == pytest.approx(0.5 * (b * b).sum() + 0.25 * np.abs(b).sum())


class _Stub:
    def __init__(self):
        self.weights = {"w": np.zeros(1)}
        self.epoch = 0
        self.stop_training = False


def test_early_stopping_waits_patience_epochs_and_restores_the_best():
    stub = _Stub()
    stopper = EarlyStopping(patience=2)
    stopper.model = stub
    for loss in (1.0, 0.5, 0.6, 0.7):
        stub.epoch += 1
        stub.weights["w"][0] = stub.epoch
        stopper.on_epoch_end(stub.epoch, {"val_loss": loss})
        if stub.stop_training:
            break
    assert stub.epoch == 4 and stopper.best_epoch == 2
    stopper.on_train_end({})
    assert stub.weights["w"][0] == 2.0
    accuracy = EarlyStopping(patience=1, monitor="val_accuracy")
    accuracy.model = _Stub()
    accuracy.on_epoch_end(1, {"val_accuracy": 0.5})
    accuracy.on_epoch_end(2, {"val_accuracy": 0.9})  # higher is better for accuracies
    assert not accuracy.model.stop_training and accuracy.best_epoch == 2


def test_early_stopping_from_the_train_block_ends_training():
    model, x, y = _spiral_model("early_stopping = early_stopping(patience=2, monitor=loss, "
                                "min_delta=100)\n epochs = 30")
    kept = {}
    history = model.fit(x, y, on_epoch=lambda e, logs: kept.setdefault(e, model.get_weights()))
    assert len(history["loss"]) == 3 and model.epoch == 3
    for k, v in kept[1].items():  # epoch 1 was the best: its weights are restored
        assert np.array_equal(model.weights[k], v)


def test_callbacks_see_every_batch_and_can_stop_training():
    class Count(nnspec.Callback):
        batches = 0

        def on_batch_end(self, batch, logs):  # the epoch's running means, and this batch's loss
            self.batches += 1
            assert set(logs) == {"loss", "accuracy", "batch_loss"}
            if batch == 1:
                assert logs["batch_loss"] == logs["loss"]

        def on_epoch_end(self, epoch, logs):
            if epoch == 2:
                self.model.stop_training = True

    model, x, y = _spiral_model("batch_size = 50")
    count = Count()
    history = model.fit(x, y, epochs=10, callbacks=[count])
    assert len(history["loss"]) == 2 and count.batches == 2 * 4


def test_same_seed_gives_the_same_run_with_adam_and_a_schedule():
    runs = []
    for _ in range(2):
        model, x, y = _spiral_model("optimizer = adam\n schedule = cosine(warmup=3)\n epochs = 3",
                                    seed=7)
        model.fit(x, y)
        runs.append((model.weights, model.history))
    for k in runs[0][0]:
        assert runs[0][0][k].tobytes() == runs[1][0][k].tobytes()
    assert runs[0][1] == runs[1][1]


def _interrupt_at(batch):
    """A callback that presses Ctrl-C (SIGINT to this process) after `batch` batches."""
    done = {"n": 0}

    def on_batch_end(b, logs):
        done["n"] += 1
        if done["n"] == batch:
            os.kill(os.getpid(), signal.SIGINT)
    return nnspec.LambdaCallback(on_batch_end=on_batch_end)


RESUMABLE = ["optimizer = sgd(momentum=0.9)\n lr = 0.1",
             "optimizer = adam\n lr = 0.01\n schedule = cosine(warmup=5)",
             "optimizer = adam\n schedule = plateau(patience=0, monitor=loss)\n"
             " early_stopping = early_stopping(patience=9)"]


@pytest.mark.parametrize("block", RESUMABLE, ids=["sgd momentum", "adam cosine", "plateau"])
@pytest.mark.parametrize("stop_after", [7, 12])  # mid-epoch, and at an epoch's end
def test_ctrl_c_then_resume_is_bit_identical(block, stop_after, tmp_path):
    block += "\n batch_size = 30\n epochs = 5"  # 6 batches an epoch
    straight, x, y = _spiral_model(block)
    straight.fit(x, y, validation_data=(x[:20], y[:20]))
    first, _, _ = _spiral_model(block)
    with pytest.raises(nnspec.TrainingInterrupted):
        first.fit(x, y, validation_data=(x[:20], y[:20]), callbacks=[_interrupt_at(stop_after)])
    assert (first.epoch, first.position.batch if first.position else 0) in ((1, 1), (2, 0))
    first.save(tmp_path / "ck.nnb", checkpoint=True)
    resumed = nnspec.load(tmp_path / "ck.nnb")
    resumed.fit(x, y, validation_data=(x[:20], y[:20]), epochs=5 - resumed.epoch)
    for k, v in straight.weights.items():
        assert resumed.weights[k].tobytes() == v.tobytes(), k
    assert resumed.history == straight.history
    assert resumed.optimizer.t == straight.optimizer.t == 30


STOCHASTIC = "dense 32 bias=false -> batchnorm relu -> dropout 0.3 -> dense 3 softmax"


def test_dropout_and_batchnorm_resume_bit_identical(tmp_path):
    """Dropout masks come from (seed, step) and batch norm's running statistics
    are saved, so a resumed run is the uninterrupted one."""
    block = "optimizer = adam\n batch_size = 30\n epochs = 3"
    straight, x, y = _spiral_model(block, layers=STOCHASTIC)
    straight.fit(x, y)
    first, _, _ = _spiral_model(block, layers=STOCHASTIC)
    with pytest.raises(nnspec.TrainingInterrupted):
        first.fit(x, y, callbacks=[_interrupt_at(8)])
    first.save(tmp_path / "ck.nnb", checkpoint=True)
    resumed = nnspec.load(tmp_path / "ck.nnb")
    resumed.fit(x, y, epochs=3 - resumed.epoch)
    for k, v in straight.weights.items():
        assert resumed.weights[k].tobytes() == v.tobytes(), k
    assert resumed.history == straight.history


def test_batchnorm_running_statistics_are_learned_saved_and_used_at_inference(tmp_path, rng):
    # lr 0 keeps the weights, so the running statistics converge to the data's
    model, x, y = _spiral_model("lr = 0\n epochs = 12", layers=STOCHASTIC)
    x = x * 3 + 2  # statistics far from the initial mean 0, variance 1
    model.fit(x, y)
    mean, var = model.weights["batchnorm1.mean"], model.weights["batchnorm1.var"]
    h = x @ model.weights["dense1.W"]
    spread = h.std(axis=0)
    assert np.all(np.abs(mean - h.mean(axis=0)) < 0.1 * spread)  # batch-to-batch noise
    # batch-to-batch noise again: this cannot tell the unbiased variance from the
    # biased one (m/(m-1) = 1.03 at 32 a batch); the exact check below does
    np.testing.assert_allclose(var, h.var(axis=0), rtol=0.2)
    model.save(tmp_path / "m.nnb")
    loaded = nnspec.load(tmp_path / "m.nnb")
    assert np.array_equal(loaded.weights["batchnorm1.mean"], mean)
    first = loaded.predict(x[:5])
    assert np.array_equal(first, loaded.predict(x[:5]))  # inference: no dropout, fixed stats
    # independent of the batch, up to rounding: BLAS kernels may round a row of a
    # 1-row product differently from the same row of a 5-row one (one ulp on
    # OpenBLAS's Haswell kernels), so float32 agreement is the claim
    np.testing.assert_allclose(loaded.predict(x[:1]), first[:1], rtol=1e-6, atol=1e-7)
    assert "batchnorm1.mean" not in model.graph.trainable


def test_batchnorm_running_variance_is_the_unbiased_batch_variance():
    """As PyTorch: each step moves the running variance by momentum toward the
    batch's variance times m/(m-1). One batch of all 180 samples and lr 0 make every
    step's statistics the same, so after k steps the running values are exact:
    v + (1 - v) (1 - momentum)^k from the initial 1, mean (1 - (1 - momentum)^k) mu.
    The rtol of 1e-10 is float64 rounding; the biased variance is off by about
    (1 - 0.9^5) / 179, 0.2%, which a tolerance of percents (batch noise) hides."""
    model, x, y = _spiral_model("lr = 0\n epochs = 5\n batch_size = 180", layers=STOCHASTIC)
    x = x * 3 + 2
    m, k, momentum = len(x), 5, 0.1
    assert m == 180
    model.fit(x, y)
    h = x @ model.weights["dense1.W"]
    kept = (1 - momentum) ** k
    unbiased = h.var(axis=0) * m / (m - 1)
    np.testing.assert_allclose(model.weights["batchnorm1.var"], unbiased + (1 - unbiased) * kept,
                               rtol=1e-10)
    np.testing.assert_allclose(model.weights["batchnorm1.mean"], (1 - kept) * h.mean(axis=0),
                               rtol=1e-10)


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"epochs": -1}])
def test_fit_rejects_impossible_batch_sizes_and_epochs(kwargs):
    model, x, y = _spiral_model("epochs = 1")
    with pytest.raises(nnspec.DataError, match="batch_size must be at least 1"):
        model.fit(x, y, **kwargs)


@pytest.mark.parametrize("spec,loss", [
    ("input 2\ndense 3 softmax", "cross_entropy"),
    ("input 2\ndense 1 sigmoid", "binary_cross_entropy"),
    ("input 2\ndense 1", "mse"),
    ("input 2\ndense 1 tanh\ntrain { epochs = 2 }", "mse"),
    ("input 2\ndense 1 sigmoid\ntrain { loss = huber }", "huber"),
])
def test_a_spec_that_names_no_loss_gets_the_one_its_output_needs(spec, loss):
    assert nnspec.compile(spec).config.loss == loss


def test_cross_entropy_on_one_output_is_an_error_at_its_line():
    """-y log p with no class against it is smallest at p = 1 for every sample: a
    sigmoid classifier trained so predicts one class (it did, silently)."""
    with pytest.raises(nnspec.SpecError, match=r"<spec>:2:1: dense1: cross_entropy needs an "
                       r"output per class.*binary_cross_entropy"):
        nnspec.compile("input 2\ndense 1 sigmoid\ntrain { loss = cross_entropy }")
    with pytest.raises(nnspec.SpecError, match="cross_entropy needs an output per class"):
        nnspec.compile("input 2\ndense 1 sigmoid", loss="cross_entropy")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (200, 2))
    y = (x[:, 0] > 0).astype(np.int64)
    model = nnspec.compile("input 2\ndense 1 sigmoid\ntrain { optimizer = adam\n lr = 0.05 }")
    model.fit(x, y, epochs=20)
    assert model.evaluate(x, y)["binary_accuracy"] > 0.95


def test_without_shuffling_the_batches_follow_the_data_order(rng):
    """shuffle = false: SGD's steps in the data set's order, as a plain loop takes them
    (float64; the same arithmetic in the same order: 1e-12)."""
    x, y = rng.normal(0, 1, (12, 3)), rng.normal(0, 1, 12)
    spec = "input 3\ndense 1 bias=false\ntrain { loss = mse\n lr = 0.05\n shuffle = false }"
    model = nnspec.compile(spec, dtype="float64")
    w = model.weights["dense1.W"][:, 0].copy()
    model.fit(x, y, epochs=2, batch_size=3)
    for _ in range(2):
        for b in range(0, 12, 3):
            xb, yb = x[b:b + 3], y[b:b + 3]
            w -= 0.05 * 2 * xb.T @ (xb @ w - yb) / 3
    np.testing.assert_allclose(model.weights["dense1.W"][:, 0], w, rtol=1e-12)
    shuffled = nnspec.compile(spec.replace("shuffle = false", "seed = 0"), dtype="float64")
    shuffled.fit(x, y, epochs=2, batch_size=3)
    assert not np.allclose(shuffled.weights["dense1.W"][:, 0], w, rtol=1e-6)


def test_without_shuffling_the_split_takes_the_data_in_order(tmp_path):
    rows = ["a,label"] + [f"{i},{i % 2}" for i in range(20)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "m.nn").write_text('input 1\ndense 2 softmax\ntrain { data = "d.csv"\n'
                                   " split = 70/15/15\n shuffle = false }\n")
    splits = nnspec.compile(tmp_path / "m.nn").data()
    assert splits.train[0][:, 0].tolist() == list(range(14))
    assert splits.validation[0][:, 0].tolist() == [14, 15, 16]
    assert splits.test[0][:, 0].tolist() == [17, 18, 19]


def test_shuffle_is_true_or_false_and_travels_in_checkpoints(tmp_path):
    with pytest.raises(nnspec.SpecError, match="<spec>:3:9: train setting 'shuffle' is true or "
                       "false, got no"):
        nnspec.compile("input 2\ndense 2 softmax\ntrain { shuffle = no }")
    with pytest.raises(nnspec.SpecError, match="train setting 'shuffle' is true or false, got no"):
        nnspec.compile("input 2\ndense 2 softmax", shuffle="no")
    model = nnspec.compile("input 2\ndense 2 softmax", shuffle=False)
    model.save(tmp_path / "m.nnb", checkpoint=True)
    assert nnspec.load(tmp_path / "m.nnb").config.shuffle is False


def test_the_torch_engine_without_torch_is_one_line(monkeypatch, rng):
    import sys
    monkeypatch.setitem(sys.modules, "torch", None)  # as if it were not installed
    model = nnspec.compile("input 2\ndense 2 softmax")
    with pytest.raises(nnspec.NNSpecError, match=r'^the torch engine needs torch: pip install '
                       r'"nnspec\[torch\]"$'):
        model.fit(rng.normal(size=(4, 2)), [0, 1, 0, 1], engine="torch")
    with pytest.raises(nnspec.DataError, match="engine is numpy"):
        model.fit(rng.normal(size=(4, 2)), [0, 1, 0, 1], engine="jax")


RESAMPLED = ("input 1\ndense 8 tanh -> dense 1\ntrain {{\n loss = mse\n batch_size = 10\n"
             " data = {data}\n split = 50/50\n resample = true\n}}\n")


def test_resample_trains_each_epoch_on_a_fresh_draw_of_the_generator():
    """Epoch 1 has the split's training part, each later one a new draw of as many
    points (the generator's numbers, split as the first); validation stays."""
    model = nnspec.compile(RESAMPLED.format(data="sine(40)"), dtype="float64")
    splits = model.data()
    seen = []
    original = model._drawn[1]
    model._drawn = (splits.train[0], lambda epoch: seen.append(original(epoch)) or seen[-1])
    model.fit(*splits.train, epochs=3, validation_data=splits.validation)
    assert [len(x) for x, _ in seen] == [20, 20, 20]
    assert seen[0][0] is splits.train[0]
    assert not np.allclose(seen[1][0], seen[0][0]) and not np.allclose(seen[2][0], seen[1][0])
    for x, y in seen:
        np.testing.assert_allclose(y, np.sin(x), rtol=1e-6, atol=1e-6)  # float32 draws
    again = nnspec.compile(RESAMPLED.format(data="sine(40)"), dtype="float64")
    again_splits = again.data()
    np.testing.assert_array_equal(again_splits.validation[0], splits.validation[0])
    np.testing.assert_array_equal(again._drawn[1](2)[0], seen[2][0])  # the seed's draws


def test_resampled_training_resumes_as_it_would_have_run(tmp_path):
    """Each epoch's draw follows from the data seed and the epoch, so a run stopped
    after 2 epochs and resumed from its checkpoint is the 4-epoch run (float64, the
    same steps in the same order: bit for bit)."""
    text = RESAMPLED.format(data="sine(40)")
    whole = nnspec.compile(text, dtype="float64")
    whole.fit(*whole.data().train, epochs=4)
    part = nnspec.compile(text, dtype="float64")
    part.fit(*part.data().train, epochs=2)
    part.save(tmp_path / "m.nnb", checkpoint=True)
    resumed = nnspec.load(tmp_path / "m.nnb")
    resumed.fit(*resumed.data().train, epochs=2)
    for name, w in whole.weights.items():
        np.testing.assert_array_equal(resumed.weights[name], w, err_msg=name)
    fixed = nnspec.compile(text.replace("resample = true", "resample = false"), dtype="float64")
    fixed.fit(*fixed.data().train, epochs=4)
    assert not np.allclose(fixed.weights["dense1.W"], whole.weights["dense1.W"])


def test_resample_needs_a_generator_and_the_specs_own_training_data(tmp_path, rng):
    (tmp_path / "d.csv").write_text("a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(8)))
    (tmp_path / "m.nn").write_text(RESAMPLED.format(data='"d.csv"'))
    with pytest.raises(nnspec.DataError, match=r"m\.nn:8:2: resample: d\.csv is read once; "
                       r"resample draws each epoch anew from a generator \(shapes, spiral"):
        nnspec.compile(tmp_path / "m.nn").data()
    model = nnspec.compile(RESAMPLED.format(data="sine(40)"))
    with pytest.raises(nnspec.DataError, match=r"resample = true trains every epoch on a fresh "
                       r"draw of the spec's data: fit on model\.data\(\)\.train"):
        model.fit(rng.normal(size=(4, 1)), rng.normal(size=4))
    with pytest.raises(nnspec.SpecError, match="train setting 'resample' is true or false"):
        nnspec.compile("input 1\ndense 1\ntrain { resample = yes }")


RESAMPLE_ROWS = [  # (data, a network for it): every generator
    ("shapes(40)", "input 16x16x1\ndense 4 softmax"), ("spiral(20)", "input 2\ndense 3 softmax"),
    ("vertical(20)", "input 2\ndense 3 softmax"), ("sine(40)", "input 1\ndense 1"),
    ("xor(10, noise=0.1)", "input 2\ndense 1 sigmoid"),
    ("glyphs(20)", "image: input 28x28x1\nmeta: input 4\nimage -> flatten -> f: dense 4\n"
                   "concat(f, meta) -> digit: dense 10 softmax\nf -> size: dense 1\n"
                   "output digit\noutput size loss=mse")]


def _shapes(v):
    return {k: a.shape for k, a in v.items()} if isinstance(v, dict) else v.shape


def _differ(a, b):
    return any(not np.array_equal(a[k], b[k]) for k in a) if isinstance(a, dict) \
        else not np.array_equal(a, b)


def test_the_resample_rows_walk_every_generator():
    from nnspec.files.data import GENERATORS
    assert {call.split("(")[0] for call, _ in RESAMPLE_ROWS} == set(GENERATORS)


@pytest.mark.parametrize("call,head", RESAMPLE_ROWS)
def test_every_generator_resamples(call, head):
    """Each generator draws a new training set of the same shapes every epoch."""
    model = nnspec.compile(f"{head}\ntrain {{\n data = {call}\n split = 80/20\n"
                           " resample = true\n}")
    splits = model.data()
    draws = [model._drawn[1](epoch) for epoch in range(3)]
    assert all(_shapes(x) == _shapes(splits.train[0]) and _shapes(y) == _shapes(splits.train[1])
               for x, y in draws)
    assert _differ(draws[1][0], draws[0][0]) and _differ(draws[2][0], draws[1][0])
    model.fit(*splits.train, epochs=2)
    assert model.epoch == 2
