"""The fastest any numpy engine of nnspec's math could be, beside PyTorch CPU.

    python benchmarks/floors.py [--rounds 5] [--nets resnet,lstm]

For each network of vs_torch.py this times only the matrix products its
training epoch and its inference need, at the shapes nnspec's math gives them
(a convolution as an im2col product, or at stride 1 as one product a kernel
offset over the flat padded input, whichever is faster; a recurrent layer as
one projection of all steps and one small product a step; attention as
batched products per head), each shape in whichever orientation BLAS runs
faster, and nothing else: no copy, no activation, no optimizer, no Python.
The sum is a floor under any numpy implementation that computes these
products with BLAS.
PyTorch's whole epoch and inference, and the numpy engine's, run in worker
processes of vs_torch.py, alternated round by round with the floor's timing,
and the table gives the median of per-round ratios PyTorch time / floor time
(bound): the highest ratio nnspec / PyTorch that such an engine could reach,
and the numpy engine's time / floor time (n/fl): how far above its floor it
runs. A bound below 1.0 says that even an engine whose every other step were
free would be slower than PyTorch there; the difference is the speed of the
kernels PyTorch calls (oneDNN's direct convolutions, its fused LSTM) against
numpy's BLAS on narrow products.
"""
import argparse
import importlib.util
import statistics
import time

import numpy as np

import nnspec
from nnspec.lang.kinds.conv import pads, span
from vs_torch import INFER_BATCH, NETS, Worker

REPEATS = 5  # timings of each product shape; the best is kept


class Choice(list):
    """Alternative lists of products for one part of a layer's work: the floor
    takes the fastest, the FLOP count the first."""


def _conv(p, shape_in, shape_out, batch, training, need_dx):
    """As an im2col product (nnspec's), or, at stride 1, as one product a kernel
    offset over the padded input read as a flat run of rows (each offset's
    rows are one contiguous slice of it, so no copy is needed); and the input
    gradient also as one product an offset (nnspec's)."""
    kh, kw, f = p["kernel"]
    h, w, c = shape_in
    m = batch * shape_out[0] * shape_out[1]
    k = kh * kw * c + (1 if p.get("bias", True) else 0)  # the bias rides as a ones column
    offsets = kh * kw
    forward, dw = [[(1, (), m, k, f)]], [[(1, (), k, m, f)]]
    dx = [[(1, (), m, f, kh * kw * c)], [(offsets, (), m, f, c)]]
    if p["stride"] == 1 and p["dilation"] == 1:
        (sh, sw), padding = span(p), p["padding"]
        grid = batch * (h + sum(pads(h, sh, 1, padding))) * (w + sum(pads(w, sw, 1, padding)))
        forward.append([(offsets, (), grid, c, f)])
        dw.append([(offsets, (), c, grid, f)])
        dx.append([(offsets, (), grid, f, c)])
    return [Choice(forward)] + [Choice(dw)] * training + [Choice(dx)] * need_dx


def _dense(p, shape_in, shape_out, batch, training, need_dx):
    m = batch * int(np.prod(shape_in[:-1]))
    d, u = shape_in[-1], shape_out[-1]
    return [(1, (), m, d, u)] + [(1, (), d, m, u)] * training + [(1, (), m, u, d)] * need_dx


def _recurrent(gates):
    def products(p, shape_in, shape_out, batch, training, need_dx):
        t, fe = shape_in
        h = p["units"]
        g = gates * h
        out = [(1, (), batch * t, fe, g), (t - 1, (), batch, h, g)]  # projection, steps
        if training:  # steps back, then dW and dU over all steps
            out += [(t - 1, (), batch, g, h), (1, (), fe, batch * t, g),
                    (1, (), h, batch * t, g)]
        out += [(1, (), batch * t, g, fe)] * need_dx
        return out * (2 if p["bidirectional"] else 1)  # each direction its own
    return products


def _attention(p, shape_in, shape_out, batch, training, need_dx):
    t, d = shape_in
    heads = p["heads"]
    bh = (batch * heads,)
    dh = d // heads
    out = [(1, (), batch * t, d, 3 * d), (1, bh, t, dh, t), (1, bh, t, t, dh),
           (1, (), batch * t, d, d)]  # q k v, scores, a v, output projection
    if training:
        out += [(1, (), d, batch * t, d), (1, (), batch * t, d, d),  # dWo, d heads
                (1, bh, t, dh, t), (1, bh, t, t, dh),  # d scores, d v
                (2, bh, t, t, dh),  # d q, d k
                (1, (), d, batch * t, 3 * d)]  # d Wqkv
    return out + [(1, (), batch * t, 3 * d, d)] * need_dx


