"""A two-layer perceptron: linear -> sigmoid -> linear -> softmax cross-entropy.

Parameters are a dict ``{"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}``.
This module is the readable reference; :mod:`coursenet.train` has the fast,
buffer-reusing training loop and is tested against it.
"""

from __future__ import annotations

import numpy as np

from coursenet._checks import as_float_array, as_labels, positive_number
from coursenet.layers import (
    linear_backward,
    linear_forward,
    sigmoid_backward,
    sigmoid_forward,
)
from coursenet.losses import softmax, softmax_cross_entropy

PARAM_NAMES = ("W1", "b1", "W2", "b2")


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


def check_params(params) -> dict:
    """Check the four arrays exist and fit together; return them unchanged."""
    if not isinstance(params, dict):
        raise TypeError(
            f"params must be a dict with keys {PARAM_NAMES}, got {type(params)}")
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; expected keys {PARAM_NAMES}")
    W1, b1, W2, b2 = (np.asarray(params[k]) for k in PARAM_NAMES)
    if W1.ndim != 2 or W2.ndim != 2 or b1.shape != (W1.shape[1],) \
            or W2.shape[0] != W1.shape[1] or b2.shape != (W2.shape[1],):
        raise ValueError(
            f"params shapes do not fit together: got W1 {W1.shape}, b1 {b1.shape},"
            f" W2 {W2.shape}, b2 {b2.shape};"
            " expected (D, H), (H,), (H, C), (C,)"
        )
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


def predict(params, X, batch_size=4096):
    """Predicted class ids ``(N,)``, computed in chunks to bound memory."""
    X = as_float_array(X, "X", ndim=2)
    out = np.empty(len(X), dtype=np.int64)
    for start in range(0, len(X), batch_size):
        logits, _ = forward(params, X[start:start + batch_size])
        out[start:start + batch_size] = logits.argmax(axis=1)
    return out


def accuracy(params, X, y):
    """Fraction of rows whose predicted class equals ``y``."""
    X = as_float_array(X, "X", ndim=2)
    y = as_labels(y, "y", X.shape[0], np.asarray(params["W2"]).shape[1])
    return float((predict(params, X) == y).mean())


def probabilities(params, X):
    """Softmax probabilities ``(N, C)``."""
    return softmax(forward(params, X)[0])


def from_scalar(params, dtype=np.float64):
    """The plain-Python network's ``{W, b, V, c}`` as ``{W1, b1, W2, b2}`` arrays."""
    return {"W1": np.array(params["W"], dtype), "b1": np.array(params["b"], dtype),
            "W2": np.array(params["V"], dtype), "b2": np.array(params["c"], dtype)}
