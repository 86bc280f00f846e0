"""Synthetic data sets, deterministic for a numpy Generator."""
import numpy as np

from ...errors import DataError

SHAPES_CLASSES = ("horizontal", "vertical", "cross", "rectangle")


def shapes(rng, n=2000, size=16, noise=0.1, style="nnspec"):
    """Images of four classes: (n, size, size, 1) float32 in [0, 1], labels 0..3.

    style=nnspec: class 0: 1-3 horizontal lines; 1: 1-3 vertical lines; 2: a
    cross (one horizontal and one vertical line); 3: a rectangle outline, placed
    at random, in shuffled order. Gaussian noise of std `noise` is added and the
    result clipped to [0, 1]. style=seed000: seed 000's own generator (below).
    """
    if not (isinstance(n, int) and n >= 1):
        raise DataError(f"shapes: n must be a positive integer, got {n}")
    if not (isinstance(size, int) and size >= 8):
        raise DataError(f"shapes: size must be an integer of at least 8, got {size}")
    if not noise >= 0:
        raise DataError(f"shapes: noise must be at least 0, got {noise}")
    if style == "seed000":
        if not noise <= 1:
            raise DataError(f"shapes: a seed000 noise is a probability, got {noise}")
        return _seed000_shapes(rng, n, size, noise)
    if style != "nnspec":
        raise DataError(f"shapes: style is nnspec or seed000, got {style}")
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


