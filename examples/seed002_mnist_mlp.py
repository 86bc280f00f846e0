"""Seed 002: a feed-forward network on MNIST with squared-error loss, batches of
64, 5 epochs. Prints per-epoch loss and accuracy on the training set and on the
10000 test images (the seed's validation data), and writes the curves and the
confusion matrix (true classes down, predictions across, as the seed's
prediction matrix).

    python examples/seed002_mnist_mlp.py [FIGURE_DIR]   # default: docs/figures
"""
import time

import nnspec
from nnspec import plots
from paths import OUT, ROOT


start = time.perf_counter()
model = nnspec.compile(ROOT / "models" / "seed002_mnist_mlp.nn")
model.summary()
splits = model.data()
model.fit(*splits.train, validation_data=splits.test, on_epoch=lambda epoch, logs: print(
    f"epoch {epoch}: loss {logs['loss']:.4f} accuracy {logs['accuracy']:.2%}  "
    f"held-out loss {logs['val_loss']:.4f} accuracy {logs['val_accuracy']:.2%}"))
print(f"held-out accuracy after 5 epochs: {model.history['val_accuracy'][-1]:.2%} "
      f"(seed 002: 88.97%), {time.perf_counter() - start:.1f} s")

plots.save(plots.history(model.history, title="seed 002: MNIST MLP, squared error",
                         validation="held out (the 10000 test images)"),
           OUT / "seed002_curves.png")
plots.save(plots.confusion(model, *splits.test, title="seed 002: MNIST test images"),
           OUT / "seed002_confusion.png")
print(f"figures in {OUT}")
