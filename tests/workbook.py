"""Run a workbook notebook as a student's Run All does, and read its outputs.

Shared by the workbook tests of notebooks 01-03 and 04-06.
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


def run_copies(source, folder, names):
    """Copy ``names`` from ``source`` into ``folder`` and execute each there."""
    for name in names:
        shutil.copy(source / name, folder / name)
    return {name: execute(folder / name) for name in names}


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
