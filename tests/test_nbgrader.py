"""nbgrader for real: valid metadata, and the instructor's loop end to end.

The loop is what an instructor does with nbgrader's standard commands, in a
course directory in a temporary folder: ``generate_assignment`` from
notebooks/, three submissions in ``submitted/`` (as ``nbgrader collect`` lays
them out) -- the unchanged release, the worked solutions, and the solutions
with one function's sign flipped in one notebook -- ``autograde``, the scores
from the gradebook, then ``generate_feedback`` and the wrong answer's diagnosis
in the feedback HTML.

It runs on two courses: a small one built here that follows
NOTEBOOK_CONVENTIONS.md (its checks live in the course's own ``minichecks``
module, named to the grader by ``--TrustedChecks.checks_module``), and the
real notebooks/ -- skipped, with the reason, while they have no graded check
cell, so it turns on by itself when they do.

``autograde`` here is the course's trusted grader (deploy/nbgrader_config.py,
coursenet.grading): each test cell is judged in a sandbox, so these loops
are skipped where the sandbox cannot run (tests/test_grading.py tries to cheat
it).
"""

from __future__ import annotations

import ast
import html
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader", reason="nbgrader is in the [dev] extra")
from nbgrader.api import Gradebook  # noqa: E402
from nbgrader.nbgraderformat import MetadataValidator  # noqa: E402
from nbgrader_notebooks import (  # noqa: E402
    code,
    make_student,
    markdown,
    meta,
    write_notebook,
)

from coursenet.grading import sandbox  # noqa: E402

NO_SANDBOX = sandbox.available()
needs_sandbox = pytest.mark.skipif(
    bool(NO_SANDBOX), reason=f"autograde runs the trusted grader: {NO_SANDBOX}")

ROOT = Path(__file__).resolve().parents[1]

SOLUTIONS = make_student.solution_notebooks(ROOT)
ASSIGNMENT = make_student.ASSIGNMENT
BEGIN = "### BEGIN SOLUTION"
# The notebooks before NOTEBOOK_CONVENTIONS.md (merged from the workbook
# helpers' branch) fail nbgrader's validator here; make these strict then.


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def graded_code_points(paths) -> float:
    """The code points of the notebooks at ``paths``: their graded code cells."""
    total = 0.0
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            meta = nbgrader_meta(cell)
            if cell.cell_type == "code" and meta.get("grade"):
                total += float(meta.get("points", 0))
    return total


# --- the metadata, with nbgrader's own validator ---------------------------------

@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_nbgrader_metadata_is_valid(path):
    MetadataValidator().validate_nb(nbformat.read(path, as_version=4))


def test_grade_ids_are_unique_across_the_course():
    seen = {}
    for path in SOLUTIONS:
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id:
                assert grade_id not in seen, (
                    f"grade id {grade_id!r} is in {seen[grade_id]} and {path.name}")
                seen[grade_id] = path.name


CONVENTIONS_PENDING = graded_code_points(SOLUTIONS) == 0


def _stub_raises_outside_a_function(source: str) -> list[int]:
    """Line numbers of ``raise NotImplementedError`` not inside a def."""
    tree = ast.parse(source)
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside |= {n.lineno for n in ast.walk(node) if hasattr(n, "lineno")}
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Raise) and "NotImplementedError"
            in ast.unparse(node) and node.lineno not in inside]


@pytest.mark.xfail(CONVENTIONS_PENDING, strict=False,
                   reason="notebooks/ predate NOTEBOOK_CONVENTIONS.md (no graded"
                   " check cell yet)")
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_exercise_has_a_locked_graded_check_and_stubs_in_functions(path):
    """Convention 1-2: each exercise's answer sits in a function body (the
    release's stub raises only when called) and the next cell is a locked,
    graded autograder test cell with points."""
    cells = nbformat.read(path, as_version=4).cells
    for index, cell in enumerate(cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        stubbed, _ = _strip(cell.source)
        assert not _stub_raises_outside_a_function(stubbed), (
            f"{path.name}, {meta['grade_id']}: a solution region outside a function"
            " body; the student's stub would raise when the cell runs")
        check = cells[index + 1] if index + 1 < len(cells) else None
        check_meta = nbgrader_meta(check) if check is not None else {}
        assert check is not None and check.cell_type == "code" \
            and check_meta.get("grade") and check_meta.get("locked") \
            and not check_meta.get("solution") and check_meta.get("points", 0) > 0, (
                f"{path.name}, {meta['grade_id']}: the next cell must be a locked,"
                " graded test cell with points")


def _strip(source):
    """The source with each solution region replaced by nbgrader's stub."""
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + "# YOUR CODE HERE", indent + "raise NotImplementedError()"]
        elif line.strip() == "### END SOLUTION":
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out), inside


