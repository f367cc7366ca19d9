"""Checks for the course's exercises: run a student's function, name the mistake.

For an instructor: each ``check_*`` takes the student's function(s) and runs them
on several cases: the course's own example and random *asymmetric* cases of other
sizes (the symmetric 2-3-2 network of Q3 has two equal columns in ``V``, so its
first-layer gradients are exactly zero and it cannot see a first-layer bug). The
answers are compared with an independent reference: the package's functions
(:mod:`coursenet.losses`, :mod:`coursenet.scalar`, :mod:`coursenet.mlp`), which are
themselves refereed by central differences (:mod:`coursenet.gradcheck`) on one
case every time a check runs.

A wrong answer is then compared with the answer each *known mistake* would give.
Every check has a table of small functions, one per mistake (``dl/dy_i = -1/y_i``
for every class, a branch ``if target:`` that is false for class 0, a sigmoid
derivative taken from ``k`` instead of ``h``, ...). The first mistake that
reproduces the student's numbers on every case is the diagnosis; for the networks
the tables are combined, so two mistakes at once are recognised too. When no
mistake matches, the message names the worst entry ("max abs diff 0.31 at
W1[2, 0]") and the part of the network to look at. Adding a diagnosis means
adding a row to a table and a test that triggers it (``tests/test_exercises.py``).

Each check prints exactly one line, ``✓ ...``, ``✗ <diagnosis>. Hint: ...`` or
``… <name> is not implemented yet``, and returns a :class:`CheckResult` (truthy
iff passed). It never raises because of the student's code: exceptions, ``None``,
wrong types, wrong key sets and wrong shapes are reported by name. The student's
functions get fresh copies of every input, so a function that writes into its
arguments cannot spoil the next case. Numbers are compared with
``rtol = 1e-4, atol = 1e-6``, loose enough for a float32 answer and far tighter
than any of the known mistakes.
"""

from __future__ import annotations

import itertools
import os
import traceback
import warnings
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from coursenet import gradcheck, layers, losses, mlp, scalar

__all__ = [
    "CheckResult",
    "check_loss_grad",
    "check_softmax_jacobian",
    "check_logit_grad",
    "check_scalar_network",
    "check_sgd_step",
    "check_vector_backward",
    "check_batched_backward",
]

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
    return result


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


def _where(exc):
    """`` (line 7 of loss_grad)``: the deepest frame outside numpy and this file."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename != __file__ and not frame.filename.startswith(_NUMPY_DIR):
            return f" (line {frame.lineno} of {frame.name})"
    return ""


def _call(fn, args, who, case, said="raised",
          hint="call it yourself on that input to see the whole traceback"):
    """Call the student's function quietly; turn any exception into a message."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args)
    except NotImplementedError:
        raise _Stop(
            f"… {who} is not implemented yet (replace `raise NotImplementedError()`"
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
# Q1: dl/dy
# --------------------------------------------------------------------------


def _prob_cases(seed, with_class=True):
    """The course's y = softmax(o) (two equal logits) and random asymmetric ones."""
    o_course = np.array(scalar.forward(scalar.course_params(), [1.0, -1.0], 0)[1]["o"])
    cases = [_Case("the course's example (y = [0.5, 0.5]"
                   + (", c = 0)" if with_class else ")"),
                   {"o": o_course, "y": _softmax(o_course), "c": 0})]
    rng = np.random.default_rng(seed)
    for num_classes, c in ((3, 2), (5, 0), (4, 1), (6, 5)):
        o = rng.normal(0.0, 1.5, num_classes)
        if c == 0:
            c = np.int64(0)  # labels often come out of numpy arrays
        text = f"C = {num_classes}, c = {int(c)}" if with_class \
            else f"C = {num_classes}"
        cases.append(_Case(f"a random case ({text})",
                           {"o": o, "y": _softmax(o), "c": c}))
    return cases


_LOSS_GRAD_MISTAKES = [
    Mistake("every_class", "dl/dy_i is -1/y_i for every class, not only for i = c",
            "the loss -log y_c depends on y_c alone, so dl/dy_i = 0 for every i ≠ c",
            lambda d: -1.0 / d["y"]),
    Mistake("flipped_sign", "dl/dy has the wrong sign (+1/y_c at the true class)",
            "d(-log y)/dy = -1/y: raising y_c lowers the loss",
            lambda d: _onehot(d["c"], len(d["y"])) / d["y"]),
    Mistake("minus_y", "dl/dy_c is -y_c instead of -1/y_c",
            "the derivative of log y is 1/y, not y",
            lambda d: -_onehot(d["c"], len(d["y"])) * d["y"]),
    Mistake("minus_y", "dl/dy_i = -y_i for every class: the derivative of log y is"
            " 1/y, and only y_c appears in the loss",
            "dl/dy_i = -1/y_c for i = c, 0 elsewhere", lambda d: -d["y"]),
    Mistake("loss_value", "dl/dy_c is -log y_c: the loss itself, not its derivative",
            "differentiate -log y_c with respect to y_c: -1/y_c",
            lambda d: -_onehot(d["c"], len(d["y"])) * np.log(d["y"])),
    Mistake("logit_grad",
            "this is y - onehot(c), the gradient with respect to the logits o (Q2)",
            "Q1 asks for the gradient with respect to the probabilities y:"
            " -1/y_c at i = c, 0 elsewhere",
            lambda d: d["y"] - _onehot(d["c"], len(d["y"]))),
]


def check_loss_grad(fn=None):
    """Q1: ``fn(y, c)`` returns ``dl/dy`` (length C) of ``l = -log y_c``.

    ``y`` is a probability vector (a float numpy array), ``c`` the true class.
    """

    def body():
        _need_function(fn, "check_loss_grad", "your dl/dy function")
        who = _name(fn, "your function")
        cases = _prob_cases(seed=1)
        refs = [losses.cross_entropy_backward(d["y"][None], [d["c"]])[0]
                for _, d in cases]
        d = cases[1].data  # referee: -log y_c by central differences
        _referee(refs[1], gradcheck.numerical_gradient(
            lambda y: -np.log(y[d["c"]]), d["y"].copy()), "dl/dy")
        outs = []
        for text, d in cases:
            value = _call(fn, (d["y"].copy(), d["c"]), who, text)
            outs.append(_vector(value, len(d["y"]), f"what {who} returned"))
            _finite(outs[-1], f"what {who} returned", text)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {who}: dl/dy = -1/y_c at the true class and 0 elsewhere,"
                    f" right on {len(cases)} cases (C = 2 to 6)")
        datas = [d for _, d in cases]
        _match(outs, datas, _LOSS_GRAD_MISTAKES)
        if all(_same(o[d["c"]], r[d["c"]]) for o, r, d in zip(outs, refs, datas)):
            _fail("dl/dy_c is right but dl/dy_i is non-zero for some i ≠ c",
                  "the loss -log y_c does not depend on the other y_i: their"
                  " derivative is 0", "nonzero_elsewhere")
        worst = _worst(outs, refs, [t for t, _ in cases], "dl/dy")
        _fail(f"dl/dy does not match the reference: {worst}",
              "dl/dy_i = -1/y_c for i = c and 0 otherwise")

    return _run(body)


