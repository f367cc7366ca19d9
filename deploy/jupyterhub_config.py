"""JupyterHub for a coursenet class on one server (deploy/README.md).

    deploy/node_modules/.bin/configurable-http-proxy   # from `npm ci --prefix deploy`
    jupyterhub -f deploy/jupyterhub_config.py           # as root, from the course env

Every setting a class changes comes from an environment variable, so this file
stays as it is (the hub test loads it unchanged and only swaps the
authenticator and the spawner for test ones):

COURSENET_HUB_URL       where the hub listens (default http://127.0.0.1:8000:
                        put a TLS reverse proxy in front of it, or set
                        c.JupyterHub.ssl_cert/ssl_key)
COURSENET_INSTRUCTORS   comma-separated user names: hub admins, who also get
                        the worked solutions and an nbgrader course folder
COURSENET_GROUP         the Unix group whose members may log in (default coursenet)
COURSENET_EXCHANGE      nbgrader's exchange folder (default /srv/nbgrader/exchange)
COURSENET_IDLE_TIMEOUT  seconds after which an idle user server is stopped
                        (default 3600)
COURSENET_COURSE_DIR    the coursenet checkout to copy from (default: this
                        file's repository)
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (traitlets' config loader defines it)

DEPLOY = Path(__file__).resolve().parent
COURSE = Path(os.environ.get("COURSENET_COURSE_DIR", DEPLOY.parent)).resolve()
INSTRUCTORS = {name.strip() for name in
               os.environ.get("COURSENET_INSTRUCTORS", "").split(",") if name.strip()}
EXCHANGE = os.environ.get("COURSENET_EXCHANGE", "/srv/nbgrader/exchange")
IDLE_TIMEOUT = int(os.environ.get("COURSENET_IDLE_TIMEOUT", "3600"))
ENV_BIN = Path(sys.executable).parent  # the course environment (venv or conda)

c.JupyterHub.bind_url = os.environ.get("COURSENET_HUB_URL", "http://127.0.0.1:8000")
# configurable-http-proxy from npm, installed beside this file (package-lock.json)
c.ConfigurableHTTPProxy.command = [
    str(DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy")]

# Who: the server's Unix accounts (PAM), members of one group; instructors are
# admins. For a university login use an OAuthenticator instead (deploy/README.md).
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {os.environ.get("COURSENET_GROUP", "coursenet")}
c.Authenticator.admin_users = INSTRUCTORS

# Each user's server: the course environment, the start page first, the course
# copied into the home folder on every start (only what is missing: singleuser.py).
c.Spawner.cmd = [sys.executable, str(DEPLOY / "singleuser.py")]
c.Spawner.default_url = "/lab/tree/START_HERE.md"
c.Spawner.environment = {
    "PATH": os.pathsep.join([str(ENV_BIN), os.environ.get("PATH", "/usr/bin:/bin")]),
    "COURSENET_COURSE_DIR": str(COURSE),
    "COURSENET_EXCHANGE": EXCHANGE,
    # nbgrader's exchange and course id for everyone (jupyter/nbgrader_config.py)
    "JUPYTER_CONFIG_PATH": str(DEPLOY / "jupyter"),
}
# Honoured by the SystemdSpawner and the DockerSpawner, not by the default
# LocalProcessSpawner (deploy/README.md: the sizing per student).
c.Spawner.mem_limit = os.environ.get("COURSENET_MEM_LIMIT", "2G")
c.Spawner.cpu_limit = float(os.environ.get("COURSENET_CPU_LIMIT", "1"))
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120


def _role(spawner):
    spawner.environment["COURSENET_ROLE"] = (
        "instructor" if spawner.user.name in INSTRUCTORS else "student")


c.Spawner.pre_spawn_hook = _role

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
