"""Training and inference speed, and peak memory, of nnspec's two engines beside
a hand-written PyTorch loop, on the CPU.

    python benchmarks/vs_torch.py [--rounds 7] [--samples 2048] [--nets mnist_cnn,lstm]
                                  [--systems numpy,engine,torch]

Every network runs three ways: nnspec's numpy engine (`numpy`), nnspec's torch
engine (`engine`: model.fit(..., engine="torch") and predict(..., engine="torch"),
shown as t-eng) and its twin written by hand in PyTorch (`torch`, Adam,
cross-entropy, the same batch), on random data of the right shapes (token ids
for embeddings), PyTorch limited to the threads numpy's BLAS uses: the four
networks the project started with, and one of each family a user writes at a
typical size (LeNet-5, a wide MLP, a VGG-style net with batch norm, a small
ResNet, a strided all-conv net, a plain RNN, LSTM (and a bidirectional one), GRU, an attention block
with embedding and layer norm, a tiny net). `peak %` is the share of this
machine's float32 matmul rate (measured first, on a square matmul) that the
numpy engine's training reaches, counting 3x the forward FLOPs of the
summary. Each system and network has a worker process of its own; each round
times one training epoch and one inference pass of every network in each
system in turn (an inference pass repeated for MIN_INFER seconds, its mean
time taken), so all see the same phase of this VM's drifting speed; the
table gives the medians of samples/s and the median of the per-round ratios
nnspec / PyTorch (above 1: nnspec is faster). Peak memory is each worker's
peak resident set less what it held before its first step (interpreter,
imports and data). Without torch the script prints the numpy engine alone.
"""
import argparse
import importlib.util
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
    "lenet5": ("input 28x28x1\nconv 5x5x6 same relu -> maxpool 2 -> conv 5x5x16 valid relu "
               "-> maxpool 2 -> dense 120 relu -> dense 84 relu -> dense 10 softmax", 64),
    "wide_mlp": ("input 784\ndense 1024 relu -> dense 1024 relu -> dense 10 softmax", 128),
    "vgg_bn": ("input 32x32x3\nconv 3x3x32 same -> batchnorm relu -> conv 3x3x32 same "
               "-> batchnorm relu -> maxpool 2 -> conv 3x3x64 same -> batchnorm relu "
               "-> conv 3x3x64 same -> batchnorm relu -> maxpool 2 -> dense 256 relu "
               "-> dropout 0.5 -> dense 10 softmax", 64),
    "resnet": ("input 32x32x3\nblock res() {\n  conv 3x3x16 same relu -> conv 3x3x16 same "
               "-> add(in) relu\n}\nconv 3x3x16 same relu -> res() -> res() -> res() "
               "-> globalavgpool -> dense 10 softmax", 64),
    "strided": ("input 32x32x3\nconv 3x3x16 same relu stride=2 -> conv 3x3x32 same relu "
                "stride=2 -> conv 3x3x64 same relu stride=2 -> globalavgpool "
                "-> dense 10 softmax", 64),
    "lstm": ("input 32x16\nlstm 64 -> dense 10 softmax", 64),
    "bilstm": ("input 32x16\nlstm 64 bidirectional -> dense 10 softmax", 64),
    "rnn": ("input 32x16\nrnn 64 -> dense 10 softmax", 64),
    "gru": ("input 32x16\ngru 64 -> dense 10 softmax", 64),
    "attention": ("input 32\nblock encoder() {\n  attention 4 -> add(in) -> layernorm\n}\n"
                  "embedding 1000x64 -> encoder() -> globalavgpool -> dense 10 softmax", 64),
    "tiny": ("input 2\ndense 8 tanh -> dense 2 softmax", 16),
}
VOCAB = 1000  # the attention net's token ids
INFER_BATCH = 256
SETTLE = 0.3  # seconds between two timings
# an inference timing repeats the pass until this many seconds have gone and gives
# the mean: a pass of 2048 samples takes 0.2 ms (the tiny net) to 1 s (VGG-BN), and
# one pass of a millisecond timed alone measured the threads' wake-up after SETTLE
# more than the pass (the tiny net's torch-engine predict: 1.2 ms cold, 0.2 warm)
MIN_INFER = 0.2


