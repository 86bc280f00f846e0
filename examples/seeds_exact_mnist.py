"""The seeds' MNIST networks exactly as their code ran them (models/seeds/):
seed 001's CNN and seed 002's MLP on MNIST, seed 003's MLP on Fashion-MNIST,
each trained on the spec's seeds and tested on the 10000 test images after
every epoch, as the seeds' tables are. Seed 001 reported the mean of its
test batches' accuracies (313 batches, np.array_split's), printed beside
nnspec's accuracy over the whole set.

    python examples/seeds_exact_mnist.py [FIGURE_DIR] [NETWORK ...] [--seeds 0,1,2]
    # NETWORK: seed001_mnist_cnn, seed002_mnist_mlp, seed003_fashion (default: all)
    python examples/seeds_exact_mnist.py --emulate-seed-002 [--seeds 0,1,2]

Seed 002's output layer multiplies the error by e^a (1 - e^a) of the softmax
output a where the softmax's Jacobian belongs; nnspec computes the correct
gradient. --emulate-seed-002 trains the same network with the seed's step, in
the few lines of numpy below, to show what that factor does to the result.

MNIST comes from $NNSPEC_DATA or ~/.cache/nnspec, or is downloaded there.
"""
import argparse
import time

import numpy as np

import nnspec
from paths import OUT, ROOT

NETWORKS = ("seed001_mnist_cnn", "seed002_mnist_mlp", "seed003_fashion")
REPORTED = {"seed001_mnist_cnn": "89.682, 91.688, 92.980, 93.760, 94.189 (mean of batches)",
            "seed002_mnist_mlp": "88.97 after 5 epochs",
            "seed003_fashion": "not reported (T-shirt/top 0.65 on its photo)"}


def batch_mean_accuracy(model, x, y, batch_size=32):
    """Seed 001's test accuracy: np.array_split into ceil(n / 32) batches, the
    mean of their accuracies."""
    parts = int(np.ceil(len(x) / batch_size))
    found = [np.mean(model.predict(bx).argmax(axis=1) == by)
             for bx, by in zip(np.array_split(x, parts), np.array_split(y, parts))]
    return float(np.mean(found))


def shirt_photo(model, splits, out):
    """Seed 003 predicts a photo of a T-shirt, grey, inverted and resized to 28x28.
    Here the photo is the first T-shirt among the test images as a camera would
    see it, dark cloth on a light background at 280x280; nnspec infer --invert
    reads it back the seed's way. Prints the class probabilities as the seed does."""
    from PIL import Image
    from nnspec.files import inputs
    x_test, y_test = splits.test
    shirt = x_test[int(np.flatnonzero(y_test == 0)[0]), ..., 0]
    pixels = np.round((shirt + 1) * 127.5).astype(np.uint8)  # the spec's pixels(-1, 1) undone
    path = out / "seed003_shirt_photo.png"
    Image.fromarray(255 - pixels).resize((280, 280), Image.NEAREST).save(path)
    _, x = inputs.load_inputs(model, path, invert=True)
    probs = model.predict(x)[0]
    print(f"  {path.name} (nnspec infer BUNDLE {path.name} --invert): Prediction  : "
          f"{model.classes[int(probs.argmax())]}")
    for name, p in zip(model.classes, probs):
        print(f"    {name:<11} : {p:.3f}")


def run(name, seed):
    model = nnspec.compile(ROOT / "models" / "seeds" / f"{name}.nn", seed=seed)
    splits = model.data()
    x_test, y_test = splits.test
    means = []
    start = time.perf_counter()
    model.fit(*splits.train, validation_data=splits.test,
              on_epoch=lambda epoch, logs: means.append(batch_mean_accuracy(model, x_test, y_test)))
    seconds = time.perf_counter() - start
    whole = ", ".join(f"{100 * a:.3f}" for a in model.history["val_accuracy"])
    batches = ", ".join(f"{100 * a:.3f}" for a in means)
    print(f"{name}, seed {seed}: test accuracy per epoch {whole} (mean of batches {batches}); "
          f"{seconds:.0f} s", flush=True)
    if name == "seed003_fashion":
        shirt_photo(model, splits, OUT)
    return model


def seed002_emulated(seed):
    """Seed 002's training step as its code takes it, in plain numpy: the same
    data, initialization, lr schedule and weight decay as the exact spec, but the
    output error multiplied elementwise by e^a (1 - e^a) (negative for a in (0, 1),
    hence the + in its update) in place of the softmax's Jacobian."""
    model = nnspec.compile(ROOT / "models" / "seeds" / "seed002_mnist_mlp.nn", seed=seed)
    splits = model.data()
    x, y = (model.prepare(splits.train[0]).reshape(-1, 784), splits.train[1])
    x_test, y_test = model.prepare(splits.test[0]).reshape(-1, 784), splits.test[1]
    weights = [model.weights[f"dense{i}.W"].T.copy() for i in range(1, 5)]  # (out, in)
    targets = np.eye(10)[y]
    lr, batch = 0.01, 64
    for epoch in range(5):
        for start in range(0, len(x), batch):
            acts = [x[start:start + batch]]
            for i, w in enumerate(weights):
                z = acts[-1] @ w.T
                if i < 3:
                    acts.append(np.maximum(z, 0))
                else:
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    acts.append(e / e.sum(axis=1, keepdims=True))
            p = acts[-1]
            delta = (p - targets[start:start + batch]) * np.exp(p) * (1 - np.exp(p))
            for i in range(3, -1, -1):
                update = delta.T @ acts[i] / batch
                if i:
                    delta = (delta @ weights[i]) * (acts[i] > 0)
                weights[i] = (1 - lr * 0.015) * weights[i] + lr * update
            lr *= 0.999
        out = x_test
        for i, w in enumerate(weights):
            out = out @ w.T
            out = np.maximum(out, 0) if i < 3 else out
        print(f"  emulated seed 002 step, seed {seed}, epoch {epoch + 1}: test accuracy "
              f"{100 * np.mean(out.argmax(axis=1) == y_test):.2f}%", flush=True)


parser = argparse.ArgumentParser()
parser.add_argument("out", nargs="?")
parser.add_argument("networks", nargs="*", default=NETWORKS)
parser.add_argument("--seeds", default="0,1,2")
parser.add_argument("--emulate-seed-002", action="store_true")
args = parser.parse_args()
if args.emulate_seed_002:
    for seed in map(int, args.seeds.split(",")):
        seed002_emulated(seed)
    args.networks = ()
for name in args.networks:
    print(f"{name}: the seed reported {REPORTED[name]}", flush=True)
    for seed in map(int, args.seeds.split(",")):
        run(name, seed)
