"""The estimator's model for fit's X (nnspec/sklearn.py): as wide as X's columns,
or, where columns are typed (category=, text=), with the columns fitted on X and
kept in the model's preprocessing, as a CSV's are (engine/tables.py)."""
import numpy as np

from .engine import tables
from .prepare import text_column


def fresh_model(estimator, X, n_outputs):
    """A compiled model for X (rows of samples) and n_outputs, before any fit."""
    if not estimator._typed():
        return estimator._compile(X.shape[1], n_outputs, X.dtype)
    names = [str(n) for n in getattr(estimator, "feature_names_in_", ())] or \
        [f"x{j}" for j in range(X.shape[1])]
    columns = tables.typed(names, estimator.category, estimator.text)
    model = None
    if columns[0]["type"] == "text":  # its one column: as many ids as the spec's input
        model = estimator._compile(1, n_outputs, np.dtype(np.float64))
        columns = [text_column(model, columns[0])]
    columns = tables.fit(columns, X.astype(str))
    if model is None:
        model = estimator._compile(sum(map(tables.width, columns)), n_outputs,
                                   np.dtype(np.float64))
    model.preprocess = {**model.preprocess, "columns": columns}
    return model
