"""Notebook 06's computed model answers (Q7.1-Q7.4): each branch that remains
in them, run on made-up numbers, says what those numbers show."""

import math
import re
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
    ([2.3, 0.6, 0.5], [2.3, 0.5, 0.35], ["fell by more than two standard errors",
                                         "would likely still help", "fits its"]),
    ([2.3, 0.5, 0.6], [2.3, 0.45, 0.3], ["rose by more than two standard errors",
                                         "unlikely to help"]),
    ([2.3, 0.414, 0.417], [2.3, 0.28, 0.27], ["within two standard errors (0.030)",
                                              "of the change on 500 images",
                                              "levelled off"]),
    # a fall of 0.05 is three paired standard errors: not "levelled off"
    ([2.3, 0.464, 0.414], [2.3, 0.28, 0.27], ["fell by more than two standard errors"]),
    ([2.3, 0.5, 0.45], [2.3, 0.52, 0.46], ["does no better on its training images"]),
])
def test_q71_follows_the_validation_loss_and_its_noise(val, train, words):
    text = run_answer("Answer to Q7.1", history=history(val, train), change_se=0.015,
                      val_losses=val, train_losses=train, Xval=np.zeros((500, 1)))
    for word in words:
        assert word in text, text
    # a change of 0.003 on 500 images is noise, never "the beginning of overfitting"
    assert "overfitting" not in text or "whether they help or overfit" in text, text
    fits = "fits its training images better than new ones" in text
    assert fits == (val[-1] > train[-1]), text


@pytest.mark.parametrize("spread, words", [
    ({"raw": (0.2, 0.12), "smoothed": (0.1, 0.03)}, ["most early on", "is wider"]),
    ({"raw": (0.05, 0.02), "smoothed": (0.02, 0.03)}, ["as much late as early",
                                                      "is not wider"]),
    ({"raw": (0.15, 0.127), "smoothed": (0.015, 0.010)},
     ["a little more early on than late", "is wider"]),
])
def test_q72_follows_the_spread(spread, words):
    text = run_answer("Answer to Q7.2", spread=spread, Xval=np.zeros((500, 1)),
                      items="digits", finals=np.array([0.872, 0.878, 0.868, 0.876,
                                                       0.880]))
    for word in words:
        assert word in text, text


def test_q72_judges_a_difference_of_two_single_runs():
    """Review A1: a difference of two single runs has a std of √2·seed_std."""
    text = run_answer("Answer to Q7.2", spread={"raw": (0.2, 0.12),
                                                "smoothed": (0.1, 0.03)},
                      Xval=np.zeros((500, 1)), items="digits",
                      finals=np.array([0.872, 0.878, 0.868, 0.876, 0.880]))
    # seed std 0.48%: √2 × 0.5% = 0.7%; two stds of a difference 1.4%
    assert "√2 × 0.5% = 0.7%" in text and "below about 1.4%" in text, text
    assert "can be chance" in text, text
    # binomial sampling std of 87.5% on 500 images: 1.5%
    assert "500 validation digits add a sampling std of about 1.5%" in text, text


def sweep_names(course_loss, diverged10, max_diff):
    rates = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
    usable = rates if not diverged10 else rates[:-1]
    stats = {r: (2.0, 0.01, 0.3, 0.01) for r in usable}
    stats.update({0.3: (0.45, 0.05, 0.87, 0.01), 1.0: (0.41, 0.07, 0.88, 0.01),
                  0.03: (course_loss, 0.02, 0.77, 0.03)})
    run = types.SimpleNamespace(step_loss=[2.3, 98.0] + [0.5] * 548)
    return dict(rates=rates, usable=usable, stats=stats, best_loss=1.0,
                diverged={r: (3 if (r == 10.0 and diverged10) else 0) for r in rates},
                sweep={r: [run] * 3 for r in rates}, sweep_seeds=range(3),
                max_diff=max_diff, acc_sum=0.85, acc_mean=0.85, acc_small=0.73,
                EQUIV_LR=0.96)


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


STATS = {0.3: (0.428, 0.032, 0.8727, 0.005), 1.0: (0.384, 0.049, 0.8993, 0.0114),
         3.0: (0.432, 0.027, 0.8813, 0.0046)}


def q74(chosen=1.0, best_acc=1.0, best_loss=1.0, beats_acc=None, beats_loss=None,
        test_acc=0.8841, pred=None, name="mnist", **more):
    names = data_cell(name, source="sample" if name == "mnist" else "full",
                      num_train=4_490, num_test=10_000)
    true_totals = np.full(10, 1000)
    pred_totals = np.full(10, 1000) if pred is None else np.asarray(pred)
    test_pred = np.repeat(np.arange(10), 2)[:16]      # the 16 examples shown
    args = dict(CHOSEN_LR=chosen, best_acc=best_acc, best_loss=best_loss,
                beats_acc=beats_acc or {0.3: True, 3.0: True}, stats=STATS,
                against_neighbours=lambda rate, metric, show: beats_loss or
                {0.3: False, 3.0: False},
                finals=np.array([0.872, 0.878, 0.868, 0.876, 0.880]),
                test_acc=test_acc, true_totals=true_totals, pred_totals=pred_totals,
                test_pred=test_pred, wrong=np.arange(16), Xval=np.zeros((500, 1)),
                sweep_seeds=range(3),
                **names)
    args.update(more)
    return run_answer("Answer to Q7.4", **args)


