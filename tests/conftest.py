"""Shared test settings."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Generated examples per property test: COURSENET_EXAMPLES=2000 for a long
# hunt; 25 keeps the suite quick. No per-example deadline: a loaded machine
# is not a failure (the tests assert results, never times).
settings.register_profile(
    "coursenet", max_examples=int(os.environ.get("COURSENET_EXAMPLES", 25)),
    deadline=None)
# CI runs the same generated examples every time (no flaky discoveries there);
# local runs keep exploring new ones.
settings.register_profile("ci", parent=settings.get_profile("coursenet"),
                          derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "coursenet")


@pytest.fixture(scope="session")
def fresh_workbooks(tmp_path_factory):
    """Run All on the workbook as shipped (student/, every exercise a stub),
    each notebook once per session: test_workbook_runs*.py and test_student.py
    read the same runs. A :class:`workbook.Runs`: index it by file name."""
    from workbook import Runs  # nbclient: imported only when a test runs one

    return Runs(ROOT / "student", tmp_path_factory.mktemp("fresh_workbooks"))


@pytest.fixture(autouse=True)
def _no_verdicts_from_other_tests():
    """The checks remember their last verdicts in the kernel (so a stopped
    training cell can point at a failed check); each test starts without any."""
    from coursenet.exercises import _core

    _core._VERDICTS.clear()
    yield
    _core._VERDICTS.clear()
