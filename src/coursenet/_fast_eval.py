"""Fast twin of :func:`coursenet.mlp.forward` + the mean cross-entropy, for a whole set.

Pinned to :func:`coursenet.mlp.forward` and :func:`coursenet.mlp.loss_and_grads`
by ``tests/test_fast_paths.py`` (``test_evaluate_*``): float64 to 1e-10,
float32 to 1e-4. :func:`coursenet.mlp.evaluate` and :func:`coursenet.mlp.predict`
call it after checking their arguments; nothing here checks anything.
"""

from __future__ import annotations

import numpy as np


def chunks(params, X, batch_size):
    """Yield ``(start, logits)`` for consecutive chunks of ``batch_size`` rows of X.

    :func:`coursenet.mlp.forward`'s logits, chunk by chunk, in two buffers.
    Computes in the parameters' dtype (float32 stays float32). The hidden
    buffer (chunk x H) and the logits buffer (chunk x C) are allocated once and
    reused for every chunk (``logits`` is overwritten by the next chunk: copy it
    to keep it); the rows of X are read where they are, not copied.
    The sigmoid is folded into the weights, which costs two passes over the
    hidden layer instead of five:
    ``sigmoid(k) = (1 + tanh(k / 2)) / 2``, so with ``T = tanh(X W1/2 + b1/2)``
    the logits are ``T (W2/2) + (b2 + colsum(W2)/2)``.
    """
    names = ("W1", "b1", "W2", "b2")
    dtype = np.result_type(X.dtype, *(np.asarray(params[k]).dtype for k in names))
    W1, b1, W2, b2 = (np.asarray(params[k], dtype) for k in names)
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


def loss_and_accuracy(logit_chunks, y, batch_size):
    """Mean loss and accuracy over the chunks of :func:`chunks`, buffers reused.

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
    for start, z in logit_chunks:
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


def predict_into(params, X, out, batch_size):
    """Argmax of :func:`chunks`' logits written into ``out`` (N,)."""
    for start, logits in chunks(params, X, batch_size):
        np.argmax(logits, axis=1, out=out[start:start + len(logits)])
    return out
