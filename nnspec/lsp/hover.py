"""Hover text (markdown): on a layer, its output shape, parameters and FLOPs
(the numbers of `nnspec compile`'s summary) and its kind's documentation; on a
name, where it is defined and its shape; on a block, its parameters and calls;
on a train setting, its documented values. Reads only the Index."""
from .. import vocabulary
from . import navigation


def hover(ix, line, column):
    """-> (markdown, Span) for the word at a position, or None."""
    layers = [layer for layer in ix.layers if layer.span.contains(line, column)]
    if layers:
        return _layers(ix, layers), layers[0].span
    setting = next((s for s in ix.settings if s.span.contains(line, column)), None)
    if setting is not None:
        return vocabulary.setting_doc(setting.key), setting.span
    name = navigation.name_at(ix, line, column)
    if name is not None:
        return _name(ix, name), name.span
    return None


def layer_line(layer, template=False):
    """`stem` conv 3x3x8 same relu -> 16x16x8, 80 parameters, 36.9k FLOPs"""
    if layer.shape is None:
        why = "once the template's placeholders are filled" if template else \
            "when the error before it is mended"
        return f"`{layer.name}` {layer.spec}: its shape is known {why}"
    return (f"`{layer.name}` {layer.spec} -> **{layer.shape}**, {layer.params:,} parameters, "
            f"{layer.flops_text} FLOPs")


SHOWN = 10  # layers listed for one word of a block or repeat; the rest are counted


def _layers(ix, layers):
    lines = [layer_line(layer, ix.template) for layer in layers[:SHOWN]]
    if len(layers) > 1:  # one per block call or repeat
        lines.insert(0, f"{len(layers):,} layers, one per call or repeat:")
    if len(layers) > SHOWN:
        lines.append(f"and {len(layers) - SHOWN:,} more")
    kind = layers[0].kind
    doc = "the network's input" if kind == "input" else vocabulary.kind_doc(kind)
    return "\n\n".join(["\n\n".join(lines), "---", doc])


def _name(ix, name):
    if name.what == "block":
        return _block(ix, name.name)
    if name.what == "param":
        block = ix.block(name.scope)
        where = f" (line {block.span.line + 1})" if block else ""
        return f"`{name.name}`: a parameter of block `{name.scope}`{where}"
    if name.what == "input" and name.scope:
        return f"`in`: the input of block `{name.scope}`, the layer before each call"
    found = navigation.definition(ix, name)
    where = f"defined at line {found.span.line + 1}" if found else "not defined before here"
    lines = [f"`{name.name}`: {where}"]
    lines += [layer_line(layer, ix.template) for layer in navigation.layers_of(ix, name)]
    return "\n\n".join(lines)


def _block(ix, name):
    block = ix.block(name)
    if block is None:
        return f"`{name}`: no block of this name"
    params = ", ".join(p.name for p in block.params)
    lines = [f"block `{name}({params})`, defined at line {block.span.line + 1}"]
    first, last = block.lines
    outputs = {}  # each call's instance (res1, or a/res1 when nested) -> its last layer
    for layer in ix.layers:
        if first <= layer.span.line <= last and "/" in layer.name:
            outputs[layer.name.rsplit("/", 1)[0]] = layer
    lines += [f"call `{head}` -> **{layer.shape}**" for head, layer in outputs.items()
              if layer.shape is not None]
    return "\n\n".join(lines)
