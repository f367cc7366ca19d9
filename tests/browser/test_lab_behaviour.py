"""JupyterLab as a new student meets it, at 1366x768 (issue 16, item 5).

- START_HERE's folder links (`student/`, `notebooks/`) open the folder in the
  file browser, not an error dialog;
- `make lab` with `--no-browser` prints a link that opens the start page;
- a worked solution (notebooks/) is read-only: marked in its tab and toolbar,
  never saved, the same on disk after a run; its workbook twin is not marked;
- closing a notebook shuts its kernel down;
- `make lab` run again opens the start page, not the notebooks left open,
  and starts no kernel for them;
- the README, opened in JupyterLab, fetches nothing from outside this machine.

Screenshots of every screen go to the test's tmp_path (``--basetemp`` to keep
them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from labpage import kernel_idle, run_all_cells
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
READ_ONLY_TAB = "coursenet-mod-readOnly"


def open_start_page(page, lab):
    page.goto(f"{lab['url']}/lab/tree/START_HERE.md?reset")  # a fresh workspace
    page.locator(".jp-RenderedMarkdown h1").first.wait_for(timeout=60_000)
    page.locator(".jp-DirListing-item", has_text="START_HERE.md").wait_for()


def no_dialog(page, timeout=3_000):
    """Fail if a dialog (Lab's error dialogs among them) shows within ``timeout``."""
    dialog = page.locator(".jp-Dialog").first
    try:
        dialog.wait_for(timeout=timeout)
    except PlaywrightTimeout:
        return
    pytest.fail(f"a dialog opened: {dialog.inner_text()!r}")


def api(lab, path):
    with urllib.request.urlopen(lab["url"] + path, timeout=10) as r:
        return json.load(r)


def kernel_of(lab, path):
    """The id of the kernel of the session of ``path``, or None."""
    ids = [s["kernel"]["id"] for s in api(lab, "/api/sessions")
           if s["path"] == path and s.get("kernel")]
    return ids[0] if ids else None


def activate(page, tab):
    """Make ``tab`` the current one (Lab may hand the focus back once)."""
    for _ in range(30):
        tab.click()
        try:
            page.wait_for_function("t => t.classList.contains('jp-mod-current')",
                                   arg=tab.element_handle(), timeout=1_000)
            return
        except PlaywrightTimeout:
            continue
    pytest.fail(f"could not make {tab.inner_text()!r} the current tab")


def open_from_start_page(page, folder, number):
    """Click the start page's link to notebook ``number`` of ``folder``; its tab."""
    label = {"student": "student", "notebooks": "solutions"}[folder]
    page.locator(f".jp-RenderedMarkdown a[href*='/{folder}/{number}_']",
                 has_text=re.compile(f"^{label}$")).click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab",
                       has=page.locator(".lm-TabBar-tabLabel",
                                        has_text=re.compile(rf"^{number}_")))
    return tab


@pytest.mark.parametrize("folder", ["student", "notebooks"])
def test_folder_links_open_the_folder_in_the_file_browser(page, lab, folder, tmp_path):
    open_start_page(page, lab)
    link = page.locator(".jp-RenderedMarkdown a",
                        has=page.locator("code", has_text=re.compile(rf"^{folder}/$")))
    assert link.count() == 1, f"START_HERE.md has no single `{folder}/` link"
    link.click()
    # the file browser now lists the folder's notebooks (and not the top folder);
    # without the fix, an error dialog opens instead ("... is a directory")
    listed = page.locator(".jp-DirListing-item", has_text="01_local_gradients.ipynb")
    listed.or_(page.locator(".jp-Dialog")).first.wait_for()
    if page.locator(".jp-Dialog").count():
        pytest.fail(f"a dialog opened: {page.locator('.jp-Dialog').inner_text()!r}")
    page.locator(".jp-BreadCrumbs", has_text=folder).wait_for()
    assert page.locator(".jp-DirListing-item", has_text="START_HERE.md").count() == 0
    no_dialog(page)
    page.screenshot(path=str(tmp_path / f"folder_link_{folder}.png"))


