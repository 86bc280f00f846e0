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
from conftest import MODELS, inputs_for, run_cli

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

def _how(kind):
    """The inputs a kind's example takes: token ids where it starts with an embedding."""
    row = test_gradients._example_row(kind)
    return row[2] if len(row) > 2 else ""


ROWS = [(KINDS[k].example + "\n-> dense 3 softmax", _how(k)) for k in sorted(KINDS)]
ROWS += [(row[0], (row + ("",))[2] if len(row) > 2 and row[2].startswith("ids") else "")
         for row in test_gradients.LAYER_ROWS]
# every shipped spec, the seeds' exact float64 ones (models/seeds/) included
ROWS += [(path.read_text(), "") for path in sorted(MODELS.rglob("*.nn"))]


def _randomized(model, rng):
    """Every weight random (biases, statistics and norms too), variances positive."""
    model.set_weights({k: (np.abs(rng.normal(1.0, 0.3, v.shape)) if k.endswith(".var")
                           else rng.normal(0.0, 0.5, v.shape)) for k, v in model.weights.items()})
    return model


def _inputs(model, how, n, rng):
    """n samples for the model: token ids below VOCAB (how "ids VOCAB"), else as its
    inputs' preprocessing takes them (conftest.inputs_for)."""
    if how.startswith("ids"):
        vocab = int(how[4:])
        return rng.integers(0, vocab, (n,) + model.graph.input_shape).astype(np.float32)
    return inputs_for(model, n, rng)


def _feeds(model, x):
    """The ONNX graph's inputs: `input` for a network of one input and one output,
    else each input by name."""
    if len(model.graph.inputs) == 1 and len(model.graph.outputs) == 1:
        return {"input": x}
    return dict(x)


def _each(out):
    return out.items() if isinstance(out, dict) else [(None, out)]


@pytest.mark.parametrize("spec,how", ROWS, ids=[f"row{i}" for i in range(len(ROWS))])
def test_onnx_export_runs_in_onnxruntime_as_nnspec_predicts(spec, how):
    rng = np.random.default_rng(0)
    model = _randomized(nnspec.compile(spec), rng)
    _inputs(model, how, 2, rng)  # fits a fitted scaling (standard) not fitted yet
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for n in (1, 3, 8):
        x = _inputs(model, how, n, rng)
        got = session.run(None, _feeds(model, x))
        for (name, want), value in zip(_each(model.predict(x)), got):
            assert value.dtype == np.float32  # the export computes in float32, always
            # float32 both sides, other kernels and orders of sums: 1e-5 of the output's
            # scale; a float64 model's weights rounded to float32 (float32's 6e-8) add
            # 1e-4 at most over the seeds' sums of a few thousand products
            tol = 1e-5 if model.graph.dtype == np.float32 else 1e-4
            scale = max(float(np.abs(want).max()), 1.0)
            np.testing.assert_allclose(value, want, rtol=tol, atol=tol * scale, err_msg=name)


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


FLOAT64_SPECS = [p for p in sorted(MODELS.rglob("*.nn")) if "float64" in p.read_text()]


def test_the_float64_seed_specs_are_among_the_exported_rows():
    assert FLOAT64_SPECS and all(p.read_text() in [r[0] for r in ROWS] for p in FLOAT64_SPECS)


def _graph_of_one(op, shapes, attrs):
    from onnx import TensorProto, helper
    inputs = [helper.make_tensor_value_info(f"i{k}", TensorProto.DOUBLE, s)
              for k, s in enumerate(shapes)]
    node = helper.make_node(op, [f"i{k}" for k in range(len(shapes))], ["y"], **attrs)
    graph = helper.make_graph([node], "one", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    return proto


# one float64 node of each operator the export writes, as (input shapes, attributes)
OPERATORS = {
    "Conv": ([(1, 2, 5, 5), (3, 2, 3, 3)], {"kernel_shape": [3, 3]}),
    "AveragePool": ([(1, 2, 4, 4)], {"kernel_shape": [2, 2]}),
    "MaxPool": ([(1, 2, 4, 4)], {"kernel_shape": [2, 2]}),
    "Softplus": ([(2, 3)], {}), "Elu": ([(2, 3)], {}), "Relu": ([(2, 3)], {}),
    "Tanh": ([(2, 3)], {}), "Sigmoid": ([(2, 3)], {}), "Softmax": ([(2, 3)], {"axis": -1}),
    "LeakyRelu": ([(2, 3)], {"alpha": 0.01}), "MatMul": ([(2, 3), (3, 4)], {}),
    "LayerNormalization": ([(2, 3), (3,), (3,)], {"axis": -1}),
    "ReduceMean": ([(2, 3)], {"axes": [1], "keepdims": 0}),
    "RNN": ([(5, 2, 3), (1, 4, 3), (1, 4, 4)], {"hidden_size": 4}),
    "LSTM": ([(5, 2, 3), (1, 16, 3), (1, 16, 4)], {"hidden_size": 4}),
    "GRU": ([(5, 2, 3), (1, 12, 3), (1, 12, 4)], {"hidden_size": 4}),
}


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_the_float64_gaps_are_exactly_what_onnxruntime_lacks(op):
    """export.onnx names the operators onnxruntime has no float64 kernel for, in the
    warning `--dtype float64` prints; this holds the list to the installed one."""
    from nnspec.export.onnx import NO_FLOAT64_IN_ONNXRUNTIME
    shapes, attrs = OPERATORS[op]
    proto = _graph_of_one(op, shapes, attrs)
    rng = np.random.default_rng(0)
    try:
        session = ort.InferenceSession(proto.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        session.run(None, {f"i{k}": rng.random(s) for k, s in enumerate(shapes)})
        runs = True
    except Exception:  # onnxruntime's own errors: NOT_IMPLEMENTED, or at run time
        runs = False
    assert runs == (op not in NO_FLOAT64_IN_ONNXRUNTIME)


def test_float64_on_request_warns_of_what_onnxruntime_cannot_run(tmp_path):
    spec = MODELS / "seeds" / "seed000_shapes.nn"
    r = run_cli("train", spec, "-o", tmp_path / "s.nnb", "--epochs", "1", "-q")
    assert r.returncode == 0, r.stderr
    r = run_cli("export", tmp_path / "s.nnb", "-o", tmp_path / "s32.onnx")
    assert r.returncode == 0 and "float32; the model computes in float64" in r.stdout, r.stderr
    assert r.stderr == ""
    session = ort.InferenceSession(str(tmp_path / "s32.onnx"), providers=["CPUExecutionProvider"])
    model = nnspec.load(tmp_path / "s.nnb")
    x = np.random.default_rng(2).random((4,) + model.graph.input_shape).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x), rtol=1e-4,
                               atol=1e-5)
    r = run_cli("export", tmp_path / "s.nnb", "-o", tmp_path / "s64.onnx", "--dtype", "float64")
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("warning: onnxruntime has no float64 kernel for Conv")
    assert r.stderr.count("\n") == 1
    proto = onnx.load(tmp_path / "s64.onnx")
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