# --------------------------------------------------------------------------
# Q1: the softmax Jacobian
# --------------------------------------------------------------------------


def _jacobian(y):
    return np.diag(y) - np.outer(y, y)


# J = diag(y) - y y^T is symmetric, so a transposed answer is a right answer.
_JACOBIAN_MISTAKES = [
    Mistake("diagonal_only",
            "only the diagonal y_i(1 - y_i) is filled in: the scalar derivative",
            "every y_i depends on every o_j (softmax divides by a sum over all"
            " logits): off the diagonal dy_i/do_j = -y_i y_j",
            lambda d: np.diag(d["y"] * (1 - d["y"]))),
    Mistake("one_minus_everywhere",
            "y_i(1 - y_j) in every entry: the i = j formula used for i ≠ j too",
            "treat i = j and i ≠ j separately: y_i(1 - y_i) on the diagonal,"
            " -y_i y_j off it", lambda d: np.outer(d["y"], 1 - d["y"])),
    Mistake("one_minus_everywhere",
            "y_j(1 - y_i) in every entry: the i = j formula used for i ≠ j too",
            "treat i = j and i ≠ j separately: y_i(1 - y_i) on the diagonal,"
            " -y_i y_j off it", lambda d: np.outer(1 - d["y"], d["y"])),
    Mistake("offdiagonal_sign", "the off-diagonal entries have the wrong sign"
            " (+y_i y_j)", "for i ≠ j, dy_i/do_j = -y_i y_j: raising another logit"
            " lowers y_i",
            lambda d: np.outer(d["y"], d["y"]) + np.diag(d["y"] - 2 * d["y"] ** 2)),
    Mistake("flipped_sign", "every entry has the wrong sign",
            "J = diag(y) - y yᵀ: positive on the diagonal, negative off it",
            lambda d: -_jacobian(d["y"])),
    Mistake("outer_only", "J = -y yᵀ: the diagonal misses its +y_i term",
            "for i = j the quotient rule gives an extra y_i: y_i - y_i² ="
            " y_i(1 - y_i)", lambda d: -np.outer(d["y"], d["y"])),
    Mistake("diag_y", "J = diag(y): the -y yᵀ term is missing",
            "J = diag(y) - np.outer(y, y)", lambda d: np.diag(d["y"])),
    Mistake("softmax_again",
            "this is the Jacobian at softmax(y): your function applies softmax to"
            " its input, but it gets the softmax output y already",
            "build J from y directly: diag(y) - np.outer(y, y)",
            lambda d: _jacobian(_softmax(d["y"]))),
]


def check_softmax_jacobian(fn=None):
    """Q1: ``fn(y)`` returns the ``(C, C)`` Jacobian ``J[i, j] = dy_i/do_j``.

    ``y`` is the softmax output (a float numpy array). Lists of lists are fine.
    """

    def body():
        _need_function(fn, "check_softmax_jacobian", "your Jacobian function")
        who = _name(fn, "your function")
        cases = _prob_cases(seed=2, with_class=False)
        refs = [losses.softmax_jacobian(d["y"][None])[0] for _, d in cases]
        o = cases[2].data["o"].copy()  # referee: one column of J per logit
        numeric = np.stack([gradcheck.numerical_gradient(
            lambda z, i=i: _softmax(z)[i], o) for i in range(len(o))])
        _referee(refs[2], numeric, "softmax Jacobian")
        outs = []
        for text, d in cases:
            num_classes = len(d["y"])
            out = _array(_call(fn, (d["y"].copy(),), who, text),
                         f"what {who} returned")
            if out.shape == (num_classes,) \
                    and _same(out, d["y"] * (1 - d["y"])):
                _fail(f"{who} returned the vector y(1 - y), the elementwise"
                      f" derivative; Q1 asks for the full ({num_classes},"
                      f" {num_classes}) Jacobian", "off the diagonal, dy_i/do_j ="
                      " -y_i y_j: J = diag(y) - np.outer(y, y)", "elementwise")
            if out.shape != (num_classes, num_classes):
                _fail(f"{who} returned shape {out.shape} on {text}, expected"
                      f" ({num_classes}, {num_classes})",
                      "one row per output y_i, one column per logit o_j",
                      "wrong_shape")
            _finite(out, f"what {who} returned", text)
            outs.append(out)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {who}: J = diag(y) - y yᵀ, right on {len(cases)} cases"
                    " (C = 2 to 6)")
        _match(outs, [d for _, d in cases], _JACOBIAN_MISTAKES)
        worst = _worst(outs, refs, [t for t, _ in cases], "J")
        _fail(f"the Jacobian does not match the reference: {worst}",
              "J[i, j] = y_i(1 - y_i) if i = j, -y_i y_j otherwise")

    return _run(body)


