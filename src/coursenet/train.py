"""Minibatch SGD for the MLP of :mod:`coursenet.mlp`, as the course writes it.

One step is :func:`sgd_step`: the mean loss of a batch and its gradients from
:func:`coursenet.mlp.loss_and_grads`, then ``p -= lr * grad``. :func:`sgd`
shuffles the rows every epoch, walks them in batches, and returns a
:class:`~coursenet.history.History` (the same type, filled by the same loop,
:func:`coursenet.history.run_epochs`, as the plain-Python network's
:func:`coursenet.scalar.train`); plotting it is :mod:`coursenet.plots`'s job.

For speed, :func:`sgd` runs each step through :class:`coursenet._fast_step.Trainer`,
the same maths in preallocated buffers (pinned to :func:`sgd_step` by
``tests/test_fast_paths.py``), and evaluates with :func:`coursenet.mlp.evaluate`'s
chunked evaluator (:mod:`coursenet._fast_eval`) without re-checking the data.
"""

from __future__ import annotations

import math

import numpy as np

from coursenet import _fast_eval, mlp
from coursenet._checks import (
    as_float_array,
    as_labels,
    check_bool,
    check_seed,
    native,
    positive_number,
)
from coursenet._fast_step import Trainer as _Trainer
from coursenet.history import History as _History
from coursenet.history import run_epochs as _run_epochs

# One import path per public name: evaluate is mlp.evaluate, DivergedError and
# History live in coursenet.history.
__all__ = ["largest_difference", "sgd", "sgd_step"]


def sgd_step(params, X, c, lr):
    """One SGD step on the batch ``(X (N, D), c (N,))``, in place; returns its loss.

    The loss is the batch's mean cross-entropy before the update. Everything
    is checked before the first parameter changes.
    """
    mlp.check_params(params, training=True)
    _check_writeable(params)
    lr = float(positive_number(lr, "lr"))
    loss, grads = mlp.loss_and_grads(params, X, c)
    for name in mlp.PARAM_NAMES:
        params[name] -= lr * grads[name]
    return loss


def sgd(params, train_data, *, lr, batch_size=64, epochs=5, seed=0, val_data=None,
        progress=True, callback=None, copy=True):
    """Train with minibatch SGD; returns a :class:`~coursenet.history.History`.

    params: dict from :func:`coursenet.mlp.init_mlp`; copied first unless
        ``copy=False`` (then updated in place). The trained parameters are
        ``history.params``.
    train_data, val_data: ``(X (N, D) float, c (N,) int)``; X in the
        parameters' dtype.
    lr: learning rate for the *mean* loss over a batch.
    Each epoch visits every row once in a fresh random order (without
    replacement); the last batch of an epoch may be smaller. ``seed`` (an int
    >= 0 or a ``numpy.random.Generator``) fixes the order. ``callback(history)``
    is called after every step and after every epoch's evaluation. A NaN or
    infinite loss or parameter raises :class:`~coursenet.history.DivergedError`.
    """
    mlp.check_params(params, training=True)
    lr, batch_size, epochs = _check_settings(lr, batch_size, epochs, seed, copy,
                                             progress, callback)
    if not copy:
        _check_writeable(params, "copy=False trains params in place, so ")
    X, c = _check_data(train_data, params, "train_data")
    if val_data is not None:
        X_val, c_val = _check_data(val_data, params, "val_data")
    if copy:  # in the machine's byte order: the fast step's buffers need it
        params = {k: native(np.array(params[k])) for k in mlp.PARAM_NAMES}
    rng = np.random.default_rng(seed)
    steps_per_epoch = math.ceil(len(X) / batch_size)
    # the history keeps the batch size asked for; a batch larger than the data
    # set is the whole set, so the buffers need only len(X) rows
    history = _History(lr=lr, batch_size=batch_size, epochs=epochs, seed=seed,
                      steps_per_epoch=steps_per_epoch, params=params)
    fast = _Trainer(params, min(batch_size, len(X)))  # sgd_step in reused buffers

    def batches():
        order = rng.permutation(len(X))
        return (order[s:s + batch_size] for s in range(0, len(X), batch_size))

    def step(idx):
        return fast._step(X, c, idx, lr)  # = sgd_step(params, X[idx], c[idx], lr)

    def evaluate_all():
        # the data were checked once above: evaluate without re-checking them
        loss, acc = _evaluate(params, X, c)
        if val_data is None:
            return loss, acc, None, None
        return (loss, acc) + _evaluate(params, X_val, c_val)

    def nonfinite():
        return [k for k in mlp.PARAM_NAMES if not np.isfinite(params[k]).all()]

    bar = _progress_bar(epochs * steps_per_epoch) if progress else None
    # a diverging run overflows on its way to NaN; run_epochs' checks turn that
    # into one clear error instead of a stream of numpy warnings
    with np.errstate(over="ignore", invalid="ignore"):
        return _run_epochs(history, batches, step, evaluate_all, nonfinite,
                          callback=callback, bar=bar)


