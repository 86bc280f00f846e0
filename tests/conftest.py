import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
SHARED_DATA = ROOT.parent / "shared" / "data"


def run_cli(*args, cwd=None, timeout=300):
    """Run `nnspec ARGS` in a fresh interpreter; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "nnspec.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)


def numeric_grad(f, array, eps=1e-6):
    """Central differences of scalar f() with respect to every entry of array (in place)."""
    grad = np.zeros_like(array)
    for i in np.ndindex(array.shape):
        old = array[i]
        array[i] = old + eps
        plus = f()
        array[i] = old - eps
        minus = f()
        array[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def assert_close_grad(analytic, numeric, what):
    denom = max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-12)
    err = np.linalg.norm(analytic - numeric) / denom
    assert err < 1e-7, f"{what}: relative error {err:.2e}"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
