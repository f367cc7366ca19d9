"""Generate the student workbook (student/) from the worked solutions (notebooks/).

    python scripts/make_student.py            # write student/NN_*.ipynb
    python scripts/make_student.py --check    # exit 1 if student/ is out of date
    python scripts/make_student.py --force    # also overwrite edited student files

The workbook is nbgrader's release of the solution notebooks. This script runs
``nbgrader generate_assignment`` (with the course's settings,
``deploy/nbgrader_config.py``) on a copy of notebooks/ in a temporary course
directory, so nbgrader does all of the standard work: solution regions become
``# YOUR CODE HERE`` / ``raise NotImplementedError()`` stubs, written answers
become the course's answer prompt (``ClearSolutions.text_stub``), hidden tests
are removed, graded and locked cells are locked with their checksums, outputs
are cleared; a notebook whose nbgrader metadata is invalid is refused with
nbgrader's own message.

What nbgrader does not do, this script does afterwards (and nothing else):

1. a **banner** cell after each notebook's title says how to work through it
   and where its worked solution is (nbgrader's ``IncludeHeaderFooter`` can only
   put the same cells first in every notebook, before the title);
2. the **nbval** cell tags (``nbval-*``) are dropped: they tell ``make test``
   which printed numbers of the solutions to compare, and mean nothing in a
   notebook the student fills in (nbgrader's checksums do not cover tags);
3. cell ``execution`` metadata (run timestamps) and the stored widget state are
   dropped, so that the output depends on the notebooks' content only;
4. a **model answer** in the solutions (a code cell that computes it, or a
   Markdown note, tagged ``answer``) is dropped, unless it is also tagged
   ``workbook-keep`` (it then computes only from the student's own outputs and
   says when they disagree): nbgrader keeps every ungraded cell as it is, and a
   model answer would state the results before the student writes them;
5. a student notebook that shows a student's work (a cell's output or
   execution count, or fewer stubs and answer prompts than a fresh copy) is
   never overwritten without ``--force``.

It also rewrites the points table of docs/instructors.md (between its markers)
from the notebooks' nbgrader metadata.

The output depends only on the input (nbgrader keeps the solutions' cell ids
and its checksums are content hashes), so ``--check`` compares byte for byte.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NBGRADER_CONFIG = ROOT / "deploy" / "nbgrader_config.py"
ASSIGNMENT = "student"  # deploy/nbgrader_config.py says why
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_PROMPT = ("**Your answer.** *Double-click this cell, replace this line with"
                 " your answer, then press Shift+Enter.*")
BANNER_ID = "student-edition-banner"


class NbgraderError(RuntimeError):
    """An nbgrader command failed (its error lines are in the message)."""


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
        f" solution by `make student` (nbgrader).\n> {how} Stuck? The worked"
        f" solution is `notebooks/{name}`."
    )


def solution_notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _nbgrader_env(scratch: Path) -> dict[str, str]:
    """The environment for nbgrader: this interpreter's tools first on PATH
    (nbgrader runs ``alembic`` by name), and no user Jupyter config, so that
    only the course's nbgrader_config.py counts."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    env["JUPYTER_CONFIG_DIR"] = str(scratch / "jupyter-config")
    env.pop("JUPYTER_CONFIG_PATH", None)
    return env


def nbgrader(args: list[str], course: Path, scratch: Path, timeout: float = 600):
    """Run ``nbgrader ARGS`` in the course directory ``course``; return the run.

    Raises NbgraderError with nbgrader's error lines when it fails.
    """
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                         env=_nbgrader_env(scratch), capture_output=True, text=True,
                         timeout=timeout)
    if run.returncode != 0:
        lines = run.stderr.splitlines()
        # nbgrader logs each notebook before converting it: name the last one
        converting = [line.strip() for line in lines if "Converting notebook" in line]
        errors = converting[-1:] + [
            line.strip() for line in lines
            if "ERROR" in line or "ValidationError" in line or "Error:" in line]
        raise NbgraderError(f"nbgrader {args[0]} failed (exit {run.returncode}):\n"
                              + "\n".join(errors or lines[-20:]))
    return run


def metadata_problem(path: Path) -> str | None:
    """nbgrader's metadata validator on the notebook at ``path``: its message, or
    None when valid. nbgrader's own failure names neither the notebook nor the
    grade id (its check runs after the answer text is replaced), so the error
    of ``release`` adds this."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    nb = nbformat.read(path, as_version=4)
    try:
        MetadataValidator().validate_nb(nb)
    except ValidationError as error:
        message = str(error.message if hasattr(error, "message") else error)
        for cell in nb.cells:  # name the grade id when the message quotes a cell
            meta = cell.metadata.get("nbgrader", {})
            if cell.source and cell.source in message and "grade_id" in meta:
                message = message.replace(cell.source,
                                          f"grade_id {meta['grade_id']!r}")
        return message
    return None


def make_course(course: Path, notebooks: list[Path]) -> Path:
    """An nbgrader course directory with ``notebooks`` as the assignment's source."""
    source = course / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for path in notebooks:
        shutil.copyfile(path, source / path.name)
    shutil.copyfile(NBGRADER_CONFIG, course / "nbgrader_config.py")
    return course


