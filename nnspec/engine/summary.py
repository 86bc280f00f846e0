"""The summary table: one row per layer, then totals (as Keras' model.summary()).

FLOPs are per sample for a forward pass: a multiply-add counts 2 (conv, dense),
pooling one per window element, a merge one per output element; activations
are not counted. For graphs a column says what each layer takes its input from.
"""
import dataclasses

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
        row = (node.name, format_node(_as_now(node, graph)), fmt_shape(graph.shapes[node.name]),
               f"{n:,}",
               _count(f))
        rows.append(row + ((", ".join(node.inputs),) if graph_like else ()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    right = {3, 4}

    def line(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    rule = "-" * max(len(line(r)) for r in rows)
    total = sum(int(v.size) for v in weights.values())
    totals = f"total parameters: {total:,}" + _split(graph, weights, total)
    ends = [] if len(graph.outputs) == 1 else [
        "outputs: " + ", ".join(f"{t.name} ({t.node}, loss {t.loss}" + (
            f", weight {t.weight:g})" if t.weight != 1 else ")") for t in terms)]
    return "\n".join([line(rows[0]), rule] + [line(r) for r in rows[1:]] +
                     [rule, totals,
                      f"FLOPs per sample: {_count(total_flops)} ({total_flops:,})"] + ends)


def _as_now(node, graph):
    """The node as the model now trains it: model.freeze and unfreeze change which
    layers learn after the spec said (the spec column must not say otherwise)."""
    frozen = node.name in graph.frozen
    if (node.p.get("trainable") is False) == frozen:
        return node
    params = {**dict(node.params), "trainable": not frozen}
    return dataclasses.replace(node, params=tuple(sorted(params.items())))


def _split(graph, weights, total):
    """Keras' trainable and non-trainable counts, and what the latter are: frozen
    layers' weights (trainable=false, model.freeze) and running statistics."""
    trainable = sum(int(weights[k].size) for k in graph.trainable)
    if trainable == total:
        return ""
    frozen = sum(int(weights[k].size) for k in graph.trained) - trainable
    parts = [f"frozen {frozen:,}"] if frozen else []
    statistics = total - trainable - frozen
    parts += [f"running statistics {statistics:,}"] if statistics else []
    return f" (trainable {trainable:,}, non-trainable {total - trainable:,}: {', '.join(parts)})"
