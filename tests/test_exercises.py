"""The exercise checks: right answers in any style pass, each known mistake is named.

Every wrong implementation here is written independently of the tables in
``coursenet.exercises`` (loops for the scalar network, numpy for the rest), the
way a student would write it.
"""

import math
import random

import numpy as np
import pytest

from coursenet import exercises, losses, mlp, scalar

# --------------------------------------------------------------------------
# Small helpers written for the tests
# --------------------------------------------------------------------------


def softmax(o):
    o = np.asarray(o, dtype=float)
    e = np.exp(o - o.max())
    return e / e.sum()


def naive_softmax(o):
    e = np.exp(o)
    return e / e.sum()


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


@pytest.fixture(autouse=True)
def only_result_lines(capsys):
    """A check prints nothing but its one-line messages."""
    yield
    for line in capsys.readouterr().out.splitlines():
        assert line.startswith(("✓", "✗", "…")), line


def assert_passed(result):
    assert result.passed, result.message
    assert result.message.startswith("✓")
    assert bool(result)


def assert_diagnosed(result, mistake, *words):
    assert not result.passed and not result, result.message
    assert result.message.startswith("✗"), result.message
    assert "Hint:" in result.message
    assert result.mistake == mistake, result.message
    for word in words:
        assert word in result.message, (word, result.message)


# --------------------------------------------------------------------------
# The result object
# --------------------------------------------------------------------------


def test_result_prints_one_line_and_displays_nothing(capsys):
    result = exercises.check_loss_grad(lambda y, c: -np.eye(len(y))[c] / y[c])
    out = capsys.readouterr().out
    assert out == result.message + "\n"
    assert out.startswith("✓") and out.count("\n") == 1
    assert result.passed is True and bool(result) and result.status == "passed"
    assert result._ipython_display_() is None
    assert capsys.readouterr().out == ""  # displaying the result shows nothing more
    assert "passed" in repr(result) and result.message in repr(result)


def test_a_failed_result_is_falsy():
    result = exercises.check_loss_grad(lambda y, c: -1 / y)
    assert not result and result.passed is False and result.status == "failed"


# --------------------------------------------------------------------------
# Q1: dl/dy
# --------------------------------------------------------------------------


def loss_grad_loops(y, c):
    g = [0.0] * len(y)
    for i in range(len(y)):
        if i == c:
            g[i] = -1.0 / y[i]
    return g


def loss_grad_vectorised(y, c):
    g = np.zeros_like(y)
    g[c] = -1 / y[c]
    return g


def loss_grad_row(y, c):
    return loss_grad_vectorised(y, c)[None, :]  # (1, C): an extra axis


def loss_grad_column(y, c):
    return loss_grad_vectorised(y, c)[:, None]  # (C, 1)


def loss_grad_tuple(y, c):
    return tuple(loss_grad_loops(list(y), int(c)))


def loss_grad_spoils_its_input(y, c):
    g = loss_grad_vectorised(y, c)
    y[:] = 0.0  # writes into its argument: later cells would see zeros
    return g


def test_loss_grad_that_writes_into_y_is_named():
    assert_diagnosed(exercises.check_loss_grad(loss_grad_spoils_its_input),
                     "changed_input", "`y`", "in place", "[0., 0.]")


def loss_grad_fractions(y, c):
    """An object array (Fractions): converts to floats, so it counts."""
    from fractions import Fraction

    g = np.array([Fraction(0)] * len(y), dtype=object)
    g[c] = Fraction(-1.0 / y[c])
    return g


@pytest.mark.parametrize("fn", [loss_grad_vectorised, loss_grad_fractions])
def test_loss_grad_right_in_any_style(fn):
    assert_passed(exercises.check_loss_grad(fn))


@pytest.mark.parametrize("fn", [loss_grad_loops, loss_grad_tuple])
def test_loss_grad_right_numbers_in_a_list_are_named(fn):
    """The stub promises an array: the notebook's next cell negates it and
    multiplies it by J, which a list or tuple does not support."""
    assert_diagnosed(exercises.check_loss_grad(fn), "not_an_array",
                     "the stub promises a numpy array", "would stop with a traceback")


@pytest.mark.parametrize("fn", [loss_grad_row, loss_grad_column])
def test_a_row_or_column_where_a_vector_is_asked_fails_and_says_why(fn):
    """A (1, C) or (C, 1) result would broadcast into (C, C) later, silently."""
    result = exercises.check_loss_grad(fn)
    assert result.mistake == "extra_axis", result.message
    assert "broadcasts" in result.message and "(2, 2) matrix" in result.message


def onehot(c, n):
    return np.eye(len(n) if hasattr(n, "__len__") else n)[c]


