"""Bundles: data only, atomic writes, and every malformed file is a BundleError."""
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import msgpack
import numpy as np
import pytest

import nnspec
from nnspec import cli
from nnspec.files import bundle
from nnspec.files import io as fileio

from conftest import inputs_for, MODELS

SPEC = "input 4\ndense 3 softmax\n"
PINNED = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    path = tmp_path_factory.mktemp("b") / "m.nnb"
    model = nnspec.compile(SPEC)
    model.classes = ("a", "b", "c")
    model.history = {"loss": [1.0, 0.5]}
    model.save(path)
    return path.read_bytes()


def _repack(data, mutate):
    """Unpack, let mutate(outer, doc) change things, repack with a valid digest."""
    outer = msgpack.unpackb(data, raw=False)
    original = outer["payload"]
    doc = msgpack.unpackb(original, raw=False)
    mutate(outer, doc)
    if outer.get("payload") is original:  # the mutation left the payload to us
        outer["payload"] = msgpack.packb(doc, use_bin_type=True)
        if "sha256" in outer:
            outer["sha256"] = hashlib.sha256(outer["payload"]).hexdigest()
    return msgpack.packb(outer, use_bin_type=True)


def _weight(key, **changes):
    return lambda o, d: d["weights"][key].update(changes)


def _nested(depth):
    blob = b"\x81\xa1a" * depth + b"\xc0"  # {"a": {"a": ... nil}}
    return blob


def _set(key, value, where="doc"):
    def mutate(o, d):
        (d if where == "doc" else o)[key] = value
    return mutate


def _drop(key, where="doc"):
    def mutate(o, d):
        del (d if where == "doc" else o)[key]
    return mutate


def _under_old_digest(change):
    """The payload's bytes changed by change(payload, doc), the digest left as written."""
    def mutate(o, d):
        o["payload"] = change(o["payload"], d)
    return mutate


def _flip_first(data):
    return bytes([data[0] ^ 0x01]) + data[1:]


def _digest(change):
    """The bundle with its digest replaced by change(the right digest, payload)."""
    def make(data):
        outer = msgpack.unpackb(data, raw=False)
        outer["sha256"] = change(outer["sha256"], outer["payload"])
        return msgpack.packb(outer, use_bin_type=True)
    return make


def _bitflip(offset):
    def make(data):
        b = bytearray(data)
        b[offset % len(b)] ^= 0x04
        return bytes(b)
    return make


