"""IR -> canonical spec text: the inverse of parse (parse(format(n)) == n)."""
from .ir import format_value
from .kinds import KINDS
from .settings import SETTINGS, TrainConfig


def format_node(node):
    """A layer as canonical text, e.g. 'conv 3x3x8 same relu stride=2'."""
    if node.kind == "input":
        scale = node.p.get("scale")
        return f"input {format_value(node.p['shape'])}" + (f" scale={format_value(scale)}"
                                                             if scale is not None else "")
    sig = KINDS[node.kind].signature
    p = node.p
    parts = [node.kind]
    parts += [word_text(w, p[w.key]) for w in sig.words if w.required or p[w.key] != w.default]
    parts += [f"{o.key}={format_value(p[o.key])}" for o in sig.options if p[o.key] != o.default]
    return " ".join(parts)


def describe(node):
    """A layer's kind and positional words only, for messages: 'conv 7x7x32 valid'."""
    if node.kind == "input":
        return "input"
    sig = KINDS[node.kind].signature
    p = node.p
    return " ".join([node.kind] + [word_text(w, p[w.key]) for w in sig.words
                                   if w.key != "activation" and p[w.key] is not None
                                   and p[w.key] is not False])


def word_text(word, value):
    """A word as written: a flag is its own name (written only when true)."""
    return word.key if word.form == "flag" else format_value(value)


def format_train(config):
    default = TrainConfig()
    lines = []
    for key in (s.key for s in SETTINGS if s.forms):
        value = getattr(config, key)
        if key == "optimizer" and config.optimizer_options:
            opts = ", ".join(f"{k}={format_value(v)}" for k, v in config.optimizer_options)
            lines.append(f"  optimizer = {value}({opts})")
        elif key == "split" and value != default.split:
            lines.append("  split = " + "/".join(format_value(round(v * 100, 6)) for v in value))
        elif value != getattr(default, key):
            lines.append(f"  {key} = {format_value(value)}")
    return "train {\n" + "\n".join(lines) + ("\n" if lines else "") + "}"


def format_network(network):
    """A chain network as canonical text (graphs and blocks: see fmt.py)."""
    first = network.input
    lines = [f"nnspec {network.version}",
             ("" if first.name == "input" else f"{first.name}: ") + format_node(first)]
    layers, counts = [], {}
    for n in network.nodes[1:]:  # a name the builder would not give is written
        default = f"{n.kind}{counts.get(n.kind, 0) + 1}"
        if n.name == default:
            counts[n.kind] = counts.get(n.kind, 0) + 1
        layers.append(format_node(n) if n.name == default else f"{n.name}: {format_node(n)}")
    lines.append("\n  -> ".join(layers))
    if network.train is not None:
        lines.append(format_train(network.train))
    return "\n".join(lines) + "\n"
