"""How many cores the torch engine's CPU kernels use: as many as numpy's BLAS
(threadpoolctl reads them), so both engines take the same share of a machine,
unless the user chose (OMP_NUM_THREADS or MKL_NUM_THREADS in the environment,
which PyTorch reads itself). Done once per process, on the engine's first use.
docs/scale.md says how the engines use cores."""
import os

_configured = []


def blas_threads():
    """The threads numpy's BLAS runs, or None where threadpoolctl cannot tell."""
    from threadpoolctl import threadpool_info
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else None


def configure(torch):
    if _configured:
        return
    _configured.append(True)
    if os.environ.get("OMP_NUM_THREADS") or os.environ.get("MKL_NUM_THREADS"):
        return
    n = blas_threads()
    if n and torch.get_num_threads() != n:
        torch.set_num_threads(n)
