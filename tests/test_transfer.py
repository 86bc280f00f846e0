"""Starting from a trained model: frozen layers (trainable=false, Model.freeze),
weights from another bundle by layer name (init_from, load_weights, --init-from),
the report, lineage, and the two-phase recipe (docs/fine-tuning.md)."""
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec.errors import DataError, SpecError
from nnspec.lang import parse, shapes
from nnspec.lang.kinds import KINDS, ROLES
from nnspec.training.optimizers import OPTIMIZERS

from conftest import assert_close_grad, inputs_for, numeric_grad, run_cli, targets_for
from test_properties import _head, networks

WEIGHTED = sorted(k for k, d in KINDS.items() if d.weights is not None)
BASE = """input 6
block base(width) { dense {width} tanh -> batchnorm -> dense {width} relu }
b: base(8) trainable=false -> head: dense 3 softmax
"""
# every optimizer with every option that could move a weight without a gradient
DECAY = {name: "(weight_decay=0.1)" if "weight_decay" in cls.OPTIONS else ""
         for name, cls in OPTIMIZERS.items()}


def _frozen_line(example, kind):
    """A kind's example with trainable=false on its layer (the layer of that kind)."""
    return re.sub(rf"\b({kind}\b[^\n>]*?)(\s*->|\s*$)", r"\1 trainable=false\2", example,
                  count=1, flags=re.M)


def _fit(model, n=24, epochs=3, seed=0):
    rng = np.random.default_rng(seed)
    x, y = inputs_for(model, n, rng, model.graph.dtype), targets_for(model, n, rng)
    model.fit(x, y, epochs=epochs, batch_size=8)
    return x, y


def _weights_of(model, node):
    return {full: model.weights[full] for _, full in model.graph.keys[node]}


@pytest.mark.parametrize("kind", WEIGHTED)
def test_every_kind_frozen_by_its_option_keeps_every_weight_and_is_counted_apart(kind):
    """The registry walk: trainable=false on each kind with weights, trained with
    AdamW's weight decay, l1 and l2 penalties and an overriding lr (as --lr gives
    it): the layer's weights (running statistics included) do not change by a bit;
    the head moves; the summary counts the layer's trained weights as frozen."""
    network = parse(KINDS[kind].example)
    head = _head(shapes.infer(network)[network.nodes[-1].name])
    spec = _frozen_line(KINDS[kind].example, kind) + f"\n-> {head}\n" \
        "train {\n optimizer = adamw(weight_decay=0.1)\n l1 = 0.01\n l2 = 0.01\n}"
    model = nnspec.compile(spec, dtype="float64", lr=0.05)
    node = next(n.name for n in model.network.nodes if n.kind == kind)
    assert model.graph.frozen == {node}
    before = {k: v.copy() for k, v in model.weights.items()}
    _fit(model)
    for key in _weights_of(model, node):
        np.testing.assert_array_equal(model.weights[key], before[key], err_msg=key)
    head = [n.name for n in model.graph.nodes if n.name != node and model.graph.keys[n.name]]
    assert all(not np.array_equal(model.weights[k], before[k]) for h in head
               for k in _weights_of(model, h))
    frozen = sum(v.size for k, v in _weights_of(model, node).items()
                 if ROLES[model.graph.roles[k]].trained)
    trainable = sum(v.size for h in head for v in _weights_of(model, h).values())
    lines = []
    model.summary(lines.append)
    total = sum(v.size for v in model.weights.values())
    assert f"trainable {trainable:,}, non-trainable {total - trainable:,}: frozen {frozen:,}" \
        in lines[0]
    held = set(_weights_of(model, node))
    assert not [k for k in model.state.optimizer.state if k.rpartition("/")[0] in held]
    row = next(line for line in lines[0].splitlines() if line.startswith(node + " "))
    assert "trainable=false" in row
    model.unfreeze(node)  # the spec column says what the model now trains, not the spec
    lines = []
    model.summary(lines.append)
    row = next(line for line in lines[0].splitlines() if line.startswith(node + " "))
    assert "trainable=false" not in row
    # every weight trains now, but batch norm's running statistics, which never do
    assert "non-trainable" not in lines[0] or kind == "batchnorm"


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_a_frozen_block_stays_bit_identical_with_every_optimizer_and_the_rest_moves(optimizer):
    """A block call written trainable=false freezes every layer inside (its batch
    norm's statistics too), with penalties, weight decay, a schedule, a layer's own
    lr= and an lr given as an override: nothing reaches the frozen weights, and the
    optimizer keeps no state for them."""
    spec = BASE.replace("-> batchnorm ->", "-> batchnorm lr=0.5 ->") + \
        f"train {{\n optimizer = {optimizer}{DECAY[optimizer]}\n l2 = 0.01\n l1_bias = 0.01\n" \
        " schedule = cosine(warmup=2)\n}"
    model = nnspec.compile(spec, dtype="float64", lr=0.1)
    assert model.graph.frozen == {"b/dense1", "b/batchnorm1", "b/dense2"}
    before = {k: v.copy() for k, v in model.weights.items()}
    _fit(model)
    for key, value in model.weights.items():
        if key.startswith("b/"):
            np.testing.assert_array_equal(value, before[key], err_msg=key)
        else:
            assert not np.array_equal(value, before[key]), key
    assert all(not key.startswith("b/") for key in model.state.optimizer.state)


