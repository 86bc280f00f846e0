"""A spec as a template: its {placeholders} outside blocks (`dense {hidden} sigmoid`,
maybe with a default, `{hidden=2}`), filled with values as text, and its sweep
block, which a filled spec leaves out. What `nnspec compile --set`, `nnspec
train --set` and a sweep's trials compile is an ordinary spec: fill()'s text.

Text work on the spec: a filled spec keeps its comments and layout.
"""
import re
from typing import NamedTuple

from ..errors import SpecError
from . import ir, tree
from .syntax import syntax

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:=([^{}\s]+))?\}")
_STRING_OR_COMMENT = re.compile(r'"[^"\n]*"|#[^\n]*')


class Placeholder(NamedTuple):
    name: str
    default: str  # as written, or None
    loc: ir.Loc  # its first use


def _code(text):
    """The text with comments blanked (same offsets), strings kept."""
    return _STRING_OR_COMMENT.sub(
        lambda m: m.group() if m.group().startswith('"') else " " * len(m.group()), text)


def _loc(text, offset):
    line = text.count("\n", 0, offset) + 1
    return ir.Loc(line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


def _block_params(statements):
    return {p.name for st in statements if isinstance(st, tree.Block) for p in st.params}


def placeholders(text, source="<spec>", statements=None):
    """{name: Placeholder} of the spec's placeholders outside blocks, in order of
    first use (a block's own parameters are not placeholders)."""
    statements = syntax(text, source) if statements is None else statements
    params = _block_params(statements)
    found = {}
    for m in PLACEHOLDER.finditer(_code(text)):
        name, default = m.group(1), m.group(2)
        if name in params:
            continue
        if name not in found or (found[name].default is None and default is not None):
            loc = found[name].loc if name in found else _loc(text, m.start())
            found[name] = Placeholder(name, default, loc)
    return found


def sweep_block(text, source="<spec>", statements=None):
    """The spec's tree.Sweep, or None."""
    statements = syntax(text, source) if statements is None else statements
    return next((st for st in statements if isinstance(st, tree.Sweep)), None)


def value_text(value):
    """A value for a placeholder as spec text: text as it is, numbers as the spec writes them."""
    return value if isinstance(value, str) else ir.format_value(value)


def fill(text, values=None, settings=None, source="<spec>"):
    """The spec with each placeholder named in `values` replaced by its value (spec
    text or a number), the train settings in `settings` ({key: value}) written
    into its train block, and its sweep block left out: an ordinary spec.
    Placeholders not given keep their defaults. Raises SpecError for a name that
    is neither a placeholder of the spec nor (in settings) a train setting."""
    from .settings import read
    values, settings = dict(values or {}), dict(settings or {})
    statements = syntax(text, source)
    known = placeholders(text, source, statements)
    for name in values:
        if name not in known:
            raise SpecError(f"'{name}' is not a placeholder of the spec"
                            + (f" (its placeholders: {', '.join(known)})" if known else
                               " (it has no {placeholders})"), source=source)
    for key, value in settings.items():
        read(key, value)  # checked as every setting is
    params = _block_params(statements)
    edits = []  # (start, end, replacement), applied from the end
    code = _code(text)
    for m in PLACEHOLDER.finditer(code):
        if m.group(1) in values and m.group(1) not in params:
            edits.append((m.start(), m.end(), value_text(values[m.group(1)])))
    sweep = sweep_block(text, source, statements)
    if sweep is not None:
        start, end = sweep.span
        while start > 0 and text[start - 1] in " \t\n":  # the blank lines before it too
            start -= 1
        edits.append((start, end, ""))
    if settings:
        edits += _settings(text, code, statements, settings)
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text if text.endswith("\n") else text + "\n"


def _settings(text, code, statements, settings):
    """Edits that write train settings: over the value on the setting's line, or as
    new lines at the end of the train block (a new block where there is none)."""
    train = next((st for st in statements if isinstance(st, tree.Train)), None)
    lines = [f"  {key} = {value_text(value)}" for key, value in settings.items()]
    if train is None:
        return [(len(text), len(text), ("\n" if text.endswith("\n") else "\n\n")
                 + "train {\n" + "\n".join(lines) + "\n}\n")]
    edits, written = [], {key: (value, loc) for key, value, loc in train.settings}
    new = []
    for key, value in settings.items():
        if key in written:
            at = _offset(text, written[key][1])
            start = code.index("=", at) + 1
            end = code.find("\n", start)
            end = len(code) if end < 0 else end
            while end > start and code[end - 1] in " \t":  # a trailing comment stays
                end -= 1
            edits.append((start, end, " " + value_text(value)))
        else:
            new.append(f"  {key} = {value_text(value)}\n")
    if new:
        close = train.span[1] - 1  # the block's "}"
        line_start = text.rfind("\n", 0, close) + 1
        edits.append((line_start, line_start, "".join(new)))
    return edits


def _offset(text, loc):
    lines = text.split("\n")
    return sum(len(line) + 1 for line in lines[:loc.line - 1]) + loc.column - 1
