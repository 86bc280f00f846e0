"""Every registry is walked: a layer kind, activation, initializer, loss, optimizer,
schedule or metric added without its compute or its test row fails here, not
silently outside every hand-picked case."""
import math

import numpy as np
import pytest

from nnspec.engine import activations, init, passes
from nnspec.engine.layers import REGISTRY
from nnspec.lang import names
from nnspec.lang.kinds import KINDS
from nnspec.training.metrics import FACTORIES, METRICS
from nnspec.training.optimizers import OPTIMIZERS
from nnspec.training.schedules import SCHEDULES

import test_gradients
import test_train


def test_every_kind_the_language_declares_has_its_compute():
    assert set(REGISTRY) == set(KINDS)
    for kind, layer in REGISTRY.items():
        assert callable(layer.forward) and callable(layer.backward), kind
        # weights declared <=> weights made
        assert (KINDS[kind].weights is None) == (layer.init is None), kind


def test_speed_hints_name_only_kinds_that_exist():
    assert set(passes.HINTS) <= set(KINDS)


def test_the_language_and_the_engine_know_the_same_activations_and_initializers():
    assert set(names.ACTIVATIONS) == set(activations.ACTIVATIONS)
    assert set(names.INITIALIZERS) == set(init.INITIALIZERS)
    assert set(names.SCALED) == set(init.SCALED)


def test_the_gradient_table_covers_every_kind_activation_and_loss():
    kinds = {n.kind for spec, *_ in test_gradients.LAYER_ROWS for n in
             test_gradients.parse(spec).nodes}
    assert set(KINDS) - kinds == set()
    acts = {n.p.get("activation") for spec, *_ in test_gradients.LAYER_ROWS
            for n in test_gradients.parse(spec).nodes}
    assert set(names.ACTIVATIONS) - acts == set()


def test_every_optimizer_and_schedule_has_a_hand_computed_row():
    assert {row[0] for row in test_train.OPTIMIZER_ROWS} == set(OPTIMIZERS)
    assert {row[0] for row in test_train.SCHEDULE_ROWS} | {"constant", "plateau"} == \
        set(SCHEDULES)


# name -> a check of 20,000 draws for a 100 x 200 weight (fan_in 100, fan_out 200)
INITIALIZER_ROWS = {
    "glorot_uniform": ("uniform", math.sqrt(6 / 300)),
    "xavier": ("uniform", math.sqrt(6 / 300)),
    "xavier_uniform": ("uniform", math.sqrt(6 / 300)),
    "glorot_normal": ("normal", math.sqrt(2 / 300)),
    "xavier_normal": ("normal", math.sqrt(2 / 300)),
    "he_uniform": ("uniform", math.sqrt(6 / 100)),
    "he": ("normal", math.sqrt(2 / 100)),
    "he_normal": ("normal", math.sqrt(2 / 100)),
    "lecun": ("normal", math.sqrt(1 / 100)),
    "lecun_normal": ("normal", math.sqrt(1 / 100)),
    "lecun_uniform": ("uniform", math.sqrt(3 / 100)),
    "zeros": ("constant", 0.0),
    "ones": ("constant", 1.0),
}


def test_initializer_rows_cover_every_initializer():
    assert set(INITIALIZER_ROWS) == set(names.INITIALIZERS)


@pytest.mark.parametrize("name", sorted(INITIALIZER_ROWS))
def test_each_initializer_draws_as_documented(name):
    kind, scale = INITIALIZER_ROWS[name]
    w = init.weights(name, np.random.default_rng(0), (100, 200), 100, 200, np.float64)
    if kind == "constant":
        assert np.all(w == scale)
    elif kind == "uniform":  # on [-limit, limit]: the std of such draws is limit / sqrt(3)
        assert np.abs(w).max() <= scale and w.std() == pytest.approx(scale / math.sqrt(3), rel=0.03)
    else:  # 20,000 normal draws: the sample std is within 3% of the true one
        assert w.std() == pytest.approx(scale, rel=0.03) and abs(w.mean()) < scale * 0.03


def test_every_metric_matches_its_hand_computation():
    out = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.2, 0.5, 0.3]])
    truth = np.eye(3)[[1, 1, 2, 0]]
    expected = {"accuracy": 0.5, "mae": np.abs(out - truth).mean(),
                "mse": ((out - truth) ** 2).mean()}
    binary_out, binary_truth = np.array([[0.9], [0.2], [0.6]]), np.array([[1.0], [1.0], [0.0]])
    assert set(expected) | {"binary_accuracy"} == set(METRICS) and set(FACTORIES) == {"top_k"}
    for name, value in expected.items():
        assert METRICS[name](out, truth) == pytest.approx(value), name
    assert METRICS["binary_accuracy"](binary_out, binary_truth) == pytest.approx(1 / 3)
    assert FACTORIES["top_k"](2)(out, truth) == pytest.approx(0.75)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_has_an_example_that_compiles_and_prints_back(kind):
    """The example is the kind's test row: gradients (test_gradients), generated
    networks (test_properties) and this print/parse round trip all use it."""
    import nnspec
    from nnspec.lang import parse
    from nnspec.lang.fmt import fmt
    example = KINDS[kind].example
    assert example, f"{kind} declares no example"
    network = parse(example)
    assert kind in {n.kind for n in network.nodes}
    assert parse(fmt(example)).nodes == network.nodes
    nnspec.compile(example + "\n-> dense 2 softmax")


def test_bias_init_reaches_every_bias_of_every_kind():
    """bias_init= initializes every weight whose role is bias, in every kind that has
    one (a registry walk); without it biases start at zero (lstm's forget gate at 1)."""
    import nnspec
    from nnspec.lang import parse, shapes
    with_bias = []
    for kind, declared in sorted(KINDS.items()):
        network = parse(declared.example)
        node = network.nodes[1]
        in_shape = shapes.infer(network)[node.inputs[0]]
        roles = [role for _, _, role in declared.weights(node.p, in_shape)] \
            if declared.weights else []
        if "bias" not in roles:
            continue
        with_bias.append(kind)
        lines = declared.example.split("\n")
        lines[1] += " bias_init=uniform(2, 3)"
        model = nnspec.compile("\n".join(lines), dtype="float64")
        biases = [k for k, r in model.graph.roles.items() if r == "bias"]
        assert biases, kind
        for key in biases:
            values = model.weights[key]
            assert ((values >= 2) & (values <= 3)).all() and np.ptp(values) > 0, (kind, key)
    assert {"conv", "dense", "lstm", "gru", "rnn", "attention"} <= set(with_bias)
