"""Writes checkpoints of a format version with that version's nnspec, and what
that nnspec computed from them, for tests/test_pinned.py. Run once per format
version, with the nnspec of that version on the path (a checkout of the
commit), never again for the same one: the point is that old files keep
loading and resuming as they did.

    PYTHONPATH=/path/to/old/checkout python tests/data/make_pinned_checkpoints.py

Each spec is trained one epoch on fixed random data and saved as a checkpoint;
then predictions on fixed inputs, and the weights after one more epoch, are
saved beside it, as that version computed them. The data are made here from
a seed, not by a data set's generator, which may change between versions.
"""
from pathlib import Path

import numpy as np

import nnspec

try:
    from nnspec.files.bundle import VERSION
except ImportError:  # before the stages had folders (format 1.1)
    from nnspec.bundle import VERSION

HERE = Path(__file__).parent
SPECS = {
    # no lr: before 1.5 every optimizer started at 0.01 (adam's own default is 0.001 now)
    "adam": ("input 8x8x1\nconv 3x3x4 same relu -> maxpool 2 -> dense 3 softmax\n"
             "train {\n  optimizer = adam\n  schedule = cosine(warmup=2)\n  early_stopping = 3\n"
             "  batch_size = 8\n  seed = 2\n}\n", (8, 8, 1)),
    "momentum": ("input 6\ndense 8 tanh -> dense 3 softmax\n"
                 "train {\n  optimizer = sgd(momentum=0.9)\n  lr = 0.05\n  batch_size = 4\n}\n",
                 (6,)),
}


def data(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.random((40,) + shape).astype(np.float32), rng.integers(0, 3, 40)


def main():
    version = ".".join(map(str, VERSION))
    for name, (spec, shape) in SPECS.items():
        x, y = data(shape, 0)
        model = nnspec.compile(spec)
        model.fit(x, y, epochs=1, validation_data=(x, y))
        stem = HERE / f"{name}-{version}"
        model.save(f"{stem}.nnb", checkpoint=True)
        probe = data(shape, 1)[0][:5]
        np.save(f"{stem}-predict.npy", model.predict(probe))
        model.fit(x, y, epochs=1, validation_data=(x, y))
        np.savez(f"{stem}-resumed.npz", **model.get_weights())


if __name__ == "__main__":
    main()
