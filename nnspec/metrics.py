"""Metrics over whole arrays of outputs and targets (targets as the network's output)."""
import numpy as np


def accuracy(out, y):
    return float(np.mean(out.argmax(axis=-1) == y.argmax(axis=-1)))


def mae(out, y):
    return float(np.mean(np.abs(out - y)))


METRICS = {"accuracy": accuracy, "mae": mae}


def default_for(out_width):
    """Accuracy for classifiers (several outputs), MAE for regression."""
    return "accuracy" if out_width > 1 else "mae"
