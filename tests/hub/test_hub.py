"""A class on one machine: the course's JupyterHub (deploy/), end to end.

``test_a_class_on_one_machine`` (marked ``hub``; run it alone with
``pytest -m hub``, .ci/run does) starts deploy/jupyterhub_config.py -- loaded
unchanged; only the authenticator and the spawner are swapped for test ones
(passwords, and user servers as this Unix user in homes under a temporary
folder) -- on 127.0.0.1 with an instructor and three students. A student logs
in with Chromium, lands on the start page, opens the workbook, runs a check and
submits with nbgrader in a JupyterLab terminal; the instructor releases
beforehand and then collects and autogrades; the gradebook has the submission.
Chromium talks through the recording proxy of the browser tests: nothing may
leave the machine.

The other tests here are quick and run in ``make test``: the hub configuration
loads, and the course is copied into a home without overwriting work.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
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

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROXY_BIN = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
CHROMIUM = os.environ.get("COURSENET_CHROMIUM", "/usr/bin/chromium")
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from recording_proxy import RecordingProxy  # noqa: E402

SPEC = importlib.util.spec_from_file_location("singleuser", DEPLOY / "singleuser.py")
singleuser = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(singleuser)

STUDENTS = ("alice", "bob", "carol")
INSTRUCTOR = "instructor"
PASSWORD = "course-test-password"  # the test authenticator's shared password
TOKEN = "coursenet-hub-test-token-0123456789abcdef"  # the test's admin service
IDLE_TIMEOUT = 120  # s; the culler looks every IDLE_TIMEOUT / 2 s


# --- quick: the configuration and the copy into a home ---------------------------

def load_hub_config(env):
    from traitlets.config.loader import PyFileConfigLoader

    old = dict(os.environ)
    os.environ.update(env)
    try:
        return PyFileConfigLoader("jupyterhub_config.py", str(DEPLOY)).load_config()
    finally:
        os.environ.clear()
        os.environ.update(old)


def test_hub_config_serves_the_course():
    pytest.importorskip("jupyterhub", reason="JupyterHub is in the [dev] extra")
    cfg = load_hub_config({"COURSENET_INSTRUCTORS": "ada, turing",
                           "COURSENET_IDLE_TIMEOUT": "1800"})
    assert cfg.Spawner.default_url == "/lab/tree/START_HERE.md"
    assert cfg.Spawner.cmd[1] == str(DEPLOY / "singleuser.py")
    assert cfg.Authenticator.admin_users == {"ada", "turing"}
    assert cfg.ConfigurableHTTPProxy.command == [str(PROXY_BIN)]
    assert Path(cfg.Spawner.environment["JUPYTER_CONFIG_PATH"], "nbgrader_config.py") \
        .exists()
    culler = {s["name"]: s for s in cfg.JupyterHub.services}["idle-culler"]
    assert culler["command"][1:] == ["-m", "jupyterhub_idle_culler", "--timeout=1800"]
    role = {r["name"]: r for r in cfg.JupyterHub.load_roles}["idle-culler"]
    assert {"list:users", "delete:servers"} <= set(role["scopes"])
    lock = json.loads((DEPLOY / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/configurable-http-proxy"]["version"]


def test_a_home_gets_the_course_once_and_keeps_the_work(tmp_path):
    home = tmp_path / "alice"
    copied = singleuser.provision(home, ROOT, "student")
    names = {str(p.relative_to(home)) for p in copied}
    assert "START_HERE.md" in names and "student/01_local_gradients.ipynb" in names
    assert not (home / "notebooks").exists() and not (home / "course").exists()
    work = home / "student" / "02_scalar_backprop.ipynb"
    work.write_text("my work", encoding="utf-8")
    (home / "student" / "03_scalar_training.ipynb").unlink()
    again = singleuser.provision(home, ROOT, "student")
    assert [p.relative_to(home).as_posix() for p in again] == [
        "student/03_scalar_training.ipynb"]  # the missing one only
    assert work.read_text(encoding="utf-8") == "my work"

    teacher = tmp_path / "ada"
    singleuser.provision(teacher, ROOT, "instructor")
    assert (teacher / "course" / "nbgrader_config.py").exists()
    assert sorted(p.name for p in (teacher / "course/source/student").iterdir()) == \
        sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    with pytest.raises(FileNotFoundError, match="COURSENET_COURSE_DIR"):
        singleuser.provision(tmp_path / "x", tmp_path, "student")


# --- the class --------------------------------------------------------------------

def _missing():
    for module in ("jupyterhub", "jupyterhub_idle_culler", "nbgrader",
                   "playwright.sync_api"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[dev]')"
    if not PROXY_BIN.exists():
        return ("configurable-http-proxy is not installed: npm ci --prefix deploy"
                " (.ci/run does)")
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what, predicate, timeout, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


TEST_CONFIG = '''\
import os

# The course's hub configuration, unchanged ...
load_subconfig({deploy_config!r})  # noqa: F821

# ... with a test authenticator (one shared password) and user servers that run
# as this Unix user, each in its own home folder under the test's folder.
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {homes!r} + "/{{username}}"
c.Spawner.args = ["--ServerApp.allow_root=True"]
c.Spawner.env_keep.extend(["COURSENET_OFFLINE", "COURSENET_DATA"])
# all servers share one Unix account here, so nbgrader would name every
# submission after it: a test layer names them after the hub user instead
c.Spawner.environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
    [c.Spawner.environment["JUPYTER_CONFIG_PATH"], {layer!r}])
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.pid_file = {state!r} + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + {state!r} + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {state!r} + "/cookie_secret"
c.JupyterHub.services.append({{"name": "test-admin", "api_token": {token!r}}})
c.JupyterHub.load_roles.append({{
    "name": "test-admin", "services": ["test-admin"],
    "scopes": ["admin:users", "admin:servers", "list:services", "read:services"]}})
'''

TEST_LAYER = '''\
import os
c = get_config()  # noqa: F821
if os.environ.get("COURSENET_ROLE") == "student":
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
'''


class Hub:
    def __init__(self, tmp: Path, course: Path):
        self.tmp = tmp
        self.homes = tmp / "homes"
        self.exchange = tmp / "exchange"
        self.state = tmp / "state"
        layer = tmp / "test-layer"
        for folder in (self.homes, self.exchange, self.state, layer):
            folder.mkdir()
        (layer / "nbgrader_config.py").write_text(TEST_LAYER)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp / "jupyterhub_test_config.py"
        config.write_text(TEST_CONFIG.format(
            deploy_config=str(DEPLOY / "jupyterhub_config.py"), password=PASSWORD,
            users={INSTRUCTOR, *STUDENTS}, homes=str(self.homes), layer=str(layer),
            hub_port=_free_port(), api_port=_free_port(), state=str(self.state),
            token=TOKEN))
        self.env = dict(
            os.environ,
            PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                  os.environ["PATH"]]),
            COURSENET_HUB_URL=self.url, COURSENET_INSTRUCTORS=INSTRUCTOR,
            COURSENET_EXCHANGE=str(self.exchange), COURSENET_COURSE_DIR=str(course),
            COURSENET_OFFLINE="1",
            # short enough to see the culler stop idle servers within the test
            COURSENET_IDLE_TIMEOUT=str(IDLE_TIMEOUT))
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            self.env.pop(name, None)
        self.log_path = tmp / "hub.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=self.state,
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def api(self, method, path, body=None):
        request = urllib.request.Request(
            f"{self.url}/hub/api{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {TOKEN}"})
        with self.opener.open(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError("jupyterhub exited:\n" + self.tail())
        try:
            with self.opener.open(self.url + "/hub/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def start_server(self, user):
        self.api("POST", f"/users/{user}/server")
        _wait(f"{user}'s server", lambda: self.api("GET", f"/users/{user}")
              ["servers"].get("", {}).get("ready"), 120)

    def tail(self):
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the hub stops its servers
            self.proc.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.log.close()


def user_env(hub: Hub, user: str, role: str) -> dict[str, str]:
    """What a terminal in ``user``'s server has (the spawner's environment)."""
    return dict(hub.env, HOME=str(hub.homes / user), JUPYTERHUB_USER=user,
                COURSENET_ROLE=role,
                JUPYTER_CONFIG_PATH=str(DEPLOY / "jupyter"))


def nbgrader(hub, args, timeout=900):
    course = hub.homes / INSTRUCTOR / "course"
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                         env=user_env(hub, INSTRUCTOR, "instructor"),
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"nbgrader {args}:\n{run.stderr[-3000:]}"
    return run


def serve_course(folder: Path) -> Path:
    """The course as the hub serves it (COURSENET_COURSE_DIR): the start page,
    notebooks/ and student/ generated from them now by `make student`'s script,
    so the test does not depend on the committed student/ being in sync
    (tests/test_student.py checks that)."""
    spec = importlib.util.spec_from_file_location(
        "make_student", ROOT / "scripts" / "make_student.py")
    make_student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_student)
    (folder / "notebooks").mkdir(parents=True)
    shutil.copyfile(ROOT / "START_HERE.md", folder / "START_HERE.md")
    for path in make_student.solution_notebooks(ROOT):
        shutil.copyfile(path, folder / "notebooks" / path.name)
    grade_old_derivations(folder / "notebooks")
    assert make_student.main([], root=folder) == 0
    return folder


def grade_old_derivations(source: Path):
    """Until notebooks/ follow NOTEBOOK_CONVENTIONS.md, nbgrader refuses 01's
    ungraded written answers: grade them (1 point) in the served copy."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    for path in sorted(source.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        try:
            MetadataValidator().validate_nb(nb)
            continue
        except ValidationError:
            pass
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("solution") \
                    and not meta.get("grade"):
                meta.update(grade=True, points=1)
        nbformat.write(nb, path)
        print(f"(old notebooks) graded the written answers of {path.name}")


