"""Bundles: data only, atomic writes, and every malformed file is a BundleError."""
import hashlib

import msgpack
import numpy as np
import pytest

import nnspec
from nnspec import bundle

SPEC = "input 4\ndense 3 softmax\n"


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.nnb"
    nnspec.compile(SPEC).save(path)
    return path


def _rewrite(path, mutate):
    """Unpack the bundle, let mutate(outer, doc) change it, repack with a valid digest."""
    outer = msgpack.unpackb(path.read_bytes(), raw=False)
    doc = msgpack.unpackb(outer["payload"], raw=False)
    mutate(outer, doc)
    outer["payload"] = msgpack.packb(doc, use_bin_type=True)
    outer["sha256"] = hashlib.sha256(outer["payload"]).hexdigest()
    path.write_bytes(msgpack.packb(outer, use_bin_type=True))


def test_truncated_bundles_are_bundle_errors(saved):
    data = saved.read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 40)):
        saved.write_bytes(data[:cut])
        with pytest.raises(nnspec.BundleError):
            nnspec.load(saved)


def test_a_flipped_bit_is_caught_by_the_digest(saved):
    data = bytearray(saved.read_bytes())
    data[-5] ^= 0x10
    saved.write_bytes(bytes(data))
    with pytest.raises(nnspec.BundleError, match="checksum mismatch"):
        nnspec.load(saved)


def test_a_newer_major_version_is_refused(saved):
    _rewrite(saved, lambda outer, doc: outer.update(version=[2, 0]))
    with pytest.raises(nnspec.BundleError, match="newer nnspec"):
        nnspec.load(saved)


def test_wrong_dtype_and_byte_length_are_refused(saved):
    _rewrite(saved, lambda o, doc: doc["weights"]["dense1.W"].update(dtype="|O"))
    with pytest.raises(nnspec.BundleError, match="dtype '|O'"):
        nnspec.load(saved)
    _rewrite(saved, lambda o, doc: doc["weights"]["dense1.W"].update(dtype="<f4",
                                                                     shape=[10 ** 6, 10 ** 6]))
    with pytest.raises(nnspec.BundleError, match="needs 4000000000000 bytes"):
        nnspec.load(saved)


def test_weights_that_do_not_match_the_spec_are_refused(saved):
    def swap(o, doc):
        doc["weights"]["dense1.W"] = bundle.encode_array(np.zeros((5, 3), np.float32))
    _rewrite(saved, swap)
    with pytest.raises(nnspec.BundleError, match=r"dense1.W: found float32 \[5, 3\]"):
        nnspec.load(saved)


def test_save_is_atomic_on_failure(saved, monkeypatch):
    before = saved.read_bytes()

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        nnspec.compile(SPEC, seed=9).save(saved)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # no temporary left
