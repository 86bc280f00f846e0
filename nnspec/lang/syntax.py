"""Spec text -> syntax tree. The only module that imports lark.

The grammar shapes the tree; a small Transformer turns it into the syntax
tree: tuples that carry their source location (`syntax`, which `fmt` prints
back); build.py expands blocks and repeats and checks names and options,
giving an ir.Network (build.parse does both). Lark's exceptions never leave this module: they become
SpecError.

Syntax tree, statement by statement (loc is an ir.Loc):
    ("header", version, loc)            ("input", dims, loc, [element, ...])
    ("chain", [element, ...])           ("train", [(key, form, value, loc)], loc)
    ("block", name, [(param, loc)], [chain, ...], loc)
elements:
    ("layer", kind, loc, words, options)      words: [(form, value, loc)]
    ("call", name, loc, args, words, options) args: [(key or None, (form, value, loc))]
    ("group", chain, count, loc)              ("labeled", name, loc, element)
options: [(key, form, value, loc)]. Forms: int, float, name, param ({f}),
string, dims (ints, or names for {f} parts), ratio, call, list.
"""
import functools
import math
import re
from importlib import resources
from pathlib import Path

import lark

from ..errors import SpecError
from . import ir


def grammar_path():
    """The grammar file: inside the installed package, or in a source checkout."""
    packaged = resources.files("nnspec") / "nnspec.lark"
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "grammar" / "nnspec.lark"


_COMMENTS = []  # filled by the lexer during one call of syntax()
_COMMENT = re.compile(r"#[^\n]*")


def _collect(token):
    """Comments are ignored by the grammar (some inside newline tokens); keep them for fmt."""
    for match in _COMMENT.finditer(token):
        before = token[:match.start()]
        line = token.line + before.count("\n")
        column = (token.column + match.start()) if "\n" not in before else \
            match.start() - before.rindex("\n")
        _COMMENTS.append((line, column, match.group().rstrip()))
    return token


@functools.lru_cache(maxsize=1)
def _parser():
    return lark.Lark(grammar_path().read_text(), parser="lalr", propagate_positions=True,
                     start=["start", "value"], maybe_placeholders=False,
                     lexer_callbacks={"COMMENT": _collect, "_NL": _collect, "_ARROW": _collect})


def _loc(token):
    return ir.Loc(token.line, token.column)


# Whole numbers in a spec have at most this many digits: every size, count and
# seed fits in 64 bits, and Python never converts a 5000-digit string.
MAX_DIGITS = 18


def _int(text, token):
    digits = text.lstrip("+-")
    if len(digits) > MAX_DIGITS:
        raise SpecError(f"the number {digits[:12]}... has {len(digits)} digits; whole numbers "
                        f"have at most {MAX_DIGITS}", token.line, token.column)
    return int(text)


def _float(text, token):
    value = float(text)
    if not math.isfinite(value):
        raise SpecError(f"the number {str(text)[:24]} is too large", token.line, token.column)
    return value


class _Tree(lark.Transformer_NonRecursive):
    """Parse tree -> plain tuples; every value is (form, value, loc). Not recursive,
    so a spec nested hundreds deep is an error from build.py, not a RecursionError."""

    def int_value(self, items):
        return ("int", _int(items[0], items[0]), _loc(items[0]))

    def float_value(self, items):
        return ("float", _float(items[0], items[0]), _loc(items[0]))

    def name_value(self, items):
        return ("name", str(items[0]), _loc(items[0]))

    def string_value(self, items):
        return ("string", str(items[0])[1:-1], _loc(items[0]))

    def dims_value(self, items):
        parts = tuple(_int(d, items[0]) if d.isdigit() else d.strip("{}")
                      for d in items[0].split("x"))
        return ("dims", parts, _loc(items[0]))

    def param_value(self, items):
        return ("param", str(items[0]).strip("{}"), _loc(items[0]))

    def ratio_value(self, items):
        return ("ratio", tuple(_float(d, items[0]) for d in items[0].split("/")),
                _loc(items[0]))

    @lark.v_args(meta=True)
    def list_value(self, meta, items):
        return ("list", tuple(v[1] for v in items), ir.Loc(meta.line, meta.column))

    def positional_arg(self, items):
        return (None, items[0])

    def keyword_arg(self, items):
        return (str(items[0]), items[1])

    def call_value(self, items):
        name, args = items[0], items[1:]
        pos = tuple(v[1] for k, v in args if k is None)
        kw = tuple((k, v[1]) for k, v in args if k is not None)
        return ("call", ir.Call(str(name), pos, kw), _loc(name))

    def option(self, items):
        key, (form, value, _) = items
        return (str(key), form, value, _loc(key))

    setting = option

    def layer(self, items):
        kind, rest = items[0], items[1:]
        words = [w for w in rest if len(w) == 3]
        options = [o for o in rest if len(o) == 4]
        return ("layer", str(kind), _loc(kind), words, options)

    def call(self, items):
        name, rest = items[0], items[1:]
        args = [a for a in rest if len(a) == 2]
        _, _, _, words, options = self.layer([name] + [r for r in rest if len(r) != 2])
        return ("call", str(name), _loc(name), args, words, options)

    def group(self, items):
        chain, count = items
        return ("group", chain, _int(str(count)[1:], count), _loc(count))

    def labeled(self, items):
        name, element = items
        return ("labeled", str(name), _loc(name), element)

    def block_def(self, items):
        name, rest = items[0], items[1:]
        params = [(str(t), _loc(t)) for t in rest if isinstance(t, lark.Token)]
        chains = [c for c in rest if not isinstance(c, lark.Token)]
        return ("block", str(name), params, chains, _loc(name))

    def chain(self, items):
        return ("chain", items)

    def header(self, items):
        return ("header", _int(items[0], items[0]), _loc(items[0]))

    def input_chain(self, items):
        _, dims, loc = items[0]
        return ("input", dims, loc, items[1:])

    @lark.v_args(meta=True)
    def input_ref(self, meta, items):
        return ("layer", "input", ir.Loc(meta.line, meta.column), [], [])

    def input_dims(self, items):
        return ("input", tuple(_int(d, items[0]) for d in items[0].split("x")), _loc(items[0]))

    def input_vector(self, items):
        return ("input", (_int(items[0], items[0]),), _loc(items[0]))

    @lark.v_args(meta=True)
    def train_block(self, meta, items):
        return ("train", items, ir.Loc(meta.line, meta.column))

    def start(self, items):
        return items


