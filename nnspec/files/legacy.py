"""Bundles of earlier formats, read as they were written: where a later format
changed what a spec means, the older spec text gets what keeps its meaning
(docs/bundle-format.md, Versions)."""
import dataclasses
import re

from ..lang import shapes
from ..training.optimizers import OPTIMIZERS


def flatten_before_dense(text, network):
    """Before 1.4, dense flattened a sequence (TIMExFEATURES); now it acts on each
    step. An older bundle's spec gets an explicit `flatten ->` before each such
    dense (before its `name:` where it has one), which keeps what it computed: a
    flatten before dense changes nothing for vectors and images."""
    legacy = dataclasses.replace(network, nodes=tuple(
        dataclasses.replace(n, params=tuple(sorted(n.params + (("flatten", True),))))
        if n.kind == "dense" else n for n in network.nodes))
    sizes = shapes.infer(legacy)  # as nnspec then inferred them
    spots = sorted({(n.loc.line, n.loc.column) for n in network.nodes
                    if n.kind == "dense" and len(sizes[n.inputs[0]]) == 2}, reverse=True)
    lines = text.split("\n")
    for row, column in spots:  # from the end, so earlier columns stay where they were
        line, column = lines[row - 1], column - 1
        label = re.search(r"[A-Za-z_]\w*\s*:\s*$", line[:column])
        column = label.start() if label else column
        lines[row - 1] = line[:column] + "flatten -> " + line[column:]
    return "\n".join(lines)


OLD_LR = 0.01  # every optimizer's rate before 1.5, when a spec named none


def rate_before_defaults(text, network, overrides):
    """Before 1.5 a spec that named no learning rate trained at 0.01 with every
    optimizer; since, the optimizer's own default applies (0.001 for adam). An
    older bundle's spec gets `lr = 0.01` written into its train block where its
    optimizer's default differs, so that it resumes at the rate it trained with."""
    train = network.train
    if (train is not None and train.lr is not None) or "lr" in overrides:
        return text
    optimizer = overrides.get("optimizer") or (train.optimizer if train else "sgd")
    if OPTIMIZERS.get(optimizer) is None or OPTIMIZERS[optimizer].LR == OLD_LR:
        return text
    line = f"  lr = {OLD_LR}"
    if train is None:
        return text.rstrip("\n") + f"\ntrain {{\n{line}\n}}\n"
    if train.locs:  # before the block's first setting, on a line of its own
        first = min(loc.line for _, loc in train.locs)
        lines = text.split("\n")
        column = min(loc.column for key, loc in train.locs if loc.line == first)
        before, after = lines[first - 1][:column - 1], lines[first - 1][column - 1:]
        lines[first - 1] = before + f"lr = {OLD_LR}\n" + (before if not before.strip()
                                                          else "  ") + after
        return "\n".join(lines)
    return re.sub(r"train\s*\{\s*\}", f"train {{\n{line}\n}}", text, count=1)
