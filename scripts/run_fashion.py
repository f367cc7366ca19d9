"""Run notebook 06 at full size on Fashion-MNIST; print its time and test accuracy.

CI's check that every computed sentence of notebook 06 holds on a full-size
real data set (60,000 + 10,000 images), not only on the offline MNIST sample.
The notebook runs unchanged: it loads its data with
``coursenet.data.load_dataset()``, which reads ``COURSENET_DATASET``; this script
sets it to ``fashion-mnist`` for the notebook's kernel. The files come from
Debian's ``dataset-fashion-mnist`` package (or ``COURSENET_FASHION_DIR``);
nothing is downloaded (``COURSENET_OFFLINE=1``) and the data cache is a
temporary directory.

The executed notebook is not written anywhere unless ``--keep PATH`` names a
file outside the repository. The run fails (exit status 1) on any error or
stderr output of any cell, on a verdict line (``coursenet.display.verdict``)
that prints False (the notebook's claims must hold on this data set too), if
the notebook did not train on the full 55,000 images, or if it defines no
``test_acc`` (its final test accuracy) or ``xtrain`` (its training images).

    python scripts/run_fashion.py [notebooks/06_mnist_experiments.ipynb]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06_mnist_experiments.ipynb"
MARK = "COURSENET_FASHION_RESULT "
# appended to the notebook in memory: what the run reached, as one JSON line
REPORT = f"""\
import json as _json
_names = {{k: v for k, v in globals().items() if k in ("xtrain", "xtest", "test_acc")}}
print({MARK!r} + _json.dumps({{
    "test_acc": float(_names["test_acc"]) if "test_acc" in _names else None,
    "num_train": len(_names["xtrain"]) if "xtrain" in _names else None,
    "num_test": len(_names["xtest"]) if "xtest" in _names else None}}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=NOTEBOOK)
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds allowed for one cell (default 3600)")
    parser.add_argument("--keep", type=Path,
                        help="write the executed notebook here (outside the repo)")
    args = parser.parse_args(argv)
    if args.keep is not None and ROOT in args.keep.resolve().parents:
        parser.error(f"--keep {args.keep}: no output is written into the repository")
    nb, full_train, seconds, slow, failure = run(args.notebook, args.timeout)
    if args.keep is not None:
        import nbformat
        nbformat.write(nb, args.keep)
    problems, result, verdicts = read_outputs(nb, failure)
    return report(args.notebook.name, full_train, seconds, slow, problems, result,
                  verdicts)


def run(notebook, timeout):
    """Execute ``notebook`` on full-size Fashion-MNIST in a temporary data
    cache, offline; return (the executed notebook, the number of training
    images, seconds, [(seconds, cell index)], the execution error or None)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from coursenet import data, mnist

    with tempfile.TemporaryDirectory(prefix="coursenet-fashion-") as cache:
        # the kernel inherits this process's environment
        os.environ[data.DATASET_ENV] = "fashion-mnist"
        os.environ[mnist.OFFLINE_ENV] = "1"
        os.environ[mnist.CACHE_ENV] = cache
        try:  # fail early, with the loader's own advice, if the data are missing
            (xtrain, _), _, _ = data.load_fashion_mnist()
        except mnist.DownloadError as err:
            sys.exit(f"run_fashion: {err}")
        full_train = len(xtrain)
        del xtrain

        nb = nbformat.read(notebook, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(REPORT))
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(
                                    notebook.resolve().parent)}})
        slow = []  # (seconds, cell index): where the time goes, for the CI log
        began = {}
        client.on_cell_start = lambda cell, cell_index: began.__setitem__(
            cell_index, time.perf_counter())
        client.on_cell_executed = lambda cell, cell_index, **_: slow.append(
            (time.perf_counter() - began.get(cell_index, time.perf_counter()),
             cell_index))
        print(f"== running {notebook.name} on full-size Fashion-MNIST"
              f" ({full_train:,} training images)", flush=True)
        start = time.perf_counter()
        failure = None
        try:
            client.execute()
        except CellExecutionError as err:
            failure = str(err)
        seconds = time.perf_counter() - start
    return nb, full_train, seconds, slow, failure


def read_outputs(nb, failure):
    """(problems, the REPORT cell's result or None, verdict lines) of an
    executed notebook: errors, stderr and the lines that end True/False."""
    problems, result, verdicts = [], None, []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            kind, text = out.get("output_type"), out.get("text", "")
            if kind == "error":
                name, value = out.get("ename"), out.get("evalue")
                problems.append(f"cell {index}: {name}: {value}")
            elif kind == "stream" and out.get("name") == "stderr":
                problems.append(f"cell {index} wrote to stderr: {text[:500]}")
            elif kind == "stream" and out.get("name") == "stdout":
                # coursenet.display.verdict prints "<claim>: True|False"
                verdicts += [line for line in text.splitlines()
                             if line.endswith((": True", ": False"))]
            if kind == "stream" and MARK in text:
                line = out["text"].split(MARK, 1)[1].splitlines()[0]
                result = json.loads(line)
    if failure is not None and not problems:
        problems.append(failure[-2000:])
    return problems, result, verdicts


def report(name, full_train, seconds, slow, problems, result, verdicts):
    """Print the run's time, test accuracy and verdicts; 1 on any problem."""
    if result is None:
        problems.append("the notebook did not run to its end")
    else:
        if result["num_train"] != full_train:
            problems.append(f"the notebook trained on {result['num_train']} images, not"
                            f" the full {full_train:,}: does it load its data with"
                            " coursenet.data.load_dataset()?")
        if result["test_acc"] is None:
            problems.append("the notebook defines no test_acc (its test accuracy)")
    print(f"== {name} on Fashion-MNIST: {seconds:.0f} s; slowest cells: "
          + ", ".join(f"{i} ({t:.0f} s)" for t, i in sorted(slow, reverse=True)[:5]),
          flush=True)
    if result is not None and result["test_acc"] is not None:
        print(f"== test accuracy {result['test_acc']:.2%} on"
              f" {result['num_test'] or 0:,} Fashion-MNIST test images")
    false = [v for v in verdicts if v.endswith(": False")]
    print(f"== verdicts: {len(verdicts) - len(false)} true, {len(false)} false")
    problems += [f"a verdict does not hold on Fashion-MNIST: {v}" for v in false]
    if problems:
        print("== FAILED:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
