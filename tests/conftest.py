"""Shared test settings."""

import os

from hypothesis import settings

# CI runs the same generated examples every time (no flaky discoveries there);
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
