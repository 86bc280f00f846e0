"""Seed 000 in Python: train the shapes CNN, save it, reload it, predict.

    python examples/seed000_shapes.py
"""
from pathlib import Path

import numpy as np

import nnspec

SPEC = Path(__file__).resolve().parent.parent / "models" / "shapes.nn"

model = nnspec.compile(SPEC, seed=0)
model.summary()

# The spec's data set (shapes(2000)) split 70/15/15, drawn from the spec's seed.
splits = model.data()
model.fit(*splits.train, validation_data=splits.validation,
          on_epoch=lambda epoch, logs: print(epoch, {k: round(v, 4) for k, v in logs.items()}))
print("test:", model.evaluate(*splits.test))

model.save("shapes.nnb")
reloaded = nnspec.load("shapes.nnb")
x_test, y_test = splits.test
assert np.array_equal(reloaded.predict(x_test), model.predict(x_test))
print("first five test images:", reloaded.predict_classes(x_test[:5]),
      "labels:", [splits.classes[i] for i in y_test[:5]])
