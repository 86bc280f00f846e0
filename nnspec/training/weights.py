"""How much each training sample counts: fit's `sample_weight` (scikit-learn's
and Keras' name: one number per sample, or a CSV's weight= column) times its
class's `class_weight` (the train setting, or fit's: `balanced`, a list by
class index, or a map by class index or name).

The loss of a batch is then sum(w * loss) / sum(w) (losses.sample_weights):
a sample of weight 2 counts as that sample twice would. `balanced` gives
class c the weight n / (classes * n_c), as scikit-learn's
compute_class_weight does, so every class weighs the same in all.
"""
import numpy as np

from ..engine import losses
from ..errors import DataError, shown
from ..lang.heads import PROBABILITY_LOSSES


NOT_CLASSIFYING = ("class_weight weighs the classes of a network of one classifying output; "
                   "give sample_weight for others")


def classifies(plan):
    """Whether class weights can weigh a plan's outputs: one, and it classifies."""
    return len(plan.terms) == 1 and plan.terms[0].loss in PROBABILITY_LOSSES


def resolve(model, y, count, sample_weight=None, class_weight=None):
    """-> the per-sample weights (count,) float64, or None where every sample
    counts once. y: the raw labels fit was given."""
    w = None
    if sample_weight is not None:
        w = _checked(np.asarray(sample_weight), count)
    if class_weight is None:
        class_weight = model.config.class_weight
    if class_weight is not None:
        by_class = _class_weights(model, y, class_weight)
        w = by_class if w is None else w * by_class
        if count and not w.any():  # each sample's weight or its class's is 0
            raise DataError("class_weight gives every sample a weight of 0 (with "
                            "sample_weight, if given), so nothing would train; give at least "
                            "one class present in y a weight above 0")
    return w


def _checked(w, count, what="sample_weight"):
    if w.ndim != 1 or w.dtype.kind not in "biuf":
        raise DataError(f"{what}: one number per sample, got an array of shape {w.shape} "
                        f"and dtype {w.dtype}")
    if len(w) != count:
        raise DataError(f"{what} has {len(w)} values but x has {count} samples; give one "
                        "weight per sample")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{what}[{i}] is {w[i]:g}; a weight is a finite number, 0 or more")
    if count and not w.any():
        raise DataError(f"{what}: every weight is zero; at least one sample must count")
    return w.astype(np.float64)


def _class_weights(model, y, class_weight):
    """Each sample's class's weight, from the one classifying output's labels."""
    terms = model.plan.terms
    if not classifies(model.plan):
        raise DataError(NOT_CLASSIFYING)
    term = terms[0]
    units = model.graph.shapes[term.node][-1]
    labels = np.asarray(next(iter(y.values())) if isinstance(y, dict) else y)
    count = 2 if units == 1 else units
    t = losses.targets(labels, units, np.float64, term.loss, "y")
    idx = (t[:, 0] > 0.5).astype(np.int64) if units == 1 else t.argmax(axis=-1)
    idx = idx.reshape(len(idx), -1)[:, 0]  # a sequence's: its first step's class
    names = model.output_classes.get(term.name)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise DataError(f"class_weight is balanced, a list by class or a map, got "
                            f"{shown(repr(class_weight))}")
        seen = np.bincount(idx, minlength=count).astype(np.float64)
        table = np.where(seen > 0, len(idx) / (count * np.maximum(seen, 1)), 1.0)
    else:
        table = _table(class_weight, count, names)
    return table[idx]


def _table(class_weight, count, names):
    """A list by class index, or a map by index or class name -> (count,) weights;
    classes a map leaves out weigh 1, as in Keras."""
    if isinstance(class_weight, dict):
        table = np.ones(count)
        for key, value in class_weight.items():
            index = key if isinstance(key, (int, np.integer)) and not isinstance(key, bool) \
                else (list(names).index(key) if names and key in names else None)
            if index is None or not 0 <= index < count:
                known = f"0..{count - 1}" + (f" or {', '.join(map(shown, names))}" if names
                                             else "")
                raise DataError(f"class_weight names the class {shown(repr(key))}; the classes "
                                f"are {known}")
            table[index] = _weight(value, key)
        return table
    values = list(class_weight)
    if len(values) != count:
        raise DataError(f"class_weight lists {len(values)} weights for {count} classes; give "
                        "one per class, in the classes' order")
    return np.array([_weight(v, i) for i, v in enumerate(values)])


def _weight(value, key):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value) or value < 0:
        raise DataError(f"class_weight of class {shown(repr(key))} is {value!r}; a weight is a "
                        "finite number, 0 or more")
    return float(value)
