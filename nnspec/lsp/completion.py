"""Completion: what may be written at a position, from the language's tables.

The context comes from the text before the cursor, which is often mid-edit and
does not parse: at the start of a chain element, layer kinds, blocks and the
names in scope; after a kind, its words and options (its Signature); inside a
merge's parentheses, names; in the train block, settings, then a setting's
values, then a call's options (adam(beta1=...)). Reads the Index and vocabulary.
"""
import re
from dataclasses import dataclass

from .. import vocabulary
from . import navigation
from .text import closing_line, lines_of


@dataclass(frozen=True)
class Item:
    label: str
    kind: str  # kind, block, name, word, activation, option, keyword, setting, value
    detail: str = ""
    insert: str = None  # text to insert, when it is not the label


_WORD = r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*"
_LABEL = re.compile(rf"^\s*(?:{_WORD}\s*:(?!\S*=)\s*)?")
_HEAD = re.compile(r"^\s*(train|block)\b\s*(" + _WORD + ")?")


def complete(ix, line, column):
    """-> [Item] for the position (0-based line and column)."""
    lines = lines_of(ix.text)
    if not 0 <= line < len(lines):
        return []
    before = lines[line][:column]
    if "#" in re.sub(r'"[^"]*"', "", before):
        return []  # in a comment
    region, block = _region(lines, line)
    if region == "train":
        return _train(before)
    return _network(ix, before, line, column, block or "")


def _region(lines, line):
    """('train', None), ('block', name) or (None, None): the braced body a line is in."""
    for head in range(line, -1, -1):
        match = _HEAD.match(lines[head])
        if match and "{" in lines[head]:
            close = closing_line(lines, head)
            if head < line and (close is None or line < close):
                return match.group(1), match.group(2)
            return None, None
    return None, None


def _train(before):
    setting = re.match(rf"^\s*({_WORD})\s*=\s*(.*)$", before)
    if setting is None:
        if re.fullmatch(rf"\s*(?:{_WORD})?", before):
            return [Item(key, "setting", vocabulary.SETTING_DOCS.get(key, ""), f"{key} = ")
                    for key in vocabulary.settings()]
        return []
    key, value = setting.groups()
    call = _open_call(value)
    if call is not None:
        name, args = call
        if re.search(r"=\s*[\w.-]*$", args):
            return []  # a value of the call's own: numbers, mostly
        given = set(re.findall(rf"({_WORD})\s*=", args))
        return [Item(o, "option", f"{name} option", f"{o}=")
                for o in vocabulary.call_options(key, name) if o not in given]
    if re.fullmatch(r"\[?(?:[^\]]*,\s*)?[\w-]*", value):  # a name, or one in a list
        return [Item(v, "value", f"{key} value") for v in vocabulary.setting_values(key)]
    return []


def _open_call(text):
    """(name, what follows its '(') of the innermost unclosed call, or None."""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            if depth == 0:
                name = re.search(rf"({_WORD})\s*$", text[:i])
                return (name.group(1) if name else "", text[i + 1:])
            depth -= 1
    return None


def _network(ix, before, line, column, scope):
    element = re.split(r"->", before)[-1]
    at_line_start = "->" not in before and not _LABEL.match(element).group().strip()
    element = element[_LABEL.match(element).end():]
    call = _open_call(element)
    if call is not None:
        name, args = call
        if name in vocabulary.merges():  # add(a, |: earlier layers
            listed = set(re.findall(_WORD, args))
            return [Item(n, "name", "layer") for n in
                    navigation.names_before(ix, line, column, scope) if n not in listed]
        block = ix.block(name)
        if block is not None:
            return [Item(p.name, "option", f"parameter of {name}", f"{p.name}=")
                    for p in block.params]
        return []
    first = re.match(rf"^\s*({_WORD})?$", element)
    if first is not None:
        return _element_start(ix, line, column, scope, at_line_start)
    head = re.match(rf"^\s*({_WORD})(\([^()]*\))?\s+(.*)$", element)
    if head is None or head.group(1) not in vocabulary.kinds():
        return []
    return _after_kind(head.group(1), head.group(3))


def _element_start(ix, line, column, scope, at_line_start):
    items = [Item(k + "(" if k in vocabulary.merges() else k, "kind",
                  vocabulary.signature(k).usage) for k in vocabulary.kinds()]
    items += [Item(b.name, "block", f"block {b.name}({', '.join(p.name for p in b.params)})",
                   f"{b.name}(") for b in ix.blocks if b.name != scope]
    items += [Item(n, "name", "layer") for n in navigation.names_before(ix, line, column, scope)]
    if at_line_start and not scope:
        items += [Item(k, "keyword", "") for k in vocabulary.KEYWORDS]
    first = {}  # `input` is a name and a keyword: offer it once
    for item in items:
        first.setdefault(item.label, item)
    return list(first.values())


def _after_kind(kind, rest):
    option = re.search(rf"({_WORD})=([\w.-]*)$", rest)
    if option is not None:
        return [Item(v, "value", f"{option.group(1)} value")
                for v in vocabulary.option_values(kind, option.group(1))]
    written = set(re.findall(_WORD, rest))
    items = []
    for word in vocabulary.signature(kind).words:
        names = vocabulary.word_names(word)
        if word.form in ("choice", "flag") and not written & set(names):
            what = "activation" if word.key == "activation" else "word"
            items += [Item(c, what, word.key) for c in names]
    given = set(re.findall(rf"({_WORD})=", rest))
    items += [Item(o.key, "option", vocabulary.option_doc(o), f"{o.key}=")
              for o in vocabulary.signature(kind).options if o.key not in given]
    return items
