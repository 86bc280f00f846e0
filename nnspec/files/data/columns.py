"""A CSV whose columns the spec types: `csv("houses.csv", label=price,
category=[ocean], text=[review], weight=w, vocabulary=5000)`.

Columns not named are numbers. Which input reads which column, in the rule a
Keras user of dict inputs would guess:

- an input named after a column reads that column alone: a text column's
  token ids (`review: input 20` reads 20 ids), a category's id (`ocean: input 1`,
  for an `embedding`), a number's value;
- the one input named after no column reads all the other columns, in the
  file's order: numbers (standardised by default), categories one-hot; a text
  column goes there only when it is that input's one column.

Anything else (two inputs named after no column, a text column among others)
is one error saying what to write. The label column(s) and the weight column
are no input's. Vocabularies are fitted later, on the training split
(engine/tables.py); here the raw strings are kept.
"""
import numpy as np

from ...engine.tables import DEFAULT_VOCABULARY, tokens
from ...errors import DataError, shown
from ...lang.signature import suggest
from .files import numbers



def _names(path, option, value, header):
    """An option's column names (a name or a list of them), each in the header."""
    names = [value] if isinstance(value, str) else list(value or ())
    for name in names:
        if not isinstance(name, str) or name not in header:
            raise DataError(f"{path}: {option}= names the column {shown(repr(name))}, which the "
                            f"file does not have{suggest(name, header)} (columns: "
                            f"{', '.join(map(shown, header))})")
    return names


def typed(options):
    """Whether a csv(...) call types its columns (and is read here)."""
    return any(k in options for k in ("category", "text", "weight", "vocabulary"))


def read(path, table, labels, options, ends):
    """-> (x {input: raw (rows, columns) strings}, columns {input: [column]},
    weights or None, feature names)."""
    header = table.header
    category = _names(path, "category", options.get("category"), header)
    text = _names(path, "text", options.get("text"), header)
    weight = _names(path, "weight", options.get("weight"), header)
    if len(weight) > 1:
        raise DataError(f"{path}: weight= names one column of per-sample weights")
    for name in category + text:
        if name in labels or name in weight:
            raise DataError(f"{path}: column {shown(repr(name))} is the label or the weight, "
                            "so it is no input's category or text")
    both = set(category) & set(text)
    if both:
        raise DataError(f"{path}: column {shown(repr(sorted(both)[0]))} is named both a category "
                        "and a text; name it once")
    vocabulary = options.get("vocabulary")
    if vocabulary is not None and (isinstance(vocabulary, bool) or
                                   not isinstance(vocabulary, int) or vocabulary < 3):
        raise DataError(f"{path}: vocabulary= is a text's ids in all (padding and unknown "
                        f"included), a whole number of at least 3, got {vocabulary!r}")
    features = [c for c in header if c not in labels and c not in weight]
    kinds = {c: "category" if c in category else "text" if c in text else "number"
             for c in features}
    groups = _groups(path, features, kinds, ends)
    x, columns = {}, {}
    for name, cols in groups.items():
        own = cols == [name]
        columns[name] = [_column(path, c, kinds[c], own, ends, name, vocabulary) for c in cols]
        idx = [header.index(c) for c in cols]
        x[name] = np.array([[row[j] for j in idx] for row in table.rows], dtype=str) \
            .reshape(len(table.rows), len(idx))
        for j, column in enumerate(columns[name]):
            _check(path, table, column, x[name][:, j])
    weights = None
    if weight:
        weights = numbers(path, table, [header.index(weight[0])], "; weights are numbers")[:, 0]
        bad = np.flatnonzero(weights < 0)
        if len(bad):
            raise DataError(f"{path}:{table.lines[bad[0]]}: column {shown(repr(weight[0]))} holds "
                            f"{weights[bad[0]]:g}; a sample's weight is 0 or more")
    return x, columns, weights, tuple(features)


def _groups(path, features, kinds, ends):
    """{input: its columns}, by the rule in this module's docstring."""
    inputs = list(ends.inputs) if ends is not None else ["input"]
    own = {n: [n] for n in inputs if n in kinds}
    rest = [c for c in features if c not in own]
    free = [n for n in inputs if n not in own]
    if rest and not free:
        raise DataError(f"{path}: column {shown(repr(rest[0]))} goes to no input: every input "
                        f"is named after a column ({', '.join(own)}); add an input for the rest, "
                        "or leave the column out of the file")
    if len(free) > 1:
        raise DataError(f"{path}: inputs {', '.join(free)} are named after no column, so which "
                        "reads which is unsaid; name each input after the column it reads "
                        "(e.g. review: input 20), and leave one for the rest")
    if free and not rest:
        raise DataError(f"{path}: input {free[0]} is named after no column and no column is "
                        f"left for it (columns: {', '.join(map(shown, features))})")
    texts = [c for c in rest if kinds[c] == "text"]
    if texts and len(rest) > 1:
        raise DataError(f"{path}: the text column {shown(repr(texts[0]))} needs an input of its "
                        f"own: name one after it, e.g. `{texts[0]}: input 20` (20 token ids), "
                        "and one more input for the other columns")
    return {**own, **({free[0]: rest} if free else {})}


def _column(path, name, kind, own, ends, input_name, vocabulary):
    column = {"name": name, "type": kind}
    shape = ends.inputs.get(input_name) if ends is not None else None
    if kind == "category" and own:
        column["ids"] = True
    if kind == "text":
        if shape is not None and len(shape) != 1:
            raise DataError(f"{path}: the text column {shown(repr(name))} gives a sequence of "
                            f"token ids; its input must be one number long, e.g. "
                            f"`{input_name}: input 20`, not {'x'.join(map(str, shape))}")
        column["length"] = shape[0] if shape is not None else 20
        said = (ends.vocabularies or {}).get(input_name) if ends is not None else None
        column["vocabulary"] = vocabulary or said or DEFAULT_VOCABULARY
    return column


def _check(path, table, column, values):
    """A category column of fractional numbers (a number named a category by
    mistake), a text column without a word anywhere: one line each."""
    name = shown(repr(column["name"]))
    if column["type"] == "category":
        for i, v in enumerate(values):
            try:
                number = float(v)
            except ValueError:
                return  # names: a category indeed
            if not number.is_integer():
                raise DataError(f"{path}:{table.lines[i]}: column {name} holds {shown(v, 40)}, a "
                                "number, but category= names it a category (names or whole-"
                                "number codes): leave it out of category=[...] to read it as a "
                                "number")
    if column["type"] == "text":
        if not any(tokens(v) for v in values):
            raise DataError(f"{path}:{table.lines[0]}: column {name} holds no word in any row "
                            f"(rows {table.lines[0]} to {table.lines[-1]}); a text column needs "
                            "words: name it a category or a number instead, or fill it in")
