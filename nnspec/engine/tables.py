"""Table columns -> numbers: the part of a model's preprocessing that reads a
table's values as they come (strings), before the per-feature scaling of
preprocess.py. Each input that reads a table keeps its columns, in order:

    type      what it gives                            fitted on the training split
    number    its value (1 feature; `standard` scales  nothing here (the scaling is)
              it)
    category  one-hot over its values, slot 0 for a    its values, sorted
              value training never saw; or, for an
              input of its own, the id (0 unknown,
              1..K)
    text      `length` token ids: lower-cased, split   the `vocabulary - 2` most frequent
              on every non-letter, 0 pads the end,     words (ties alphabetical)
              1 is a word not in the vocabulary

A column is a map {"name", "type", ...}: a category's "values" (and "ids": true
for an input of its own), a text's "length", "vocabulary" (ids in all) and
"words". The bundle stores them as they are here (files/document.py).
"""
import re
from collections import Counter

import numpy as np

from ..errors import DataError, shown

TYPES = ("number", "category", "text")
WORD = re.compile(r"[^\W\d_]+")  # a run of letters; the tokenizer splits on all else
PAD, UNKNOWN = 0, 1  # a text's ids that are no word
TEXT_FIRST = 2  # a text's first word id
DEFAULT_VOCABULARY = 10000  # a text's ids in all when no embedding reading it says


def tokens(text):
    """A text's words: lower-cased runs of letters."""
    return WORD.findall(str(text).lower())


def width(column):
    """How many network input values a column gives."""
    kind = column["type"]
    if kind == "number" or (kind == "category" and column.get("ids")):
        return 1
    if kind == "category":
        return len(column["values"]) + 1
    return column["length"]


def scaled(columns):
    """Per network input value, whether the model's standard or minmax scaling
    applies to it: numbers only (one-hot slots and ids are left as they are)."""
    return [c["type"] == "number" for c in columns for _ in range(width(c))]


def fitted(columns):
    return all(c["type"] == "number" or "values" in c or "words" in c for c in columns)


def typed(names, category, text=None):
    """Columns of these names, the ones `category` names (by name, or by index)
    categories, the one `text` names a text, and the others numbers, unfitted: a
    2-D X's, as the estimator takes it (nnspec/sklearn.py). ValueError names a
    column X lacks, or a text beside other columns (it needs an input of its own,
    and an estimator has one)."""
    picked = {kind: _picked(names, chosen, kind) for kind, chosen in
              (("category", category), ("text", text)) if chosen is not None}
    if picked.get("text") and len(names) > 1:
        raise ValueError("text= names a column of X, which holds others too; a text is read by "
                         "an input of its own and an estimator has one: give X the text column "
                         "alone, or use nnspec.compile with csv(..., text=[...]) for both")
    return [{"name": n, "type": next((k for k, js in picked.items() if j in js), "number")}
            for j, n in enumerate(names)]


def _picked(names, chosen, what):
    """The indices of the columns `chosen` names, by name or index."""
    picked = set()
    for c in [chosen] if isinstance(chosen, (str, int)) else list(chosen):
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c < len(names):
            picked.add(int(c))
        elif isinstance(c, str) and c in names:
            picked.add(names.index(c))
        else:
            raise ValueError(f"{what} names the column {c!r}, which X does not have (its "
                             f"columns: {', '.join(names)}, or indices 0..{len(names) - 1})")
    return picked


def sized(column, input_shape, vocabulary):
    """A text column as the network reads it: as many ids as its input is long, and
    `vocabulary` ids in all (an embedding's VOCAB reading it). ValueError where the
    input is not one number long."""
    if len(input_shape) != 1:
        raise ValueError(f"a text gives a sequence of token ids; the spec's input must be one "
                         f"number long (input 20: 20 ids), not {'x'.join(map(str, input_shape))}")
    return {**column, "length": input_shape[0], "vocabulary": vocabulary}


def fit(columns, raw):
    """Columns with their vocabularies from the raw training table (rows, columns)
    of strings, in the columns' order."""
    out = []
    for j, column in enumerate(columns):
        values = raw[:, j]
        if column["type"] == "category":
            column = {**column, "values": sorted(set(map(str, values)))}
        elif column["type"] == "text":
            counts = Counter(w for v in values for w in tokens(v))
            keep = sorted(counts, key=lambda w: (-counts[w], w))[:column["vocabulary"] - TEXT_FIRST]
            column = {**column, "words": keep}
        out.append(column)
    return out