# name -> (function of the valid bytes -> malformed bytes, words the message must contain)
CORPUS = {
    **{f"truncated at {frac:.0%}": ((lambda f: lambda d: d[:int(len(d) * f)])(frac), [])
       for frac in (0.0, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99)},
    "truncated by one byte": (lambda d: d[:-1], ["not valid msgpack"]),
    "bit flip in the weights": (_bitflip(-20), ["checksum mismatch"]),
    # the digest, against other corruptions that leave the payload valid msgpack, or not
    "a weight byte flipped under the old digest": (lambda d: _repack(d, _under_old_digest(
        lambda p, doc: p.replace(w := doc["weights"]["dense1.W"]["data"], _flip_first(w)))),
        ["checksum mismatch"]),
    "classes renamed under the old digest": (lambda d: _repack(d, _under_old_digest(
        lambda p, doc: msgpack.packb({**doc, "classes": ["x", "y", "z"]}, use_bin_type=True))),
        ["checksum mismatch"]),
    "payload truncated under the old digest": (lambda d: _repack(d, _under_old_digest(
        lambda p, doc: p[:-7])), ["checksum mismatch"]),
    # docs/bundle-format.md: the digest is lower-case hex
    "digest in upper case": (_digest(lambda h, p: h.upper()), ["checksum mismatch"]),
    "digest one character short": (_digest(lambda h, p: h[:-1]), ["checksum mismatch"]),
    "digest of another length (SHA-1)": (_digest(lambda h, p: hashlib.sha1(p).hexdigest()),
                                         ["checksum mismatch"]),
    "empty digest": (_digest(lambda h, p: ""), ["checksum mismatch"]),
    "bit flip in the header": (_bitflip(3), []),
    "trailing garbage": (lambda d: d + b"\x00junk", ["not valid msgpack"]),
    "random bytes": (lambda d: bytes(np.random.default_rng(0).integers(0, 256, 500, np.uint8)), []),
    "not a map": (lambda d: msgpack.packb([1, 2, 3]), ["not an nnspec bundle"]),
    "wrong format name": (lambda d: _repack(d, _set("format", "pytorch", "outer")),
                          ["not an nnspec bundle"]),
    "newer major version": (lambda d: _repack(d, _set("version", [2, 0], "outer")),
                            ["newer nnspec", "format 2.0"]),
    "newer major version with other keys": (lambda d: _repack(d, lambda o, doc: o.update(
        version=[3, 1], sha256=None, manifest={})), ["newer nnspec", "format 3.1"]),
    "version as a string": (lambda d: _repack(d, _set("version", "1.0", "outer")),
                            ["version", "[major, minor]"]),
    "version of one number": (lambda d: _repack(d, _set("version", [1], "outer")),
                              ["[major, minor]"]),
    "missing digest": (lambda d: _repack(d, _drop("sha256", "outer")), ["missing key 'sha256'"]),
    "payload as a string": (lambda d: _repack(d, _set("payload", "text", "outer")),
                            ["bundle.payload: expected bytes"]),
    "extra outer key": (lambda d: _repack(d, _set("code", "import os", "outer")),
                        ["unexpected key 'code'"]),
    "payload not a map": (lambda d: _repack(d, lambda o, doc: o.update(
        payload=msgpack.packb(7), sha256=hashlib.sha256(msgpack.packb(7)).hexdigest())),
        ["payload: not a map"]),
    "missing spec": (lambda d: _repack(d, _drop("spec")), ["missing key 'spec'"]),
    "extra payload key": (lambda d: _repack(d, _set("__reduce__", "os.system")),
                          ["unexpected key '__reduce__'"]),
    "spec not a string": (lambda d: _repack(d, _set("spec", 42)), ["payload.spec: expected a string"]),
    "spec that does not parse": (lambda d: _repack(d, _set("spec", "input 4\ndense -> ->")),
                                 ["stored spec does not compile"]),
    "spec that does not match the weights": (lambda d: _repack(d, _set("spec", "input 4\ndense 5")),
                                             ["dense1.W", "found float32 [4, 3]", "[4, 5]"]),
    "unknown dtype name": (lambda d: _repack(d, _set("dtype", "float16")), ["payload.dtype"]),
    "object dtype": (lambda d: _repack(d, _weight("dense1.W", dtype="|O")), ["dtype '|O'"]),
    "big-endian dtype": (lambda d: _repack(d, _weight("dense1.W", dtype=">f4")), ["dtype '>f4'"]),
    "float64 bytes for a float32 model": (lambda d: _repack(d, _weight(
        "dense1.W", dtype="<f8", shape=[2, 3])), ["found float64 [2, 3]"]),
    "shape and bytes disagree": (lambda d: _repack(d, _weight("dense1.W", shape=[4, 4])),
                                 ["needs 64 bytes, found 48"]),
    "10^12 elements declared": (lambda d: _repack(d, _weight("dense1.W", shape=[10 ** 6, 10 ** 6])),
                                ["needs 4000000000000 bytes"]),
    "negative dimension": (lambda d: _repack(d, _weight("dense1.W", shape=[-4, -3])), ["shape"]),
    "shape of strings": (lambda d: _repack(d, _weight("dense1.W", shape=["4", "3"])), ["shape"]),
    "data as a string": (lambda d: _repack(d, _weight("dense1.W", data="abc")),
                         ["data: expected bytes"]),
    "missing weight": (lambda d: _repack(d, lambda o, doc: doc["weights"].pop("dense1.b")),
                       ["'dense1.b' is missing"]),
    "extra weight": (lambda d: _repack(d, lambda o, doc: doc["weights"].update(
        evil=doc["weights"]["dense1.b"])), ["'evil' is not a parameter"]),
    "history of strings": (lambda d: _repack(d, _set("history", {"loss": ["x"]})),
                           ["payload.history"]),
    "classes of numbers": (lambda d: _repack(d, _set("classes", [1, 2, 3])), ["payload.classes"]),
    "preprocess missing kind": (lambda d: _repack(d, _set("preprocess", {"scale": 1.0})),
                                ["payload.preprocess: missing key 'kind'"]),
    "preprocess of an unknown kind": (lambda d: _repack(d, _set("preprocess", {
        "kind": "zscore", "scale": 1.0, "offset": 0.0})), ["'zscore' is not one of"]),
    "standard scaling, one number per feature too few": (lambda d: _repack(d, _set(
        "preprocess", {"kind": "standard", "scale": [1.0] * 3, "offset": [0.0] * 3})),
        ["lists of 4 finite numbers"]),
    "standard scaling with NaN": (lambda d: _repack(d, _set("preprocess", {
        "kind": "standard", "scale": [1.0, 1.0, float("nan"), 1.0], "offset": [0.0] * 4})),
        ["lists of 4 finite numbers"]),
    "standard scaling with a scale and no offset": (lambda d: _repack(d, _set("preprocess", {
        "kind": "minmax", "scale": [1.0] * 4})), ["lists of 4 finite numbers"]),
    "pixels with a list": (lambda d: _repack(d, _set("preprocess", {
        "kind": "pixels", "scale": [1.0] * 4, "offset": 0.0})), ["must be finite numbers"]),
    "pixels of infinite scale": (lambda d: _repack(d, _set("preprocess", {
        "kind": "pixels", "scale": float("inf"), "offset": 0.0})), ["must be finite numbers"]),
    "deeply nested maps": (lambda d: _repack(d, lambda o, doc: o.update(
        payload=_nested(200000), sha256=hashlib.sha256(_nested(200000)).hexdigest())),
        ["payload: not valid msgpack"]),
    "timestamp extension": (lambda d: msgpack.packb({"format": "nnspec-bundle",
                                                     "t": msgpack.Timestamp(0)}),
                            ["not valid msgpack"]),
    "huge declared bin length": (lambda d: b"\x81\xa6format\xc6\x7f\xff\xff\xff" + b"x" * 10,
                                 ["not valid msgpack"]),
    "empty file": (lambda d: b"", ["not valid msgpack"]),
}


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("name", list(CORPUS))
def test_malformed_bundles_are_bundle_errors(name, valid, tmp_path, capsys):
    make, words = CORPUS[name]
    bad = make(valid)
    path = tmp_path / "bad.nnb"
    path.write_bytes(bad)
    tracemalloc.start()
    try:
        with pytest.raises(nnspec.BundleError) as info:
            nnspec.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert "\n" not in message
    # no allocation beyond a small multiple of the file (parsing keeps a few copies)
    assert peak < 8 * len(bad) + 2_000_000, f"peak {peak} bytes for a {len(bad)}-byte file"
    assert cli.main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(nnspec.BundleError, match="cannot read"):
        nnspec.load(tmp_path / "nope.nnb")
    with pytest.raises(nnspec.BundleError, match="cannot read"):
        nnspec.load(tmp_path)


