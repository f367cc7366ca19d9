"""A two-layer perceptron: linear -> sigmoid -> linear -> softmax cross-entropy.

Parameters are a dict ``{"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}``.
:func:`forward`, :func:`backward` and :func:`loss_and_grads` are the course's
network, composed from :mod:`coursenet.layers` and :mod:`coursenet.losses`.
:func:`evaluate` and :func:`predict` check their arguments here and run the
whole set through :mod:`coursenet._fast_eval`, the fast twin of
:func:`forward` (chunks through reused buffers, no softmax), which
``tests/test_fast_paths.py`` pins to this module.
"""

from __future__ import annotations

import numpy as np

from coursenet import _fast_eval, layers, losses
from coursenet._checks import (
    as_float_array,
    as_labels,
    check_bool,
    check_seed,
    positive_number,
    refuse_masked,
)

PARAM_NAMES = ("W1", "b1", "W2", "b2")
EVAL_CHUNK = 4096  # rows per pass when evaluating or predicting a whole set


def init_mlp(num_inputs=784, num_hiddens=300, num_outputs=10, seed=0,
             dtype=np.float32):
    """Random weights, zero biases.

    Weights are normal with standard deviation ``1 / sqrt(fan_in)`` so the
    pre-activations start with unit scale. ``seed`` is an int or a
    ``numpy.random.Generator``; numpy's global random state is never touched.
    """
    for name, value in (("num_inputs", num_inputs), ("num_hiddens", num_hiddens),
                        ("num_outputs", num_outputs)):
        positive_number(value, name, integer=True)
    check_seed(seed)
    dtype = _float_dtype(dtype)
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((num_inputs, num_hiddens)) / np.sqrt(num_inputs)
    W2 = rng.standard_normal((num_hiddens, num_outputs)) / np.sqrt(num_hiddens)
    return {
        "W1": W1.astype(dtype),
        "b1": np.zeros(num_hiddens, dtype),
        "W2": W2.astype(dtype),
        "b2": np.zeros(num_outputs, dtype),
    }


def _float_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating numpy dtype (e.g. np.float32),"
                        f" got {dtype!r}") from None
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating type, got {dtype}")
    return dtype


def check_params(params, *, training=False) -> dict:
    """Check the four arrays exist, fit together and hold finite real numbers;
    return them unchanged.

    With ``training=True`` (what :func:`coursenet.train.sgd` needs) they must
    also share one floating dtype and no memory: an update of one would
    silently change another.
    """
    check_bool(training, "training")
    if not isinstance(params, dict):
        raise TypeError(
            f"params must be a dict with keys {PARAM_NAMES}, got {type(params)}")
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; expected keys {PARAM_NAMES}")
    W1, b1, W2, b2 = arrays = [np.asarray(refuse_masked(params[k], f"params[{k!r}]"))
                               for k in PARAM_NAMES]
    if W1.ndim != 2 or W2.ndim != 2 or b1.shape != (W1.shape[1],) \
            or W2.shape[0] != W1.shape[1] or b2.shape != (W2.shape[1],):
        raise ValueError(
            f"params shapes do not fit together: got W1 {W1.shape}, b1 {b1.shape},"
            f" W2 {W2.shape}, b2 {b2.shape};"
            " expected (D, H), (H,), (H, C), (C,)"
        )
    for k, a in zip(PARAM_NAMES, arrays):
        as_float_array(a, f"params[{k!r}]")  # real numbers, finite
    if training:
        _check_trainable(dict(zip(PARAM_NAMES, arrays)))
    return params


def _check_trainable(arrays):
    dtypes = {k: a.dtype for k, a in arrays.items()}
    if any(d.kind != "f" for d in dtypes.values()) or len(set(dtypes.values())) > 1:
        raise TypeError(
            "params must all have the same floating dtype, got "
            + ", ".join(f"{k} {d}" for k, d in dtypes.items())
            + "; e.g. {k: v.astype(np.float32) for k, v in params.items()}")
    for i, k in enumerate(PARAM_NAMES):
        for other in PARAM_NAMES[i + 1:]:
            if np.may_share_memory(arrays[k], arrays[other]):
                raise ValueError(
                    f"params[{other!r}] shares memory with params[{k!r}]: updating"
                    " one would change the other; give each its own array, e.g."
                    " {k: v.copy() for k, v in params.items()}")


def forward(params, X):
    """Logits ``(N, C)`` for inputs ``X (N, D)``, and the cache for :func:`backward`.

    The cache holds the layers' caches (see :mod:`coursenet.layers`): editing
    the returned logits in place cannot change the backward pass; editing
    ``X`` or the parameters between forward and backward would.
    """
    check_params(params)
    X = as_float_array(X, "X", ndim=2)
    K, lin1 = layers.linear_forward(X, params["W1"], params["b1"])  # (N, H)
    hidden, sig = layers.sigmoid_forward(K)  # (N, H)
    logits, lin2 = layers.linear_forward(hidden, params["W2"], params["b2"])  # (N, C)
    return logits, (lin1, sig, lin2)