def syntax(text, source="<spec>", comments=None):
    """Spec text -> syntax tree (a list of statements, see above). Comments, as
    (line, column, text), are appended to `comments` when it is given."""
    _COMMENTS.clear()
    try:
        tree = _Tree().transform(_parser().parse(text, start="start"))
    except lark.exceptions.UnexpectedInput as e:
        raise _syntax_error(e).located(source, text) from None
    except lark.exceptions.VisitError as e:
        raise _unwrap(e).located(source, text) from None
    if comments is not None:
        comments.extend(sorted(set(_COMMENTS)))
    return tree


def parse_value(text, what="value"):
    """One value as a train block writes it (`adam(beta1=0.8)`, `0.01`) -> (form, value),
    for command-line flags. Raises SpecError naming `what`."""
    _COMMENTS.clear()
    try:
        form, value, _ = _Tree().transform(_parser().parse(text.strip(), start="value"))
    except lark.exceptions.UnexpectedInput as e:
        raise SpecError(f"{text!r}: {_syntax_error(e).message}", source=what) from None
    except lark.exceptions.VisitError as e:
        raise SpecError(f"{text!r}: {_unwrap(e).message}", source=what) from None
    return form, value


def _unwrap(e):
    """The SpecError a transformer callback raised, out of lark's VisitError."""
    if isinstance(e.orig_exc, SpecError):
        return e.orig_exc
    raise e.orig_exc


_TERMINALS = {
    "_NL": "end of line", "_ARROW": "'->'", "NAME": "a name", "INT": "an integer",
    "FLOAT": "a number", "DIMS": "dimensions like 3x3x8", "RATIO": "a ratio like 70/15/15",
    "STRING": "a quoted string", "EQUAL": "'='", "LBRACE": "'{'", "RBRACE": "'}'",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "INPUT": "'input'", "TRAIN": "'train'",
    "NNSPEC": "'nnspec'", "$END": "end of file", "COLON": "':'", "BLOCK": "'block'",
    "PARAM": "a block parameter like {f}", "REPEAT": "a repeat count like x3",
}


def _syntax_error(e):
    expected = sorted({_TERMINALS.get(t, t) for t in (getattr(e, "expected", None)
                                                      or getattr(e, "allowed", None) or ())})
    if isinstance(e, lark.exceptions.UnexpectedCharacters):
        what = f"unexpected character {e.char!r}"
    elif isinstance(e, lark.exceptions.UnexpectedToken) and e.token.type != "$END":
        text = str(e.token).strip() or _TERMINALS.get(e.token.type, e.token.type)
        what = f"unexpected {text!r}" if str(e.token).strip() else f"unexpected {text}"
    else:
        what = "unexpected end of file"
    if expected:
        what += f"; expected {' or '.join(expected) if len(expected) < 3 else 'one of: ' + ', '.join(expected)}"
    line, column = getattr(e, "line", None), getattr(e, "column", None)
    if line is None or line < 1:
        line, column = None, None
    return SpecError(what, line, column)
