"""Time to load a bundle and predict one sample in a fresh process, import included.

    python benchmarks/load_predict.py [--runs 15]

Uses seed 001's MNIST CNN (conv 7x7x32, maxpool 4x4, dense 128, dense 10); the
weights' values do not matter for timing. Prints medians over fresh processes,
beside an empty interpreter and a bare `import numpy` for scale.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import nnspec

MNIST_CNN = """input 28x28x1
conv 7x7x32 valid relu -> maxpool 4x4 -> dense 128 relu -> dense 10 softmax
"""

CASES = {
    "python -c pass": "pass",
    "import numpy": "import numpy",
    "import nnspec": "import nnspec",
    "import + load + predict 1": (
        "import sys, numpy as np, nnspec\n"
        "m = nnspec.load(sys.argv[1])\n"
        "m.predict(np.load(sys.argv[2]))"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bundle, sample = Path(tmp) / "mnist_cnn.nnb", Path(tmp) / "x.npy"
        nnspec.compile(MNIST_CNN).save(bundle)
        np.save(sample, np.random.default_rng(0).random((1, 28, 28, 1), dtype=np.float32))
        times = {name: [] for name in CASES}
        for _ in range(args.runs):  # alternate cases round by round: the VM's speed drifts
            for name, code in CASES.items():
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", code, str(bundle), str(sample)], check=True)
                times[name].append(time.perf_counter() - start)
        print(f"bundle: {bundle.stat().st_size / 1e6:.2f} MB; median of {args.runs} fresh processes")
        for name, values in times.items():
            print(f"  {name:28s} {statistics.median(values) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
