"""Checks for notebook 04 (Q5): one instance's backward pass with numpy."""

from __future__ import annotations

import time
import types
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from coursenet import layers, losses, mlp
from coursenet.exercises import _explain
from coursenet.exercises._core import (
    CheckResult,
    Mistake,
    NotFinite,
    _array,
    _call,
    _calls,
    _fail,
    _finite,
    _grads,
    _last_frame,
    _line_reads,
    _match,
    _misfiled,
    _name,
    _need_function,
    _run,
    _same,
    _short,
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
from coursenet.exercises._pairs import (
    CROSS_ENTROPY,
    LINEAR,
    SIGMOID,
    SOFTMAX,
    check_pair,
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
    """The row g times the softmax's Jacobian at y: the package's VJP."""
    return losses.softmax_backward(np.asarray(g)[None], np.asarray(y)[None])[0]


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
                      f" vector dl/do ({C},)", "the result is a vector, one"
                      " entry per logit: the matrix is a step on the way to it,"
                      " not the answer", "returned_matrix")
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
        _explain.explain_cases("dl/do", outs, refs, [{"y": d["y"]} for d in datas],
                               hint, [[(_explain.NAMES["dout"], d["g"])]
                                      for d in datas])
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

    def after_loop():
        try:
            return body()
        except _Stop:
            _loop_first(fn)
            raise

    if quiet:
        return _quiet(after_loop)
    return _run(after_loop)


def _loop_first(fn):
    """A wrong vector_backward whose run_backward fails its own check: the
    loop is the cause; the layer that then fails on what it was sent is not."""
    loop = getattr(fn, "__globals__", {}).get("run_backward")
    if not callable(loop) or loop is fn or _quiet(_run_backward_body(loop)).passed:
        return
    _fail(f"{_name(fn, 'your function')} fails because run_backward does (its own"
          " check, the line above, names how): the layer pairs it calls are not at"
          " fault here", "fix run_backward first; then run this check again",
          "run_backward_wrong")


def _quiet(body):
    """``_run`` without printing or raising: the result for a wrapping check."""
    try:
        return CheckResult("passed", body())
    except _Stop as stop:
        return CheckResult(stop.status, stop.message, stop.mistake)


# --------------------------------------------------------------------------
# Q5 as layer pairs: one check per pair, then the loop that runs them
# --------------------------------------------------------------------------


def check_linear_layer(forward=None, backward=None):
    """Q5a: ``forward(x, W, b) -> (out, cache)``, ``backward(dout, cache) ->
    (dx, dW, db)`` for one instance: ``x (D,)``, ``W (D, M)``, ``b (M,)``,
    ``out`` and ``dout (M,)``; ``dx (D,)``, ``dW (D, M)``, ``db (M,)``."""
    return _run(lambda: _on_mnist_size(
        check_pair(LINEAR, forward, backward, batch=False, seed=41),
        forward, backward))


_STEPS = 1500            # the training cell's steps, each through this layer
_SLOW = 0.1              # seconds per step above which that cell takes minutes


def _on_mnist_size(line, forward, backward):
    """The ✓ ``line``, with a note when one forward and backward through
    MNIST's first layer (784 x 300) is slow enough that the notebook's
    training cell would take minutes (over 0.1 s: 2.5 min; a right pair
    written with Python loops over the entries took 0.4 s, a vectorised one
    0.4 ms). A time, not a verdict: the check passes either way."""
    if not all(isinstance(f, types.FunctionType) for f in (forward, backward)):
        return line   # the grader's proxies: their time is the sandbox's, not yours
    rng = np.random.default_rng(0)
    x, W, b = rng.random(784), rng.normal(0.0, 0.05, (784, 300)), np.zeros(300)
    took = float("inf")
    for _ in range(2):       # the faster of two: a busy machine only adds time
        start = time.perf_counter()
        try:
            _, cache = _call(forward, (x, W, b), "linear_forward", "a 784 x 300"
                             " layer")
            _call(backward, (np.ones(300), cache), "linear_backward", "a 784 x 300"
                  " layer")
        except _Stop as stop:   # stopped at the time limit: no second try
            if stop.mistake != "too_slow":
                return line
            took = time.perf_counter() - start
            break
        except (TypeError, ValueError):
            return line
        took = min(took, time.perf_counter() - start)
        if took < _SLOW:
            return line
    return (f"{line}. Note: one forward and backward through MNIST's first layer"
            f" (784 × 300) took {took:.2f} s here, and the training cell below"
            f" runs {_STEPS:,} of them (about {took * _STEPS / 60:.0f} min): loops"
            " over the entries in Python are what is slow; numpy's whole-array"
            " operations do the same in about a millisecond")


def check_sigmoid_layer(forward=None, backward=None):
    """Q5b: ``forward(k) -> (h, cache)``, ``backward(dh, cache) -> dk``, any shape."""
    return _run(lambda: check_pair(SIGMOID, forward, backward, batch=False, seed=42))


def check_softmax_layer(forward=None, backward=None):
    """Q5c: ``forward(o) -> (y, cache)``, ``backward(dy, cache) -> do``, ``(C,)``,
    checked with random (not one-hot) upstream gradients."""
    return _run(lambda: check_pair(SOFTMAX, forward, backward, batch=False, seed=43))


def check_cross_entropy_layer(forward=None, backward=None):
    """Q5d: ``forward(y, c) -> (loss, cache)``, ``backward(dloss, cache) -> dy``:
    ``y (C,)`` probabilities, ``c`` the true class, ``dloss`` a number."""
    return _run(lambda: check_pair(CROSS_ENTROPY, forward, backward, batch=False,
                                   seed=44))


# The package's pairs for one instance (1-D arrays): the referee layers that a
# student's loop runs in check_run_backward. They wrap coursenet.layers and
# coursenet.losses (a batch of one), so the maths has one copy.

def _ref_linear_forward(x, W, b):
    out, cache = layers.linear_forward(np.asarray(x)[None], W, b)
    return out[0], cache


def _ref_linear_backward(dout, cache):
    dx, dW, db = layers.linear_backward(np.asarray(dout)[None], cache)
    return dx[0], dW, db


def _ref_sigmoid_forward(k):
    return layers.sigmoid_forward(k)


def _ref_sigmoid_backward(dh, cache):
    return layers.sigmoid_backward(dh, cache)


def _ref_softmax_forward(o):
    y = losses.softmax(np.asarray(o)[None])[0]
    return y, y.copy()


def _ref_softmax_backward(dy, cache):
    return losses.softmax_backward(np.asarray(dy)[None], cache[None])[0]


def _ref_loss(c):
    def forward(y):
        return -float(np.log(y[c])), (y.copy(), c)

    def backward(dloss, cache):
        y, c_ = cache
        return dloss * losses.cross_entropy_backward(y[None], np.array([c_]))[0]

    return forward, backward


class _Recorder:
    """Wraps a layer's backward: notes each call's layer, dout, the cache it was
    given (which layer's it is, or None), what it sent back and what it raised."""

    def __init__(self, index, fn, log):
        self.index, self.fn, self.log = index, fn, log
        self.caches = []  # every layer's cache, set once the forward pass ran
        self.__name__ = getattr(fn, "__name__", "backward")

    def __call__(self, dout, cache):
        try:
            noted = np.array(dout, dtype=np.float64)
        except (TypeError, ValueError):
            noted = np.array(np.nan)
        owner = _owner(cache, self.caches)
        swapped = owner is None and _owner(dout, self.caches) is not None
        self.log.append(_Call(self.index, noted, None, owner, None, swapped))
        try:
            result = self.fn(dout, cache)
        except Exception as exc:
            self.log[-1] = self.log[-1]._replace(error=exc)
            raise
        sent = result[0] if isinstance(result, tuple) else result
        self.log[-1] = self.log[-1]._replace(
            sent=sent, results=result if isinstance(result, tuple) else (result,))
        return result


def _owner(cache, caches):
    """The index of the layer whose cache ``cache`` is (the same object, else an
    equal copy), or None."""
    same = [i for i, c in enumerate(caches) if c is cache]
    equal = [i for i, c in enumerate(caches) if _equal(c, cache)]
    return (same or equal or [None])[0]


def _equal(a, b):
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list))
                and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b)))
    try:
        return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))
    except Exception:  # noqa: BLE001 - not numbers: not the same cache
        return False


