"""Readers for array files: .npy, .npz, .csv, IDX (optionally gzipped) and images.

Each returns a numpy array as stored (integer pixels stay integers); turning
raw values into model inputs is the model's preprocessing, not the reader's.
Every problem is a DataError naming the file.
"""
import gzip
import struct
from pathlib import Path

import numpy as np

from ..errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """An IDX file (MNIST's format), gzipped or not -> array in native byte order."""
    path = Path(path)
    raw = read_bytes(path)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: corrupt gzip data ({e})") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    need = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != need:
        raise DataError(f"{path}: IDX header says {dims} ({need} bytes) but the file holds "
                        f"{len(raw) - header} bytes; the file is truncated or corrupt")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_image(path, shape):
    """An image file -> uint8 array of `shape` (h, w, c), resized and converted to c channels."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow is a dependency
        raise DataError("reading images needs Pillow: pip install pillow") from None
    h, w, c = shape if len(shape) == 3 else (*shape, 1)
    if c not in (1, 3, 4):
        raise DataError(f"{path}: cannot turn an image into {c} channels")
    try:
        with Image.open(path) as img:
            img = img.convert({1: "L", 3: "RGB", 4: "RGBA"}[c]).resize((w, h), Image.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise DataError(f"{path}: cannot read image: {e}") from None
    return arr.reshape(shape)


def read_table(path):
    """A CSV -> (header or None, rows of stripped strings); a first line whose
    first value is not a number is the header. Every row must be as wide as the first."""
    path = Path(path)
    rows = [[v.strip() for v in line.split(",")]
            for line in read_bytes(path).decode("utf-8", "replace").splitlines() if line.strip()]
    header = rows.pop(0) if rows and not _numeric(rows[0][0]) else None
    width = len(header or (rows[0] if rows else ()))
    for i, row in enumerate(rows, start=2 if header else 1):
        if len(row) != width:
            raise DataError(f"{path}:{i}: {len(row)} values, the first row has {width}")
    return header, rows


def read_csv(path):
    """A CSV of numbers (an optional header line is skipped) -> 2-D float array."""
    _, rows = read_table(path)
    if not rows:
        raise DataError(f"{path}: no rows")
    try:
        return np.asarray([[float(v) for v in row] for row in rows])
    except ValueError as e:
        raise DataError(f"{path}: not numeric CSV ({e})") from None


def read_array(path, input_shape=None):
    """Any supported file -> array, chosen by suffix (.gz: IDX)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if suffix == ".npy":
        return load_numpy(path)
    if suffix == ".npz":
        with load_numpy(path) as archive:
            names = archive.files
            key = "x" if "x" in names else (names[0] if len(names) == 1 else None)
            if key is None:
                raise DataError(f"{path}: holds {', '.join(names)}; expected an array named 'x'")
            return archive[key]
    if suffix == ".csv":
        return read_csv(path)
    if suffix in IMAGE_SUFFIXES:
        if input_shape is None or len(input_shape) not in (2, 3):
            raise DataError(f"{path}: an image needs a model with an image input (HxWxC)")
        return read_image(path, input_shape)[None]
    if suffix in (".gz", ".idx") or "idx" in path.name:
        return read_idx(path)
    raise DataError(f"{path}: unknown file type {suffix!r} (use .npy, .npz, .csv, IDX or an image)")


def load_numpy(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: cannot read: {e}") from None


def read_bytes(path):
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None


def _numeric(text):
    try:
        float(text)
        return True
    except ValueError:
        return False
