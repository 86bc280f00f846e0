"""The seeds' networks exactly as their code ran them (models/seeds/), trained in the
suite where they are small: each spec names its source, and reaches what its seed
reports (with fewer epochs where the full run takes minutes). Full runs:
python examples/seeds_exact.py."""
import json
import re

import numpy as np
import pytest

import nnspec
from nnspec.lang import template

from conftest import MODELS, SHARED_DATA, run_cli


def needs(name):
    return pytest.mark.skipif(not (SHARED_DATA / name).is_dir(),
                              reason=f"../shared/data/{name} is absent")

EXACT = sorted((MODELS / "seeds").glob("*.nn"))


@pytest.mark.parametrize("path", EXACT, ids=lambda p: p.name)
def test_each_exact_spec_names_the_code_it_follows_and_compiles(path):
    text = path.read_text()
    assert re.search(r"^# Seed \d{3}.* exactly as its code ran it: \w+/[\w-]+", text, re.M)
    assert nnspec.compile(path).config.dtype == "float64"  # numpy's default, as the seeds ran


def _xor(hidden, seed):
    text = (MODELS / "seeds" / "seed004_xor.nn").read_text()
    model = nnspec.compile(template.fill(text, {"hidden": hidden}), seed=seed)
    x, y = model.data().train
    model.fit(x, y)
    return model.history["loss"][-1], bool(np.array_equal(model.predict(x) > 0.5, y > 0.5))


def test_seed_004_two_hidden_nodes_sometimes_stick_and_four_never_do():
    """experiments.py's finding: with 2 hidden nodes some seeds plateau (nnspec: 5 of
    20, at MSE 0.128 to 0.249), with 4 none (20 of 20 learn). Seeds 0-5 hold one
    of each kind for 2 (seed 2 sticks at 0.128); 4 learns on them all."""
    two = [_xor(2, seed) for seed in range(6)]
    assert any(ok for _, ok in two) and not all(ok for _, ok in two)
    assert all(0.1 < loss < 0.3 for loss, ok in two if not ok)
    assert all(loss < 0.01 for loss, ok in two if ok)
    assert all(ok for _, ok in (_xor(4, seed) for seed in range(4)))


def test_seed_003_spiral_validates_on_a_fresh_draw():
    """The full 10000 epochs give 0.87, 0.88, 0.873, 0.85, 0.92 over seeds 0-4
    (median 0.873; the seed: 0.86333); 1000 epochs reach 0.817 on seed 0."""
    model = nnspec.compile(MODELS / "seeds" / "seed003_spiral.nn", seed=0, epochs=1000)
    splits = model.data()
    assert len(splits.train[0]) == 3000 and len(splits.validation[0]) == 300
    model.fit(*splits.train, validation_data=splits.validation)
    assert model.history["val_accuracy"][-1] >= 0.78


def test_seed_001_spiral_reaches_its_training_accuracy():
    """The seed reported 98% training accuracy; the exact spec gives 0.983, 0.987
    and 0.99 on seeds 0, 1 and 7 (10000 full-batch steps, 2 s)."""
    model = nnspec.compile(MODELS / "seeds" / "seed001_spiral.nn", seed=0)
    x, y = model.data().train
    assert len(x) == 300
    model.fit(x, y)
    assert model.history["accuracy"][-1] >= 0.97


def test_seed_000_generator_draws_as_the_seeds_code():
    """Classes in order; without noise, bars on every other row (their transpose for
    vertical), a cross through the centre, a rectangle's outline at the radii;
    noise flips only what the seed's loops visit (even rows for bars)."""
    from nnspec.files.data.generators import shapes
    x, y, _ = shapes(np.random.default_rng(0), 8, style="seed000", noise=0.0)
    x = x[..., 0]
    assert y.tolist() == [0, 1, 2, 3] * 2
    assert not x[0][1::2].any() and x[0][0::2].any() and x[1][:, 0::2].any()
    assert not x[1][:, 1::2].any()
    assert x[2][8].sum() >= 5 and x[2][:, 8].sum() >= 5 and x[2].sum() == x[2][8].sum() + \
        x[2][:, 8].sum() - 1
    assert not x[3][8, 8] and x[3].sum() > 0  # an outline: the centre stays empty
    noisy, _, _ = shapes(np.random.default_rng(0), 400, style="seed000", noise=0.05)
    bars = noisy[y.tolist().index(0)::4][..., 0]
    assert not bars[:, 1::2].any()  # odd rows are never visited, so never flipped
    assert 0.03 < (noisy[2::4] != shapes(np.random.default_rng(0), 400, style="seed000",
                                           noise=0.0)[0][2::4]).mean() < 0.07


