"""Cases the student has never seen: ``numpy.random.default_rng`` salted.

The checks draw their random cases with ``np.random.default_rng(seed)`` and
fixed seeds that anyone can read in ``coursenet.exercises``; an answer could
hard-code the reference's results for those cases. While the grader judges,
``default_rng(seed)`` becomes ``default_rng(SeedSequence([salt, seed]))`` in the
grader *and* in the sandbox (a check may hand the student a seed and expect the
permutations it gives, as notebook 06's does), with a salt derived from a
secret the sandbox never sees and the answer itself (:func:`.judge.salt_for`),
so a changed answer meets new cases. No change to the checks is needed.
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np

_ORIGINAL = np.random.default_rng


def _salted(salt):
    def default_rng(seed=None):
        if isinstance(seed, (numbers.Integral, np.integer)) and not isinstance(
                seed, bool) and int(seed) >= 0:
            return _ORIGINAL(np.random.SeedSequence([salt, int(seed)]))
        return _ORIGINAL(seed)

    default_rng.__doc__ = _ORIGINAL.__doc__
    return default_rng


def salt_default_rng(salt):
    """Salt ``np.random.default_rng`` for the rest of this process (sandbox)."""
    np.random.default_rng = _salted(salt)


@contextlib.contextmanager
def salted(salt):
    """Salt ``np.random.default_rng`` while the block runs (the grader)."""
    np.random.default_rng = _salted(salt)
    try:
        yield
    finally:
        np.random.default_rng = _ORIGINAL
