"""Judge one notebook's exercises: each in a fresh sandbox, the check outside.

For every graded test cell of the instructor's release (nbgrader metadata
``grade: true``, ``solution: false``, ``points``), in the order of the
notebook:

1. The cells before it are assembled: the release's given cells (the
   instructor's copy, never the submission's) and, for every answer cell of
   the release (``solution: true``), the submission's cell with that grade id.
   Earlier test cells are left out; cells the student added are never run.
2. A fresh sandbox (:mod:`.sandbox`) runs them (:mod:`.worker`) with the
   package replaced by a copy without the reference code (:mod:`.poison`).
3. The test cell's check calls are parsed from the instructor's *source* copy
   (hidden tests included): ``exercises.check_NAME(arg, ..., key=arg)`` with
   names or constants as arguments. Each runs here, in the grader, on
   :class:`.proxy.StudentFunction` proxies, with ``default_rng`` salted
   (:mod:`.salt`), so the cases, the comparison and the diagnosis are the
   grader's and only values come from the sandbox.

A test cell of any other form is a course authoring error and raises
:class:`GradingSetupError` (it would otherwise be judged by the student's
kernel). The verdict (:class:`Verdict`) is the check's own line (✓/✗ and its
hint), plus a line when the answer imports or calls the package's reference.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import hashlib
import hmac
import io
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import coursenet
from coursenet.grading import codec, poison, proxy
from coursenet.grading.channel import Channel, Stopped
from coursenet.grading.salt import salted
from coursenet.grading.sandbox import Limits, Sandbox

PACKAGE = "coursenet"


class GradingSetupError(Exception):
    """The instructor's notebook has a test cell the trusted grader cannot run."""


@dataclass
class Verdict:
    grade_id: str
    passed: bool
    lines: list = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Budget:
    """Wall-clock seconds for the cells before a check, and for the check."""

    cells: float = 120.0
    check: float = 60.0
    # CPU seconds (measured outside the sandbox) above which a call the check
    # counts lines of is a loop over rows: see Session.call
    loop_cpu: float = 0.15
    limits: Limits = field(default_factory=Limits)


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_test_cell(cell):
    meta = _meta(cell)
    return (cell.get("cell_type") == "code" and bool(meta.get("grade"))
            and not meta.get("solution") and bool(meta.get("grade_id")))


def is_answer_cell(cell):
    return cell.get("cell_type") == "code" and bool(_meta(cell).get("solution"))


