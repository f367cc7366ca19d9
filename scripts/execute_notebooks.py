"""Re-execute the course notebooks in place, top to bottom, and tidy their outputs.

    python scripts/execute_notebooks.py                 # all of notebooks/
    python scripts/execute_notebooks.py notebooks/03_scalar_training.ipynb

Run it (or `make notebooks`) after changing a notebook or the package, so the
stored outputs are what nbval compares against. Widgets cannot be restored from
a saved notebook in JupyterLab ("model not found"), so the stored copy keeps
their static fallback instead: widget state is removed from the metadata,
widget views are dropped from outputs that have another representation (the
explorers store a picture of their plot), and finished progress bars, which
would only show their stale first frame, are dropped.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PROGRESS_BAR = re.compile(r"\d+%\|")
ROOT = Path(__file__).resolve().parents[1]


def tidy(nb):
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                if PROGRESS_BAR.search(data.get("text/plain", "")):
                    continue  # a progress bar's stale first frame
                del data[WIDGET_VIEW]
            kept.append(out)
        cell.outputs = kept
    return nb


def execute(path: Path):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(tidy(nb), path)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="the notebooks to re-execute (default: all of notebooks/)")
    paths = parser.parse_args(argv).notebooks \
        or sorted((ROOT / "notebooks").glob("*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file() or p.suffix != ".ipynb"]
    if missing:  # before any notebook is rewritten
        parser.error(f"not a notebook file: {', '.join(missing)}")
    for path in paths:
        print(f"{path.name}: {execute(path):.1f} s", flush=True)


if __name__ == "__main__":
    main()
