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
other processes that keep a core busy and leaves their cores to them; the
engine calls it when a fit starts and every few seconds of training, predict
at most once a second. On Linux a look reads /proc/loadavg's running threads
less this process's own; where it and the look before see some, it measures
their share of this process's cores over CONFIRM seconds (/proc/stat's busy
time less this process's own), so that a thread that runs now and then (a
kernel thread, a process going to sleep) is not taken for one that keeps a
core busy. Where
nothing can be read (not Linux) the count stays. The thread count changes a
float32 run's rounding (as another CPU's kernels would), so two runs under different loads
may differ there; pinning the count makes them repeat bit for bit.
docs/scale.md says how the engines use cores.
"""
import math
import os
import time

_state = {"wanted": None, "pinned": False, "checked": 0.0, "seen": None}
RECHECK = 1.0  # seconds between two counts in predict
RECHECK_FIT = 3.0  # and in training
# seconds over which two looks in a row that saw running threads elsewhere
# measure their share of the cores: 5 of /proc/stat's 1/100 s ticks a core.
# Counting the lesser of two looks alone, benchmark workers on a quiet machine
# gave up a thread now and then (benchmarks/README.md, run 10: the MLP's
# predict at 0.59 of PyTorch's); measuring at every look that saw a thread,
# the tiny net's 40 ms epoch waited 50 ms where its first step saw the
# benchmark's parent still running (run 12: 0.46)
CONFIRM = 0.05


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
    # a process that keeps a core busy runs at every look: the lesser of this look
    # and the last (a thread seen once, as the process that just woke this one,
    # costs nothing), and where both (or a first look) saw some, their share of
    # the cores measured over CONFIRM seconds (an idle machine waits for nothing)
    busy = seen = busy_elsewhere()
    if busy and _state["seen"] is not None:
        busy = min(busy, _state["seen"])
    if busy:
        share = busy_cores(CONFIRM)
        busy = busy if share is None else min(busy, share)
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


def busy_cores(seconds):
    """Cores of this process's that other processes kept busy over the next
    `seconds`, rounded (half a core counts), or None where /proc cannot be read."""
    share = busy_share(seconds)
    return None if share is None else max(0, math.floor(share + 0.5))


def busy_share(seconds):
    """The cores' worth of time other processes ran on this process's cores over
    the next `seconds` (/proc/stat's busy time less this process's own), or None."""
    try:
        before = _ticks()
        time.sleep(seconds)
        after = _ticks()
    except (OSError, ValueError, IndexError):
        return None
    elsewhere = (after[0] - before[0]) - (after[1] - before[1])
    return elsewhere / (seconds * os.sysconf("SC_CLK_TCK"))


def _ticks():
    """(busy ticks of this process's cores since boot, this process's own ticks):
    user, nice, system, irq and softirq time, not idle, iowait or steal."""
    cores = {f"cpu{c}" for c in _cores()}
    busy = 0
    with open("/proc/stat") as f:
        for line in f:
            fields = line.split()
            if fields and fields[0] in cores:
                busy += sum(int(fields[i]) for i in (1, 2, 3, 6, 7))
    with open("/proc/self/stat") as f:
        own = f.read().rsplit(")", 1)[1].split()
    return busy, int(own[11]) + int(own[12])  # utime, stime
