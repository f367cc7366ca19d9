"""The course's contents manager: the worked solutions can be read, never written."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("jupyter_server")

from tornado.web import HTTPError  # noqa: E402

from coursenet.lab import CourseContentsManager  # noqa: E402


@pytest.fixture
def course(tmp_path):
    for folder in ("notebooks", "student"):
        (tmp_path / folder).mkdir()
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / folder / "02_x.ipynb")
    return tmp_path


def run(coro):
    """Run ``coro`` to completion on this module's own event loop, in one worker
    thread: another test in the same session may leave an event loop running in
    the main thread, where asyncio refuses to start a second one, and the
    contents manager's notary (sqlite) must stay in the thread that created it."""
    return _WORKER.submit(_LOOP.run_until_complete, coro).result()


_WORKER = ThreadPoolExecutor(max_workers=1)
_LOOP = asyncio.new_event_loop()


def notebook_model(manager, path):
    return run(manager.get(path))


def refused(coro, path):
    with pytest.raises(HTTPError) as err:
        run(coro)
    assert err.value.status_code == 403
    assert path.strip("/") in err.value.log_message
    assert "Save Notebook As" in err.value.log_message


def test_solutions_are_read_only_and_the_workbook_is_not(course):
    manager = CourseContentsManager(root_dir=str(course))
    original = (course / "notebooks/02_x.ipynb").read_bytes()
    assert run(manager.get("notebooks/02_x.ipynb"))["writable"] is False
    assert run(manager.get("student/02_x.ipynb"))["writable"] is True
    listing = run(manager.get("notebooks"))
    assert listing["writable"] is False
    assert {i["writable"] for i in listing["content"]} == {False}
    top = {i["name"]: i["writable"] for i in run(manager.get(""))["content"]}
    assert top == {"notebooks": False, "student": True}

    model = notebook_model(manager, "notebooks/02_x.ipynb")
    refused(manager.save(model, "notebooks/02_x.ipynb"), "notebooks/02_x.ipynb")
    refused(manager.save(model, "/notebooks/new.ipynb"), "notebooks/new.ipynb")
    refused(manager.delete("notebooks/02_x.ipynb"), "notebooks/02_x.ipynb")
    refused(manager.rename("notebooks/02_x.ipynb", "student/y.ipynb"),
            "notebooks/02_x.ipynb")
    refused(manager.rename("student/02_x.ipynb", "notebooks/02_x.ipynb"),
            "notebooks/02_x.ipynb")
    refused(manager.rename("notebooks", "solutions"), "notebooks")
    refused(manager.create_checkpoint("notebooks/02_x.ipynb"), "notebooks/02_x.ipynb")
    refused(manager.new_untitled("notebooks", type="notebook"), "notebooks/")
    assert run(manager.list_checkpoints("notebooks/02_x.ipynb")) == []
    assert (course / "notebooks/02_x.ipynb").read_bytes() == original
    # nothing was written there, not even an empty .ipynb_checkpoints folder
    assert sorted(p.name for p in (course / "notebooks").iterdir()) == ["02_x.ipynb"]

    # the workbook saves as usual, and "Save As" of a solution into it works
    saved = run(manager.save(model, "student/02_copy.ipynb"))
    assert saved["writable"] is True
    assert (course / "student/02_copy.ipynb").exists()


def test_a_detour_does_not_reach_the_solutions(course):
    manager = CourseContentsManager(root_dir=str(course))
    os.symlink(course / "notebooks", course / "student" / "link")
    model = notebook_model(manager, "student/02_x.ipynb")
    assert run(manager.get("student/link/02_x.ipynb"))["writable"] is False
    refused(manager.save(model, "student/link/02_x.ipynb"), "student/link/02_x.ipynb")
    refused(manager.save(model, "student/../notebooks/02_x.ipynb"),
            "student/../notebooks/02_x.ipynb")