LOSS_GRAD_MISTAKES = [
    (lambda y, c: -1 / y, "every_class", ["-1/y_i for every class"]),
    (lambda y, c: onehot(c, y) / y[c], "flipped_sign", ["wrong sign"]),
    (lambda y, c: -onehot(c, y) * y[c], "minus_y", ["-y_c", "a rate of -2"]),
    (lambda y, c: [-v for v in y], "minus_y", ["-y_i for every class"]),
    (lambda y, c: -onehot(c, y) * np.log(y[c]), "loss_value", ["the loss itself"]),
    (lambda y, c: y - onehot(c, y), "logit_grad",
     ["not how the loss changes with each probability"]),
    (lambda y, c: loss_grad_vectorised(y, c) + 0.1 * (1 - onehot(c, y)),
     "nonzero_elsewhere", ["non-zero for some i ≠ c"]),
    (lambda y, c: loss_grad_vectorised(y, c) * 1.5, "scaled",
     ["1.5 times the right one", "constant factor"]),
    (lambda y, c: loss_grad_vectorised(y, c) * (1 + 0.2 * np.arange(len(y))),
     "wrong_inside", ["right in the entries i ≠ c and wrong in the entry at c"]),
    (lambda y, c: loss_grad_vectorised(y, c) * (1 + 0.2 * np.arange(len(y)))
     + 0.1 * (np.arange(len(y)) != c), None,
     ["does not match the reference", "max abs diff", "dl/dy["]),
]


@pytest.mark.parametrize("fn, mistake, words", LOSS_GRAD_MISTAKES)
def test_loss_grad_mistakes_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_loss_grad(fn), mistake, *words)


# --------------------------------------------------------------------------
# Q1: the softmax Jacobian
# --------------------------------------------------------------------------


def jacobian_numpy(y):
    return np.diag(y) - np.outer(y, y)


def jacobian_loops(y):
    y = list(y)
    return [[y[i] * (1 - y[i]) if i == j else -y[i] * y[j] for j in range(len(y))]
            for i in range(len(y))]


def jacobian_package(y):
    return losses.softmax_jacobian(np.asarray(y)[None])[0]


def jacobian_float32(y):
    return jacobian_numpy(np.asarray(y, dtype=np.float32))


@pytest.mark.parametrize("fn", [jacobian_numpy, jacobian_package])
def test_jacobian_right_in_any_style(fn):
    assert_passed(exercises.check_softmax_jacobian(fn))


@pytest.mark.parametrize("fn, mistake, words", [
    (jacobian_loops, "not_an_array", ["is a list", "transpose"]),
    (jacobian_float32, "low_precision", ["float32", "1e-11"])])
def test_jacobian_right_numbers_not_as_promised_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_softmax_jacobian(fn), mistake, *words)


def jacobian_offdiagonal_plus(y):
    J = [[y[i] * (1 - y[i]) if i == j else y[i] * y[j] for j in range(len(y))]
         for i in range(len(y))]
    return J


JACOBIAN_MISTAKES = [
    (lambda y: np.eye(len(y)) - y[None, :], "log_softmax_jacobian",
     ["Jacobian of log y"]),
    (lambda y: np.triu(np.diag(y) - np.outer(y, y)), "one_triangle",
     ["right on and above the diagonal and 0 below"]),
    (lambda y: np.tril(np.diag(y) - np.outer(y, y)), "one_triangle",
     ["right on and below the diagonal and 0 above"]),
    (lambda y: np.diag(y * (1 - y)), "diagonal_only", ["only the diagonal", "scalar"]),
    (lambda y: np.outer(y, 1 - y), "one_minus_everywhere",
     ["y_i(1 - y_j) in every entry"]),
    (lambda y: np.outer(1 - y, y), "one_minus_everywhere", ["in every entry"]),
    (jacobian_offdiagonal_plus, "offdiagonal_sign", ["off-diagonal", "wrong sign"]),
    (lambda y: -jacobian_numpy(y), "flipped_sign", ["wrong sign"]),
    (lambda y: -np.outer(y, y), "outer_only", ["diagonal misses"]),
    (lambda y: np.diag(y), "diag_y", ["off the diagonal are 0",
                                               "finite differences give"]),
    (lambda y: jacobian_numpy(softmax(y)), "softmax_again", ["softmax(y)"]),
    (lambda y: y * (1 - y), "elementwise", ["vector y(1 - y)", "full"]),
    (lambda y: jacobian_package(y)[None], "extra_axis", ["shape (1, 2, 2)"]),
    (lambda y: jacobian_numpy(y) + 0.01, None, ["does not match", "at J["]),
]


@pytest.mark.parametrize("fn, mistake, words", JACOBIAN_MISTAKES)
def test_jacobian_mistakes_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_softmax_jacobian(fn), mistake, *words)


# --------------------------------------------------------------------------
# Q2: dl/do
# --------------------------------------------------------------------------


def logit_grad_stable(o, c):
    g = softmax(o)
    g[c] -= 1
    return g


def logit_grad_loops(o, c):
    top = max(o)
    e = [math.exp(v - top) for v in o]
    return [v / sum(e) - (1.0 if i == c else 0.0) for i, v in enumerate(e)]


def logit_grad_via_jacobian(o, c):
    """Q1's two pieces composed, with a shifted softmax."""
    y = softmax(o)
    if y[c] < 1e-12:  # -1/y_c would overflow: the simplified form
        return y - np.eye(len(y))[c]
    dy = np.zeros_like(y)
    dy[c] = -1 / y[c]
    return jacobian_numpy(y).T @ dy


@pytest.mark.parametrize("fn", [logit_grad_stable, logit_grad_loops,
                                logit_grad_via_jacobian])
def test_logit_grad_right_in_any_style(fn):
    """A list is fine here: no later cell needs dl/do to be an array."""
    assert_passed(exercises.check_logit_grad(fn))


def logit_grad_naive(o, c):
    g = naive_softmax(o)
    g[c] -= 1
    return g