def test_a_newer_minor_version_with_new_keys_still_loads(valid, tmp_path):
    def newer(outer, doc):
        outer["version"] = [bundle.VERSION[0], bundle.VERSION[1] + 1]  # the next minor version
        outer["signature"] = "future"
        doc["quantization"] = {"bits": 8}
    path = tmp_path / "newer.nnb"
    path.write_bytes(_repack(valid, newer))
    assert nnspec.load(path).classes == ("a", "b", "c")


@pytest.mark.parametrize("scale,kind", [(1 / 255, "pixels"), (1.0, "none")])
def test_a_1_3_bundle_keeps_its_integer_input_scaling(valid, tmp_path, scale, kind):
    """Before 1.4 preprocess was {scale, offset} for integer inputs only, which is
    what the kind "pixels" does; the identity is "none"."""
    def old(outer, doc):
        outer["version"] = [1, 3]
        doc["preprocess"] = {"scale": scale, "offset": 0.0}
    path = tmp_path / "old.nnb"
    path.write_bytes(_repack(valid, old))
    model = nnspec.load(path)
    assert model.preprocess == {"kind": kind, "scale": scale, "offset": 0.0}
    raw = np.array([[0, 51, 102, 255]], dtype=np.uint8)
    np.testing.assert_allclose(model.predict(raw), model.predict(raw * np.float32(scale)),
                               rtol=1e-6)  # float32: the two products may round apart


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.nn")), ids=lambda p: p.name)
def test_round_trip_is_bit_identical_for_every_model(path, tmp_path, rng):
    model = nnspec.compile(path)
    for w in model.weights.values():
        w += rng.normal(0, 0.01, w.shape).astype(w.dtype)
    x = inputs_for(model, 7, rng)
    model.save(tmp_path / "m.nnb")
    loaded = nnspec.load(tmp_path / "m.nnb")
    got, want = loaded.predict(x), model.predict(x)
    for name in (want if isinstance(want, dict) else [None]):
        np.testing.assert_array_equal(got[name] if name else got, want[name] if name else want)
    for k, v in model.weights.items():
        assert loaded.weights[k].tobytes() == v.tobytes()


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_a_bidirectional_layer_saves_and_resumes_both_directions(kind, tmp_path, rng):
    """The backward direction's weights (W_r, U_r, ...) are more named arrays: a
    checkpoint keeps them and their optimizer slots, and the resumed run is the same."""
    spec = (f"input 6x3\n{kind} 4 bidirectional return_sequences=true -> {kind} 2 "
            "bidirectional -> dense 2 softmax\ntrain { optimizer = adam\n batch_size = 4 }")
    x, y = rng.normal(size=(8, 6, 3)), rng.integers(0, 2, 8)
    model = nnspec.compile(spec)
    model.fit(x, y, epochs=1)
    model.save(tmp_path / "m.nnb", checkpoint=True)
    loaded = nnspec.load(tmp_path / "m.nnb")
    assert {k for k in loaded.weights if k.endswith("_r")} == {
        f"{kind}{i}.{n}_r" for i in (1, 2) for n in ["W", "U", "b"] + (["rb"] if kind == "gru"
                                                                       else [])}
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    loaded.fit(x, y, epochs=1)
    model.fit(x, y, epochs=1)
    for k, v in model.weights.items():
        np.testing.assert_array_equal(loaded.weights[k], v, err_msg=k)


