"""Trusted grading (coursenet.grading): a score only a solution earns.

The end-to-end test builds an nbgrader course from notebooks/01 in a temporary
folder with deploy/nbgrader_config.py, makes submissions -- the worked
solutions, the untouched release, and four submissions of cheats, one cheat
per exercise (each exercise is judged in its own sandbox) -- and runs the
instructor's ``nbgrader autograde`` and ``generate_feedback``. The solutions
score every code point; the release and every cheat score 0, nothing is
written outside the sandbox, no connection leaves it, and no grader path,
secret or setting appears in any feedback. Each cheat is also run against the
same check *without* the sandbox (test_the_cheats_work_without_the_grader):
there they pass, so a 0 here is the grader's doing.

The unit tests below it cover the pieces: the codec refuses what is not data,
the sandbox's walls, and the package copy without the reference.
"""

from __future__ import annotations

import ast
import hashlib
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import nbformat
import numpy as np
import pytest

pytest.importorskip("nbgrader", reason="nbgrader is in the [dev] extra")
from nbgrader_notebooks import make_student  # noqa: E402

from coursenet.grading import codec, poison, sandbox  # noqa: E402

NO_SANDBOX = sandbox.available()
pytestmark = pytest.mark.skipif(
    bool(NO_SANDBOX), reason=f"trusted grading needs its sandbox: {NO_SANDBOX}")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_local_gradients.ipynb"
ASSIGNMENT = make_student.ASSIGNMENT

# How the package's reference computes each exercise of notebook 01 (the
# "reference" cheats call it; the grader itself knows no exercise by name).
REFERENCE = {
    "loss_grad": "L.cross_entropy_backward(np.asarray(y, float)[None], [c])[0]",
    "softmax_jacobian": "L.softmax_jacobian(np.asarray(y, float)[None])[0]",
    "logit_grad": "L.softmax_cross_entropy(np.asarray(o, float)[None], [c])[1][0]",
}


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def exercises(nb):
    """[(answer grade id, function name, parameters)] in the notebook's order."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            fn = next(n for n in ast.parse(cell.source).body
                      if isinstance(n, ast.FunctionDef))
            out.append((nbgrader_meta(cell)["grade_id"], fn.name,
                        ", ".join(a.arg for a in fn.args.args)))
    return out


# --- the cheats: (name, cell template) per exercise position ------------------
# {fn}: the function's name, {params}: its parameters, {ref}: the reference
# expression (with L the losses module), {zero}: a wrong answer of the right
# shape, {marker}: a folder outside the sandbox the test watches, {solution}:
# the instructor's solution notebook, {port}: a port the test listens on. The
# paths are written reversed ("..."[::-1]) so that the feedback's copy of the
# cheat's own source does not show them: the test looks for them there.

ZERO = {"loss_grad": "np.zeros(len(y))", "softmax_jacobian": "np.zeros((len(y),) * 2)",
        "logit_grad": "np.zeros(len(o))"}

STATE = [
    ("pops NBGRADER_EXECUTION, monkeypatches the checks, prints a fake ✓", """
import os
os.environ.pop("NBGRADER_EXECUTION", None)
for _name in dir(exercises):
    if _name.startswith("check_"):
        setattr(exercises, _name, lambda *a, **k: True)
exercises._core._grading = lambda: False
def {fn}({params}):
    print("✓ {fn}: right on 5 cases")
    return {zero}
"""),
    ("enters expected_to_fail, rebinds exercises, edits sys.modules", """
import sys, types
exercises.expected_to_fail().__enter__()
_fake = types.SimpleNamespace(**{{n: (lambda *a, **k: True) for n in dir(exercises)
                                 if n.startswith("check_")}})
sys.modules["coursenet.exercises"] = _fake
sys.modules["coursenet"].exercises = _fake
exercises = _fake
def {fn}({params}):
    return {zero}
"""),
    ("edits numpy: allclose and isclose always true", """
import sys
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)
sys.modules["numpy"].array_equal = lambda *a, **k: True
def {fn}({params}):
    return {zero}
"""),
]

LIARS = [
    ("returns an ndarray subclass whose comparisons lie", """
class _Liar(np.ndarray):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array_function__(self, func, types, args, kwargs): return True
    def __array_ufunc__(self, *args, **kwargs): return True
