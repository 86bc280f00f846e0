"""Starting from a trained model: weights copied from another bundle by layer name.

    report = load_weights(model, "base.nnb", into="backbone", strict=False)

Every layer of the model with weights is, after it, one of: loaded (the base has
a layer of that name and kind whose every weight has the same shape: all of them
copied, running statistics too), new (the base has no such layer), or differs
(the base's layer has another kind or shape: nothing of it copied, both shapes
said). The base's layers that reached nothing are unused. Nothing loaded is
always an error; strict makes any difference one. The optimizer starts fresh.

`into=PREFIX` places the whole base inside a block instance: the base's `conv1`
is the model's `PREFIX/conv1` (Caffe and Keras load by name; this is the one
renaming a base needs to become part of a bigger network).
"""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError, NNSpecError, shown
from .training import config as settings

# How many names a one-line message lists before "and N more".
SHOWN = 4


@dataclass
class Report:
    """What load_weights did, layer by layer (node names of the model)."""

    file: str
    digest: str  # sha256 of the base's file
    into: str = None
    loaded: list = field(default_factory=list)
    new: list = field(default_factory=list)
    differ: list = field(default_factory=list)  # (layer, why: both shapes or kinds)
    unused: list = field(default_factory=list)  # the base's layers that fit nothing
    ancestry: list = field(default_factory=list)  # the base's own lineage, oldest last

    def lines(self):
        """The report as training prints it: a line per kind of outcome."""
        where = f" into {self.into}/" if self.into else ""
        out = [f"weights from {self.file}{where}: {len(self.loaded)} layers loaded, "
               f"{len(self.new)} new, {len(self.differ)} not loaded (shapes differ), "
               f"{len(self.unused)} of the base's unused"]
        out += [f"  loaded: {_names(self.loaded)}"] if self.loaded else []
        out += [f"  new: {_names(self.new)}"] if self.new else []
        out += [f"  not loaded: {name}: {why}" for name, why in self.differ]
        out += [f"  unused: {_names(self.unused)}"] if self.unused else []
        return out

    def lineage(self):
        """The map a bundle stores (files/document.py) and `nnspec inspect` prints."""
        return {"file": self.file, "digest": self.digest, "into": self.into,
                "loaded": list(self.loaded), "new": list(self.new),
                "differ": [f"{n}: {why}" for n, why in self.differ],
                "unused": list(self.unused), "ancestry": list(self.ancestry)}


def _names(names):
    head = ", ".join(names[:12])
    return head + (f" and {len(names) - 12} more" if len(names) > 12 else "")


def _listed(names):
    head = ", ".join(names[:SHOWN])
    return head + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def read_base(source, where="load_weights"):
    """A bundle path (or a loaded Model) -> (Model, file name, digest)."""
    from .api import load
    from .model import Model
    if isinstance(source, Model):
        return source, getattr(source, "path", None) or "<model>", _digest(source.to_bytes())
    path = Path(source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{where}: no such file {shown(str(path))}; give the path of a "
                        "bundle nnspec train wrote (.nnb)") from None
    except OSError as e:
        raise DataError(f"{where}: cannot read {shown(str(path))}: {e.strerror}") from None
    try:
        base = load(str(path), data)
    except NNSpecError as e:
        raise DataError(f"{where}: {shown(str(path))} is not a bundle nnspec can load: {e}") \
            from None
    return base, path.name, _digest(data)


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _layers(graph):
    """{node name: (kind, {short: full})} for every layer with weights."""
    kinds = {n.name: n.kind for n in graph.nodes}
    return {name: (kinds[name], dict(keys)) for name, keys in graph.keys.items() if keys}


def load_weights(model, source, into=None, strict=False, where="load_weights"):
    """Copy the base's weights into model by layer name -> Report (see the module)."""
    base, name, digest = read_base(source, where)
    if into is not None:
        into = str(into).strip("/")
        if not into:
            raise DataError(f"{where}: into= names a block instance, e.g. into=backbone")
    report = Report(name, digest, into,
                    ancestry=_ancestry(getattr(base, "lineage", None)))
    ours, theirs = _layers(model.graph), _layers(base.graph)
    renamed = {(f"{into}/{n}" if into else n): n for n in theirs}
    if into and not any(n.startswith(into + "/") for n in ours):
        raise DataError(f"{where}: into={into}: this network has no block instance "
                        f"{into!r} (its layers: {_listed(list(ours))})")
    copies = []
    for node, (kind, keys) in ours.items():
        if node not in renamed:
            report.new.append(node)
            continue
        their_kind, their_keys = theirs[renamed[node]]
        why = _difference(model, base, kind, keys, their_kind, their_keys)
        if why:
            report.differ.append((node, why))
        else:
            report.loaded.append(node)
            copies += [(keys[s], their_keys[s]) for s in keys]
    matched = set(report.loaded) | {n for n, _ in report.differ}
    report.unused = [n for mapped, n in renamed.items() if mapped not in matched]
    if not report.loaded:
        raise DataError(
            f"{where}: no layer of {shown(name)} fits this network (the base's layers: "
            f"{_listed(list(theirs))}; this network's: {_listed(list(ours))}); name the "
            "layers as the base does" + ("" if into else ", or place the base inside a block "
                                         "instance with into=NAME"))
    if strict and (report.new or report.differ or report.unused):
        first = (f"{report.differ[0][0]} is not loaded ({report.differ[0][1]})" if report.differ
                 else f"{report.new[0]} is not in the base" if report.new
                 else f"the base's {report.unused[0]} fits no layer here")
        raise DataError(f"{where}: strict: {first}; {len(report.loaded)} layers loaded, "
                        f"{len(report.new)} new, {len(report.differ)} differ, "
                        f"{len(report.unused)} unused (without strict, the rest would load)")
    for ours_key, their_key in copies:
        np.copyto(model.weights[ours_key], base.weights[their_key], casting="unsafe")
    model.state.optimizer = settings.optimizer(model.config)  # no state for the old weights
    model.lineage = report.lineage()
    return report


def _difference(model, base, kind, keys, their_kind, their_keys):
    """Why the base's layer cannot be copied into this one, or None where it can."""
    if kind != their_kind:
        return f"a {kind} here, a {their_kind} in the base"
    for short, full in keys.items():
        if short not in their_keys:
            return f"the base's {kind} has no {short}"
        here = model.weights[full].shape
        there = base.weights[their_keys[short]].shape
        if here != there:
            return f"{short} is {_shape(here)} here, {_shape(there)} in the base"
    return None


def _shape(shape):
    return "x".join(map(str, shape)) or "a scalar"


def _ancestry(lineage):
    """The base's own lineage -> the chain of files it started from, nearest first."""
    if not lineage:
        return []
    return [{"file": lineage["file"], "digest": lineage["digest"]}] + list(
        lineage.get("ancestry", []))



def initialise(model):
    """A freshly compiled model whose train settings say init_from: its weights
    loaded as they say -> Report. A path in the spec is relative to the spec's
    folder; one given to compile() or on the command line, to the working folder."""
    call = model.config.init_from
    path = Path(call.args[0])
    options = dict(call.kwargs)
    where = "init_from"
    if "init_from" not in model.overrides:
        loc = model.config.loc("init_from")
        if loc is not None:
            where = f"{model.source}:{loc.line}:{loc.column}: init_from"
        if model.source != "<spec>" and not path.is_absolute():
            path = Path(model.source).parent / path
    return load_weights(model, path, options.get("into"), options.get("strict") == "true",
                        where)
