"""Spec text -> syntax tree (tree.py). The only module that imports lark.

The grammar shapes the tree; a small Transformer turns lark's tree into
tree.py's types, each part with its source location. build.py expands blocks
and repeats and checks names and options, giving an ir.Network (build.parse
does both); fmt.py prints the tree back. Lark's exceptions never leave this
module: they become SpecError.
"""
import dataclasses
import functools
import math
import re
from importlib import resources
from pathlib import Path

import lark

from ..errors import SpecError
from . import ir, tree


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
        _COMMENTS.append(tree.Comment(line, column, match.group().rstrip()))
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
    """lark's parse tree -> tree.py's types; every value a tree.Value. Not
    recursive, so a spec nested hundreds deep is an error from build.py, not a
    RecursionError."""

    def int_value(self, items):
        return tree.Value("int", _int(items[0], items[0]), _loc(items[0]))

    def float_value(self, items):
        return tree.Value("float", _float(items[0], items[0]), _loc(items[0]))

    def name_value(self, items):
        return tree.Value("name", str(items[0]), _loc(items[0]))

    def string_value(self, items):
        return tree.Value("string", str(items[0])[1:-1], _loc(items[0]))

    def dims_value(self, items):
        parts = tuple(_int(d, items[0]) if d.isdigit() else d.strip("{}")
                      for d in items[0].split("x"))
        return tree.Value("dims", parts, _loc(items[0]))

    def param_value(self, items):
        return tree.Value("param", str(items[0]).strip("{}"), _loc(items[0]))

    def ratio_value(self, items):
        return tree.Value("ratio", tuple(_float(d, items[0]) for d in items[0].split("/")),
                          _loc(items[0]))

    @lark.v_args(meta=True)
    def list_value(self, meta, items):
        return tree.Value("list", tuple(v.value for v in items), ir.Loc(meta.line, meta.column))

    def positional_arg(self, items):
        return tree.Arg(None, items[0])

    def keyword_arg(self, items):
        return tree.Arg(str(items[0]), items[1])

    def call_value(self, items):
        name, args = items[0], items[1:]
        pos = tuple(a.value.value for a in args if a.key is None)
        kw = tuple((a.key, a.value.value) for a in args if a.key is not None)
        return tree.Value("call", ir.Call(str(name), pos, kw), _loc(name))

    def option(self, items):
        key, value = items
        return tree.Option(str(key), value, _loc(key))

    setting = option

    def layer(self, items):
        kind, rest = items[0], items[1:]
        return tree.Layer(str(kind), _loc(kind), *_words_and_options(rest))

    def call(self, items):
        name, rest = items[0], items[1:]
        args = tuple(a for a in rest if isinstance(a, tree.Arg))
        words, options = _words_and_options([r for r in rest if not isinstance(r, tree.Arg)])
        return tree.Apply(str(name), _loc(name), args, words, options)

    def group(self, items):
        chain, count = items
        return tree.Group(chain, _int(str(count)[1:], count), _loc(count))

    def labeled(self, items):
        name, element = items
        return tree.Labeled(str(name), _loc(name), element)

    def block_def(self, items):
        name, rest = items[0], items[1:]
        params = tuple(tree.Param(str(t), _loc(t)) for t in rest if isinstance(t, lark.Token))
        chains = tuple(c for c in rest if not isinstance(c, lark.Token))
        return tree.Block(str(name), params, chains, _loc(name))

    def chain(self, items):
        return tree.Chain(tuple(items))

    def header(self, items):
        return tree.Header(_int(items[0], items[0]), _loc(items[0]))

    def input_chain(self, items):
        head, elements = items[0], tuple(items[1:])
        if not elements:
            return head
        return dataclasses.replace(head, chain=tree.Chain(elements, True))

    def input_decl(self, items):
        name = items[0] if items[0].type == "NAME" else None
        size = items[1] if name is not None else items[0]
        options = tuple(i for i in items if isinstance(i, tree.Option))
        if size.type == "DIMS":
            dims = tuple(_int(d, size) for d in size.split("x"))
        else:
            dims = (_int(size, size),)
        return tree.Input(dims, _loc(size), None, str(name) if name else None,
                          _loc(name) if name else None, options)

    def output_decl(self, items):
        name, options = items[0], tuple(items[1:])
        return tree.Output(str(name), _loc(name), options)

    @lark.v_args(meta=True)
    def input_ref(self, meta, items):
        return tree.Layer("input", ir.Loc(meta.line, meta.column))


    @lark.v_args(meta=True)
    def train_block(self, meta, items):
        return tree.Train(tuple(items), ir.Loc(meta.line, meta.column),
                          (meta.start_pos, meta.end_pos))

    @lark.v_args(meta=True)
    def sweep_block(self, meta, items):
        return tree.Sweep(tuple(items), ir.Loc(meta.line, meta.column),
                          (meta.start_pos, meta.end_pos))

    def start(self, items):
        return items


def _words_and_options(parts):
    return (tuple(p for p in parts if isinstance(p, tree.Value)),
            tuple(p for p in parts if isinstance(p, tree.Option)))


def syntax(text, source="<spec>", comments=None):
    """Spec text -> syntax tree: a list of statements (tree.py). Comments, as
    tree.Comments, are appended to `comments` when it is given."""
    _COMMENTS.clear()
    try:
        tree = _Tree().transform(_parser().parse(text, start="start"))
    except lark.exceptions.UnexpectedInput as e:
        raise _keyword_hint(_syntax_error(e), text).located(source, text) from None
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


KEYWORDS = ("input", "output", "train", "sweep", "block", "nnspec")


def _keyword_hint(error, text):
    """A keyword written as a layer's name (`output: dense 10`) fails at its colon:
    say so."""
    if error.line is None:
        return error
    line = text.splitlines()[error.line - 1] if error.line <= len(text.splitlines()) else ""
    before = line[:error.column - 1].strip()
    if before in KEYWORDS and line[error.column - 1:].startswith(":"):
        error.message = (f"'{before}' is a keyword (it begins {before} lines); name the layer "
                         "otherwise")
    elif re.fullmatch(r"[A-Za-z_]\w*", before) and line[error.column - 1:].startswith("="):
        # the docs show a setting alone (`data = csv(...)`); outside a block it cannot parse
        error.message = (f"'{before} = ...' is a setting: settings go in a train block, "
                         f"write train {{ {line.strip()} }}")
    return error


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
    "OUTPUT": "'output'", "SWEEP": "'sweep'",
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
