"""What a training run returns, for both networks: :class:`History`, and its errors.

Plain Python (no numpy), so the plain-Python network of :mod:`coursenet.scalar`
can use it too. :func:`coursenet.scalar.train` (one instance per step) and
:func:`coursenet.train.sgd` (one minibatch per step) fill the same fields
through the same loop, :func:`run_epochs`, and
:func:`coursenet.plots.learning_curve` draws either.
"""

from __future__ import annotations

import math
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


def all_finite(values) -> bool:
    """True if every number in nested lists (or numpy arrays) is finite, no numpy.

    ``values`` may be nested to any depth (the scalar network's ``W`` is a list
    of rows); numpy arrays are read through ``.tolist()``.
    """
    for v in values:
        if hasattr(v, "tolist"):
            v = v.tolist()
        if isinstance(v, (list, tuple)):
            if not all_finite(v):
                return False
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
    lr = history.lr

    def end_of_epoch(epoch):
        bad = nonfinite()
        if bad:
            raise DivergedError(
                f"training diverged: {', '.join(bad)} became NaN or infinite by"
                f" the end of epoch {epoch} with lr={lr:g}; try a smaller"
                " learning rate")
        train_loss, train_acc, val_loss, val_acc = evaluate()
        history.epoch_train_loss.append(train_loss)
        history.epoch_train_acc.append(train_acc)
        if val_loss is not None:
            history.epoch_val_loss.append(val_loss)
            history.epoch_val_acc.append(val_acc)
        if callback is not None:
            callback(history)

    start = time.perf_counter()
    losses = history.step_loss
    try:
        end_of_epoch(0)
        for epoch in range(1, history.epochs + 1):
            for batch in batches():
                loss = step(batch)
                if not math.isfinite(loss):
                    raise DivergedError(
                        f"training diverged: the loss became {loss} at epoch"
                        f" {epoch}, step {len(losses)} with lr={lr:g}; try a"
                        " smaller learning rate")
                losses.append(loss)
                if callback is not None:
                    callback(history)
                if bar is not None:
                    bar.update(1)
            end_of_epoch(epoch)
    finally:
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    return history
