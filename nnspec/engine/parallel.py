"""A training step's batch shared among the cores, one part per thread.

numpy runs a ufunc or a copy on one core; only BLAS uses them all, and its
threads spin for a while after each matmul, taking the second core from
whatever numpy does next. So for a step with enough work, loss_and_grads gives
each of THREADS threads its own part of the batch to run forward and
backward on, with its own buffers, while BLAS is held to one thread. numpy
lets go of the GIL while it loops or multiplies, so the parts run side by
side; the parts' gradients are then added.

Why it is shaped so (the numbers: benchmarks/README.md, "Fast paths"):
- a large step gains, as its pooling and copies run on both cores, while
  its matmuls (most of the step) gain little over BLAS's own threads;
- a small step loses: handing a part over and taking turns for the GIL cost
  a fixed time a step, more than a small step's parts save. Hence
  MIN_STEP_FLOPS;
- a graph with batch norm splits too, its parts summing their statistics
  through a Team, so that all normalize by the whole batch;
- splitting finer, a thread for half of each copy or matmul, loses more to
  waking threads than it gains, and so does sharing out inference's passes,
  which are mostly matmul already.
"""
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .layers.base import Mode

MIN_STEP_FLOPS = 2e8  # forward flops a part must have to outweigh its hand-off


def _threads():
    mine = os.environ.get("NNSPEC_THREADS", "").strip()
    if mine and not (mine.isdigit() and int(mine) > 0):
        warnings.warn(f"NNSPEC_THREADS must be a whole number of at least 1, got {mine!r}; "
                      "ignoring it", stacklevel=2)
    for name in ("NNSPEC_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


THREADS = _threads()  # NNSPEC_THREADS=1 never splits
_lock = threading.Lock()
_pool, _workers = None, 0
_blas = None


def parts(count, work, least):
    """How many threads should share `count` pieces holding `work` in all, at
    least `least` of it each."""
    return max(1, min(THREADS, count, int(work // least)))


class Team:
    """The parts of one step, for the layers that need sums over the whole
    batch (batch norm's mean, variance and gradient sums): total() waits for
    every part's value and gives each the same sum, added in part order, so
    the step is repeatable. Values alternate between two sets of slots: a
    part can reach the next total() while another still reads this one's
    values, but not the one after, as the barrier between holds it."""

    def __init__(self, n):
        self.barrier = threading.Barrier(n)
        self.slots = ([None] * n, [None] * n)
        self.calls = [0] * n

    def total(self, rank, value):
        """The sum of every part's value (an array none of them changes after)."""
        slots = self.slots[self.calls[rank] % 2]
        self.calls[rank] += 1
        slots[rank] = value
        self.barrier.wait()
        out = np.array(slots[0], copy=True)
        for other in slots[1:]:
            out += other
        return out

    def abort(self):
        """Release the other parts (with BrokenBarrierError) when one fails."""
        self.barrier.abort()


def run(fn, n, team=None):
    """[fn(0), ..., fn(n - 1)], each on its own thread (fn(0) on this one) with
    BLAS held to one thread meanwhile; plain fn(0) when n is 1. A part that
    raises aborts the team, so none waits on it; the first error that is not
    that release is raised."""
    if n < 2:
        return [fn(0)]
    global _pool, _workers, _blas
    with _lock:
        if _workers < n - 1:
            from threadpoolctl import ThreadpoolController
            _blas = _blas or ThreadpoolController()  # it scans the loaded libraries: once
            _pool, _workers = ThreadPoolExecutor(n - 1, thread_name_prefix="nnspec"), n - 1

    def part(r):
        try:
            return fn(r)
        except BaseException:
            if team is not None:
                team.abort()
            raise
    with _blas.limit(limits=1, user_api="blas"):
        others = [_pool.submit(part, i) for i in range(1, n)]
        try:
            first, mine = part(0), None
        except BaseException as e:  # Ctrl-C too: the others finish or are released first
            first, mine = None, e
        # never leave a part running on buffers the caller reuses
        errors = [e for e in [mine] + [f.exception() for f in others] if e is not None]
    if errors:
        raise next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)),
                   errors[0])
    return [first] + [f.result() for f in others]


def loss_and_grads(graph, weights, x, y, terms, mode=True):
    """graph.loss_and_grads for a training step, split among the cores where it has
    enough work: each thread runs forward and backward on its own part of the
    batch, and the parts' gradients are added. That rounds differently from
    one matmul over the batch, so results depend on the number of threads in
    their last bits (NNSPEC_THREADS=1 never splits); dropout draws each part's
    masks from its own child of the step's seed. In a graph that couples the
    samples of a batch (batch norm) the parts sum their statistics through a
    Team, so they normalize by the whole batch's. x and y: arrays, or dicts of
    them by name (several inputs, several outputs)."""
    if not isinstance(mode, Mode):
        mode = Mode(bool(mode))
    count = _rows(x)
    n = parts(count, graph.sample_flops * count, MIN_STEP_FLOPS) if mode.training else 1
    if n == 1:
        return graph.loss_and_grads(weights, x, y, terms, mode)
    bounds = [count * r // n for r in range(n + 1)]
    team = Team(n) if graph.couples_batch else None

    def part(r):
        lo, hi = bounds[r], bounds[r + 1]
        own = mode.part(r, graph.buffers.setdefault(("train", r), {}), team)
        return graph.loss_and_grads(weights, _slice(x, lo, hi), _slice(y, lo, hi), terms, own,
                                    share=(hi - lo) / count)
    results = run(part, n, team)
    shares = [(hi - lo) / count for lo, hi in zip(bounds, bounds[1:])]
    grads = results[0].grads
    for more in results[1:]:
        for key, g in more.grads.items():
            grads[key] += g
    outs = [r.out for r in results]
    out = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]} \
        if isinstance(outs[0], dict) else np.concatenate(outs)
    return results[0]._replace(
        value=sum(r.value * s for r, s in zip(results, shares)),
        each={k: sum(r.each[k] * s for r, s in zip(results, shares)) for k in results[0].each},
        out=out, grads=grads, dx=None)


def _rows(x):
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


def _slice(x, lo, hi):
    return {k: v[lo:hi] for k, v in x.items()} if isinstance(x, dict) else x[lo:hi]
