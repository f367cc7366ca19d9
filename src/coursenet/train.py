"""Minibatch SGD for the MLP of :mod:`coursenet.mlp`, fast and allocation-free.

The maths is exactly :func:`coursenet.mlp.loss_and_grads` followed by
``p -= lr * grad`` (``tests/test_mlp_train.py::
test_fast_sgd_equals_the_reference_including_the_partial_batch`` compares the
two step by step, ``tests/test_fast_paths.py`` too); the code differs only in
how it uses memory and how many numpy calls it makes:

* every array of a step lives in buffers allocated once per batch size, and
  ``np.dot(..., out=buffer)`` writes into them;
* ``lr / B`` is folded into the small output gradient (B x 10), so every
  weight gradient comes out already scaled and the update is ``W -= G``;
* no one-hot matrix: ``lr / B`` is subtracted at each row's label logit,
  found by one flat index per row;
* row and column sums are BLAS dot products with a vector of ones (numpy's
  reductions cost more than the sum itself at these sizes);
* the checks run once: :func:`sgd` validates its data, the :class:`Trainer`
  the layout of ``W1`` for the fused update (each step only re-checks that
  ``W1`` is still that array); :meth:`Trainer.step` checks every call;
* ``W1 -= X^T G`` is one BLAS call that adds into ``W1`` (see
  :mod:`coursenet._blas`), not a gradient matrix and a second pass;
* the data are never copied to another dtype: float32 parameters want float32
  inputs (see :func:`coursenet.data.scale_pixels`).

Training returns a :class:`~coursenet.history.History` (the same type as the
plain-Python network's :func:`coursenet.scalar.train`); plotting it is
:mod:`coursenet.plots`'s job.
"""

from __future__ import annotations

import math
import time

import numpy as np

from coursenet import _blas, mlp
from coursenet._checks import as_float_array, as_labels, positive_number
from coursenet.history import DivergedError, History
from coursenet.mlp import EVAL_CHUNK, PARAM_NAMES, check_params

__all__ = ["sgd", "evaluate", "Trainer", "History", "DivergedError", "check_data",
           "EVAL_CHUNK"]


class Trainer:
    """Reusable buffers for SGD steps of one batch size on one set of parameters.

    The optimised twin of :func:`coursenet.mlp.loss_and_grads` + ``p -= lr * g``;
    ``tests/test_mlp_train.py::test_fast_sgd_equals_the_reference_including_the_partial_batch``
    pins the two together (float32 and float64, fused and unfused update).
    ``params`` are updated in place. Use :func:`sgd` unless you need the steps.

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
        self.dtype = dtype = W1.dtype
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

        Checks what :func:`sgd` checks once per run: the parameters still fit
        the buffers, ``idx`` and the labels are in range.
        """
        p = self.params
        for k in PARAM_NAMES:
            a = p[k]
            if not isinstance(a, np.ndarray) or a.dtype != self.dtype \
                    or not a.flags.writeable:
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
        """:meth:`step` without its checks (:func:`sgd` validated the data)."""
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


def evaluate(params, X, y, batch_size=EVAL_CHUNK):
    """Mean loss and accuracy of ``params`` on ``(X, y)``, in chunks.

    The same evaluator as :func:`coursenet.mlp.evaluate` (and
    :func:`coursenet.mlp.predict`); labels are checked to lie in range.
    """
    return mlp.evaluate(params, X, y, batch_size)


