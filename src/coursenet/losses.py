"""Softmax and cross-entropy: stable forward passes, Jacobian, VJP, fused gradient.

Notation (notebook 01's card). Rows are instances: the logits ``o`` and the
probabilities ``y = softmax(o)`` of a batch are ``(N, C)`` arrays, one row per
instance. The true class of row ``n`` is its class index ``c_n``, an integer in
``0 .. C-1``; a batch's class indices have shape ``(N,)`` and are the argument
``c`` below (``y`` always holds probabilities). Losses are **means** over the
batch, ``l = -(1/N) sum_n log y[n, c_n]``, so every gradient here carries a
factor ``1/N``.

Gradients are rows, like the quantities they belong to, so the chain rule
reads left to right: ``∇ₒl = ∇ᵧl J`` with ``J[i, j] = ∂y_i/∂o_j``. For one row
``y``, ``J = diag(y) - yᵀy`` (``yᵀy`` is the ``C x C`` outer product of the row
with itself); ``J`` is symmetric.

Three ways to backpropagate through softmax + cross-entropy, checked against
each other in the tests and in notebook 01:

1. staged, explicit: ``∇ᵧl`` (:func:`cross_entropy_backward`) times the
   Jacobian ``J`` (:func:`softmax_jacobian`), ``∇ₒl = ∇ᵧl J`` row by row;
2. staged, as a vector-Jacobian product ``∇ᵧl J`` without building ``J``
   (:func:`softmax_backward`);
3. fused: ``∇ₒl = (y - onehot(c)) / N`` (:func:`softmax_cross_entropy`).
"""

from __future__ import annotations

import numpy as np

from coursenet._checks import as_float_array, as_labels


def log_softmax(logits):
    """``log y`` for logits ``o`` ``(N, C)``, by max-shift and log-sum-exp.

    Row by row, ``log y_i = o_i - max(o) - log sum_j exp(o_j - max(o))``:
    never overflows, and a tiny ``y_i`` keeps its exact logarithm.
    """
    logits = as_float_array(logits, "logits", ndim=2)
    if logits.shape[1] == 0:
        raise ValueError(f"logits must have at least one class (column), got shape"
                         f" {logits.shape}")
    shifted = logits - logits.max(axis=1, keepdims=True)  # largest entry is 0
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits):
    """Probabilities ``y = softmax(o)``, ``(N, C)``, each row summing to 1.

    ``y_i = exp(o_i) / sum_j exp(o_j)`` row by row, computed as
    ``exp(log_softmax(o))``.
    """
    return np.exp(log_softmax(logits))


def softmax_jacobian(probs):
    """Jacobians ``(N, C, C)`` of softmax, one per row: ``J[n] = diag(y) - yᵀy``.

    ``probs`` holds the rows ``y`` (``(N, C)``). ``J[n, i, j] = ∂y_i/∂o_j`` for
    row ``n`` (``i`` the output, ``j`` the logit): ``y_i (1 - y_i)`` on the
    diagonal, ``-y_i y_j`` off it. The matrix is symmetric, so the row product
    ``∇ᵧl J`` equals ``J ∇ᵧl`` written for a column.
    """
    probs = _probabilities(probs)
    outer = probs[:, :, None] * probs[:, None, :]  # (N, C, C)
    diag = np.zeros_like(outer)
    idx = np.arange(probs.shape[1])
    diag[:, idx, idx] = probs
    return diag - outer


def softmax_backward(dprobs, probs):
    """Vector-Jacobian product through softmax: row ``n`` of the result is
    ``∇ₒl = ∇ᵧl J[n]`` for ``∇ᵧl = dprobs[n]``.

    Without building ``J``: with ``g = ∇ᵧl`` (a row) and ``y`` the row of
    ``probs``, ``(∇ₒl)_j = y_j (g_j - sum_i g_i y_i)``. ``dprobs`` and ``probs``
    are ``(N, C)``; returns ``dlogits`` (``∇ₒl`` row by row), ``(N, C)``.
    """
    probs = as_float_array(probs, "probs", ndim=2)
    dprobs = as_float_array(dprobs, "dprobs", ndim=2)
    if dprobs.shape != probs.shape:
        raise ValueError(
            f"dprobs has shape {dprobs.shape} but probs has shape {probs.shape};"
            " they must match"
        )
    return probs * (dprobs - (dprobs * probs).sum(axis=1, keepdims=True))