def logit_grad_one_before_division(o, c):
    e = np.exp(np.asarray(o, dtype=float) - np.max(o))
    total = e.sum()
    e[c] -= 1
    return e / total


def logit_grad_one_before_division_unshifted(o, c):
    e = np.exp(np.asarray(o, dtype=float))
    total = e.sum()
    e[c] -= 1
    return e / total


LOGIT_GRAD_MISTAKES = [
    (lambda o, c: -logit_grad_stable(o, c), "flipped_sign", ["wrong sign"]),
    (lambda o, c: o - onehot(c, o), "no_softmax", ["softmax is missing"]),
    (lambda o, c: softmax(o), "no_onehot", ["not treated differently",
                                            "sums to 1"]),
    (lambda o, c: (softmax(o) - 1) * onehot(c, o), "diagonal_only",
     ["elementwise", "Jacobian"]),
    (lambda o, c: jacobian_numpy(softmax(o)).T @ (-1 / softmax(o)), "every_class",
     ["-1/y_i for every class"]),
    (lambda o, c: softmax(o) - (onehot(c, o) if c else 0), "if_target",
     ["class 0", "`if c:`"]),
    (logit_grad_one_before_division, "one_before_division",
     ["before the division", "softmax itself is right"]),
    (logit_grad_one_before_division_unshifted, "one_before_division",
     ["before the division"]),
    (logit_grad_naive, "overflow", ["[0, 1000]", "overflows",
                                    "no exponent is positive"]),
    (lambda o, c: np.nan_to_num(logit_grad_naive(o, c)), "large_logits",
     ["right for moderate logits", "[0, 1000]"]),
]


@pytest.mark.parametrize("fn, mistake, words", LOGIT_GRAD_MISTAKES)
def test_logit_grad_mistakes_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_logit_grad(fn), mistake, *words)


# --------------------------------------------------------------------------
# Q3: the scalar network (written with loops, as the lesson asks)
# --------------------------------------------------------------------------


def forward_loops(params, x, target):
    assert isinstance(params["W"], list) and isinstance(params["W"][0], list)
    assert isinstance(x, list) and type(target) is int  # plain Python in Q3
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    k = [b[j] + sum(x[i] * W[i][j] for i in range(len(x))) for j in range(len(b))]
    h = [sigmoid(v) for v in k]
    o = [c[m] + sum(h[j] * V[j][m] for j in range(len(h))) for m in range(len(c))]
    e = [math.exp(v - max(o)) for v in o]
    y = [v / sum(e) for v in e]
    return -math.log(y[target]), {"x": x, "k": k, "h": h, "o": o, "y": y,
                                  "target": target}


def make_backward(output="right", hidden="right", layer2="h", zero_first=False,
                  scale=1.0, wrong_class=False, dW_without_sigmoid=False):
    """A loop-style backward with the mistakes a student makes, one switch each."""

    def backward(params, cache):
        x, k, h, y, t = (cache[n] for n in ("x", "k", "h", "y", "target"))
        C = len(y)
        if wrong_class:
            t = (t + 1) % C
        if output == "right":
            do = [y[m] - (1.0 if m == t else 0.0) for m in range(C)]
        elif output == "flipped":
            do = [(1.0 if m == t else 0.0) - y[m] for m in range(C)]
        elif output == "no_softmax":
            do = [cache["o"][m] - (1.0 if m == t else 0.0) for m in range(C)]
        elif output == "no_onehot":
            do = list(y)
        else:  # through Q1's dl/dy and the (possibly scalar) softmax derivative
            if output == "if_target":  # the real student's branch
                dy = [-1 / y[i] if (t and i == t) else 0.0 for i in range(C)]
            elif output == "every_class":
                dy = [-1 / y[i] for i in range(C)]
            elif output == "every_class_if_target":
                dy = [-1 / y[i] if t else 0.0 for i in range(C)]
            else:  # "diagonal"
                dy = [-1 / y[i] if i == t else 0.0 for i in range(C)]
            if output == "diagonal":
                do = [dy[i] * y[i] * (1 - y[i]) for i in range(C)]
            else:
                do = [sum(dy[i] * (y[i] * (1 - y[i]) if i == j else -y[i] * y[j])
                          for i in range(C)) for j in range(C)]
                if output == "if_target" and not t:
                    do = list(y)  # `if target:` false: class 0 gets no -1
        do = [scale * v for v in do]
        a = h if layer2 == "h" else k
        dV = [[a[j] * do[m] for m in range(C)] for j in range(len(h))]
        dh = [sum(params["V"][j][m] * do[m] for m in range(C)) for j in range(len(h))]
        local = {"right": [v * (1 - v) for v in h],
                 "from_k": [v * (1 - v) for v in k],
                 "twice": [sigmoid(v) * (1 - sigmoid(v)) for v in h],
                 "none": [1.0] * len(h)}[hidden]
        dk = [dh[j] * local[j] for j in range(len(h))]
        if zero_first:
            dk = [0.0] * len(h)
        dW = [[x[i] * (dh[j] if dW_without_sigmoid else dk[j]) for j in range(len(h))]
              for i in range(len(x))]
        return {"W": dW, "b": dk, "V": dV, "c": do}

    return backward


