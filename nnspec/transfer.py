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
from typing import NamedTuple

import numpy as np

from .engine import preprocess
from .errors import DataError, NNSpecError, listed, shown
from .files import document
from .lang.signature import suggest
from .training import config as settings

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
    taken: list = field(default_factory=list)  # (input or output, what of the base's it takes)
    ancestry: list = field(default_factory=list)  # the base's own lineage, oldest last

    def lines(self):
        """The report as training prints it: a line per kind of outcome."""
        where = f" into {self.into}/" if self.into else ""
        out = [f"weights from {self.file}{where}: {len(self.loaded)} layers loaded, "
               f"{len(self.new)} new, {len(self.differ)} not loaded (shapes differ), "
               f"{len(self.unused)} of the base's unused"]
        out += [f"  loaded: {listed(self.loaded, 12)}"] if self.loaded else []
        out += [f"  new: {listed(self.new, 12)}"] if self.new else []
        out += [f"  not loaded: {name}: {why}" for name, why in self.differ]
        out += [f"  unused: {listed(self.unused, 12)}"] if self.unused else []
        out += [f"  {name} takes the base's {what}" for name, what in self.taken]
        return out

    def lineage(self):
        """The map a bundle stores (files/document.py) and `nnspec inspect` prints."""
        return {"file": self.file, "digest": self.digest, "into": self.into,
                "loaded": list(self.loaded), "new": list(self.new),
                "differ": [f"{n}: {why}" for n, why in self.differ],
                "unused": list(self.unused), "ancestry": list(self.ancestry)}


class _Base(NamedTuple):
    """What loading from a base reads: its graph, weights and own lineage."""

    graph: object
    weights: dict
    lineage: dict
    preprocessing: dict  # {input: its preprocessing, fitted on the base's data}
    targets: dict  # {output: its target scaling} (engine/target_scale.py)


