"""The seeds' MNIST networks exactly as their code ran them (models/seeds/):
seed 001's CNN and seed 002's MLP on MNIST, seed 003's MLP on Fashion-MNIST,
each trained on the spec's seeds and tested on the 10000 test images after
every epoch, as the seeds' tables are. Seed 001 reported the mean of its
test batches' accuracies (313 batches, np.array_split's), printed beside
nnspec's accuracy over the whole set.

    python examples/seeds_exact_mnist.py [FIGURE_DIR] [NETWORK ...] [--seeds 0,1,2]
    # NETWORK: seed001_mnist_cnn, seed002_mnist_mlp, seed003_fashion (default: all)
    python examples/seeds_exact_mnist.py --emulate-seed-002 [--seeds 0,1,2]
    python examples/seeds_exact_mnist.py FIGURE_DIR seed001_mnist_cnn --seed-pooling
    python examples/seeds_exact_mnist.py FIGURE_DIR seed001_mnist_cnn --frozen-conv

Two seeds' code computes a gradient wrongly, and nnspec computes it right;
these options train with the seeds' gradient, to show what it does to the
result. Seed 002's output layer multiplies the error by e^a (1 - e^a) of the
softmax output a where the softmax's Jacobian belongs: --emulate-seed-002
trains its step in the few lines of numpy below. Seed 001's max pooling sends
its gradient to the wrong places (seed001_pool_gradient says how), so its conv
layer learned from little and misplaced gradient: --seed-pooling trains the
exact spec with that gradient in place of nnspec's pooling backward, and
--frozen-conv with no conv learning at all, the bound below.

MNIST comes from $NNSPEC_DATA or ~/.cache/nnspec, or is downloaded there.
"""
import argparse
import math
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


def seed001_pool_gradient(x, y, dy, k=4, before=1):
    """Seed 001's max-pooling gradient as its code computes it (layers.py and
    utils/ops.py at 3bab04b), for its 4x4 windows at stride 1 with same padding.
    Each output's dy goes to its window's first maximum in the zero-padded input,
    as one column per output of a (16, positions * n * c) matrix; its
    column-to-image step is then handed the planes' shape (n * c, 1, h, w) where
    it reads (batch, height, width, channels): it scatters each value to plane
    q % (n c), "channel" (q // (h n c)) // 16 (a column of the image), "row"
    (q // (h n c)) % 16 // 4 and "column" q // (n c) % h + (q // (h n c)) % 4,
    with q the value's flat index, keeps "row" 1 of the 4 and reads the planes
    back as (n, c, h, w). Most of the gradient is dropped and the rest lands
    away from the maxima, so its conv layer learned from little and wrong
    gradient."""
    n, h, w, c = x.shape
    planes = n * c
    padded = np.zeros((n, h + k - 1, w + k - 1, c))
    padded[:, before:before + h, before:before + w] = x
    best, first = padded[:, :h, :w].copy(), np.zeros((n, h, w, c), np.int64)
    for offset in range(1, k * k):  # the first maximum in row-major window order
        here = padded[:, offset // k:offset // k + h, offset % k:offset % k + w]
        np.copyto(first, offset, where=here > best)
        np.maximum(best, here, out=best)
    # the flat index q of each output's one entry in the (16, h, w, n, c) columns is
    # first * h w n c + its position p; of q's parts only the row depends on first
    p = np.arange(h * w * planes)
    row = first.transpose(1, 2, 0, 3).ravel() * w + p // (h * planes)
    col, plane = p // planes % h, p % planes
    shape = (planes, w, k, h + k - 1)
    target = np.ravel_multi_index((plane, row // (k * k), row % (k * k) // k, row % k + col),
                                  shape)
    scattered = np.bincount(target, dy.transpose(1, 2, 0, 3).ravel(),
                            minlength=math.prod(shape)).reshape(shape)
    kept = scattered[:, :, before, before:before + h]  # (planes, w, h) read as (n, c, h, w)
    return np.ascontiguousarray(kept).reshape(n, c, h, w).transpose(0, 2, 3, 1)


def seed_pooling():
    """Seed 001's CNN with its pooling's gradient computed as the seed's code does."""
    from nnspec.engine.layers import REGISTRY, Layer
    plain = REGISTRY["maxpool"]

    def backward(p, w, cache, dy, need_dx):
        (xp, y, _, _), _, (top, left), shape = cache
        x = np.maximum(xp[:, top:top + shape[1], left:left + shape[2]], 0)  # relu outputs
        return seed001_pool_gradient(x, y, dy).astype(dy.dtype), {}
    REGISTRY["maxpool"] = Layer(plain.forward, backward, plain.init, plain.flops)


def run(name, seed, frozen_conv=False):
    text = (ROOT / "models" / "seeds" / f"{name}.nn").read_text()
    if frozen_conv:  # seed 001's conv layer at rate 0: it learns only from the dense layers
        text = text.replace("lr=3.125e-6", "lr=0")
        assert "lr=0 " in text
    model = nnspec.compile(text, seed=seed)
    splits = model.data()
    x_test, y_test = splits.test
    means = []
    start = time.perf_counter()
    model.fit(*splits.train, validation_data=splits.test,
              on_epoch=lambda epoch, logs: means.append(batch_mean_accuracy(model, x_test, y_test)))
    seconds = time.perf_counter() - start
    whole = ", ".join(f"{100 * a:.3f}" for a in model.history["val_accuracy"])
    batches = ", ".join(f"{100 * a:.3f}" for a in means)
    variant = " (conv frozen)" if frozen_conv else " (the seed's pooling gradient)" if \
        args.seed_pooling and name == "seed001_mnist_cnn" else ""
    print(f"{name}{variant}, seed {seed}: test accuracy per epoch {whole} (mean of batches "
          f"{batches}); {seconds:.0f} s", flush=True)
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
parser.add_argument("--frozen-conv", action="store_true",
                    help="seed 001's CNN with its conv layer at rate 0 (see the README)")
parser.add_argument("--seed-pooling", action="store_true",
                    help="seed 001's CNN with its pooling's gradient as the seed computes it")
args = parser.parse_args()
if args.seed_pooling:
    seed_pooling()
if args.emulate_seed_002:
    for seed in map(int, args.seeds.split(",")):
        seed002_emulated(seed)
    args.networks = ()
for name in args.networks:
    print(f"{name}: the seed reported {REPORTED[name]}", flush=True)
    for seed in map(int, args.seeds.split(",")):
        run(name, seed, args.frozen_conv and name == "seed001_mnist_cnn")
