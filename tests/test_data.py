"""Data loaders: the synthetic set, pixel scaling, the MNIST sample, Fashion-MNIST.

Downloads and IDX parsing are tested in test_mnist.py; Fashion-MNIST's files are
served to it by a server on 127.0.0.1 or from a fake Debian directory."""


import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import (
    data,
    mnist,
)

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


def test_scale_pixels():
    X = np.array([[0, 128, 255]], dtype=np.uint8)
    out = data.scale_pixels(X)
    assert out.dtype == np.float32 and np.allclose(out, [[0, 128 / 255, 1]])
    assert data.scale_pixels(X.astype(np.int64), np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="\\[0, 255\\]"):
        data.scale_pixels(np.array([[-1, 300]]))
    with pytest.raises(TypeError, match="pixel numbers"):
        data.scale_pixels(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="scaled already"):
        data.scale_pixels(data.scale_pixels(X))


def test_scale_pixels_decides_from_the_dtype_never_from_the_values():
    """A black-and-white image: 0/255 integers are pixels, scaled exactly once."""
    bw = np.array([[0, 255, 255, 0]], dtype=np.uint8)
    once = data.scale_pixels(bw)
    assert once.tolist() == [[0.0, 1.0, 1.0, 0.0]]
    with pytest.raises(ValueError, match="scaled already.*astype\\(np.uint8\\)"):
        data.scale_pixels(once)  # 0.0/1.0 are whole numbers, but already scaled
    with pytest.raises(ValueError, match="floating dtype float64"):
        data.scale_pixels(bw.astype(float))  # 0-255 floats: convert explicitly
    # integers are always 0-255 pixels, even when they are all 0 or 1
    assert np.allclose(data.scale_pixels(np.array([[0, 1]])), [[0, 1 / 255]])
    with pytest.raises(TypeError, match="dtype bool"):
        data.scale_pixels(np.array([[True, False]]))
    with pytest.raises(TypeError, match="dtype must be a floating type"):
        data.scale_pixels(bw, dtype=int)


@pytest.mark.parametrize("seed, error", [
    ("abc", TypeError), (-1, ValueError), (2**32, ValueError), (True, TypeError),
    (1.0, TypeError), (None, TypeError)])
def test_load_synth_rejects_bad_seeds(seed, error):
    with pytest.raises(error, match="seed"):
        data.load_synth(num_train=3, num_val=1, seed=seed)


def test_load_synth_seed_changes_the_data():
    a = data.load_synth(num_train=5, num_val=0, seed=1)[0][0]
    b = data.load_synth(num_train=5, num_val=0, seed=np.int64(2))[0][0]
    assert not np.array_equal(a, b)


# canonical MNIST test set: digits per class
T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_sample_final_false_is_a_validation_split_of_the_sample():
    (xtr, ytr), (xval, yval), num_cls = data.load_mnist(source="sample")
    assert num_cls == 10
    assert (len(xtr), len(xval)) == (4500, 500)
    assert xtr.shape[1] == 784 and xtr.dtype == np.uint8 and xtr.max() == 255
    assert ytr.dtype == yval.dtype == np.int64  # signed: y - 1 cannot wrap
    assert np.bincount(yval, minlength=10).tolist() == [50] * 10  # stratified
    images = data.load_mnist(flatten=False, source="sample")[0][0]
    assert images.shape == (4500, 28, 28)
    assert np.array_equal(images.reshape(len(images), -1), xtr)


def test_sample_final_true_trains_on_all_5000_and_tests_on_the_canonical_set():
    (xtr, ytr), (xte, yte), _ = data.load_mnist(final=True, source="sample")
    assert (len(xtr), len(xte)) == (5000, 10_000)
    assert np.bincount(ytr).tolist() == [500] * 10
    assert np.bincount(yte).tolist() == T10K_COUNTS
    assert xte.shape == (10_000, 784) and xte.dtype == np.uint8
    assert yte.dtype == np.int64
    assert data.load_mnist(final=True, flatten=False,
                           source="sample")[1][0].shape == (10_000, 28, 28)


def test_sample_validation_is_the_tail_of_the_sample_training_set():
    (xtr, _), (xval, _), _ = data.load_mnist(final=False, source="sample")
    (xall, _), _, _ = data.load_mnist(final=True, source="sample")
    assert np.array_equal(np.concatenate([xtr, xval]), xall)


def test_offline_auto_trains_on_the_sample_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSENET_OFFLINE", "1")
    with pytest.warns(data.SampleDataWarning,
                      match="all 5,000 to train on and MNIST's canonical 10,000"):
        (xtr, _), (xte, _), _ = data.load_mnist(final=True, cache_dir=tmp_path)
    assert (len(xtr), len(xte)) == (5000, 10_000)