# --------------------------------------------------------------------------
# Q2: dl/do
# --------------------------------------------------------------------------


def _every_class_logit_grad(d):
    """dl/dy_i = -1/y_i for every class, pushed through J: C y - 1."""
    return len(d["y"]) * d["y"] - 1


_LOGIT_GRAD_MISTAKES = [
    Mistake("flipped_sign", "dl/do has the wrong sign (onehot - y)",
            "dl/do_i = y_i - [i = c]: the true class's logit should go up",
            lambda d: _onehot(d["c"], len(d["y"])) - d["y"]),
    Mistake("no_softmax", "dl/do = o - onehot(c): the softmax is missing",
            "dl/do = softmax(o) - onehot(c)",
            lambda d: d["o"] - _onehot(d["c"], len(d["y"]))),
    Mistake("no_onehot", "dl/do = softmax(o): the -1 at the true class is missing",
            "dl/do_i = y_i - [i = c]", lambda d: d["y"]),
    Mistake("diagonal_only",
            "only the true class's entry is non-zero (y_c - 1): the softmax"
            " derivative was taken elementwise, y(1 - y), instead of the Jacobian",
            "every y_i depends on every o_j: dl/do_j = sum_i dl/dy_i J[i, j] with"
            " J = diag(y) - y yᵀ, which gives y - onehot(c)",
            lambda d: (d["y"] - 1) * _onehot(d["c"], len(d["y"]))),
    Mistake("every_class",
            "dl/do = C y - 1: looks like dl/dy_i = -1/y_i for every class, pushed"
            " through the Jacobian", "dl/dy_i = 0 for i ≠ c (Q1); then dl/do ="
            " y - onehot(c)", _every_class_logit_grad),
    Mistake("if_target",
            "dl/do is wrong exactly when the true class is 0: looks like a branch"
            " `if c:` that is false for class 0",
            "compare the class index with c (`if i == c:`); class 0 is a class",
            lambda d: d["y"] - _onehot(d["c"], len(d["y"])) * (d["c"] != 0)),
]

_LARGE_LOGITS = [("o = [0, 1000], c = 0", [0.0, 1000.0], 0),
                 ("o = [1000, 0, -1000], c = 2", [1000.0, 0.0, -1000.0], 2)]


def check_logit_grad(fn=None):
    """Q2: ``fn(o, c)`` returns ``dl/do`` (length C) from the logits ``o``.

    Must stay finite and right at logits like ``[0, 1000]``.
    """

    def body():
        _need_function(fn, "check_logit_grad", "your dl/do function")
        who = _name(fn, "your function")
        what = f"what {who} returned"
        cases = [_Case(t.replace("y = [0.5, 0.5]", "o = [-0.88, -0.88]"), d)
                 for t, d in _prob_cases(seed=3)]
        refs = [losses.softmax_cross_entropy(d["o"][None], [d["c"]])[1][0]
                for _, d in cases]
        d = cases[1].data  # referee: the loss by central differences
        _referee(refs[1], gradcheck.numerical_gradient(
            lambda o: losses.cross_entropy(o[None], [d["c"]]), d["o"].copy()),
            "dl/do")
        outs = []
        for text, d in cases:
            value = _call(fn, (d["o"].copy(), d["c"]), who, text)
            outs.append(_vector(value, len(d["o"]), what))
            _finite(outs[-1], what, text)
        if not all(_same(o, r) for o, r in zip(outs, refs)):
            _match(outs, [d for _, d in cases], _LOGIT_GRAD_MISTAKES)
            worst = _worst(outs, refs, [t for t, _ in cases], "dl/do")
            _fail(f"dl/do does not match the reference: {worst}",
                  "dl/do_i = softmax(o)_i - [i = c]")
        for text, o, c in _LARGE_LOGITS:
            o = np.array(o)
            out = _vector(_call(fn, (o.copy(), c), who, text), len(o), what)
            ref = losses.softmax_cross_entropy(o[None], [c])[1][0]
            if not np.all(np.isfinite(out)):
                _fail(f"right for moderate logits, but at {text} {who} returns"
                      f" {np.array2string(out, precision=3)}: exp(1000) overflows"
                      " (or y underflows to 0 and -1/y_c is infinite)",
                      "softmax(o) = softmax(o - max(o)): subtract the largest logit"
                      " before exp, and use the simplified y - onehot(c)",
                      "overflow")
            if not _same(out, ref):
                _fail(f"right for moderate logits, but at {text} {who} returns"
                      f" {np.array2string(out, precision=3)}, expected"
                      f" {np.array2string(ref, precision=3)}",
                      "subtract max(o) before exp, and use y - onehot(c) rather"
                      " than dividing by a probability that rounds to 0",
                      "large_logits")
        return (f"✓ {who}: dl/do = y - onehot(c), right on {len(cases)} cases"
                " and finite at logits like [0, 1000]")

    return _run(body)


# --------------------------------------------------------------------------
# The networks (Q3-Q6): cases, and one backward pass with switchable mistakes
# --------------------------------------------------------------------------

_SCALAR_KEYS = {"W1": "W", "b1": "b", "W2": "V", "b2": "c"}  # mlp name -> scalar name


def _course_params():
    return mlp.from_scalar(scalar.course_params())


