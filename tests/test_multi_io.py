"""Networks of several inputs and several outputs (issue 30): named inputs, output
lines with their own loss, weight and metrics; data, fit, evaluate and predict by
name; history named as Keras names it; gradients of weighted outputs, of merges
of inputs and of an output that feeds another layer; bundles that keep every
input's preprocessing and every output's classes."""
import numpy as np
import pytest

import nnspec

from conftest import MODELS, assert_close_grad, numeric_grad, targets_for

EXAMPLE = (MODELS / "two_inputs_two_outputs.nn").read_text()

GRADIENT_SPECS = [
    # a merge of an input with a layer; weighted outputs; an output that feeds another
    "a: input 3\nb: input 2\na -> ha: dense 4 tanh\nconcat(ha, b) -> h: dense 5 tanh\n"
    "h -> p: dense 3 softmax\nh -> v: dense 2\np -> q: dense 2 sigmoid\n"
    "output p loss=cross_entropy weight=0.7\noutput v loss=mse weight=2\n"
    "output q loss=binary_cross_entropy",
    # a logits output (softmax fused into its loss) that a later output reads
    "x: input 4\nx -> d1: dense 3\nd1 -> d2: dense 2 tanh\noutput d1 loss=cross_entropy\n"
    "output d2 loss=huber weight=0.3",
    # two inputs added, a sequence output beside a vector one
    "s: input 5x3\nt: input 5x3\nadd(s, t) -> g: gru 4 return_sequences=true\n"
    "g -> steps: dense 2\ng -> globalavgpool -> last: dense 3 softmax\n"
    "output steps loss=mae weight=0.5\noutput last",
]


def _data(model, n, rng):
    xs = {name: rng.normal(size=(n,) + shape) for name, shape in model.graph.input_shapes.items()}
    ys = targets_for(model, n, rng)
    return xs, ys if isinstance(ys, dict) else {model.plan.terms[0].name: ys}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("spec", GRADIENT_SPECS)
def test_gradients_of_several_inputs_and_outputs_are_the_objectives(spec, reduction):
    """The weighted sum of the outputs' losses, and its penalties, by central
    differences in float64: the gradient table's rule for every layer, here for
    the ways a graph of several ends joins them."""
    model = nnspec.compile(spec, dtype="float64", l2=0.01, reduction=reduction)
    rng = np.random.default_rng(0)
    xs, ys = _data(model, 5, rng)
    _, grads = model.gradients(xs, ys)
    for name, w in model.weights.items():
        assert_close_grad(grads[name], numeric_grad(lambda: model.gradients(xs, ys)[0], w), name)


def test_the_objective_is_each_outputs_loss_times_its_weight():
    model = nnspec.compile(GRADIENT_SPECS[0], dtype="float64")
    xs, ys = _data(model, 7, np.random.default_rng(1))
    result = model.evaluate(xs, ys)
    assert result["loss"] == pytest.approx(0.7 * result["p_loss"] + 2 * result["v_loss"]
                                           + result["q_loss"], rel=1e-12)
    assert set(result) == {"loss", "p_loss", "p_accuracy", "v_loss", "v_accuracy", "q_loss",
                           "q_binary_accuracy"}


