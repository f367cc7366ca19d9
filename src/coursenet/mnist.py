"""IDX files on disk and on the wire: MNIST's and Fashion-MNIST's, verified.

This module is the trust boundary between the course and its data files. The
loaders that the notebooks call (:func:`coursenet.data.load_mnist`,
:func:`coursenet.data.load_fashion_mnist`) live in :mod:`coursenet.data`;
here are the files, where they come from and how they are checked:

* :func:`fetch_mnist` and :func:`fetch_fashion_mnist` return the *bytes* of the
  four gzipped IDX files of a data set, each one verified against a pinned
  SHA-256 and size. A file is read once, and the bytes that were hashed are the
  bytes returned and parsed, so a cached file replaced after its check is never
  used unverified.
* :func:`parse_idx` turns IDX bytes (gzipped or not) into a numpy array and
  refuses anything that is not exactly one well-formed IDX file.

Where the files come from, in order: a local directory of trusted copies (for
MNIST the canonical test files bundled with coursenet; for Fashion-MNIST
Debian's ``dataset-fashion-mnist`` package), then the cache, then public
mirrors in turn. A download is streamed into a temporary ``<name>.<12 hex
digits>.part`` file in the cache, never read past its pinned size, and renamed
into place only once its checksum matches. Any failure of one mirror (an HTTP
error, a refused or reset connection, a timeout, an answer that is not HTTP, a
body cut short, a wrong size or checksum, or a transfer too slow to finish in
time) moves on to the next. Each mirror gets an overall deadline of ``timeout +
size / MIN_RATE`` seconds per file (``timeout`` alone bounds each single network
operation), so a server that trickles bytes is abandoned. Temporary files of a
process that was killed are removed by the next fetch once nobody has written to
them for :data:`STALE_PART_SECONDS` (a live download writes far more often), so
processes sharing one cache never delete each other's work. Cached files get
ordinary permissions (the umask's), so a cache shared through
``$COURSENET_DATA`` works for everyone. Nothing is ever unpickled.

Environment: ``COURSENET_DATA`` (cache directory), ``COURSENET_OFFLINE``
(``1``/``true``/``yes``/``on``: never download; ``0``/``false``/``no``/``off``
or unset: download when needed) and ``COURSENET_FASHION_DIR`` (a directory
holding Fashion-MNIST's four files; default Debian's
``/usr/share/datasets/fashion-mnist``).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import re
import secrets
import socket
import sys
import threading
import time
import urllib.request
import warnings
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

from coursenet._checks import env_flag, positive_number

# name -> SHA-256 and size in bytes of MNIST's canonical gzipped IDX files, as
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
# MNIST's test files ship inside the package (coursenet/_data, credited in
# MNIST_TEST_NOTICE.txt): name -> (SHA-256, size), byte for byte the files above
BUNDLED_MNIST = {name: (MNIST_FILES[name], MNIST_SIZES[name])
                 for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}

# Zalando's Fashion-MNIST files as its repository and its S3 bucket serve them.
# Zalando publishes MD5s (8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...);
# the SHA-256s below are of files with exactly those MD5s, rebuilt from Debian's
# copies by scripts/check_fashion_checksums.py (which shows how).
FASHION_FILES = {
    "train-images-idx3-ubyte.gz":
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz":
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz":
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz":
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
FASHION_SIZES = {
    "train-images-idx3-ubyte.gz": 26_421_880,
    "train-labels-idx1-ubyte.gz": 29_515,
    "t10k-images-idx3-ubyte.gz": 4_422_102,
    "t10k-labels-idx1-ubyte.gz": 5_148,
}
# Debian recompresses the files (same data, another gzip header), so a local
# copy is checked by the SHA-256 and size of its *decompressed* IDX data
FASHION_IDX_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz":
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz":
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz":
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FASHION_IDX_SIZES = {
    "train-images-idx3-ubyte.gz": 47_040_016,
    "train-labels-idx1-ubyte.gz": 60_008,
    "t10k-images-idx3-ubyte.gz": 7_840_016,
    "t10k-labels-idx1-ubyte.gz": 10_008,
}
FASHION_MIRRORS = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
# where Debian's dataset-fashion-mnist package puts the four files
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CACHE_SUBDIR = "fashion-mnist"  # MNIST's files sit in the cache's top level

CACHE_ENV = "COURSENET_DATA"
OFFLINE_ENV = "COURSENET_OFFLINE"
FASHION_DIR_ENV = "COURSENET_FASHION_DIR"
MIN_RATE = 20_000  # bytes/s: a mirror slower than this on average is abandoned
STALE_PART_SECONDS = 600  # a .part file untouched this long belongs to a dead process
_CHUNK = 1 << 16
# every way a network, a server or a proxy can fail one download
_MIRROR_FAILURES = (OSError, http.client.HTTPException, ValueError, EOFError)


class DownloadError(OSError):
    """A data set's files are in no local directory, not cached, not downloadable."""


