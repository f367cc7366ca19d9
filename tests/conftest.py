"""Shared test settings."""

import os

from hypothesis import settings

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
