"""The highlighting rules of nnspec, once, for both highlighters: the Pygments
lexer (pygments_lexer.py) and the TextMate grammar (textmate.py) are generated
from these rules, and the rules from the language's tables (vocabulary.py), so
a new kind, activation, option or setting is highlighted with no edit here.

A rule is a regular expression whose groups each name a category (what the
text is: a layer kind, a number, ...); each highlighter maps categories to its
own token types or scopes. The expressions use only what Python's re and
Oniguruma (TextMate) read alike: groups, classes, fixed-width lookbehind.
A region (the train block, a block's body) is begun and ended by rules and
has rules of its own.
"""
import re
from dataclasses import dataclass

from .. import vocabulary

NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*"
_BEFORE = r"(?<![A-Za-z0-9_-])"  # a whole name: no name character before it,
_AFTER = r"(?![A-Za-z0-9_]|-[A-Za-z0-9_])"  # and none after (but `relu->` ends it)
PARAM = r"\{[A-Za-z_][A-Za-z0-9_]*\}"


@dataclass(frozen=True)
class Rule:
    pattern: str
    groups: tuple  # one category per group, None for a group left plain


@dataclass(frozen=True)
class Region:
    name: str  # the Pygments state, and the TextMate repository entry
    begin: Rule
    end: Rule
    rules: tuple


def one_of(names):
    """A whole-name alternation of names, longest first (so `l1_bias` beats `l1`)."""
    ordered = sorted(set(names), key=lambda n: (-len(n), n))
    return _BEFORE + "(" + "|".join(re.escape(n) for n in ordered) + ")" + _AFTER


def _names(category, names):
    return Rule(one_of(names), (category,))


def _common():
    """Comments, strings, numbers, placeholders: the same everywhere."""
    number = r"(?<![A-Za-z0-9_.])"
    return (
        Rule(r"(#.*)", ("comment",)),
        Rule(r'("[^"\n]*")', ("string",)),
        Rule(r"(\))(\s*)(x\d+)" + _AFTER, ("punctuation", None, "repeat")),
        Rule(number + r"((?:\d+|" + PARAM + r")(?:x(?:\d+|" + PARAM + r"))+)" + _AFTER,
             ("dims",)),
        Rule(number + r"(\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)+)", ("ratio",)),
        Rule(number + r"([+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+)"
             + _AFTER, ("float",)),
        Rule(number + r"([+-]?\d+)" + _AFTER, ("integer",)),
        Rule("(" + PARAM + ")", ("param",)),
        _names("boolean", vocabulary.BOOLEANS),
    )


def _tail():
    """Names left over, punctuation and space: so that nothing is left unmatched."""
    return (
        Rule("(" + NAME + ")", ("name",)),
        Rule(r"(->)", ("arrow",)),
        Rule(r"(=)", ("assign",)),
        Rule(r"([(),:\[\]{}])", ("punctuation",)),
        # a line's indentation is left for rules that begin with ^ (train settings)
        Rule(r"(\s*\n|[ \t\f\r]+)", (None,)),
        Rule(r"(.)", ("invalid",)),
    )


def network_rules():
    """Layers, chains and names: the top level and a block's body."""
    kinds = [k for k in vocabulary.kinds() if k not in vocabulary.activations()]
    return (
        *_common(),
        Rule(r"(->)", ("arrow",)),
        Rule("(" + NAME + r")(\s*)(:)(?!=)", ("label", None, "punctuation")),
        Rule(one_of(vocabulary.all_options()) + "(=)", ("option", "assign")),
        Rule("(" + NAME + ")(=)", ("attribute", "assign")),
        _names("keyword", vocabulary.KEYWORDS),
        _names("activation", vocabulary.activations()),
        _names("kind", kinds),
        _names("word", vocabulary.all_words()),
        _names("value", vocabulary.initializers()),
        Rule("(" + NAME + r")(\s*)(?=\()", ("call", None)),
        *_tail(),
    )


def train_rules():
    """Inside `train { }`: settings, then their values and the options of calls."""
    return (
        *_common(),
        Rule(r"^([ \t]*)" + one_of(vocabulary.settings()) + r"(\s*)(=)",
             (None, "setting", None, "assign")),
        Rule(one_of(vocabulary.call_option_names()) + "(=)", ("option", "assign")),
        Rule("(" + NAME + ")(=)", ("attribute", "assign")),
        _names("value", vocabulary.value_names()),
        *_tail(),
    )


SWEEP_VALUES = ("grid", "random", "tpe", "median", "hyperband", "none", "minimize", "maximize",
                "uniform", "loguniform", "int", "range")


def sweep_rules():
    """Inside `sweep { }`: each name given its space, the sweep's own words."""
    return (
        *_common(),
        Rule(r"^([ \t]*)(" + NAME + r")(\s*)(=)", (None, "setting", None, "assign")),
        _names("value", SWEEP_VALUES),
        *_tail(),
    )


def grammar():
    """-> (the top level's rules, (Region, ...))."""
    train = Region("train", Rule(r"^(\s*)(train)(\s*)(\{)", (None, "keyword", None,
                                                               "punctuation")),
                   Rule(r"(\})", ("punctuation",)), train_rules())
    block = Region("block", Rule(r"^(\s*)(block)(\s+)(" + NAME + ")",
                                 (None, "keyword", None, "block")),
                   Rule(r"(\})", ("punctuation",)), network_rules())
    sweep = Region("sweep", Rule(r"^(\s*)(sweep)(\s*)(\{)", (None, "keyword", None,
                                                               "punctuation")),
                   Rule(r"(\})", ("punctuation",)), sweep_rules())
    return network_rules(), (train, sweep, block)
