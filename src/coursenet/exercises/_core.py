"""The machinery every check shares: run the student's code, compare, diagnose.

How a check works, in the order it happens:

1. ``_run(body)`` runs the check's body and turns its end into exactly one
   printed line and a :class:`CheckResult`: ``✓ ...`` (passed), ``✗ <diagnosis>.
   Hint: ...`` (failed), ``… <name> is not implemented yet`` (todo). It never
   raises because of the student's code (see :func:`_call`).
2. ``_call(fn, args, who, case)`` calls one student function on one case, on
   fresh copies of the inputs, turns whatever it raises into a message
   (``BaseException`` too, ``SystemExit`` included; only ``KeyboardInterrupt``
   passes), and fails when the function changed one of its arguments in place
   (naming the argument and what changed), unless the exercise asks for that
   (``may_change``: ``sgd_step``'s ``params``). An error with a definite cause
   in the student's code is named by it (a call whose arguments arrive in
   another order than the callee's def line names them, an argument renamed
   in the def line only); any other error's hint says what the names on the
   line it stopped at held then.
3. ``_array``/``_vector``/``_number``/``_grads`` turn what the student returned
   into float64 arrays or say exactly why they can't (None, a string, a
   ragged list, a wrong key, a wrong shape; a (C, 1) or (1, C) result is
   refused with why it breaks later); ``_as_promised``, once the numbers are
   right, holds a result to its stub's "numpy array" (float64, and not a list
   where later cells need an array).
4. The answers are compared with a reference (``_same``: ``rtol = RTOL``,
   ``atol = ATOL``), the reference itself refereed by central differences
   (``_referee``).
5. The matching order. Before any table: what the student returned must be
   usable (not None, numbers, the right keys, the right shape: ``_array``,
   ``_grads``, whose messages name the case and its sizes), finite
   (``_finite``) and inputs unchanged (``_call``). Then a wrong answer is
   matched against the check's table of :class:`Mistake` rows in order
   (``_match``): the first row whose answer reproduces the student's on
   *every* case is the diagnosis. Put specific mistakes before general ones.
6. When no row matches, a check may test properties of the right answer
   (rows of J sum to 0, dl/do sums to 0, ...; their hints describe the
   property and the student's own numbers, never the formula a written
   question asks for); before a check falls back to a localised or generic
   message, ``_explain.explain`` searches a small grammar over the check's own
   quantities (inputs, forward values, upstream gradient, right result, N, C)
   for an expression that reproduces the answer on every case and says what
   the student computed; only then does ``_worst`` name the entry furthest off.
   Loops and updates are read by the quantities they imply instead: the
   learning rate of each step (``nb03._implied_rates``, ``nb06._implied_rates``).

How to add a diagnosis, worked through for Q1's ``if c:`` mistake:

1. Write the mistake as a student would, as a test that asserts the check
   names it, and watch it fail (the check calls it something else)::

       def loss_grad_if_c(y, c):
           g = np.zeros(len(y))
           if c:                      # meant: "if this is the true class"
               g[c] = -1 / y[c]
           return g

       def test_loss_grad_if_c():
           assert exercises.check_loss_grad(loss_grad_if_c).mistake == "if_target"

2. Add a ``Mistake(id, diagnosis, hint, answer)`` row to the check's table in
   its notebook's module (``nb01`` ... ``nb06``); ``answer(case_data)``
   computes what the mistaken code returns on one case (here
   ``-onehot(c) / y_c`` when ``c != 0``, else zeros). Put it before any more
   general row that would also match. The diagnosis says what the code did;
   the hint says where to look or which property is violated.
3. Run the test: it passes. Every mistake id of every table must be triggered
   by some test: ``tests/test_exercises_mistake_ids.py`` runs the exercise
   tests with :data:`RECORD_ENV` set and fails on an id no test produced.
"""

from __future__ import annotations

import ast
import copy
import ctypes
import dis
import inspect
import json
import linecache
import os
import re
import sys
import threading
import traceback
import types
import warnings
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from coursenet import gradcheck, losses

RTOL, ATOL = 1e-4, 1e-6

#: Seconds one call of a student's function may take in a check before the check
#: stops it and says so (an endless loop must not hang the notebook).
TIME_LIMIT = 10.0

#: When this environment variable names a file, every mistake id a check
#: reports is appended to it (one per line): the tests use it to prove that
#: every row of every table is reachable.
RECORD_ENV = "COURSENET_RECORD_MISTAKES"

# --------------------------------------------------------------------------
# The result, and how a check ends
# --------------------------------------------------------------------------


_STATUSES = ("passed", "failed", "todo")


class CheckResult:
    """What a check returns. Truthy iff the answer passed.

    ``passed`` (bool), ``message`` (the line the check printed), ``status``
    (``"passed"``, ``"failed"`` or ``"todo"`` for not implemented) and
    ``mistake`` (the id of the recognised mistake, e.g. ``"if_target"``, or
    ``None``).
    """

    def __init__(self, status: str, message: str, mistake: str | None = None):
        if status not in _STATUSES:
            raise ValueError(f"status must be one of {_STATUSES}, got {status!r}")
        if not isinstance(message, str):
            raise TypeError(f"message must be a string, got {message!r}")
        if mistake is not None and not isinstance(mistake, str):
            raise TypeError(f"mistake must be a mistake id (a string) or None, got"
                            f" {mistake!r}")
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

    def __init__(self, message, status="failed", mistake=None, raised=None):
        super().__init__(message)
        self.message, self.status, self.mistake = message, status, mistake
        self.raised = raised  # what the student's code raised, when it did


def _fail(diagnosis, hint, mistake=None):
    said = f"✗ {diagnosis.rstrip('.')}" + (f". Hint: {hint}" if hint.strip() else "")
    raise _Stop(said, mistake=mistake)


# The student's functions each check was given (_need_function notes them), and
# the last verdict on each group: a training cell that stops on nan or inf in a
# function whose own check passed then points at the one whose check failed.
_CHECKING = []
_VERDICTS = {}


def failed_checks():
    """The groups of the student's functions whose last check failed in this
    kernel, oldest first (a spot-the-bug demonstration's aside); a group whose
    function has been redefined since (its name now holds another object) is
    left out: its verdict is about code that is gone; a function of a failed
    group that passed a check of its own is left out of that group."""
    passed = {(name, id(fn)) for names, (fine, fns) in _VERDICTS.items() if fine
              for name, fn in zip(names, fns)}
    failed = []
    for names, (fine, fns) in _VERDICTS.items():
        if fine or not all(_still_defined(n, fn) for n, fn in zip(names, fns)):
            continue
        # a check of two functions together (forward and backward) does not
        # blame the one that passed a check of its own
        suspects = tuple(n for n, fn in zip(names, fns) if (n, id(fn)) not in passed)
        failed.append(suspects or names)
    return failed


def _still_defined(name, fn):
    space = getattr(fn, "__globals__", None)
    return not isinstance(space, dict) or space.get(name, fn) is fn


def _run(body):
    """Run a check's body, print its one line, return the result; never raise."""
    mark = len(_CHECKING)
    try:
        result = _verdict(body)
    finally:
        group = dict(_CHECKING[mark:])   # name -> function
        del _CHECKING[mark:]
    names = tuple(group)
    # only the student's own kernel: under the trusted grader the functions are
    # proxies into a sandbox that is gone once the check is over
    if names and all(isinstance(fn, types.FunctionType) for fn in group.values()):
        upstream = _upstream_failed(group) if result.status == "failed" else ""
        if upstream:   # a demonstration too: its verdict may be the student's
            # first: the diagnosis below assumes that function right
            result.message = (f"✗ {upstream}. What this check finds as things"
                              f" stand: {result.message.removeprefix('✗ ')}")
        elif result.status == "failed":
            _lookalike_aside(result, group)
        if not _DEMONSTRATING:
            _VERDICTS.pop(names, None)   # re-checked: it moves to the end
            # unfinished ("todo") is not failed: its cell says "not written yet"
            _VERDICTS[names] = (result.status != "failed", tuple(group.values()))
    _record(result.mistake)
    print(result.message)
    if _grading() and not result.passed:
        # nbgrader scores a test cell by whether it raised: under autograde and
        # validate (nbgrader sets NBGRADER_EXECUTION) a check that did not pass
        # raises, so the cell scores 0 and the diagnosis reaches the feedback. In a
        # student's session it never raises, so Run All goes on.
        raise AssertionError(result.message)
    return result


# functions one letter away from the one meant, and what they compute instead:
# a failed check says so when the student's code (or a helper it calls) uses one
_LOOKALIKES = {"expm1": "eˣ − 1, not eˣ", "log1p": "log(1 + x), not log x",
               "exp2": "2ˣ, not eˣ", "log2": "the logarithm to base 2, not e",
               "log10": "the logarithm to base 10, not e"}


def _makes_int_array(fn):
    """Whether ``fn``'s code passes ``dtype=`` an integer type (``int``,
    ``np.int64``...): an array that cuts every value written into it."""
    kinds = {"int", "int8", "int16", "int32", "int64", "intp", "uint8"}

    def keywords(code):   # 3.11's dis leaves KW_NAMES's tuple unresolved
        for ins in dis.get_instructions(code):
            if ins.opname == "KW_NAMES":
                yield from code.co_consts[ins.arg]
            elif isinstance(ins.argval, tuple):
                yield from ins.argval
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                yield from keywords(const)

    code = getattr(fn, "__code__", None)
    return code is not None and bool(kinds & _names_used(fn)) \
        and "dtype" in keywords(code)


def _compares_equal(fn):
    """Whether ``fn``'s code has an ``==``."""
    return _code_has(fn, lambda ins: ins.opname == "COMPARE_OP"
                     and "==" in ins.argrepr)


def _lookalike_aside(result, group):
    """Add to a failed ``result`` which look-alike function the checked code
    calls (a weak mistake id becomes ``lookalike_function``)."""
    fns = dict(group)
    for fn in group.values():
        space = getattr(fn, "__globals__", {})
        fns.update((name, space[name]) for name in _calls(fn) if name in space)
    used = {(name, n) for name, fn in fns.items() for n in _names_used(fn)
            if n in _LOOKALIKES and n not in result.message}
    equal = [name for name, fn in fns.items() if _compares_equal(fn)]
    floors = [name for name, fn in fns.items() if _floor_divides(fn)]
    if result.mistake == "zero" and floors:
        result.message = (f"✗ {floors[0]} divides with //, a floor division: it"
                          " rounds down to a whole number, so a number below 1"
                          " (dloss over the row count, say) becomes 0. What the"
                          f" check saw: {result.message.removeprefix('✗ ')}")
        result.mistake = "floor_division"
        return
    if result.mistake == "zero" and equal:
        result.message += (f". Note: {equal[0]} has a comparison with ==: if it is"
                           " never true here, nothing is kept (does it compare"
                           " things of two kinds, a value with a position? == is"
                           " worked out after the arithmetic around it)")
        result.mistake = "comparison_never_true"
    ints = [name for name, fn in fns.items() if _makes_int_array(fn)]
    if ints and result.status == "failed" and not used \
            and "integer" not in result.message:
        result.message += (f". Note: {ints[0]} makes an array with an integer"
                           " dtype: every fraction written into it is cut to a"
                           " whole number (a probability becomes 0)")
    if used:
        name, n = sorted(used)[0]
        said = f"{name} calls {n}, which computes {_LOOKALIKES[n]}"
        if result.mistake in (None, "raised", "not_finite", "forward_wrong", "wrong"):
            # the check found no cause of its own: the look-alike leads, and
            # its hint replaces the check's guess (an overflow, say)
            seen = result.message.removeprefix("✗ ").split(". Hint: ")[0]
            result.message = (f"✗ {said}. What the check saw: {seen}. Hint: call"
                              " the function that computes what the text writes,"
                              f" where {n} stands")
            result.mistake = "lookalike_function"
        else:
            result.message += f". Note: {said}"


