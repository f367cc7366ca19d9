"""Checks for notebook 05 (Q6): the batched backward pass."""

from __future__ import annotations

import functools
import inspect
import sys
import sysconfig
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from coursenet import layers, losses, mlp
from coursenet.exercises import _diagnose
from coursenet.exercises._core import (
    Mistake,
    _array,
    _as_promised,
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
    _Stop,
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
    _copy,
    _floats,
    _numeric,
    check_pair,
    plain_array,
)

# --------------------------------------------------------------------------
# Q6: the batched backward pass
# --------------------------------------------------------------------------


def _first_row_grads(d):
    return mlp.loss_and_grads(d["params"], d["X"][:1], d["y"][:1])[1]


def _last_row_grads(d, scale):
    """The last row's gradients times ``scale(N)``: a loop over the rows whose
    every row replaced the one before (``=`` where ``+=`` belongs)."""
    grads = mlp.loss_and_grads(d["params"], d["X"][-1:], d["y"][-1:])[1]
    return {k: v * scale(len(d["y"])) for k, v in grads.items()}


def check_batched_backward(fn=None, vectorised=True):
    """Q6: ``fn(params, X, c)`` returns ``(mean loss, grads)`` for a batch.

    ``X`` is ``(N, D)``, ``c`` integer class labels ``(N,)``; ``grads`` has the
    keys and shapes of ``params`` (``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, C)``,
    ``b2 (C,)``), float64 like them. With ``vectorised`` (the default) a right
    answer must also have no Python loop over the rows (:func:`row_work`): the
    lines of the student's own Python that one call runs on ``SMALL_N`` and on
    ``LARGE_N`` rows, and the CPU time of the large call.
    """

    def body():
        _need_function(fn, "check_batched_backward", "your batched backward function")
        who = _name(fn, "your function")
        cases = _batch_cases(seed=6)
        refs = [mlp.loss_and_grads(d["params"], d["X"], d["y"])[1] for _, d in cases]
        _referee_network(cases[2].data, refs[2])
        try:
            values = _batched_values(fn, who, cases)
        except _Stop:   # what it fed the layers may say why (run after, as the
            _fed_inputs(fn, who, cases[-1])   # probe call may leave state behind)
            raise
        got = [_batch_loss(value, len(d["y"]), who) for value, (_, d)
               in zip(values, cases)]
        _labels_used(fn, got, cases, who)
        _diagnose.rounded(f"the loss from {who}", got,   # within tolerance too
                          [mlp.loss_and_grads(d["params"], d["X"], d["y"])[0]
                           for _, d in cases])
        if not all(_same(np.float64(g), mlp.loss_and_grads(d["params"], d["X"],
                                                           d["y"])[0])
                   for g, (_, d) in zip(got, cases)):
            _fed_inputs(fn, who, cases[-1])
        _check_losses(got, cases, _BATCH_LOSS_MISTAKES + _COMPOSITION_MISTAKES,
                      who, "where the layer pairs above pass their checks, the"
                      " fault is in what batched_backward builds from them: which"
                      " layers it lists, in which order, and what it feeds them (this"
                      " call's X and c, unchanged)")
        outs = _batched_grads(values, refs, cases, who)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            _precision_kept(outs, refs, who)
            speed = ""
            if vectorised:
                small, large = row_work(lambda n: _batched_call(fn, n), who,
                                        "one call", functions=(fn,))
                speed = (f"; vectorised: {small} lines of your Python for"
                         f" {SMALL_N} rows, {large} for {LARGE_N}")
            return (f"✓ {who}: the mean loss and every gradient are right on"
                    f" {len(cases)} batches (N = 1 to 8, the course's network and"
                    f" random asymmetric ones){speed}")
        _diagnose_batched(outs, refs, cases)

    return _run(body)


def _stack(d, *steps):
    """The loss of the batch ``d`` through ``steps`` ("lin1", "sig", "lin2",
    "soft") and the fused softmax-cross-entropy: compositions a layer list
    can get wrong."""
    p, Z = d["params"], d["X"]
    for step in steps:
        if step in ("lin1", "lin2"):   # the layer's number names its parameters
            Z = layers.linear_forward(Z, p["W" + step[-1]], p["b" + step[-1]])[0]
        else:
            Z = layers.sigmoid(Z) if step == "sig" else losses.softmax(Z)
    return losses.cross_entropy(Z, d["y"])


def _relabelled(change):
    def loss(d):
        other = change(d["y"], d["O"].shape[1])
        return losses.cross_entropy(d["O"], other)
    return loss