def test_a_frozen_batch_norm_normalises_by_its_running_statistics():
    """As Keras' trainable = False: the training pass of a frozen batch norm is its
    inference pass, so the objective fit minimises is the loss evaluate reports
    (trainable, it would normalise by the batch's own statistics)."""
    spec = "input 4\nbatchnorm trainable=false -> dense 3 softmax"
    model = nnspec.compile(spec, dtype="float64")
    rng = np.random.default_rng(0)
    model.weights["batchnorm1.mean"][...] = rng.standard_normal(4)
    model.weights["batchnorm1.var"][...] = rng.uniform(0.5, 2, 4)
    x, y = rng.standard_normal((16, 4)) * 3 + 1, rng.integers(0, 3, 16)
    objective, _ = model.gradients(x, y)
    assert objective == pytest.approx(model.evaluate(x, y)["loss"], rel=1e-12)  # float64 sums
    model.unfreeze()
    objective, _ = model.gradients(x, y)
    assert objective != pytest.approx(model.evaluate(x, y)["loss"], rel=1e-3)


def test_gradients_skip_the_frozen_base_and_equal_finite_differences_for_the_rest():
    """Backward stops where nothing before it learns: the head's gradients are those
    of the whole network's backward, and the finite differences' (float64)."""
    model = nnspec.compile(BASE, dtype="float64")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)
    _, grads = model.gradients(x, y)
    assert set(grads) == {"head.W", "head.b"} == set(model.graph.trainable)
    for key, g in grads.items():
        def f():
            return model.gradients(x, y)[0]
        assert_close_grad(g, numeric_grad(f, model.weights[key]), key)
    model.unfreeze("b/dense1", "b/dense2")  # the batch norm alone frozen
    _, some = model.gradients(x, y)
    assert set(some) == {"head.W", "head.b", "b/dense1.W", "b/dense1.b", "b/dense2.W",
                         "b/dense2.b"}


def test_skipping_the_frozen_base_changes_no_gradient_of_the_rest():
    spec = "input 5\ndense 4 tanh trainable=false -> dense 4 relu trainable=false -> " \
        "dense 3 softmax"
    frozen = nnspec.compile(spec, dtype="float64")
    everything = nnspec.compile(spec.replace(" trainable=false", ""), dtype="float64")
    everything.set_weights(frozen.weights)
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((9, 5)), rng.integers(0, 3, 9)
    (value, some), (total, every) = frozen.gradients(x, y), everything.gradients(x, y)
    assert value == total and set(some) == {"dense3.W", "dense3.b"}
    for key, g in some.items():  # the same operations on the same numbers
        np.testing.assert_array_equal(g, every[key])


