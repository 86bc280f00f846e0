"""Seed 004: the XOR gate with two-layer sigmoid networks, over a grid of hidden
sizes and learning rates, each run from several seeds. Prints how often each
setting fails to learn the gate and draws the loss curves of one seed's runs,
labelled as seed 004 labels them (hn_: hidden nodes, lr_: learning rate, ok_:
whether the trained net gives XOR's four answers).

    python examples/seed004_xor.py [FIGURE_DIR] [SEEDS]   # default: docs/figures, 20
"""
import sys
import time

import numpy as np

import nnspec
from nnspec import plots
from nnspec.plots import base
from paths import OUT, ROOT

SEEDS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
SPEC = (ROOT / "models" / "seed004_xor.nn").read_text()
HIDDEN = (2, 3, 4, 8)
RATES = (0.5, 1.0, 2.0)


def run(hidden, lr, seed):
    """(losses per epoch, whether the net answers XOR right) for one setting."""
    model = nnspec.compile(SPEC.replace("dense 4 sigmoid", f"dense {hidden} sigmoid"),
                           lr=lr, seed=seed)
    x, y = model.data().train
    model.fit(x, y)
    return model.history["loss"], bool(np.array_equal(np.rint(model.predict(x)), y))


start = time.perf_counter()
curves, failures = {}, {}
for hidden in HIDDEN:
    for lr in RATES:
        results = [run(hidden, lr, seed) for seed in range(SEEDS)]
        failures[hidden, lr] = sum(not ok for _, ok in results)
        losses, ok = results[0]
        curves[f"hn_{hidden}_lr_{lr}_ok_{ok}"] = losses
print(f"{len(HIDDEN) * len(RATES) * SEEDS} runs in {time.perf_counter() - start:.0f} s")
print("failed runs out of", SEEDS, "seeds (rows: hidden nodes, columns: learning rate)")
print("hidden  " + "".join(f"lr {lr:<6}" for lr in RATES))
for hidden in HIDDEN:
    print(f"{hidden:>6}  " + "".join(f"{failures[hidden, lr]:<9}" for lr in RATES))

fig = base.figure(11, 4.2)
left, right = fig.subplots(1, 2, width_ratios=(1.6, 1))
STYLES = dict(zip(RATES, ("dotted", "dashed", "solid")))
for (hidden, lr), (label, losses) in zip(failures, curves.items()):
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