def _scaled_input(factor):
    return lambda d: _stack({**d, "X": d["X"] * factor}, "lin1", "sig", "lin2")


_COMPOSITION_MISTAKES = [
    Mistake("no_sigmoid", "the loss is that of a layer list without the sigmoid:"
            " the two linear layers run back to back",
            "the network of notebook 04 has a sigmoid between its two linear"
            " layers", lambda d: _stack(d, "lin1", "lin2")),
    Mistake("softmax_twice", "the loss is that of a layer list that applies the"
            " softmax twice: a softmax layer before the layer that already"
            " includes it", "the last layer turns logits into the loss by itself:"
            " feed it the logits", lambda d: _stack(d, "lin1", "sig", "lin2",
                                                    "soft")),
    Mistake("layers_reordered", "the loss is that of the right layers in the"
            " wrong order: the sigmoid runs after the second linear layer",
            "list the layers in the order the forward pass meets them",
            lambda d: _stack(d, "lin1", "lin2", "sig")),
    Mistake("extra_sigmoid", "the loss is that of a layer list with a second"
            " sigmoid, after the second linear layer", "the logits go straight"
            " from the second linear layer to the loss",
            lambda d: _stack(d, "lin1", "sig", "lin2", "sig")),
    *[Mistake("labels_changed", f"the loss is that of the right network with"
              f" labels {text}: batched_backward changes the c it is given",
              "row n's class is c[n], as the caller passes it: build the layers"
              " from c unchanged", _relabelled(change))
      for text, change in (("c - 1", lambda c, C: (c - 1) % C),
                           ("c + 1", lambda c, C: (c + 1) % C),
                           ("sorted (no longer those of their rows)",
                            lambda c, C: np.sort(c)),
                           ("in reverse order (no longer those of their rows)",
                            lambda c, C: c[::-1]))],
    *[Mistake("input_scaled", f"the loss is that of the right network on X times"
              f" {text}: batched_backward rescales the X it is given",
              "the caller prepares X: use the rows as they come", _scaled_input(k))
      for k, text in ((1 / 255, "1/255"), (255.0, "255"), (-1.0, "-1"))],
    Mistake("input_centred", "the loss is that of the right network on X with the"
            " mean of each column taken away: batched_backward centres the X it is"
            " given", "the caller prepares X: use the rows as they come",
            lambda d: _stack({**d, "X": d["X"] - d["X"].mean(axis=0)},
                             "lin1", "sig", "lin2")),
]


def _labels_used(fn, got, cases, who):
    """A loss that stays the same when this call's labels change was computed
    with other labels (layers built once, from an earlier call's c)."""
    text, d = cases[-1]
    if _same(np.float64(got[-1]), losses.cross_entropy(d["O"], d["y"])):
        return
    other = (d["y"] + 1) % d["O"].shape[1]
    value = _call(fn, (_copy_params(d["params"]), d["X"].copy(), other), who, text)
    loss = value[0] if isinstance(value, (tuple, list)) and value else None
    try:
        changed = not np.isclose(float(np.asarray(loss, dtype=np.float64).ravel()[0]),
                                 float(got[-1]))
    except (TypeError, ValueError, IndexError):
        return
    if not changed:
        _fail(f"the loss from {who} stays {float(got[-1]):.6g} on {text} when the"
              " labels c change: it is computed with labels other than this"
              " call's", "build the layers inside batched_backward, from the c it"
              " is given: layers built once keep the labels of the first call",
              "stale_labels")


def _batched_values(fn, who, cases):
    """What ``fn`` returned on each case (N = 1 first, then the batches)."""
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
    return values


def _batched_grads(values, refs, cases, who):
    """The grads of every case as float64 arrays; the largest batch is read
    first, as its shapes say the most."""
    order = sorted(range(len(cases)), key=lambda i: -len(cases[i].data["y"]))
    outs = [None] * len(cases)
    for i in order:
        text, d = cases[i]
        raw = values[i][1]
        if isinstance(raw, Mapping):
            for key in raw:
                plain_array(raw[key], f"the gradient of {key} from {who}", text)
                _as_promised(raw[key], f"the gradient of {key} from {who}", text)
        outs[i] = _grads(raw, refs[i], f"the grads from {who}", batch=len(d["y"]))
        _finite(outs[i], f"the grads from {who}", text)
    return outs


