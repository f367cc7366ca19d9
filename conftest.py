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