def test_backward_runs_no_layer_that_neither_learns_nor_follows_one_that_does(monkeypatch):
    """The frozen base's backward is skipped, not computed and dropped: a frozen base
    under a new head costs its forward pass alone."""
    import dataclasses
    from nnspec.engine.layers import REGISTRY
    ran = []
    for kind in ("dense", "batchnorm"):
        layer = REGISTRY[kind]
        monkeypatch.setitem(REGISTRY, kind, dataclasses.replace(
            layer, backward=lambda p, w, c, d, need, _b=layer.backward, _k=kind:
            ran.append((_k, need)) or _b(p, w, c, d, need)))
    model = nnspec.compile(BASE)
    rng = np.random.default_rng(0)
    model.gradients(rng.standard_normal((6, 6)), rng.integers(0, 3, 6))
    assert ran == [("dense", False)]  # the head's, which needs no gradient for its input
    ran.clear()
    model.unfreeze("b/dense2")  # now the head and b/dense2 learn; b/dense2 needs no dx
    model.gradients(rng.standard_normal((6, 6)), rng.integers(0, 3, 6))
    assert ran == [("dense", True), ("dense", False)]


def test_a_middle_layer_frozen_still_passes_gradients_to_the_layers_before_it():
    model = nnspec.compile("input 5\ndense 4 tanh -> dense 4 tanh trainable=false -> "
                           "dense 2 softmax", dtype="float64")
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((7, 5)), rng.integers(0, 2, 7)
    _, grads = model.gradients(x, y)
    assert set(grads) == {"dense1.W", "dense1.b", "dense3.W", "dense3.b"}
    for key in ("dense1.W", "dense3.b"):
        assert_close_grad(grads[key], numeric_grad(lambda: model.gradients(x, y)[0],
                                                   model.weights[key]), key)


def test_a_network_with_every_layer_frozen_is_one_line_not_a_run_that_moves_nothing(tmp_path):
    model = nnspec.compile(BASE)
    model.freeze()
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match=r"^fit: every layer with weights is frozen \(b/batchnorm1, "
                                        r"b/dense1, b/dense2, head\), so nothing would train; "
                                        r"unfreeze some"):
        model.fit(rng.standard_normal((8, 6)), rng.integers(0, 3, 8), epochs=1)
    spec = tmp_path / "all.nn"
    spec.write_text(BASE.replace("dense 3 softmax", "dense 3 softmax trainable=false")
                    .replace("input 6", "input 2") + 'train {\n data = spiral(30, classes=3)\n}\n')
    r = run_cli("train", spec, "-o", tmp_path / "x.nnb")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("error: fit: every layer with weights is frozen")


def test_freeze_and_unfreeze_by_layer_and_block_instance_names():
    spec = "input 6\nblock pair() { dense 5 tanh -> dense 5 tanh }\n" \
        "block two() { p: pair() -> q: pair() }\nt: two() -> dense 2 softmax"
    model = nnspec.compile(spec)
    model.freeze("t/p")
    assert model.graph.frozen == {"t/p/dense1", "t/p/dense2"}
    model.freeze("dense1")
    assert model.graph.frozen == {"t/p/dense1", "t/p/dense2", "dense1"}
    model.unfreeze("t")
    assert model.graph.frozen == {"dense1"}
    model.freeze()
    assert len(model.graph.frozen) == 5 and model.graph.trainable == ()
    model.unfreeze()
    assert model.graph.frozen == frozenset()
    with pytest.raises(DataError, match=r"^freeze: 't/pp' is not a layer or block instance "
                                        r"here; did you mean 't/p'"):
        model.freeze("t/pp")
    with pytest.raises(DataError, match="^unfreeze: 'input' has no weights"):
        model.unfreeze("input")


def test_a_nested_block_call_written_trainable_false_freezes_every_layer_inside():
    spec = "input 6\nblock pair() { dense 5 tanh -> dense 5 tanh }\n" \
        "block two() { p: pair() -> q: pair() trainable=false }\nt: two() -> dense 2 softmax"
    assert nnspec.compile(spec).graph.frozen == {"t/q/dense1", "t/q/dense2"}
    outer = spec.replace("q: pair() trainable=false", "q: pair()").replace(
        "t: two()", "t: two() trainable=false")
    assert nnspec.compile(outer).graph.frozen == {
        "t/p/dense1", "t/p/dense2", "t/q/dense1", "t/q/dense2"}