@pytest.mark.parametrize("spec,where,message", [
    ("a: input 3\nb: input 2\na -> dense 2 softmax", "2:10", "input 'b' reaches no output"),
    ("input 3\nd: dense 2 softmax\noutput dd", "3:8", "output 'dd' names no layer; did you "
                                                      "mean 'd'?"),
    ("input 3\nd: dense 2 softmax\noutput d\noutput d", "4:8",
     "output 'd' is declared twice (first at line 3)"),
    ("input 3 -> a: dense 4\ninput -> b: dense 2 softmax\noutput b", "1:15",
     "a does not lead to the output (b)"),
    ("a: input 3\na: input 2\na -> dense 2", "2:1", "the name 'a' is taken by another input"),
    ("a: input 3\na -> a: dense 2", "2:6", "the name 'a' is taken (line 1)"),
    ("input 3\nd: dense 2 relu\ne: dense 1\noutput d loss=cross_entropy\noutput e", "4:8",
     "output d (d): cross_entropy needs probabilities, but this output's activation is relu"),
    ("input 3\nd: dense 2 softmax\noutput d weight=0", "3:17", "an output's weight is a "
                                                            "number above 0"),
    ("input 3\nd: dense 2 softmax\noutput d lost=mse", "3:10", "unknown option 'lost' for an "
                                                             "output; did you mean 'loss'?"),
    ("x: input 3 scale=grey\nx -> dense 2 softmax", "1:12", "an input's scale must be one of"),
    ("input 3\nd: dense 2 softmax\noutput d loss=msee", "3:8", "unknown loss 'msee'"),
    ("input 3\noutput: dense 2", "2:7", "'output' is a keyword"),
    ("input 3\ninput 2", "2:7", "a second unnamed input; name each input"),
])
def test_mistakes_with_inputs_and_outputs_are_one_located_line(spec, where, message):
    with pytest.raises(nnspec.SpecError) as info:
        nnspec.compile(spec)
    assert str(info.value).startswith(f"<spec>:{where}: ") and message in str(info.value)
    assert "\n" not in str(info.value)


def test_data_by_name_list_and_their_mistakes():
    model = nnspec.compile(GRADIENT_SPECS[0])
    xs, ys = _data(model, 6, np.random.default_rng(2))
    by_list = model.predict([xs["a"], xs["b"]])
    by_dict = model.predict(xs)
    assert set(by_dict) == {"p", "v", "q"}
    for name in by_dict:
        np.testing.assert_array_equal(by_list[name], by_dict[name])
    with pytest.raises(nnspec.DataError, match=r"x: no array for 'b' \(the network's: a, b\)"):
        model.predict({"a": xs["a"]})
    with pytest.raises(nnspec.DataError, match=r"x: 'c' is not one of them"):
        model.predict({**xs, "c": xs["a"]})
    with pytest.raises(nnspec.DataError, match=r"the inputs hold different numbers of samples"):
        model.predict({"a": xs["a"], "b": xs["b"][:3]})
    with pytest.raises(nnspec.DataError, match=r"x: the network has 2 \(a, b\); give a dict"):
        model.predict(xs["a"])
    with pytest.raises(nnspec.DataError, match=r"y\['v'\] has 3 rows but the inputs have 6"):
        model.fit(xs, {**ys, "v": ys["v"][:3]}, epochs=1)
    classes = model.predict_classes(xs)
    assert set(classes) == {"p", "v", "q"} and len(classes["p"]) == 6


def test_the_example_trains_saves_loads_and_resumes_bit_identically(tmp_path):
    """The language guide's example on its built-in data set (glyphs): history named
    as Keras names it, early stopping on an output's metric, and a checkpoint
    mid-run that resumes to the weights of a run never stopped."""
    spec = EXAMPLE.replace("glyphs(3000)", "glyphs(300)").replace("epochs = 12", "epochs = 2")
    straight = nnspec.compile(spec)
    splits = straight.data()
    straight.fit(*splits.train, validation_data=splits.validation)
    assert {"digit_loss", "digit_accuracy", "size_loss", "size_mae", "val_digit_accuracy",
            "val_size_mae", "loss", "val_loss"} <= set(straight.history)
    first = nnspec.compile(spec)
    first.data()
    first.fit(*splits.train, validation_data=splits.validation, epochs=1)
    first.save(tmp_path / "ck.nnb", checkpoint=True)
    resumed = nnspec.load(tmp_path / "ck.nnb")
    assert resumed.preprocessing["meta"]["kind"] == "standard"
    assert resumed.output_classes["digit"] == tuple(str(d) for d in range(10))
    resumed.fit(*splits.train, validation_data=splits.validation, epochs=1)
    for key, value in straight.weights.items():
        np.testing.assert_array_equal(resumed.weights[key], value, err_msg=key)
    out = resumed.predict(splits.test[0])
    assert out["digit"].shape == (len(splits.test[0]["image"]), 10)
    assert out["size"].shape == (len(splits.test[0]["image"]), 1)


