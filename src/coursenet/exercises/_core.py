"""The machinery every check shares: run the student's code, compare, diagnose.

How a check works, in the order it happens:

1. ``_run(body)`` runs the check's body and turns its end into exactly one
   printed line and a :class:`CheckResult`: ``✓ ...`` (passed), ``✗ <diagnosis>.
   Hint: ...`` (failed), ``… <name> is not implemented yet`` (todo). It never
   raises because of the student's code (see :func:`_call`).
2. ``_call(fn, args, who, case)`` calls one student function on one case, on
   fresh copies of the inputs, and turns whatever it raises into a message.
3. ``_array``/``_vector``/``_number``/``_grads`` turn what the student returned
   into float64 arrays or say exactly why they can't (None, a string, a
   ragged list, a wrong key, a wrong shape).
4. The answers are compared with a reference (``_same``: ``rtol = RTOL``,
   ``atol = ATOL``), the reference itself refereed by central differences
   (``_referee``).
5. A wrong answer is matched against a table of :class:`Mistake` rows in
   order (``_match``): the first row whose answer reproduces the student's on
   *every* case is the diagnosis. Put specific mistakes before general ones.
6. When no row matches, ``_worst`` names the entry furthest off.

How to add a diagnosis: write the mistake as a student would, as a test in
``tests/test_exercises.py`` that asserts the check names it (watch it fail);
then add a ``Mistake(id, diagnosis, hint, answer)`` row to the check's table in
its notebook's module (``nb01`` ... ``nb06``), where ``answer(case_data)``
computes what the mistaken code returns on that case. Every mistake id must be
triggered by some test (``tests/test_exercises.py`` checks this).
"""

from __future__ import annotations

import ast
import json
import linecache
import os
import traceback
import warnings
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from coursenet import gradcheck, losses

RTOL, ATOL = 1e-4, 1e-6

# --------------------------------------------------------------------------
# The result, and how a check ends
# --------------------------------------------------------------------------


class CheckResult:
    """What a check returns. Truthy iff the answer passed.

    ``passed`` (bool), ``message`` (the line the check printed), ``status``
    (``"passed"``, ``"failed"`` or ``"todo"`` for not implemented) and
    ``mistake`` (the id of the recognised mistake, e.g. ``"if_target"``, or
    ``None``).
    """

    def __init__(self, status: str, message: str, mistake: str | None = None):
        self.status = status
        self.message = message
        self.mistake = mistake

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"CheckResult({self.status}: {self.message})"

    def _ipython_display_(self):
        """Show nothing: the check has printed its line already."""


class _Stop(Exception):
    """Ends a check early with its finished one-line message."""

    def __init__(self, message, status="failed", mistake=None):
        super().__init__(message)
        self.message, self.status, self.mistake = message, status, mistake


def _fail(diagnosis, hint, mistake=None):
    raise _Stop(f"✗ {diagnosis.rstrip('.')}. Hint: {hint}", mistake=mistake)


def _run(body):
    """Run a check's body, print its one line, return the result; never raise."""
    try:
        result = CheckResult("passed", body())
    except _Stop as stop:
        result = CheckResult(stop.status, stop.message, stop.mistake)
    except Exception as exc:  # a bug in this module, not in the student's code
        result = CheckResult(
            "failed",
            f"✗ the check itself failed ({type(exc).__name__}: {exc}). Hint: this is"
            " a bug in coursenet.exercises, not in your code; please report it",
        )
    print(result.message)
    if _grading() and not result.passed:
        # nbgrader scores a test cell by whether it raised: under autograde and
        # validate (nbgrader sets NBGRADER_EXECUTION) a check that did not pass
        # raises, so the cell scores 0 and the diagnosis reaches the feedback. In a
        # student's session it never raises, so Run All goes on.
        raise AssertionError(result.message)
    return result


def _grading():
    """True while nbgrader autogrades or validates a notebook."""
    return os.environ.get("NBGRADER_EXECUTION", "").lower() in {"autograde", "validate"}


def _name(fn, default):
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) and name.isidentifier() else default


def _need_function(fn, check, what):
    if not callable(fn):
        _fail(
            f"{check} needs {what}, got {_short(fn)} of type {type(fn).__name__}",
            f"pass the function itself, without calling it: {check}(my_function)",
        )


