"""Where the torch engine's arrays come from on Linux: glibc's heap, set once a
process as glibc's own rule leaves it after a large free.

PyTorch allocates each step's activations and gradients with malloc and frees
them after the step. glibc serves a block over its mmap threshold (128 KB at
first) from fresh pages and hands them back on free, so every step faults all
of its megabytes in again, and it trims the heap's top above its trim
threshold likewise. glibc raises both itself (to a freed block's size, at
most 32 MB, and twice that) once a block that large is freed, so how fast a
run trains depended on what it had done before: the hand-written PyTorch loop
of benchmarks/vs_torch.py trained the deeper CNN in 0.58 s an epoch first and
0.42-0.51 s after a predict pass of 256 images had freed a 25 MB block
(benchmarks/README.md, "The heap"). The engine sets the two thresholds to
where that rule ends (32 MB and 64 MB), before its first step, so that every
run is the fast one. A process keeps at most the trim threshold's 64 MB of
freed memory in its heap for reuse.

The user's settings stand: MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or
MALLOC_TOP_PAD_ in the environment (or another allocator preloaded, which
ignores mallopt) leave glibc as it is. Elsewhere (not glibc) nothing changes.
"""
import ctypes
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # as glibc's rule sets it beside the mmap threshold
USERS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")
_state = {"set": None}


def settle():
    """Once a process: the thresholds above, where glibc is the allocator and the
    user set none. -> whether they were set."""
    if _state["set"] is None:
        _state["set"] = _set()
    return _state["set"]


def _set():
    if not sys.platform.startswith("linux") or any(os.environ.get(k) for k in USERS):
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # musl and others: not glibc's rule
            return False
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
