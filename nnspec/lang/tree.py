"""The syntax tree: what a spec says, statement by statement, as written.

syntax.py makes it from the text, build.py expands it into the IR (ir.py), and
fmt.py prints it back. Every part keeps its source location (an ir.Loc). A new
statement kind is a new type here; nothing tells parts apart by their length.

Values are (form, value, loc): form is "int", "float", "name", "param" ({f}),
"string", "dims" (ints, or names for {f} parts), "ratio", "call" (an ir.Call)
or "list" (a tuple of plain values).
"""
from dataclasses import dataclass
from typing import NamedTuple

from .ir import Loc


class Value(NamedTuple):
    form: str
    value: object
    loc: Loc


class Option(NamedTuple):
    """key=value on a layer, `key = value` in a train block."""

    key: str
    value: Value
    loc: Loc


class Arg(NamedTuple):
    """One argument of a block or merge call: key None where it is positional."""

    key: str
    value: Value


class Comment(NamedTuple):
    """A comment, kept apart from the statements for fmt."""

    line: int
    column: int
    text: str


class Param(NamedTuple):
    """One parameter of a block definition."""

    name: str
    loc: Loc


# -- elements of a chain --------------------------------------------------------

@dataclass(frozen=True)
class Layer:
    """`conv 3x3x8 same relu stride=2`; a bare name (`stem`) is a Layer without
    words or options that refers to an earlier layer."""

    kind: str
    loc: Loc
    words: tuple = ()  # Values
    options: tuple = ()  # Options


@dataclass(frozen=True)
class Apply:
    """A merge or block call: `add(a, b) relu`, `res(64)`."""

    name: str
    loc: Loc
    args: tuple = ()  # Args
    words: tuple = ()
    options: tuple = ()


@dataclass(frozen=True)
class Group:
    """`(chain) xN`: the chain repeated N times in sequence."""

    chain: "Chain"
    count: int
    loc: Loc

    @property
    def line(self):
        return self.chain.elements[0].line if self.chain.elements else self.loc.line


@dataclass(frozen=True)
class Labeled:
    """`name: element`."""

    name: str
    loc: Loc
    element: object


for _kind in (Layer, Apply, Labeled):  # the line an element starts on, for fmt
    _kind.line = property(lambda self: self.loc.line if self.loc else 0)


# -- statements -----------------------------------------------------------------

@dataclass(frozen=True)
class Chain:
    """Elements joined by `->`; continued: it goes on from the line before's arrow
    (`input 8 -> dense 2` is an Input whose chain is continued)."""

    elements: tuple
    continued: bool = False


@dataclass(frozen=True)
class Header:
    """`nnspec 1`."""

    version: int
    loc: Loc


@dataclass(frozen=True)
class Input:
    """`input 28x28x1`, maybe named (`image: input 28x28x1`), with its options
    (`scale=standard`), and a chain that follows it on its line."""

    dims: tuple
    loc: Loc
    chain: Chain = None
    name: str = None
    name_loc: Loc = None
    options: tuple = ()  # Options


@dataclass(frozen=True)
class Output:
    """`output NAME key=value ...`: a layer the network answers with, and its loss,
    weight and metrics."""

    name: str
    loc: Loc
    options: tuple = ()  # Options


@dataclass(frozen=True)
class Train:
    """`train { key = value ... }`: its settings are Options."""

    settings: tuple
    loc: Loc


@dataclass(frozen=True)
class Block:
    """`block NAME(PARAMS) { chains }`."""

    name: str
    params: tuple  # Params
    chains: tuple  # Chains
    loc: Loc
