"""The Python API: compile, fit, predict, evaluate, weights, save and load."""
import numpy as np
import pytest

import nnspec
from nnspec.files import data

from conftest import MODELS

TINY = """input 6x6x1
conv 3x3x2 same tanh -> dense 3 softmax
train { batch_size = 4
 epochs = 2 }
"""


def test_same_seed_same_weights_and_history(rng):
    x, y = rng.random((20, 6, 6, 1)), rng.integers(0, 3, 20)
    a, b, c = (nnspec.compile(TINY, seed=s) for s in (1, 1, 2))
    for m in (a, b, c):
        m.fit(x, y)
    for k in a.weights:
        np.testing.assert_array_equal(a.weights[k], b.weights[k])
    assert a.history == b.history
    assert any(not np.array_equal(a.weights[k], c.weights[k]) for k in a.weights)


def test_save_load_predicts_exactly_the_same(tmp_path, rng):
    model = nnspec.compile(MODELS / "shapes.nn", epochs=1)
    ds = data.load(model.config.data, rng)
    model.classes = ds.classes
    model.fit(ds.x[:200], ds.y[:200])
    before = model.predict(ds.x[200:260])
    model.save(tmp_path / "s.nnb")
    loaded = nnspec.load(tmp_path / "s.nnb")
    np.testing.assert_array_equal(loaded.predict(ds.x[200:260]), before)
    assert loaded.classes == ds.classes
    assert loaded.history == model.history
    assert loaded.predict_classes(ds.x[200:203]) == model.predict_classes(ds.x[200:203])


def test_float64_models_round_trip(tmp_path, rng):
    model = nnspec.compile(TINY, dtype="float64")
    model.save(tmp_path / "m.nnb")
    loaded = nnspec.load(tmp_path / "m.nnb")
    assert loaded.graph.dtype == np.float64
    x = rng.random((2, 6, 6, 1))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_get_and_set_weights(rng):
    a, b = nnspec.compile(TINY, seed=1), nnspec.compile(TINY, seed=2)
    b.set_weights(a.get_weights())
    x = rng.random((3, 6, 6, 1))
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    w = a.get_weights()
    w["conv1.W"][...] = 0  # a copy: the model is untouched
    assert a.weights["conv1.W"].any()
    with pytest.raises(nnspec.DataError, match="conv1.W has shape"):
        b.set_weights({**w, "conv1.W": np.zeros((2, 2))})
    with pytest.raises(nnspec.DataError, match="'conv1.b' is missing"):
        b.set_weights({"conv1.W": w["conv1.W"], "dense1.W": w["dense1.W"], "dense1.b": w["dense1.b"]})


