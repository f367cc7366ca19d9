"""A class on this machine for the hub test: Unix accounts, the class folder.

Everything here is made under one temporary folder and undone by the test:

- ``Accounts``: Unix users (an instructor, students) and the staff group,
  made with useradd/groupadd (root only) and removed again; so each user's
  server really runs as that user, and file modes are what keeps them apart.
- ``class_venv``: the class environment, offline. deploy/setup_class.py makes
  it with pip from a wheel of the checkout; a test may not download, so here
  it is a venv of this very Python with the test environment's installed
  packages linked in (hard links: the same files, copied in seconds) and the
  coursenet package *copied* in -- not the editable link back into the
  checkout that the test environment has. When this Python sits under a
  private home (pyenv's under /root), its whole installation is linked into
  the class folder too, and its shared libpython found there through
  LD_LIBRARY_PATH (``class_python``): another Python, even of the same minor
  version, may be too old for the packages installed here (soupsieve 4
  needs 3.11.5; Debian 12's is 3.11.2, which pip on Debian would respect).
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

MARK = "coursenet hub test"  # the GECOS field of the test's users


def run_as(user: str, command: list[str], env: dict[str, str], cwd: Path,
           timeout: float = 900, outer: list[str] = ()) -> subprocess.CompletedProcess:
    """Run ``command`` as the Unix ``user`` with its groups, like its server
    (``outer``: a command run as root around it, such as nsenter)."""
    return subprocess.run(
        [*outer, "setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}",
         "--init-groups", "--", *command],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


class Accounts:
    """Test users and groups, removed by ``remove()``."""

    def __init__(self, homes: Path, staff: str):
        self.homes, self.staff = homes, staff
        self.users: list[str] = []
        self._forget(staff)
        subprocess.run(["groupadd", staff], check=True)

    @staticmethod
    def _forget(name: str) -> None:
        """Remove a user or group of an earlier, interrupted run (ours only)."""
        try:
            if pwd.getpwnam(name).pw_gecos == MARK:
                subprocess.run(["userdel", name], check=False)
        except KeyError:
            pass
        subprocess.run(["groupdel", name], check=False, capture_output=True)

    def add(self, name: str, staff: bool = False) -> None:
        self._forget(name)
        subprocess.run(["useradd", "--no-create-home", "--home-dir",
                        str(self.homes / name), "--shell", "/bin/bash",
                        "--comment", MARK, "--user-group",
                        *(["--groups", self.staff] if staff else []), name],
                       check=True)
        self.users.append(name)

    def remove(self) -> None:
        for name in self.users:
            subprocess.run(["userdel", name], check=False)
        subprocess.run(["groupdel", self.staff], check=False)


def others_may_run(path: Path) -> bool:
    """Whether a user other than the owner may execute ``path`` (its real file)."""
    real = path.resolve()
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in real.parents) \
        and bool(real.stat().st_mode & stat.S_IXOTH)


def class_python(folder: Path) -> tuple[Path, dict[str, str]]:
    """This Python, as one every user may execute: itself, or a copy of its
    installation in ``folder``; returns it and the environment it needs."""
    python = Path(sys._base_executable).resolve()
    if others_may_run(python):
        return python, {}
    prefix = Path(sys.base_prefix).resolve()
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()

    def unused(directory, names):  # the base's own packages, the stdlib's tests
        return {"site-packages", "test"} & set(names) \
            if Path(directory).resolve() == stdlib else set()

    _link_tree(prefix, folder, unused)
    return folder / python.relative_to(prefix), {"LD_LIBRARY_PATH": str(folder / "lib")}


def _link_tree(source: Path, target: Path, ignore=None) -> None:
    """``target`` gets ``source``'s files as hard links (copies across devices)."""
    try:
        shutil.copytree(source, target, symlinks=True, copy_function=os.link,
                        dirs_exist_ok=True, ignore=ignore)
    except OSError:
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True,
                        ignore=ignore)


def class_venv(venv: Path, package: Path) -> tuple[Path, dict[str, str]]:
    """The class environment at ``venv`` (module docstring); returns its python
    and the environment it needs."""
    python, env = class_python(venv.parent / "python")
    run_env = dict(os.environ, **env)
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)],
                   check=True, env=run_env)
    here = Path(sysconfig.get_paths()["purelib"])
    there = Path(subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, env=run_env).stdout.strip())
    _link_tree(here, there)
    for leftover in [*there.glob("__editable__*coursenet*"),
                     *there.glob("coursenet-*.dist-info")]:
        leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)
    shutil.copytree(package, there / "coursenet",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for data in ("etc", "share"):  # Jupyter's settings and extensions
        if (Path(sys.prefix) / data).is_dir():
            _link_tree(Path(sys.prefix) / data, venv / data)
    _entry_points(Path(sys.prefix) / "bin", venv / "bin")
    return venv / "bin" / "python", env


def _entry_points(source: Path, target: Path) -> None:
    """The console scripts (nbgrader, jupyter ...), run by the class python."""
    shebang = f"#!{target / 'python'}\n"
    for script in source.iterdir():
        if script.is_dir() or (target / script.name).exists():
            continue
        try:
            lines = script.read_text().splitlines(keepends=True)
        except UnicodeDecodeError:
            continue
        if lines and lines[0].startswith("#!") and "python" in lines[0]:
            (target / script.name).write_text(shebang + "".join(lines[1:]))
            (target / script.name).chmod(0o755)


def readable_files(roots: list[Path], user: str, env: dict[str, str],
                   python: Path, suffixes: tuple[str, ...],
                   skip: tuple[Path, ...] = ()) -> list[str]:
    """Every file under ``roots`` (but not under ``skip``) that ``user`` can
    open, of those ``suffixes``."""
    script = (
        "import os, sys\n"
        "suffixes = tuple(sys.argv[1].split(','))\n"
        "skip = set(sys.argv[2].split(',')) if sys.argv[2] else set()\n"
        "for root in sys.argv[3:]:\n"
        "    for folder, subs, names in os.walk(root, followlinks=False):\n"
        "        subs[:] = [s for s in subs if os.path.join(folder, s) not in skip]\n"
        "        for name in names:\n"
        "            path = os.path.join(folder, name)\n"
        "            if name.endswith(suffixes) and os.access(path, os.R_OK):\n"
        "                print(path)\n")
    run = run_as(user, [str(python), "-c", script, ",".join(suffixes),
                        ",".join(map(str, skip)), *map(str, roots)], env, Path("/"))
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()