def _upstream_failed(group):
    """A sentence naming a function that the checked ones call and whose own
    check failed earlier (a wrong layer inside a right composition), else ''."""
    calls = {name: _calls(fn) for name, fn in group.items()}
    for names in failed_checks():
        callers = [name for name, called in calls.items() if set(names) & called]
        if callers and not set(names) & set(group):
            who = " and ".join(f"`{name}`" for name in names)
            return (f"Your {who} failed {'its' if len(names) == 1 else 'their'}"
                    f" own check above, and {' and '.join(callers)}"
                    f" {'calls' if len(callers) == 1 else 'call'}"
                    f" {'it' if len(names) == 1 else 'them'}: start there")
    return ""


def _calls(fn, depth=3):
    """The names of the Python functions ``fn`` reaches through its globals
    (the notebook's), ``depth`` calls deep: what a composition runs."""
    found, todo = set(), [fn]
    for _ in range(depth):
        nxt = []
        for f in todo:
            space = getattr(f, "__globals__", {})
            for name in _names_used(f) - found:
                value = space.get(name)
                if callable(value) and hasattr(value, "__code__"):
                    found.add(name)
                    nxt.append(value)
        todo = nxt
    return found


def _verdict(body):
    """The CheckResult of a check's body."""
    try:
        result = CheckResult("passed", body())
    except _Stop as stop:
        result = CheckResult(stop.status, stop.message, stop.mistake)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001
        where = _where(exc)
        if where:  # raised in the student's code: e.g. a returned object's __repr__
            result = CheckResult(
                "failed", f"✗ something your code returned raised"
                f" {type(exc).__name__}: {_text(exc)}{where} when the check used it."
                " Hint: return plain numbers (floats, lists of floats, numpy"
                " arrays) or a dict of them", "raised")
        else:  # a bug in this module, not in the student's code
            result = CheckResult(
                "failed",
                f"✗ the check itself failed ({type(exc).__name__}: {_text(exc)})."
                " Hint: this is a bug in coursenet.exercises, not in your code;"
                " please report it",
            )
    return result


def _record(mistake):
    path = os.environ.get(RECORD_ENV)
    if mistake and path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(mistake + "\n")


_DEMONSTRATING = []


def _grading():
    """True while nbgrader autogrades or validates a notebook (outside a
    :class:`expected_to_fail` block)."""
    return not _DEMONSTRATING and os.environ.get(
        "NBGRADER_EXECUTION", "").lower() in {"autograde", "validate"}


class expected_to_fail:  # noqa: N801 - used as ``with exercises.expected_to_fail():``
    """A check run on purpose on wrong code (a spot-the-bug) never raises, not
    even under nbgrader: its ✗ line is the lesson, not the student's score."""

    def __enter__(self):
        _DEMONSTRATING.append(True)
        return self

    def __exit__(self, *exc):
        _DEMONSTRATING.pop()
        return False


def _name(fn, default):
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) and name.isidentifier() else default


def _need_function(fn, check, what):
    if callable(fn):
        _CHECKING.append((_name(fn, what), fn))
    else:
        _fail(
            f"{check} needs {what}, got {_short(fn)} of type {type(fn).__name__}",
            f"pass the function itself, without calling it: {check}(my_function)",
        )


def _short(value, limit=70):
    """``repr(value)``, cut to ``limit``; a repr that raises is not our bug."""
    try:
        text = repr(value)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the student's object's __repr__
        text = (f"<a {type(value).__name__} object whose __repr__ raised"
                f" {type(exc).__name__}>")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(exc):
    """``str(exc)``'s first line, cut; an exception whose __str__ raises too."""
    try:
        message = (str(exc).strip().splitlines() or [""])[0]
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001
        message = "(its message could not be printed)"
    return message if len(message) <= 120 else message[:117] + "..."


_NUMPY_DIR = os.path.dirname(np.__file__)
_HERE = os.path.dirname(__file__)
# the course package, numpy and Python's own files: frames that are not the student's
_LIBRARIES = (os.path.dirname(_HERE), _NUMPY_DIR, sys.prefix, sys.base_prefix)


def _student_frames(exc):
    """The frames of the traceback that are the student's (a cell, a function
    of theirs), innermost last: not this package's, numpy's or Python's."""
    return [f for f in traceback.extract_tb(exc.__traceback__)
            if not f.filename.startswith(_LIBRARIES)]


def _frame_name(frames):
    """The name of the innermost frame that has one: a comprehension or a
    lambda is named after the function (or ``"<module>"``, the cell) it is in."""
    named = [f.name for f in frames
             if f.name == "<module>" or not f.name.startswith("<")]
    return named[-1] if named else (frames[-1].name if frames else None)


def _where(exc):
    """`` (line 7 of loss_grad)``: the innermost of the student's frames (``
    (line 3 of this cell)`` when that is a cell's own code)."""
    frames = _student_frames(exc)
    if not frames:
        return ""
    name = _frame_name(frames)   # a comprehension's line is its function's line
    return f" (line {frames[-1].lineno} of" \
        f" {'this cell' if name == '<module>' else name})"


def _call(fn, args, who, case, said="raised", hint=None, may_change=()):
    """Call the student's function quietly; turn any exception into a message.

    ``hint``: the hint for an exception (a string, or ``hint(exc)`` returning one
    or None for the general hint). ``args`` are the check's own fresh copies.
    After the call each argument is compared with a copy taken before it: an
    argument changed in place fails the check (naming it and what changed),
    except the positions in ``may_change``.
    """
    global _RETURNED_NONE
    _RETURNED_NONE = ""      # about this call only: never a stale reason
    before = [_snapshot(a) for a in args]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), \
                _TimeLimit(TIME_LIMIT):
            warnings.simplefilter("ignore")
            out = fn(*args)
        _RETURNED_NONE = _none_reason(fn) if out is None else ""
    except KeyboardInterrupt:
        raise
    except _TooLong:
        raise _Stop(f"✗ {who} did not return within {TIME_LIMIT:g} s on {case}, so"
                    " the check stopped it. Hint: look for a loop that never ends"
                    " (a `while` whose condition never changes, or a list that"
                    " grows while a `for` walks it)", mistake="too_slow") from None
    except NotImplementedError as exc:
        stub = _innermost(exc) or who
        raise _Stop(
            f"… {stub} is not implemented yet (replace `raise NotImplementedError()`"
            " with your code)", status="todo") from None
    except BaseException as exc:  # noqa: BLE001 - SystemExit too: never escape
        named = _swapped_call(exc) or _renamed_argument(exc) \
            or _keys_crossed(exc) or _name_from_outside(exc) \
            or _read_only(exc) or _keys_unpacked(exc) or _zip_unpacked(exc) \
            or _pair_kept_whole(exc) or _list_too_short(exc) \
            or _scalar_indexed(exc) or _too_many_indices(exc) \
            or _unpacked_swapped(exc) or _enumerate_from(exc) \
            or _shape_as_two_arguments(exc) or _argument_turned_round(exc)
        if named:     # a definite cause: no check's own reading of the error
            raise _Stop(f"✗ {who} {said} {type(exc).__name__}: {_text(exc)}"
                        f"{_where(exc)} on {case}: {named[0]}. Hint: {named[1]}",
                        mistake=named[2]) from None
        said_hint = hint(exc) if callable(hint) else hint
        seen = _line_values(exc, _parts(fn, args))
        if said_hint and " is the argument " in seen:   # an alias says more
            said_hint += f"; when it stopped, that line saw {seen}"
        raise _Stop(f"✗ {who} {said} {type(exc).__name__}: {_text(exc)}{_where(exc)}"
                    f" on {case}. Hint: {said_hint or _raised_hint(exc, fn, args)}",
                    mistake="raised", raised=exc) from None
    for index, (old, new) in enumerate(zip(before, args)):
        if index in may_change or old is _UNCOPYABLE:
            continue
        change = _difference(old, new)
        if change:
            name = _parameter(fn, index)
            _fail(f"{who} changed its argument `{name}` in place on {case}: {change}",
                  "the caller still needs its list in its own order: walk it"
                  " backwards without turning it round" if "was reversed" in change
                  else _mutation_hint(name, old, change), "changed_input")
    return out


class _TooLong(BaseException):
    """Raised inside the student's function when it ran past the time limit.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that a student's
    ``except Exception:`` inside the loop does not swallow it.
    """


