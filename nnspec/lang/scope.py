"""Names inside a spec's expansion: the scope of the top level or of one block
call, a block's arguments bound to its parameters, and parameters substituted
where a block uses them (`conv 3x3x{f}`). build.py walks the statements."""
from ..errors import SpecError
from . import tree
from .syntax import parse_value


def fail(message, loc):
    raise SpecError(message, *((loc.line, loc.column) if loc else (None, None)))


class Scope:
    """The names visible in the top level or in one expansion of a block."""

    def __init__(self, prefix="", params=None, block_input=None, block=None):
        self.prefix = prefix  # "" or "res1/"
        self.params = params or {}  # block parameter -> its tree.Value
        self.input = block_input  # the node `in` refers to, inside a block
        self.block = block  # the block's name, for messages
        self.names = {}  # local name -> node name
        self.counts = {}  # kind -> layers of that kind so far (for default names)
        self.tail = block_input  # the layer a new line continues from
        self.sweep = False  # the spec has a sweep block (what an unfilled placeholder says)
        self.frozen = False  # inside a block call written `trainable=false`


def arguments(name, params, args, loc):
    """A block call's arguments (tree.Args) -> {parameter: tree.Value}."""
    positional = [a.value for a in args if a.key is None]
    count = f"{len(params)} argument{'s' * (len(params) != 1)}"
    if len(positional) > len(params) or any(a.key is not None and a.key not in params
                                            for a in args):
        fail(f"block '{name}' takes {count} ({', '.join(params) or 'none'}), got {len(args)}",
             loc)
    bound = dict(zip(params, positional))
    for arg in args:
        if arg.key is not None:
            if arg.key in bound:
                fail(f"block '{name}': '{arg.key}' given twice", arg.value.loc)
            bound[arg.key] = arg.value
    missing = [p for p in params if p not in bound]
    if missing:
        fail(f"block '{name}' takes {count} ({', '.join(params)}), got {len(args)}; "
             f"'{missing[0]}' is missing", loc)
    return bound


def substitute(value, scope):
    """A block parameter used as a word or value (a tree.Value) -> the argument's value;
    a placeholder with a default ({hidden=2}) that nothing filled -> its default."""
    form, v, loc = value
    if form == "param" or (form == "name" and v in scope.params):
        v, _, default = v.partition("=")
        if v in scope.params:
            return scope.params[v]._replace(loc=loc)
        if default:
            return placeholder_default(default, loc)
        if scope.sweep:
            fail(f"'{{{v}}}' has no value: `nnspec sweep` takes it from the sweep block; "
                 f"to train once, give it with --set {v}=VALUE (or a default: {{{v}=VALUE}})",
                 loc)
        where = f"block '{scope.block}'" if scope.block else "the top level"
        fail(f"'{{{v}}}' is not a parameter of {where}" + (
            "" if scope.block else f"; a placeholder is given a value by --set {v}=VALUE, "
            f"an estimator or a sweep, or a default: {{{v}=VALUE}}"), loc)
    if form == "dims" and any(isinstance(d, str) for d in v):
        dims = []
        for d in v:
            if isinstance(d, str) and "=" in d and d.partition("=")[0] not in scope.params:
                d = int(d.partition("=")[2])  # a placeholder's default: 3x3x{f=8}
            if isinstance(d, str):
                d = d.partition("=")[0]
                arg = scope.params.get(d)
                if arg is None or arg.form != "int":
                    written = "x".join(str(x) if isinstance(x, int) else f"{{{x}}}" for x in v)
                    fail(f"'{{{d}}}' in {written} must be a block parameter given a whole "
                          "number", loc)
                d = arg.value
            dims.append(d)
        return value._replace(value=tuple(dims))
    return value


def placeholder_default(text, loc):
    """The default written in a placeholder ({lr=0.01}) -> its tree.Value at loc."""
    try:
        form, value = parse_value(text, "default")
    except SpecError as e:
        fail(f"a placeholder's default {text!r} is not a value: {e.message}", loc)
    return tree.Value(form, value, loc)


def frozen_call(name, call, scope):
    """A block call's `trainable=false` (the one option after its parentheses):
    whether every layer inside is frozen."""
    other = [o for o in call.options if o.key != "trainable"]
    if call.words or other:
        fail(f"block '{name}' takes its values as arguments: {name}(...); after the "
             "parentheses only trainable=false", (call.words or other)[0].loc)
    frozen = False
    for option in call.options:
        value = substitute(option.value, scope)
        if value.form != "name" or value.value not in ("true", "false"):
            fail("trainable is true or false", value.loc)
        frozen = value.value == "false"
    return frozen
