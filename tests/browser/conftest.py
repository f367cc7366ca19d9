"""A real JupyterLab server and a real headless Chromium for the browser tests.

The server runs from this environment on 127.0.0.1 (free port, no token) in a
temporary copy of the course (the start page, the README, both editions of
the notebooks, and a small explorer notebook), with every Jupyter, IPython and
matplotlib directory of the user pointed into that folder, so the settings it
shows are the ones the project installs into its environment
(``jupyter-config/``: no news, no update checks, no extension manager, kernels
shut down on close, notebooks/ read-only, folder links that open folders).
Chromium is Debian's (``/usr/bin/chromium``, or ``$COURSENET_CHROMIUM``);
Playwright only drives it and never downloads a browser. Without either, the
tests are skipped with the reason.

Nothing may leave the machine: Chromium, the server and its kernels all send
their HTTP(S) through a recording proxy on 127.0.0.1 (loopback included, so the
record shows the routing works) that refuses every other host; each test fails
if anything tried. ``test_offline_browser.py`` runs a whole pytest process this
way from outside. ``$COURSENET_TEST_PROXY`` names a proxy to use instead of a
fresh one (the outer run checks its record then).
"""

from __future__ import annotations

import os
import shutil
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
from recording_proxy import RecordingProxy, proxy_env

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("COURSENET_CHROMIUM", "/usr/bin/chromium")
# Playwright already passes most of the "no background networking" switches
# (--disable-background-networking, --disable-component-update, --disable-sync,
# --no-first-run, --disable-default-apps, --metrics-recording-only, ...); they
# are repeated here so the list does not depend on its version. Debian's
# Chromium still calls home with all of them, as the recording proxy showed:
# accounts.google.com for the signed-in accounts (ListAccounts), the component
# updater for an on-demand component (the optimisation guide's model manifest)
# and the autofill server as soon as a test types into a form field. Those
# three services are pointed at a closed port on 127.0.0.1 instead.
DEAD_END = "http://127.0.0.1:9"  # the discard port: nothing listens there
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps", "--no-pings",
                 "--disable-client-side-phishing-detection",
                 "--disable-domain-reliability", "--metrics-recording-only",
                 f"--gaia-url={DEAD_END}",
                 f"--component-updater=url-source={DEAD_END}/",
                 f"--autofill-server-url={DEAD_END}/"]
VIEWPORT = {"width": 1366, "height": 768}  # a common laptop screen

EXPLORER_CELLS = [
    new_markdown_cell("# Learning-rate explorer (browser test)"),
    new_code_cell(
        "# the kernel's HTTP goes through the tests' recording proxy as well\n"
        "import os, urllib.request\n"
        "url = os.environ['COURSENET_LAB_URL'] + '/api/status?from=kernel'\n"
        "urllib.request.urlopen(url, timeout=10).close()"),
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


@pytest.fixture(scope="session")
def proxy():
    """The recording proxy every browser test talks through (``None``: outside's)."""
    if os.environ.get("COURSENET_TEST_PROXY"):
        yield None
        return
    with RecordingProxy() as p:
        yield p
        # after the browser, the server and the kernels are gone
        assert not p.outside(), f"a request tried to leave the machine: {p.outside()}"


def _proxy_url(proxy):
    return proxy.url if proxy is not None else os.environ["COURSENET_TEST_PROXY"]


def jupyter_env(root: Path, proxy_url: str, **extra) -> dict:
    """The environment of a Jupyter server the tests start: offline, proxied,
    every Jupyter, IPython and matplotlib directory of the user under ``root``."""
    dirs = {name: root / name for name in ("config", "data", "runtime", "ipython",
                                           "mpl", "settings", "workspaces")}
    for d in dirs.values():
        d.mkdir(exist_ok=True)
    return dict(os.environ,
                **proxy_env(proxy_url),
                JUPYTER_CONFIG_DIR=str(dirs["config"]),
                JUPYTER_DATA_DIR=str(dirs["data"]),
                JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
                IPYTHONDIR=str(dirs["ipython"]),
                MPLCONFIGDIR=str(dirs["mpl"]),
                JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
                JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
                JUPYTER_PLATFORM_DIRS="1",
                COURSENET_OFFLINE="1",
                **extra)


@pytest.fixture
def proxied_env(proxy, tmp_path):
    """``jupyter_env`` for a server a test starts itself (in ``tmp_path``)."""
    return lambda **extra: jupyter_env(tmp_path, _proxy_url(proxy), **extra)


@pytest.fixture(scope="session")
def lab(tmp_path_factory, proxy):
    """Start JupyterLab; yield its base URL and folder; stop it and its kernels."""
    root = tmp_path_factory.mktemp("lab")
    work = root / "course"
    work.mkdir()
    # the course as a student gets it: start page, README (and its picture),
    # both editions; the solutions keep their read-only rule (root_dir/notebooks)
    for name in ("START_HERE.md", "README.md"):
        shutil.copy(ROOT / name, work)
    for folder in ("notebooks", "student", "docs"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, work / folder)
    nb = new_notebook(cells=EXPLORER_CELLS)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, work / "explorer.ipynb")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = jupyter_env(root, _proxy_url(proxy), COURSENET_LAB_URL=url)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.port_retries=0",
           "--IdentityProvider.token=", "--ServerApp.password=",
           f"--ServerApp.root_dir={work}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
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
def browser(proxy):
    from playwright.sync_api import sync_playwright

    # <-loopback>: send even 127.0.0.1 through the proxy (Chromium bypasses it
    # for loopback by default), so its record proves Chromium uses it
    args = CHROMIUM_ARGS + [f"--proxy-server={_proxy_url(proxy)}",
                            "--proxy-bypass-list=<-loopback>"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield b
        b.close()


@pytest.fixture
def page(browser, lab, proxy):
    """A fresh page that may only talk to 127.0.0.1; outside requests fail the test.

    The page's own requests are checked here; everything else Chromium, the
    server or a kernel sent is checked in the proxy's record afterwards.
    """
    context = browser.new_context(viewport=VIEWPORT)
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
    if proxy is not None:
        assert not proxy.outside(), f"a request tried to leave: {proxy.outside()}"
        assert any(path.startswith("/lab") for _, _, _, path in proxy.seen()), \
            "Chromium's requests did not go through the recording proxy"


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
