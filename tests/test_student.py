"""The student edition: generated from the solutions, in sync, leak-free, runnable.

``scripts/make_student.py`` turns ``notebooks/NN_*.ipynb`` (worked solutions with
nbgrader's solution markers) into ``student/NN_*.ipynb`` (the workbook).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location(
    "make_student", ROOT / "scripts" / "make_student.py")
make_student = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(make_student)

SOLUTIONS = make_student.solution_notebooks(ROOT)
CHECK_CALL = re.compile(r"\bexercises\.(check_\w+)\(")
CONTRACT = {"check_loss_grad", "check_softmax_jacobian", "check_logit_grad",
            "check_scalar_network", "check_sgd_step", "check_vector_backward",
            "check_batched_backward"}


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index}"
    return nb


def solution_meta(grade_id="q"):
    return {"nbgrader": {"grade": False, "grade_id": grade_id, "locked": False,
                         "schema_version": 3, "solution": True, "task": False}}


def code(source, **metadata):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata.update(metadata)
    return cell


def markdown(source, **metadata):
    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata.update(metadata)
    return cell


# --- the generator on small notebooks --------------------------------------

EXERCISE = '''\
import math


def loss_grad(y, c):
    """dl/dy."""
    ### BEGIN SOLUTION
    grad = [0.0] * len(y)
    grad[c] = -1.0 / y[c]
    return grad
    ### END SOLUTION


def twice(v):
    ### BEGIN SOLUTION
    return 2 * v
    ### END SOLUTION


print(math.pi)'''


def test_code_regions_become_stubs_at_their_indentation():
    cell = code(EXERCISE, **solution_meta())
    cell.outputs = [nbformat.v4.new_output("stream", text="old output")]
    cell.execution_count = 3
    out = make_student.make_student(notebook(cell), "x.ipynb").cells[0]
    assert out.source.splitlines() == [
        "import math", "", "", "def loss_grad(y, c):", '    """dl/dy."""',
        "    # YOUR CODE HERE", "    raise NotImplementedError()", "", "",
        "def twice(v):", "    # YOUR CODE HERE", "    raise NotImplementedError()",
        "", "", "print(math.pi)"]
    assert out.outputs == [] and out.execution_count is None
    compile(out.source, "student", "exec")  # still valid Python
    namespace = {}
    exec(out.source.replace("print(math.pi)", ""), namespace)
    with pytest.raises(NotImplementedError):
        namespace["loss_grad"]([0.5, 0.5], 0)


@pytest.mark.parametrize("source, words", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside an open"),
])
def test_unbalanced_markers_are_a_clear_error(source, words):
    with pytest.raises(make_student.SolutionMarkerError, match=words) as info:
        make_student.make_student(notebook(markdown("# t"), code(source)), "n.ipynb")
    assert "n.ipynb, cell 1" in str(info.value)


def test_written_and_computed_answers_become_prompts():
    derivation = markdown("$dl/dy_c = -1/y_c$", **solution_meta("q1_derivation"))
    computed = code("### BEGIN SOLUTION\nshow_answer(gap)\n### END SOLUTION",
                    tags=["answer", "nbval-ignore-output"],
                    jupyter={"source_hidden": True}, **solution_meta("q7_gap"))
    lesson = markdown("Some lesson text.")
    checked = code("exercises.check_loss_grad(loss_grad)",
                   tags=["nbval-check-output"])
    student = make_student.make_student(
        notebook(markdown("# Title"), derivation, computed, lesson, checked),
        "01_x.ipynb")
    title, banner, written, prompt, kept_lesson, kept_check = student.cells
    assert banner.id == make_student.BANNER_ID and "01_x.ipynb" in banner.source
    assert written.source == make_student.ANSWER_PROMPT
    assert written.metadata["nbgrader"]["grade_id"] == "q1_derivation"
    assert prompt.cell_type == "markdown" and prompt.id == "cell-2"
    assert prompt.source == make_student.ANSWER_PROMPT
    assert prompt.metadata["nbgrader"]["grade_id"] == "q7_gap"
    assert kept_lesson.source == "Some lesson text." and title.source == "# Title"
    assert "tags" not in kept_check.metadata  # nbval's tags are for the solutions
    assert kept_check.source == "exercises.check_loss_grad(loss_grad)"


def test_generation_is_deterministic():
    path = SOLUTIONS[0]
    assert make_student.render(path) == make_student.render(path)


# --- the real notebooks -----------------------------------------------------

def regions(nb):
    """Every line inside a solution region, and every line of a solution cell."""
    secret = []
    for cell in nb.cells:
        if make_student.is_answer(cell) or (
                cell.cell_type == "markdown" and make_student.is_solution(cell)):
            secret += cell.source.splitlines()
            continue
        if cell.cell_type != "code":
            continue
        inside = False
        for line in cell.source.splitlines():
            if line.strip() == make_student.BEGIN:
                inside = True
            elif line.strip() == make_student.END:
                inside = False
            elif inside:
                secret.append(line)
    return secret


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_student_edition_is_in_sync(path):
    target = ROOT / "student" / path.name
    assert target.exists(), f"student/{path.name} is missing: run `make student`"
    assert target.read_text(encoding="utf-8") == make_student.render(path), (
        f"student/{path.name} is out of date with notebooks/{path.name}:"
        " run `make student`")


def test_student_folder_holds_only_generated_notebooks():
    assert sorted(p.name for p in (ROOT / "student").glob("*.ipynb")) == \
        sorted(p.name for p in SOLUTIONS)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_student_edition_leaks_no_solution_line(path):
    solution = nbformat.read(path, as_version=4)
    student = nbformat.read(ROOT / "student" / path.name, as_version=4)
    secret = {line.strip() for line in regions(solution)}
    # a line that the lesson also shows outside the solutions is no secret
    # (e.g. a "spot the bug" cell shares most lines with the fix)
    public = set()
    for cell in solution.cells:
        if cell.cell_type == "code" and not make_student.is_answer(cell):
            public |= {line.strip()
                       for line in make_student.strip_solution(cell.source)[0]
                       .splitlines()}
        elif cell.cell_type == "markdown" and not make_student.is_solution(cell):
            public |= {line.strip() for line in cell.source.splitlines()}
    secret = {line for line in secret - public
              if len(line) >= 8 and not line.startswith("#")}
    assert secret, f"{path.name}: no solution lines found"
    shown = {line.strip() for cell in student.cells
             for line in cell.source.splitlines()}
    assert not secret & shown, f"student/{path.name} shows {sorted(secret & shown)}"
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_every_exercise_is_followed_by_its_check():
    used = set()
    for path in SOLUTIONS:
        cells = nbformat.read(path, as_version=4).cells
        exercises = sum(make_student.is_solution(cell) for cell in cells)
        for index, cell in enumerate(cells):
            used |= set(CHECK_CALL.findall(cell.source))
            if cell.cell_type != "code" or make_student.is_answer(cell) \
                    or make_student.BEGIN not in cell.source:
                continue
            following = cells[index + 1] if index + 1 < len(cells) else None
            assert following is not None and following.cell_type == "code" \
                and CHECK_CALL.search(following.source), (
                    f"{path.name}, cell {index}: an exercise must be followed at"
                    " once by its `exercises.check_...` cell")
            assert make_student.is_solution(cell), (
                f"{path.name}, cell {index}: an exercise cell needs nbgrader's"
                " solution metadata")
        assert exercises, f"{path.name} has no exercise"
    assert CONTRACT <= used, f"no notebook uses {sorted(CONTRACT - used)}"


def first_check(cells):
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and CHECK_CALL.search(cell.source):
            return index
    return None


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_unfinished_student_notebook_reaches_its_first_check(path):
    """Run as a student who has written nothing: no traceback before the first
    check, and the check says "not implemented yet". A notebook whose exercises
    are all written answers (06) runs to the end."""
    from nbclient import NotebookClient

    student_path = ROOT / "student" / path.name
    nb = nbformat.read(student_path, as_version=4)
    stop = first_check(nb.cells)
    if stop is None:
        stop = len(nb.cells) - 1
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(student_path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells[:stop + 1]):
            client.execute_cell(cell, index)  # raises on any error
    if first_check(nb.cells) is None:
        return
    text = "".join(out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
                   for out in nb.cells[stop].outputs)
    assert "not implemented yet" in text, text


def test_regeneration_keeps_a_students_work():
    """A fresh copy may be replaced; a run or edited one is the student's work."""
    solution = notebook(markdown("# t"), code(EXERCISE, **solution_meta()),
                        markdown("why?", **solution_meta("q_why")))
    fresh = nbformat.writes(make_student.make_student(solution, "t.ipynb"))
    assert not make_student.shows_work(fresh, fresh)

    ran = nbformat.reads(fresh, as_version=4)
    ran.cells[2].execution_count = 1
    assert make_student.shows_work(nbformat.writes(ran), fresh)

    coded = nbformat.reads(fresh, as_version=4)
    coded.cells[2].source = coded.cells[2].source.replace(
        "raise NotImplementedError()", "return 2 * v", 1)
    assert make_student.shows_work(nbformat.writes(coded), fresh)

    written = nbformat.reads(fresh, as_version=4)
    written.cells[3].source = "Because the loss depends on y_c only."
    assert make_student.shows_work(nbformat.writes(written), fresh)