@pytest.mark.parametrize("line, message", [
    ("b: base(8) trainable=maybe", r"^<spec>:3:\d+: trainable is true or false$"),
    ("b: base(8) lr=0.1", r"^<spec>:3:\d+: block 'base' takes its values as arguments: "
                          r"base\(\.\.\.\); after the parentheses only trainable=false"),
    ("b: base(8) -> head: dense 3 softmax trainable=no", r"trainable"),
    ("b: base(8) -> maxpool 2 trainable=false", r"maxpool"),
])
def test_a_bad_trainable_is_one_line_at_its_place(line, message):
    spec = BASE.replace("b: base(8) trainable=false", line)
    if "maxpool" in line:
        spec = "input 6x6x1\nconv 3x3x2 -> maxpool 2 trainable=false -> dense 2 softmax"
    with pytest.raises(SpecError) as e:
        nnspec.compile(spec)
    first = str(e.value).splitlines()[0]  # then the line quoted, under a caret
    assert re.search(message, first), first


@pytest.fixture(scope="module")
def base_bundle(tmp_path_factory):
    """A trained base: b/dense1, b/batchnorm1, b/dense2 and a 3-class head."""
    folder = tmp_path_factory.mktemp("base")
    model = nnspec.compile(BASE.replace(" trainable=false", ""), dtype="float64")
    _fit(model, epochs=2)
    path = folder / "base.nnb"
    model.save(path)
    return path, model


def test_weights_load_by_name_with_a_report_of_each_layer(base_bundle):
    """A new head of another size: the base's layers loaded (running statistics
    too), the head not loaded with both shapes said, a layer the base lacks new,
    the base's layer nothing here names unused."""
    path, base = base_bundle
    spec = BASE.replace("head: dense 3 softmax", "extra: dense 4 tanh -> head: dense 5 softmax")
    model = nnspec.compile(spec, dtype="float64")
    report = model.load_weights(path)
    assert report.loaded == ["b/dense1", "b/batchnorm1", "b/dense2"]
    assert report.new == ["extra"] and report.unused == []
    assert report.differ == [("head", "W is 4x5 here, 8x3 in the base")]
    for key in base.weights:
        if key.startswith("b/"):
            np.testing.assert_array_equal(model.weights[key], base.weights[key], err_msg=key)
    assert "b/batchnorm1.var" in base.weights
    text = "\n".join(report.lines())
    assert "3 layers loaded, 1 new, 1 not loaded (shapes differ), 0 of the base's unused" in text
    assert "not loaded: head: W is 4x5 here, 8x3 in the base" in text


def test_into_places_the_whole_base_inside_a_block_instance(base_bundle):
    path, base = base_bundle
    # the base written flat, then loaded into a block instance of a bigger network
    flat_base = nnspec.compile("input 6\ndense 8 tanh -> batchnorm -> dense 8 relu",
                               dtype="float64")
    flat_base.set_weights({k.replace("b/", ""): v for k, v in base.weights.items()
                           if k.startswith("b/")})
    model = nnspec.compile(BASE, dtype="float64")
    report = model.load_weights(flat_base, into="b")
    assert report.loaded == ["b/dense1", "b/batchnorm1", "b/dense2"] and report.new == ["head"]
    np.testing.assert_array_equal(model.weights["b/dense2.W"], base.weights["b/dense2.W"])
    with pytest.raises(DataError, match=r"^load_weights: into=backbone: this network has no "
                                        "block instance 'backbone'"):
        model.load_weights(flat_base, into="backbone")


def test_a_layer_of_another_kind_is_not_loaded_and_says_so(base_bundle):
    path, _ = base_bundle
    model = nnspec.compile(BASE.replace("head: dense 3 softmax", "head: embedding 3x3"))
    report = model.load_weights(path)
    assert ("head", "a embedding here, a dense in the base") in report.differ


