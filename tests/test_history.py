"""history.py: History, all_finite and run_epochs, the loop both networks share."""

import math

import pytest
from bad_input import assert_clear_error

from coursenet import history

H_OK = dict(lr=0.1, batch_size=1, epochs=1, seed=0, steps_per_epoch=1, params={})


def _history(**changes):
    return history.History(**{**H_OK, **changes})


def _run_epochs(**changes):
    args = dict(batches=lambda: [0], step=lambda batch: 0.5,
                evaluate=lambda: (1.0, 0.5, None, None), nonfinite=lambda: [])
    args.update(changes)
    return history.run_epochs(_history(), **args)


CASES = [
    ("History lr='a' (repr crashed)", lambda: _history(lr="a"),
     TypeError, ["lr", "number", "'a'"]),
    ("History lr=-1", lambda: _history(lr=-1), ValueError, ["lr", "> 0", "-1"]),
    ("History lr=nan", lambda: _history(lr=math.nan), ValueError, ["lr", "nan"]),
    ("History batch_size=0", lambda: _history(batch_size=0),
     ValueError, ["batch_size", "> 0", "0"]),
    ("History batch_size=True", lambda: _history(batch_size=True),
     TypeError, ["batch_size", "int", "True"]),
    ("History epochs=-1", lambda: _history(epochs=-1),
     ValueError, ["epochs", ">= 0", "-1"]),
    ("History epochs=1.5", lambda: _history(epochs=1.5),
     TypeError, ["epochs", "int", "1.5"]),
    ("History steps_per_epoch=-2", lambda: _history(steps_per_epoch=-2),
     ValueError, ["steps_per_epoch", ">= 0"]),
    ("History params=None", lambda: _history(params=None),
     TypeError, ["params", "dict", "NoneType"]),
    ("History epoch_train_loss of strings (summary crashed)",
     lambda: _history(epoch_train_loss=["x"]),
     TypeError, ["epoch_train_loss", "numbers", "'x'"]),
    ("History seconds='x' (repr crashed)", lambda: _history(seconds="x"),
     TypeError, ["seconds", "number", "'x'"]),
    ("History seconds=-1", lambda: _history(seconds=-1.0),
     ValueError, ["seconds", ">= 0"]),
    ("all_finite(None)", lambda: history.all_finite(None),
     TypeError, ["values", "None"]),
    ("all_finite of a string", lambda: history.all_finite(["a"]),
     TypeError, ["values", "'a'"]),
    ("run_epochs history=None", lambda: history.run_epochs(
        None, lambda: [0], lambda b: 0.5, lambda: (1.0, 0.5, None, None), lambda: []),
     TypeError, ["history", "History", "NoneType"]),
    ("run_epochs step returns None", lambda: _run_epochs(step=lambda b: None),
     TypeError, ["step", "loss", "None"]),
    ("run_epochs evaluate returns a pair",
     lambda: _run_epochs(evaluate=lambda: (1.0, 0.5)),
     TypeError, ["evaluate", "4", "(1.0, 0.5)"]),
    ("run_epochs callback=3", lambda: _run_epochs(callback=3),
     TypeError, ["callback", "3"]),
    ("run_epochs batches a list", lambda: _run_epochs(batches=[0]),
     TypeError, ["batches", "function", "list"]),
    ("run_epochs nonfinite returns True", lambda: _run_epochs(nonfinite=lambda: True),
     TypeError, ["nonfinite", "list", "True"]),
    ("run_epochs evaluate gives a NaN loss (recorded silently)",
     lambda: _run_epochs(evaluate=lambda: (math.nan, 0.5, None, None)),
     history.DivergedError, ["nan", "epoch 0"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


def test_all_finite_of_a_huge_int_is_true():
    assert history.all_finite([10**400, [1, 2.5]])
    assert not history.all_finite([[1.0, math.inf]])


def test_history_lists_from_a_generator_or_tuple_are_lists():
    h = _history(step_loss=(v for v in [1.0, 0.5]), epoch_train_loss=(1.0,))
    assert h.step_loss == [1.0, 0.5] and h.epoch_train_loss == [1.0]
    h.step_loss.append(0.25)  # run_epochs appends
    assert "2 steps" not in repr(h) and "3 steps" in repr(h)


def test_summary_shows_the_last_epoch():
    """History.summary: ``[-1]`` -> ``[+1]`` (the first epoch after training)."""
    h = history.History(lr=0.5, batch_size=2, epochs=2, seed=0, steps_per_epoch=1,
                        params={}, epoch_train_loss=[3.0, 2.0, 1.0],
                        epoch_train_acc=[0.1, 0.2, 0.3],
                        epoch_val_loss=[3.5, 2.5, 1.5],
                        epoch_val_acc=[0.15, 0.25, 0.35])
    assert h.summary() == ("lr=0.5, batch=2, epochs=2, train loss 1.0000, train acc"
                           " 30.00%, val loss 1.5000, val acc 35.00%")


def test_run_epochs_times_the_run_and_moves_the_bar_once_per_step(monkeypatch):
    """history.run_epochs: ``perf_counter() - start`` -> ``+ start``;
    ``bar.update(1)`` -> ``update(2)``. The clock is a fake one (no wall-clock
    assert): it reads 1000 s at the start and 1002.5 s at the end."""
    readings = iter([1000.0, 1002.5])
    monkeypatch.setattr(history.time, "perf_counter", lambda: next(readings))

    class Bar:
        def __init__(self):
            self.n, self.closed = 0, False

        def update(self, k):
            self.n += k

        def close(self):
            self.closed = True

    bar = Bar()
    h = history.History(lr=0.1, batch_size=1, epochs=2, seed=0, steps_per_epoch=3,
                        params={})
    history.run_epochs(h, lambda: [0, 1, 2], lambda batch: 0.5,
                       lambda: (1.0, 0.5, None, None), lambda: [], bar=bar)
    assert bar.n == 6 and bar.closed
    assert h.seconds == 2.5
