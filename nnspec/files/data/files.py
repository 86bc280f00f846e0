"""Readers for array files: .npy, .npz, .csv, IDX (optionally gzipped) and images.

Each returns a numpy array as stored (integer pixels stay integers); turning
raw values into model inputs is the model's preprocessing, not the reader's.
Every problem is a DataError naming the file.
"""
import csv
import io
import math
import struct
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...errors import DataError, shown
from .. import io as fileio

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# Compressed data (gzip, npz members) may unpack to at most this many times its
# size, and at least to EXPANDED_MIN: MNIST's gzipped images unpack 5.3 times
# larger, a zip bomb a million times. Images may have at most MAX_PIXELS.
EXPANSION = 64
EXPANDED_MIN = 64 << 20
MAX_PIXELS = 1 << 26
MAX_DIMS = 8
FLOAT32_MAX = float(np.finfo(np.float32).max)  # a value in a data file must fit a float32 model  # numpy allows 64; no data nnspec reads has more than 4


def _expanded_limit(size):
    return max(EXPANDED_MIN, EXPANSION * size)


def _gunzip(raw, path):
    """gzip data -> bytes, at most _expanded_limit(len(raw)) of them."""
    out, limit = [], _expanded_limit(len(raw))
    try:
        while raw:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # one gzip member
            total = sum(map(len, out))
            out.append(d.decompress(raw, limit - total + 1))
            if sum(map(len, out)) > limit:
                raise DataError(f"{shown(path)}: unpacks to more than {limit:,} bytes "
                                f"({EXPANSION} times the file); refusing to read it")
            if not d.eof:
                raise DataError(f"{shown(path)}: corrupt gzip data (truncated)")
            raw = d.unused_data
    except zlib.error as e:
        raise DataError(f"{shown(path)}: corrupt gzip data ({e})") from None
    return b"".join(out)


