"""Every (loss, output activation, number of outputs) the language accepts learns a
separable problem; every other pair is one error at the output layer's line
(lang/heads.py). A linear output under cross_entropy or binary_cross_entropy is
logits: the loss fuses softmax or sigmoid, and predict, the exports and the
estimator apply it."""
import itertools

import numpy as np
import pytest

import nnspec
from nnspec.engine.losses import LOSSES
from nnspec.lang import heads
from nnspec.lang.names import ACTIVATIONS

COMBINATIONS = list(itertools.product(sorted(LOSSES), ACTIVATIONS, (1, 2, 3)))


def _blobs(classes, n=240, seed=0):
    """Points around `classes` well-separated centres on a circle of radius 3."""
    rng = np.random.default_rng(seed)
    centres = 3 * np.array([[np.cos(2 * np.pi * i / classes), np.sin(2 * np.pi * i / classes)]
                            for i in range(classes)])
    labels = np.arange(n) % classes
    return centres[labels] + rng.normal(0, 0.5, (n, 2)), labels


def _targets(loss, width, labels):
    if loss == "cross_entropy":
        return labels  # class indices
    return labels.astype(float) if width == 1 else np.eye(width)[labels]  # 0/1, or one-hot


def _accuracy(out, labels):
    predicted = (out[:, 0] > 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
    return float(np.mean(predicted == labels))


SPEC = ("input 2\ndense 16 tanh -> dense {width} {act}\n"
        "train {{\n  loss = {loss}\n  optimizer = adam\n  lr = 0.02\n  epochs = 40\n}}")
OUTPUT_COLUMN = len("dense 16 tanh -> ") + 1  # where the output layer starts on line 2


@pytest.mark.parametrize("loss,act,width", COMBINATIONS)
def test_every_pair_learns_or_is_an_error_at_the_output_line(loss, act, width):
    spec = SPEC.format(width=width, act=act, loss=loss)
    try:
        heads.head(loss, act, width)
    except heads.HeadProblem as problem:
        with pytest.raises(nnspec.SpecError) as info:
            nnspec.compile(spec)
        assert str(info.value) == f"<spec>:2:{OUTPUT_COLUMN}: dense2: {problem}"
        return
    model = nnspec.compile(spec)
    x, labels = _blobs(max(width, 2))
    model.fit(x, _targets(loss, width, labels))
    out = model.predict(x)
    if loss in heads.PROBABILITY_LOSSES:  # probabilities, also from a logits output
        assert out.min() >= 0 and out.max() <= 1
        if model.graph.output_activation == "softmax":
            np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)
    assert _accuracy(out, labels) > 0.95, (loss, act, width)


def test_the_rule_refuses_some_pairs_and_takes_logits():
    """The table is not all yes: the pairs that cannot learn are refused, and the
    linear pairs of the probability losses are logits."""
    refused = [(loss, act, w) for loss, act, w in COMBINATIONS
               if not _takes(loss, act, w)]
    assert ("cross_entropy", "sigmoid", 3) in refused and ("cross_entropy", "relu", 2) in refused
    assert ("binary_cross_entropy", "tanh", 1) in refused and ("mse", "softmax", 1) in refused
    assert heads.head("cross_entropy", "linear", 3) == "softmax"
    assert heads.head("binary_cross_entropy", "linear", 1) == "sigmoid"
    assert heads.head("mse", "linear", 3) == "linear"


def _takes(loss, act, width):
    try:
        heads.head(loss, act, width)
        return True
    except heads.HeadProblem:
        return False


