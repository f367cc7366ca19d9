"""exercises/_core.py: its public helpers refuse bad arguments (the checks
themselves: test_exercises*.py)."""

import pytest
from bad_input import assert_clear_error

from coursenet.exercises import _core

CASES = [
    ("from_notebook folder=3", lambda: _core.from_notebook("x.ipynb", "f", folder=3),
     TypeError, ["folder", "3"]),
    ("CheckResult status 'maybe'", lambda: _core.CheckResult("maybe", "m"),
     ValueError, ["status", "'maybe'", "passed"]),
    ("CheckResult message 3", lambda: _core.CheckResult("passed", 3),
     TypeError, ["message", "3"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)
