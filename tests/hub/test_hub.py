"""A class on one machine: the course's JupyterHub (deploy/), end to end.

``test_a_class_on_one_machine`` (marked ``hub``; run it alone with
``pytest -m hub``, .ci/run does; it needs root) sets up a class as
deploy/README.md does, under one temporary folder: Unix accounts (an
instructor in the staff group, three students), the instructors' copy of the
course made private and the class folder made by deploy/setup_class.py, and
deploy/jupyterhub_config.py -- loaded unchanged but for a test authenticator
(one password) -- on 127.0.0.1, with a /proc that hides other users'
processes (what the systemd unit's ProtectProc=invisible does). Each user's
server runs as that user.

The instructor releases; a student logs in with Chromium and lands on the
students' start page with the workbook fetched, has the Assignment List but no
Create Assignment panel, Formgrader or course list, runs a check and submits.
As that student's Unix user the test then tries to read another student's
home, the instructor's course folder and copy, to rename the exchange, and
looks for a worked solution in every file it can read. The instructor edits
and re-releases: a student logging in later fetches the edited workbook. The
instructor collects, autogrades, exports grades and releases one student's
feedback. A server left idle is stopped by the culler. Chromium talks through
the recording proxy of the browser tests: nothing may leave the machine.

The other tests here are quick and run in ``make test``.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import runpy
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import classroom  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROXY_BIN = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
CHROMIUM = os.environ.get("COURSENET_CHROMIUM", "/usr/bin/chromium")
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from recording_proxy import RecordingProxy  # noqa: E402

SPEC = importlib.util.spec_from_file_location("singleuser", DEPLOY / "singleuser.py")
singleuser = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(singleuser)

PREFIX = "cnhub"  # the test's Unix names: cnhub-ada, cnhub-alice ...
INSTRUCTOR = f"{PREFIX}-ada"
ALICE, BOB, CAROL = (f"{PREFIX}-{name}" for name in ("alice", "bob", "carol"))
STAFF = f"{PREFIX}-staff"
PASSWORD = "course-test-password"  # the test authenticator's shared password
TOKEN = "coursenet-hub-test-token-0123456789abcdef"  # the test's admin service
IDLE_TIMEOUT = 120  # s; the culler looks every IDLE_TIMEOUT / 2 s
ERRATUM = "Erratum (second release): the instructor edited this notebook."
CREATE_ASSIGNMENT = "#nbgrader-create_assignemnt"  # nbgrader's id (sic)


# --- quick: the configuration, the copy into a home, the start page -------------

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
                           "COURSENET_IDLE_TIMEOUT": "1800",
                           "COURSENET_CLASS_DIR": "/srv/class",
                           "COURSENET_HUB_API_URL": "http://127.0.0.1:18081",
                           "COURSENET_PROXY_API_URL": "http://127.0.0.1:18001"})
    assert cfg.Spawner.default_url == "/lab/tree/START_HERE.md"
    # servers run from the class folder only, never from this checkout
    assert cfg.Spawner.cmd == ["/srv/class/venv/bin/python", "/srv/class/singleuser.py"]
    assert cfg.JupyterHub.hub_bind_url == "http://127.0.0.1:18081"
    assert cfg.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:18001"
    assert cfg.Authenticator.admin_users == {"ada", "turing"}
    assert cfg.ConfigurableHTTPProxy.command == [str(PROXY_BIN)]
    culler = {s["name"]: s for s in cfg.JupyterHub.services}["idle-culler"]
    assert culler["command"][1:] == ["-m", "jupyterhub_idle_culler", "--timeout=1800"]
    role = {r["name"]: r for r in cfg.JupyterHub.load_roles}["idle-culler"]
    assert {"list:users", "delete:servers"} <= set(role["scopes"])
    lock = json.loads((DEPLOY / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/configurable-http-proxy"]["version"]
    unit = (DEPLOY / "jupyterhub.service").read_text()
    assert "ProtectProc=invisible" in unit  # hidepid for every server the hub starts


def hub_functions():
    """deploy/jupyterhub_config.py's helpers, without a JupyterHub."""
    from traitlets.config import Config

    return runpy.run_path(str(DEPLOY / "jupyterhub_config.py"),
                          init_globals={"get_config": Config})


