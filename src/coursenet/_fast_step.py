"""Fast twin of :func:`coursenet.train.sgd_step`, pinned by tests/test_fast_paths.py.

``test_trainer_steps_equal_the_reference`` there compares :class:`Trainer`'s
steps with ``mlp.loss_and_grads`` then ``p -= lr * g``, step by step.

:func:`coursenet.train.sgd` runs its steps through :class:`Trainer`; the maths
is exactly the readable step's, the code differs only in how it uses memory
and how many numpy calls it makes:

* every array of a step lives in buffers allocated once per batch size, and
  ``np.dot(..., out=buffer)`` writes into them;
* ``lr / B`` is folded into the small output gradient (B x 10), so every
  weight gradient comes out already scaled and the update is ``W -= G``;
* no one-hot matrix: ``lr / B`` is subtracted at each row's label logit,
  found by one flat index per row;
* row and column sums are BLAS dot products with a vector of ones (numpy's
  reductions cost more than the sum itself at these sizes);
* the checks run once: :func:`coursenet.train.sgd` validates its data, the
  :class:`Trainer` the layout of ``W1`` for the fused update (each step only
  re-checks that ``W1`` is still that array); :meth:`Trainer.step` checks
  every call;
* ``W1 -= X^T G`` is one BLAS call that adds into ``W1`` (see
  :mod:`coursenet._blas`), not a gradient matrix and a second pass;
* the data are never copied to another dtype: float32 parameters want float32
  inputs (see :func:`coursenet.data.scale_pixels`).
"""

from __future__ import annotations

import numpy as np

from coursenet import _blas
from coursenet._checks import as_labels, positive_number
from coursenet.mlp import PARAM_NAMES, check_params


