"""Positions in spec text, for the editor: spans of tokens, the extent of braced
bodies, and template placeholders. Pure string work on the text alone.

Positions here are 0-based (line, column) in characters, as LSP counts them for
every character outside the astral planes; nnspec's own locations are 1-based.
"""
import re
from dataclasses import dataclass

# One word of spec text as the grammar writes it: a name (fashion-mnist), a
# number, dimensions with block parameters (3x3x{f}), a ratio, a placeholder.
_WORD = re.compile(r'"[^"\n]*"?|->|(?:\{[A-Za-z_]\w*\}|[^\s(),=\[\]{}:#"])+|\S')
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:=[^{}\s]+)?\}")  # maybe a default
HOLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")  # a placeholder without a default
_BLOCK_HEAD = re.compile(r"^[ \t]*block\b", re.M)


@dataclass(frozen=True)
class Span:
    """A range on one line: columns start..end (end exclusive), 0-based."""

    line: int
    start: int
    end: int

    def contains(self, line, column):
        return line == self.line and self.start <= column <= self.end


def lines_of(text):
    return text.split("\n")


def word_span(lines, line, column):
    """The word starting at 1-based (line, column): where an error points, so that
    the editor underlines the offending word. Past the end: the last line's end."""
    if line is None or line < 1:
        return Span(0, 0, len(lines[0]) if lines else 0)
    if line > len(lines):
        last = len(lines) - 1
        return Span(last, len(lines[last]), len(lines[last]))
    text = lines[line - 1].rstrip("\r")
    start = min(max(column - 1, 0), len(text))
    match = _WORD.match(text, start)
    end = match.end() if match else start
    return Span(line - 1, start, end)


def name_span(line, column, name):
    """A name's span from its 1-based location."""
    return Span(line - 1, column - 1, column - 1 + len(name))


def _strip(line):
    """A line without its comment or strings, same length (braces inside them don't count)."""
    line = re.sub(r'"[^"\n]*"?', lambda m: " " * len(m.group()), line)
    cut = line.find("#")
    return line if cut < 0 else line[:cut] + " " * (len(line) - cut)


def closing_line(lines, line):
    """The 0-based line of the brace that closes the first '{' opening on or after
    0-based `line` (placeholders like {f} are balanced and count as nothing);
    None when it is never closed."""
    depth, opened = 0, False
    for i in range(line, len(lines)):
        code = PLACEHOLDER.sub(lambda m: " " * len(m.group()), _strip(lines[i]))
        for ch in code:
            if ch == "{":
                depth, opened = depth + 1, True
            elif ch == "}" and opened:
                depth -= 1
                if depth == 0:
                    return i
    return None


def block_bodies(text):
    """[(first, last)] 0-based lines of each `block NAME(...) { ... }`."""
    lines = lines_of(text)
    out = []
    for match in _BLOCK_HEAD.finditer(text):
        first = text.count("\n", 0, match.start())
        last = closing_line(lines, first)
        out.append((first, len(lines) - 1 if last is None else last))
    return out


def placeholders(text):
    """Template placeholders ({n_features}) outside block bodies, where {f} is a
    block parameter: [Span]. One with a default ({hidden=2}) is not a hole: the
    spec compiles with its default."""
    bodies = block_bodies(text)
    spans = []
    for number, line in enumerate(lines_of(text)):
        if any(first <= number <= last for first, last in bodies):
            continue
        code = _strip(line)
        spans += [Span(number, m.start(), m.end()) for m in HOLE.finditer(code)]
    return spans


def fill(text, spans):
    """The text with each placeholder span replaced by '1' and spaces: same columns,
    so every later location still points at the same place."""
    lines = lines_of(text)
    for span in spans:
        line = lines[span.line]
        width = span.end - span.start
        lines[span.line] = line[:span.start] + "1".ljust(width) + line[span.end:]
    return "\n".join(lines)


def written_above(text, line):
    """The 0-based line, or the nearest above it with something on it: where to look
    for the start of what an error at the end of the file (an unclosed `add(`) is in."""
    lines = lines_of(text)
    line = min(line, len(lines) - 1)
    while line > 0 and not _strip(lines[line]).strip():
        line -= 1
    return line


def blank(text, line):
    """The text with 0-based `line` emptied (positions elsewhere unchanged)."""
    lines = lines_of(text)
    if 0 <= line < len(lines):
        lines[line] = ""
    return "\n".join(lines)