def matmul_peak():
    """This machine's float32 matmul rate, FLOP/s: the best of a few 1024-square products."""
    rng = np.random.default_rng(0)
    a, b = (rng.random((1024, 1024), dtype=np.float32) for _ in range(2))
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(10))
    return 2 * 1024 ** 3 / best


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def forward_flops(name):
    """FLOPs of one sample's forward pass, as nnspec's summary counts them."""
    from nnspec.engine.layers import flops
    graph = nnspec.compile(NETS[name][0]).graph
    return sum(flops(node, graph.shapes) for node in graph.nodes)


def data(name, n):
    model = nnspec.compile(NETS[name][0])
    rng = np.random.default_rng(0)
    if model.graph.nodes[0].kind == "embedding":
        x = rng.integers(0, VOCAB, (n,) + model.graph.input_shape).astype(np.float32)
    else:
        x = rng.random((n,) + model.graph.input_shape, dtype=np.float32)
    y = rng.integers(0, model.graph.output_shape[-1], n)
    return x, y


class NNSpec:
    engine = "numpy"

    def __init__(self, name, x, y):
        spec, batch = NETS[name]
        self.model = nnspec.compile(spec + "\ntrain {\n optimizer = adam\n lr = 0.001\n}")
        self.x, self.y, self.batch = x, y, batch

    def train(self):
        self.model.fit(self.x, self.y, epochs=1, batch_size=self.batch, engine=self.engine)

    def infer(self):
        if self.engine == "numpy":
            self.model.predict(self.x)
        else:
            self.model.predict(self.x, engine=self.engine)


class NNSpecTorch(NNSpec):
    """nnspec's own fit and predict, run by its torch engine (--engine torch)."""
    engine = "torch"


