"""Fast twin of :func:`coursenet.mlp.forward` + the mean cross-entropy, for a whole set.

Pinned to :func:`coursenet.mlp.forward` and :func:`coursenet.mlp.loss_and_grads`
by ``tests/test_fast_paths.py`` (``test_evaluate_*``): float64 to 1e-10,
float32 to 1e-4. :func:`coursenet.mlp.evaluate` and :func:`coursenet.mlp.predict`
call it after checking their arguments; nothing here checks anything.
Its sigmoid and its loss (:func:`sigmoid_in_place`, :class:`RowLosses`) are
also the training step's (:mod:`coursenet._fast_step`).
"""

from __future__ import annotations

import numpy as np


def sigmoid_in_place(K):
    """``K`` becomes ``sigmoid(K)``, through ``(1 + tanh(K / 2)) / 2``.

    The in-place twin of :func:`coursenet.layers.sigmoid` (pinned to it through
    the fast paths' tests): four passes over ``K`` and no temporary, where the
    two-branch form makes seven passes and six temporaries. Its absolute error is
    the same (~1e-16 in float64, 1e-7 in float32); it loses the relative
    accuracy of tiny values (below ~1e-16), which a gradient step never sees.
    """
    K *= 0.5
    np.tanh(K, out=K)
    K *= 0.5
    K += 0.5


class RowLosses:
    """Per-row buffers for the mean cross-entropy of up to ``rows`` rows of logits.

    The loss of a row is ``log(sum(exp(z - max z))) - (z_c - max z)`` (the
    log-sum-exp of :func:`coursenet.losses.log_softmax`), so no softmax and no
    ``log`` of a probability are computed.
    """

    def __init__(self, rows, num_classes, dtype):
        self.row_max = np.empty(rows, dtype)  # max logit of each row
        self.row_sum = np.empty(rows, dtype)  # sum of exp(logits - row max)
        self.log_row_sum = np.empty(rows, dtype)
        self.label_logit = np.empty(rows, dtype)  # logit at the label - row max
        self.label_at = np.empty(rows, np.intp)  # flat index of each label logit
        self.row_start = np.arange(rows, dtype=np.intp) * num_classes
        self.ones_C = np.ones(num_classes, dtype)  # row sums as BLAS dot products

    def loss_sum(self, logits, c):
        """The summed loss of the rows of ``logits`` (n, C) with labels ``c`` (n,).

        In place: ``logits`` then holds ``exp(logits - row max)``; ``row_sum[:n]``
        its row sums and ``label_at[:n]`` the flat index of each label logit
        (the training step's gradient reads all three).
        """
        n = len(logits)
        row_max, label_at = self.row_max[:n], self.label_at[:n]
        label_logit, row_sum = self.label_logit[:n], self.row_sum[:n]
        np.maximum.reduce(logits, axis=1, out=row_max)
        logits -= row_max[:, None]
        # labels lie in [0, C) (checked), so any integer dtype casts safely
        np.add(self.row_start[:n], c, out=label_at, casting="unsafe")
        np.take(logits.reshape(-1), label_at, out=label_logit)
        np.exp(logits, out=logits)
        np.dot(logits, self.ones_C, out=row_sum)
        np.log(row_sum, out=self.log_row_sum[:n])
        return (float(np.add.reduce(self.log_row_sum[:n], dtype=np.float64))
                - float(np.add.reduce(label_logit, dtype=np.float64)))


def chunks(params, X, batch_size):
    """Yield ``(start, logits)`` for consecutive chunks of ``batch_size`` rows of X.

    :func:`coursenet.mlp.forward`'s logits, chunk by chunk, in two buffers.
    Computes in the parameters' dtype (float32 stays float32). The hidden
    buffer (chunk x H) and the logits buffer (chunk x C) are allocated once and
    reused for every chunk (``logits`` is overwritten by the next chunk: copy it
    to keep it); the rows of X are read where they are, not copied.
    """
    names = ("W1", "b1", "W2", "b2")
    dtype = np.result_type(X.dtype, *(np.asarray(params[k]).dtype for k in names))
    W1, b1, W2, b2 = (np.asarray(params[k], dtype) for k in names)
    n = len(X)
    rows = min(batch_size, n)
    hidden = np.empty((rows, W1.shape[1]), dtype)
    logits = np.empty((rows, W2.shape[1]), dtype)
    for start in range(0, n, batch_size):
        chunk = X[start:start + batch_size]
        if chunk.dtype != dtype:
            chunk = chunk.astype(dtype)  # mixed dtypes only: one cast per chunk
        h, z = hidden[:len(chunk)], logits[:len(chunk)]
        np.dot(chunk, W1, out=h)
        h += b1
        sigmoid_in_place(h)
        np.dot(h, W2, out=z)
        z += b2
        yield start, z


def loss_and_accuracy(logit_chunks, c, batch_size):
    """Mean loss and accuracy over the chunks of :func:`chunks`, buffers reused.

    No softmax: the accuracy needs only the argmax, the loss
    :meth:`RowLosses.loss_sum`.
    """
    rows = min(batch_size, len(c))
    pred = np.empty(rows, np.intp)
    hit = np.empty(rows, bool)
    total_loss = 0.0
    correct = 0
    row_losses = None
    for start, z in logit_chunks:
        n = len(z)
        if row_losses is None:
            row_losses = RowLosses(rows, z.shape[1], z.dtype)
        c_chunk = c[start:start + n]
        np.argmax(z, axis=1, out=pred[:n])
        correct += int(np.count_nonzero(np.equal(pred[:n], c_chunk, out=hit[:n])))
        total_loss += row_losses.loss_sum(z, c_chunk)
    return total_loss / len(c), correct / len(c)


def predict_into(params, X, out, batch_size):
    """Argmax of :func:`chunks`' logits written into ``out`` (N,)."""
    for start, logits in chunks(params, X, batch_size):
        np.argmax(logits, axis=1, out=out[start:start + len(logits)])
    return out