def _short(value, limit=70):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_NUMPY_DIR = os.path.dirname(np.__file__)
_HERE = os.path.dirname(__file__)


def _where(exc):
    """`` (line 7 of loss_grad)``: the deepest frame outside numpy and this file."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.filename.startswith((_HERE, _NUMPY_DIR)):
            return f" (line {frame.lineno} of {frame.name})"
    return ""


def _call(fn, args, who, case, said="raised",
          hint="call it yourself on that input to see the whole traceback"):
    """Call the student's function quietly; turn any exception into a message."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args)
    except NotImplementedError as exc:
        stub = _innermost(exc) or who
        raise _Stop(
            f"… {stub} is not implemented yet (replace `raise NotImplementedError()`"
            " with your code)", status="todo") from None
    except Exception as exc:
        message = (str(exc).strip().splitlines() or [""])[0]
        if len(message) > 120:
            message = message[:117] + "..."
        raise _Stop(f"✗ {who} {said} {type(exc).__name__}: {message}{_where(exc)}"
                    f" on {case}. Hint: {hint}", mistake="raised") from None


# --------------------------------------------------------------------------
# Turning what the student returned into arrays, or saying why it can't be
# --------------------------------------------------------------------------


def _array(value, what):
    """``value`` as a float64 array, or a message naming what it is instead."""
    if value is None:
        _fail(f"{what} is None", "did you forget the `return` statement?",
              "returned_none")
    if isinstance(value, (str, bytes, Mapping, set)) or callable(value):
        _fail(f"{what} is {_short(value, 40)} of type {type(value).__name__}, not"
              " numbers",
              "return a list of floats or a numpy array", "wrong_type")
    try:
        raw = np.asarray(value)
        if raw.dtype.kind == "O":  # e.g. Fractions, or floats mixed with None
            raw = raw.astype(np.float64)
    except Exception:  # ragged nested lists raise ValueError in numpy >= 1.24
        raw = None
    if raw is None or raw.dtype.kind not in "biuf":
        _fail(f"{what} is not a rectangular array of numbers: got {_short(value)}",
              "return floats in a list, equal-length lists, or a numpy array",
              "wrong_type")
    return raw.astype(np.float64)


def _number(value, what):
    arr = _array(value, what)
    if arr.size != 1:
        _fail(f"{what} should be one number, got an array of shape {arr.shape}",
              "return a float (e.g. float(loss))", "wrong_shape")
    return float(arr.reshape(()))


def _vector(value, length, what):
    """A length-``length`` vector; a (1, C) row or a (C, 1) column is accepted too."""
    arr = _array(value, what)
    if arr.shape in ((length,), (1, length), (length, 1)):
        return arr.reshape(length)
    _fail(f"{what} has shape {arr.shape}, expected ({length},): one entry per class",
          "return one number per class", "wrong_shape")


def _shape_problem(key, got, want, batch=None):
    """Diagnosis and hint for a gradient of the wrong shape."""
    if len(got) == 2 and got == want[::-1]:
        return (f"the gradient of {key} has shape {got}, expected {want}: it looks"
                " transposed",
                "a gradient has its parameter's shape; for a weight that is (inputs,"
                " outputs): dW = np.outer(x, dout) for one instance, X.T @ dout for"
                " a batch")
    if len(want) == 1 and batch and batch > 1 and got == (batch, want[0]):
        return (f"the gradient of {key} has shape {got}: one row per instance, not"
                " summed over the batch",
                "the bias is added to every row, so its gradient sums the rows:"
                " db = dout.sum(axis=0)")
    if len(want) == 1 and got in ((1, want[0]), (want[0], 1)):
        return (f"the gradient of {key} has shape {got}, expected {want}: an extra"
                " axis", "drop it (sum(axis=0) without keepdims=True, or .ravel())")
    return (f"the gradient of {key} has shape {got}, expected {want}, the shape of"
            f" params[{key!r}]", "every gradient has the shape of its parameter")


