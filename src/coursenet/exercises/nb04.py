"""Checks for notebook 04 (Q5): one instance's backward pass with numpy."""

from __future__ import annotations

import numpy as np

from coursenet import mlp
from coursenet.exercises._core import (
    CheckResult,
    Mistake,
    _array,
    _call,
    _fail,
    _finite,
    _grads,
    _match,
    _name,
    _need_function,
    _run,
    _same,
    _softmax,
    _Stop,
    _worst,
)
from coursenet.exercises._networks import (
    _copy_params,
    _instance_cases,
    _network_fallback,
    _network_mistakes,
    _referee_network,
)

# --------------------------------------------------------------------------
# Q5: the backward pass of one instance, numpy
# --------------------------------------------------------------------------


def _softmax_cases(seed):
    """(text, y, dl/dy): upstream gradients that are NOT one-hot, so that no
    shortcut through the true class can pass."""
    rng = np.random.default_rng(seed)
    cases = []
    for C in (2, 3, 5, 10):
        y = _softmax(rng.normal(0.0, 1.5, C))
        g = rng.normal(0.0, 1.0, C)
        cases.append((f"a random y with C = {C} and a random dl/dy", y, g))
    y = _softmax(rng.normal(0.0, 1.0, 4))
    cases.append(("the dl/dy of the loss -log y_2 (C = 4)", y,
                  -np.eye(4)[2] / y[2]))
    return cases


def _vjp(y, g):
    return g @ (np.diag(y) - np.outer(y, y))  # the row g times J (01's card)


def _sum_hint(outs, cases, texts):
    """A property of every right dl/do: its entries sum to 0 (J's rows do)."""
    sums = [float(np.sum(o)) for o in outs]
    i = int(np.argmax(np.abs(sums)))
    return (f"the entries of dl/do must sum to 0 for any dl/dy (each row of J"
            f" sums to 0); yours sum to {sums[i]:.3g} on {texts[i]}")


def _diagonal_hint(outs, cases, texts):
    return ("every y_i depends on every o_j, so J has off-diagonal entries: the"
            " C×C matrix of notebook 01's Q1, not only its diagonal; "
            + _sum_hint(outs, cases, texts))


_SOFTMAX_MISTAKES = [
    Mistake("diagonal_only", "only the diagonal of the Jacobian was used: dl/dy *"
            " y * (1 - y), elementwise", _diagonal_hint,
            lambda d: d["g"] * d["y"] * (1 - d["y"])),
    Mistake("plus_outer", "the off-diagonal entries of J have the wrong sign",
            "raising o_j lowers every other probability y_i (i ≠ j): those entries"
            " of J are negative",
            lambda d: d["g"] @ (np.diag(d["y"]) + np.outer(d["y"], d["y"]))),
    Mistake("no_diag", "the diagonal part of J is missing: only the products of"
            " two probabilities were applied", _sum_hint,
            lambda d: -d["g"] @ np.outer(d["y"], d["y"])),
]


def check_softmax_backward(fn=None):
    """Q5: ``fn(y, dl_dy)`` returns dl/do = dl/dy·J, J = ∂y/∂o of the softmax.

    ``y`` is a probability vector ``(C,)`` (the softmax output), ``dl_dy`` any
    upstream gradient ``(C,)``; returns ``(C,)``. Checked with random, not
    one-hot, upstream gradients.
    """

    def body():
        _need_function(fn, "check_softmax_backward", "your softmax_backward")
        who = _name(fn, "your function")
        cases = _softmax_cases(seed=55)
        outs, refs = [], []
        for text, y, g in cases:
            value = _call(fn, (y.copy(), g.copy()), who, text)
            arr = _array(value, f"what {who} returned")
            C = len(y)
            if arr.shape == (C, C):
                _fail(f"{who} returned a {C}×{C} matrix on {text}; expected the"
                      f" vector dl/do ({C},)", "return the row dl/dy multiplied"
                      " by that matrix, not the matrix", "returned_matrix")
            if arr.shape not in ((C,), (1, C), (C, 1)):
                _fail(f"{who} returned shape {arr.shape} on {text}; expected ({C},)",
                      "return one number per class", "wrong_shape")
            outs.append(arr.reshape(C))
            refs.append(_vjp(y, g))
            _finite(outs[-1], f"what {who} returned", text)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {who}: dl/do = dl/dy·J on {len(cases)} cases (random y and"
                    " random upstream gradients, C = 2 to 10)")
        datas = [{"y": y, "g": g} for _, y, g in cases]
        texts = [text for text, _, _ in cases]
        _match(outs, datas, _SOFTMAX_MISTAKES, texts)
        worst = _worst(outs, refs, texts, "dl_do")
        sums = [abs(float(np.sum(o))) for o in outs]
        hint = (_sum_hint(outs, datas, texts) if max(sums) > 1e-6 else
                "each entry (dl/do)_j sums (dl/dy)_i J_ij over the outputs i;"
                " compare your J with the Jacobian of notebook 01 (Q1) entry by"
                " entry")
        _fail(f"your dl/do differs from dl/dy·J ({worst})", hint, "wrong")

    return _run(body)