def _chromium_args():
    """The browser tests' Chromium switches (no calling home)."""
    spec = importlib.util.spec_from_file_location(
        "coursenet_browser_conftest", ROOT / "tests" / "browser" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CHROMIUM_ARGS


@pytest.mark.hub
def test_a_class_on_one_machine(tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright

    times = {}
    start = time.perf_counter()
    hub = Hub(tmp_path, serve_course(tmp_path / "checkout"))
    times["course generated"] = time.perf_counter() - start
    try:
        _wait("the hub's /hub/health", hub.healthy, 120)
        times["hub up"] = time.perf_counter() - start
        services = {s["name"]: s for s in hub.api("GET", "/services").values()}
        assert "idle-culler" in services, services  # the culler runs as a service
        assert services["idle-culler"]["command"][-1].startswith("--timeout=")

        # the instructor's server gets an nbgrader course folder; release
        hub.start_server(INSTRUCTOR)
        course = hub.homes / INSTRUCTOR / "course"
        assert (course / "nbgrader_config.py").exists()
        assert (hub.homes / INSTRUCTOR / "notebooks").is_dir()
        nbgrader(hub, ["generate_assignment", "student"])
        nbgrader(hub, ["release_assignment", "student"])
        assert (hub.exchange / "coursenet" / "outbound" / "student").is_dir()
        times["released"] = time.perf_counter() - start

        with RecordingProxy() as proxy, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=_chromium_args() + [f"--proxy-server={proxy.url}",
                                         "--proxy-bypass-list=<-loopback>"])
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.set_default_timeout(60_000)
            try:
                # a student logs in and lands on the start page
                page.goto(hub.url + "/hub/login")
                page.fill("#username_input", "alice")
                page.fill("#password_input", PASSWORD)
                page.click("#login_submit")
                page.wait_for_url(re.compile(r"/user/alice/lab/tree/START_HERE\.md"),
                                  timeout=120_000)
                page.locator(".jp-RenderedMarkdown").get_by_text(
                    re.compile("start here", re.I)).first.wait_for()
                times["alice on the start page"] = time.perf_counter() - start
                home = hub.homes / "alice"
                assert (home / "student" / "01_local_gradients.ipynb").exists()
                assert not (home / "notebooks").exists()  # no solutions for students

                # opens the workbook and runs it up to the first check
                page.goto(hub.url
                          + "/user/alice/lab/tree/student/01_local_gradients.ipynb")
                page.locator(".jp-StatusBar-TextItem",
                             has_text=re.compile(r"\| Idle")).wait_for(timeout=120_000)
                page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
                page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
                page.locator(".jp-OutputArea-output").get_by_text(
                    "not implemented yet").first.wait_for(timeout=120_000)
                times["alice ran a check"] = time.perf_counter() - start

                # submits with nbgrader in a JupyterLab terminal
                page.locator("#jp-MainMenu").get_by_text("File", exact=True).click()
                page.locator('.lm-Menu-item[data-command="launcher:create"]').click()
                page.locator(".jp-LauncherCard", has_text="Terminal").first.click()
                terminal = page.locator(".jp-Terminal").last
                terminal.wait_for()
                terminal.click()
                # xterm draws on a canvas, so there is no prompt text to wait
                # for; a moment for the shell to start
                page.wait_for_timeout(1000)
                page.keyboard.type("cd ~ && nbgrader submit student > submit.log 2>&1;"
                                   " echo $? > submit.status\n")
                inbound = hub.exchange / "coursenet" / "inbound"
                _wait("alice's submission in the exchange",
                      lambda: (home / "submit.status").exists(), 120)
                assert (home / "submit.status").read_text().strip() == "0", \
                    (home / "submit.log").read_text()
                assert [p.name.split("+")[0] for p in inbound.iterdir()] == ["alice"]
                times["alice submitted"] = time.perf_counter() - start
            except BaseException:
                shot = tmp_path / "hub-failure.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot of the failing page: {shot}")
                raise
            browser.close()
        assert not proxy.outside(), f"a request tried to leave: {proxy.outside()}"
        assert any(host == "127.0.0.1" for _, host, _, _ in proxy.seen())

        # a second student has a home and a workbook of her own
        hub.start_server("bob")
        assert (hub.homes / "bob" / "student" / "01_local_gradients.ipynb").exists()

        # the instructor collects and autogrades
        nbgrader(hub, ["collect", "student"])
        assert (course / "submitted" / "alice" / "student").is_dir()
        nbgrader(hub, ["autograde", "student"], timeout=1800)
        times["autograded"] = time.perf_counter() - start
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            submission = gb.find_submission("student", "alice")
            assert len(submission.notebooks) == len(list(
                (course / "source" / "student").glob("*.ipynb")))
            assert submission.code_score == 0  # nothing written yet
            assert [s.id for s in gb.students] == ["alice"]
        # bob's server has been idle since it started: the culler stops it
        _wait("the idle culler to stop bob's server",
              lambda: not hub.api("GET", "/users/bob")["servers"], 2 * IDLE_TIMEOUT)
        assert "Culling server bob" in hub.log_path.read_text(errors="replace")
        times["bob culled"] = time.perf_counter() - start
        print("hub times (s since start):",
              {k: round(v, 1) for k, v in times.items()})
    except BaseException:
        print(hub.tail())
        raise
    finally:
        hub.stop()
    assert hub.proc.returncode is not None