@pytest.mark.parametrize("case, message", [
    ("strict", r"^load_weights: strict: head is not loaded \(W is 8x5 here, 8x3 in the base\); "
               r"3 layers loaded, 0 new, 1 differ, 0 unused"),
    ("missing", r"^load_weights: no such file .*nothere\.nnb; give the path of a bundle"),
    ("not a bundle", r"^load_weights: .*spec\.nn is not a bundle nnspec can load"),
    ("nothing fits", r"^load_weights: no layer of base\.nnb fits this network \(the base's "
                     r"layers: b/dense1, b/batchnorm1, b/dense2, head; this network's: dense1, "
                     r"dense2\); name the layers as the base does, or place the base inside"),
    # every name matches the base's, no shape does: the first difference, not "name them"
    ("no shape fits", r"^load_weights: no layer of base\.nnb fits this network: b/dense1: W "
                      r"is 6x16 here, 6x8 in the base \(and 3 more\)$"),
])
def test_each_transfer_problem_is_one_line(base_bundle, tmp_path, case, message):
    path, _ = base_bundle
    spec = BASE.replace("dense 3 softmax", "dense 5 softmax")
    source = path
    if case == "missing":
        source = tmp_path / "nothere.nnb"
    elif case == "not a bundle":
        source = tmp_path / "spec.nn"
        source.write_text(spec)
    elif case == "nothing fits":
        spec = "input 6\ndense 4 tanh -> dense 2 softmax"
    elif case == "no shape fits":
        spec = BASE.replace("base(8)", "base(16)").replace("dense 3", "dense 5")
    model = nnspec.compile(spec)
    before = {k: v.copy() for k, v in model.weights.items()}
    with pytest.raises(DataError) as e:
        model.load_weights(source, strict=case == "strict")
    assert "\n" not in str(e.value) and re.search(message, str(e.value)), str(e.value)
    for key, value in model.weights.items():  # nothing half-loaded
        np.testing.assert_array_equal(value, before[key])


