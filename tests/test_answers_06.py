"""Notebook 06's computed model answers (Q7.1-Q7.4): each branch that remains
in them, run on made-up numbers, says what those numbers show."""

import math
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

from coursenet import data, display, exercises

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


def data_cell(name, source="full", num_train=30, num_test=100):
    """Run 06's data cell on a tiny fake data set; its names (class_names, items...)."""
    cells = nbformat.read(NB, as_version=4).cells
    found = [c.source for c in cells if "data.load_dataset(DATASET)" in c.source]
    assert len(found) == 1

    def load_dataset(which=None, final=False):
        assert which is None  # the switch: $COURSENET_DATASET decides
        n_train, n_val = (num_train + 10, num_test) if final else (num_train, 10)
        part = [(np.zeros((n, 784), np.uint8), np.arange(n) % 10)
                for n in (n_train, n_val)]
        classes = data.MNIST_CLASSES if name == "mnist" else data.FASHION_CLASSES
        return data.Dataset(*part, 10, source, name, classes)

    ns = {"np": np, "plt": types.SimpleNamespace(rcParams={}),
          "threadpool_limits": lambda **kwargs: None,
          "data": types.SimpleNamespace(load_dataset=load_dataset),
          "data_notice": lambda dataset: None, "scale_pixels": data.scale_pixels,
          "describe_test_data": display.describe_test_data, "print": lambda *a: None}
    exec(found[0], ns)  # noqa: S102
    return {k: ns[k] for k in ("xtrain", "xtest", "Xfull", "Xtest", "class_names",
                               "items", "data_name", "final_data", "dataset",
                               "describe_test_data")}


def history(val_losses, train_losses):
    return types.SimpleNamespace(step_loss=[2.3] + [0.5] * 99, steps_per_epoch=20,
                                 epoch_val_acc=[0.1, 0.8, 0.85],
                                 epoch_val_loss=val_losses,
                                 epoch_train_loss=train_losses)


@pytest.mark.parametrize("val, train, words", [
    ([2.3, 0.6, 0.5], [2.3, 0.5, 0.35], ["it still falls", "not overfitting yet"]),
    ([2.3, 0.5, 0.6], [2.3, 0.45, 0.3], ["it rose by 0.100 while the gap grew",
                                          "perhaps the beginning of overfitting",
                                          "not yet a trend"]),
    ([2.3, 0.5, 0.52], [2.3, 0.3, 0.4], ["the gap did not grow", "noisy epoch"]),
    ([2.3, 0.5, 0.45], [2.3, 0.52, 0.46], ["it still falls",
                                           "does no better than on new ones yet"]),
    ([2.3, 0.46, 0.41, 0.40], [2.3, 0.47, 0.40, 0.38],
     ["not positive after epoch 1, but by the end the network fits"]),
    ([2.3, 0.46, 0.41, 0.40], [2.3, 0.47, 0.42, 0.38],
     ["not positive after epochs 1 and 2, but by the end"]),
])
def test_q71_follows_the_validation_loss_and_the_gap(val, train, words):
    text = run_answer("Answer to Q7.1", history=history(val, train),
                      val_losses=val, train_losses=train, Xtrain=np.zeros((100, 1)))
    for word in words:
        assert word in text, text
    if "falls" in words[0]:
        assert "overfitting yet" in text and "beginning of overfitting" not in text
    fits = "fits its 100 training images better than new ones" in text
    assert fits == (val[-1] > train[-1]), text


@pytest.mark.parametrize("spread, words", [
    ({"raw": (0.2, 0.12), "smoothed": (0.1, 0.03)}, ["most early on", "is wider"]),
    ({"raw": (0.05, 0.02), "smoothed": (0.02, 0.03)}, ["as much late as early",
                                                      "is not wider"]),
    ({"raw": (0.15, 0.127), "smoothed": (0.015, 0.010)},
     ["a little more early on than late", "is wider"]),
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
                        "between lr 0.3 and 1.0", "ends at 1.050 ± 0.020"]),
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
    names = data_cell("mnist", source="sample", num_train=4_490, num_test=n_test)
    text = run_answer("Answer to Q7.4", best=1.0, chosen=chosen, beats=beats,
                      stats={1.0: (0.41, 0.07, 0.88, 0.01), 0.3: (0.45, 0.05, 0.87,
                                                                  0.01)},
                      seed_runs=[1], finals=finals, test_acc=0.82, true_class=3,
                      taken_for=5, **names)
    for word in words:
        assert word in text, text
    # the sample's validation digits share writers with its training digits
    assert f"{100 * (0.88 if chosen == 1.0 else 0.87) - 82:.1f} points below the" \
        " chosen rate's mean validation accuracy" in text, text
    assert "written by other people" in text, text
    assert ("on all 4,500 training digits of the offline MNIST sample" in text
            and f"MNIST's canonical test set ({n_test:,} images)" in text
            and "3 taken for 5" in text), text


def test_q74_on_fashion_names_its_data_and_classes():
    names = data_cell("fashion-mnist", num_train=55_000, num_test=10_000)
    text = run_answer("Answer to Q7.4", best=0.3, chosen=0.3,
                      beats={0.1: True, 1.0: True},
                      stats={0.3: (0.36, 0.01, 0.865, 0.004)},
                      seed_runs=[1], finals=np.array([0.86, 0.861, 0.862]),
                      test_acc=0.87, true_class=6, taken_for=0, **names)
    assert "on all 55,010 training images of full Fashion-MNIST" in text, text
    assert "Fashion-MNIST's test set (10,000 images)" in text, text
    assert "Shirt taken for T-shirt/top" in text, text
    assert "the test set agrees with it to within 0.5 points" in text, text
    for wrong in ("digit", "canonical", "full MNIST", "MNIST's"):
        assert wrong not in text.replace("Fashion-MNIST's", ""), (wrong, text)
