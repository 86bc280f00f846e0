"""An epoch's loss and metrics kept as sums on the engine's device, read when the
loop asks (at the end of the epoch, and after a batch only where a callback
wants that batch's running values), instead of each step's outputs copied to
the host for numpy's metrics. The metrics are training/metrics.py's, as sums
over samples in torch ops (a sample's share of the batch mean, summed)."""
import math
import re
from typing import NamedTuple

from ..training import outputs

def _per_sample(out):
    """Values a sample's mean is over: its outputs (positions of a sequence times
    the classes)."""
    return math.prod(out.shape[1:])


def _positions(out):
    """Predictions a sample holds: one, or one per step of a sequence output."""
    return math.prod(out.shape[1:-1])


# history key -> (out, targets) -> the sum over the batch's samples of its value
SUMS = {
    "accuracy": lambda out, y: (out.argmax(-1) == y.argmax(-1)).sum().to(out.dtype)
    / _positions(out),
    "binary_accuracy": lambda out, y: ((out > 0.5) == (y > 0.5)).sum().to(out.dtype)
    / _per_sample(out),
    "mae": lambda out, y: (out - y).abs().sum() / _per_sample(out),
    "mse": lambda out, y: ((out - y) ** 2).sum() / _per_sample(out),
}


RANKED = re.compile(r"accuracy|top\d+_accuracy")  # metrics of the outputs' order alone


def _top_k(k):
    def metric(out, y):
        if k >= out.shape[-1]:
            return out.new_tensor(float(len(out)))
        score = out.gather(-1, y.argmax(-1, keepdim=True))
        return ((out > score).sum(-1) < k).sum().to(out.dtype) / _positions(out)
    return metric


def sums(keys):
    """[the sum function of each history key] (accuracy, top3_accuracy, ...)."""
    out = []
    for key in keys:
        top = re.fullmatch(r"top(\d+)_accuracy", key)
        out.append(_top_k(int(top.group(1))) if top else SUMS[key])
    return out


class Batch(NamedTuple):
    """What the torch engine's step gives the loop for a batch."""

    value: float  # the batch's mean data loss (its running line's batch_loss)
    sums: object  # Objective.value_and_sums's tensor: the batch's sums of the keys


class Tally:
    """Sums of the numbers training records (keys: training/outputs.keys) over an
    epoch's samples, on the device: each step's Batch sums (the whole batch's
    under DDP), added up. sums_so_far: a Position's, to go on from."""

    def __init__(self, torch, keys, device, sums_so_far=None):
        self.keys = list(keys)
        start = sums_so_far or {}
        # float64 sums, as the numpy loop's Python floats
        self.total = torch.tensor([float(start.get(k, 0.0)) for k in self.keys],
                                  dtype=torch.float64, device=device)
        self.seen = int(start.get("seen", 0))

    def add(self, batch, targets):
        self.total += batch.sums
        self.seen += outputs.rows(targets)

    def sums(self):
        """{key: sum, "seen": samples}, what a Position keeps for a resumed epoch."""
        return {**dict(zip(self.keys, self.total.tolist())), "seen": self.seen}

    def means(self):
        return {k: v / max(self.seen, 1) for k, v in zip(self.keys, self.total.tolist())}

    def running(self, batch_loss):
        """The means so far and this batch's loss: one read from the device."""
        return {**self.means(), "batch_loss": float(batch_loss)}
