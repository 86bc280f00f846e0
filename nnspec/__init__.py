"""nnspec: a small language for neural networks, and the compiler, trainer and
model format around it, in numpy.

Pipeline (each module imports only from those before it):
  parse.py (text -> ir) -> shapes.py -> graph.py (+ layers/, activations, losses)
  -> train.py (+ optim) -> bundle.py -> model.py (the Python API) -> cli.py
"""
__version__ = "0.1.0"

from .errors import BundleError, DataError, NNSpecError, ShapeError, SpecError  # noqa: E402
from .model import Model, compile, load  # noqa: E402

__all__ = ["compile", "load", "Model", "NNSpecError", "SpecError", "ShapeError", "DataError",
           "BundleError", "__version__"]