def test_save_is_atomic_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "m.nnb"
    nnspec.compile(SPEC).save(path)
    before = path.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        nnspec.compile(SPEC, seed=9).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.nnb"]  # no temporary left behind


def test_bundles_get_ordinary_file_permissions(tmp_path):
    nnspec.compile(SPEC).save(tmp_path / "m.nnb")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "m.nnb").stat().st_mode & 0o777 == 0o666 & ~mask


_SAVER = textwrap.dedent("""
    import os, sys, nnspec
    from nnspec.files import io as fileio
    path, ready = sys.argv[1], sys.argv[2]
    real_fsync = os.fsync
    def fsync(fd):  # announce that the new bundle is half written, then linger
        open(ready, "w").close()
        import time; time.sleep(30)
    fileio.os.fsync = fsync
    nnspec.compile("input 300\\ndense 300 relu -> dense 10 softmax", seed=2).save(path)
""")


def test_killing_a_save_midway_leaves_the_old_bundle(tmp_path):
    path, ready = tmp_path / "m.nnb", tmp_path / "ready"
    old = nnspec.compile("input 300\ndense 300 relu -> dense 10 softmax", seed=1)
    old.save(path)
    proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path), str(ready)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "saver never started"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    loaded = nnspec.load(path)
    for k, v in old.weights.items():
        np.testing.assert_array_equal(loaded.weights[k], v)
    assert len(list(tmp_path.glob(".m.nnb.*.tmp"))) == 1  # the killed writer's half file
    old.save(path)  # the next save of the same file clears what a dead writer left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nnb", "ready"]


def test_pinned_bundle_from_format_1_0_still_loads():
    """tests/data/shapes-1.0.nnb was written by nnspec 0.1.0 (format 1.0); see make_pinned.py."""
    model = nnspec.load(PINNED / "shapes-1.0.nnb")
    assert model.meta["format"] == "1.0" and model.meta["nnspec"] == "0.1.0"
    assert model.classes == ("horizontal", "vertical", "cross", "rectangle")
    x = np.load(PINNED / "shapes-1.0-inputs.npy")
    expected = np.load(PINNED / "shapes-1.0-outputs.npy")
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    assert (model.predict(x).argmax(1) == expected.argmax(1)).all()


