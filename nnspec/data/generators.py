"""Synthetic data sets, deterministic for a numpy Generator."""
import numpy as np

from ..errors import DataError

SHAPES_CLASSES = ("horizontal", "vertical", "cross", "rectangle")


def shapes(rng, n=2000, size=16, noise=0.1):
    """Seed 000's images: (n, size, size, 1) float32 in [0, 1], labels 0..3.

    Class 0: 1-3 horizontal lines; 1: 1-3 vertical lines; 2: a cross (one
    horizontal and one vertical line); 3: a rectangle outline. Gaussian noise
    of std `noise` is added and the result clipped to [0, 1].
    """
    if not (isinstance(n, int) and n >= 1):
        raise DataError(f"shapes: n must be a positive integer, got {n}")
    if not (isinstance(size, int) and size >= 8):
        raise DataError(f"shapes: size must be an integer of at least 8, got {size}")
    if not noise >= 0:
        raise DataError(f"shapes: noise must be at least 0, got {noise}")
    x = np.zeros((n, size, size), dtype=np.float32)
    y = np.arange(n) % 4
    rng.shuffle(y)
    lo = size // 4
    for i, label in enumerate(y):
        img = x[i]
        if label in (0, 1):
            for row in rng.choice(np.arange(1, size - 1), size=rng.integers(1, 4), replace=False):
                a = rng.integers(0, lo)
                b = rng.integers(size - lo, size + 1)
                if label == 0:
                    img[row, a:b] = 1
                else:
                    img[a:b, row] = 1
        elif label == 2:
            r, c = rng.integers(lo, size - lo, size=2)
            img[r, :] = 1
            img[:, c] = 1
        else:
            top, left = rng.integers(0, size // 2 - 2, size=2)
            h, w = rng.integers(lo + 1, size - max(top, left), size=2)
            bottom, right = min(top + h, size - 1), min(left + w, size - 1)
            img[top, left:right + 1] = img[bottom, left:right + 1] = 1
            img[top:bottom + 1, left] = img[top:bottom + 1, right] = 1
    x += rng.normal(0.0, noise, x.shape).astype(np.float32)
    np.clip(x, 0.0, 1.0, out=x)
    return x[..., None], y.astype(np.int64), SHAPES_CLASSES