def _random_params(rng, num_inputs, num_hiddens, num_outputs):
    """Asymmetric weights of unit scale and non-zero biases (zeros hide bias bugs)."""
    return {"W1": rng.normal(0.0, 1.0, (num_inputs, num_hiddens)),
            "b1": rng.normal(0.0, 0.5, num_hiddens),
            "W2": rng.normal(0.0, 1.0, (num_hiddens, num_outputs)),
            "b2": rng.normal(0.0, 0.5, num_outputs)}


def _network_case(text, params, X, y):
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
    O = mlp.forward(params, X)[0]
    return _Case(text, {"params": params, "X": X, "y": y, "O": O,
                        "P": losses.softmax(O)})


def _instance_cases(seed):
    """One instance each: the course's example, then random asymmetric networks."""
    cases = [_network_case("the course's example (2-3-2, x = [1, -1], c = 0)",
                           _course_params(), [[1.0, -1.0]], [0])]
    rng = np.random.default_rng(seed)
    for sizes, c in (((3, 4, 5), 0), ((2, 3, 2), 1), ((4, 2, 3), 2),
                     ((3, 5, 4), 3)):
        text = f"a random {'-'.join(map(str, sizes))} network (c = {c})"
        cases.append(_network_case(text, _random_params(rng, *sizes),
                                   rng.normal(0.0, 1.0, (1, sizes[0])), [c]))
    return cases


def _batch_cases(seed):
    """Batches: the course's example as N = 1 and N = 3, then random networks."""
    course = _course_params()
    cases = [_network_case("the course's example as a batch of N = 1", course,
                           [[1.0, -1.0]], [0]),
             _network_case("the course's network, N = 3", course,
                           [[1.0, -1.0], [0.5, 2.0], [-1.0, 0.3]], [0, 1, 0])]
    rng = np.random.default_rng(seed)
    for sizes, n in (((3, 4, 5), 6), ((4, 6, 3), 5), ((5, 3, 10), 8)):
        y = rng.integers(0, sizes[2], n)
        y[1] = 0  # class 0 in every batch: `if target:` mistakes show there
        text = f"a random {'-'.join(map(str, sizes))} network, N = {n}"
        cases.append(_network_case(text, _random_params(rng, *sizes),
                                   rng.normal(0.0, 1.0, (n, sizes[0])), y))
    return cases


def _copy_params(params):
    return {k: np.array(v, dtype=np.float64) for k, v in params.items()}


def _referee_network(d, ref):
    """The reference gradients must agree with central differences of the loss."""
    params = _copy_params(d["params"])

    def loss(_):
        return losses.cross_entropy(mlp.forward(params, d["X"])[0], d["y"])

    for key in mlp.PARAM_NAMES:
        _referee(ref[key], gradcheck.numerical_gradient(loss, params[key]),
                 f"gradient of {key}")


def _onehots(y, num_classes):
    return np.eye(num_classes)[y]


def _every_class(O, P, y):
    return P.shape[1] * P - 1  # dl/dy_i = -1/y_i for all i, through the Jacobian


def _label_columns(O, P, y):
    dO = P.copy()
    dO[:, y] -= 1  # the batched mistake: every row, every label's column
    return dO


# dl/do row by row, from the logits O, probabilities P and labels y (N, C).
# Each entry: (diagnosis, hint, rule); "right" first.
_OUTPUT_RULES = {
    "right": ("", "", lambda O, P, y: P - _onehots(y, P.shape[1])),
    "flipped_sign": (
        "dl/do has the wrong sign (onehot - y), so every gradient points uphill",
        "dl/do = y - onehot(target): the loss falls when the target's logit rises",
        lambda O, P, y: _onehots(y, P.shape[1]) - P),
    "if_target": (
        "the gradients are wrong exactly when the target is class 0: looks like a"
        " branch `if target:` that is false for class 0, so class 0 never gets"
        " its -1",
        "compare the class index with the target (`if m == target:`): class 0 is a"
        " class, not 'no target'",
        lambda O, P, y: P - _onehots(y, P.shape[1]) * (y != 0)[:, None]),
    "every_class": (
        "looks like dl/dy_i = -1/y_i for every class, not only the target, pushed"
        " through the softmax Jacobian",
        "the loss -log y_target depends on y_target alone: dl/dy_i = 0 for every"
        " other class, and dl/do = y - onehot(target)", _every_class),
    "every_class_if_target": (
        "looks like dl/dy_i = -1/y_i for every class AND a branch `if target:`"
        " that is false for class 0 (every gradient is 0 when the target is 0)",
        "dl/dy_i = -1/y_i only for i == target (compare the index with the"
        " target; class 0 is a class), which gives dl/do = y - onehot(target)",
        lambda O, P, y: _every_class(O, P, y) * (y != 0)[:, None]),
    "no_softmax": (
        "dl/do = o - onehot(target): the softmax is missing",
        "dl/do = softmax(o) - onehot(target)",
        lambda O, P, y: O - _onehots(y, P.shape[1])),
    "no_onehot": (
        "dl/do = y: the -1 at the target class is missing",
        "dl/do = y - onehot(target)", lambda O, P, y: P),
    "diagonal_only": (
        "only the target's entry of dl/do is non-zero: the softmax derivative was"
        " taken elementwise, y(1 - y), where the Jacobian diag(y) - y yᵀ is needed",
        "every y_i depends on every o_j: dl/do = Jᵀ dl/dy, which simplifies to"
        " y - onehot(target)",
        lambda O, P, y: (P - 1) * _onehots(y, P.shape[1])),
}
_COLUMNS_RULE = {"label_columns": (
    "dlogits[:, y] -= 1 subtracts 1 in every row at every label of the batch",
    "index one entry per row: dlogits[np.arange(N), y] -= 1", _label_columns)}


