"""Checks for notebook 05 (Q6): the batched backward pass."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
from threadpoolctl import threadpool_limits

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

# --------------------------------------------------------------------------
# Q6: the batched backward pass
# --------------------------------------------------------------------------


def _first_row_grads(d):
    return mlp.loss_and_grads(d["params"], d["X"][:1], d["y"][:1])[1]


def check_batched_backward(fn=None, timed=True):
    """Q6: ``fn(params, X, c)`` returns ``(mean loss, grads)`` for a batch.

    ``X`` is ``(N, D)``, ``c`` integer class labels ``(N,)``; ``grads`` has the
    keys and shapes of ``params`` (``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, C)``,
    ``b2 (C,)``). With ``timed`` (the default) a right answer must also be
    vectorised: one call on a batch of ``TIMED_N`` rows must be at least
    ``MIN_SPEEDUP`` times faster than ``TIMED_N`` calls of one row each (see
    :func:`batch_speedup`); a Python loop over the rows is about 1×.
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
            if timed:
                speedup, batch_s, singles_s = batch_speedup(fn)
                if speedup < MIN_SPEEDUP:
                    _fail(f"right numbers, but not vectorised: one call on a batch"
                          f" of {TIMED_N} took {batch_s * 1e3:.1f} ms, {TIMED_N}"
                          f" calls on one row each {singles_s * 1e3:.1f} ms: only"
                          f" {speedup:.1f}× faster (a whole-batch version is"
                          f" {MIN_SPEEDUP:g}× or more; median of {TIMED_REPEATS}"
                          " runs)", "no Python loop over the rows: each line must"
                          " handle all N rows at once, as one matrix operation",
                          "not_vectorised")
                speed = (f"; vectorised: more than {MIN_SPEEDUP:g}× faster than row"
                         " by row")
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


TIMED_N, TIMED_REPEATS, MIN_SPEEDUP = 256, 5, 10.0


def batch_speedup(fn, n=TIMED_N, repeats=TIMED_REPEATS, sizes=(64, 32, 10)):
    """How much faster ``fn`` is on a batch than row by row, on the same rows.

    Times one call ``fn(params, X, c)`` on ``n`` rows against ``n`` calls on one
    row each (the student's own function both times), ``repeats`` times in
    turns; returns ``(median speed-up, median batch seconds, median row-by-row
    seconds)``. A vectorised answer gains from the batch (typically 20× or
    more here); a Python loop over the rows gains about nothing.
    """
    rng = np.random.default_rng(66)
    params = {"W1": rng.normal(0, 0.3, sizes[:2]), "b1": rng.normal(0, 0.1, sizes[1]),
              "W2": rng.normal(0, 0.3, sizes[1:]), "b2": rng.normal(0, 0.1, sizes[2])}
    X = rng.normal(0.0, 1.0, (n, sizes[0]))
    c = rng.integers(0, sizes[2], n)
    rows = [(X[i:i + 1], c[i:i + 1]) for i in range(n)]
    batch, singles = [], []
    with threadpool_limits(limits=1, user_api="blas"):  # one core: less noise
        fn(params, X, c)  # warm up
        for _ in range(repeats):
            batch.append(_seconds(fn, [(params, X, c)]))
            singles.append(_seconds(fn, [(params, Xi, ci) for Xi, ci in rows]))
    b, s = float(np.median(batch)), float(np.median(singles))
    return s / max(b, 1e-9), b, s


def _seconds(fn, calls):
    start = time.perf_counter()
    for args in calls:
        fn(*args)
    return time.perf_counter() - start

