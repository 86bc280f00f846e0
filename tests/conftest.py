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


def train_cli(folder, name, spec, *flags):
    """Write spec as folder/NAME.nn and `nnspec train` it to folder/NAME.nnb, which
    must succeed -> (the bundle's path, the command's stdout)."""
    (folder / f"{name}.nn").write_text(spec)
    result = run_cli("train", folder / f"{name}.nn", "-o", folder / f"{name}.nnb", *flags)
    assert result.returncode == 0, result.stderr
    return folder / f"{name}.nnb", result.stdout


def printed_accuracy(out):
    """The test accuracy a `nnspec train` run printed last."""
    return float([l for l in out.splitlines() if l.startswith("test")][0].split("accuracy ")[1])


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


def inputs_for(model, n, rng, dtype=np.float32):
    """n random samples for every input of a model, as its preprocessing takes them
    (floats in [LOW, HIGH] for pixels, token ids for an embedding): an array for a
    model of one input, else a dict by name. A fitted scaling not fitted yet is
    fitted on them."""
    from nnspec import prepare
    xs = {}
    for name, shape in model.graph.input_shapes.items():
        pre = model.preprocessing[name]
        vocab = [node.p["table"][0] for node in model.network.nodes
                 if node.kind == "embedding" and name in node.inputs]
        if vocab:  # token ids for an embedding
            xs[name] = rng.integers(0, min(vocab), (n,) + shape).astype(dtype)
        elif pre["kind"] == "pixels":
            low = pre["offset"]
            xs[name] = rng.uniform(low, low + 255 * pre["scale"], (n,) + shape).astype(dtype)
        else:
            xs[name] = rng.standard_normal((n,) + shape).astype(dtype)
    x = xs if len(xs) > 1 else next(iter(xs.values()))
    if not all("scale" in p for p in model.preprocessing.values()):
        model.preprocessing = prepare.fitted_scaling(model, x)
    return x


def targets_for(model, n, rng):
    """n random targets for every output of a model, as its loss takes them (class
    ids for cross-entropy over a vector, 0/1 for binary cross-entropy, else
    normal values): an array for a model of one output, else a dict by name."""
    ys = {}
    for term in model.plan.terms:
        shape = model.graph.shapes[term.node]
        if term.loss == "cross_entropy" and len(shape) == 1:
            ys[term.name] = rng.integers(0, shape[-1], n)
        elif term.loss == "binary_cross_entropy":
            ys[term.name] = rng.integers(0, 2, (n,) + shape).astype(np.float64)
        else:
            ys[term.name] = rng.standard_normal((n,) + shape)
    return ys if len(ys) > 1 else next(iter(ys.values()))
