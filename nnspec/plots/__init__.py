"""Figures of trained models: matplotlib, imported only when a plot is made.

Each function returns a `matplotlib.figure.Figure` (no pyplot state, so it is
safe in scripts, servers and notebooks); `save(fig, path)` writes it.

    from nnspec import plots
    plots.save(plots.history(model.history), "loss.png")
    plots.save(plots.boundary(model, x, y), "boundary.png")

history     training curves: train, validation, and the test result as a line after them
batch_losses  every minibatch's training loss, validation per epoch, the test line (seed 000)
kernels     Hinton diagrams of every conv layer's kernels
confusion   confusion matrix of a classifier on (x, y)
boundary    decision regions of a classifier with two inputs, and the points
predictions example images with predicted and true labels
probabilities  one input beside its class probabilities
regression  a fitted curve over the data (one input), or predicted against true
sweep_curves  a sweep's every run, its metric per epoch coloured by a parameter (sweeps.py)
sweep_params  a sweep's objective against each parameter
Animation   a training callback that writes a GIF of the boundary or the curves
"""
from ..lazy import attributes

KINDS = ("history", "kernels", "confusion", "boundary", "predictions", "probabilities",
         "regression", "sweep", "params")

# loaded on first use, so `nnspec --help` and the CLI's parser need neither
# matplotlib nor numpy
_LAZY = {"save": "base", "history": "curves", "batch_losses": "curves", "regression": "curves",
         "kernels": "hinton", "boundary": "classes", "confusion": "classes", "predictions": "classes",
         "probabilities": "classes", "Animation": "animate", "sweep_curves": "sweeps",
         "sweep_params": "sweeps"}


__getattr__ = attributes(__name__, _LAZY)

__all__ = ["save", "history", "batch_losses", "regression", "kernels", "boundary", "confusion",
           "predictions",
           "probabilities", "Animation", "sweep_curves", "sweep_params", "KINDS"]
