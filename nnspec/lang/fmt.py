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
from . import tree
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
    parts += [f"{o.key}={value_text(o.value.form, o.value.value)}" for o in options]
    return parts


def element_text(el):
    if isinstance(el, tree.Labeled):
        return f"{el.name}: {element_text(el.element)}"
    if isinstance(el, tree.Group):
        return "(" + " -> ".join(element_text(e) for e in el.chain.elements) + f") x{el.count}"
    if isinstance(el, tree.Apply):
        inner = ", ".join((f"{a.key}=" if a.key else "") + value_text(a.value.form, a.value.value)
                          for a in el.args)
        return " ".join([f"{el.name}({inner})"] + _words(el.words, el.options))
    return " ".join([el.kind] + _words(el.words, el.options))


class _Printer:
    def __init__(self, text, comments):
        self.source = text.splitlines()
        self.comments = list(comments)  # tree.Comments, in order
        self.out = []  # printed lines
        self.last = 0  # the last source line printed

    def _trailing(self, comment):
        """Whether a comment follows code on its line."""
        return bool(self.source[comment.line - 1][:comment.column - 1].strip())

    def emit(self, text, first, last, indent=""):
        """One printed line covering source lines first..last."""
        tails = []
        while self.comments and self.comments[0].line <= last:
            comment = self.comments.pop(0)
            if comment.line >= first and self._trailing(comment):
                tails.append(comment.text)
            else:
                self.out.append(indent + comment.text if comment.line >= first
                                else self._indent() + comment.text)
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
        lines = [e.line for e in elements]
        first, last = lines[0], max(lines)
        inside = any(first <= c.line < last for c in self.comments)
        one = first_prefix + " -> ".join(texts)
        if len(elements) <= MAX_INLINE and len(indent + one) <= WIDTH and not inside:
            self.emit(one, first, last, indent)
            return
        self.emit(first_prefix + texts[0], lines[0], lines[0], indent)
        for text, line in zip(texts[1:], lines[1:]):
            self.emit("  -> " + text, line, line, indent)

    def statement(self, st):
        if isinstance(st, tree.Header):
            self.blank(st.loc.line)
            self.emit(f"nnspec {st.version}", st.loc.line, st.loc.line)
        elif isinstance(st, tree.Input):
            self.blank(st.loc.line)
            dims = st.dims
            head = " ".join([f"input {value_text('dims', dims) if len(dims) > 1 else dims[0]}"]
                            + _words((), st.options))
            head = f"{st.name}: {head}" if st.name else head
            if st.chain is not None:
                self.chain((tree.Layer(head, st.loc),) + st.chain.elements)
            else:
                self.emit(head, st.loc.line, st.loc.line)
        elif isinstance(st, tree.Chain):
            self.blank(st.elements[0].line)
            self.chain(st.elements)
        elif isinstance(st, tree.Train):
            self.blank(st.loc.line, always=True)
            self.emit("train {", st.loc.line, st.loc.line)
            for key, (form, value, _), kloc in st.settings:
                self.emit(f"{key} = {value_text(form, value)}", kloc.line, kloc.line, "  ")
            self.emit("}", self.last, self.last)
        elif isinstance(st, tree.Output):
            self.blank(st.loc.line)
            self.emit(" ".join([f"output {st.name}"] + _words((), st.options)), st.loc.line,
                      st.loc.line)
        elif isinstance(st, tree.Block):
            self.blank(st.loc.line, always=True)
            self.emit(f"block {st.name}({', '.join(p.name for p in st.params)}) {{",
                      st.loc.line, st.loc.line)
            for chain in st.chains:
                self.chain(chain.elements, "  ")
            self.emit("}", self.last, self.last)


def fmt(text, source="<spec>"):
    """Spec text -> canonical spec text. Raises SpecError for text that does not parse."""
    comments = []
    statements = syntax(text, source, comments)
    printer = _Printer(text, comments)
    for st in statements:
        printer.statement(st)
    printer.out += [c.text for c in printer.comments]
    return "\n".join(printer.out).strip("\n") + "\n"
