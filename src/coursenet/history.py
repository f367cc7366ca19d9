"""What a training run returns, for both networks: :class:`History`, and its errors.

Plain Python (no numpy), so the plain-Python network of :mod:`coursenet.scalar`
can use it too. :func:`coursenet.scalar.train` (one instance per step) and
:func:`coursenet.train.sgd` (one minibatch per step) fill the same fields, and
:func:`coursenet.plots.learning_curve` draws either.
"""

from __future__ import annotations

import math
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

    @property
    def instance_loss(self) -> list:
        """``step_loss`` under the scalar network's name (one instance per step)."""
        return self.step_loss

    def __getitem__(self, name):
        """``history["epoch_train_loss"]``: dict-style access, as the old scalar
        history allowed."""
        if not isinstance(name, str) or name.startswith("_") \
                or not hasattr(self, name):
            raise KeyError(name)
        return getattr(self, name)

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
    """True if every number in a nested list of floats is finite (no numpy)."""
    for v in values:
        if isinstance(v, list):
            if not all_finite(v):
                return False
        elif not math.isfinite(v):
            return False
    return True