def test_a_recurrent_net_with_a_logits_head_learns_as_with_softmax():
    """The first reproduction: `lstm 32 -> dense 2` as PyTorch writes it (logits for
    CrossEntropyLoss) stayed at 49% while `dense 2 softmax` reached 100%."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8, 1))
    y = (x[:, :, 0].sum(axis=1) > 0).astype(int)
    results = {}
    for head in ("dense 2", "dense 2 softmax"):
        model = nnspec.compile(f"input 8x1\nlstm 16 -> {head}\ntrain {{\n optimizer = adam\n"
                               " lr = 0.01\n epochs = 30\n}")
        model.fit(x, y)
        results[head] = model.evaluate(x, y)["accuracy"]
        assert model.predict(x[:3]).sum(axis=1) == pytest.approx(1, rel=1e-5)
    assert results["dense 2"] > 0.95 and results["dense 2 softmax"] > 0.95


def test_a_softmax_passed_on_to_the_output_is_not_taken_as_logits():
    """The third reproduction: two softmax heads joined by concat and trained with
    cross_entropy reported a loss of -7.0; now the spec says what to write."""
    spec = ("input 4\na: dense 2 softmax\ninput -> b: dense 2 softmax\nconcat(a, b)\n"
            "train {\n  loss = cross_entropy\n}")
    with pytest.raises(nnspec.SpecError, match=r"<spec>:4:1: concat1: this output passes on "
                       r"(a|b)'s softmax unchanged.*end the network with -> softmax"):
        nnspec.compile(spec)
    with pytest.raises(nnspec.SpecError, match="dropout1: this output passes on dense1's "
                       "sigmoid"):
        nnspec.compile("input 4\ndense 1 sigmoid -> dropout 0.2", loss="binary_cross_entropy")


@pytest.mark.parametrize("targets,message", [
    (np.eye(3)[[0, 1, 2, 0]] * 2, r"y\[0\] holds 2; cross_entropy takes targets from 0 to 1"),
    (np.eye(3)[[0, 1, 2, 0]] + np.eye(3)[[1, 2, 0, 2]], r"y\[0\] sums to 2; .* for several "
                                                         r"labels a sample write sigmoid"),
    (np.array([[0.5, 0.5, 0.5]] * 4), r"y\[0\] sums to 1.5; cross_entropy takes one class"),
    (np.array([0, 1, 2.5, 1]), r"y\[2\] is 2.5: labels for 3 outputs are class indices"),
    (np.array([0, 1, np.inf, 1]), r"y\[2\] holds inf; targets must be finite"),
    (np.array([0, 1, 1e300, 1]), r"y\[2\] holds 1e\+300; targets must be finite numbers within "
                                 r"float32's range"),
    (np.array(["a", "b", "c", "a"]), r"y holds text; labels are numbers .* np.unique"),
])
def test_targets_a_loss_cannot_learn_from_are_one_line_naming_the_sample(targets, message):
    model = nnspec.compile("input 2\ndense 3")  # cross_entropy on logits, by default
    with pytest.raises(nnspec.DataError, match=message):
        model.fit(np.zeros((4, 2)), targets, epochs=1)


def test_binary_cross_entropy_targets_lie_in_zero_to_one():
    model = nnspec.compile("input 2\ndense 1", loss="binary_cross_entropy")
    with pytest.raises(nnspec.DataError, match=r"y\[1\] holds 3; binary_cross_entropy takes "
                       r"targets from 0 to 1 \(for values write loss = mse\)"):
        model.fit(np.zeros((3, 2)), np.array([0, 3, 1]), epochs=1)


@pytest.mark.parametrize("spec,loss", [
    ("input 4\ndense 3", "cross_entropy"), ("input 4\ndense 3 softmax", "cross_entropy"),
    ("input 4\ndense 1 sigmoid", "binary_cross_entropy"), ("input 4\ndense 3 sigmoid",
                                                           "binary_cross_entropy"),
    ("input 4\ndense 1", "mse"), ("input 4\ndense 3 relu", "mse"),
    ("input 4x4x1\nconv 3x3x2", "mse"),  # a linear image: values (an autoencoder's)
    ("input 5x3\ndense 4 softmax", "cross_entropy"),  # a class per step
])
def test_the_default_loss_follows_the_output(spec, loss):
    assert nnspec.compile(spec).config.loss == loss
