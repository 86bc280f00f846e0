"""The two ways to a Model: compile a spec (fresh weights), or load a bundle."""
from .errors import BundleError, NNSpecError
from .files import checkpoints, document
from .files.io import read_spec
from .lang import parse
from .model import Model
from .training import loop as train


def compile(text_or_path, dtype=None, seed=None, **overrides):
    """Spec text or a .nn path -> Model with fresh weights.

    dtype: "float32" or "float64"; None takes the train block's `dtype`, else float32.
    seed and overrides (epochs, batch_size, lr, ...; values or spec text) replace the
    train block's settings.
    """
    text, source = read_spec(text_or_path)
    network = parse(text, source)
    return Model(network, text, source, dtype=dtype, seed=seed, **overrides)


def load(path, data=None):
    """A .nnb bundle -> Model; or a bundle's bytes as data (Model.to_bytes), path
    then only naming it in messages. Every problem is a BundleError."""
    stored = document.read(path, data)
    written = stored.network.train.dtype if stored.network.train else None
    overrides = dict(stored.overrides)
    if stored.dtype != (written or "float32"):  # compiled with compile(dtype=...)
        overrides["dtype"] = stored.dtype
    try:
        model = Model(stored.network, stored.spec, stored.source, weights=stored.weights,
                      graph=stored.graph, classes=stored.classes, features=stored.features,
                      preprocessing=stored.preprocessing, history=stored.history,
                      **overrides)
    except NNSpecError as e:
        raise BundleError(f"payload.spec: the stored spec does not compile: {e}") from None
    if stored.checkpoint is not None:
        model.state = checkpoints.decode(
            stored.checkpoint, model.state, model.graph, model.config, model.plan,
            train.coefficients(model.graph, model.config, model.overrides), stored.version)
    model.meta = stored.meta
    model.trained = stored.meta.get("trained")
    return model
