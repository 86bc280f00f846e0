"""nnspec: a small language for neural networks, and the compiler, trainer and
model format around it, in numpy.

Pipeline, one folder per stage, each importing only from the stages before it:
  errors.py -> lang/ (text -> checked IR; no numpy) -> engine/ (IR -> numpy graph)
  -> training/ (the fit loop, optimizers, schedules) -> files/ (bundles, data,
  inference inputs) -> model.py (the Python API) -> cli/ and plots/ on top.
plots/ (figures of trained models, `nnspec plot`) imports matplotlib only when used.

The API names below are imported on first use, so `import nnspec.cli` (the
command's start) and `import nnspec.parse` load no numpy.
"""
__version__ = "0.1.0"

from .errors import BundleError, DataError, NNSpecError, ShapeError, SpecError  # noqa: E402
from .lazy import attributes  # noqa: E402

_LAZY = {"compile": "api", "load": "api", "Model": "model",
         "Callback": "training.callbacks", "EarlyStopping": "training.callbacks",
         "LambdaCallback": "training.callbacks", "TrainingDiverged": "training.loop",
         "TrainingInterrupted": "training.loop"}


__getattr__ = attributes(__name__, _LAZY)


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["compile", "load", "Model", "NNSpecError", "SpecError", "ShapeError", "DataError",
           "BundleError", "TrainingDiverged", "TrainingInterrupted", "Callback",
           "EarlyStopping", "LambdaCallback", "__version__"]