# --- a small course that follows the conventions ------------------------------------

MINICHECKS = '''\
"""Checks for the small test course, made like coursenet.exercises: print one
line and return whether the check passed; under nbgrader (NBGRADER_EXECUTION is
autograde or validate) a check that did not pass raises AssertionError."""
import os


def _report(ok, line):
    print(line)
    if not ok and os.environ.get("NBGRADER_EXECUTION") in ("autograde", "validate"):
        raise AssertionError(line)
    return ok


def check_double(double, x=3):
    try:
        got = double(x)
    except NotImplementedError:
        return _report(False, "double: not implemented yet")
    if got == 2 * x:
        return _report(True, f"✓ double({x}) = {got}")
    if got == -2 * x:
        return _report(False, f"✗ double({x}) gave {got}, expected {2 * x}: looks"
                       " like a sign flip; check the sign of what you return")
    return _report(False, f"✗ double({x}) gave {got}, expected {2 * x}")


def check_square(square, x=3):
    try:
        got = square(x)
    except NotImplementedError:
        return _report(False, "square: not implemented yet")
    return _report(got == x * x, f"{'✓' if got == x * x else '✗'} square({x}) = {got}")
'''

FIXTURE_DIAGNOSIS = ("✗ double(3) gave -6, expected 6: looks like a sign flip;"
                     " check the sign of what you return")