def forward_numpy_inside(params, x, target):
    """numpy arrays inside and in the cache dict, a numpy float out."""
    W, b, V, c = (np.array(params[n]) for n in "WbVc")
    k = np.asarray(x) @ W + b
    h = 1 / (1 + np.exp(-k))
    o = h @ V + c
    y = softmax(o)
    return np.float64(-np.log(y[target])), {"x": np.asarray(x), "k": k, "h": h,
                                            "o": o, "y": y, "target": target}


def backward_numpy_tuples(params, cache):
    """Returns tuples instead of lists."""
    x, h, y, target = (cache[key] for key in ("x", "h", "y", "target"))
    do = y - np.eye(len(y))[target]
    dh = np.array(params["V"]) @ do
    dk = dh * h * (1 - h)
    return {"W": tuple(map(tuple, np.outer(x, dk))), "b": tuple(dk),
            "V": tuple(map(tuple, np.outer(h, do))), "c": tuple(do)}


@pytest.mark.parametrize("forward, backward", [
    (forward_loops, make_backward()),
    (scalar.forward, scalar.backward),
    (forward_numpy_inside, backward_numpy_tuples),
    (forward_numpy_inside, lambda params, cache: {
        k: np.asarray(v).tolist() for k, v in backward_numpy_tuples(
            params, cache).items()}),
])
def test_scalar_network_right_in_any_style(forward, backward):
    assert_passed(exercises.check_backward(forward, backward))


def test_scalar_network_names_a_backward_that_writes_into_params():
    def backward(params, cache):
        grads = scalar.backward(params, cache)
        params["V"][0][0] = 1e9  # writes into its argument
        return grads

    assert_diagnosed(exercises.check_backward(scalar.forward, backward),
                     "changed_input", "`params`", "['V']", "in place")


SCALAR_MISTAKES = [
    (make_backward("flipped"), "flipped_sign", ["wrong sign"]),
    (make_backward("if_target"), "if_target", ["`if target:`", "class 0"]),
    (make_backward("every_class"), "every_class", ["-1/y_i for every class"]),
    (make_backward("every_class_if_target"), "every_class_if_target",
     ["-1/y_i for every class AND", "`if target:`"]),
    (make_backward("no_softmax"), "no_softmax", ["softmax is missing"]),
    (make_backward("no_onehot"), "no_onehot", ["-1 at the target"]),
    (make_backward("diagonal"), "diagonal_only", ["elementwise", "Jacobian"]),
    (make_backward(hidden="from_k"), "sigmoid_from_k",
     ["passes the course's example, fails on an asymmetric network: check the"
      " first layer", "k(1 - k)"]),
    (make_backward(hidden="twice"), "sigmoid_twice",
     ["check the first layer", "sigmoid(h)(1 - sigmoid(h))"]),
    (make_backward(hidden="none"), "no_sigmoid_derivative",
     ["check the first layer", "derivative is missing"]),
    (make_backward("if_target", hidden="from_k"), "if_target+sigmoid_from_k",
     ["`if target:`", "k(1 - k)"]),
    (make_backward(dW_without_sigmoid=True), "dW_from_dh",
     ["one step at a time", "dl/dk is right, dW is built from dl/dh"]),
    (make_backward(zero_first=True), "first_layer",
     ["passes the course's example, fails on an asymmetric network", "(W, b)"]),
    (make_backward(wrong_class=True), "wrong_class", ["wrong class", "class 1"]),
    (make_backward(layer2="k"), "explained", ["dV", "the pre-activations k"]),
    (make_backward(scale=2.0), "scaled", ["2 times"]),
]


@pytest.mark.parametrize("backward, mistake, words", SCALAR_MISTAKES)
def test_scalar_network_mistakes_are_named(backward, mistake, words):
    result = exercises.check_backward(forward_loops, backward)
    assert_diagnosed(result, mistake, *words)


def forward_with_loss(loss_of):
    def forward(params, x, target):
        _, cache = forward_loops(params, x, target)
        return loss_of(cache["o"], cache["y"], target), cache

    return forward


SCALAR_LOSS_MISTAKES = [
    (lambda o, y, t: math.log(y[t]), "loss_sign", ["wrong sign"]),
    (lambda o, y, t: -math.log10(y[t]), "loss_log_base", ["log10"]),
    (lambda o, y, t: -o[t], "loss_no_softmax", ["softmax is missing"]),
    (lambda o, y, t: 1 - y[t], "loss_no_log", ["log is missing"]),
    (lambda o, y, t: -sum(math.log(v) for v in y), "loss_all_classes",
     ["every class"]),
    (lambda o, y, t: -math.log(y[t]) + 0.1, "loss", ["the loss from forward is"]),
]


@pytest.mark.parametrize("loss_of, mistake, words", SCALAR_LOSS_MISTAKES)
def test_scalar_loss_mistakes_are_named(loss_of, mistake, words):
    result = exercises.check_backward(forward_with_loss(loss_of),
                                            make_backward())
    assert_diagnosed(result, mistake, *words)


SCALAR_SHAPE_MISTAKES = [
    (lambda g: {**g, "V": np.array(g["V"]).T.tolist()}, "wrong_shape",
     ["transposed", "(2, 3)"]),
    (lambda g: {k: v for k, v in g.items() if k != "c"}, "wrong_keys",
     ["missing ['c']"]),
    (lambda g: {**g, "extra": 0.0}, "wrong_keys", ["unexpected ['extra']"]),
    (lambda g: (g["W"], g["b"], g["V"], g["c"]), "wrong_type",
     ["a tuple of 4", "dict"]),
    (lambda g: {**g, "b": [g["b"], [1.0]]}, "wrong_type",
     ["not a rectangular array", "['b']"]),
    (lambda g: None, "returned_none", ["None", "`return`"]),
]


