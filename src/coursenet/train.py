"""Minibatch SGD for the MLP of :mod:`coursenet.mlp`, fast and allocation-free.

The maths is exactly :func:`coursenet.mlp.loss_and_grads` (a test compares the
two step by step); the code differs only in how it uses memory:

* every array of a step lives in buffers allocated once per batch size, and
  ``np.dot(..., out=buffer)`` writes into them;
* ``lr / B`` is folded into the small output gradient ``dlogits`` (B x 10), so
  every weight gradient comes out already scaled and the update is ``W -= G``;
* no one-hot matrix: 1 is subtracted at each row's label column;
* the data are never copied to another dtype: float32 parameters want float32
  inputs (see :func:`coursenet.data.scale_pixels`).

Training returns a :class:`History`; plotting it is :mod:`coursenet.plots`'s job.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from coursenet import _blas
from coursenet._checks import as_float_array, as_labels, positive_number
from coursenet.mlp import PARAM_NAMES, check_params

EVAL_CHUNK = 4096  # rows per forward pass when evaluating a whole set


class DivergedError(FloatingPointError):
    """The loss became NaN or infinite during training."""


@dataclass
class History:
    """Everything a run produced, as plain data.

    ``step_loss[t]`` is the mean loss of minibatch ``t`` (before its update).
    ``epoch_*`` lists have ``epochs + 1`` entries: index 0 is before training,
    index ``e`` after epoch ``e``, all evaluated on the whole set with the
    weights of that moment. Validation lists are empty without ``val_data``.
    """

    lr: float
    batch_size: int
    epochs: int
    seed: object
    steps_per_epoch: int
    params: dict
    step_loss: list = field(default_factory=list)
    epoch_train_loss: list = field(default_factory=list)
    epoch_train_acc: list = field(default_factory=list)
    epoch_val_loss: list = field(default_factory=list)
    epoch_val_acc: list = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"lr={self.lr:g}", f"batch={self.batch_size}",
                 f"epochs={self.epochs}",
                 f"train loss {self.epoch_train_loss[-1]:.4f}",
                 f"train acc {self.epoch_train_acc[-1]:.2%}"]
        if self.epoch_val_loss:
            parts += [f"val loss {self.epoch_val_loss[-1]:.4f}",
                      f"val acc {self.epoch_val_acc[-1]:.2%}"]
        return ", ".join(parts)


class Trainer:
    """Reusable buffers for SGD steps of one batch size on one set of parameters.

    ``params`` are updated in place. Use :func:`sgd` unless you need the steps.
    """

    def __init__(self, params, batch_size):
        self.params = params
        W1, W2 = params["W1"], params["W2"]
        D, H = W1.shape
        C = W2.shape[1]
        dtype = W1.dtype
        B = batch_size
        self.rows = np.arange(B)
        self.Xb = np.empty((B, D), dtype)
        self.H = np.empty((B, H), dtype)  # hidden activations, then reused
        self.Z = np.empty((B, C), dtype)  # logits -> probs -> scaled dlogits
        self.dH = np.empty((B, H), dtype)
        self.dW2 = np.empty((H, C), dtype)
        self.db1 = np.empty(H, dtype)
        self.db2 = np.empty(C, dtype)
        self.lse = np.empty((B, 1), dtype)
        # W1 += X^T (-dK) inside one BLAS call when possible (see coursenet._blas)
        self.fused = _blas.available(dtype) and W1.flags.c_contiguous
        self.dW1 = None if self.fused else np.empty((D, H), dtype)

    def step(self, X, y, idx, lr):
        """One SGD step on rows ``idx`` of ``X``; returns the batch's mean loss."""
        n = len(idx)
        p = self.params
        W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
        Xb, Hid, Z, dH, lse = self.Xb[:n], self.H[:n], self.Z[:n], self.dH[:n], \
            self.lse[:n]
        rows = self.rows[:n]
        labels = y[idx]
        # idx are valid by construction, so 'clip' costs nothing and skips checks
        np.take(X, idx, axis=0, out=Xb, mode="clip")

        # forward: Hid = sigmoid(Xb W1 + b1), computed as (1 + tanh(k/2)) / 2
        np.dot(Xb, W1, out=Hid)  # (n, H)
        Hid += b1
        Hid *= 0.5
        np.tanh(Hid, out=Hid)
        Hid *= 0.5
        Hid += 0.5
        np.dot(Hid, W2, out=Z)  # (n, C)
        Z += b2

        # loss = mean(logsumexp(z) - z[label]), with z shifted by its row max
        Z -= Z.max(axis=1, keepdims=True)
        loss_label = Z[rows, labels].astype(np.float64)
        np.exp(Z, out=Z)
        np.sum(Z, axis=1, keepdims=True, out=lse)
        Z /= lse  # probabilities
        loss = float(np.log(lse[:, 0], dtype=np.float64).mean() - loss_label.mean())

        # backward: dlogits = (probs - onehot) * lr / n, so grads come pre-scaled
        Z[rows, labels] -= 1.0
        Z *= lr / n
        np.dot(Hid.T, Z, out=self.dW2)  # (H, C)
        np.sum(Z, axis=0, out=self.db2)
        np.dot(Z, W2.T, out=dH)  # (n, H)
        dH *= Hid
        Hid -= 1.0
        dH *= Hid  # dH * s * (s - 1) = -dK, with no temporary array
        np.sum(dH, axis=0, out=self.db1)  # = -db1
        W2 -= self.dW2
        b2 -= self.db2
        b1 += self.db1  # minus a negated gradient
        if self.fused:
            _blas.add_AtB(W1, Xb, dH)  # W1 += Xb^T (-dK): product and update at once
        else:
            np.dot(Xb.T, dH, out=self.dW1)  # = -dW1
            W1 += self.dW1
        return loss


