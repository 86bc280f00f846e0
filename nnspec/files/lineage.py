"""A bundle's record of fine-tuning (format 1.7), checked as it is read:
`frozen` (the layers that do not train) and `lineage` (what the weights started
from: transfer.py writes it)."""
from ..errors import BundleError, shown
from . import bundle

# what a model's weights started from (transfer.Report.lineage), format 1.7
KEYS = {"file": str, "digest": str, "into": (str, type(None)), "loaded": list, "new": list,
        "differ": list, "unused": list, "ancestry": list}


def check_frozen(names, graph):
    """payload.frozen (1.7): the frozen layers, each a layer with weights."""
    weighted = {n for n, keys in graph.keys.items() if keys}
    for name in names:
        if not isinstance(name, str) or name not in weighted:
            raise BundleError(f"payload.frozen: {shown(repr(name))} is not a layer with weights")
    return names


def check(lineage, newer_minor):
    """payload.lineage (1.7), checked: what the weights started from, or None."""
    if lineage is None:
        return None
    bundle.check_map(lineage, "payload.lineage", KEYS, allow_extra=newer_minor)
    for key in ("loaded", "new", "differ", "unused"):
        if not all(isinstance(n, str) for n in lineage[key]):
            raise BundleError(f"payload.lineage.{key}: expected a list of layer names")
    for i, step in enumerate(lineage["ancestry"]):
        bundle.check_map(step, f"payload.lineage.ancestry[{i}]", {"file": str, "digest": str},
                         allow_extra=newer_minor)
    return lineage
