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
* the sigmoid and the log-sum-exp loss are :mod:`coursenet._fast_eval`'s, the
  evaluator's: one copy of each for both fast paths;
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
from coursenet._fast_eval import RowLosses, sigmoid_in_place
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
    Every buffer holds one thing, named below; only ``logits`` changes meaning,
    as :class:`~coursenet._fast_eval.RowLosses` documents.
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
        self.hidden = np.empty((B, H), dtype)  # sigmoid(K), K = X_batch W1 + b1
        self.one_minus_hidden = np.empty((B, H), dtype)  # 1 - sigmoid(K)
        self.logits = np.empty((B, C), dtype)  # then exp(logits - row max)
        self.grad_logits = np.empty((B, C), dtype)  # lr * dloss/dlogits
        self.grad_hidden = np.empty((B, H), dtype)  # lr * dloss/dhidden
        self.grad_K = np.empty((B, H), dtype)  # lr * dloss/dK
        self.row_scale = np.empty((B, 1), dtype)  # lr / n / row_sum
        self.rows = RowLosses(B, C, dtype)  # the loss's per-row buffers
        self.ones = np.ones(B, dtype)  # column sums as BLAS dot products
        self.grad_W2 = np.empty((H, C), dtype)  # lr * dloss/dW2
        self.grad_b1 = np.empty(H, dtype)  # lr * dloss/db1
        self.grad_b2 = np.empty(C, dtype)  # lr * dloss/db2
        self._init_W1_update(W1, fused)

    def _init_W1_update(self, W1, fused):
        # W1 -= X^T G in one BLAS call when possible (see coursenet._blas). The
        # layout is checked here, once; each step re-checks only that W1 is
        # still the same array with the same layout, else add_AtB (which checks
        # everything and falls back) does the update.
        dtype = self.dtype
        can_fuse = _blas.available(dtype) and _blas.fits_blas(W1) and not (
            np.may_share_memory(W1, self.X_batch)
            or np.may_share_memory(W1, self.grad_K))
        if fused and not can_fuse:
            raise ValueError("fused=True needs numpy's BLAS (cblas gemm) and a"
                             " C-contiguous W1; use fused=None to fall back")
        self.fused = can_fuse if fused is None else bool(fused)
        self.grad_W1 = None if self.fused else np.empty(W1.shape, dtype)
        self._fused_W1 = (W1, W1.shape, W1.strides) if self.fused else None
        self._gemm = _blas.gemm_function(dtype) if self.fused else None

    def step(self, X, c, idx, lr):
        """One SGD step on rows ``idx`` of ``X``; returns the batch's mean loss.

        Checks what :func:`coursenet.train.sgd` checks once per run: the
        parameters still fit the buffers, ``idx`` and the labels ``c`` are in
        range.
        """
        self._check_params_unchanged()
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
        c = np.asarray(c)
        as_labels(c[idx], "c[idx]", len(idx), self.logits.shape[1])
        lr = float(positive_number(lr, "lr"))
        return self._step(X, c, idx, lr)

    def _check_params_unchanged(self):
        p = self.params
        for k in PARAM_NAMES:
            a = p[k]
            if not isinstance(a, np.ndarray) or not a.flags.writeable \
                    or a.dtype.newbyteorder("=") != self.dtype:
                raise TypeError(f"params[{k!r}] must stay a writeable {self.dtype}"
                                " array while the Trainer uses it")
        if p["W1"].shape != (self.X_batch.shape[1], self.hidden.shape[1]) \
                or p["W2"].shape != (self.hidden.shape[1], self.logits.shape[1]):
            raise ValueError("params changed shape since the Trainer was made")

    def _step(self, X, c, idx, lr):
        """:meth:`step` without its checks (``train.sgd`` validated the data)."""
        n = len(idx)
        p = self.params
        Xb, hidden, logits = self.X_batch[:n], self.hidden[:n], self.logits[:n]
        # idx are in range (sgd draws them; step checks them): 'clip' skips a check
        np.take(X, idx, axis=0, out=Xb, mode="clip")
        np.dot(Xb, p["W1"], out=hidden)  # K (n, H)
        hidden += p["b1"]
        sigmoid_in_place(hidden)  # sigmoid(K)
        np.dot(hidden, p["W2"], out=logits)  # (n, C)
        logits += p["b2"]
        loss = self.rows.loss_sum(logits, c[idx]) / n  # logits: exp(logits - max)
        self._backward(n, lr)
        return loss

    def _backward(self, n, lr):
        """Every gradient already multiplied by ``lr``, and the update.

        ``lr * dloss/dlogits = lr / n * (probs - onehot)``, with
        ``probs = exp(logits - max) / row_sum`` (what :meth:`_step` left).
        """
        p = self.params
        Xb, hidden, ones = self.X_batch[:n], self.hidden[:n], self.ones[:n]
        grad_logits, grad_hidden = self.grad_logits[:n], self.grad_hidden[:n]
        grad_K, slope = self.grad_K[:n], self.one_minus_hidden[:n]
        row_scale = self.row_scale[:n]
        np.divide(lr / n, self.rows.row_sum[:n, None], out=row_scale)
        np.multiply(self.logits[:n], row_scale, out=grad_logits)
        grad_logits.reshape(-1)[self.rows.label_at[:n]] -= lr / n  # - onehot
        np.dot(hidden.T, grad_logits, out=self.grad_W2)  # (H, C)
        np.dot(ones, grad_logits, out=self.grad_b2)  # column sums
        np.dot(grad_logits, p["W2"].T, out=grad_hidden)  # (n, H), W2 before update
        np.multiply(grad_hidden, hidden, out=grad_K)
        np.subtract(1.0, hidden, out=slope)
        grad_K *= slope  # dK = dhidden * s * (1 - s)
        np.dot(ones, grad_K, out=self.grad_b1)
        p["W2"] -= self.grad_W2
        p["b2"] -= self.grad_b2
        p["b1"] -= self.grad_b1
        self._update_W1(Xb, grad_K)

    def _update_W1(self, Xb, grad_K):
        W1 = self.params["W1"]
        fused = self._fused_W1
        if fused is not None and W1 is fused[0] and W1.shape == fused[1] \
                and W1.strides == fused[2] and W1.flags.writeable:
            # W1 -= Xb^T grad_K in one BLAS call; the layouts were checked in
            # __init__ (Xb and grad_K are this Trainer's own buffers)
            _blas.gemm_AtB(self._gemm, W1, Xb, grad_K, -1.0)
        elif self.fused:  # W1 was replaced or changed: checked, may fall back
            _blas.add_AtB(W1, Xb, grad_K, alpha=-1.0)
        else:
            np.dot(Xb.T, grad_K, out=self.grad_W1)  # lr * dW1 (D, H)
            W1 -= self.grad_W1
