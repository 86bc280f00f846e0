"""How much each sample counts (training/weights.py): sample_weight, class_weight
(balanced, a list, a map; in the spec, fit and the estimator), a CSV's weight
column; and fit(validation_split=) as Keras has it."""
import numpy as np
import pytest

import nnspec
from nnspec.engine.losses import LOSSES

from conftest import run_cli

HEADS = {"cross_entropy": "dense 3 softmax", "binary_cross_entropy": "dense 3 sigmoid"}


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_sample_weights_equal_repeating_the_samples_in_float64(loss, rng):
    """A whole-number weight w counts as the sample written w times (0: left out):
    the same loss and gradients, for every loss (the registry walked), and the
    same weights after training a full batch with sgd."""
    spec = f"input 4\ndense 5 tanh -> {HEADS.get(loss, 'dense 3')}"
    model = nnspec.compile(spec, dtype="float64", loss=loss, optimizer="sgd", lr=0.1,
                           batch_size=64, shuffle=False)
    x = rng.normal(size=(12, 4))
    y = rng.integers(0, 3, 12) if loss == "cross_entropy" else \
        rng.integers(0, 2, (12, 3)).astype(float) if loss == "binary_cross_entropy" else \
        rng.normal(size=(12, 3))
    w = rng.integers(0, 4, 12)
    w[0] = 0
    copies = nnspec.compile(spec, dtype="float64", loss=loss, optimizer="sgd", lr=0.1,
                            batch_size=64, shuffle=False)
    value, grads = model.gradients(x, y, sample_weight=w)
    again, repeated = copies.gradients(np.repeat(x, w, axis=0), np.repeat(y, w, axis=0))
    assert value == pytest.approx(again, rel=1e-12)  # float64: rounding only
    for name in grads:
        np.testing.assert_allclose(grads[name], repeated[name], rtol=1e-10, atol=1e-14)
    model.fit(x, y, epochs=3, sample_weight=w)
    copies.fit(np.repeat(x, w, axis=0), np.repeat(y, w, axis=0), epochs=3)
    for name in model.weights:
        np.testing.assert_allclose(model.weights[name], copies.weights[name], rtol=1e-9,
                                   atol=1e-12)


def _imbalanced(rng, n=2000):
    """95/5: the minority class overlaps the majority, so an unweighted model
    mostly answers the majority."""
    y = (rng.random(n) < 0.05).astype(int)
    x = rng.normal(size=(n, 2)) + np.c_[1.2 * y, 1.2 * y]
    return x, y


def _recall(model, x, y):
    predicted = np.asarray(model.predict_classes(x))
    return float((predicted[y == 1] == 1).mean())


def test_balanced_class_weight_raises_minority_recall(rng):
    x, y = _imbalanced(rng)
    tx, ty = _imbalanced(np.random.default_rng(99))
    spec = "input 2\ndense 8 relu -> dense 2 softmax"
    plain = nnspec.compile(spec, optimizer="adam", lr=0.01, epochs=15, seed=1)
    plain.fit(x, y)
    balanced = nnspec.compile(spec + "\ntrain {\n  class_weight = balanced\n}", optimizer="adam",
                              lr=0.01, epochs=15, seed=1)
    balanced.fit(x, y)
    before, after = _recall(plain, tx, ty), _recall(balanced, tx, ty)
    assert after > before + 0.3, (before, after)  # about 0.1 -> 0.75 (the report's numbers)
    by_fit = nnspec.compile(spec, optimizer="adam", lr=0.01, epochs=15, seed=1)
    by_fit.fit(x, y, class_weight="balanced")
    np.testing.assert_array_equal(by_fit.weights["dense2.W"], balanced.weights["dense2.W"])


