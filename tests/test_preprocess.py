"""Preprocessing that is part of the model (train setting `scale`, engine/preprocess.py):
fitted on the training split only, stored in the bundle, applied by predict,
evaluate and fit to raw inputs. Every kind is walked; hypothesis draws the data."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnspec
from nnspec.engine import preprocess
from nnspec.lang.settings import CHOICES

SPEC = "input 3\ndense 4 tanh -> dense 2 softmax\ntrain {{ scale = {kind}\n epochs = 2 }}"


def _raw(rng, n=40):
    """Features on very different scales, one of them constant."""
    return rng.normal(0, 1, (n, 3)) * [1000, 0.01, 0] + [-50, 3, 7]


def test_the_language_and_the_engine_know_the_same_kinds():
    assert preprocess.KINDS == CHOICES["scale"] == ("none", "pixels", "standard", "minmax")


@pytest.mark.parametrize("kind", preprocess.KINDS)
def test_every_kind_is_applied_by_predict_and_travels_in_the_bundle(kind, tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (40, 3)) if kind == "pixels" else _raw(rng)
    model = nnspec.compile(SPEC.format(kind=kind))
    model.fit(raw, rng.integers(0, 2, 40))
    assert model.preprocess["kind"] == kind and preprocess.fitted(model.preprocess)
    # what the network sees is the documented map, applied by hand in float64; the
    # model's float32 inputs are within a rounding of it
    pre = model.preprocess
    seen = raw * np.asarray(pre["scale"]) + pre["offset"] if kind != "none" else raw
    np.testing.assert_allclose(model.prepare(raw), seen, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(model.predict(raw), model.predict(raw.tolist()))
    model.save(tmp_path / "m.nnb", checkpoint=True)
    loaded = nnspec.load(tmp_path / "m.nnb")
    assert loaded.preprocess == model.preprocess
    np.testing.assert_array_equal(loaded.predict(raw), model.predict(raw))
    loaded.fit(raw, rng.integers(0, 2, 40), epochs=1)  # resuming keeps the numbers
    assert loaded.preprocess == model.preprocess


@pytest.mark.parametrize("kind", preprocess.FITTED)
def test_fitted_numbers_come_from_the_training_split_only(kind, tmp_path):
    rng = np.random.default_rng(1)
    x = _raw(rng, 60)
    rows = ["a,b,c,label"] + [",".join(map(repr, r.tolist())) + f",{'yes' if r[0] > -50 else 'no'}"
                              for r in x]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "m.nn").write_text(SPEC.format(kind=kind).replace(
        "epochs = 2", 'data = "d.csv"\n split = 50/25/25'))
    model = nnspec.compile(tmp_path / "m.nn")
    splits = model.data()
    train = splits.train[0]
    assert len(train) == 30
    assert model.preprocess == preprocess.fit(kind, train) != preprocess.fit(kind, x)
    inputs = model.prepare(train)
    if kind == "standard":  # float32 inputs: 1e-5 of the unit scale
        np.testing.assert_allclose(inputs.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(inputs.std(axis=0), [1, 1, 0], atol=1e-5)
    else:
        np.testing.assert_allclose(inputs.min(axis=0), 0, atol=1e-6)
        np.testing.assert_allclose(inputs.max(axis=0), [1, 1, 0], atol=1e-6)
    assert np.isin(train[:, 0], x[:, 0]).all()  # raw: the split holds the file's values
    held = dict(model.preprocess)  # data() again, as a resumed run does, keeps them
    model.configure(split=(0.3, 0.7, 0.0))
    model.data()
    assert model.preprocess == held


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=6),
                  elements=st.floats(-1e6, 1e6)),
       st.sampled_from(preprocess.FITTED))
def test_fitted_scaling_of_any_data_is_finite_and_maps_it_as_documented(x, kind):
    pre = preprocess.fit(kind, x)
    out = preprocess.apply(pre, x, np.float64)
    assert np.isfinite(out).all() and out.shape == x.shape
    rows = out.reshape(-1, x.shape[-1])
    raw = x.reshape(-1, x.shape[-1])
    if kind == "minmax":  # each varying feature spans [0, 1]; a constant one becomes 0
        varies = ~preprocess.constant(np.ptp(raw, axis=0), raw)
        assert np.allclose(rows.min(axis=0), 0, atol=1e-9)
        assert np.allclose(rows.max(axis=0)[varies], 1, atol=1e-9)
    else:  # each feature mean 0; a varying one std 1 unless its spread is lost in rounding
        spread = raw.std(axis=0)
        varies = ~preprocess.constant(spread, raw)
        assert np.allclose(rows.mean(axis=0), 0, atol=1e-6)
        std = rows.std(axis=0)[varies]
        assert np.all((np.abs(std - 1) < 1e-6) | (spread[varies] < 1e-9 * np.abs(x).max()))


@pytest.mark.parametrize("kind", preprocess.FITTED)
def test_a_spread_below_float32s_smallest_normal_counts_as_constant(kind):
    """Hypothesis found it: a feature of 0 and 5e-324 gave scale inf."""
    x = np.array([[5e-324, 1.0], [0.0, 3.0]])
    pre = preprocess.fit(kind, x)
    assert pre["scale"][0] == 1.0 and np.isfinite(preprocess.apply(pre, x, np.float32)).all()


def test_integer_data_is_not_divided_by_255_unless_pixels_are_said(tmp_path):
    rng = np.random.default_rng(2)
    np.savez(tmp_path / "d.npz", x=rng.integers(0, 256, (20, 4), dtype=np.uint8),
             y=rng.integers(0, 2, 20))
    spec = 'input 4\ndense 2 softmax\ntrain {{ data = "d.npz"\n split = 100/0 {} }}'
    (tmp_path / "a.nn").write_text(spec.format(""))
    (tmp_path / "b.nn").write_text(spec.format("\n scale = pixels"))
    a, b = nnspec.compile(tmp_path / "a.nn"), nnspec.compile(tmp_path / "b.nn")
    xa, xb = a.data().train[0], b.data().train[0]
    assert a.preprocess["kind"] == "none" and xa.max() > 1
    assert b.preprocess["kind"] == "pixels" and xb.max() <= 1 and xb.dtype == np.float32
    # the same seed draws the same split; float32 x / 255 as preprocess computes it
    np.testing.assert_array_equal(xb, xa.astype(np.float32) * np.float32(1 / 255))
    raw = rng.integers(0, 256, (3, 4), dtype=np.uint8)  # predict scales raw pixels as data did
    np.testing.assert_array_equal(b.predict(raw), b.predict(raw.astype(np.float32) * np.float32(1 / 255)))


def test_an_unfitted_scaling_and_an_unknown_kind_are_one_line():
    model = nnspec.compile(SPEC.format(kind="standard"))
    with pytest.raises(nnspec.DataError, match="standard scaling is not fitted: train it first"):
        model.predict(np.zeros((2, 3)))
    with pytest.raises(nnspec.SpecError, match="must be one of none, pixels, standard, minmax"):
        nnspec.compile(SPEC.format(kind="zscore"))
    with pytest.raises(nnspec.DataError, match="finite numbers to fit"):
        model.fit(np.array([[1.0, np.nan, 2.0]] * 4), [0, 1, 0, 1])


def test_pixels_onto_another_range(tmp_path):
    """scale = pixels(-1, 1) is seed 002's x / 127.5 - 1: the data set's 8-bit pixels
    and predict's integer inputs land on [-1, 1]; it travels in the bundle."""
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 256, (30, 4), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=raw, y=rng.integers(0, 2, 30))
    (tmp_path / "m.nn").write_text('input 4\ndense 2 softmax\ntrain { data = "d.npz"\n'
                                   ' split = 100/0\n scale = pixels(-1, 1) }')
    model = nnspec.compile(tmp_path / "m.nn")
    x, y = model.data().train
    assert x.min() >= -1 and x.max() <= 1 and x.dtype == np.float32
    np.testing.assert_allclose(np.sort(x, axis=None), np.sort(raw / 127.5 - 1, axis=None),
                               atol=1e-6)  # float32 rounding of x * (2 / 255) - 1
    model.fit(x, y, epochs=1)
    model.save(tmp_path / "m.nnb")
    loaded = nnspec.load(tmp_path / "m.nnb")
    assert loaded.preprocess == {"kind": "pixels", "scale": 2 / 255, "offset": -1.0}
    np.testing.assert_array_equal(loaded.predict(raw[:5]), loaded.predict(
        loaded.prepare(raw[:5])))  # integers are scaled, floats taken as scaled
    assert nnspec.compile("input 4\ndense 2 softmax", scale="pixels(-1, 1)").preprocess == \
        loaded.preprocess


@pytest.mark.parametrize("written", ["pixels(1, -1)", "pixels(1)", "pixels(low=-1, high=1)",
                                     "standard(2)"])
def test_a_scale_call_other_than_pixels_low_high_is_an_error_at_its_line(written):
    with pytest.raises(nnspec.SpecError, match=r"<spec>:3:9: .*(scale takes pixels\(LOW, HIGH\)|"
                                               r"must be one of none, pixels)"):
        nnspec.compile(f"input 4\ndense 2 softmax\ntrain {{ scale = {written} }}")
