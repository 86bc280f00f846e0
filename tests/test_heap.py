"""The torch engine's heap setting (nnspec/pytorch/heap.py), in fresh processes
since it is one a process: after settle(), a block of 16 MB freed and asked for
again comes from the heap, not from fresh pages mapped and unmapped around it;
the user's own MALLOC_* settings stand. glibc's mallinfo2 (2.33 and later)
counts the mapped bytes; elsewhere the test skips."""
import ctypes
import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys
import numpy as np
from nnspec.pytorch import heap
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
settled = heap.settle() if sys.argv[1] == "settle" else None
block = np.ones(2 << 20)  # 16 MB: over glibc's first mmap threshold, under the engine's
print(settled, libc.mallinfo2().hblkhd >= block.nbytes)
"""


def _glibc_with_mallinfo2():
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None)
    return hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallinfo2")


pytestmark = pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="needs glibc 2.33+")


def _probe(how, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", PROBE, how], capture_output=True, text=True,
                         env={**environment, **env}, check=True).stdout.split()
    return out


def test_after_settle_a_16_mb_block_comes_from_the_heap_not_fresh_pages():
    assert _probe("leave") == ["None", "True"]  # glibc's first threshold: mapped
    assert _probe("settle") == ["True", "False"]


@pytest.mark.parametrize("name", ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                                  "MALLOC_TOP_PAD_"])
def test_the_users_own_malloc_settings_stand(name):
    """Any of the three set (each keeps glibc's first mmap threshold: the block is
    mapped) and settle() sets nothing."""
    assert _probe("settle", **{name: "131072"}) == ["False", "True"]
