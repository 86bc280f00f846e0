"""The Model: a compiled network with its weights, and the Python API around it.

    model = nnspec.compile("models/shapes.nn")
    model.fit(x, y); model.predict(x); model.save("shapes.nnb")
    model = nnspec.load("shapes.nnb")
"""
from pathlib import Path

import numpy as np

from .engine import losses, memory, preprocess, staging, summary
from .engine.graph import Graph
from .engine.layers.base import Mode
from .engine.staging import PREDICT_BATCH
from .errors import BundleError, DataError, NNSpecError, SpecError
from .files import bundle, checkpoints, data, document
from .files.document import DTYPES
from .files.inputs import conform
from .files.io import read_spec
from .lang import parse, shapes
from .lang.kinds.base import fmt_shape
from .lang.settings import BY_KEY
from .training import config as settings
from .training import loop as train
from .training import packing
from .training.callbacks import LambdaCallback
from .training.progress import Progress


def compile(text_or_path, dtype=None, seed=None, **overrides):
    """Spec text or a .nn path -> Model with fresh weights.

    dtype: "float32" or "float64"; None takes the train block's `dtype`, else float32.
    seed and overrides (epochs, batch_size, lr, ...) replace the train block's.
    """
    text, source = read_spec(text_or_path)
    network = parse(text, source)
    return Model(network, text, source, dtype=dtype, seed=seed, **overrides)


def load(path, data=None):
    """A .nnb bundle -> Model; or a bundle's bytes as data (Model.to_bytes), path
    then only naming it in messages. Every problem is a BundleError."""
    stored = document.read(path, data)
    try:
        model = Model(stored.network, stored.spec, stored.source, dtype=stored.dtype,
                      weights=stored.weights, **stored.overrides)
    except NNSpecError as e:
        raise BundleError(f"payload.spec: the stored spec does not compile: {e}") from None
    model.classes, model.preprocess, model.history, model.features = \
        stored.classes, stored.preprocess, stored.history, stored.features
    if stored.checkpoint is not None:
        checkpoints.decode(model, stored.checkpoint, stored.version)
    model.meta = stored.meta
    model.trained = stored.meta.get("trained")
    return model