class _Call(NamedTuple):
    """One backward call the check's layers noted."""

    layer: int        # the index of the layer whose backward ran
    dout: object      # the dout it was given (float64)
    sent: object      # its first result (what goes on to the layer before)
    cache_of: object  # the index of the layer whose cache it was given, or None
    error: object     # the exception it raised, or None
    swapped: bool     # it was given a cache as its dout (and no cache as cache)
    results: tuple = ()  # everything it returned


def reference_layers(params, c, log):
    """The course's network for one instance as ``(forward, backward, names)``
    rows, the loss last; every backward call is noted in ``log``."""
    loss_forward, loss_backward = _ref_loss(c)
    rows = [(_ref_linear_forward, _ref_linear_backward, ("W1", "b1")),
            (_ref_sigmoid_forward, _ref_sigmoid_backward, ()),
            (_ref_linear_forward, _ref_linear_backward, ("W2", "b2")),
            (_ref_softmax_forward, _ref_softmax_backward, ()),
            (loss_forward, loss_backward, ())]
    return [(f, _Recorder(i, b, log), names) for i, (f, b, names) in enumerate(rows)]


def _give_caches(rows, caches):
    """Let each recorder tell which layer's cache it is given."""
    for _, recorder, _ in rows:
        recorder.caches = caches


