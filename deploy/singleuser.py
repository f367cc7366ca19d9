"""Start a course user's Jupyter server, with the course in their home folder.

JupyterHub runs this instead of `jupyterhub-singleuser` (Spawner.cmd in
deploy/jupyterhub_config.py), as the user, in the user's home (which the hub
has just made private, 0700). setup_class.py copies it into the class folder,
from where it runs. Before it hands over to `jupyterhub-singleuser` it gives the
home folder what is missing -- never over a file that is there, so a user's
work is never overwritten:

- everyone: the start page START_HERE.md, the server's default URL. Students
  get the class folder's students' page (it does not point at worked
  solutions, which are not on their server); instructors the course's own.
- everyone, while ~/student is missing: the workbook, by `nbgrader
  fetch_assignment student` from the exchange, as a student would from the
  Assignments tab. So a first login lands on the start page with the workbook
  there, and it is always the instructor's latest release (nothing is copied
  from a checkout). Before the first release the start page says to fetch later.
- instructors (COURSENET_ROLE=instructor): the worked solutions notebooks/ and
  an nbgrader course folder course/ (source/student/ from notebooks/, the
  course's nbgrader_config.py), ready for `nbgrader generate_assignment
  student`. They come from the instructors' copy (COURSENET_COURSE_DIR), which
  only the staff group can read.

JupyterHub has no "fill a new home" step that runs as the user (its
pre_spawn_hook runs in the hub, as root: copying there into a folder the user
controls would follow the user's symlinks as root), hence this small wrapper.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASSIGNMENT = "student"  # deploy/nbgrader_config.py says why


def copy_missing(source: Path, target: Path) -> list[Path]:
    """Copy the files of ``source`` (a file or folder) that ``target`` lacks."""
    copied = []
    if source.is_file():
        if not target.exists() and not target.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append(target)
        return copied
    for path in sorted(source.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            copied += copy_missing(path, target / path.relative_to(source))
    return copied


def provision(home: Path, class_dir: Path, role: str,
              course: Path | None = None) -> list[Path]:
    """Give ``home`` what it lacks of the course; returns the copies.

    ``class_dir`` is the class folder (the students' START_HERE.md);
    ``course`` the instructors' copy, read for instructors only."""
    if role == "instructor":
        if course is None or not (course / "notebooks").is_dir():
            raise FileNotFoundError(
                f"COURSENET_COURSE_DIR={course} has no notebooks/: point it at the"
                " instructors' copy of coursenet (and put the instructor in its"
                " group: deploy/README.md)")
        copied = copy_missing(course / "START_HERE.md", home / "START_HERE.md")
        copied += copy_missing(course / "notebooks", home / "notebooks")
        source = home / "course" / "source" / ASSIGNMENT
        for notebook in sorted((course / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            copied += copy_missing(notebook, source / notebook.name)
        copied += copy_missing(course / "deploy" / "nbgrader_config.py",
                               home / "course" / "nbgrader_config.py")
        return copied
    if not (class_dir / "START_HERE.md").is_file():
        raise FileNotFoundError(
            f"COURSENET_CLASS_DIR={class_dir} has no START_HERE.md: run"
            " deploy/setup_class.py")
    return copy_missing(class_dir / "START_HERE.md", home / "START_HERE.md")


def fetch_workbook(home: Path) -> str:
    """Fetch the released workbook into ``home`` unless it is there; returns
    what happened, in one line for the server's log."""
    if (home / ASSIGNMENT).exists():
        return f"~/{ASSIGNMENT} is there"
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "fetch_assignment", ASSIGNMENT],
        cwd=home, capture_output=True, text=True, timeout=120)
    if run.returncode == 0:
        return f"fetched the released workbook into ~/{ASSIGNMENT}"
    last = (run.stderr.strip().splitlines() or ["(no message)"])[-1]
    return f"no workbook fetched yet (not released?): {last}"


def main(argv: list[str]) -> None:
    home = Path.home()
    class_dir = Path(os.environ.get("COURSENET_CLASS_DIR", HERE))
    course = os.environ.get("COURSENET_COURSE_DIR")
    role = os.environ.get("COURSENET_ROLE", "student")
    for path in provision(home, class_dir, role, Path(course) if course else None):
        print(f"coursenet: copied {path.relative_to(home)}", file=sys.stderr)
    print(f"coursenet: {fetch_workbook(home)}", file=sys.stderr)
    os.execv(sys.executable, [sys.executable, "-m", "jupyterhub.singleuser", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
