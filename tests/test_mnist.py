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
import threading
import time
import warnings

import numpy as np
import pytest

from coursenet import data, mnist

NUM_TRAIN, NUM_TEST = 30, 10
ENDLESS_CAP = 4 << 20  # the endless server gives up after this many bytes


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
    monkeypatch.setattr(mnist, "MNIST_NUM_VAL", 5)
    monkeypatch.delenv(mnist.OFFLINE_ENV, raising=False)
    return files, arrays


class Server:
    """A TCP server on 127.0.0.1 speaking just enough HTTP to misbehave on purpose.

    ``routes[prefix] = (mode, files)``; modes: ``ok``, ``status:<code>``,
    ``not-http``, ``reset`` (close without a word), ``hang`` (never answer),
    ``chunked-short`` (a chunked body cut off), ``short`` (a body shorter than
    its Content-Length), ``endless`` (a body without end or length),
    ``long-length`` (announces a wrong Content-Length).
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


def test_the_data_module_re_exports_the_mnist_api():
    for name in ("load_mnist", "fetch_mnist", "parse_idx", "DownloadError",
                 "SampleDataWarning", "default_cache_dir", "MNIST_FILES"):
        assert getattr(data, name) is getattr(mnist, name)
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
    start = time.perf_counter()
    (_, ytr), _, _ = load(tmp_path, [server.url("bad"), server.url("good")],
                          source="full")
    assert time.perf_counter() - start < 5
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
    with pytest.warns(mnist.SampleDataWarning, match="bundled sample"):
        (xtr, ytr), (xval, _), _ = load(tmp_path, [server.url("bad")])
    assert (len(xtr), len(xval)) == (3500, 500) and ytr.dtype == np.int64


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

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(mnist, "_sha256", denied)
    with pytest.raises(mnist.DownloadError, match="cannot read the cached file.*"
                       "Permission denied.*COURSENET_DATA"):
        load(tmp_path, [server.url("good")], source="full")
    with pytest.warns(mnist.SampleDataWarning, match="Permission denied"):
        (xtr, _), _, _ = load(tmp_path, [server.url("good")])
    assert len(xtr) == 3500


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
    with pytest.warns(mnist.SampleDataWarning):
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
    with pytest.warns(mnist.SampleDataWarning):
        (xtr, _), _, _ = load(tmp_path, [server.url("good")])
    assert len(xtr) == 3500 and server.requests == []  # nothing was fetched
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