def test_class_weight_as_a_list_a_map_and_a_ratio_weigh_alike(rng):
    x, y = rng.normal(size=(8, 2)), np.array([0, 1, 1, 0, 1, 0, 0, 0])
    spec = "input 2\ndense 2 softmax"
    want = nnspec.compile(spec, dtype="float64").gradients(x, y, sample_weight=1 + 3 * y)
    for weights in ([1, 4], {1: 4}, {0: 0.25, 1: 1.0}, (0.2, 0.8)):
        got = nnspec.compile(spec, dtype="float64").gradients(x, y, class_weight=weights)
        assert got[0] == pytest.approx(want[0], rel=1e-12), weights
    named = nnspec.compile(spec, dtype="float64")
    named.classes = ("cat", "dog")
    assert named.gradients(x, y, class_weight={"dog": 4})[0] == pytest.approx(want[0], rel=1e-12)
    spec_ratio = nnspec.compile(spec + "\ntrain {\n  class_weight = 1/4\n}", dtype="float64")
    assert spec_ratio.gradients(x, y)[0] == pytest.approx(want[0], rel=1e-12)


@pytest.mark.parametrize("call,message", [
    (dict(sample_weight=np.ones(7)), "sample_weight has 7 values but x has 8 samples"),
    (dict(sample_weight=-np.ones(8)), "sample_weight[0] is -1; a weight is a finite number"),
    (dict(sample_weight=np.ones((8, 2))), "sample_weight: one number per sample"),
    (dict(class_weight=[1, 2, 3]), "class_weight lists 3 weights for 2 classes"),
    (dict(class_weight={"bird": 2}), "class_weight names the class 'bird'; the classes are 0..1"),
    (dict(class_weight="even"), "class_weight is balanced, a list by class or a map"),
    (dict(class_weight={0: 0, 1: 0}), "class_weight gives every sample a weight of 0"),
    (dict(validation_split=1.5), "validation_split is the share held out, between 0 and 1"),
    (dict(validation_split=0.2, validation_data=(np.ones((2, 2)), [0, 1])),
     "give validation_data or validation_split, not both"),
])
def test_bad_weights_and_splits_are_one_line_errors(call, message, rng):
    model = nnspec.compile("input 2\ndense 2 softmax")
    with pytest.raises(nnspec.DataError) as e:
        model.fit(rng.normal(size=(8, 2)), rng.integers(0, 2, 8), epochs=1, **call)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_class_weight_in_a_spec_is_checked_at_its_line():
    with pytest.raises(nnspec.SpecError) as e:
        nnspec.compile("input 2\ndense 2 softmax\ntrain {\n  class_weight = even\n}")
    assert "4:3" in str(e.value) and "class_weight is balanced, or a list" in str(e.value)
    regression = nnspec.compile("input 2\ndense 1", loss="mse")
    with pytest.raises(nnspec.DataError, match="class_weight weighs the classes of a network"):
        regression.fit(np.ones((4, 2)), np.ones(4), class_weight="balanced")
    # in a spec the same is known before any data: one line at the setting
    with pytest.raises(nnspec.SpecError) as e:
        nnspec.compile("input 2\ndense 1\ntrain {\n  loss = mse\n  class_weight = balanced\n}")
    assert str(e.value).startswith("<spec>:5:3: class_weight weighs the classes of a network")
    with pytest.raises(nnspec.SpecError) as e:  # every class weighed 0: nothing would train
        nnspec.compile("input 2\ndense 2 softmax\ntrain {\n  class_weight = [0, 0]\n}")
    assert str(e.value).startswith("<spec>:4:3: class_weight [0, 0] weighs every class 0")


def test_validation_split_holds_out_the_last_samples_before_shuffling(rng):
    """As Keras: the last 20% in the order given, whatever the shuffle; the same
    run as giving them as validation_data."""
    x, y = rng.normal(size=(50, 3)), rng.integers(0, 2, 50)
    spec = "input 3\ndense 2 softmax"
    split = nnspec.compile(spec, epochs=2)
    history = split.fit(x, y, validation_split=0.2)
    given = nnspec.compile(spec, epochs=2)
    same = given.fit(x[:40], y[:40], validation_data=(x[40:], y[40:]))
    assert history == same