@pytest.mark.parametrize("change, mistake, words", SCALAR_SHAPE_MISTAKES)
def test_scalar_network_shapes_and_keys_are_named(change, mistake, words):
    def backward(params, cache):
        return change(make_backward()(params, cache))

    result = exercises.check_backward(forward_loops, backward)
    assert_diagnosed(result, mistake, *words)


# --------------------------------------------------------------------------
# Q4: the SGD step
# --------------------------------------------------------------------------


def sgd_loops(params, grads, lr):
    for name in ("W", "V"):
        for row, grow in zip(params[name], grads[name]):
            for j in range(len(row)):
                row[j] -= lr * grow[j]
    for name in ("b", "c"):
        for j in range(len(params[name])):
            params[name][j] -= lr * grads[name][j]


def sgd_rebinds_values(params, grads, lr):
    for name in params:  # new lists under the same keys: params itself changes
        params[name] = (np.array(params[name]) - lr * np.array(grads[name])).tolist()
    return params


def sgd_numpy_values(params, grads, lr):
    for name in params:
        params[name] = np.asarray(params[name]) - lr * np.asarray(grads[name])


@pytest.mark.parametrize("fn", [sgd_loops, sgd_rebinds_values, sgd_numpy_values,
                                scalar.sgd_step])
def test_sgd_step_right_in_any_style(fn):
    assert_passed(exercises.check_sgd_step(fn))


def sgd_with(weights, biases):
    """``p -= weights(lr) * dp`` for W, V and ``biases(lr)`` for b, c."""

    def step(params, grads, lr):
        for name, scale in (("W", weights), ("V", weights), ("b", biases),
                            ("c", biases)):
            params[name] = (np.array(params[name])
                            - scale(lr) * np.array(grads[name])).tolist()

    return step


def sgd_rebinds_loop_variable(params, grads, lr):
    for name in params:
        for p, g in zip(params[name], grads[name]):
            p = np.asarray(p) - lr * np.asarray(g)  # noqa: F841 (the mistake)


def sgd_returns_new(params, grads, lr):
    return {n: (np.array(params[n]) - lr * np.array(grads[n])).tolist()
            for n in params}


def sgd_first_row_only(params, grads, lr):
    for name in params:
        p = params[name]
        if isinstance(p[0], list):
            p[0] = [a - lr * b for a, b in zip(p[0], grads[name][0])]
        else:
            params[name] = [a - lr * b for a, b in zip(p, grads[name])]


def sgd_biases_by_own_value(params, grads, lr):
    for name in ("W", "V"):
        for row, grad_row in zip(params[name], grads[name]):
            for j, g in enumerate(grad_row):
                row[j] -= lr * g
    for name in ("b", "c"):
        for j, g in enumerate(params[name]):  # the mistake: params, not grads
            params[name][j] -= lr * g


def sgd_over_row_length(params, grads, lr):
    for name in ("W", "V"):
        for row, grad_row in zip(params[name], grads[name]):
            for j, g in enumerate(grad_row):
                row[j] -= lr * g / len(row)
    for name in ("b", "c"):
        for j, g in enumerate(grads[name]):
            params[name][j] -= lr * g


SGD_MISTAKES = [
    (sgd_with(lambda lr: -lr, lambda lr: -lr), "adds_gradient", ["adds"]),
    (sgd_with(lambda lr: lr, lambda lr: 0.0), "skips_biases", ["biases b and c"]),
    (sgd_with(lambda lr: 0.0, lambda lr: lr), "skips_weights", ["weights W and V"]),
    (sgd_with(lambda lr: lr * lr, lambda lr: lr * lr), "lr_squared", ["lr²"]),
    (sgd_with(lambda lr: 1.0, lambda lr: 1.0), "no_lr", ["learning rate is missing"]),
    (sgd_with(lambda lr: 1 / lr, lambda lr: 1 / lr), "divides_lr", ["divides"]),
    (sgd_rebinds_loop_variable, "unchanged", ["did not change", "loop variable"]),
    (sgd_returns_new, "returns_new_params", ["returns the updated parameters",
                                              "in place"]),
    (sgd_first_row_only, "first_row_only", ["first row of W and of V"]),
    (sgd_biases_by_own_value, "steps_by_own_value", ["b, c step by lr times their"
                                                      " own old values"]),
    (sgd_over_row_length, "step_over_row_length", ["W, V move the right step"
                                                    " divided by the length of"
                                                    " their rows"]),
]


@pytest.mark.parametrize("fn, mistake, words", SGD_MISTAKES)
def test_sgd_step_mistakes_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_sgd_step(fn), mistake, *words)


# --------------------------------------------------------------------------
# Q5 and Q6: numpy backward passes (one instance, then a batch)
# --------------------------------------------------------------------------


