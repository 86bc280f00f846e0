"""A GIF of training as it happens (seed 003's live animation, as a file).

    model.fit(x, y, callbacks=[plots.Animation("boundary.gif", vx, vy)])

A two-input classifier given points animates its decision boundary; any other
model animates its training curves. About `frames` frames are drawn, evenly
over the run, the last always; the GIF is written when training ends.
"""
import io
import math
from pathlib import Path

from ..errors import DataError
from ..files.io import write_atomic
from ..training.callbacks import Callback
from .base import figure, head, is_classifier, rgb
from .classes import boundary
from .curves import panel

SHOWN = (("loss", "loss"), ("accuracy", "acc"), ("val_accuracy", "val acc"))


class Animation(Callback):
    def __init__(self, path, x=None, y=None, kind=None, frames=40, fps=8):
        if kind not in (None, "boundary", "history"):
            raise ValueError(f"Animation: kind must be 'boundary' or 'history', got {kind!r}")
        path = Path(path)
        if path.suffix.lower() != ".gif" or not path.parent.is_dir():
            # checked now: the GIF is written after training, too late to say so
            raise DataError(f"{path}: an animation is written as a .gif into an existing "
                            "folder")
        self.path, self.x, self.y, self.kind = path, x, y, kind
        self.frames, self.fps = max(int(frames), 1), fps
        self.images = []

    def on_train_begin(self, logs):
        model = self.model
        if self.kind is None:
            two_d = (len(model.graph.inputs) == 1 and len(model.graph.outputs) == 1
                     and model.graph.input_shape == (2,) and is_classifier(head(model)))
            self.kind = "boundary" if two_d and self.x is not None else "history"
        self.start, self.end = model.epoch, logs["epochs"]
        self.every = max(1, math.ceil((self.end - self.start) / self.frames))

    def on_epoch_end(self, epoch, logs):
        if (epoch - self.start) % self.every == 0 or epoch == self.end:
            self.images.append(self._frame(epoch, logs))

    def on_train_end(self, logs):
        self.finish()

    def finish(self):
        """Write the GIF of the frames drawn so far (training calls this at its end)."""
        if not self.images:
            return None
        buf = io.BytesIO()
        durations = [round(1000 / self.fps)] * (len(self.images) - 1) + [2500]
        self.images[0].save(buf, format="GIF", save_all=True, append_images=self.images[1:],
                            duration=durations, loop=0, optimize=True)
        write_atomic(self.path, buf.getvalue())
        return self.path

    def _frame(self, epoch, logs):
        from PIL import Image
        fig = figure(5.2, 4.4)
        ax = fig.subplots()
        if self.kind == "boundary":
            measures = "  ".join(f"{name} {logs[k]:.3f}" for k, name in SHOWN if k in logs)
            boundary(self.model, self.x, self.y, resolution=100,
                     title=f"epoch {epoch}  {measures}", ax=ax, smooth=False)
            ax.title.set_fontsize(9)
        else:
            panel(ax, self.model.history, "loss")
            ax.set_xlim(self.start + 0.5, self.end + 0.5)
            ax.set_title(f"epoch {epoch}: loss {logs['loss']:.4f}")
        pixels = rgb(fig)
        # no dithering: flat colour areas keep the GIF small
        return Image.fromarray(pixels).quantize(colors=64, dither=Image.Dither.NONE)
