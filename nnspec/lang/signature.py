"""How a layer's words bind to its parameters.

A layer is written `KIND word* key=value*`. Each layer kind declares its
positional words (by form: dimensions, an integer, or one of a set of names)
and its options; `bind` matches what was written against that declaration and
returns the normalised parameters, or raises SpecError at the offending word.
Words that are names are matched by meaning, so `conv 3x3x8 relu same` and
`conv 3x3x8 same relu` are the same layer. A flag is a word that is there or
not (`lstm 32 bidirectional`): its parameter is True when written, and the
option form (`bidirectional=true`) reads the same.
"""
import difflib
from dataclasses import dataclass

from ..errors import SpecError
from .ir import format_value


@dataclass(frozen=True)
class Word:
    key: str
    # "dims", "int", "number", "choice", "size" (an int k or KHxKW, as (kh, kw)),
    # "window" (an int k, kept as written: a pool's K is KxK on an image, K steps on a
    # sequence), or "flag" (the word `key` itself, binding True; default False)
    form: str
    choices: tuple = ()
    default: object = None
    required: bool = False
    ranks: tuple = ()  # allowed lengths of a dims word, e.g. (2, 3)


@dataclass(frozen=True)
class Opt:
    key: str
    type: type  # int, float, bool or str
    default: object = None
    choices: tuple = ()
    minimum: float = None  # inclusive lower bound for numbers
    read: object = None  # read(form, value) -> value, raising ValueError; replaces type checks


@dataclass(frozen=True)
class Signature:
    usage: str  # e.g. "conv KHxKWxF [same|valid|full] [activation]"
    words: tuple = ()
    options: tuple = ()

    def defaults(self):
        out = {w.key: w.default for w in self.words if not w.required}
        out.update({o.key: o.default for o in self.options})
        return out