def _seed000_shapes(rng, n, size, noise):
    """Seed 000's generator (markusmkim/DL-NeuralNetwork, data/generator/generator.py,
    centered): classes in order 0, 1, 2, 3, 0, ...; an object at the centre with
    radii drawn from size // 8 to size // 2 - 1 across and down. Horizontal bars
    fill every other row (from row 0) within the radii, at least size // 4 across;
    vertical bars are their transpose; the cross is the centre's row and column
    within the radii; the rectangle the outline at the radii. Each pixel the
    drawing visits flips 0 <-> 1 with probability `noise`: all of them, but for
    bars only the rows (columns) drawn, as the seed's loop visits only those."""
    c = size // 2
    rows, cols = np.indices((size, size))
    x = np.zeros((n, size, size), dtype=np.float32)
    y = np.arange(n) % 4
    for i, label in enumerate(y):
        rx, ry = rng.integers(c // 4, c, size=2)  # randint(c // 4, c - 1), inclusive
        flips = rng.random((size, size)) < noise
        if label in (0, 1):
            img = (rows % 2 == 0) & (abs(rows - c) <= ry) & (abs(cols - c) <= max(rx, size // 4))
            flips &= rows % 2 == 0
            img = img ^ flips
            x[i] = img.T if label == 1 else img
            continue
        if label == 2:
            img = ((rows == c) & (abs(cols - c) <= rx)) | ((cols == c) & (abs(rows - c) <= ry))
        else:
            img = ((abs(rows - c) == ry) & (abs(cols - c) <= rx)) | \
                ((abs(cols - c) == rx) & (abs(rows - c) <= ry))
        x[i] = img ^ flips
    return x[..., None], y.astype(np.int64), SHAPES_CLASSES


def _count(name, value, low=1):
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= low):
        raise DataError(f"{name} must be an integer of at least {low}, got {value}")
    return value


def _noise(name, value):
    if not (isinstance(value, (int, float)) and value >= 0):
        raise DataError(f"{name}: noise must be at least 0, got {value}")
    return float(value)


def spiral(rng, n=100, classes=3, noise=0.2, spin=2.5):
    """Spiral arms (seeds 001 and 003): `n` points per class on `classes`
    interleaved arms in [-1, 1]^2, each arm's angle jittered by `noise`. `spin`
    scales the angle: 2.5 is the nnfs spiral (seed 003), 1 the cs231n one that
    seed 001 follows, with fewer turns."""
    _count("spiral: n", n)
    _count("spiral: classes", classes, 2)
    noise = _noise("spiral", noise)
    if not (isinstance(spin, (int, float)) and spin > 0):
        raise DataError(f"spiral: spin must be a positive number, got {spin}")
    r = np.tile(np.linspace(0.0, 1.0, n), classes)
    label = np.repeat(np.arange(classes), n)
    t = np.concatenate([np.linspace(c * 4, (c + 1) * 4, n) for c in range(classes)])
    t = t + rng.normal(0.0, noise, len(t))
    x = np.stack([r * np.sin(t * spin), r * np.cos(t * spin)], axis=1)
    return x.astype(np.float32), label.astype(np.int64), tuple(f"arm {c}" for c in range(classes))


def vertical(rng, n=100, classes=3, noise=0.1):
    """The nnfs vertical data: `classes` vertical clusters of `n` points each."""
    _count("vertical: n", n)
    _count("vertical: classes", classes, 2)
    noise = _noise("vertical", noise)
    label = np.repeat(np.arange(classes), n)
    x = np.stack([rng.normal(0.0, noise, len(label)) + label / classes,
                  rng.normal(0.0, noise, len(label)) + 0.5], axis=1)
    return x.astype(np.float32), label.astype(np.int64), tuple(f"cluster {c}" for c in range(classes))


def sine(rng, n=1000, noise=0.0):
    """Seed 001's regression: x drawn uniformly from [0, 10], y = sin(x) (+ noise)."""
    _count("sine: n", n)
    noise = _noise("sine", noise)
    x = rng.uniform(0.0, 10.0, n)
    y = np.sin(x) + rng.normal(0.0, noise, n) if noise else np.sin(x)
    return x[:, None].astype(np.float32), y[:, None].astype(np.float32), None


def xor(rng, repeats=1, noise=0.0):
    """Seed 004's XOR gate: the four points of {0, 1}^2, each `repeats` times,
    with targets 0 or 1 as one regression output (seed 004 trains it with MSE)."""
    _count("xor: repeats", repeats)
    noise = _noise("xor", noise)
    x = np.tile(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64), (repeats, 1))
    y = (x[:, 0] != x[:, 1]).astype(np.float32)[:, None]
    if noise:
        x = x + rng.normal(0.0, noise, x.shape)
    return x.astype(np.float32), y, None


# the seven segments of a digit display: (row from, row to, column from, column to)
# on a unit glyph of height 2 and width 1; which segments draw each digit
_SEGMENTS = {"a": (0, 0, 0, 1), "b": (0, 1, 1, 1), "c": (1, 2, 1, 1), "d": (2, 2, 0, 1),
             "e": (1, 2, 0, 0), "f": (0, 1, 0, 0), "g": (1, 1, 0, 1)}
_DIGITS = ("abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg",
           "abcdfg")
GLYPH_CLASSES = tuple(str(d) for d in range(10))


def glyphs(rng, n=2000, noise=0.1):
    """A data set of two inputs and two outputs, the shape of the language guide's
    example: `image`, a 28x28 8-bit picture of a digit drawn as a seven-segment
    display, at random height and place; `meta`, four numbers (a noisy reading
    of the glyph's height, two of noise, its brightness). Outputs: `digit`, the
    class 0..9; `size`, the glyph's height in tens of pixels (1.0 to 2.4), which
    both inputs tell. -> ({image, meta}, {digit, size}, {digit: class names})."""
    if not (isinstance(n, int) and n >= 1):
        raise DataError(f"glyphs: n must be a positive integer, got {n}")
    if not noise >= 0:
        raise DataError(f"glyphs: noise must be at least 0, got {noise}")
    image = np.zeros((n, 28, 28), np.float32)
    digit = rng.integers(0, 10, n)
    height = rng.integers(10, 25, n)
    bright = rng.uniform(0.6, 1.0, n)
    for i in range(n):
        h, w = int(height[i]), max(int(height[i]) // 2, 4)
        top, left = rng.integers(0, 28 - h + 1), rng.integers(0, 28 - w + 1)
        for seg in _DIGITS[digit[i]]:
            r0, r1, c0, c1 = _SEGMENTS[seg]
            rows = slice(top + r0 * (h - 2) // 2, top + r1 * (h - 2) // 2 + 2)
            cols = slice(left + c0 * (w - 2), left + c1 * (w - 2) + 2)
            image[i, rows, cols] = bright[i]
    image += rng.normal(0, noise, image.shape).astype(np.float32)
    pixels = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)[..., None]
    size = (height / 10).astype(np.float32)
    meta = np.stack([size + rng.normal(0, 0.3, n), rng.normal(0, 1, n), rng.normal(0, 1, n),
                     bright], axis=1).astype(np.float32)
    return ({"image": pixels, "meta": meta}, {"digit": digit.astype(np.int64), "size": size},
            {"digit": GLYPH_CLASSES})
