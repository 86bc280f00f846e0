"""The Model: a compiled network with its weights, and the Python API around it.
api.py makes one (compile, load).

    model = nnspec.compile("models/shapes.nn")
    model.fit(x, y); model.predict(x); model.save("shapes.nnb")
    model = nnspec.load("shapes.nnb")
"""
import numpy as np

from . import arrays, prepare
from .engine import memory, parallel, staging, storage, summary
from .engine import preprocess as prep
from .engine.graph import Graph
from .engine.layers.base import Mode
from .engine.staging import PREDICT_BATCH
from .errors import DataError, SpecError
from .files import bundle, checkpoints, document
from .lang import shapes
from .lang.settings import BY_KEY, read_all
from .training import config as settings
from .training import loop as train
from .training.callbacks import assemble
from .training.progress import Progress
from .training.state import TrainingState
from .training.weights import resolve as resolve_weights
from .transfer import Weights


class Model(Weights):
    """A network, its weights, its preprocessing and its training state (state.py).

    weights, graph: what load() read and checked; None draws fresh weights and
    builds the graph. classes, features, preprocessing, history: a bundle's
    (classes {output: names or None}, preprocessing {input: preprocessing})."""

    def __init__(self, network, text, source="<spec>", *, weights=None, graph=None,
                 classes=None, features=None, preprocessing=None, history=None, targets=None,
                 **overrides):
        self.network = network
        self.text = text
        self.source = source
        try:
            self.shapes = graph.shapes if graph is not None else shapes.infer(network)
        except SpecError as e:
            raise e.located(source, text)
        self.graph = graph
        self.overrides = {}
        self.configure(**overrides)
        if graph is None:
            self.graph = Graph(network, self.shapes, self.config.dtype or "float32",
                               self.plan.heads, source)
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
        # one vector holds them all (engine/storage.py); these views are never
        # replaced (set_weights copies into them)
        self.weights = storage.contiguous(weights, storage.layout(self.graph))
        self.state = TrainingState.fresh(self.config, self._seeds[1])
        self.stop_training = False  # a callback sets this to end training
        self.history = dict(history or {})
        self.output_classes = {o.name: None for o in network.outputs} | (classes or {})
        self.features = features  # a CSV's feature column names: infer reads those by name
        self._drawn = None  # (the training x data() made, epoch -> a fresh draw) under resample
        self.trained = None  # {"engine", "device", "processes"} of the last fit
        # what its weights started from (transfer.py): the bundle's record, compile's Report
        self.lineage = self.started_from = None
        # raw input -> network input (engine/preprocess.py), per input: its own scale=,
        # else the train block's; a fitted kind is fitted by data() on the training
        # split, or by the first fit() on its x
        self.preprocessing = {n.name: prep.make(n.p.get("scale") or self.config.scale or "none")
                              for n in network.inputs} | (preprocessing or {})
        # {output: {"mean", "std"}}: targets learnt on unit scale (engine/target_scale.py)
        self.target_scaling, self.table_data = dict(targets or {}), False
        self.meta = {}

    # -- a network of one input and one output: its preprocessing and classes ---------

    @property
    def preprocess(self):
        return self.preprocessing[self.graph.input_name]

    @preprocess.setter
    def preprocess(self, pre):
        self.preprocessing[self.graph.input_name] = pre

    @property
    def classes(self):
        return self.output_classes[self.graph.outputs[0].name]

    @classes.setter
    def classes(self, names):
        self.output_classes[self.graph.outputs[0].name] = names

    def configure(self, **overrides):
        """Replace train-block settings (seed, lr, batch_size, epochs, ...): values or
        spec text, read as the train block's are; None leaves one as it is.
        Overrides are kept in checkpoints, so a resumed run is the same run. Call
        before training: the optimizer is not rebuilt."""
        unknown = set(overrides) - set(BY_KEY)
        if unknown:
            raise TypeError(f"unknown override {sorted(unknown)[0]!r}")
        try:
            overrides = {**self.overrides, **read_all(overrides)}
            config, self.plan = settings.resolve(self.network, self.shapes, overrides)
        except SpecError as e:
            raise e.located(self.source, self.text)
        if self.graph is not None and (config.dtype or "float32") != self.graph.dtype.name:
            raise SpecError(f"dtype: this model computes in {self.graph.dtype.name}; compile "
                            f"the spec again for {config.dtype}", source=self.source)
        self.config, self.overrides = config, overrides
        if self.graph is not None:
            self.graph.use_heads(self.plan.heads)

    # -- the training state, read-only: fit moves it on, load restores it ------------

    epoch = property(lambda self: self.state.epoch, doc="Epochs trained so far.")
    position = property(lambda self: self.state.position, doc="Where an interrupted epoch "
                        "stopped (training/state.Position), or None.")
    optimizer = property(lambda self: self.state.optimizer, doc="The optimizer "
                         "(training/optimizers.py): its state slots and update count.")
    schedule = property(lambda self: self.state.schedule)
    stopper = property(lambda self: self.state.stopper, doc="The train block's early "
                       "stopping (training/callbacks.EarlyStopping), or None.")

    def data(self, data_dir=None):
        """The spec's data set, split train/validation/test, drawn from the seed.
        Named data sets (mnist) are looked for in data_dir first (see data/named.py).
        The model takes its class names and preprocessing from it (prepare.splits)."""
        splits, self.preprocessing = prepare.splits(self, np.random.default_rng(self._seeds[2]),
                                                    data_dir)
        self.output_classes.update(splits.classes)
        self.features = None if splits.columns else splits.features  # a table's: its columns
        self.table_data = bool(splits.columns)
        self.target_scaling = arrays.target_scaling(self, splits.train[1])
        # fit() knows this training x as the spec's, which resample = true draws anew
        self._drawn = None if splits.draw is None else (splits.train[0], splits.draw)
        return splits

    # -- the API -----------------------------------------------------------

    def fit(self, x, y, epochs=None, batch_size=None, validation_data=None, seed=None,
            on_epoch=None, callbacks=(), progress=False, engine="numpy", device="cpu",
            sample_weight=None, class_weight=None, validation_split=None):
        """Train in place for `epochs` more epochs (the spec's by default; an epoch a
        Ctrl-C interrupted is finished first and counts as one).

        callbacks: nnspec.Callback objects; on_epoch(epoch, logs) is a shortcut for
        one. progress: True for a bar on a terminal (a line per epoch elsewhere).
        Returns this call's history; model.history holds every epoch's.
        Ctrl-C stops between two batches and raises TrainingInterrupted, after
        which model.save(path, checkpoint=True) resumes exactly.
        engine: "numpy", or "torch" (PyTorch on `device`, "cpu" or "cuda", and on
        many processes under torchrun: nnspec/pytorch/); the same run either way.
        sample_weight, class_weight (the spec's by default): training/weights.py;
        validation_split: the last share of x, y held out, as Keras (arrays.held_out).
        """
        parallel.check_environment()
        prepare.engine("fit", engine, device)  # before anything of the model is fitted
        epochs, batch_size = prepare.fit_sizes(self, epochs, batch_size)
        if validation_split is not None:
            x, y, sample_weight, validation_data = arrays.held_out(
                self, x, y, sample_weight, validation_split, validation_data)
        redraw = self._redraw(x) if self.config.resample else None
        if not all(map(prep.ready, self.preprocessing.values())):  # numbers from this x
            self.preprocessing = prepare.fitted_scaling(self, x)
        self.target_scaling = arrays.target_scaling(self, y)
        x, targets, validation = prepare.for_fit(self, x, y, validation_data)
        weights = resolve_weights(self, y, train.rows(x), sample_weight, class_weight)
        if seed is not None:  # a fresh shuffling order, from the start of an epoch
            self.state.shuffle_rng = np.random.default_rng(seed)
            self.state.position = None
        callbacks = assemble(callbacks, on_epoch, Progress() if progress else None,
                             self.stopper)
        engine = self._engine(engine, device)
        self.trained = engine.trained if engine is not None else \
            {"engine": "numpy", "device": "cpu", "processes": 1}
        return train.fit(self, x, targets, validation, epochs, batch_size, callbacks, engine,
                         redraw, weights)

    def _redraw(self, x):
        """resample = true: epoch -> its (inputs, targets), a fresh draw of the spec's
        data; fit must be given the training x that data() made."""
        if self._drawn is None or x is not self._drawn[0]:
            raise DataError("resample = true trains every epoch on a fresh draw of the spec's "
                            "data: fit on model.data().train")
        draw = self._drawn[1]

        def redraw(epoch):
            x, y = draw(epoch)
            x = prepare.inputs(self, x)
            return x, prepare.targets(self, x, y)
        return redraw

    def _engine(self, engine, device):
        if engine == "torch":
            from .pytorch.steps import TorchSteps  # torch only when asked for
            return TorchSteps(self, device)
        return None

    def prepare(self, raw):
        """Raw inputs (what the data set holds) -> what the network's first layer
        takes: the model's preprocessing applied. predict, evaluate and fit do this
        themselves; give them raw inputs."""
        return prepare.inputs(self, raw, "raw")

    def predict(self, x, batch_size=PREDICT_BATCH, engine="numpy", device="cpu"):
        """Network outputs, e.g. class probabilities: (batch, *output_shape).
        batch_size bounds how many samples one pass takes; passes are smaller
        where that keeps their arrays in the CPU's cache (engine/staging.py).
        engine="torch": PyTorch's kernels on `device` (nnspec/pytorch/), to rounding."""
        prepare.pass_size("predict", batch_size)
        prepare.engine("predict", engine, device)
        # checked part by part, while each part is in the cache: a pass over all
        # of x first would be read again from memory by the passes
        x, vet = prepare.prepared(self, x)
        if engine == "torch":
            from .pytorch import predict  # torch only when asked for
            return arrays.unscaled(self, predict.predict(self, x, vet, device, batch_size))
        return arrays.unscaled(self, staging.predict(self.graph, self.weights, x, batch_size,
                                                      check=vet))

    def predict_classes(self, x):
        """Predicted class per sample: names where the model knows them, else indices;
        {output name: classes} for several outputs."""
        out = self.predict(x)
        if isinstance(out, dict):
            return {name: prepare.classes_of(o, self.output_classes[name])
                    for name, o in out.items()}
        return prepare.classes_of(out, self.classes)

    def evaluate(self, x, y, batch_size=PREDICT_BATCH):
        """{'loss': ..., 'accuracy' or 'mae': ...} on (x, y)."""
        prepare.pass_size("evaluate", batch_size)
        x = prepare.inputs(self, x)
        return train.evaluate(self.graph, self.weights, x, prepare.targets(self, x, y),
                              self.plan, batch_size, self.target_scaling)

    def gradients(self, x, y, sample_weight=None, class_weight=None):
        """(objective, {parameter: gradient}): the spec's loss (batch mean, or sum with
        `reduction = sum`) plus its regularization, as training minimises it; with
        weights, as fit weighs the batch (training/weights.py)."""
        x = prepare.inputs(self, x)
        weights = resolve_weights(self, y, train.rows(x), sample_weight, class_weight)
        return train.gradients(self.graph, self.weights, x, prepare.targets(self, x, y),
                               self.config, self.plan,
                               train.coefficients(self.graph, self.config, self.overrides),
                               self.training_mode(), weights)

    def training_mode(self):
        """The Mode of the next training step: its random numbers (dropout masks)
        come from the seed and the step number, so a resumed run draws the same."""
        seq = self._seeds[3]
        return Mode(True, np.random.SeedSequence(seq.entropy,
                                                 spawn_key=seq.spawn_key + (self.state.step,)),
                    buffers=self.graph.buffers["train"])

    def set_extras(self, classes=None, features=None, preprocessing=None, targets=None):
        """What a model holds beside its weights, as a bundle stores it (each checked
        there): class names {output: names}, a CSV's feature names, the fitted
        preprocessing {input: preprocessing}, target scaling {output: numbers}."""
        self.output_classes.update(classes or {})
        self.target_scaling.update(targets or {})
        self.preprocessing.update(preprocessing or {})
        if features is not None:
            self.features = features

    def summary(self, print_fn=print):
        print_fn(summary.table(self.graph, self.weights, self.plan.terms))

    def save(self, path, checkpoint=False):
        """Write a bundle; checkpoint=True adds what resuming training needs
        (optimizer and schedule state, epoch and batch, shuffling RNG state)."""
        document.write(path, self, checkpoints.encode(self.state, self.overrides)
                       if checkpoint else None)

    def to_bytes(self, checkpoint=False):
        """The bundle save() writes, as bytes: load("name", data) reads it back."""
        return bundle.pack(document.document(
            self, checkpoints.encode(self.state, self.overrides) if checkpoint else None))
