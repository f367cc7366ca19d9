"""Softmax and cross-entropy: stable forward passes, Jacobian, VJP, fused gradient.

Shapes: ``logits`` and probabilities ``probs`` are ``(N, C)`` (rows are
instances), labels ``y`` are integer class ids ``(N,)``. Losses are **means**
over the batch, so every gradient here carries a factor ``1/N``.

Three ways to backpropagate through softmax + cross-entropy, checked against
each other in the tests and in notebook 01:

1. staged, explicit: ``dl/dprobs`` (:func:`cross_entropy_backward`) times the
   Jacobian ``J = diag(y) - y y^T`` (:func:`softmax_jacobian`);
2. staged, as a vector-Jacobian product without building ``J``
   (:func:`softmax_backward`);
3. fused: ``dl/dlogits = (probs - onehot) / N`` (:func:`softmax_cross_entropy`).
"""

from __future__ import annotations

import numpy as np

from coursenet._checks import as_float_array, as_labels


def log_softmax(logits):
    """Log-probabilities ``(N, C)`` by max-shift and log-sum-exp (never overflows)."""
    logits = as_float_array(logits, "logits", ndim=2)
    if logits.shape[1] == 0:
        raise ValueError(f"logits must have at least one class (column), got shape"
                         f" {logits.shape}")
    shifted = logits - logits.max(axis=1, keepdims=True)  # largest entry is 0
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits):
    """Probabilities ``(N, C)``, rows summing to 1, as ``exp(log_softmax)``."""
    return np.exp(log_softmax(logits))


def softmax_jacobian(probs):
    """Jacobians ``(N, C, C)`` of softmax, one per row: ``J[n] = diag(y) - y y^T``.

    ``J[n, i, j] = dy_i / do_j`` for row ``n``: ``y_i (1 - y_i)`` on the diagonal,
    ``-y_i y_j`` off it. The matrix is symmetric.
    """
    probs = as_float_array(probs, "probs", ndim=2)
    outer = probs[:, :, None] * probs[:, None, :]  # (N, C, C)
    diag = np.zeros_like(outer)
    idx = np.arange(probs.shape[1])
    diag[:, idx, idx] = probs
    return diag - outer


def softmax_backward(dprobs, probs):
    """Vector-Jacobian product through softmax: ``dlogits[n] = J[n]^T dprobs[n]``.

    Without building ``J``: ``y * (g - sum(g * y))`` row by row. ``dprobs`` and
    ``probs`` are ``(N, C)``; returns ``dlogits`` ``(N, C)``.
    """
    probs = as_float_array(probs, "probs", ndim=2)
    dprobs = as_float_array(dprobs, "dprobs", ndim=2)
    if dprobs.shape != probs.shape:
        raise ValueError(
            f"dprobs has shape {dprobs.shape} but probs has shape {probs.shape};"
            " they must match"
        )
    return probs * (dprobs - (dprobs * probs).sum(axis=1, keepdims=True))


def cross_entropy(logits, y):
    """Mean cross-entropy ``-(1/N) sum_n log softmax(logits)[n, y_n]`` (a float).

    Computed from :func:`log_softmax`, never as ``log(softmax(.))``, so logits
    like ``[0, 1000]`` give the right finite loss.
    """
    logp = _nonempty(log_softmax(logits))
    y = as_labels(y, "y", logp.shape[0], logp.shape[1])
    return float(-logp[np.arange(len(y)), y].mean())


def cross_entropy_backward(probs, y):
    """Gradient of the mean loss ``-(1/N) sum log probs[n, y_n]`` w.r.t. ``probs``.

    Q1's ``dl/dy_i = -1 / y_c`` for ``i = c`` and 0 otherwise, divided by ``N``
    because the loss is a mean. Returns ``(N, C)``. It divides by a probability,
    so it is infinite when a probability underflows to 0: the fused
    :func:`softmax_cross_entropy` is the robust path.
    """
    probs = _nonempty(as_float_array(probs, "probs", ndim=2), "probs")
    if probs.min() < 0 or probs.max() > 1:
        raise ValueError("probs must be probabilities in [0, 1] (softmax's output),"
                         f" got values from {probs.min():g} to {probs.max():g}")
    y = as_labels(y, "y", probs.shape[0], probs.shape[1])
    n = probs.shape[0]
    dprobs = np.zeros_like(probs)
    with np.errstate(divide="ignore"):
        dprobs[np.arange(n), y] = -1.0 / (n * probs[np.arange(n), y])
    return dprobs


def softmax_cross_entropy(logits, y):
    """Fused loss and gradient: ``(mean loss, dlogits = (probs - onehot) / N)``."""
    logp = _nonempty(log_softmax(logits))
    y = as_labels(y, "y", logp.shape[0], logp.shape[1])
    n = logp.shape[0]
    rows = np.arange(n)
    loss = float(-logp[rows, y].mean())
    dlogits = np.exp(logp)
    dlogits[rows, y] -= 1.0  # subtract at the label column: no one-hot matrix
    dlogits /= n
    return loss, dlogits


def _nonempty(arr, name="logits"):
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {arr.shape}): the mean"
                         " loss over 0 rows is undefined")
    return arr