def test_evaluate_returns_loss_and_accuracy(rng):
    model = nnspec.compile(TINY)
    x, y = rng.random((10, 6, 6, 1)), rng.integers(0, 3, 10)
    result = model.evaluate(x, y)
    assert set(result) == {"loss", "accuracy"}
    probs = model.predict(x)
    assert result["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == y))
    assert result["loss"] == pytest.approx(-np.mean(np.log(probs[np.arange(10), y])), rel=1e-5)


@pytest.mark.parametrize("x,y,message", [
    (np.zeros((4, 5, 5, 1)), [0, 1, 2, 0], "has shape (4, 5, 5, 1)"),
    (np.zeros((4, 6, 6, 1)), [0, 1, 2], "3 rows but the inputs have 4"),
    (np.zeros((4, 6, 6, 1)), [0, 1, 3, 0], "y[2] is label 3, out of range for 3 classes"),
    (np.full((2, 6, 6, 1), np.nan), [0, 1], "NaN"),
    (np.array([["a"] * 36] * 2).reshape(2, 6, 6, 1), [0, 1], "must be numeric"),
])
def test_bad_data_is_a_data_error(x, y, message):
    with pytest.raises(nnspec.DataError) as info:
        nnspec.compile(TINY).fit(x, y)
    assert message in str(info.value)


@pytest.mark.parametrize("row,value", [(0, np.nan), (5, -np.inf), (299, np.inf), (700, np.nan)])
def test_predict_names_non_finite_inputs_in_any_pass(rng, row, value):
    # predict checks x pass by pass; a bad value in the probe, the first or a
    # later pass is an error all the same
    model = nnspec.compile(TINY)
    x = rng.random((1000, 6, 6, 1))
    model.predict(x, batch_size=256)
    x[row, 3, 2, 0] = value
    for call in (model.predict, model.predict_classes, lambda v: model.evaluate(v, [0] * len(v))):
        with pytest.raises(nnspec.DataError, match="^x contains NaN or infinite values$"):
            call(x)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_predict_and_evaluate_name_a_bad_batch_size(rng, batch_size):
    model = nnspec.compile(TINY)
    x = rng.random((3, 6, 6, 1))
    for call, what in ((lambda: model.predict(x, batch_size=batch_size), "predict"),
                       (lambda: model.evaluate(x, [0, 1, 2], batch_size=batch_size), "evaluate")):
        with pytest.raises(nnspec.DataError, match=f"^{what}: batch_size must be a whole number"):
            call()


def test_summary_lists_every_layer():
    lines = []
    nnspec.compile(MODELS / "shapes.nn").summary(print_fn=lines.append)
    text = lines[0]
    assert "dense1" in text and "14x14x3" in text and "total parameters: 59,381" in text


def test_shapes_generator_is_deterministic_and_balanced():
    a = data.generators.shapes(np.random.default_rng(5), n=400)
    b = data.generators.shapes(np.random.default_rng(5), n=400)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].shape == (400, 16, 16, 1) and a[0].dtype == np.float32
    assert 0.0 <= a[0].min() and a[0].max() <= 1.0
    assert np.bincount(a[1]).tolist() == [100, 100, 100, 100]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seed_000_reaches_95_percent(seed):
    """Seed 000's configuration (models/shapes.nn) trains to >= 95% test accuracy."""
    model = nnspec.compile(MODELS / "shapes.nn", seed=seed)
    splits = model.data()
    assert [len(p[0]) for p in (splits.train, splits.validation, splits.test)] == [1400, 300, 300]
    model.fit(*splits.train, validation_data=splits.validation)
    assert model.evaluate(*splits.test)["accuracy"] >= 0.95


@pytest.mark.parametrize("name,want", [
    ("seed001_spiral", {"accuracy": (">=", 0.95)}),  # cs231n's minimal net reports 98%
    ("seed001_sine", {"val_loss": ("<", 0.01)}),
    ("seed003_spiral", {"val_accuracy": (">=", 0.86333), "val_loss": ("<=", 0.39588)}),
    ("seed004_xor", {"loss": ("<", 0.01)}),
])
def test_small_seed_models_reach_the_seeds_results(name, want):
    model = nnspec.compile(MODELS / f"{name}.nn")
    splits = model.data()
    model.fit(*splits.train, validation_data=splits.validation)
    for metric, (op, bound) in want.items():
        value = model.history[metric][-1]
        assert {">=": value >= bound, "<": value < bound, "<=": value <= bound}[op], (metric, value)


def test_xor_with_two_hidden_nodes_sometimes_fails_and_with_four_never():
    """Seed 004's observation, over ten seeds: 2 sigmoid hidden nodes (the fewest
    XOR needs) get stuck in a local minimum on some seeds; 4 always learn it."""
    spec = (MODELS / "seed004_xor.nn").read_text()
    failed = {}
    for hidden in (2, 4):
        failed[hidden] = 0
        for seed in range(10):
            model = nnspec.compile(spec.replace("dense 4 sigmoid", f"dense {hidden} sigmoid"),
                                   seed=seed)
            x, y = model.data().train
            model.fit(x, y)
            failed[hidden] += not np.array_equal(np.rint(model.predict(x)), y)
    assert 1 <= failed[2] <= 8 and failed[4] == 0, failed


def test_summary_counts_running_statistics_apart():
    lines = []
    nnspec.compile("input 6\ndense 4 bias=false -> batchnorm relu").summary(lines.append)
    text = lines[0]
    assert "total parameters: 40 (8 not trained: running statistics)" in text


