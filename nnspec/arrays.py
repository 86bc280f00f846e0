"""Data by the names of a network's inputs and outputs, and what a table's
columns and a target scaling add to it: the helpers prepare.py and model.py
build on (a model's raw data -> its arrays by name, and back)."""
import numpy as np

from .engine import tables, target_scale
from .errors import DataError
from .lang.kinds.base import fmt_shape


def by_name(values, names, what):
    """A network's data by the names of its inputs or outputs: a dict by name, a
    list in declaration order (as Keras takes them), or one array for one name.
    -> {name: array}; a missing or extra name is one DataError naming it."""
    if isinstance(values, dict):
        missing = [n for n in names if n not in values]
        extra = [str(k) for k in values if k not in names]
        if missing or extra:
            raise DataError(f"{what}: " + (f"no array for {missing[0]!r}" if missing else
                                          f"{extra[0]!r} is not one of them") +
                            f" (the network's: {', '.join(names)})")
        return {n: values[n] for n in names}
    if isinstance(values, (list, tuple)) and len(names) > 1:
        if len(values) != len(names):
            raise DataError(f"{what}: {len(values)} arrays for {len(names)} ("
                            f"{', '.join(names)}); give one each, in that order, or a dict")
        return dict(zip(names, values))
    if len(names) > 1:
        raise DataError(f"{what}: the network has {len(names)} ({', '.join(names)}); give a "
                        "dict of arrays by name, or a list in that order")
    return {names[0]: values}


def table_inputs(model):
    """{input: its table columns} of the inputs that read a table."""
    return {n: p["columns"] for n, p in model.preprocessing.items() if "columns" in p}


def routed(model, x, what="x"):
    """Raw x by input name (by_name); a map of table columns (a dict, a pandas
    DataFrame) goes whole to each input that reads a table, which takes its own
    columns from it by name (engine/tables.table)."""
    names = model.graph.inputs
    read = table_inputs(model)
    if read and hasattr(x, "columns") and hasattr(x, "to_numpy"):  # a DataFrame
        x = {str(k): x[k].to_numpy() for k in x.columns}
    if read and isinstance(x, dict) and not set(names) <= set(x):
        return {n: x if n in read else x.get(n) for n in names} if \
            all(n in read or n in x for n in names) else by_name(x, names, what)
    return by_name(x, names, what)


def encoded(model, name, raw, what="x"):
    """An input's raw table (rows of strings, or a map of columns by name) -> its
    numbers (engine/tables.py); an unfitted vocabulary is an error saying so."""
    columns = model.preprocessing[name]["columns"]
    if not tables.fitted(columns):
        raise DataError(f"the model's table columns of {name} are not fitted: train it first "
                        "(fit, or nnspec train)")
    return tables.encode(columns, tables.table(raw, columns, what), what)


def check_width(model, name, columns):
    """A table input's shape against what its columns give, fitted: the number to
    write where they differ."""
    node = model.network.node(name)
    shape = model.graph.input_shapes[name]
    width = sum(map(tables.width, columns))
    if len(columns) == 1 and columns[0]["type"] == "text":
        return  # its length is the input's own
    if shape != (width,):
        where = f"{model.source}:{node.loc.line}" if node.loc else model.source
        which = "the input" if name == "input" else f"the input {name}"
        raise DataError(f"{where}: {which} takes {fmt_shape(shape)} values, but its "
                        f"table columns give {width} ({tables.describe(columns)}): write "
                        f"{'' if name == 'input' else name + ': '}input {width}")


def target_scaling(model, y):
    """The model's target scaling with the outputs that take one fitted on the
    training labels y (engine/target_scale.py); ones it holds are kept."""
    kind = model.config.target_scale or ("standard" if model.table_data else "far")
    if kind == "none":
        return {}
    terms = model.plan.terms
    raw = by_name(y, [t.name for t in terms], "y")
    out = dict(model.target_scaling)
    if model.state.epoch:  # trained already: its outputs mean what they meant
        return out
    # a loaded output layer keeps what it learnt (its base's scaling, or none: transfer.py)
    loaded = set((model.lineage or {}).get("loaded", ()))
    for term in terms:  # the outputs that can learn scaled targets: linear, mse/mae
        if term.name not in out and term.node not in loaded and not \
                target_scale.unscalable(term, model.network.node(term.node)):
            values = np.asarray(raw[term.name])
            if values.dtype.kind in "biuf" and np.isfinite(values).all():
                stats = target_scale.fit(values)
                if kind == "standard" or target_scale.far(stats):
                    out[term.name] = stats
    return out


def far_unscaled(model, y):
    """[(output, its activation, {"mean", "std"})] of the regression outputs whose
    targets lie far from unit scale but which learn them as they are: a relu or
    sigmoid output no scaling fits (target_scale.unscalable). The header says so:
    they learn slowly, or diverge, where a linear output would be scaled."""
    if model.config.target_scale == "none":
        return []
    raw, out = by_name(y, [t.name for t in model.plan.terms], "y"), []
    for term in model.plan.terms:
        node = model.network.node(term.node)
        values = np.asarray(raw[term.name])
        if term.name in model.target_scaling or term.loss not in target_scale.POWER or \
                values.dtype.kind not in "biuf" or not np.isfinite(values).all():
            continue
        stats = target_scale.fit(values)
        if target_scale.far(stats) and target_scale.unscalable(term, node):
            out.append((term.name, node.p.get("activation", "linear"), stats))
    return out


def unscaled(model, out):
    """Network outputs -> in the targets' units, where the model scales them."""
    if not model.target_scaling:
        return out
    if isinstance(out, dict):
        return {k: target_scale.unscale(model.target_scaling[k], v)
                if k in model.target_scaling else v for k, v in out.items()}
    stats = model.target_scaling.get(model.plan.terms[0].name)
    return out if stats is None else target_scale.unscale(stats, out)


def _rows(v):
    """Samples in an array, or in the first of a dict of them (of columns too)."""
    return _rows(next(iter(v.values()))) if isinstance(v, dict) else len(v)


def held_out(model, x, y, sample_weight, share, validation_data):
    """fit's validation_split: (x, y, sample_weight) of the first 1 - share of the
    samples, and the last share as validation data, in the order given (before
    any shuffling), as Keras takes it. Lists of several inputs' or outputs' arrays
    are taken by name first: a list's length is not a count of samples."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
        raise DataError(f"fit: validation_split is the share held out, between 0 and 1 "
                        f"(e.g. 0.2), got {share!r}")
    if validation_data is not None:
        raise DataError("fit: give validation_data or validation_split, not both")
    inputs, outputs = model.graph.inputs, [t.name for t in model.plan.terms]
    if len(inputs) > 1 and isinstance(x, (list, tuple)):
        x = by_name(x, inputs, "x")
    if len(outputs) > 1 and isinstance(y, (list, tuple)):
        y = by_name(y, outputs, "y")
    count = _rows(x)
    cut = int(count * (1 - share))
    if not 0 < cut < count:
        raise DataError(f"fit: validation_split={share:g} of {count} samples leaves "
                        f"{'none for training' if cut <= 0 else 'none for validation'}")

    def part(v, rows):
        if isinstance(v, dict):
            return {k: part(a, rows) for k, a in v.items()}
        return v.iloc[rows] if hasattr(v, "iloc") else np.asarray(v)[rows]
    first, last = slice(0, cut), slice(cut, count)
    weights = None if sample_weight is None else np.asarray(sample_weight)[first]
    return part(x, first), part(y, first), weights, (part(x, last), part(y, last))
