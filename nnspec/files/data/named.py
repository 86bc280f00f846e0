"""Named data sets (`data = mnist`): found in a data directory, else downloaded.

A data directory holds one folder per data set with its original files, as
`../shared/data/` does (`mnist/train-images-idx3-ubyte.gz`, ...). It is looked
for in this order: the `data_dir` given (`nnspec train --data-dir`), the
NNSPEC_DATA environment variable, the user's cache directory
(`$XDG_CACHE_HOME/nnspec`, `~/.cache/nnspec`). Missing files are downloaded
into the first of those, from the data set's official location (or from
NNSPEC_DATA_URL, a mirror laid out the same way) by pooch, which retries,
and checks each against its published MD5 sum before it is moved into place.
"""
import os
import sys
from pathlib import Path

from ...errors import DataError
from .files import read_idx

RETRIES = 2  # a download is tried 1 + RETRIES times
_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

SETS = {
    "mnist": {
        "urls": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "http://yann.lecun.com/exdb/mnist/"),
        "md5": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
        "classes": tuple(str(d) for d in range(10)),
    },
    "fashion-mnist": {
        "urls": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "md5": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
        "classes": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot"),
    },
}


def candidates(data_dir=None):
    """The data directories to look in, in order."""
    out = []
    if data_dir:
        out.append(Path(data_dir))
    if os.environ.get("NNSPEC_DATA"):
        out.append(Path(os.environ["NNSPEC_DATA"]))
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    out.append(Path(cache) / "nnspec")
    return out


def locate(name, data_dir=None, download=True):
    """The folder holding data set `name`'s four files, downloading what is missing."""
    dirs = candidates(data_dir)
    for d in dirs:
        if all((d / name / f).is_file() for f in _FILES):
            return d / name
    if not download:
        raise DataError(f"data set '{name}' not found in {', '.join(map(str, dirs))}")
    target = dirs[0] / name
    for file, md5 in zip(_FILES, SETS[name]["md5"]):
        if not (target / file).is_file():
            fetch(name, file, md5, target)
    return target


def fetch(name, file, md5, target):
    """Download one file into target/ with pooch: a connection that fails or a file
    whose MD5 is wrong is tried again (RETRIES times, waiting 1 s, 2 s, ...), and
    only a whole file with the published sum is moved into place."""
    import pooch  # with requests, only when a download is needed
    import requests
    mirror = os.environ.get("NNSPEC_DATA_URL")
    bases = [f"{mirror.rstrip('/')}/{name}/"] if mirror else list(SETS[name]["urls"])
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{target}: cannot make the data directory: {e.strerror}") from None
    errors = []
    for base in bases:  # the official locations in order, or the mirror
        files = pooch.create(path=target, base_url=base, registry={file: f"md5:{md5}"},
                             retry_if_failed=RETRIES)
        try:
            files.fetch(file, downloader=pooch.HTTPDownloader(
                timeout=60, progressbar=sys.stderr.isatty()))
            return
        except (ValueError, requests.RequestException, OSError) as e:
            reason = "cannot connect" if isinstance(e, requests.ConnectionError) \
                else str(e).split(". Deleted")[0]  # pooch's advice after it; ours follows
            errors.append(f"{base}{file}: {reason}")
    raise DataError(f"cannot download {name}/{file} ({'; '.join(errors)}); put the files in "
                    f"{target} or set NNSPEC_DATA to a folder that has them")


def load(name, data_dir=None):
    """-> (x_train, y_train, x_test, y_test, classes); images as uint8 (n, 28, 28, 1)."""
    folder = locate(name, data_dir)
    arrays = [read_idx(folder / f) for f in _FILES]
    x, y, tx, ty = arrays
    for images, labels, part in ((x, y, "train"), (tx, ty, "test")):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{folder}: the {part} images {images.shape} and labels "
                            f"{labels.shape} do not match")
    return x[..., None], y.astype("int64"), tx[..., None], ty.astype("int64"), \
        SETS[name]["classes"]
