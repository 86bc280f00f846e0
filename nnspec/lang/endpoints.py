"""A network's inputs and outputs: `input` statements made nodes, `output`
statements resolved to the layers they name, and the check that every layer
and input leads to an output. build.py calls these as it walks the spec.

    image: input 28x28x1                  an input named image (unnamed: `input`)
    meta: input 4 scale=standard          its own preprocessing
    output digit loss=cross_entropy       digit is an output, with its own loss,
    output size loss=mse weight=0.5       weight (its share of the total) and metrics

Without `output` lines the last layer written is the one output, named after it.
"""
from ..errors import SpecError
from . import ir
from .settings import read
from .signature import suggest

INPUT_OPTIONS = ("scale",)
OUTPUT_OPTIONS = ("loss", "weight", "metrics")


def _fail(message, loc):
    raise SpecError(message, *((loc.line, loc.column) if loc else (None, None)))


def input_node(st, inputs):
    """A tree.Input -> its ir.Node; inputs: the input nodes made before it."""
    dims, loc = st.dims, st.loc
    name = st.name or "input"
    if any(i.name == name for i in inputs):
        what = f"the name '{name}' is taken by another input" if st.name else \
            "a second unnamed input; name each input, e.g. image: input 28x28x1"
        _fail(what, st.name_loc or loc)
    if min(dims) < 1:
        _fail(f"input dimensions must be positive, got {ir.format_value(dims)}", loc)
    params = [("shape", dims)]
    seen = set()
    for option in st.options:
        if option.key not in INPUT_OPTIONS:
            _fail(f"unknown option '{option.key}' for an input{suggest(option.key, INPUT_OPTIONS)}"
                  f" (options: {', '.join(INPUT_OPTIONS)})", option.loc)
        if option.key in seen:
            _fail(f"option '{option.key}' given twice", option.loc)
        seen.add(option.key)
        try:
            value = read(option.key, option.value, option.loc)[option.key]
        except SpecError as e:  # the setting's rule, said of the input
            raise SpecError(e.message.replace("train setting 'scale'", "an input's scale"),
                            e.line, e.column) from None
        params.append((option.key, value))
    return ir.Node(name, "input", tuple(sorted(params)), (), loc)


def outputs(statements, resolve, last):
    """tree.Output statements -> ir.Outputs; resolve(name, loc) -> the node a name
    refers to; last: the last layer written, the output where there are none."""
    if not statements:
        return (ir.Output(last.name, last.name, loc=last.loc),)
    out, seen = [], {}
    for st in statements:
        if st.name in seen:
            _fail(f"output '{st.name}' is declared twice (first at line {seen[st.name].line})",
                  st.loc)
        seen[st.name] = st.loc
        node = resolve(st.name, st.loc)
        options = {}
        for option in st.options:
            if option.key not in OUTPUT_OPTIONS:
                _fail(f"unknown option '{option.key}' for an output"
                      f"{suggest(option.key, OUTPUT_OPTIONS)} (options: "
                      f"{', '.join(OUTPUT_OPTIONS)})", option.loc)
            if option.key in options:
                _fail(f"option '{option.key}' given twice", option.loc)
            options[option.key] = _output_option(option)
        out.append(ir.Output(st.name, node, options.get("loss"), options.get("weight", 1.0),
                             options.get("metrics"), st.loc))
    return tuple(out)


def _output_option(option):
    form, value, loc = option.value
    if option.key == "weight":
        if form not in ("int", "float") or not value > 0:
            _fail(f"an output's weight is a number above 0 (its share of the total loss), "
                  f"got {ir.format_value(value)}", loc)
        return float(value)
    return read(option.key, option.value, option.loc)[option.key]


def check_used(nodes, outs):
    """Every layer and input must lead to an output: one that does not is a
    mistake (a dangling branch, an unused input)."""
    used = {o.node for o in outs}
    for node in reversed(nodes):
        if node.name in used:
            used.update(node.inputs)
    names = ", ".join(o.name for o in outs)
    for node in nodes:
        if node.name in used:
            continue
        if node.kind == "input":
            _fail(f"input '{node.name}' reaches no output ({names}); use it in a layer or "
                  "remove it", node.loc)
        _fail(f"{node.name} does not lead to {'an output' if len(outs) > 1 else 'the output'} "
              f"({names}); use it in a later layer, declare it with an output line, or "
              "remove it", node.loc)