class _TimeLimit:
    """Stop the code in this block when it runs longer than ``seconds``.

    Why a watchdog thread that raises :class:`_TooLong` in the checked thread
    (``PyThreadState_SetAsyncExc``, CPython's own mechanism for this), rather than
    the alternatives: ``signal.alarm`` works only in the main thread and not on
    Windows, and would replace a handler the kernel may have set; running the
    student's function in a thread and giving up on it after a timeout would
    leave an endless loop running (and burning a core) for the rest of the
    session. The exception arrives between two bytecodes, so it stops any Python
    loop; a single numpy call that runs long finishes first. It is raised again
    every half second until the block ends, in case the student's code catches
    it (a bare ``except:``). :func:`from_notebook` bounds a notebook's cells
    with it too.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.fired = False
        self.thread_id = threading.get_ident()

    def _watch(self):
        wait = self.seconds
        while not self.done.wait(wait):
            with self.lock:
                if self.done.is_set():
                    return
                self.fired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self.thread_id), ctypes.py_object(_TooLong))
            wait = 0.5

    def __enter__(self):
        self.watchdog = threading.Thread(target=self._watch, daemon=True)
        self.watchdog.start()
        return self

    def __exit__(self, *exc):
        with self.lock:
            self.done.set()  # from here on the watchdog sets nothing
        self.watchdog.join()
        if self.fired:
            # An exception the watchdog set may still be pending (the block ended
            # just after it was set, or the student's code caught an earlier
            # one): let it arrive here, on a few bytecodes, and drop it. (Clearing
            # it with PyThreadState_SetAsyncExc(id, NULL) instead leaves
            # CPython 3.11's eval loop spinning under sys.settrace.)
            try:
                for _ in range(10_000):
                    pass
            except _TooLong:
                pass
        return False


_UNCOPYABLE = object()


def _snapshot(value):
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - then it cannot be compared either
        return _UNCOPYABLE


def _parameter(fn, index):
    """The name of ``fn``'s ``index``-th parameter, as the student wrote it."""
    try:
        names = [p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return names[index] if index < len(names) else f"argument {index + 1}"


def _difference(old, new, where=""):
    """How ``new`` differs from ``old`` (a copy taken before the call), or ''."""
    if isinstance(old, Mapping):
        if not isinstance(new, Mapping):
            return f"{where or 'it'} is now a {type(new).__name__}"
        gone = [k for k in old if k not in new]
        added = [k for k in new if k not in old]
        if gone or added:
            return (f"{where or 'it'} now has keys {list(new)}"
                    f" (was {list(old)})")
        for key in old:
            change = _difference(old[key], new[key], f"{where}[{key!r}]")
            if change:
                return change
        return ""
    try:
        a = np.asarray(old, dtype=np.float64)
        b = np.asarray(new, dtype=np.float64)
    except Exception:  # noqa: BLE001 - not numbers: compare as objects
        if isinstance(old, (tuple, list)):  # a cache such as (y, c): item by item
            if isinstance(new, list) and len(new) < len(old):
                return (f"{where or 'it'} held {len(old)} entries, after the call"
                        f" {len(new)}: entries were taken out of the caller's list"
                        " (pop() or remove() shorten the list itself)")
            if not isinstance(new, (tuple, list)) or len(new) != len(old):
                return f"{where or 'it'} was changed"
            for index, (was, now) in enumerate(zip(old, new)):
                change = _difference(was, now, f"{where}[{index}]")
                if change:
                    turned = not any(_difference(was, now) for was, now
                                     in zip(list(old)[::-1], new))
                    return (f"{where or 'it'} was reversed (a list's reverse()"
                            " turns the caller's list round; reversed() walks it"
                            " backwards and leaves it as it was)") if turned \
                        else change
            return ""
        try:
            return "" if old == new else f"{where or 'it'} was changed"
        except Exception:  # noqa: BLE001
            return ""
    if a.shape != b.shape:
        return f"{where or 'it'} had shape {a.shape}, now {b.shape}"
    changed = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    if not changed.any():
        return ""
    if a.size <= 6:
        return (f"{where or 'it'} was {_numbers(a)}, after the call it is"
                f" {_numbers(b)}")
    return (f"{int(changed.sum())} of the {a.size} entries of {where or 'it'}"
            " were overwritten")


_LEFT_IN_MEMORY = 777.25   # what _entries_never_set leaves in freed memory


def _entries_never_set(fn, args, who, shapes, names=None):
    """Fail when entries of what ``fn(*args)`` returns hold what memory held
    before the call: an array made without setting its values (np.empty,
    empty_like) keeps it. numpy hands a small array's freed memory to the next
    array of that size, so arrays of the results' ``shapes`` are filled with a
    marker and freed just before the call; a result that shows the marker never
    set those entries (a right one cannot hold it). ``names``: one per item of
    a returned tuple (None: one result)."""
    marked = [np.full(shape, _LEFT_IN_MEMORY) for shape in shapes for _ in range(8)]
    del marked
    try:
        value = _call(fn, args, who, "a probe")
    except _Stop:      # raised here only: the check's own cases say why
        return
    values = value if names and isinstance(value, (tuple, list)) else (value,)
    for name, v in zip(names or (None,), values):
        what = f"{name} from {who}" if name else f"what {who} returned"
        try:
            arr = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if np.any(arr == _LEFT_IN_MEMORY):
            _fail(f"{int(np.sum(arr == _LEFT_IN_MEMORY))} entries of {what} were"
                  f" never set: they hold {_LEFT_IN_MEMORY}, a number"
                  " the check left in memory just before the call, so they hold"
                  " whatever memory held, a different number from run to run",
                  "an array made without values (empty) keeps what the memory"
                  " held: start from an array whose every entry is set",
                  "entries_never_set")


def _numbers(arr):
    text = np.array2string(np.asarray(arr), precision=4, separator=", ",
                           max_line_width=10**6)
    return " ".join(text.split()).replace("[ ", "[")


def _mutation_hint(name, old, change=""):
    if "taken out of the caller's list" in change:
        return (f"the caller still needs {name} whole: walk it (by index, or with"
                " reversed()) without taking its entries out")
    if isinstance(old, np.ndarray):
        return (f"writing into {name} (or into a second name for it, which is not a"
                f" copy but the same array) changes the caller's {name}, and later"
                " cells see the spoiled values. Start from a new array (a copy, or"
                " zeros of the same length)")
    if isinstance(old, Mapping):
        return (f"the caller still needs {name} as it was (later cells read it):"
                " compute new lists instead of changing the ones in it")
    if isinstance(old, (tuple, list)) and any(isinstance(v, np.ndarray) for v in old):
        return (f"an array inside {name} is the caller's own array: writing into it"
                " changes what the caller holds, and so does writing through a"
                " second name for it (a plain `=`, or a slice `[:]`, which for a"
                " numpy array is a view, not a copy). Start from a new array (a"
                " copy, or zeros of the same length)")
    return (f"writing into {name} (or into a second name for it, which is not a"
            f" copy but the same list) changes the caller's {name}: build a new"
            " list")


def _names_used(fn):
    """The global and attribute names ``fn``'s code (and the functions defined
    in it) reads: ``np.diag(Y)`` gives ``{"np", "diag"}``; empty for anything
    but a plain Python function."""

    if not isinstance(fn, types.FunctionType):   # a builtin, or a grader's proxy
        return set()
    return _code_names(fn.__code__)


def _code_names(code):
    """The global and attribute names ``code`` and the code defined in it read."""
    found = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            found |= _code_names(const)
    return found


# the instructions that put one plain name on the stack (3.10 to 3.13)
_LOADS = {"LOAD_FAST", "LOAD_NAME", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_CLOSURE",
          "LOAD_FAST_CHECK", "LOAD_FAST_BORROW", "LOAD_FAST_LOAD_FAST",
          "LOAD_FAST_BORROW_LOAD_FAST_BORROW"}


def _call_names(code, offset):
    """The arguments passed positionally by the call at ``offset`` of ``code``,
    each a plain name or None for any other expression (``f(cache, params,
    g(y))`` gives ``["cache", "params", None]``), or None when the call is not
    one with positional arguments only. Read from the bytecode, since a
    notebook cell's source may not be at hand: walking back from the call,
    an argument ends where the instructions read so far add one value."""
    ins = list(dis.get_instructions(code))
    # 3.11's tb_lasti points into the call's inline cache, after its offset
    at = max((i for i, x in enumerate(ins) if x.offset <= offset), default=None)
    if at is None or ins[at].opname not in ("CALL", "CALL_FUNCTION") \
            or not ins[at].arg:
        return None
    names, part, depth = [], [], 0
    for x in reversed(ins[:at]):
        if len(names) == ins[at].arg:
            return names
        if x.opname == "PRECALL" and not part and not names:
            continue
        if x.opname == "KW_NAMES":   # keywords: matched by name
            return None
        part.append(x)
        depth += dis.stack_effect(x.opcode, x.arg if x.opcode >= dis.HAVE_ARGUMENT
                                  else None, jump=False)
        plain = len(part) == 1 and x.opname in _LOADS
        if depth == 2 and plain and isinstance(x.argval, tuple):  # two loads
            names[:0], part, depth = list(x.argval), [], 0
        elif depth == 1:
            names[:0], part, depth = [x.argval if plain else None], [], 0
        elif depth > 1:
            return None
    return names if len(names) == ins[at].arg else None


def _swapped_call(exc):
    """(diagnosis, hint, mistake) when the error happened inside a function
    that the student's code called with its arguments in another order than
    its def line names them (``backprop(cache, params)`` for ``def
    backprop(params, cache)``), else None."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        inner = tb.tb_next   # past the check's spies and from_notebook's wrappers
        while inner.tb_next is not None \
                and inner.tb_frame.f_code.co_filename.startswith(_LIBRARIES):
            inner = inner.tb_next
        caller, callee = tb.tb_frame.f_code, inner.tb_frame.f_code
        if not caller.co_filename.startswith(_LIBRARIES):
            passed = _call_names(caller, tb.tb_lasti) or []
            wanted = list(callee.co_varnames[:callee.co_argcount])[:len(passed)]
            moved = [f"`{n}` arrives where the def line has `{wanted[i]}`"
                     for i, n in enumerate(passed)
                     if n in wanted and wanted.index(n) != i]
            if moved:
                who = "this cell" if caller.co_name == "<module>" else caller.co_name
                return (f"line {tb.tb_lineno} of {who} calls {callee.co_name}"
                        f" with ({', '.join(n or '…' for n in passed)}), and"
                        " the def line of"
                        f" {callee.co_name} names its arguments"
                        f" ({', '.join(wanted)}): {', '.join(moved)}",
                        "arguments are matched by position, not by name: pass"
                        " them in the order the def line lists them",
                        "call_arguments_swapped")
        tb = tb.tb_next
    return None


def _renamed_argument(exc):
    """(diagnosis, hint, mistake) for a NameError inside a function that never
    reads one of its own arguments (``def sgd_step(params, grads, rate)`` whose
    body still says ``lr``), else None."""
    name = getattr(exc, "name", None)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if not isinstance(exc, NameError) or not name or tb is None:
        return None
    code = tb.tb_frame.f_code
    read = {x.argval for x in dis.get_instructions(code) if x.opname in _LOADS}
    read |= {n for x in dis.get_instructions(code) if isinstance(x.argval, tuple)
             for n in x.argval}
    unused = [a for a in code.co_varnames[:code.co_argcount] if a not in read]
    if len(unused) != 1 or code.co_name.startswith("<"):
        return None
    return (f"{code.co_name} reads `{name}`, which nothing defines, and never"
            f" reads its own argument `{unused[0]}`: a name changed in one place"
            " and not in the other", "use one name for that value, in the def"
            " line and in the body alike", "argument_renamed")


def _parts(fn, args):
    """{id: words} for the arguments the check passed and their items one
    level down (``grads['V']``), to recognise them by identity on a line."""
    parts = {}
    for index, arg in enumerate(args):
        name = _parameter(fn, index)
        if isinstance(arg, (list, tuple, dict, np.ndarray)):   # not an int: 0 is
            parts[id(arg)] = f"the argument {name}"            # one object for all
        items = arg.items() if isinstance(arg, Mapping) else \
            enumerate(arg) if isinstance(arg, (list, tuple)) else ()
        for key, item in items:
            if isinstance(item, (list, tuple, dict, np.ndarray)):
                parts.setdefault(id(item), f"the argument {name}[{key!r}]")
    return parts


def _last_frame(exc):
    """The innermost traceback entry that is the student's code, or None."""
    tb, last = exc.__traceback__, None
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_LIBRARIES):
            last = tb
        tb = tb.tb_next
    return last


def _with_lines(code):
    """``(line number, instruction)`` for each bytecode instruction of ``code``."""
    line = None
    for ins in dis.get_instructions(code):
        line = (ins.positions.lineno if getattr(ins, "positions", None)
                else (ins.starts_line or line))      # 3.10: no positions
        yield line, ins


def _line_instructions(code, lineno):
    """The bytecode instructions of line ``lineno`` of ``code``."""
    return [ins for line, ins in _with_lines(code) if line == lineno]


def _line_reads(code, lineno):
    """What line ``lineno`` of ``code`` reads, in order: plain names, and
    ``(name, key)`` for a subscript by a constant (``grads['b1']``, ``W[0]``),
    read from the bytecode (3.10 to 3.13)."""
    on_line, reads = _line_instructions(code, lineno), []
    for k, ins in enumerate(on_line):
        if ins.opname in _LOADS - {"LOAD_GLOBAL"}:
            for name in ins.argval if isinstance(ins.argval, tuple) else (ins.argval,):
                reads.append(name)
        elif ins.opname == "LOAD_CONST" and k and isinstance(ins.argval, (str, int)) \
                and reads and on_line[k - 1].opname in _LOADS - {"LOAD_GLOBAL"}:
            after = [x.opname for x in on_line[k + 1:k + 4]
                     if x.opname not in ("COPY", "DUP_TOP_TWO")]
            if after[:1] == ["BINARY_SUBSCR"]:
                reads[-1] = (reads[-1], ins.argval)
    return reads


def _item(held, read):
    """(words, value) for one entry of :func:`_line_reads` in the frame's
    locals ``held``; None when the name is not there or the key not in it."""
    if isinstance(read, str):
        return (read, held[read]) if read in held else None
    name, key = read
    box = held.get(name)
    if isinstance(box, Mapping) and key in box:
        return f"{name}[{key!r}]", box[key]
    if isinstance(box, (list, tuple)) and isinstance(key, int) \
            and -len(box) <= key < len(box):
        return f"{name}[{key}]", box[key]
    return None


def _line_values(exc, parts=None, most=5):
    """What the names on the line the student's code stopped at held then
    (``i = 3, W is a list of 2 rows of 3, grads['b1'] has shape (5,)``, ``G is
    the argument grads['V']`` for one of ``parts``), read from that frame's
    bytecode and locals; '' when that frame is not theirs."""
    last = _last_frame(exc)
    if last is None:
        return ""
    held, parts, said = last.tb_frame.f_locals, parts or {}, []
    tables = [(n, v) for n, v in held.items() if isinstance(v, np.ndarray)
              and v.ndim == 2 and min(v.shape) > 1]
    for read in dict.fromkeys(_line_reads(last.tb_frame.f_code, last.tb_lineno)):
        found = _item(held, read)
        if found is None:
            continue
        words, value = found
        part, extra = parts.get(id(value)), _held(value)
        extra = extra.removeprefix("is ").removeprefix("has ")
        text = (f"{words} is {part}" + (f" ({extra})" if extra else "")
                if part and part != f"the argument {words}"
                else f"{words} {_held(value)}")
        sized = [n for n, v in tables if isinstance(value, (int, np.integer))
                 and not isinstance(value, bool) and value == v.size]
        if sized:
            rows, cols = held[sized[0]].shape
            text += (f" (= {rows} × {cols}, every entry of {sized[0]}: the count"
                     " of its entries, not of its rows)")
        if not text.endswith(" "):
            said.append(text)
    return ", ".join(said[:most])


