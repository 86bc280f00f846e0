"""Training steps split among threads (nnspec/parallel.py): the same gradients as
one thread, repeatable, and never for a layer that needs the whole batch."""
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import nnspec
from nnspec.engine import parallel
from nnspec.engine.layers.base import Mode

NET = """input 10x10x2
conv 3x3x4 same relu -> maxpool 2 -> conv 3x3x3 valid tanh -> dense 5 softmax
train {
  optimizer = adam
  lr = 0.01
}"""


@pytest.fixture
def split(monkeypatch):
    """Every training step split in two, however small."""
    monkeypatch.setattr(parallel, "THREADS", 2)
    monkeypatch.setattr(parallel, "MIN_STEP_FLOPS", 1)


def _data(n=13, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 10, 10, 2)), rng.integers(0, 5, n)


def _step(model, x, y, threads, monkeypatch):
    monkeypatch.setattr(parallel, "THREADS", threads)
    t = model._targets(x, y)
    value, out, grads, _ = model.graph.loss_and_grads(model.weights, x, t, "cross_entropy",
                                                      Mode(True, buffers={}))
    return value, out.copy(), {k: g.copy() for k, g in grads.items()}


@pytest.mark.parametrize("n", [2, 13, 64])
def test_a_split_step_gives_one_threads_loss_outputs_and_gradients(n, split, monkeypatch):
    model = nnspec.compile(NET, dtype="float64")
    x, y = _data(n)
    one = _step(model, x, y, 1, monkeypatch)
    two = _step(model, x, y, 2, monkeypatch)
    assert np.isclose(two[0], one[0], rtol=1e-13, atol=0)
    # BLAS rounds a row a little differently with other rows beside it
    np.testing.assert_allclose(two[1], one[1], rtol=1e-13, atol=0)
    assert one[2].keys() == two[2].keys()
    for key in one[2]:
        np.testing.assert_allclose(two[2][key], one[2][key], rtol=1e-12, atol=1e-15)


def test_the_step_really_runs_on_two_threads(split, monkeypatch):
    model = nnspec.compile(NET)
    seen = set()
    forward = model.graph.forward

    def spy(*args, **kwargs):
        seen.add(threading.get_ident())
        return forward(*args, **kwargs)
    monkeypatch.setattr(model.graph, "forward", spy)
    model.fit(*_data(16), epochs=1, batch_size=16)
    assert len(seen) == 2


def test_small_steps_are_not_split(monkeypatch):
    monkeypatch.setattr(parallel, "THREADS", 2)
    calls = []
    run = parallel.run
    monkeypatch.setattr(parallel, "run", lambda fn, n: calls.append(n) or run(fn, n))
    nnspec.compile(NET).fit(*_data(16), epochs=1, batch_size=16)  # 16 x 14 kFLOP
    assert calls == []


def test_split_training_with_dropout_repeats_exactly(split):
    spec = NET.replace("-> dense 5", "-> dropout 0.3 -> dense 5")
    weights = []
    for _ in range(2):
        model = nnspec.compile(spec.replace("lr = 0.01", "lr = 0.01\n  seed = 4"))
        model.fit(*_data(32), epochs=2, batch_size=16)
        weights.append(model.weights)
    assert all(np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_batch_norm_steps_are_never_split(split, monkeypatch):
    """Batch statistics need the whole batch: such a graph trains on one thread."""
    model = nnspec.compile(NET.replace("-> maxpool 2", "-> batchnorm -> maxpool 2"), dtype="float64")
    assert model.graph.couples_batch
    x, y = _data(13)
    one = _step(model, x, y, 1, monkeypatch)
    two = _step(model, x, y, 2, monkeypatch)
    assert one[0] == two[0]
    assert all(np.array_equal(one[2][k], two[2][k]) for k in one[2])


def test_blas_gets_its_threads_back_after_a_split_step(split):
    before = [lib["num_threads"] for lib in threadpool_info()]
    nnspec.compile(NET).fit(*_data(16), epochs=1, batch_size=16)
    assert [lib["num_threads"] for lib in threadpool_info()] == before


def test_an_error_in_another_thread_reaches_the_caller():
    def part(r):
        if r == 1:
            raise MemoryError("part 1")
        return r
    with pytest.raises(MemoryError, match="part 1"):
        parallel.run(part, 2)
    assert parallel.run(lambda r: r * 10, 3) == [0, 10, 20]


@pytest.mark.parametrize("threads,count,work,expected", [
    (2, 64, 5.5e8, 2), (2, 64, 1.9e8, 1), (4, 64, 9e8, 4), (4, 3, 9e8, 3), (1, 64, 9e9, 1),
])
def test_parts_asks_for_enough_work_in_each(threads, count, work, expected, monkeypatch):
    monkeypatch.setattr(parallel, "THREADS", threads)
    assert parallel.parts(count, work, 2e8) == expected


def test_each_part_draws_its_own_random_numbers_from_the_steps_seed():
    mode = Mode(True, np.random.SeedSequence(7))
    draws = [mode.part(r, {}).rng.random(4) for r in (0, 1, 0)]
    assert not np.array_equal(draws[0], draws[1])
    assert np.array_equal(draws[0], draws[2])
    assert not np.array_equal(draws[0], Mode(True, np.random.SeedSequence(8)).part(0, {}).rng.random(4))


@pytest.mark.parametrize("value,expected", [("3", 3), ("1", 1), ("0", None), ("two", None)])
def test_nnspec_threads_sets_the_count_and_a_bad_value_is_named(value, expected, monkeypatch):
    monkeypatch.setenv("NNSPEC_THREADS", value)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)  # read before OMP's: the
    monkeypatch.setenv("OMP_NUM_THREADS", "5")  # suite also runs with it set to 1
    if expected is None:
        with pytest.warns(UserWarning, match=f"NNSPEC_THREADS must be a whole number.*'{value}'"):
            assert parallel._threads() == 5
    else:
        assert parallel._threads() == expected
