"""What the editor knows of one spec, as plain data: its problems, layers with
their shapes and numbers, names where they are defined and used, blocks and
train settings. index.py fills it from nnspec's internals; the features read it.
"""
from dataclasses import dataclass, field

from .text import Span


@dataclass(frozen=True)
class Problem:
    span: Span
    message: str
    severity: str = "error"  # or "information"


@dataclass(frozen=True)
class Layer:
    """One layer of the network; layers of a block or a repeat share their span."""

    name: str
    kind: str
    span: Span
    spec: str
    inputs: tuple
    shape: str = None  # None where shape inference stopped before this layer
    params: int = None
    flops: int = None
    flops_text: str = None  # as the summary table rounds it: 4.6k


@dataclass(frozen=True)
class Name:
    """A name where it is defined or used. scope: '' (the top level) or a block's name."""

    name: str
    span: Span
    scope: str
    what: str  # "layer", "block", "param" or "input"


@dataclass(frozen=True)
class Block:
    name: str
    span: Span
    params: tuple  # (Name, ...)
    lines: tuple  # (first, last), 0-based


@dataclass(frozen=True)
class Setting:
    key: str
    span: Span
    value: str


@dataclass
class Index:
    text: str
    problems: list = field(default_factory=list)
    layers: list = field(default_factory=list)
    definitions: list = field(default_factory=list)
    references: list = field(default_factory=list)
    blocks: list = field(default_factory=list)
    settings: list = field(default_factory=list)
    train: tuple = None  # (first, last) lines of the train block
    template: bool = False  # the text has {placeholders} outside blocks

    def block(self, name):
        return next((b for b in self.blocks if b.name == name), None)

    def scope_at(self, line):
        """The scope a line is in: a block's name, or '' for the top level."""
        return next((b.name for b in self.blocks if b.lines[0] <= line <= b.lines[1]), "")
