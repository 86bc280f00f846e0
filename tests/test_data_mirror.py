"""Downloads from a fake mirror: the MD5 check, the retry and the rejection of a
corrupt file, tested without ../shared/data (as in CI).

The mirror is an HTTP server on 127.0.0.1 in a thread of this process, serving
four tiny IDX files made here; `named.SETS["mnist"]` is given their MD5 sums,
so nnspec's downloader (named.fetch, through pooch) checks them as it checks
the published ones. The server answers at most MAX_REQUESTS requests and stops
by itself after LIFETIME_S seconds, whatever a test does.
"""
import gzip
import hashlib
import http.server
import struct
import threading
import time
import types

import numpy as np
import pytest

from nnspec.errors import DataError
from nnspec.files.data import named

MAX_REQUESTS = 40
LIFETIME_S = 30


def _idx(array):
    """uint8 array -> gzipped IDX bytes (magic 0x08 = unsigned byte), as MNIST's files."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def _files():
    rng = np.random.default_rng(7)
    arrays = (rng.integers(0, 256, (5, 4, 3)), rng.integers(0, 10, 5),
              rng.integers(0, 256, (2, 4, 3)), rng.integers(0, 10, 2))
    return dict(zip(named._FILES, map(_idx, arrays)))


def _corrupt(data):
    """The same length, one byte of the payload flipped."""
    out = bytearray(data)
    out[len(out) // 2] ^= 0xFF
    return bytes(out)


class Mirror:
    """answers[file]: what each request for /mnist/<file> gets in turn (bytes, or an
    HTTP error status), the last one repeated. `requests` lists the files asked for."""

    def __init__(self, answers):
        self.answers, self.requests = answers, []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                mirror.requests.append(name)
                given = mirror.answers.get(name, [404]) if self.path.startswith("/mnist/") \
                    else [404]
                answer = given[min(mirror.requests.count(name), len(given)) - 1]
                if isinstance(answer, int):
                    self.send_error(answer)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.server.timeout = 0.05  # handle_request returns this often to check the bounds
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        deadline = time.monotonic() + LIFETIME_S
        while not self.stop.is_set() and time.monotonic() < deadline \
                and len(self.requests) < MAX_REQUESTS:
            self.server.handle_request()
        self.server.server_close()

    def close(self):
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def files():
    return _files()


@pytest.fixture
def serve(monkeypatch, tmp_path, files):
    """serve(answers) -> the running Mirror, with nnspec pointed at it: NNSPEC_DATA_URL
    set, mnist's MD5 sums those of `files`, and pooch's waits between tries recorded
    (in `mirror.waits`) instead of slept."""
    monkeypatch.delenv("NNSPEC_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    md5 = tuple(hashlib.md5(files[f]).hexdigest() for f in named._FILES)
    monkeypatch.setitem(named.SETS, "mnist", {**named.SETS["mnist"], "md5": md5})
    import pooch.core
    waits = []
    monkeypatch.setattr(pooch.core, "time", types.SimpleNamespace(sleep=waits.append))
    started = []

    def start(answers):
        mirror = Mirror(answers)
        mirror.waits = waits
        started.append(mirror)
        monkeypatch.setenv("NNSPEC_DATA_URL", mirror.url)
        return mirror
    yield start
    for mirror in started:
        mirror.close()


def test_a_download_with_the_right_md5s_is_kept_and_loads(serve, files, tmp_path):
    mirror = serve({f: [data] for f, data in files.items()})
    folder = named.locate("mnist", tmp_path / "data")
    assert folder == tmp_path / "data" / "mnist"
    assert mirror.requests == list(named._FILES) and mirror.waits == []
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    x, y, tx, ty, classes = named.load("mnist", tmp_path / "data")
    assert x.shape == (5, 4, 3, 1) and tx.shape == (2, 4, 3, 1) and y.shape == (5,)
    assert classes == named.SETS["mnist"]["classes"]


def test_a_corrupt_download_is_tried_again_then_rejected_and_not_kept(serve, files, tmp_path):
    """Every answer for the test labels has one byte flipped: each try fails the MD5
    check, and no file is left for a later run to find."""
    bad = named._FILES[3]
    mirror = serve({f: [_corrupt(data) if f == bad else data] for f, data in files.items()})
    md5 = named.SETS["mnist"]["md5"][3]
    with pytest.raises(DataError, match=f"cannot download mnist/{bad} .*MD5 hash of downloaded "
                       f"file .* does not match the known hash: expected md5:{md5}"):
        named.locate("mnist", tmp_path / "data")
    assert mirror.requests.count(bad) == 1 + named.RETRIES
    folder = tmp_path / "data" / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(named._FILES[:3])  # no partial file
    with pytest.raises(DataError, match="data set 'mnist' not found"):
        named.locate("mnist", tmp_path / "data", download=False)


def test_a_corrupt_first_answer_is_tried_again_and_the_right_file_kept(serve, files, tmp_path):
    mirror = serve({f: [_corrupt(data), data] for f, data in files.items()})
    folder = named.locate("mnist", tmp_path / "data")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    assert mirror.requests == [f for f in named._FILES for _ in (1, 2)]


def test_a_download_that_fails_once_is_tried_again(serve, files, tmp_path):
    """A mirror that answers 503 to each file's first request still delivers the set,
    after one wait of 1 s (pooch's first back-off) a file."""
    mirror = serve({f: [503, data] for f, data in files.items()})
    folder = named.locate("mnist", tmp_path / "data")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    assert mirror.requests == [f for f in named._FILES for _ in (1, 2)]
    assert mirror.waits == [1] * 4


def test_a_mirror_that_keeps_failing_is_one_clear_error(serve, files, tmp_path):
    mirror = serve({f: [500] for f in files})
    with pytest.raises(DataError, match=f"cannot download mnist/{named._FILES[0]} "
                       f"\\({mirror.url}/mnist/{named._FILES[0]}: 500 Server Error"):
        named.locate("mnist", tmp_path / "data")
    assert mirror.requests == [named._FILES[0]] * (1 + named.RETRIES)
    assert mirror.waits == [1, 2][:named.RETRIES]
