"""The summary table: one row per layer, then totals (as Keras' model.summary()).

FLOPs are per sample for a forward pass: a multiply-add counts 2 (conv, dense),
pooling one per window element, a merge one per output element; activations
are not counted. For graphs a column says what each layer takes its input from.
"""

from ..lang.kinds.base import fmt_shape
from ..lang.printer import format_node
from .layers import flops


def is_chain(network):
    nodes = network.nodes
    return all(n.inputs == (p.name,) for p, n in zip(nodes, nodes[1:]))


def _count(n):
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def table(graph, weights, terms=()):
    """The summary: a row per layer, totals, and with several outputs each one's
    loss and weight (terms: losses.Term per output)."""
    network = graph.network
    graph_like = not is_chain(network)
    head = ("layer", "spec", "output shape", "params", "FLOPs") + (("inputs",) if graph_like
                                                                   else ())
    rows, total_flops = [head], 0
    for node in network.nodes:
        n = sum(int(weights[k].size) for _, k in graph.keys.get(node.name, ()))
        f = flops(node, graph.shapes) if node.kind != "input" else 0
        total_flops += f
        row = (node.name, format_node(node), fmt_shape(graph.shapes[node.name]), f"{n:,}",
               _count(f))
        rows.append(row + ((", ".join(node.inputs),) if graph_like else ()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    right = {3, 4}

    def line(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    rule = "-" * max(len(line(r)) for r in rows)
    total = sum(int(v.size) for v in weights.values())
    fixed = total - sum(int(weights[k].size) for k in graph.trainable)
    totals = f"total parameters: {total:,}" + (f" ({fixed:,} not trained: running statistics)"
                                               if fixed else "")
    ends = [] if len(graph.outputs) == 1 else [
        "outputs: " + ", ".join(f"{t.name} ({t.node}, loss {t.loss}" + (
            f", weight {t.weight:g})" if t.weight != 1 else ")") for t in terms)]
    return "\n".join([line(rows[0]), rule] + [line(r) for r in rows[1:]] +
                     [rule, totals,
                      f"FLOPs per sample: {_count(total_flops)} ({total_flops:,})"] + ends)