def read_idx(path):
    """An IDX file (MNIST's format), gzipped or not -> array in native byte order."""
    path = Path(path)
    raw = read_bytes(path)
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, path)
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{shown(path)}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if not 1 <= ndim <= MAX_DIMS:
        raise DataError(f"{shown(path)}: an IDX file of {ndim} dimensions; nnspec reads 1 to "
                        f"{MAX_DIMS}")
    if len(raw) < header:
        raise DataError(f"{shown(path)}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    need = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
    if len(raw) - header != need:
        raise DataError(f"{shown(path)}: IDX header says {dims} ({need} bytes) but the file "
                        f"holds {len(raw) - header} bytes; the file is truncated or corrupt")
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
    data = read_bytes(path)
    try:
        with warnings.catch_warnings():
            # Pillow warns of a large image as it opens it; nnspec's own bound below
            # is lower, and says so in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
        with img:
            if img.width * img.height > MAX_PIXELS:
                raise DataError(f"{shown(path)}: an image of {img.width}x{img.height} pixels; "
                                f"nnspec reads at most {MAX_PIXELS:,}")
            img = img.convert({1: "L", 3: "RGB", 4: "RGBA"}[c]).resize((w, h), Image.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError,
            SyntaxError, EOFError, zlib.error) as e:  # Pillow's decoders raise all of these
        raise DataError(f"{shown(path)}: cannot read image: {shown(e)}") from None
    return arr.reshape(shape)


class Table(NamedTuple):
    header: list  # the column names, or None
    rows: list  # rows of stripped strings
    lines: list  # each row's line in the file (1-based), for messages


def read_table(path):
    """A CSV -> Table, read by the csv module: quoted fields (commas and line
    breaks inside them), a UTF-8 byte-order mark, blank lines skipped. A first
    row whose first value is not a number is the header. Every row must be as
    wide as the first."""
    path = Path(path)
    text = read_bytes(path).decode("utf-8-sig", "replace")  # -sig: drops a byte-order mark
    rows, lines = [], []
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        for row in reader:
            if any(v.strip() for v in row):
                rows.append([v.strip() for v in row])
                lines.append(reader.line_num)
    except csv.Error as e:
        raise DataError(f"{shown(path)}: not readable CSV ({e})") from None
    header = None
    if rows and not _numeric(rows[0][0]):
        header = rows.pop(0)
        lines.pop(0)
    width = len(header or (rows[0] if rows else ()))
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise DataError(f"{shown(path)}:{line}: {len(row)} values, the first row has {width}")
    return Table(header, rows, lines)


def numbers(path, table, columns, hint=""):
    """The given columns (indices) of a table as a float array (rows, columns);
    a value that is not a finite number is a DataError naming its column and line,
    with `hint` (what to do) after it."""
    out = np.empty((len(table.rows), len(columns)))
    for i, row in enumerate(table.rows):
        for j, col in enumerate(columns):
            try:
                out[i, j] = value = float(row[col])
            except ValueError:
                value = None
            if value is None or not abs(value) <= FLOAT32_MAX:
                name = f"column {shown(repr(table.header[col]))}" if table.header \
                    else f"column {col + 1}"
                what = "a number" if value is None else \
                    "a finite number" if not math.isfinite(value) else "within float32's range"
                raise DataError(f"{shown(path)}:{table.lines[i]}: {name} holds "
                                f"{shown(repr(row[col]), 40)}, which is not {what}{hint}")
    return out


def read_csv(path):
    """A CSV of numbers (an optional header line is skipped) -> 2-D float array."""
    table = read_table(path)
    if not table.rows:
        raise DataError(f"{shown(path)}: no rows")
    return numbers(path, table, range(len(table.rows[0])))


def read_array(path, input_shape=None):
    """Any supported file -> array, chosen by suffix (.gz: IDX)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if suffix == ".npy":
        return read_npy(path)
    if suffix == ".npz":
        arrays = read_npz(path)
        names = list(arrays)
        key = "x" if "x" in names else (names[0] if len(names) == 1 else None)
        if key is None:
            raise DataError(f"{shown(path)}: holds {shown(', '.join(names))}; expected an array "
                            "named 'x'")
        return arrays[key]
    if suffix == ".csv":
        return read_csv(path)
    if suffix in IMAGE_SUFFIXES:
        if input_shape is None or len(input_shape) != 3:  # 2 axes are a sequence's
            takes = "x".join(map(str, input_shape or ()))
            what = {1: "vectors", 2: "sequences (TIMExFEATURES)"}.get(len(input_shape or ()))
            raise DataError(f"{shown(path)}: an image needs a model with an image input (HxWxC); "
                            f"this one takes {what} of {takes}" if what else
                            f"{shown(path)}: an image needs a model with an image input (HxWxC)")
        return read_image(path, input_shape)[None]
    if suffix in (".gz", ".idx") or "idx" in path.name:
        return read_idx(path)
    raise DataError(f"{path}: unknown file type {suffix!r} (use .npy, .npz, .csv, IDX or an image)")


def read_npy(path):
    """A .npy file -> array; its header is checked against its size before anything
    is allocated, and arrays of Python objects (pickles) are refused."""
    return _npy(read_bytes(path), shown(path))


def read_npz(path):
    """A .npz file -> {name: array}, each member read as read_npy reads a file; a
    corrupt archive, a bad CRC or a member that is not an array is a DataError."""
    data = read_bytes(path)
    arrays, budget = {}, _expanded_limit(len(data))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                where = f"{shown(path)}[{shown(name)}]"
                budget -= info.file_size
                if budget < 0:
                    raise DataError(f"{shown(path)}: its arrays unpack to more than "
                                    f"{_expanded_limit(len(data)):,} bytes")
                arrays[name] = _npy(archive.read(info), where)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError, ValueError) as e:  # zipfile's errors, CRC included
        raise DataError(f"{shown(path)}: not a readable .npz archive ({shown(e)})") from None
    return arrays


def _npy(data, where):
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
    except (ValueError, EOFError, SyntaxError, TypeError) as e:
        raise DataError(f"{where}: not a .npy array ({shown(e)})") from None
    if dtype.hasobject:
        raise DataError(f"{where}: holds Python objects; nnspec never unpickles data")
    if len(shape) > MAX_DIMS:
        raise DataError(f"{where}: an array of {len(shape)} dimensions; nnspec reads at most "
                        f"{MAX_DIMS}")
    need = math.prod(shape) * dtype.itemsize
    if len(data) - f.tell() != need:
        raise DataError(f"{where}: its header says {dtype} {shape} ({need:,} bytes) but it holds "
                        f"{len(data) - f.tell():,}; the file is truncated or corrupt")
    arr = np.frombuffer(data, dtype, math.prod(shape), f.tell())
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def read_bytes(path):
    return fileio.read_bytes(path, DataError, what="data file")


def _numeric(text):
    try:
        float(text)
        return True
    except ValueError:
        return False
