"""Checks for notebook 03 (Q4): one SGD step, in place."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from coursenet import mlp
from coursenet.exercises._core import (
    Mistake,
    _array,
    _call,
    _Case,
    _fail,
    _match,
    _name,
    _need_function,
    _run,
    _same,
    _Stop,
    _worst,
)
from coursenet.exercises._networks import (
    _SCALAR_KEYS,
    _as_lists,
    _course_params,
    _random_params,
    _renamed,
)

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
            " the loss", "step against the gradient: subtract lr times it",
            lambda d: _stepped(d, d["lr"], d["lr"], sign=1.0)),
    Mistake("skips_biases", "the weights W and V are updated, the biases b and c"
            " are not", "update every parameter: the biases too",
            lambda d: _stepped(d, d["lr"], 0.0)),
    Mistake("skips_weights", "the biases b and c are updated, the weights W and V"
            " are not", "update every parameter: the weights W and V (lists of"
            " lists: a loop over rows, then over entries)",
            lambda d: _stepped(d, 0.0, d["lr"])),
    Mistake("lr_squared", "the step is lr² * dp: the learning rate is applied twice",
            "multiply by lr once",
            lambda d: _stepped(d, d["lr"] ** 2, d["lr"] ** 2)),
    Mistake("no_lr", "the step is p - dp: the learning rate is missing",
            "scale every step by the learning rate", lambda d: _stepped(d)),
    Mistake("divides_lr", "the step is p - dp / lr: it divides by the learning rate",
            "multiply by the learning rate; do not divide by it",
            lambda d: _stepped(d, 1 / d["lr"], 1 / d["lr"])),
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
            returned.append(_call(fn, (params, grads, d["lr"]), who, text,
                                  may_change=(0,)))
            outs.append(_read_params(params, before, who))
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {who}: every weight and bias steps against its gradient,"
                    f" in place, right on {len(cases)} cases")
        if all(_same(o, b) for o, b in zip(outs, befores)):
            if all(_converts_to(r, ref) for r, ref in zip(returned, refs)):
                _fail(f"{who} returns the updated parameters but leaves params"
                      " unchanged: the training loop ignores the return value",
                      "update params in place: change the numbers inside its"
                      " lists, which the loop keeps using",
                      "returns_new_params")
            if _copies(fn):
                _fail(f"params did not change after {who}: it updates a copy",
                      "copy.deepcopy(params) (or .copy(), or list(row)) makes new"
                      " lists; the step then changes those, and the caller's params"
                      " stay as they were. Update the lists inside params itself",
                      "updates_a_copy")
            _fail(f"params did not change after {who}",
                  "a loop variable over a list of floats is a name for one number,"
                  " not a place in the list: changing it leaves the list as it was;"
                  " write into the list itself, by index", "unchanged")
        _match(outs, datas, _SGD_MISTAKES)
        wrong = [k for k in refs[0] if not all(_same(o[k], r[k])
                                               for o, r in zip(outs, refs))]
        still = [k for k in wrong if all(_same(o[k], b[k])
                                         for o, b in zip(outs, befores))]
        if still and still == wrong:
            _fail(f"{', '.join(still)} did not change after {who}; the other"
                  " parameters are right", "update every parameter: W, b, V and"
                  " c", "skips_some")
        factors = {}
        for key in wrong:
            step = np.concatenate([(o[key] - b[key]).ravel()
                                   for o, b in zip(outs, befores)])
            want = np.concatenate([(r[key] - b[key]).ravel()
                                   for r, b in zip(refs, befores)])
            factor = float(step @ want / (want @ want))
            if not _same(step, factor * want):
                break
            factors[key] = factor
        if factors and len(factors) == len(wrong) and len(wrong) < len(refs[0]):
            said = ", ".join(f"{k} moves {f:.3g} times" for k, f in factors.items())
            _fail(f"{said} the right step (lr times its gradient, against it); the"
                  " other parameters are right", "look at the lines that update"
                  f" {', '.join(factors)}: a factor or a sign differs there",
                  "step_scaled")
        steps = [(o[k] - b[k]).ravel() for o, b in zip(outs, befores) for k in b]
        right = [(r[k] - b[k]).ravel() for r, b in zip(refs, befores) for k in b]
        step, want = np.concatenate(steps), np.concatenate(right)
        factor = float(step @ want / (want @ want))
        if _same(step, factor * want):
            _fail(f"every step is {factor:.3g} times lr times the gradient",
                  "look for a constant factor in the step", "step_scaled")
        worst = _worst(outs, refs, [t for t, _ in cases])
        _fail(f"after the step, {', '.join(wrong)} are not p - lr * dp: {worst}",
              "every entry of every parameter takes one step of lr times its own"
              " gradient, against it")

    return _run(body)


def _names_used(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names_used(const)
    return names


def _copies(fn):
    """Whether ``fn``'s code calls something named like a copy."""
    code = getattr(fn, "__code__", None)
    return code is not None and bool(
        _names_used(code) & {"deepcopy", "copy"})


def _converts_to(value, ref):
    try:
        return _same(_read_params(value, ref, "the step"), ref) \
            if isinstance(value, Mapping) else False
    except _Stop:
        return False
