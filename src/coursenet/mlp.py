"""A two-layer perceptron: linear -> sigmoid -> linear -> softmax cross-entropy.

Parameters are a dict ``{"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}``.
:func:`forward`, :func:`backward` and :func:`loss_and_grads` are the readable
reference; :mod:`coursenet.train` has the fast, buffer-reusing training loop
and is tested against them. The evaluation of a whole set (:func:`evaluate`,
:func:`predict`, :func:`chunked_logits`) is written for speed too: chunks
through two reused buffers, no softmax (``tests/test_fast_paths.py`` pins it
to :func:`forward` and :func:`loss_and_grads`).
"""

from __future__ import annotations

import numpy as np

from coursenet import scalar
from coursenet._checks import as_float_array, as_labels, positive_number
from coursenet.layers import (
    linear_backward,
    linear_forward,
    sigmoid_backward,
    sigmoid_forward,
)
from coursenet.losses import softmax, softmax_cross_entropy

PARAM_NAMES = ("W1", "b1", "W2", "b2")
EVAL_CHUNK = 4096  # rows per forward pass when evaluating or predicting a whole set


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
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating type, got {dtype}")
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((num_inputs, num_hiddens)) / np.sqrt(num_inputs)
    W2 = rng.standard_normal((num_hiddens, num_outputs)) / np.sqrt(num_hiddens)
    return {
        "W1": W1.astype(dtype),
        "b1": np.zeros(num_hiddens, dtype),
        "W2": W2.astype(dtype),
        "b2": np.zeros(num_outputs, dtype),
    }


def check_params(params, *, training=False) -> dict:
    """Check the four arrays exist and fit together; return them unchanged.

    With ``training=True`` (what :func:`coursenet.train.sgd` needs) they must
    also share one floating dtype and hold no NaN or infinite value.
    """
    if not isinstance(params, dict):
        raise TypeError(
            f"params must be a dict with keys {PARAM_NAMES}, got {type(params)}")
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; expected keys {PARAM_NAMES}")
    W1, b1, W2, b2 = arrays = [np.asarray(params[k]) for k in PARAM_NAMES]
    if W1.ndim != 2 or W2.ndim != 2 or b1.shape != (W1.shape[1],) \
            or W2.shape[0] != W1.shape[1] or b2.shape != (W2.shape[1],):
        raise ValueError(
            f"params shapes do not fit together: got W1 {W1.shape}, b1 {b1.shape},"
            f" W2 {W2.shape}, b2 {b2.shape};"
            " expected (D, H), (H,), (H, C), (C,)"
        )
    if not training:
        return params
    dtypes = {k: a.dtype for k, a in zip(PARAM_NAMES, arrays)}
    if any(d.kind != "f" for d in dtypes.values()) or len(set(dtypes.values())) > 1:
        raise TypeError(
            "params must all have the same floating dtype, got "
            + ", ".join(f"{k} {d}" for k, d in dtypes.items())
            + "; e.g. {k: v.astype(np.float32) for k, v in params.items()}")
    bad = [k for k, a in zip(PARAM_NAMES, arrays) if not np.isfinite(a).all()]
    if bad:
        raise ValueError(f"params {bad} contain NaN or infinite values")
    return params


def forward(params, X):
    """Logits ``(N, C)`` for inputs ``X (N, D)``, and the cache for :func:`backward`."""
    check_params(params)
    X = as_float_array(X, "X", ndim=2)
    K, lin1 = linear_forward(X, params["W1"], params["b1"])  # (N, H)
    Hid, sig = sigmoid_forward(K)  # (N, H)
    logits, lin2 = linear_forward(Hid, params["W2"], params["b2"])  # (N, C)
    return logits, (lin1, sig, lin2)


def backward(dlogits, cache):
    """Gradients of every parameter given ``dlogits (N, C)``: the forward in reverse."""
    lin1, sig, lin2 = cache
    dH, dW2, db2 = linear_backward(dlogits, lin2)
    dK = sigmoid_backward(dH, sig)
    _, dW1, db1 = linear_backward(dK, lin1)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def loss_and_grads(params, X, y):
    """Mean cross-entropy over the batch and the gradient of every parameter."""
    logits, cache = forward(params, X)
    y = as_labels(y, "y", logits.shape[0], logits.shape[1])
    loss, dlogits = softmax_cross_entropy(logits, y)
    return loss, backward(dlogits, cache)


def chunked_logits(params, X, batch_size=EVAL_CHUNK):
    """Yield ``(start, logits)`` for consecutive chunks of ``batch_size`` rows of X.

    The one evaluator behind :func:`predict`, :func:`evaluate` and
    :func:`coursenet.train.evaluate`: memory stays bounded by the chunk,
    whatever the size of ``X``. Inputs are checked once, not per chunk.
    ``logits`` is a view of a buffer that the next chunk overwrites: copy it
    to keep it.
    """
    check_params(params)
    batch_size = int(positive_number(batch_size, "batch_size", integer=True))
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] != np.shape(params["W1"])[0]:
        raise ValueError(f"X has {X.shape[1]} features but W1 expects"
                         f" {np.shape(params['W1'])[0]}")
    return _chunks(params, X, batch_size)


