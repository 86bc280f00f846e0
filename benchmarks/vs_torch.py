"""Training and inference speed, and peak memory, of nnspec beside PyTorch CPU.

    python benchmarks/vs_torch.py [--rounds 7] [--samples 2048] [--nets mnist_cnn,mlp]

The same four networks are built in both (random data of the right shapes,
Adam, cross-entropy), PyTorch limited to the threads numpy's BLAS uses. Each
round times one training epoch and one inference pass of every network in
nnspec and then in PyTorch, so both see the same phase of this VM's drifting
speed; the table gives the medians of samples/s and the median of the
per-round ratios nnspec / PyTorch (above 1: nnspec is faster). Peak memory is
each system's own peak resident set in a fresh process, less what the process
held before its first step (interpreter, imports and data). Without torch the
script prints nnspec's numbers alone.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import nnspec

NETS = {  # name: (spec, batch size)
    "shapes_cnn": ("input 16x16x1\nconv 3x3x2 same tanh -> conv 3x3x3 valid tanh "
                   "-> dense 100 relu -> dense 4 softmax", 16),
    "mnist_cnn": ("input 28x28x1\nconv 7x7x32 valid relu -> maxpool 4x4 -> dense 128 relu "
                  "-> dense 10 softmax", 32),
    "mlp": ("input 784\ndense 128 relu -> dense 64 relu -> dense 10 softmax", 64),
    "deeper_cnn": ("input 28x28x1\nconv 3x3x32 same relu -> maxpool 2 -> conv 3x3x64 same relu "
                   "-> maxpool 2 -> dense 128 relu -> dense 10 softmax", 64),
}
INFER_BATCH = 256
SETTLE = 0.3  # seconds between two timings


def data(name, n):
    model = nnspec.compile(NETS[name][0])
    rng = np.random.default_rng(0)
    x = rng.random((n,) + model.graph.input_shape, dtype=np.float32)
    y = rng.integers(0, model.graph.output_shape[-1], n)
    return x, y


class NNSpec:
    def __init__(self, name, x, y):
        spec, batch = NETS[name]
        self.model = nnspec.compile(spec + "\ntrain {\n optimizer = adam\n lr = 0.001\n}")
        self.x, self.y, self.batch = x, y, batch

    def train(self):
        self.model.fit(self.x, self.y, epochs=1, batch_size=self.batch)

    def infer(self):
        self.model.predict(self.x)


def torch_net(name):
    import torch.nn as tnn
    layers = {
        "shapes_cnn": [tnn.Conv2d(1, 2, 3, padding=1), tnn.Tanh(), tnn.Conv2d(2, 3, 3), tnn.Tanh(),
                       tnn.Flatten(), tnn.Linear(14 * 14 * 3, 100), tnn.ReLU(), tnn.Linear(100, 4)],
        "mnist_cnn": [tnn.Conv2d(1, 32, 7), tnn.ReLU(), tnn.MaxPool2d(4), tnn.Flatten(),
                      tnn.Linear(5 * 5 * 32, 128), tnn.ReLU(), tnn.Linear(128, 10)],
        "mlp": [tnn.Linear(784, 128), tnn.ReLU(), tnn.Linear(128, 64), tnn.ReLU(),
                tnn.Linear(64, 10)],
        "deeper_cnn": [tnn.Conv2d(1, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                       tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                       tnn.Flatten(), tnn.Linear(7 * 7 * 64, 128), tnn.ReLU(), tnn.Linear(128, 10)],
    }[name]
    return tnn.Sequential(*layers)


class Torch:
    def __init__(self, name, x, y):
        import torch
        self.torch = torch
        self.net = torch_net(name)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=0.001)
        x = torch.from_numpy(x)
        self.x = x.permute(0, 3, 1, 2).contiguous() if x.dim() == 4 else x  # NCHW, once
        self.y = torch.from_numpy(y)
        self.batch = NETS[name][1]
        self.gen = torch.Generator().manual_seed(0)

    def train(self):
        torch, f = self.torch, self.torch.nn.functional
        self.net.train()
        order = torch.randperm(len(self.x), generator=self.gen)
        for i in range(0, len(self.x), self.batch):
            idx = order[i:i + self.batch]
            out = self.net(self.x[idx])
            loss = f.cross_entropy(out, self.y[idx])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            loss.item(), (out.argmax(1) == self.y[idx]).float().mean().item()  # as fit logs

    def infer(self):
        self.net.eval()
        with self.torch.no_grad():
            for i in range(0, len(self.x), INFER_BATCH):
                self.torch.softmax(self.net(self.x[i:i + INFER_BATCH]), 1)


def _worker(system, name, samples):
    """One system and network in its own process, timing what the parent asks for.
    Separate processes keep one library's idle threads (BLAS and OpenMP spin a
    while after each call) from stealing the other's cores."""
    if system == "torch":
        import torch
        torch.set_num_threads(_threads())
    x, y = data(name, samples)
    runner = (Torch if system == "torch" else NNSpec)(name, x, y)
    base = _status("VmRSS")
    print("ready", flush=True)
    for command in sys.stdin:
        command = command.strip()
        if command == "peak":  # the high-water mark above what setup held
            print(_status("VmHWM") - base, flush=True)
            continue
        start = time.perf_counter()
        getattr(runner, command)()
        print(time.perf_counter() - start, flush=True)


