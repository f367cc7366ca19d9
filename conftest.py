"""Make every pytest run hermetic: no downloads, a private temporary data cache.

Set at the very start of the session, in ``os.environ``, so that everything the
run starts inherits it: the unit tests, nbval's notebook kernels and the
browser test's JupyterLab server.

* ``COURSENET_OFFLINE=1``: coursenet never tries to download MNIST; the
  notebooks run on the bundled 5,000-digit sample.
* ``COURSENET_DATA=<temporary directory>``: the user's MNIST cache is neither
  read nor written.

Opt-in: ``COURSENET_TEST_FULL_MNIST=1 make test`` keeps your own cache
(``$COURSENET_DATA`` or the default one), so the notebooks run on full MNIST
if it is cached there; still offline, so nothing is ever downloaded.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

FULL_MNIST_ENV = "COURSENET_TEST_FULL_MNIST"
_tmp_cache = None


def pytest_configure(config):
    global _tmp_cache
    os.environ["COURSENET_OFFLINE"] = "1"
    if os.environ.get(FULL_MNIST_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return
    _tmp_cache = tempfile.mkdtemp(prefix="coursenet-test-data-")
    os.environ["COURSENET_DATA"] = _tmp_cache


def pytest_unconfigure(config):
    if _tmp_cache is not None:
        shutil.rmtree(_tmp_cache, ignore_errors=True)


def pytest_report_header(config):
    where = os.environ.get("COURSENET_DATA", "the user's cache")
    return (f"coursenet: offline, MNIST cache {where}"
            f" (set {FULL_MNIST_ENV}=1 to use your cached full MNIST)")


# --- `make test` on both cores ------------------------------------------------
# `make test` runs pytest-xdist with `--dist loadfile`: each file on one worker,
# so what a file's tests share (a module fixture such as the grader's autograde
# or a workbook's wrong-answer run, nbval's one kernel per notebook) is built
# once. For that mode only, two refinements (docs/testing.md, Speed):
# * files that share a session fixture run on the same worker, so it is built
#   once, not once per worker: tests/browser/ (one JupyterLab, one Chromium)
#   and the three files that read `fresh_workbooks` (a Run All of each workbook);
# * the heaviest groups start first, so that the last to start is a short one
#   and neither core idles for minutes at the end. COST: seconds of each group,
#   measured one after another (`--durations`); only the order depends on it, a
#   group missing from it starts after these, in collection order.
SHARED_GROUPS = {
    "tests/browser/": "tests/browser",
    "tests/test_student.py": "workbooks",
    "tests/test_workbook_runs.py": "workbooks",
    "tests/test_workbook_runs_04_06.py": "workbooks",
}
# measured 7 December 2026, `make test` one file after another (1,578 s in all,
# load average about 5):
COST = {"workbooks": 372, "tests/browser": 366, "tests/test_grading.py": 234,
        "tests/test_nbgrader.py": 184, "notebooks/06_mnist_experiments.ipynb": 80,
        "notebooks/03_scalar_training.ipynb": 63, "tests/test_lab_server.py": 38,
        "tests/test_exercises_mistake_ids.py": 36,
        "tests/test_grading_attacks.py": 33, "tests/test_plots_widgets.py": 26,
        "notebooks/05_batched_backprop.ipynb": 21, "tests/test_run_fashion.py": 17,
        "tests/test_mnist.py": 14, "tests/hub/test_hub.py": 13}


def worker_group(nodeid: str) -> str:
    """The worker-sharing group of a test id: its file, or its SHARED_GROUPS name."""
    path = nodeid.split("::", 1)[0]
    return next((group for prefix, group in SHARED_GROUPS.items()
                 if path.startswith(prefix)), path)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    # a worker's own config says `--dist no`: tell it the run's mode
    node.workerinput["group_files"] = node.config.getvalue("dist") == "loadfile"


def pytest_collection_modifyitems(config, items):
    # on each worker, heaviest group first (all workers sort alike, so they
    # still collect the same list, as xdist requires)
    if getattr(config, "workerinput", {}).get("group_files"):
        first = {}
        for index, item in enumerate(items):
            first.setdefault(worker_group(item.nodeid), index)
        items.sort(key=lambda item: (-COST.get(worker_group(item.nodeid), 0),
                                     first[worker_group(item.nodeid)]))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` with SHARED_GROUPS: a unit of work is a group."""
    if config.getvalue("dist") != "loadfile":
        return None  # xdist's own scheduler
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return worker_group(nodeid)

    # keep the collection's order (heaviest first), not xdist's most-tests-first
    config.option.loadscopereorder = False
    return GroupScheduling(config, log)