def test_q74_sample_case_reports_the_choice_the_gap_and_the_class_bias():
    pred = [900, 1000, 1000, 1000, 1000, 1400, 1000, 1300, 1000, 1000]
    text = q74(pred=pred)
    assert "lr 1.0 was chosen: it has the highest mean validation accuracy," \
        " 89.9% ± 1.1%, more than the seed spread above its neighbours" in text, text
    assert "lowest mean validation loss, though on loss a neighbour is within" in text
    assert "on all 4,500 training digits of the offline MNIST sample" in text, text
    assert "MNIST's canonical test set (10,000 images)" in text, text
    assert "1.5 points below its mean validation accuracy" in text, text
    # A1: one run vs a 3-seed mean on 500 validation images: the chosen rate's own
    # seed std (1.14%, not part (2)'s lr 0.3 spread) and both sampling stds
    assert "seed std 1.1% (lr 1.0)" in text and "together about 1.9%" in text, text
    assert "the gap is less than twice that" in text, text
    # A3: the predicted-class totals, largest excess first, and the caveat
    assert "predicts “5” 1,400 times, though the test set has 1,000 of them and" \
        " “7” 1,300 times" in text, text
    assert "4 of the 16 misclassified examples shown were taken for one of these" \
        in text, text
    assert "is probably real" not in text, text
    # a gap within the noise needs no explanation by writers or bias
    assert "cannot separate" not in text and "written by other people" not in text


def test_q74_a_large_gap_with_a_class_bias_cannot_be_told_from_a_shift():
    pred = [900, 1000, 1000, 1000, 1000, 1400, 1000, 1000, 1000, 1000]
    text = q74(pred=pred, test_acc=0.82)
    assert "predicts “5” 1,400 times" in text, text
    assert "A single run cannot separate such a bias from a shift between validation" \
        " and test data (MNIST's test digits were written by other people" in text


def test_q74_a_large_gap_and_no_class_bias():
    text = q74(test_acc=0.82)
    assert "7.9 points below" in text and "the gap is more than twice that" in text
    assert "No class is predicted 25% more often than it occurs" in text, text
    assert "cannot separate" not in text, text


def test_q74_a_smaller_tied_rate_and_a_neighbour_within_the_spread():
    text = q74(chosen=0.3, best_acc=1.0, best_loss=1.0, test_acc=0.9,
               beats_acc={0.3: False, 3.0: True})
    assert "it is within the seed spread of the best accuracy (lr 1.0, 89.9% ± 1.1%;" \
        " lr 0.3: 87.3% ± 0.5%) and further from the larger rates, which do worse" \
        in text, text
    assert "the lowest mean validation loss is at lr 1.0 (0.384 ± 0.049, against" \
        " 0.428 ± 0.032)" in text, text
    assert "2.7 points above" in text, text
    text = q74(beats_acc={0.3: False, 3.0: True}, beats_loss={0.3: True, 3.0: True})
    assert "though a neighbour is within the seed spread" in text, text
    assert "lowest mean validation loss, by more than the seed spread" in text, text


def test_q74_on_fashion_names_its_data_and_classes():
    pred = [1000, 1000, 1000, 1000, 1000, 1000, 700, 1000, 1000, 1300]
    text = q74(name="fashion-mnist", pred=pred,
               test_pred=np.full(16, 9))
    assert "training images of full Fashion-MNIST" in text, text
    assert "Fashion-MNIST's test set (10,000 images)" in text, text
    assert "“Ankle boot” 1,300 times" in text, text
    assert "16 of the 16 misclassified examples shown were taken for it" in text
    for wrong in ("digit", "canonical", "full MNIST", "MNIST's", "written by"):
        assert wrong not in text.replace("Fashion-MNIST's", ""), (wrong, text)


STUDENT = NB.parents[1] / "student" / NB.name


def student_sources(path=STUDENT):
    return [c.source for c in nbformat.read(path, as_version=4).cells]


def test_the_student_sets_equiv_lr_and_chosen_lr_and_no_answer_is_given_away(
        path=STUDENT):
    """Review B4/B6: 0.96 and the choice exist only in the worked solution; the
    workbook has plain `None` assignments the student fills in."""
    sources = student_sources(path)
    text = "\n".join(sources)
    assert "0.96" not in text and "0.03 * 32" not in text
    for name in ("EQUIV_LR", "CHOSEN_LR"):
        cells = [s for s in sources if re.search(rf"^{name} = ", s, re.M)]
        assert len(cells) == 1 and cells[0].startswith(f"{name} = None"), cells
    assert "chosen instead" not in text and "smallest tied rate" not in text
    assert "the bump explained" not in text          # review B7
    solution = nbformat.read(NB, as_version=4).cells
    computed = [c for c in solution if re.search(r"^CHOSEN_LR = (?!None)", c.source,
                                                 re.M)]
    assert len(computed) == 1 and "answer" in computed[0].metadata["tags"]