def test_solution_and_workbook_tabs_cannot_be_confused(page, lab, tmp_path):
    original = (lab["root"] / "notebooks/02_scalar_backprop.ipynb").read_bytes()
    open_start_page(page, lab)
    for number in ("01", "02", "03"):  # enough tabs to shrink their labels
        for folder in ("student", "notebooks"):
            tab = open_from_start_page(page, folder, number).last
            tab.wait_for()
            kernel_idle(page).wait_for(timeout=60_000)
            # back to the start page for the next link
            activate(page, page.locator(".lm-TabBar-tab", has_text="START_HERE.md"))
    tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab",
                        has=page.locator(".lm-TabBar-tabLabel",
                                         has_text=re.compile(r"^0[123]_")))
    expect_tabs = 6
    page.wait_for_function(
        """([cls, n]) => {
            const tabs = [...document.querySelectorAll(
                '.lm-DockPanel-tabBar .lm-TabBar-tab')].filter(t =>
                /^0[123]_/.test(t.querySelector('.lm-TabBar-tabLabel').textContent));
            return tabs.length === n
                && tabs.filter(t => t.classList.contains(cls)).length === n / 2;
        }""", arg=[READ_ONLY_TAB, expect_tabs], timeout=60_000)
    marks = tabs.evaluate_all(
        """(tabs, cls) => tabs.map(t => ({
            path: t.title,
            readOnly: t.classList.contains(cls),
            lock: getComputedStyle(t.querySelector('.lm-TabBar-tabLabel'),
                                   '::before').backgroundImage}))""", READ_ONLY_TAB)
    assert len(marks) == expect_tabs
    for mark in marks:
        solution = "Path: notebooks" in mark["path"]
        assert mark["readOnly"] == solution, mark
        assert ("svg" in mark["lock"]) == solution, mark  # the padlock
    page.screenshot(path=str(tmp_path / "six_tabs.png"))

    # the solution itself: Lab's read-only mark in its toolbar; Ctrl+S saves
    # nothing and says why; after a run the file is unchanged
    activate(page, page.locator(f".lm-TabBar-tab.{READ_ONLY_TAB}", has_text="02_"))
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator("[data-jp-item-name='read-only-indicator']").wait_for()
    kernel_idle(page).wait_for(timeout=60_000)
    run_all_cells(page)
    page.wait_for_function(
        """() => {
            const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .map(p => p.textContent);
            return prompts.some(p => /\\[\\d+\\]/.test(p))
                && !prompts.some(p => p.includes('*'));
        }""", timeout=120_000)
    kernel_idle(page).wait_for()
    page.keyboard.press("Control+s")
    page.locator(".Toastify__toast", has_text="read-only").first.wait_for()
    assert (lab["root"] / "notebooks/02_scalar_backprop.ipynb").read_bytes() == original
    page.screenshot(path=str(tmp_path / "solution_after_run.png"))


def test_closing_a_notebook_shuts_its_kernel_down(page, lab):
    path = "student/01_local_gradients.ipynb"
    open_start_page(page, lab)
    tab = open_from_start_page(page, "student", "01").first
    tab.wait_for()
    tab.click()
    kernel_idle(page).wait_for(timeout=60_000)
    kernel = kernel_of(lab, path)
    assert kernel, f"no kernel was started for {path}"
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    no_dialog(page, timeout=1_000)  # not run, not changed: closes without asking
    deadline = time.monotonic() + 30
    while kernel in {k["id"] for k in api(lab, "/api/kernels")}:
        assert time.monotonic() < deadline, "the kernel still runs 30 s after closing"
        time.sleep(0.2)
    assert kernel_of(lab, path) is None


def test_readme_in_jupyterlab_fetches_nothing_from_outside(page, lab, tmp_path):
    asked = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"{lab['url']}/lab/tree/README.md?reset")
    page.locator(".jp-RenderedMarkdown h1", has_text="coursenet").wait_for(
        timeout=60_000)
    images = page.locator(".jp-RenderedMarkdown img")
    assert images.count() >= 1  # the explorer's picture, from docs/
    page.wait_for_function("""() => [...document.querySelectorAll(
        '.jp-RenderedMarkdown img')].every(i => i.complete && i.naturalWidth > 0)""")
    outside = [u for u in asked if urlsplit(u).hostname not in ("127.0.0.1", None)
               and not u.startswith(("data:", "blob:"))]
    assert not outside, f"opening README.md asked outside hosts: {outside}"
    page.screenshot(path=str(tmp_path / "readme.png"))