def test_an_npz_by_name_and_its_mistakes(tmp_path):
    rng = np.random.default_rng(3)
    spec = ("a: input 3\nb: input 2\nconcat(a, b) -> h: dense 4 relu\nh -> c: dense 2 softmax\n"
            "h -> r: dense 1\noutput c\noutput r loss=mse\n"
            'train {\n  data = "d.npz"\n  epochs = 1\n}\n')
    (tmp_path / "m.nn").write_text(spec)
    arrays = {"a": rng.normal(size=(20, 3)), "b": rng.normal(size=(20, 2)),
              "c": np.array(["yes", "no"] * 10), "r": rng.normal(size=20)}
    np.savez(tmp_path / "d.npz", **arrays)
    model = nnspec.compile(tmp_path / "m.nn")
    splits = model.data()
    assert model.output_classes == {"c": ("no", "yes"), "r": None}
    model.fit(*splits.train)
    for broken, message in [({k: v for k, v in arrays.items() if k != "b"}, "no array 'b'"),
                            ({**arrays, "z": arrays["a"]}, "the array 'z' is no input or output"),
                            ({**arrays, "r": arrays["r"][:5]}, "different numbers of samples")]:
        np.savez(tmp_path / "d.npz", **broken)
        with pytest.raises(nnspec.DataError, match=message):
            nnspec.compile(tmp_path / "m.nn").data()


def test_the_estimator_refuses_several_ends_in_one_line():
    pytest.importorskip("sklearn")
    from nnspec.sklearn import Classifier
    clf = Classifier("a: input {n_features}\nb: input 2\nconcat(a, b) -> dense {n_outputs} "
                     "softmax")
    with pytest.raises(ValueError, match="one input and one output"):
        clf.fit(np.zeros((4, 3)), [0, 1, 0, 1])


def test_the_keras_guides_ticket_model_trains_with_its_loss_weights():
    """keras.io's functional API guide: title, body and tags in; priority and
    department out, weighted 1.0 and 0.2; made-up data of its shapes."""
    model = nnspec.compile(MODELS / "keras_issue_triage.nn")
    rng = np.random.default_rng(0)
    n = 64
    x = {"title": rng.integers(0, 10000, (n, 10)), "body": rng.integers(0, 10000, (n, 100)),
         "tags": rng.integers(0, 2, (n, 12)).astype(np.float32)}
    y = {"priority": rng.integers(0, 2, (n, 1)), "department": rng.integers(0, 4, n)}
    history = model.fit(x, y, epochs=3)
    for epoch in range(3):  # the epoch's mean of batches of each: the weighted sum of means
        assert history["loss"][epoch] == pytest.approx(
            history["priority_loss"][epoch] + 0.2 * history["department_loss"][epoch], rel=1e-5)
    assert history["loss"][-1] < history["loss"][0]
    assert model.plan.terms[1].weight == 0.2 and model.graph.acts["department"] == "softmax"
    out = model.predict({k: v[:3] for k, v in x.items()})
    assert out["priority"].min() >= 0 and out["priority"].max() <= 1  # logits: sigmoid applied


