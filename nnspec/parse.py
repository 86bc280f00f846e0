"""Spec text -> IR. The only module that imports lark.

The grammar shapes the tree; a small Transformer turns it into tuples that
carry their source location; `_Builder` turns those into an ir.Network,
checking names and options against the layer registry as it goes. Lark's
exceptions never leave this module: they become SpecError.
"""
import functools
from importlib import resources
from pathlib import Path

import lark

from . import ir
from .errors import SpecError
from .layers import REGISTRY
from .signature import bind, suggest


def grammar_path():
    """The grammar file: inside the installed package, or in a source checkout."""
    packaged = resources.files("nnspec") / "nnspec.lark"
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "grammar" / "nnspec.lark"


@functools.lru_cache(maxsize=1)
def _parser():
    return lark.Lark(grammar_path().read_text(), parser="lalr", propagate_positions=True,
                     start=["start", "value"],
                     maybe_placeholders=False)


def _loc(token):
    return ir.Loc(token.line, token.column)


class _Tree(lark.Transformer):
    """Parse tree -> plain tuples; every value is (form, value, loc)."""

    def int_value(self, items):
        return ("int", int(items[0]), _loc(items[0]))

    def float_value(self, items):
        return ("float", float(items[0]), _loc(items[0]))

    def name_value(self, items):
        return ("name", str(items[0]), _loc(items[0]))

    def string_value(self, items):
        return ("string", str(items[0])[1:-1], _loc(items[0]))

    def dims_value(self, items):
        return ("dims", tuple(int(d) for d in items[0].split("x")), _loc(items[0]))

    def ratio_value(self, items):
        return ("ratio", tuple(float(d) for d in items[0].split("/")), _loc(items[0]))

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

    def chain(self, items):
        return ("chain", items)

    def header(self, items):
        return ("header", int(items[0]), _loc(items[0]))

    def input_dims(self, items):
        return ("input", tuple(int(d) for d in items[0].split("x")), _loc(items[0]))

    def input_vector(self, items):
        return ("input", (int(items[0]),), _loc(items[0]))

    @lark.v_args(meta=True)
    def train_block(self, meta, items):
        return ("train", items, ir.Loc(meta.line, meta.column))

    def start(self, items):
        return items


def parse(text, source="<spec>"):
    """Spec text -> ir.Network. Raises SpecError (with file, line and column)."""
    try:
        try:
            statements = _Tree().transform(_parser().parse(text, start="start"))
        except lark.exceptions.UnexpectedInput as e:
            raise _syntax_error(e) from None
        return _Builder().build(statements)
    except SpecError as e:
        raise e.located(source, text)


def parse_value(text, what="value"):
    """One value as a train block writes it (`adam(beta1=0.8)`, `0.01`) -> (form, value),
    for command-line flags. Raises SpecError naming `what`."""
    try:
        form, value, _ = _Tree().transform(_parser().parse(text.strip(), start="value"))
    except lark.exceptions.UnexpectedInput as e:
        raise SpecError(f"{text!r}: {_syntax_error(e).message}", source=what) from None
    return form, value