def _keys_crossed(exc):
    """(diagnosis, hint, mistake) when the line the student's code stopped at
    reads two dicts with the same keys under two different keys
    (``params['b2'] -= lr * grads['b1']``: a copied line that kept a key),
    else None."""
    last = _last_frame(exc)
    if last is None:
        return None
    held = last.tb_frame.f_locals
    subs = [r for r in _line_reads(last.tb_frame.f_code, last.tb_lineno)
            if isinstance(r, tuple) and isinstance(held.get(r[0]), Mapping)
            and r[1] in held[r[0]]]
    for a, ka in subs:
        for b, kb in subs:
            if a != b and ka != kb and {ka, kb} <= set(held[a]) & set(held[b]):
                seen = [f"{n}[{k!r}] {_held(held[n][k])}"
                        for n, k in ((a, ka), (b, kb))]
                return (f"{_who(exc, last)} reads {a}[{ka!r}] beside"
                        f" {b}[{kb!r}], two dicts with the same keys read under"
                        " two different keys on one line"
                        f" ({', '.join(s for s in seen if not s.endswith(' '))})",
                        "a line about one entry reads that entry's key in every"
                        " dict: a copied line often keeps the key of the line it"
                        " was copied from", "keys_crossed")
    return None


def _who(exc, last):
    name = _frame_name(_student_frames(exc))
    return f"line {last.tb_lineno} of {'this cell' if name == '<module>' else name}"


def _name_from_outside(exc):
    """(diagnosis, hint, mistake) for a NameError in the student's function:
    a local read before any line set it, an enclosing function's variable not
    set yet, or a name from outside that the notebook does not hold; else None."""
    last = _last_frame(exc)
    found = re.search(r"(?:name|variable) '(\w+)'", _text(exc))
    if not isinstance(exc, NameError) or last is None or not found:
        return None
    name, code = found.group(1), last.tb_frame.f_code
    where = _who(exc, last)
    if isinstance(exc, UnboundLocalError) or name in code.co_varnames:
        return (f"{where} reads `{name}` before any line of it has set `{name}`"
                " (the line that sets it comes later, or sits in a branch or"
                " loop that did not run)", "set a name before the line that"
                " reads it, on every path through the function", "read_before_set")
    if name in code.co_freevars:
        return (f"{where} reads `{name}`, a variable of the function it is"
                " defined in, which had not been set when it ran: an inner"
                " function sees the enclosing function's variables as they are"
                " at that moment",
                "hand an inner function what it needs as an argument",
                "free_variable_unset")
    if code.co_name == "<module>":
        return None
    return (f"{where} uses `{name}`, which is not one of its arguments, is not set"
            " inside it, and was not defined in the notebook when it ran",
            "what a function needs comes in through its arguments or is set"
            " inside it (a value its forward saw travels in the cache); a helper"
            " it calls must be defined, its cell run, before", "name_from_outside")


def _read_only(exc):
    """(diagnosis, hint, mistake) for numpy's "read-only" ValueError: a write
    into a view numpy hands out read-only (``J.diagonal()``), else None."""
    last = _last_frame(exc)
    if not isinstance(exc, ValueError) or "read-only" not in _text(exc) \
            or last is None:
        return None
    held = last.tb_frame.f_locals
    names = [r for r in _line_reads(last.tb_frame.f_code, last.tb_lineno)
             if isinstance(r, str) and isinstance(held.get(r), np.ndarray)
             and not held[r].flags.writeable]
    what = f"`{names[0]}`, " if names else ""
    return (f"{_who(exc, last)} writes into {what}an array numpy hands out"
            " read-only (a view such as the diagonal method's, or"
            " broadcast_to's), which may not be written through",
            "write into an array of your own (a copy, or one you made), not"
            " through such a view", "read_only_view")


def _keys_unpacked(exc):
    """(diagnosis, hint, mistake) when a name on the line the student's code
    stopped at holds a string that is a key of a dict in that frame (``W, b =
    cache`` with a dict cache gives ``W = 'W'``), else None."""
    last = _last_frame(exc)
    if not isinstance(exc, (AttributeError, TypeError)) or last is None \
            or not re.search(r"'str'|\bstring\b", _text(exc)):
        return None   # a key used as a key is right: only a string used as data
    held = last.tb_frame.f_locals
    dicts = [(n, d) for n, d in held.items() if isinstance(d, Mapping)]
    for read in _line_reads(last.tb_frame.f_code, last.tb_lineno):
        value = held.get(read) if isinstance(read, str) else None
        owner = [n for n, d in dicts if isinstance(value, str) and value in d]
        if owner:
            return (f"{_who(exc, last)} reads `{read}` = {value!r}, a key of the"
                    f" dict `{owner[0]}`, not the value stored under it:"
                    " unpacking a dict (or looping over it) gives its keys",
                    "look each value up in the dict by its key", "dict_keys_unpacked")
    return None


def _store_targets(on_line, k):
    """(target, next index) for the assignment target whose first store is
    ``on_line[k]``: a name, or a tuple of targets for an unpacking, read from
    the bytecode (3.13 fuses two plain stores into one instruction)."""
    ins = on_line[k]
    if ins.opname == "UNPACK_SEQUENCE":
        parts, k = [], k + 1
        while len(parts) < ins.arg and k < len(on_line):
            if isinstance(on_line[k].argval, tuple) \
                    and on_line[k].opname.startswith("STORE"):
                parts.extend(on_line[k].argval)
                k += 1
                continue
            part, k = _store_targets(on_line, k)
            parts.append(part)
        return tuple(parts), k
    return (ins.argval if ins.opname.startswith("STORE") else None), k + 1


def _zip_unpacked(exc):
    """(diagnosis, hint, mistake) for "values to unpack" on a ``for`` line over
    ``zip(a, b)`` whose target names the parts of each pair in the other
    order (``for cache, (forward, backward, names) in zip(layers, caches)``):
    the nested target fits the items of the other list; else None."""
    last = _last_frame(exc)
    if not isinstance(exc, ValueError) or "to unpack" not in _text(exc) \
            or last is None:
        return None
    code, held = last.tb_frame.f_code, last.tb_frame.f_locals
    on_line = _line_instructions(code, last.tb_lineno)
    at = next((k for k, x in enumerate(on_line) if x.opname == "FOR_ITER"), None)
    if at is None or at + 1 >= len(on_line) or "zip" not in code.co_names:
        return None
    target, _ = _store_targets(on_line, at + 1)
    lists = [r for r in _line_reads(code, last.tb_lineno)
             if isinstance(r, str) and isinstance(held.get(r), (list, tuple))]
    if not isinstance(target, tuple) or len(target) != len(lists) != 1:
        return None

    def fits(part, items):
        return all(not isinstance(part, tuple) or (
            isinstance(i, (list, tuple)) and len(i) == len(part)) for i in items)

    pieces = [held[n] for n in lists]
    if all(fits(p, i) for p, i in zip(target, pieces)) \
            or not all(fits(p, i) for p, i in zip(target, reversed(pieces))):
        return None
    shown = ", ".join(f"({', '.join(p)})" if isinstance(p, tuple) else str(p)
                      for p in target)
    return (f"{_who(exc, last)} unpacks each item of zip({', '.join(lists)}) as"
            f" {shown}, but zip hands over its items in the order of its"
            f" arguments, first from {lists[0]}: the parts are named the other"
            " way round", "name the parts of each item in the order zip's"
            " arguments come", "zip_unpacked_swapped")


def _argument_turned_round(exc):
    """(diagnosis, hint, mistake) when a shape error (a matrix product, a
    broadcast, a layer's own shape check) is raised below a line of the
    student's that hands on one of its arguments transposed (``X.T``, the
    maths' column-per-instance habit), else None."""
    inner = exc
    while isinstance(inner, CarriedCodeFailed) and inner.__cause__ is not None:
        inner = inner.__cause__      # a layer raised below a carried function
    text = _text(inner)
    if not isinstance(inner, ValueError) or not any(
            w in text for w in ("matmul", "align", "shape", "broadcast")):
        return None
    tb = exc.__traceback__
    while tb is not None:
        code, held, line = tb.tb_frame.f_code, tb.tb_frame.f_locals, tb.tb_lineno
        tb = tb.tb_next
        if code.co_filename.startswith(_LIBRARIES) or tb is None:
            continue
        on_line = _line_instructions(code, line)
        arguments = code.co_varnames[:code.co_argcount]
        for k, x in enumerate(on_line[1:], 1):
            name = on_line[k - 1].argval    # 3.13: (params, X) loaded as a pair
            name = name[-1] if isinstance(name, tuple) and name else name
            if x.opname == "LOAD_ATTR" and x.argval == "T" and name in arguments \
                    and np.ndim(held.get(name)) == 2:
                shape = np.shape(held[name])
                return (f"line {line} of {code.co_name} hands on {name} turned"
                        f" round (transposed: shape {shape[::-1]}, where {name} is"
                        f" {shape}), and the code below it fails on that shape",
                        f"each row of {name} is one instance: the layers take it"
                        " as it comes", "argument_transposed")
    return None


def _shape_as_two_arguments(exc):
    """(diagnosis, hint, mistake) for ``np.zeros(C, C)``: numpy's array makers
    read a second number as the dtype ("Cannot interpret '3' as a data
    type"); else None."""
    last = _last_frame(exc)
    if not isinstance(exc, TypeError) or last is None or not re.search(
            r"Cannot interpret '-?\d+' as a data type", _text(exc)):
        return None
    return (f"line {last.tb_lineno} passes an array's shape as separate numbers:"
            " numpy's zeros, ones and empty take the shape as one argument (a"
            " tuple of sizes) and read a second number as the dtype",
            "make a 2 × 3 array of zeros in a cell of your own, print its shape,"
            " and compare that call with yours",
            "shape_as_two_arguments")


def _enumerate_from(exc):
    """(diagnosis, hint, mistake) for an IndexError in code that counts with
    ``enumerate(..., start)``, start not 0: its numbers are positions shifted
    by start, and the last runs off the end; else None."""
    last = _last_frame(exc)
    if not isinstance(exc, IndexError) or last is None:
        return None
    ins = list(_with_lines(last.tb_frame.f_code))
    for k, (line, x) in enumerate(ins):
        if x.opname in _LOADS and x.argval == "enumerate":
            calls = [(j, i) for j, (_, i) in enumerate(ins[k + 1:], k + 1)
                     if i.opname.startswith("CALL")]
            if not calls:
                continue
            j, call = calls[0]
            start = next(i for _, i in reversed(ins[:j])
                         if i.opname not in ("PRECALL", "KW_NAMES"))   # 3.11
            if call.arg == 2 and start.opname == "LOAD_CONST" \
                    and isinstance(start.argval, int) and start.argval:
                return (f"line {line} counts with enumerate(…, {start.argval}),"
                        f" whose numbers start at {start.argval}: used as indices,"
                        " they are the positions shifted, and the last runs off the"
                        " end", "enumerate's second argument is the first number it"
                        " hands out, not a shift you need: print what it gives on a"
                        " short list", "enumerate_from_one")
    return None


def _is_number(value):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) \
        or isinstance(value, np.ndarray) and value.ndim == 0