def test_every_command_works_on_the_example(tmp_path):
    """train (with --log), compile, inspect and infer (text, JSON, CSV) on the
    language guide's example, each output named in each."""
    import csv
    import json

    from conftest import run_cli
    bundle, log = tmp_path / "ex.nnb", tmp_path / "log.jsonl"
    r = run_cli("train", MODELS / "two_inputs_two_outputs.nn", "-o", bundle, "--set",
                "data=glyphs(200)", "--epochs", "2", "--log", log, "--quiet")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert list(lines[0])[:11] == ["epoch", "loss", "digit_loss", "digit_accuracy", "size_loss",
                                   "size_mae", "val_loss", "val_digit_loss",
                                   "val_digit_accuracy", "val_size_loss", "val_size_mae"]
    assert lines[0]["loss"] == pytest.approx(lines[0]["digit_loss"] + 0.5 * lines[0]["size_loss"],
                                             rel=1e-6)  # batch means summed in float32
    assert lines[-1]["event"] == "test" and "size_mae" in lines[-1]

    out = run_cli("compile", MODELS / "two_inputs_two_outputs.nn", "--graph",
                  tmp_path / "g.png").stdout.splitlines()
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert out[-1] == "outputs: digit (digit, loss cross_entropy), size (size, loss mse, " \
                      "weight 0.5)"
    out = run_cli("inspect", bundle).stdout
    assert "inputs\n  image      28x28x1    pixels: " in out
    assert "\n  meta       4          standard: (x - mean) / std for each of 4 features" in out
    assert "\n  size       1          loss mse, weight 0.5\n" in out
    assert "\n  digit      10         loss cross_entropy, weight 1; classes 0, 1, 2, " in out

    model = nnspec.load(bundle)
    x = {name: part[:3] for name, part in model.data().test[0].items()}
    np.savez(tmp_path / "in.npz", **x)
    want = model.predict(x)
    feed = tmp_path / "in.npz"
    text = run_cli("infer", bundle, feed).stdout.splitlines()
    assert text[0].startswith(f"{feed}[0] digit: {want['digit'][0].argmax()}  (")
    assert text[3] == f"{feed}[0] size: {want['size'][0, 0]:g}"
    got = json.loads(run_cli("infer", bundle, tmp_path / "in.npz", "--format", "json").stdout)
    assert [(g["output"], g["input"]) for g in got] == \
        [(o, f"{feed}[{i}]") for o in ("digit", "size") for i in range(3)]
    assert got[0]["index"] == int(want["digit"][0].argmax())
    assert got[4]["values"] == pytest.approx(want["size"][1].tolist())
    rows = list(csv.DictReader(run_cli("infer", bundle, tmp_path / "in.npz", "--format",
                                       "csv").stdout.splitlines()))
    assert [r["output"] for r in rows] == ["digit"] * 3 + ["size"] * 3
    assert float(rows[5]["values"]) == pytest.approx(float(want["size"][2, 0]), rel=1e-5)


@pytest.mark.parametrize("setting,where", [
    ("early_stopping = early_stopping(2, monitor=val_digit_acuracy)", "early_stopping"),
    ("schedule = plateau(monitor=val_dgit_loss)", "schedule"),
])
def test_a_monitor_that_names_no_recorded_number_is_an_error_at_its_line(setting, where):
    """A misspelt monitor was never found in an epoch's numbers, so training ran
    to the end as if it had no early stopping: now it is an error before any."""
    spec = EXAMPLE.split("train {")[0] + f"train {{\n  {setting}\n}}\n"
    line = spec.splitlines().index(f"  {setting}") + 1
    with pytest.raises(nnspec.SpecError) as e:
        nnspec.compile(spec)
    assert str(e.value).startswith(f"<spec>:{line}:3: {where}: monitor=")
    assert "did you mean 'val_digit_" in str(e.value)


def test_a_callback_watching_no_recorded_number_stops_before_training():
    model = nnspec.compile(GRADIENT_SPECS[1])
    xs, ys = _data(model, 6, np.random.default_rng(0))
    before = model.get_weights()
    stopper = nnspec.EarlyStopping(monitor="val_d1_acc")
    with pytest.raises(nnspec.DataError, match=r"EarlyStopping: monitor=val_d1_acc is no number "
                                               r"training records; did you mean 'val_d1_accuracy'"):
        model.fit(xs, ys, epochs=2, callbacks=[stopper])
    assert model.epoch == 0
    for key, value in before.items():
        np.testing.assert_array_equal(model.weights[key], value)
    model.fit(xs, ys, epochs=1, callbacks=[nnspec.EarlyStopping(monitor="d2_loss")])