def _check_pass_size(what, batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise DataError(f"{what}: batch_size must be a whole number of at least 1, "
                        f"got {batch_size!r}")


class Model:
    def __init__(self, network, text, source="<spec>", dtype=None, seed=None, weights=None,
                 **overrides):
        """weights: the parameters, as load() checked them; None draws fresh ones."""
        if dtype is None:  # the train block's, checked at its line
            dtype = network.train.dtype if network.train and network.train.dtype else "float32"
        if dtype not in DTYPES:
            raise SpecError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.network = network
        self.text = text
        self.source = source
        try:
            self.shapes = shapes.infer(network)
        except SpecError as e:
            raise e.located(source, text)
        self.graph = Graph(network, self.shapes, dtype)
        self.graph.source = source
        self.overrides = {}
        self.configure(seed=seed, **overrides)
        try:  # what a training step would hold, before any weight exists
            memory.check(self.graph, self.config.batch_size)
        except SpecError as e:
            raise e.located(source, text)
        # init, shuffle, data, and the random numbers of training passes (dropout)
        self._seeds = np.random.SeedSequence(self.config.seed).spawn(4)
        if weights is None:
            try:
                weights = self.graph.init(np.random.default_rng(self._seeds[0]))
            except SpecError as e:
                raise e.located(source, text)
        # one vector holds them all, in the order the trainer's packing wants; these
        # views are never replaced (set_weights copies into them)
        self.weights = packing.contiguous(weights, packing.layout(self.graph, self.config))
        self.optimizer = settings.optimizer(self.config)
        self.packs = {}  # the trainer's packing of the optimizer's steps (training/packing.py)
        self.schedule = settings.schedule(self.config)
        self.stopper = settings.stopper(self.config)  # early stopping, from the train block
        self.shuffle_rng = np.random.default_rng(self._seeds[1])  # persists across fit calls
        self.epoch = 0  # epochs trained so far
        self.position = None  # where an interrupted epoch stopped (train.Position)
        self.stop_training = False  # a callback sets this to end training
        self.history = {}
        self.classes = None
        self.features = None  # a CSV's feature column names: infer reads those by name
        self._drawn = None  # (the training x data() made, epoch -> a fresh draw) under resample
        self.trained = None  # {"engine", "device", "processes"} of the last fit
        # raw input -> network input (engine/preprocess.py); a fitted kind is fitted
        # by data() on the training split, or by the first fit() on its x
        self.preprocess = preprocess.make(self.config.scale or "none")
        self.meta = {}

    def configure(self, **overrides):
        """Replace train-block settings (seed, lr, batch_size, epochs, ...); None
        leaves one as it is. Overrides are kept in checkpoints, so a resumed run
        is the same run. Call before training: the optimizer is not rebuilt."""
        unknown = set(overrides) - set(BY_KEY)
        if unknown:
            raise TypeError(f"unknown override {sorted(unknown)[0]!r}")
        overrides = {**self.overrides, **{k: v for k, v in overrides.items() if v is not None}}
        if "optimizer" in overrides and "optimizer_options" not in overrides:
            overrides["optimizer_options"] = ()  # another optimizer: the spec's options don't apply
        self.overrides = dict(overrides)
        try:
            self.config, output_heads = settings.resolve(self.network, self.shapes, overrides)
        except SpecError as e:
            raise e.located(self.source, self.text)
        self.graph.use_heads(output_heads)
        checkpoints.encode_overrides(self.overrides)  # each must be storable in a checkpoint

    def data(self, data_dir=None):
        """The spec's data set, split train/validation/test, drawn from the seed.
        Named data sets (mnist) are looked for in data_dir first (see data/named.py)."""
        try:
            base = Path(self.source).parent if Path(self.source).is_file() else None
            splits = data.prepare(self.config, np.random.default_rng(self._seeds[2]), data_dir,
                                  base, self.graph.input_shape)
        except DataError as e:  # at the setting the problem is in
            setting = str(e).split(":")[0]
            loc = self.config.loc(setting if setting in ("validation", "resample") else "data")
            where = f"{self.source}:{loc.line}:{loc.column}" if loc else self.source
            raise DataError(f"{where}: {e}") from None
        if splits.classes is not None and len(splits.classes) != document.class_count(self.graph):
            raise DataError(f"{self.source}: the data names {len(splits.classes)} classes, but "
                            f"the model has {self.graph.output_shape[-1]} outputs")
        self.classes = splits.classes
        self.features = splits.features
        # fit() knows this training x as the spec's, which resample = true draws anew
        self._drawn = None if splits.draw is None else (splits.train[0], splits.draw)
        kind = preprocess.kind_of(splits.scale)
        if self.preprocess["kind"] != kind or not preprocess.fitted(self.preprocess):
            # fitted numbers already held (a resumed or fine-tuned model) are kept:
            # the trained weights expect inputs scaled by them
            self.preprocess = preprocess.fit(kind, splits.train[0]) if kind in preprocess.FITTED \
                else preprocess.make(splits.scale)
        return splits

    # -- data checks -------------------------------------------------------

    def _inputs(self, x, what="x"):
        """Raw x -> the network's inputs (preprocessed, the model's dtype), its shape
        and values checked."""
        x, vet = self._prepare(x, what)
        vet(x)
        return x

    def _prepare(self, x, what="x"):
        """Raw x -> (the network's inputs, shape checked, vet: check(part) of their
        values), for a caller that checks part by part (predict)."""
        x = np.asarray(x)
        fitted = conform(x, self.graph.input_shape) if x.ndim else None
        if fitted is None:
            raise self._shape_error(x, what)
        x = fitted
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise DataError(f"{what} must be numeric, got dtype {x.dtype}")
        if not preprocess.fitted(self.preprocess):
            raise DataError(f"the model's {self.preprocess['kind']} scaling is not fitted: "
                            "train it first (fit, or nnspec train)")
        vet = preprocess.vet(self.preprocess, x.dtype, what)
        return preprocess.apply(self.preprocess, x, self.graph.dtype), vet

    def _shape_error(self, x, what):
        """x's shape against the spec's input line, and what to write instead."""
        want = self.graph.input_shape
        node = self.network.input
        where = f"{self.source}:{node.loc.line}" if node.loc else self.source
        sample = x.shape[1:] if x.ndim > 1 else x.shape
        hint = f": write input {fmt_shape(sample)}, or reshape {what}" \
            if len(sample) and min(sample) > 0 else ""
        return DataError(f"{what} has shape {x.shape}: samples of {fmt_shape(sample) or 'one value'}"
                         f", but the spec's input ({where}) takes {fmt_shape(want)}{hint}")

    def _targets(self, x, y, what="y"):
        y = np.asarray(y)
        if len(y) != len(x):
            raise DataError(f"{what} has {len(y)} rows but the inputs have {len(x)}")
        t = losses.targets(y, self.graph.output_shape[-1], self.graph.dtype, self.config.loss,
                           what)
        if t.shape[1:] != self.graph.output_shape:
            raise DataError(f"{what} has shape {y.shape}, the model outputs "
                            f"(batch, {', '.join(map(str, self.graph.output_shape))})")
        return t

    # -- the API -----------------------------------------------------------

    def fit(self, x, y, epochs=None, batch_size=None, validation_data=None, seed=None,
            on_epoch=None, callbacks=(), progress=False, engine="numpy", device="cpu"):
        """Train in place for `epochs` more epochs (the spec's by default; an epoch a
        Ctrl-C interrupted is finished first and counts as one).

        callbacks: nnspec.Callback objects; on_epoch(epoch, logs) is a shortcut for
        one. progress: True for a bar on a terminal (a line per epoch elsewhere).
        Returns this call's history; model.history holds every epoch's.
        Ctrl-C stops between two batches and raises TrainingInterrupted, after
        which model.save(path, checkpoint=True) resumes exactly.
        engine: "numpy", or "torch" (PyTorch on `device`, "cpu" or "cuda", and on
        many processes under torchrun: nnspec/pytorch/); the same run either way.
        """
        epochs = self.config.epochs if epochs is None else epochs
        batch_size = self.config.batch_size if batch_size is None else batch_size
        if batch_size < 1 or epochs < 0:
            raise DataError(f"fit: batch_size must be at least 1 and epochs at least 0, got "
                            f"batch_size={batch_size}, epochs={epochs}")
        if batch_size != self.config.batch_size:
            try:
                memory.check(self.graph, batch_size)
            except SpecError as e:
                raise DataError(f"fit: {e}") from None
        redraw = self._redraw(x) if self.config.resample else None
        if not preprocess.fitted(self.preprocess):  # its numbers come from this x
            self._fit_scaling(x)
        x = self._inputs(x)
        t = self._targets(x, y)
        validation = None
        if validation_data is not None:
            vx = self._inputs(validation_data[0], "validation x")
            validation = (vx, self._targets(vx, validation_data[1], "validation y"))
        if seed is not None:
            self.shuffle_rng = np.random.default_rng(seed)
            self.position = None
        callbacks = list(callbacks)
        if on_epoch is not None:
            callbacks.append(LambdaCallback(on_epoch_end=on_epoch))
        if progress:
            callbacks.insert(0, Progress())
        if self.stopper is not None:
            callbacks.insert(0, self.stopper)
        return train.fit(self, x, t, validation, epochs, batch_size, callbacks,
                         self._engine(engine, device), redraw)

    def _redraw(self, x):
        """resample = true: epoch -> its (inputs, targets), a fresh draw of the spec's
        data; fit must be given the training x that data() made."""
        if self._drawn is None or x is not self._drawn[0]:
            raise DataError("resample = true trains every epoch on a fresh draw of the spec's "
                            "data: fit on model.data().train")
        draw = self._drawn[1]

        def redraw(epoch):
            x, y = draw(epoch)
            x = self._inputs(x)
            return x, self._targets(x, y)
        return redraw

    def _engine(self, engine, device):
        if engine == "torch":
            from .pytorch.steps import TorchSteps  # torch only when asked for
            return TorchSteps(self, device)
        if engine != "numpy" or device != "cpu":
            raise DataError(f"fit: engine is numpy (on the cpu) or torch, got engine={engine!r}, "
                            f"device={device!r}")
        self.trained = {"engine": "numpy", "device": "cpu", "processes": 1}
        return None

    def _fit_scaling(self, x):
        x = np.asarray(x)
        fitted = conform(x, self.graph.input_shape) if x.ndim else None
        if fitted is None:
            raise self._shape_error(x, "x")
        x = fitted
        if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
            raise DataError("x must hold finite numbers to fit the model's "
                            f"{self.preprocess['kind']} scaling")
        self.preprocess = preprocess.fit(self.preprocess["kind"], x)

    def prepare(self, raw):
        """Raw inputs (what the data set holds) -> what the network's first layer
        takes: the model's preprocessing applied. predict, evaluate and fit do this
        themselves; give them raw inputs."""
        return self._inputs(raw, "raw")

    def predict(self, x, batch_size=PREDICT_BATCH, engine="numpy", device="cpu"):
        """Network outputs, e.g. class probabilities: (batch, *output_shape).
        batch_size bounds how many samples one pass takes; passes are smaller
        where that keeps their arrays in the CPU's cache (engine/staging.py).
        engine="torch": PyTorch's kernels on `device` (nnspec/pytorch/), the same
        outputs to float rounding."""
        _check_pass_size("predict", batch_size)
        # checked part by part: a pass over all of x first, which the passes then
        # read again from memory, cost 11% of the MLP benchmark's inference
        x, vet = self._prepare(x)
        if engine == "torch":
            from .pytorch import predict  # torch only when asked for
            return predict.predict(self, x, vet, device, batch_size)
        if engine != "numpy" or device != "cpu":
            raise DataError(f"predict: engine is numpy (on the cpu) or torch, got "
                            f"engine={engine!r}, device={device!r}")
        return staging.predict(self.graph, self.weights, x, batch_size, check=vet)

    def predict_classes(self, x):
        """Predicted class per sample: names where the model knows them, else indices."""
        out = self.predict(x)
        # one output is a probability of the second class (a sigmoid), not a score
        idx = (out[..., 0] > 0.5).astype(np.int64) if out.shape[-1] == 1 else out.argmax(axis=-1)
        return [self.classes[i] for i in idx] if self.classes else idx

    def evaluate(self, x, y, batch_size=PREDICT_BATCH):
        """{'loss': ..., 'accuracy' or 'mae': ...} on (x, y)."""
        _check_pass_size("evaluate", batch_size)
        x = self._inputs(x)
        return train.evaluate(self.graph, self.weights, x, self._targets(x, y),
                              self.config.loss, self.config.metrics, batch_size)

    def gradients(self, x, y):
        """(objective, {parameter: gradient}): the spec's loss (batch mean, or sum with
        `reduction = sum`) plus its regularization, as training minimises it."""
        x = self._inputs(x)
        t = self._targets(x, y)
        coefs = train.coefficients(self.graph, self.config, self.overrides)
        # a training pass moves running statistics (batch norm); this one must not
        kept = {k: self.weights[k].copy() for k, r in self.graph.roles.items() if r == "statistic"}
        try:
            value, _, _, grads = train.objective(self.graph, self.weights, x, t, self.config,
                                                 coefs, self.training_mode())
        finally:
            for key, saved in kept.items():
                np.copyto(self.weights[key], saved)
        return value, grads

    def training_mode(self):
        """The Mode of the next training step: its random numbers (dropout masks)
        come from the seed and the step number, so a resumed run draws the same."""
        seq = self._seeds[3]
        return Mode(True, np.random.SeedSequence(seq.entropy,
                                                 spawn_key=seq.spawn_key + (self.optimizer.t,)),
                    buffers=self.graph.buffers["train"])

    def get_weights(self):
        return {k: v.copy() for k, v in self.weights.items()}

    def set_weights(self, weights):
        """Copy every parameter's values into the model's own arrays (which arrays
        taken from model.weights before see too)."""
        missing = set(self.weights) - set(weights)
        extra = set(weights) - set(self.weights)
        if missing or extra:
            name = sorted(missing or extra)[0]
            raise DataError(f"set_weights: parameter {name!r} is "
                            f"{'missing' if missing else 'not in this model'}")
        values = {name: np.asarray(value) for name, value in weights.items()}
        for name, value in values.items():
            if value.shape != self.weights[name].shape:
                raise DataError(f"set_weights: {name} has shape {value.shape}, "
                                f"expected {self.weights[name].shape}")
        for name, value in values.items():
            np.copyto(self.weights[name], value, casting="unsafe")

    def summary(self, print_fn=print):
        print_fn(summary.table(self.graph, self.weights))

    def save(self, path, checkpoint=False):
        """Write a bundle; checkpoint=True adds what resuming training needs
        (optimizer and schedule state, epoch and batch, shuffling RNG state)."""
        document.write(path, self, checkpoints.encode(self) if checkpoint else None)

    def to_bytes(self, checkpoint=False):
        """The bundle save() writes, as bytes: load("name", data) reads it back."""
        return bundle.pack(document.document(self, checkpoints.encode(self) if checkpoint
                                             else None))
