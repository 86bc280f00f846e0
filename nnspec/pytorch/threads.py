"""How many cores the torch engine's CPU kernels use.

As many as numpy's BLAS (threadpoolctl reads them), so both engines take the
same share of a machine. The user's choice stands: NNSPEC_THREADS (the numpy
engine's), OMP_NUM_THREADS or MKL_NUM_THREADS in the environment, or
torch.set_num_threads before nnspec's first use of torch, pins the count.

Otherwise fewer where other processes keep cores busy. PyTorch's kernels run
in OpenMP parallel regions, and a region waits for its slowest thread: a
thread whose core another process holds waits for the scheduler while the
others spin (GNU OpenMP's default), so on a 2-core machine with one busy
process a 2-thread epoch ran 100x to 300x slower than a 1-thread one
(benchmarks/README.md; OMP_WAIT_POLICY=PASSIVE helped under load but cost up
to 4x when the machine was idle). `balance` counts the running threads of
other processes (Linux: /proc/loadavg less this process's own, the lesser of
two looks) and leaves their cores to them; the engine calls it when a fit
starts and every few seconds of training, predict at most once a second.
Where nothing can be read (not Linux) the count stays. The thread count changes a float32 run's
rounding (as another CPU's kernels would), so two runs under different loads
may differ there; pinning the count makes them repeat bit for bit.
docs/scale.md says how the engines use cores.
"""
import os
import time

_state = {"wanted": None, "pinned": False, "checked": 0.0, "seen": None}
RECHECK = 1.0  # seconds between two counts in predict
RECHECK_FIT = 3.0  # and in training
# the first count's second look (seconds after the first), so that it too is the
# lesser of two: counting `balance`'s looks in three benchmark workers, one
# first look saw two running threads of other processes, and the worker took
# one thread until its next look (benchmarks/README.md, run 10's MLP)
FIRST_GAP = 0.02


def blas_threads():
    """The threads numpy's BLAS runs, or None where threadpoolctl cannot tell."""
    from threadpoolctl import threadpool_info
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else None


def configure(torch):
    """Once per process: the threads the engine wants (see above)."""
    if _state["wanted"] is not None:
        return
    mine = os.environ.get("NNSPEC_THREADS", "").strip()
    if mine.isdigit() and int(mine) > 0:
        torch.set_num_threads(int(mine))
        _state.update(wanted=int(mine), pinned=True)
        return
    chosen = os.environ.get("OMP_NUM_THREADS") or os.environ.get("MKL_NUM_THREADS")
    if chosen or torch.get_num_threads() not in (len(_cores()), os.cpu_count()):
        _state.update(wanted=torch.get_num_threads(), pinned=True)  # the user's
        return
    _state.update(wanted=blas_threads() or torch.get_num_threads(), pinned=False)
    balance(torch)


def balance(torch, at_most_every=0.0):
    """Threads: the wanted number, less the cores other processes keep busy now."""
    now = time.monotonic()
    if _state["wanted"] is None or _state["pinned"] or now - _state["checked"] < at_most_every:
        return
    _state["checked"] = now
    # a process that keeps a core busy runs at every look, anything else (a kernel
    # thread, another process's threads going to sleep) seldom at two in a row:
    # the lesser of this look and the last, and at the first, of it and a second
    # look FIRST_GAP later (only where the first saw something: an idle machine
    # waits for nothing)
    busy = seen = busy_elsewhere()
    if busy and _state["seen"] is None:
        time.sleep(FIRST_GAP)
        seen = busy_elsewhere()
    if busy is not None and seen is not None:
        busy = min(busy, seen if _state["seen"] is None else _state["seen"])
    _state["seen"] = seen
    threads = _state["wanted"] if busy is None else \
        max(1, min(_state["wanted"], len(_cores()) - busy))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _cores():
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count())


def busy_elsewhere():
    """Running threads of other processes now, or None where that cannot be read:
    /proc/loadavg's running count less this process's own (read before and after
    it, as they may go to sleep in between)."""
    try:
        own = _own_running()
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
        return max(0, running - max(own, _own_running()))
    except (OSError, ValueError, IndexError):
        return None


def _own_running():
    """This process's threads that are running or runnable now (this one among them)."""
    count = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        count += state == "R"
    return max(count, 1)
