"""Run a workbook notebook as a student's Run All does, and read its outputs.

Shared by the workbook tests of notebooks 01-03 and 04-06 and test_student.py
(conftest.py's ``fresh_workbooks`` runs each shipped workbook once a session).
"""

import shutil

import nbformat
from nbclient import NotebookClient


def execute(path, timeout=900):
    """Execute a notebook top to bottom in its own folder, errors allowed."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


class Runs(dict):
    """{name: executed notebook} for the notebooks of ``source``, all copied
    into ``folder`` (a student's folder: each finds the ones before it), each
    executed the first time a test asks for it and then kept, so that the
    tests of several files share one Run All of each notebook."""

    def __init__(self, source, folder):
        super().__init__()
        self.folder = folder
        for path in sorted(source.glob("*.ipynb")):
            shutil.copy(path, folder / path.name)

    def __missing__(self, name):
        self[name] = execute(self.folder / name)
        return self[name]


def text_of(cell):
    """Everything a cell printed or displayed, as text."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            data = out["data"]
            parts.append(str(data.get("text/markdown", "")
                             or data.get("text/plain", "")))
    return "".join(parts)


def errors(nb):
    """(cell index, error name, message) of every error output or traceback."""
    return [(i, out.get("ename"), out.get("evalue"))
            for i, cell in enumerate(nb.cells) for out in cell.get("outputs", [])
            if out.get("output_type") == "error"
            or (out.get("output_type") == "stream" and out.get("name") == "stderr"
                and "Traceback" in out.get("text", ""))]