def test_homes_are_made_private_and_the_exchange_sticky(tmp_path):
    hub = hub_functions()
    home = tmp_path / "home"
    home.mkdir(mode=0o755)  # what Debian 12's `useradd -m` leaves
    hub["private_home"](home, os.getuid(), os.getgid())
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    with pytest.raises(PermissionError, match="not a folder owned"):
        hub["private_home"](home, os.getuid() + 1, os.getgid())
    (tmp_path / "link").symlink_to(home)
    with pytest.raises(PermissionError, match="not a folder owned"):
        hub["private_home"](tmp_path / "link", os.getuid(), os.getgid())
    new = tmp_path / "new" / "home"
    hub["private_home"](new, os.getuid(), os.getgid())
    assert stat.S_IMODE(new.stat().st_mode) == 0o700
    exchange = tmp_path / "exchange"
    hub["shared_exchange"](exchange)
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    exchange.chmod(0o777)  # the hub: no sticky bit
    hub["shared_exchange"](exchange)
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    assert hub["others_can_enter"](tmp_path) is None  # pytest's folder is 0700
    private = Path(tempfile.mkdtemp())  # in /tmp, which everyone may enter
    try:
        (private / "course").mkdir()
        private.chmod(0o750)
        assert hub["others_can_enter"](private / "course") is None
        private.chmod(0o755)
        assert hub["others_can_enter"](private / "course") == private / "course"
    finally:
        shutil.rmtree(private)


def test_a_home_gets_the_course_once_and_keeps_the_work(tmp_path):
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    shutil.copyfile(DEPLOY / "START_HERE.students.md", class_dir / "START_HERE.md")
    home = tmp_path / "alice"
    copied = singleuser.provision(home, class_dir, "student", ROOT)
    assert [p.relative_to(home).as_posix() for p in copied] == ["START_HERE.md"]
    assert (home / "START_HERE.md").read_text() == \
        (DEPLOY / "START_HERE.students.md").read_text()
    (home / "START_HERE.md").write_text("my notes", encoding="utf-8")
    assert singleuser.provision(home, class_dir, "student", ROOT) == []
    assert (home / "START_HERE.md").read_text(encoding="utf-8") == "my notes"
    assert not (home / "notebooks").exists() and not (home / "course").exists()

    teacher = tmp_path / "ada"
    singleuser.provision(teacher, class_dir, "instructor", ROOT)
    assert (teacher / "course" / "nbgrader_config.py").read_text() == \
        (DEPLOY / "nbgrader_config.py").read_text()
    assert sorted(p.name for p in (teacher / "course/source/student").iterdir()) == \
        sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert (teacher / "START_HERE.md").read_text() == \
        (ROOT / "START_HERE.md").read_text()
    with pytest.raises(FileNotFoundError, match="COURSENET_COURSE_DIR"):
        singleuser.provision(tmp_path / "x", class_dir, "instructor", tmp_path)
    with pytest.raises(FileNotFoundError, match="COURSENET_CLASS_DIR"):
        singleuser.provision(tmp_path / "x", tmp_path, "student", ROOT)


def test_the_students_start_page_leads_to_the_workbook_not_the_answers():
    page = (DEPLOY / "START_HERE.students.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", page)
    assert "student/01_local_gradients.ipynb" in links
    for link in links:
        assert not link.startswith("notebooks"), link
        assert (ROOT / link).exists(), link  # the workbook's own names
    assert "notebooks/" not in page


