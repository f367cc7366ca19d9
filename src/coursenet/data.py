"""The course's data: the synthetic two-class set, pixel scaling, MNIST, Fashion-MNIST.

Every loader returns the course's tuple ``(xtrain, ytrain), (xval, yval),
num_cls``: pixels as uint8 0-255, labels as a signed integer dtype (int64).
:func:`load_dataset` picks MNIST or Fashion-MNIST by name (default: the
``COURSENET_DATASET`` environment variable), so one notebook runs on either,
and also says which data it got and the class names for figures.

Where the image files come from and how they are verified (pinned SHA-256s,
the cache, the mirrors) is :mod:`coursenet.mnist`'s business; its names are
imported from there, not from here.
"""

from __future__ import annotations

import os
import warnings
from importlib import resources
from typing import NamedTuple

import numpy as np

from coursenet import mnist
from coursenet._checks import as_labels, non_negative_int

MNIST_NUM_VAL = 5_000  # the last 5,000 training images are the validation set
SAMPLE_NUM_VAL = 500  # the same idea for the bundled 5,000-digit sample
SOURCES = ("auto", "full", "sample")
MNIST_CLASSES = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
# Zalando's label names, in label order (the data set's README)
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                   "Shirt", "Sneaker", "Bag", "Ankle boot")
DATASET_ENV = "COURSENET_DATASET"
DATASETS = ("mnist", "fashion-mnist")
_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
_CLASSES = {"mnist": MNIST_CLASSES, "fashion-mnist": FASHION_CLASSES}


class SampleDataWarning(UserWarning):
    """Shown when the bundled MNIST sample stands in for the full training set."""


def load_synth(num_train=60_000, num_val=10_000, seed=0):
    """The course's synthetic two-class data with an elliptical boundary.

    Features are standard normal 2-vectors; the label is 1 where
    ``x^T Q x > 0.6`` with ``Q = [[1, -0.05], [1, 0.4]]``. Bit-identical to the
    course's loader (which seeds numpy's global generator) without touching
    global state. ``seed``: an integer in [0, 2**32). Returns
    ``(xtrain, ytrain), (xval, yval), 2``.
    """
    num_train = non_negative_int(num_train, "num_train")
    num_val = non_negative_int(num_val, "num_val")
    seed = non_negative_int(seed, "seed")
    if seed >= 2**32:
        raise ValueError(f"seed must be < 2**32 (numpy's RandomState), got {seed}")
    Q = np.asarray([[1.0, -0.05], [1.0, 0.4]])
    x = np.random.RandomState(seed).randn(num_train + num_val, 2)
    quad = np.einsum("bi,ij,bj->b", x, Q, x)  # x^T Q x for every row
    y = (quad > 0.6).astype(np.int64)
    return (x[:num_train], y[:num_train]), (x[num_train:], y[num_train:]), 2


def scale_pixels(X, dtype=np.float32):
    """Map integer pixels 0-255 to floats in [0, 1] (one copy, in ``dtype``).

    The rule is the dtype's, never a guess from the values: ``X`` must have an
    integer dtype (uint8 as the loaders return it) and every value is divided
    by 255, so a black-and-white image stored as 0/255 becomes 0/1. Floating
    input is refused, because 0.0-1.0 floats may be pixels scaled already (a
    second division would shrink them 255 times) or 0-255 values: convert
    0-255 floats yourself with ``X.astype(np.uint8)``, and do not scale floats
    that are already in [0, 1]. Booleans are refused too (is True 1 or 255?).
    """
    X = np.asarray(X)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating type, got {dtype!r}") from None
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating type, got {dtype}")
    if X.dtype.kind not in "uif":
        raise TypeError(f"X must hold pixel numbers (integers 0-255), got dtype"
                        f" {X.dtype}")
    if X.size:
        lo, hi = X.min(), X.max()
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 255:
            raise ValueError(
                f"X must hold pixels in [0, 255], got range [{lo}, {hi}]")
    if X.dtype.kind == "f":
        raise ValueError(
            f"X has the floating dtype {X.dtype}, so it may hold pixels scaled"
            " already; scale_pixels takes whole pixel values 0-255 in an integer"
            " dtype and divides by 255 once. If X holds 0-255 pixels, pass"
            " X.astype(np.uint8); if it is already in [0, 1], use it as it is.")
    out = X.astype(dtype)
    out /= 255
    return out


