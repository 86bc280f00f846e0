"""Names inside a spec's expansion: the scope of the top level or of one block
call, a block's arguments bound to its parameters, and parameters substituted
where a block uses them (`conv 3x3x{f}`). build.py walks the statements."""
from ..errors import SpecError


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
    """A block parameter used as a word or value (a tree.Value) -> the argument's value."""
    form, v, loc = value
    if form == "param" or (form == "name" and v in scope.params):
        if v not in scope.params:
            where = f"block '{scope.block}'" if scope.block else "the top level"
            fail(f"'{{{v}}}' is not a parameter of {where}", loc)
        return scope.params[v]._replace(loc=loc)
    if form == "dims" and any(isinstance(d, str) for d in v):
        dims = []
        for d in v:
            if isinstance(d, str):
                arg = scope.params.get(d)
                if arg is None or arg.form != "int":
                    written = "x".join(str(x) if isinstance(x, int) else f"{{{x}}}" for x in v)
                    fail(f"'{{{d}}}' in {written} must be a block parameter given a whole "
                          "number", loc)
                d = arg.value
            dims.append(d)
        return value._replace(value=tuple(dims))
    return value