def test_embedding_ids_outside_the_vocabulary_are_a_data_error():
    model = nnspec.compile("input 3\nembedding 5x2 -> flatten -> dense 2 softmax")
    assert model.predict(np.array([[0, 4, 2]])).shape == (1, 2)
    with pytest.raises(nnspec.DataError, match=r"<spec>:2:1: embedding1 \(embedding 5x2\): the "
                       r"input holds ids up to 7, outside the vocabulary 0..4: write embedding "
                       r"8x2"):
        model.predict(np.array([[0, 7, 2]]))


def test_dtype_is_a_train_setting_and_compile_overrides_it():
    spec = "input 4\ndense 2 softmax\ntrain {\n  dtype = float64\n}"
    assert nnspec.compile(spec).weights["dense1.W"].dtype == np.float64
    assert nnspec.compile(spec, dtype="float32").weights["dense1.W"].dtype == np.float32
    with pytest.raises(nnspec.SpecError, match="4:3: train setting 'dtype' must be one of"):
        nnspec.compile(spec.replace("float64", "float16"))


def test_scaled_initializers_draw_at_the_written_scale():
    w = nnspec.compile("input 400\ndense 300 init=normal(std=0.02)").weights["dense1.W"]
    assert w.std() == pytest.approx(0.02, rel=0.02) and abs(w.mean()) < 0.001
    u = nnspec.compile("input 400\ndense 300 init=uniform(0.05)").weights["dense1.W"]
    assert u.max() <= 0.05 and u.min() >= -0.05 and u.max() > 0.049
    b = nnspec.compile("input 400\ndense 300 init=uniform(0.2, 0.3)").weights["dense1.W"]
    assert b.min() >= 0.2 and b.max() <= 0.3 and b.max() - b.min() > 0.099
    for bad in ("normal(limit=0.1)", "normal(-1)", "uniform(2, 0.1)", "uniform(0.1, 0.1)",
                "uniform(0, 1, 2)", "glorot"):
        with pytest.raises(nnspec.SpecError, match="dense option 'init'"):
            nnspec.compile(f"input 3\ndense 2 init={bad}")


def test_gradients_change_nothing_in_the_model(rng):
    """Model.gradients is a pure read: batch norm's running statistics, the weights,
    the optimizer's step and the history stay as they were."""
    model = nnspec.compile("input 6\ndense 5 relu -> batchnorm -> dropout 0.5 -> dense 3 softmax")
    x, y = rng.random((8, 6)), rng.integers(0, 3, 8)
    before = model.get_weights()
    _, grads = model.gradients(x, y)
    assert set(grads) == set(model.graph.trainable)
    for key, value in before.items():
        np.testing.assert_array_equal(model.weights[key], value, err_msg=key)
    assert model.optimizer.t == 0 and model.epoch == 0 and model.history == {}
    again = model.gradients(x, y)[1]  # the same dropout masks: the same step's numbers
    for key, value in grads.items():
        np.testing.assert_array_equal(again[key], value)


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd(momentum=0.9)", "lazy_adam"])
def test_model_weights_are_never_replaced_by_training_or_set_weights(rng, optimizer):
    """An array taken from model.weights before fit is the one training updates:
    the weights are views of one vector from the model's making, packed steps
    update them in place, and set_weights copies into them."""
    model = nnspec.compile("input 5\ndense 4 relu l2=0.1 -> layernorm -> dense 3 softmax\n"
                           f"train {{\n optimizer = {optimizer}\n}}")
    held = dict(model.weights)
    before = {k: v.copy() for k, v in held.items()}
    model.fit(rng.random((16, 5)), rng.integers(0, 3, 16), epochs=2, batch_size=4)
    for key, array in held.items():
        assert model.weights[key] is array
        assert not np.array_equal(array, before[key]) or key.endswith(".b"), key
    if optimizer != "lazy_adam":  # row-wise updates are never packed
        assert any(pack is not None for pack in model.optimizer.packs.packs.values())
    model.set_weights(before)
    for key, array in held.items():
        assert model.weights[key] is array and np.array_equal(array, before[key])