def _status(key):
    """A /proc/self/status memory line in MB (VmHWM is reset by exec, unlike ru_maxrss)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Worker:
    def __init__(self, system, name, samples):
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", system, name,
                                      "--samples", str(samples)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def ask(self, command):
        # BLAS and OpenMP threads spin for a while after their last call; let the
        # previous worker's go quiet so they do not steal this one's cores
        time.sleep(SETTLE)
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def _threads():
    return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return _worker(*args.worker, args.samples)
    systems = ["nnspec"]
    try:
        import torch  # noqa: F401  (only to know whether it is there)
        systems.append("torch")
    except ImportError:
        print("torch is not installed (pip install torch==2.13.0): nnspec alone")
    names = args.nets.split(",")
    workers = {(n, s): Worker(s, n, args.samples) for n in names for s in systems}
    for w in workers.values():  # warm up: first-touch allocations, lazy imports
        w.ask("train")
        w.ask("infer")
    times = {(n, s, k): [] for n in names for s in systems for k in ("train", "infer")}
    for _ in range(args.rounds):  # alternate, round by round: this VM's speed drifts
        for name in names:
            for s in systems:
                for kind in ("train", "infer"):
                    times[name, s, kind].append(workers[name, s].ask(kind))
    print(f"{args.samples} samples, {args.rounds} rounds, {_threads()} threads; samples/s are "
          "medians, ratios the medians of per-round nnspec / torch")
    head = f"{'network':<11} {'batch':>5}  {'train/s':>8} {'torch':>8} {'ratio':>6}  " \
           f"{'infer/s':>8} {'torch':>8} {'ratio':>6}  {'peak MB':>7} {'torch':>6}"
    print(head)
    print("-" * len(head))
    for name in names:
        row = f"{name:<11} {NETS[name][1]:>5}"
        for kind in ("train", "infer"):
            ours = [args.samples / t for t in times[name, "nnspec", kind]]
            row += f"  {statistics.median(ours):>8.0f}"
            if "torch" in systems:
                theirs = [args.samples / t for t in times[name, "torch", kind]]
                ratio = statistics.median(a / b for a, b in zip(ours, theirs))
                row += f" {statistics.median(theirs):>8.0f} {ratio:>6.2f}"
        row += "  " + " ".join(f"{workers[name, s].ask('peak'):>{7 if s == 'nnspec' else 6}.1f}"
                               for s in systems)
        print(row)
    for w in workers.values():
        w.close()


if __name__ == "__main__":
    main()
