"""Start a course user's Jupyter server, with the course in their home folder.

JupyterHub runs this instead of `jupyterhub-singleuser` (Spawner.cmd in
deploy/jupyterhub_config.py), as the user, in the user's home. Before it hands
over to `jupyterhub-singleuser` it copies what is missing of the course into
the home folder -- file by file, never over a file that is there, so a
student's work is never overwritten and a notebook added later still arrives:

- everyone: START_HERE.md (the start page, the server's default URL) and the
  workbook student/ (nbgrader's release: the folder `nbgrader submit student`
  hands in, named after the assignment);
- instructors (COURSENET_ROLE=instructor): the worked solutions notebooks/
  and an nbgrader course directory course/ (source/student/ from notebooks/,
  the course's nbgrader_config.py), ready for `nbgrader generate_assignment
  student`.

JupyterHub has no "copy these files into a new home" step of its own (its
pre_spawn_hook runs in the hub, as another user, before the home may exist),
hence this small wrapper.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent


def copy_missing(source: Path, target: Path) -> list[Path]:
    """Copy the files of ``source`` (a file or folder) that ``target`` lacks."""
    copied = []
    if source.is_file():
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.append(target)
        return copied
    for path in sorted(source.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            copied += copy_missing(path, target / path.relative_to(source))
    return copied


def provision(home: Path, course: Path, role: str) -> list[Path]:
    """Give ``home`` what it lacks of the course at ``course``; returns the copies."""
    for needed in ("START_HERE.md", "student", "notebooks"):
        if not (course / needed).exists():
            raise FileNotFoundError(
                f"COURSENET_COURSE_DIR={course} has no {needed}: point it at the"
                " coursenet checkout")
    copied = copy_missing(course / "START_HERE.md", home / "START_HERE.md")
    copied += copy_missing(course / "student", home / "student")
    if role == "instructor":
        copied += copy_missing(course / "notebooks", home / "notebooks")
        source = home / "course" / "source" / "student"
        for notebook in sorted((course / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            copied += copy_missing(notebook, source / notebook.name)
        copied += copy_missing(DEPLOY / "nbgrader_config.py",
                               home / "course" / "nbgrader_config.py")
    return copied


def main(argv: list[str]) -> None:
    home = Path.home()
    course = Path(os.environ.get("COURSENET_COURSE_DIR", DEPLOY.parent))
    role = os.environ.get("COURSENET_ROLE", "student")
    for path in provision(home, course, role):
        print(f"coursenet: copied {path.relative_to(home)}", file=sys.stderr)
    os.execv(sys.executable, [sys.executable, "-m", "jupyterhub.singleuser", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