def test_the_rule_can_be_configured(course):
    editable = CourseContentsManager(root_dir=str(course), read_only_dirs=[])
    model = notebook_model(editable, "notebooks/02_x.ipynb")
    assert model["writable"] is True
    run(editable.save(model, "notebooks/02_x.ipynb"))
    student_only = CourseContentsManager(root_dir=str(course),
                                         read_only_dirs=["student"])
    assert run(student_only.get("student/02_x.ipynb"))["writable"] is False
    assert run(student_only.get("notebooks/02_x.ipynb"))["writable"] is True


def test_a_folder_is_not_copied_into_the_solutions(course):
    # jupyter_server copies a folder with shutil.copytree, past save()
    manager = CourseContentsManager(root_dir=str(course))
    refused(manager.copy("student", "notebooks"), "notebooks")
    refused(manager.copy("student", "/notebooks/"), "notebooks")
    os.mkdir(course / "notebooks" / "sub")
    refused(manager.copy("notebooks/sub"), "notebooks")  # beside the original
    assert sorted(p.name for p in (course / "notebooks").iterdir()) == [
        "02_x.ipynb", "sub"]
    # out of the solutions, and anywhere else, folders copy as before
    copied = run(manager.copy("notebooks/sub", "student"))
    assert copied["path"] == "student/sub" and (course / "student/sub").is_dir()
    run(manager.copy("student", ""))
    assert (course / "student-Copy1" / "02_x.ipynb").exists()


# --- `make lab` itself: a real server, over its REST API ----------------------