def _sigmoid_twice(K, H):
    S = layers.sigmoid(H)
    return S * (1 - S)


# dh/dk of the sigmoid, from its input K and output H.
_HIDDEN_RULES = {
    "right": ("", "", lambda K, H: H * (1 - H)),
    "sigmoid_from_k": (
        "the sigmoid derivative is taken from k, k(1 - k), instead of from"
        " h = sigmoid(k)", "dh/dk = h(1 - h), with h the sigmoid's output",
        lambda K, H: K * (1 - K)),
    "sigmoid_twice": (
        "the sigmoid derivative is sigmoid(h)(1 - sigmoid(h)): the sigmoid is"
        " applied twice", "h is sigmoid(k) already: dh/dk = h(1 - h)",
        _sigmoid_twice),
    "no_sigmoid_derivative": (
        "the sigmoid's derivative is missing: dk = dh",
        "dk = dh * h(1 - h)", lambda K, H: np.ones_like(H)),
}

# The batch reduction: the loss is a mean, so dl/do carries 1/N.
_SCALE_RULES = {
    "right": ("", "", lambda n: 1.0 / n),
    "summed": (
        "the gradients are N times too large: summed over the batch, not"
        " averaged", "the loss is a mean over the batch, so dlogits ="
        " (P - onehot) / N", lambda n: 1.0),
    "divided_twice": (
        "the gradients are N times too small: divided by N twice",
        "divide by N once: in dlogits, or at the end, not both",
        lambda n: 1.0 / n ** 2),
}

_FIRST_LAYER_NOTE = ("passes the course's example, fails on an asymmetric network:"
                     " check the first layer")


def _variant_grads(d, output="right", hidden="right", scale="right"):
    """The gradients as a student with these mistakes computes them (mlp names)."""
    W1, b1, W2, b2 = (d["params"][k] for k in mlp.PARAM_NAMES)
    X, y = d["X"], d["y"]
    K = X @ W1 + b1  # (N, H)
    H = layers.sigmoid(K)
    O = H @ W2 + b2  # (N, C)
    P = losses.softmax(O)
    rules = {**_OUTPUT_RULES, **_COLUMNS_RULE}
    dO = rules[output][2](O, P, y) * _SCALE_RULES[scale][2](len(X))
    dK = (dO @ W2.T) * _HIDDEN_RULES[hidden][2](K, H)
    return {"W1": X.T @ dK, "b1": dK.sum(0), "W2": H.T @ dO, "b2": dO.sum(0)}


def _network_mistakes(course_ok, keys=None, batched=False):
    """Every combination of the known mistakes, single mistakes first."""
    outputs = {**_OUTPUT_RULES, **(_COLUMNS_RULE if batched else {})}
    axes = [("output", outputs), ("hidden", _HIDDEN_RULES)]
    if batched:
        axes.append(("scale", _SCALE_RULES))
    combos = [c for c in itertools.product(*(list(table) for _, table in axes))
              if any(choice != "right" for choice in c)]
    combos.sort(key=lambda c: sum(choice != "right" for choice in c))
    mistakes = []
    for combo in combos:
        chosen = [(table[choice], choice) for (_, table), choice
                  in zip(axes, combo) if choice != "right"]
        diagnosis = "; and ".join(entry[0] for entry, _ in chosen)
        if course_ok and combo[0] == "right" and combo[1] != "right":
            diagnosis = f"{_FIRST_LAYER_NOTE}: {diagnosis}"
        kwargs = {name: choice for (name, _), choice in zip(axes, combo)}
        mistakes.append(Mistake(
            "+".join(choice for _, choice in chosen), diagnosis,
            "; ".join(entry[1] for entry, _ in chosen),
            lambda d, kw=kwargs: _renamed(_variant_grads(d, **kw), keys)))
    return mistakes


def _renamed(grads, keys):
    return grads if keys is None else {keys[k]: v for k, v in grads.items()}


def _network_fallback(outs, refs, cases, names, course_ok):
    """No known mistake matched: say which layer is off and where the worst entry is."""
    first, second = names[:2], names[2:]
    texts = [t for t, _ in cases]
    wrong = [k for k in names
             if not all(_same(o[k], r[k]) for o, r in zip(outs, refs))]
    worst = _worst(outs, refs, texts)
    if all(not np.any(o[k]) for o in outs for k in names):
        _fail("every gradient is 0", "did the backward pass run to the end and"
              " return what it computed?", "all_zero")
    flat_out = np.concatenate([o[k].ravel() for o in outs for k in names])
    flat_ref = np.concatenate([np.ravel(r[k]) for r in refs for k in names])
    factor = flat_out @ flat_ref / (flat_ref @ flat_ref)
    if _same(flat_out, factor * flat_ref):
        _fail(f"every gradient is {factor:.3g} times the right one",
              "look for a constant factor: the loss is -log y_target (a mean over"
              " the batch), dl/do = y - onehot(target)", "scaled")
    if set(wrong) <= set(first):
        diagnosis = (_FIRST_LAYER_NOTE if course_ok
                     else "the first-layer gradients are wrong")
        _fail(f"{diagnosis} ({', '.join(wrong)}): {worst}",
              "the course's network has two equal columns in its second-layer"
              " weights, so its first-layer gradients are exactly 0 and hide bugs"
              " there: dh = (second-layer weights) @ do, dk = dh * h(1 - h),"
              " dW = outer(x, dk), db = dk", "first_layer")
    wrong_class = _wrong_class(outs, cases, second[1])
    if wrong_class:
        _fail(wrong_class, "dl/do = y - onehot(target): subtract 1 at the target"
              " class", "wrong_class")
    if second[1] not in wrong and second[0] in wrong:
        _fail(f"d{second[1]} is right but d{second[0]} is wrong: {worst}",
              "the second-layer weight gradient is outer(h, do): the hidden"
              " activation after the sigmoid times dl/do", "second_layer_weights")
    _fail(f"the gradients do not match the reference ({', '.join(wrong)}): {worst}",
          "dl/do = y - onehot(target), then back through each layer: dW = outer("
          "input, dout), db = dout, d input = W @ dout, and the sigmoid's h(1 - h)")