class _Spy:
    """Wraps the student's softmax_backward and notes every call's arguments."""

    def __init__(self, fn):
        self.fn, self.calls = fn, []
        self.__name__ = getattr(fn, "__name__", "softmax_backward")

    def __call__(self, *args, **kwargs):
        self.calls.append([np.array(a, dtype=np.float64, copy=True)
                           for a in list(args) + list(kwargs.values())])
        return self.fn(*args, **kwargs)


def _uses_jacobian(fn, uses, who, run):
    """Run ``run()`` with ``uses`` in fn's globals replaced by a spy; its calls."""
    space = getattr(fn, "__globals__", None)
    names = [k for k, v in (space or {}).items() if v is uses]
    if not names:
        _fail(f"{who} cannot see your {_name(uses, 'softmax_backward')} (it is not"
              " a global name of the notebook that defines it)",
              "define both in the notebook and call softmax_backward inside"
              f" {who}", "no_softmax_backward")
    spy = _Spy(uses)
    try:
        for k in names:
            space[k] = spy
        result = run()
    finally:
        for k in names:
            space[k] = uses
    return result, spy.calls


def check_vector_backward(fn=None, uses=None):
    """Q5: ``fn(params, x, c)`` returns the gradients of one instance's loss.

    ``params`` has float64 arrays ``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, C)``,
    ``b2 (C,)``; ``x`` is ``(D,)``, ``c`` an int. Returns a dict with the same
    keys and shapes. With ``uses=softmax_backward`` the check also requires that
    ``fn`` goes through that function once per call, with ``y`` the softmax
    output and the loss's own ``dl/dy`` (the explicit Jacobian path Q5 asks
    for); notebook 01's shortcut for dl/do then does not pass.
    """
    if uses is None:
        return _check_vector_backward(fn)
    if not callable(uses):
        return _run(lambda: _fail(
            f"uses= needs your softmax_backward function, got {type(uses).__name__}",
            "pass the function itself: uses=softmax_backward", "wrong_type"))
    calls = []

    def run():
        result, spied = _uses_jacobian(
            fn, uses, _name(fn, "your function"),
            lambda: _check_vector_backward(fn, quiet=True))
        calls.extend(spied)
        return result

    def body():
        _need_function(fn, "check_vector_backward", "your backward function")
        who = _name(fn, "your function")
        result = run()
        if not result.passed:
            raise _Stop(result.message, result.status, result.mistake)
        sb = _name(uses, "softmax_backward")
        cases = _instance_cases(seed=5)
        if len(calls) < len(cases):
            _fail(f"{who} gives the right gradients but does not call {sb}: it"
                  " skips the explicit Jacobian that Q5 asks for",
                  f"compute the loss's dl/dy yourself and pass it through"
                  f" {sb}(y, dl_dy); the shortcut of notebook 01's Q2 comes after"
                  " the check", "skips_jacobian")
        for text, d in cases:
            y, c = d["P"][0], int(d["y"][0])
            mine = [a for a in calls if len(a) > 1 and a[0].shape == y.shape
                    and np.allclose(a[0], y, rtol=1e-6, atol=1e-9)]
            right = -np.eye(len(y))[c] / y[c]
            if not mine:
                _fail(f"{who} calls {sb}, but not with y = softmax(o) (on {text})",
                      f"pass the probabilities y of forward's cache: {sb}(y, dl_dy)",
                      "wrong_upstream")
            if not all(a[1].shape == y.shape and np.allclose(
                    a[1], right, rtol=1e-6, atol=1e-9) for a in mine):
                _fail(f"{who} calls {sb}, but not with the loss's own dl/dy (on"
                      f" {text}): the loss -log y_c depends on y_c alone",
                      f"pass the loss's own gradient: {sb}(y, dl_dy)",
                      "wrong_upstream")
        return (result.message + f", through {sb} (the explicit Jacobian)")

    return _run(body)


def _check_vector_backward(fn=None, quiet=False):
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
        _match(outs, [d for _, d in cases], _network_mistakes(course_ok, cls="c"))
        _network_fallback(outs, refs, cases, list(mlp.PARAM_NAMES), course_ok,
                          cls="c")

    if quiet:
        return _quiet(body)
    return _run(body)


def _quiet(body):
    """``_run`` without printing or raising: the result for a wrapping check."""
    try:
        return CheckResult("passed", body())
    except _Stop as stop:
        return CheckResult(stop.status, stop.message, stop.mistake)