def make_batched(output="right", hidden="right", reduce="mean", bias="sum",
                 transpose_W2=False, loss="mean", dtype=None):
    """A numpy batched backward with one switch per mistake."""

    def backward(params, X, y):
        W1, b1, W2, b2 = (params[n] for n in ("W1", "b1", "W2", "b2"))
        N, C = len(X), W2.shape[1]
        K = X @ W1 + b1
        H = 1 / (1 + np.exp(-K))
        O = H @ W2 + b2
        P = np.exp(O - O.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        Y = np.eye(C)[y]
        rows = np.arange(N)
        mean_loss = {"mean": lambda: -np.log(P[rows, y]).mean(),
                     "sum": lambda: -np.log(P[rows, y]).sum(),
                     "block": lambda: -np.log(P[:, y]).mean(),
                     "vector": lambda: -np.log(P[rows, y])}[loss]()
        if output == "right":
            dO = P - Y
        elif output == "columns":
            dO = P.copy()
            dO[:, y] -= 1
        elif output == "if_target":
            dO = P - Y * (y != 0)[:, None]
        elif output == "every_class_if_target":  # dl/dy = -1/y everywhere, if t
            dY = -1 / P * (y != 0)[:, None]
            dO = P * (dY - (dY * P).sum(axis=1, keepdims=True))
        dO = dO / {"mean": N, "sum": 1, "twice": N * N}[reduce]
        local = {"right": H * (1 - H), "from_k": K * (1 - K)}[hidden]
        dK = (dO @ W2.T) * local
        grads = {"W1": X.T @ dK, "W2": H.T @ dO,
                 "b1": {"sum": dK.sum(axis=0), "none": dK,
                        "keepdims": dK.sum(axis=0, keepdims=True)}[bias],
                 "b2": dO.sum(axis=0)}
        if transpose_W2:
            grads["W2"] = grads["W2"].T
        if dtype is not None:
            grads = {k: v.astype(dtype) for k, v in grads.items()}
        return mean_loss, grads

    return backward


def batched_first_row_only(params, X, y):
    """The whole batch's loss, but the gradients of X[0] only."""
    return mlp.loss_and_grads(params, X, y)[0], make_batched()(params, X[:1], y[:1])[1]


def batched_einsum(params, X, y):
    W1, b1, W2, b2 = (params[n] for n in ("W1", "b1", "W2", "b2"))
    K = np.einsum("nd,dh->nh", X, W1) + b1
    H = 1 / (1 + np.exp(-K))
    O = np.einsum("nh,hc->nc", H, W2) + b2
    P = np.exp(O - O.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    N = len(y)
    # the explicit Jacobian per row, applied with a batched matmul
    J = np.einsum("ni,ij->nij", P, np.eye(P.shape[1])) - np.einsum("ni,nj->nij", P, P)
    dP = np.zeros_like(P)
    dP[np.arange(N), y] = -1 / (N * P[np.arange(N), y])
    dO = np.einsum("nij,ni->nj", J, dP)
    dK = np.einsum("nc,hc->nh", dO, W2) * H * (1 - H)
    grads = {"W1": np.einsum("nd,nh->dh", X, dK), "b1": np.einsum("nh->h", dK),
             "W2": np.einsum("nh,nc->hc", H, dO), "b2": np.einsum("nc->c", dO)}
    return float(-np.log(P[np.arange(N), y]).mean()), grads


def batched_row_loop(params, X, y):
    """One instance at a time with plain loops, averaged: slow but right."""
    total, grads = 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    for x, t in zip(X, y):
        loss, g = mlp.loss_and_grads(params, x[None], [t])
        total += loss
        for k in grads:
            grads[k] += g[k] / len(X)
    return total / len(X), grads


@pytest.mark.parametrize("fn", [make_batched(), batched_einsum, mlp.loss_and_grads])
def test_batched_backward_right_in_any_style(fn):
    assert_passed(exercises.check_batched_backward(fn))


def test_batched_backward_cast_to_float32_is_named():
    """Right to float32's 7 digits, from float64 params: named, not passed."""
    result = exercises.check_batched_backward(make_batched(dtype=np.float32))
    assert not result.passed and result.mistake == "low_precision", result.message
    assert "float32" in result.message


@pytest.mark.slow  # make check leaves it to make test (pyproject: markers)
def test_batched_backward_right_numbers_from_a_row_loop_are_not_vectorised():
    result = exercises.check_batched_backward(batched_row_loop)
    assert not result.passed and "not vectorised" in result.message


def instance(batched):
    """A batched backward as a one-instance function: fn(params, x, c)."""
    return lambda params, x, c: batched(params, x[None], np.array([c]))[1]


def vector_backward_jacobian(params, x, c):
    """Q5 as the course asks: the softmax Jacobian applied explicitly."""
    k = x @ params["W1"] + params["b1"]
    h = 1 / (1 + np.exp(-k))
    y = softmax(h @ params["W2"] + params["b2"])
    dy = np.zeros_like(y)
    dy[c] = -1 / y[c]
    do = (np.diag(y) - np.outer(y, y)).T @ dy
    dk = params["W2"] @ do * h * (1 - h)
    return {"W1": np.outer(x, dk), "b1": dk, "W2": np.outer(h, do), "b2": do}


def vector_backward_lists(params, x, c):
    g = vector_backward_jacobian(params, x, c)
    return {k: v.tolist() for k, v in g.items()}


@pytest.mark.parametrize("fn", [vector_backward_jacobian, vector_backward_lists,
                                instance(make_batched()), instance(batched_einsum)])
def test_vector_backward_right_in_any_style(fn):
    assert_passed(exercises.check_vector_backward(fn))


def vector_elementwise_softmax(params, x, c):
    k = x @ params["W1"] + params["b1"]
    h = 1 / (1 + np.exp(-k))
    y = softmax(h @ params["W2"] + params["b2"])
    dy = np.zeros_like(y)
    dy[c] = -1 / y[c]
    do = dy * y * (1 - y)  # the scalar derivative where Q5 needs the Jacobian
    dk = params["W2"] @ do * h * (1 - h)
    return {"W1": np.outer(x, dk), "b1": dk, "W2": np.outer(h, do), "b2": do}


VECTOR_MISTAKES = [
    (vector_elementwise_softmax, "diagonal_only", ["elementwise", "Jacobian"]),
    (instance(make_batched(output="if_target")), "if_target", ["`if c:`"]),
    (instance(make_batched(hidden="from_k")), "sigmoid_from_k",
     ["passes the course's example, fails on an asymmetric network: check the"
      " first layer", "k(1 - k)"]),
    (instance(make_batched(bias="keepdims")), "wrong_shape",
     ["b1", "(1, 3)", "extra axis"]),
    (instance(make_batched(transpose_W2=True)), "wrong_shape", ["transposed"]),
    (lambda p, x, c: {"d" + k: v for k, v in vector_backward_jacobian(
        p, x, c).items()}, "wrong_keys", ["name each gradient after its parameter"]),
]


@pytest.mark.parametrize("fn, mistake, words", VECTOR_MISTAKES)
def test_vector_backward_mistakes_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_vector_backward(fn), mistake, *words)


def batched_only_one_row(params, X, y):
    x = X.reshape(-1)  # fails for N > 1
    return mlp.loss_and_grads(params, x[None], y)


BATCHED_MISTAKES = [
    (make_batched(reduce="sum"), "summed", ["N times too large", "not averaged"]),
    (make_batched(reduce="twice"), "divided_twice", ["N times too small"]),
    (make_batched(bias="none"), "wrong_shape", ["b1", "(8, 3)",
                                                 "not summed over the batch"]),
    (make_batched(bias="keepdims"), "wrong_shape", ["extra axis"]),
    (make_batched(transpose_W2=True), "wrong_shape", ["transposed"]),
    (batched_first_row_only, "first_row_only", ["first row only"]),
    (batched_only_one_row, "raised", ["runs on one instance (N = 1) but raised",
                                      "ValueError"]),
    (make_batched(output="columns"), "label_columns", ["every class of the batch"]),
    (make_batched(output="if_target"), "if_target", ["`if c:`"]),
    (make_batched(output="every_class_if_target"), "every_class_if_target",
     ["-1/y_i for every class AND"]),
    (make_batched(output="if_target", reduce="sum"), "if_target+summed",
     ["`if c:`", "N times too large"]),
    (make_batched(loss="sum"), "loss_summed", ["loss is summed"]),
    (make_batched(loss="block"), "loss_block", ["N×N block"]),
    (make_batched(loss="vector"), "per_instance_loss", ["per-instance losses"]),
    (lambda p, X, y: mlp.loss_and_grads(p, X, y)[::-1], "wrong_type",
     ["(grads, loss)"]),
    (lambda p, X, y: mlp.loss_and_grads(p, X, y)[1], "wrong_type",
     ["only the grads dict"]),
]


@pytest.mark.parametrize("fn, mistake, words", BATCHED_MISTAKES)
def test_batched_backward_mistakes_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_batched_backward(fn), mistake, *words)