def _wrong_class(outs, cases, bias):
    """Single instances only: does dl/do subtract 1 at a class other than target?"""
    found = []
    for out, (text, d) in zip(outs, cases):
        P, y = d["P"], d["y"]
        if len(y) != 1:
            return None
        if _same(out[bias], P[0] - _onehots(y, P.shape[1])[0]):
            continue
        others = [j for j in range(P.shape[1]) if j != y[0]
                  and _same(out[bias], P[0] - _onehots([j], P.shape[1])[0])]
        if not others:
            return None
        found.append(f"class {others[0]} instead of the target {int(y[0])} on {text}")
    return f"dl/do subtracts 1 at the wrong class: {found[0]}" if found else None


def _picked(d):
    return d["P"][np.arange(len(d["y"])), d["y"]]


_LOSS_MISTAKES = [
    Mistake("loss_sign", "the loss has the wrong sign (log y_target is negative)",
            "loss = -log y_target", lambda d: np.mean(np.log(_picked(d)))),
    Mistake("loss_log_base", "the loss uses log10 instead of the natural log",
            "use math.log / np.log", lambda d: -np.mean(np.log10(_picked(d)))),
    Mistake("loss_log_base", "the loss uses log2 instead of the natural log",
            "use math.log / np.log", lambda d: -np.mean(np.log2(_picked(d)))),
    Mistake("loss_no_softmax", "the loss is -o_target: the softmax is missing",
            "y = softmax(o), then loss = -log y_target",
            lambda d: -np.mean(d["O"][np.arange(len(d["y"])), d["y"]])),
    Mistake("loss_no_log", "the loss is 1 - y_target: the log is missing",
            "loss = -log y_target", lambda d: np.mean(1 - _picked(d))),
    Mistake("loss_no_log", "the loss is -y_target: the log is missing",
            "loss = -log y_target", lambda d: -np.mean(_picked(d))),
    Mistake("loss_all_classes", "the loss sums -log y_i over every class",
            "only the target class counts: loss = -log y_target",
            lambda d: -np.mean(np.log(d["P"]).sum(1))),
]

_BATCH_LOSS_MISTAKES = [
    Mistake("loss_summed", "the loss is summed over the batch, not averaged",
            "return the mean over the N rows", lambda d: -np.sum(np.log(_picked(d)))),
    Mistake("loss_first_row", "the loss is that of the first row only",
            "average -log y_target over all N rows",
            lambda d: -np.log(_picked(d)[0])),
    Mistake("loss_block", "the loss averages -log P[:, y], an N×N block, not one"
            " entry per row", "pick one entry per row: P[np.arange(N), y]",
            lambda d: -np.mean(np.log(d["P"][:, d["y"]]))),
    *_LOSS_MISTAKES,
]


def _check_losses(got, cases, mistakes, who, hint):
    refs = [losses.cross_entropy(d["O"], d["y"]) for _, d in cases]
    if all(_same(np.float64(g), r) for g, r in zip(got, refs)):
        return
    _match([np.float64(g) for g in got], [d for _, d in cases], mistakes)
    for g, r, (text, _) in zip(got, refs, cases):
        if not _same(np.float64(g), r):
            _fail(f"the loss from {who} is {g:.6g} on {text}, expected {r:.6g}",
                  hint, "loss")


# --------------------------------------------------------------------------
# Q3: the scalar network, forward and backward
# --------------------------------------------------------------------------


def _as_lists(params):
    return {_SCALAR_KEYS[k]: v.tolist() for k, v in params.items()}


def check_scalar_network(forward=None, backward=None):
    """Q3: ``forward(params, x, target) -> (loss, cache)``, ``backward(params, cache)``.

    ``params`` holds plain lists (``W`` D x H, ``b``, ``V`` H x C, ``c``), ``x`` a
    list of floats, ``target`` an int. ``backward`` gets whatever ``forward``
    returned as its cache and returns gradients with the keys and (nested-list)
    shapes of ``params``; lists, tuples or arrays are all fine.
    """

    def body():
        _need_function(forward, "check_scalar_network",
                       "your forward function as its first argument")
        _need_function(backward, "check_scalar_network",
                       "your backward function as its second argument")
        fwd, bwd = _name(forward, "forward"), _name(backward, "backward")
        cases = _instance_cases(seed=3)
        refs = []
        for _, d in cases:  # the reference: coursenet.scalar, refereed below
            lists = _as_lists(d["params"])
            cache = scalar.forward(lists, d["X"][0].tolist(), int(d["y"][0]))[1]
            refs.append({k: np.array(v) for k, v in
                         scalar.backward(lists, cache).items()})
        _referee_network(cases[1].data, {k: refs[1][name]
                                         for k, name in _SCALAR_KEYS.items()})
        got, caches = [], []
        for text, d in cases:
            out = _call(forward, (_as_lists(d["params"]), d["X"][0].tolist(),
                                  int(d["y"][0])), fwd, text)
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                _fail(f"{fwd} returned {_short(out, 50)}; expected a pair"
                      " (loss, cache)", "end forward with `return loss, cache`",
                      "wrong_type")
            got.append(_number(out[0], f"the loss from {fwd}"))
            caches.append(out[1])
        _check_losses(got, cases, _LOSS_MISTAKES, fwd,
                      "k = x W + b, h = sigmoid(k), o = h V + c, y = softmax(o),"
                      " loss = -log y[target]")
        outs = []
        for (text, d), cache, ref in zip(cases, caches, refs):
            value = _call(backward, (_as_lists(d["params"]), cache), bwd, text)
            outs.append(_grads(value, ref, f"what {bwd} returned"))
            _finite(outs[-1], f"what {bwd} returned", text)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {fwd} and {bwd}: the loss and every gradient are right on"
                    f" the course's example and on {len(cases) - 1} random"
                    " asymmetric networks (first layer included)")
        course_ok = _same(outs[0], refs[0])
        datas = [d for _, d in cases]
        _match(outs, datas, _network_mistakes(course_ok, keys=_SCALAR_KEYS))
        _network_fallback(outs, refs, cases, list(_SCALAR_KEYS.values()), course_ok)

    return _run(body)


