"""The estimators' tables: X with category columns (a DataFrame's, or an array
of objects), as `category=` names them. The columns are fitted on fit's X
(engine/tables.py) and kept in the model, so predict takes X as it comes."""
import numpy as np

from .engine import tables


def columns(estimator, X):
    """The model's table columns for fit's X (rows, columns), fitted on it: the
    ones `category` names (by a DataFrame's column name, or by index) are
    categories, the others numbers. ValueError names a column X lacks."""
    names = [str(n) for n in getattr(estimator, "feature_names_in_", ())] or \
        [f"x{j}" for j in range(X.shape[1])]
    chosen = estimator.category
    chosen = [chosen] if isinstance(chosen, (str, int)) else list(chosen)
    picked = set()
    for c in chosen:
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c < len(names):
            picked.add(int(c))
        elif isinstance(c, str) and c in names:
            picked.add(names.index(c))
        else:
            raise ValueError(f"category names the column {c!r}, which X does not have (its "
                             f"columns: {', '.join(names)}, or indices 0..{len(names) - 1})")
    plan = [{"name": n, "type": "category" if j in picked else "number"}
            for j, n in enumerate(names)]
    return tables.fit(plan, np.asarray(X).astype(str))