# --- `make lab` on a remote machine: the printed link -------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_without_a_browser_prints_a_link_to_the_start_page(
        page, proxied_env, tmp_path):
    if not (ROOT / "Makefile").exists() or not _which("make"):
        pytest.skip("needs make")
    port = _free_port()
    prefix = Path(sys.prefix)
    args = f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args += " --allow-root"
    # the Makefile's own `lab` recipe, with this environment's jupyter and its
    # set-up step taken as done (-o: do not rebuild the environment)
    cmd = ["make", "--no-print-directory", "-o", str(prefix / ".coursenet-installed"),
           "lab", f"VENV={prefix}", f"BIN={Path(sys.executable).parent}",
           f"LAB_ARGS={args}", f"LAB_STATE={tmp_path / 'lab-state'}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=proxied_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    lines = []
    found = threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if re.search(rf"http://127\.0\.0\.1:{port}/\S*token=", line):
                found.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert found.wait(90), "no URL printed in 90 s:\n" + "".join(lines)[-3000:]
        urls = re.findall(rf"(http://127\.0\.0\.1:{port}/\S+)", "".join(lines))
        assert urls and all(urlsplit(u).path == "/lab/tree/START_HERE.md"
                            for u in urls), urls
        _wait_for_status(f"http://127.0.0.1:{port}")  # (the URL is printed early)
        page.goto(urls[0])
        heading = page.locator(".jp-RenderedMarkdown h1").first
        heading.wait_for(timeout=60_000)
        assert "start here" in heading.inner_text().lower()
        assert page.locator(".jp-Launcher").count() == 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _wait_for_status(url, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/api/status", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answers (403: no token given here)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _which(name):
    from shutil import which

    return which(name)


# --- `make lab` again: the tabs left open start no kernels --------------------

def _make_lab(course, env):
    """``make lab`` (the repository's recipe) serving ``course``, headless, no
    token (as the session's server); its URL and process (a group of its own)."""
    port = _free_port()
    prefix = Path(sys.prefix)
    args = (f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0"
            " --IdentityProvider.token= --ServerApp.password=")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args += " --allow-root"
    cmd = ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-C",
           str(course), "-o", str(prefix / ".coursenet-installed"), "lab",
           f"VENV={prefix}", f"BIN={Path(sys.executable).parent}", f"LAB_ARGS={args}"]
    log = open(course.parent / f"lab-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    url = f"http://127.0.0.1:{port}"
    _wait_for_status(url, timeout=120)
    return url, proc


def _stop_group(proc):
    """SIGTERM to make, the server and its kernels; wait until all are gone."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        deadline = time.monotonic() + grace
        try:
            os.killpg(proc.pid, sig)
            while time.monotonic() < deadline:
                os.killpg(proc.pid, 0)
                proc.poll()
                time.sleep(0.2)
        except ProcessLookupError:
            break
    proc.wait(timeout=10)


def _get(url, path, tries=10):
    """GET a JSON answer; a 500 is asked again: jupyter_server's kernel list
    fails while a kernel is starting (its last_activity not set yet, a race
    in the server, not in the course)."""
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(url + path, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as error:
            if error.code != 500 or attempt == tries - 1:
                raise
            time.sleep(0.5)


def test_reopening_the_course_starts_no_kernel_for_old_tabs(page, proxied_env,
                                                            tmp_path):
    if not _which("make"):
        pytest.skip("needs make")
    course = tmp_path / "course"
    course.mkdir()
    for name in ("START_HERE.md", "README.md"):
        shutil.copy(ROOT / name, course)
    for folder in ("student", "notebooks"):
        (course / folder).mkdir()
        shutil.copy(ROOT / folder / "01_local_gradients.ipynb", course / folder)
    env = proxied_env()
    opened = ["student/01_local_gradients.ipynb", "notebooks/01_local_gradients.ipynb"]

    def saved_tabs():
        data = _get(url, "/lab/api/workspaces/default")["data"]
        return {k.removeprefix("notebook:") for k in data if k.startswith("notebook:")}

    url, proc = _make_lab(course, env)
    try:
        for number, path in enumerate(opened, 1):  # tabs of the default workspace
            page.goto(f"{url}/lab/tree/{path}")
            # (generous: on a loaded machine JupyterLab takes minutes to load)
            page.locator(".jp-NotebookPanel").first.wait_for(timeout=240_000)
            deadline = time.monotonic() + 180
            # its kernel runs, and JupyterLab has saved the tab into the
            # workspace (it does so a moment after a change)
            while len(_get(url, "/api/kernels")) < number or path not in saved_tabs():
                assert time.monotonic() < deadline, (
                    f"no kernel, or no saved tab, for {path}: {saved_tabs()}")
                page.wait_for_timeout(500)  # (lets Playwright route requests)
        assert saved_tabs() == set(opened)
    finally:
        _stop_group(proc)

    url, proc = _make_lab(course, env)  # the course reopened, as the link says
    try:
        page.goto(f"{url}/lab/tree/START_HERE.md")
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab",
                     has_text="START_HERE.md").wait_for(timeout=240_000)
        page.locator(".jp-DirListing-item", has_text="START_HERE.md").wait_for()
        # a restored notebook tab starts its kernel within a second or two of
        # the page; watch for 15 s (a bound on waiting, not a timed assert)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert _get(url, "/api/kernels") == [], "a kernel started on reopening"
            page.wait_for_timeout(500)  # (lets Playwright route requests)
        notebook_tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab",
                                     has_text=".ipynb")
        assert notebook_tabs.count() == 0, "the old notebook tabs were restored"
        page.locator(".jp-RenderedMarkdown h1").first.wait_for()  # the start page
        page.screenshot(path=str(tmp_path / "reopened.png"))
    finally:
        _stop_group(proc)

