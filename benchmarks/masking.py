"""The cost of masking (embedding mask_zero=true) in the numpy engine: training
steps and predict of an embedding -> rnn/lstm/gru (or globalavgpool, attention)
network, without the mask and with it (a third of the steps padding at the
end), in samples/s (the median of the rounds).

    python benchmarks/masking.py [--rounds 7] [--batch 64] [--steps 32]

Without mask_zero the layers take the same paths as before masking existed
(the only extra work is one `is None` test per step), so the unmasked column
can be compared with an older checkout's (run this script with PYTHONPATH set
to it: it writes no mask_zero where that checkout does not know it)."""
import argparse
import statistics
import time

import numpy as np

import nnspec
from nnspec.engine.layers.base import Mode

BODIES = {"rnn": "rnn 64", "lstm": "lstm 64", "gru": "gru 64",
          "pool": "dense 64 tanh -> globalavgpool", "attention": "attention 4 -> globalavgpool"}


def _rate(model, x, y, rounds, steps=5):
    from nnspec import prepare
    t = prepare.targets(model, x, y)
    graph, weights, buffers = model.graph, model.weights, {}
    train, infer = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            graph.loss_and_grads(weights, x, t, model.plan.terms, Mode(True, buffers=buffers))
        train.append(steps * len(x) / (time.perf_counter() - start))
        start = time.perf_counter()
        for _ in range(steps):
            model.predict(x)
        infer.append(steps * len(x) / (time.perf_counter() - start))
    return statistics.median(train), statistics.median(infer)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--unmasked-only", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.integers(1, 100, (args.batch, args.steps)).astype(np.float32)
    x[:, 2 * args.steps // 3:] = 0  # padding at the end
    y = rng.integers(0, 10, args.batch)
    print(f"{'net':10} {'train/s':>9} {'masked':>9} {'predict/s':>10} {'masked':>9}")
    for name, body in BODIES.items():
        row = []
        for mask in ("",) if args.unmasked_only else ("", " mask_zero=true"):
            model = nnspec.compile(f"input {args.steps}\nembedding 100x16{mask} -> {body} "
                                   "-> dense 10 softmax", seed=0)
            row.append(_rate(model, x, y, args.rounds))
        cells = [f"{r[0]:9.0f}" for r in row], [f"{r[1]:9.0f}" for r in row]
        print(f"{name:10} {' '.join(cells[0]):>19} {' '.join(cells[1]):>20}")


if __name__ == "__main__":
    main()
