"""MNIST downloads against servers this file starts on 127.0.0.1, good and broken.

Every test is bounded in time (timeouts of a fraction of a second) and in bytes
(the endless server stops on its own after a few megabytes).
"""

import gzip
import hashlib
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import (
    data,
    mnist,
)

NUM_TRAIN, NUM_TEST = 30, 10
ENDLESS_CAP = 4 << 20  # the endless server gives up after this many bytes
TRICKLE_CAP = 30  # seconds: the trickling servers give up after this long


def idx_bytes(array, code=0x08):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I",
                                                           *array.shape)
    return header + array.tobytes()


@pytest.fixture
def fake_mnist(monkeypatch):
    """Small IDX files, their checksums and sizes pinned in place of the real ones."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (NUM_TRAIN, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, NUM_TRAIN),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (NUM_TEST, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, NUM_TEST),
    }
    files = {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in arrays.items()}
    monkeypatch.setattr(mnist, "MNIST_FILES", {
        name: hashlib.sha256(blob).hexdigest() for name, blob in files.items()})
    monkeypatch.setattr(mnist, "MNIST_SIZES", {n: len(b) for n, b in files.items()})
    monkeypatch.setattr(data, "MNIST_NUM_VAL", 5)
    monkeypatch.delenv(mnist.OFFLINE_ENV, raising=False)
    return files, arrays


class Server:
    """A TCP server on 127.0.0.1 speaking just enough HTTP to misbehave on purpose.

    ``routes[prefix] = (mode, files)``; modes: ``ok``, ``status:<code>``,
    ``not-http``, ``reset`` (close without a word), ``hang`` (never answer),
    ``chunked-short`` (a chunked body cut off), ``short`` (a body shorter than
    its Content-Length), ``endless`` (a body without end or length),
    ``long-length`` (announces a wrong Content-Length), ``trickle`` (a right
    Content-Length, then 64 bytes every 0.4 s), ``trickle-headers`` (one header
    byte every 0.4 s). Tricklers give up after ``TRICKLE_CAP`` seconds.
    """

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.sent = 0
        self.release = threading.Event()
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline(65536).decode("latin-1")
                while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass
                path = line.split(" ")[1] if line.count(" ") >= 2 else "/"
                server.requests.append(path)
                prefix, _, name = path.strip("/").partition("/")
                mode, files = server.routes.get(prefix, ("status:404", {}))
                body = files.get(name)
                if mode == "ok" and body is None:
                    mode = "status:404"
                try:
                    self.respond(mode, body)
                except OSError:  # the client hung up: fine
                    pass

            def send(self, raw):
                self.wfile.write(raw)
                server.sent += len(raw)

            def respond(self, mode, body):
                if mode == "ok":
                    self.send(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n"
                              % len(body) + body)
                elif mode.startswith("status:"):
                    code = int(mode.split(":")[1])
                    self.send(b"HTTP/1.0 %d Nope\r\nContent-Length: 0\r\n\r\n" % code)
                elif mode == "not-http":
                    self.send(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
                elif mode == "reset":
                    pass
                elif mode == "hang":
                    server.release.wait(10)
                elif mode == "chunked-short":
                    half = body[:len(body) // 2]
                    self.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                              b"Connection: close\r\n\r\n"
                              + b"%x\r\n" % len(body) + half)
                elif mode == "short":
                    self.send(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n"
                              % len(body) + body[:-100])
                elif mode == "long-length":
                    self.send(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n"
                              % (len(body) + 10) + body + bytes(10))
                elif mode == "trickle":
                    self.send(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n"
                              % len(body))
                    end = time.monotonic() + TRICKLE_CAP
                    for i in range(0, len(body), 64):
                        if time.monotonic() > end or server.release.is_set():
                            break
                        self.send(body[i:i + 64])
                        time.sleep(0.4)
                elif mode == "trickle-headers":
                    self.send(b"HTTP/1.0 200 OK\r\nX-Slow: ")
                    end = time.monotonic() + TRICKLE_CAP
                    while time.monotonic() < end and not server.release.is_set():
                        self.send(b"z")
                        time.sleep(0.4)
                elif mode == "endless":
                    self.send(b"HTTP/1.0 200 OK\r\n\r\n" + body)
                    block = bytes(1 << 16)
                    while server.sent < ENDLESS_CAP:
                        self.send(block)
                else:  # pragma: no cover - a typo in a test
                    raise AssertionError(mode)

        class TCPServer(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.tcp = TCPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.tcp.serve_forever,
                                       kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def url(self, prefix):
        return f"http://127.0.0.1:{self.tcp.server_address[1]}/{prefix}/"

    def close(self):
        self.release.set()
        self.tcp.shutdown()
        self.tcp.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def load(cache, mirrors, **kwargs):
    kwargs.setdefault("progress", False)
    kwargs.setdefault("timeout", 0.5)
    return data.load_mnist(cache_dir=cache, mirrors=mirrors, **kwargs)


def test_download_error_is_an_os_error():
    assert issubclass(mnist.DownloadError, OSError)


def test_download_success_split_signed_labels_and_ordinary_permissions(
        fake_mnist, server, tmp_path):
    files, arrays = fake_mnist
    server.routes["good"] = ("ok", files)
    old = os.umask(0o022)
    try:
        (xtr, ytr), (xval, yval), n = load(tmp_path, [server.url("good")],
                                           source="full")
    finally:
        os.umask(old)
    images = arrays["train-images-idx3-ubyte.gz"].reshape(NUM_TRAIN, -1)
    labels = arrays["train-labels-idx1-ubyte.gz"]
    assert np.array_equal(xtr, images[:-5]) and np.array_equal(xval, images[-5:])
    assert np.array_equal(ytr, labels[:-5]) and np.array_equal(yval, labels[-5:])
    assert ytr.dtype == np.int64 and yval.dtype == np.int64  # y - 1 cannot wrap
    for p in tmp_path.iterdir():  # readable by everyone, as the umask says
        assert p.stat().st_mode & 0o777 == 0o644, (p, oct(p.stat().st_mode))
    (xtr, _), (xte, yte), _ = load(tmp_path, [server.url("good")], final=True,
                                   flatten=False)
    assert xtr.shape == (NUM_TRAIN, 28, 28)
    assert np.array_equal(yte, arrays["t10k-labels-idx1-ubyte.gz"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    assert len(server.requests) == 4  # the second call came from the cache


BROKEN = {
    "not-http": "BadStatusLine",
    "reset": "RemoteDisconnected",
    "hang": "timed out",
    "chunked-short": "IncompleteRead",
    "short": "IncompleteRead|truncated",
    "long-length": "wrong size",
    "endless": "too long",
    "status:403": "403",
    "status:500": "500",
}


@pytest.mark.parametrize("mode", sorted(BROKEN))
def test_a_broken_mirror_is_skipped_for_the_next(fake_mnist, server, tmp_path, mode):
    files, arrays = fake_mnist
    server.routes["bad"] = (mode, files)
    server.routes["good"] = ("ok", files)
    # timeout=2, not 0.5: on a loaded machine the good mirror may take a second
    # to answer; only the 'hang' case waits for the timeout
    (_, ytr), _, _ = load(tmp_path, [server.url("bad"), server.url("good")],
                          source="full", timeout=2)
    # the bad mirror is asked once, for the first file; then the good one leads
    assert [r.split("/")[1] for r in server.requests] == ["bad"] + ["good"] * len(
        files), server.requests
    assert np.array_equal(ytr, arrays["train-labels-idx1-ubyte.gz"][:-5])
    assert server.requests[0].startswith("/bad/")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)  # no .part
    assert server.sent < ENDLESS_CAP  # the endless body was not read to its end


@pytest.mark.parametrize("mode", sorted(BROKEN))
def test_only_broken_mirrors_full_is_a_download_error_saying_what_happened(
        fake_mnist, server, tmp_path, mode):
    files, _ = fake_mnist
    server.routes["bad"] = (mode, files)
    server.routes["also"] = ("status:503", {})
    with pytest.raises(mnist.DownloadError) as info:
        load(tmp_path, [server.url("bad"), server.url("also")], source="full")
    message = str(info.value)
    assert server.url("bad") in message and server.url("also") in message
    assert "503" in message
    import re
    assert re.search(BROKEN[mode], message), message
    assert list(tmp_path.iterdir()) == []  # nothing half-downloaded is left


@pytest.mark.parametrize("mode", ["not-http", "chunked-short", "endless"])
def test_only_broken_mirrors_auto_falls_back_to_the_sample(fake_mnist, server,
                                                           tmp_path, mode):
    files, _ = fake_mnist
    server.routes["bad"] = (mode, files)
    with pytest.warns(data.SampleDataWarning, match="bundled sample"):
        (xtr, ytr), (xval, _), _ = load(tmp_path, [server.url("bad")])
    assert (len(xtr), len(xval)) == (4500, 500) and ytr.dtype == np.int64


def test_truncated_download_is_rejected_and_never_cached(fake_mnist, server, tmp_path):
    files, _ = fake_mnist
    server.routes["short"] = ("short", files)
    with pytest.raises(mnist.DownloadError, match="IncompleteRead|truncated"):
        load(tmp_path, [server.url("short")], source="full")
    assert list(tmp_path.iterdir()) == []


def test_wrong_checksum_is_rejected_and_cache_untouched(fake_mnist, server, tmp_path):
    files, _ = fake_mnist
    name = "t10k-labels-idx1-ubyte.gz"
    blob = files[name]
    tampered = dict(files, **{name: bytes([blob[0] ^ 1]) + blob[1:]})  # same size
    server.routes["evil"] = ("ok", tampered)
    with pytest.raises(mnist.DownloadError, match="checksum mismatch"):
        load(tmp_path, [server.url("evil")], source="full")
    assert not (tmp_path / name).exists()
    assert not list(tmp_path.glob("*.part"))
    for p in tmp_path.iterdir():  # what did land is exactly the verified files
        assert hashlib.sha256(p.read_bytes()).hexdigest() == mnist.MNIST_FILES[p.name]


def test_corrupted_cache_file_is_detected_and_fetched_again(fake_mnist, server,
                                                            tmp_path):
    files, arrays = fake_mnist
    server.routes["good"] = ("ok", files)
    load(tmp_path, [server.url("good")], source="full")
    name = "train-labels-idx1-ubyte.gz"
    (tmp_path / name).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="damaged"):
        (_, ytr), _, _ = load(tmp_path, [server.url("good")], source="full")
    assert np.array_equal(ytr, arrays[name][:-5])
    assert (tmp_path / name).read_bytes() == files[name]
    assert server.requests.count(f"/good/{name}") == 2


def test_an_unreadable_cache_is_a_clear_error_or_the_sample(fake_mnist, server,
                                                           tmp_path, monkeypatch):
    files, _ = fake_mnist
    server.routes["good"] = ("ok", files)
    load(tmp_path, [server.url("good")], source="full")

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(mnist, "open", denied, raising=False)  # shadows the builtin
    with pytest.raises(mnist.DownloadError, match="cannot read the cached file.*"
                       "Permission denied.*COURSENET_DATA"):
        load(tmp_path, [server.url("good")], source="full")
    with pytest.warns(data.SampleDataWarning, match="Permission denied"):
        (xtr, _), _, _ = load(tmp_path, [server.url("good")])
    assert len(xtr) == 4500


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_a_cache_file_without_read_permission(fake_mnist, server, tmp_path):
    files, _ = fake_mnist
    server.routes["good"] = ("ok", files)
    load(tmp_path, [server.url("good")], source="full")
    (tmp_path / "train-images-idx3-ubyte.gz").chmod(0)
    with pytest.raises(mnist.DownloadError, match="cannot read"):
        load(tmp_path, [server.url("good")], source="full")


def test_a_cache_dir_that_cannot_be_created_is_a_clear_error(fake_mnist, server,
                                                             tmp_path):
    files, _ = fake_mnist
    server.routes["good"] = ("ok", files)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(mnist.DownloadError, match="cannot create the cache directory"):
        load(blocker / "cache", [server.url("good")], source="full")
    with pytest.warns(data.SampleDataWarning):
        load(blocker / "cache", [server.url("good")])
    assert server.requests == []


@pytest.mark.parametrize("mode", ["ok", "not-http", "chunked-short", "endless",
                                  "long-length", "hang"])
def test_the_progress_bar_closes_on_every_path(fake_mnist, server, tmp_path,
                                               monkeypatch, mode):
    files, _ = fake_mnist
    server.routes["m"] = (mode, files)
    bars = []

    class Bar:
        def __init__(self, total, name):
            self.closed = False
            bars.append(self)

        def update(self, n):
            pass

        def close(self):
            self.closed = True

    monkeypatch.setattr(mnist, "_bytes_bar", Bar)
    try:
        load(tmp_path, [server.url("m")], source="full", progress=True)
    except mnist.DownloadError:
        assert mode != "ok"
    if mode in ("ok", "chunked-short", "endless"):
        assert bars  # the bar was opened (the body had started)
    assert all(bar.closed for bar in bars)


def test_offline_full_is_a_clear_error(fake_mnist, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mnist.DownloadError, match="source='sample'"):
            with socket.socket() as s:  # a port nothing listens on
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            load(tmp_path, [f"http://127.0.0.1:{port}/"], source="full")


def test_cache_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(mnist.CACHE_ENV, str(tmp_path / "here"))
    assert mnist.default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv(mnist.CACHE_ENV)
    assert mnist.default_cache_dir().name == "coursenet"


@pytest.mark.parametrize("value, is_offline", [
    ("1", True), ("true", True), ("TRUE", True), ("yes", True), ("on", True),
    ("0", False), ("false", False), ("False", False), ("no", False), ("", False)])
def test_offline_switch_values(monkeypatch, value, is_offline):
    monkeypatch.setenv(mnist.OFFLINE_ENV, value)
    assert mnist.offline() is is_offline


def test_offline_switch_rejects_an_unknown_value(monkeypatch):
    monkeypatch.setenv(mnist.OFFLINE_ENV, "maybe")
    with pytest.raises(ValueError, match="COURSENET_OFFLINE.*'maybe'"):
        mnist.offline()


@pytest.mark.parametrize("value", ["0", "false"])
def test_offline_zero_or_false_means_online(fake_mnist, server, tmp_path,
                                           monkeypatch, value):
    files, _ = fake_mnist
    server.routes["good"] = ("ok", files)
    monkeypatch.setenv(mnist.OFFLINE_ENV, value)
    (xtr, _), _, _ = load(tmp_path, [server.url("good")], source="full")
    assert len(xtr) == NUM_TRAIN - 5 and len(server.requests) == 4


def test_offline_switch_uses_the_cache_or_the_sample(fake_mnist, server, tmp_path,
                                                     monkeypatch):
    files, _ = fake_mnist
    server.routes["good"] = ("ok", files)
    monkeypatch.setenv(mnist.OFFLINE_ENV, "1")
    with pytest.warns(data.SampleDataWarning):
        (xtr, _), _, _ = load(tmp_path, [server.url("good")])
    assert len(xtr) == 4500 and server.requests == []  # nothing was fetched
    monkeypatch.delenv(mnist.OFFLINE_ENV)
    load(tmp_path, [server.url("good")], source="full")  # fills the cache
    monkeypatch.setenv(mnist.OFFLINE_ENV, "1")
    (xtr, _), _, _ = load(tmp_path, [server.url("good")], source="full")
    assert len(xtr) == NUM_TRAIN - 5 and len(server.requests) == 4


def test_the_pinned_sizes_sit_next_to_the_checksums():
    assert mnist.MNIST_SIZES.keys() == mnist.MNIST_FILES.keys()
    assert mnist.MNIST_SIZES["train-images-idx3-ubyte.gz"] == 9_912_422
    assert mnist.MNIST_SIZES["t10k-labels-idx1-ubyte.gz"] == 4_542


# --------------------------------------------------------------------------
# IDX


def test_parse_idx_round_trip_and_validation(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(images)))
    assert np.array_equal(mnist.parse_idx(path), images)
    with pytest.raises(ValueError, match="magic number"):
        mnist.parse_idx(b"\x12\x34\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match="need 2352 bytes"):
        mnist.parse_idx(idx_bytes(images)[:-1])
    with pytest.raises(ValueError, match="damaged gzip"):
        mnist.parse_idx(gzip.compress(idx_bytes(images))[:-20])


def test_parse_idx_absurd_dimensions_are_a_clear_error():
    # 65536**4 bytes = 2**64: wraps to 0 in int64, so the old check accepted an
    # empty body and numpy failed in reshape
    header = bytes([0, 0, 0x08, 4]) + struct.pack(">4I", *[65536] * 4)
    with pytest.raises(ValueError, match=r"need 18446744073709551616 bytes"):
        mnist.parse_idx(header)
    header = bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", *[2**32 - 1] * 3)
    with pytest.raises(ValueError, match=r"dimensions \(4294967295, .* need"):
        mnist.parse_idx(header + bytes(16))


def test_parse_idx_refuses_trailing_bytes():
    labels = np.arange(10, dtype=np.uint8)
    assert np.array_equal(mnist.parse_idx(idx_bytes(labels)), labels)
    with pytest.raises(ValueError, match="need 10 bytes of data, found 11"):
        mnist.parse_idx(idx_bytes(labels) + b"\0")
    with pytest.raises(ValueError, match="need 10 bytes of data, found 11"):
        mnist.parse_idx(gzip.compress(idx_bytes(labels) + b"\0"))
    with pytest.raises(TypeError, match="path_or_bytes must be bytes or a file path"):
        mnist.parse_idx(12)


# --------------------------------------------------------------------------
# the cache as a trust boundary


def test_what_was_hashed_is_what_is_parsed(fake_mnist, server, tmp_path,
                                           monkeypatch):
    """A cached file swapped right after its check must not reach the caller."""
    files, arrays = fake_mnist
    server.routes["good"] = ("ok", files)
    load(tmp_path, [server.url("good")], source="full")  # fills the cache
    name = "train-labels-idx1-ubyte.gz"
    evil = gzip.compress(idx_bytes(np.full(NUM_TRAIN, 7)), mtime=0)
    real_sha256 = mnist._sha256

    def hash_then_swap(what):
        digest = real_sha256(what)
        if digest == mnist.MNIST_FILES[name]:  # right after the check of the file
            (tmp_path / name).write_bytes(evil)  # an attacker sharing the cache
        return digest

    monkeypatch.setattr(mnist, "_sha256", hash_then_swap)
    (_, ytr), (_, yval), _ = load(tmp_path, [], source="full")
    labels = arrays[name]
    assert np.array_equal(np.concatenate([ytr, yval]), labels)


def test_each_cached_file_is_opened_once(fake_mnist, server, tmp_path):
    files, _ = fake_mnist
    server.routes["good"] = ("ok", files)
    load(tmp_path, [server.url("good")], source="full")
    opened = []

    def hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, os.PathLike)) \
                and str(tmp_path) in str(args[0]):
            opened.append(os.path.basename(str(args[0])))

    _AUDIT.append(hook)
    try:
        load(tmp_path, [], source="full")
    finally:
        _AUDIT.remove(hook)
    assert sorted(opened) == sorted(files)


_AUDIT = []  # active audit hooks (sys.addaudithook cannot remove one)
sys.addaudithook(lambda event, args: [hook(event, args) for hook in _AUDIT])


def test_fetch_returns_the_verified_bytes_not_paths(fake_mnist, server, tmp_path):
    files, _ = fake_mnist
    server.routes["good"] = ("ok", files)
    blobs = mnist.fetch_mnist(tmp_path, mirrors=[server.url("good")], timeout=0.5,
                              progress=False)
    assert blobs == files


@pytest.mark.parametrize("mode", ["trickle", "trickle-headers"])
def test_a_trickling_mirror_is_abandoned_in_bounded_time(fake_mnist, server,
                                                         tmp_path, mode,
                                                         monkeypatch):
    files, arrays = fake_mnist
    server.routes["slow"] = (mode, files)
    server.routes["good"] = ("ok", files)
    deadlines = []
    watchdog = mnist._Watchdog

    def spy(seconds):
        deadlines.append(seconds)
        return watchdog(seconds)

    monkeypatch.setattr(mnist, "_Watchdog", spy)
    (_, ytr), _, _ = load(tmp_path, [server.url("slow"), server.url("good")],
                          source="full", timeout=1)
    # the trickle alone would take minutes: each file's deadline is
    # timeout + size / MIN_RATE, the slow mirror is asked once and abandoned
    first = server.requests[0].split("/")[-1]
    assert deadlines[0] == 1 + len(files[first]) / mnist.MIN_RATE
    assert [r.split("/")[1] for r in server.requests] == ["slow"] + ["good"] * len(
        files), server.requests
    assert np.array_equal(ytr, arrays["train-labels-idx1-ubyte.gz"][:-5])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)  # no .part


def test_only_a_trickling_mirror_says_too_slow(fake_mnist, server, tmp_path):
    files, _ = fake_mnist
    server.routes["slow"] = ("trickle", files)
    with pytest.raises(mnist.DownloadError, match="too slow"):
        load(tmp_path, [server.url("slow")], source="full", timeout=1)
    assert list(tmp_path.iterdir()) == []


def test_stale_part_files_of_our_own_naming_are_removed(fake_mnist, server, tmp_path):
    """A killed download leaves a .part; the next fetch removes it once it is stale.

    A fresh .part may be another process's download in progress (a shared
    COURSENET_DATA): it stays, and so does every file we did not name.
    """
    files, _ = fake_mnist
    server.routes["good"] = ("ok", files)
    stale = tmp_path / "train-images-idx3-ubyte.gz.0123456789ab.part"
    fresh = tmp_path / "train-labels-idx1-ubyte.gz.ba9876543210.part"
    foreign = tmp_path / "my-notes.0123456789ab.part"
    for p in (stale, fresh, foreign):
        p.write_bytes(b"half a download")
    old = time.time() - mnist.STALE_PART_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(foreign, (old, old))
    load(tmp_path, [server.url("good")], source="full")
    assert not stale.exists()
    assert fresh.exists() and foreign.exists()


def test_a_killed_download_leaves_a_part_that_the_next_run_cleans(
        fake_mnist, server, tmp_path):
    import signal
    import subprocess

    files, _ = fake_mnist
    server.routes["slow"] = ("trickle", files)
    size = len(files["train-images-idx3-ubyte.gz"])
    code = ("import sys; from coursenet import mnist;"
            "files = {'train-images-idx3-ubyte.gz': ('0' * 64, int(sys.argv[3]))};"
            "mnist._fetch('x', files, mnist.Path(sys.argv[1]), lambda n: None,"
            " [sys.argv[2]], 5.0, False)")
    env = dict(os.environ)
    env.pop(mnist.OFFLINE_ENV, None)
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path),
                             server.url("slow"), str(size)], env=env)
    try:
        for _ in range(200):
            parts = list(tmp_path.glob("*.part"))
            if parts:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    assert len(parts) == 1 and parts[0].exists()  # what a killed process leaves
    old = time.time() - mnist.STALE_PART_SECONDS - 1
    os.utime(parts[0], (old, old))
    server.routes["good"] = ("ok", files)
    load(tmp_path, [server.url("good")], source="full")
    assert not list(tmp_path.glob("*.part"))


def test_a_cache_dir_env_with_an_unknown_user(fake_mnist, monkeypatch):
    monkeypatch.setenv(mnist.CACHE_ENV, "~nosuchuser-coursenet/x")
    with pytest.raises(ValueError, match=r"\$COURSENET_DATA='~nosuchuser-coursenet/x'"):
        mnist.default_cache_dir()
    with pytest.raises(mnist.DownloadError, match="COURSENET_DATA.*cannot be used"):
        data.load_mnist(source="full", mirrors=[], progress=False)
    with pytest.warns(data.SampleDataWarning, match="COURSENET_DATA.*cannot be used"):
        (xtr, _), _, _ = data.load_mnist(mirrors=[], progress=False)
    assert len(xtr) == 4500


class Nope(os.PathLike):
    pass


@pytest.mark.parametrize("kwargs, error, words", [
    ({"cache_dir": 123}, TypeError, ["cache_dir", "path", "123"]),
    ({"cache_dir": b"/tmp"}, TypeError, ["cache_dir", "path"]),
    ({"mirrors": (m for m in ["http://127.0.0.1:9/"])}, TypeError,
     ["mirrors", "list or tuple", "generator"]),
    ({"mirrors": ["ftp://127.0.0.1/"]}, ValueError, ["mirrors", "http", "ftp://"]),
    ({"mirrors": [b"http://x/"]}, TypeError, ["mirrors", "strings"]),
    ({"timeout": True}, TypeError, ["timeout", "number", "True"]),
    ({"timeout": float("nan")}, ValueError, ["timeout", "> 0"]),
    ({"progress": "yes"}, TypeError, ["progress", "True or False", "'yes'"]),
])
@pytest.mark.parametrize("function", ["load_mnist", "fetch_mnist", "fetch_fashion",
                                      "load_fashion"])
def test_bad_download_arguments_name_themselves(tmp_path, kwargs, error, words,
                                                function):
    kwargs = {"cache_dir": tmp_path, **kwargs}
    call = {"load_mnist": lambda: data.load_mnist(source="full", **kwargs),
            "fetch_mnist": lambda: mnist.fetch_mnist(**kwargs),
            "fetch_fashion": lambda: mnist.fetch_fashion_mnist(**kwargs),
            "load_fashion": lambda: data.load_fashion_mnist(**kwargs)}[function]
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert list(tmp_path.iterdir()) == []  # validated before anything was touched


@pytest.mark.parametrize("kwargs, error, words", [
    ({"source": ["auto"]}, ValueError, ["source", "['auto']"]),
    ({"final": 1}, TypeError, ["final", "True or False"]),
    ({"flatten": None}, TypeError, ["flatten", "None"]),
    ({"cache_dir": 1.5, "source": "sample"}, TypeError, ["cache_dir"]),
])
def test_load_mnist_rejects_bad_options_even_for_the_sample(kwargs, error, words):
    with pytest.raises(error) as info:
        data.load_mnist(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_the_canonical_test_files_ship_with_the_package():
    from importlib import resources

    for name, (sha, size) in mnist.BUNDLED_MNIST.items():
        blob = (resources.files("coursenet") / "_data" / name).read_bytes()
        assert len(blob) == size == mnist.MNIST_SIZES[name]
        assert hashlib.sha256(blob).hexdigest() == sha == mnist.MNIST_FILES[name]
    notice = (resources.files("coursenet") / "_data" / "MNIST_TEST_NOTICE.txt")
    text = notice.read_text()
    for words in ("LeCun", "Cortes", "Burges", "Creative Commons Attribution-Share"
                  " Alike 3.0", "t10k-images-idx3-ubyte.gz"):
        assert words in text


def test_full_mnist_takes_the_test_files_from_the_package(tmp_path, monkeypatch):
    """Only the training files are downloaded; offline, only they are missing."""
    monkeypatch.setenv(mnist.OFFLINE_ENV, "1")
    with pytest.raises(mnist.DownloadError) as info:
        mnist.fetch_mnist(tmp_path, progress=False)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and "t10k" not in message
    monkeypatch.delenv(mnist.OFFLINE_ENV)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes(b"x")  # wrong: must not be trusted
    with pytest.warns(UserWarning, match="damaged"):
        with pytest.raises(mnist.DownloadError, match="no mirrors given"):
            mnist.fetch_mnist(tmp_path, mirrors=[], progress=False)


# --------------------------------------------------------------------------
# Fashion-MNIST: Debian's directory, the cache, Zalando's mirrors


@pytest.fixture
def fake_fashion(monkeypatch, tmp_path):
    """Small Fashion-MNIST files pinned in place of the real ones.

    ``served`` are the files as the mirrors serve them; ``debian`` holds the same
    data recompressed (another gzip header, as Debian's package does).
    """
    rng = np.random.default_rng(2)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (NUM_TRAIN, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, NUM_TRAIN),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (NUM_TEST, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, NUM_TEST),
    }
    raw = {name: idx_bytes(a) for name, a in arrays.items()}
    served = {name: gzip.compress(r, mtime=0) for name, r in raw.items()}
    debian = tmp_path / "debian"
    debian.mkdir()
    for name, r in raw.items():
        (debian / name).write_bytes(gzip.compress(r, mtime=1_591_347_949))
        assert (debian / name).read_bytes() != served[name]
    monkeypatch.setattr(mnist, "FASHION_FILES", {
        n: hashlib.sha256(b).hexdigest() for n, b in served.items()})
    monkeypatch.setattr(mnist, "FASHION_SIZES", {n: len(b) for n, b in served.items()})
    monkeypatch.setattr(mnist, "FASHION_IDX_SHA256", {
        n: hashlib.sha256(r).hexdigest() for n, r in raw.items()})
    monkeypatch.setattr(mnist, "FASHION_IDX_SIZES", {n: len(r) for n, r in raw.items()})
    monkeypatch.setattr(data, "MNIST_NUM_VAL", 5)
    monkeypatch.delenv(mnist.OFFLINE_ENV, raising=False)
    monkeypatch.setenv(mnist.FASHION_DIR_ENV, str(tmp_path / "no-debian-here"))
    cache = tmp_path / "cache"
    return served, debian, cache, arrays


def fashion(cache, mirrors=(), **kwargs):
    kwargs.setdefault("progress", False)
    kwargs.setdefault("timeout", 0.5)
    mirrors = None if mirrors is None else list(mirrors)
    return data.load_fashion_mnist(cache_dir=cache, mirrors=mirrors, **kwargs)


def check_fashion(loaded, arrays, final=False):
    (xtr, ytr), (xval, yval), num_cls = loaded
    images = arrays["train-images-idx3-ubyte.gz"].reshape(NUM_TRAIN, -1)
    labels = arrays["train-labels-idx1-ubyte.gz"]
    assert num_cls == 10 and xtr.dtype == np.uint8
    assert ytr.dtype == yval.dtype == np.int64
    if final:
        assert np.array_equal(xtr, images) and np.array_equal(ytr, labels)
        assert np.array_equal(yval, arrays["t10k-labels-idx1-ubyte.gz"])
    else:
        assert np.array_equal(xtr, images[:-5]) and np.array_equal(xval, images[-5:])
        assert np.array_equal(ytr, labels[:-5]) and np.array_equal(yval, labels[-5:])


def test_fashion_from_a_debian_directory(fake_fashion, server):
    served, debian, cache, arrays = fake_fashion
    check_fashion(fashion(cache, data_dir=debian), arrays)
    check_fashion(fashion(cache, data_dir=debian, final=True), arrays, final=True)
    assert not cache.exists()  # nothing copied, nothing downloaded


def test_fashion_directory_from_the_environment(fake_fashion, monkeypatch):
    served, debian, cache, arrays = fake_fashion
    monkeypatch.setenv(mnist.FASHION_DIR_ENV, str(debian))
    check_fashion(fashion(cache), arrays)
    (xtr, _), _, _ = fashion(cache, flatten=False)
    assert xtr.shape == (NUM_TRAIN - 5, 28, 28)


def test_fashion_debian_default_directory_is_debians():
    assert mnist.DEBIAN_FASHION_DIR.as_posix() == "/usr/share/datasets/fashion-mnist"


@pytest.mark.parametrize("damage", ["flip", "trailing", "missing"])
def test_fashion_damaged_debian_file_is_ignored_then_downloaded(fake_fashion, server,
                                                                damage):
    served, debian, cache, arrays = fake_fashion
    name = "train-labels-idx1-ubyte.gz"
    blob = (debian / name).read_bytes()
    if damage == "flip":
        raw = bytearray(gzip.decompress(blob))
        raw[-1] ^= 1
        (debian / name).write_bytes(gzip.compress(bytes(raw)))
    elif damage == "trailing":
        (debian / name).write_bytes(blob + b"more")
    else:
        (debian / name).unlink()
    server.routes["z"] = ("ok", served)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_fashion(fashion(cache, [server.url("z")], data_dir=debian), arrays)
    messages = [str(w.message) for w in caught]
    if damage == "missing":
        assert messages == []
    else:
        assert any("is not the file coursenet expects" in m for m in messages)
    assert server.requests == [f"/z/{name}"]
    assert (cache / "fashion-mnist" / name).read_bytes() == served[name]


def test_fashion_download_fills_its_own_cache_folder(fake_fashion, server):
    served, debian, cache, arrays = fake_fashion
    server.routes["bad"] = ("status:404", {})
    server.routes["z"] = ("ok", served)
    check_fashion(fashion(cache, [server.url("bad"), server.url("z")]), arrays)
    assert sorted(p.name for p in (cache / "fashion-mnist").iterdir()) == \
        sorted(served)
    assert not [p for p in cache.iterdir() if p.is_file()]  # MNIST's place is free
    n = len(server.requests)
    check_fashion(fashion(cache, [server.url("z")], final=True), arrays, final=True)
    assert len(server.requests) == n  # from the cache


def test_fashion_tampered_download_is_refused(fake_fashion, server):
    served, debian, cache, arrays = fake_fashion
    name = "t10k-images-idx3-ubyte.gz"
    blob = served[name]
    evil = blob[:20] + bytes([blob[20] ^ 1]) + blob[21:]  # same size
    server.routes["evil"] = ("ok", dict(served, **{name: evil}))
    with pytest.raises(mnist.DownloadError, match="checksum mismatch"):
        fashion(cache, [server.url("evil")])


def test_fashion_nowhere_is_a_clear_error_never_a_sample(fake_fashion, monkeypatch):
    served, debian, cache, arrays = fake_fashion
    monkeypatch.setenv(mnist.OFFLINE_ENV, "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no SampleDataWarning, no other warning
        with pytest.raises(mnist.DownloadError) as info:
            fashion(cache, mirrors=None)
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "COURSENET_FASHION_DIR" in message and "COURSENET_OFFLINE" in message


def test_fashion_data_dir_must_be_a_path(tmp_path):
    with pytest.raises(TypeError, match="data_dir must be a directory path"):
        data.load_fashion_mnist(data_dir=5, cache_dir=tmp_path)


def test_fashion_pins_belong_together():
    for table in (mnist.FASHION_SIZES, mnist.FASHION_IDX_SHA256,
                  mnist.FASHION_IDX_SIZES):
        assert table.keys() == mnist.FASHION_FILES.keys()
    assert mnist.FASHION_IDX_SIZES["train-images-idx3-ubyte.gz"] == 16 + 60_000 * 784
    assert mnist.FASHION_IDX_SIZES["t10k-labels-idx1-ubyte.gz"] == 8 + 10_000
    assert all(m.startswith(("https://", "http://")) for m in mnist.FASHION_MIRRORS)


@pytest.mark.skipif(not (mnist.DEBIAN_FASHION_DIR / "t10k-labels-idx1-ubyte.gz")
                    .exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_from_debian(tmp_path, monkeypatch):
    """The pinned checksums match Debian's files; the split is MNIST's."""
    monkeypatch.delenv(mnist.FASHION_DIR_ENV, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (xtr, ytr), (xval, yval), n = data.load_fashion_mnist(cache_dir=tmp_path)
        (xall, yall), (xte, yte), _ = data.load_fashion_mnist(
            final=True, flatten=False, cache_dir=tmp_path)
    assert xtr.shape == (55_000, 784) and xval.shape == (5_000, 784) and n == 10
    assert xall.shape == (60_000, 28, 28) and xte.shape == (10_000, 28, 28)
    assert np.bincount(yall).tolist() == [6000] * 10
    assert np.bincount(yte).tolist() == [1000] * 10
    assert np.array_equal(xall.reshape(60_000, -1)[-5000:], xval)
    assert xtr.dtype == np.uint8 and ytr.dtype == np.int64 and xall.max() == 255
    assert list(tmp_path.iterdir()) == []  # read in place, nothing cached


# --------------------------------------------------------------------------
# load_dataset: one switch for notebook 06


def test_load_dataset_defaults_to_mnist(monkeypatch):
    monkeypatch.delenv(data.DATASET_ENV, raising=False)
    ds = data.load_dataset(source="sample")
    assert (ds.name, ds.source, ds.title) == ("mnist", "sample", "MNIST")
    assert ds.classes == tuple("0123456789")
    (xtr, ytr), (xval, yval), num_cls, source, name, classes = ds
    assert (len(xtr), len(xval)) == (4500, 500)


def test_load_dataset_switches_to_fashion_through_the_environment(
        fake_fashion, monkeypatch):
    served, debian, cache, arrays = fake_fashion
    monkeypatch.setenv(mnist.FASHION_DIR_ENV, str(debian))
    monkeypatch.setenv(data.DATASET_ENV, "fashion-mnist")
    ds = data.load_dataset(final=True, cache_dir=cache, mirrors=[])
    assert (ds.name, ds.source, ds.title) == ("fashion-mnist", "full", "Fashion-MNIST")
    assert ds.classes == data.FASHION_CLASSES and len(ds.classes) == 10
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    check_fashion(ds[:3], arrays, final=True)
    monkeypatch.setenv(data.DATASET_ENV, " Fashion-MNIST ")  # forgiving about case
    assert data.load_dataset(cache_dir=cache, mirrors=[]).name == "fashion-mnist"


def test_load_dataset_reports_the_offline_sample_without_a_warning(monkeypatch,
                                                                   tmp_path):
    monkeypatch.setenv(mnist.OFFLINE_ENV, "1")
    monkeypatch.delenv(data.DATASET_ENV, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = data.load_dataset("mnist", final=True, cache_dir=tmp_path)
    assert ds.source == "sample" and len(ds.val[0]) == 10_000


@pytest.mark.parametrize("env, name, words", [
    ("cifar", None, ["$COURSENET_DATASET", "'cifar'", "fashion-mnist"]),
    (None, "Fashion", ["name must be one of", "'Fashion'"]),
    (None, 3, ["name must be one of", "3"]),
])
def test_load_dataset_unknown_names_are_clear_errors(monkeypatch, env, name, words):
    if env is None:
        monkeypatch.delenv(data.DATASET_ENV, raising=False)
    else:
        monkeypatch.setenv(data.DATASET_ENV, env)
    with pytest.raises(ValueError) as info:
        data.load_dataset(name, source="sample")
    for word in words:
        assert word in str(info.value)


@pytest.mark.skipif(not (mnist.DEBIAN_FASHION_DIR / "t10k-labels-idx1-ubyte.gz")
                    .exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_debians_fashion_files_rebuild_zalandos_published_md5s(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts/check_fashion_checksums.py"
    spec = importlib.util.spec_from_file_location("check_fashion_checksums", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([]) == 0
    assert "Debian's files are Zalando's; the pins hold" in capsys.readouterr().out


# --------------------------------------------------------------------------
# the mutants that lived (issue 24): each check that a mutant removed


def test_a_same_size_corrupted_cache_file_is_detected_and_fetched_again(
        fake_mnist, server, tmp_path):
    """Only the checksum can tell: the size matches (a mutant skipped the
    SHA-256 comparison when the size was right)."""
    files, arrays = fake_mnist
    server.routes["good"] = ("ok", files)
    load(tmp_path, [server.url("good")], source="full")
    name = "train-labels-idx1-ubyte.gz"
    blob = files[name]
    (tmp_path / name).write_bytes(blob[:-9] + bytes([blob[-9] ^ 1]) + blob[-8:])
    with pytest.warns(UserWarning, match="damaged"):
        (_, ytr), _, _ = load(tmp_path, [server.url("good")], source="full")
    assert np.array_equal(ytr, arrays[name][:-5])
    assert (tmp_path / name).read_bytes() == files[name]
    assert server.requests.count(f"/good/{name}") == 2


def test_a_damaged_bundled_file_of_the_right_size_is_refused(monkeypatch):
    """The bundled copy is compared with its checksum, not only its size."""
    name = "t10k-labels-idx1-ubyte.gz"
    _, size = mnist.BUNDLED_MNIST[name]
    other = "0" * 64  # what a damaged copy of the same size would hash to
    monkeypatch.setitem(mnist.BUNDLED_MNIST, name, (other, size))
    monkeypatch.setitem(mnist.MNIST_FILES, name, other)
    with pytest.raises(mnist.DownloadError, match=f"{name} bundled with coursenet"
                       " is damaged"):
        mnist._bundled_mnist(name)


@pytest.mark.parametrize("xdg", ["relative/cache", "cache", "./c"])
def test_a_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path, xdg):
    """The XDG spec: a relative path in $XDG_CACHE_HOME is invalid, ignore it."""
    monkeypatch.delenv(mnist.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(mnist.sys, "platform", "linux")
    assert mnist.default_cache_dir() == tmp_path / ".cache" / "coursenet"


# --- bad input and the mutants older tests let live (filed here by module)


def _offline_maybe():
    old = os.environ.get(mnist.OFFLINE_ENV)
    os.environ[mnist.OFFLINE_ENV] = "maybe"
    try:
        mnist.offline()
    finally:
        if old is None:
            del os.environ[mnist.OFFLINE_ENV]
        else:
            os.environ[mnist.OFFLINE_ENV] = old


def _absurd_idx():
    import struct

    mnist.parse_idx(bytes([0, 0, 8, 4]) + struct.pack(">4I", *[65536] * 4))


CASES = [
    ("COURSENET_OFFLINE=maybe", _offline_maybe,
     ValueError, ["COURSENET_OFFLINE", "'maybe'", "false"]),
    ("fetch_mnist mirrors as one string (was split into characters)",
     lambda: mnist.fetch_mnist("/nonexistent", mirrors="http://127.0.0.1:9/"),
     TypeError, ["mirrors", "list of base URLs", "'http://127.0.0.1:9/'"]),
    ("load_mnist timeout=0", lambda: mnist.fetch_mnist("/nonexistent", timeout=0),
     ValueError, ["timeout", "> 0"]),
    ("IDX dimensions overflowing int64", _absurd_idx,
     ValueError, ["(65536, 65536, 65536, 65536)", "18446744073709551616 bytes"]),
    ("fetch_mnist cache_dir='' (silently the current folder)",
     lambda: mnist.fetch_mnist("", mirrors=[]),
     ValueError, ["cache_dir", "empty"]),
    ("fetch_fashion_mnist data_dir that does not exist (silently ignored)",
     lambda: mnist.fetch_fashion_mnist("/nonexistent", data_dir="/nonexistent/fm",
                                       mirrors=[]),
     ValueError, ["data_dir", "/nonexistent/fm", "not a directory"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


@pytest.mark.parametrize("platform, env, tail", [
    ("linux", {"XDG_CACHE_HOME": "/xdg"}, "/xdg/coursenet"),
    ("linux", {}, "HOME/.cache/coursenet"),
    ("darwin", {}, "HOME/Library/Caches/coursenet"),
    ("win32", {"LOCALAPPDATA": "/lad"}, "/lad/coursenet"),
    ("win32", {}, "HOME/AppData/Local/coursenet"),
])


def test_default_cache_dir_per_platform(monkeypatch, tmp_path, platform, env, tail):
    """mnist.default_cache_dir: the XDG_CACHE_HOME name, the macOS and Windows
    folders (mutmut changed each string or operator; only Linux's default ran)."""
    monkeypatch.delenv(mnist.CACHE_ENV, raising=False)
    for name in ("XDG_CACHE_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(mnist.sys, "platform", platform)
    got = mnist.default_cache_dir()
    assert got.as_posix() == tail.replace("HOME", tmp_path.as_posix())
