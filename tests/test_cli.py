"""The command line as a user runs it: output, files and exit statuses."""
import json

import numpy as np
import pytest

import nnspec

from conftest import MODELS, run_cli


def test_compile_prints_the_summary_table():
    r = run_cli("compile", MODELS / "shapes.nn")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["layer", "spec", "output", "shape", "params", "FLOPs"]
    assert any(l.startswith("conv2") and "14x14x3" in l and " 57" in l for l in lines)
    assert lines[-2] == "total parameters: 59,381"  # 20 + 57 + 58,900 + 404
    # 2 per multiply-add: conv1 2*3*3*1*(16*16*2), conv2 2*3*3*2*(14*14*3), dense 2*588*100, 2*100*4
    assert lines[-1] == "FLOPs per sample: 148.8k (148,784)"


def test_compile_json_prints_the_ir():
    r = run_cli("compile", MODELS / "shapes.nn", "--json")
    ir = json.loads(r.stdout)
    assert [n["kind"] for n in ir["nodes"]] == ["input", "conv", "conv", "dense", "dense"]
    assert ir["nodes"][1]["params"]["kernel"] == [3, 3, 2]
    assert ir["train"]["batch_size"] == 16 and ir["train"]["l2"] == 0.05
    assert ir["outputs"] == [{"name": "dense2", "node": "dense2", "loss": None, "weight": 1.0,
                              "metrics": None, "line": 9}]  # the last layer's line
    ir = json.loads(run_cli("compile", MODELS / "two_inputs_two_outputs.nn", "--json").stdout)
    assert [(o["name"], o["loss"], o["weight"], o["metrics"], o["line"]) for o in ir["outputs"]] \
        == [("digit", "cross_entropy", 1.0, ["accuracy"], 11), ("size", "mse", 0.5, ["mae"], 12)]
    assert [n["name"] for n in ir["nodes"] if n["kind"] == "input"] == ["image", "meta"]


def test_syntax_error_is_one_located_line_and_status_2(tmp_path):
    spec = tmp_path / "bad.nn"
    spec.write_text("input 8x8x1\nconv 3x3x2 same -> -> dense 4\n")
    r = run_cli("compile", spec)
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"error: {spec}:2:20: unexpected '->'")
    assert lines[1].strip() == "conv 3x3x2 same -> -> dense 4"
    assert lines[2].index("^") == lines[1].index("-> dense")
    assert "Traceback" not in r.stderr


def test_shape_error_is_one_located_line_and_status_2(tmp_path):
    spec = tmp_path / "bad.nn"
    spec.write_text("input 5x5x1\nconv 3x3x4 valid\n  -> conv 5x5x2 valid\n")
    r = run_cli("train", spec, "-o", tmp_path / "x.nnb")
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {spec}:3:6: conv2: conv 5x5x2 valid needs at least 5x5 "
                               "input, got 3x3x4 from conv1")
    assert "Traceback" not in r.stderr


def test_missing_file_and_bad_bundle_are_one_line(tmp_path):
    r = run_cli("compile", tmp_path / "nope.nn")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "cannot read spec" in r.stderr
    junk = tmp_path / "junk.nnb"
    junk.write_bytes(b"\x00\x01garbage")
    r = run_cli("infer", junk, tmp_path / "x.npy")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "error:" in r.stderr


def test_train_then_infer(tmp_path):
    bundle = tmp_path / "shapes.nnb"
    r = run_cli("train", MODELS / "shapes.nn", "-o", bundle, "--epochs", "2", "--seed", "5")
    assert r.returncode == 0, r.stderr
    epochs = [l for l in r.stdout.splitlines() if l.startswith("epoch")]
    assert len(epochs) == 2 and "val_accuracy" in epochs[0] and epochs[1].startswith("epoch 2/2")
    assert any(l.startswith("test  loss") for l in r.stdout.splitlines())
    model = nnspec.load(bundle)
    assert len(model.history["loss"]) == 2
    x = np.random.default_rng(0).random((3, 16, 16, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = run_cli("infer", bundle, tmp_path / "x.npy")
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()
    assert len(rows) == 3
    expected = model.predict_classes(x)
    for row, name in zip(rows, expected):
        assert row.split()[1] == name


def test_infer_rejects_inputs_of_the_wrong_shape(tmp_path):
    model = nnspec.compile(MODELS / "shapes.nn")
    model.save(tmp_path / "m.nnb")
    np.save(tmp_path / "x.npy", np.zeros((2, 28, 28)))
    r = run_cli("infer", tmp_path / "m.nnb", tmp_path / "x.npy")
    assert r.returncode == 2
    assert "holds an array of shape (2, 28, 28); the model takes samples of 16x16x1" in r.stderr
    assert r.stderr.count("\n") == 1


def test_bad_overrides_are_one_line_errors(tmp_path):
    r = run_cli("train", MODELS / "shapes.nn", "-o", tmp_path / "x.nnb", "--batch-size", "0")
    assert r.returncode == 2 and "--batch-size: train setting 'batch_size' must be a whole number from 1 to 2,147,483,647, got 0" in r.stderr
    assert r.stderr.count("\n") == 1
    r = run_cli("train", MODELS / "shapes.nn", "-o", tmp_path / "no" / "such" / "dir.nnb",
                "--epochs", "1")
    assert r.returncode == 2 and "cannot write" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("setting,words", [
    ("data = shapes(n=-5)", "5:3: shapes: n must be a positive integer, got -5"),
    ("data = shapes(noise=-1)", "5:3: shapes: noise must be at least 0, got -1"),
    ("data = shapes(size=3)", "5:3: shapes: size must be an integer of at least 8, got 3"),
    ("data = nope", "5:3: unknown data set 'nope'"),
    ("data = shapes(100)\n  split = 0/50/50", "leaves none for training"),
])
def test_bad_data_settings_are_located_one_line_errors(setting, words, tmp_path):
    spec = tmp_path / "d.nn"
    spec.write_text(f"input 16x16x1\nconv 3x3x2 same relu -> dense 4 softmax\n\ntrain {{\n"
                    f"  {setting}\n}}\n")
    r = run_cli("train", spec, "-o", tmp_path / "d.nnb")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: {spec}:") and words in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1


def test_compile_a_graph_shows_inputs_and_draws_it(tmp_path):
    png = tmp_path / "net.png"
    r = run_cli("compile", MODELS / "residual.nn", "--graph", png)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[-1] == "inputs"
    assert any(l.startswith("residual1/add1") and l.endswith("residual1/conv2, stem")
               for l in lines)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    ir = json.loads(run_cli("compile", MODELS / "residual.nn", "--json").stdout)
    add = next(n for n in ir["nodes"] if n["name"] == "residual1/add1")
    assert add["kind"] == "add" and add["inputs"] == ["residual1/conv2", "stem"]