def table(raw, columns, what="x"):
    """Raw table data -> a (rows, columns) array of strings in the columns' order:
    from a 2-D array (or a list of rows) with one column each, or from a map of
    columns by name (a pandas DataFrame is one), where other columns (a label)
    are left out."""
    names = [c["name"] for c in columns]
    if hasattr(raw, "columns") and hasattr(raw, "to_numpy"):  # a DataFrame
        raw = {str(k): raw[k].to_numpy() for k in raw.columns}
    if isinstance(raw, dict):
        missing = [n for n in names if n not in raw]
        if missing:
            raise DataError(f"{what}: no column {shown(repr(missing[0]))}; the model reads "
                            f"{', '.join(map(shown, names))}")
        cols = [np.asarray(raw[n]).reshape(-1) for n in names]
        if len({len(c) for c in cols}) > 1:
            raise DataError(f"{what}: its columns hold different numbers of rows")
        return np.stack(cols, axis=1).astype(str) if cols else np.empty((0, 0), str)
    array = np.asarray(raw)
    if array.ndim == 1 and len(names) == 1:
        array = array[:, None]
    if array.ndim == 1 and array.size == len(names):  # one row
        array = array[None]
    if array.ndim != 2 or array.shape[1] != len(names):
        raise DataError(f"{what} has shape {array.shape}; the model reads rows of "
                        f"{len(names)} columns ({', '.join(map(shown, names))}): give them "
                        "in that order, or a dict of columns by name")
    return array.astype(str)


def encode(columns, raw, where="x", lines=None):
    """A raw table (rows, columns) of strings -> float64 (rows, features). A number
    column's value that is not a finite number is a DataError naming `where`, the
    column and the row (`lines`: each row's line in its file)."""
    out = np.zeros((len(raw), sum(map(width, columns))))
    at = 0
    for j, column in enumerate(columns):
        values, w = raw[:, j], width(column)
        out[:, at:at + w] = ENCODE[column["type"]](column, values, _place(where, column, lines))
        at += w
    return out


def _place(where, column, lines):
    def place(row):
        line = f":{lines[row]}" if lines is not None else f" row {row}"
        return f"{where}{line}: column {shown(repr(column['name']))}"
    return place


def _number(column, values, place):
    """A number column's values -> (rows, 1) float64. numpy parses the strings in
    one call (a table's predict went through float() value by value: 100,000 rows
    of 10 numbers 1.1 s, against 0.36 s); where it cannot, or a value is not
    finite, _number_by_value parses as Python does and names the row."""
    try:
        out = np.asarray(values).astype(np.float64).reshape(-1, 1)
    except ValueError:  # a value numpy cannot read (a name, or "1_000", which float() can)
        out = None
    if out is not None and np.isfinite(out).all():
        return out
    return _number_by_value(column, values, place)


def _number_by_value(column, values, place):
    """The reference: each value through float(), the first that is not a finite
    number one DataError naming its place."""
    out = np.empty((len(values), 1))
    for i, v in enumerate(values):
        try:
            out[i, 0] = float(v)
        except ValueError:
            out[i, 0] = np.nan
        if not np.isfinite(out[i, 0]):
            said = "is empty" if not str(v).strip() else f"holds {shown(repr(str(v)), 40)}"
            hint = "fill it in" if not str(v).strip() else \
                "a column of names is a category: name it in csv(..., category=[...])"
            raise DataError(f"{place(i)} {said}, which is not a finite number; {hint}")
    return out


def _category(column, values, place):
    index = {v: i + 1 for i, v in enumerate(column["values"])}  # 0: never seen in training
    ids = np.fromiter((index.get(str(v), 0) for v in values), np.int64, len(values))
    if column.get("ids"):
        return ids[:, None].astype(np.float64)
    out = np.zeros((len(values), len(index) + 1))
    out[np.arange(len(values)), ids] = 1.0
    return out


def _text(column, values, place):
    index = {w: i + TEXT_FIRST for i, w in enumerate(column["words"])}
    length = column["length"]
    out = np.full((len(values), length), float(PAD))
    for i, v in enumerate(values):
        ids = [index.get(w, UNKNOWN) for w in tokens(v)][:length]
        out[i, :len(ids)] = ids
    return out


ENCODE = {"number": _number, "category": _category, "text": _text}


def describe(columns):
    """One phrase per column for the training header and `nnspec inspect`."""
    parts = []
    for c in columns:
        name = shown(c["name"])
        if c["type"] == "number":
            parts.append(name)
        elif c["type"] == "category":
            count = f"{len(c['values'])} values" if "values" in c else "values"
            parts.append(f"{name} (category, {count} {'as ids' if c.get('ids') else 'one-hot'}"
                         " and one for unseen)")
        else:
            words = f"{len(c['words'])} words" if "words" in c else \
                f"up to {c['vocabulary'] - TEXT_FIRST} words"
            parts.append(f"{name} (text, {words}, {c['length']} ids padded with 0)")
    return ", ".join(parts)
