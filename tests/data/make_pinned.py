"""Writes the pinned bundle the tests keep reading. Run once per format version,
never again for the same one: the point is that old files keep loading.

    python tests/data/make_pinned.py
"""
from pathlib import Path

import numpy as np

import nnspec

here = Path(__file__).parent
model = nnspec.compile(here.parent.parent / "models" / "shapes.nn", epochs=1, seed=0)
splits = model.data()
model.fit(*splits.train)
version = "1.0"
model.save(here / f"shapes-{version}.nnb")
x = splits.test[0][:16]
np.save(here / f"shapes-{version}-inputs.npy", x)
np.save(here / f"shapes-{version}-outputs.npy", model.predict(x))