def _unpacked_swapped(exc):
    """(diagnosis, hint, mistake) when the student's code took a call's two
    results in the other order: of the two names one unpacking set, the one
    called a loss holds a list, dict, tuple or array and the other one number
    (``caches, loss = run_forward(...)``, ``grads, loss = batched_backward(...)``),
    else None. Read from every frame of the student's, since the names can be
    set in one function and fail in the next it calls."""
    tb = exc.__traceback__
    while tb is not None:
        code, held = tb.tb_frame.f_code, tb.tb_frame.f_locals
        tb = tb.tb_next
        if code.co_filename.startswith(_LIBRARIES):
            continue
        ins = list(_with_lines(code))
        for k, (line, x) in enumerate(ins):
            if x.opname != "UNPACK_SEQUENCE" or x.arg != 2 or k == 0 \
                    or not ins[k - 1][1].opname.startswith("CALL"):
                continue
            target, _ = _store_targets([i for _, i in ins], k)
            if not all(isinstance(t, str) and t in held for t in target):
                continue
            loss = [t for t in target if "loss" in t.lower()]
            other = [t for t in target if t not in loss]
            if len(loss) == 1 and len(other) == 1 and _is_number(held[other[0]]) \
                    and isinstance(held[loss[0]], (list, tuple, dict, np.ndarray)) \
                    and not _is_number(held[loss[0]]):
                where = "this cell" if code.co_name == "<module>" else code.co_name
                return (f"line {line} of {where}"
                        f" unpacks a call's two results as {', '.join(target)}, but"
                        f" then `{loss[0]}` {_held(held[loss[0]])} and"
                        f" `{other[0]}` is one number ({float(held[other[0]]):.4g}):"
                        " the two names look swapped", "name a function's results"
                        " in the order it returns them: its docstring says which"
                        " comes first",
                        "unpacked_swapped")
    return None


def _pair_kept_whole(exc):
    """(diagnosis, hint, mistake) when a name on the line the student's code
    stopped at holds a tuple that one name took whole from a call (``y =
    softmax_forward(o)``, which returns ``(y, cache)``), else None."""
    last = _last_frame(exc)
    if last is None:
        return None
    code, held = last.tb_frame.f_code, last.tb_frame.f_locals
    for read in _line_reads(code, last.tb_lineno):
        if not isinstance(read, str) or not isinstance(held.get(read), tuple) \
                or read in code.co_varnames[:code.co_argcount]:
            continue
        ins = list(_with_lines(code))
        for k, (line, x) in enumerate(ins[1:], 1):
            if x.opname.startswith("STORE") and x.argval == read \
                    and ins[k - 1][1].opname in ("CALL", "CALL_FUNCTION"):
                scope = {**last.tb_frame.f_globals, **held}
                called = [i.argval for i in _line_instructions(code, line)
                          if i.opname in _LOADS and isinstance(i.argval, str)
                          and callable(scope.get(i.argval))]
                what = f"{called[0]} " if called else "a call "
                return (f"{_who(exc, last)} reads `{read}`, which holds the"
                        f" whole tuple of {len(held[read])} that {what}returned"
                        f" (line {line}): a function that returns several"
                        " things hands back a tuple, and one name took all of it",
                        "unpack the tuple into one name per item, or keep only"
                        " the item you need", "tuple_kept_whole")
    return None


def _scalar_indexed(exc):
    """(diagnosis, hint, mistake) when the line the student's code stopped at
    indexes a name that holds one number where an array belongs (``log_sum[:,
    None]`` after a sum without an axis), else None."""
    last = _last_frame(exc)
    text = _text(exc)
    if last is None or not isinstance(exc, (IndexError, TypeError)) or not (
            "scalar variable" in text or "not subscriptable" in text):
        return None
    held = last.tb_frame.f_locals
    for read in _line_reads(last.tb_frame.f_code, last.tb_lineno):
        value = held.get(read) if isinstance(read, str) else None
        # numpy's scalars only: a reduction's result (a float from a list
        # indexed once too often has its own diagnoses)
        if isinstance(value, np.generic) or (
                isinstance(value, np.ndarray) and value.ndim == 0):
            return (f"{_who(exc, last)} indexes `{read}`, which holds one number"
                    f" ({float(value):.4g}) where an array belongs: a sum,"
                    " mean or maximum taken without an axis reduces a whole array"
                    " to one number", "for one result per row, reduce along the"
                    " axis of each row's entries", "scalar_indexed")
    return None


def _too_many_indices(exc):
    """(diagnosis, hint, mistake) for numpy's "too many indices" where the
    array on the line has the shape of one of the function's arguments (``J =
    np.zeros_like(y)`` indexed ``J[i, j]``), else None."""
    last = _last_frame(exc)
    found = re.search(r"array is (\d)-dimensional, but (\d) were indexed", _text(exc))
    if last is None or not isinstance(exc, IndexError) or not found:
        return None
    code, held = last.tb_frame.f_code, last.tb_frame.f_locals
    args = [a for a in code.co_varnames[:code.co_argcount]
            if isinstance(held.get(a), np.ndarray)]
    for read in _line_reads(code, last.tb_lineno):
        arr = held.get(read) if isinstance(read, str) else None
        if not isinstance(arr, np.ndarray) or read in args \
                or arr.ndim != int(found.group(1)):
            continue
        like = [a for a in args if held[a].shape == arr.shape]
        if like:
            return (f"{_who(exc, last)} indexes `{read}` with {_indices(found)},"
                    f" but it has shape {arr.shape}, the shape of the"
                    f" argument `{like[0]}`: it was made like `{like[0]}`, with"
                    f" {arr.ndim} axis where {found.group(2)} belong", "make it"
                    " with the shape it needs, one axis per index", "made_like_input")
        made = _made_from(code, read)      # dy = np.zeros_like(c), c one number
        source = [n for n in made if n in held and np.shape(held[n]) == arr.shape]
        if source:
            value = held[source[0]]
            holds = (f"is one number ({value!r})" if _is_number(value)
                     else _held(value))
            return (f"{_who(exc, last)} indexes `{read}` with {_indices(found)},"
                    f" but `{read}` has shape {arr.shape}: it was made"
                    f" like `{source[0]}`, which {holds}", "make it with the shape it"
                    " needs, like the array whose"
                    " entries it stands for", "made_like_input")
    return None


def _indices(found):
    """``1 index``, ``2 indices``: the count numpy's message gave, in words."""
    n = found.group(2)
    return f"{n} index" if n == "1" else f"{n} indices"


def _made_from(code, name):
    """The names read on the line(s) that set ``name`` in ``code``."""
    lines = {line for line, i in _with_lines(code)
             if i.opname.startswith("STORE") and i.argval == name}
    return [r for line in sorted(lines) for r in _line_reads(code, line)
            if isinstance(r, str) and r != name]


def _list_too_short(exc):
    """(diagnosis, hint, mistake) for a list index out of range where the
    list on the line is shorter than an argument of the function that the
    index fits (``g = [0.0, 0.0]`` beside a y of 3 classes), else None."""
    last = _last_frame(exc)
    if not isinstance(exc, IndexError) or "list" not in _text(exc) or last is None:
        return None
    code, held = last.tb_frame.f_code, last.tb_frame.f_locals
    reads = [r for r in _line_reads(code, last.tb_lineno) if isinstance(r, str)]
    args = [a for a in code.co_varnames[:code.co_argcount]
            if isinstance(held.get(a), (list, tuple, np.ndarray))]
    def literal(name):   # set once, on a line that reads no name: [0.0, 0.0]
        lines = {line for line, i in _with_lines(code)
                 if i.opname.startswith("STORE") and i.argval == name}
        return len(lines) == 1 and not any(
            i.opname in _LOADS for i in _line_instructions(code, lines.pop()))

    for name in reads:
        short = held.get(name)
        if not isinstance(short, list) or name in args or not literal(name):
            continue
        for index in reads:
            at = held.get(index)
            if not isinstance(at, (int, np.integer)) or isinstance(at, bool) \
                    or not len(short) <= at:
                continue
            fits = [a for a in args if len(held[a]) > at]
            if fits:
                other = fits[0]
                return (f"{_who(exc, last)} reaches entry {at} ({index} = {at}) of"
                        f" `{name}`, which has {len(short)} entries, while the"
                        f" argument `{other}` has {len(held[other])}: `{name}`"
                        " has a length written into the code, not made as long as"
                        f" `{other}`", f"make `{name}` from the length of what"
                        " it stands beside, so that it fits every case",
                        "list_too_short")
    return None


def _held(value):
    """``= 3``, ``has shape (8, 6)``, ``is a list of 2 rows of 3``: what a
    name held, in a few words ('' for a function or a module)."""
    if isinstance(value, (bool, int, float, str, np.integer, np.floating)):
        return f"= {_short(value, 30)}"
    if isinstance(value, np.ndarray):
        return f"has shape {value.shape}"
    if isinstance(value, (list, tuple)):
        kind = type(value).__name__
        rows = {len(v) for v in value if isinstance(v, (list, tuple, np.ndarray))}
        if value and len(rows) == 1 and all(
                isinstance(v, (list, tuple, np.ndarray)) for v in value):
            return (f"is a {kind} of {len(value)} row{'s' * (len(value) != 1)}"
                    f" of {rows.pop()}")
        return f"is a {kind} of {len(value)}"
    if isinstance(value, Mapping):
        return f"is a dict with keys {_short(list(value), 50)}"
    if isinstance(getattr(value, "__self__", None), np.ndarray):   # X.copy
        return (f"is an array's method {value.__name__}, not its result (its ()"
                " are missing)")
    return ""


def _code_has(fn, test):
    """Whether an instruction of ``fn``'s own code (its comprehensions and
    inner functions included) passes ``test``; False for anything but a
    plain function (a builtin, a grader's proxy)."""
    def has(code):
        return any(test(ins) for ins in dis.get_instructions(code)) \
            or any(has(c) for c in code.co_consts if hasattr(c, "co_code"))

    code = getattr(fn, "__code__", None)
    return code is not None and has(code)


def _floor_divides(fn):
    """Whether ``fn``'s code has a floor division (3.10 names the operation,
    3.11+ gives it as BINARY_OP's text)."""
    return _code_has(fn, lambda ins: "FLOOR_DIVIDE" in ins.opname
                     or ins.argrepr in ("//", "//="))


def _labels_as_rows(exc, args):
    """A hint for numpy's "index 4 is out of bounds for axis 0 with size 3"
    when 4 is one of the integer labels handed in (the arguments or a tuple
    among them) and 3 the batch's rows: the labels indexed the rows."""
    found = re.search(r"index (\d+) is out of bounds for axis 0 with size (\d+)",
                      str(exc)) if isinstance(exc, IndexError) else None
    swapped = re.search(r"index (\d+) is out of bounds for axis 1 with size (\d+)",
                        _text(exc)) if isinstance(exc, IndexError) else None
    if swapped:
        index, size = int(swapped.group(1)), int(swapped.group(2))
        tables = [a for a in args if isinstance(a, np.ndarray) and a.ndim == 2
                  and a.shape[1] == size and a.shape[0] > index]
        if tables:
            return (f"{index} is a row number (the batch has {tables[0].shape[0]}"
                    f" rows), and axis 1 holds the {size} classes: the row numbers"
                    " went where the classes belong, the (row, class) pair the"
                    " other way round")
    if not found:
        return ""
    index, size = int(found.group(1)), int(found.group(2))
    given = [a for arg in args for a in (arg if isinstance(arg, tuple) else (arg,))]
    labels = [a for a in given if isinstance(a, np.ndarray) and a.ndim == 1
              and a.dtype.kind in "iu" and index in a and len(a) == size]
    if not labels:
        return ""
    return (f"{index} is a class label, and axis 0 has the batch's {size} rows: the"
            " labels picked whole rows by their class number, where each row n"
            " needs its own entry, in row n at its own class")


