"""Loading a bundle of many layers: nnspec.load's time, median of rounds.

    python benchmarks/load_layers.py [--layers 20000] [--rounds 5]

The bundle holds `input 8` and LAYERS dense 8 relu layers (written once to a
temporary folder). Loading parses the stored spec, builds the graph once,
checks every stored weight against its declaration and makes the Model.
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nnspec


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "layers.nnb"
        nnspec.compile(f"input 8\n(dense 8 relu) x{args.layers} -> dense 2 softmax").save(path)
        size = path.stat().st_size
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            nnspec.load(path)
            times.append(time.perf_counter() - start)
    print(f"{args.layers} layers, {size:,} bytes: load "
          f"{statistics.median(times):.3f} s median of {args.rounds} (best {min(times):.3f} s)")


if __name__ == "__main__":
    main()
