"""Fuzzing specs and bundles: whatever the input, nnspec answers with an
NNSpecError (one line; for a spec, a SpecError at its line and column) or a
working model, in bounded time and memory.

Specs are mutations of the shipped models and the language reference's
examples; bundles are structure-aware mutations of real checkpoints (every
field of the document replaced by a value of another type or a lying one,
removed, or joined by another), re-signed so that the checksum holds and the
content must be judged on its own; the same documents signed the same way,
whole or harmlessly changed, must load (the positive control). The budgets
bound the whole file to about a minute on CI's 2-core machine.
"""
import copy
import hashlib
import math
import re
import time
import tracemalloc

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnspec
from nnspec.lang import shapes
from nnspec.engine.graph import Graph
from nnspec.lang import parse

from conftest import MODELS, ROOT

SEEDS = [p.read_text() for p in sorted(MODELS.glob("*.nn"))] + re.findall(
    r"```nn\n(.*?)```", (ROOT / "docs" / "language.md").read_text(), flags=re.S)
# pieces a hostile or careless hand inserts
TOKENS = ["->", "(", ")", "{", "}", ",", "=", ":", "\n", " x1000000", " x0", " 0", " -7",
          " 99999999999", " 1" + "0" * 30, " 1e999", " nan", "{f}", "block b() {", "in",
          "input", "train {", " conv 3x3x0", " maxpool 0", " dense 0", "\t", "\x1b[2J", "é",
          " add(a, a)", " concat(in)", " (", "x2", " lr=-1", " init=normal(0)", '"', "#"]
SPEC_SECONDS = 5  # the promise: well under 5 s for any spec
MIB = 1 << 20


@st.composite
def mutated_specs(draw):
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = min(len(text), i + draw(st.integers(0, 12)))
        how = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        piece = draw(st.sampled_from(TOKENS) | st.text(max_size=3))
        if how == "delete":
            text = text[:i] + text[j:]
        elif how == "insert":
            text = text[:i] + piece + text[i:]
        elif how == "replace":
            text = text[:i] + piece + text[j:]
        else:
            text = text[:j] + text[i:j] * draw(st.integers(2, 50)) + text[j:]
    return text


# SpecErrors about the whole spec, with no line to point at; every other is located
UNLOCATED = ("the spec has no 'input' line",)


def _check_located(e, text):
    """A spec's error is a SpecError (ShapeError included) at a line of the text (or
    the end of file after a last newline) and a column, as its message says."""
    assert isinstance(e, nnspec.SpecError), f"{type(e).__name__} from a spec: {e}"
    if e.line is None:
        assert e.message.startswith(UNLOCATED), f"an unlocated SpecError: {e}"
        return
    assert 1 <= e.line <= text.count("\n") + 1 and e.column >= 1, (e.line, e.column, str(e))
    assert str(e).startswith(f"<spec>:{e.line}:{e.column}: "), str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_any_spec_is_a_network_or_one_located_error(text):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        network = parse(text)
        graph = Graph(network, shapes.infer(network))  # declares weights, allocates none
        params = sum(math.prod(s) for s, _ in graph.declared.values())
        if params < 200_000:  # small enough to build for real
            model = nnspec.compile(text)
            model.summary(print_fn=lambda s: None)
            assert str(model.network.nodes[-1].name)
    except nnspec.NNSpecError as e:
        assert "\n" not in str(e)
        _check_located(e, text)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - start < SPEC_SECONDS
    assert peak < 64 * MIB + 400 * len(text)


def _checkpoint(spec):
    """A real checkpoint mid-epoch, with early stopping state, as msgpack objects."""
    model = nnspec.compile(spec)
    rng = np.random.default_rng(0)
    x = rng.random((12,) + model.graph.input_shape)
    y = rng.integers(0, model.graph.output_shape[-1], 12)
    model.fit(x, y, epochs=1, validation_data=(x, y))
    units = model.graph.output_shape[-1]
    model.classes = tuple(f"class {i}" for i in range(max(units, 2)))  # a sigmoid names two
    return model, x, y


SPECS = [
    "block res(f) {\n  conv 3x3x{f} same relu -> add(in)\n}\ninput 5x5x2\nres(2) -> batchnorm "
    "-> dense 3 softmax\ntrain {\n optimizer = adam\n schedule = plateau(patience=1)\n "
    "early_stopping = 3\n batch_size = 4\n metrics = [accuracy, top_k(2)]\n}",
    "input 3x4\ngru 3 return_sequences=true -> attention 1 causal=true -> flatten -> dense 2 sigmoid\n"
    "train {\n optimizer = sgd(momentum=0.9, nesterov=true)\n schedule = cosine(warmup=2)\n "
    "loss = binary_cross_entropy\n batch_size = 5\n}",
]