def _precision_kept(outs, refs, who):
    """Fail when gradients that pass the check's tolerance agree with float64
    only to a float32's digits: a cast to float32 somewhere on the way (a sum
    in another order costs about 1e-16 of the largest entry, not 1e-8)."""
    # each case's error against its largest gradient entry: a gradient that is
    # exactly 0 (the course's W1 and b1) has no size of its own to compare with
    worst = max(max(float(np.max(np.abs(o[k] - r[k]))) for k in r)
                / max(max(float(np.max(np.abs(r[k]))) for k in r), 1e-12)
                for o, r in zip(outs, refs))
    if worst > 1e-10:
        _fail(f"the gradients from {who} agree with float64 arithmetic only to about"
              f" {worst:.0e} of their size, where float64 reaches about 1e-15:"
              " something on the way was computed in float32 (or float16)",
              "keep every array in numpy's default float64: no dtype argument, no"
              " cast to float32, even for speed", "low_precision")


def _diagnose_batched(outs, refs, cases):
    datas = [d for _, d in cases]
    first_row = Mistake(
        "first_row_only", "right for N = 1, but on a batch the gradients are"
        " those of the first row only", "a batch is X (N, D): every row"
        " contributes to the gradient of the mean loss, not X[0] alone",
        _first_row_grads)
    last_row = [Mistake(
        "rows_overwritten", f"the gradients are the last row's alone{said}: a loop"
        " over the rows in which each row's gradient replaced the one before",
        "every row adds its share to the batch's gradient (and Q6 asks for no"
        " loop over the rows at all: the batch's products add them up)",
        lambda d, scale=scale: _last_row_grads(d, scale))
        for said, scale in ((", divided by N", lambda n: 1.0 / n), ("", lambda n: 1.0))]
    course_ok = _same(outs[0], refs[0])
    _match(outs, datas, [first_row, *last_row,
                         *_network_mistakes(course_ok, batched=True, cls="c")])
    _network_fallback(outs, refs, cases, list(mlp.PARAM_NAMES), course_ok,
                      batched=True, cls="c")


def _batch_loss(value, n, who):
    """The first element of ``(loss, grads)``, as a float."""
    pair = ("a pair: the mean loss first, then the dict of gradients (the order"
            " the docstring gives)")
    if isinstance(value, Mapping):
        _fail(f"{who} returned only the grads dict; expected (mean loss, grads)",
              f"return {pair}", "wrong_type")
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        _array(value, f"what {who} returned")  # None, a string, ...: named there
        _fail(f"{who} returned {_short(value, 50)}; expected a pair (mean loss,"
              " grads)", f"return {pair}", "wrong_type")
    if isinstance(value[0], Mapping):
        _fail(f"{who} returned (grads, loss): the two are in the wrong order",
              "the docstring gives the order of the pair: the mean loss first",
              "wrong_type")
    plain_array(value[0], f"the loss from {who}", f"a batch of N = {n}")
    loss = _array(value[0], f"the loss from {who}")
    if n > 1 and loss.shape == (n,):
        _fail(f"the loss from {who} is a vector of {n} per-instance losses",
              "the loss of a batch is one number: the mean over its rows",
              "per_instance_loss")
    return _number(loss, f"the loss from {who}")


# LARGE_N: enough rows that a loop over them costs a good fraction of a second
# of CPU, which the grader measures outside the student's process
SMALL_N, LARGE_N = 8, 16384
# The pairs' large batch too: under the grader each call's arrays cross the
# sandbox wall (its encoding is CPU the grader counts), and at 65,536 rows
# that alone came near the budget for a right answer. A loop the line counter
# sees is caught at any size; one hidden from it, by the time it costs here.
PAIR_ROWS = LARGE_N


#: CPU seconds one call on LARGE_N rows of a tiny network may take: the
#: grader's rule (coursenet.grading.judge.Budget.loop_cpu; a test keeps the two
#: equal). A whole-batch version takes a few milliseconds, a loop over the
#: rows a good fraction of a second.
LOOP_CPU_SECONDS = 0.15


class _EnoughLines(BaseException):
    """Raised by the line counter once it passed ``stop_after``."""


def _tiny_params(sizes, rng):
    return {"W1": rng.normal(0, 0.3, sizes[:2]), "b1": rng.normal(0, 0.1, sizes[1]),
            "W2": rng.normal(0, 0.3, sizes[1:]), "b2": rng.normal(0, 0.1, sizes[2])}


def _batched_call(fn, n, sizes=(4, 3, 2)):
    """A call ``fn(params, X, c)`` on ``n`` rows of a tiny network, ready to run."""
    rng = np.random.default_rng(66)
    params = _tiny_params(sizes, rng)
    X = rng.normal(0.0, 1.0, (n, sizes[0]))
    c = rng.integers(0, sizes[2], n)
    return lambda: fn(params, X, c)


