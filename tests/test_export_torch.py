"""PyTorch export checked numerically: the generated model.py with its
model.safetensors reproduces model.predict for every kind's example, every row
of the gradient table and every shipped model (random weights, 1e-5 of the
output's scale), and export -> import gives a bundle whose predictions are
bit-identical. Skipped without torch and safetensors (`pip install
"nnspec[torch]"`)."""
import importlib.util

import numpy as np
import pytest

import nnspec
from nnspec.export import from_safetensors, to_torch

from conftest import MODELS, inputs_for, run_cli
from test_export import KIND_NAMES, ROWS, _inputs, _randomized, scaled_model

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")


def _net(directory, name):
    spec = importlib.util.spec_from_file_location(name, directory / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from safetensors.torch import load_file
    net = module.Net()
    net.load_state_dict(load_file(directory / "model.safetensors"))  # strict: every name
    return net.eval()


@pytest.mark.parametrize("spec,how", ROWS, ids=[f"row{i}" for i in range(len(ROWS))])
def test_generated_pytorch_predicts_as_nnspec(spec, how, tmp_path):
    rng = np.random.default_rng(0)
    model = _randomized(nnspec.compile(spec), rng)
    _inputs(model, how, 2, rng)  # fits a fitted scaling (standard) not fitted yet
    net = _net(to_torch(model, tmp_path / "out"), f"net_{tmp_path.name}")
    for n in (1, 3, 8):
        x = _inputs(model, how, n, rng)
        with torch.no_grad():  # the inputs by name; several outputs come back by name
            got = net(**{k: torch.from_numpy(v) for k, v in x.items()}) \
                if isinstance(x, dict) else net(torch.from_numpy(x))
        want = model.predict(x)
        for name, value in (want.items() if isinstance(want, dict) else [(None, want)]):
            scale = max(float(np.abs(value).max()), 1.0)  # float32, other kernels: 1e-5
            np.testing.assert_allclose((got[name] if name else got).numpy(), value,
                                       rtol=1e-5, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("name", ["residual.nn", "mnist.nn", "two_inputs_two_outputs.nn"])
def test_export_then_import_gives_bit_identical_predictions(name, tmp_path):
    spec = MODELS / name
    model = _randomized(nnspec.compile(spec), np.random.default_rng(3))
    x = inputs_for(model, 5, np.random.default_rng(4))
    model.save(tmp_path / "m.nnb")
    r = run_cli("export", tmp_path / "m.nnb", "--format", "torch", "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "class Net(nn.Module)" in (tmp_path / "out" / "model.py").read_text()
    r = run_cli("import", tmp_path / "out" / "model.safetensors", "--spec", spec, "-o",
                tmp_path / "back.nnb")
    assert r.returncode == 0, r.stderr
    back, saved = nnspec.load(tmp_path / "back.nnb"), nnspec.load(tmp_path / "m.nnb")
    assert back.preprocessing == saved.preprocessing
    assert back.output_classes == saved.output_classes
    got, want = back.predict(x), saved.predict(x)
    for name in (want if isinstance(want, dict) else [None]):
        assert np.array_equal(got[name] if name else got, want[name] if name else want)


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_the_module_takes_raw_inputs_and_import_brings_the_scaling_back(kind, tmp_path):
    model, raw = scaled_model(kind)
    model.classes = ("a", "b", "c")
    net = _net(to_torch(model, tmp_path / "out"), f"net_{kind}")
    with torch.no_grad():
        got = net(torch.from_numpy(raw)).numpy()
    # float32 both sides, the affine step in another order: 1e-5
    np.testing.assert_allclose(got, model.predict(raw), rtol=1e-5, atol=1e-6)
    back = from_safetensors(nnspec.compile(model.text, scale=kind),
                            tmp_path / "out" / "model.safetensors")
    assert back.preprocess == model.preprocess and back.classes == model.classes
    assert np.array_equal(back.predict(raw), model.predict(raw))


def test_weights_trained_in_pytorch_come_back(tmp_path):
    """A state_dict saved by safetensors.torch, after training in PyTorch, imports."""
    from safetensors.torch import save_file
    model = nnspec.compile("input 4\ndense 3 relu -> dense 2 softmax")
    net = _net(to_torch(model, tmp_path / "out"), "net_trained")
    with torch.no_grad():
        for value in net.parameters():
            value.add_(0.25)
    save_file(net.state_dict(), tmp_path / "trained.safetensors")
    back = from_safetensors(nnspec.compile("input 4\ndense 3 relu -> dense 2 softmax"),
                            tmp_path / "trained.safetensors")
    np.testing.assert_array_equal(back.weights["dense1.W"], model.weights["dense1.W"] + 0.25)


def test_import_of_the_wrong_weights_is_one_line(tmp_path):
    model = nnspec.compile("input 4\ndense 3 softmax")
    model.save(tmp_path / "m.nnb")
    to_torch(model, tmp_path / "out")
    (tmp_path / "other.nn").write_text("input 4\ndense 5 softmax\n")
    r = run_cli("import", tmp_path / "out" / "model.safetensors", "--spec", tmp_path / "other.nn",
                "-o", tmp_path / "b.nnb")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    assert "dense1.W has shape [4, 3], the spec needs [4, 5]" in r.stderr
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors")
    r = run_cli("import", tmp_path / "junk.safetensors", "--spec", tmp_path / "other.nn",
                "-o", tmp_path / "b.nnb")
    assert r.returncode == 2 and "not a readable safetensors file" in r.stderr
