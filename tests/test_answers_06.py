"""Notebook 06's computed model answers (Q7.1-Q7.4): each branch that remains
in them, run on made-up numbers, says what those numbers show."""

import math
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

from coursenet import exercises

NB = Path(__file__).resolve().parents[1] / "notebooks" / "06_mnist_experiments.ipynb"


def answer_cell(title):
    cells = nbformat.read(NB, as_version=4).cells
    found = [c.source for c in cells if "answer" in c.metadata.get("tags", [])
             and f'answer("{title}"' in c.source]
    assert len(found) == 1, title
    return found[0]


def run_answer(title, **names):
    said = []
    ns = {"np": np, "exercises": exercises, "math": math,
          "answer": lambda t, body: said.append(body),
          "first_run": exercises.needs_your_code(),
          "seed_block": exercises.needs_your_code(), **names}
    exec(answer_cell(title), ns)  # noqa: S102
    assert len(said) == 1
    return " ".join(said[0].split())


def history(val_losses, train_losses):
    return types.SimpleNamespace(step_loss=[2.3] + [0.5] * 99, steps_per_epoch=20,
                                 epoch_val_acc=[0.1, 0.8, 0.85],
                                 epoch_val_loss=val_losses,
                                 epoch_train_loss=train_losses)


@pytest.mark.parametrize("val, train, words", [
    ([2.3, 0.6, 0.5], [2.3, 0.5, 0.35], ["it still falls", "not overfitting yet"]),
    ([2.3, 0.5, 0.6], [2.3, 0.45, 0.3], ["it rose while the gap grew",
                                          "beginning of overfitting"]),
    ([2.3, 0.5, 0.52], [2.3, 0.3, 0.4], ["the gap did not grow", "noisy epoch"]),
])
def test_q71_follows_the_validation_loss_and_the_gap(val, train, words):
    text = run_answer("Answer to Q7.1", history=history(val, train),
                      val_losses=val, train_losses=train, Xtrain=np.zeros((100, 1)))
    for word in words:
        assert word in text, text
    if "falls" in words[0]:
        assert "overfitting yet" in text and "beginning of overfitting" not in text


@pytest.mark.parametrize("spread, words", [
    ({"raw": (0.2, 0.12), "smoothed": (0.1, 0.03)}, ["most early on", "is wider"]),
    ({"raw": (0.05, 0.02), "smoothed": (0.02, 0.03)}, ["as much late as early",
                                                      "is not wider"]),
])
def test_q72_follows_the_spread(spread, words):
    text = run_answer("Answer to Q7.2", spread=spread,
                      finals=np.array([0.87, 0.88, 0.85, 0.86, 0.87]))
    for word in words:
        assert word in text, text


def sweep_names(course_loss, diverged10, max_diff):
    rates = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
    usable = rates if not diverged10 else rates[:-1]
    stats = {r: (2.0, 0.01, 0.3, 0.01) for r in usable}
    stats.update({0.3: (0.45, 0.05, 0.87, 0.01), 1.0: (0.41, 0.07, 0.88, 0.01),
                  0.03: (course_loss, 0.02, 0.77, 0.03)})
    run = types.SimpleNamespace(step_loss=[2.3, 98.0] + [0.5] * 548)
    return dict(rates=rates, usable=usable, stats=stats, best=1.0,
                diverged={r: (3 if (r == 10.0 and diverged10) else 0) for r in rates},
                sweep={r: [run] * 3 for r in rates}, sweep_seeds=range(3),
                max_diff=max_diff, acc_sum=0.85, acc_mean=0.85, acc_small=0.73)


@pytest.mark.parametrize("course_loss, diverged10, max_diff, words", [
    (1.05, False, 0.0, ["too slow", "reaches 98", "identical weights",
                        "between lr 0.3 and 1.0"]),
    (0.45, True, 1e-7, ["fast enough", "diverged in 3 of 3", "within 1.0e-07"]),
])
def test_q73_follows_the_sweep(course_loss, diverged10, max_diff, words):
    text = run_answer("Answer to Q7.3", **sweep_names(course_loss, diverged10,
                                                     max_diff))
    for word in words:
        assert word in text, text


@pytest.mark.parametrize("beats, chosen, seeds_std, n_test, words", [
    ({0.3: True, 3.0: True}, 1.0, 0.001, 100_000, ["beats both neighbours",
                                                   "is probably real"]),
    ({0.3: False, 3.0: True}, 0.3, 0.013, 1000, ["smallest tied rate, lr 0.3",
                                                 "could be chance"]),
])
def test_q74_follows_the_choice_and_the_spread(beats, chosen, seeds_std, n_test,
                                               words):
    finals = np.array([0.88 - seeds_std, 0.88, 0.88 + seeds_std])
    text = run_answer("Answer to Q7.4", best=1.0, chosen=chosen, beats=beats,
                      stats={1.0: (0.41, 0.07)}, seed_runs=[1], finals=finals,
                      test_acc=0.9, Xtest=np.zeros((n_test, 1)),
                      Xfull=np.zeros((4000, 1)), source="sample",
                      describe_test_data=lambda s, n: f"{n:,} test images",
                      class_names=[str(k) for k in range(10)],
                      true_class=3, taken_for=5)
    for word in words:
        assert word in text, text
