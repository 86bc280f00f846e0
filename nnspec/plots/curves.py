"""Curves: a training history, and a regression model's fit."""
import textwrap

from matplotlib.ticker import MaxNLocator
import numpy as np

from ..errors import DataError
from .base import figure, head, is_classifier, target

TITLES = {"loss": "loss", "accuracy": "accuracy", "binary_accuracy": "accuracy", "mae":
          "mean absolute error", "top_k": "top-k accuracy"}


def history(history, title=None, validation="validation", output=None):
    """One panel per measure (loss first, then accuracy ...): training and validation
    per epoch, and the test result as a short line after the last epoch (seed 000).
    `validation` names the val_* curves (a run validated on its test set says so).
    A model of several outputs has a panel for the total loss and for each output's
    loss and metrics (`digit_loss`, `digit_accuracy`); output: only that output's."""
    measures = [k for k in history if not k.startswith(("val_", "test_")) and k != "lr"
                and history[k]]
    if output is not None:
        mine = [k for k in measures if k.startswith(output + "_")]
        if not mine:
            raise DataError(f"history: --output {output}: the history holds no {output}_* "
                            f"numbers (it holds {', '.join(measures) or 'none'})")
        measures = mine
    if not measures:
        raise DataError("history: nothing to plot (the model has not been trained)")
    measures.sort(key=lambda k: k != "loss")
    fig = figure(4.2 * len(measures), 3.4)
    axes = fig.subplots(1, len(measures), squeeze=False)[0]
    for ax, key in zip(axes, measures):
        panel(ax, history, key, validation)
    if title:  # wrapped to the figure's width: about 11 characters an inch at 12 points
        fig.suptitle(textwrap.fill(title, width=int(11 * 4.2 * len(measures))))
    return fig


def batch_losses(losses, history, title=None, validation="validation"):
    """Seed 000's loss figure: the training loss of every minibatch, the validation
    loss at the end of each epoch, and the test loss as a short flat line after the
    last batch. losses: one a batch, as a callback collects them
    (`LambdaCallback(on_batch_end=lambda b, logs: losses.append(logs["batch_loss"]))`);
    history: that fit call's (what fit returns; model.history holds earlier calls'
    epochs too), with val_loss, and test_loss where one was added."""
    losses = np.asarray(losses, dtype=float)
    epochs = len(history.get("loss", ()))
    if not len(losses) or not epochs or len(losses) % epochs:
        raise DataError(f"batch_losses: {len(losses)} batch losses do not divide into the "
                        f"history's {epochs} epochs")
    per_epoch = len(losses) // epochs
    fig = figure(7, 3.8)
    ax = fig.subplots()
    ax.plot(np.arange(1, len(losses) + 1), losses, lw=0.8, label="train (each minibatch)")
    if history.get("val_loss"):
        ends = per_epoch * np.arange(1, len(history["val_loss"]) + 1)
        ax.plot(ends, history["val_loss"], marker="o", ms=4, label=f"{validation} (each epoch)")
    if history.get("test_loss"):
        test = history["test_loss"][-1]
        n = len(losses)
        ax.plot([n, n + max(1, round(0.08 * n))], [test, test], color="#2ca02c", lw=2.5,
                label=f"test ({test:.4g})")
    ax.set_xlabel("minibatch")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def panel(ax, history, key, validation="validation"):
    """One measure's curves on `ax` (also an animation frame)."""
    train = history[key]
    n = len(train)
    marker = "o" if n <= 30 else None
    epochs = np.arange(1, n + 1)
    ax.plot(epochs, train, marker=marker, ms=3, label="train")
    if history.get("val_" + key):
        val = history["val_" + key]
        ax.plot(np.arange(1, len(val) + 1), val, marker=marker, ms=3, label=validation)
    if history.get("test_" + key):
        test = history["test_" + key][-1]
        span = max(1, round(n * 0.12))
        ax.plot([n, n + span], [test, test], color="#2ca02c", lw=2.5,
                label=f"test ({test:.4g})")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_ylabel(TITLES.get(key, key))
    ax.set_title(f"{TITLES.get(key, key)} per epoch")
    if key == "loss" and min(train) > 0 and max(train) / min(train) > 50:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()


def regression(model, x, y, title=None, output=None):
    """One input and one output: the data as points and the model as a curve over
    their range. Otherwise: predicted against true values, with the y = x line.
    output: which output, for a model of several (x and y then dicts by name)."""
    out = head(model, output)
    if is_classifier(out):
        raise DataError(f"regression: needs an output of values; {out.name} is a classifier's "
                        f"(try --kind confusion)" if len(model.graph.outputs) > 1 else
                        "regression: needs a model whose outputs are values; this one is a "
                        "classifier (try --kind confusion)")
    if not isinstance(x, dict):
        x = np.asarray(x)
    pred = out.predict(x)
    n = len(pred)
    y = np.asarray(target(y, out), dtype=np.float64).reshape(n, -1)
    pred = pred.reshape(n, -1)
    mse = float(np.mean((pred - y) ** 2))
    fig = figure(6, 4)
    ax = fig.subplots()
    if not isinstance(x, dict) and model.graph.input_shape == (1,) and y.shape[1] == 1:
        order = np.argsort(x[:, 0])
        grid = np.linspace(x[:, 0].min(), x[:, 0].max(), 400, dtype=model.graph.dtype)[:, None]
        ax.scatter(x[order, 0], y[order, 0], s=8, color="#7f7f7f", alpha=0.6, label="data")
        ax.plot(grid[:, 0], model.predict(grid)[:, 0], color="#d62728", lw=2, label="model")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    else:
        lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], color="#7f7f7f", lw=1, ls="--", label="y = x")
        ax.scatter(y.ravel(), pred.ravel(), s=8, alpha=0.6, label="samples")
        ax.set_xlabel("true value")
        ax.set_ylabel("predicted value")
    ax.set_title(f"{title or 'regression fit'}: {n} samples, MSE {mse:.3g}")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig
