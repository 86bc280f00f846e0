"""Seed 001's three tasks: spiral classification with a two-layer net, sine
regression, and the MNIST CNN (7x7 conv, 4x4 max pooling, two dense layers)
for 5 epochs, evaluated on the 10000 test images after every epoch as the
seed's table is. Writes the decision boundary, the fitted sine, the MNIST
loss and accuracy curves and example predictions.

    python examples/seed001_basics.py [FIGURE_DIR]      # default: docs/figures

MNIST comes from $NNSPEC_DATA or ~/.cache/nnspec, or is downloaded there.
"""
import time

import nnspec
from nnspec import plots
from paths import OUT, ROOT


def train(name, validation="validation"):
    start = time.perf_counter()
    model = nnspec.compile(ROOT / "models" / f"{name}.nn")
    splits = model.data()
    model.fit(*splits.train, validation_data=getattr(splits, validation))
    return model, splits, time.perf_counter() - start


spiral, splits, seconds = train("seed001_spiral")
print(f"spiral: training accuracy {spiral.history['accuracy'][-1]:.2%}, validation "
      f"{spiral.history['val_accuracy'][-1]:.2%} ({seconds:.1f} s)")
plots.save(plots.boundary(spiral, *splits.train), OUT / "seed001_spiral.png")

sine, splits, seconds = train("seed001_sine")
print(f"sine: validation MSE {sine.history['val_loss'][-1]:.5f} ({seconds:.1f} s)")
plots.save(plots.regression(sine, *splits.validation, title="seed 001: sine regression"),
           OUT / "seed001_sine.png")

cnn, splits, seconds = train("seed001_mnist_cnn", validation="test")
h = cnn.history
print("\n| Epoch | Train Loss | Train Accuracy | Test Loss | Test Accuracy |")
print("| --- | --- | --- | --- | --- |")
for e in range(len(h["loss"])):
    print(f"| {e + 1} | {h['loss'][e]:.4f} | {h['accuracy'][e]:.3%} | {h['val_loss'][e]:.4f} | "
          f"{h['val_accuracy'][e]:.3%} |")
print(f"MNIST CNN: {seconds:.0f} s for 5 epochs and 5 test evaluations")
fig = plots.history(h, title="seed 001: MNIST CNN", validation="test (after every epoch)")
plots.save(fig, OUT / "seed001_mnist_curves.png")
plots.save(plots.predictions(cnn, *splits.test, count=16), OUT / "seed001_mnist_predictions.png")
print(f"figures in {OUT}")
