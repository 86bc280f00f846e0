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
to 4x when the machine was idle). `balance` leaves the cores that other
processes keep busy to them; the engine calls it at every training step and
predict pass, and it looks every few seconds of training, at most once a
second in predict. On Linux a look reads /proc/loadavg's running threads less
this process's own. Where it sees some, the engine goes on as it was for
CONFIRM seconds of its own work and then measures what they ran of this
process's cores meanwhile (/proc/stat's busy time less this process's own),
so that a thread that runs now and then (a kernel thread, a process waking
this one) is not taken for one that keeps a core busy, and nothing waits for
the measurement. Where nothing can be read (not Linux) the count stays. The
thread count changes a float32 run's rounding (as another CPU's kernels
would), so two runs under different loads may differ there; pinning the
count makes them repeat bit for bit.
docs/scale.md says how the engines use cores.
"""
import math
import os
import time

_state = {"wanted": None, "pinned": False, "checked": 0.0, "pending": None}
RECHECK = 1.0  # seconds between two looks in predict
RECHECK_FIT = 3.0  # and in training
# seconds of work after a look that saw running threads elsewhere before their
# share of the cores is measured, and the most after which the measurement
# still stands for now. Benchmark workers on a quiet machine saw a thread
# elsewhere at the start of most timings, where no process of the machine's
# showed one running: giving up a thread where two looks in a row saw one, the
# MLP's predict ran at 0.59 of PyTorch's (run 10); waiting 50 ms to measure,
# the tiny net's 40 ms epoch took 90 (run 12); going on while it measures
# costs nothing. 0.2 s: /proc/stat counts 1/100 s ticks, and over 50 ms of a
# quiet worker's predicts the measured share reached 0.38 of a core, over
# 0.2 s 0.10 (benchmarks/README.md)
CONFIRM = 0.2
STALE = 10.0


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
    if _state["wanted"] is None or _state["pinned"]:
        return
    pending = _state["pending"]
    if pending is not None and now - pending[0][0] >= CONFIRM:
        (then, seen), _state["pending"] = pending, None
        if now - then[0] <= STALE:
            # the least of the look, the share and a look now: a process that ran
            # while this one slept between two calls (another benchmark worker)
            # and sleeps now is not counted
            counts = [seen, busy_since(then), busy_elsewhere()]
            _use(torch, min(c for c in counts if c is not None))
            return
    if now - _state["checked"] < at_most_every:
        return
    _state["checked"] = now
    busy = busy_elsewhere()
    if busy:  # running now: measured once this process has worked CONFIRM seconds
        try:
            _state["pending"] = (mark(), busy)
            return
        except (OSError, ValueError, IndexError):
            pass  # nothing to measure with: the look stands
    _use(torch, busy)


def _use(torch, busy):
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


def mark():
    """(now, busy ticks of this process's cores, this process's own ticks)."""
    return (time.monotonic(),) + _ticks()


def busy_since(then):
    """Cores of this process's that other processes kept busy since mark() gave
    `then`, rounded (half a core counts), or None where /proc cannot be read."""
    share = share_since(then)
    return None if share is None else max(0, math.floor(share + 0.5))


def share_since(then):
    """The cores' worth of time other processes ran on this process's cores since
    mark() gave `then` (/proc/stat's busy time less this process's own), or None."""
    try:
        now = mark()
    except (OSError, ValueError, IndexError):
        return None
    elsewhere = (now[1] - then[1]) - (now[2] - then[2])
    return elsewhere / (max(now[0] - then[0], 1e-3) * os.sysconf("SC_CLK_TCK"))


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
