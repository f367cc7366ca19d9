"""Layers as pairs of pure functions: ``forward -> (out, cache)``, ``backward``.

``backward(dout, cache)`` never recomputes the forward pass and never mutates
its inputs. Batches are rows: ``X`` is ``(N, D)``.

What a cache holds: a layer's *output* is never cached by reference (sigmoid
caches a copy), so editing an output in place (``out *= mask``) cannot change
the backward pass. Its *inputs* are cached by reference, without a copy, as
CS231n's layers do: do not modify ``X`` or ``W`` in place between forward and
backward (an SGD update comes after the backward pass).
"""

from __future__ import annotations

import numpy as np

from coursenet._checks import as_float_array, refuse_masked


def linear_forward(X, W, b):
    """``out = X @ W + b``.

    X: (N, D) inputs, W: (D, M) weights, b: (M,) bias.
    Returns out (N, M) and cache ``(X, W)`` (references to the inputs).
    """
    X = as_float_array(X, "X", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    b = as_float_array(b, "b", ndim=1)
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"X has {X.shape[1]} features (shape {X.shape}) but W expects"
            f" {W.shape[0]} (shape {W.shape})"
        )
    if b.shape != (W.shape[1],):
        raise ValueError(f"b must have shape ({W.shape[1]},), got {b.shape}")
    return X @ W + b, (X, W)


def linear_backward(dout, cache):
    """Gradients of ``X @ W + b``: returns ``(dX (N, D), dW (D, M), db (M,))``.

    The bias was broadcast over the N rows in forward, so its gradient sums them.
    """
    X, W = _linear_cache(cache)
    dout = as_float_array(dout, "dout", ndim=2)
    if dout.shape != (X.shape[0], W.shape[1]):
        raise ValueError(
            f"dout must have shape {(X.shape[0], W.shape[1])}, got {dout.shape}"
        )
    return dout @ W.T, X.T @ dout, dout.sum(axis=0)


def _linear_cache(cache):
    """The ``(X, W)`` of :func:`linear_forward`, or an error naming what is wrong."""
    if not isinstance(cache, tuple) or len(cache) != 2 or not all(
            isinstance(a, np.ndarray) for a in cache):
        got = type(cache).__name__ + (
            f" ({', '.join(type(a).__name__ for a in cache)})"
            if isinstance(cache, tuple) else "")
        raise TypeError("cache must be the (X, W) that linear_forward returned (two"
                        f" arrays), got {got}")
    return (as_float_array(cache[0], "cache X", ndim=2),
            as_float_array(cache[1], "cache W", ndim=2))


def sigmoid(x):
    """Logistic function, accurate in both tails and free of overflow warnings.

    ``1 / (1 + exp(-x))`` overflows for large negative ``x``. With
    ``e = exp(-|x|)``, which is always in (0, 1], the two branches
    ``1 / (1 + e)`` (x >= 0) and ``e / (1 + e)`` (x < 0) never overflow.
    """
    x = np.asarray(refuse_masked(x, "x"))
    if x.dtype.kind in "iub":  # exp of a uint8 wraps, of an int8 is float16
        x = x.astype(np.float64)
    elif x.dtype.kind != "f":
        raise TypeError(f"x must hold real numbers, got {type(x).__name__} of dtype"
                        f" {x.dtype}")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def sigmoid_forward(x):
    """Elementwise sigmoid of any shape. Returns ``out`` and cache, a copy of ``out``.

    A copy, so that editing ``out`` in place cannot change the backward pass.
    """
    x = as_float_array(x, "x")
    out = sigmoid(x)
    return out, out.copy()


def sigmoid_backward(dout, cache):
    """``dx = dout * s * (1 - s)``, using the cached output ``s``."""
    if not isinstance(cache, np.ndarray):
        raise TypeError("cache must be the array that sigmoid_forward returned, got"
                        f" {type(cache).__name__}")
    s = cache
    dout = as_float_array(dout, "dout")
    if dout.shape != s.shape:
        raise ValueError(f"dout must have shape {s.shape}, got {dout.shape}")
    return dout * s * (1.0 - s)
