"""What a training run returns, for both networks: :class:`History`, and its errors.

Plain Python (no numpy), so the plain-Python network of :mod:`coursenet.scalar`
can use it too. :func:`coursenet.scalar.train` (one instance per step) and
:func:`coursenet.train.sgd` (one minibatch per step) fill the same fields
through the same loop, :func:`run_epochs`, and
:func:`coursenet.plots.learning_curve` draws either.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field


class DivergedError(FloatingPointError):
    """Training diverged: the loss or a parameter became NaN or infinite."""


@dataclass(repr=False, eq=False)
class History:
    """Everything a run produced, as plain data.

    ``step_loss[t]`` is the mean loss of step ``t``'s minibatch (one instance
    for the scalar network) before its update. ``epoch_*`` lists have
    ``epochs + 1`` entries: index 0 is before training, index ``e`` after
    epoch ``e``, all evaluated on the whole set with the weights of that
    moment. Validation lists are empty without validation data. ``params`` are
    the trained parameters.
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

    def __post_init__(self):
        # checked here, so that a History can always be printed and plotted
        if isinstance(self.lr, bool) or not isinstance(self.lr, numbers.Real):
            raise TypeError(f"lr must be a number, got {self.lr!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        for name, low in (("batch_size", 1), ("epochs", 0), ("steps_per_epoch", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an int, got {value!r}")
            if value < low:
                raise ValueError(f"{name} must be an int {'> 0' if low else '>= 0'},"
                                 f" got {value!r}")
        if not isinstance(self.params, dict):
            raise TypeError("params must be a dict of the trained parameters, got"
                            f" {type(self.params).__name__}")
        for name in _LISTS:
            values = list(getattr(self, name))  # a tuple or generator: a list
            for v in values:
                if isinstance(v, bool) or not isinstance(v, numbers.Real):
                    raise TypeError(f"{name} must hold numbers, found {v!r}")
            setattr(self, name, values)
        if isinstance(self.seconds, bool) or not isinstance(self.seconds,
                                                            numbers.Real):
            raise TypeError(f"seconds must be a number, got {self.seconds!r}")
        if not self.seconds >= 0:
            raise ValueError(f"seconds must be >= 0, got {self.seconds!r}")

    def summary(self) -> str:
        """One line: the settings and the last epoch's numbers."""
        parts = [f"lr={self.lr:g}", f"batch={self.batch_size}",
                 f"epochs={self.epochs}"]
        if self.epoch_train_loss:
            parts.append(f"train loss {self.epoch_train_loss[-1]:.4f}")
        if self.epoch_train_acc:
            parts.append(f"train acc {self.epoch_train_acc[-1]:.2%}")
        if self.epoch_val_loss:
            parts.append(f"val loss {self.epoch_val_loss[-1]:.4f}")
        if self.epoch_val_acc:
            parts.append(f"val acc {self.epoch_val_acc[-1]:.2%}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        # never the 100,000 step losses: a History left as a cell's last line
        # shows one line
        return (f"History({self.summary()}; {len(self.step_loss)} steps,"
                f" {self.seconds:.2f} s)")

    def _repr_pretty_(self, printer, cycle):  # IPython
        printer.text(repr(self))


_LISTS = ("step_loss", "epoch_train_loss", "epoch_train_acc", "epoch_val_loss",
          "epoch_val_acc")


def all_finite(values) -> bool:
    """True if every number in nested lists (or numpy arrays) is finite, no numpy.

    ``values`` may be nested to any depth (the scalar network's ``W`` is a list
    of rows); numpy arrays are read through ``.tolist()``.
    """
    if hasattr(values, "tolist"):
        values = values.tolist()
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError("values must be (nested) lists of numbers, got"
                        f" {values!r}")
    for v in values:
        if hasattr(v, "tolist"):
            v = v.tolist()
        if isinstance(v, (list, tuple)):
            if not all_finite(v):
                return False
        elif isinstance(v, numbers.Integral):
            continue  # an int is finite, however large (math.isfinite overflows)
        elif not isinstance(v, numbers.Real):
            raise TypeError(f"values must be (nested) lists of numbers, found {v!r}")
        elif not math.isfinite(v):
            return False
    return True


def run_epochs(history, batches, step, evaluate, nonfinite, *, callback=None,
               bar=None):
    """The SGD loop both networks share; fills ``history`` and returns it.

    For each of ``history.epochs`` epochs: ``for batch in batches():`` (a fresh
    shuffle each call), ``loss = step(batch)`` (one update; the batch's loss
    before it), recorded in ``history.step_loss``. Before training and after
    each epoch: ``nonfinite()`` names the parameters holding NaN or inf (then
    :class:`DivergedError`), ``evaluate()`` returns ``(train loss, train acc,
    val loss, val acc)`` (the last two None without validation data).
    ``callback(history)`` runs after every step and every evaluation;
    ``bar`` (a tqdm bar, or None) advances by one per step.
    """
    _check_loop(history, batches, step, evaluate, nonfinite, callback)
    start = time.perf_counter()
    losses = history.step_loss
    try:
        _end_of_epoch(history, 0, evaluate, nonfinite, callback)
        for epoch in range(1, history.epochs + 1):
            for batch in batches():
                losses.append(_finite_loss(step(batch), history, epoch))
                if callback is not None:
                    callback(history)
                if bar is not None:
                    bar.update(1)
            _end_of_epoch(history, epoch, evaluate, nonfinite, callback)
    finally:
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    return history


def _check_loop(history, batches, step, evaluate, nonfinite, callback):
    if not isinstance(history, History):
        raise TypeError(f"history must be a History, got {type(history).__name__}")
    for name, fn in (("batches", batches), ("step", step), ("evaluate", evaluate),
                     ("nonfinite", nonfinite)):
        if not callable(fn):
            raise TypeError(f"{name} must be a function, got {type(fn).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a function or None, got {callback!r}")


def _finite_loss(loss, history, epoch):
    """``step(batch)``'s return value, if it is a finite number."""
    if isinstance(loss, bool) or not isinstance(loss, numbers.Real):
        raise TypeError("step(batch) must return the batch's loss (a"
                        f" number), got {loss!r}")
    if not math.isfinite(loss):
        raise DivergedError(
            f"training diverged: the loss became {loss} at epoch {epoch}, step"
            f" {len(history.step_loss)} with lr={history.lr:g}; try a smaller"
            " learning rate")
    return loss


def _end_of_epoch(history, epoch, evaluate, nonfinite, callback):
    """Check the parameters, evaluate, record, call back (``epoch`` 0: before)."""
    lr = history.lr
    bad = nonfinite()
    if not isinstance(bad, (list, tuple)):
        raise TypeError(f"nonfinite() must return a list of parameter names, got"
                        f" {bad!r}")
    if bad:
        raise DivergedError(
            f"training diverged: {', '.join(bad)} became NaN or infinite by"
            f" the end of epoch {epoch} with lr={lr:g}; try a smaller"
            " learning rate")
    result = evaluate()
    if not isinstance(result, tuple) or len(result) != 4:
        raise TypeError("evaluate() must return 4 values (train loss, train acc,"
                        f" val loss, val acc), got {result!r}")
    train_loss, train_acc, val_loss, val_acc = result
    for loss in (train_loss, val_loss):
        if loss is not None and not math.isfinite(loss):
            raise DivergedError(
                f"training diverged: the evaluated loss is {loss} at epoch"
                f" {epoch} with lr={lr:g}; try a smaller learning rate")
    history.epoch_train_loss.append(train_loss)
    history.epoch_train_acc.append(train_acc)
    if val_loss is not None:
        history.epoch_val_loss.append(val_loss)
        history.epoch_val_acc.append(val_acc)
    if callback is not None:
        callback(history)