def test_the_format_document_reader_snippet_works(tmp_path, monkeypatch):
    """docs/bundle-format.md's plain-msgpack reader reads a real bundle."""
    doc = (Path(__file__).parent.parent / "docs" / "bundle-format.md").read_text()
    snippet = doc.split("```python\n")[1].split("```")[0]
    model = nnspec.compile(MODELS / "shapes.nn")  # the snippet saves this, fresh from its seed
    (tmp_path / "models").symlink_to(MODELS)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(snippet, "bundle-format.md", "exec"), scope)  # our own docs, not user data
    assert set(scope["w"]) == set(model.weights)
    for k, v in model.weights.items():
        np.testing.assert_array_equal(scope["w"][k], v)


@pytest.mark.parametrize("optimizer", ["sgd(momentum=0.9)", "sgd(momentum=0.9, nesterov=true)"])
def test_resuming_from_a_checkpoint_is_bit_identical(optimizer, tmp_path, rng):
    spec = (f"input 6x6x1\nconv 3x3x4 same relu -> maxpool 2 -> dense 3 softmax\n"
            f"train {{\n optimizer = {optimizer}\n lr = 0.05\n batch_size = 7\n seed = 4\n}}")
    x, y = rng.random((40, 6, 6, 1)), rng.integers(0, 3, 40)
    straight = nnspec.compile(spec)
    straight.fit(x, y, epochs=5)
    first = nnspec.compile(spec)
    first.fit(x, y, epochs=2)
    first.save(tmp_path / "ck.nnb", checkpoint=True)
    resumed = nnspec.load(tmp_path / "ck.nnb")
    assert resumed.epoch == 2 and set(resumed.optimizer.state) == set(first.optimizer.state)
    resumed.fit(x, y, epochs=3)
    for k, v in straight.weights.items():
        assert resumed.weights[k].tobytes() == v.tobytes(), k
    assert resumed.history == straight.history


def test_malformed_checkpoints_are_bundle_errors(tmp_path, rng):
    model = nnspec.compile("input 4\ndense 3 softmax\ntrain {\n optimizer = sgd(momentum=0.5)\n "
                           "schedule = plateau(patience=2)\n early_stopping = 3\n}", seed=2)
    model.fit(rng.random((8, 4)), rng.integers(0, 3, 8), epochs=1)
    model.save(tmp_path / "ck.nnb", checkpoint=True)
    good = (tmp_path / "ck.nnb").read_bytes()
    stopper = {"state": lambda d: d["checkpoint"]["stopper"]}
    cases = {
        "negative seed": (lambda o, d: d["checkpoint"]["overrides"].update(seed=-1),
                          "'seed' must be a whole number"),
        "running sums without a metric": (lambda o, d: d["checkpoint"].update(position={
            "batch": 1, "rng": d["checkpoint"]["rng"], "sums": {"loss": 1.0, "seen": 4}}),
            "not a position inside an epoch"),
        "momentum of a block parameter that is not there": (
            lambda o, d: d["checkpoint"]["optimizer"]["state"].update(
                {"res1/dense1.W/b": d["weights"]["dense1.W"]}), "is not a trained"),
        "an unreadable metrics override": (lambda o, d: d["checkpoint"]["overrides"].update(
            metrics="[[["), "not a setting's value"),
        "a plateau waiting forever": (lambda o, d: d["checkpoint"]["schedule"]["state"].update(
            wait=float("inf")), "counts as whole numbers"),
        "a plateau of NaN": (lambda o, d: d["checkpoint"]["schedule"]["state"].update(
            best=float("nan")), "expected numbers"),
        "early-stopping weights under other names": (lambda o, d: stopper["state"](d).update(
            weights={"dense9.W": d["weights"]["dense1.W"]}), "'dense9.W' is not a parameter"),
        "early-stopping weights missing one": (lambda o, d: stopper["state"](d).update(
            weights={"dense1.W": d["weights"]["dense1.W"]}), "not an early-stopping state"),
        "early stopping from a later epoch": (lambda o, d: stopper["state"](d).update(
            best_epoch=7), "not an early-stopping state"),
        "rng state not digits": (lambda o, d: d["checkpoint"]["rng"].update(state="-5"), "PCG64"),
        "rng huge": (lambda o, d: d["checkpoint"]["rng"].update(state="9" * 400), "out of range"),
        "state for no parameter": (lambda o, d: d["checkpoint"]["optimizer"]["state"].update(
            x=d["weights"]["dense1.b"]), "'x' is not a trained parameter"),
        "state of the wrong shape": (lambda o, d: d["checkpoint"]["optimizer"]["state"].update(
            {"dense1.W": d["weights"]["dense1.b"]}), r"shape \[3\], the parameter has \[4, 3\]"),
        "negative epoch": (lambda o, d: d["checkpoint"].update(epoch=-1), "negative"),
        "other optimizer": (lambda o, d: d["checkpoint"]["optimizer"].update(name="adam"),
                            "'adam'"),
    }
    for name, (mutate, words) in cases.items():
        path = tmp_path / "bad.nnb"
        path.write_bytes(_repack(good, mutate))
        with pytest.raises(nnspec.BundleError, match=words):
            nnspec.load(path)


