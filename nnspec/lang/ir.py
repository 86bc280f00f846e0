"""The intermediate representation: what a spec means, as frozen data.

No numpy and no lark here. Source locations are kept for error messages but do
not take part in equality, so `parse(fmt(x)) == parse(x)` compares meaning.
"""
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Loc:
    line: int
    column: int


@dataclass(frozen=True)
class Call:
    """A value written as `name(arg, key=value)`, e.g. `shapes(2000, noise=0.2)`."""

    name: str
    args: tuple = ()
    kwargs: tuple = ()  # ((key, value), ...)

    def __str__(self):
        parts = [format_value(a) for a in self.args]
        parts += [f"{k}={format_value(v)}" for k, v in self.kwargs]
        return f"{self.name}({', '.join(parts)})"


_PARAMS = {}  # params tuple -> its dict, one for every node that has those params


@dataclass(frozen=True, slots=True)
class Node:
    """One layer (or the input) of the network.

    params holds the layer's normalised parameters as sorted (key, value) pairs,
    so the node stays hashable; `node.p` gives them as a dict.
    """

    name: str
    kind: str
    params: tuple = ()
    inputs: tuple = ()
    loc: Loc = field(default=None, compare=False)

    @property
    def p(self):
        """The params as a dict, shared by the nodes that have the same ones (a group
        repeated 10,000 times): made once, read-only by convention."""
        p = _PARAMS.get(self.params)
        if p is None:
            if len(_PARAMS) > 1 << 16:  # a bounded cache, whatever was parsed before
                _PARAMS.clear()
            p = _PARAMS[self.params] = dict(self.params)
        return p


@dataclass(frozen=True)
class Output:
    """An output the network answers with: its name (as an `output` line writes it,
    or the last layer's), the node that computes it, and what trains it: its loss
    and metrics (None: the train block's, or what the output implies) and its
    weight, its share of the total loss."""

    name: str
    node: str
    loss: str = None
    weight: float = 1.0
    metrics: tuple = None
    loc: Loc = field(default=None, compare=False)


@dataclass(frozen=True)
class Network:
    nodes: tuple  # in source order, which is a topological order
    outputs: tuple  # Outputs, in the order the spec declares them
    train: object = None  # a settings.TrainConfig, or None without a train block
    version: int = 1

    def node(self, name):
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def inputs(self):
        """The input nodes, in the order the spec declares them."""
        return tuple(n for n in self.nodes if n.kind == "input")

    @property
    def input(self):
        """The first input (a network of one input: its input)."""
        return self.nodes[0]


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*")


def format_value(v):
    """A parameter or setting value as spec text."""
    if isinstance(v, str) and not _NAME.fullmatch(v):
        return f'"{v}"'  # a string that is not a name was written in quotes
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        text = repr(v)
        return text if ("." in text or "e" in text or "n" in text) else text + ".0"
    if isinstance(v, tuple) and v and all(isinstance(d, int) for d in v):
        return "x".join(str(d) for d in v)
    if isinstance(v, tuple):  # a list value, e.g. metrics = [accuracy, top_k(3)]
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)
