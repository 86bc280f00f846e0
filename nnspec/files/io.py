"""Reading and writing files safely: every problem is one error naming the file.

Reads take regular files only, and check the size before reading, so that a
FIFO, /dev/zero or a terminal given as a bundle, spec or data file is an error
at once rather than a hang or a read until memory runs out. Writes are atomic:
a temporary file beside the target, flushed and fsynced, then renamed over it,
so a crash, Ctrl-C or SIGTERM mid-write leaves the previous file whole.
"""
import os
import stat
import tempfile
from pathlib import Path

from ..errors import NNSpecError, SpecError, shown

# The largest file nnspec reads: far above any bundle or data set it makes
# (MNIST's training images are 47 MB), far below this machine's memory.
MAX_READ_BYTES = 4 << 30
MAX_SPEC_BYTES = 16 << 20  # a 10,000-layer spec is 100 kB


def read_bytes(path, error=NNSpecError, limit=MAX_READ_BYTES, what="file"):
    """The bytes of a regular file of at most `limit` bytes, else `error`. error(message)
    makes the exception; a SpecError gets the path as its source instead."""
    path = Path(path)

    def fail(message):
        if issubclass(error, SpecError):
            return error(message, source=shown(path))
        return error(f"{shown(path)}: {message}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise fail(f"cannot read {what}: {e.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise fail(f"cannot read {what}: {kind}")
        if info.st_size > limit:
            raise fail(f"{info.st_size:,} bytes, more than the {limit:,} a {what} may have")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(info.st_size + 1)  # one more byte shows a file that grew
    except OSError as e:
        raise fail(f"cannot read {what}: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if len(data) > info.st_size:
        raise fail(f"cannot read {what}: the file grew while being read")
    return data


def read_spec(text_or_path):
    """-> (text, source name). A Path, or a one-line string ending in .nn, is a file."""
    if isinstance(text_or_path, Path) or ("\n" not in text_or_path
                                          and text_or_path.strip().endswith(".nn")):
        path = Path(text_or_path)
        data = read_bytes(path, SpecError, MAX_SPEC_BYTES, "spec")
        try:
            return data.decode("utf-8"), str(path)
        except UnicodeDecodeError as e:
            raise SpecError(f"cannot read spec: not UTF-8 text ({e.reason} at byte {e.start})",
                            source=shown(path)) from None
    return text_or_path, "<spec>"


def check_writable(path, error=NNSpecError):
    """Fail now, not after hours of training, if `path` cannot be written:
    an empty name, a folder, a missing or read-only folder."""
    if not str(path):
        raise error("the output path is empty")
    path = Path(path)
    if path.is_dir():
        raise error(f"{shown(path)}: is a folder; name a file to write")
    folder = path.parent
    if not folder.is_dir():
        raise error(f"{shown(path)}: cannot write: the folder {shown(folder)} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise error(f"{shown(path)}: cannot write: the folder {shown(folder)} is not writable")


def _temp_prefix(path):
    return f".{path.name}."


def _remove_stale(path):
    """Temporary files of earlier writes to `path` that a kill left behind: those
    whose writer (the pid in the name) is gone."""
    for tmp in path.parent.glob(f"{_temp_prefix(path)}*.tmp"):
        pid = tmp.name[len(_temp_prefix(path)):].split(".", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            tmp.unlink(missing_ok=True)


def alive(pid):
    """Whether a process of this id runs on this machine (one we may not signal runs;
    a zombie, dead but not yet reaped by its parent, does not: where nothing reaps
    orphans, as in many containers, a killed process stays one)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):  # no /proc (not Linux): as the signal said
        return True


def write_atomic(path, data, error=NNSpecError):
    """Write bytes to path atomically. Every OS error is `error` naming the path."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    tmp = None
    try:
        _remove_stale(path)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{_temp_prefix(path)}{os.getpid()}.",
                                   suffix=".tmp")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a bundle is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise error(f"{shown(path)}: cannot write: {e.strerror or e}") from None
    finally:
        if tmp is not None:  # an error, Ctrl-C or SIGTERM before the rename
            Path(tmp).unlink(missing_ok=True)
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
