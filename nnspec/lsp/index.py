"""The document index: spec text -> what the editor features need, as plain data.

This is the one module of the language server that reads nnspec's internals:
the syntax tree (lang/syntax.py), the IR and its locations (lang/build.py),
shapes (lang/shapes.py), the summary's numbers (engine/) and the train block's
checks (training/config.py). Hover, completion, navigation and symbols read
only the Index, so a change to those internals touches this file alone.

index(text) never raises for a user's mistake: the first error becomes a
Problem at the word it points to, with the message `nnspec compile` prints.
Where the text does not parse, names and layers come from the text with the
offending line emptied, so completion still knows what is defined around it.
"""
import dataclasses
import math
import threading

from ..engine.layers import flops as layer_flops
from ..engine.summary import _count as count_text  # the summary table's own rounding
from ..errors import ShapeError, SpecError
from ..lang import build, fmt, shapes, tree
from ..lang.kinds import KINDS
from ..lang.kinds.base import fmt_shape
from ..lang.printer import format_node
from ..lang.syntax import syntax
from ..training.config import resolve
from . import text as tx
from .document import Block, Index, Layer, Name, Problem, Setting
from .text import Span

# Larger texts are not checked as they are typed (parsing takes about 7 ms a
# kilobyte here); `nnspec compile` checks them. Specs are a few kilobytes.
MAX_TEXT = 100_000
# lark's lexer gathers comments into one module-level list (lang/syntax.py), so
# documents are parsed one at a time; what follows parsing may run side by side
_PARSING = threading.Lock()
SALVAGE = 3  # tries at indexing a text that does not parse, each with lines emptied


def index(text, source="<spec>"):
    """Spec text -> Index. Raises nothing for any text a user can write."""
    lines = tx.lines_of(text)
    if len(text) > MAX_TEXT:
        return Index(text, [Problem(Span(0, 0, len(lines[0])),
                                    f"the file has {len(text):,} characters; the editor checks "
                                    f"specs of up to {MAX_TEXT:,} (nnspec compile checks it)",
                                    "information")])
    holes = tx.placeholders(text)
    filled = tx.fill(text, holes) if holes else text
    error, statements, network, sizes = _analyse(filled)
    out = Index(text, template=bool(holes))
    problem = _problem(error, lines, holes) if error is not None else None
    if problem is not None:
        out.problems.append(problem)
    if holes:
        names = ", ".join(dict.fromkeys(lines[h.line][h.start:h.end] for h in holes))
        out.problems.append(Problem(holes[0], f"a template: {names} are filled in before it is "
                                    "checked (nnspec.sklearn), so its shapes are not checked "
                                    "here", "information"))
    if network is None and error is not None and error.line is not None:
        statements, network, sizes = _salvage(filled, error.line - 1, statements)
    if statements is not None:
        _Walker(out, lines).statements(statements)
    if network is not None:
        out.layers = _layers(network, sizes, lines, template=bool(holes))
        _default_names(out, network)
    return out


def _analyse(text):
    """-> (the first error or None, syntax tree, IR, {name: shape}): as far as it gets."""
    try:
        with _PARSING:
            statements = syntax(text)
    except SpecError as e:
        return e, None, None, {}
    try:
        network = build.build(statements)
    except SpecError as e:
        return e, statements, None, {}
    try:
        sizes = shapes.infer(network)
    except ShapeError as e:
        return e, statements, network, _partial(network, e)
    return _train_error(network, sizes), statements, network, sizes


def _salvage(text, line, statements):
    """(syntax tree, IR, shapes) of the text with the error's line emptied, or the
    line above it (where an unclosed `add(` began), or both; the first that builds."""
    first = tx.written_above(text, line)
    second = tx.written_above(text, first - 1) if first > 0 else first
    for lines in ((first,), (second,), (first, second))[:SALVAGE]:
        attempt = text
        for number in lines:
            attempt = tx.blank(attempt, number)
        _, found, network, sizes = _analyse(attempt)
        statements = statements or found
        if network is not None:
            return statements, network, sizes
    return statements, None, {}


def _partial(network, error):
    """The shapes of the layers before the one a ShapeError names."""
    name = error.message.split(":", 1)[0]
    cut = next((i for i, n in enumerate(network.nodes) if n.name == name), 0)
    try:
        return shapes.infer(dataclasses.replace(network, nodes=network.nodes[:cut]))
    except SpecError:
        return {}


class _SettingError(SpecError):
    """A train block's value that compile() refuses (training/config.py's checks)."""


def _train_error(network, sizes):
    """The train block's first problem, as compile() finds it (Model.configure:
    training/config.resolve), without drawing any weights."""
    try:
        resolve(network, sizes)
    except SpecError as e:
        return _SettingError(e.message, e.line, e.column)
    return None


def _problem(error, lines, holes):
    """The error as a Problem; None in a template where it may come from the stand-in
    values of its placeholders: shapes, the train block's checks, a placeholder's line."""
    span = tx.word_span(lines, error.line, error.column)
    if holes and (isinstance(error, (ShapeError, _SettingError)) or error.line is None
                  or any(h.line == span.line for h in holes)):
        return None
    return Problem(span, error.message)


def _layers(network, sizes, lines, template):
    """Every layer with its numbers; a template's, without its placeholders' stand-ins."""
    out = []
    for node in network.nodes:
        loc = node.loc
        span = tx.word_span(lines, loc.line, loc.column) if loc else Span(0, 0, 0)
        if node.kind == "input":  # `input 28x28x1`: from the keyword to the dims' end
            head = lines[span.line][:span.start].rstrip()
            if head.endswith("input"):
                span = Span(span.line, len(head) - len("input"), span.end)
        shape, params, count = None if template else sizes.get(node.name), None, None
        if shape is not None:
            params, count = _numbers(node, sizes)
        spec = node.kind if template else format_node(node)
        out.append(Layer(node.name, node.kind, span, spec, node.inputs,
                         fmt_shape(shape) if shape is not None else None, params, count,
                         count_text(count) if count is not None else None))
    return out