def test_init_from_in_the_spec_is_beside_the_spec_and_recorded_in_the_bundle(base_bundle,
                                                                           tmp_path):
    path, base = base_bundle
    folder = tmp_path / "phase"
    folder.mkdir()
    (folder / "base.nnb").write_bytes(path.read_bytes())
    spec = folder / "head.nn"
    spec.write_text(BASE.replace("dense 3 softmax", "dense 4 softmax")
                    + 'train {\n init_from = "base.nnb"\n}\n')
    model = nnspec.compile(spec, dtype="float64")
    assert model.started_from.loaded == ["b/dense1", "b/batchnorm1", "b/dense2"]
    np.testing.assert_array_equal(model.weights["b/dense1.W"], base.weights["b/dense1.W"])
    _fit(model, epochs=1)
    model.save(tmp_path / "head.nnb")
    again = nnspec.load(tmp_path / "head.nnb")
    assert again.lineage["file"] == "base.nnb" and again.lineage["differ"] == [
        "head: W is 8x4 here, 8x3 in the base"]
    import hashlib
    assert again.lineage["digest"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert again.graph.frozen == model.graph.frozen
    # a bundle reloaded does not load its base again: its own weights are its
    np.testing.assert_array_equal(again.weights["head.W"], model.weights["head.W"])
    spec.write_text(spec.read_text().replace('"base.nnb"', '"gone.nnb"'))
    with pytest.raises(DataError, match=r"head\.nn:5:2: init_from: no such file .*gone\.nnb"):
        nnspec.compile(spec)


def test_the_two_phase_recipe_from_the_command_line(base_bundle, tmp_path):
    """Phase one: the base frozen and a new head (--init-from); phase two: every layer
    at a low rate (--init-from phase one, --unfreeze). The header prints the report;
    inspect prints the lineage, back to the first base."""
    path, _ = base_bundle
    spec = tmp_path / "head.nn"
    spec.write_text(BASE.replace("dense 3 softmax", "dense 4 softmax")
                    + 'train {\n data = "data.npz"\n epochs = 1\n}\n')
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", x=rng.standard_normal((60, 6)).astype("float32"),
             y=rng.integers(0, 4, 60))
    one = run_cli("train", spec, "--init-from", path, "-o", tmp_path / "one.nnb", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert "3 layers loaded, 0 new, 1 not loaded (shapes differ)" in one.stdout
    assert "frozen: b/batchnorm1, b/dense1, b/dense2" in one.stdout
    two = run_cli("train", spec, "--init-from", "one.nnb", "--unfreeze", "--lr", "0.0001",
                  "-o", tmp_path / "two.nnb", cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    assert "4 layers loaded, 0 new" in two.stdout and "frozen:" not in two.stdout
    first, second = nnspec.load(tmp_path / "one.nnb"), nnspec.load(tmp_path / "two.nnb")
    assert second.graph.frozen == frozenset()  # saved so: the spec's trainable=false undone
    for key in first.weights:
        assert not np.array_equal(first.weights[key], second.weights[key]) or \
            not ROLES[second.graph.roles[key]].trained, key
    shown = run_cli("inspect", tmp_path / "two.nnb")
    assert "started from one.nnb" in shown.stdout and "which started from base.nnb" in \
        shown.stdout
    resumed = run_cli("train", spec, "--resume", tmp_path / "one.nnb", "--unfreeze", "-o",
                      tmp_path / "x.nnb")
    assert resumed.returncode == 2 and resumed.stderr.count("\n") == 1
    assert "--unfreeze: a resumed run trains as it began" in resumed.stderr


def test_a_fine_tuning_run_resumes_bit_identically(base_bundle, tmp_path):
    """Frozen layers and loaded weights in a checkpoint: the run split in two,
    through a bundle, is the run in one, bit for bit."""
    path, _ = base_bundle
    spec = BASE + 'train {\n optimizer = adam\n l2 = 0.001\n}\n'
    whole = nnspec.compile(spec, dtype="float64", init_from=str(path))
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    whole.fit(x, y, epochs=4, batch_size=8)
    half = nnspec.compile(spec, dtype="float64", init_from=str(path))
    half.fit(x, y, epochs=2, batch_size=8)
    half.save(tmp_path / "half.nnb", checkpoint=True)
    resumed = nnspec.load(tmp_path / "half.nnb")
    assert resumed.graph.frozen == whole.graph.frozen
    resumed.fit(x, y, epochs=2, batch_size=8)
    for key, value in whole.weights.items():
        np.testing.assert_array_equal(resumed.weights[key], value, err_msg=key)


def test_the_estimator_takes_init_from(base_bundle):
    pytest.importorskip("sklearn")
    from nnspec.sklearn import Classifier
    path, base = base_bundle
    spec = BASE.replace("input 6", "input {n_features}").replace("dense 3", "dense {n_outputs}")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 6)), rng.integers(0, 3, 30)
    est = Classifier(spec, init_from=str(path), epochs=2, dtype="float64").fit(X, y)
    np.testing.assert_array_equal(est.model_.weights["b/dense2.W"], base.weights["b/dense2.W"])
    assert est.model_.lineage["loaded"] == ["b/dense1", "b/batchnorm1", "b/dense2", "head"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.data())
def test_any_generated_network_with_any_layers_frozen_keeps_them_through_save_and_resume(
        net, data):
    """Generated networks (test_properties), a drawn subset of their layers frozen:
    after training with weight decay and penalties those weights are bit-identical,
    the bundle keeps which are frozen, and resuming from it is the same run."""
    spec, _, _ = net
    spec += "\ntrain {\n optimizer = adamw(weight_decay=0.1)\n l2 = 0.01\n batch_size = 4\n}"
    model = nnspec.compile(spec, dtype="float64")
    weighted = [n for n, keys in model.graph.keys.items() if keys]
    # at least one layer left to train: every layer frozen is an error (tested above)
    chosen = data.draw(st.lists(st.sampled_from(weighted), unique=True,
                                max_size=len(weighted) - 1))
    if chosen:  # freeze() with no names freezes every layer
        model.freeze(*chosen)
    before = {k: v.copy() for k, v in model.weights.items()}
    rng = np.random.default_rng(0)
    x, y = inputs_for(model, 8, rng, np.float64), targets_for(model, 8, rng)
    model.fit(x, y, epochs=1)
    for node in chosen:
        for _, key in model.graph.keys[node]:
            np.testing.assert_array_equal(model.weights[key], before[key], err_msg=key)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "m.nnb", checkpoint=True)
        loaded = nnspec.load(Path(tmp) / "m.nnb")
    assert loaded.graph.frozen == set(chosen)
    loaded.fit(x, y, epochs=1)
    model.fit(x, y, epochs=1)
    for key, value in model.weights.items():
        np.testing.assert_array_equal(loaded.weights[key], value, err_msg=key)