_TERMINALS = {
    "_NL": "end of line", "_ARROW": "'->'", "NAME": "a name", "INT": "an integer",
    "FLOAT": "a number", "DIMS": "dimensions like 3x3x8", "RATIO": "a ratio like 70/15/15",
    "STRING": "a quoted string", "EQUAL": "'='", "LBRACE": "'{'", "RBRACE": "'}'",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "INPUT": "'input'", "TRAIN": "'train'",
    "NNSPEC": "'nnspec'", "$END": "end of file",
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


# The train block's settings: key -> (accepted value forms, check).
_TRAIN = {
    "loss": ("name",),
    "optimizer": ("name", "call"),
    "lr": ("int", "float"),
    "batch_size": ("int",),
    "epochs": ("int",),
    "l1": ("int", "float"),
    "l2": ("int", "float"),
    "reduction": ("name",),
    "data": ("name", "call", "string"),
    "split": ("ratio",),
    "seed": ("int",),
    "l1_bias": ("int", "float"),
    "l2_bias": ("int", "float"),
    "schedule": ("name", "call"),
    "clip_norm": ("int", "float"),
    "metrics": ("name", "call", "list"),
    "early_stopping": ("int", "call"),
}
_MINIMUM = {"lr": 0.0, "batch_size": 1, "epochs": 0, "l1": 0.0, "l2": 0.0, "seed": 0,
            "l1_bias": 0.0, "l2_bias": 0.0, "clip_norm": 0.0, "early_stopping": 1}


class _Builder:
    def __init__(self):
        self.nodes = []
        self.counts = {}
        self.train = None
        self.version = 1

    def build(self, statements):
        for i, st in enumerate(statements):
            getattr(self, "_" + st[0])(st, first=(i == 0))
        if not self.nodes:
            raise SpecError("the spec has no 'input' line; start it with e.g. 'input 28x28x1'")
        if len(self.nodes) == 1:
            raise SpecError("the spec has no layers after its input", *_at(self.nodes[0].loc))
        return ir.Network(tuple(self.nodes), (self.nodes[-1].name,), self.train, self.version)

    def _header(self, st, first):
        _, version, loc = st
        if not first:
            raise SpecError("the 'nnspec' version line must come first", loc.line, loc.column)
        if version != 1:
            raise SpecError(f"this nnspec reads version 1 specs, not version {version}",
                            loc.line, loc.column)
        self.version = version

    def _input(self, st, first):
        _, dims, loc = st
        if self.nodes:
            raise SpecError("a second 'input' line; a network has one input", loc.line, loc.column)
        if min(dims) < 1:
            raise SpecError(f"input dimensions must be positive, got {ir.format_value(dims)}",
                            loc.line, loc.column)
        self.nodes.append(ir.Node("input", "input", (("shape", dims),), (), loc))

    def _chain(self, st, first):
        for _, kind, loc, words, options in st[1]:
            if not self.nodes:
                raise SpecError("layers must come after the 'input' line", loc.line, loc.column)
            layer = REGISTRY.get(kind)
            if layer is None:
                raise SpecError(f"unknown layer '{kind}'{suggest(kind, REGISTRY)}; "
                                f"expected a layer, one of: {', '.join(REGISTRY)}",
                                loc.line, loc.column)
            params = bind(kind, layer.signature, words, options, loc, known_kinds=REGISTRY)
            self.counts[kind] = self.counts.get(kind, 0) + 1
            name = f"{kind}{self.counts[kind]}"
            self.nodes.append(ir.Node(name, kind, tuple(sorted(params.items())),
                                      (self.nodes[-1].name,), loc))

    def _train(self, st, first):
        _, settings, loc = st
        if self.train is not None:
            raise SpecError("a second 'train' block", loc.line, loc.column)
        values, locs = {}, {}
        for key, form, value, kloc in settings:
            if key not in _TRAIN:
                raise SpecError(f"unknown train setting '{key}'{suggest(key, _TRAIN)} "
                                f"(settings: {', '.join(_TRAIN)})", kloc.line, kloc.column)
            if key in values:
                raise SpecError(f"train setting '{key}' given twice", kloc.line, kloc.column)
            if form not in _TRAIN[key]:
                raise SpecError(f"train setting '{key}' cannot be {ir.format_value(value)}",
                                kloc.line, kloc.column)
            if key in _MINIMUM and not isinstance(value, ir.Call) and value < _MINIMUM[key]:
                raise SpecError(f"train setting '{key}' must be at least {_MINIMUM[key]}, "
                                f"got {value}", kloc.line, kloc.column)
            values[key], locs[key] = value, kloc
        if isinstance(values.get("optimizer"), ir.Call):
            call = values["optimizer"]
            if call.args:
                kloc = locs["optimizer"]
                raise SpecError(f"optimizer options are named, e.g. {call.name}(lr=0.01)",
                                kloc.line, kloc.column)
            options = dict(call.kwargs)
            if "lr" in options:
                if "lr" in values:
                    raise SpecError("lr given both in the optimizer and as a setting",
                                    locs["lr"].line, locs["lr"].column)
                values["lr"] = options.pop("lr")
            values["optimizer"] = call.name
            values["optimizer_options"] = tuple(sorted(options.items()))
        if "split" in values:
            parts = values["split"]
            if len(parts) not in (2, 3) or sum(parts) <= 0:
                raise SpecError("split is train/validation[/test], e.g. 70/15/15",
                                locs["split"].line, locs["split"].column)
            values["split"] = tuple(p / sum(parts) for p in parts) + (0.0,) * (3 - len(parts))
        for key in ("lr", "l1", "l2", "l1_bias", "l2_bias", "clip_norm"):
            if key in values:
                values[key] = float(values[key])
        if "metrics" in values and not isinstance(values["metrics"], tuple):
            values["metrics"] = (values["metrics"],)
        if isinstance(values.get("early_stopping"), int):  # a bare number is the patience
            values["early_stopping"] = ir.Call("early_stopping", (), (("patience",
                                                                        values["early_stopping"]),))
        self.train = ir.TrainConfig(**values, locs=tuple(locs.items()))


def _at(loc):
    return (loc.line, loc.column) if loc else (None, None)
