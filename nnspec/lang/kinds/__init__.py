"""The layer kinds of the language: kind -> Kind (signature, shape rule, weights).

Each family module declares its kinds in a dict KINDS. The engine finds a
family's compute in the module of the same name under engine/layers/, so
adding a layer kind to a family touches that family's two modules (and a
test row); adding a family adds its name here too.
"""
import dataclasses

from . import attention, conv, dense, elementwise, embedding, merge, norm, pool, recurrent, reshape
from .base import ROLES, TRAINABLE, Kind, ShapeProblem

FAMILIES = (conv, dense, pool, reshape, elementwise, norm, recurrent, attention, embedding, merge)

KINDS = {}
FAMILY = {}  # kind -> the name of its family's module, here and in engine/layers/
for _module in FAMILIES:
    for _kind, _declared in _module.KINDS.items():
        if _declared.weights is not None:  # every layer with weights can be frozen
            sig = _declared.signature
            _declared = dataclasses.replace(
                _declared, signature=dataclasses.replace(sig, options=sig.options + (TRAINABLE,)))
        KINDS[_kind] = _declared
        FAMILY[_kind] = _module.__name__.rsplit(".", 1)[1]

__all__ = ["KINDS", "FAMILY", "ROLES", "Kind", "ShapeProblem"]