def _set(key, value):
    return lambda outer, doc: doc.__setitem__(key, value)


def _lineage_with(**changes):
    good = {"file": "base.nnb", "digest": "ab" * 32, "into": None, "loaded": ["b/dense1"],
            "new": [], "differ": [], "unused": [], "ancestry": []}
    return _set("lineage", {**good, **changes})


@pytest.mark.parametrize("mutate, message", [
    (_set("frozen", ["nowhere"]), r"payload\.frozen: 'nowhere' is not a layer with weights"),
    (_set("frozen", [3]), r"payload\.frozen: 3 is not a layer with weights"),
    (_set("frozen", "b/dense1"), r"payload\.frozen: expected"),
    (_set("lineage", []), r"payload\.lineage: expected"),
    (_lineage_with(digest=5), r"payload\.lineage\.digest: expected"),
    (_lineage_with(loaded=[1]), r"payload\.lineage\.loaded: expected a list of layer names"),
    (_lineage_with(ancestry=[{"file": "x"}]), r"payload\.lineage\.ancestry\[0\]: missing key"),
    (_lineage_with(extra=1), r"payload\.lineage: unexpected key 'extra'"),
])
def test_a_damaged_frozen_list_or_lineage_is_one_line(base_bundle, tmp_path, mutate, message):
    from test_bundle import _repack
    path, _ = base_bundle
    bad = tmp_path / "bad.nnb"
    bad.write_bytes(_repack(path.read_bytes(), mutate))
    with pytest.raises(nnspec.errors.BundleError) as e:
        nnspec.load(bad)
    assert "\n" not in str(e.value) and re.search(message, str(e.value)), str(e.value)


def test_a_fine_tuned_model_takes_the_bases_fitted_input_scaling(tmp_path):
    """The base's standard scaling (its mean and std, fitted on its data) goes with
    its layers: the new model's same-named input takes it, fit keeps it on other
    data, and the report says so; a spec that says another scale fits its own."""
    rng = np.random.default_rng(0)
    base = nnspec.compile("input 3\nd1: dense 4 tanh -> dense 2 softmax", scale="standard",
                          epochs=1)
    base.fit(100 + 10 * rng.normal(size=(40, 3)), rng.integers(0, 2, 40))
    base.save(tmp_path / "base.nnb")
    tuned = nnspec.compile("input 3\nd1: dense 4 tanh -> head: dense 2 softmax",
                           scale="standard", epochs=1, init_from=str(tmp_path / "base.nnb"))
    assert "  input takes the base's standard scaling" in tuned.started_from.lines()
    tuned.fit(500 + rng.normal(size=(40, 3)), rng.integers(0, 2, 40))
    for key in ("offset", "scale"):
        np.testing.assert_array_equal(tuned.preprocessing["input"][key],
                                      base.preprocessing["input"][key])
    own = nnspec.compile("input 3\nd1: dense 4 tanh -> head: dense 2 softmax", scale="minmax",
                         epochs=1, init_from=str(tmp_path / "base.nnb"))
    assert not [line for line in own.started_from.lines() if "takes the base's" in line]
    own.fit(500 + rng.normal(size=(40, 3)), rng.integers(0, 2, 40))
    assert own.preprocessing["input"]["kind"] == "minmax"


