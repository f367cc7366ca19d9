"""The workbook 04-06 as a student runs it: fresh (nothing written), and filled
with wrong-but-running answers. Run All never shows an error; no check of a
wrong answer shows ✓; no computed answer claims agreement it did not earn."""

import re
from pathlib import Path

import nbformat
import pytest
from workbook import errors, execute, text_of

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["04_tensor_backprop.ipynb", "05_batched_backprop.ipynb",
         "06_mnist_experiments.ipynb"]
REGION = re.compile(r"^( *)### BEGIN SOLUTION\n.*?^\1### END SOLUTION", re.M | re.S)


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def check_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("grade")]


@pytest.fixture(scope="module")
def fresh(fresh_workbooks):
    return {name: fresh_workbooks[name] for name in NAMES}


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
    skipped = [c for c in nb.cells if "↷ skipped" in text_of(c)]
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
    assert "↷ skipped: set CHOSEN_LR (the cell before part (4))" in text
    assert "test accuracy above 80%" not in text


WRONG = {  # notebook: [(stub number, wrong body)], as a student would write them
    "04_tensor_backprop.ipynb": [
        # the seed's own Q5 mistake: the softmax derivative taken elementwise
        (5, "y = cache\nreturn dy * y * (1 - y)  # the sigmoid's pattern"),
    ],
    "05_batched_backprop.ipynb": [
        (7, "Y, c = cache\ndO = Y.copy()\n"
            "dO[np.arange(len(c)), c] -= 1.0  # no 1/N: the gradient of the sum\n"
            "return dloss * dO"),
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
    """Replace the worked solutions by the wrong answers; ``answers`` number the
    solution regions (one per function) in notebook order.

    Built from the solution notebooks, so that the computed answers a workbook
    keeps (tagged ``workbook-keep``) are there and run on the wrong code too.
    """
    regions = [(c, k) for c in nb.cells if c.cell_type == "code"
               for k in range(len(REGION.findall(c.source)))]
    for number, body in answers:
        cell, k = regions[number]
        match = list(REGION.finditer(cell.source))[k]
        indent = match.group(1)
        code = "\n".join(indent + line if line else line for line in body.splitlines())
        cell.source = cell.source[:match.start()] + code + cell.source[match.end():]
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
    ids = {grade_id(c): text_of(c) for c in check_cells(nb)}
    for wrong_id in FAILS[name]:
        text = ids[wrong_id]
        assert "✗" in text and "Traceback" not in text, (wrong_id, text)
        assert text.count("✓") <= ALSO_PASSES.get(wrong_id, 0), (wrong_id, text)


FAILS = {  # the checks of the wrong answers (and of what is built on them)
    "04_tensor_backprop.ipynb": ["q5_softmax_check", "q5_run_backward_check"],
    "05_batched_backprop.ipynb": ["q6_fused_check", "q6_batched_backward_check"],
    "06_mnist_experiments.ipynb": ["q7_minibatch_sgd_check"],
}
ALSO_PASSES = {"q5_run_backward_check": 1}  # the loop itself is right (package layers)


def test_the_seeds_softmax_mistake_stops_training_in_one_line(wrong):
    """04 with the elementwise softmax: no traceback at the MNIST training; one
    line names the student's function and where the values went bad, or the
    run ends with finite numbers; the cells after it run."""
    cells = wrong["04_tensor_backprop.ipynb"].cells
    training = [c for c in cells if "stop_if_layer_not_finite" in c.source][0]
    text = text_of(training)
    print(text)
    assert "Traceback" not in text and "Warning" not in text
    # the loop is right, so the line names one of the student's layer functions
    named = re.search(r"■ stopped: (?:the gradients went nan or inf .*)?your"
                      r" `(\w+)` (?:returned nan or inf|raised)", text)
    layers = {f"{kind}_{way}" for kind in ("linear", "sigmoid", "softmax",
                                            "cross_entropy")
              for way in ("forward", "backward")}
    assert (named and named.group(1) in layers) or "validation loss:" in text, text
    assert cells[-1].execution_count, "the notebook went on to its last cell"


def test_wrong_answers_are_not_called_right_in_the_kept_answers(wrong):
    q5 = [text_of(c) for c in wrong["04_tensor_backprop.ipynb"].cells
          if "Your results (Q5)" in c.source][0]
    assert "do not agree yet" in q5 and "agree with the shortcut" not in q5, q5
    q6 = [text_of(c) for c in wrong["05_batched_backprop.ipynb"].cells
          if "Your results (Q6)" in c.source][0]
    assert "do not agree yet" in q6 and "equal" not in q6, q6
    nb06 = "".join(text_of(c) for c in wrong["06_mnist_experiments.ipynb"].cells)
    assert "✗ minibatch_sgd dropped the last, partial batch" in nb06
    # the experiments never report a loop that failed its check as right: the
    # first run stops, and the cells that need it (the agreement line) skip
    assert "■ stopped: your `minibatch_sgd` failed its own check above" in nb06
    assert "within 1e-4): True" not in nb06


# --------------------------------------------------------------------------
# 04 and 05: the student derives the backward pass before anything shows it
# --------------------------------------------------------------------------

DERIVED = {  # notebook: (written grade id, exercise grade ids, lines of the answer)
    "04_tensor_backprop.ipynb": ("q5_derivation",
                                 ["q5_linear", "q5_sigmoid", "q5_softmax",
                                  "q5_cross_entropy", "q5_run_backward"],
                                 [r"h^\top \nabla_o", r"\nabla_o W_2^\top",
                                  r"x^\top \nabla_k", "np.diag", "np.outer"]),
    "05_batched_backprop.ipynb": ("q6_derivation",
                                  ["q6_linear", "q6_softmax", "q6_cross_entropy",
                                   "q6_fused", "q6_batched_backward"],
                                  [r"A^\top \nabla_O", r"\tfrac1N (Y - T)",
                                   r"\mathbf 1^\top \nabla_K", "sums over the batch",
                                   "bias gradient sums"]),
}


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_the_derivation_is_asked_before_the_exercise_and_never_shown(name):
    """The written derivation (graded by hand) comes before the exercises, and
    the workbook never shows its model answer: on a class hub that would hand
    over the points (the worked solution in notebooks/ holds it once)."""
    written, exercises_, give_aways = DERIVED[name]
    nb = nbformat.read(ROOT / "student" / name, as_version=4)
    ids = [grade_id(c) for c in nb.cells]
    ask = ids.index(written)
    assert nb.cells[ask].cell_type == "markdown"
    assert "**Your answer.**" in nb.cells[ask].source
    assert nb.cells[ask].metadata["nbgrader"]["points"] >= 1
    assert all(ask < ids.index(e) for e in exercises_)
    for index, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("solution") and \
                cell.cell_type == "code":
            continue  # the stubs the student fills in
        shown = [g for g in give_aways if g in cell.source]
        assert not shown, (name, index, shown)
    solutions = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    model = [grade_id(c) for c in solutions.cells if give_aways[0] in c.source]
    assert model == [written], "the worked solution holds the derivation once"


# --------------------------------------------------------------------------
# The student's own pairs and loop train 04, 05 and 06: counted calls
# --------------------------------------------------------------------------

STUB = re.compile(r"^( *)# YOUR CODE HERE\n\1raise NotImplementedError\(\)", re.M)
BEGIN_END = re.compile(r"^ *### (BEGIN|END) SOLUTION\n?", re.M)
COUNT = ("import builtins as _b; _b.CALLS = getattr(_b, 'CALLS', {{}});"
         " _b.CALLS[{name!r}] = _b.CALLS.get({name!r}, 0) + 1")
REPORT = ("import builtins, json;"
          " print('CALLS', json.dumps(getattr(builtins, 'CALLS', {})))")


def solved_workbook(name):
    """The student's workbook with the worked solutions typed into its stubs,
    each function's first line counting its calls in ``builtins.CALLS``."""
    bodies = [BEGIN_END.sub("", m.group(0)) for c in
              nbformat.read(ROOT / "notebooks" / name, as_version=4).cells
              if c.cell_type == "code" for m in REGION.finditer(c.source)]
    nb = nbformat.read(ROOT / "student" / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue

        def typed(m, source=cell.source):
            owner = re.findall(r"def (\w+)\(", source[:m.start()])[-1]
            body = bodies.pop(0)
            return m.group(1) + COUNT.format(name=owner) + "\n" + body.rstrip("\n")

        cell.source = STUB.sub(typed, cell.source)
    assert not bodies, f"{name}: {len(bodies)} solutions had no stub"
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    return nb


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solved")
    for name in NAMES:
        nbformat.write(solved_workbook(name), folder / name)
    return {name: execute(folder / name, timeout=900) for name in NAMES}


def calls(nb):
    import json
    line = [t for t in text_of(nb.cells[-1]).splitlines() if t.startswith("CALLS ")][0]
    return json.loads(line[len("CALLS "):])


def test_the_students_pairs_and_loop_train_04_05_06(solved):
    for name in NAMES:
        assert errors(solved[name]) == [], name
    c04, c05, c06 = (calls(solved[n]) for n in NAMES)
    print("04:", c04, "\n05:", c05, "\n06:", c06)
    # 04: 1,500 SGD steps, one instance each, through every pair and the loop
    for fn in ("run_backward", "softmax_backward", "cross_entropy_backward",
               "sigmoid_backward"):
        assert c04.get(fn, 0) >= 1500, (fn, c04)
    assert c04.get("linear_backward", 0) >= 2 * 1500
    # 05: the batched pairs, run by 04's loop (carried over), in the timings
    assert c05.get("batched_backward", 0) >= 5 * 2048
    assert c05.get("run_backward", 0) >= c05["batched_backward"]
    assert c05.get("softmax_cross_entropy_backward", 0) >= c05["batched_backward"]
    assert c05.get("linear_backward", 0) >= 2 * c05["batched_backward"]
    assert c05.get("softmax_backward", 0) >= 1     # the Jacobian path, compared
    # 06: its training loop calls the 05 function, built from the same pairs
    assert c06.get("minibatch_sgd", 0) >= 1
    assert c06.get("batched_backward", 0) >= 1000
    assert c06.get("run_backward", 0) >= c06["batched_backward"]
    assert c06.get("linear_backward", 0) >= 2 * c06["batched_backward"]
