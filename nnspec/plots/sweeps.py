"""Figures of a sweep's folder (trials.csv, trials.jsonl): every run's curve
coloured by one parameter (seed 004's figure of its grid), and the objective
against each parameter."""
import math

import numpy as np

from . import base

SKIP = ("number", "state", "value", "epochs", "seconds", "error")


def parameters(rows):
    """The parameter columns of trials.csv's rows: those before `value`."""
    names = list(rows[0]) if rows else []
    return names[2:names.index("value")] if "value" in names else []


def _numeric(values):
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _spread(values):
    """Whether numbers span decades (drawn on a log scale)."""
    return _numeric(values) and min(values) > 0 and max(values) / min(values) >= 20


def _colours(values):
    """-> (value -> colour, legend entries or None, a ScalarMappable or None)."""
    distinct = sorted(set(values), key=lambda v: (isinstance(v, str), v))
    if len(distinct) <= len(base.CLASS_COLORS) or not _numeric(distinct):
        table = {v: base.CLASS_COLORS[i % len(base.CLASS_COLORS)] for i, v in enumerate(distinct)}
        return table.get, distinct, None
    from matplotlib import cm, colors
    norm = colors.LogNorm(min(distinct), max(distinct)) if _spread(distinct) else \
        colors.Normalize(min(distinct), max(distinct))
    mappable = cm.ScalarMappable(norm, "viridis")
    return (lambda v: mappable.to_rgba(v)), None, mappable


def sweep_curves(rows, records, metric, color=None, title=None):
    """Every trial's `metric` per epoch (trials.jsonl's histories), coloured by the
    parameter `color` (default: the first)."""
    names = parameters(rows)
    color = color or (names[0] if names else None)
    runs = [(r, records[r["number"]]["history"].get(metric)) for r in rows
            if r["number"] in records]
    runs = [(r, h) for r, h in runs if h]
    fig = base.figure(8, 4.8)
    ax = fig.subplots()
    colour, legend, mappable = _colours([r[color] for r, _ in runs]) if color else \
        ((lambda v: base.CLASS_COLORS[0]), None, None)
    for row, history in runs:
        ax.plot(np.arange(1, len(history) + 1), history, lw=0.8, alpha=0.6,
                color=colour(row[color]) if color else colour(None))
    if legend:
        from matplotlib.lines import Line2D
        ax.legend([Line2D([], [], color=colour(v)) for v in legend],
                  [f"{color} {v}" for v in legend], fontsize=8)
    if mappable is not None:
        fig.colorbar(mappable, ax=ax, label=color)
    values = [v for _, h in runs for v in h if math.isfinite(v)]
    if values and min(values) > 0 and max(values) / min(values) > 100:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(title or f"{len(runs)} runs of the sweep: {metric} per epoch"
                 + (f", coloured by {color}" if color else ""))
    ax.grid(alpha=0.3)
    return fig


def sweep_params(rows, metric, title=None):
    """The objective's value against each parameter, one panel each."""
    names = parameters(rows)
    done = [r for r in rows if isinstance(r["value"], (int, float))]
    fig = base.figure(max(4.0, 3.6 * len(names)), 3.8)
    axes = np.atleast_1d(fig.subplots(1, max(len(names), 1)))
    for ax, name in zip(axes, names):
        xs = [r[name] for r in done]
        if _numeric(xs):
            ax.scatter(xs, [r["value"] for r in done], s=14, alpha=0.7)
            if _spread(xs):
                ax.set_xscale("log")
        else:  # names: one column each
            labels = sorted(set(map(str, xs)))
            ax.scatter([labels.index(str(x)) for x in xs], [r["value"] for r in done],
                       s=14, alpha=0.7)
            ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    fig.suptitle(title or f"{metric} of {len(done)} trials against each parameter")
    return fig