def _reference_forward(rows, params, x):
    out, caches = x, []
    for forward, _, names in rows:
        out, cache = forward(out, *(params[n] for n in names))
        caches.append(cache)
    return out, caches


_LAYER_NAMES = ["the first linear layer", "the sigmoid", "the second linear layer",
                "the softmax", "the loss"]


def check_run_backward(fn=None):
    """Q5e: ``fn(layers, caches)`` runs every layer's backward, last layer first,
    and returns ``{parameter name: gradient}``.

    ``layers`` is a list of ``(forward, backward, names)`` rows (the loss last),
    ``caches`` what each forward returned. The check gives it the package's
    layers (so a mistake in your pairs does not show here), notes every call
    and compares the gradients with :func:`coursenet.mlp.loss_and_grads`.
    """
    return _run(_run_backward_body(fn))


def _rows_kept(given, rows, who, text):
    """Fail when the call changed the caller's list of layers itself: turned
    round in place (``layers.reverse()``), emptied, or its rows replaced."""
    def names(layers):   # by what each row is, not its identity: under the
        try:                 # grader the rows are proxies, new on every read
            return [tuple(row[2]) for row in layers]
        except (TypeError, IndexError):
            return None

    now, before = names(rows), names(given)
    if now is None or before is None or now == before:
        return
    turned = now == before[::-1]
    _fail(f"{who} changed its argument `layers` in place on {text}: "
          + ("the caller's list was reversed, so after the call the loss is its"
             " first layer" if turned else f"it held {len(given)} layers and now"
             f" holds {len(rows)}, not in their order"), "the caller still needs"
          " its list in its own order: walk it backwards without turning it"
          " round", "changed_input")


def _run_backward_body(fn):
    """The body of :func:`check_run_backward`, to run printed or quiet."""

    def body():
        _need_function(fn, "check_run_backward", "your run_backward function")
        who = _name(fn, "your function")
        cases = _instance_cases(seed=45)
        for text, d in cases:
            params = _copy_params(d["params"])
            c = int(d["y"][0])
            log = []
            rows = reference_layers(params, c, log)
            _, caches = _reference_forward(rows, params, d["X"][0].copy())
            _give_caches(rows, caches)
            given = list(rows)   # the rows themselves log their calls: only
            try:                 # the list's own order is compared below
                value = _call(fn, (rows, caches), who, text, may_change=(0,))
                _rows_kept(given, rows, who, text)
            except _Stop as stop:
                if stop.mistake == "changed_input":   # caches reversed in place:
                    raise                             # the pairing then misleads
                _forward_called(stop.raised, rows, who, text)
                _caches_paired(log, who, text)  # the likely causes
                _calls_in_reverse(log, who, text, partial=True)
                _layer_raised(log, who, text)
                _keeps_state(fn, who, cases[0])
                raise
            _caches_paired(log, who, text)
            ref = mlp.loss_and_grads(params, d["X"], d["y"])[1]
            _calls_in_reverse(log, who, text)
            grads = _keyed(value, ref, who, text, log)
            if not all(_same(grads[k], ref[k]) for k in ref):
                _keeps_state(fn, who, cases[0])
                _fail(f"the gradients from {who} differ from the package's on {text}"
                      f" ({_worst([grads], [ref], [text])})",
                      "store each layer's parameter gradients under that layer's"
                      " own names, in the order its backward returns them",
                      "wrong_grads")
        _keeps_state(fn, who, cases[0])    # right each time, but shared?
        return (f"✓ {who}: runs every layer's backward once, last layer first,"
                " passes each one what the layer after it sent back, and the"
                f" gradients equal the package's on {len(cases)} networks")

    return body