def {fn}({params}):
    return {zero}.view(_Liar)
"""),
    ("returns an object whose __eq__ and __array__ lie", """
class _Liar:
    def __eq__(self, other): return True
    def __array__(self, dtype=None, copy=None): raise RuntimeError("no")
    def __len__(self): return 2
def {fn}({params}):
    return _Liar()
"""),
    ("kills every process it can see", """
import os, signal
def {fn}({params}):
    os.kill(-1, signal.SIGKILL)
    return {zero}
"""),
]

REFERENCE_CHEATS = [
    ("calls the package's reference", """
from coursenet import losses as L
def {fn}({params}):
    return {ref}
"""),
    ("imports the reference with importlib", """
import importlib
def {fn}({params}):
    L = importlib.import_module("coursenet." + "losses")
    return {ref}
"""),
    ("__import__ with a built name, then the .py file's source", """
def {fn}({params}):
    L = __import__("".join(["course", "net", ".los", "ses"]), fromlist=["_"])
    try:
        return {ref}
    except Exception:
        import types
        L = types.ModuleType("copy")
        exec(open(L.__class__.__module__ and __import__("os").path.join(
            __import__("os").path.dirname(__import__("coursenet").__file__),
            "losses.py")).read(), L.__dict__)
        return {ref}
"""),
]

ESCAPES = [
    ("writes outside, reads the solutions and others' work, opens a socket", """
import glob, json, os, socket
def {fn}({params}):
    marker, course = "{marker}"[::-1], "{course}"[::-1]
    for path in (marker + "/written", course + "/written",
                 course + "/nbgrader_config.py", os.path.expanduser("~/written"),
                 "/submission/written"):
        try:
            with open(path, "a") as f:
                f.write("pwned")
        except OSError:
            pass
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
    except OSError:
        pass
    for path in ["{solution}"[::-1], course + "/.coursenet_grading_secret",
                 *glob.glob(course + "/submitted/*/*/*.ipynb")]:
        try:
            cells = json.load(open(path))["cells"]
        except (OSError, ValueError):
            continue
        for cell in cells:  # found the solutions: use them
            source = "".join(cell["source"])
            if source.startswith("def {fn}("):
                space = {{"np": np}}
                exec(source, space)
                return space["{fn}"]({params})
    return {zero}
"""),
    ("forks a child that writes outside, runs a command, then a memory bomb", """
import os, subprocess
def {fn}({params}):
    pid = os.fork()
    if pid == 0:
        try:
            open("{marker}"[::-1] + "/forked", "w").write("pwned")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    try:
        subprocess.run(["/usr/bin/touch", "{marker}"[::-1] + "/touched"], timeout=5)
    except Exception:
        pass
    hog = [np.ones(2**27) for _ in range(64)]
    return {zero}
"""),
    ("loops forever", """
def {fn}({params}):
    while True:
        pass