def _square_from_broadcast(exc, args):
    """A hint when a name on the failing line holds an (N, N) array for a
    batch of N rows of another width: one number per row, kept as a column on
    one side and not on the other, broadcast into a square table."""
    last = _last_frame(exc)
    given = [a for arg in args for a in (arg if isinstance(arg, tuple) else (arg,))]
    rows = {a.shape[0] for a in given if isinstance(a, np.ndarray) and a.ndim == 2
            and a.shape[0] != a.shape[1]}
    if last is None or not rows:
        return ""
    held = last.tb_frame.f_locals
    for read in _line_reads(last.tb_frame.f_code, last.tb_lineno):
        found = _item(held, read)
        value = found[1] if found else None
        if isinstance(value, np.ndarray) and value.ndim == 2 \
                and value.shape[0] == value.shape[1] in rows:
            n = value.shape[0]
            return (f"{found[0]} has shape {value.shape}, a square of the batch's"
                    f" {n} rows: one number per row, shape ({n},) on one side and"
                    f" a ({n}, 1) column on the other, broadcast into a table;"
                    " keep the reduced axis on both sides, or on neither")
    return ""


def _index_names(code, lineno):
    """The plain names line ``lineno`` of ``code`` uses as indices: the last
    one loaded before a subscript, or the items of a tuple built for one."""
    on_line, found = _line_instructions(code, lineno), []
    for k, ins in enumerate(on_line):
        if ins.opname != "BINARY_SUBSCR" or not k:
            continue
        before = on_line[k - 1]
        items = on_line[max(0, k - 1 - before.arg):k - 1] \
            if before.opname == "BUILD_TUPLE" else [before]
        found += [n for x in items if x.opname in _LOADS
                  for n in (x.argval if isinstance(x.argval, tuple) else (x.argval,))]
    return list(dict.fromkeys(found))


def _float_index(exc):
    """A hint for numpy's "arrays used as indices must be of integer type":
    which name on the failing line holds floats where positions belong."""
    last = _last_frame(exc)
    if not isinstance(exc, IndexError) or "integer" not in _text(exc) \
            or last is None:
        return ""
    held = last.tb_frame.f_locals
    for read in _index_names(last.tb_frame.f_code, last.tb_lineno):
        value = held.get(read)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return (f"{read} holds {value.dtype} numbers, shape {value.shape}, where"
                    " an index needs integer positions: it was made of values"
                    " (a conversion to float, or an array's entries where its"
                    " positions belong)")
    return ""


def _dicts_on_line(exc, given):
    """(name, dict) for each dict the failing line of the student's code reads
    that is not one of ``given`` (the arguments): one the function made or
    got back from a call, whose keys the lookup missed."""
    last = _last_frame(exc)
    if last is None:
        return []
    held = last.tb_frame.f_locals
    return [(r, held[r]) for r in dict.fromkeys(
                _line_reads(last.tb_frame.f_code, last.tb_lineno))
            if isinstance(r, str) and isinstance(held.get(r), Mapping)
            and not any(held[r] is g for g in given)][:3]


def _raised_hint(exc, fn, args):
    """A hint that is true for the case the check used (not the student's own)."""
    if isinstance(exc, KeyError) and exc.args:
        key = exc.args[0]
        dicts = [(_parameter(fn, i), a) for i, a in enumerate(args)
                 if isinstance(a, Mapping)]
        known = "; ".join(f"`{name}` has keys {list(d)}" for name, d in dicts)
        mine = _dicts_on_line(exc, [d for _, d in dicts])
        if mine:    # a dict the function made, read on the failing line
            known = "; ".join(f"`{n}` has keys {list(d)}" for n, d in mine) \
                + (f"; the check gave it {known}" if known else "")
            return f"it looked up the key {key!r}; on that line {known}"
        split = [k for _, d in dicts for k in d if isinstance(key, str)
                 and isinstance(k, str) and len(key) == 1 and len(k) == 2
                 and k[0] == key]
        if split:   # for name, g in grads: each key unpacked into two letters
            return (f"it looked up the key {key!r}, the first letter of the key"
                    f" {split[0]!r}: looping over a dict gives its keys alone, and"
                    " two names unpacked from a two-letter key split it into its"
                    " letters; each key with its value comes from the dict's"
                    " items")
        if known:
            return (f"it looked up the key {key!r}; the check gave it {known}")
        return f"it looked up the key {key!r} in a dict that has no such key"
    if isinstance(exc, SystemExit):
        return ("something in it called sys.exit() or exit(): a function should"
                " return its result (or raise an error), not stop Python")
    lost = re.search(r"broadcast together with shapes \((\d+),(\d+)\) \((\d+),\)",
                     str(exc)) if isinstance(exc, ValueError) else None
    if lost and lost.group(1) == lost.group(3) != lost.group(2):
        rows, cols = lost.group(1), lost.group(2)
        return (f"a sum or maximum over each row left one number per row, shape"
                f" ({rows},), and numpy lines such a vector up with the {cols}"
                f" columns, not with the {rows} rows: keep the reduced axis, so"
                " that each row meets its own number")
    if isinstance(exc, ValueError) and "diag" in _names_used(fn) \
            and any(np.ndim(a) == 2 for a in args if isinstance(a, np.ndarray)):
        return ("diag of a 2-D array gives back that array's own diagonal, a"
                " vector, not a diagonal matrix: on a batch of rows it reads the"
                " batch's diagonal, not one matrix per row")
    rows = _labels_as_rows(exc, args) or _square_from_broadcast(exc, args) \
        or _float_index(exc)
    if rows:
        return rows
    if isinstance(exc, TypeError) and re.search(
            r"'(function|method|builtin_function_or_method)'", _text(exc)):
        return ("a function stands where the value it returns belongs: a call"
                " whose () are missing (the function named, not called)")
    seen = _line_values(exc, _parts(fn, args))
    if seen:
        return (f"when it stopped, that line saw {seen}: check each against what"
                " the line means to read")
    return ("the line named above is where it stopped; run the function on a"
            " small input of your own to see the whole traceback")


# --------------------------------------------------------------------------
# Turning what the student returned into arrays, or saying why it can't be
# --------------------------------------------------------------------------


# functions that change their argument in place and return None
_IN_PLACE = ("fill_diagonal", "sort", "shuffle", "reverse", "append", "extend",
             "update", "copyto", "fill", "put", "place", "insert")
# why the student's last call returned None, when it says return <name>: set
# by _call, read by _array (which knows what was expected, not which function)
_RETURNED_NONE = ""


