"""Seed 000: the shapes CNN. Trains models/shapes.nn, prints per-epoch and test
results, writes the loss curve (train, validation, and the test line after it),
the Hinton diagrams of both conv layers' kernels and some test predictions,
then saves, reloads and checks the bundle.

    python examples/seed000_shapes.py [FIGURE_DIR]      # default: docs/figures
"""
import time

import numpy as np

import nnspec
from nnspec import plots
from paths import OUT, ROOT


start = time.perf_counter()
model = nnspec.compile(ROOT / "models" / "shapes.nn")
model.summary()
splits = model.data()  # shapes(2000) split 70/15/15, drawn from the spec's seed
model.fit(*splits.train, validation_data=splits.validation,
          on_epoch=lambda epoch, logs: print(epoch, {k: round(v, 4) for k, v in logs.items()}))
test = model.evaluate(*splits.test)
model.history.update({"test_" + k: [v] for k, v in test.items()})
print(f"test: loss {test['loss']:.4f}, accuracy {test['accuracy']:.2%} "
      f"({time.perf_counter() - start:.1f} s)")

plots.save(plots.history(model.history, title="seed 000: shapes CNN"), OUT / "seed000_loss.png")
plots.save(plots.kernels(model, title="seed 000: kernels after training"),
           OUT / "seed000_kernels.png")
plots.save(plots.predictions(model, *splits.test, count=8), OUT / "seed000_predictions.png")

model.save("shapes.nnb")
reloaded = nnspec.load("shapes.nnb")
x_test, y_test = splits.test
assert np.array_equal(reloaded.predict(x_test), model.predict(x_test))
print("first five test images:", reloaded.predict_classes(x_test[:5]),
      "labels:", [splits.classes[i] for i in y_test[:5]])
print(f"figures in {OUT}")