def largest_difference(run, other):
    """How far two training runs are apart: the largest absolute difference
    between their trained parameters and between the step losses and the epoch
    losses and accuracies they recorded (``inf`` where a parameter's shape or a
    list's length differs). 0.0 for the same run.

    Comparing the weights alone would pass a loop that trains right but records
    the wrong figures (the validation set's evaluated on the training set, one
    step loss per epoch).
    """
    worst = 0.0
    for name, value in run.params.items():
        ours, theirs = np.asarray(value), np.asarray(other.params.get(name))
        worst = max(worst, float(np.abs(ours - theirs).max())
                    if ours.shape == theirs.shape else math.inf)
    for part in ("step_loss", "epoch_train_loss", "epoch_train_acc",
                 "epoch_val_loss", "epoch_val_acc"):
        ours, theirs = (getattr(r, part) for r in (run, other))
        worst = max(worst, max((abs(a - b) for a, b in zip(ours, theirs)), default=0.0)
                    if len(ours) == len(theirs) else math.inf)
    return worst


def _check_settings(lr, batch_size, epochs, seed, copy, progress, callback):
    """:func:`sgd`'s settings, checked; returns ``(lr, batch_size, epochs)``."""
    lr = float(positive_number(lr, "lr"))
    batch_size = int(positive_number(batch_size, "batch_size", integer=True))
    epochs = int(positive_number(epochs, "epochs", integer=True))
    check_seed(seed)
    check_bool(copy, "copy")
    check_bool(progress, "progress")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be a function called with the History"
                        f" (e.g. plots.LivePlot()), got {callback!r}")
    return lr, batch_size, epochs


def _evaluate(params, X, c):
    chunks = _fast_eval.chunks(params, X, mlp.EVAL_CHUNK)
    return _fast_eval.loss_and_accuracy(chunks, c, mlp.EVAL_CHUNK)


def _check_writeable(params, why=""):
    for k in mlp.PARAM_NAMES:
        if not isinstance(params[k], np.ndarray) or not params[k].flags.writeable:
            raise TypeError(f"{why}params[{k!r}] must be a writeable numpy array,"
                            f" got {type(params[k]).__name__}"
                            + (" (read-only)" if isinstance(params[k], np.ndarray)
                               else ""))


def _check_data(data, params, name):
    """Validate ``(X, c)`` against ``params``; returns ``(X, c)`` without copying."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (X, c), got {type(data).__name__}")
    X, c = data
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.dtype.kind in "iub":
        raise TypeError(
            f"{name}: X has integer dtype {X.dtype}; scale the pixels to floats"
            " first, e.g. coursenet.data.scale_pixels(X)")
    X = native(as_float_array(X, f"{name} X", ndim=2))  # big-endian: one copy
    W1 = np.asarray(params["W1"])
    if X.shape[1] != W1.shape[0]:
        raise ValueError(f"{name}: X has {X.shape[1]} features but W1 expects"
                         f" {W1.shape[0]}")
    if X.dtype != W1.dtype.newbyteorder("="):
        raise TypeError(
            f"{name}: X is {X.dtype} but the parameters are {W1.dtype}; use the"
            f" same dtype (e.g. X.astype(np.{W1.dtype}))")
    if len(X) == 0:
        raise ValueError(f"{name} is empty")
    c = as_labels(c, f"{name} c", len(X), np.asarray(params["W2"]).shape[1])
    return X, c


def _progress_bar(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="SGD", unit="step", mininterval=0.5)