def load_mnist(final=False, flatten=True, source="auto", cache_dir=None, *,
               mirrors=None, timeout=10.0, progress=True):
    """MNIST as ``(xtrain, ytrain), (xval, yval), 10``: uint8 pixels, int64 labels.

    final=False: the first 55,000 training images to train on and the last
        5,000 as validation. final=True: all 60,000 training images and the
        canonical 10,000 test images (bundled with coursenet).
    flatten: rows of 784 pixels (True) or 28x28 images (False).
    source: "auto" (full set, downloading the training files if needed; when
        offline, or if the cache is unusable, the bundled sample with a
        :class:`SampleDataWarning`), "full" (full set or a
        :class:`coursenet.mnist.DownloadError`) or "sample".
        The sample is 5,000 real digits from MNIST's training file: 4,500
        train / 500 validation, or with final=True all 5,000 to train on and
        MNIST's canonical 10,000 test digits to test on.
    cache_dir: where the training files are cached; default
        :func:`coursenet.mnist.default_cache_dir`.
    mirrors: base URLs to try in order (default :data:`coursenet.mnist.MIRRORS`).
    timeout: seconds to wait for each network operation.
    progress: show a progress bar while downloading.
    """
    _check_bool(final, "final")
    _check_bool(flatten, "flatten")
    if not isinstance(source, str) or source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    cache = mnist._check_path(cache_dir, "cache_dir")
    mirrors = mnist._check_mirrors(mirrors, mnist.MIRRORS)
    mnist._check_download_options(timeout, progress)
    if source == "sample":
        train, test = _load_sample()
        num_val = SAMPLE_NUM_VAL
    else:
        try:
            blobs = mnist.fetch_mnist(cache, mirrors=mirrors, timeout=timeout,
                                      progress=progress)
        except mnist.DownloadError as err:
            where = _describe_cache(cache)
            if source == "full":
                raise mnist.DownloadError(
                    f"{err}\nThe full MNIST training set is not in the cache and could"
                    " not be downloaded. Connect to the internet, or copy"
                    " train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz"
                    f" into {where}, or use source='sample' for the bundled"
                    " 5,000-digit sample."
                ) from err
            warnings.warn(SampleDataWarning(
                "Full MNIST could not be loaded, so the bundled sample of"
                " 5,000 real MNIST digits is used instead (4,500 train / 500"
                " validation, or with final=True all 5,000 to train on and"
                " MNIST's canonical 10,000 test digits to test on)."
                " To get the full set, go online and call"
                " coursenet.data.load_mnist(source='full') once; it is cached in"
                f" {where} (or set ${mnist.CACHE_ENV}). What happened:\n{err}"
            ), stacklevel=2)
            train, test = _load_sample()
            num_val = SAMPLE_NUM_VAL
        else:
            train, test = _parse_set("MNIST", blobs)
            num_val = MNIST_NUM_VAL
    return _split(train, test, num_val, final, flatten)


def load_fashion_mnist(final=False, flatten=True, cache_dir=None, *, data_dir=None,
                       mirrors=None, timeout=10.0, progress=True):
    """Zalando's Fashion-MNIST with :func:`load_mnist`'s contract.

    Returns ``(xtrain, ytrain), (xval, yval), 10``: uint8 pixels 0-255 (28x28
    grey images of clothes, class names in :data:`FASHION_CLASSES`), int64
    labels. final=False: the first 55,000 training images and the last 5,000 as
    validation; final=True: all 60,000 and the 10,000 test images. flatten:
    rows of 784 pixels (True) or 28x28 images (False).

    The files are read from ``data_dir`` (default ``$COURSENET_FASHION_DIR``,
    else Debian's ``/usr/share/datasets/fashion-mnist`` of the package
    ``dataset-fashion-mnist``), else the cache (``cache_dir``/fashion-mnist),
    else downloaded from Zalando's mirrors; every file is checked against a
    pinned SHA-256. If all of that fails: a
    :class:`coursenet.mnist.DownloadError` -- there is no sample to fall back
    on.
    """
    _check_bool(final, "final")
    _check_bool(flatten, "flatten")
    try:
        blobs = mnist.fetch_fashion_mnist(cache_dir, data_dir=data_dir,
                                          mirrors=mirrors, timeout=timeout,
                                          progress=progress)
    except mnist.DownloadError as err:
        raise mnist.DownloadError(
            f"{err}\nFashion-MNIST is not available. On Debian or Ubuntu install it"
            " with `sudo apt-get install dataset-fashion-mnist`; or go online once"
            f" (it is then cached); or point ${mnist.FASHION_DIR_ENV} (or data_dir=)"
            " to a directory holding its four files."
        ) from err
    train, test = _parse_set("Fashion-MNIST", blobs)
    return _split(train, test, MNIST_NUM_VAL, final, flatten)


class Dataset(NamedTuple):
    """What :func:`load_dataset` returns: the course's tuple plus what it holds.

    ``train`` and ``val`` are ``(X, c)`` pairs (``val`` is the test set when
    ``final=True``); ``source`` is ``"full"`` or ``"sample"`` (the bundled
    MNIST sample stood in); ``name`` is ``"mnist"`` or ``"fashion-mnist"``;
    ``classes`` the class names, label order, for figures.
    """

    train: tuple
    val: tuple
    num_cls: int
    source: str
    name: str
    classes: tuple

    @property
    def title(self) -> str:
        """The data set's name for text and figures: ``MNIST`` or ``Fashion-MNIST``."""
        return _TITLES[self.name]


