"""Callbacks: hooks the training loop calls, as in Keras.

    class Plot(nnspec.Callback):
        def on_epoch_end(self, epoch, logs):
            print(epoch, logs["loss"])
    model.fit(x, y, callbacks=[Plot()])

`self.model` is set before training starts; a callback stops training by
setting `self.model.stop_training = True`. Epoch and batch numbers are 1-based.
"""
import copy
import math
import re
from pathlib import Path

import numpy as np

from ..errors import DataError


class Callback:
    model = None

    def on_train_begin(self, logs):
        """logs: {"epochs": the epoch training ends at, "batches": per epoch, "samples"}."""

    def on_epoch_begin(self, epoch, logs):
        """logs: {"batch": batches already done in this epoch (after a resume), ...}."""

    def on_batch_end(self, batch, logs):
        """logs: the epoch's running loss and metrics so far, and batch_loss: this
        batch's mean data loss alone."""

    def on_epoch_end(self, epoch, logs):
        """logs: the epoch's loss and metrics, validation ones (val_*) and lr."""

    def on_train_end(self, logs):
        pass


class LambdaCallback(Callback):
    """A callback from plain functions: LambdaCallback(on_epoch_end=lambda e, logs: ...)."""

    def __init__(self, on_epoch_end=None, on_batch_end=None, on_train_begin=None,
                 on_train_end=None):
        for name, fn in (("on_epoch_end", on_epoch_end), ("on_batch_end", on_batch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end)):
            if fn is not None:
                setattr(self, name, fn)


def assemble(callbacks, on_epoch=None, progress=None, stopper=None):
    """fit's callbacks in the order they run: early stopping first (it decides
    whether the epoch was the last), the progress display, the caller's own, and
    on_epoch(epoch, logs) as a LambdaCallback."""
    out = [c for c in (stopper, progress) if c is not None] + list(callbacks)
    if on_epoch is not None:
        out.append(LambdaCallback(on_epoch_end=on_epoch))
    return out


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs;
    with restore_best_weights, the model ends with its best epoch's weights.

    Without validation data, a val_* monitor falls back to the training metric.
    Accuracies are maximised, everything else minimised.
    """

    OPTIONS = ("patience", "monitor", "min_delta", "restore_best_weights")

    def __init__(self, patience=5, monitor="val_loss", min_delta=0.0, restore_best_weights=True):
        if not (isinstance(patience, int) and patience >= 1):
            raise ValueError(f"patience must be a whole number of epochs >= 1, got {patience}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be at least 0, got {min_delta}")
        if not isinstance(restore_best_weights, bool):
            raise ValueError("restore_best_weights must be true or false")
        self.patience, self.monitor, self.min_delta = patience, str(monitor), float(min_delta)
        self.restore_best_weights = restore_best_weights
        self.sign = -1.0 if "accuracy" in self.monitor else 1.0  # minimise sign * value
        self.best, self.wait, self.best_epoch, self.best_weights = math.inf, 0, 0, None
        self.stopped = self.restored = None  # the epoch it stopped after, and whose weights

    def on_epoch_end(self, epoch, logs):
        value = logs.get(self.monitor, logs.get(self.monitor.removeprefix("val_")))
        if value is None:
            return
        if self.sign * value < self.best - self.min_delta:
            self.best, self.wait, self.best_epoch = self.sign * value, 0, epoch
            if self.restore_best_weights:
                self.best_weights = {k: v.copy() for k, v in self.model.weights.items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.model.stop_training = True
            self.stopped = epoch

    def on_train_end(self, logs):
        self.restored = None
        if self.restore_best_weights and self.best_weights is not None \
                and self.best_epoch != self.model.epoch:
            for k, v in self.best_weights.items():
                np.copyto(self.model.weights[k], v)
            self.restored = self.best_epoch

    def report(self):
        """What early stopping did in the last fit, as a line for people, or None."""
        if self.stopped is None:
            return None
        line = (f"early stopping after epoch {self.stopped}: {self.monitor} did not improve "
                f"by more than {self.min_delta:g} for {self.patience} epochs")
        if self.restored is not None:
            line += f"; restored the weights of epoch {self.restored}"
        return line

    @property
    def state(self):
        """Numbers and arrays for a checkpoint."""
        return {"best": self.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "weights": self.best_weights or {}}

    def load(self, state):
        self.best, self.wait = float(state["best"]), int(state["wait"])
        self.best_epoch = int(state["best_epoch"])
        self.best_weights = copy.copy(state["weights"]) or None


class Checkpoints(Callback):
    """Write a resumable bundle into `directory` before training (epoch-0000.nnb)
    and after every epoch (epoch-0001.nnb, ...). Each write is atomic, so the
    newest file is always a whole one."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.last = None

    def on_train_begin(self, logs):
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DataError(f"{self.directory}: cannot make the checkpoint directory: "
                            f"{e.strerror}") from None
        if self.model.epoch == 0 and self.model.position is None:
            self.save()

    def on_epoch_end(self, epoch, logs):
        self.save()

    def save(self):
        batch = self.model.position.batch if self.model.position else 0
        path = self.directory / checkpoint_name(self.model.epoch, batch)
        self.model.save(path, checkpoint=True)
        self.last = path
        return path


_NAME = re.compile(r"epoch-(\d+)(?:-batch-(\d+))?\.nnb")


def checkpoint_name(epoch, batch=0):
    """epoch-0003.nnb after epoch 3; epoch-0003-batch-00012.nnb 12 batches into epoch 4."""
    return f"epoch-{epoch:04d}" + (f"-batch-{batch:05d}" if batch else "") + ".nnb"


def latest_checkpoint(directory):
    """The newest checkpoint in a directory written by Checkpoints, or None."""
    found = []
    for path in Path(directory).iterdir():
        match = _NAME.fullmatch(path.name)
        if match:
            found.append((int(match[1]), int(match[2] or 0), path))
    return max(found)[2] if found else None
