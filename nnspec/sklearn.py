"""nnspec models as scikit-learn estimators: Classifier and Regressor.

    from nnspec.sklearn import Classifier
    clf = Classifier("input {n_features}\\ndense {width} relu -> dense {n_outputs} softmax",
                     width=32, epochs=30, lr=0.01, optimizer="adam", scale="standard")
    cross_val_score(clf, X, y, cv=5)
    GridSearchCV(clf, {"width": [16, 64], "lr": [0.01, 0.1]}).fit(X, y)

Parameters:
- spec: spec text or a .nn path; None is an MLP like scikit-learn's (one hidden
  layer of 100 relu units, adam, standardised inputs).
- every train-block setting (lr, epochs, batch_size, optimizer, schedule, l2,
  seed, scale, ...), None by default: the spec's own. A value is a number or
  spec text ("sgd(momentum=0.9)", "cosine(warmup=2)").
- {name} placeholders in the spec: each a parameter of its own, so GridSearchCV
  can search a layer's width. {n_features} and {n_outputs} are filled in by fit
  from the data (columns; classes, or regression targets).
- category: X's category columns (names of a DataFrame's columns, or indices),
  one-hot over the values fit sees, with a slot for values it never saw; the
  other columns are numbers. text: X's one column, a text, as token ids (the
  spec's input long, its embedding's VOCAB ids in all; engine/tables.py), the
  vocabulary fitted on fit's X. sample_weight and class_weight weigh the loss.

fit starts from fresh weights; partial_fit trains one more epoch (and starts
where nothing is fitted yet). The network computes in X's float type unless
the spec or `dtype` says, as scikit-learn's MLPs do. X is a 2-d array of
samples, each row reshaped to the spec's input; the spec's `scale` is fitted
on fit's X and applied by predict.
scikit-learn is needed only here: `pip install "nnspec[sklearn]"`.
"""
import inspect
import re
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .errors import NNSpecError, SpecError
from .files.io import read_spec
from .lang import parse
from .lang.settings import SETTINGS, read
from .api import compile as compile_model
from .api import load as load_model
from .sklearn_columns import fresh_model

PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")
BLOCK_PARAMETERS = re.compile(r"\bblock\s+[A-Za-z_]\w*\s*\(([^)]*)\)")  # {name} too, theirs
FILLED = ("n_features", "n_outputs")  # placeholders fit fills in from the data
# the train settings an estimator takes: data comes from fit's X and y (resample has none to
# draw), and an optimizer's options are written inside its value ("sgd(momentum=0.9)")
PARAMETERS = tuple(s.key for s in SETTINGS if s.key not in ("data", "resample",
                                                            "optimizer_options"))


def _mlp(output, loss):
    return ("input {n_features}\ndense 100 relu -> dense {n_outputs} " + output +
            "\ntrain {\n  loss = " + loss + "\n  optimizer = adam\n  lr = 0.003\n"
            "  epochs = 40\n  batch_size = 32\n  scale = standard\n}\n")