def dataset_name(name=None) -> str:
    """``name`` checked, or ``$COURSENET_DATASET``, or ``"mnist"``."""
    if name is None:
        name = os.environ.get(DATASET_ENV, "").strip().lower() or "mnist"
        what = f"${DATASET_ENV}"
    else:
        what = "name"
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"{what} must be one of {DATASETS}, got {name!r}")
    return name


def load_dataset(name=None, final=False, flatten=True, **kwargs) -> Dataset:
    """MNIST or Fashion-MNIST, chosen by ``name`` or ``$COURSENET_DATASET``.

    ``name``: ``"mnist"`` or ``"fashion-mnist"``; None reads the environment
    variable ``COURSENET_DATASET`` (unset: ``"mnist"``), so that a notebook
    that calls ``load_dataset()`` runs unchanged on either set. ``final``,
    ``flatten`` and ``kwargs`` go to :func:`load_mnist` or
    :func:`load_fashion_mnist`. Returns a :class:`Dataset`; unpack it as
    ``(xtrain, ytrain), (xval, yval), num_cls, source, name, classes``.

    When the bundled MNIST sample stands in for the full set, this says so in
    ``source == "sample"`` instead of a :class:`SampleDataWarning` (show
    :func:`coursenet.display.data_notice` instead); every other warning
    passes through.
    """
    name = dataset_name(name)
    if name == "fashion-mnist":
        train, val, num_cls = load_fashion_mnist(final, flatten, **kwargs)
        return Dataset(train, val, num_cls, "full", name, FASHION_CLASSES)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train, val, num_cls = load_mnist(final, flatten, **kwargs)
    fell_back = kwargs.get("source") == "sample"
    for w in caught:
        if issubclass(w.category, SampleDataWarning):
            fell_back = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    source = "sample" if fell_back else "full"
    return Dataset(train, val, num_cls, source, name, MNIST_CLASSES)


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def _describe_cache(cache):
    if cache is not None:
        return str(cache)
    try:
        return str(mnist.default_cache_dir())
    except ValueError:
        return f"${mnist.CACHE_ENV} (which cannot be used as it is)"


def _parse_set(label, blobs):
    """``((xtrain, ytrain), (xtest, ytest))`` from the four verified files."""
    xtr = mnist.parse_idx(blobs["train-images-idx3-ubyte.gz"])
    ytr = mnist.parse_idx(blobs["train-labels-idx1-ubyte.gz"])
    xte = mnist.parse_idx(blobs["t10k-images-idx3-ubyte.gz"])
    yte = mnist.parse_idx(blobs["t10k-labels-idx1-ubyte.gz"])
    for part, images, labels in (("train", xtr, ytr), ("test", xte, yte)):
        if images.dtype != np.uint8 or images.ndim != 3 \
                or images.shape[1:] != (28, 28) or labels.ndim != 1 \
                or len(images) != len(labels):
            raise ValueError(f"{label} {part} files have unexpected shapes"
                             f" {images.shape} and {labels.shape}")
        as_labels(labels, f"{label} {part} labels", len(labels), 10)
    return (xtr, ytr), (xte, yte)


def _load_sample():
    """The 5,000 sample digits to train on and MNIST's canonical test set.

    The npz keeps the sample in two parts (4,000 + 1,000, stratified, see
    scripts/make_mnist_sample.py); its validation digits are the last 500 of the
    first part, so the 1,000 go in front of them: the last 500 of the 5,000
    stay the same stratified validation set.
    """
    ref = resources.files("coursenet") / "_data" / "mnist_sample.npz"
    with ref.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
        xa, ya = npz["train_images"], npz["train_labels"]
        xb, yb = npz["test_images"], npz["test_labels"]
    cut = len(xa) - SAMPLE_NUM_VAL
    x = np.concatenate([xa[:cut], xb, xa[cut:]])
    y = np.concatenate([ya[:cut], yb, ya[cut:]])
    blobs = {name: mnist._read_bundled(name) for name in mnist.BUNDLED_MNIST}
    xte = mnist.parse_idx(blobs["t10k-images-idx3-ubyte.gz"])
    yte = mnist.parse_idx(blobs["t10k-labels-idx1-ubyte.gz"])
    return (x, y), (xte, yte)


def _split(train, test, num_val, final, flatten):
    (xtr, ytr), (xte, yte) = train, test
    # signed labels: y - 1 or y - y_pred can never wrap around
    ytr, yte = ytr.astype(np.int64), yte.astype(np.int64)
    if not final:
        (xtr, ytr), (xte, yte) = (xtr[:-num_val], ytr[:-num_val]), \
            (xtr[-num_val:], ytr[-num_val:])
    if flatten:
        xtr = xtr.reshape(len(xtr), -1)
        xte = xte.reshape(len(xte), -1)
    return (xtr, ytr), (xte, yte), 10


__all__ = ["load_synth", "scale_pixels", "load_mnist", "load_fashion_mnist",
           "load_dataset", "dataset_name", "Dataset", "SampleDataWarning",
           "MNIST_CLASSES", "FASHION_CLASSES", "DATASET_ENV", "DATASETS",
           "MNIST_NUM_VAL", "SAMPLE_NUM_VAL", "SOURCES"]