def test_a_fine_tuned_text_model_keeps_the_bases_vocabulary(tmp_path):
    """An embedding's rows are the base's words: fine-tuned on another CSV of
    reviews, the model reads it with the base's vocabulary (refitted, id 5 would
    name another word, in silence)."""
    from tables_data import reviews
    spec = ("input 12\nemb: embedding 64x8 -> lstm 8 -> out: dense 2 softmax\ntrain {\n"
            '  data = csv("{csv}", label=sentiment, text=[review])\n  epochs = 1\n}\n')
    reviews(tmp_path / "a.csv", n=300, seed=1)
    reviews(tmp_path / "b.csv", n=300, seed=2)  # with a word the base never saw
    (tmp_path / "b.csv").write_text((tmp_path / "b.csv").read_text().replace("film", "cinema"))
    (tmp_path / "a.nn").write_text(spec.replace("{csv}", "a.csv"))
    assert run_cli("train", tmp_path / "a.nn", "-o", tmp_path / "a.nnb").returncode == 0
    (tmp_path / "b.nn").write_text(spec.replace("{csv}", "b.csv").replace(
        "  epochs = 1\n", '  epochs = 1\n  init_from = "a.nnb"\n'))
    result = run_cli("train", tmp_path / "b.nn", "-o", tmp_path / "b.nnb")
    assert result.returncode == 0, result.stderr
    assert "input takes the base's columns (review (text" in result.stdout
    words = [nnspec.load(tmp_path / f).preprocessing["input"]["columns"][0]["words"]
             for f in ("a.nnb", "b.nnb")]
    assert words[0] == words[1]
    assert "cinema" not in words[1]  # read as unknown, as the base would
    (tmp_path / "c.nn").write_text(spec.replace("{csv}", "b.csv"))
    fresh = nnspec.compile(tmp_path / "c.nn")
    fresh.fit(*fresh.data().train)
    assert "cinema" in fresh.preprocessing["input"]["columns"][0]["words"]  # b's own


def test_a_loaded_output_layer_keeps_the_bases_target_scaling(tmp_path):
    """A regression head loaded from the base learnt the base's scaled targets: it
    keeps that scaling (fit on other prices does not refit it); a new head fits
    its own."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    base = nnspec.compile("input 3\nd1: dense 4 tanh -> p: dense 1", loss="mse", epochs=1)
    base.fit(x, 2e5 + 5e4 * x[:, :1])
    assert base.target_scaling  # far from unit scale
    base.save(tmp_path / "base.nnb")
    tuned = nnspec.compile("input 3\nd1: dense 4 tanh -> p: dense 1", loss="mse", epochs=1,
                           init_from=str(tmp_path / "base.nnb"))
    assert "  output p takes the base's target scaling" in tuned.started_from.lines()
    tuned.fit(x, 9e5 + 1e4 * x[:, :1])
    assert tuned.target_scaling == base.target_scaling
    new = nnspec.compile("input 3\nd1: dense 4 tanh -> q: dense 1", loss="mse", epochs=1,
                         init_from=str(tmp_path / "base.nnb"))
    new.fit(x, 9e5 + 1e4 * x[:, :1])
    assert new.target_scaling["q"]["mean"] == pytest.approx((9e5 + 1e4 * x[:, 0]).mean())


def test_a_frozen_layer_keeps_for_backward_only_what_a_gradient_through_it_needs():
    """A frozen lstm computes as at inference; where a layer before it learns, the
    gradient must pass through it, so the pass keeps its steps (it once took the
    inference path and ran every step again in backward: 36% slower than
    unfrozen); where none does, it keeps nothing but the last state."""
    from nnspec.engine.layers.base import Mode
    from nnspec.engine.layers.recurrent import Replay
    for spec, replayed in (("input 6\nembedding 9x4 -> lstm 3 trainable=false -> dense 2", False),
                           ("input 6x4\nlstm 3 trainable=false -> dense 2", True)):
        model = nnspec.compile(spec)
        x = np.arange(12.0).reshape(2, 6) % 9 if "embedding" in spec else np.ones((2, 6, 4))
        _, tape = model.graph.forward(model.weights, x, Mode(True))
        cache = next(t.cache for t in tape if t.node.kind == "lstm")
        assert isinstance(cache, Replay) == replayed, spec