def test_students_servers_have_no_instructor_tools():
    page = json.loads((DEPLOY / "jupyter/student/labconfig/page_config.json")
                      .read_text())
    assert set(page["disabledExtensions"]) == {
        "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
        "@jupyter/nbgrader:course-list"}
    server = json.loads((DEPLOY / "jupyter/student/jupyter_server_config.d"
                         / "coursenet-student.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False}


def test_the_term_has_a_due_date_and_a_late_policy(tmp_path):
    """deploy/nbgrader_config.py's term: `nbgrader db assignment add student`
    writes its due date into the gradebook; 10 % off per started day late."""
    from nbgrader.api import Gradebook
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", str(DEPLOY)).load_config()
    late = cfg.AssignLatePenalties.plugin_class()
    day = 86400
    for seconds, penalty in ((1, 0.8), (day, 0.8), (day + 1, 1.6), (3 * day, 2.4),
                             (10 * day, 8.0), (40 * day, 8.0)):
        assert late.late_submission_penalty("s", 8.0, seconds) == \
            pytest.approx(penalty), seconds
    shutil.copyfile(DEPLOY / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    run = subprocess.run([sys.executable, "-m", "nbgrader", "db", "assignment", "add",
                          "student"], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, PATH=os.pathsep.join(  # alembic
                             [str(Path(sys.executable).parent), os.environ["PATH"]])))
    assert run.returncode == 0, run.stderr
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        due = gb.find_assignment("student").duedate
    assert due.strftime("%Y-%m-%d %H:%M:%S UTC") == cfg.DbAssignmentAddApp.duedate


def test_z2jh_values_follow_the_same_rules():
    single = yaml.safe_load((DEPLOY / "z2jh/values.yaml").read_text())["singleuser"]
    hook = " ".join(single["lifecycleHooks"]["postStart"]["exec"]["command"])
    assert "notebooks" not in hook and "fetch_assignment student" in hook
    files = single["extraFiles"]
    assert "disabledExtensions" in files["student-labconfig"]["stringData"]
    assert "formgrader" in files["student-server-config"]["stringData"]
    assert "chmod 1777" in (DEPLOY / "z2jh/README.md").read_text()


# --- the class --------------------------------------------------------------------

def _missing():
    if os.geteuid() != 0:
        return "needs root: it makes Unix accounts for the class (.ci/run runs as root)"
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
    for tool in ("useradd", "setpriv", "unshare"):
        if not shutil.which(tool):
            return f"no {tool}"
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
# The course's hub configuration, unchanged ...
load_subconfig({deploy_config!r})  # noqa: F821

# ... with a test authenticator (one shared password); the servers run as the
# users' own Unix accounts (the default LocalProcessSpawner)
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allowed_users = {users!r}
c.Spawner.env_keep.extend(["COURSENET_OFFLINE"])
# what the test's copy of its Python needs (tests/hub/classroom.py)
c.Spawner.environment.update({python_env!r})
c.ConfigurableHTTPProxy.pid_file = {state!r} + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + {state!r} + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {state!r} + "/cookie_secret"
c.JupyterHub.services.append({{"name": "test-admin", "api_token": {token!r}}})
c.JupyterHub.load_roles.append({{
    "name": "test-admin", "services": ["test-admin"],
    "scopes": ["admin:users", "admin:servers", "list:services", "read:services"]}})
'''

# what the unit's ProtectProc=invisible gives the hub and every server it starts
HIDEPID = 'mount -t proc -o hidepid=invisible proc /proc && exec "$@"'


class Class:
    """The class's machine: accounts, the two copies of the course, the hub."""

    def __init__(self, base: Path):
        self.base = base
        self.homes = base / "homes"
        self.checkout = base / "checkout"  # the instructors' copy
        self.class_dir = base / "class"
        self.exchange = base / "exchange"
        self.state = base / "state"
        for folder in (self.homes, self.state):
            folder.mkdir(mode=0o755)
        self.state.chmod(0o700)
        self.accounts = classroom.Accounts(self.homes, STAFF)
        self.accounts.add(INSTRUCTOR, staff=True)
        for student in (ALICE, BOB, CAROL):
            self.accounts.add(student)
        # what `useradd -m` does on Debian 12: a home every user may read
        (self.homes / ALICE).mkdir(mode=0o755)
        shutil.chown(self.homes / ALICE, ALICE, ALICE)

    def set_up(self) -> None:
        """deploy/README.md's set-up: the checkout, the class folder."""
        serve_course(self.checkout)
        self.python, self.python_env = classroom.class_venv(
            self.class_dir / "venv", ROOT / "src" / "coursenet")
        run = subprocess.run(
            [sys.executable, str(self.checkout / "deploy/setup_class.py"),
             "--prefix", str(self.class_dir), "--staff", STAFF,
             "--exchange", str(self.exchange), "--no-install"],
            capture_output=True, text=True, env=dict(os.environ, **self.python_env))
        assert run.returncode == 0, run.stdout + run.stderr

    def start_hub(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = self.state / "jupyterhub_test_config.py"
        config.write_text(TEST_CONFIG.format(
            deploy_config=str(self.checkout / "deploy/jupyterhub_config.py"),
            password=PASSWORD, users={INSTRUCTOR, ALICE, BOB, CAROL},
            state=str(self.state), token=TOKEN, python_env=self.python_env))
        self.env = dict(
            os.environ, COURSENET_HUB_URL=self.url,
            COURSENET_HUB_API_URL=f"http://127.0.0.1:{_free_port()}",
            COURSENET_PROXY_API_URL=f"http://127.0.0.1:{_free_port()}",
            COURSENET_INSTRUCTORS=INSTRUCTOR, COURSENET_CLASS_DIR=str(self.class_dir),
            COURSENET_EXCHANGE=str(self.exchange), COURSENET_OFFLINE="1",
            # short enough to see the culler stop idle servers within the test
            COURSENET_IDLE_TIMEOUT=str(IDLE_TIMEOUT))
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            self.env.pop(name, None)
        self.log_path = self.state / "hub.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
             HIDEPID, "sh", sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=self.state, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
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

    def user_env(self, user: str) -> dict[str, str]:
        """What a terminal in ``user``'s server has (the spawner's environment)."""
        instructor = user == INSTRUCTOR
        config = [self.class_dir / "jupyter"]
        if not instructor:
            config.insert(0, self.class_dir / "jupyter" / "student")
        return {"HOME": str(self.homes / user), "USER": user, "LANG": "C.UTF-8",
                "PATH": f"{self.python.parent}:/usr/bin:/bin",
                "COURSENET_ROLE": "instructor" if instructor else "student",
                "COURSENET_EXCHANGE": str(self.exchange), "COURSENET_OFFLINE": "1",
                "JUPYTER_CONFIG_PATH": os.pathsep.join(map(str, config)),
                **self.python_env}

    def as_user(self, user, command, cwd=None, timeout=900, in_hub=False):
        """``command`` as ``user``; ``in_hub``: in the hub's mount namespace
        (its /proc), where the user's server runs."""
        outer = ["nsenter", f"--target={self.proc.pid}", "--mount", "--"] \
            if in_hub else []
        return classroom.run_as(user, command, self.user_env(user),
                                cwd or self.homes / user, timeout, outer)

    def nbgrader(self, user, args, timeout=900):
        cwd = self.homes / user / ("course" if user == INSTRUCTOR else "")
        began = time.perf_counter()
        run = self.as_user(user, [str(self.python), "-m", "nbgrader", *args], cwd,
                           timeout)
        assert run.returncode == 0, f"{user}: nbgrader {args}:\n{run.stderr[-3000:]}"
        print(f"nbgrader {' '.join(args)}: {time.perf_counter() - began:.1f} s")
        return run

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

    def clean(self):
        for user in self.accounts.users:  # anything a user left running
            subprocess.run(["pkill", "-KILL", "-u", user], check=False)
        self.accounts.remove()
        shutil.rmtree(self.base, ignore_errors=True)


def serve_course(folder: Path) -> Path:
    """The instructors' copy: the start page, notebooks/ and deploy/ (without
    its node_modules, linked from here)."""
    spec = importlib.util.spec_from_file_location(
        "make_student", ROOT / "scripts" / "make_student.py")
    make_student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_student)
    (folder / "notebooks").mkdir(parents=True)
    shutil.copyfile(ROOT / "START_HERE.md", folder / "START_HERE.md")
    for path in make_student.solution_notebooks(ROOT):
        shutil.copyfile(path, folder / "notebooks" / path.name)
    grade_old_derivations(folder / "notebooks")
    shutil.copytree(DEPLOY, folder / "deploy",
                    ignore=shutil.ignore_patterns("node_modules", "__pycache__"))
    (folder / "deploy" / "node_modules").symlink_to(DEPLOY / "node_modules")
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


def solution_fingerprints(notebooks: Path, release: Path) -> set[str]:
    """Lines of the worked solutions that neither the release (what students
    are given) nor the package has: code between BEGIN/END SOLUTION, the
    written model answers."""
    package = "\n".join(p.read_text() for p in (ROOT / "src/coursenet").rglob("*.py"))
    given = set()
    for path in sorted(release.glob("*.ipynb")):
        given |= set(lines_of(path))
    lines = set()
    for path in sorted(notebooks.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if not cell.metadata.get("nbgrader", {}).get("solution"):
                continue
            source = cell.source
            if cell.cell_type == "code":
                source = source.split("### BEGIN SOLUTION")[-1].split(
                    "### END SOLUTION")[0]
            lines |= {line.strip() for line in source.splitlines()
                      if len(line.strip()) >= 30 and line.strip() not in package}
    lines -= given
    assert len(lines) > 20, "too few solution lines to look for"
    return lines


def lines_of(path: Path) -> list[str]:
    """The stripped lines of a file; of a notebook, of its cells' sources."""
    text = path.read_text(errors="replace")
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text)["cells"]
            text = "\n".join("".join(cell["source"]) for cell in cells)
        except (ValueError, KeyError, TypeError):
            pass  # not a notebook: its text
    return [line.strip() for line in text.splitlines()]


def points_of(notebooks: Path) -> float:
    """The course's points: the sum of the graded cells' points."""
    return sum(cell.metadata["nbgrader"].get("points", 0)
               for path in sorted(notebooks.glob("*.ipynb"))
               for cell in nbformat.read(path, as_version=4).cells
               if cell.metadata.get("nbgrader", {}).get("grade"))


def _chromium_args():
    """The browser tests' Chromium switches (no calling home)."""
    spec = importlib.util.spec_from_file_location(
        "coursenet_browser_conftest", ROOT / "tests" / "browser" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CHROMIUM_ARGS


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def a_class():
    reason = _missing()
    if reason:
        pytest.skip(reason)
    base = Path(tempfile.mkdtemp(prefix="coursenet-hub-"))
    base.chmod(0o755)  # the users' homes are in here
    room = Class(base)
    try:
        yield room
    finally:
        if hasattr(room, "proc"):
            room.stop()
        room.clean()


@pytest.mark.hub
def test_a_class_on_one_machine(a_class):
    from playwright.sync_api import sync_playwright

    room, times, start = a_class, {}, time.perf_counter()
    room.set_up()
    times["set up"] = time.perf_counter() - start
    room.start_hub()
    try:
        _wait("the hub's /hub/health", room.healthy, 120)
        times["hub up"] = time.perf_counter() - start
        release(room)
        times["released"] = time.perf_counter() - start
        with RecordingProxy() as proxy, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=_chromium_args() + [f"--proxy-server={proxy.url}",
                                         "--proxy-bypass-list=<-loopback>"])
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.set_default_timeout(60_000)
            try:
                a_student_works_and_submits(room, page, times, start)
            except BaseException:
                shot = room.state / "hub-failure.png"
                page.screenshot(path=str(shot), full_page=True)
                shutil.copyfile(shot, Path(tempfile.gettempdir()) / "hub-failure.png")
                print(f"screenshot: {Path(tempfile.gettempdir()) / 'hub-failure.png'}")
                raise
            browser.close()
        assert not proxy.outside(), f"a request tried to leave: {proxy.outside()}"
        assert any(host == "127.0.0.1" for _, host, _, _ in proxy.seen())

        room.start_server(BOB)  # left idle from now on: the culler's
        nobody_reads_another_s_work(room)
        times["alice's attempts refused"] = time.perf_counter() - start
        print("hub times so far (s):", {k: round(v, 1) for k, v in times.items()})
        an_edited_release_reaches_students(room)
        times["edited release fetched"] = time.perf_counter() - start
        the_term_ends(room)
        times["graded, exported, feedback"] = time.perf_counter() - start
        _wait("the idle culler to stop bob's server",
              lambda: not room.api("GET", f"/users/{BOB}")["servers"], 2 * IDLE_TIMEOUT)
        assert f"Culling server {BOB}" in room.log_path.read_text(errors="replace")
        times["bob culled"] = time.perf_counter() - start
        assert "No nbgrader_config.py" not in room.log_path.read_text(errors="replace")
        print("hub times (s since start):", {k: round(v, 1) for k, v in times.items()})
    except BaseException:
        print(room.tail())
        raise


def release(room: Class):
    """The instructor's first start and release (deploy/README.md, the term)."""
    room.start_server(INSTRUCTOR)
    home = room.homes / INSTRUCTOR
    assert mode(home) == 0o700 and home.stat().st_uid == \
        __import__("pwd").getpwnam(INSTRUCTOR).pw_uid
    assert (home / "course" / "nbgrader_config.py").exists()
    assert (home / "notebooks").is_dir()
    room.nbgrader(INSTRUCTOR, ["generate_assignment", "student"])
    room.nbgrader(INSTRUCTOR, ["release_assignment", "student"])
    assert (room.exchange / "coursenet" / "outbound" / "student").is_dir()
    assert mode(room.exchange) == 0o1777


def a_student_works_and_submits(room: Class, page, times, start):
    home = room.homes / ALICE
    assert mode(home) == 0o755  # as useradd -m left it, until her first start
    page.goto(room.url + "/hub/login")
    page.fill("#username_input", ALICE)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{ALICE}/lab/tree/START_HERE\.md"),
                      timeout=120_000)
    rendered = page.locator(".jp-RenderedMarkdown")
    rendered.get_by_text(re.compile("start here", re.I)).first.wait_for()
    times["alice on the start page"] = time.perf_counter() - start
    assert mode(home) == 0o700  # the hub made it private
    # the students' start page, and the workbook fetched from the release
    assert (home / "START_HERE.md").read_text() == \
        (DEPLOY / "START_HERE.students.md").read_text()
    assert rendered.locator('a[href*="notebooks/"]').count() == 0
    assert (home / "student" / "01_local_gradients.ipynb").exists()
    assert not (home / "notebooks").exists()

    # nbgrader for students: the Assignment List, not the instructor's tools
    page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).click()
    menu = page.locator(".lm-Menu-content").last
    menu.get_by_text("Assignment List", exact=True).wait_for()
    assert menu.get_by_text("Formgrader").count() == 0
    assert menu.get_by_text("Course List").count() == 0
    menu.get_by_text("Assignment List", exact=True).click()
    page.locator(".jp-MainAreaWidget").get_by_text(
        "Downloaded assignments").first.wait_for()
    assert page.locator(CREATE_ASSIGNMENT).count() == 0
    for path, status in (("formgrader", 404), ("formgraders", 404),
                         ("assignments?course_id=coursenet", 200)):
        answer = page.request.get(f"{room.url}/user/{ALICE}/{path}")
        assert answer.status == status, (path, answer.status)

    # opens the workbook and runs it up to the first check
    page.goto(room.url + f"/user/{ALICE}/lab/tree/student/01_local_gradients.ipynb")
    page.locator(".jp-StatusBar-TextItem",
                 has_text=re.compile(r"\| Idle")).wait_for(timeout=120_000)
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
    page.locator(".jp-OutputArea-output").get_by_text(
        "not implemented yet").first.wait_for(timeout=120_000)
    assert page.locator(CREATE_ASSIGNMENT).count() == 0
    times["alice ran a check"] = time.perf_counter() - start

    # submits with nbgrader in a JupyterLab terminal
    page.locator("#jp-MainMenu").get_by_text("File", exact=True).click()
    page.locator('.lm-Menu-item[data-command="launcher:create"]').click()
    page.locator(".jp-LauncherCard", has_text="Terminal").first.click()
    terminal = page.locator(".jp-Terminal").last
    terminal.wait_for()
    terminal.click()
    # xterm draws on a canvas, so there is no prompt text to wait for
    page.wait_for_timeout(1000)
    page.keyboard.type("cd ~ && nbgrader submit student > submit.log 2>&1;"
                       " echo $? > submit.status\n")
    _wait("alice's submission", lambda: (home / "submit.status").exists(), 120)
    assert (home / "submit.status").read_text().strip() == "0", \
        (home / "submit.log").read_text()
    times["alice submitted"] = time.perf_counter() - start


def nobody_reads_another_s_work(room: Class):
    """Alice's attempts, as her Unix user (what her terminal runs as)."""
    bob_home = room.homes / BOB
    assert mode(bob_home) == 0o700 and (bob_home / "student").is_dir()
    course = room.homes / INSTRUCTOR / "course"
    for target in (bob_home, bob_home / "student" / "01_local_gradients.ipynb",
                   course, course / "source", room.checkout,
                   room.checkout / "notebooks"):
        run = room.as_user(ALICE, ["cat" if target.is_file() else "ls", str(target)])
        assert run.returncode != 0 and "Permission denied" in run.stderr, target
    # the exchange: her own course folder is refused, and so is replacing ours
    mine = room.exchange / "coursenet"
    for attempt in (["mv", str(mine), str(room.exchange / "gone")],
                    ["rm", "-rf", str(mine / "outbound")],
                    ["mv", str(mine / "outbound"), str(mine / "gone")]):
        run = room.as_user(ALICE, attempt)
        assert run.returncode != 0, attempt
    assert (mine / "outbound" / "student").is_dir()
    inbound = room.as_user(ALICE, ["ls", str(mine / "inbound")])
    assert inbound.returncode != 0  # nobody lists the others' submissions
    # no other user's process: /proc shows hers only (hidepid)
    ps = room.as_user(ALICE, ["ps", "-eo", "user:32="], in_hub=True)
    assert ps.returncode == 0 and set(ps.stdout.split()) == {ALICE}, ps.stdout
    # no worked solution in anything she can read
    fingerprints = solution_fingerprints(
        room.checkout / "notebooks", room.homes / INSTRUCTOR / "course/release/student")
    site = Path(room.as_user(ALICE, [str(room.python), "-c",
                                     "import coursenet; print(coursenet.__file__)"])
                .stdout.strip()).parents[1]
    roots = [room.base] + ([] if room.base in site.parents else [site])
    files = classroom.readable_files(
        roots, ALICE, room.user_env(ALICE), room.python,
        (".ipynb", ".py", ".md", ".txt", ".json", ".html"),
        skip=(room.class_dir / "python",))  # the test's copy of CPython, if any
    assert any(f.endswith("student/01_local_gradients.ipynb") for f in files)
    leaks = [f for f in files if fingerprints.intersection(lines_of(Path(f)))]
    assert not leaks, f"worked solutions readable by a student: {leaks[:5]}"


def an_edited_release_reaches_students(room: Class):
    """The instructor edits a notebook and releases again; carol's first login
    fetches the edited workbook."""
    source = room.homes / INSTRUCTOR / "course/source/student/01_local_gradients.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(ERRATUM))
    nbformat.write(nb, source)
    shutil.chown(source, INSTRUCTOR, INSTRUCTOR)
    room.nbgrader(INSTRUCTOR, ["generate_assignment", "student", "--force"])
    room.nbgrader(INSTRUCTOR, ["release_assignment", "student", "--force"])
    room.start_server(CAROL)
    fetched = room.homes / CAROL / "student" / "01_local_gradients.ipynb"
    assert ERRATUM in fetched.read_text()
    assert ERRATUM not in (room.homes / ALICE / "student/01_local_gradients.ipynb") \
        .read_text()  # her own copy is never overwritten


def the_term_ends(room: Class):
    """Collect, autograde, export with the course's points, one student's feedback."""
    course = room.homes / INSTRUCTOR / "course"
    room.nbgrader(INSTRUCTOR, ["collect", "student"])
    assert (course / "submitted" / ALICE / "student").is_dir()
    room.nbgrader(INSTRUCTOR, ["autograde", "student"], timeout=1800)
    room.nbgrader(INSTRUCTOR, ["export"])
    with open(course / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    alice = [r for r in rows if r["student_id"] == ALICE]
    assert len(alice) == 1
    assert float(alice[0]["max_score"]) == points_of(room.checkout / "notebooks")
    assert float(alice[0]["score"]) == 0  # nothing written yet
    for secret in (course / "gradebook.db", course / "grades.csv"):
        run = room.as_user(ALICE, ["cat", str(secret)])
        assert run.returncode != 0, secret
    room.nbgrader(INSTRUCTOR, ["generate_feedback", "student", "--student", ALICE])
    room.nbgrader(INSTRUCTOR, ["release_feedback", "student", "--student", ALICE])
    room.nbgrader(ALICE, ["fetch_feedback", "student"])
    feedback = list((room.homes / ALICE / "student" / "feedback").rglob("*.html"))
    assert len(feedback) == len(list((course / "source/student").glob("*.ipynb")))
