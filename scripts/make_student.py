"""Generate the student workbook (student/) from the worked solutions (notebooks/).

    python scripts/make_student.py            # write student/NN_*.ipynb
    python scripts/make_student.py --check    # exit 1 if student/ is out of date
    python scripts/make_student.py --force    # also overwrite edited student files

The solution notebooks mark the exercises with nbgrader's conventions, so an
instructor who uses nbgrader can take them as they are:

- code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
  ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` at the same indentation
  (the ``def`` line and the docstring around the region stay);
- a markdown cell whose metadata says ``nbgrader.solution`` (a written answer,
  such as a derivation) becomes an empty answer prompt;
- a code cell tagged ``answer`` (a model answer computed from the outputs above
  it) becomes a markdown answer prompt, since the student writes that answer.

A student notebook that shows a student's work (a cell's output or execution
count, or fewer stubs and answer prompts than a fresh copy) is never
overwritten without ``--force``.

Everything else is kept; outputs and execution counts are cleared and a short
banner says how to work through the notebook. The output depends only on the
input (no dates, no random ids), so ``--check`` can compare files byte for byte.

Why not nbgrader's own ``ClearSolutions`` preprocessor: nbgrader brings its
JupyterLab extensions into the environment the students open, and it cannot
turn a computed answer cell into a written-answer prompt. The rules above are
the subset of nbgrader's that the course uses.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_PROMPT = ("**Your answer.** *Double-click this cell, replace this line with"
                 " your answer, then press Shift+Enter.*")
BANNER_ID = "student-edition-banner"


def banner(name: str, has_code: bool) -> str:
    if has_code:
        how = ("Write your code where a cell says `# YOUR CODE HERE` (delete the"
               " `raise NotImplementedError()` line), then run the check cell right"
               " below it: it prints ✓, or ✗ with what looks wrong and where to"
               " look. Cells marked **Your answer** are for your own words and"
               " derivations.")
    else:
        how = ("The exercises here are written answers: run the notebook top to"
               " bottom, then write what the outputs show in the cells marked"
               " **Your answer**.")
    return (
        f"> **Student edition** of `notebooks/{name}`, generated from the worked"
        f" solution by `scripts/make_student.py`.\n> {how} Stuck? The worked"
        f" solution is `notebooks/{name}`."
    )


class SolutionMarkerError(ValueError):
    """A solution region is opened but not closed, or closed but not opened."""


def strip_solution(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace every solution region of ``source``; return the text and the count."""
    out, inside, regions = [], False, 0
    for number, line in enumerate(source.splitlines(), 1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise SolutionMarkerError(
                    f"{where}, line {number}: {BEGIN!r} inside an open region")
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + stub for stub in CODE_STUB)
            inside, regions = True, regions + 1
        elif marker == END:
            if not inside:
                raise SolutionMarkerError(
                    f"{where}, line {number}: {END!r} without {BEGIN!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionMarkerError(f"{where}: {BEGIN!r} is never closed by {END!r}")
    return "\n".join(out), regions


def is_solution(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution", False))


def is_answer(cell) -> bool:
    return cell.cell_type == "code" and "answer" in cell.metadata.get("tags", [])


def answer_prompt(cell):
    """A markdown written-answer cell in place of ``cell`` (same id and grade id)."""
    prompt = nbformat.v4.new_markdown_cell(ANSWER_PROMPT)
    prompt.id = cell.id
    nbgrader = dict(cell.metadata.get("nbgrader", {}), solution=True, grade=False)
    prompt.metadata = {"nbgrader": nbgrader}
    return prompt


def student_cell(cell, where: str):
    cell = copy.deepcopy(cell)
    tags = [t for t in cell.metadata.get("tags", []) if not t.startswith("nbval-")]
    if tags:
        cell.metadata["tags"] = tags
    else:
        cell.metadata.pop("tags", None)
    cell.metadata.pop("execution", None)
    if is_answer(cell):
        return answer_prompt(cell)
    if cell.cell_type == "markdown" and is_solution(cell):
        cell.source = ANSWER_PROMPT
    elif cell.cell_type == "code":
        cell.source, regions = strip_solution(cell.source, where)
        if regions:  # nbgrader's marking of a cell it changed
            cell.metadata.setdefault("nbgrader", {})["solution"] = True
        cell.outputs = []
        cell.execution_count = None
    return cell


def make_student(nb, name: str):
    """The student edition of the solution notebook ``nb`` (a new notebook)."""
    student = copy.deepcopy(nb)
    student.metadata.pop("widgets", None)
    student.cells = [
        student_cell(cell, f"{name}, cell {index}")
        for index, cell in enumerate(nb.cells)
    ]
    has_code = any(cell.cell_type == "code" and not is_answer(cell)
                   and BEGIN in cell.source for cell in nb.cells)
    top = nbformat.v4.new_markdown_cell(banner(name, has_code))
    top.id = BANNER_ID
    student.cells.insert(1 if student.cells else 0, top)
    return student


def render(path: Path) -> str:
    """The student edition of the notebook at ``path``, as the text to store."""
    nb = nbformat.read(path, as_version=4)
    return nbformat.writes(make_student(nb, path.name)) + "\n"


def solution_notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _stubs_and_prompts(nb) -> int:
    return sum(cell.source.count(CODE_STUB[1]) + cell.source.count(ANSWER_PROMPT)
               for cell in nb.cells)


def shows_work(current: str, fresh: str) -> bool:
    """Whether the stored student notebook ``current`` holds a student's work.

    Generated notebooks are never executed and keep every stub and prompt, so
    an output, an execution count or a replaced stub/prompt means someone
    worked in it (then regenerating would destroy that work).
    """
    try:
        nb = nbformat.reads(current, as_version=4)
    except Exception:  # unreadable: not ours to overwrite silently
        return True
    ran = any(cell.cell_type == "code" and (cell.outputs or cell.execution_count)
              for cell in nb.cells)
    fresh_nb = nbformat.reads(fresh, as_version=4)
    return ran or _stubs_and_prompts(nb) < _stubs_and_prompts(fresh_nb)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="report files that differ instead of writing them")
    parser.add_argument("--force", action="store_true",
                        help="overwrite student notebooks that show a student's work")
    args = parser.parse_args(argv)
    out_dir = ROOT / "student"
    stale, kept = [], []
    for path in solution_notebooks():
        target = out_dir / path.name
        text = render(path)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if text == current:
            continue
        if args.check:
            stale.append(target.name)
        elif current is not None and not args.force and shows_work(current, text):
            kept.append(target.name)
        else:
            out_dir.mkdir(exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote student/{target.name}")
    if stale:
        print(f"student/ is out of date with notebooks/: {', '.join(stale)}."
              " Run `make student`.", file=sys.stderr)
    if kept:
        print(f"kept {', '.join(kept)} in student/: they show a student's work"
              " (outputs, or code and answers in place of the stubs). Move them, or"
              " pass --force to overwrite them.",
              file=sys.stderr)
    return 1 if stale or kept else 0


if __name__ == "__main__":
    sys.exit(main())