def _grads(value, like, what, batch=None):
    """The student's gradients as arrays with exactly ``like``'s keys and shapes."""
    keys = list(like)
    if not isinstance(value, Mapping):
        if isinstance(value, (tuple, list)) and len(value) == len(keys):
            _fail(f"{what} is a {type(value).__name__} of {len(value)}; expected a"
                  f" dict with keys {keys}",
                  f"return {{{', '.join(f'{k!r}: d{k}' for k in keys)}}}", "wrong_type")
        _array(value, what)  # None, a string, ...: named there
        _fail(f"{what} is {_short(value, 40)} of type {type(value).__name__},"
              f" expected a dict with keys {keys}",
              "return a dict: one gradient per parameter, under its name",
              "wrong_type")
    missing = [k for k in keys if k not in value]
    extra = [k for k in value if k not in like]
    if missing or extra:
        hint = f"use exactly the parameter names {keys} as keys"
        if sorted(extra, key=str) == sorted(f"d{k}" for k in missing):
            hint = (f"name each gradient after its parameter: {{'{keys[0]}':"
                    f" d{keys[0]}, ...}}, not {{'d{keys[0]}': ...}}")
        _fail(f"{what} has keys {list(value)}: missing {missing}, unexpected {extra}",
              hint, "wrong_keys")
    out = {}
    for key in keys:
        arr = _array(value[key], f"{what}[{key!r}]")
        if arr.shape != like[key].shape:
            _fail(*_shape_problem(key, arr.shape, like[key].shape, batch),
                  "wrong_shape")
        out[key] = arr
    return out


def _finite(out, what, case):
    values = out.values() if isinstance(out, dict) else [out]
    if not all(np.all(np.isfinite(v)) for v in values):
        _fail(f"{what} contains nan or inf on {case}",
              "look for a division by zero, log(0) or an exp that overflows",
              "not_finite")


# --------------------------------------------------------------------------
# Comparing, and matching a wrong answer with the known mistakes
# --------------------------------------------------------------------------


class Mistake(NamedTuple):
    """A known mistake: ``answer(case)`` is what the mistake would return."""

    id: str
    diagnosis: str
    hint: str
    answer: object


def _same(a, b):
    if isinstance(b, dict):
        return all(_same(a[k], b[k]) for k in b)
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def _match(outs, cases, mistakes):
    """Fail with the first mistake that reproduces every answer of the student's."""
    with np.errstate(all="ignore"):
        for m in mistakes:
            if all(_same(out, m.answer(case)) for out, case in zip(outs, cases)):
                _fail(m.diagnosis, m.hint, m.id)


def _worst(outs, refs, cases, label=""):
    """``max abs diff 0.31 at W1[2, 0] on <case>``: the entry furthest off."""
    worst = (-1.0, "", None)
    for out, ref, case in zip(outs, refs, cases):
        pairs = [(k, out[k], ref[k]) for k in ref] if isinstance(ref, dict) \
            else [(label, out, ref)]
        for key, a, r in pairs:
            diff = np.abs(a - np.asarray(r, dtype=np.float64))
            diff = np.where(np.isfinite(diff), diff, np.inf)
            if diff.size and diff.max() > worst[0]:
                index = np.unravel_index(int(diff.argmax()), diff.shape)
                place = f"{key}[{', '.join(str(int(i)) for i in index)}]"
                worst = (float(diff.max()), place, case)
    return f"max abs diff {worst[0]:.3g} at {worst[1]} on {worst[2]}"


def _referee(analytic, numeric, what):
    """The reference itself must agree with central differences."""
    if gradcheck.rel_error(analytic, numeric) > 1e-6:
        raise AssertionError(f"the reference {what} disagrees with finite differences")


class _Case(NamedTuple):
    text: str  # how a message names the case
    data: dict


def _softmax(o):
    return losses.softmax(np.asarray(o, dtype=np.float64)[None])[0]


def _onehot(c, num_classes):
    return np.eye(num_classes)[c]




# --------------------------------------------------------------------------
# The workbook: cells that run the student's code, code carried between notebooks
# --------------------------------------------------------------------------


def _innermost(exc):
    """The name of the function that raised ``exc``: the innermost unfinished stub."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if not frame.filename.startswith((_HERE, _NUMPY_DIR)):
            name = frame.name
            return None if name == "<module>" else name
    return None


def _notebook_of(exc):
    """`` (notebook 02_scalar_backprop.ipynb)`` when the stub came from_notebook."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(_FROM_NOTEBOOK):
            return f" (in {frame.filename[len(_FROM_NOTEBOOK):].split(',')[0]})"
    return ""