def test_batched_loss_of_the_first_row_is_named():
    def fn(params, X, y):
        return mlp.loss_and_grads(params, X[:1], y[:1])[0], \
            mlp.loss_and_grads(params, X, y)[1]

    assert_diagnosed(exercises.check_batched_backward(fn), "loss_first_row",
                     "first row only")


def test_batched_loss_of_the_last_row_is_named():
    def fn(params, X, y):
        return mlp.loss_and_grads(params, X[-1:], y[-1:])[0], \
            mlp.loss_and_grads(params, X, y)[1]

    assert_diagnosed(exercises.check_batched_backward(fn), "loss_last_row",
                     "last row only")


# --------------------------------------------------------------------------
# Stubs, hostile functions, global state
# --------------------------------------------------------------------------


def stub(*args):
    raise NotImplementedError()


def good_forward(params, x, target):
    return scalar.forward(params, x, target)


CHECKS = {  # name: (check, the right answer(s), how to put a hostile fn in)
    "loss_grad": (exercises.check_loss_grad, lambda f: (f,)),
    "softmax_jacobian": (exercises.check_softmax_jacobian, lambda f: (f,)),
    "logit_grad": (exercises.check_logit_grad, lambda f: (f,)),
    "scalar_forward": (exercises.check_backward,
                       lambda f: (f, scalar.backward)),
    "scalar_backward": (exercises.check_backward,
                        lambda f: (good_forward, f)),
    "sgd_step": (exercises.check_sgd_step, lambda f: (f,)),
    "vector_backward": (exercises.check_vector_backward, lambda f: (f,)),
    "batched_backward": (exercises.check_batched_backward, lambda f: (f,)),
}


@pytest.mark.parametrize("name", CHECKS)
def test_a_stub_is_not_implemented_yet(name, capsys):
    check, place = CHECKS[name]
    result = check(*place(stub))
    assert result.status == "todo" and not result
    assert result.message.startswith("…") and "not implemented yet" in result.message
    assert capsys.readouterr().out == result.message + "\n"