@pytest.mark.parametrize("version,suffix", [([1, 0], ""), ([1, 1], "/v")])
def test_an_old_sgd_momentum_checkpoint_resumes_as_the_same_run(tmp_path, rng, version, suffix):
    """Formats 1.0 and 1.1 stored SGD momentum as steps (v = mu v - lr g, 1.0 keyed by
    the bare parameter name); under a constant rate v = -lr b of today's buffer b."""
    spec = "input 4\ndense 3 softmax\ntrain { optimizer = sgd(momentum=0.5)\n lr = 0.05 }"
    x, y = rng.random((8, 4)), rng.integers(0, 3, 8)
    model = nnspec.compile(spec)
    model.fit(x, y, epochs=1, batch_size=4)
    model.save(tmp_path / "ck.nnb", checkpoint=True)

    def as_old(outer, doc):  # what nnspec wrote then: fewer keys in 1.0, momentum as steps
        outer["version"] = version
        doc["preprocess"] = {"scale": 1.0, "offset": 0.0}
        ck = doc["checkpoint"]
        state = {}
        for k, v in ck["optimizer"]["state"].items():
            b = np.frombuffer(v["data"], v["dtype"]).reshape(v["shape"])
            state[k.rsplit("/", 1)[0] + suffix] = bundle.encode_array(-0.05 * b)
        doc["checkpoint"] = {"epoch": ck["epoch"], "rng": ck["rng"], "optimizer": {
            "name": "sgd", "state": state}}
    (tmp_path / "old.nnb").write_bytes(_repack((tmp_path / "ck.nnb").read_bytes(), as_old))
    old = nnspec.load(tmp_path / "old.nnb")
    assert old.meta["format"] == ".".join(map(str, version)) and old.epoch == 1
    assert set(old.optimizer.state) == set(model.optimizer.state) == {"dense1.W/b", "dense1.b/b"}
    for k, v in model.optimizer.state.items():  # float32: -(-0.05 b) / 0.05 rounds twice
        np.testing.assert_allclose(old.optimizer.state[k], v, rtol=1e-6)
    old.fit(x, y, epochs=1, batch_size=4, seed=1)
    model.fit(x, y, epochs=1, batch_size=4, seed=1)
    for k, v in model.weights.items():
        np.testing.assert_allclose(old.weights[k], v, rtol=1e-5, atol=1e-7)


def test_api_overrides_travel_in_checkpoints(tmp_path, rng):
    model = nnspec.compile("input 4\ndense 3 softmax\ntrain { optimizer = adam }", l2=0.25,
                           split=(0.5, 0.25, 0.25), seed=3, batch_size=5)
    model.fit(rng.random((10, 4)), rng.integers(0, 3, 10), epochs=1)
    model.save(tmp_path / "ck.nnb", checkpoint=True)
    back = nnspec.load(tmp_path / "ck.nnb")
    assert (back.config.l2, back.config.split, back.config.seed, back.config.batch_size) == (
        0.25, (0.5, 0.25, 0.25), 3, 5)
    metrics = (nnspec.lang.ir.Call("top_k", (2,)), "accuracy")
    stopping = nnspec.lang.ir.Call("early_stopping", (3,), (("monitor", "loss"),))
    data = nnspec.lang.ir.Call("csv", ("/data/a b.csv",), (("label", "y"),))
    nnspec.compile(SPEC, metrics=metrics, early_stopping=stopping, data=data,
                   schedule="cosine").save(tmp_path / "x.nnb", checkpoint=True)
    back = nnspec.load(tmp_path / "x.nnb").config
    assert (back.metrics, back.early_stopping, back.data, back.schedule) == (
        metrics, stopping, data, "cosine")
    with pytest.raises(nnspec.SpecError, match="'seed' must be a whole number from 0 to"):
        nnspec.compile(SPEC, seed=1 << 64)  # refused when set, not when the run is saved