class needs_your_code:  # noqa: N801 - used as ``with exercises.needs_your_code():``
    """Run a block that uses the student's functions; skip it if one is unfinished.

    In the workbook, a cell that trains or plots with the student's own functions
    is written ``with exercises.needs_your_code(): ...``. While one of those
    functions still raises ``NotImplementedError`` (nbgrader's stub), the block
    stops there and one line names the innermost unfinished function, instead of
    a traceback that would stop Run All. Any other exception (a bug in finished
    code) propagates as usual. ``skipped`` holds the unfinished name, or None.
    """

    def __init__(self):
        self.skipped = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or not issubclass(exc_type, NotImplementedError):
            return False
        self.skipped = _innermost(exc) or "an exercise"
        print(f"⏸ skipped: `{self.skipped}`{_notebook_of(exc)} is not written yet;"
              " finish it (its check says ✓ when it is right), then re-run this cell")
        return True


_FROM_NOTEBOOK = "from notebook "


def _is_import_cell(tree):
    return bool(tree.body) and all(
        isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body)


def from_notebook(filename, *names, folder=None):
    """The student's functions ``names`` as defined in another notebook's exercises.

    Reads ``filename`` (e.g. ``"02_scalar_backprop.ipynb"``) from ``folder``
    (default: the current folder, which is the notebook's own folder in JupyterLab,
    nbval and nbgrader) *as last saved*, runs its import cells and its exercise
    cells (nbgrader ``solution`` code cells) in a fresh namespace, and returns the
    named functions: one function for one name, else a tuple in the order asked.
    Prints one line saying where they came from. A missing file, a cell that
    raises, or a missing name is reported in that line; the function returned in
    place of a missing one raises ``NotImplementedError`` when called, so cells
    wrapped in :class:`needs_your_code` skip.
    """
    if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
        raise TypeError("from_notebook(filename, *names): give the function names"
                        f" as strings, e.g. 'forward', 'backward'; got {names!r}")
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"filename must be a notebook file name, got {filename!r}")
    path = os.path.join(os.fspath(folder) if folder is not None else os.getcwd(),
                        os.fspath(filename))
    base = os.path.basename(path)
    namespace = {"__name__": f"coursenet_from_{base.split('.')[0]}"}
    problems = []
    try:
        with open(path, encoding="utf-8") as file:
            cells = json.load(file).get("cells", [])
    except (OSError, ValueError) as exc:
        cells = []
        problems.append(f"cannot read {base} ({type(exc).__name__}: {exc})")
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                problems.append(f"cell {index} has a syntax error (line {exc.lineno})")
            continue
        solution = cell.get("metadata", {}).get("nbgrader", {}).get("solution")
        if not (solution or _is_import_cell(tree)):
            continue
        label = f"{_FROM_NOTEBOOK}{base}, cell {index}"
        linecache.cache[label] = (len(source), None, source.splitlines(True), label)
        try:
            exec(compile(tree, label, "exec"), namespace)  # noqa: S102
        except Exception as exc:  # the student's cell: report, go on
            problems.append(f"cell {index} raised {type(exc).__name__}: {exc}")
    found = []
    for name in names:
        fn = namespace.get(name)
        if not callable(fn):
            problems.append(f"no function `{name}` in its exercise cells")
            fn = _missing(name, base)
        found.append(fn)
    names_text = ", ".join(f"`{n}`" for n in names)
    if problems:
        print(f"⚠ {names_text} from {base}: " + "; ".join(problems)
              + ". Fix that notebook, save it, then re-run this cell.")
    else:
        print(f"Using your {names_text} from {base} as last saved (after changing"
              " them there, save that notebook and re-run this cell).")
    return found[0] if len(found) == 1 else tuple(found)


def _missing(name, base):
    def missing(*args, **kwargs):
        raise NotImplementedError(f"`{name}` was not found in {base}")

    missing.__name__ = missing.__qualname__ = name
    label = f"{_FROM_NOTEBOOK}{base}, missing"
    missing.__code__ = missing.__code__.replace(co_name=name, co_filename=label)
    return missing
