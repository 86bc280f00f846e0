"""Parsing and shape-checking a 200-layer spec: median time of both steps.

    python benchmarks/parse_200.py

The spec mixes the constructs that cost the most to resolve: named layers,
residual blocks (expanded at compile time), merges, repeats and a train block.
Shape checking is nnspec.lang.shapes.infer on the parsed network; no weights.
"""
import statistics
import time

from nnspec.lang import shapes
from nnspec.lang import parse


def spec(layers=200):
    lines = ["nnspec 1", "input 32x32x3", "",
             "block res(f) {", "  conv 3x3x{f} same relu -> conv 3x3x{f} same -> add(in) relu",
             "}", "", "stem: conv 3x3x16 same relu"]
    count = 1
    while count < layers - 3:
        lines.append("  -> res(16)")  # 3 layers
        lines.append("  -> (conv 3x3x16 same relu) x2")
        count += 5
    lines.append("  -> maxpool 2 -> dense 64 relu -> dense 10 softmax")
    lines += ["", "train {", "  optimizer = adam", "  epochs = 1", "}"]
    return "\n".join(lines) + "\n"


def main(rounds=21):
    text = spec()
    start = time.perf_counter()
    network = parse(text)  # the first parse in a process also builds lark's parser
    cold = time.perf_counter() - start
    n = len(network.nodes) - 1
    parse_times, shape_times = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        network = parse(text)
        t1 = time.perf_counter()
        shapes.infer(network)
        t2 = time.perf_counter()
        parse_times.append(t1 - t0)
        shape_times.append(t2 - t1)
    p, s = statistics.median(parse_times), statistics.median(shape_times)
    print(f"{n} layers, {len(text.splitlines())} lines of spec")
    print(f"parse        {p * 1e3:7.1f} ms  (median of {rounds})")
    print(f"shape check  {s * 1e3:7.1f} ms")
    print(f"total        {(p + s) * 1e3:7.1f} ms")
    print(f"first parse in a process, building lark's parser: {cold * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