def parse_checks(source, grade_id, module):
    """The check calls of a test cell: [(check function, args, kwargs)], where
    args/kwargs hold ``("name", str)`` or ``("constant", value)``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise GradingSetupError(f"test cell {grade_id}: {exc}") from None
    calls = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        attr = None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                and isinstance(call.func.value, ast.Name):
            attr = call.func.attr
        elif isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
            attr = call.func.id
        check = getattr(module, attr, None) if attr else None
        if not (attr and attr.startswith("check_") and callable(check)):
            raise GradingSetupError(
                f"test cell {grade_id}: line {node.lineno} is not a call of a check"
                f" of {module.__name__} (`exercises.check_NAME(your_function)`):"
                " the trusted grader runs only those")
        args = [_argument(a, grade_id) for a in call.args]
        kwargs = {k.arg: _argument(k.value, grade_id) for k in call.keywords}
        if None in kwargs:
            raise GradingSetupError(f"test cell {grade_id}: **kwargs in a check call")
        calls.append((check, args, kwargs))
    if not calls:
        raise GradingSetupError(f"test cell {grade_id} calls no check")
    return calls


def _argument(node, grade_id):
    if isinstance(node, ast.Name):
        return ("name", node.id)
    try:
        return ("constant", ast.literal_eval(node))
    except ValueError:
        raise GradingSetupError(
            f"test cell {grade_id}: a check argument must be a name or a constant,"
            f" got {ast.unparse(node)!r}") from None


def salt_for(secret: bytes, *parts: str) -> int:
    """A salt from the grader's secret and what it grades (the answers too, so
    that a changed answer meets new cases)."""
    digest = hmac.new(secret, "\x00".join(parts).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def imports_of_reference(answer_sources, allowed, modules):
    """``coursenet...`` names the student's answer cells import that the
    exercise does not allow (static; the sandbox blocks calls besides)."""
    found = []
    for source in answer_sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == PACKAGE and not _allowed(name, allowed,
                                                                  modules):
                    found.append(name)
    return found


def _allowed(name, allowed, modules):
    if name in modules:  # a module: allowed if the exercise uses something in it
        return any(m == name for m, _ in allowed) or name == PACKAGE
    module, _, attr = name.rpartition(".")
    return (module, attr) in allowed or f"{module}.{attr}" in modules and any(
        m == f"{module}.{attr}" for m, _ in allowed)


class Session:
    """One sandboxed process for one exercise, and the calls into it."""

    def __init__(self, sandbox, budget):
        self.sandbox, self.budget = sandbox, budget
        self.channel = Channel(sandbox.read_fd, sandbox.write_fd, self.serve)
        self.functions, self.callbacks = {}, {}
        self.next_callback = 0  # never reused: a stale number finds nothing
        self.loops = []  # (function, CPU seconds) of traced calls that looped
        self.blocked = []  # names of reference functions the answer called
        self.dead = None  # why the sandbox can no longer answer

    # -- values both ways -----------------------------------------------------
    def encode(self, value):
        return codec.encode(value, self._handle_of)

    def _handle_of(self, fn):
        if isinstance(fn, proxy.StudentFunction):
            return {"$ref": fn._handle}
        number, self.next_callback = self.next_callback, self.next_callback + 1
        self.callbacks[number] = fn
        return {"$cb": number, "name": str(getattr(fn, "__name__", "callback"))[:60]}

    def decode(self, data):
        return codec.Decoder(self._make_proxy).decode(data)

    def _make_proxy(self, tag, data):
        if tag != "$fn" or not isinstance(data.get("$fn"), str):
            raise codec.DecodeError(f"{tag} from the sandbox")
        key = data["$fn"][:40]
        if key not in self.functions:
            self.functions[key] = proxy.StudentFunction(
                self, key, data.get("name"), data.get("params"))
        return self.functions[key]

    # -- requests -------------------------------------------------------------
    def serve(self, message):
        """The sandbox calls a function the check gave it (a spy)."""
        if message.get("op") != "callback" or message.get("cb") not in self.callbacks:
            raise Stopped("an unexpected request from the sandbox")
        fn = self.callbacks[message["cb"]]
        try:
            args = [self.decode(a) for a in message.get("args", [])]
            kwargs = {str(k): self.decode(v) for k, v in message.get("kwargs", [])}
            return {"op": "return", "value": self.encode(fn(*args, **kwargs))}
        except Stopped:
            raise
        except Exception as exc:  # noqa: BLE001 - goes back as the call's error
            return {"op": "raise", "text": f"{type(exc).__name__}: {exc}"[:300]}

    def ask(self, message):
        reply = self._request(message)
        if reply["op"] == "raise":
            exc, where = proxy.exception_from(reply, "function")
            if not isinstance(exc, Exception):  # SystemExit would end the grader
                raise RuntimeError(f"{type(exc).__name__}: {exc}")
            raise exc
        return self.decode(reply.get("value"))

    def _request(self, message):
        if self.dead:
            raise proxy.stopped_error(self.dead)
        try:
            return self.channel.request(message)
        except (Stopped, codec.DecodeError) as exc:
            self.dead = self._why(str(exc))
            self.sandbox.stop()
            raise proxy.stopped_error(self.dead) from None

    def _why(self, what):
        if what == "timeout":
            return (f"timeout: your code was stopped after {self.budget.check:.0f} s"
                    " (an endless loop, or far too slow)")
        status = self.sandbox.stop(grace=2.0)
        if status < 0:
            return (f"your code was stopped by signal {-status} (it ran out of"
                    " CPU time or memory, or killed its own process)")
        return (f"your code ended the grading process (exit status {status})"
                if what == "closed" else f"the grading process broke off ({what})")

    def call(self, fn, args, kwargs):
        tracing = sys.gettrace() is not None  # the check counts the student's lines
        message = {
            "op": "call", "fn": fn._handle, "args": [self.encode(a) for a in args],
            "kwargs": [[k, self.encode(v)] for k, v in kwargs.items()],
            "trace": tracing}
        before = self.sandbox.cpu_seconds() if tracing else 0.0
        reply = self._request(message)
        if tracing:
            # The line count is the sandbox's word (sys.settrace(None) hides a
            # loop from it); the CPU time is measured here, from /proc. The
            # check's large batch (exercises.nb05.LARGE_N rows of a tiny
            # network) costs a whole-batch version a few milliseconds, and a
            # loop over its rows a good fraction of a second.
            spent = self.sandbox.cpu_seconds() - before
            if spent > self.budget.loop_cpu:
                self.loops.append((fn.__name__, spent))
        if tracing and isinstance(reply.get("lines"), int):
            proxy.replay_lines(min(reply["lines"], 10**7), fn.__name__)
        if reply["op"] == "raise":
            exc, where = proxy.exception_from(reply, fn.__name__)
            if reply.get("type") == "ReferenceBlocked":
                self.blocked.append(str(reply.get("text", ""))[:200])
            proxy.raise_at(exc, where)
        changed = reply.get("args") if isinstance(reply.get("args"), dict) else {}
        for index, value in changed.items():
            if str(index).isdigit() and int(index) < len(args):
                proxy.write_back(args[int(index)], self.decode(value))
        return self.decode(reply.get("value"))


_CACHE = {}


def _cache_dir():
    if "dir" not in _CACHE:
        _CACHE["dir"] = tempfile.mkdtemp(prefix="coursenet-grader-")
        os.chmod(_CACHE["dir"], 0o755)
        atexit.register(shutil.rmtree, _CACHE["dir"], True)
    return Path(_CACHE["dir"])


def _parsed(package_dir):
    key = ("modules", package_dir)
    if key not in _CACHE:
        _CACHE[key] = poison._modules(package_dir, PACKAGE)
    return _CACHE[key]


def _poisoned(package_dir, roots):
    """The package copy for these roots, built once per grading process."""
    key = ("package", package_dir, frozenset(roots))
    if key not in _CACHE:
        out = _cache_dir() / f"package-{len(_CACHE)}" / PACKAGE
        _CACHE[key] = (out, poison.build(package_dir, PACKAGE, roots, out))
    return _CACHE[key]


def _font_cache():
    """matplotlib's font list, so that a sandbox does not rebuild it (seconds):
    bound read-only at /grading-cache; the worker copies it to its scratch."""
    if "fonts" not in _CACHE:
        _CACHE["fonts"] = []
        try:
            import matplotlib
            from matplotlib import font_manager  # noqa: F401 - builds the list

            found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
        except Exception:  # noqa: BLE001 - no matplotlib: nothing to share
            found = []
        if found:
            folder = _cache_dir() / "matplotlib"
            folder.mkdir(mode=0o755, exist_ok=True)
            shutil.copyfile(found[-1], folder / found[-1].name)
            os.chmod(folder / found[-1].name, 0o644)
            _CACHE["fonts"] = [(str(folder), "/grading-cache/matplotlib")]
    return _CACHE["fonts"]


def _package_binds():
    """The real package, read-only, for the feedback run (not for judging)."""
    package = Path(coursenet.__file__).resolve().parent
    return [(str(package), str(package)), *_font_cache()]


def _copy_notebooks(folder, into):
    """The student's own notebooks (only), readable by the sandbox's user."""
    into.mkdir(mode=0o755)
    if folder is not None:
        for path in Path(folder).glob("*.ipynb"):
            shutil.copyfile(path, into / path.name)
            os.chmod(into / path.name, 0o644)
    return into


class NotebookJudge:
    """Judges the exercises of one notebook of one submission."""

    def __init__(self, release_nb, source_nb, secret, budget=None, checks=None,
                 source_folder=None):
        if checks is None:
            from coursenet import exercises as checks

        self.release, self.source = release_nb, source_nb
        self.secret, self.budget = secret, budget or Budget()
        self.exercises_module = checks
        self.package_dir = Path(coursenet.__file__).resolve().parent
        self.modules = _parsed(self.package_dir)
        self.source_by_id = {_meta(c).get("grade_id"): c for c in source_nb["cells"]
                             if _meta(c).get("grade_id")}
        # the instructor's notebooks, for code a given cell carries in with
        # exercises.from_notebook (05 runs the student's 04 layers)
        self.source_folder = None if source_folder is None else Path(source_folder)

    def test_cells(self):
        return [(i, c) for i, c in enumerate(self.release["cells"]) if is_test_cell(c)]

    def judge(self, submission_nb, student, notebook_name, submission_dir=None):
        """{test cell grade id: Verdict} for every graded test cell."""
        answers = {_meta(c).get("grade_id"): _source(c) for c in submission_nb["cells"]
                   if is_answer_cell(c) and _meta(c).get("grade_id")}
        verdicts = {}
        with tempfile.TemporaryDirectory(prefix="coursenet-grading-") as tmp:
            os.chmod(tmp, 0o755)
            work = _copy_notebooks(submission_dir, Path(tmp) / "submission")
            for index, cell in self.test_cells():
                grade_id = _meta(cell)["grade_id"]
                start = time.monotonic()
                verdict = self._judge_one(index, grade_id, answers, student,
                                          notebook_name, Path(tmp), work)
                verdict.seconds = time.monotonic() - start
                verdicts[grade_id] = verdict
        return verdicts

    def _cells_before(self, index, answers):
        cells, given, mine, instructor = [], [], [], []
        for i, cell in enumerate(self.release["cells"][:index]):
            if cell.get("cell_type") != "code" or is_test_cell(cell):
                continue
            grade_id = _meta(cell).get("grade_id")
            if is_answer_cell(cell):
                source = answers.get(grade_id)
                if source is None:
                    continue  # the student deleted the cell: nothing to run
                cells.append({"source": source, "label": f"<answer {grade_id}>"})
                mine.append(source)
                instructor.append(_source(self.source_by_id.get(grade_id, cell)))
            else:
                cells.append({"source": _source(cell), "label": f"<given cell {i}>"})
                given.append(_source(cell))
        return cells, given, mine, instructor

    def _judge_one(self, index, grade_id, answers, student, notebook_name, tmp, work):
        source_cell = self.source_by_id.get(grade_id, self.release["cells"][index])
        calls = parse_checks(_source(source_cell), grade_id, self.exercises_module)
        cells, given, mine, instructor = self._cells_before(index, answers)
        carried_given, carried_answers = self._carried(given)
        roots = poison.roots_from_cells(given + carried_given,
                                        instructor + carried_answers, PACKAGE,
                                        self.modules)
        package, keep = _poisoned(self.package_dir, roots)
        imported = imports_of_reference(mine, keep, self.modules)
        salt = salt_for(self.secret, student, notebook_name, grade_id, *mine)
        overlays = [(str(package), str(self.package_dir)), *_font_cache()]
        if (self.package_dir / "_data").is_dir():
            overlays.append((str(self.package_dir / "_data"),
                             str(self.package_dir / "_data")))
        sandbox = Sandbox([os.path.abspath(os.sys.executable), "-m",
                           "coursenet.grading.worker"],
                          binds=[(str(work), "/submission")], overlays=overlays,
                          cwd="/submission", limits=self.budget.limits)
        session = Session(sandbox, self.budget)
        try:
            return self._run_checks(session, grade_id, calls, cells, salt, imported)
        finally:
            sandbox.stop()

    def _carried(self, given, seen=None):
        """The instructor's given and answer cells of every notebook that
        ``given`` carries in with ``from_notebook("NAME.ipynb", ...)``, followed
        recursively: the package names they use are allowed as they are in
        that notebook's own grading (the answers themselves come from the
        student's notebook at run time)."""
        seen = set() if seen is None else seen
        given_out, answers_out = [], []
        if self.source_folder is None:
            return given_out, answers_out
        for name in _carried_names(given):
            path = self.source_folder / name
            if name in seen or not path.is_file():
                continue
            seen.add(name)
            import nbformat

            cells = nbformat.read(path, as_version=4).cells
            code = [c for c in cells if c.get("cell_type") == "code"
                    and not is_test_cell(c)]
            theirs = [_source(c) for c in code if not is_answer_cell(c)]
            given_out += theirs
            answers_out += [_source(c) for c in code if is_answer_cell(c)]
            more_given, more_answers = self._carried(theirs, seen)
            given_out += more_given
            answers_out += more_answers
        return given_out, answers_out

    def _run_checks(self, session, grade_id, calls, cells, salt, imported):
        session.channel.deadline = time.monotonic() + self.budget.cells
        try:
            session.channel.send({"op": "job", "cells": cells, "salt": salt,
                                  "cwd": "/submission"})
            ready = session.channel.receive()
        except (Stopped, codec.DecodeError) as exc:
            why = (f"the notebook's cells before this check did not finish in"
                   f" {self.budget.cells:.0f} s" if str(exc) == "timeout"
                   else session._why(str(exc)))
            return Verdict(grade_id, False, [f"✗ not graded: {why}."])
        if ready.get("op") != "ready":
            return Verdict(grade_id, False, ["✗ not graded: the grading process"
                                             " answered out of turn."])
        session.channel.deadline = time.monotonic() + self.budget.check
        passed, lines = True, []
        for check, args, kwargs in calls:
            ok, text = self._one_check(session, check, args, kwargs, salt)
            passed, lines = passed and ok, lines + [text]
            if not ok:
                break  # as in the notebook: the first failing check ends the cell
        if session.loops and passed:
            name, spent = max(session.loops, key=lambda loop: loop[1])
            passed = False
            lines.append(f"✗ not vectorised: one call of {name} on the check's large"
                         f" batch used {spent:.2f} s of CPU, measured outside your"
                         " process (a whole-batch version needs a few"
                         " milliseconds): work that grows with the rows, i.e. a"
                         " loop over them.")
        if session.blocked:
            passed = False
            lines.append("✗ no points: your answer calls the package's own reference"
                         f" ({session.blocked[0].split(' ')[0]}); an answer must"
                         " compute the result itself.")
        if imported:
            passed = False
            lines.append("✗ no points: your answer imports the package's own"
                         f" reference ({', '.join(sorted(set(imported)))}); an answer"
                         " must compute the result itself.")
        return Verdict(grade_id, passed, lines)

    def _one_check(self, session, check, args, kwargs, salt):
        def value(arg):
            kind, what = arg
            return what if kind == "constant" else session.ask({"op": "get",
                                                               "name": what})
        out = io.StringIO()
        try:
            values = [value(a) for a in args]
            named = {k: value(a) for k, a in kwargs.items()}
        except NameError as exc:
            return False, f"✗ {exc}: the answer cell that defines it did not run."
        except Exception as exc:  # noqa: BLE001 - the sandbox stopped
            return False, f"✗ not graded: {exc}."
        with salted(salt), contextlib.redirect_stdout(out), _not_grading():
            try:
                result = check(*values, **named)
            except AssertionError as exc:
                return False, str(exc)
            finally:
                # the grader's functions this check handed over (the package's
                # layers, a spy) end with it: kept, they would answer the next
                session.callbacks.clear()
        text = out.getvalue().strip() or str(getattr(result, "message", ""))
        passed = result.passed if hasattr(result, "passed") else result is True
        return bool(passed), text


def _carried_names(sources):
    """The notebook names in ``from_notebook("NAME.ipynb", ...)`` calls."""
    names = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and node.args
                    and getattr(node.func, "attr", getattr(node.func, "id", None))
                    == "from_notebook"
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                names.append(Path(node.args[0].value).name)
    return names


@contextlib.contextmanager
def _not_grading():
    """The checks raise under NBGRADER_EXECUTION; here their result is read."""
    saved = os.environ.pop("NBGRADER_EXECUTION", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["NBGRADER_EXECUTION"] = saved
