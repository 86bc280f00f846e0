"""An epoch's loss and metrics kept as sums on the engine's device, read when the
loop asks (at the end of the epoch, and after a batch only where a callback
wants that batch's running values), instead of each step's outputs copied to
the host for numpy's metrics. The metrics are training/metrics.py's, as sums
over samples in torch ops (a sample's share of the batch mean, summed)."""
import re

# history key -> (out, targets) -> the sum over the batch's samples of its value
SUMS = {
    "accuracy": lambda out, y: (out.argmax(-1) == y.argmax(-1)).sum(),
    "binary_accuracy": lambda out, y: ((out > 0.5) == (y > 0.5)).sum().to(out.dtype)
    / out[0].numel(),
    "mae": lambda out, y: (out - y).abs().sum() / out[0].numel(),
    "mse": lambda out, y: ((out - y) ** 2).sum() / out[0].numel(),
}


RANKED = re.compile(r"accuracy|top\d+_accuracy")  # metrics of the outputs' order alone


def _top_k(k):
    def metric(out, y):
        if k >= out.shape[-1]:
            return out.new_tensor(float(len(out)))
        score = out.gather(-1, y.argmax(-1, keepdim=True))
        return ((out > score).sum(-1) < k).sum()
    return metric


def sums(keys):
    """[the sum function of each history key] (accuracy, top3_accuracy, ...)."""
    out = []
    for key in keys:
        top = re.fullmatch(r"top(\d+)_accuracy", key)
        out.append(_top_k(int(top.group(1))) if top else SUMS[key])
    return out


def batch_sums(torch, fns, value, out, t):
    """[the batch's loss sum, each metric's sum] as one tensor (one all_reduce under
    DDP), added into the tally's float64 sums. value: the mean data loss over out's
    samples."""
    parts = [value * out.shape[0]] + [fn(out, t) for fn in fns]
    # stack promotes the counts to the loss's type: exact below 2^24 samples a batch
    return torch.stack(parts) if len(parts) > 1 else parts[0].reshape(1)


class Tally:
    """Sums of the loss and of each metric over an epoch's samples, on the device:
    what the torch engine's step returns as its outputs (batch_sums, the whole
    batch's under DDP), added up. sums_so_far: a Position's, to go on from."""

    def __init__(self, torch, keys, device, sums_so_far=None):
        self.keys = ["loss"] + list(keys)
        start = sums_so_far or {}
        # float64 sums, as the numpy loop's Python floats
        self.total = torch.tensor([float(start.get(k, 0.0)) for k in self.keys],
                                  dtype=torch.float64, device=device)
        self.seen = int(start.get("seen", 0))

    def add(self, value, sums, t):
        self.total += sums
        self.seen += t.shape[0]

    def sums(self):
        """{key: sum, "seen": samples}, what a Position keeps for a resumed epoch."""
        return {**dict(zip(self.keys, self.total.tolist())), "seen": self.seen}

    def means(self):
        return {k: v / max(self.seen, 1) for k, v in zip(self.keys, self.total.tolist())}

    def running(self, batch_loss):
        """The means so far and this batch's loss: one read from the device."""
        return {**self.means(), "batch_loss": float(batch_loss)}
