"""No request leaves the machine during a browser test run.

A whole pytest process runs the explorer's browser test with every HTTP(S)
route pointed at a recording proxy on 127.0.0.1 that refuses any other host:
the pytest process and, through it, JupyterLab and its kernels by
``HTTP(S)_PROXY``, Chromium by ``--proxy-server`` (loopback included). The
record must show that each of them did use the proxy, and that every target
was this machine.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from recording_proxy import RecordingProxy, is_loopback, proxy_env

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
INNER = "tests/browser/test_explorer_browser.py"


def test_a_browser_test_run_sends_nothing_off_the_machine(lab):
    # `lab` only so that this is skipped with the others when Chromium is missing
    with RecordingProxy() as proxy:
        env = dict(os.environ, **proxy_env(proxy.url), COURSENET_TEST_PROXY=proxy.url)
        run = subprocess.run(
            [sys.executable, "-m", "pytest", INNER, "-q", "-p", "no:cacheprovider"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        seen = proxy.seen()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
    outside = [t for t in seen if not is_loopback(t[1])]
    assert not outside, f"requests that tried to leave the machine: {outside}"
    paths = [path for _, _, _, path in seen]
    # each party went through the proxy: the test process polling the server,
    # Chromium loading JupyterLab, the kernel running the notebook's first cell
    assert any(p.startswith("/api/status") and "from=kernel" not in p for p in paths)
    assert any(p.startswith("/lab") for p in paths)
    assert any("from=kernel" in p for p in paths)
    assert any(method == "CONNECT" for method, *_ in seen)  # the WebSockets
