"""What training shows while it runs: a tqdm bar on a terminal, one line per
epoch anywhere else (a log file must not get a line per batch), and a JSON-lines
metrics log for programs."""
import json
import math
import sys
import time

from ..errors import DataError, shown
from .callbacks import Callback


def _numbers(logs):
    return "  ".join(f"{k} {v:.4g}" if k == "lr" else f"{k} {v:.4f}" for k, v in logs.items())


class Progress(Callback):
    """mode: "bar" (tqdm, live loss and metrics), "lines" (one per epoch) or
    "quiet"; by default a bar when the stream is a terminal, else lines.
    Each epoch's result is a line of its own, which a bar never truncates
    (tqdm.write); every: print every n-th epoch's (and the last's), for runs of
    thousands of short epochs."""

    def __init__(self, stream=None, mode=None, every=1):
        self.stream = stream or sys.stdout
        if mode is None:
            isatty = getattr(self.stream, "isatty", None)
            mode = "bar" if isatty is not None and isatty() else "lines"
        if mode not in ("bar", "lines", "quiet"):
            raise ValueError(f"progress mode must be bar, lines or quiet, got {mode!r}")
        self.mode = mode
        self.every = every
        self.bar = None
        self.unshown = None  # the last epoch's line, while `every` has skipped it

    def on_train_begin(self, logs):
        self.epochs, self.batches = logs["epochs"], logs["batches"]
        self.start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs):
        if self.mode == "bar" and self._shown(epoch):
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.batches, initial=logs.get("batch", 0), file=self.stream,
                            desc=f"epoch {epoch}/{self.epochs}", unit="batch", leave=True,
                            dynamic_ncols=True)

    def on_batch_end(self, batch, logs):
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k != "batch_loss"},
                                 refresh=False)
            self.bar.update(1)

    def _shown(self, epoch):
        return epoch % self.every == 0 or epoch == self.epochs

    def on_epoch_end(self, epoch, logs):
        line = (f"epoch {epoch}/{self.epochs}  {_numbers(logs)}  "
                f"({time.perf_counter() - self.start:.1f}s)")
        if self.mode == "quiet":
            return
        if not self._shown(epoch):  # kept in case training ends here (early stopping)
            self.unshown = line
            return
        self.unshown = None
        self._write(line)

    def _write(self, line):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            from tqdm.auto import tqdm
            tqdm.write(line, file=self.stream)  # its own line: the bar's width cannot cut it
        else:
            print(line, file=self.stream, flush=True)

    def on_train_end(self, logs):
        if self.bar is not None:  # stopped inside an epoch
            self.bar.close()
            self.bar = None
        if self.unshown:  # the last epoch, skipped by `every`
            self._write(self.unshown)
            self.unshown = None


class JsonLog(Callback):
    """One JSON object per line: {"epoch": 3, "loss": ..., "time": seconds}, and
    whatever `write` is given (the CLI adds the test results). Appends, so a
    resumed run continues the same log."""

    def __init__(self, path):
        try:
            self.file = open(path, "a", encoding="utf-8")
        except OSError as e:
            raise DataError(f"{shown(path)}: cannot write the log: {e.strerror}") from None
        self.start = time.perf_counter()

    def write(self, record):
        clean = {k: (v if not isinstance(v, float) or math.isfinite(v) else str(v))
                 for k, v in record.items()}  # JSON has no NaN
        try:
            self.file.write(json.dumps(clean) + "\n")
            self.file.flush()
        except OSError as e:  # a full disk, a file size limit
            raise DataError(f"{shown(self.file.name)}: cannot write the log: "
                            f"{e.strerror or e}") from None

    def on_epoch_end(self, epoch, logs):
        self.write({"epoch": epoch, **logs, "time": round(time.perf_counter() - self.start, 3)})

    def close(self):
        try:
            self.file.close()
        except OSError:
            pass  # write() said what went wrong; the close retries the same flush