def test_seed_000_reaches_95_percent_test_accuracy():
    """The seed reports only loss curves; the issue asks for 95%. Seeds 0, 1, 2:
    99.67%, 97.67%, 99.33% (4 epochs, 1 s)."""
    model = nnspec.compile(MODELS / "seeds" / "seed000_shapes.nn", seed=0)
    splits = model.data()
    assert [len(p[0]) for p in (splits.train, splits.validation, splits.test)] == [1400, 300, 300]
    assert splits.train[1][:8].tolist() == [0, 1, 2, 3] * 2  # in order, never shuffled
    model.fit(*splits.train)
    assert model.evaluate(*splits.test)["accuracy"] >= 0.95


def test_seed_001_sine_fits_on_fresh_points_every_iteration():
    """The full 100000 iterations give a validation loss (half the squared error) of
    0.00247 and MAE 0.054 on 1000 fresh points; 3000 give 0.119 (from 0.365 after
    one): the test asks for below 0.15 and a fresh draw at every iteration."""
    model = nnspec.compile(MODELS / "seeds" / "seed001_sine.nn", seed=0, epochs=3000)
    assert model.config.resample and model.config.loss == "quadratic"
    splits = model.data()
    model.fit(*splits.train, validation_data=splits.validation)
    assert model.history["val_loss"][0] > 0.3 and model.history["val_loss"][-1] < 0.15
    assert not np.array_equal(model._drawn[1](1)[0], model._drawn[1](2)[0])


@needs("fashion-mnist")
def test_seed_003_fashion_net_names_a_photographed_t_shirt(tmp_path):
    """The full run (5 epochs, 10 s): 85.22% test accuracy on seed 0; the T-shirt,
    photographed dark on light at 280x280 and read with --invert, is T-shirt/top
    0.877, Shirt 0.120 (the seed's photo: 0.65 and 0.143)."""
    from PIL import Image
    model = nnspec.compile(MODELS / "seeds" / "seed003_fashion.nn", seed=0)
    splits = model.data(SHARED_DATA)
    model.fit(*splits.train)
    assert model.evaluate(*splits.test)["accuracy"] > 0.83
    model.save(tmp_path / "f.nnb")
    x_test, y_test = splits.test
    shirt = np.round((x_test[int(np.flatnonzero(y_test == 0)[0]), ..., 0] + 1) * 127.5)
    Image.fromarray(255 - shirt.astype(np.uint8)).resize((280, 280), Image.NEAREST).save(
        tmp_path / "shirt.png")
    r = run_cli("infer", tmp_path / "f.nnb", tmp_path / "shirt.png", "--invert", "--top", "10",
                "--format", "json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["class"] == "T-shirt/top" and len(row["probabilities"]) == 10
    assert row["probabilities"]["T-shirt/top"] > 0.5
    assert sum(row["probabilities"].values()) == pytest.approx(1, abs=1e-6)


def _mnist_part(path, n, test, epochs=1):
    from nnspec.lang.ir import Call
    model = nnspec.compile(path, seed=0, epochs=epochs,
                           data=Call("mnist", (), (("n", n), ("test", test))))
    splits = model.data(SHARED_DATA)
    model.fit(*splits.train)
    return model, splits


@needs("mnist")
def test_seed_001_cnn_learns_at_the_seeds_pace_on_its_first_200_batches():
    """The full run (5 epochs, 6 min) gives 89.91, 92.80, 93.85, 94.65 and 95.60%
    test accuracy per epoch on seed 0, 95.54 and 95.90% after 5 on seeds 1 and 2
    (the seed: 89.68 ... 94.19; the README says why nnspec's is higher). Here its
    first 200 batches of 32, in 15 to 30 s: 58% on 2000 test images."""
    model, splits = _mnist_part(MODELS / "seeds" / "seed001_mnist_cnn.nn", 6400, 2000)
    assert model.config.reduction == "sum" and model.graph.params["conv1"]["lr"] == 1e-4 / 32
    assert model.evaluate(*splits.test)["accuracy"] > 0.5


@needs("mnist")
def test_seed_002_mlp_after_one_epoch_with_its_per_batch_decay():
    """The full run (5 epochs, 90 s) gives 85.37, 88.44, 88.92, 89.06 and 89.15% on
    the 10000 test images (the seed: 88.97 after 5). One epoch here: 85.4%, and the
    rate has been multiplied by 0.999 at each of its 938 updates."""
    model = nnspec.compile(MODELS / "seeds" / "seed002_mnist_mlp.nn", seed=0, epochs=1)
    splits = model.data(SHARED_DATA)
    model.fit(*splits.train)
    assert model.evaluate(*splits.test)["accuracy"] > 0.84
    assert model.history["lr"][-1] == pytest.approx(0.01 * 0.999 ** 937, rel=1e-9)
