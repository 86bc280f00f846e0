"""The outline of a document: its layers, its blocks (with their parameters and
layers) and the train block (with its settings). Reads only the Index."""
from dataclasses import dataclass, field

from .text import Span


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str  # "layer", "input", "block", "param", "train", "setting"
    detail: str
    span: Span  # what is selected: the name
    lines: tuple  # (first, last): what the symbol covers
    children: tuple = field(default=())


def symbols(ix):
    """[Symbol] in document order."""
    out = []
    inside = {}  # block name -> its layers, once each
    for layer in ix.layers:
        scope = ix.scope_at(layer.span.line)
        local = layer.name.rsplit("/", 1)[-1]
        detail = layer.spec + (f" -> {layer.shape}" if layer.shape else "")
        symbol = Symbol(local, "input" if layer.kind == "input" else "layer", detail,
                        layer.span, (layer.span.line, layer.span.line))
        if scope:
            inside.setdefault(scope, {}).setdefault(layer.span, symbol)
        else:
            out.append(symbol)
    for block in ix.blocks:
        children = [Symbol(p.name, "param", "parameter", p.span, (p.span.line, p.span.line))
                    for p in block.params] + list(inside.get(block.name, {}).values())
        params = ", ".join(p.name for p in block.params)
        out.append(Symbol(block.name, "block", f"block {block.name}({params})", block.span,
                          block.lines, tuple(children)))
    if ix.train is not None:
        first = ix.train[0]
        children = tuple(Symbol(s.key, "setting", s.value, s.span, (s.span.line, s.span.line))
                         for s in ix.settings)
        line = ix.text.split("\n")[first]
        start = max(line.find("train"), 0)
        out.append(Symbol("train", "train", "", Span(first, start, start + len("train")),
                          ix.train, children))
    return sorted(out, key=lambda s: (s.lines[0], s.span.start))