# --------------------------------------------------------------------------
# Q4: one SGD step, in place
# --------------------------------------------------------------------------


def _sgd_cases(seed):
    """The course's parameters and gradients, then random ones (every entry != 0)."""
    course = _course_params()
    cases = [_Case("the course's parameters and gradients (lr = 0.1)",
                   {"params": course, "lr": 0.1, "grads":
                    mlp.loss_and_grads(course, [[1.0, -1.0]], [0])[1]})]
    rng = np.random.default_rng(seed)
    for sizes, lr in (((3, 4, 5), 0.5), ((2, 3, 2), 0.03)):
        cases.append(_Case(
            f"random {'-'.join(map(str, sizes))} parameters (lr = {lr})",
            {"params": _random_params(rng, *sizes), "lr": lr,
             "grads": _random_params(rng, *sizes)}))
    return cases


def _stepped(d, weights=1.0, biases=1.0, sign=-1.0):
    """``p + sign * scale * dp`` with separate scales for weights and biases."""
    scale = {"W1": weights, "W2": weights, "b1": biases, "b2": biases}
    return {_SCALAR_KEYS[k]: v + sign * scale[k] * d["grads"][k]
            for k, v in d["params"].items()}


_SGD_MISTAKES = [
    Mistake("adds_gradient", "the step adds the gradient (p + lr * dp): it climbs"
            " the loss", "step against the gradient: p -= lr * dp",
            lambda d: _stepped(d, d["lr"], d["lr"], sign=1.0)),
    Mistake("skips_biases", "the weights W and V are updated, the biases b and c"
            " are not", "update every parameter: the biases too",
            lambda d: _stepped(d, d["lr"], 0.0)),
    Mistake("skips_weights", "the biases b and c are updated, the weights W and V"
            " are not", "update every parameter: the weights W and V (lists of"
            " lists: a loop over rows, then over entries)",
            lambda d: _stepped(d, 0.0, d["lr"])),
    Mistake("lr_squared", "the step is lr² * dp: the learning rate is applied twice",
            "multiply by lr once: p -= lr * dp",
            lambda d: _stepped(d, d["lr"] ** 2, d["lr"] ** 2)),
    Mistake("no_lr", "the step is p - dp: the learning rate is missing",
            "p -= lr * dp", lambda d: _stepped(d)),
    Mistake("divides_lr", "the step is p - dp / lr: it divides by the learning rate",
            "multiply: p -= lr * dp", lambda d: _stepped(d, 1 / d["lr"], 1 / d["lr"])),
]


def _read_params(params, like, who):
    """The student's params after the step, as arrays of the original shapes."""
    missing = [k for k in like if k not in params]
    if missing:
        _fail(f"params lost the keys {missing} in {who}",
              "update the values in place, keep every key", "wrong_keys")
    out = {}
    for key, ref in like.items():
        out[key] = _array(params[key], f"params[{key!r}] after {who}")
        if out[key].shape != ref.shape:
            _fail(f"params[{key!r}] has shape {out[key].shape} after {who}, expected"
                  f" {ref.shape}", "update each entry; keep the shapes",
                  "wrong_shape")
    return out


def check_sgd_step(fn=None):
    """Q4: ``fn(params, grads, lr)`` updates the scalar ``params`` in place.

    ``params`` and ``grads`` are dicts of lists (``W``, ``b``, ``V``, ``c``). The
    return value is ignored, except to explain a step that returns new parameters
    instead of updating ``params``.
    """

    def body():
        _need_function(fn, "check_sgd_step", "your SGD step function")
        who = _name(fn, "your function")
        cases = _sgd_cases(seed=4)
        datas = [d for _, d in cases]
        befores = [_renamed(d["params"], _SCALAR_KEYS) for d in datas]
        refs = [_stepped(d, d["lr"], d["lr"]) for d in datas]
        outs, returned = [], []
        for (text, d), before in zip(cases, befores):
            params = _as_lists(d["params"])  # the student's own copies
            grads = _as_lists(d["grads"])
            returned.append(_call(fn, (params, grads, d["lr"]), who, text))
            outs.append(_read_params(params, before, who))
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {who}: p -= lr * dp for every weight and bias, in place,"
                    f" right on {len(cases)} cases")
        if all(_same(o, b) for o, b in zip(outs, befores)):
            if all(_converts_to(r, ref) for r, ref in zip(returned, refs)):
                _fail(f"{who} returns the updated parameters but leaves params"
                      " unchanged: the training loop ignores the return value",
                      "update params in place: params['W'][i][j] -= lr *"
                      " grads['W'][i][j] (or assign params[name] = ...)",
                      "returns_new_params")
            _fail(f"params did not change after {who}",
                  "`for w in row: w -= lr * g` only rebinds the loop variable w;"
                  " write into the list: row[j] -= lr * g", "unchanged")
        _match(outs, datas, _SGD_MISTAKES)
        wrong = [k for k in refs[0] if not all(_same(o[k], r[k])
                                               for o, r in zip(outs, refs))]
        worst = _worst(outs, refs, [t for t, _ in cases])
        _fail(f"after the step, {', '.join(wrong)} are not p - lr * dp: {worst}",
              "every entry of every parameter: p -= lr * dp")

    return _run(body)