def release(notebooks: list[Path]) -> dict[str, nbformat.NotebookNode]:
    """nbgrader's release of ``notebooks`` (one assignment), by notebook name."""
    with tempfile.TemporaryDirectory(prefix="coursenet-nbgrader-") as tmp:
        scratch = Path(tmp)
        course = make_course(scratch / "course", notebooks)
        try:
            nbgrader(["generate_assignment", ASSIGNMENT, "--no-db", "--force"],
                     course, scratch)
        except NbgraderError as error:
            problems = [f"notebooks/{path.name}: {problem}" for path in notebooks
                        if (problem := metadata_problem(path))]
            if problems:
                raise NbgraderError("\n".join(["invalid nbgrader metadata:",
                                                  *problems])) from error
            raise
        out = course / "release" / ASSIGNMENT
        return {path.name: nbformat.read(out / path.name, as_version=4)
                for path in notebooks}


NBVAL_TAG = re.compile(r"^nbval-")


def is_model_answer(cell) -> bool:
    """A solution-only cell: tagged ``answer``, not ``workbook-keep`` (a computed
    answer, or a Markdown note that answers a question); never a graded cell."""
    tags = cell.metadata.get("tags", [])
    graded = cell.metadata.get("nbgrader", {}).get("grade")
    return "answer" in tags and "workbook-keep" not in tags and not graded


def student_edition(nb, name: str):
    """Post-process nbgrader's release ``nb`` of notebook ``name`` (in place)."""
    nb.metadata.pop("widgets", None)
    nb.cells = [cell for cell in nb.cells if not is_model_answer(cell)]
    for cell in nb.cells:
        tags = [t for t in cell.metadata.get("tags", []) if not NBVAL_TAG.match(t)]
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        cell.metadata.pop("execution", None)
    has_code = any(cell.cell_type == "code" and CODE_STUB[1] in cell.source
                   for cell in nb.cells)
    top = nbformat.v4.new_markdown_cell(banner(name, has_code))
    top.id = BANNER_ID
    nb.cells.insert(1 if nb.cells else 0, top)
    return nb


def render_all(notebooks: list[Path]) -> dict[str, str]:
    """The student edition of every notebook in ``notebooks``, as text to store."""
    released = release(notebooks)
    return {name: nbformat.writes(student_edition(nb, name)) + "\n"
            for name, nb in released.items()}


TABLE_BEGIN = "<!-- points table: generated by `make student`, do not edit -->"
TABLE_END = "<!-- end of points table -->"


def points_table(notebooks: list[Path]) -> str:
    """docs/instructors.md's points table: every graded cell of ``notebooks``."""
    rows = ["| notebook | autograded checks (grade id: points) |"
            " written answers, graded by hand | points |",
            "|---|---|---|---:|"]
    totals = [0.0, 0.0]
    for path in notebooks:
        checks, written = [], []
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            points = float(meta.get("points", 0))
            kind = 0 if cell.cell_type == "code" else 1
            (checks, written)[kind].append(f"`{meta['grade_id']}` {points:g}")
            totals[kind] += points
        total = sum(float(item.rsplit(" ", 1)[1]) for item in checks + written)
        rows.append(f"| `{path.stem}` | {', '.join(checks) or '—'} |"
                    f" {', '.join(written) or '—'} | {total:g} |")
    rows.append(f"| **total** | **{totals[0]:g}** | **{totals[1]:g}** |"
                f" **{sum(totals):g}** |")
    return "\n".join(rows)


POINTS_PAGE = Path("docs") / "instructors.md"  # the page with the points table


def readme_with_table(readme: str, table: str) -> str:
    """``readme`` (the points page's text) with the text between the table
    markers replaced by ``table``."""
    head, begin, rest = readme.partition(TABLE_BEGIN)
    _, end, tail = rest.partition(TABLE_END)
    if not begin or not end:
        raise ValueError(f"{POINTS_PAGE} lacks the markers {TABLE_BEGIN!r} ..."
                         f" {TABLE_END!r} around the points table")
    return f"{head}{TABLE_BEGIN}\n{table}\n{TABLE_END}{tail}"


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


def main(argv=None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="report files that differ instead of writing them")
    parser.add_argument("--force", action="store_true",
                        help="overwrite student notebooks that show a student's work")
    args = parser.parse_args(argv)
    out_dir = root / "student"
    try:
        rendered = render_all(solution_notebooks(root))
    except NbgraderError as error:
        print(f"make_student: {error}", file=sys.stderr)
        return 2
    stale, kept = [], []
    readme_path = root / POINTS_PAGE
    if readme_path.exists():  # the instructors' points table
        readme = readme_path.read_text(encoding="utf-8")
        updated = readme_with_table(readme, points_table(solution_notebooks(root)))
        if updated != readme:
            if args.check:
                stale.append(f"{POINTS_PAGE}'s points table")
            else:
                readme_path.write_text(updated, encoding="utf-8")
                print(f"wrote the points table in {POINTS_PAGE}")
    for name, text in rendered.items():
        target = out_dir / name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if text == current:
            continue
        if args.check:
            stale.append(name)
        elif current is not None and not args.force and shows_work(current, text):
            kept.append(name)
        else:
            out_dir.mkdir(exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote student/{name}")
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
