"""Masked networks exported (ONNX, the readable PyTorch module) predict as nnspec
does, with padding at the end, in the middle, at the start, none and all
(test_masking.IDS). Skipped without onnx and onnxruntime, or torch."""
import numpy as np
import pytest

import nnspec

from test_masking import HEAD, IDS, MASKED

ROWS = [b for b in MASKED if "dropout" not in b] + [
    "dropout 0.3 -> rnn 2 return_sequences=true -> globalmaxpool",
    "positional -> attention 2 -> layernorm -> lstm 3"]


def _model(body):
    from test_export import _randomized
    return _randomized(nnspec.compile(HEAD + body + " -> dense 3 softmax"),
                       np.random.default_rng(0))


def _close(got, want):
    # float32 both sides, other kernels and orders of sums: 1e-5 of the output's scale
    scale = max(float(np.abs(want).max()), 1.0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize("body", ROWS)
def test_masked_onnx_export_runs_as_nnspec_predicts(body):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from nnspec.export import to_onnx
    model = _model(body)
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = IDS.astype(np.float32)
    _close(session.run(None, {"input": x})[0], model.predict(x))
    _close(session.run(None, {"input": x[:1]})[0], model.predict(x[:1]))


@pytest.mark.parametrize("body", ROWS)
def test_masked_pytorch_export_runs_as_nnspec_predicts(body, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    from nnspec.export import to_torch
    from test_export_torch import _net
    model = _model(body)
    net = _net(to_torch(model, tmp_path / "out"), f"net_{tmp_path.name}")
    x = IDS.astype(np.float32)
    with torch.no_grad():
        _close(net(torch.from_numpy(x)).numpy(), model.predict(x))
