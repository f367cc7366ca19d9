"""JupyterHub for a coursenet class on one server (deploy/README.md).

    python3 deploy/setup_class.py     # as root, once and after each git pull
    npm ci --prefix deploy            # configurable-http-proxy
    /srv/coursenet/venv/bin/jupyterhub -f deploy/jupyterhub_config.py  # as root

Two copies of the course, kept apart so that no student can read the answers:

- the **instructors' copy** is this checkout (worked solutions in notebooks/,
  and in git's history): readable by root and the staff group only
  (setup_class.py makes it so; a spawn is refused while others can enter it);
- the **class folder** (COURSENET_CLASS_DIR, default /srv/coursenet), readable
  by everyone: the course environment (venv/, the package installed as a copy,
  not as a link to this checkout), the students' start page, singleuser.py and
  the Jupyter settings below. Students' servers run from it and nothing else.

The workbook reaches students through nbgrader's exchange: the instructor
releases it, each student's server fetches it on first start (singleuser.py).

Every setting a class changes comes from an environment variable, so this file
stays as it is (the hub test loads it unchanged and only swaps the
authenticator for a test one):

COURSENET_HUB_URL       where the hub listens (default http://127.0.0.1:8000:
                        put a TLS reverse proxy in front of it, or set
                        c.JupyterHub.ssl_cert/ssl_key)
COURSENET_HUB_API_URL   the hub's internal API, for the servers and the proxy
                        (default http://127.0.0.1:8081)
COURSENET_PROXY_API_URL the proxy's REST API (default http://127.0.0.1:8001)
COURSENET_INSTRUCTORS   comma-separated user names: hub admins, who also get
                        the worked solutions and an nbgrader course folder
                        (they must be in the staff group to read this checkout)
COURSENET_GROUP         the Unix group whose members may log in (default coursenet)
COURSENET_EXCHANGE      nbgrader's exchange folder (default /srv/nbgrader/exchange)
COURSENET_CLASS_DIR     the class folder (default /srv/coursenet)
COURSENET_IDLE_TIMEOUT  seconds after which an idle user server is stopped
                        (default 3600)
COURSENET_COURSE_DIR    the instructors' copy (default: this file's repository)
"""

import os
import pwd
import stat
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (traitlets' config loader defines it)

DEPLOY = Path(__file__).resolve().parent
COURSE = Path(os.environ.get("COURSENET_COURSE_DIR", DEPLOY.parent)).resolve()
CLASS = Path(os.environ.get("COURSENET_CLASS_DIR", "/srv/coursenet"))
CLASS_BIN = CLASS / "venv" / "bin"
INSTRUCTORS = {name.strip() for name in
               os.environ.get("COURSENET_INSTRUCTORS", "").split(",") if name.strip()}
EXCHANGE = Path(os.environ.get("COURSENET_EXCHANGE", "/srv/nbgrader/exchange"))
IDLE_TIMEOUT = int(os.environ.get("COURSENET_IDLE_TIMEOUT", "3600"))

c.JupyterHub.bind_url = os.environ.get("COURSENET_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_bind_url = os.environ.get("COURSENET_HUB_API_URL",
                                           "http://127.0.0.1:8081")
c.ConfigurableHTTPProxy.api_url = os.environ.get("COURSENET_PROXY_API_URL",
                                                 "http://127.0.0.1:8001")
# configurable-http-proxy from npm, installed beside this file (package-lock.json)
c.ConfigurableHTTPProxy.command = [
    str(DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy")]

# Who: the server's Unix accounts (PAM), members of one group; instructors are
# admins. For a university login use an OAuthenticator instead (deploy/README.md).
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {os.environ.get("COURSENET_GROUP", "coursenet")}
c.Authenticator.admin_users = INSTRUCTORS

# Each user's server runs as the user, from the class folder only (a student
# cannot execute anything in this checkout), the start page first.
c.Spawner.cmd = [str(CLASS_BIN / "python"), str(CLASS / "singleuser.py")]
c.Spawner.default_url = "/lab/tree/START_HERE.md"
c.Spawner.environment = {
    "PATH": os.pathsep.join([str(CLASS_BIN), "/usr/local/bin:/usr/bin:/bin"]),
    "COURSENET_CLASS_DIR": str(CLASS),
    "COURSENET_COURSE_DIR": str(COURSE),
    "COURSENET_EXCHANGE": str(EXCHANGE),
}
# Honoured by the SystemdSpawner and the DockerSpawner, not by the default
# LocalProcessSpawner (deploy/README.md: the sizing per student).
c.Spawner.mem_limit = os.environ.get("COURSENET_MEM_LIMIT", "2G")
c.Spawner.cpu_limit = float(os.environ.get("COURSENET_CPU_LIMIT", "1"))
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120


def others_can_enter(path: Path) -> Path | None:
    """The first folder on the way to ``path`` that users outside its owner
    and group may not traverse, or None when others can reach ``path``."""
    for folder in [path, *path.parents]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return None
    return path


def private_home(home: Path, uid: int, gid: int) -> None:
    """Make ``home`` the user's, mode 0700, whatever useradd did (Debian 12's
    useradd -m gives 0755 unless HOME_MODE is set in /etc/login.defs)."""
    if not home.exists():
        home.mkdir(mode=0o700, parents=True)
        os.chown(home, uid, gid)
    info = home.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != uid:
        raise PermissionError(f"{home} is not a folder owned by uid {uid}: not"
                              " starting a server in it")
    if stat.S_IMODE(info.st_mode) != 0o700:
        home.chmod(0o700)


def shared_exchange(root: Path) -> None:
    """nbgrader's exchange root: everyone may create their course/submission
    folders (0777) but only a folder's owner may rename or delete it (the
    sticky bit), so no student can replace the instructor's release."""
    if not root.exists():
        root.mkdir(parents=True)
    if stat.S_IMODE(root.stat().st_mode) != 0o1777:
        root.chmod(0o1777)


def before_spawn(spawner):
    """Runs in the hub (root, on a real class) before each user server."""
    instructor = spawner.user.name in INSTRUCTORS
    spawner.environment["COURSENET_ROLE"] = "instructor" if instructor else "student"
    # Settings for every user, then (students) the instructor's tools switched
    # off: deploy/jupyter/student/ (copied into the class folder).
    config = [CLASS / "jupyter"] if instructor else [CLASS / "jupyter" / "student",
                                                     CLASS / "jupyter"]
    spawner.environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join(map(str, config))
    if os.geteuid() != 0:
        return  # a hub run as one user (a developer's try): nothing to protect
    # the whole checkout, not only notebooks/: git's history holds the answers too
    if others_can_enter(COURSE) is not None:
        raise PermissionError(
            f"{COURSE} holds the worked solutions and every user may enter it:"
            f" run deploy/setup_class.py (chgrp the staff group, chmod 0750)")
    shared_exchange(EXCHANGE)
    account = pwd.getpwnam(spawner.user.name)
    private_home(Path(account.pw_dir), account.pw_uid, account.pw_gid)


c.Spawner.pre_spawn_hook = before_spawn

# Idle servers are stopped (their files stay): the jupyterhub-idle-culler service.
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                f"--timeout={IDLE_TIMEOUT}"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers",
               "delete:servers"],
    "services": ["idle-culler"],
}]