def read_base(source, where="load_weights"):
    """A bundle path (or a Model) -> (_Base, file name, digest)."""
    if hasattr(source, "graph") and hasattr(source, "weights"):  # a Model
        data, name = source.to_bytes(), "<model>"
        base = _Base(source.graph, source.weights, source.lineage, source.preprocessing,
                     source.target_scaling)
        return base, name, hashlib.sha256(data).hexdigest()
    path = Path(source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{where}: no such file {shown(str(path))}; give the path of a "
                        "bundle nnspec train wrote (.nnb)") from None
    except OSError as e:
        raise DataError(f"{where}: cannot read {shown(str(path))}: {e.strerror}") from None
    try:
        stored = document.read(str(path), data)
    except NNSpecError as e:
        raise DataError(f"{where}: {shown(str(path))} is not a bundle nnspec can load: {e}") \
            from None
    base = _Base(stored.graph, stored.weights, stored.meta.get("lineage"),
                 stored.preprocessing, stored.targets or {})
    return base, path.name, hashlib.sha256(data).hexdigest()


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
    report = Report(name, digest, into, ancestry=_ancestry(base.lineage))
    ours, theirs = _layers(model.graph), _layers(base.graph)
    renamed = {(f"{into}/{n}" if into else n): n for n in theirs}
    if into and not any(n.startswith(into + "/") for n in ours):
        raise DataError(f"{where}: into={into}: this network has no block instance "
                        f"{into!r} (its layers: {listed(list(ours))})")
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
    if not report.loaded and report.differ:  # the names match; the shapes do not
        layer, why = report.differ[0]
        raise DataError(f"{where}: no layer of {shown(name)} fits this network: {layer}: "
                        f"{why}" + (f" (and {len(report.differ) - 1} more)"
                                    if len(report.differ) > 1 else ""))
    if not report.loaded:
        raise DataError(
            f"{where}: no layer of {shown(name)} fits this network (the base's layers: "
            f"{listed(list(theirs))}; this network's: {listed(list(ours))}); name the "
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
    report.taken = [] if into else _take_preprocessing(model, base)
    for term in model.plan.terms:  # a loaded output layer learnt the base's scaled targets
        stats = None if into else base.targets.get(term.name)
        if stats is not None and term.node in report.loaded:
            model.target_scaling[term.name] = dict(stats)
            report.taken.append((f"output {term.name}", "target scaling"))
    return report


def _take_preprocessing(model, base):
    """The base's fitted input preprocessing (standard or minmax numbers, a table's
    vocabularies), taken by each input of the same name and shape whose spec says
    no other scale: the loaded layers learnt on inputs made by it (a text's ids mean
    the base's words), as Keras' loaded Normalization keeps its numbers; fit keeps
    it, as a resumed model's. -> [(input, what)]."""
    taken = []
    for node in model.network.inputs:
        theirs = base.preprocessing.get(node.name)
        if theirs is None or base.graph.input_shapes.get(node.name) != \
                model.graph.input_shapes[node.name]:
            continue
        what = preprocess.inherited(theirs, node.p.get("scale") or model.config.scale)
        if what is None:  # nothing fitted, or the spec says another: fitted anew on this data
            continue
        model.preprocessing[node.name] = dict(theirs)
        taken.append((node.name, what))
    return taken


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


def covered(graph, names, verb):
    """Layer or block-instance names -> the layers with weights they cover (every
    one for no name); a name that covers none is a one-line error."""
    weighted = [n for n, keys in graph.keys.items() if keys]
    if not names:
        return set(weighted)
    out = set()
    for name in names:
        found = {n for n in weighted if n == name or n.startswith(f"{name}/")}
        if not found:
            every = [n.name for n in graph.network.nodes]
            blocks = {n.rsplit("/", i)[0] for n in weighted for i in range(1, n.count("/") + 1)}
            what = "has no weights" if name in every else "is not a layer or block instance " \
                f"here{suggest(name, [*every, *sorted(blocks)])}"
            raise DataError(f"{verb}: {name!r} {what} (layers with weights: "
                            f"{listed(weighted, 6)})")
        out |= found
    return out


class Weights:
    """The Model's methods on its weights as a whole (Model inherits them): get and
    set them, load them from another bundle, freeze and unfreeze layers."""

    def get_weights(self):
        return {k: v.copy() for k, v in self.weights.items()}

    def set_weights(self, weights):
        """Copy every parameter's values into the model's own arrays (which arrays
        taken from model.weights before see too)."""
        missing = set(self.weights) - set(weights)
        extra = set(weights) - set(self.weights)
        if missing or extra:
            name = sorted(missing or extra)[0]
            raise DataError(f"set_weights: parameter {name!r} is "
                            f"{'missing' if missing else 'not in this model'}")
        values = {name: np.asarray(value) for name, value in weights.items()}
        for name, value in values.items():
            if value.shape != self.weights[name].shape:
                raise DataError(f"set_weights: {name} has shape {value.shape}, "
                                f"expected {self.weights[name].shape}")
        for name, value in values.items():
            np.copyto(self.weights[name], value, casting="unsafe")

    def load_weights(self, source, into=None, strict=False):
        """Copy the weights of another bundle (a path, or a Model) whose layers have
        this model's names and shapes -> transfer.Report: each layer loaded, new,
        or not loaded because the shapes differ. into="backbone" places the base's
        layers inside that block instance; strict=True makes any difference an
        error. The optimizer starts fresh."""
        return load_weights(self, source, into, strict)

    def freeze(self, *names):
        """Freeze layers before fit: names of layers, or of block instances (every
        layer inside); none freezes every layer. A frozen layer's weights get no
        update, penalty or optimizer state, and a frozen batch norm normalises by its
        running statistics, which stay (as Keras' trainable = False)."""
        self.graph.freeze(self.graph.frozen | covered(self.graph, names, "freeze"))

    def unfreeze(self, *names):
        """Undo freeze (and trainable=false in the spec) for these layers; none: all."""
        self.graph.freeze(self.graph.frozen - covered(self.graph, names, "unfreeze"))