# the layer kinds that multiply matrices; every other kind adds no product
PRODUCTS = {"conv": _conv, "dense": _dense, "rnn": _recurrent(1), "lstm": _recurrent(4),
            "gru": _recurrent(3), "attention": _attention}


def products(graph, batch, training):
    """[(count, batch_dims, m, k, n) or a Choice of such lists]: the matrix
    products of one step of `batch` samples (training: forward and backward,
    and no input gradient for the first layer; else forward alone), as count
    calls of a (batch_dims..., m, k) @ (k, n) product."""
    out = []
    for i, node in enumerate(graph.nodes):
        if node.kind in PRODUCTS:
            out += PRODUCTS[node.kind](graph.params[node.name], graph.shapes[node.inputs[0]],
                                       graph.shapes[node.name], batch, training,
                                       training and i > 0)
    return out


_timed = {}


def product_time(batch_dims, m, k, n):
    """Seconds for one (batch_dims, m, k) @ (k, n) product, the faster orientation."""
    key = (batch_dims, m, k, n)
    if key not in _timed:
        rng = np.random.default_rng(0)
        best = float("inf")
        for a_shape, b_shape in (((m, k), (k, n)), ((n, k), (k, m))):  # C or its transpose
            a = rng.random(batch_dims + a_shape, dtype=np.float32)
            b = rng.random(batch_dims + b_shape if batch_dims else b_shape, dtype=np.float32)
            c = np.matmul(a, b)
            for _ in range(REPEATS):
                start = time.perf_counter()
                np.matmul(a, b, out=c)
                best = min(best, time.perf_counter() - start)
        _timed[key] = best
    return _timed[key]


def flops(products):
    """FLOPs of a list of products, a Choice counted by its first alternative."""
    return sum(flops(item[0]) if isinstance(item, Choice) else
               2 * item[0] * int(np.prod(item[1])) * item[2] * item[3] * item[4]
               for item in products)


def seconds(products):
    """Seconds of a list of products, a Choice by its fastest alternative."""
    return sum(min(seconds(alt) for alt in item) if isinstance(item, Choice) else
               item[0] * product_time(*item[1:]) for item in products)


def floor(name, samples, training):
    """Seconds of products in one epoch (training) or one inference of `samples`."""
    graph = nnspec.compile(NETS[name][0]).graph
    batch = NETS[name][1] if training else INFER_BATCH
    steps, last = divmod(samples, batch)
    total = steps * seconds(products(graph, batch, training))
    if last:
        total += seconds(products(graph, last, training))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--nets", default=",".join(n for n in NETS if n != "tiny"))
    args = ap.parse_args()
    names = args.nets.split(",")
    unknown = set(names) - set(NETS)
    if unknown:
        ap.error(f"unknown network {sorted(unknown)[0]!r} (networks: {', '.join(NETS)})")
    if importlib.util.find_spec("torch") is None:
        ap.error("the floors are measured against PyTorch: pip install torch==2.13.0")
    head = f"{'network':<11} | train: {'floor s':>7} {'numpy s':>7} {'torch s':>7} " \
           f"{'n/fl':>5} {'bound':>5} | infer: {'floor s':>7} {'numpy s':>7} {'torch s':>7} " \
           f"{'n/fl':>5} {'bound':>5}"
    print(f"{args.samples} samples, {args.rounds} rounds; bound = the median of per-round "
          "PyTorch time / floor time, the best nnspec / PyTorch ratio a numpy engine of "
          "these products could reach; n/fl = the numpy engine's time / floor time")
    print(head)
    print("-" * len(head))
    for name in names:
        workers = {s: Worker(s, name, args.samples) for s in ("numpy", "torch")}
        for worker in workers.values():
            worker._ask("train"), worker._ask("infer")  # warm-up: untimed
        rows = {"train": [], "infer": []}
        for _ in range(args.rounds):
            for kind in rows:
                _timed.clear()  # each round times the products again, in this round's phase
                ours = floor(name, args.samples, kind == "train")
                rows[kind].append((ours, workers["numpy"].ask(kind), workers["torch"].ask(kind)))
        for worker in workers.values():
            worker.close()
        line = f"{name:<11} |"
        for kind in ("train", "infer"):
            medians = [statistics.median(row[i] for row in rows[kind]) for i in range(3)]
            above = statistics.median(n / f for f, n, _ in rows[kind])
            bound = statistics.median(t / f for f, _, t in rows[kind])
            line += "        " + " ".join(f"{m:>7.4f}" for m in medians) + \
                f" {above:>5.2f} {bound:>5.2f} |"
        print(line.rstrip(" |"), flush=True)


if __name__ == "__main__":
    main()
