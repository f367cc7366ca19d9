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

Why its own kernels rather than :mod:`coursenet.layers`' and
:mod:`coursenet.losses`' (which check their inputs and return new arrays):
calling them instead made a step slower, at batch 32 and 128:
``layers.sigmoid`` by 13-14 % and 10-15 %, ``losses.softmax_cross_entropy``
by 3-8 % and 4-9 %, ``layers.sigmoid_backward`` by 5-11 % and 2-3 %, and
``layers.linear_backward`` as well by 1.6-1.9x (``benchmarks/ab_kernels.py``:
one process, one BLAS thread, interleaved blocks of 16 steps, best block; two
runs on 7 December 2026, the shared 2-core machine under load 3-6).
"""

from __future__ import annotations

import numpy as np

from coursenet import _blas
from coursenet._checks import as_labels, positive_number
from coursenet._fast_eval import RowLosses, first_rows, sigmoid_in_place
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
    Every buffer holds one thing for the whole step, named below.
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
        self.sizes = (D, H, C)
        grad_logits = np.empty((B, C), dtype)  # lr * dloss/dlogits
        # grad_logits by flat index, for the label logits (the first n rows'
        # flat indices are those of grad_logits[:n]: no per-n view needed)
        self.grad_logits_flat = grad_logits.reshape(-1)
        self.buffers = {  # each holds one thing for the whole step
            "X_batch": np.empty((B, D), dtype),
            "hidden": np.empty((B, H), dtype),  # sigmoid(K), K = X_batch W1 + b1
            "one_minus_hidden": np.empty((B, H), dtype),  # 1 - sigmoid(K)
            "logits": np.empty((B, C), dtype),
            "grad_logits": grad_logits,
            "row_scale": np.empty((B, 1), dtype),  # lr / n / row_sum
            "grad_hidden": np.empty((B, H), dtype),  # lr * dloss/dhidden
            "grad_K": np.empty((B, H), dtype),  # lr * dloss/dK
            "ones": np.ones(B, dtype),  # column sums as BLAS dot products
        }
        self._views = {}  # the buffers' first n rows, per batch length n
        self.rows = RowLosses(B, C, dtype)  # the loss's per-row buffers
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
            np.may_share_memory(W1, self.buffers["X_batch"])
            or np.may_share_memory(W1, self.buffers["grad_K"]))
        if fused and not can_fuse:
            raise ValueError("fused=True needs numpy's BLAS (cblas gemm) and a"
                             " C-contiguous W1; use fused=None to fall back")
        self.fused = can_fuse if fused is None else bool(fused)
        self.grad_W1 = None if self.fused else np.empty(W1.shape, dtype)
        self._fused_W1 = (W1, W1.shape, W1.strides) if self.fused else None
        self._gemm = _blas.gemm_function(dtype) if self.fused else None
        self._W1_updates = {}  # batch length -> (Xb, grad_K, bound BLAS call)

    def step(self, X, c, idx, lr):
        """One SGD step on rows ``idx`` of ``X``; returns the batch's mean loss.

        Checks what :func:`coursenet.train.sgd` checks once per run: the
        parameters still fit the buffers, ``idx`` and the labels ``c`` are in
        range.
        """
        self._check_params_unchanged()
        D, _, C = self.sizes
        if not isinstance(X, np.ndarray) or X.dtype != self.dtype or X.ndim != 2 \
                or X.shape[1] != D:
            raise TypeError(f"X must be a 2-D {self.dtype} array with {D} columns")
        idx = np.asarray(idx)
        if idx.dtype.kind not in "iu" or idx.ndim != 1 \
                or not 0 < len(idx) <= self.batch_size:
            raise ValueError(f"idx must be 1 to {self.batch_size} integer row"
                             f" indices, got {idx.dtype} shape {idx.shape}")
        if idx.min() < 0 or idx.max() >= len(X):
            raise IndexError(f"idx must lie in [0, {len(X)}), got range"
                             f" [{idx.min()}, {idx.max()}]")
        c = np.asarray(c)
        as_labels(c[idx], "c[idx]", len(idx), C)
        lr = float(positive_number(lr, "lr"))
        with np.errstate(over="ignore"):  # see _fast_eval.sigmoid_in_place
            return self._step(X, c, idx, lr)

    def _check_params_unchanged(self):
        p = self.params
        for k in PARAM_NAMES:
            a = p[k]
            if not isinstance(a, np.ndarray) or not a.flags.writeable \
                    or a.dtype.newbyteorder("=") != self.dtype:
                raise TypeError(f"params[{k!r}] must stay a writeable {self.dtype}"
                                " array while the Trainer uses it")
        D, H, C = self.sizes
        if p["W1"].shape != (D, H) or p["W2"].shape != (H, C):
            raise ValueError("params changed shape since the Trainer was made")

    def _bind_W1_update(self, W1, Xb, grad_K):
        """Keep the fused ``W1 -= Xb^T grad_K`` with its BLAS arguments bound
        (:func:`coursenet._blas.bind_AtB`) if ``Xb`` and ``grad_K`` are this
        Trainer's own row views (``W1`` is kept alive by ``_fused_W1``).

        What it earns: a step in 0.975 x the time at batch 32, 0.96 x at 128,
        against working the arguments out (three ``.ctypes.data``) every step
        (one process, one thread, interleaved blocks, median of the paired
        ratios; 7 December 2026, load 5-6).
        """
        views = self._views.get(len(Xb))
        if views is not None and Xb is views.X_batch and grad_K is views.grad_K:
            self._W1_updates[len(Xb)] = (Xb, grad_K, _blas.bind_AtB(
                self._gemm, W1, Xb, grad_K, -1.0))

    def _rows(self, n):
        """The buffers' first ``n`` rows, as attributes (made once per ``n``)."""
        return first_rows(self._views, self.buffers, n)

    def _step(self, X, c, idx, lr):
        """:meth:`step` without its checks (``train.sgd`` validated the data).

        Run it under ``np.errstate(over="ignore")`` (``train.sgd`` does) if
        the pre-activations may fall below -88: see
        :func:`coursenet._fast_eval.sigmoid_in_place`.
        """
        n = len(idx)
        p = self.params
        b = self._rows(n)
        # idx are in range (sgd draws them; step checks them): 'clip' skips a check
        np.take(X, idx, axis=0, out=b.X_batch, mode="clip")
        np.dot(b.X_batch, p["W1"], out=b.hidden)  # K (n, H)
        b.hidden += p["b1"]
        sigmoid_in_place(b.hidden)  # sigmoid(K)
        np.dot(b.hidden, p["W2"], out=b.logits)  # (n, C)
        b.logits += p["b2"]
        loss = self.rows.loss_sum(b.logits, c[idx]) / n
        self._backward(b, self.rows.rows(n), lr / n)
        return loss

    def _backward(self, b, r, lr_n):
        """Every gradient already multiplied by ``lr``, and the update.

        ``b`` holds the step's rows, ``r`` the loss's (:class:`RowLosses`),
        ``lr_n`` is ``lr / n``. ``lr * dloss/dlogits = lr / n * (probs -
        onehot)``, with ``probs = exp_shifted / row_sum``.
        """
        p = self.params
        np.divide(lr_n, r.row_sum_col, out=b.row_scale)
        np.multiply(r.exp_shifted, b.row_scale, out=b.grad_logits)
        self.grad_logits_flat[r.label_at] -= lr_n  # - onehot
        np.dot(b.hidden.T, b.grad_logits, out=self.grad_W2)  # (H, C)
        np.dot(b.ones, b.grad_logits, out=self.grad_b2)  # column sums
        np.dot(b.grad_logits, p["W2"].T, out=b.grad_hidden)  # W2 before its update
        np.subtract(1.0, b.hidden, out=b.one_minus_hidden)
        np.multiply(b.grad_hidden, b.hidden, out=b.grad_K)
        b.grad_K *= b.one_minus_hidden  # dK = dhidden * s * (1 - s)
        np.dot(b.ones, b.grad_K, out=self.grad_b1)
        p["W2"] -= self.grad_W2
        p["b2"] -= self.grad_b2
        p["b1"] -= self.grad_b1
        self._update_W1(b.X_batch, b.grad_K)

    def _update_W1(self, Xb, grad_K):
        W1 = self.params["W1"]
        fused = self._fused_W1
        if fused is not None and W1 is fused[0] and W1.shape == fused[1] \
                and W1.strides == fused[2] and W1.flags.writeable:
            # W1 -= Xb^T grad_K in one BLAS call; the layouts were checked in
            # __init__ (Xb and grad_K are this Trainer's own buffers)
            bound = self._W1_updates.get(len(Xb))
            if bound is not None and Xb is bound[0] and grad_K is bound[1]:
                bound[2]()
            else:
                _blas.gemm_AtB(self._gemm, W1, Xb, grad_K, -1.0)
                self._bind_W1_update(W1, Xb, grad_K)
        elif self.fused:  # W1 was replaced or changed: checked, may fall back
            _blas.add_AtB(W1, Xb, grad_K, alpha=-1.0)
        else:
            np.dot(Xb.T, grad_K, out=self.grad_W1)  # lr * dW1 (D, H)
            W1 -= self.grad_W1
