"""Checkpoints of every earlier format, written by the nnspec of that format
(tests/data/make_pinned_checkpoints.py), load, predict and resume as that
nnspec did: an Adam run with a cosine schedule and early stopping, whose spec
names no learning rate (0.01 before 1.5), and an SGD momentum run (momentum
stored as steps in 1.0 and 1.1, converted on resume).

Same arithmetic, other kernels: the files were computed on one machine's BLAS,
and the code's kernels have changed since (other orders of sums), so float32
results agree to a few units of float32's rounding over a small network, not
bit for bit; tests/test_bundle.py holds resuming bit-identical on one machine."""
import sys

import numpy as np
import pytest

import nnspec

from conftest import ROOT

DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(DATA))
from make_pinned_checkpoints import SPECS, data  # noqa: E402

VERSIONS = ["1.1", "1.2", "1.3", "1.4"]
TOL = dict(rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("version", VERSIONS)
def test_an_old_checkpoint_loads_predicts_and_resumes_as_its_nnspec_did(version, name):
    spec, shape = SPECS[name]
    stem = DATA / f"{name}-{version}"
    model = nnspec.load(f"{stem}.nnb")
    assert model.meta["format"] == version and model.meta["checkpoint"] and model.epoch == 1
    assert model.config.lr == (0.01 if name == "adam" else 0.05)  # the rate it trained at
    probe = data(shape, 1)[0][:5]
    np.testing.assert_allclose(model.predict(probe), np.load(f"{stem}-predict.npy"), **TOL)
    x, y = data(shape, 0)
    model.fit(x, y, epochs=1, validation_data=(x, y))
    want = np.load(f"{stem}-resumed.npz")
    assert set(want.files) == set(model.weights)
    for key, value in model.weights.items():
        np.testing.assert_allclose(value, want[key], err_msg=key, **TOL)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_resumed_old_checkpoint_saves_as_this_format_and_loads_again(version, tmp_path):
    old = nnspec.load(DATA / f"adam-{version}.nnb")
    old.save(tmp_path / "again.nnb", checkpoint=True)
    again = nnspec.load(tmp_path / "again.nnb")
    assert again.config == old.config and again.epoch == old.epoch
    for key, value in old.optimizer.state.items():
        np.testing.assert_array_equal(again.optimizer.state[key], value)


def test_an_embedding_bundle_from_before_mask_zero_loads_unmasked():
    """tests/data/embedding-1.7.nnb was written by the nnspec before mask_zero
    existed (input 6, embedding 7x4 -> lstm 3 -> dense 2 softmax): its spec
    reads with mask_zero off, so its zero ids are tokens as they were, and it
    predicts as that nnspec did (same arithmetic: TOL)."""
    model = nnspec.load(DATA / "embedding-1.7.nnb")
    assert "mask_zero" not in model.text and model.graph.masked is None
    x = np.array([[3, 1, 4, 0, 0, 0], [5, 0, 2, 0, 6, 1]], np.float32)
    np.testing.assert_allclose(model.predict(x), np.load(DATA / "embedding-1.7-predict.npy"),
                               **TOL)
