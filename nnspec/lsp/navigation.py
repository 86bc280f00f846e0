"""Names in a document: which one is at a position, where it is defined, every
place it is used, and the edits that rename a layer. Reads only the Index.

A block's body is a scope of its own (its layers, its parameters and `in`);
the top level is another. Blocks themselves are named at the top level.
"""
import re

from .. import vocabulary

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*")
RESERVED = ("in", "input")


class RenameError(ValueError):
    """Why a rename cannot be made; the editor shows the message."""


def name_at(ix, line, column):
    """The definition or reference at a position, or None."""
    for name in ix.references + ix.definitions:
        if name.span.contains(line, column):
            return name
    return None


def _key(name):
    """Names that refer to one thing: the scope, the name, and layer-or-not."""
    what = "layer" if name.what in ("layer", "input") else name.what
    return ("" if name.what == "block" else name.scope, name.name, what)


def definition(ix, name):
    """Where a name (a Name at some position) is defined, or None (`in`, unknown)."""
    return next((d for d in ix.definitions if _key(d) == _key(name)), None)


def occurrences(ix, name):
    """The definition and every use of the name, in document order."""
    found = [n for n in ix.definitions + ix.references if _key(n) == _key(name)]
    return sorted(found, key=lambda n: (n.span.line, n.span.start))


def layers_of(ix, name):
    """The layers a name stands for: the layer itself, every instance of a layer
    in a block, or the last layer of a named block call (its output)."""
    if name.what == "input":
        return [layer for layer in ix.layers if layer.kind == "input"][:1]
    if name.scope:  # a block's layer: one per call
        return [layer for layer in ix.layers if layer.name.endswith("/" + name.name)]
    exact = [layer for layer in ix.layers if layer.name == name.name]
    inside = [layer for layer in ix.layers if layer.name.startswith(name.name + "/")]
    return exact or inside[-1:]


def written(ix, name):
    """Whether a layer's name is written in the text (a label), not a default (conv1)."""
    d = definition(ix, name)
    if d is None:
        return False
    line = ix.text.split("\n")[d.span.line]
    return line[d.span.start:d.span.end] == name.name


def renamed(ix, line, column):
    """The layer name at a position, if it can be renamed; else RenameError says why."""
    name = name_at(ix, line, column)
    if name is None or name.what != "layer":
        raise RenameError("place the cursor on a layer's name to rename it")
    if not written(ix, name):
        raise RenameError(f"'{name.name}' is a default name; name the layer first "
                          f"(NAME: {name.name.rstrip('0123456789')} ...)")
    return name


def rename(ix, line, column, new):
    """[(Span, new)] renaming the layer name at a position everywhere it is used.
    Raises RenameError saying why it cannot."""
    name = renamed(ix, line, column)
    check_name(ix, name, new)
    return [(n.span, new) for n in occurrences(ix, name)]


def check_name(ix, name, new):
    if not _NAME.fullmatch(new):
        raise RenameError(f"'{new}' is not a name (a letter or _, then letters, digits, _)")
    if new in RESERVED or new in vocabulary.KEYWORDS or new in vocabulary.kinds():
        raise RenameError(f"'{new}' is a layer kind or reserved; a layer needs another name")
    if ix.block(new) is not None:
        raise RenameError(f"'{new}' is a block; a layer needs another name")
    if any(d.name == new and _key(d)[0] == _key(name)[0] for d in ix.definitions):
        raise RenameError(f"the name '{new}' is taken")


def names_before(ix, line, column, scope):
    """The layer names a chain may refer to at a position: those defined earlier
    in the same scope, and `input` (top level) or `in` (in a block)."""
    out = ["in"] if scope else []
    for d in ix.definitions:
        if d.what in ("layer", "input") and d.scope == scope and \
                (d.span.line, d.span.start) < (line, column):
            out.append(d.name)
    return list(dict.fromkeys(out))
