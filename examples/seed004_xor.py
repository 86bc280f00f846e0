"""Seed 004: the XOR gate with two-layer sigmoid networks, over a grid of hidden
sizes and learning rates, each run from several seeds: one sweep (nnspec sweep,
docs/sweeps.md) of models/seed004_xor.nn with its hidden size a placeholder.
Prints how often each setting fails to learn the gate and draws the loss curves
of one seed's runs, labelled as seed 004 labels them (hn_: hidden nodes, lr_:
learning rate, ok_: whether the trained net gives XOR's four answers: its mean
squared error below 1/16, so that each answer is within 0.5 of its target).

    python examples/seed004_xor.py [FIGURE_DIR] [SEEDS]   # default: docs/figures, 20
"""
import json
import sys
import tempfile
import time

import numpy as np

import nnspec
from nnspec import plots
from nnspec.plots import base
from paths import OUT, ROOT

SEEDS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
HIDDEN = (2, 3, 4, 8)
RATES = (0.5, 1.0, 2.0)
SPEC = (ROOT / "models" / "seed004_xor.nn").read_text().replace(
    "dense 4 sigmoid", "dense {hidden=4} sigmoid") + f"""
sweep {{
  hidden = [{", ".join(map(str, HIDDEN))}]
  lr = [{", ".join(map(str, RATES))}]
  seed = range({SEEDS})
  objective = minimize(loss)
}}
"""

start = time.perf_counter()
folder = tempfile.mkdtemp(prefix="seed004-sweep-")
result = nnspec.sweep(SPEC, out=folder, jobs=2, quiet=True)
histories = {}
with open(f"{folder}/trials.jsonl") as lines:
    for line in lines:
        record = json.loads(line)
        histories[record["number"]] = record["history"]["loss"]
curves, failures = {}, {}
for row in result.trials:
    key = (row["hidden"], row["lr"])
    failures[key] = failures.get(key, 0) + (row["loss"] >= 1 / 16)
    if row["seed"] == 0:
        curves[key] = (f"hn_{row['hidden']}_lr_{row['lr']}_ok_{row['loss'] < 1 / 16}",
                       histories[row["number"]])
failures = {k: failures[k] for k in sorted(failures)}
curves = {k: curves[k] for k in sorted(curves)}
print(f"{len(result.trials)} runs in {time.perf_counter() - start:.0f} s (a sweep in {folder})")
print("failed runs out of", SEEDS, "seeds (rows: hidden nodes, columns: learning rate)")
print("hidden  " + "".join(f"lr {lr:<6}" for lr in RATES))
for hidden in HIDDEN:
    print(f"{hidden:>6}  " + "".join(f"{failures[hidden, lr]:<9}" for lr in RATES))

fig = base.figure(11, 4.2)
left, right = fig.subplots(1, 2, width_ratios=(1.6, 1))
STYLES = dict(zip(RATES, ("dotted", "dashed", "solid")))
for (hidden, lr), (label, losses) in curves.items():
    left.plot(np.arange(1, len(losses) + 1), losses, label=label, ls=STYLES[lr],
              color=base.CLASS_COLORS[HIDDEN.index(hidden)])
left.set_xlabel("epoch")
left.set_ylabel("mean squared error")
left.set_yscale("log")
left.set_title("XOR loss per epoch, seed 0 of each setting\n"
               "(colour: hidden nodes, line: learning rate)")
left.legend(fontsize=7, ncol=2)
left.grid(alpha=0.3)
width = 0.8 / len(RATES)
for i, lr in enumerate(RATES):
    right.bar(np.arange(len(HIDDEN)) + (i - 1) * width,
              [failures[h, lr] / SEEDS for h in HIDDEN], width, label=f"lr {lr}")
right.set_xticks(range(len(HIDDEN)), [str(h) for h in HIDDEN])
right.set_xlabel("hidden nodes")
right.set_ylabel(f"share of {SEEDS} seeds that fail")
right.set_ylim(0, 1)
right.set_title("runs that never learn XOR")
right.legend()
plots.save(fig, OUT / "seed004_experiments.png")
print(f"figures in {OUT}")