def _none_reason(fn):
    """Words for a function that ends ``return name`` and returned None: the
    name held None, and which in-place call it was likely set from."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    ins = list(dis.get_instructions(code))
    returns = [(a, b) for a, b in zip(ins, ins[1:])
               if b.opname in ("RETURN_VALUE", "RETURN_CONST")]
    names = {a.argval for a, b in returns if b.opname == "RETURN_VALUE"
             and a.opname in _LOADS - {"LOAD_GLOBAL"} and isinstance(a.argval, str)}
    if len(names) != 1 or len(returns) != sum(     # every return: that one name
            a.argval in names for a, b in returns if b.opname == "RETURN_VALUE"):
        return ""
    names = sorted(names)
    used = [n for n in _IN_PLACE if n in _names_used(fn)]
    source = (f": `{names[0]}` was set from what {used[0]} returned, and"
              f" {used[0]} changes its argument in place and returns None"
              if used else ", set from a call that returns None")
    return f"{_name(fn, 'your function')} returns `{names[0]}`, which held None{source}"


def _array(value, what):
    """``value`` as a float64 array, or a message naming what it is instead."""
    if value is None:
        if _RETURNED_NONE:
            _fail(f"{what} is None: {_RETURNED_NONE}", "a function that changes"
                  " an array or a list in place returns None: keep using the"
                  " object it changed", "inplace_result_kept")
        _fail(f"{what} is None", "did you forget the `return` statement?",
              "returned_none")
    if isinstance(value, (str, bytes, Mapping, set)) or callable(value):
        _fail(f"{what} is {_short(value, 40)} of type {type(value).__name__}, not"
              " numbers",
              "return a list of floats or a numpy array", "wrong_type")
    rows = [r for r in value if isinstance(r, list)] \
        if isinstance(value, list) else []
    if len({id(r) for r in rows}) < len(rows):
        _fail(f"rows of {what} are one and the same list under several names:"
              " writing into one row writes into all of them", "a list of rows"
              " made by repeating one row (a list times D) holds D names for one"
              " row: build each row as a list of its own", "rows_aliased")
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
    if raw.dtype.kind == "b" and raw.size:
        _fail(f"{what} holds True and False, not numbers: a comparison (==, <, >)"
              " made it, and a comparison is worked out after the arithmetic"
              " around it, so it took the whole expression", "mind the order of"
              " operations: brackets make a comparison happen first",
              "comparison_result")
    return raw.astype(np.float64)


def _number(value, what):
    arr = _array(value, what)
    if arr.size != 1:
        _fail(f"{what} should be one number, got an array of shape {arr.shape}",
              "return a float (e.g. float(loss))", "wrong_shape")
    return float(arr.reshape(()))


def _vector(value, length, what, case=None):
    """A vector of exactly ``length`` entries, shape ``(length,)``.

    A ``(1, C)`` row or a ``(C, 1)`` column fails with a line on why it breaks
    later: added to or multiplied with a ``(C,)`` vector it broadcasts to a
    ``(C, C)`` matrix, silently.
    """
    arr = _array(value, what)
    if arr.shape == (length,):
        return arr
    on = f" on {case}" if case else ""
    if arr.shape in ((1, length), (length, 1)):
        _fail(f"{what} has shape {arr.shape}{on}, expected ({length},): the right"
              " numbers with an extra axis",
              f"later code adds it to ({length},) vectors, and numpy then"
              f" broadcasts a {arr.shape} array against a ({length},) one into a"
              f" ({length}, {length}) matrix without an error: return a flat"
              " vector, one number per class", "extra_axis")
    reading = _shape_reading(arr.shape, (length,))
    _fail(f"{what} has shape {arr.shape}{on}, expected ({length},): one entry per"
          f" class{': ' + reading if reading else ''}", "return one number per"
          " class", "wrong_shape")


def _shape_reading(got, want):
    """A likely cause read off a wrong shape ``got`` where ``want`` belongs, in
    words; '' when the shapes suggest none."""
    got, want = tuple(got), tuple(want)
    size = int(np.prod(want))
    if int(np.prod(got)) == 1 and len(want) == 1 and want[0] > 1:
        kept = "" if got == () else ", kept in an axis of length 1"
        return (f"one number where {want[0]} entries belong{kept}, so the entries"
                " were added up into one (a dot product, or a sum over the only"
                " axis)")
    if len(got) == 1 and len(want) == 1 and want[0] > 1 and got[0] == want[0] ** 2:
        return (f"{got[0]} = {want[0]}×{want[0]} entries: every entry paired with"
                " every other (two loops, or two for clauses, where one index"
                " walks both), or an append inside the inner of two loops")
    if int(np.prod(got)) == size and len(got) != len(want):
        return (f"the right count of entries, {size}, laid out in {len(got)}"
                f" dimension(s), not {len(want)}: flattened or reshaped")
    if len(got) == len(want) + 1 and got[0] == got[1] == want[0]:
        return (f"{got[:2]} is a square of the batch's {got[0]} rows: one number"
                " per row met the rows with an axis kept on one side (a keepdims,"
                " or a [:, None]) and not on the other, and broadcast into a table")
    if len(got) == len(want) == 2 and got[0] == want[0] and got[1] < want[1]:
        return (f"each row stops at {got[1]} entries, not {want[1]}: the loop that"
                " fills a row ran over a shorter list (zip stops at the shortest)")
    return ""


#: Float types with fewer digits than the float64 the course computes in.
_LOW_PRECISION = ("float16", "float32")


def _as_promised(value, what, case, uses=None):
    """Fail unless ``value`` is what a stub that says "Returns a numpy array"
    promises: a float64 array, not float32 (the course's convention, refused
    with what it costs); and, when later cells ``uses`` it in ways a list does
    not support (its negative, ``.T``), a numpy array rather than a list or
    tuple. ``uses=None``: a list of the right numbers is fine.
    """
    if uses is not None and isinstance(value, (list, tuple)):
        kind = type(value).__name__
        _fail(f"{what} is a {kind} on {case}; the stub promises a numpy array",
              f"the cells below compute with it ({uses}), which a {kind} does not"
              f" support (they would stop with a traceback): build the result as a"
              " numpy array", "not_an_array")
    dtype = getattr(value, "dtype", None)
    if isinstance(value, np.ndarray) and str(dtype) in _LOW_PRECISION:
        digits = 7 if dtype == np.float32 else 3
        _fail(f"{what} holds {dtype} on {case}: about {digits} significant digits,"
              " where the course computes in float64 (about 16)",
              "the right numbers rounded to float32 agree with finite differences"
              " only to about 1e-8, where float64 reaches 1e-11, and every later"
              " step inherits the rounding: keep numpy's default float type (no"
              " dtype argument, no float32 inputs)", "low_precision")


def _shape_problem(key, got, want, batch=None, case=None, others=(), names=None):
    """Diagnosis and hint for a gradient of the wrong shape (on ``case``);
    ``others``: the shapes of the other parameters (the sizes of the other
    layers' inputs); ``names``: {other parameter: its shape}."""
    on = f" on {case}" if case else ""
    if len(got) == 2 and got == want[::-1]:
        return (f"the gradient of {key} has shape {got}{on}, expected {want}: it"
                " looks transposed",
                "a gradient has its parameter's shape, and the entry in row i,"
                " column j belongs to the weight from input i to output j: check"
                " which factor gives the rows")
    if len(want) == 1 and batch and batch > 1 and got == (batch, want[0]):
        return (f"the gradient of {key} has shape {got}{on}: one row per instance,"
                " not summed over the batch",
                "the bias is added to every row of the batch, so every row"
                " contributes to its gradient: combine the rows into one")
    if len(want) == 1 and got in ((1, want[0]), (want[0], 1)):
        return (f"the gradient of {key} has shape {got}{on}, expected {want}: an"
                " extra axis", f"an update with a {got} gradient broadcasts the"
                f" {want} parameter into a ({want[0]}, {want[0]}) matrix without an"
                " error: drop the extra axis")
    sizes = {n for shape in others if len(shape) == 2 for n in shape}
    if len(want) == 2 and len(got) == 2 and got[1] == want[1] and got[0] in sizes:
        return (f"the gradient of {key} has shape {got}{on}, expected {want}: its"
                f" {got[0]} rows do not match the {want[0]} inputs of {key}'s layer,"
                " so it is built from another layer's input",
                f"row i of the gradient of {key} belongs to input i of its own"
                " layer: check which vector gives the rows")
    owner = [name for name, shape in (names or {}).items() if shape == got]
    if len(owner) == 1:
        return (f"the gradient of {key} has shape {got}{on}, expected {want}: {got}"
                f" is the shape of {owner[0]}, so {owner[0]}'s gradient is stored"
                f" under {key}'s name (names and gradients paired in another"
                " order?)", "take each gradient by the name of its own parameter")
    reading = _shape_reading(got, want)
    return (f"the gradient of {key} has shape {got}{on}, expected {want}, the shape"
            f" of params[{key!r}] there{': ' + reading if reading else ''}",
            "every gradient has the shape of its parameter")


def _misfiled(value, like, missing):
    """``: W1 holds an array of b1's shape (3,): ...`` when a key of ``value``
    holds an array of the shape ``like`` gives a ``missing`` key (and not its
    own): a gradient stored under another parameter's name; else ''."""
    for key, got in value.items():
        if key not in like or not isinstance(got, (np.ndarray, list, tuple)):
            continue
        try:
            shape = np.shape(got)
        except ValueError:      # a ragged list: no shape to compare
            continue
        if shape == np.shape(like[key]):
            continue
        for gone in missing:
            if shape == np.shape(like[gone]):
                return (f": {key} holds an array of {gone}'s shape {shape}, not of"
                        f" its own: {gone}'s gradient was stored under {key}'s"
                        " name, over what was there")
    return ""


def _grads(value, like, what, batch=None, case=None):
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
        hint = f"use exactly the names {keys} as keys"
        if sorted(extra, key=str) == sorted(f"d{k}" for k in missing):
            hint = (f"name each gradient after its parameter: {{'{keys[0]}':"
                    f" d{keys[0]}, ...}}, not {{'d{keys[0]}': ...}}")
        if extra and all(isinstance(k, str) and len(k) == 1 for k in value) and \
                all(any(isinstance(w, str) and len(w) == 2 and w[0] == k for w in keys)
                    for k in value):
            hint = ("the keys are the first letters of the names: a loop over a dict"
                    " gives its keys, and unpacking a two-letter key into two names"
                    " splits it into its letters; take each name's gradient by the"
                    " name itself")
        if len(value) == 1 and not extra and len(keys) > 2:
            hint = ("one key came back of the " + str(len(keys)) + ": a return"
                    " inside the loop over the names ends the function on its"
                    " first pass (or the dict is made anew on each pass)")
        _fail(f"{what} has keys {list(value)}: missing {missing}, unexpected"
              f" {extra}{_misfiled(value, like, missing)}", hint, "wrong_keys")
    out = {}
    for key in keys:
        arr = _array(value[key], f"{what}[{key!r}]")
        if arr.shape != like[key].shape:
            others = {k: np.shape(v) for k, v in like.items() if k != key}
            _fail(*_shape_problem(key, arr.shape, like[key].shape, batch, case,
                                 list(others.values()), others), "wrong_shape")
        out[key] = arr
    return out


def _finite(out, what, case):
    """Fail when ``out`` (an array, or a dict of them) holds nan or inf, naming
    the first entry that does and what it holds."""
    items = out.items() if isinstance(out, dict) else [(None, out)]
    for key, value in items:
        bad = ~np.isfinite(value)
        if bad.any():
            index = np.unravel_index(int(np.argmax(bad)), np.shape(value))
            place = ("" if key is None else f"[{key!r}]") + (
                f"[{', '.join(str(int(i)) for i in index)}]" if index else "")
            _fail(f"{what}{place} is {value[index]} on {case}"
                  f" ({int(bad.sum())} of its {bad.size} entries are not finite)",
                  "look for a division by zero, log(0) or an exp that overflows",
                  "not_finite")


# --------------------------------------------------------------------------
# Comparing, and matching a wrong answer with the known mistakes
# --------------------------------------------------------------------------


class Mistake(NamedTuple):
    """A known mistake: ``answer(case)`` is what the mistake would return.

    ``hint`` is a string, or a function ``hint(outs, cases, texts)`` of the
    student's answers, the cases' data and names that returns one (to quote
    their numbers).
    """

    id: str
    diagnosis: str
    hint: str
    answer: object


def _same(a, b):
    if isinstance(b, dict):
        return all(_same(a[k], b[k]) for k in b)
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def _match(outs, cases, mistakes, texts=None):
    """Fail with the first mistake that reproduces every answer of the student's.

    ``texts`` (how messages name the cases) go to a callable hint.
    """
    with np.errstate(all="ignore"):
        for m in mistakes:
            answers = (_answer_or_none(m, case) for case in cases)
            if all(a is not None and _same(out, a) for out, a in zip(outs, answers)):
                hint = m.hint(outs, cases, texts) if callable(m.hint) else m.hint
                _fail(m.diagnosis, hint, m.id)


def _answer_or_none(mistake, case):
    """What ``mistake`` gives on ``case``, or None where it cannot be computed
    (a mistake that needs a square W, say, on a case whose W is not): there it
    reproduces nothing."""
    try:
        return mistake.answer(case)
    except (ValueError, IndexError, TypeError, ZeroDivisionError):
        return None


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
                place = f"{key}[{', '.join(str(int(i)) for i in index)}]" \
                    if index else key                    # a number: no index
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


class RunStopped(Exception):
    """The student's code ran, but what it gave cannot be used by the cells
    below (values gone non-finite, parameters a training loop never changed);
    :class:`needs_your_code` reports it in one line."""


class NotFinite(RunStopped, ArithmeticError):
    """A training loop met nan or inf in what the student's function returned
    (:func:`stop_if_not_finite`); :class:`needs_your_code` reports it in one line."""


class Skipped(RuntimeError):
    """A ``needs_your_code`` block cannot run because something it needs
    failed; :class:`needs_your_code` prints the message in one line.
    ``name``: the function (or cell) that failed."""

    def __init__(self, message, name=None):
        super().__init__(message)
        self.name = name


class CarriedCodeFailed(Skipped):
    """A function carried by :func:`from_notebook` was written but fails here
    (or its notebook could not be used)."""


def stop_if_not_finite(values, who, where):
    """Stop a cell that uses the student's ``who`` when ``values`` hold nan or inf.

    ``values``: a number, an array or a dict of arrays (gradients by name);
    ``where``: the place, e.g. ``"at step 12"``. Inside :class:`needs_your_code`
    the cell ends with one line naming ``who``, the entry and the place, instead
    of a traceback from a later numpy call; the notebook goes on.
    """
    items = values.items() if isinstance(values, Mapping) else [(None, values)]
    for key, value in items:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            continue  # not numbers: the exercise's check says so
        if not np.all(np.isfinite(arr)):
            bad = int(np.size(arr) - np.isfinite(arr).sum())
            entry = f" in {key!r} ({bad} of {arr.size} entries)" if key else ""
            raise NotFinite(f"your `{who}` returned nan or inf{entry} {where}")


class needs_your_code:  # noqa: N801 - used as ``with exercises.needs_your_code():``
    """Run a block that uses the student's functions; skip it if one is unfinished.

    In the workbook, a cell that trains or plots with the student's own functions
    is written ``with exercises.needs_your_code(): ...``. While one of those
    functions still raises ``NotImplementedError`` (nbgrader's stub), the block
    stops there and one line names the innermost unfinished function, instead of
    a traceback that would stop Run All. A function carried from another notebook
    that is written but fails there (:class:`CarriedCodeFailed`), and values that
    went non-finite or a run that trained nothing (:class:`RunStopped`, e.g.
    :class:`NotFinite` from :func:`stop_if_not_finite`), end the
    block with one line too, and so does any other ``Exception`` that wrong but
    running code causes (the student's function raised, or returned what the
    cell cannot use): its check has named the mistake, and Run All goes on.
    Under nbgrader, and for ``AssertionError`` (a check's verdict while
    grading), exceptions propagate as usual. ``skipped`` holds the unfinished
    name (or what stopped the block), or None; ``stopped`` says it failed.
    """

    def __init__(self):
        self.skipped = None
        self.stopped = False   # skipped because it failed, not because unfinished
        self.ran_failed = ()   # the functions it ran whose own check had failed
        self._cell = None

    def __enter__(self):
        self._cell = sys._getframe(1)   # the cell: which functions it runs
        return self

    def __exit__(self, exc_type, exc, tb):
        cell, self._cell = self._cell, None
        if exc_type is None:
            self.ran_failed = _ran_failed(cell)
            return False
        if issubclass(exc_type, RunStopped):
            self.skipped, self.stopped = str(exc), True
            tail = (" The cells below that need it skip"
                    if "failed its own check" in str(exc) else " The checks of the"
                    " functions it runs say which one is wrong; the cells below"
                    " that need it skip")
            print(f"■ stopped: {exc}.{_start_there(str(exc))}{tail}")
            return True
        if issubclass(exc_type, Skipped):
            self.skipped, self.stopped = exc.name or str(exc), True
            print(f"↷ skipped: {exc}")
            return True
        if issubclass(exc_type, NotImplementedError):
            self.skipped = _innermost(exc) or "an exercise"
            print(f"↷ skipped: `{self.skipped}`{_notebook_of(exc)} is not written"
                  " yet; finish it (its check says ✓ when it is right), then re-run"
                  " this cell")
            return True
        if _grading() or not issubclass(exc_type, Exception) or \
                issubclass(exc_type, AssertionError):
            return False
        # wrong but running code: a student's function raised, or returned what
        # this cell cannot use (a list, a swapped pair). Its own check has named
        # the mistake; a traceback here would only stop Run All.
        culprit = _student_function(exc)
        self.skipped, self.stopped = culprit or "this cell", True
        # "your" only for a function a check has seen: a given one (02's
        # backward_report) is defined in the notebook too
        yours = "your " if any(culprit in names for names in _VERDICTS) else ""
        said = (f"{yours}`{culprit}` raised" if culprit else
                "this cell could not use what your functions returned:")
        error = ": ".join(filter(None, (exc_type.__name__, _text(exc))))
        print(f"■ stopped: {said} {error}{_where(exc)}.{_start_there(said)}"
              " The checks above say which function is wrong; the cells below"
              " that need this one skip")
        return True


def _ran_failed(cell):
    """After a block that ran to its end: one line when the cell ran one of
    the student's functions (by name, or through one it calls) whose own check
    failed, or uses what an earlier block that did so made (``requires``), since
    the text around the cell describes what right code does. Returns the names
    of those functions (empty when none)."""
    if cell is None or _grading():
        return ()
    space, used = cell.f_globals, _code_names(cell.f_code)
    reached = set(used)
    for name in used:
        if isinstance(space.get(name), types.FunctionType):
            reached |= _calls(space[name])
    for names in failed_checks():
        ran = tuple(n for n in names if n in reached)
        if ran:
            who = " and ".join(f"`{n}`" for n in ran)
            print(f"⚠ this cell ran your {who}, whose own check failed above: what"
                  " it shows is what your code does, which the text around it does"
                  " not describe")
            return ran
    still = {n for names in failed_checks() for n in names}   # not fixed since
    made = [b.ran_failed for b in (space.get(n) for n in used)
            if isinstance(b, needs_your_code) and set(b.ran_failed) & still]
    if made:
        who = " and ".join(f"`{n}`" for n in made[0])
        print(f"⚠ this cell shows what an earlier cell made with your {who}, whose"
              " own check failed above: what it shows is what your code does,"
              " which the text around it does not describe")
        return made[0]
    return ()


def _start_there(said):
    """A sentence naming the functions whose check failed, when the stopped line
    ``said`` does not name them all (nan met in a right function, say, because
    a wrong one upstream made it; a pair's forward named where its backward is
    the wrong one), else ''."""
    failed = failed_checks()
    named = [[f"`{name}`" in said for name in names] for names in failed]
    part = [names for names, seen in zip(failed, named) if any(seen) and not all(seen)]
    names = part[0] if part else None if any(map(any, named)) or not failed \
        else failed[0]
    if names is None:
        return ""
    who = " and ".join(f"`{name}`" for name in names)
    return (f" Your {who} failed {'its' if len(names) == 1 else 'their'} own"
            " check above: start there.")


def _student_function(exc):
    """The name of the student's function the traceback ends in, or None
    (it ends in the cell itself, or in a library)."""
    name = _frame_name(_student_frames(exc))
    return None if name in (None, "<module>") else name


_FROM_NOTEBOOK = "from notebook "
_CARRYING = []  # the notebooks from_notebook is reading now (nested calls)


def _carries_from_notebook(node):
    """``name = [exercises.]from_notebook(...)``: code carried from another notebook."""
    call = getattr(node, "value", None)
    func = getattr(call, "func", None)
    name = getattr(func, "attr", None) or getattr(func, "id", None)
    return isinstance(node, ast.Assign) and isinstance(call, ast.Call) \
        and name == "from_notebook"


def _is_definition_cell(tree):
    """Only imports, functions, classes (a docstring aside) and carried code:
    the helpers a notebook defines, which its exercises may use."""
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
             ast.ClassDef)
    return bool(tree.body) and all(
        isinstance(node, kinds) or _carries_from_notebook(node)
        or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in tree.body)


