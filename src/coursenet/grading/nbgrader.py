"""nbgrader preprocessors: sandboxed execution and trusted scores.

``deploy/nbgrader_config.py`` sets ``Autograde.autograde_preprocessors`` to
nbgrader's own list with :class:`SandboxedExecute` in place of ``Execute``
(nbgrader would run the student's notebook as the instructor, in the
instructor's home) and :class:`TrustedChecks` right after it. The instructor's
commands stay ``nbgrader autograde``, ``generate_feedback`` and ``export``;
nbgrader's ``SaveAutoGrades`` still scores each test cell by whether its
outputs hold an error, but those outputs are now the trusted verdict.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from coursenet.grading import codec, sandbox
from coursenet.grading.channel import Channel, Stopped
from coursenet.grading.judge import Budget, NotebookJudge, is_test_cell


def _folders(preprocessor, resources):
    """The course's release, source and this submission's folders."""
    course = CourseDirectory(config=preprocessor.config)
    info = resources["nbgrader"]
    assignment, student = info["assignment"], info["student"]
    return (Path(course.format_path(course.release_directory, ".", assignment)),
            Path(course.format_path(course.source_directory, ".", assignment)),
            Path(course.format_path(course.submitted_directory, student, assignment)),
            Path(course.root))


def _require_sandbox():
    reason = sandbox.available()
    if reason:
        raise RuntimeError(f"coursenet's trusted grader cannot run: {reason}")


class SandboxedExecute(Execute):
    """nbgrader's Execute, but the kernel runs inside the sandbox as nobody."""

    wall_clock = Integer(
        1800, help="Seconds for the whole notebook inside the sandbox.",
    ).tag(config=True)
    memory = Integer(2 * 2**30, help="Address-space limit, bytes.").tag(config=True)

    def preprocess(self, nb, resources):
        _require_sandbox()
        _, _, submitted, _ = _folders(self, resources)
        limits = sandbox.Limits(memory=self.memory, cpu=self.wall_clock)
        import tempfile

        from coursenet.grading.judge import _copy_notebooks, _package_binds

        with tempfile.TemporaryDirectory(prefix="coursenet-feedback-") as tmp:
            os.chmod(tmp, 0o755)
            work = _copy_notebooks(submitted if submitted.is_dir() else None,
                                   Path(tmp) / "submission")
            box = sandbox.Sandbox([os.path.abspath(os.sys.executable), "-m",
                                   "coursenet.grading.run_notebook"],
                                  binds=[(str(work), "/submission")],
                                  overlays=_package_binds(), cwd="/submission",
                                  limits=limits)
            try:
                reply, problem = self._run(box, nb)
            finally:
                box.stop()
        self._copy_outputs(nb, reply, problem)
        return nb, resources

    def _run(self, box, nb):
        channel = Channel(box.read_fd, box.write_fd, lambda m: {"op": "raise"},
                          deadline=time.monotonic() + self.wall_clock)
        try:
            channel.send({"op": "job", "notebook": json.loads(nbformat.writes(nb)),
                          "timeout": self.timeout, "cwd": "/submission",
                          "kernel": nb.metadata.get("kernelspec", {}).get("name")})
            reply = channel.receive()
        except (Stopped, codec.DecodeError) as exc:
            why = (f"it did not finish in {self.wall_clock} s" if str(exc) == "timeout"
                   else "the sandbox stopped (out of memory or CPU time, or the"
                   " notebook ended its own process)")
            return None, ("your notebook was not run to its end for this feedback:"
                          f" {why}")
        return reply, reply.get("problem")

    def _copy_outputs(self, nb, reply, problem):
        outputs = reply.get("outputs") if isinstance(reply, dict) else None
        if not isinstance(outputs, list) or len(outputs) != len(nb.cells):
            outputs = [[[], None]] * len(nb.cells)
        for cell, (outs, count) in zip(nb.cells, outputs):
            if cell.cell_type != "code":
                continue
            try:
                cell.outputs = [nbformat.from_dict(_scrubbed(o)) for o in outs
                                if isinstance(o, dict)]
                cell.execution_count = count if isinstance(count, int) else None
            except Exception:  # noqa: BLE001 - a malformed output: dropped
                cell.outputs = []
        if problem:
            first = next((c for c in nb.cells if c.cell_type == "code"), None)
            if first is not None:
                first.outputs.insert(0, nbformat.v4.new_output(
                    "stream", name="stdout", text=f"⚠ {problem}\n"))


class TrustedChecks(NbGraderPreprocessor):
    """Replace every graded test cell's outputs with the trusted verdict."""

    secret_file = Unicode(
        ".coursenet_grading_secret",
        help="The grader's secret (salts the checks' random cases), relative to the"
        " course root; made (0600) on first use.").tag(config=True)
    cells_timeout = Float(120.0, help="Seconds for the cells before a check.").tag(
        config=True)
    check_timeout = Float(60.0, help="Seconds for one test cell's checks.").tag(
        config=True)
    memory = Integer(2 * 2**30, help="Address-space limit, bytes.").tag(config=True)
    checks_module = Unicode(
        "coursenet.exercises", help="The module whose check_* functions test cells"
        " call; imported here (trusted), from the course's source folder if it is"
        " not installed.").tag(config=True)

    def _checks(self, source_dir):
        import importlib
        import sys

        try:
            return importlib.import_module(self.checks_module)
        except ImportError:
            sys.path.insert(0, str(source_dir))
            try:
                return importlib.import_module(self.checks_module)
            finally:
                sys.path.remove(str(source_dir))

    def _secret(self, root):
        path = root / self.secret_file
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32))
        return path.read_text().strip().encode()

    def preprocess(self, nb, resources):
        _require_sandbox()
        release_dir, source_dir, submitted, root = _folders(self, resources)
        name = resources["nbgrader"]["notebook"] + ".ipynb"
        release = nbformat.read(release_dir / name, as_version=4)
        source = nbformat.read(source_dir / name, as_version=4)
        budget = Budget(cells=self.cells_timeout, check=self.check_timeout,
                        limits=sandbox.Limits(memory=self.memory))
        judge = NotebookJudge(release, source, self._secret(root), budget,
                              checks=self._checks(source_dir),
                              source_folder=source_dir)
        verdicts = judge.judge(nb, resources["nbgrader"]["student"], name,
                               submitted if submitted.is_dir() else None)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if is_test_cell(cell) and grade_id in verdicts:
                _show(cell, verdicts[grade_id])
            elif is_test_cell(cell):
                _show(cell, None)
        for grade_id, verdict in verdicts.items():
            self.log.info("%s: %s %s (%.1f s)", grade_id,
                          "passed" if verdict.passed else "failed",
                          " | ".join(verdict.lines), verdict.seconds)
        return nb, resources


def _install_paths():
    """The grader's installation folders, longest first. The sandbox sees them
    at the same paths, so a traceback in the feedback run names them; the
    feedback shows ``<python>`` instead (nothing of the grader's machine)."""
    paths = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
    paths |= {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix)}
    return sorted((p for p in paths if len(p) > 1), key=len, reverse=True)


def _scrubbed(output):
    text = json.dumps(output)
    for path in _install_paths():
        text = text.replace(json.dumps(path)[1:-1], "<python>")
    return json.loads(text)


def _show(cell, verdict):
    if verdict is None:
        text = "✗ this test cell is not in the instructor's release: not graded."
        passed = False
    else:
        text, passed = "\n".join(verdict.lines), verdict.passed
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
    if not passed:
        cell.outputs.append(nbformat.v4.new_output(
            "error", ename="AssertionError", evalue=text, traceback=[text]))
