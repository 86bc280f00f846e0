"""`nnspec fmt`: a spec in canonical layout, meaning and comments unchanged.

Canonical: one statement per line; a chain on one line when it has at most
four elements and fits in 80 columns, else one element per line, each after
the first starting with `  -> `; single spaces between words, `key=value` on
layers, `key = value` in the train block, bodies indented by two spaces; at
most one blank line where the source had blank lines, and always one before a
block or train block. Words keep the order they were written in. Comments stay
on the line of the element they follow, or before the element below them.
fmt(fmt(x)) == fmt(x) and parse(fmt(x)) == parse(x).
"""
from .ir import Call, format_value
from .syntax import syntax

WIDTH = 80
MAX_INLINE = 4


def value_text(form, value):
    if form == "param":
        return "{" + value + "}"
    if form == "dims":
        return "x".join(str(d) if isinstance(d, int) else "{" + d + "}" for d in value)
    if form == "string":
        return f'"{value}"'
    if form == "ratio":
        return "/".join(f"{v:g}" for v in value)
    if form == "list":
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return _plain(value)


def _plain(v):
    """A value inside a call or list, where only its Python value is kept."""
    if isinstance(v, Call):
        return str(v)
    if isinstance(v, tuple) and not all(isinstance(d, int) for d in v):
        return "[" + ", ".join(_plain(x) for x in v) + "]"
    return format_value(v)


def _words(words, options):
    parts = [value_text(form, value) for form, value, _ in words]
    parts += [f"{key}={value_text(form, value)}" for key, form, value, _ in options]
    return parts


def element_text(el):
    tag = el[0]
    if tag == "labeled":
        return f"{el[1]}: {element_text(el[3])}"
    if tag == "group":
        return "(" + " -> ".join(element_text(e) for e in el[1][1]) + f") x{el[2]}"
    if tag == "call":
        _, name, _, args, words, options = el
        inner = ", ".join((f"{k}=" if k else "") + value_text(v[0], v[1]) for k, v in args)
        return " ".join([f"{name}({inner})"] + _words(words, options))
    _, kind, _, words, options = el
    return " ".join([kind] + _words(words, options))


def _line(el):
    """The source line an element starts on."""
    tag = el[0]
    if tag == "group":
        return _line(el[1][1][0])
    return el[2].line if el[2] else 0


class _Printer:
    def __init__(self, text, comments):
        self.source = text.splitlines()
        self.comments = list(comments)  # (line, column, text), in order
        self.out = []  # printed lines
        self.last = 0  # the last source line printed

    def _trailing(self, comment):
        """Whether a comment follows code on its line."""
        line, column, _ = comment
        return bool(self.source[line - 1][:column - 1].strip())

    def emit(self, text, first, last, indent=""):
        """One printed line covering source lines first..last."""
        tails = []
        while self.comments and self.comments[0][0] <= last:
            comment = self.comments.pop(0)
            if comment[0] >= first and self._trailing(comment):
                tails.append(comment[2])
            else:
                self.out.append(indent + comment[2] if comment[0] >= first
                                else self._indent() + comment[2])
        self.out.append(indent + text + "".join("  " + t for t in tails))
        self.last = max(self.last, last)

    def _indent(self):
        """A comment left over inside a body (train, block) keeps its indent."""
        return "  " if self.out and self.out[-1].startswith("  ") and \
            not self.out[-1].startswith("  ->") else ""

    def blank(self, first, always=False):
        """A blank line before a statement at `first` if the source had one."""
        if not self.out or self.out[-1] == "":
            return
        if always or any(not s.strip() for s in self.source[self.last:first - 1]):
            self.out.append("")

    def chain(self, elements, indent="", first_prefix=""):
        texts = [element_text(e) for e in elements]
        lines = [_line(e) for e in elements]
        first, last = lines[0], max(lines)
        inside = any(first <= c[0] < last for c in self.comments)
        one = first_prefix + " -> ".join(texts)
        if len(elements) <= MAX_INLINE and len(indent + one) <= WIDTH and not inside:
            self.emit(one, first, last, indent)
            return
        self.emit(first_prefix + texts[0], lines[0], lines[0], indent)
        for text, line in zip(texts[1:], lines[1:]):
            self.emit("  -> " + text, line, line, indent)

    def statement(self, st):
        tag = st[0]
        if tag == "header":
            self.blank(st[2].line)
            self.emit(f"nnspec {st[1]}", st[2].line, st[2].line)
        elif tag == "input":
            _, dims, loc, elements = st
            self.blank(loc.line)
            head = f"input {value_text('dims', dims) if len(dims) > 1 else dims[0]}"
            if elements:
                self.chain([("layer", head, loc, [], [])] + elements)
            else:
                self.emit(head, loc.line, loc.line)
        elif tag == "chain":
            self.blank(_line(st[1][0]))
            self.chain(st[1])
        elif tag == "train":
            _, settings, loc = st
            self.blank(loc.line, always=True)
            self.emit("train {", loc.line, loc.line)
            for key, form, value, kloc in settings:
                self.emit(f"{key} = {value_text(form, value)}", kloc.line, kloc.line, "  ")
            self.emit("}", self.last, self.last)
        elif tag == "block":
            _, name, params, chains, loc = st
            self.blank(loc.line, always=True)
            self.emit(f"block {name}({', '.join(p for p, _ in params)}) {{", loc.line, loc.line)
            for chain in chains:
                self.chain(chain[1], "  ")
            self.emit("}", self.last, self.last)


def fmt(text, source="<spec>"):
    """Spec text -> canonical spec text. Raises SpecError for text that does not parse."""
    comments = []
    statements = syntax(text, source, comments)
    printer = _Printer(text, comments)
    for st in statements:
        printer.statement(st)
    printer.out += [c[2] for c in printer.comments]
    return "\n".join(printer.out).strip("\n") + "\n"