def check_data(data, params, name):
    """Validate ``(X, y)`` against ``params``; returns ``(X, y)`` without copying."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (X, y), got {type(data).__name__}")
    X, y = data
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.dtype.kind in "iub":
        raise TypeError(
            f"{name}: X has integer dtype {X.dtype}; scale the pixels to floats"
            " first, e.g. coursenet.data.scale_pixels(X)")
    X = as_float_array(X, f"{name} X", ndim=2)
    W1 = np.asarray(params["W1"])
    if X.shape[1] != W1.shape[0]:
        raise ValueError(f"{name}: X has {X.shape[1]} features but W1 expects"
                         f" {W1.shape[0]}")
    if X.dtype != W1.dtype:
        raise TypeError(
            f"{name}: X is {X.dtype} but the parameters are {W1.dtype}; use the"
            f" same dtype (e.g. X.astype(np.{W1.dtype}))")
    if len(X) == 0:
        raise ValueError(f"{name} is empty")
    y = as_labels(y, f"{name} y", len(X), np.asarray(params["W2"]).shape[1])
    return X, y


def sgd(params, train_data, *, lr, batch_size=64, epochs=5, seed=0, val_data=None,
        progress=True, callback=None, copy=True):
    """Train with minibatch SGD; returns a :class:`~coursenet.history.History`.

    params: dict from :func:`coursenet.mlp.init_mlp`; copied first unless
        ``copy=False`` (then updated in place). The trained parameters are
        ``history.params``.
    train_data, val_data: ``(X (N, D) float, y (N,) int)``.
    lr: learning rate for the *mean* loss over a batch.
    Each epoch visits every row once in a fresh random order (without
    replacement); the last batch of an epoch may be smaller. ``seed`` (int or
    ``numpy.random.Generator``) fixes the order. ``callback(history)`` is called
    after every step and after every epoch's evaluation. A NaN or infinite loss
    or parameter raises :class:`DivergedError`.
    """
    check_params(params, training=True)
    lr = float(positive_number(lr, "lr"))
    batch_size = int(positive_number(batch_size, "batch_size", integer=True))
    epochs = int(positive_number(epochs, "epochs", integer=True))
    if not isinstance(copy, bool):
        raise TypeError(f"copy must be True or False, got {copy!r}")
    if not copy:
        for k in PARAM_NAMES:
            if not isinstance(params[k], np.ndarray) or not params[k].flags.writeable:
                raise TypeError(f"copy=False trains params in place, so params[{k!r}]"
                                " must be a writeable numpy array, got"
                                f" {type(params[k]).__name__}")
    X, y = check_data(train_data, params, "train_data")
    has_val = val_data is not None
    if has_val:
        Xv, yv = check_data(val_data, params, "val_data")
    if copy:
        params = {k: np.array(params[k]) for k in PARAM_NAMES}
    rng = np.random.default_rng(seed)
    batch_size = min(batch_size, len(X))
    steps_per_epoch = math.ceil(len(X) / batch_size)
    history = History(lr=lr, batch_size=batch_size, epochs=epochs, seed=seed,
                      steps_per_epoch=steps_per_epoch, params=params)

    def record_epoch(epoch):
        bad = [k for k in PARAM_NAMES if not np.isfinite(params[k]).all()]
        if bad:
            raise DivergedError(
                f"training diverged: {', '.join(bad)} became NaN or infinite by the"
                f" end of epoch {epoch} with lr={lr:g}; try a smaller learning rate")
        # the data were checked once above: evaluate without re-checking them
        loss, acc = mlp._evaluate(mlp._chunks(params, X, EVAL_CHUNK), y, EVAL_CHUNK)
        history.epoch_train_loss.append(loss)
        history.epoch_train_acc.append(acc)
        if has_val:
            loss, acc = mlp._evaluate(mlp._chunks(params, Xv, EVAL_CHUNK), yv,
                                      EVAL_CHUNK)
            history.epoch_val_loss.append(loss)
            history.epoch_val_acc.append(acc)
        if callback is not None:
            callback(history)

    start = time.perf_counter()
    trainer = Trainer(params, batch_size)
    bar = _progress_bar(epochs * steps_per_epoch) if progress else None
    # a diverging run overflows on its way to NaN; the explicit checks turn
    # that into one clear error instead of a stream of numpy warnings
    try:
        record_epoch(0)
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(epochs):
                order = rng.permutation(len(X))
                for s in range(steps_per_epoch):
                    idx = order[s * batch_size:(s + 1) * batch_size]
                    loss = trainer._step(X, y, idx, lr)
                    if not math.isfinite(loss):
                        raise DivergedError(
                            f"training diverged: the loss became {loss} at epoch"
                            f" {epoch + 1}, step {len(history.step_loss)} with"
                            f" lr={lr:g}; try a smaller learning rate")
                    history.step_loss.append(loss)
                    if callback is not None:
                        callback(history)
                    if bar is not None and s % 20 == 0:
                        bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.3f}",
                                        refresh=False)
                        bar.update(min(20, steps_per_epoch - s))
                record_epoch(epoch + 1)
    finally:
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    return history


def _progress_bar(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="SGD", unit="step")