ROOT = Path(__file__).resolve().parents[1]
LAB_DIRS = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
            "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PLATFORM_DIRS",
            "IPYTHONDIR", "MPLCONFIGDIR", "JUPYTERLAB_SETTINGS_DIR",
            "JUPYTERLAB_WORKSPACES_DIR", "npm_config_cache")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MadeLab:
    """``make lab`` in ``course`` (its own Makefile recipe, this environment's
    jupyter, the set-up step taken as done), headless on 127.0.0.1, no token,
    with HOME set to ``home`` and a token (requests that carry it need no XSRF
cookie); every Jupyter/IPython/matplotlib directory left
    to its default, so whatever the recipe does not move would land in HOME."""

    def __init__(self, course, home):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = (f"--no-browser --ip=127.0.0.1 --port={self.port}"
                " --ServerApp.port_retries=0 --IdentityProvider.token=course-test")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args += " --allow-root"
        env = {k: v for k, v in os.environ.items() if k not in LAB_DIRS
               and k != "COURSENET_DATA" and not k.startswith("XDG_")}
        env.update(HOME=str(home), COURSENET_OFFLINE="1")
        prefix = Path(sys.prefix)
        self.cmd = ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"),
                    "-C", str(course), "-o", str(prefix / ".coursenet-installed"),
                    "lab", f"VENV={prefix}", f"BIN={Path(sys.executable).parent}",
                    f"LAB_ARGS={args}"]
        self.env, self.tmp = env, course.parent
        self.log = course.parent / f"lab-{self.port}.log"
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __enter__(self):
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                self.api("GET", "/api/status")
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    pytest.fail("make lab did not serve:\n"
                                + self.log.read_text()[-3000:])
                time.sleep(0.3)

    def __exit__(self, *exc):
        """Stop it as a terminal's Ctrl+C would, and wait for the whole process
        group (make, the server, its kernels) to be gone."""
        for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            deadline = time.monotonic() + grace
            try:
                os.killpg(self.proc.pid, sig)
                while time.monotonic() < deadline:
                    os.killpg(self.proc.pid, 0)  # ProcessLookupError: all gone
                    self.proc.poll()
                    time.sleep(0.2)
            except ProcessLookupError:
                break
        self.proc.wait(timeout=10)

    def api(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": "token course-test"})
        with self.opener.open(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None


def _course(tmp_path):
    course = tmp_path / "course"
    (course / "student").mkdir(parents=True)
    (course / "notebooks").mkdir()
    shutil.copy(ROOT / "START_HERE.md", course)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for folder in ("student", "notebooks"):
        nbformat.write(nb, course / folder / "01_x.ipynb")
    return course


@pytest.mark.server
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_folder_copies_into_the_solutions_are_refused_over_rest(tmp_path):
    course = _course(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    with MadeLab(course, home) as lab:
        with pytest.raises(urllib.error.HTTPError) as err:
            lab.api("POST", "/api/contents/notebooks", {"copy_from": "student"})
        assert err.value.code == 403
        assert "read-only" in json.loads(err.value.read())["message"]
        # the same request into the workbook still copies
        made = lab.api("POST", "/api/contents/student", {"copy_from": "notebooks"})
        assert made["path"] == "student/notebooks"
    assert sorted(p.name for p in (course / "notebooks").iterdir()) == ["01_x.ipynb"]


def _run_a_cell(lab, path):
    """Open ``path`` as JupyterLab does (a session with a kernel), run a cell
    that draws with matplotlib, ask for a completion, save the notebook."""
    from jupyter_client import BlockingKernelClient

    session = lab.api("POST", "/api/sessions", {
        "path": path, "type": "notebook", "name": "",
        "kernel": {"name": "python3"}})
    kernel = session["kernel"]["id"]
    # wherever the recipe put the kernel's connection file (HOME or the course)
    found = list(lab.tmp.rglob(f"kernel-{kernel}.json"))
    assert len(found) == 1, found
    client = BlockingKernelClient()
    client.load_connection_file(str(found[0]))
    client.start_channels()
    try:
        # (not wait_for_ready: on a loaded machine its one-second heartbeat
        # check calls a slow kernel dead; the reply is what counts)
        client.kernel_info()
        assert client.get_shell_msg(timeout=120)["msg_type"] == "kernel_info_reply"
        printed = []
        reply = client.execute_interactive(
            "import io, matplotlib\nmatplotlib.use('agg')\n"
            "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
            "plt.savefig(io.BytesIO())\n"
            "from coursenet.mnist import default_cache_dir\n"
            "print(default_cache_dir(), end='')",
            timeout=120, output_hook=lambda msg: printed.append(
                msg["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
        client.complete("import numpy\nnumpy.ar")
        client.get_shell_msg(timeout=60)
    finally:
        client.stop_channels()
    model = lab.api("GET", f"/api/contents/{path}")
    lab.api("PUT", f"/api/contents/{path}", model)  # signs it: nbsignatures.db
    return "".join(printed)


def _workspace_notebooks(lab):
    data = lab.api("GET", "/lab/api/workspaces/default")["data"]
    return sorted(key for key in data if key.startswith("notebook:"))


def _everything_in(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.server
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_writes_nothing_into_home_and_reopens_without_old_tabs(tmp_path):
    course = _course(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    with MadeLab(course, home) as lab:
        data_cache = _run_a_cell(lab, "student/01_x.ipynb")
        # what JupyterLab's front end saves as the student works: the open
        # tabs; restored, each notebook tab would start its own kernel
        tabs = {f"notebook:{d}/01_x.ipynb": {"data": {"path": f"{d}/01_x.ipynb",
                                                       "factory": "Notebook"}}
                for d in ("student", "notebooks")}
        lab.api("PUT", "/lab/api/workspaces/default",
                {"data": tabs, "metadata": {"id": "default"}})
        assert _workspace_notebooks(lab) == sorted(tabs)
    assert _everything_in(home) == []
    # what Jupyter, IPython and matplotlib wrote is in the course's .lab/
    kept = _everything_in(course / ".lab")
    for made in ("ipython/profile_default/history.sqlite", "data/nbsignatures.db",
                 "workspaces/default-37a8.jupyterlab-workspace"):
        assert made in kept, kept
    assert any(p.startswith("matplotlib/") for p in kept), kept
    assert any(p.startswith("cache/jedi/") for p in kept), kept  # the completion
    if sys.platform.startswith("linux"):
        # the MNIST download cache stays the documented one, shared by every
        # copy of the course (nothing is downloaded here: offline)
        assert data_cache == str(home / ".cache" / "coursenet")

    with MadeLab(course, home) as lab:  # the course reopened
        assert _workspace_notebooks(lab) == []
        assert lab.api("GET", "/api/kernels") == []
        _run_a_cell(lab, "student/01_x.ipynb")
    assert _everything_in(home) == []