def _forward_called(exc, rows, who, text):
    """Name a backward pass that called a layer's forward (the row unpacked
    in another order than (forward, backward, names))."""
    forwards = {f.__code__ for f, _, _ in rows}
    last = _last_frame(exc) if exc is not None else None
    if last is None:
        return
    held = last.tb_frame.f_locals
    for read in _line_reads(last.tb_frame.f_code, last.tb_lineno):
        if getattr(held.get(read) if isinstance(read, str) else None,
                   "__code__", None) in forwards:
            _fail(f"{who} calls a layer's forward as `{read}` during the backward"
                  f" pass, and it raised on what it was given (on {text})",
                  "each row of layers holds its functions in the order (forward,"
                  " backward, names): unpack them in that order",
                  "forward_in_backward")


def _caches_paired(log, who, text):
    """Each backward must get its own layer's cache."""
    for call in log:
        if call.swapped:
            _fail(f"{who} gave the backward of {_LAYER_NAMES[call.layer]} a cache as"
                  f" its first argument (on {text})", "a backward takes the"
                  " upstream gradient first and its cache second, in the order of"
                  " the stubs' signatures", "swapped_args")
        if call.cache_of != call.layer:
            given = ("a cache that is not one of the forward pass's"
                     if call.cache_of is None
                     else f"the cache of {_LAYER_NAMES[call.cache_of]}")
            _fail(f"{who} gave the backward of {_LAYER_NAMES[call.layer]} {given}"
                  f" (on {text})", "walk the caches in the same order as the layers,"
                  " so that each backward gets the cache its own forward made",
                  "caches_not_paired")


def _layer_raised(log, who, text):
    """One of the check's own layers raised on what the loop passed it: say what,
    not where inside the package."""
    if not log or log[-1].error is None:
        return
    call = log[-1]
    _fail(f"the backward of {_LAYER_NAMES[call.layer]} (the check's own, right one)"
          f" raised {type(call.error).__name__} on the dout {who} passed it,"
          f" {_short(call.dout, 40)} (on {text})", "each backward takes the dout"
          " the layer after it sent back (the loss's backward takes 1.0) and its"
          " own layer's cache", "bad_dout")


def _calls_in_reverse(log, who, text, partial=False):
    """Name what the order or the douts of the noted calls get wrong; with
    ``partial`` (the loop stopped with an error) only the calls made so far."""
    order = [call.layer for call in log]
    want = list(range(len(_LAYER_NAMES)))[::-1]
    if partial:
        if not log:
            return
        want = want[:len(order)]
    _order_named(order, want, who, text, partial)
    if not np.allclose(log[0].dout, 1.0):
        _fail(f"{who} started the backward pass with dloss = {_short(log[0].dout)} on"
              f" {text}", "the derivative of the loss with respect to itself is 1",
              "wrong_start")
    _douts_named(log, who, text)


