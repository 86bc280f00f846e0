"""The summary table: one row per layer, then totals (as Keras' model.summary())."""
import numpy as np

from .layers.base import fmt_shape
from .printer import format_node


def table(graph, weights):
    rows = [("layer", "spec", "output shape", "params")]
    for node in graph.network.nodes:
        n = sum(int(np.prod(v.shape)) for k, v in weights.items()
                if k.rsplit(".", 1)[0] == node.name)
        rows.append((node.name, format_node(node), fmt_shape(graph.shapes[node.name]), f"{n:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    line = lambda r: "  ".join(c.ljust(w) if i < 3 else c.rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    rule = "-" * len(line(rows[0]))
    total = sum(int(v.size) for v in weights.values())
    return "\n".join([line(rows[0]), rule] + [line(r) for r in rows[1:]] +
                     [rule, f"total parameters: {total:,}"])