def python_lines_run(fn, n, sizes=(4, 3, 2), stop_after=None):
    """How many lines of non-library Python one call ``fn(params, X, c)`` runs
    on a batch of ``n`` rows; with ``stop_after``, the call is stopped as soon
    as the count passes it (then the count is ``stop_after + 1``)."""
    return lines_run(_batched_call(fn, n, sizes), stop_after)


def lines_run(call, stop_after=None):
    """How many lines of non-library Python ``call()`` runs; with
    ``stop_after``, it is stopped as soon as the count passes it.

    Counted, not timed: a stopwatch on a shared machine (a class on one
    JupyterHub, CI beside other jobs) can make a right answer look slow. Lines
    in numpy, the standard library, site-packages and coursenet are not
    counted, so only the student's own code (a notebook cell, a helper it
    defines, a lambda given to ``np.apply_along_axis``) is.
    """
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
            if stop_after is not None and count > stop_after:
                raise _EnoughLines
        return local

    def call_event(frame, event, arg):
        return local if _students(frame.f_code.co_filename) else None

    previous = sys.gettrace()
    sys.settrace(call_event)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            call()
    except _EnoughLines:
        pass
    finally:
        sys.settrace(previous)
    return count


def row_work(make, who, what, large_n=LARGE_N, functions=()):
    """Fail when the student's code does work that grows with the rows.

    ``make(n)`` returns a ready call of the student's code on a batch of ``n``
    rows of a tiny network. Its lines are counted on ``SMALL_N`` and on
    ``large_n`` rows (a loop over the rows runs more lines for more rows; a
    whole-batch version the same number), and the large call's CPU time
    (``time.process_time``) must stay within ``LOOP_CPU_SECONDS``, as the
    grader's does (a loop that switched the line counter off still takes the
    time). The time is this process's, so it is measured only when all of
    ``functions`` (the student's) are plain Python functions that run here: the
    grader's stand-ins run the student's code in a sandbox, whose CPU the
    grader measures itself, while this process only passes the arrays on.
    Returns the two line counts.
    """
    here = all(inspect.isfunction(f) or inspect.ismethod(f) for f in functions)
    try:
        small = lines_run(make(SMALL_N))
        # a loop is plain long before its 16,384th row: stop counting there
        limit = small + (large_n - SMALL_N) // 2
        large_call = make(large_n)
        start = time.process_time()
        large = lines_run(large_call, stop_after=limit)
        spent = time.process_time() - start
    except Exception as exc:  # noqa: BLE001 - the student's code, on a new size
        _fail(f"{who} raised {type(exc).__name__} on a batch of {large_n} rows of"
              f" a tiny network, after it was right on the check's cases",
              "every line must handle any number of rows N, one matrix"
              " operation for all of them", "raised")
    loop = ("work that grows with the rows, i.e. a loop over them")
    hint = ("no Python loop over the rows: each line must handle all N rows at"
            " once, as one matrix operation")
    if large > limit:
        _fail(f"right numbers, but not vectorised: {what} ran {small} lines of"
              f" your Python on a batch of {SMALL_N} rows and over {limit} on a"
              f" batch of {large_n}: {loop}", hint, "not_vectorised")
    if here and spent > LOOP_CPU_SECONDS and large <= small:
        # as many lines for 16,384 rows as for 8: no loop the counter sees; an
        # array that grows faster than N does this (an (N, 1) and an (N,)
        # broadcast to N × N), or a loop in code the counter cannot see
        _fail(f"right numbers, but {what} took {spent:.2f} s of CPU on {large_n}"
              f" rows of a tiny network, more than the {LOOP_CPU_SECONDS} s a"
              " whole-batch version needs, with as many lines of your Python as"
              f" on {SMALL_N} rows: no loop the line counter sees, so an array"
              " that grows as N × N (an (N, 1) array and an (N,) one broadcast"
              " into a table?) or work hidden from it", "keep every array of the"
              " batch N rows long: one number per row stays (N,) or (N, 1) on"
              " both sides of each operation", "not_vectorised")
    if here and spent > LOOP_CPU_SECONDS:
        _fail(f"right numbers, but not vectorised: {what} took {spent:.2f} s of CPU"
              f" on {large_n} rows of a tiny network, more than the"
              f" {LOOP_CPU_SECONDS} s a whole-batch version needs with room to"
              f" spare: {loop}", hint, "not_vectorised")
    return small, large


