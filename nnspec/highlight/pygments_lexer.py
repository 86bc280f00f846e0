"""The Pygments lexer for nnspec, generated from rules.py: `pygmentize -l nnspec
FILE`, and ```nn fences in MkDocs and Sphinx once nnspec is installed (the
entry point "pygments.lexers" in pyproject.toml registers it)."""
from pygments.lexer import RegexLexer, bygroups
from pygments.token import (Comment, Error, Keyword, Name, Number, Operator, Punctuation,
                            String, Whitespace)

from .rules import grammar

TOKENS = {
    None: Whitespace, "comment": Comment.Single, "string": String.Double,
    "keyword": Keyword, "boolean": Keyword.Constant, "kind": Name.Builtin,
    "activation": Name.Function, "word": Keyword.Pseudo, "option": Name.Attribute,
    "attribute": Name.Other, "setting": Name.Property, "value": Name.Constant,
    "call": Name.Function, "block": Name.Class, "label": Name.Label, "name": Name.Variable,
    "param": String.Interpol, "dims": Number, "ratio": Number, "float": Number.Float,
    "integer": Number.Integer, "repeat": Operator, "arrow": Operator, "assign": Operator,
    "punctuation": Punctuation, "invalid": Error,
}


def _rule(rule, *state):
    action = bygroups(*(TOKENS[c] for c in rule.groups)) if len(rule.groups) > 1 \
        else TOKENS[rule.groups[0]]
    return (rule.pattern, action, *state)


def tokens():
    """Pygments' state table: the top level, and one state per region."""
    top, regions = grammar()
    table = {"root": [_rule(r.begin, r.name) for r in regions] + [_rule(r) for r in top]}
    for region in regions:
        table[region.name] = [_rule(region.end, "#pop")] + [_rule(r) for r in region.rules]
    return table


class NNSpecLexer(RegexLexer):
    """nnspec's `.nn` specs: layer kinds, activations, words and options from the
    language's own tables, the train block's settings and values."""

    name = "nnspec"
    aliases = ["nnspec", "nn"]
    filenames = ["*.nn"]
    mimetypes = ["text/x-nnspec"]
    tokens = tokens()
