"""`nnspec compile SPEC --graph FILE.png`: the network as boxes and arrows.

Layers stand in one column in the order they run, each box giving name,
spec and output shape; an edge between neighbours is a short arrow, and a
skip connection or branch curves around the right-hand side, so residual
networks look as they are usually drawn. An output has a green edge and is
marked on the left, with its loss weight where it is not 1.
"""
from ..errors import DataError
from ..lang.printer import format_node

ROW = 0.9  # inches per layer


def draw(model, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    nodes = model.network.nodes
    row = {n.name: i for i, n in enumerate(nodes)}
    height = max(2.0, ROW * len(nodes) + 0.6)
    fig, ax = plt.subplots(figsize=(6.5, height))
    ax.set_xlim(0, 6.5)
    ax.set_ylim(-height + 0.3, 0.3)
    ax.axis("off")
    y = {n.name: -ROW * i - 0.3 for i, n in enumerate(nodes)}
    outputs = {o.node: o for o in model.network.outputs}
    for node in nodes:
        merge = len(node.inputs) > 1
        color = "#dbe9f6" if node.kind != "input" else "#e8e8e8"
        out = outputs.get(node.name)
        ax.add_patch(FancyBboxPatch((1.0, y[node.name] - 0.28), 3.6, 0.56,
                                    boxstyle="round,pad=0.02", fc="#fde3c8" if merge else color,
                                    ec="#2e7d32" if out else "#555555", lw=1.6 if out else 0.8))
        if out is not None:
            label = "output" if out.name == node.name else f"output\n{out.name}"
            weight = next((t.weight for t in model.plan.terms if t.name == out.name), 1.0)
            label += f"\nweight {weight:g}" if weight != 1 else ""
            ax.text(0.92, y[node.name], label, fontsize=7, color="#2e7d32", ha="right",
                    va="center")
        shape = "x".join(map(str, model.shapes[node.name]))
        ax.text(1.1, y[node.name] + 0.08, node.name, fontsize=8, weight="bold", va="center")
        ax.text(1.1, y[node.name] - 0.14, format_node(node), fontsize=7, va="center",
                family="monospace")
        ax.text(4.5, y[node.name], shape, fontsize=8, va="center", ha="right")
        for src in node.inputs:
            skip = row[node.name] - row[src] > 1
            start = (4.6 if skip else 2.8, y[src] - (0 if skip else 0.28))
            end = (4.6 if skip else 2.8, y[node.name] + (0 if skip else 0.28))
            style = f"arc3,rad={-0.35 if skip else 0}"
            ax.add_patch(FancyArrowPatch(start, end, connectionstyle=style, arrowstyle="-|>",
                                         mutation_scale=9, lw=0.9,
                                         color="#c0504d" if skip else "#333333"))
    total = sum(int(w.size) for w in model.weights.values())
    layers = sum(n.kind != "input" for n in nodes)
    ax.set_title(f"{model.source}: {layers} layers, {total:,} parameters", fontsize=9)
    try:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot write the drawing: {getattr(e, 'strerror', None) or e}") \
            from None
    finally:
        plt.close(fig)