def small_course_notebooks(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    (folder / "minichecks.py").write_text(MINICHECKS, encoding="utf-8")
    write_notebook(
        folder / "01_double.ipynb",
        markdown("# 01 · Double"),
        code("import minichecks"),
        code("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
             "    ### END SOLUTION", **meta("q1_double", solution=True)),
        code("minichecks.check_double(double)\n### BEGIN HIDDEN TESTS\n"
             "minichecks.check_double(double, x=-7)\n### END HIDDEN TESTS",
             **meta("q1_double_check", grade=True, locked=True, points=2)),
        markdown("Doubling is linear, so the derivative is 2.",
                 **meta("q1_why", solution=True, grade=True, points=1)),
        kernelspec=True)
    write_notebook(
        folder / "02_square.ipynb",
        markdown("# 02 · Square"),
        code("import minichecks"),
        code("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n"
             "    ### END SOLUTION", **meta("q2_square", solution=True)),
        code("minichecks.check_square(square)",
             **meta("q2_square_check", grade=True, locked=True, points=1)),
        kernelspec=True)
    return sorted(folder.glob("*.ipynb"))


# --- the wrong answer: one function's result with its sign flipped ------------------

NEGATE = '''

# (the test's wrong answer) the sign of {name}'s result flipped
def _negated(value):
    if isinstance(value, dict):
        return {{key: _negated(item) for key, item in value.items()}}
    if isinstance(value, (list, tuple)):
        return type(value)(_negated(item) for item in value)
    return -value


_{name}_as_written = {name}


def {name}(*args, **kwargs):
    return _negated(_{name}_as_written(*args, **kwargs))
'''


def flip_sign(path: Path, prefer: str) -> str:
    """Flip the sign of one exercise function's result in the notebook at
    ``path`` (``prefer`` if an exercise defines it, else the first exercise
    function); return the grade id of that exercise's check cell."""
    nb = nbformat.read(path, as_version=4)
    exercises = [(index, cell) for index, cell in enumerate(nb.cells)
                 if cell.cell_type == "code" and nbgrader_meta(cell).get("solution")]
    assert exercises, f"{path.name} has no exercise cell"
    for index, cell in exercises:  # noqa: B007 (used after the break)
        names = [node.name for node in ast.parse(cell.source).body
                 if isinstance(node, ast.FunctionDef)]
        if prefer in names:
            break
    else:
        index, cell = exercises[0]
        names = [node.name for node in ast.parse(cell.source).body
                 if isinstance(node, ast.FunctionDef)]
        assert names, f"{path.name}: the first exercise defines no function"
        prefer = names[0]
    cell.source += NEGATE.format(name=prefer)
    nbformat.write(nb, path)
    return nbgrader_meta(nb.cells[index + 1]).get("grade_id")


# --- the loop --------------------------------------------------------------------

def run_loop(tmp: Path, notebooks: list[Path], wrong: str, prefer: str,
             extra_files=(), autograde_args=()):
    """generate, three submissions, autograde, feedback; returns what it saw."""
    scratch = tmp / "scratch"
    scratch.mkdir()
    course = make_student.make_course(tmp / "course", notebooks)
    for extra in extra_files:
        shutil.copyfile(extra, course / "source" / ASSIGNMENT / extra.name)
    times = {}

    def step(name, args, timeout=1800):
        start = time.perf_counter()
        make_student.nbgrader(args, course, scratch, timeout=timeout)
        times[name] = time.perf_counter() - start

    step("generate_assignment", ["generate_assignment", ASSIGNMENT, "--force"])
    release = course / "release" / ASSIGNMENT
    source = course / "source" / ASSIGNMENT
    submissions = {"unchanged": release, "solutions": source, "wrong": source}
    for student, origin in submissions.items():
        folder = course / "submitted" / student / ASSIGNMENT
        shutil.copytree(origin, folder)
        # a student's files come from the release; only notebooks are theirs
        for extra in release.iterdir():
            if extra.suffix != ".ipynb":
                shutil.copyfile(extra, folder / extra.name)
        (folder / "timestamp.txt").write_text("2026-11-28 09:00:00 UTC")
    check_id = flip_sign(course / "submitted" / "wrong" / ASSIGNMENT / wrong, prefer)
    step("autograde", ["autograde", ASSIGNMENT, "--force", *autograde_args])
    step("generate_feedback", ["generate_feedback", ASSIGNMENT, "--force"])

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {}
        for student in submissions:
            sub = gb.find_submission(ASSIGNMENT, student)
            scores[student] = (sub.score, sub.code_score, sub.max_code_score)
    autograded = nbformat.read(
        course / "autograded" / "wrong" / ASSIGNMENT / wrong, as_version=4)
    errors = [out for cell in autograded.cells
              if nbgrader_meta(cell).get("grade_id") == check_id
              for out in cell.get("outputs", []) if out.output_type == "error"]
    feedback = (course / "feedback" / "wrong" / ASSIGNMENT
                / wrong.replace(".ipynb", ".html")).read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", feedback))
    return scores, errors, text, times


def assert_loop(scores, errors, text, expected_points):
    unchanged, solutions, wrong = (scores[s] for s in ("unchanged", "solutions",
                                                       "wrong"))
    assert solutions[2] == expected_points  # every graded code cell counted
    assert unchanged[0] == 0 and unchanged[1] == 0, scores
    assert solutions[1] == expected_points, scores  # every code point
    assert 0 < wrong[1] < expected_points, scores
    assert errors and errors[0].ename == "AssertionError", errors
    diagnosis = errors[0].evalue.strip()
    assert diagnosis and "not implemented" not in diagnosis, diagnosis
    assert diagnosis in text, "the feedback does not show the check's diagnosis"
    return diagnosis


@needs_sandbox
def test_instructor_loop_on_a_small_course(tmp_path):
    notebooks = small_course_notebooks(tmp_path / "notebooks")
    scores, errors, text, times = run_loop(
        tmp_path, notebooks, "01_double.ipynb", "double",
        extra_files=[tmp_path / "notebooks" / "minichecks.py"],
        autograde_args=["--TrustedChecks.checks_module=minichecks"])
    print("nbgrader times (s):", {k: round(v, 1) for k, v in times.items()},
          "scores (score, code, max code):", scores)
    assert assert_loop(scores, errors, text, 3.0) == FIXTURE_DIAGNOSIS
    # the written answer (1 point) waits for the instructor: not in code_score
    assert scores["solutions"][0] == 3.0


# Autograding all six notebooks for three submissions took 520 s on this
# project's two shared cores (the graded checks, 28 November 2026;
# README's instructors section), too long for every `make test`: it grades
# notebooks 01-02 (a notebook only carries code forward from earlier ones, and
# the wrong answer is in 02). COURSENET_TEST_NBGRADER_ALL=1 grades all six.
ALL_SIX = os.environ.get("COURSENET_TEST_NBGRADER_ALL", "").strip().lower() in (
    "1", "true", "yes", "on")
LOOP_NOTEBOOKS = SOLUTIONS if ALL_SIX else SOLUTIONS[:2]


@needs_sandbox
@pytest.mark.skipif(graded_code_points(LOOP_NOTEBOOKS) == 0,
                    reason="notebooks/ have no graded check cell yet"
                    " (NOTEBOOK_CONVENTIONS.md); the loop on them turns on by itself"
                    " when they do")
def test_instructor_loop_on_the_course_notebooks(tmp_path):
    scores, errors, text, times = run_loop(
        tmp_path, LOOP_NOTEBOOKS, "02_scalar_backprop.ipynb", "loss_grad")
    print(f"{len(LOOP_NOTEBOOKS)} notebooks; nbgrader times (s):",
          {k: round(v, 1) for k, v in times.items()},
          "scores (score, code, max code):", scores)
    assert_loop(scores, errors, text, graded_code_points(LOOP_NOTEBOOKS))