def _numbers(node, sizes):
    """(parameters, forward FLOPs per sample), as the summary table counts them."""
    if node.kind == "input":
        return 0, 0
    kind = KINDS[node.kind]
    in_shape = [sizes[s] for s in node.inputs] if kind.merge else sizes[node.inputs[0]]
    declared = kind.weights(node.p, in_shape) if kind.weights else ()
    return sum(math.prod(shape) for _, shape, _ in declared), layer_flops(node, sizes)


def _default_names(out, network):
    """Layers named after their kind (conv1) are defined where their kind is written."""
    written = {(d.scope, d.name) for d in out.definitions}
    for node, layer in zip(network.nodes, out.layers):
        scope = out.scope_at(layer.span.line)
        local = node.name.rsplit("/", 1)[-1]
        if node.kind != "input" and (scope, local) not in written:
            written.add((scope, local))
            out.definitions.append(Name(local, layer.span, scope, "layer"))


def formatted(text):
    """`nnspec fmt`'s layout of the text, or None where it does not parse."""
    try:
        with _PARSING:
            return fmt.fmt(text)
    except SpecError:
        return None


class _Walker:
    """Names defined and used, blocks and settings, from the syntax tree."""

    def __init__(self, out, lines):
        self.out, self.lines = out, lines

    def statements(self, statements):
        for st in statements:
            if isinstance(st, tree.Block):
                self.block(st)
        for st in statements:
            if isinstance(st, tree.Input):
                if st.name is not None:  # `image: input 28x28x1`
                    loc = st.name_loc
                    self.define(st.name, tx.name_span(loc.line, loc.column, st.name), "",
                                "input")
                else:
                    self.define("input", self._input_span(st.loc), "", "input")
                if st.chain is not None:
                    self.chain(st.chain.elements, "", set())
            elif isinstance(st, tree.Chain):
                self.chain(st.elements, "", set())
            elif isinstance(st, tree.Output):  # `output digit loss=...` names a layer
                self.use(st.name, st.loc, "", "layer")
            elif isinstance(st, tree.Train):
                self.train(st)

    def _input_span(self, loc):
        head = self.lines[loc.line - 1][:loc.column - 1].rstrip()
        start = len(head) - len("input") if head.endswith("input") else loc.column - 1
        return Span(loc.line - 1, start, start + len("input"))

    def _closing(self, line):
        last = tx.closing_line(self.lines, line)
        return len(self.lines) - 1 if last is None else last

    def define(self, name, span, scope, what):
        self.out.definitions.append(Name(name, span, scope, what))

    def use(self, name, loc, scope, what):
        self.out.references.append(Name(name, tx.name_span(loc.line, loc.column, name),
                                        scope, what))

    def block(self, st):
        name, loc = st.name, st.loc
        span = tx.name_span(loc.line, loc.column, name)
        args = tuple(Name(p.name, tx.name_span(p.loc.line, p.loc.column, p.name), name, "param")
                     for p in st.params)
        lines = (loc.line - 1, self._closing(loc.line - 1))
        self.out.blocks.append(Block(name, span, args, lines))
        self.define(name, span, "", "block")
        self.out.definitions.extend(args)
        for chain in st.chains:
            self.chain(chain.elements, name, {p.name for p in st.params})

    def chain(self, elements, scope, params):
        for el in elements:
            self.element(el, scope, params)

    def element(self, el, scope, params):
        if isinstance(el, tree.Labeled):
            loc = el.loc
            self.define(el.name, tx.name_span(loc.line, loc.column, el.name), scope, "layer")
            self.element(el.element, scope, params)
        elif isinstance(el, tree.Group):
            self.chain(el.chain.elements, scope, params)
        elif isinstance(el, tree.Apply):
            if el.name in KINDS:  # a merge: its arguments are names of layers
                for arg in el.args:
                    form, value, aloc = arg.value
                    if arg.key is None and form == "name":
                        self.use(value, aloc, scope, "input" if value in ("in", "input")
                                 else "layer")
            else:
                self.use(el.name, el.loc, "", "block")
                for arg in el.args:
                    self.words([arg.value], scope, params)
            self.words(el.words, scope, params)
        else:
            if not el.words and not el.options and el.kind not in KINDS:
                self.use(el.kind, el.loc, scope, "input" if el.kind in ("in", "input")
                         else "layer")
            self.words(el.words, scope, params)

    def words(self, words, scope, params):
        """Block parameters used as words: `act`, `{f}`, and inside dims, 3x3x{f}."""
        for form, value, loc in words:
            if form == "param" or (form == "name" and value in params):
                inside = int(form == "param")  # {f}: the name inside the braces
                self.out.references.append(Name(value, tx.name_span(
                    loc.line, loc.column + inside, value), scope, "param"))
            elif form == "dims":
                span = tx.word_span(self.lines, loc.line, loc.column)
                written = self.lines[span.line][span.start:span.end]
                for m in tx.PLACEHOLDER.finditer(written):
                    self.out.references.append(Name(m.group(1), Span(
                        span.line, span.start + m.start(1), span.start + m.end(1)), scope,
                        "param"))

    def train(self, st):
        self.out.train = (st.loc.line - 1, self._closing(st.loc.line - 1))
        for key, _, kloc in st.settings:
            line = self.lines[kloc.line - 1]
            value = line[line.find("=", kloc.column - 1) + 1:].split("#")[0].strip()
            self.out.settings.append(Setting(key, tx.name_span(kloc.line, kloc.column, key),
                                             value))