def _signature(cls):
    """__init__'s signature lists spec and every train setting, so that scikit-learn's
    get_params, clone and estimator checks see them. Placeholders are taken as
    further keywords and listed by get_params, which reads them from the spec."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    cls.__init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
         inspect.Parameter("spec", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
         inspect.Parameter("category", keyword, default=None),
         inspect.Parameter("text", keyword, default=None)]
        + [inspect.Parameter(k, keyword, default=None) for k in PARAMETERS])
    return cls


@_signature
class _Estimator(BaseEstimator):
    DEFAULT = None  # the spec when none is given

    def __init__(self, spec=None, category=None, text=None, **params):
        self.spec, self.category, self.text = spec, category, text  # X's typed columns
        for key in PARAMETERS:
            setattr(self, key, params.pop(key, None))
        for key, value in params.items():  # the spec's placeholders
            setattr(self, key, value)

    # -- parameters: the spec, every train setting, the spec's placeholders --------

    def get_params(self, deep=True):
        params = super().get_params(deep)
        for name in self._placeholders():
            params[name] = getattr(self, name, None)
        return params

    def _text(self):
        spec = self.spec if self.spec is not None else self.DEFAULT
        if not isinstance(spec, (str, Path)):
            raise ValueError(f"spec must be spec text or a .nn path, got {type(spec).__name__}")
        try:  # the CLI's reader: regular files only, bounded, UTF-8, one-line errors
            return read_spec(spec)[0]
        except NNSpecError as e:
            raise ValueError(str(e)) from None

    def _placeholders(self):
        try:
            text = self._text()
        except ValueError:  # get_params must not fail; fit says what is wrong
            return []
        own = {p.strip() for params in BLOCK_PARAMETERS.findall(text) for p in params.split(",")}
        return [n for n in dict.fromkeys(PLACEHOLDER.findall(text)) if n not in {*FILLED, *own}]

    def _overrides(self):
        """The settings given as parameters, read as every setting is (lang/settings.read)."""
        out = {}
        for key in PARAMETERS:
            value = getattr(self, key, None)
            if value is None or (key == "class_weight" and isinstance(value, dict)):
                continue  # a map by y's labels: fit maps it to the classes' indices
            try:
                out.update(read(key, value))
            except SpecError as e:
                raise ValueError(f"{key}: {e.message}") from None
        return out

    def _compile(self, n_features, n_outputs, dtype):
        text = self._text()
        values = {name: getattr(self, name, None) for name in self._placeholders()}
        stray = sorted(k for k in vars(self) if not k.endswith("_") and not k.startswith("_")
                       and k not in {"spec", "category", "text", *PARAMETERS, *values})
        if stray:
            raise ValueError(f"{stray[0]} is neither a train setting nor a {{placeholder}} of "
                             "the spec")
        missing = [name for name, value in values.items() if value is None]
        if missing:
            raise ValueError(f"the spec's placeholder {{{missing[0]}}} has no value: give "
                             f"{missing[0]}=... to the estimator")
        values.update(n_features=n_features, n_outputs=n_outputs)
        text = PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)
        try:
            overrides = self._overrides()
            train = parse(text).train
            if train and train.resample:
                raise ValueError("the spec says resample = true, which draws the spec's own "
                                 "data anew each epoch; an estimator trains on fit's X and y")
            if "dtype" not in overrides and not (train and train.dtype):
                # as scikit-learn's MLPs: the network computes in X's float type
                overrides["dtype"] = dtype.name
            model = compile_model(text, **overrides)
        except NNSpecError as e:
            raise ValueError(str(e)) from None
        graph = model.graph
        if len(graph.inputs) > 1 or len(graph.outputs) > 1:
            raise ValueError(f"an estimator takes a spec of one input and one output, as "
                             f"scikit-learn's X and y are; this one has inputs "
                             f"{', '.join(graph.inputs)} and outputs "
                             f"{', '.join(o.name for o in graph.outputs)}: use nnspec.compile")
        return model

    # -- data --------------------------------------------------------------------

    def _dtype(self):
        """validate_data's dtype: a table's strings are kept where columns are typed."""
        return None if self._typed() else (np.float64, np.float32)

    def _typed(self):  # whether X's columns have types (category, text)
        return self.category is not None or self.text is not None

    def _samples(self, X, reset):
        return self._shaped(validate_data(self, X, reset=reset, dtype=self._dtype()))

    def _shaped(self, X):
        shape = self.model_.graph.input_shape if hasattr(self, "model_") else None
        if self._typed():
            return X  # a table's rows, which the model's columns read
        if shape is None or X.shape[1:] == shape:
            return X
        if X.shape[1] != int(np.prod(shape)):
            raise ValueError(f"X has {X.shape[1]} features, but the spec's input "
                             f"{'x'.join(map(str, shape))} takes {int(np.prod(shape))}")
        return X.reshape((len(X),) + shape)

    def _train(self, X, targets, n_outputs, epochs=None, sample_weight=None, class_weight=None):
        if not hasattr(self, "model_"):
            self.model_ = fresh_model(self, X, n_outputs)
        X = self._shaped(X)
        try:
            self.model_.fit(X, targets, epochs=epochs, sample_weight=sample_weight,
                            class_weight=class_weight)
        except NNSpecError as e:
            raise ValueError(str(e)) from None
        self.n_iter_ = self.model_.epoch
        return self

    def _outputs(self, X):
        check_is_fitted(self, "model_")
        X = self._samples(X, reset=False)
        try:
            return self.model_.predict(X)
        except NNSpecError as e:
            raise ValueError(str(e)) from None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False  # the spec's seed draws everything
        return tags

    # pickling (joblib's workers, GridSearchCV(n_jobs=...)) carries the trained
    # model as its bundle, checkpoint and all: data only, and partial_fit resumes
    def __getstate__(self):
        state = dict(self.__dict__)
        if "model_" in state:
            state["model_"] = state["model_"].to_bytes(checkpoint=True)
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), bytes):
            state["model_"] = load_model("<pickled estimator>", state["model_"])
        self.__dict__.update(state)


class Classifier(ClassifierMixin, _Estimator):
    """An nnspec network as a scikit-learn classifier (see the module's text)."""

    DEFAULT = _mlp("softmax", "cross_entropy")

    def fit(self, X, y, sample_weight=None):
        for name in ("model_", "classes_", "encoder_"):
            self.__dict__.pop(name, None)
        return self.partial_fit(X, y, epochs=None, sample_weight=sample_weight)

    def partial_fit(self, X, y, classes=None, epochs=1, sample_weight=None):
        """One more epoch on (X, y) (the spec's epochs when called by fit); the first
        call takes the classes from `classes`, else from y."""
        X, y = validate_data(self, X, y, reset=not hasattr(self, "model_"), dtype=self._dtype())
        check_classification_targets(y)
        if not hasattr(self, "encoder_"):
            encoder = LabelEncoder().fit(y if classes is None else classes)
            if len(encoder.classes_) < 2:
                raise ValueError("y holds one class; a classifier needs at least two")
            self.encoder_, self.classes_ = encoder, encoder.classes_
        unseen = set(np.unique(y)) - set(self.classes_)
        if unseen:
            raise ValueError(f"y holds classes not given at the first fit: {sorted(unseen)[:3]}")
        weights = self.class_weight
        if isinstance(weights, dict):  # scikit-learn's: by y's own labels
            unknown = [k for k in weights if k not in self.classes_]
            if unknown:
                raise ValueError(f"class_weight names the class {unknown[0]!r}, which y does "
                                 f"not hold (classes: {list(self.classes_)})")
            weights = {int(self.encoder_.transform([k])[0]): v for k, v in weights.items()}
        return self._train(X, self.encoder_.transform(y), len(self.classes_), epochs,
                           sample_weight, weights if isinstance(weights, dict) else None)

    def predict_proba(self, X):
        out = self._outputs(X)
        return np.hstack([1 - out, out]) if out.shape[1] == 1 else out

    def predict(self, X):
        index = self.predict_proba(X).argmax(axis=1)  # first: NotFittedError if unfitted
        return self.classes_[index]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class Regressor(RegressorMixin, _Estimator):
    """An nnspec network as a scikit-learn regressor (see the module's text)."""

    DEFAULT = _mlp("linear", "mse")

    def fit(self, X, y, sample_weight=None):
        self.__dict__.pop("model_", None)
        return self.partial_fit(X, y, epochs=None, sample_weight=sample_weight)

    def partial_fit(self, X, y, epochs=1, sample_weight=None):
        X, y = validate_data(self, X, y, reset=not hasattr(self, "model_"), y_numeric=True,
                             multi_output=True, dtype=self._dtype())
        self._targets_2d = y.ndim == 2
        outputs = y.shape[1] if y.ndim == 2 else 1
        return self._train(X, y.reshape(len(y), outputs), outputs, epochs, sample_weight)

    def predict(self, X):
        # float64, as scikit-learn's regressors return (a float32 network's values)
        out = self._outputs(X).astype(np.float64)
        return out if self._targets_2d else out[:, 0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y of several columns: as many outputs
        return tags
