"""The .nnb bundle: msgpack data only, written atomically, validated on load.

File: a msgpack map {format, version, sha256, payload}. `payload` is the
msgpack bytes of the document (spec text, weights, history, metadata), and
sha256 its digest, so corruption anywhere is caught before anything is built.
Arrays are {dtype, shape, data} with little-endian raw bytes. No pickle, no
object dtype, no code: loading parses the spec text with the one grammar.
docs/bundle-format.md is the specification.
"""
import hashlib
from pathlib import Path

import msgpack
import numpy as np

from ..errors import BundleError, shown
from . import io as fileio

FORMAT = "nnspec-bundle"
# 1.2: SGD momentum is PyTorch's buffer of gradients (checkpoints.py); 1.3: features;
# 1.4: preprocess has a kind, and per-feature numbers for standard and minmax
VERSION = (1, 6)
DTYPES = {"<f4": np.float32, "<f8": np.float64, "<i8": np.int64, "<i4": np.int32,
          "|u1": np.uint8}


def encode_array(a):
    a = np.ascontiguousarray(a)
    code = a.dtype.newbyteorder("<").str if a.dtype.byteorder != "|" else a.dtype.str
    if code not in DTYPES:
        raise BundleError(f"cannot store arrays of dtype {a.dtype}")
    return {"dtype": code, "shape": list(a.shape), "data": a.astype(code, copy=False).tobytes()}


def decode_array(obj, field):
    """{dtype, shape, data} -> a writable numpy array, every part checked."""
    check_map(obj, field, {"dtype": str, "shape": list, "data": bytes})
    code = obj["dtype"]
    if code not in DTYPES:
        raise BundleError(f"{field}: dtype {code!r} is not one of {', '.join(DTYPES)}")
    shape = obj["shape"]
    if not all(type(d) is int and d >= 0 for d in shape) or len(shape) > 8:
        raise BundleError(f"{field}: shape {shape!r} is not a list of at most 8 sizes")
    count = 1
    for d in shape:
        count *= d
    itemsize = np.dtype(code).itemsize
    if count * itemsize != len(obj["data"]):
        raise BundleError(f"{field}: shape {shape} needs {count * itemsize} bytes, "
                          f"found {len(obj['data'])}")
    return np.frombuffer(obj["data"], dtype=code).reshape(shape).astype(DTYPES[code])


def pack(document):
    """The document -> the bundle's bytes."""
    payload = msgpack.packb(document, use_bin_type=True)
    return msgpack.packb({"format": FORMAT, "version": list(VERSION),
                          "sha256": hashlib.sha256(payload).hexdigest(),
                          "payload": payload}, use_bin_type=True)


def save(path, document):
    """Write the document atomically (fileio.write_atomic): a crash, Ctrl-C or
    SIGTERM mid-write leaves the previous file whole."""
    fileio.write_atomic(path, pack(document), BundleError)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _DuplicateKey(f"the key {shown(key)} appears twice in one map")
    return out


def _unpack(data, field):
    n = len(data)
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True,
                               max_bin_len=n, max_str_len=n, max_array_len=n,
                               max_map_len=n, max_ext_len=0, timestamp=0,
                               object_pairs_hook=_no_duplicates)
    except _DuplicateKey as e:
        raise BundleError(f"{field}: {e}") from None
    except BaseException as e:  # msgpack raises several types, incl. RecursionError
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise BundleError(f"{field}: not valid msgpack ({type(e).__name__}: "
                          f"{shown(e)})") from None


def read(path):
    """Path -> (payload document, (major, minor) of the file)."""
    path = Path(path)
    return unpack(fileio.read_bytes(path, BundleError, what="bundle"), path)


def unpack(data, path="<bytes>"):
    """A bundle's bytes -> (payload document, (major, minor)); path names it in errors.

    Checks format, version and digest. Minor versions only add optional keys,
    so keys a reader does not know are errors only in files of its own minor."""
    outer = _unpack(data, "bundle")
    if not isinstance(outer, dict) or outer.get("format") != FORMAT:
        raise BundleError(f"{shown(path)}: not an nnspec bundle")
    version = outer.get("version")
    if not isinstance(version, list) or len(version) != 2 or not all(
            type(v) is int and 0 <= v < 1 << 16 for v in version) or version[0] < 1:
        raise BundleError(f"bundle.version: {shown(version)} is not [major, minor] of a "
                          "released format")
    if version[0] > VERSION[0]:
        raise BundleError(f"{shown(path)}: bundle format {version[0]}.{version[1]} was written by a "
                          f"newer nnspec; this one reads format {VERSION[0]}.x")
    check_map(outer, "bundle", {"format": str, "version": list, "sha256": str,
                                "payload": bytes}, allow_extra=tuple(version) > VERSION)
    if hashlib.sha256(outer["payload"]).hexdigest() != outer["sha256"]:
        raise BundleError(f"{shown(path)}: checksum mismatch; the file is corrupt")
    doc = _unpack(outer["payload"], "payload")
    if not isinstance(doc, dict):
        raise BundleError("payload: not a map")
    return doc, tuple(version)


def check_map(obj, field, types, optional=(), allow_extra=False):
    """obj must be a dict with these keys (some optional) of these types, and no others
    unless allow_extra."""
    if not isinstance(obj, dict):
        raise BundleError(f"{field}: expected a map, found {type(obj).__name__}")
    for key, kind in types.items():
        if key not in obj:
            if key in optional:
                continue
            raise BundleError(f"{field}: missing key {shown(repr(key))}")
        value = obj[key]
        if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
            raise BundleError(f"{field}.{key}: expected {_type_name(kind)}, "
                              f"found {type(value).__name__}")
    extra = sorted(set(obj) - set(types), key=str)
    if extra and not allow_extra:
        raise BundleError(f"{field}: unexpected key {shown(repr(extra[0]))}")


def _type_name(kind):
    if isinstance(kind, tuple):
        return " or ".join(_type_name(k) for k in kind)
    return {str: "a string", bytes: "bytes", list: "a list", dict: "a map", int: "an integer",
            float: "a number", type(None): "nil"}.get(kind, kind.__name__)