_LIBRARY_DIRS = tuple({str(Path(p).resolve()) for p in (
    sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
    sysconfig.get_paths()["platlib"], Path(np.__file__).parent,
    Path(mlp.__file__).parent)})


@functools.lru_cache(maxsize=4096)
def _students(filename):
    """True for a file of the student's own code (cached: the tracer asks once
    per call of any Python function, numpy's included)."""
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


def _pair_call(kind, forward, backward, n):
    """``backward(dout, forward(...)[1])`` on ``n`` rows of a tiny layer (3
    classes or outputs), ready to run."""
    rng = np.random.default_rng(67)
    O, c = rng.normal(0.0, 1.0, (n, 3)), rng.integers(0, 3, n)
    inputs = {"linear": (rng.normal(size=(n, 4)), rng.normal(size=(4, 3)),
                         rng.normal(size=3)),
              "softmax": (O,), "cross_entropy": (losses.softmax(O), c),
              "fused": (O, c)}[kind]
    dout = 1.0 if kind in ("cross_entropy", "fused") else rng.normal(size=(n, 3))

    def call():
        _, cache = forward(*inputs)
        return backward(dout, cache)

    return call


def _vectorised_pair(spec, kind, forward, backward, seed):
    try:
        line = check_pair(spec, forward, backward, batch=True, seed=seed)
    except _Stop as stop:
        if stop.mistake in _UNNAMED and kind != "linear":
            _name_size_slip(spec, kind, forward, backward)
        raise
    who = f"{_name(forward, 'your forward')}/{_name(backward, 'your backward')}"
    small, large = row_work(lambda n: _pair_call(kind, forward, backward, n), who,
                            "the forward and backward pass", PAIR_ROWS,
                            functions=(forward, backward))
    return (f"{line}; vectorised: {small} lines of your Python for {SMALL_N} rows,"
            f" {large} for {PAIR_ROWS}")


def check_linear_layer_batch(forward=None, backward=None):
    """Q6a: notebook 04's linear pair on a batch: ``x (N, D)``, ``W (D, M)``,
    ``b (M,)``, ``out`` and ``dout (N, M)``; ``dx (N, D)``, ``dW (D, M)``,
    ``db (M,)``, finite differences as the referee; no loop over the rows."""
    return _run(lambda: _vectorised_pair(LINEAR, "linear", forward, backward, 61))


def check_softmax_layer_batch(forward=None, backward=None):
    """Q6b: ``forward(O) -> (Y, cache)`` row by row, ``backward(dY, cache) -> dO``
    through each row's own Jacobian; all ``(N, C)``; no loop over the rows."""
    return _run(lambda: _vectorised_pair(SOFTMAX, "softmax", forward, backward, 62))


def check_cross_entropy_batch(forward=None, backward=None):
    """Q6c: ``forward(Y, c) -> (mean loss, cache)``, ``backward(dloss, cache) ->
    dY (N, C)``; ``c`` holds the N true classes; no loop over the rows."""
    return _run(lambda: _vectorised_pair(CROSS_ENTROPY, "cross_entropy", forward,
                                         backward, 63))


def check_softmax_cross_entropy(forward=None, backward=None):
    """Q6d, the fused layer: ``forward(O, c) -> (mean loss, cache)``,
    ``backward(dloss, cache) -> dO (N, C)`` without the Jacobian; no loop over
    the rows."""
    return _run(lambda: _vectorised_pair(FUSED, "fused", forward, backward, 64))


# --------------------------------------------------------------------------
# What batched_backward feeds its layers (issue 23, item 5): the X it passes to
# run_forward and the c it passes to network, watched for one call, compared
# with what it was given; a change is named by what it did to them.
# --------------------------------------------------------------------------


def _watch(fn, names, args):
    """Call ``fn`` with ``names`` in its module's namespace wrapped to record
    their first call's arguments; the namespace is restored afterwards."""
    space = getattr(fn, "__globals__", None)
    seen = {}
    if not isinstance(space, dict):
        return seen
    saved = {name: space[name] for name in names if callable(space.get(name))}

    def recorder(name, inner):
        def wrapped(*a, **k):
            seen.setdefault(name, [_copy(v) for v in a])
            return inner(*a, **k)
        return wrapped

    try:
        for name, inner in saved.items():
            space[name] = recorder(name, inner)
        try:   # _call: the time limit and quiet warnings of every student call
            _call(fn, args, _name(fn, "your function"), "a probe")
        except _Stop:
            pass   # the check names the failure when it runs fn itself
    finally:
        space.update(saved)
    return seen