def torch_net(name):
    import torch
    import torch.nn as tnn

    class Last(tnn.Module):  # a recurrent layer's last state, as nnspec's rnn/lstm/gru give
        def __init__(self, rnn):
            super().__init__()
            self.rnn = rnn

        def forward(self, x):
            return self.rnn(x)[0][:, -1]

    class BothLast(tnn.Module):  # a bidirectional layer's last states, as nnspec's give them
        def __init__(self, rnn):
            super().__init__()
            self.rnn = rnn

        def forward(self, x):
            h = self.rnn(x)[1]
            h = h[0] if isinstance(h, tuple) else h  # an LSTM's (h_n, c_n)
            return h.transpose(0, 1).reshape(len(x), -1)

    class Residual(tnn.Module):
        def __init__(self, c):
            super().__init__()
            self.a, self.b = tnn.Conv2d(c, c, 3, padding=1), tnn.Conv2d(c, c, 3, padding=1)

        def forward(self, x):
            return torch.relu(self.b(torch.relu(self.a(x))) + x)

    class Encoder(tnn.Module):  # attention, residual, layer norm, mean over steps
        def __init__(self):
            super().__init__()
            self.embed = tnn.Embedding(VOCAB, 64)
            self.attention = tnn.MultiheadAttention(64, 4, batch_first=True)
            self.norm, self.out = tnn.LayerNorm(64), tnn.Linear(64, 10)

        def forward(self, ids):
            x = self.embed(ids.long())
            x = self.norm(self.attention(x, x, x, need_weights=False)[0] + x)
            return self.out(x.mean(1))

    def vgg_stage(c_in, c):
        return [tnn.Conv2d(c_in, c, 3, padding=1), tnn.BatchNorm2d(c), tnn.ReLU(),
                tnn.Conv2d(c, c, 3, padding=1), tnn.BatchNorm2d(c), tnn.ReLU(), tnn.MaxPool2d(2)]

    pool = [tnn.AdaptiveAvgPool2d(1), tnn.Flatten()]
    same = tnn.ZeroPad2d((0, 1, 0, 1))  # left, right, top, bottom
    layers = {
        "shapes_cnn": lambda: [tnn.Conv2d(1, 2, 3, padding=1), tnn.Tanh(), tnn.Conv2d(2, 3, 3),
                               tnn.Tanh(), tnn.Flatten(), tnn.Linear(14 * 14 * 3, 100), tnn.ReLU(),
                               tnn.Linear(100, 4)],
        "mnist_cnn": lambda: [tnn.Conv2d(1, 32, 7), tnn.ReLU(), tnn.MaxPool2d(4), tnn.Flatten(),
                              tnn.Linear(5 * 5 * 32, 128), tnn.ReLU(), tnn.Linear(128, 10)],
        "mlp": lambda: [tnn.Linear(784, 128), tnn.ReLU(), tnn.Linear(128, 64), tnn.ReLU(),
                        tnn.Linear(64, 10)],
        "deeper_cnn": lambda: [tnn.Conv2d(1, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Flatten(), tnn.Linear(7 * 7 * 64, 128), tnn.ReLU(),
                               tnn.Linear(128, 10)],
        "lenet5": lambda: [tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                           tnn.Linear(5 * 5 * 16, 120), tnn.ReLU(), tnn.Linear(120, 84),
                           tnn.ReLU(), tnn.Linear(84, 10)],
        "wide_mlp": lambda: [tnn.Linear(784, 1024), tnn.ReLU(), tnn.Linear(1024, 1024),
                             tnn.ReLU(), tnn.Linear(1024, 10)],
        "vgg_bn": lambda: vgg_stage(3, 32) + vgg_stage(32, 64) + [
            tnn.Flatten(), tnn.Linear(8 * 8 * 64, 256), tnn.ReLU(), tnn.Dropout(0.5),
            tnn.Linear(256, 10)],
        "resnet": lambda: [tnn.Conv2d(3, 16, 3, padding=1), tnn.ReLU(), Residual(16),
                           Residual(16), Residual(16), *pool, tnn.Linear(16, 10)],
        # nnspec's 'same' is TensorFlow's: a stride-2 conv over an even size pads one
        # row and column after and none before (ZeroPad2d, as timm's Conv2dSame
        # pads); padding=1 would read each window one pixel up and left, another
        # function (tests/test_benchmarks.py holds every twin to nnspec's)
        "strided": lambda: [same, tnn.Conv2d(3, 16, 3, 2), tnn.ReLU(),
                            same, tnn.Conv2d(16, 32, 3, 2), tnn.ReLU(),
                            same, tnn.Conv2d(32, 64, 3, 2), tnn.ReLU(), *pool,
                            tnn.Linear(64, 10)],
        "lstm": lambda: [Last(tnn.LSTM(16, 64, batch_first=True)), tnn.Linear(64, 10)],
        "bilstm": lambda: [BothLast(tnn.LSTM(16, 64, batch_first=True, bidirectional=True)),
                           tnn.Linear(128, 10)],
        "rnn": lambda: [Last(tnn.RNN(16, 64, batch_first=True)), tnn.Linear(64, 10)],
        "gru": lambda: [Last(tnn.GRU(16, 64, batch_first=True)), tnn.Linear(64, 10)],
        "attention": lambda: [Encoder()],
        "tiny": lambda: [tnn.Linear(2, 8), tnn.Tanh(), tnn.Linear(8, 2)],
    }[name]()
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
    if system == "engine":  # imported before the baseline of peak memory, as the twin's
        import torch  # noqa: F401
    x, y = data(name, samples)
    runner = SYSTEMS[system](name, x, y)
    base = _status("VmRSS")
    print("ready", flush=True)
    for command in sys.stdin:
        command = command.strip()
        if command == "peak":  # the high-water mark above what setup held
            print(_status("VmHWM") - base, flush=True)
            continue
        start, calls = time.perf_counter(), 0
        while not calls or (command == "infer" and time.perf_counter() - start < MIN_INFER):
            getattr(runner, command)()
            calls += 1
        print((time.perf_counter() - start) / calls, flush=True)


def _status(key):
    """A /proc/self/status memory line in MB (VmHWM is reset by exec, unlike ru_maxrss)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def others_running():
    """Running threads beside this one (Linux: /proc/loadavg), the least of three
    looks 20 ms apart; 0 where nothing can be read. A worker's own threads are
    asleep between timings."""
    try:
        counts = []
        for _ in range(3):
            with open("/proc/loadavg") as f:
                counts.append(int(f.read().split()[3].split("/")[0]) - 1)
            time.sleep(0.02)
        return max(0, min(counts))
    except (OSError, ValueError, IndexError):
        return 0


class Worker:
    # timings that another process shared (this VM runs other work) are redone,
    # after waiting up to QUIET_WAIT seconds for it to stop, at most TRIES times,
    # while the run has spent less than WAIT_BUDGET seconds waiting and redoing
    TRIES, QUIET_WAIT, WAIT_BUDGET = 4, 30, 240
    redone, loaded, spent = [0], [0], [0.0]

    def __init__(self, system, name, samples):
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", system, name,
                                      "--samples", str(samples)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def ask(self, command):
        if command == "peak":
            return self._ask(command)
        start = time.monotonic()
        for attempt in range(self.TRIES):
            while others_running() and time.monotonic() - start < self.QUIET_WAIT * (
                    attempt + 1) and self.spent[0] < self.WAIT_BUDGET:
                time.sleep(0.5)
            began = time.monotonic()
            seconds = self._ask(command)
            time.sleep(SETTLE)  # the worker's own threads spin a while after its work
            if not others_running():
                break
            if attempt == self.TRIES - 1 or self.spent[0] + began - start >= self.WAIT_BUDGET:
                self.loaded[0] += 1
                break
            self.redone[0] += 1
        self.spent[0] += began - start  # waiting and timings thrown away
        return seconds

    def _ask(self, command):
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


SYSTEMS = {"numpy": NNSpec, "engine": NNSpecTorch, "torch": Torch}
LABELS = {"numpy": "numpy", "engine": "t-eng", "torch": "torch"}  # column heads


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--systems", default=",".join(SYSTEMS),
                    help="which of numpy (nnspec's numpy engine), engine (nnspec's torch "
                         "engine) and torch (the hand-written PyTorch twin) to run")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return _worker(*args.worker, args.samples)
    systems = [s for s in SYSTEMS if s in args.systems.split(",")]
    if importlib.util.find_spec("torch") is None:
        print("torch is not installed (pip install torch==2.13.0): the numpy engine alone")
        systems = ["numpy"]
    names = args.nets.split(",")
    unknown = set(names) - set(NETS)
    if unknown:
        ap.error(f"unknown network {sorted(unknown)[0]!r} (networks: {', '.join(NETS)})")
    peak = matmul_peak()
    workers = {(n, s): Worker(s, n, args.samples) for n in names for s in systems}
    for w in workers.values():  # warm up: first-touch allocations, lazy imports (untimed:
        w._ask("train")  # no waiting for a quiet machine)
        w._ask("infer")
    times = {(n, s, k): [] for n in names for s in systems for k in ("train", "infer")}
    for _ in range(args.rounds):  # alternate, round by round: this VM's speed drifts
        for name in names:
            for s in systems:
                for kind in ("train", "infer"):
                    times[name, s, kind].append(workers[name, s].ask(kind))
    print(f"{args.samples} samples, {args.rounds} rounds, {_threads()} threads; samples/s are "
          "medians, ratios the medians of per-round nnspec / torch (numpy engine, t-eng: "
          f"--engine torch); float32 matmul peak {peak / 1e9:.0f} GFLOP/s; "
          f"{Worker.redone[0]} timings redone that another process shared, "
          f"{Worker.loaded[0]} kept so; {Worker.spent[0]:.0f} s spent waiting and redoing")
    ours = [s for s in systems if s != "torch"]
    rated = ours if "torch" in systems else []
    part = " ".join(f"{LABELS[s]:>7}" for s in systems) + "".join(
        f" {'r ' + LABELS[s][:2]:>5}" for s in rated)
    head = f"{'network':<11} {'batch':>5} | train/s {part} | infer/s {part} |" + (
        f" {'peak %':>6} |" if "numpy" in systems else "") + " peak MB " + " ".join(
        f"{LABELS[s]:>6}" for s in systems)
    print(head)
    print("-" * len(head))
    for name in names:
        row = f"{name:<11} {NETS[name][1]:>5} |"
        for kind in ("train", "infer"):
            rates = {s: [args.samples / t for t in times[name, s, kind]] for s in systems}
            row += " " * 8 + " ".join(f"{statistics.median(rates[s]):>7.0f}" for s in systems)
            ratios = {s: statistics.median(a / b for a, b in zip(rates[s], rates["torch"]))
                      for s in rated}
            row += "".join(f" {ratios[s]:>5.2f}" for s in rated) + " |"
        if "numpy" in systems:
            train_rate = statistics.median(args.samples / t for t in times[name, "numpy", "train"])
            row += f" {100 * 3 * forward_flops(name) * train_rate / peak:>5.1f}% |"
        row += " " * 8 + " ".join(f"{workers[name, s].ask('peak'):>6.1f}" for s in systems)
        print(row, flush=True)
    for w in workers.values():
        w.close()


if __name__ == "__main__":
    main()
