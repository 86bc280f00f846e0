"""Transfer, measured: the MNIST convnet (models/mnist.nn) as a frozen base under a
new head for Fashion-MNIST, trained on 1,000 Fashion-MNIST images, against the
same network trained from scratch on those images, then the two-phase recipe
(every layer unfrozen at a low rate). The numbers in docs/fine-tuning.md.

    python examples/fine_tune_fashion.py [OUT_DIR] [--base-epochs N] [--epochs N]

Needs MNIST and Fashion-MNIST (a data directory or a download).
"""
import argparse
import time
from pathlib import Path

import numpy as np

import nnspec
from paths import ROOT

parser = argparse.ArgumentParser()
parser.add_argument("out", nargs="?", default="fine-tuning")
parser.add_argument("--base-epochs", type=int, default=1)
parser.add_argument("--epochs", type=int, default=5, help="of each phase")
parser.add_argument("--images", type=int, default=1000)
parser.add_argument("--seeds", type=int, default=3)
args = parser.parse_args()
out = Path(args.out)
out.mkdir(exist_ok=True)

base_path = out / "mnist.nnb"
if not base_path.exists():
    start = time.perf_counter()
    base = nnspec.compile(ROOT / "models" / "mnist.nn", epochs=args.base_epochs)
    splits = base.data()
    base.fit(*splits.train)
    base.save(base_path)
    print(f"base: MNIST test accuracy {base.evaluate(*splits.test)['accuracy']:.2%} after "
          f"{args.base_epochs} epoch(s) ({time.perf_counter() - start:.0f} s)")

spec = ROOT / "models" / "fashion_finetune.nn"
scratch_spec = spec.read_text().replace(" trainable=false", "")
data = nnspec.compile(spec).data()
x, y = data.train[0][:args.images], data.train[1][:args.images]
x_test, y_test = data.test


def accuracy(model):
    return model.evaluate(x_test, y_test)["accuracy"]


rows = []
for seed in range(args.seeds):
    scratch = nnspec.compile(scratch_spec, seed=seed)
    scratch.fit(x, y, epochs=args.epochs)
    scratch_once = accuracy(scratch)
    scratch.fit(x, y, epochs=args.epochs)
    frozen = nnspec.compile(spec, seed=seed, init_from=str(base_path))
    frozen.fit(x, y, epochs=args.epochs)
    frozen_acc = accuracy(frozen)
    # phase two: every layer, at a tenth of the rate, from phase one's weights; a new
    # model, so the optimizer starts afresh (as the command line's --init-from does)
    tuned = nnspec.compile(spec, seed=seed, lr=0.0002)
    tuned.unfreeze()
    tuned.load_weights(frozen)
    tuned.fit(x, y, epochs=args.epochs)
    rows.append((seed, scratch_once, frozen_acc, accuracy(scratch), accuracy(tuned)))
    print(f"seed {seed}: {args.epochs} epochs: scratch {rows[-1][1]:.2%}, frozen base "
          f"{rows[-1][2]:.2%}; {2 * args.epochs} epochs: scratch {rows[-1][3]:.2%}, two-phase "
          f"{rows[-1][4]:.2%}", flush=True)
mean = np.mean([r[1:] for r in rows], axis=0)
print(f"mean: scratch {mean[0]:.2%}, frozen base {mean[1]:.2%}; after both phases' epochs: "
      f"scratch {mean[2]:.2%}, two-phase {mean[3]:.2%} (Fashion-MNIST test set, "
      f"{len(y_test)} images; trained on {args.images})")
