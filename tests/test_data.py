"""Data loaders: synthetic set, IDX parsing, downloads (from a local server only)."""

import gzip
import hashlib
import http.server
import struct
import threading
import warnings

import numpy as np
import pytest

from coursenet import data

# --------------------------------------------------------------------------
# synthetic


def test_load_synth_reproduces_the_course_generator():
    (xtr, ytr), (xval, yval), num_cls = data.load_synth()
    assert num_cls == 2
    assert xtr.shape == (60_000, 2) and xval.shape == (10_000, 2)
    assert np.bincount(ytr).tolist() == [26506, 33494]
    assert np.bincount(yval).tolist() == [4378, 5622]
    # the original: seed the global generator, randn, then x^T Q x > 0.6
    state = np.random.get_state()
    try:
        np.random.seed(0)
        x = np.random.randn(70_000, 2)
    finally:
        np.random.set_state(state)
    Q = np.asarray([[1, -0.05], [1, 0.4]])
    y = np.array([r @ Q @ r > 0.6 for r in x[:2000]], dtype=int)
    assert np.array_equal(np.concatenate([xtr, xval]), x)
    assert np.array_equal(ytr[:2000], y)


def test_load_synth_leaves_global_state_alone():
    np.random.seed(42)
    before = np.random.get_state()[1].copy()
    data.load_synth(num_train=10, num_val=5, seed=3)
    assert np.array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("kwargs, error", [
    ({"num_train": -1}, ValueError), ({"num_val": 2.5}, TypeError)])
def test_load_synth_rejects_bad_sizes(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        data.load_synth(**kwargs)


# --------------------------------------------------------------------------
# pixels, batches, sample


def test_scale_pixels_and_minibatches():
    X = np.array([[0, 128, 255]], dtype=np.uint8)
    out = data.scale_pixels(X)
    assert out.dtype == np.float32 and np.allclose(out, [[0, 128 / 255, 1]])
    with pytest.raises(ValueError, match="\\[0, 255\\]"):
        data.scale_pixels(np.array([[-1, 300]]))
    X = np.arange(10)[:, None]
    y = np.arange(10)
    batches = list(data.minibatches(X, y, 4, seed=0))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))  # without replacement
    assert all(np.array_equal(bx[:, 0], by) for bx, by in batches)
    with pytest.raises(ValueError, match="batch_size"):
        list(data.minibatches(X, y, 0))
    with pytest.raises(ValueError, match="10 rows but y has 9"):
        list(data.minibatches(X, y[:9], 4))
    with pytest.raises(TypeError, match="pixel numbers"):
        data.scale_pixels(np.array([["a", "b"]]))


@pytest.mark.parametrize("final, sizes", [(False, (3500, 500)), (True, (4000, 1000))])
def test_sample_split_semantics(final, sizes):
    (xtr, ytr), (xte, yte), num_cls = data.load_mnist(final=final, source="sample")
    assert num_cls == 10
    assert (len(xtr), len(xte)) == sizes
    assert xtr.shape[1] == 784 and xtr.dtype == np.uint8 and xtr.max() == 255
    assert np.bincount(yte, minlength=10).min() == sizes[1] // 10  # stratified
    images = data.load_mnist(final=final, flatten=False, source="sample")[0][0]
    assert images.shape == (sizes[0], 28, 28)
    assert np.array_equal(images.reshape(len(images), -1), xtr)


def test_sample_validation_is_the_tail_of_the_sample_training_set():
    (xtr, _), (xval, _), _ = data.load_mnist(final=False, source="sample")
    (xall, _), _, _ = data.load_mnist(final=True, source="sample")
    assert np.array_equal(np.concatenate([xtr, xval]), xall)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"source": "internet"}, ValueError, "source must be one of"),
    ({"final": "yes"}, TypeError, "final must be True or False"),
])
def test_load_mnist_rejects_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        data.load_mnist(**kwargs)


# --------------------------------------------------------------------------
# IDX


def idx_bytes(array):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I",
                                                          *array.shape)
    return header + array.tobytes()


def test_parse_idx_round_trip_and_validation(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(images)))
    assert np.array_equal(data.parse_idx(path), images)
    with pytest.raises(ValueError, match="magic number"):
        data.parse_idx(b"\x12\x34\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match="need 2352 bytes"):
        data.parse_idx(idx_bytes(images)[:-1])


# --------------------------------------------------------------------------
# downloads, against a server on 127.0.0.1


NUM_TRAIN, NUM_TEST = 30, 10


@pytest.fixture
def fake_mnist(monkeypatch):
    """Small IDX files with their checksums pinned in place of the real ones."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (NUM_TRAIN, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, NUM_TRAIN),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (NUM_TEST, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, NUM_TEST),
    }
    files = {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in arrays.items()}
    monkeypatch.setattr(data, "MNIST_FILES", {
        name: hashlib.sha256(blob).hexdigest() for name, blob in files.items()})
    monkeypatch.setattr(data, "MNIST_NUM_VAL", 5)
    return files, arrays


class Server:
    """An HTTP server on 127.0.0.1: ``routes[prefix] = (status, files)``."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        routes, requests = self.routes, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                prefix, _, name = self.path.strip("/").partition("/")
                status, files = routes.get(prefix, (404, {}))
                body = files.get(name)
                if status != 200 or body is None:
                    self.send_error(status if status != 200 else 404)
                    return
                declared = files.get("__length__", len(body))
                self.send_response(200)
                self.send_header("Content-Length", str(declared))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, prefix):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{prefix}/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def load(cache, mirrors, **kwargs):
    return data.load_mnist(cache_dir=cache, mirrors=mirrors, progress=False, timeout=5,
                           **kwargs)