def _chunks(params, X, batch_size):
    """:func:`forward`'s maths for a whole set, chunk by chunk, in two buffers.

    Computes in the parameters' dtype (float32 stays float32). The hidden
    buffer (chunk x H) and the logits buffer (chunk x C) are allocated once and
    reused for every chunk; the rows of X are read where they are, not copied.
    The sigmoid is folded into the weights, which costs two passes over the
    hidden layer instead of five:
    ``sigmoid(k) = (1 + tanh(k / 2)) / 2``, so with ``T = tanh(X W1/2 + b1/2)``
    the logits are ``T (W2/2) + (b2 + colsum(W2)/2)``.
    """
    dtype = np.result_type(X.dtype, *(np.asarray(params[k]).dtype
                                      for k in PARAM_NAMES))
    W1, b1, W2, b2 = (np.asarray(params[k], dtype) for k in PARAM_NAMES)
    half_W1, half_b1, half_W2 = 0.5 * W1, 0.5 * b1, 0.5 * W2  # halving is exact
    bias2 = b2 + 0.5 * W2.sum(axis=0, dtype=np.float64).astype(dtype)
    n = len(X)
    rows = min(batch_size, n)
    hidden = np.empty((rows, W1.shape[1]), dtype)
    logits = np.empty((rows, W2.shape[1]), dtype)
    for start in range(0, n, batch_size):
        chunk = X[start:start + batch_size]
        if chunk.dtype != dtype:
            chunk = chunk.astype(dtype)  # mixed dtypes only: one cast per chunk
        h, z = hidden[:len(chunk)], logits[:len(chunk)]
        np.dot(chunk, half_W1, out=h)
        h += half_b1
        np.tanh(h, out=h)  # h = 2 sigmoid(K) - 1
        np.dot(h, half_W2, out=z)
        z += bias2
        yield start, z


def predict(params, X, batch_size=EVAL_CHUNK):
    """Predicted class ids ``(N,)`` (int64), computed in chunks to bound memory."""
    chunks = chunked_logits(params, X, batch_size)  # checks X (and is lazy)
    out = np.empty(np.shape(X)[0], dtype=np.int64)
    for start, logits in chunks:
        np.argmax(logits, axis=1, out=out[start:start + len(logits)])
    return out


def evaluate(params, X, y, batch_size=EVAL_CHUNK):
    """Mean cross-entropy loss and accuracy ``(loss, acc)`` on ``(X, y)``, in chunks."""
    chunks = chunked_logits(params, X, batch_size)
    n = np.shape(X)[0]
    if n == 0:
        raise ValueError("X is empty: cannot average a loss over 0 rows")
    y = as_labels(y, "y", n, np.shape(params["W2"])[1])
    return _evaluate(chunks, y, batch_size)


def _evaluate(chunks, y, batch_size):
    """Mean loss and accuracy over the chunks, with per-chunk buffers reused.

    No softmax: the accuracy needs only the argmax, and the loss of a row is
    ``log(sum(exp(z - max z))) - (z_label - max z)`` (log-sum-exp).
    """
    rows = min(batch_size, len(y))
    row_start = np.arange(rows, dtype=np.int64)  # flat index of each row's start...
    flat = np.empty(rows, np.int64)  # ...and of its label's logit
    pred = np.empty(rows, np.intp)
    hit = np.empty(rows, bool)
    total_loss = 0.0
    correct = 0
    top = label = None
    for start, z in chunks:
        n, num_classes = z.shape
        if top is None:
            top, label = np.empty(rows, z.dtype), np.empty(rows, z.dtype)
            row_start *= num_classes
        yc = y[start:start + n]
        np.argmax(z, axis=1, out=pred[:n])
        correct += int(np.count_nonzero(np.equal(pred[:n], yc, out=hit[:n])))
        m, zy = top[:n], label[:n]
        np.max(z, axis=1, out=m)
        z -= m[:, None]
        np.add(row_start[:n], yc, out=flat[:n], casting="unsafe")  # yc in [0, C)
        np.take(z.reshape(-1), flat[:n], out=zy)  # z_label - max z
        np.exp(z, out=z)
        np.sum(z, axis=1, out=m)
        np.log(m, out=m)
        total_loss += float(np.sum(m, dtype=np.float64) - np.sum(zy, dtype=np.float64))
    return total_loss / len(y), correct / len(y)


def accuracy(params, X, y):
    """Fraction of rows whose predicted class equals ``y``."""
    X = as_float_array(X, "X", ndim=2)
    if len(X) == 0:
        raise ValueError("X is empty: the accuracy of 0 rows is undefined")
    y = as_labels(y, "y", X.shape[0], np.asarray(params["W2"]).shape[1])
    return float((predict(params, X) == y).mean())


def probabilities(params, X):
    """Softmax probabilities ``(N, C)``."""
    return softmax(forward(params, X)[0])


def from_scalar(params, dtype=np.float64):
    """The plain-Python network's ``{W, b, V, c}`` as ``{W1, b1, W2, b2}`` arrays."""
    scalar.check_params(params)
    return {"W1": np.array(params["W"], dtype), "b1": np.array(params["b"], dtype),
            "W2": np.array(params["V"], dtype), "b2": np.array(params["c"], dtype)}