def test_scalar_network_with_both_stubs_names_forward():
    result = exercises.check_backward(stub, stub)
    assert "not implemented yet" in result.message


def deep_error(*args):
    def helper(value):
        return value / 0

    return helper(1)


HOSTILE = {
    "returns None": lambda *a: None,
    "returns a string": lambda *a: "dl/dy",
    "returns a number": lambda *a: 42,
    "returns NaN": lambda *a: float("nan"),
    "returns an object": lambda *a: object(),
    "returns an empty dict": lambda *a: {},
    "returns a ragged list": lambda *a: [[1.0], [1.0, 2.0]],
    "returns a pair of strings": lambda *a: ("a", "b"),
    "raises KeyError": lambda *a: {}["W"],
    "raises deep inside": deep_error,
    "writes into its arguments": lambda *a: [x.clear() if isinstance(x, dict)
                                             else None for x in a],
}


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("name", CHECKS)
def test_no_check_raises(name, hostile, capsys):
    check, place = CHECKS[name]
    result = check(*place(HOSTILE[hostile]))
    assert not result
    out = capsys.readouterr().out
    assert out == result.message + "\n" and out.startswith("✗")
    assert "the check itself failed" not in out
    assert "Hint:" in out


def test_exceptions_are_reported_with_type_message_and_line():
    result = exercises.check_loss_grad(deep_error)
    assert "ZeroDivisionError: division by zero" in result.message
    assert "line" in result.message and "of helper" in result.message
    assert result.mistake == "raised"


@pytest.mark.parametrize("name", CHECKS)
def test_a_non_function_is_reported(name):
    check, place = CHECKS[name]
    result = check(*place(3.0))
    assert not result and "pass the function itself" in result.message


def test_checks_leave_global_random_state_alone():
    np_state, py_state = np.random.get_state(), random.getstate()
    exercises.check_loss_grad(loss_grad_vectorised)
    exercises.check_softmax_jacobian(jacobian_numpy)
    exercises.check_logit_grad(logit_grad_stable)
    exercises.check_backward(forward_loops, make_backward())
    exercises.check_sgd_step(sgd_loops)
    exercises.check_vector_backward(vector_backward_jacobian)
    exercises.check_batched_backward(make_batched())
    exercises.check_batched_backward(make_batched(reduce="sum"))  # the mistake path
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(np_state, after))
    assert random.getstate() == py_state


def test_checks_are_deterministic(capsys):
    messages = [exercises.check_backward(forward_loops,
                                               make_backward(layer2="k")).message
                for _ in range(2)]
    assert messages[0] == messages[1]


def test_a_forgotten_argument_is_reported_not_raised():
    result = exercises.check_backward(forward_loops)
    assert not result and "second argument" in result.message
    assert "pass the function itself" in result.message
    assert not exercises.check_loss_grad()


def test_a_wrong_reference_is_caught_by_finite_differences(monkeypatch):
    """The reference is refereed each time a check runs: a bug there is no ✓."""
    right = mlp.loss_and_grads

    def off_by_one_percent(params, X, y):
        loss, grads = right(params, X, y)
        return loss, {**grads, "W1": grads["W1"] * 1.01}

    monkeypatch.setattr(mlp, "loss_and_grads", off_by_one_percent)
    result = exercises.check_vector_backward(vector_backward_jacobian)
    assert not result and "disagrees with finite differences" in result.message
    assert "the check itself failed" in result.message


def test_ipython_displays_nothing_for_a_result():
    """As a cell's last expression the result adds no Out[] to the printed line."""
    formatters = pytest.importorskip("IPython.core.formatters")
    result = exercises.check_loss_grad(loss_grad_vectorised)
    assert formatters.DisplayFormatter().format(result) == ({}, {})


@pytest.mark.parametrize("scale", [1.005, 0.995])
def test_an_answer_half_a_percent_off_does_not_pass(scale):
    """The tolerance (rtol 1e-4) is far tighter than a 0.5% error: a Q2 answer
    that is off by a constant factor 1.005 must not get a tick."""

    def logit_grad(o, c):
        y = softmax(o)
        y[c] -= 1.0
        return scale * y

    def loss_grad(y, c):
        g = np.zeros_like(y)
        g[c] = -scale / y[c]
        return g

    assert not exercises.check_logit_grad(logit_grad).passed
    assert not exercises.check_loss_grad(loss_grad).passed


def test_a_q1_answer_that_is_q2s_result_does_not_hear_so():
    """Teacher's read: Q1's check must not confirm Q2's result (the gradient
    with respect to the logits) before Q2 is asked."""
    result = exercises.check_loss_grad(lambda y, c: y - onehot(c, y))
    assert not result.passed
    for word in ("Q2", "logit"):
        assert word not in result.message, result.message


def test_a_first_layer_hint_does_not_answer_q3s_written_question():
    """Teacher's read: why the course's example hides first-layer bugs (its
    two equal columns of V) is what 02's Q3 asks; the hint does not say."""
    result = exercises.check_backward(scalar.forward, make_backward(zero_first=True))
    assert result.mistake == "first_layer", result.message
    for word in ("equal columns", "exactly 0"):
        assert word not in result.message, result.message
