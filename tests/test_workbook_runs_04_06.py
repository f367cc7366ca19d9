"""The workbook 04-06 as a student runs it: fresh (nothing written), and filled
with wrong-but-running answers. Run All never shows an error; no check of a
wrong answer shows ✓; no computed answer claims agreement it did not earn."""

import re
from pathlib import Path

import nbformat
import pytest
from workbook import errors, execute, run_copies, text_of

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["04_tensor_backprop.ipynb", "05_batched_backprop.ipynb",
         "06_mnist_experiments.ipynb"]
REGION = re.compile(r"^( *)### BEGIN SOLUTION\n.*?^\1### END SOLUTION", re.M | re.S)


def check_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("grade")]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    return run_copies(ROOT / "student", tmp_path_factory.mktemp("fresh"), NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_fresh_run_all_has_no_error_output(fresh, name):
    nb = fresh[name]
    assert errors(nb) == []
    ran = [c for c in nb.cells if c.cell_type == "code" and c.execution_count]
    code = [c for c in nb.cells if c.cell_type == "code"]
    print(f"{name}: {len(ran)} of {len(code)} code cells ran in a fresh Run All")
    assert len(ran) == len(code)
    for cell in check_cells(nb):
        assert "not implemented yet" in text_of(cell), cell.source
    skipped = [c for c in nb.cells if "⏸ skipped" in text_of(c)]
    assert skipped, "cells that need the student's code must say they skipped"
    for cell in skipped:
        assert "Traceback" not in text_of(cell)


def test_fresh_06_names_the_unfinished_functions(fresh):
    text = "".join(text_of(c) for c in fresh["06_mnist_experiments.ipynb"].cells)
    assert "`minibatch_sgd` is not written yet" in text
    assert "from 05_batched_backprop.ipynb" in text


def test_fresh_06_waits_for_the_students_two_choices(fresh):
    """EQUIV_LR and CHOSEN_LR start as None: the cells that use them say what to
    set, in one line, and Run All goes on (review B4, B6)."""
    text = "".join(text_of(c) for c in fresh["06_mnist_experiments.ipynb"].cells)
    assert "EQUIV_LR is not set yet: set it in the cell above" in text
    assert "⏸ skipped: set CHOSEN_LR (the cell before part (4))" in text
    assert "test accuracy above 80%" not in text


WRONG = {  # notebook: [(stub number, wrong body)], as a student would write them
    "04_tensor_backprop.ipynb": [
        (0, "return dl_dy * y * (1 - y)  # the sigmoid's pattern"),
        (1, "do = y.copy()\ndo[c] -= 1  # the shortcut, not the Jacobian\n"
            "dh = do @ params['W2'].T\ndk = dh * h * (1 - h)\n"
            "return {'W1': np.outer(x, dk), 'b1': dk, 'W2': np.outer(h, do),"
            " 'b2': do}"),
    ],
    "05_batched_backprop.ipynb": [
        (0, "N, rows = len(c), np.arange(len(c))\ndO = Y.copy()\n"
            "dO[rows, c] -= 1.0  # no 1/N: the gradient of the sum\n"
            "dK = dO @ params['W2'].T * H * (1 - H)\n"
            "return loss, {'W1': X.T @ dK, 'b1': dK.sum(0), 'W2': H.T @ dO,"
            " 'b2': dO.sum(0)}"),
    ],
    "06_mnist_experiments.ipynb": [
        (0, "rng = np.random.default_rng(seed)\norder = rng.permutation(len(X))\n"
            "for _ in range(epochs):  # one permutation for all epochs\n"
            "    for start in range(0, len(X) - batch_size + 1, batch_size):\n"
            "        idx = order[start:start + batch_size]\n"
            "        loss, grads = batched_backward(params, X[idx], c[idx])\n"
            "        for name in params:\n"
            "            params[name] -= lr * grads[name]\n"
            "        history.step_loss.append(loss)\n"
            "    for (Xs, cs), part in ((train_data, 'train'), (val_data, 'val')):\n"
            "        loss, acc = mlp.evaluate(params, Xs, cs)\n"
            "        getattr(history, f'epoch_{part}_loss').append(loss)\n"
            "        getattr(history, f'epoch_{part}_acc').append(acc)"),
    ],
}


def fill(nb, answers):
    """Replace the worked solutions by the wrong answers, in exercise order.

    Built from the solution notebooks, so that the computed answers a workbook
    keeps (tagged ``workbook-keep``) are there and run on the wrong code too.
    """
    regions = [(i, c) for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and REGION.search(c.source)]
    for number, body in answers:
        _, cell = regions[number]
        indent = REGION.search(cell.source).group(1)
        code = "\n".join(indent + line if line else line for line in body.splitlines())
        cell.source = REGION.sub(lambda m, code=code: code, cell.source, count=1)
        cell.outputs = []


@pytest.fixture(scope="module")
def wrong(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wrong")
    for name in NAMES:
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        fill(nb, WRONG[name])
        nbformat.write(nb, folder / name)
    return {name: execute(folder / name, timeout=600) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_wrong_answers_never_get_a_tick_and_run_all_goes_on(wrong, name):
    nb = wrong[name]
    assert errors(nb) == []
    assert check_cells(nb)
    for cell in check_cells(nb):
        text = text_of(cell)
        assert text.startswith("✗"), (cell.source, text)


def test_wrong_answers_are_not_called_right_in_the_kept_answers(wrong):
    q5 = [text_of(c) for c in wrong["04_tensor_backprop.ipynb"].cells
          if "Answer to Q5" in c.source][0]
    # the shortcut gives right numbers: the answer may say so, but never that
    # the check passed or that a Jacobian path was used
    assert "Jacobian path agrees" not in q5 and "✓ " not in q5
    q6 = [text_of(c) for c in wrong["05_batched_backprop.ipynb"].cells
          if "Answer to Q6" in c.source][0]
    assert "do not agree yet" in q6 and "equal" not in q6, q6
    nb06 = "".join(text_of(c) for c in wrong["06_mnist_experiments.ipynb"].cells)
    assert "✗ minibatch_sgd dropped the last, partial batch" in nb06
    assert "your loop and train.sgd agree on an epoch (weights within 1e-4): False" \
        in nb06


# --------------------------------------------------------------------------
# 04 and 05: the student derives the backward pass before anything shows it
# --------------------------------------------------------------------------

DERIVED = {  # notebook: (written grade id, exercise grade ids, lines of the answer)
    "04_tensor_backprop.ipynb": ("q5_derivation",
                                 ["q5_softmax_backward", "q5_vector_backward"],
                                 [r"h^\top \nabla_o", r"\nabla_o W_2^\top",
                                  r"x^\top \nabla_k", "np.diag", "np.outer"]),
    "05_batched_backprop.ipynb": ("q6_derivation", ["q6_batched_backward"],
                                  [r"H^\top \nabla_O", r"\tfrac1N (Y - T)",
                                   r"\mathbf 1^\top \nabla_K", "sums over the batch",
                                   "Mind the", "bias gradient sums"]),
}


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_the_derivation_is_asked_before_the_exercise_and_shown_after_its_check(name):
    written, exercises_, give_aways = DERIVED[name]
    nb = nbformat.read(ROOT / "student" / name, as_version=4)
    ids = [grade_id(c) for c in nb.cells]
    ask = ids.index(written)
    assert nb.cells[ask].cell_type == "markdown"
    assert "**Your answer.**" in nb.cells[ask].source
    assert nb.cells[ask].metadata["nbgrader"]["points"] >= 1
    assert all(ask < ids.index(e) for e in exercises_)
    last_check = ids.index(exercises_[-1] + "_check")
    for index, cell in enumerate(nb.cells[:last_check + 1]):
        if cell.metadata.get("nbgrader", {}).get("solution") and \
                cell.cell_type == "code":
            continue  # the stubs the student fills in
        shown = [g for g in give_aways if g in cell.source]
        assert not shown, (name, index, shown)
    after = "".join(c.source for c in nb.cells[last_check + 1:last_check + 2])
    assert "<summary>Check your derivation</summary>" in after
    assert give_aways[0] in after