def _order_named(order, want, who, text, partial):
    """Name a backward pass whose layers (``order``, indices into
    ``_LAYER_NAMES``) are not ``want``: a layer twice, one left out, the loop
    stopped early, the layers not in reverse."""
    if sorted(order) != sorted(set(order)):
        twice = [i for i in set(order) if order.count(i) > 1]
        _fail(f"{who} ran the backward of {_LAYER_NAMES[twice[0]]}"
              f" {order.count(twice[0])} times on {text}",
              "one backward call per layer, per pass", "called_twice")
    missing = [i for i in want if i not in order]
    if missing and not partial and order and order == want[:len(order)]:
        ran = " and ".join(_LAYER_NAMES[i] for i in order)
        short = len(want) - len(order) == 1   # a range whose end is 0 stops at 1
        _fail(f"{who} ran the backward of {ran} only, then stopped, on {text}: the"
              f" loop ended after {len(order)} of the {len(want)} layers"
              + (" (a `return` inside the loop ends it on its first pass)"
                 if len(order) == 1 else f": only {_LAYER_NAMES[want[-1]]}, at"
                 " index 0, never ran (a walk back that stops one short: a range"
                 " never reaches its end value)" if short else ""),
              "every layer on the way from the loss back to the input takes part,"
              " the one at index 0 too" if short else "every layer on the way from"
              " the loss back to the input takes part: the function returns once"
              " the loop has run to the end", "loop_stopped_early")
    if missing and not partial:
        _fail(f"{who} never ran the backward of {_LAYER_NAMES[missing[0]]} on {text}",
              "every layer on the way from the loss back to the input takes part",
              "skipped_layer")
    skipped = [i for i in range(len(_LAYER_NAMES) - 1, order[-1], -1)
               if i not in order] if order else []
    if skipped and order == sorted(order, reverse=True) \
            and all(i in (1, 3, 4) for i in skipped):
        _fail(f"{who} goes back from the loss in the right order but never runs the"
              f" backward of {' and '.join(_LAYER_NAMES[i] for i in skipped)} (on"
              f" {text}): the layers without parameters are left out",
              "every layer on the way back passes the upstream gradient on through"
              " its own backward, with parameters or without", "skipped_layer")
    if order != want:
        k = next(i for i, (a, b) in enumerate(zip(order, want)) if a != b)
        step = "first" if k == 0 else f"call {k + 1}"
        _fail(f"{who} ran the backward of {_LAYER_NAMES[order[k]]} as its {step},"
              f" where the backward of {_LAYER_NAMES[want[k]]} comes (on {text})",
              "the backward pass starts at the loss and ends at the first layer",
              "not_reversed")


def _douts_named(log, who, text):
    """Name a dout that is not what the layer after it sent back."""
    for before, call in zip(log, log[1:]):
        sent, i, got = before.sent, call.layer, call.dout
        if sent is None:
            break
        sent = np.asarray(sent, dtype=np.float64)
        if np.shape(got) != np.shape(sent) or not np.allclose(got, sent):
            with np.errstate(all="ignore"):
                times = np.shape(got) == np.shape(sent) and np.allclose(
                    got, sent * np.asarray(before.dout, dtype=np.float64))
            if times:
                _fail(f"{who} gave the backward of {_LAYER_NAMES[i]} what the layer"
                      " after it sent back multiplied by the dout that layer"
                      f" received (on {text}): the chain rule applied twice",
                      "a backward returns the gradient already multiplied by its"
                      " upstream gradient: pass it on as it is",
                      "dout_multiplied_again")
            _dout_from_other_result(before.results, got,
                                    np.asarray(before.dout, dtype=np.float64), who,
                                    _LAYER_NAMES[i], text)
            if sent.ndim == 1 and len(sent) and np.shape(got) == () \
                    and np.isclose(float(got), sent[0]):
                _fail(f"{who} gave the backward of {_LAYER_NAMES[i]} one number, the"
                      f" first entry of the array that {_LAYER_NAMES[before.layer]}"
                      f" sent back (on {text}): that array was unpacked as if it"
                      " were a tuple of results", "only a layer with parameters"
                      " returns a tuple (its dx and its parameters' gradients);"
                      " the others return dx alone: tell them apart by the"
                      " layer's names, not by what came back",
                      "array_unpacked_as_results")
            _fail(f"{who} gave the backward of {_LAYER_NAMES[i]} a dout that is not"
                  f" what the layer after it sent back (on {text})",
                  "each backward's first result is the upstream gradient of the"
                  " layer before it: carry it from one step of the loop to the"
                  " next", "dout_not_passed")