"""),
]

SUBMISSIONS = {"state": STATE, "liars": LIARS, "reference": REFERENCE_CHEATS,
               "escape": ESCAPES}


def cheat_source(template, fn, params, **where):
    return textwrap.dedent(template).strip().format(
        fn=fn, params=params, ref=REFERENCE[fn], zero=ZERO[fn], **where)


def write_cheats(path, cheats, **where):
    """Replace each answer cell of the notebook at ``path`` by one cheat."""
    nb = nbformat.read(path, as_version=4)
    found = exercises(nb)
    assert len(found) >= len(cheats), f"{path.name} has {len(found)} exercises"
    by_id = {grade_id: (fn, params) for grade_id, fn, params in found}
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in by_id and nbgrader_meta(cell).get("solution"):
            index = [g for g, _, _ in found].index(grade_id)
            if index < len(cheats):
                cell.source = cheat_source(cheats[index][1], *by_id[grade_id], **where)
    nbformat.write(nb, path)


class Listener:
    """A TCP port on the host's loopback that counts connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port, self.connections, self.running = self.sock.getsockname()[1], 0, True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def text_of(html_text):
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course after autograde and generate_feedback (what the tests read)."""
    tmp = tmp_path_factory.mktemp("grading")
    scratch, marker = tmp / "scratch", tmp / "outside"
    scratch.mkdir()
    marker.mkdir()
    course = make_student.make_course(tmp / "course", [NOTEBOOK])
    config_hash = hashlib.sha256((course / "nbgrader_config.py").read_bytes()).digest()
    make_student.nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course,
                          scratch)
    release, source = course / "release" / ASSIGNMENT, course / "source" / ASSIGNMENT
    listener = Listener()
    where = {"marker": str(marker)[::-1], "course": str(course)[::-1],
             "port": listener.port, "solution": str(source / NOTEBOOK.name)[::-1]}
    origins = {"solutions": source, "unchanged": release, **dict.fromkeys(SUBMISSIONS,
                                                                         release)}
    for student, origin in origins.items():
        folder = course / "submitted" / student / ASSIGNMENT
        shutil.copytree(origin, folder)
        (folder / "timestamp.txt").write_text("2026-11-28 09:00:00 UTC")
        if student in SUBMISSIONS:
            write_cheats(folder / NOTEBOOK.name, SUBMISSIONS[student], **where)
    # short budgets: the endless loop costs each of them once
    budgets = ["--TrustedChecks.check_timeout=15", "--TrustedChecks.cells_timeout=60",
               "--Execute.timeout=15", "--SandboxedExecute.wall_clock=300"]
    try:
        run = make_student.nbgrader(["autograde", ASSIGNMENT, "--force", *budgets],
                                    course, scratch, timeout=1800)
        make_student.nbgrader(["generate_feedback", ASSIGNMENT, "--force"], course,
                              scratch)
    finally:
        listener.close()
    yield {"course": course, "marker": marker, "listener": listener, "log": run.stderr,
           "config_hash": config_hash, "scratch": scratch}


def scores(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: (s.code_score, s.max_code_score)
                for s in gb.assignment_submissions(ASSIGNMENT)}


def verdicts(course, student):
    """{test cell grade id: (scored, the verdict text)} from the autograded copy."""
    nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / NOTEBOOK.name,
                       as_version=4)
    out = {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            errors = [o for o in cell.outputs if o.output_type == "error"]
            text = "".join(o.get("text", "") for o in cell.outputs
                           if o.output_type == "stream")
            out[meta["grade_id"]] = (not errors, text.strip())
    return out


def test_solutions_score_every_code_point_and_the_release_none(graded):
    got = scores(graded["course"])
    code, max_code = got["solutions"]
    assert max_code > 0 and code == max_code, got
    assert got["unchanged"][0] == 0, got
    for grade_id, (scored, text) in verdicts(graded["course"], "solutions").items():
        assert scored and text.startswith("✓"), (grade_id, text)


@pytest.mark.parametrize("student", list(SUBMISSIONS))
def test_every_cheat_scores_zero_with_a_reason(graded, student):
    got = scores(graded["course"])
    assert got[student][0] == 0, (student, got[student])
    found = verdicts(graded["course"], student)
    for (_, (scored, text)), (what, _) in zip(found.items(),
                                                     SUBMISSIONS[student]):
        assert not scored and text.startswith(("✗", "…")), (what, text)
        assert "✓" not in text, (what, text)


def test_the_reference_is_blocked_and_named(graded):
    for grade_id, (_, text) in verdicts(graded["course"], "reference").items():
        assert "package's own reference" in text, (grade_id, text)


def test_runaway_code_is_stopped_with_the_reason(graded):
    texts = [t for _, t in verdicts(graded["course"], "escape").values()]
    # the endless loop: the sandbox's budget, or the check's own time limit
    assert ("stopped after 15 s" in texts[2]
            or "did not return within" in texts[2]), texts[2]
    assert "MemoryError" in texts[1] or "stopped" in texts[1], texts[1]
    killed = [t for _, t in verdicts(graded["course"], "liars").values()][2]
    assert "ended the grading process" in killed or "stopped" in killed, killed


def test_nothing_escapes_the_sandbox(graded):
    course, marker = graded["course"], graded["marker"]
    assert list(marker.iterdir()) == [], list(marker.iterdir())
    assert not (course / "written").exists()
    assert not (Path.home() / "written").exists()
    assert hashlib.sha256((course / "nbgrader_config.py").read_bytes()).digest() \
        == graded["config_hash"], "a submission changed the course's config"
    assert graded["listener"].connections == 0, "a submission reached the host"
    for folder in (course / "submitted").glob(f"*/{ASSIGNMENT}"):
        assert not (folder / "written").exists()


def test_feedback_shows_the_verdict_and_no_grader_internals(graded):
    course = graded["course"]
    secret = (course / ".coursenet_grading_secret").read_text().strip()
    assert oct((course / ".coursenet_grading_secret").stat().st_mode)[-3:] == "600"
    for student in ["solutions", "unchanged", *SUBMISSIONS]:
        page = (course / "feedback" / student / ASSIGNMENT
                / NOTEBOOK.name.replace(".ipynb", ".html")).read_text(encoding="utf-8")
        text = text_of(page)
        for _, (_, verdict) in verdicts(course, student).items():
            assert verdict.splitlines()[0] in text, (student, verdict)
        for secret_thing in (secret, str(course), str(graded["scratch"]),
                             "/grading-cache", "coursenet-grad", "bwrap", "setpriv",
                             "coursenet/grading", "NBGRADER_EXECUTION=", sys.prefix):
            assert secret_thing not in text, (student, secret_thing)


def test_the_cheats_work_without_the_grader():
    """Without the sandbox each cheat earns the point: in the student's own
    kernel under nbgrader, as nbgrader's Execute would grade it."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    found = exercises(nb)
    imports = next(c.source for c in nb.cells if c.cell_type == "code")
    cheats = [(STATE[0], 0), (STATE[1], 1), (STATE[2], 2), (REFERENCE_CHEATS[0], 0),
              (REFERENCE_CHEATS[1], 1), (REFERENCE_CHEATS[2], 2)]
    for (what, template), index in cheats:
        _, fn, params = found[index]
        program = "\n".join([
            imports, cheat_source(template, fn, params, marker="", course="", port=0,
                                  solution=""),
            f"result = exercises.check_{_check_name(nb, fn)}({fn})",
            "import sys; sys.exit(0 if result is True or getattr(result, 'passed',"
            " False) else 1)"])
        run = subprocess.run([sys.executable, "-c", program], capture_output=True,
                             text=True, env={**os.environ, "MPLBACKEND": "Agg",
                                             "NBGRADER_EXECUTION": "autograde"},
                             timeout=120)
        assert run.returncode == 0, (what, run.stdout[-500:], run.stderr[-800:])