def test_validation_split_cuts_several_inputs_and_outputs_given_as_lists(rng):
    """Arrays by declaration order (Keras' lists) are cut by sample, as dicts are:
    the list's length is the number of inputs, not of samples."""
    spec = ("a: input 3\nb: input 2\nconcat(a, b) -> t: dense 8 relu\n"
            "t -> p: dense 2 softmax\nt -> q: dense 1\noutput p\noutput q loss=mse")
    xa, xb = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    yp, yq = rng.integers(0, 2, 50), rng.normal(size=(50, 1))
    by_list = nnspec.compile(spec, epochs=2).fit([xa, xb], [yp, yq], validation_split=0.2)
    by_dict = nnspec.compile(spec, epochs=2).fit({"a": xa, "b": xb}, {"p": yp, "q": yq},
                                                 validation_split=0.2)
    assert by_list == by_dict and "val_loss" in by_list


def test_a_csv_weight_column_weighs_the_samples_as_sample_weight_does(tmp_path, rng):
    x, y, w = rng.normal(size=(30, 2)), rng.integers(0, 2, 30), rng.integers(0, 3, 30)
    (tmp_path / "w.csv").write_text("a,b,w,label\n" + "".join(
        f"{a},{b},{c},{d}\n" for (a, b), c, d in zip(x, w, y)))
    spec = tmp_path / "w.nn"
    spec.write_text('input 2\ndense 2 softmax\ntrain {\n  data = csv("w.csv", weight=w)\n'
                    "  split = 100/0/0\n  shuffle = false\n  scale = none\n  epochs = 2\n}\n")
    result = run_cli("train", spec, "-o", tmp_path / "w.nnb", "--quiet")
    assert result.returncode == 0, result.stderr
    by_column = nnspec.load(tmp_path / "w.nnb")
    by_fit = nnspec.compile(spec)
    by_fit.fit(x.astype(np.float32), y, sample_weight=w)
    np.testing.assert_allclose(by_column.weights["dense1.W"], by_fit.weights["dense1.W"],
                               rtol=1e-6)  # float32: CSV text and binary floats round alike


def test_the_estimator_passes_sample_and_class_weights_on(rng):
    """Classifier.fit(X, y, sample_weight=...) and class_weight by y's own labels
    (scikit-learn's form) weigh as the model's fit does."""
    sk = pytest.importorskip("nnspec.sklearn")
    x, y = rng.normal(size=(40, 3)), rng.choice(["ham", "spam"], 40)
    spec = "input {n_features}\ndense {n_outputs} softmax\ntrain {\n  epochs = 3\n}"
    w = rng.integers(1, 4, 40)
    by_labels = sk.Classifier(spec, class_weight={"spam": 3.0}).fit(x, y, sample_weight=w)
    model = nnspec.compile(spec.replace("{n_features}", "3").replace("{n_outputs}", "2"),
                           dtype="float64")
    model.fit(x, (y == "spam").astype(int), sample_weight=w, class_weight=[1, 3])
    np.testing.assert_allclose(by_labels.model_.weights["dense1.W"], model.weights["dense1.W"],
                               rtol=1e-12)  # the same float64 run
    with pytest.raises(ValueError, match="class_weight names the class 'eggs'"):
        sk.Classifier(spec, class_weight={"eggs": 2}).fit(x, y)


def test_a_bad_engine_is_refused_before_anything_is_fitted(rng):
    """fit's engine is checked first: refused, it leaves the model as it was (its
    scaling and target scaling unfitted), as predict's is."""
    model = nnspec.compile("input 2\ndense 1", scale="standard", loss="mse")
    with pytest.raises(nnspec.NNSpecError, match="engine"):
        model.fit(rng.normal(size=(8, 2)), 1e5 * rng.normal(size=8), engine="tpu")
    assert "scale" not in model.preprocessing["input"] and model.target_scaling == {}