def _dout_from_other_result(results, got, received, who, layer, text):
    """Name a dout that is another of the results of the layer after it (its dW
    or db: the results unpacked in another order). A result equal to the dout
    that layer received (one instance's db is its dout) says nothing."""
    with np.errstate(all="ignore"):
        if np.shape(got) == np.shape(received) and np.allclose(got, received):
            also = any(np.shape(r) == np.shape(got) and np.allclose(r, got)
                       for r in results[1:3])   # one instance's db is its dout
            _fail(f"{who} gave the backward of {layer} the same dout that the layer"
                  f" after it received, not what that layer sent back (on {text}):"
                  " the dout is not carried from one step of the loop to the next"
                  + (" (or, as that layer's db equals it, its results were unpacked"
                     " in another order)" if also else ""),
                  "each backward's first result is the upstream gradient of the"
                  " layer before it: carry it on" + (" (a backward with parameters"
                  " returns dx, dW, db, in that order)" if also else ""),
                  "dout_not_passed")
    for k, value in enumerate(results[1:3], start=1):
        try:
            same = np.shape(got) == np.shape(value) and np.allclose(
                got, np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            continue
        if same:
            _fail(f"{who} gave the backward of {layer} the linear layer's"
                  f" {('dW', 'db')[k - 1]} (its result number {k + 1}) as dout, where"
                  f" its first result belongs (on {text}): the results were unpacked"
                  " in another order", "a backward with parameters returns dx, dW,"
                  " db, in that order (the text of Q5a)", "dout_from_other_result")


_RESULT_NAMES = ("dx", "dW", "db")


def _stored_other_result(value, ref, log, who, text):
    """Name a parameter's gradient that is another result of a linear layer's
    backward (its dx, or the other parameter's): names paired with the wrong
    results. ``log``: the :class:`_Recorder` calls (layer index, results)."""
    for k in ref:
        got = np.asarray(value[k], dtype=np.float64)
        for call in log:
            results = call.results or ()
            for r, result in enumerate(results[:3] if len(results) == 3 else ()):
                want = 1 if k.startswith("W") else 2
                if (r != want or not k.endswith(str(1 + call.layer // 2))) \
                        and np.shape(result) == got.shape \
                        and np.allclose(np.asarray(result, dtype=np.float64), got):
                    _fail(f"{who} stored {_LAYER_NAMES[call.layer]}'s"
                          f" {_RESULT_NAMES[r]} (its result number {r + 1}) as the"
                          f" gradient of {k} (on {text}): the parameter names were"
                          " paired with the wrong results", "a backward with"
                          " parameters returns dx first, then one gradient per"
                          " parameter name, in the names' order (the text of Q5a)",
                          "swapped_grads")


def _keyed(value, ref, who, text, log=()):
    if not isinstance(value, Mapping):
        _array(value, f"what {who} returned") if value is None else None
        _fail(f"{who} returned {type(value).__name__}; expected a dict"
              f" {{name: gradient}} with keys {list(ref)}",
              "collect each layer's parameter gradients under its names",
              "wrong_type")
    grouped = [k for k in value if isinstance(k, tuple) and set(k) <= set(ref)]
    if grouped:
        _fail(f"{who} returned a dict keyed by whole name lists such as"
              f" {grouped[0]!r} (on {text}): a layer's gradients sit together"
              " under its tuple of names, not each under its own name",
              "one entry per parameter: pair each name of the layer with its"
              " gradient", "names_tuple_as_key")
    if value and set(value) < set(ref) and log and log[-1].layer == 0 \
            and set(value) == {"W1", "b1"}:
        _fail(f"{who} returned only {sorted(value)}, the gradients of the layer"
              f" its loop visits last (on {text}): each layer's entries replaced"
              " the ones before", "make the dict once, before the loop, and add"
              " each layer's entries to it", "grads_remade_per_layer")
    if set(value) != set(ref):
        missing = [k for k in ref if k not in value]
        _fail(f"{who} returned keys {sorted(value, key=str)}; expected {sorted(ref)}"
              f" (on {text}){_misfiled(value, ref, missing)}",
              "one entry per parameter, under the names the layers list carries",
              "wrong_keys")
    out = {}
    for k in ref:
        arr = _array(value[k], f"{who}'s gradient of {k}")
        if arr.shape != ref[k].shape:
            _stored_other_result(value, ref, log, who, text)
            swapped = [j for j in ref if ref[j].shape == arr.shape]
            _fail(f"{who}'s gradient of {k} has shape {arr.shape}, the shape of"
                  f" {swapped[0] if swapped else 'no parameter'} (on {text})",
                  "a layer's gradients come back in the order of its parameter"
                  " names: pair them up in that order", "swapped_grads")
        out[k] = arr
    return out


# --------------------------------------------------------------------------
# The workbook: a training loop on the student's layers that meets nan or inf
# --------------------------------------------------------------------------


def stop_if_layer_not_finite(layers, params, x, values, where):
    """Stop a training cell when ``values`` (the step's loss and gradients, a
    dict) hold nan or inf, naming the student's function that made them.

    ``layers``: the ``(forward, backward, names)`` rows of the step, ``params``
    and ``x`` its inputs. The step is re-run one layer at a time on copies: the
    first forward, then the first backward (from the loss back), whose result
    is not finite is named; if every layer is finite, ``run_backward`` is.
    Raises :class:`~coursenet.exercises.NotFinite`, which
    :class:`~coursenet.exercises.needs_your_code` reports in one line.
    """
    if all(np.all(np.isfinite(_floats(v))) for v in values.values()):
        return
    try:
        with np.errstate(all="ignore"):
            culprit, note = _first_not_finite(layers, params, x)
    except _Raised as raised:  # a layer raised on this step's values: name it
        raise NotFinite(f"the gradients went nan or inf {where}, and your"
                        f" `{raised.name}` raised {raised.kind} when that step"
                        " was re-run layer by layer") from None
    raise NotFinite(f"your `{culprit}` returned nan or inf {where}{note}")


def _floats(value):
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return np.array(np.nan)


class _Raised(Exception):
    def __init__(self, name, kind):
        super().__init__(name)
        self.name, self.kind = name, kind


def _quietly(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - the student's layer: the culprit
        raise _Raised(_name(fn, "a layer function"), type(exc).__name__) from None


def _first_not_finite(layers, params, x):
    """The name of the first layer function whose result is not finite, and a
    note on its input."""
    out, caches = np.array(x, copy=True), []   # its dtype: float32 overflows sooner
    for forward, _, names in layers:
        out, cache = _quietly(forward, out,
                              *(np.array(params[n], copy=True) for n in names))
        caches.append(cache)
        if not np.all(np.isfinite(_floats(out))):
            name, inner = _name(forward, "forward"), sorted(_calls(forward, 1))
            return name, (f" (the layer's `{name}` calls `{'`, `'.join(inner)}`)"
                          if inner and name == "forward" else "")
    dout = 1.0
    for (_, backward, names), cache in zip(reversed(layers), reversed(caches)):
        result = _quietly(backward, dout, cache)
        parts = list(result) if names else [result]
        if not all(np.all(np.isfinite(_floats(p))) for p in parts):
            held = cache if isinstance(cache, (tuple, list)) else [cache]
            zero = any(np.any(_floats(a) == 0) for a in held)
            return _name(backward, "backward"), (
                " (its cache holds an exact 0, such as a probability that"
                " underflowed: the values went wrong before this step)"
                if zero else "")
        dout = parts[0]
    return "run_backward", ""


def _keeps_state(fn, who, case):
    """Fail when two calls with the same layers and caches disagree (or the
    second fails): the function keeps something from an earlier call."""
    text, d = case
    found, given = [], []
    for _ in range(2):
        params = _copy_params(d["params"])
        rows = reference_layers(params, int(d["y"][0]), [])
        _, caches = _reference_forward(rows, params, d["X"][0].copy())
        _give_caches(rows, caches)
        try:
            value = _call(fn, (rows, caches), who, text, may_change=(0,))
            found.append({k: np.array(v, dtype=np.float64) for k, v in value.items()})
            given.append(value)
        except (_Stop, AttributeError, TypeError, ValueError):
            found.append(None)
    if found[0] is None and found[1] is None:
        return
    if len(given) == 2 and given[0] is given[1]:
        _fail(f"{who} returns the very same dict on two calls ({text}): a"
              " container made once, when the def ran (a default argument) or at"
              " module level, so each call writes over the result an earlier call"
              " returned", "make the dict the function fills inside the call:"
              " each call returns its own", "keeps_state")
    if found[0] is None or found[1] is None or set(found[0]) != set(found[1]) or \
            not all(np.shape(found[0][k]) == np.shape(found[1][k])
                    and _same(found[0][k], found[1][k]) for k in found[0]):
        _fail(f"{who} gives other gradients when it is called twice with the same"
              f" layers and caches ({text}): it keeps something from an earlier"
              " call", "make every container the function fills inside the call:"
              " one made once (at module level, or as a default argument) keeps"
              " the gradients of every earlier call", "keeps_state")