def test_each_public_name_has_one_import_path():
    """No module re-exports another's public names (one name, one home)."""
    import coursenet
    from coursenet import display

    homes = {}
    for module in (data, mnist, display):
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)
            homes.setdefault(name, []).append(module.__name__)
    assert {n: m for n, m in homes.items() if len(m) > 1} == {}
    for name in ("load_mnist", "SampleDataWarning", "scale_pixels"):
        assert not hasattr(mnist, name)
    for name in ("fetch_mnist", "parse_idx", "DownloadError", "default_cache_dir",
                 "MNIST_FILES", "load_mnist_with_notice"):
        assert not hasattr(data, name)
    assert not hasattr(display, "load_mnist") and coursenet


@pytest.mark.parametrize("kwargs, error, message", [
    ({"source": "internet"}, ValueError, "source must be one of"),
    ({"final": "yes"}, TypeError, "final must be True or False"),
    ({"flatten": 0}, TypeError, "flatten must be True or False"),
])
def test_load_mnist_rejects_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        data.load_mnist(**kwargs)


def test_scale_pixels_names_a_bad_dtype_argument():
    with pytest.raises(TypeError, match="dtype must be a floating type, got 'abc'"):
        data.scale_pixels(np.zeros((1, 2), np.uint8), dtype="abc")
    with pytest.raises(TypeError, match="X must hold pixel numbers .* complex"):
        data.scale_pixels(np.zeros((1, 2), complex))


# --- bad input and the mutants older tests let live (filed here by module)

X = np.random.default_rng(0).random((5, 4)).astype(np.float32)
Y = np.array([0, 1, 0, 1, 1])


CASES = [
    ("scale_pixels twice",
     lambda: data.scale_pixels(data.scale_pixels(np.array([[0, 128, 255]]))),
     ValueError, ["scaled already", "whole pixel values"]),
    ("scale_pixels to an integer dtype",
     lambda: data.scale_pixels(np.array([[0, 255]]), dtype=np.uint8),
     TypeError, ["dtype", "floating", "uint8"]),
    ("scale_pixels NaN", lambda: data.scale_pixels(np.array([[np.nan, 1.0]])),
     ValueError, ["[0, 255]", "nan"]),
    ("load_mnist flatten='yes'", lambda: data.load_mnist(flatten="yes",
                                                        source="sample"),
     TypeError, ["flatten", "True or False", "'yes'"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_train": -1}, r"^num_train must be >= 0"),
    ({"num_val": -1}, r"^num_val must be >= 0"),
    ({"seed": -1}, r"^seed must be >= 0"),
    ({"seed": 2**32}, r"^seed must be < 2\*\*32"),
])


def test_load_synth_messages_name_the_argument(kwargs, message):
    """data.load_synth: each argument's name -> ``XXnameXX``; ``2**32`` -> ``2*32``."""
    from coursenet import data

    with pytest.raises(ValueError, match=message):
        data.load_synth(**{"num_train": 3, "num_val": 2, **kwargs})
    if kwargs == {"seed": 2**32}:
        assert data.load_synth(3, 2, seed=2**32 - 1)[0][0].shape == (3, 2)
        assert data.load_synth(3, 2, seed=64)[0][0].shape == (3, 2)  # > 2*32


@pytest.mark.parametrize("pixels, ok", [([[-1, 3]], False), ([[0, 256]], False),
                                        ([[0, 255]], True), ([[-0.5, 2.0]], False)])


def test_scale_pixels_bounds_each_side(pixels, ok):
    """data.scale_pixels: ``lo < 0 or hi > 255`` -> ``and``; ``255`` -> ``256``."""
    from coursenet import data

    X = np.array(pixels)
    if X.dtype.kind == "f":
        X = X.astype(np.float64)
    if ok:
        assert data.scale_pixels(X).tolist() == [[0.0, 1.0]]
    else:
        with pytest.raises(ValueError, match=r"^X must hold pixels in \[0, 255\]"):
            data.scale_pixels(X)


@pytest.mark.parametrize("name", ["final", "flatten"])
def test_load_fashion_mnist_names_its_flags(name):
    """data.load_fashion_mnist: ``_check_bool(final, "final")`` -> another name."""
    from coursenet import data

    with pytest.raises(TypeError, match=rf"^{name} must be True or False, got 'x'$"):
        data.load_fashion_mnist(**{name: "x"})
