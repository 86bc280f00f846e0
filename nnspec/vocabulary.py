"""The words of the language as editors see them, read from the language's own
tables, so that a new layer kind, activation, option or setting is highlighted,
completed and documented with no edit here: keywords from the grammar, kinds
with their words and options from their Signatures (lang/kinds/), activations
and initializers (lang/names.py), train settings (lang/settings.py).

The names a train setting may call (optimizers, schedules, losses, metrics, data
sets) live in modules that import numpy; highlighting must not, so they are
listed here (CALLS) and tests/test_highlight.py holds the list to those
registries. Used by highlight/ and lsp/; no numpy, no optional package.
"""
import importlib
import re

from .lang.kinds import FAMILY, KINDS
from .lang.names import ACTIVATIONS, INITIALIZERS, SCALED
from .lang.settings import SETTINGS
from .lang.signature import Opt, word_names
from .lang.syntax import grammar_path

BOOLEANS = ("true", "false")


def _keywords():
    """The grammar's string literals that are words: "input", "train", ..."""
    return tuple(dict.fromkeys(re.findall(r'"([a-z]+)"', grammar_path().read_text())))


KEYWORDS = _keywords()

# setting -> {name it may call or name: the options it takes}. Checked against
# training/optimizers.py, training/schedules.py, engine/losses.py, training/metrics.py,
# training/callbacks.py, files/data/ and engine/preprocess.py by the tests.
_DATA = {"shapes": ("n", "size", "noise", "style"), "spiral": ("n", "classes", "noise", "spin"),
         "vertical": ("n", "classes", "noise"), "sine": ("n", "noise"),
         "xor": ("repeats", "noise"), "glyphs": ("n", "noise"), "mnist": ("n", "test"),
         "fashion-mnist": ("n", "test"),
         "csv": ("label", "category", "text", "weight", "vocabulary"), "images": (),
         "npz": ("label", "category", "text", "weight", "vocabulary")}
CALLS = {
    "optimizer": {"sgd": ("momentum", "nesterov", "weight_decay"), "adagrad": ("eps",),
                  "rmsprop": ("rho", "eps"), "adam": ("beta1", "beta2", "eps"),
                  "adamw": ("beta1", "beta2", "eps", "weight_decay"),
                  "lazy_adam": ("beta1", "beta2", "eps")},
    "schedule": {"constant": (), "inverse_time": ("decay",), "exponential": ("rate", "steps"),
                 "step": ("every", "gamma"), "cosine": ("warmup", "floor", "steps"),
                 "plateau": ("factor", "patience", "min_delta", "monitor")},
    "loss": {"cross_entropy": (), "mse": (), "quadratic": (), "mae": (), "huber": (),
             "binary_cross_entropy": ()},
    "metrics": {"accuracy": (), "binary_accuracy": (), "mae": (), "mse": (), "top_k": ("k",)},
    "early_stopping": {"early_stopping": ("patience", "monitor", "min_delta",
                                          "restore_best_weights")},
    "data": _DATA,
    "validation": _DATA,
    "scale": {"none": (), "pixels": (), "standard": (), "minmax": ()},
    "target_scale": {"none": (), "standard": ()},
    "class_weight": {"balanced": ()},
}
# optimizer(lr=...) also sets the learning rate (lang/settings.py)
CALL_EXTRA = {"optimizer": ("lr",)}

# One line per setting for hover; a setting added to lang/settings.py without a
# line here fails tests/test_lsp_units.py.
SETTING_DOCS = {
    "loss": "the loss of every output an `output` line gives none; by default what each "
            "output implies (a sigmoid: binary_cross_entropy; a softmax or logits over "
            "several units: cross_entropy; else mse)",
    "optimizer": "the update rule, with its options in parentheses: adam(beta1=0.8)",
    "lr": "the learning rate (a layer's lr= overrides it for that layer)",
    "schedule": "a factor on every layer's rate, per update or per epoch",
    "batch_size": "samples per update",
    "epochs": "passes over the training split",
    "l1": "L1 penalty on every weight matrix",
    "l2": "L2 penalty on every weight matrix",
    "l1_bias": "L1 penalty on every bias",
    "l2_bias": "L2 penalty on every bias",
    "clip_norm": "the largest global gradient norm; 0 is off",
    "reduction": "mean or sum of the per-sample losses in a batch",
    "metrics": "what history records besides the loss; a name, a call or a list",
    "early_stopping": "a patience, or early_stopping(patience, monitor, min_delta, "
                      "restore_best_weights)",
    "data": "a data set (a generator, mnist, fashion-mnist) or a file relative to the spec",
    "validation": "a data set of its own for validation, written as data is",
    "split": "train/validation/test shares, e.g. 70/15/15 or 80/20",
    "shuffle": "false keeps the data's order for the split and every epoch's batches",
    "resample": "true trains each epoch after the first on a fresh draw of the generator",
    "scale": "the model's input preprocessing, kept in the bundle",
    "seed": "weights, shuffling, dropout and data all follow from it",
    "init_from": "the weights training starts from, layer by layer by name: \"base.nnb\" "
                 "(beside the spec) or weights(\"base.nnb\", into=NAME, strict=true)",
    "dtype": "the compute type",
    "target_scale": "standard: a regression output learns (y - mean) / std, and answers in "
                    "y's units",
    "class_weight": "balanced, or one weight per class: [1, 19] or 1/19",
}