class Trainer:
    """Reusable buffers for SGD steps of one batch size on one set of parameters.

    The optimised twin of :func:`coursenet.train.sgd_step`;
    ``tests/test_fast_paths.py::test_trainer_steps_equal_the_reference`` pins the
    two together (float32 and float64, fused and unfused update). ``params``
    are updated in place. Use :func:`coursenet.train.sgd` unless you need the
    steps.

    ``fused=None`` updates ``W1`` inside its gradient's matrix product (one
    BLAS call, see :mod:`coursenet._blas`) when numpy's BLAS allows it;
    ``fused=False`` always computes the gradient first, then ``W1 -= grad``.
    """

    def __init__(self, params, batch_size, fused=None):
        check_params(params, training=True)
        batch_size = int(positive_number(batch_size, "batch_size", integer=True))
        if fused not in (None, True, False):
            raise TypeError(f"fused must be None, True or False, got {fused!r}")
        self.params = params
        W1, W2 = params["W1"], params["W2"]
        D, H = W1.shape
        C = W2.shape[1]
        # buffers in the machine's byte order, whatever the parameters' order
        self.dtype = dtype = W1.dtype.newbyteorder("=")
        self.batch_size = B = batch_size
        self.X_batch = np.empty((B, D), dtype)
        # sigmoid(K) of the hidden layer; later 1 - sigmoid(K)
        self.hidden = np.empty((B, H), dtype)
        # logits -> exp(logits - row max) -> lr * dloss/dlogits (scaled gradient)
        self.scores = np.empty((B, C), dtype)
        # lr * dloss/dhidden, then lr * dloss/dK (the pre-activation gradient)
        self.hidden_grad = np.empty((B, H), dtype)
        self.row_max = np.empty(B, dtype)  # max logit of each row
        self.row_sum = np.empty(B, dtype)  # sum of exp(logits - row max)
        self.row_scale = np.empty(B, dtype)  # log(row_sum), then lr / n / row_sum
        self.label_logit = np.empty(B, dtype)  # logit at the label - row max
        self.label_at = np.empty(B, np.intp)  # flat index of each row's label logit
        self.row_start = np.arange(B, dtype=np.intp) * C  # flat index of each row
        self.ones = np.ones(max(B, C), dtype)  # sums as BLAS dot products
        self.ones_C = self.ones[:C]
        self.grad_W2 = np.empty((H, C), dtype)  # lr * dloss/dW2
        self.grad_b1 = np.empty(H, dtype)  # lr * dloss/db1
        self.grad_b2 = np.empty(C, dtype)  # lr * dloss/db2
        self._views = {}
        # W1 -= X^T G in one BLAS call when possible (see coursenet._blas). The
        # layout is checked here, once; each step re-checks only that W1 is
        # still the same array with the same layout, else add_AtB (which checks
        # everything and falls back) does the update.
        can_fuse = _blas.available(dtype) and _blas.fits_blas(W1) and not (
            np.may_share_memory(W1, self.X_batch)
            or np.may_share_memory(W1, self.hidden_grad))
        if fused and not can_fuse:
            raise ValueError("fused=True needs numpy's BLAS (cblas gemm) and a"
                             " C-contiguous W1; use fused=None to fall back")
        self.fused = can_fuse if fused is None else bool(fused)
        self.grad_W1 = None if self.fused else np.empty((D, H), dtype)
        self._fused_W1 = (W1, W1.shape, W1.strides) if self.fused else None
        self._gemm = _blas.gemm_function(dtype) if self.fused else None

    def step(self, X, y, idx, lr):
        """One SGD step on rows ``idx`` of ``X``; returns the batch's mean loss.

        Checks what :func:`coursenet.train.sgd` checks once per run: the
        parameters still fit the buffers, ``idx`` and the labels are in range.
        """
        p = self.params
        for k in PARAM_NAMES:
            a = p[k]
            if not isinstance(a, np.ndarray) or not a.flags.writeable \
                    or a.dtype.newbyteorder("=") != self.dtype:
                raise TypeError(f"params[{k!r}] must stay a writeable {self.dtype}"
                                " array while the Trainer uses it")
        if p["W1"].shape != (self.X_batch.shape[1], self.hidden.shape[1]) \
                or p["W2"].shape != (self.hidden.shape[1], self.scores.shape[1]):
            raise ValueError("params changed shape since the Trainer was made")
        if not isinstance(X, np.ndarray) or X.dtype != self.dtype or X.ndim != 2 \
                or X.shape[1] != self.X_batch.shape[1]:
            raise TypeError(f"X must be a 2-D {self.dtype} array with"
                            f" {self.X_batch.shape[1]} columns")
        idx = np.asarray(idx)
        if idx.dtype.kind not in "iu" or idx.ndim != 1 \
                or not 0 < len(idx) <= self.batch_size:
            raise ValueError(f"idx must be 1 to {self.batch_size} integer row"
                             f" indices, got {idx.dtype} shape {idx.shape}")
        if idx.min() < 0 or idx.max() >= len(X):
            raise IndexError(f"idx must lie in [0, {len(X)}), got range"
                             f" [{idx.min()}, {idx.max()}]")
        y = np.asarray(y)
        as_labels(y[idx], "y[idx]", len(idx), self.scores.shape[1])
        lr = float(positive_number(lr, "lr"))
        return self._step(X, y, idx, lr)

    def _buffers(self, n):
        """The first ``n`` rows of every per-row buffer (views made once per n)."""
        views = self._views.get(n)
        if views is None:
            views = self._views[n] = (
                self.X_batch[:n], self.hidden[:n], self.scores[:n],
                self.scores[:n].reshape(-1), self.hidden_grad[:n],
                self.row_max[:n], self.row_sum[:n], self.row_scale[:n],
                self.row_max[:n, None], self.row_scale[:n, None],
                self.label_logit[:n],
                self.label_at[:n], self.row_start[:n], self.ones[:n])
        return views

    def _step(self, X, y, idx, lr):
        """:meth:`step` without its checks (``train.sgd`` validated the data)."""
        n = len(idx)
        Xb, S, Z, Z_flat, G_hidden, row_max, row_sum, row_scale, max_col, scale_col, \
            label_logit, label_at, row_start, ones = self._buffers(n)
        p = self.params
        W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
        # idx are in range (sgd draws them; step checks them): 'clip' skips a check
        np.take(X, idx, axis=0, out=Xb, mode="clip")

        # forward: S = sigmoid(Xb W1 + b1), computed as (1 + tanh(K/2)) / 2
        np.dot(Xb, W1, out=S)  # K (n, H)
        S += b1
        S *= 0.5
        np.tanh(S, out=S)
        S *= 0.5
        S += 0.5  # S = sigmoid(K)
        np.dot(S, W2, out=Z)  # logits (n, C)
        Z += b2

        # loss = mean(log(sum(exp(z - max))) - (z[label] - max)), per row
        np.maximum.reduce(Z, axis=1, out=row_max)
        Z -= max_col
        # labels lie in [0, C) (checked), so any integer dtype casts safely
        np.add(row_start, y[idx], out=label_at, casting="unsafe")
        np.take(Z_flat, label_at, out=label_logit)
        np.exp(Z, out=Z)
        np.dot(Z, self.ones_C, out=row_sum)  # row sums
        np.log(row_sum, out=row_scale)
        loss = (float(np.add.reduce(row_scale, dtype=np.float64))
                - float(np.add.reduce(label_logit, dtype=np.float64))) / n

        # backward, every gradient already multiplied by lr:
        # G_logits = lr * (probs - onehot) / n, probs = exp(z - max) / row_sum
        np.divide(lr / n, row_sum, out=row_scale)
        Z *= scale_col
        Z_flat[label_at] -= lr / n
        G_logits = Z
        np.dot(S.T, G_logits, out=self.grad_W2)  # lr * dW2 (H, C)
        np.dot(ones, G_logits, out=self.grad_b2)  # lr * db2 (column sums)
        np.dot(G_logits, W2.T, out=G_hidden)  # lr * dloss/dS (n, H)
        G_hidden *= S
        np.subtract(1.0, S, out=S)  # S now holds 1 - sigmoid(K)
        G_hidden *= S  # lr * dK = lr * dS * s * (1 - s)
        G_K = G_hidden
        np.dot(ones, G_K, out=self.grad_b1)  # lr * db1
        W2 -= self.grad_W2
        b2 -= self.grad_b2
        b1 -= self.grad_b1
        fused = self._fused_W1
        if fused is not None and W1 is fused[0] and W1.shape == fused[1] \
                and W1.strides == fused[2] and W1.flags.writeable:
            # W1 -= Xb^T G_K in one BLAS call; the layouts were checked in
            # __init__ (Xb and G_K are this Trainer's own buffers)
            _blas.gemm_AtB(self._gemm, W1, Xb, G_K, -1.0)
        elif self.fused:  # W1 was replaced or changed: checked, may fall back
            _blas.add_AtB(W1, Xb, G_K, alpha=-1.0)
        else:
            np.dot(Xb.T, G_K, out=self.grad_W1)  # lr * dW1 (D, H)
            W1 -= self.grad_W1
        return loss
