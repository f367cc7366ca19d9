"""The workbook's helpers: skipping cells that need unfinished code, carrying a
student's functions between notebooks, and grading under nbgrader."""

import json

import numpy as np
import pytest

from coursenet import exercises


def stub(*args):
    raise NotImplementedError()


def outer():
    return stub() + 1


def test_needs_your_code_skips_and_names_the_innermost_stub(capsys):
    ran_after = []
    with exercises.needs_your_code() as block:
        outer()
        ran_after.append(True)
    assert ran_after == []
    assert block.skipped == "stub"
    out = capsys.readouterr().out
    assert out.startswith("⏸ skipped: `stub` is not written yet")


def test_needs_your_code_lets_other_errors_through_and_runs_finished_code(capsys):
    with pytest.raises(ZeroDivisionError):
        with exercises.needs_your_code():
            raise ZeroDivisionError
    with exercises.needs_your_code() as block:
        value = 41 + 1
    assert value == 42 and block.skipped is None
    assert capsys.readouterr().out == ""


def test_a_check_names_the_innermost_stub(capsys):
    def loss_grad(y, c):
        return helper(y, c)

    def helper(y, c):
        raise NotImplementedError()

    result = exercises.check_loss_grad(loss_grad)
    assert result.status == "todo"
    assert result.message.startswith("… helper is not implemented yet")


def notebook(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def code(source, solution=False):
    meta = {"nbgrader": {"solution": True, "grade": False, "grade_id": "x",
                         "locked": False, "schema_version": 3}} if solution else {}
    return {"cell_type": "code", "source": source, "metadata": meta,
            "outputs": [], "execution_count": None}


def test_from_notebook_runs_import_and_exercise_cells_only(tmp_path, capsys):
    nb = notebook([
        code("import math"),
        code("print('side effect')\nraise RuntimeError('not an exercise cell')"),
        code("def forward(x):\n    return math.exp(x)", solution=True),
        code("def backward(x):\n    raise NotImplementedError()", solution=True),
    ])
    (tmp_path / "02.ipynb").write_text(json.dumps(nb))
    forward, backward = exercises.from_notebook("02.ipynb", "forward", "backward",
                                                folder=tmp_path)
    assert forward(0.0) == 1.0
    out = capsys.readouterr().out
    assert out.startswith("Using your `forward`, `backward` from 02.ipynb")
    assert "side effect" not in out
    with exercises.needs_your_code() as block:
        backward(1.0)
    assert block.skipped == "backward"
    assert "`backward` (in 02.ipynb) is not written yet" in capsys.readouterr().out


def test_from_notebook_reports_a_missing_file_or_name_in_one_line(tmp_path, capsys):
    fn = exercises.from_notebook("nope.ipynb", "forward", folder=tmp_path)
    out = capsys.readouterr().out
    assert out.startswith("⚠ `forward` from nope.ipynb: cannot read nope.ipynb")
    with exercises.needs_your_code() as block:
        fn(1)
    assert block.skipped == "forward"
    (tmp_path / "a.ipynb").write_text(json.dumps(notebook([
        code("def f():\n    return 1", solution=True),
        code("1/0", solution=True)])))
    f, g = exercises.from_notebook("a.ipynb", "f", "g", folder=tmp_path)
    out = capsys.readouterr().out
    assert "cell 1 raised ZeroDivisionError" in out
    assert "no function `g`" in out
    assert f() == 1
    with pytest.raises(TypeError, match="names"):
        exercises.from_notebook("a.ipynb", folder=tmp_path)


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_under_nbgrader_a_check_that_does_not_pass_raises(monkeypatch, mode):
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    with pytest.raises(AssertionError, match="not implemented yet"):
        exercises.check_loss_grad(stub)
    with pytest.raises(AssertionError, match="wrong sign"):
        exercises.check_loss_grad(lambda y, c: (1.0 / y) * (np.arange(len(y)) == c))
    def right(y, c):
        g = np.zeros_like(y)
        g[c] = -1 / y[c]
        return g

    assert exercises.check_loss_grad(right)


def test_in_a_students_session_a_failing_check_does_not_raise(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not exercises.check_loss_grad(stub)