def _layers_differ(forward, backward, who, text):
    """Fail when run_forward and run_backward got two different layer lists
    (two networks built): the caches then pair with the wrong layers."""
    if not forward or not backward:
        return
    ran, walked = forward[0], backward[0]
    if not isinstance(ran, (list, tuple)) or not isinstance(walked, (list, tuple)):
        return
    fns = [[getattr(r[1], "__name__", None) for r in rows
            if isinstance(r, tuple) and len(r) == 3] for rows in (ran, walked)]
    if len(ran) != len(walked) or fns[0] != fns[1]:
        _fail(f"{who} hands run_forward {len(ran)} layers and run_backward"
              f" {len(walked)}{'' if len(ran) != len(walked) else ' other ones'}"
              f" (on {text}): the caches of one list are walked with the layers"
              " of another", "build the layer list once and hand that same list"
              " to run_forward and to run_backward", "layers_differ")


def _walk_turned(handed, X, who, text):
    """Fail when batched_backward hands run_backward its layers or its caches
    last first: run_backward turns them round itself."""
    if not handed or len(handed) < 2 or not all(
            isinstance(v, (list, tuple)) and len(v) > 2 for v in handed[:2]):
        return
    rows, caches = handed[0], handed[1]
    names = [r[2] if isinstance(r, tuple) and len(r) == 3 else () for r in rows]
    holds_x = [any(isinstance(v, np.ndarray) and v.shape == X.shape
                   and np.array_equal(v, X) for v in
                   (c.values() if isinstance(c, dict) else
                    c if isinstance(c, (tuple, list)) else (c,))) for c in caches]
    turned = [what for what, last_first in (
        ("layers", "W1" in names[-1] and "W1" not in names[0]),
        ("caches", holds_x[-1] and not holds_x[0])) if last_first]
    if turned:
        _fail(f"{who} hands run_backward its {' and '.join(turned)} last first"
              f" (on {text}): run_backward walks them from the end itself, so a"
              " list turned round before the call is walked from the first layer",
              "hand run_backward the layers and the caches in the order"
              " run_forward used and made them", "walk_turned")


def _input_change(given, fed):
    """What was done to X on its way in, in words, or None if nothing."""
    fed = np.asarray(fed, dtype=np.float64)
    if fed.shape != given.shape or _same(fed, given):
        return None
    k = float(np.vdot(fed, given) / np.vdot(given, given))
    if _same(fed, k * given):
        inverse = 1.0 / k
        said = (f"1/{round(inverse):d}" if abs(inverse) > 1.5
                and np.isclose(inverse, round(inverse)) else f"{k:.3g}")
        return f"X times {said}: it rescales the X it is given"
    if _same(fed, given - given.mean(axis=0)):
        return "X with each column's mean taken away: it centres the X it is given"
    if _same(np.sort(fed, axis=0), np.sort(given, axis=0)):
        return "the rows of X in another order: rows no longer meet their labels"
    return "an X that is not the one it was given"


def _fed_inputs(fn, who, case):
    """Fail when batched_backward feeds run_forward another X, or network other
    labels, than the call's own."""
    text, d = case
    seen = _watch(fn, ("run_forward", "network", "run_backward"),
                  (_copy_params(d["params"]), d["X"].copy(), d["y"].copy()))
    _walk_turned(seen.get("run_backward"), d["X"], who, text)
    _layers_differ(seen.get("run_forward"), seen.get("run_backward"), who, text)
    fed = seen.get("run_forward")
    if fed and len(fed) >= 3 and isinstance(fed[2], np.ndarray):
        change = _input_change(d["X"], fed[2])
        if change:
            _fail(f"{who} feeds run_forward {change} (on {text})", "the caller"
                  " prepares X: pass the rows on to the layers as they come",
                  "input_changed")
    labels = seen.get("network")
    if labels:
        c = np.asarray(labels[0])
        given = np.asarray(d["y"])
        if c.ndim == 0 and len(given) > 1:
            _fail(f"{who} builds the layers from one class ({int(c)}), not from the"
                  f" {len(given)} classes of the batch's rows (on {text})",
                  "network(c) takes the batch's labels, one per row",
                  "labels_one_class")
        if c.shape == given.shape and not np.array_equal(c, given):
            _fail(f"{who} builds the layers from labels other than the c it was"
                  f" given (on {text})", "row n's class is c[n], as the caller"
                  " passes it", "labels_changed_in_call")


