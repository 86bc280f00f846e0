"""Models that leave nnspec: ONNX (onnx.py) and PyTorch code with safetensors
weights (torch.py). The optional packages are imported only here, only when
asked: `pip install "nnspec[onnx]"` or `"nnspec[torch]"`."""


def to_onnx(model, path=None, dtype="float32"):
    """A Model -> onnx.ModelProto computing in dtype (float32 by default, whatever the
    model's), written to `path` when given (onnx.py)."""
    from .onnx import export
    return export(model, path, dtype)


def to_torch(model, directory):
    """A Model -> DIR/model.py (a torch.nn.Module) and DIR/model.safetensors (torch.py)."""
    from .torch import export
    return export(model, directory)


def from_safetensors(model, path):
    """Weights from a safetensors file into a compiled model (torch.py); returns it."""
    from .torch import import_weights
    return import_weights(model, path)


__all__ = ["to_onnx", "to_torch", "from_safetensors"]
