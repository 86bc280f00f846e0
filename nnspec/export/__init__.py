"""Models that leave nnspec: ONNX (onnx.py). The optional packages are imported
only here, only when asked: `pip install "nnspec[onnx]"`."""
from ..errors import NNSpecError


def need(module, extra):
    """Import an optional package, or one line saying what to install."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise NNSpecError(f"exporting needs {module}: pip install \"nnspec[{extra}]\"") from None


def to_onnx(model, path=None):
    """A Model -> onnx.ModelProto, written to `path` when given (onnx.py)."""
    from .onnx import export
    return export(model, path)


__all__ = ["to_onnx"]