# --------------------------------------------------------------------------
# The batch's two sizes (round 7 of the blind walk): a failure the pair check
# could only call "raised" or "wrong" is probed on batches of chosen sizes,
# N rows and C classes. A function right only when N equals C uses one size
# where the other belongs; a loss or gradient off by a factor that is a ratio
# of the sizes (N/C, 1/N, ...) divides by the wrong one; a loss that is a
# function of the true-class probabilities but not their logs' mean took the
# log of an aggregate. The probes live here, not in _pairs.py, because only
# the batched pairs have two sizes to confuse.
# --------------------------------------------------------------------------

#: the pair check's generic verdicts, which the probes below may sharpen
_UNNAMED = ("raised", "wrong", "forward_wrong", "batch_loss_not_mean",
            "wrong_shape", "scaled_per_case")
_SQUARE, _OBLONG = ((3, 3), (4, 4)), ((3, 4), (4, 3), (2, 5), (5, 2))


class _SizeRun(NamedTuple):
    """One batch through the student's pair; None where it could not be had."""

    inputs: dict          # the batch, by the forward's argument names
    out: object           # the student's forward output (the loss, or Y)
    right_out: object
    grad: object          # the student's gradient
    right_grad: object
    raised: object        # (the function's name, what it raised) or None


def _size_case(kind, n, classes, rng):
    """The inputs (by name) and upstream gradient of a batch of ``n`` rows and
    ``classes`` classes; every probability well away from 0."""
    O = rng.normal(0.0, 0.8, (n, classes))
    c = rng.integers(0, classes, n)
    if kind == "softmax":
        return {"o": O}, rng.normal(0.0, 1.0, (n, classes))
    if kind == "cross_entropy":
        return {"y": losses.softmax(O), "c": c}, 1.3
    return {"o": O, "c": c}, 1.3


def _size_run(spec, kind, fns, n, classes):
    """One batch of ``n`` rows and ``classes`` classes through the student's
    pair, as a :class:`_SizeRun`; an entry is None where it could not be had."""
    fwd, bwd = fns
    fwd_name, bwd_name = _name(fwd, "your forward"), _name(bwd, "your backward")
    inputs, dout = _size_case(kind, n, classes, np.random.default_rng(n * 10 + classes))
    right_out = np.asarray(spec.forward(**inputs), dtype=np.float64)
    (right_grad,) = _numeric(spec, inputs, dout)
    args = [np.array(inputs[k], copy=True) for k in (*spec.wrt, *spec.extra)]
    out = grad = raised = None
    try:
        value = _call(fwd, args, fwd_name, "a probe")
        if isinstance(value, tuple) and len(value) == 2:
            out = _floats(value[0])
            grad = _floats(_call(bwd, (_copy(dout), value[1]), bwd_name,
                                 "a probe"))
    except _Stop as stop:
        raised = (fwd_name if out is None else bwd_name, stop.raised)
    return _SizeRun(inputs, out, right_out, grad, right_grad, raised)


def _agrees(got, right):
    return got is not None and got.shape == right.shape and _same(got, right)


def _name_size_slip(spec, kind, fwd, bwd):
    """Fail naming a slip between the batch's sizes, if the probes find one."""
    fwho, bwho = _name(fwd, "your forward"), _name(bwd, "your backward")
    with np.errstate(all="ignore"):
        runs = {sizes: _size_run(spec, kind, (fwd, bwd), *sizes)
                for sizes in _SQUARE + _OBLONG}
        mean = "where the mean over the batch divides by the number of rows N"
        if kind != "softmax":
            _loss_aggregate(f"the loss from {fwho}", runs, kind)
            _size_factor(f"the loss from {fwho}", [(s, r.out, r.right_out)
                                                  for s, r in runs.items()], mean)
        _size_factor(f"the gradient from {bwho}", [(s, r.grad, r.right_grad)
                                                  for s, r in runs.items()],
                     mean if kind != "softmax" else "where the softmax's gradient"
                     " has no size of the batch in it")
        _square_only(runs, fwho, bwho)


def _ratio(got, right):
    """The number k with got = k * right, or None if there is none."""
    if got is None or got.shape != right.shape or not np.all(np.isfinite(got)):
        return None
    scale = float(np.vdot(right, right))
    if scale == 0.0:
        return None
    k = float(np.vdot(got, right)) / scale
    return k if _same(got, k * right) else None