def _documents(spec, tmp_path):
    """-> (outer map, payload document, x, y, the saved model's predictions of x)."""
    model, x, y = _checkpoint(spec)
    model.save(tmp_path / "good.nnb", checkpoint=True)
    outer = msgpack.unpackb((tmp_path / "good.nnb").read_bytes(), raw=False)
    return outer, msgpack.unpackb(outer["payload"], raw=False), x, y, model.predict(x)


def _paths(obj, prefix=()):
    """Every path into the document (map keys and list indices), leaves and inner nodes."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list) and len(obj) < 20:
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


LIARS = [None, True, -1, 0, 2 ** 63 - 1, -(2 ** 63), 2 ** 64 - 1, 1.5, -0.0, math.nan, math.inf,
         -math.inf, "", "\x1b[31mred\x1b[0m", "x" * 5000, b"", b"\x00" * 7, [], [1, 2, 3],
         {}, {"a": 1}, {"dtype": "<f4", "shape": [2, 2], "data": b"\x00" * 16},
         {"dtype": "<f4", "shape": [1], "data": np.float32(np.nan).tobytes()}]


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    return [_documents(spec, tmp_path_factory.mktemp("fuzz")) for spec in SPECS]


def _mutate(doc, path, how, value):
    if not path:
        return value if how == "replace" else doc
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if how == "delete" and isinstance(parent, dict):
        del parent[key]
    elif how == "add" and isinstance(parent, dict):
        parent["extra"] = value
    else:
        parent[key] = value
    return doc


def _sign(outer, doc):
    payload = msgpack.packb(doc, use_bin_type=True)
    return msgpack.packb({**outer, "payload": payload,
                          "sha256": hashlib.sha256(payload).hexdigest()}, use_bin_type=True)


@settings(max_examples=400, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_bundle_loads_whole_or_is_one_bundle_error(documents, tmp_path, data):
    outer, doc, x, y, _ = documents[data.draw(st.integers(0, len(documents) - 1))]
    doc = msgpack.unpackb(msgpack.packb(doc, use_bin_type=True), raw=False)  # a fresh copy
    for _ in range(data.draw(st.integers(1, 2))):
        path = data.draw(st.sampled_from(list(_paths(doc))))
        how = data.draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        doc = _mutate(doc, path, how, copy.deepcopy(data.draw(st.sampled_from(LIARS))))
    try:
        blob = _sign(outer, doc)
    except (TypeError, ValueError, OverflowError):
        return  # msgpack cannot write it (a NaN key, say): no such file can exist
    path = tmp_path / "m.nnb"
    path.write_bytes(blob)
    tracemalloc.start()
    try:
        model = nnspec.load(path)
    except nnspec.BundleError as e:
        assert "\n" not in str(e) and "\x1b" not in str(e)
        return
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 8 * len(blob) + 4 * MIB
    # it loaded: then it is whole, and every use works or says why in one line
    assert np.isfinite(model.predict(x)).all()
    if model.classes:
        assert len(model.predict_classes(x)) == len(x)
    from nnspec.cli.report import inspect
    assert "\x1b" not in inspect(model, path)
    try:
        model.fit(x, y, epochs=1, batch_size=4)
    except nnspec.NNSpecError as e:
        assert "\n" not in str(e)


def _reversed_maps(obj):
    """The same document with every map's keys in reverse order."""
    if isinstance(obj, dict):
        return {k: _reversed_maps(obj[k]) for k in reversed(list(obj))}
    return [_reversed_maps(v) for v in obj] if isinstance(obj, list) else obj


HARMLESS = {  # changes a loader must accept: the fuzz's positive control
    "unchanged": lambda doc: doc,
    "maps in reverse order": _reversed_maps,
    "another creation time": lambda doc: {**doc, "created": "2031-01-02T03:04:05+00:00"},
}


@pytest.mark.parametrize("change", sorted(HARMLESS))
@pytest.mark.parametrize("which", range(len(SPECS)))
def test_bundles_signed_as_the_fuzz_signs_them_load_and_predict(documents, tmp_path, which,
                                                                change):
    """The positive control of the fuzz above: a loader that rejected every bundle
    would pass it, so the same documents, signed the same way but left whole or
    changed harmlessly, must load, predict what the saved model predicted, and train."""
    outer, doc, x, y, predicted = documents[which]
    doc = HARMLESS[change](msgpack.unpackb(msgpack.packb(doc, use_bin_type=True), raw=False))
    path = tmp_path / "m.nnb"
    path.write_bytes(_sign(outer, doc))
    model = nnspec.load(path)
    np.testing.assert_array_equal(model.predict(x), predicted)
    assert len(model.predict_classes(x)) == len(x)
    model.fit(x, y, epochs=1, batch_size=4)
    assert np.isfinite(model.predict(x)).all()