def test_download_success_and_split(fake_mnist, server, tmp_path):
    files, arrays = fake_mnist
    server.routes["good"] = (200, files)
    (xtr, ytr), (xval, yval), n = load(tmp_path, [server.url("good")], source="full")
    images = arrays["train-images-idx3-ubyte.gz"].reshape(NUM_TRAIN, -1)
    labels = arrays["train-labels-idx1-ubyte.gz"]
    assert np.array_equal(xtr, images[:-5]) and np.array_equal(xval, images[-5:])
    assert np.array_equal(ytr, labels[:-5]) and np.array_equal(yval, labels[-5:])
    (xtr, _), (xte, yte), _ = load(tmp_path, [server.url("good")], final=True,
                                   flatten=False)
    assert xtr.shape == (NUM_TRAIN, 28, 28)
    assert np.array_equal(yte, arrays["t10k-labels-idx1-ubyte.gz"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    # the second call is served from the cache: no new requests
    assert len(server.requests) == 4


def test_a_403_mirror_is_skipped(fake_mnist, server, tmp_path):
    files, _ = fake_mnist
    server.routes["forbidden"] = (403, {})
    server.routes["good"] = (200, files)
    load(tmp_path, [server.url("forbidden"), server.url("good")], source="full")
    assert server.requests[0].startswith("/forbidden/")
    # after the first file the working mirror is tried first
    assert sum(r.startswith("/forbidden/") for r in server.requests) == 1


def test_truncated_download_is_rejected_and_never_cached(fake_mnist, server, tmp_path):
    files, _ = fake_mnist
    name = "train-images-idx3-ubyte.gz"
    truncated = dict(files, **{name: files[name][:-100],
                               "__length__": len(files[name])})
    server.routes["short"] = (200, truncated)
    with pytest.raises(data.DownloadError, match="truncated|checksum"):
        load(tmp_path, [server.url("short")], source="full")
    assert not (tmp_path / name).exists()
    assert not list(tmp_path.glob("*.part"))


def test_wrong_checksum_is_rejected_and_cache_untouched(fake_mnist, server, tmp_path):
    files, _ = fake_mnist
    name = "t10k-labels-idx1-ubyte.gz"
    tampered = dict(files, **{name: gzip.compress(b"\x00\x00\x08\x01" + bytes(4))})
    server.routes["evil"] = (200, tampered)
    with pytest.raises(data.DownloadError, match="checksum mismatch"):
        load(tmp_path, [server.url("evil")], source="full")
    assert not (tmp_path / name).exists()
    assert not list(tmp_path.glob("*.part"))
    good_ones = {p.name for p in tmp_path.iterdir()}
    for p in good_ones:  # what did land is exactly the verified files
        assert hashlib.sha256((tmp_path / p).read_bytes()).hexdigest() == \
            data.MNIST_FILES[p]


def test_corrupted_cache_file_is_detected_and_fetched_again(fake_mnist, server,
                                                            tmp_path):
    files, arrays = fake_mnist
    server.routes["good"] = (200, files)
    load(tmp_path, [server.url("good")], source="full")
    name = "train-labels-idx1-ubyte.gz"
    (tmp_path / name).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="damaged"):
        (_, ytr), _, _ = load(tmp_path, [server.url("good")], source="full")
    assert np.array_equal(ytr, arrays[name][:-5])
    assert (tmp_path / name).read_bytes() == files[name]
    assert server.requests.count(f"/good/{name}") == 2


def test_offline_auto_falls_back_to_the_sample_with_a_notice(fake_mnist, server,
                                                             tmp_path):
    server.routes["down"] = (503, {})
    with pytest.warns(data.SampleDataWarning, match="bundled sample"):
        (xtr, _), (xval, _), _ = load(tmp_path, [server.url("down")])
    assert (len(xtr), len(xval)) == (3500, 500)
    with pytest.warns(data.SampleDataWarning):
        (xtr, _), (xte, _), _ = load(tmp_path, [server.url("down")], final=True)
    assert (len(xtr), len(xte)) == (4000, 1000)


def test_offline_full_is_a_clear_error(fake_mnist, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(data.DownloadError, match="source='sample'"):
            # port 9 on loopback: nothing listens, the connection is refused
            load(tmp_path, ["http://127.0.0.1:9/"], source="full")


def test_cache_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "here"))
    assert data.default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv(data.CACHE_ENV)
    assert data.default_cache_dir().name == "coursenet"


def test_offline_switch_uses_the_cache_or_the_sample(fake_mnist, server, tmp_path,
                                                     monkeypatch):
    files, _ = fake_mnist
    server.routes["good"] = (200, files)
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    with pytest.warns(data.SampleDataWarning):
        (xtr, _), _, _ = load(tmp_path, [server.url("good")])
    assert len(xtr) == 3500 and server.requests == []  # nothing was fetched
    monkeypatch.delenv(data.OFFLINE_ENV)
    load(tmp_path, [server.url("good")], source="full")  # fills the cache
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    (xtr, _), _, _ = load(tmp_path, [server.url("good")], source="full")
    assert len(xtr) == NUM_TRAIN - 5 and len(server.requests) == 4