def test_a_1_3_bundle_whose_dense_flattened_a_sequence_loads_as_it_computed(tmp_path, rng):
    """Before 1.4 dense flattened a TIMExFEATURES input; now it acts on each step.
    An older bundle's spec gets `flatten ->` before such a dense (a named one too,
    and one inside a block) and predicts as it did."""
    new = ("input 3x4\nblock head(u) {\n  flatten -> dense {u} tanh\n}\n"
           "gru 4 return_sequences=true -> head(6) -> reshape 3x2\n"
           "  -> flatten -> top: dense 3 softmax\n")
    old = ("input 3x4\nblock head(u) {\n  dense {u} tanh\n}\n"
           "gru 4 return_sequences=true -> head(6) -> reshape 3x2\n  -> top: dense 3 softmax\n")
    model = nnspec.compile(new)
    model.fit(rng.random((8, 3, 4)), rng.integers(0, 3, 8), epochs=1)
    model.save(tmp_path / "m.nnb", checkpoint=True)

    def as_1_3(outer, doc):
        outer["version"] = [1, 3]
        doc["spec"] = old
        doc["preprocess"] = {"scale": 1.0, "offset": 0.0}
    (tmp_path / "old.nnb").write_bytes(_repack((tmp_path / "m.nnb").read_bytes(), as_1_3))
    loaded = nnspec.load(tmp_path / "old.nnb")
    assert loaded.text == new
    x = rng.random((5, 3, 4))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    loaded.save(tmp_path / "again.nnb")  # written as 1.4, with the flattens in its text
    np.testing.assert_array_equal(nnspec.load(tmp_path / "again.nnb").predict(x), model.predict(x))


@pytest.mark.parametrize("train,overrides,written", [
    ("train {\n  optimizer = adam\n  epochs = 2\n}", {}, True),
    ("train { optimizer = rmsprop }", {}, True),
    ("train {\n  optimizer = adam\n  lr = 0.003\n}", {}, False),  # its own rate stays
    ("train {\n  optimizer = sgd\n}", {}, False),  # sgd's default is still 0.01
    ("", {"optimizer": "adam"}, True),  # --optimizer adam, no train block
    ("train {\n  optimizer = adam\n}", {"lr": 0.2}, False),  # --lr 0.2 stays the override
])
def test_a_bundle_before_1_5_resumes_at_the_rate_it_trained_with(tmp_path, rng, train,
                                                                   overrides, written):
    """Before 1.5 a spec that named no rate trained at 0.01 with every optimizer; now
    adam starts at 0.001. An older checkpoint gets `lr = 0.01` written into its spec,
    where that differs, and resumes as the run it was."""
    spec = "input 4\ndense 3 softmax\n" + train
    x, y = rng.random((8, 4)), rng.integers(0, 3, 8)
    model = nnspec.compile(spec, **overrides)
    model.fit(x, y, epochs=1, batch_size=4)
    model.save(tmp_path / "ck.nnb", checkpoint=True)

    def as_1_4(outer, doc):
        outer["version"] = [1, 4]
    (tmp_path / "old.nnb").write_bytes(_repack((tmp_path / "ck.nnb").read_bytes(), as_1_4))
    old = nnspec.load(tmp_path / "old.nnb")
    expected = overrides.get("lr", 0.003 if "0.003" in train else 0.01)
    assert old.config.lr == expected
    assert ("lr = 0.01" in old.text) == written
    assert nnspec.compile(old.text, **overrides).config.lr == expected
    fresh = nnspec.load(tmp_path / "ck.nnb")  # written as 1.5: the optimizer's own default
    assert fresh.text == spec and fresh.config.lr == model.config.lr
