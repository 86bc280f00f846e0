"""The optional extras (onnx, torch, scikit-learn, pygls): imported only when asked,
and a missing one is one line that says what to install."""
from .errors import NNSpecError


def need(module, extra, purpose="exporting"):
    """Import an optional package, or one line saying what to install."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise NNSpecError(f"{purpose} needs {module}: pip install \"nnspec[{extra}]\"") from None
