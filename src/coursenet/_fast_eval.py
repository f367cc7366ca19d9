"""Fast twin of :func:`coursenet.mlp.forward` + the mean cross-entropy, for a whole set.

Pinned to :func:`coursenet.mlp.forward` and :func:`coursenet.mlp.loss_and_grads`
by ``tests/test_fast_paths.py`` (``test_evaluate_*``): float64 to 1e-10,
float32 to 1e-4. :func:`coursenet.mlp.evaluate` and :func:`coursenet.mlp.predict`
call it after checking their arguments; nothing here checks anything.
Its sigmoid and its loss (:func:`sigmoid_in_place`, :class:`RowLosses`) are
also the training step's (:mod:`coursenet._fast_step`).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def sigmoid_in_place(K):
    """``K`` becomes ``sigmoid(K) = 1 / (1 + exp(-K))``: four passes, no temporary.

    The in-place twin of :func:`coursenet.layers.sigmoid` (pinned to it through
    the fast paths' tests); absolute error ~1e-16 in float64, 1e-7 in float32.
    Not ``(1 + tanh(K / 2)) / 2`` (the previous version): numpy 2.4's float32
    ``tanh`` is about 3x its ``exp`` here, and that form took 51 against 21 us
    on 32 x 300, 225 against 114 us on 128 x 300, and made an evaluation pass
    7 % (1 thread) and 13 % (2 threads) slower (median of paired interleaved
    runs, load 5-6, 7 December 2026; ``docs/performance.md``).
    ``exp(-K)`` overflows to inf below K = -88 (float32; -709 in float64): the
    result, 0, is right, but numpy's overflow flag goes up, so callers run it
    under ``np.errstate(over="ignore")`` (``train.sgd`` once around the whole
    run, :meth:`Trainer.step` and :func:`chunks` per call).
    """
    np.negative(K, out=K)
    np.exp(K, out=K)
    K += 1.0
    np.reciprocal(K, out=K)


def first_rows(cache, buffers, n):
    """Views of the first ``n`` rows of ``buffers`` (a dict of arrays), made
    once per ``n`` and kept in ``cache``: a view costs a few hundred
    nanoseconds, and a training step at batch 32 would otherwise make twenty."""
    views = cache.get(n)
    if views is None:
        views = cache[n] = SimpleNamespace(**{name: buffer[:n]
                                              for name, buffer in buffers.items()})
    return views


class RowLosses:
    """Per-row buffers for the mean cross-entropy of up to ``rows`` rows of logits.

    The loss of a row is ``log(sum(exp(z - max z))) - (z_c - max z)`` (the
    log-sum-exp of :func:`coursenet.losses.log_softmax`), so no softmax and no
    ``log`` of a probability are computed.
    """

    def __init__(self, rows, num_classes, dtype):
        row_max = np.empty(rows, dtype)  # max logit of each row
        row_sum = np.empty(rows, dtype)  # row sums of exp_shifted
        self.buffers = {
            "exp_shifted": np.empty((rows, num_classes), dtype),  # exp(z - max z)
            "row_max": row_max, "row_max_col": row_max[:, None],
            "row_sum": row_sum, "row_sum_col": row_sum[:, None],
            "log_row_sum": np.empty(rows, dtype),
            "label_logit": np.empty(rows, dtype),  # logit at the label - row max
            "label_at": np.empty(rows, np.intp),  # flat index of each label logit
            "row_start": np.arange(rows, dtype=np.intp) * num_classes,
        }
        self.ones_C = np.ones(num_classes, dtype)  # row sums as BLAS dot products
        self._views = {}

    def rows(self, n):
        """The buffers' first ``n`` rows (attributes named as the buffers)."""
        return first_rows(self._views, self.buffers, n)

    def loss_sum(self, logits, c):
        """The summed loss of the rows of ``logits`` (n, C) with labels ``c`` (n,).

        ``logits`` is left as it is; ``rows(n)`` then holds ``exp_shifted``,
        its ``row_sum`` and ``label_at`` (the training step's gradient reads
        all three).
        """
        r = self.rows(len(logits))
        np.maximum.reduce(logits, axis=1, out=r.row_max)
        # labels lie in [0, C) (checked), so any integer dtype casts safely
        np.add(r.row_start, c, out=r.label_at, casting="unsafe")
        np.take(logits.reshape(-1), r.label_at, out=r.label_logit)
        r.label_logit -= r.row_max
        np.subtract(logits, r.row_max_col, out=r.exp_shifted)
        np.exp(r.exp_shifted, out=r.exp_shifted)  # the shift, then its exp
        np.dot(r.exp_shifted, self.ones_C, out=r.row_sum)
        np.log(r.row_sum, out=r.log_row_sum)
        return (float(np.add.reduce(r.log_row_sum, dtype=np.float64))
                - float(np.add.reduce(r.label_logit, dtype=np.float64)))


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
        with np.errstate(over="ignore"):  # exp(-K) = inf gives the right 0
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
