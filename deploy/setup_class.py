"""Set up a class on this machine from this checkout (deploy/README.md), as root.

    python3 deploy/setup_class.py [--prefix /srv/coursenet] [--staff coursenet-staff]
                                  [--exchange /srv/nbgrader/exchange] [--no-install]

Idempotent; run it again after every `git pull` of the course. It makes two
copies of the course that never mix (deploy/jupyterhub_config.py says why):

1. this checkout -- the worked solutions in notebooks/ and git's history of
   them -- becomes the instructors' copy: group ``--staff``, mode 0750, so
   only root and the instructors (members of that group) can enter it;
2. the class folder ``--prefix``, readable by everyone: ``venv/``, the course
   environment with the package installed as a copy (a wheel built from this
   checkout, not an editable link back into it) plus JupyterLab, nbgrader and
   JupyterHub; ``START_HERE.md``, the students' start page; ``singleuser.py``
   and ``jupyter/``, what a user's server runs and reads;
3. nbgrader's exchange ``--exchange``, mode 1777 (the hub also checks it at
   every spawn).

Then it checks, as the unprivileged user ``nobody``, what a student's server
needs: the class interpreter runs and imports the course (a venv whose Python
sits under a 0700 home -- pyenv's, say -- fails here, and the message names
the folder), and the instructors' copy cannot be entered.

``--no-install`` keeps an existing ``venv/`` as it is (the hub test builds
its own offline).
"""

from __future__ import annotations

import argparse
import grp
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
COURSE = DEPLOY.parent
PUBLIC_FILES = {  # class folder name: source in this checkout
    "START_HERE.md": DEPLOY / "START_HERE.students.md",
    "singleuser.py": DEPLOY / "singleuser.py",
    "jupyter": DEPLOY / "jupyter",
}


class SetupError(RuntimeError):
    """A step of the set-up failed; the message says which and what to do."""


def private_course(course: Path, staff: str) -> None:
    """Only root and the staff group may enter the instructors' copy."""
    try:
        gid = grp.getgrnam(staff).gr_gid
    except KeyError:
        raise SetupError(f"--staff={staff!r}: no such group; create it first:"
                         f" groupadd {staff}") from None
    os.chown(course, 0, gid)
    course.chmod(0o750)


def make_venv(prefix: Path, python: str) -> Path:
    """``prefix``/venv with the course installed from a wheel of this checkout."""
    venv = prefix / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    # a regular (non-editable) install: site-packages gets a copy of the
    # package and nothing that points back into this checkout
    subprocess.run([*pip, f"{COURSE}[lab,instructor]"], check=True)
    return venv


def copy_public(prefix: Path) -> None:
    """The files every user's server reads, world-readable."""
    for name, source in PUBLIC_FILES.items():
        target = prefix / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, target)
    prefix.chmod(0o755)
    for name in PUBLIC_FILES:
        top = prefix / name
        for path in [top, *top.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def as_nobody(*command: str) -> subprocess.CompletedProcess:
    """Run ``command`` as the unprivileged user nobody (no home, no groups)."""
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                           "--clear-groups", "--", *command],
                          capture_output=True, text=True, cwd="/", env={
                              "PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
                              # a class Python with its libpython elsewhere
                              **{k: v for k, v in os.environ.items()
                                 if k == "LD_LIBRARY_PATH"}})


def blocked_folder(path: Path) -> Path | None:
    """The first folder from / down to ``path`` that others cannot traverse."""
    for folder in reversed([path, *path.parents]):
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def check(prefix: Path, course: Path) -> list[str]:
    """What a student's server needs, tried as ``nobody``; returns the faults."""
    faults = []
    python = prefix / "venv" / "bin" / "python"
    real = python.resolve()
    blocked = blocked_folder(real.parent)
    if blocked is not None:
        faults.append(f"students cannot execute the class interpreter {python}:"
                      f" it is {real}, inside {blocked} (mode"
                      f" {stat.S_IMODE(blocked.stat().st_mode):o}); make the venv"
                      " with a Python outside any private home, e.g. --python"
                      " /usr/bin/python3")
    else:
        run = as_nobody(str(python), "-c",
                        "import coursenet, nbgrader, jupyterhub.singleuser")
        if run.returncode:
            faults.append(f"as nobody, {python} cannot import the course:"
                          f" {run.stderr.strip()[-400:]}")
    run = as_nobody("ls", str(course / "notebooks"))
    if run.returncode == 0:
        faults.append(f"as nobody, the worked solutions {course}/notebooks are"
                      " readable")
    return faults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", type=Path, default=Path("/srv/coursenet"))
    parser.add_argument("--staff", default="coursenet-staff")
    parser.add_argument("--exchange", type=Path,
                        default=Path("/srv/nbgrader/exchange"))
    parser.add_argument("--python", default="/usr/bin/python3",
                        help="the Python the class venv is made from")
    parser.add_argument("--no-install", action="store_true")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("run as root: it sets owners and modes")
    try:
        private_course(COURSE, args.staff)
        args.prefix.mkdir(mode=0o755, parents=True, exist_ok=True)
        if not args.no_install:
            make_venv(args.prefix, args.python)
        copy_public(args.prefix)
        args.exchange.mkdir(parents=True, exist_ok=True)
        args.exchange.chmod(0o1777)
        faults = check(args.prefix, COURSE)
    except (SetupError, subprocess.CalledProcessError) as error:
        print(f"setup_class: {error}", file=sys.stderr)
        return 1
    for fault in faults:
        print(f"setup_class: FAILED: {fault}", file=sys.stderr)
    if not faults:
        print(f"setup_class: class folder {args.prefix}, exchange {args.exchange},"
              f" instructors' copy {COURSE} (group {args.staff}, 0750): checked"
              " as nobody")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