def _check_name(nb, fn):
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution") and f"({fn}" in cell.source:
            return re.search(r"check_(\w+)\(", cell.source).group(1)
    raise AssertionError(f"no check cell calls {fn}")


# --- the pieces --------------------------------------------------------------------

def roundtrip(value):
    data = codec.encode(value, lambda fn: {"$fn": "1", "name": "f", "params": []})
    return codec.Decoder(lambda tag, body: "a function").decode(
        codec.loads(codec.dumps(data)))


def test_codec_carries_data_and_strips_subclasses():
    class Sub(np.ndarray):
        def __eq__(self, other):
            return True

    value = {"W": np.arange(6.0).reshape(2, 3), 3: [1, 2.5, None, "x"],
             "t": (np.int64(4), np.float32(0.5)), "sub": np.ones(2).view(Sub),
             "nan": float("nan")}
    back = roundtrip(value)
    assert np.array_equal(back["W"], value["W"]) and back["W"].dtype == np.float64
    assert back[3] == [1, 2.5, None, "x"] and type(back["t"]) is tuple
    assert type(back["t"][0]) is np.int64 and back["t"][1].dtype == np.float32
    assert type(back["sub"]) is np.ndarray and not (back["sub"] == 0).all()
    assert np.isnan(back["nan"])
    assert isinstance(roundtrip(object()), codec.Opaque)
    assert roundtrip(len) == "a function"


@pytest.mark.parametrize("bad", [
    {"$array": "|O", "shape": [1], "data": "AA=="},  # object dtype: pickles
    {"$array": "<f8", "shape": [2], "data": "AAAAAAAAAAA="},  # wrong byte count
    {"$pickle": "gASV"}, {"$list": "no"}, [1, 2], {"$int": "1" * 6000},
])
def test_codec_refuses_what_is_not_its_data(bad):
    with pytest.raises((codec.DecodeError, ValueError)):
        codec.Decoder(lambda tag, body: None).decode(bad)


def run_sandboxed(code, **kwargs):
    box = sandbox.Sandbox([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          **kwargs)
    try:
        out, _ = box.process.communicate(timeout=60)
    finally:
        status = box.stop()
    return status, out.decode()


def test_the_sandbox_walls(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("instructor only")
    status, out = run_sandboxed(textwrap.dedent(f"""
        import os, socket, json
        seen = {{"uid": os.getuid(), "gid": os.getgid()}}
        try:
            socket.create_connection(("1.1.1.1", 80), timeout=2)
            seen["net"] = True
        except OSError:
            seen["net"] = False
        seen["secret"] = os.path.exists({str(secret)!r})
        seen["root_home"] = os.listdir("/root") if os.path.isdir("/root") else []
        for path in ("/usr/written", {str(tmp_path / "written")!r}, "/tmp/ok"):
            try:
                open(path, "w").write("x")
                seen[path] = True
            except OSError:
                seen[path] = False
        seen["env"] = sorted(os.environ)
        seen["pids"] = [p for p in os.listdir("/proc") if p.isdigit()]
        print(json.dumps(seen))
    """))
    seen = json.loads(out)
    assert status == 0
    assert seen["uid"] == sandbox.NOBODY and seen["gid"] == sandbox.NOBODY
    assert seen["net"] is False and seen["secret"] is False
    assert seen["/usr/written"] is False and seen[str(tmp_path / "written")] is False
    assert seen["/tmp/ok"] is True and not (tmp_path / "written").exists()
    assert "NBGRADER_EXECUTION" not in seen["env"] and "HOME" in seen["env"]
    assert len(seen["pids"]) <= 3, seen["pids"]  # its own pid namespace
    assert all(not name.startswith(".") or name == ".pyenv"
               for name in seen["root_home"]), seen["root_home"]


def test_the_sandbox_limits_memory_and_cpu():
    status, out = run_sandboxed(
        "try:\n    x = bytearray(3 * 2**30)\n    print('allocated')\n"
        "except MemoryError:\n    print('MemoryError')",
        limits=sandbox.Limits(memory=2**30))
    assert out.strip() == "MemoryError", out
    status, out = run_sandboxed("while True: pass", limits=sandbox.Limits(cpu=1))
    assert status != 0


def test_the_package_copy_has_no_reference_code(tmp_path):
    import coursenet

    package = Path(coursenet.__file__).parent
    keep = poison.build(package, "coursenet", {("coursenet.layers", "sigmoid")},
                        tmp_path / "coursenet")
    assert ("coursenet.layers", "sigmoid") in keep
    assert ("coursenet.mlp", "loss_and_grads") not in keep
    losses_copy = (tmp_path / "coursenet" / "losses.py").read_text()
    assert "ReferenceBlocked" in losses_copy and "exp(" not in losses_copy
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import numpy as np
            from coursenet import exercises, layers, losses, mlp
            print(layers.sigmoid(np.zeros(1))[0])
            for call in (lambda: losses.softmax(np.zeros((1, 2))),
                         lambda: mlp.loss_and_grads({}, None, None),
                         lambda: exercises.check_loss_grad(print)):
                try:
                    call()
                    print("ran")
                except Exception as exc:
                    print(type(exc).__name__)
        """)], env={**os.environ, "PYTHONPATH": str(tmp_path)}, cwd=tmp_path,
        capture_output=True, text=True, timeout=120)
    assert run.stdout.split() == ["0.5", "ReferenceBlocked", "ReferenceBlocked",
                                  "ReferenceBlocked"], run.stdout + run.stderr


def test_carried_notebooks_are_found_by_their_from_notebook_calls():
    from coursenet.grading.judge import _carried_names

    given = ['x = 1',
             'run = exercises.from_notebook("04_tensor_backprop.ipynb", "run")',
             'from coursenet.exercises import from_notebook\n'
             'f = from_notebook("sub/02_scalar_backprop.ipynb", "f")',
             'from_notebook(name, "f")',  # not a literal: nothing to follow
             'def broken(:']
    assert _carried_names(given) == ["04_tensor_backprop.ipynb",
                                     "02_scalar_backprop.ipynb"]
