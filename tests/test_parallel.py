"""Training steps split among threads (nnspec/parallel.py): the same gradients as
one thread, repeatable, and batch norm normalizing by the whole batch."""
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import nnspec
from nnspec import prepare
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
    t = prepare.targets(model, x, y)
    r = parallel.loss_and_grads(model.graph, model.weights, x, t, model.plan.terms,
                                Mode(True, buffers={}))
    return r.value, r.out.copy(), {k: g.copy() for k, g in r.grads.items()}


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


BN_NET = NET.replace("-> maxpool 2", "-> batchnorm -> maxpool 2").replace(
    "dense 5 softmax", "dense 6 relu -> batchnorm -> dense 5 softmax")


@pytest.mark.parametrize("n", [2, 13, 64])
def test_batch_norm_split_normalizes_by_the_whole_batch(n, split, monkeypatch):
    """Conv and dense batch norm, split in two: the parts sum their statistics, so
    loss, outputs, gradients and the running statistics are one thread's (up to
    the order of the sums: float64, 1e-12)."""
    model = nnspec.compile(BN_NET, dtype="float64")
    assert model.graph.couples_batch
    x, y = _data(n)
    start = {k: v.copy() for k, v in model.weights.items()}
    one = _step(model, x, y, 1, monkeypatch)
    after_one = {k: v.copy() for k, v in model.weights.items()}
    model.weights.update({k: v.copy() for k, v in start.items()})
    calls = []
    run = parallel.run
    monkeypatch.setattr(parallel, "run", lambda fn, n, team=None: calls.append(team) or
                        run(fn, n, team))
    two = _step(model, x, y, 2, monkeypatch)
    assert len(calls) == 1 and isinstance(calls[0], parallel.Team)
    assert np.isclose(two[0], one[0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(two[1], one[1], rtol=1e-12, atol=1e-15)
    for key in one[2]:
        np.testing.assert_allclose(two[2][key], one[2][key], rtol=1e-11, atol=1e-14, err_msg=key)
    moved = [k for k in start if not np.array_equal(start[k], after_one[k])]
    assert sorted(moved) == sorted(k for k in start if k.endswith((".mean", ".var")))
    for key in moved:  # moved once, by the whole batch's statistics
        np.testing.assert_allclose(model.weights[key], after_one[key], rtol=1e-12, err_msg=key)


def test_a_failing_part_releases_the_others_waiting_on_batch_statistics(split):
    """One part's error while the other waits at batch norm's sum reaches the
    caller as itself, and no thread is left waiting."""
    team = parallel.Team(2)

    def part(r):
        if r == 1:
            raise FloatingPointError("part 1")
        return team.total(r, np.ones(3))
    with pytest.raises(FloatingPointError, match="part 1"):
        parallel.run(part, 2, team)
    team = parallel.Team(3)
    assert [t.tolist() for t in parallel.run(lambda r: team.total(r, np.full(2, r)), 3, team)] \
        == [[3, 3]] * 3


@pytest.mark.parametrize("spec", [NET.replace("-> dense 5", "-> dropout 0.3 -> dense 5"), BN_NET],
                         ids=["dropout", "batchnorm"])
def test_split_training_repeats_exactly(spec, split):
    weights = []
    for _ in range(2):
        model = nnspec.compile(spec.replace("lr = 0.01", "lr = 0.01\n  seed = 4"))
        model.fit(*_data(40), epochs=2, batch_size=16)
        weights.append(model.weights)
    assert all(np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])


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
