"""The test run itself is offline and uses a private data cache (see ../conftest.py)."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from coursenet import mnist


def test_the_run_is_offline_with_a_temporary_cache():
    assert mnist.offline()
    if os.environ.get("COURSENET_TEST_FULL_MNIST"):
        return
    cache = Path(os.environ["COURSENET_DATA"])
    assert cache.is_dir()
    assert Path(tempfile.gettempdir()) in cache.parents
    assert mnist.default_cache_dir() == cache


def test_child_processes_such_as_notebook_kernels_inherit_it():
    code = ("import os; from coursenet import mnist;"
            " print(mnist.offline(), os.environ.get('COURSENET_DATA'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", str(os.environ.get("COURSENET_DATA"))]


def test_a_notebook_kernel_sees_it():
    """What nbval does: start a Jupyter kernel from this environment and run a cell."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import os\nfrom coursenet import mnist\n"
        "print(mnist.offline(), os.environ.get('COURSENET_DATA'))"))
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    out = nb.cells[0].outputs[0]["text"].split()
    assert out == ["True", str(os.environ.get("COURSENET_DATA"))]
