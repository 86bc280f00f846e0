"""The seeds' networks exactly as their code ran them (models/seeds/), beside
the numbers they reported.

Seed 000: the shapes CNN, its loss figure (every minibatch's training loss,
validation per epoch, the test loss as a line) and both conv layers' Hinton
diagrams. Seed 001: the sine fitted on 1000 fresh points an iteration, 100000
iterations. Seed 004: experiments.py's grid, hidden nodes 2, 4, 8 and 16 at lr 0.1 for
10000 full-batch epochs, over SEEDS seeds, and the seed's one plot of four
labelled loss curves (seed 0). Seed 003: the spiral's validation accuracy on
a fresh 300-point draw, over seeds 0 to 4, and its median.

    python examples/seeds_exact.py [FIGURE_DIR] [SEEDS]   # default: docs/figures, 20
"""
import statistics
import sys
import time

import numpy as np

import nnspec
from nnspec.lang import template
from nnspec import plots
from nnspec.plots import base
from paths import OUT, ROOT

SEEDS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
XOR = (ROOT / "models" / "seeds" / "seed004_xor.nn").read_text()
HIDDEN = (2, 4, 8, 16)


def xor_run(hidden, seed):
    """(mean squared error per epoch, whether the net answers XOR right)."""
    model = nnspec.compile(template.fill(XOR, {"hidden": hidden}), seed=seed)
    x, y = model.data().train
    model.fit(x, y)
    return model.history["loss"], bool(np.array_equal(model.predict(x) > 0.5, y > 0.5))


start = time.perf_counter()
shapes = nnspec.compile(ROOT / "models" / "seeds" / "seed000_shapes.nn")
splits = shapes.data()
losses = []
shapes.fit(*splits.train, validation_data=splits.validation, callbacks=[nnspec.LambdaCallback(
    on_batch_end=lambda batch, logs: losses.append(logs["batch_loss"]))])
test = shapes.evaluate(*splits.test)
shapes.history.update({"test_" + k: [v] for k, v in test.items()})
print(f"seed 000, exact: test accuracy {test['accuracy']:.2%}, loss {test['loss']:.4f}; "
      f"validation loss per epoch {', '.join(f'{v:.4f}' for v in shapes.history['val_loss'])}")
plots.save(plots.batch_losses(losses, shapes.history, title="seed 000's network in nnspec: "
                              "loss per minibatch"), OUT / "seed000_exact_loss.png")
plots.save(plots.kernels(shapes, title="seed 000's network in nnspec: kernels after training"),
           OUT / "seed000_exact_kernels.png")

sine = nnspec.compile(ROOT / "models" / "seeds" / "seed001_sine.nn")
splits = sine.data()
sine.fit(*splits.train, validation_data=splits.validation)
print(f"seed 001's sine, exact: validation loss (half the squared error) "
      f"{sine.history['val_loss'][-1]:.5f}, mean absolute error {sine.history['val_mae'][-1]:.4f} "
      f"after {sine.epoch} iterations on fresh points")
grid = np.linspace(0, 10, 1000)[:, None]  # the seed draws its curve on these
plots.save(plots.regression(sine, grid, np.sin(grid), title="seed 001's sine in nnspec"),
           OUT / "seed001_exact_sine.png")

print("seed 004, exact: hidden nodes, runs that learn XOR of", SEEDS, "seeds, final MSE of "
      "those that do not")
curves = {}
for hidden in HIDDEN:
    runs = [xor_run(hidden, seed) for seed in range(SEEDS)]
    stuck = [f"{losses[-1]:.3f}" for losses, ok in runs if not ok]
    print(f"  {hidden:>2}: {sum(ok for _, ok in runs):>2} learn; stuck at {', '.join(stuck) or '-'}")
    losses, ok = runs[0]
    curves[f"hn_{hidden}-lr_0.1-working-{ok}"] = losses  # as experiments.py names them
fig = base.figure(7, 4.2)
ax = fig.subplots()
for label, losses in curves.items():
    ax.plot(np.arange(1, len(losses) + 1), losses, label=label)
ax.legend()
ax.set_title("Experiments on NNs (seed 004's network in nnspec, seed 0)")
ax.set_xlabel("epochs")
ax.set_ylabel("mean squared error")
plots.save(fig, OUT / "seed004_exact_losses.png")

SPIRAL = ROOT / "models" / "seeds" / "seed003_spiral.nn"
accuracies = []
for seed in range(5):
    model = nnspec.compile(SPIRAL, seed=seed)
    splits = model.data()
    model.fit(*splits.train, validation_data=splits.validation)
    accuracies.append(model.history["val_accuracy"][-1])
print("seed 003's spiral, exact: validation accuracy on a fresh 300-point draw, seeds 0-4: "
      + ", ".join(f"{a:.5f}" for a in accuracies)
      + f"; median {statistics.median(accuracies):.5f} (the seed: 0.86333)")
print(f"{time.perf_counter() - start:.0f} s; figure in {OUT}")