def offline() -> bool:
    """True if ``$COURSENET_OFFLINE`` asks never to download."""
    return env_flag(OFFLINE_ENV)


def default_cache_dir() -> Path:
    """``$COURSENET_DATA``, else the platform's user cache directory + coursenet.

    Raises ``ValueError`` naming ``$COURSENET_DATA`` if it starts with a ``~``
    that cannot be expanded (for instance ``~nosuchuser/x``).
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return _expand(env, f"${CACHE_ENV}")
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        # the XDG spec: a relative path is invalid and must be ignored
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "coursenet"


def _expand(value, what) -> Path:
    try:
        return Path(value).expanduser()
    except RuntimeError as err:  # "Could not determine home directory."
        raise ValueError(f"{what}={str(value)!r} cannot be used: its ~ cannot be"
                         f" expanded ({err}). Give a directory that exists or can"
                         " be created, e.g. an absolute path.") from None


def _check_path(value, name):
    """``value`` as a ``Path`` (``~`` expanded); ``None`` stays ``None``.

    A ``TypeError`` names ``name`` unless ``value`` is a ``str`` or ``os.PathLike``.
    """
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes):
        raise TypeError(f"{name} must be a directory path (str or os.PathLike), got"
                        f" {value!r}")
    if not os.fspath(value):  # Path("") is the current folder
        raise ValueError(f"{name} must be a directory path, got an empty string")
    return _expand(value, name)


def _check_mirrors(mirrors, default):
    """A fresh list of base URLs: ``default`` if ``mirrors`` is None."""
    if mirrors is None:
        return list(default)
    if not isinstance(mirrors, (list, tuple)) or not all(
            isinstance(m, str) for m in mirrors):
        raise TypeError("mirrors must be a list of base URLs (a list or tuple of"
                        f" strings), got {mirrors!r}")
    for m in mirrors:
        if not m.startswith(("http://", "https://")):
            raise ValueError(f"mirrors must be http:// or https:// URLs, got {m!r}")
    return list(mirrors)


def _check_download_options(timeout, progress):
    """Validate the ``timeout`` and ``progress`` arguments shared by the fetchers."""
    positive_number(timeout, "timeout")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {progress!r}")


def fetch_mnist(cache_dir=None, *, mirrors=None, timeout=10.0, progress=True):
    """The four MNIST files, verified: ``{file name: gzipped IDX bytes}``.

    The test files come from the copies bundled with coursenet; the training
    files from the cache (``cache_dir``, default :func:`default_cache_dir`) or,
    if missing or damaged, from ``mirrors`` (default :data:`MIRRORS`), which
    also fills the cache. ``timeout``: seconds for each network operation (a
    mirror's overall deadline per file is ``timeout + size / MIN_RATE``).
    Raises :class:`DownloadError` if a file is missing and no mirror delivers
    it (the message lists what each mirror did), or if the cache cannot be
    read or written.
    """
    cache = _check_path(cache_dir, "cache_dir")
    mirrors = _check_mirrors(mirrors, MIRRORS)
    _check_download_options(timeout, progress)
    files = {name: (sha, MNIST_SIZES[name]) for name, sha in MNIST_FILES.items()}
    return _fetch("MNIST", files, cache, _bundled_mnist, mirrors, timeout, progress)


def fetch_fashion_mnist(cache_dir=None, *, data_dir=None, mirrors=None, timeout=10.0,
                        progress=True):
    """Fashion-MNIST's four files, verified: ``{file name: IDX bytes}``.

    Looked for in ``data_dir`` (default ``$COURSENET_FASHION_DIR``, else
    Debian's :data:`DEBIAN_FASHION_DIR`; checked by the SHA-256 of the
    decompressed data, since Debian recompresses them), then in the cache's
    ``fashion-mnist/`` folder, then downloaded from ``mirrors`` (default
    :data:`FASHION_MIRRORS`, Zalando's) into that folder. A file in
    ``data_dir`` that does not match is ignored with a warning.
    Raises :class:`DownloadError` when all of that fails.
    """
    cache = _check_path(cache_dir, "cache_dir")
    if data_dir is None:
        env = os.environ.get(FASHION_DIR_ENV)
        local = _expand(env, f"${FASHION_DIR_ENV}") if env else DEBIAN_FASHION_DIR
    else:
        local = _check_path(data_dir, "data_dir")
        if not local.is_dir():  # given on purpose: a typo must not mean a download
            raise ValueError(f"data_dir {str(local)!r} is not a directory")
    mirrors = _check_mirrors(mirrors, FASHION_MIRRORS)
    _check_download_options(timeout, progress)
    files = {name: (sha, FASHION_SIZES[name]) for name, sha in FASHION_FILES.items()}

    def from_local(name):
        return _read_local_idx(local / name, FASHION_IDX_SHA256[name],
                               FASHION_IDX_SIZES[name])

    return _fetch("Fashion-MNIST", files, cache, from_local, mirrors, timeout,
                  progress, subdir=FASHION_CACHE_SUBDIR)


def _fetch(label, files, cache, from_local, mirrors, timeout, progress, subdir=None):
    """``{name: verified bytes}`` for ``files`` = ``{name: (sha256, size)}``."""
    if cache is None:
        try:
            cache = default_cache_dir()
        except ValueError as err:
            raise DownloadError(f"{err} (or pass cache_dir=)") from None
    if subdir:
        cache = cache / subdir
    is_offline = offline()
    if is_offline:
        mirrors = []
    _remove_stale_parts(cache, files)
    blobs = {}
    for name, (sha256, size) in files.items():
        blob = from_local(name)
        if blob is not None:
            blobs[name] = blob
            continue
        path = cache / name
        blob = _read_cached(path, sha256, size)
        if blob is not None:
            blobs[name] = blob
            continue
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
                blob = _download(url, path, sha256, size, timeout, progress)
            except _MIRROR_FAILURES as err:
                errors.append(f"{url}: {type(err).__name__}: {err}")
                continue
            mirrors.remove(base)
            mirrors.insert(0, base)  # try the mirror that worked first next time
            blobs[name] = blob
            break
        else:
            if is_offline:
                errors.append(f"no download attempted (${OFFLINE_ENV} is set)")
            elif not errors:
                errors.append("no mirrors given")
            raise DownloadError(f"could not get {label}'s {name} (not in the cache"
                                f" {cache}):\n  " + "\n  ".join(errors))
    return blobs


def _bundled_mnist(name):
    """A file bundled with coursenet, if it is the one ``MNIST_FILES`` pins."""
    if name not in BUNDLED_MNIST or BUNDLED_MNIST[name][0] != MNIST_FILES.get(name):
        return None
    return _read_bundled(name)


def _read_bundled(name):
    """The bytes of a bundled file, verified against :data:`BUNDLED_MNIST`."""
    sha256, size = BUNDLED_MNIST[name]
    blob = (resources.files("coursenet") / "_data" / name).read_bytes()
    if len(blob) != size or _sha256(blob) != sha256:
        raise DownloadError(f"the copy of {name} bundled with coursenet is damaged;"
                            " reinstall coursenet")
    return blob


def _read_cached(path, sha256, size):
    """The bytes of ``path`` if it is the pinned file, else None (warned if damaged).

    The file is opened once and read at most ``size + 1`` bytes: what is hashed is
    what is returned, whatever happens to the file afterwards.
    """
    try:
        with open(path, "rb") as fh:
            blob = fh.read(size + 1)
    except (FileNotFoundError, NotADirectoryError):  # not cached (yet)
        return None
    except OSError as err:
        raise DownloadError(
            f"cannot read the cached file {path}: {err}. Fix its permissions,"
            f" or point ${CACHE_ENV} (or cache_dir=) to a directory you can"
            " read and write.") from err
    if len(blob) == size and _sha256(blob) == sha256:
        return blob
    warnings.warn(f"cached {path} is damaged (wrong size or checksum); fetching it"
                  " again", stacklevel=5)
    return None


def _read_local_idx(path, raw_sha256, raw_size):
    """Decompressed IDX bytes of a trusted local copy, or None if absent or wrong."""
    try:
        with open(path, "rb") as fh:
            # gzip adds at most a few bytes per 16 kB to incompressible data
            blob = fh.read(raw_size + raw_size // 100 + 1024)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        warnings.warn(f"cannot read {path} ({err}); ignoring it", stacklevel=5)
        return None
    if blob[:2] == b"\x1f\x8b":
        try:
            unzip = zlib.decompressobj(wbits=31)  # gzip wrapper
            raw = unzip.decompress(blob, raw_size + 1)
            intact = unzip.eof and not unzip.unused_data
        except zlib.error:
            raw, intact = b"", False
    else:
        raw, intact = blob, True
    if intact and len(raw) == raw_size and _sha256(raw) == raw_sha256:
        return raw
    warnings.warn(f"{path} is not the file coursenet expects (wrong size or"
                  " checksum); ignoring it", stacklevel=5)
    return None


def _remove_stale_parts(cache, files):
    """Delete our own ``<name>.<12 hex>.part`` files that nobody wrote to lately."""
    names = "|".join(map(re.escape, files))
    pattern = re.compile(f"({names})" + r"\.[0-9a-f]{12}\.part")
    try:
        entries = list(os.scandir(cache))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime > STALE_PART_SECONDS:
                os.unlink(entry.path)
        except OSError:  # gone already, or not ours to delete
            pass


class _Watchdog:
    """Shuts the sockets of one download down when its deadline passes."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.expired = False
        self.sockets = []
        self.lock = threading.Lock()
        self.timer = threading.Timer(seconds, self.expire)
        self.timer.daemon = True

    def add(self, sock):
        with self.lock:
            self.sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def expire(self):
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                _shutdown(sock)

    def opener(self):
        watchdog = self

        def watched(connection_class):
            class Watched(connection_class):
                def connect(self):
                    super().connect()
                    watchdog.add(self.sock)
            return Watched

        class HTTP(urllib.request.HTTPHandler):
            def do_open(self, http_class, req, **kwargs):
                return super().do_open(watched(http_class), req, **kwargs)

        class HTTPS(urllib.request.HTTPSHandler):
            def do_open(self, http_class, req, **kwargs):
                return super().do_open(watched(http_class), req, **kwargs)

        return urllib.request.build_opener(HTTP, HTTPS)


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _download(url, path, sha256, size, timeout, progress):
    """Stream ``url`` into a temp file next to ``path``; rename after the checksum.

    Returns the verified bytes. Never reads more than ``size`` bytes (+1 to
    notice an overlong body), and gives up after ``timeout + size / MIN_RATE``
    seconds whatever the server does.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "coursenet"})
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(6)}.part")
    watchdog = _Watchdog(timeout + size / MIN_RATE)
    bar = None
    blob = bytearray()  # what was received so far
    try:
        watchdog.timer.start()
        with watchdog.opener().open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            declared = int(declared) if declared and declared.isdigit() else None
            if declared is not None and declared != size:
                raise DownloadError(f"wrong size: the server announces {declared}"
                                    f" bytes, the file has {size}")
            # O_EXCL with mode 0o666: the umask decides, as for any file
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_BINARY", 0), 0o666)
            bar = _bytes_bar(size, path.name) if progress else None
            with os.fdopen(fd, "wb") as out:
                _stream(response, out, blob, size, bar)
        received = len(blob)
        if received != size:
            if watchdog.expired:
                raise DownloadError(_too_slow(watchdog, received, size))
            raise DownloadError(f"truncated: got {received} of {size} bytes")
        digest = _sha256(blob)
        if digest != sha256:
            raise DownloadError(f"checksum mismatch: got sha256 {digest}, expected"
                                f" {sha256}")
        os.replace(tmp, path)
        return bytes(blob)
    except _MIRROR_FAILURES as err:
        if watchdog.expired and not isinstance(err, DownloadError):
            raise DownloadError(_too_slow(watchdog, len(blob), size)) from err
        raise
    finally:
        watchdog.timer.cancel()
        if bar is not None:
            bar.close()
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _stream(response, out, blob, size, bar):
    """Copy the body into ``out`` and append it to ``blob``.

    At most ``size + 1`` bytes are read (one more tells an overlong body).
    """
    received = 0
    while True:
        # read1: whatever has arrived, so a slow server cannot keep one call
        # busy past the deadline
        chunk = response.read1(min(_CHUNK, size + 1 - received))
        if not chunk:
            return
        out.write(chunk)
        blob += chunk
        received += len(chunk)
        if bar is not None:
            bar.update(len(chunk))
        if received > size:
            raise DownloadError(f"too long: more than the {size} bytes the file has")


def _too_slow(watchdog, received, size):
    return (f"too slow: {received} of {size} bytes after {watchdog.seconds:.1f} s"
            f" (the deadline is timeout + size / {MIN_RATE} bytes per second)")


def _bytes_bar(total, name):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {name}")


def _sha256(blob) -> str:
    return hashlib.sha256(blob).hexdigest()


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4",
               0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(path_or_bytes):
    """Read one IDX file (optionally gzipped) into a numpy array, validating it.

    Layout: two zero bytes, a dtype code, the number of dimensions, then one
    big-endian uint32 per dimension, then exactly the data those dimensions
    need: a shorter or longer file (trailing bytes) is a ``ValueError``.
    Give bytes to parse data you have verified; a path is read once.
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        raw = bytes(path_or_bytes)
        where = "IDX data"
    elif isinstance(path_or_bytes, (str, os.PathLike)):
        raw = Path(path_or_bytes).read_bytes()
        where = str(path_or_bytes)
    else:
        raise TypeError("path_or_bytes must be bytes or a file path, got"
                        f" {type(path_or_bytes).__name__}")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
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


__all__ = ["fetch_mnist", "fetch_fashion_mnist", "parse_idx", "default_cache_dir",
           "offline", "DownloadError", "MNIST_FILES", "MNIST_SIZES", "MIRRORS",
           "BUNDLED_MNIST", "FASHION_FILES", "FASHION_SIZES", "FASHION_IDX_SHA256",
           "FASHION_IDX_SIZES", "FASHION_MIRRORS", "DEBIAN_FASHION_DIR",
           "FASHION_CACHE_SUBDIR", "CACHE_ENV", "OFFLINE_ENV", "FASHION_DIR_ENV",
           "MIN_RATE", "STALE_PART_SECONDS"]
