"""ONNX export checked numerically: every kind's example, every row of the gradient
table (strides, paddings, dilations, bias=false, both recurrent output modes,
causal attention, merges, blocks) and every shipped model, with random weights,
exported, checked with onnx's full checker, run in onnxruntime and compared
with model.predict on several batch sizes. Skipped without onnx and
onnxruntime (`pip install "nnspec[onnx]"`)."""
import json

import numpy as np
import pytest

import nnspec
from nnspec.engine.preprocess import KINDS as KIND_NAMES
from nnspec.export import to_onnx
from nnspec.lang.kinds import KINDS

import test_gradients
from conftest import MODELS, run_cli

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

def _how(kind):
    """The inputs a kind's example takes: token ids where it starts with an embedding."""
    row = test_gradients._example_row(kind)
    return row[2] if len(row) > 2 else ""


ROWS = [(KINDS[k].example + "\n-> dense 3 softmax", _how(k)) for k in sorted(KINDS)]
ROWS += [(row[0], (row + ("",))[2] if len(row) > 2 and row[2].startswith("ids") else "")
         for row in test_gradients.LAYER_ROWS]
ROWS += [((MODELS / name).read_text(), "") for name in sorted(p.name for p in MODELS.glob("*.nn"))]


def _randomized(model, rng):
    """Every weight random (biases, statistics and norms too), variances positive."""
    model.set_weights({k: (np.abs(rng.normal(1.0, 0.3, v.shape)) if k.endswith(".var")
                           else rng.normal(0.0, 0.5, v.shape)) for k, v in model.weights.items()})
    return model


def _inputs(model, how, n, rng):
    shape = (n,) + model.graph.input_shape
    if how.startswith("ids"):
        vocab = int(how[4:])
        return rng.integers(0, vocab, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("spec,how", ROWS, ids=[f"row{i}" for i in range(len(ROWS))])
def test_onnx_export_runs_in_onnxruntime_as_nnspec_predicts(spec, how):
    rng = np.random.default_rng(0)
    model = _randomized(nnspec.compile(spec), rng)
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for n in (1, 3, 8):
        x = _inputs(model, how, n, rng)
        got = session.run(None, {"input": x})[0]
        want = model.predict(x)
        # float32 both sides, other kernels and orders of sums: 1e-5 of the output's scale
        scale = max(float(np.abs(want).max()), 1.0)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale)


def test_the_export_carries_classes_and_preprocessing_and_the_cli_writes_it(tmp_path):
    r = run_cli("train", MODELS / "shapes.nn", "-o", tmp_path / "s.nnb", "--epochs", "1", "-q")
    assert r.returncode == 0, r.stderr
    r = run_cli("export", tmp_path / "s.nnb", "-o", tmp_path / "s.onnx")
    assert r.returncode == 0, r.stderr
    proto = onnx.load(tmp_path / "s.onnx")
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == ["horizontal", "vertical", "cross", "rectangle"]
    assert json.loads(meta["preprocess"]) == {"kind": "pixels", "scale": 1 / 255, "offset": 0.0}
    model = nnspec.load(tmp_path / "s.nnb")
    x = np.random.default_rng(1).random((5, 16, 16, 1), dtype=np.float32)
    session = ort.InferenceSession(str(tmp_path / "s.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x),
                               rtol=1e-5, atol=1e-6)


def scaled_model(kind):
    """A model with the preprocessing of kind, fitted on raw features far from [0, 1]
    (one constant feature: its scale stays 1), and raw inputs of its kind."""
    rng = np.random.default_rng(5)
    raw = rng.normal(40.0, 9.0, (30, 4)) * [1, 3, 0, 1] + [0, 0, 7, 0]
    if kind == "pixels":
        raw = rng.integers(0, 256, (30, 4))
    model = _randomized(nnspec.compile("input 4\ndense 5 tanh -> dense 3 softmax", scale=kind),
                        rng)
    model.fit(raw, rng.integers(0, 3, 30), epochs=1)
    return model, raw[:7].astype(np.float32) / (255 if kind == "pixels" else 1)


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_the_onnx_graph_takes_raw_inputs_as_predict_does(kind):
    model, raw = scaled_model(kind)
    session = ort.InferenceSession(to_onnx(model).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    # float32 both sides, the affine step in another order: 1e-5
    np.testing.assert_allclose(session.run(None, {"input": raw})[0], model.predict(raw),
                               rtol=1e-5, atol=1e-6)


def test_a_bad_output_path_is_one_line(tmp_path):
    model = nnspec.compile("input 4\ndense 2")
    model.save(tmp_path / "m.nnb")
    r = run_cli("export", tmp_path / "m.nnb", "-o", tmp_path / "missing" / "m.onnx")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