#: exponents (a, b) of a factor N**a * C**b a slip between the sizes can give
_FACTORS = [(a, b) for a in (-2, -1, 0, 1, 2) for b in (-1, 0, 1) if (a, b) != (0, 0)]


def _power(name, k):
    return name if abs(k) == 1 else f"{name}·{name}"


def _factor_text(a, b):
    """N**a * C**b as a fraction: "N/C", "1/N", "C", "1/(N·C)"."""
    top = [_power(n, k) for n, k in (("N", a), ("C", b)) if k > 0]
    bottom = [_power(n, k) for n, k in (("N", a), ("C", b)) if k < 0]
    num = "·".join(top) or "1"
    if not bottom:
        return num
    den = "·".join(bottom)
    return f"{num}/{den}" if len(bottom) == 1 and "·" not in den else f"{num}/({den})"


def _scaling_text(a, b, mean):
    """What a factor N**a C**b says the code divided or multiplied by."""
    # the exponents of what the code divides by: the right one divides by N
    # once when it is a mean, else by no size
    rows = (1 if mean else 0) - a
    names = (("the number of rows N", rows), ("the number of classes C", -b))
    divided = [n + (" twice" if k == 2 else "") for n, k in names if k > 0]
    multiplied = [n + (" twice" if k == -2 else "") for n, k in names if k < 0]
    said = []
    if divided:
        said.append("divided by " + " and by ".join(divided))
    if multiplied:
        said.append("multiplied by " + " and by ".join(multiplied))
    return " and ".join(said) or "not divided by any size of the batch"


def _size_factor(what, triples, where):
    """Fail when ``what`` is the right value times the same ratio of the
    batch's sizes on every batch: naming the size it was divided by."""
    ratios = [(sizes, _ratio(got, right)) for sizes, got, right in triples]
    if not ratios or any(k is None for _, k in ratios):
        return
    for a, b in _FACTORS:
        if all(np.isclose(k, n ** a * c ** b, rtol=1e-6) for (n, c), k in ratios):
            shapes = ", ".join(f"{n}×{c}" for (n, c), _ in ratios)
            _fail(f"{what} is the right one times {_factor_text(a, b)} on every"
                  f" batch tried (N rows × C classes: {shapes}): it is"
                  f" {_scaling_text(a, b, where.startswith('where the mean'))},"
                  f" {where}", "the batch has two sizes, N rows and C classes:"
                  " print the number your code divides by next to both",
                  "size_factor")


def _loss_aggregate(what, runs, kind):
    """Fail when the batch's loss is minus the log of the mean (or sum) of the
    rows' true-class probabilities: the log taken after the rows were
    combined."""
    for words, combine in (("mean", np.mean), ("sum", np.sum)):
        matched = True
        for run in runs.values():
            Y = run.inputs["y"] if kind == "cross_entropy" \
                else losses.softmax(run.inputs["o"])
            picked = Y[np.arange(len(run.inputs["c"])), run.inputs["c"]]
            if run.out is None or run.out.size != 1 \
                    or not np.isclose(float(run.out), -np.log(combine(picked))):
                matched = False
                break
        if matched:
            _fail(f"{what} is minus the log of the {words} probability of the"
                  f" rows' true classes, not the mean of the rows' own losses: the"
                  f" log of the {words} probability is taken after the rows are"
                  " combined", "each row's loss is minus the log of that row's"
                  " own probability; the batch's loss averages those losses",
                  "log_of_mean")


def _square_only(runs, fwho, bwho):
    """Fail when the pair is right on every batch with as many rows as
    classes but not on one with a different number: one size stands where the
    other belongs."""
    def right(run):
        return run.raised is None and _agrees(run.out, run.right_out) \
            and _agrees(run.grad, run.right_grad)

    if not all(right(runs[s]) for s in _SQUARE):
        return
    for (n, c) in _OBLONG:
        run = runs[(n, c)]
        if right(run):
            continue
        if run.raised is not None:
            who, exc = run.raised
            did = f"raises {type(exc).__name__}" if exc is not None else "fails"
        else:
            who = fwho if not _agrees(run.out, run.right_out) else bwho
            did = "is wrong"
        squares = " and ".join(str(n) for n, _ in _SQUARE)
        _fail(f"{who} is right on batches with as many rows as classes (N = C ="
              f" {squares}) but {did} on a batch of {n} rows and {c} classes:"
              " a number of rows used where the number of classes belongs, or"
              " the other way round", "the two sizes of a batch differ in"
              " general: for each array the code builds or indexes, ask whether"
              " its axis counts rows or classes", "sizes_confused")