def cross_entropy(logits, c):
    """Mean cross-entropy ``l = -(1/N) sum_n log y[n, c_n]`` (a float).

    ``logits`` are the rows ``o`` ``(N, C)``; ``c`` holds the class indices
    ``(N,)`` (integers; ``y`` is reserved for probabilities). Computed from
    :func:`log_softmax`, never as ``log(softmax(.))``, so logits like
    ``[0, 1000]`` give the right finite loss.
    """
    logp = _nonempty(log_softmax(logits))
    c = as_labels(c, "c", logp.shape[0], logp.shape[1])
    return float(-logp[np.arange(len(c)), c].mean())


def cross_entropy_backward(probs, c):
    """``∇ᵧl`` row by row: the gradient of ``l = -(1/N) sum_n log y[n, c_n]``
    with respect to the probabilities ``y`` (``probs``, ``(N, C)``).

    ``c`` holds the class indices ``(N,)``. Q1's
    ``∂l/∂y_i = -1 / y_c`` for ``i = c`` and 0 otherwise, divided by ``N``
    because the loss is a mean. Returns ``(N, C)``. It divides by a
    probability, so it is infinite when a probability underflows to 0: the
    fused :func:`softmax_cross_entropy` is the robust path.
    """
    probs = _nonempty(_probabilities(probs), "probs")
    c = as_labels(c, "c", probs.shape[0], probs.shape[1])
    n = probs.shape[0]
    dprobs = np.zeros_like(probs)
    with np.errstate(divide="ignore"):
        dprobs[np.arange(n), c] = -1.0 / (n * probs[np.arange(n), c])
    return dprobs


def softmax_cross_entropy(logits, c):
    """Fused loss and gradient: ``(l, ∇ₒl)`` with ``∇ₒl = (y - onehot(c)) / N``.

    ``logits`` are the rows ``o`` ``(N, C)``, ``c`` the class indices
    ``(N,)``; ``y - onehot(c)`` is the probabilities minus 1 at
    each row's true class. Returns the mean loss (a float) and ``dlogits``
    ``(N, C)``.
    """
    logp = _nonempty(log_softmax(logits))
    c = as_labels(c, "c", logp.shape[0], logp.shape[1])
    n = logp.shape[0]
    rows = np.arange(n)
    loss = float(-logp[rows, c].mean())
    dlogits = np.exp(logp)
    dlogits[rows, c] -= 1.0  # subtract at the label column: no one-hot matrix
    dlogits /= n
    return loss, dlogits


def _nonempty(arr, name="logits"):
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {arr.shape}): the mean"
                         " loss over 0 rows is undefined")
    return arr


def _probabilities(probs):
    """``probs`` (N, C) if its rows are probability vectors (softmax's output):
    entries in [0, 1], each row summing to 1 up to rounding."""
    probs = as_float_array(probs, "probs", ndim=2)
    if probs.size == 0:
        return probs
    if probs.min() < 0 or probs.max() > 1:
        raise ValueError("probs must be probabilities in [0, 1] (softmax's output),"
                         f" got values from {probs.min():g} to {probs.max():g}")
    # softmax's rows sum to 1 within a few roundings per entry
    tol = 64 * np.finfo(probs.dtype).eps * probs.shape[1]
    off = np.abs(probs.sum(axis=1, dtype=np.float64) - 1.0)
    if off.max() > tol:
        row = int(off.argmax())
        raise ValueError(f"probs must be probabilities (softmax's output): each row"
                         f" must sum to 1, but row {row} sums to"
                         f" {probs[row].sum(dtype=np.float64):.6g}")
    return probs
