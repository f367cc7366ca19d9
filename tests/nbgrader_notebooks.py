"""Small nbgrader notebooks for the tests: cells with nbgrader metadata, written
to disk; and ``make_student``, scripts/make_student.py loaded as a module.
Shared by ``test_nbgrader.py``, ``test_student.py`` and ``test_grading.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

# scripts/ is not a package: load the generator (and its nbgrader helpers) once
_SPEC = importlib.util.spec_from_file_location(
    "make_student", Path(__file__).resolve().parents[1] / "scripts" / "make_student.py")
make_student = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(make_student)

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def meta(grade_id, *, solution=False, grade=False, locked=False, points=None):
    """A cell's ``{"nbgrader": ...}`` metadata (schema 3)."""
    nbgrader = {"grade": grade, "grade_id": grade_id, "locked": locked,
                "schema_version": 3, "solution": solution, "task": False}
    if points is not None:
        nbgrader["points"] = points
    return {"nbgrader": nbgrader}


def code(source, **metadata):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata.update(metadata)
    return cell


def markdown(source, **metadata):
    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata.update(metadata)
    return cell


def write_notebook(path: Path, *cells, kernelspec=False):
    """Write ``cells`` as the notebook ``path`` (folders created); returns it.
    ``kernelspec=True`` names the python3 kernel (nbgrader's autograde runs it)."""
    nb = nbformat.v4.new_notebook()
    if kernelspec:
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.cells = list(cells)
    for index, cell in enumerate(nb.cells):
        cell.id = f"{path.stem[:2]}-cell-{index}"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return nb