def _converts_to(value, ref):
    try:
        return _same(_read_params(value, ref, "the step"), ref) \
            if isinstance(value, Mapping) else False
    except _Stop:
        return False


# --------------------------------------------------------------------------
# Q5: the backward pass of one instance, numpy
# --------------------------------------------------------------------------


def check_vector_backward(fn=None):
    """Q5: ``fn(params, x, c)`` returns the gradients of one instance's loss.

    ``params`` has float64 arrays ``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, C)``,
    ``b2 (C,)``; ``x`` is ``(D,)``, ``c`` an int. Returns a dict with the same
    keys and shapes.
    """

    def body():
        _need_function(fn, "check_vector_backward", "your backward function")
        who = _name(fn, "your function")
        cases = _instance_cases(seed=5)
        refs = [mlp.loss_and_grads(d["params"], d["X"], d["y"])[1] for _, d in cases]
        _referee_network(cases[1].data, refs[1])
        outs = []
        for i, ((text, d), ref) in enumerate(zip(cases, refs)):
            c = d["y"][0] if i % 2 else int(d["y"][0])  # np.int64 or int
            value = _call(fn, (_copy_params(d["params"]), d["X"][0].copy(), c),
                          who, text)
            outs.append(_grads(value, ref, f"what {who} returned"))
            _finite(outs[-1], f"what {who} returned", text)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {who}: every gradient is right on the course's example and"
                    f" on {len(cases) - 1} random asymmetric networks")
        course_ok = _same(outs[0], refs[0])
        _match(outs, [d for _, d in cases], _network_mistakes(course_ok))
        _network_fallback(outs, refs, cases, list(mlp.PARAM_NAMES), course_ok)

    return _run(body)


# --------------------------------------------------------------------------
# Q6: the batched backward pass
# --------------------------------------------------------------------------


def _first_row_grads(d):
    return mlp.loss_and_grads(d["params"], d["X"][:1], d["y"][:1])[1]


def check_batched_backward(fn=None):
    """Q6: ``fn(params, X, y)`` returns ``(mean loss, grads)`` for a batch.

    ``X`` is ``(N, D)``, ``y`` integer labels ``(N,)``; ``grads`` has the keys and
    shapes of ``params`` (``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, C)``, ``b2 (C,)``).
    """

    def body():
        _need_function(fn, "check_batched_backward", "your batched backward function")
        who = _name(fn, "your function")
        cases = _batch_cases(seed=6)
        refs = [mlp.loss_and_grads(d["params"], d["X"], d["y"])[1] for _, d in cases]
        _referee_network(cases[2].data, refs[2])
        values = []
        for i, (text, d) in enumerate(cases):
            args = (_copy_params(d["params"]), d["X"].copy(), d["y"].copy())
            if i == 0:  # N = 1
                values.append(_call(fn, args, who, text))
            else:
                values.append(_call(
                    fn, args, who, text, said="runs on one instance (N = 1) but"
                    " raised", hint="a batch is X (N, D): every line must handle"
                    " all N rows at once (X @ W1, X.T @ dK, sums over axis 0)"))
        got = []
        for value, (_, d) in zip(values, cases):
            got.append(_batch_loss(value, len(d["y"]), who))
        _check_losses(got, cases, _BATCH_LOSS_MISTAKES, who,
                      "K = X W1 + b1, H = sigmoid(K), O = H W2 + b2, then the mean"
                      " over the rows of -log softmax(O)[n, y_n]")
        order = sorted(range(len(cases)), key=lambda i: -len(cases[i].data["y"]))
        outs = [None] * len(cases)
        for i in order:  # the largest batch first: its shapes say the most
            text, d = cases[i]
            outs[i] = _grads(values[i][1], refs[i], f"the grads from {who}",
                             batch=len(d["y"]))
            _finite(outs[i], f"the grads from {who}", text)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {who}: the mean loss and every gradient are right on"
                    f" {len(cases)} batches (N = 1 to 8, the course's network and"
                    " random asymmetric ones)")
        datas = [d for _, d in cases]
        first_row = Mistake(
            "first_row_only", "right for N = 1, but on a batch the gradients are"
            " those of the first row only", "a batch is X (N, D): use every row"
            " (X @ W1, X.T @ dK, sums over axis 0), not X[0]", _first_row_grads)
        course_ok = _same(outs[0], refs[0])
        _match(outs, datas, [first_row, *_network_mistakes(course_ok, batched=True)])
        _network_fallback(outs, refs, cases, list(mlp.PARAM_NAMES), course_ok)

    return _run(body)


def _batch_loss(value, n, who):
    """The first element of ``(loss, grads)``, as a float."""
    if isinstance(value, Mapping):
        _fail(f"{who} returned only the grads dict; expected (mean loss, grads)",
              "return loss, grads", "wrong_type")
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        _array(value, f"what {who} returned")  # None, a string, ...: named there
        _fail(f"{who} returned {_short(value, 50)}; expected a pair (mean loss,"
              " grads)", "return loss, grads", "wrong_type")
    if isinstance(value[0], Mapping):
        _fail(f"{who} returned (grads, loss); expected (loss, grads)",
              "swap them: return loss, grads", "wrong_type")
    loss = _array(value[0], f"the loss from {who}")
    if n > 1 and loss.shape == (n,):
        _fail(f"the loss from {who} is a vector of {n} per-instance losses",
              "return their mean: one number", "per_instance_loss")
    return _number(loss, f"the loss from {who}")
