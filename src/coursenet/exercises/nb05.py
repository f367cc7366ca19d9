"""Checks for notebook 05 (Q6): the batched backward pass."""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from coursenet import mlp
from coursenet.exercises._core import (
    Mistake,
    _array,
    _call,
    _fail,
    _finite,
    _grads,
    _match,
    _name,
    _need_function,
    _number,
    _run,
    _same,
    _short,
)
from coursenet.exercises._networks import (
    _BATCH_LOSS_MISTAKES,
    _batch_cases,
    _check_losses,
    _copy_params,
    _network_fallback,
    _network_mistakes,
    _referee_network,
)
from coursenet.exercises._pairs import (
    CROSS_ENTROPY,
    FUSED,
    LINEAR,
    SOFTMAX,
    check_pair,
)

# --------------------------------------------------------------------------
# Q6: the batched backward pass
# --------------------------------------------------------------------------


def _first_row_grads(d):
    return mlp.loss_and_grads(d["params"], d["X"][:1], d["y"][:1])[1]


def check_batched_backward(fn=None, vectorised=True):
    """Q6: ``fn(params, X, c)`` returns ``(mean loss, grads)`` for a batch.

    ``X`` is ``(N, D)``, ``c`` integer class labels ``(N,)``; ``grads`` has the
    keys and shapes of ``params`` (``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, C)``,
    ``b2 (C,)``). With ``vectorised`` (the default) a right answer must also
    have no Python loop over the rows: :func:`python_lines_run` counts the lines
    of the student's own Python that one call runs, on a batch of
    ``SMALL_N`` and of ``LARGE_N`` rows; a loop over the rows runs more lines
    for more rows, a whole-batch version the same number.
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
                    " all N rows at once"))
        got = []
        for value, (_, d) in zip(values, cases):
            got.append(_batch_loss(value, len(d["y"]), who))
        _check_losses(got, cases, _BATCH_LOSS_MISTAKES, who,
                      "K = X W1 + b1, H = sigmoid(K), O = H W2 + b2, then the mean"
                      " over the rows of -log softmax(O)[n, c_n]")
        order = sorted(range(len(cases)), key=lambda i: -len(cases[i].data["y"]))
        outs = [None] * len(cases)
        for i in order:  # the largest batch first: its shapes say the most
            text, d = cases[i]
            outs[i] = _grads(values[i][1], refs[i], f"the grads from {who}",
                             batch=len(d["y"]))
            _finite(outs[i], f"the grads from {who}", text)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            speed = ""
            if vectorised:
                small = python_lines_run(fn, SMALL_N)
                # a loop is plain long before its 16,384th row: stop counting there
                limit = small + (LARGE_N - SMALL_N) // 2
                large = python_lines_run(fn, LARGE_N, stop_after=limit)
                if large > limit:
                    _fail(f"right numbers, but not vectorised: one call ran"
                          f" {small} lines of your Python on a batch of {SMALL_N}"
                          f" rows and over {limit} on a batch of {LARGE_N}: work that"
                          " grows with the rows, i.e. a loop over them",
                          "no Python loop over the rows: each line must handle all"
                          " N rows at once, as one matrix operation",
                          "not_vectorised")
                speed = (f"; vectorised: {small} lines of your Python for"
                         f" {SMALL_N} rows, {large} for {LARGE_N}")
            return (f"✓ {who}: the mean loss and every gradient are right on"
                    f" {len(cases)} batches (N = 1 to 8, the course's network and"
                    f" random asymmetric ones){speed}")
        datas = [d for _, d in cases]
        first_row = Mistake(
            "first_row_only", "right for N = 1, but on a batch the gradients are"
            " those of the first row only", "a batch is X (N, D): every row"
            " contributes to the gradient of the mean loss, not X[0] alone",
            _first_row_grads)
        course_ok = _same(outs[0], refs[0])
        _match(outs, datas, [first_row, *_network_mistakes(course_ok, batched=True,
                                                           cls="c")])
        _network_fallback(outs, refs, cases, list(mlp.PARAM_NAMES), course_ok,
                          batched=True, cls="c")

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


# LARGE_N: enough rows that a loop over them costs a good fraction of a second
# of CPU, which the grader measures outside the student's process
SMALL_N, LARGE_N = 8, 16384


class _EnoughLines(BaseException):
    """Raised by the line counter once it passed ``stop_after``."""


def python_lines_run(fn, n, sizes=(4, 3, 2), stop_after=None):
    """How many lines of non-library Python one call ``fn(params, X, c)`` runs
    on a batch of ``n`` rows; with ``stop_after``, the call is stopped as soon
    as the count passes it (then the count is ``stop_after + 1``).

    Counted, not timed: a stopwatch on a shared machine (a class on one
    JupyterHub, CI beside other jobs) can make a right answer look slow. Lines
    in numpy, the standard library, site-packages and coursenet are not
    counted, so only the student's own code (a notebook cell, a helper it
    defines, a lambda given to ``np.apply_along_axis``) is.
    """
    rng = np.random.default_rng(66)
    params = {"W1": rng.normal(0, 0.3, sizes[:2]), "b1": rng.normal(0, 0.1, sizes[1]),
              "W2": rng.normal(0, 0.3, sizes[1:]), "b2": rng.normal(0, 0.1, sizes[2])}
    X = rng.normal(0.0, 1.0, (n, sizes[0]))
    c = rng.integers(0, sizes[2], n)
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
            if stop_after is not None and count > stop_after:
                raise _EnoughLines
        return local

    def call(frame, event, arg):
        return local if _students(frame.f_code.co_filename) else None

    previous = sys.gettrace()
    sys.settrace(call)
    try:
        fn(params, X, c)
    except _EnoughLines:
        pass
    finally:
        sys.settrace(previous)
    return count


_LIBRARY_DIRS = tuple({str(Path(p).resolve()) for p in (
    sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
    sysconfig.get_paths()["platlib"], Path(np.__file__).parent,
    Path(mlp.__file__).parent)})


def _students(filename):
    if filename.startswith("<frozen") or filename.startswith("<__array_function"):
        return False
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return True
    return not path.startswith(_LIBRARY_DIRS)


# --------------------------------------------------------------------------
# Q6 as layer pairs on a batch of rows: the same interface as notebook 04
# --------------------------------------------------------------------------


def check_linear_layer_batch(forward=None, backward=None):
    """Q6a: notebook 04's linear pair on a batch: ``x (N, D)``, ``W (D, M)``,
    ``b (M,)``, ``out`` and ``dout (N, M)``; ``dx (N, D)``, ``dW (D, M)``,
    ``db (M,)``, finite differences as the referee."""
    return _run(lambda: check_pair(LINEAR, forward, backward, batch=True, seed=61))


def check_softmax_layer_batch(forward=None, backward=None):
    """Q6b: ``forward(O) -> (Y, cache)`` row by row, ``backward(dY, cache) -> dO``
    through each row's own Jacobian; all ``(N, C)``."""
    return _run(lambda: check_pair(SOFTMAX, forward, backward, batch=True, seed=62))


def check_cross_entropy_batch(forward=None, backward=None):
    """Q6c: ``forward(Y, c) -> (mean loss, cache)``, ``backward(dloss, cache) ->
    dY (N, C)``; ``c`` holds the N true classes."""
    return _run(lambda: check_pair(CROSS_ENTROPY, forward, backward, batch=True,
                                   seed=63))


def check_softmax_cross_entropy(forward=None, backward=None):
    """Q6d, the fused layer: ``forward(O, c) -> (mean loss, cache)``,
    ``backward(dloss, cache) -> dO (N, C)`` without the Jacobian."""
    return _run(lambda: check_pair(FUSED, forward, backward, batch=True, seed=64))
