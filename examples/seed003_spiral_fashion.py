"""Seed 003 (after nnfs.io): the spiral classifier with L2 and Adam, animated
while it trains, then a Fashion-MNIST classifier's class probabilities for one
test image, printed as seed 003 prints them and drawn as bars.

    python examples/seed003_spiral_fashion.py [FIGURE_DIR]   # default: docs/figures
"""
import time

import numpy as np

import nnspec
from nnspec import plots
from paths import OUT, ROOT


start = time.perf_counter()
spiral = nnspec.compile(ROOT / "models" / "seed003_spiral.nn")
splits = spiral.data()
animation = plots.Animation(OUT / "seed003_boundary.gif", *splits.validation)
spiral.fit(*splits.train, validation_data=splits.validation, callbacks=[animation])
print(f">>> Accuracy : {spiral.history['val_accuracy'][-1]:.5f}")
print(f">>> Loss     : {spiral.history['val_loss'][-1]:.5f}")
print(f"(validation, {len(splits.validation[0])} points; seed 003: 0.86333 and 0.39588; "
      f"{time.perf_counter() - start:.1f} s with the animation)")
plots.save(plots.boundary(spiral, *splits.validation), OUT / "seed003_boundary.png")

start = time.perf_counter()
fashion = nnspec.compile(ROOT / "models" / "seed003_fashion.nn")
splits = fashion.data()
fashion.fit(*splits.train)
print(f"\nFashion-MNIST test accuracy {fashion.evaluate(*splits.test)['accuracy']:.2%} "
      f"({time.perf_counter() - start:.1f} s)")
x_test, y_test = splits.test
shirt = int(np.flatnonzero(y_test == 0)[0])  # the first T-shirt/top among the test images
probs = fashion.predict(x_test[shirt])[0]
print(f"Prediction  : {fashion.classes[int(probs.argmax())]}")
for name, p in zip(fashion.classes, probs):
    print(f"{name:<11} : {p:.3f}")
plots.save(plots.probabilities(fashion, x_test[shirt], label=fashion.classes[0]),
           OUT / "seed003_fashion_probabilities.png")
print(f"figures in {OUT}")
