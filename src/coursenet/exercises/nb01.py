"""Checks for notebook 01 (Q1, Q2): dl/dy, the softmax Jacobian, dl/do."""

from __future__ import annotations

import numpy as np

from coursenet import gradcheck, losses, scalar
from coursenet.exercises._core import (
    Mistake,
    _array,
    _call,
    _Case,
    _fail,
    _finite,
    _match,
    _name,
    _need_function,
    _onehot,
    _referee,
    _run,
    _same,
    _softmax,
    _vector,
    _worst,
)

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