def evaluate(params, X, y):
    """Mean loss and accuracy of ``params`` on ``(X, y)``, in chunks."""
    from coursenet.losses import log_softmax
    from coursenet.mlp import forward

    total_loss = 0.0
    correct = 0
    for start in range(0, len(X), EVAL_CHUNK):
        Xc, yc = X[start:start + EVAL_CHUNK], y[start:start + EVAL_CHUNK]
        logits, _ = forward(params, Xc)
        logp = log_softmax(logits)
        total_loss -= float(logp[np.arange(len(yc)), yc].sum(dtype=np.float64))
        correct += int((logits.argmax(axis=1) == yc).sum())
    return total_loss / len(X), correct / len(X)


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
    W1 = params["W1"]
    if X.shape[1] != W1.shape[0]:
        raise ValueError(f"{name}: X has {X.shape[1]} features but W1 expects"
                         f" {W1.shape[0]}")
    if X.dtype != W1.dtype:
        raise TypeError(
            f"{name}: X is {X.dtype} but the parameters are {W1.dtype}; use the"
            f" same dtype (e.g. X.astype(np.{W1.dtype}))")
    if len(X) == 0:
        raise ValueError(f"{name} is empty")
    y = as_labels(y, f"{name} y", len(X), params["W2"].shape[1])
    return X, y


def sgd(params, train_data, *, lr, batch_size=64, epochs=5, seed=0, val_data=None,
        progress=True, callback=None, copy=True):
    """Train with minibatch SGD; returns a :class:`History`.

    params: dict from :func:`coursenet.mlp.init_mlp`; copied first unless
        ``copy=False`` (then updated in place). The trained parameters are
        ``history.params``.
    train_data, val_data: ``(X (N, D) float, y (N,) int)``.
    lr: learning rate for the *mean* loss over a batch.
    Each epoch visits every row once in a fresh random order (without
    replacement); the last batch of an epoch may be smaller. ``seed`` (int or
    ``numpy.random.Generator``) fixes the order. ``callback(history)`` is called
    after every step and after every epoch's evaluation. A NaN or infinite loss
    raises :class:`DivergedError`.
    """
    check_params(params)
    lr = float(positive_number(lr, "lr"))
    batch_size = int(positive_number(batch_size, "batch_size", integer=True))
    epochs = int(positive_number(epochs, "epochs", integer=True))
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

    def record_epoch():
        loss, acc = evaluate(params, X, y)
        history.epoch_train_loss.append(loss)
        history.epoch_train_acc.append(acc)
        if has_val:
            loss, acc = evaluate(params, Xv, yv)
            history.epoch_val_loss.append(loss)
            history.epoch_val_acc.append(acc)
        if callback is not None:
            callback(history)

    start = time.perf_counter()
    trainer = Trainer(params, batch_size)
    bar = _progress_bar(epochs * steps_per_epoch) if progress else None
    record_epoch()
    # a diverging run overflows on its way to NaN; the explicit check below
    # turns that into one clear error instead of a stream of numpy warnings
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(epochs):
                order = rng.permutation(len(X))
                for s in range(steps_per_epoch):
                    idx = order[s * batch_size:(s + 1) * batch_size]
                    loss = trainer.step(X, y, idx, lr)
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
                record_epoch()
    finally:
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    return history


def _progress_bar(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="SGD", unit="step")