def kinds():
    return tuple(KINDS)


def merges():
    return tuple(k for k, kind in KINDS.items() if kind.merge)


def signature(kind):
    return KINDS[kind].signature


def words(kind):
    """The names a kind takes as words (paddings, activations, ...), in its order."""
    return tuple(c for w in signature(kind).words if w.form in ("choice", "flag")
                 for c in word_names(w))


def all_words():
    """Every name any kind takes as a word, activations excluded."""
    return tuple(sorted({c for k in KINDS for c in words(k)} - set(ACTIVATIONS)))


def options(kind):
    """The keys a kind takes as key=value: its options, and its flags' option form."""
    return tuple(o.key for o in signature(kind).options) + tuple(
        w.key for w in signature(kind).words if w.form == "flag")


def all_options():
    return tuple(sorted({o for k in KINDS for o in options(k)}))


def option_values(kind, key):
    """The values an option may name: true/false, its choices, or initializers."""
    opt = next((o for o in signature(kind).options if o.key == key), None)
    if any(w.form == "flag" and w.key == key for w in signature(kind).words):
        return BOOLEANS  # a flag's option form: bidirectional=true
    if opt is None:
        return ()
    if opt.type is bool:
        return BOOLEANS
    if opt.choices:
        return tuple(opt.choices)
    if opt.read is not None and opt.type is str:  # init=, bias_init=
        return initializers()
    return ()


def option_doc(opt: Opt):
    default = "" if opt.default is None else f" (default {str(opt.default).lower()})"
    return f"{opt.key}={opt.type.__name__}{default}"


def kind_doc(kind):
    """A kind's documentation: its usage, words, options, and its family's docstring."""
    sig = signature(kind)
    lines = [f"`{sig.usage}`"]
    named = [f"{w.key}: {' | '.join(w.choices)}" for w in sig.words if w.form == "choice"]
    named += [f"{w.key} (a flag: written or not)" for w in sig.words if w.form == "flag"]
    if named:
        lines.append("words: " + "; ".join(named))
    if sig.options:
        lines.append("options: " + ", ".join(option_doc(o) for o in sig.options))
    module = importlib.import_module(f"nnspec.lang.kinds.{FAMILY[kind]}")
    doc = (module.__doc__ or "").strip().split("\n\n")[0]
    if doc:
        lines.append(" ".join(doc.split()))
    return "\n\n".join(lines)


def activations():
    return ACTIVATIONS


def initializers():
    """What init= and bias_init= may name: initializers, and normal(..), uniform(..)."""
    return INITIALIZERS + tuple(SCALED)


def settings():
    """The settings a train block may write, in the printer's order."""
    return tuple(s.key for s in SETTINGS if s.forms)


def setting_values(key):
    """The names a setting may take: its choices, its registry's names, or booleans."""
    setting = next((s for s in SETTINGS if s.key == key), None)
    if setting is None:
        return ()
    if setting.stored == "bool":
        return BOOLEANS
    if key in CALLS:
        return tuple(CALLS[key])
    return tuple(setting.choices)


def call_options(key, name):
    """The options of `name(...)` as the value of setting `key`: adam -> beta1, ..."""
    return CALLS.get(key, {}).get(name, ()) + CALL_EXTRA.get(key, ())


def setting_doc(key):
    setting = next(s for s in SETTINGS if s.key == key)
    lines = [f"**{key}**: {SETTING_DOCS.get(key, '')}"]
    values = setting_values(key)
    if values:
        shown = [f"{v}({', '.join(call_options(key, v))})" if call_options(key, v) else v
                 for v in values]
        lines.append("values: " + ", ".join(f"`{v}`" for v in shown))
    if setting.default not in (None, ()):
        lines.append(f"default: `{_plain(setting.default)}`")
    return "\n\n".join(lines)


def _plain(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "/".join(f"{v * 100:g}" for v in value)
    return str(value)


def value_names():
    """Every name a train block may give as a value (adam, cosine, mnist, ...)."""
    names = {n for key in settings() for n in setting_values(key)} - set(BOOLEANS)
    return tuple(sorted(names))


def call_option_names():
    return tuple(sorted({o for key in CALLS for n in CALLS[key] for o in call_options(key, n)}))