def backward(dlogits, cache):
    """Gradients of every parameter given ``dlogits (N, C)``: the forward in reverse."""
    if not isinstance(cache, tuple) or len(cache) != 3:
        raise TypeError("cache must be the (linear, sigmoid, linear) caches that"
                        f" mlp.forward returned, got {type(cache).__name__}")
    lin1, sig, lin2 = cache
    dH, dW2, db2 = layers.linear_backward(dlogits, lin2)
    dK = layers.sigmoid_backward(dH, sig)
    _, dW1, db1 = layers.linear_backward(dK, lin1)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def loss_and_grads(params, X, c):
    """Mean cross-entropy over the batch and the gradient of every parameter."""
    logits, cache = forward(params, X)
    c = as_labels(c, "c", logits.shape[0], logits.shape[1])
    loss, dlogits = losses.softmax_cross_entropy(logits, c)
    return loss, backward(dlogits, cache)


def _checked_X(params, X, batch_size):
    check_params(params)
    batch_size = int(positive_number(batch_size, "batch_size", integer=True))
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] != np.shape(params["W1"])[0]:
        raise ValueError(f"X has {X.shape[1]} features but W1 expects"
                         f" {np.shape(params['W1'])[0]}")
    return X, batch_size


def predict(params, X, batch_size=EVAL_CHUNK):
    """Predicted class ids ``(N,)`` (int64): the argmax of :func:`forward`'s logits.

    Computed ``batch_size`` rows at a time, so memory stays bounded whatever
    the size of ``X``.
    """
    X, batch_size = _checked_X(params, X, batch_size)
    out = np.empty(len(X), dtype=np.int64)
    return _fast_eval.predict_into(params, X, out, batch_size)


def evaluate(params, X, c, batch_size=EVAL_CHUNK):
    """Mean cross-entropy loss and accuracy ``(loss, acc)`` on ``(X, c)``.

    The same numbers as :func:`loss_and_grads`'s loss and
    ``(predict(params, X) == c).mean()``, computed ``batch_size`` rows at a time.
    """
    X, batch_size = _checked_X(params, X, batch_size)
    if len(X) == 0:
        raise ValueError("X is empty: cannot average a loss over 0 rows")
    c = as_labels(c, "c", len(X), np.shape(params["W2"])[1])
    chunks = _fast_eval.chunks(params, X, batch_size)
    return _fast_eval.loss_and_accuracy(chunks, c, batch_size)


def accuracy(params, X, c):
    """Fraction of rows whose predicted class equals ``c``."""
    check_params(params)
    X = as_float_array(X, "X", ndim=2)
    if len(X) == 0:
        raise ValueError("X is empty: the accuracy of 0 rows is undefined")
    c = as_labels(c, "c", X.shape[0], np.asarray(params["W2"]).shape[1])
    return float((predict(params, X) == c).mean())


def probabilities(params, X):
    """Softmax probabilities ``(N, C)``."""
    return losses.softmax(forward(params, X)[0])


def from_scalar(params, dtype=np.float64):
    """The plain-Python network's ``{W, b, V, c}`` as ``{W1, b1, W2, b2}`` arrays.

    ``W`` (D x H lists) becomes ``W1``, ``b`` ``b1``, ``V`` ``W2`` and ``c``
    ``b2``: the same network, so :func:`forward` gives the scalar network's
    logits.
    """
    names = {"W": "W1", "b": "b1", "V": "W2", "c": "b2"}
    if not isinstance(params, dict) or not set(names) <= set(params):
        raise ValueError("params must be the plain-Python network's dict with keys"
                         f" {tuple(names)}, got "
                         + (f"keys {sorted(params)}" if isinstance(params, dict)
                            else type(params).__name__))
    dtype = _float_dtype(dtype)
    arrays = {}
    for old, new in names.items():
        try:
            value = np.asarray(params[old])
        except ValueError:
            raise ValueError(f"params[{old!r}] is ragged: its rows have different"
                             " lengths") from None
        arrays[new] = as_float_array(value, f"params[{old!r}]").astype(dtype)
    try:
        check_params(arrays)
    except ValueError:
        shapes = ", ".join(f"{old} {' x '.join(map(str, arrays[new].shape))}"
                           for old, new in names.items())
        raise ValueError(f"params shapes do not fit together: got {shapes};"
                         " expected W D x H, b H, V H x C, c C") from None
    return arrays
