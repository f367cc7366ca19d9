"""Data loaders: the synthetic set, pixel scaling, the bundled MNIST sample.

Downloads and IDX parsing are tested in test_mnist.py."""

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


def test_scale_pixels():
    X = np.array([[0, 128, 255]], dtype=np.uint8)
    out = data.scale_pixels(X)
    assert out.dtype == np.float32 and np.allclose(out, [[0, 128 / 255, 1]])
    assert data.scale_pixels(X.astype(float), np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="\\[0, 255\\]"):
        data.scale_pixels(np.array([[-1, 300]]))
    with pytest.raises(TypeError, match="pixel numbers"):
        data.scale_pixels(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="scaled already"):
        data.scale_pixels(data.scale_pixels(X))


@pytest.mark.parametrize("final, sizes", [(False, (3500, 500)), (True, (4000, 1000))])
def test_sample_split_semantics(final, sizes):
    (xtr, ytr), (xte, yte), num_cls = data.load_mnist(final=final, source="sample")
    assert num_cls == 10
    assert (len(xtr), len(xte)) == sizes
    assert xtr.shape[1] == 784 and xtr.dtype == np.uint8 and xtr.max() == 255
    assert ytr.dtype == yte.dtype == np.int64  # signed: y - 1 cannot wrap
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
