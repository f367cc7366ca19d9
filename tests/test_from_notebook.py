"""from_notebook: carries the helpers a notebook defines, tells "written, but
fails" from "not written yet", bounds the run in time, and turns malformed
files into one line (never a traceback)."""

import json
import os
import sys
import time

import numpy as np
import pytest

from coursenet import exercises


def notebook(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def code(source, solution=False):
    meta = {"nbgrader": {"solution": True, "grade": False, "grade_id": "x",
                         "locked": False, "schema_version": 3}} if solution else {}
    return {"cell_type": "code", "source": source, "metadata": meta,
            "outputs": [], "execution_count": None}


def write(folder, name, *cells):
    (folder / name).write_text(json.dumps(notebook(list(cells))))


def test_helpers_defined_in_their_own_cells_are_carried(tmp_path, capsys):
    write(tmp_path, "a.ipynb",
          code("import math"),
          code('def helper(x):\n    """a course helper"""\n    return 2 * x'),
          code("RESULT = helper(3)\nprint('a side effect')"),  # not a definition
          code("def forward(x):\n    return helper(x) + math.pi", solution=True))
    forward = exercises.from_notebook("a.ipynb", "forward", folder=tmp_path)
    assert forward(1.0) == pytest.approx(2 + np.pi)
    out = capsys.readouterr().out
    assert out.startswith("Using your `forward` from a.ipynb")
    assert "side effect" not in out


def test_code_carried_from_a_third_notebook_comes_along(tmp_path, capsys):
    write(tmp_path, "a.ipynb", code("def double(x):\n    return 2 * x", solution=True))
    write(tmp_path, "b.ipynb",
          code("from coursenet import exercises"),
          code("double = exercises.from_notebook('a.ipynb', 'double')"),
          code("def quadruple(x):\n    return double(double(x))", solution=True))
    # the nested call reads a.ipynb from b.ipynb's folder, not the current one
    assert os.getcwd() != str(tmp_path)
    quadruple = exercises.from_notebook("b.ipynb", "quadruple", folder=tmp_path)
    assert quadruple(1) == 4
    out = capsys.readouterr().out
    assert "`double` from a.ipynb" in out and "`quadruple` from b.ipynb" in out


def test_a_loop_of_notebooks_is_reported(tmp_path, capsys):
    write(tmp_path, "a.ipynb", code("from coursenet import exercises"),
          code("f = exercises.from_notebook('a.ipynb', 'f')"))
    exercises.from_notebook("a.ipynb", "f", folder=tmp_path)
    assert "carries code from itself" in capsys.readouterr().out


def test_written_but_failing_is_not_called_unwritten(tmp_path, capsys):
    write(tmp_path, "a.ipynb",
          code("x = undefined_name\ndef forward(x):\n    return x", solution=True),
          code("def backward(x):\n    return x / 0", solution=True),
          code("def stub(x):\n    raise NotImplementedError()", solution=True))
    forward, backward, stub = exercises.from_notebook(
        "a.ipynb", "forward", "backward", "stub", folder=tmp_path)
    capsys.readouterr()
    with exercises.needs_your_code() as block:
        forward(1)
    out = capsys.readouterr().out
    assert block.skipped == "forward"
    assert "`forward` from a.ipynb is written, but fails there: cell 0 raised" \
        " NameError" in out and "not written yet" not in out
    with exercises.needs_your_code():
        backward(1.0)
    out = capsys.readouterr().out
    assert "`backward` from a.ipynb is written, but fails here:" \
        " ZeroDivisionError" in out
    assert "line 2 of backward" in out and "Traceback" not in out
    with exercises.needs_your_code() as block:
        stub(1)
    assert "`stub` (in a.ipynb) is not written yet" in capsys.readouterr().out


def test_a_function_of_this_notebook_that_raises_inside_carried_code_is_named(
        tmp_path, capsys):
    # 05 hands its own layers to 04's run_forward: when one of them raises, the
    # fault is here, not in the carried notebook (seen in a student's Run All)
    write(tmp_path, "a.ipynb",
          code("def run_forward(layers, x):\n    for f in layers:\n"
               "        x = f(x)\n    return x", solution=True))
    run_forward = exercises.from_notebook("a.ipynb", "run_forward", folder=tmp_path)
    capsys.readouterr()
    namespace = {}
    exec(compile("def softmax_forward(o):\n    return o / o.sum(axis=1)\n",
                 "/tmp/ipykernel_1/cell.py", "exec"), namespace)
    with exercises.needs_your_code() as block:
        run_forward([namespace["softmax_forward"]], np.ones((8, 4)))
    out = capsys.readouterr().out
    assert block.skipped == "softmax_forward"
    assert "your `softmax_forward` (in this notebook) raised ValueError" in out
    assert "when `run_forward` from a.ipynb called it" in out
    assert "Fix it there" not in out and "Traceback" not in out


def test_an_endless_cell_is_stopped_and_named(tmp_path, capsys):
    write(tmp_path, "a.ipynb",
          code("def forward(x):\n    return x", solution=True),
          code("def train():\n    while True:\n        pass\n\ntrain()",
               solution=True))
    forward = exercises.from_notebook("a.ipynb", "forward", folder=tmp_path,
                                      timeout=0.5)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "cell 1 ran for more than 0.5 s and was stopped in `train` (line" \
        in out, out
    assert forward(3) == 3  # defined before the endless cell
    # nothing stray arrives afterwards (a pending stop would surface in a loop)
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:
        pass


def test_an_endless_cell_in_a_nested_notebook_is_named_once(tmp_path, capsys):
    write(tmp_path, "a.ipynb", code("while True:\n    pass", solution=True))
    write(tmp_path, "b.ipynb", code("from coursenet import exercises"),
          code("f = exercises.from_notebook('a.ipynb', 'f')"),
          code("def g(x):\n    return x", solution=True))
    g = exercises.from_notebook("b.ipynb", "g", folder=tmp_path, timeout=0.5)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("⚠ `g` from b.ipynb:"), out
    assert "cell 0 ran for more than 0.5 s" in out
    with exercises.needs_your_code() as block:
        g(1)
    assert block.skipped == "g"


def test_an_endless_loop_that_catches_exceptions_is_stopped(tmp_path, capsys):
    write(tmp_path, "a.ipynb", code(
        "import time\nwhile True:\n    try:\n        time.sleep(0.01)\n"
        "    except Exception:\n        pass", solution=True))
    exercises.from_notebook("a.ipynb", "f", folder=tmp_path, timeout=0.5)
    assert "cell 0 ran for more than 0.5 s" in capsys.readouterr().out


def test_an_endless_function_in_a_carried_notebook_does_not_hang_here(tmp_path,
                                                                     capsys):
    """Only running the notebook's cells is bounded: calling the function later
    is the caller's business (a check or a training cell)."""
    write(tmp_path, "a.ipynb",
          code("def slow(x):\n    return x", solution=True))
    assert exercises.from_notebook("a.ipynb", "slow", folder=tmp_path)(2) == 2


@pytest.mark.parametrize("content, words", [
    ("{not json", "cannot read a.ipynb (JSONDecodeError"),
    ("[1, 2, 3]", "it is not a notebook"),
    ('{"cells": 5}', "it is not a notebook"),
    ("[" * 100000 + "]" * 100000, "cannot read a.ipynb (RecursionError"),
    (json.dumps(notebook([{"cell_type": "code", "source": 5, "metadata": []},
                          "not a cell"])), "no function `f`"),
])
def test_malformed_notebooks_give_one_line(tmp_path, capsys, content, words):
    (tmp_path / "a.ipynb").write_text(content)
    f = exercises.from_notebook("a.ipynb", "f", folder=tmp_path)
    out = capsys.readouterr().out
    assert out.startswith("⚠ `f` from a.ipynb:") and words in out, out
    assert out.count("\n") == 1
    with exercises.needs_your_code() as block:
        f()
    assert block.skipped == "f"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_not_opened(tmp_path, capsys):
    os.mkfifo(tmp_path / "a.ipynb")   # open() on it would block forever
    exercises.from_notebook("a.ipynb", "f", folder=tmp_path)
    assert "it is not a regular file" in capsys.readouterr().out


def test_a_cell_with_endless_recursion_is_reported(tmp_path, capsys):
    write(tmp_path, "a.ipynb",
          code("def f(x):\n    return f(x)\nf(1)", solution=True))
    f = exercises.from_notebook("a.ipynb", "f", folder=tmp_path)
    out = capsys.readouterr().out
    assert "cell 0 raised RecursionError" in out
    with exercises.needs_your_code():
        f(1)
    assert "written, but fails here: RecursionError" in capsys.readouterr().out
    assert sys.getrecursionlimit() >= 1000


def test_stop_if_not_finite_ends_the_block_in_one_line(capsys):
    grads = {"W1": np.array([[1.0, np.nan]]), "b1": np.zeros(2)}
    with exercises.needs_your_code() as block:
        exercises.stop_if_not_finite({"loss": 0.3, **grads}, "run_backward",
                                     "at step 12 of the training")
        raise AssertionError("not reached")
    out = capsys.readouterr().out
    assert out.startswith("■ stopped: your `run_backward` returned nan or inf in"
                          " 'W1' (1 of 2 entries) at step 12 of the training")
    assert out.count("\n") == 1 and block.skipped
    exercises.stop_if_not_finite({"W1": np.ones(3)}, "f", "here")  # finite: nothing
