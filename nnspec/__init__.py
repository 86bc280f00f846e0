"""nnspec: a small language for neural networks, and the compiler, trainer and
model format around it, in numpy.

Pipeline (each module imports only from those before it):
  parse.py (text -> ir) -> shapes.py -> graph.py (+ layers/, activations, losses)
  -> train.py (+ optim, schedules, metrics, callbacks) -> bundle.py -> checkpoints.py
  -> config.py -> model.py (the Python API) -> progress.py, run.py -> cli.py
plots/ (figures of trained models, `nnspec plot`) imports matplotlib only when used.
"""
__version__ = "0.1.0"

from .errors import BundleError, DataError, NNSpecError, ShapeError, SpecError  # noqa: E402
from .callbacks import Callback, EarlyStopping, LambdaCallback  # noqa: E402
from .model import Model, compile, load  # noqa: E402
from .train import TrainingDiverged, TrainingInterrupted  # noqa: E402

__all__ = ["compile", "load", "Model", "NNSpecError", "SpecError", "ShapeError", "DataError",
           "BundleError", "TrainingDiverged", "TrainingInterrupted", "Callback",
           "EarlyStopping", "LambdaCallback", "__version__"]
