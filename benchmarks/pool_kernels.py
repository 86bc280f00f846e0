"""Max pooling's two kernels side by side: per offset (kh*kw passes over the
output) and separable (a max over rows, then columns), forward and backward,
on the pooling shapes of the seeds and the benchmark networks. The layer takes
the separable one where pool_valid._separable says it touches fewer elements; this
prints which it takes and the measured speed-up.

    python benchmarks/pool_kernels.py [--repeat 20]
"""
import argparse
import time
from unittest import mock

import numpy as np

import nnspec
from nnspec.engine.layers import pool_valid as pool
from nnspec.engine.layers.base import Mode
from nnspec.lang.kinds.pool import as_image

CASES = [  # (what, input HxWxC, pooling, batch)
    ("seed 001's CNN", "28x28x32", "maxpool 4 same stride=1", 32),
    ("AlexNet-style 3x3 stride 2", "27x27x64", "maxpool 3 stride=2", 32),
    ("3x3 stride 1 same", "16x16x32", "maxpool 3 same stride=1", 64),
    ("VGG 2x2, 32 channels", "28x28x32", "maxpool 2", 64),
    ("LeNet 2x2, 6 channels", "28x28x6", "maxpool 2", 64),
    ("LeNet 2x2, 16 channels", "10x10x16", "maxpool 2", 64),
    ("2x2, 3 channels", "32x32x3", "maxpool 2", 64),
]
ROWS = [  # exactly tiling windows: the backward by rows or by the window view
    ("LeNet 2x2, 6 channels", "28x28x6", 64), ("2x2, 3 channels", "32x32x3", 64),
    ("2x2, 8 channels", "32x32x8", 64), ("LeNet 2x2, 16 channels", "10x10x16", 64),
    ("2x2, 16 channels", "32x32x16", 64), ("VGG 2x2, 32 channels", "28x28x32", 64),
    ("2x2, 64 channels", "16x16x64", 64)]


def timed(graph, weights, x, repeat):
    best_f = best_b = float("inf")
    buffers = {}  # as training keeps them from step to step
    for _ in range(repeat):
        start = time.perf_counter()
        out, tape = graph.forward(weights, x, Mode(True, buffers=buffers))
        middle = time.perf_counter()
        graph.backward(tape, np.ones_like(out), input_grad=True)
        best_f, best_b = min(best_f, middle - start), min(best_b, time.perf_counter() - middle)
    return best_f, best_b


parser = argparse.ArgumentParser()
parser.add_argument("--repeat", type=int, default=20)
args = parser.parse_args()
print(f"{'case':<28} {'takes':<10} {'forward ms (offsets/separable)':>32} "
      f"{'backward ms':>22}")
for what, shape, layer, batch in CASES:
    model = nnspec.compile(f"input {shape}\n{layer}")
    x = np.random.default_rng(0).normal(size=(batch,) + model.graph.input_shape).astype(np.float32)
    out = model.graph.forward(model.weights, x)[0]
    p, _ = as_image(dict(model.graph.nodes[0].p, padding="valid"), x.shape[1:])  # K is KxK
    rule = "separable" if pool._separable(p, x.shape, out.shape) else "offsets"
    times = {}
    for kind, value in (("offsets", False), ("separable", True)):
        with mock.patch.object(pool, "_separable", lambda *a, v=value: v):
            times[kind] = timed(model.graph, model.weights, x, args.repeat)
    (fo, bo), (fs, bs) = times["offsets"], times["separable"]
    print(f"{what:<28} {rule:<10} {1e3 * fo:>12.2f} / {1e3 * fs:>6.2f} ({fo / fs:.2f}x) "
          f"{1e3 * bo:>8.2f} / {1e3 * bs:>6.2f} ({bo / bs:.2f}x)")

print(f"\n{'case':<28} {'by rows':<8} {'backward ms (view/rows)':>26}")
for what, shape, batch in ROWS:
    model = nnspec.compile(f"input {shape}\nmaxpool 2")
    x = np.random.default_rng(0).normal(size=(batch,) + model.graph.input_shape).astype(np.float32)
    takes = model.graph.input_shape[-1] < pool.ROW_CHANNELS
    times = {}
    for channels in (0, 1 << 20):  # never by rows, always by rows
        with mock.patch.object(pool, "ROW_CHANNELS", channels):
            times[channels] = timed(model.graph, model.weights, x, args.repeat)[1]
    view, rows = times[0], times[1 << 20]
    print(f"{what:<28} {'yes' if takes else 'no':<8} {1e3 * view:>12.3f} / {1e3 * rows:>6.3f} "
          f"({view / rows:.2f}x)")

# pooling over time: a (batch, time, features) sequence runs as a (batch, time,
# 1, features) image under a Kx1 window, by views (engine/layers/pool.py); beside
# that image written as such, and a plain max or mean over the window view
SEQUENCES = [  # (what, TIMExFEATURES, pooling, batch)
    ("text CNN 2, 64 features", "400x64", "maxpool 2", 64),
    ("3 same stride 1, 128", "200x128", "maxpool 3 same stride=1", 64),
    ("4, 16 features", "1000x16", "maxpool 4", 64),
    ("avg 3 stride 2, 64", "400x64", "avgpool 3 stride=2", 64),
]
print(f"\n{'over time':<28} {'forward ms (1-D/Kx1 image/view)':>34} "
      f"{'backward ms (1-D/image)':>26}")
for what, shape, layer, batch in SEQUENCES:
    t, f = map(int, shape.split("x"))
    kind, k, *rest = layer.split()
    seq = nnspec.compile(f"input {shape}\n{layer}")
    image = nnspec.compile(f"input {t}x1x{f}\n{kind} {k}x1 {' '.join(rest)}")
    x = np.random.default_rng(0).normal(size=(batch, t, f)).astype(np.float32)
    (fs, bs), (fi, bi) = (timed(seq.graph, seq.weights, x, args.repeat),
                          timed(image.graph, image.weights, x[:, :, None], args.repeat))
    fv = float("nan")  # the view below is of valid windows at the window's stride
    if not rest:
        reduce = np.max if kind == "maxpool" else np.mean
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            reduce(np.lib.stride_tricks.sliding_window_view(x, int(k), axis=1)[:, ::int(k)],
                   axis=-1)
            best = min(best, time.perf_counter() - start)
        fv = best
    print(f"{what:<28} {1e3 * fs:>12.2f} / {1e3 * fi:>6.2f} / {1e3 * fv:>6.2f} "
          f"{1e3 * bs:>14.2f} / {1e3 * bi:>6.2f}")
