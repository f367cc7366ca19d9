"""A real JupyterLab server and a real headless Chromium for the browser tests.

The server runs from this environment on 127.0.0.1 (free port, no token) in a
temporary folder, with every Jupyter, IPython and matplotlib directory pointed
into that folder and update checks and news turned off. Chromium is Debian's
(``/usr/bin/chromium``, or ``$COURSENET_CHROMIUM``); Playwright only drives it
and never downloads a browser. Without either, the tests are skipped with the
reason.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CHROMIUM = os.environ.get("COURSENET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]

EXPLORER_CELLS = [
    new_markdown_cell("# Learning-rate explorer (browser test)"),
    new_code_cell(
        "from coursenet import widgets\n"
        "from coursenet.data import load_mnist, scale_pixels\n"
        "(x, y), (xv, yv), _ = load_mnist(source='sample')\n"
        "explorer = widgets.learning_rate_explorer(\n"
        "    (scale_pixels(x), y), (scale_pixels(xv), yv), subset=1000,\n"
        "    num_hiddens=50, lr=0.3, epochs=1)\n"
        "explorer"),
]


def _missing_reason():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).exists():
        return (f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium;"
                " .ci/run installs it in CI)")
    return None


def pytest_collection_modifyitems(items):
    reason = _missing_reason()
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings_dir: Path, config_dir: Path):
    """Switch off update checks, news and the PyPI extension manager.

    The front end reads the user settings override; the server reads
    ``jupyter_lab_config.json`` from the temporary config directory.
    """
    target = settings_dir / "@jupyterlab" / "apputils-extension"
    target.mkdir(parents=True, exist_ok=True)
    (target / "notification.jupyterlab-settings").write_text(json.dumps(
        {"checkForUpdates": False, "fetchNews": "false"}))
    (config_dir / "jupyter_lab_config.json").write_text(json.dumps({
        "LabApp": {"news_url": None, "extension_manager": "readonly",
                   "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}))


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """Start JupyterLab; yield its base URL and folder; stop it and its kernels."""
    root = tmp_path_factory.mktemp("lab")
    work = root / "notebooks"
    work.mkdir()
    nb = new_notebook(cells=EXPLORER_CELLS)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, work / "explorer.ipynb")
    dirs = {name: root / name for name in ("config", "data", "runtime", "ipython",
                                           "mpl", "settings", "workspaces")}
    for d in dirs.values():
        d.mkdir()
    _write_settings(dirs["settings"], dirs["config"])
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(dirs["config"]),
               JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
               IPYTHONDIR=str(dirs["ipython"]),
               MPLCONFIGDIR=str(dirs["mpl"]),
               JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
               JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
               JUPYTER_PLATFORM_DIRS="1",
               COURSENET_OFFLINE="1")
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.port_retries=0",
           "--IdentityProvider.token=", "--ServerApp.password=",
           f"--ServerApp.root_dir={work}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError("JupyterLab exited early:\n"
                                   + (root / "server.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(url + "/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not answer /api/status in 90 s")
            time.sleep(0.2)
        yield {"url": url, "root": work, "log": root / "server.log"}
    finally:
        _stop(proc)
        log.close()


def _stop(proc):
    """Terminate the server's whole process group (kernels included)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, lab):
    """A fresh page that may only talk to 127.0.0.1; outside requests fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside = []

    def guard(route):
        url = route.request.url
        host = url.split("/")[2].split(":")[0] if "://" in url else ""
        if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
    assert not outside, f"JupyterLab tried to reach outside 127.0.0.1: {outside}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failing browser test, screenshot the page and name it in the report."""
    outcome = yield
    report = outcome.get_result()
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None:
        shot = item.funcargs["tmp_path"] / "failure.png" \
            if "tmp_path" in item.funcargs else Path("browser-failure.png").resolve()
        try:
            page.screenshot(path=str(shot), full_page=True)
            report.sections.append(("screenshot", f"saved to {shot}"))
        except Exception as err:  # the page may be gone; keep the real failure
            report.sections.append(("screenshot", f"could not be taken: {err}"))
