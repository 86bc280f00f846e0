"""TPE against a grid: seed 001's spiral (models/seed001_spiral.nn), its learning
rate searched by Optuna's TPE sampler (loguniform over [1e-3, 3], 20 trials)
and by a grid of 10 rates spaced evenly in their logarithm over the same range;
the best validation accuracy of each. docs/sweeps.md quotes the numbers.

    python examples/sweep_spiral_lr.py [FOLDER]   # default: a temporary folder
"""
import sys
import tempfile
import time

import numpy as np

import nnspec
from paths import ROOT

SPEC = (ROOT / "models" / "seed001_spiral.nn").read_text()
GRID = [float(f"{lr:.4g}") for lr in np.geomspace(1e-3, 3, 10)]
folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="spiral-lr-")

best = {}
for name, sweep in (
        ("tpe", "  lr = loguniform(1e-3, 3)\n  sampler = tpe\n  trials = 20\n"),
        ("grid", f"  lr = [{', '.join(map(str, GRID))}]\n")):
    start = time.perf_counter()
    text = SPEC + "\nsweep {\n" + sweep + "  objective = maximize(val_accuracy)\n}\n"
    result = nnspec.sweep(text, out=f"{folder}/{name}", study=name, quiet=True)
    top = max(result.trials, key=lambda r: r["value"])
    first = next(i + 1 for i, r in enumerate(result.trials) if r["value"] >= top["value"])
    best[name] = top["value"]
    print(f"{name}: {len(result.trials)} trials in {time.perf_counter() - start:.0f} s; best "
          f"val_accuracy {top['value']:.4f} at lr {top['lr']:.4g} (trial {top['number']}, "
          f"reached at trial {first})")
print(f"TPE - grid: {100 * (best['tpe'] - best['grid']):+.2f} points")