class _CellTooLong(_TooLong):
    """A notebook cell that :func:`from_notebook` runs went past its time:
    ``cell`` (its index) and ``where`` (the function and line it was in)."""

    def __init__(self, cell, where):
        super().__init__(cell, where)
        self.cell, self.where = cell, where


def _read_cells(path, base):
    """The notebook's cells (dicts), or ``([], problem)`` saying why not."""
    import stat
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):  # a FIFO or a device would block open()
            return [], f"cannot read {base}: it is not a regular file"
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError, RecursionError) as exc:
        return [], f"cannot read {base} ({type(exc).__name__}: {_text(exc)})"
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return [], f"cannot read {base}: it is not a notebook (no list of cells)"
    return [c for c in cells if isinstance(c, dict)], None


def _cell_source(cell):
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _run_cells(cells, base, namespace, problems):
    """Exec the import, definition and exercise cells of one notebook."""
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = _cell_source(cell)
        nbgrader = cell.get("metadata", {})
        nbgrader = nbgrader.get("nbgrader", {}) if isinstance(nbgrader, dict) else {}
        solution = isinstance(nbgrader, dict) and nbgrader.get("solution")
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            if solution:
                problems.append(f"cell {index} has a syntax error (line"
                                f" {getattr(exc, 'lineno', '?')})")
            continue
        if not (solution or _is_definition_cell(tree)):
            continue
        label = f"{_FROM_NOTEBOOK}{base}, cell {index}"
        linecache.cache[label] = (len(source), None, source.splitlines(True), label)
        try:
            exec(compile(tree, label, "exec"), namespace)  # noqa: S102
        except KeyboardInterrupt:
            raise
        except _CellTooLong:  # from a nested from_notebook: already named
            raise
        except _TooLong as exc:
            raise _CellTooLong(index, _in_function(exc)) from None
        except BaseException as exc:  # noqa: BLE001 - the student's cell: report, go on
            problems.append(f"cell {index} raised {type(exc).__name__}: {_text(exc)}"
                            f"{_where(exc)}")


def _in_function(exc):
    """`` in `forward` (line 3)``: where in the notebook's code ``exc`` arrived."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(_FROM_NOTEBOOK):
            name = "" if frame.name == "<module>" else f" in `{frame.name}`"
            return f"{name} (line {frame.lineno})"
    return ""


def from_notebook(filename, *names, folder=None, timeout=60):
    """The student's functions ``names`` as defined in another notebook.

    Reads ``filename`` (e.g. ``"02_scalar_backprop.ipynb"``) from ``folder``
    (default: the current folder, which is the notebook's own folder in JupyterLab,
    nbval and nbgrader; in a nested call, the outer call's folder) *as last
    saved*, runs in a fresh namespace its exercise cells (nbgrader ``solution``
    code cells) and the cells that only define helpers (imports, functions,
    classes, and ``x = from_notebook(...)`` lines that carry code from a third
    notebook), and returns the named functions: one function for one name, else
    a tuple in the order asked. Prints one line saying where they came from.

    Never raises for the notebook's content: a missing, unreadable or malformed
    file, a cell that raises (``RecursionError`` included) or runs longer than
    ``timeout`` seconds in all (an endless loop), and a missing name are
    reported in that line. In place of a missing name it returns a function
    that raises ``NotImplementedError`` when called if the notebook ran cleanly
    (the exercise is not written yet), else :class:`CarriedCodeFailed` with the
    problem (written, but fails here); :class:`needs_your_code` turns either
    into a one-line skip. A carried function that raises when called here
    raises :class:`CarriedCodeFailed` naming it, its notebook and the error.
    """
    path = _notebook_path(filename, names, folder, timeout)
    base = os.path.basename(path)
    namespace, problems = _carry(path, base, timeout)
    found = [_carried(namespace.get(name), name, base, problems) for name in names]
    names_text = ", ".join(f"`{n}`" for n in names)
    if problems:
        print(f"⚠ {names_text} from {base}: " + "; ".join(problems)
              + ". Fix that notebook, save it, then re-run this cell.")
    else:
        print(f"Using your {names_text} from {base} as last saved (after changing"
              " them there, save that notebook and re-run this cell).")
    return found[0] if len(found) == 1 else tuple(found)


def _notebook_path(filename, names, folder, timeout):
    """The notebook's absolute path, after checking from_notebook's arguments."""
    if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
        raise TypeError("from_notebook(filename, *names): give the function names"
                        f" as strings, e.g. 'forward', 'backward'; got {names!r}")
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"filename must be a notebook file name, got {filename!r}")
    if folder is not None and not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a folder path (str or os.PathLike), got"
                        f" {folder!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    if folder is None:
        folder = os.path.dirname(_CARRYING[-1]) if _CARRYING else os.getcwd()
    return os.path.abspath(os.path.join(os.fspath(folder), os.fspath(filename)))


def _carry(path, base, timeout):
    """Run the notebook's exercise and definition cells in a fresh namespace:
    ``(namespace, problems)``. Only the outermost of nested calls bounds the
    time (``_TimeLimit``, the checks' own watchdog), so the limit is the whole
    chain's."""
    namespace = {"__name__": f"coursenet_from_{base.split('.')[0]}"}
    problems = []
    if path in _CARRYING:
        problems.append(f"{base} carries code from itself (a loop of from_notebook"
                        " calls)")
        cells = []
    else:
        cells, problem = _read_cells(path, base)
        problems += [problem] if problem else []
    outermost = not _CARRYING
    _CARRYING.append(path)
    try:
        if outermost:
            with _TimeLimit(timeout):
                _run_cells(cells, base, namespace, problems)
        else:
            _run_cells(cells, base, namespace, problems)
    except _CellTooLong as exc:
        if not outermost:
            raise
        problems.append(f"cell {exc.cell} ran for more than {timeout:g} s and was"
                        f" stopped{exc.where} (an endless loop?)")
    finally:
        _CARRYING.pop()
    return namespace, problems


def _carried(fn, name, base, problems):
    """The student's function, wrapped so that an error here names it; or a
    stand-in for a missing one."""
    if not callable(fn):
        problems.append(f"no function `{name}` in its exercise or definition cells")
        return _missing(name, base, list(problems[:-1]))
    import functools

    @functools.wraps(fn)
    def carried(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (NotImplementedError, KeyboardInterrupt, Skipped,
                NotFinite):
            raise
        except Exception as exc:  # noqa: BLE001 - named in one line, not a traceback
            culprit = _raised_outside(exc, base)
            if culprit:  # a function this notebook handed in (a layer) raised
                raise CarriedCodeFailed(
                    f"your `{culprit}` (in this notebook) raised"
                    f" {type(exc).__name__}: {_text(exc)}{_where(exc)} when"
                    f" `{name}` from {base} called it. Its own check above says"
                    " more; fix it, then re-run this cell", culprit) from exc
            raise CarriedCodeFailed(
                f"`{name}` from {base} is written, but fails here:"
                f" {type(exc).__name__}: {_text(exc)}{_where(exc)}. Fix it there,"
                " save that notebook, then re-run this notebook's cell that carries"
                " it", name) from exc

    return carried


def _raised_outside(exc, base):
    """The name of the student's function that raised, when it is not code of
    the carried notebook ``base`` (a layer this notebook passed in); else None."""
    frames = _student_frames(exc)
    if not frames or frames[-1].filename.startswith(f"{_FROM_NOTEBOOK}{base},"):
        return None
    return _student_function(exc)


def _missing(name, base, problems=()):
    if problems:
        written = any(p.startswith("cell ") for p in problems)
        state = "is written, but fails there" if written else "cannot be used"

        def missing(*args, **kwargs):
            raise CarriedCodeFailed(f"`{name}` from {base} {state}:"
                                    f" {'; '.join(problems)}", name)
    else:
        def missing(*args, **kwargs):
            raise NotImplementedError(f"`{name}` was not found in {base}")

    missing.__name__ = missing.__qualname__ = name
    label = f"{_FROM_NOTEBOOK}{base}, missing"
    missing.__code__ = missing.__code__.replace(co_name=name, co_filename=label)
    return missing