def suggest(word, choices):
    """' did you mean 'x'?' for a near miss, else ''."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _fits(slot, form, value):
    if slot.form == "dims":
        return form == "dims" and (not slot.ranks or len(value) in slot.ranks)
    if slot.form == "int":
        return form == "int"
    if slot.form in ("size", "window"):
        return form == "int" or (form == "dims" and len(value) == 2)
    if slot.form == "number":
        return form in ("int", "float")
    if slot.form == "flag":
        return form == "name" and value == slot.key
    return form == "name" and value in slot.choices


def bind(kind, sig, words, options, loc=None, known_kinds=()):
    """words: tree.Values; options: tree.Options -> params dict. loc is the layer's
    own location, for what is missing."""
    params = sig.defaults()
    filled = set()
    for form, value, loc in words:
        slot = next((s for s in sig.words if s.key not in filled and _fits(s, form, value)), None)
        if slot is None:
            raise _unexpected_word(kind, sig, form, value, loc, filled, known_kinds)
        if slot.form == "number":
            value = float(value)
        elif slot.form == "flag":
            value = True
        elif slot.form in ("dims", "int", "size", "window") and min(
                (value,) if form == "int" else value) < 1:  # sizes and counts
            raise SpecError(f"{kind} {slot.key} must be at least 1, got "
                            f"{format_value(value)}; usage: {sig.usage}", *_at(loc))
        if slot.form == "size" and form == "int":
            value = (value, value)
        params[slot.key] = value
        filled.add(slot.key)
    by_key = {o.key: o for o in sig.options}
    seen = set()
    for key, (form, value, _), oloc in options:
        opt = by_key.get(KERAS_OPTIONS.get(key, key))
        if opt is not None and key != opt.key:  # a Keras spelling of an nnspec option
            raise SpecError(f"{kind} spells '{key}' as '{opt.key}': "
                            f"{opt.key}={format_value(value)}", *_at(oloc))
        if opt is None:
            word = next((w for w in sig.words if w.key == KERAS_WORDS.get(key, key)), None)
            if word is not None and word.form == "flag":  # bidirectional=true: the flag
                if key in seen or word.key in filled:
                    raise SpecError(f"{key} given twice: write it once", *_at(oloc))
                seen.add(key)
                params[key] = _option_value(kind, Opt(key, bool), form, value, oloc)
                continue
            if word is not None:  # padding=same, activation=relu, units=64: words here
                raise SpecError(f"{kind} takes its {word.key} as a word, not an option: write "
                                f"'{format_value(value)}' on its own; usage: {sig.usage}",
                                *_at(oloc))
            known = ", ".join(sorted(by_key)) or "none"
            raise SpecError(f"unknown option '{key}' for {kind}{suggest(key, by_key)} "
                            f"(options: {known})", *_at(oloc))
        if key in seen:
            raise SpecError(f"option '{key}' given twice", *_at(oloc))
        seen.add(key)
        params[key] = _option_value(kind, opt, form, value, oloc)
    missing = [s for s in sig.words if s.required and s.key not in filled]
    if missing:
        raise SpecError(f"{kind} needs {_describe(missing[0])}; usage: {sig.usage}",
                        *(_at(loc)))
    return params


# What Keras users type, and what nnspec calls it: options, and words written bare
KERAS_OPTIONS = {"strides": "stride", "dilation_rate": "dilation", "use_bias": "bias",
                 "kernel_initializer": "init", "bias_initializer": "bias_init",
                 "learning_rate": "lr"}
KERAS_WORDS = {"filters": "kernel", "kernel_size": "kernel", "pool_size": "window",
               "num_heads": "heads", "size": "size"}


def _option_value(kind, opt, form, value, loc):
    if opt.read is not None:
        try:
            return opt.read(form, value)
        except ValueError as e:
            raise SpecError(f"{kind} option '{opt.key}': {e}", *_at(loc)) from None
    if opt.type is bool:
        if form == "name" and value in ("true", "false"):
            return value == "true"
        raise SpecError(f"{kind} option '{opt.key}' must be true or false, got {format_value(value)}", *_at(loc))
    if opt.type is str:
        if form != "name":
            raise SpecError(f"{kind} option '{opt.key}' must be a name, got {format_value(value)}", *_at(loc))
        if opt.choices and value not in opt.choices:
            raise SpecError(f"unknown {opt.key} '{value}' for {kind}{suggest(value, opt.choices)} "
                            f"(one of: {', '.join(opt.choices)})", *_at(loc))
        return value
    if opt.type is int and form != "int" or opt.type is float and form not in ("int", "float"):
        kind_name = "an integer" if opt.type is int else "a number"
        raise SpecError(f"{kind} option '{opt.key}' must be {kind_name}, got {format_value(value)}", *_at(loc))
    value = opt.type(value)
    if opt.minimum is not None and value < opt.minimum:
        raise SpecError(f"{kind} option '{opt.key}' must be at least {opt.minimum}, got {value}",
                        *_at(loc))
    return value


def _unexpected_word(kind, sig, form, value, loc, filled, known_kinds):
    hint = ""
    if form == "name":
        open_choices = [c for s in sig.words if s.form in ("choice", "flag")
                        and s.key not in filled for c in word_names(s)]
        if value in known_kinds:
            hint = f"; did you forget '->' before '{value}'?"
        else:
            hint = suggest(value, open_choices)
            taken = [s for s in sig.words if s.key in filled and value in word_names(s)]
            if taken:
                hint = f"; {taken[0].key} is already given"
    return SpecError(f"unexpected '{format_value(value)}' in {kind}{hint}; usage: {sig.usage}",
                     *_at(loc))


def word_names(slot):
    """The names a word slot takes: a choice's choices, a flag's own name."""
    return (slot.key,) if slot.form == "flag" else slot.choices


def _describe(slot):
    if slot.form in ("dims", "size", "window"):
        return "its dimensions"
    if slot.form in ("int", "number"):
        return f"a number ({slot.key})"
    return f"one of: {', '.join(slot.choices)}"


def _at(loc):
    return (loc.line, loc.column) if loc is not None else (None, None)
