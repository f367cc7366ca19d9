"""The course's data: the synthetic two-class set, pixel scaling, and MNIST.

Both loaders return the course's tuple ``(xtrain, ytrain), (xval, yval), num_cls``
with labels as a signed integer dtype (int64). The MNIST download, cache and IDX
code lives in :mod:`coursenet.mnist`; its public names are re-exported here, so
``coursenet.data.load_mnist`` keeps working.
"""

from __future__ import annotations

import numpy as np

from coursenet._checks import non_negative_int
from coursenet.mnist import (  # noqa: F401  (re-exported)
    CACHE_ENV,
    MIRRORS,
    MNIST_FILES,
    MNIST_SIZES,
    OFFLINE_ENV,
    DownloadError,
    SampleDataWarning,
    default_cache_dir,
    fetch_mnist,
    load_mnist,
    parse_idx,
)

__all__ = ["load_synth", "scale_pixels", "load_mnist", "fetch_mnist", "parse_idx",
           "default_cache_dir", "DownloadError", "SampleDataWarning"]


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


def scale_pixels(X, dtype=np.float32):
    """Map 0-255 pixels to floats in [0, 1] (one copy, in ``dtype``).

    Pixels are whole numbers; floating input with fractions (for instance
    pixels that were scaled already) is refused rather than divided again.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "uif":
        raise TypeError(f"X must hold pixel numbers, got dtype {X.dtype}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating type, got {dtype}")
    if X.size:
        lo, hi = X.min(), X.max()
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 255:
            raise ValueError(
                f"X must hold pixels in [0, 255], got range [{lo}, {hi}]")
        if X.dtype.kind == "f" and not np.array_equal(X, np.round(X)):
            raise ValueError(
                f"X must hold whole pixel values 0-255, got fractions (range [{lo},"
                f" {hi}]); were the pixels scaled already? scale_pixels divides"
                " by 255 once")
    out = X.astype(dtype)
    out /= 255
    return out
