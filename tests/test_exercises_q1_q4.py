"""Issue 15's false passes and misleading messages in the checks of Q1-Q4.

Each wrong answer is written as a student wrote it (or would), independently of
the checks' tables; each test failed on the checks before they were fixed.
"""

import copy
import math
import re
import types

import numpy as np
import pytest

from coursenet import exercises, scalar


def assert_failed(result, mistake=None, *words, absent=()):
    assert not result.passed, result.message
    assert result.message.startswith("✗"), result.message
    if mistake is not None:
        assert result.mistake == mistake, result.message
    for word in words:
        assert word in result.message, (word, result.message)
    for word in absent:
        assert word not in result.message, (word, result.message)


# --------------------------------------------------------------------------
# Notebook 02's functions, written as in the worked solution (plain Python)
# --------------------------------------------------------------------------


def sigmoid(k):
    return 1 / (1 + math.exp(-k))


def forward(params, x, target):
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    k = [sum(x[i] * W[i][j] for i in range(len(x))) + b[j] for j in range(len(b))]
    h = [sigmoid(v) for v in k]
    o = [sum(h[j] * V[j][m] for j in range(len(h))) + c[m] for m in range(len(c))]
    top = max(o)
    e = [math.exp(v - top) for v in o]
    y = [v / sum(e) for v in e]
    return -math.log(y[target]), {"x": x, "k": k, "h": h, "o": o, "y": y,
                                  "target": target}


def loss_grad(y, target):
    return [-1 / y[m] if m == target else 0.0 for m in range(len(y))]


def backprop(params, cache, dl_dy):
    V, x, h, y = params["V"], cache["x"], cache["h"], cache["y"]
    C = len(y)
    J = [[y[i] * ((1.0 if i == m else 0.0) - y[m]) for m in range(C)]
         for i in range(C)]
    do = [sum(dl_dy[i] * J[i][m] for i in range(C)) for m in range(C)]
    dh = [sum(V[j][m] * do[m] for m in range(C)) for j in range(len(h))]
    dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]
    return {"dy": list(dl_dy), "do": do, "dh": dh, "dk": dk,
            "W": [[xi * d for d in dk] for xi in x], "b": list(dk),
            "V": [[hj * d for d in do] for hj in h], "c": list(do)}


def backward(params, cache):
    d = backprop(params, cache, loss_grad(cache["y"], cache["target"]))
    return {name: d[name] for name in ("W", "b", "V", "c")}


def test_the_right_staged_functions_pass():
    assert exercises.check_forward(forward)
    assert exercises.check_scalar_loss_grad(loss_grad)
    assert exercises.check_backprop(backprop)
    assert exercises.check_backward(forward, backward)
    assert exercises.check_backward(forward, backward)


# --------------------------------------------------------------------------
# False passes
# --------------------------------------------------------------------------


def loss_grad_alias(y, c):
    """`g = y; g[:] = 0`: g is y, so the caller's y is zeroed."""
    yc = y[c]
    g = y
    g[:] = 0
    g[c] = -1 / yc
    return g


def test_an_input_changed_in_place_is_named():
    assert_failed(exercises.check_loss_grad(loss_grad_alias), "changed_input",
                  "`y`", "in place", "after the call")


def test_a_backward_that_writes_into_its_cache_is_named():
    def backward_subtracts_in_cache(params, cache):
        y = cache["y"]
        y[cache["target"]] -= 1                 # "dl/do = y - onehot", in place
        do = y
        d = backprop(params, cache, [0.0] * len(y))
        h = cache["h"]
        dh = [sum(params["V"][j][m] * do[m] for m in range(len(do)))
              for j in range(len(h))]
        dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]
        return {"W": [[xi * v for v in dk] for xi in cache["x"]], "b": dk,
                "V": [[hj * v for v in do] for hj in h], "c": list(do)} or d

    assert_failed(exercises.check_backward(forward, backward_subtracts_in_cache),
                  "changed_input", "`cache`", "['y']")


def backprop_ignores_dl_dy(params, cache, dl_dy):
    """The Q2 shortcut inside backprop: right gradients, argument unused."""
    y, target = cache["y"], cache["target"]
    out = backprop(params, cache, loss_grad(y, target))
    out["dy"] = list(dl_dy)
    return out


def test_a_backprop_that_ignores_dl_dy_fails_its_check():
    assert_failed(exercises.check_backprop(backprop_ignores_dl_dy), "ignores_dl_dy",
                  "ignores its dl_dy")


def test_a_wrong_loss_grad_is_caught_by_its_own_check():
    def loss_grad_every_class(y, target):
        return [-1 / v for v in y]

    def backward_unused(params, cache):          # never calls loss_grad
        return {k: v for k, v in scalar.backward(params, cache).items()}

    assert exercises.check_backward(forward, backward_unused)  # both are fine
    assert_failed(exercises.check_scalar_loss_grad(loss_grad_every_class),
                  "every_class")


def test_a_tuple_cache_fails_the_forward_and_backward_checks():
    def forward_tuple(params, x, target):
        loss, c = forward(params, x, target)
        return loss, (c["x"], c["k"], c["h"], c["o"], c["y"], target)

    def backward_tuple(params, cache):
        x, k, h, o, y, target = cache
        return backward(params, {"x": x, "k": k, "h": h, "o": o, "y": y,
                                 "target": target})

    for result in (exercises.check_forward(forward_tuple),
                   exercises.check_backward(forward_tuple, backward_tuple)):
        assert_failed(result, "cache_not_dict", "tuple", "cache['y']")


def test_a_cache_with_a_wrong_value_is_named():
    def forward_caches_k_as_h(params, x, target):
        loss, c = forward(params, x, target)
        return loss, dict(c, h=c["k"])

    assert_failed(exercises.check_forward(forward_caches_k_as_h), "cache_h_is_k")


def test_two_names_for_one_list_in_the_cache_are_named():
    def forward_one_list(params, x, target):
        W, b, V, c = params["W"], params["b"], params["V"], params["c"]
        k, h = [[]] * 2                  # one list, two names
        for j in range(len(b)):
            k.append(sum(x[i] * W[i][j] for i in range(len(x))) + b[j])
        for j in range(len(b)):
            h.append(sigmoid(k[j]))
        o = [sum(h[j] * V[j][m] for j in range(len(b))) + c[m]
             for m in range(len(c))]
        e = [math.exp(v - max(o)) for v in o]
        y = [v / sum(e) for v in e]
        return -math.log(y[target]), {"x": x, "k": k, "h": h, "o": o, "y": y,
                                      "target": target}

    assert_failed(exercises.check_forward(forward_one_list), "one_list_twice",
                  "cache['k'] and cache['h'] are one and the same list")


# --------------------------------------------------------------------------
# Misleading messages
# --------------------------------------------------------------------------


def backward_constant_dl_dy(params, cache):
    """-1/y_target in every entry: dl/dy J is 0 up to rounding."""
    y, t = cache["y"], cache["target"]
    d = backprop(params, cache, [-1 / y[t]] * len(y))
    return {name: d[name] for name in ("W", "b", "V", "c")}


def test_exact_zeros_are_called_zero_and_explained_without_a_batch():
    result = exercises.check_backward(forward, backward_constant_dl_dy)
    assert_failed(result, "all_zero", "every gradient is 0", "constant vector to 0",
                  absent=("times the right one", "batch"))


def test_a_scaled_answer_outside_a_batch_gets_no_batch_hint():
    def backward_doubled(params, cache):
        return {k: np.array(v) * 2 for k, v in backward(params, cache).items()}

    assert_failed(exercises.check_backward(forward, backward_doubled), "scaled",
                  "2 times", absent=("batch",))


def test_sgd_step_that_updates_a_deep_copy_gets_its_own_hint():
    def sgd_step(params, grads, lr):
        params = copy.deepcopy(params)
        for name in params:
            for i, row in enumerate(params[name]):
                if isinstance(row, list):
                    for j in range(len(row)):
                        row[j] -= lr * grads[name][i][j]
                else:
                    params[name][i] -= lr * grads[name][i]

    assert_failed(exercises.check_sgd_step(sgd_step), "updates_a_copy", "deepcopy",
                  absent=("for w in row",))


def test_a_key_error_hint_names_the_dicts_the_check_passed():
    def backward_wrong_key(params, cache):
        h = cache["hidden"]
        return h

    result = exercises.check_backward(forward, backward_wrong_key)
    assert_failed(result, "raised", "KeyError", "'hidden'",
                  "['x', 'k', 'h', 'o', 'y', 'target']",
                  absent=("call it yourself on that input",))


def test_shape_messages_name_the_case_and_its_sizes():
    def backward_transposed_v(params, cache):
        g = backward(params, cache)
        g["V"] = [list(col) for col in zip(*g["V"])]
        return g

    result = exercises.check_backward(forward, backward_transposed_v)
    assert_failed(result, "wrong_shape", "transposed",
                  "on the course's example (2-3-2", absent=("batch",))

    def backward_drops_a_row(params, cache):
        g = backward(params, cache)
        g["W"] = g["W"][:2]
        return g

    result = exercises.check_backward(forward, backward_drops_a_row)
    assert_failed(result, "wrong_shape", "(2, 4)", "expected (3, 4)",
                  "on a random 3-4-5 network", absent=("another layer's input",))

    def backward_dw_from_h(params, cache):
        g = backward(params, cache)
        g["W"] = np.outer(cache["h"], g["b"]).tolist()  # h, not x, gives the rows
        return g

    result = exercises.check_backward(forward, backward_dw_from_h)
    assert_failed(result, "wrong_shape", "expected (2, 3)",
                  "built from another layer's input")


def test_check_loss_grad_names_the_if_c_mistake():
    def loss_grad_if_c(y, c):
        g = np.zeros(len(y))
        if c:                                   # meant: "is this the true class?"
            g[c] = -1 / y[c]
        return g

    assert_failed(exercises.check_loss_grad(loss_grad_if_c), "if_target", "`if c:`",
                  "class 0")


@pytest.mark.parametrize("escape", [SystemExit, GeneratorExit])
def test_a_base_exception_from_student_code_is_reported(escape):
    def loss_grad_exits(y, c):
        raise escape(3)

    result = exercises.check_loss_grad(loss_grad_exits)
    assert_failed(result, "raised", escape.__name__)


def test_keyboard_interrupt_still_stops_a_check():
    def loss_grad_interrupted(y, c):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        exercises.check_loss_grad(loss_grad_interrupted)


def test_a_broken_repr_is_not_called_a_coursenet_bug():
    class Gradient:
        def __repr__(self):
            raise ValueError("no repr")

    result = exercises.check_loss_grad(lambda y, c: Gradient())
    assert_failed(result, None, "__repr__", absent=("bug in coursenet",))


def test_a_broken_str_of_an_exception_is_not_called_a_coursenet_bug():
    class Odd(Exception):
        def __str__(self):
            raise RuntimeError("no str")

    def loss_grad_odd(y, c):
        raise Odd()

    assert_failed(exercises.check_loss_grad(loss_grad_odd), "raised", "Odd",
                  absent=("bug in coursenet",))


# --------------------------------------------------------------------------
# The real report's mistakes, and hints that do not give the formulas away
# --------------------------------------------------------------------------


def backward_report(params, cache):
    """The report's Q3: -1/y_i for every class, then `if y:` (y the label)."""
    p, y = cache["y"], cache["target"]
    dl_dy = [-1 / v for v in p]
    if y:
        dl_dy[1] = 0.0
    else:
        dl_dy[0] = 0.0
    d = backprop(params, cache, dl_dy)
    return {name: d[name] for name in ("W", "b", "V", "c")}


def test_the_reports_q3_flips_every_sign_on_the_course_example():
    grads = backward_report(scalar.course_params(),
                            forward(scalar.course_params(), [1.0, -1.0], 0)[1])
    assert np.allclose(grads["V"], [[0.4404, -0.4404]] * 3, atol=1e-4)
    assert_failed(exercises.check_backward(forward, backward_report),
                  "other_branch", "`if y:`", "compare signs")


def test_the_reports_q1_slip_is_named():
    def jacobian_slip(y):                       # e^{o_i} e^{o_i} for i != j
        C = len(y)
        return np.array([[y[i] * (1 - y[i]) if i == j else -y[i] * y[i]
                          for j in range(C)] for i in range(C)])

    result = exercises.check_softmax_jacobian(jacobian_slip)
    assert_failed(result, "offdiag_yi_squared", "same in every column of row i",
                  "finite differences give", absent=("sum to 0",))
    # (the property the slip breaks is what 01's spot-the-error question asks)
    # the diagnosis describes the slip's effect, never the numerator Q1 asks for
    assert "e^{o_j}" not in result.message and "y_j" not in result.message


FORMULAS = ["-1/y_c for i = c", "diag(y) - np.outer", "-y_i y_j", "y - onehot(c)",
            "softmax(o)_i - [i = c]", "y_i(1 - y_i) if i = j"]


@pytest.mark.parametrize("check, wrong", [
    (exercises.check_loss_grad, lambda y, c: np.full(len(y), 0.3)),
    (exercises.check_loss_grad, lambda y, c: -1 / y),
    (exercises.check_softmax_jacobian, lambda y: np.eye(len(y)) * 0.1),
    (exercises.check_softmax_jacobian, lambda y: np.diag(y * (1 - y))),
    (exercises.check_logit_grad, lambda o, c: np.ones(len(o))),
    (exercises.check_logit_grad, lambda o, c: np.exp(o) / np.exp(o).sum()),
])
def test_q1_q2_hints_describe_properties_not_the_formulas(check, wrong):
    result = check(wrong)
    assert not result.passed
    hint = result.message.split("Hint:", 1)[1]
    for formula in FORMULAS:
        assert formula not in hint, (formula, result.message)


def test_a_jacobian_hint_quotes_a_finite_difference_not_a_property_of_j():
    # 01 asks, after this check, which property of J the report's slip breaks:
    # no hint may name one (rows summing to 0, the signs)
    result = exercises.check_softmax_jacobian(
        lambda y: np.diag(y) * 0.9 - 0.01 * np.outer(y, y[::-1]))
    assert_failed(result, None, "finite differences give",
                  absent=("sum to 0", "sums to", "negative"))


def test_demonstration_checks_never_raise_under_nbgrader(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(AssertionError):
        exercises.check_backward(forward, backward_report)
    with exercises.expected_to_fail():
        result = exercises.check_backward(forward, backward_report)
    assert not result.passed


# --------------------------------------------------------------------------
# The staged checks of notebook 02 name the stage and the mistake
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key, stored, mistake", [
    ("y", "o", "cache_y_is_o"), ("k", "h", "cache_k_is_h"), ("h", "k", "cache_h_is_k"),
])
def test_forward_names_a_cache_entry_that_holds_another_value(key, stored, mistake):
    def forward_mixed_up(params, x, target):
        loss, c = forward(params, x, target)
        return loss, dict(c, **{key: c[stored]})

    assert_failed(exercises.check_forward(forward_mixed_up), mistake,
                  f"cache['{key}']")


@pytest.mark.parametrize("change, mistake, words", [
    (lambda o: [v - max(o) for v in o], "cache_o_shifted", ["largest one taken"]),
    (lambda o: [1 / (1 + math.exp(-v)) for v in o], "forward_sigmoid_on_logits",
     ["sigmoid was applied to the logits"]),
])
def test_forward_names_a_changed_cache_o(change, mistake, words):
    def forward_changed_o(params, x, target):
        loss, c = forward(params, x, target)
        return loss, dict(c, o=change(c["o"]))

    assert_failed(exercises.check_forward(forward_changed_o), mistake, *words)


def backprop_with(do_rule=None, dk_rule=None):
    """backprop as in the solution, with the step to dl/do or dl/dk replaced."""
    def wrong(params, cache, dl_dy):
        y = cache["y"]
        right = backprop(params, cache, dl_dy)
        do = do_rule(y, dl_dy) if do_rule else right["do"]
        h = cache["h"]
        dh = [sum(params["V"][j][m] * do[m] for m in range(len(do)))
              for j in range(len(h))]
        dk = dk_rule(cache, dh) if dk_rule else \
            [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]
        return {"dy": list(dl_dy), "do": do, "dh": dh, "dk": dk,
                "W": [[xi * v for v in dk] for xi in cache["x"]], "b": list(dk),
                "V": [[hj * v for v in do] for hj in h], "c": list(do)}
    return wrong


@pytest.mark.parametrize("fn, mistake, words", [
    (backprop_with(lambda y, g: list(g)), "no_jacobian", ["softmax step"]),
    (backprop_with(lambda y, g: [gi * yi * (1 - yi) for gi, yi in zip(g, y)]),
     "diagonal_only", ["diagonal"]),
    (backprop_with(lambda y, g: [-sum(g[i] * y[i] * ((i == m) - y[m])
                                      for i in range(len(y))) for m in range(len(y))]),
     "flipped_sign", ["wrong sign"]),
    (backprop_with(lambda y, g: [sum(g[i] * y[i] * ((i == m) - y[m])
                                     for i in range(len(y))) + 0.1
                                 for m in range(len(y))]),
     "do_not_linear", ["not proportional to dl/dy"]),
    (backprop_with(dk_rule=lambda c, dh: [d * k * (1 - k) for d, k in zip(dh, c["k"])]),
     "sigmoid_from_k", ["dl/dh is right", "from k"]),
    (backprop_with(dk_rule=lambda c, dh: list(dh)), "no_sigmoid_derivative",
     ["dl/dh is right"]),
])
def test_backprop_names_the_first_wrong_stage(fn, mistake, words):
    assert_failed(exercises.check_backprop(fn), mistake, *words)


def test_loss_grad_names_if_c_with_every_class():
    def loss_grad_if_c_every(y, c):
        return np.array([-1 / v if c else 0.0 for v in y])

    assert_failed(exercises.check_loss_grad(loss_grad_if_c_every),
                  "every_class_if_target", "`if c:`")


def loss_grad_of_the_report(y, c):
    """The real report's dl/dy: -1/y_i everywhere, then `if c:` zeroes one entry."""
    dl_dy = [-1 / p for p in y]
    if c:
        dl_dy[1] = 0.0
    else:
        dl_dy[0] = 0.0
    return dl_dy


def test_loss_grad_names_the_reports_if_c_branch():
    assert_failed(exercises.check_loss_grad(loss_grad_of_the_report),
                  "report_if_target", "`if c:`", "zeroes")


def test_scalar_loss_grad_names_the_class_target_not_c():
    # in notebook 02 c is the output bias: the messages call the class `target`
    result = exercises.check_scalar_loss_grad(loss_grad_of_the_report)
    assert_failed(result, "report_if_target", "`if target:`", "-log y_target")
    assert not re.search(r"(?<![A-Za-z0-9])c(?![A-Za-z0-9])", result.message), \
        result.message
    result = exercises.check_scalar_loss_grad(lambda y, t: [0.5] * len(y))
    assert not re.search(r"(?<![A-Za-z0-9])c(?![A-Za-z0-9])", result.message), \
        result.message


def test_sgd_step_may_change_params_but_not_grads():
    def sgd_step_scales_grads(params, grads, lr):
        for name in params:
            rows = params[name] if isinstance(params[name][0], list) \
                else [params[name]]
            grad_rows = grads[name] if isinstance(grads[name][0], list) \
                else [grads[name]]
            for row, grad_row in zip(rows, grad_rows):
                for j in range(len(row)):
                    grad_row[j] *= lr           # "scale first", into grads
                    row[j] -= grad_row[j]

    assert_failed(exercises.check_sgd_step(sgd_step_scales_grads), "changed_input",
                  "`grads`")


# --------------------------------------------------------------------------
# Issue 23 (item 5): mistakes named where the checks gave a generic message or
# passed, each written as a one-line change to a right function
# --------------------------------------------------------------------------


def variant(fn, old, new):
    """``fn`` with one piece of its source replaced: a student's slip."""
    import inspect
    import textwrap
    source = textwrap.dedent(inspect.getsource(fn))
    assert old in source, old
    namespace = dict(globals())
    exec(source.replace(old, new), namespace)  # noqa: S102 - the test's own code
    return namespace[fn.__name__]


def jacobian(y):
    J = -np.outer(y, y)
    np.fill_diagonal(J, y * (1 - y))
    return J


def loss_grad_01(y, c):
    g = np.zeros(len(y))
    g[c] = -1 / y[c]
    return g


def logit_grad_01(o, c):
    e = np.exp(o - o.max())
    g = e / e.sum()
    g[c] -= 1
    return g


def forward_pair(params, x, target):
    loss, cache = forward(params, x, target)
    return loss, cache


def backward_fixed(params, cache):
    p, target = cache["y"], cache["target"]
    dl_dy = [-1 / p_i for p_i in p]
    dl_dy = [g if i == target else 0.0 for i, g in enumerate(dl_dy)]
    d = backprop(params, cache, dl_dy)
    return {name: d[name] for name in ("W", "b", "V", "c")}


def graph_backward(nodes, values):
    grads = {name: 0.0 for name, _, _ in nodes}
    grads[nodes[-1][0]] = 1.0
    for name, op, args in reversed(nodes):
        if op == "add":
            local = [1.0] * len(args)
        elif op == "mul":
            local = [values[args[1]], values[args[0]]]
        elif op == "sigmoid":
            local = [values[name] * (1 - values[name])]
        else:
            local = []
        for arg, slope in zip(args, local):
            grads[arg] += grads[name] * slope
    return grads


def forward_loops(params, x, target):
    """forward as the worked solution writes it, one loop per sum."""
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    D, H, C = len(x), len(b), len(c)
    k = []
    for j in range(H):
        total = b[j]
        for i in range(D):
            total += x[i] * W[i][j]
        k.append(total)
    h = [sigmoid(v) for v in k]
    o = []
    for m in range(C):
        total = c[m]
        for j in range(H):
            total += h[j] * V[j][m]
        o.append(total)
    top = max(o)
    e = [math.exp(v - top) for v in o]
    y = [v / sum(e) for v in e]
    return -math.log(y[target]), {"x": x, "k": k, "h": h, "o": o, "y": y,
                                  "target": target}


def graph_backward_loops(nodes, values):
    """graph_backward as the worked solution writes it."""
    grads = {name: 0.0 for name, _, _ in nodes}
    grads[nodes[-1][0]] = 1.0
    for name, op, args in reversed(nodes):
        g = grads[name]
        if op == "add":
            for a in args:
                grads[a] += g
        elif op == "mul":
            a, b = args
            grads[a] += g * values[b]
            grads[b] += g * values[a]
        elif op == "sigmoid":
            h = values[name]
            grads[args[0]] += g * h * (1 - h)
    return grads


def sgd_step(params, grads, lr):
    for name in ("W", "V"):
        for row, grad_row in zip(params[name], grads[name]):
            for j, g in enumerate(grad_row):
                row[j] -= lr * g
    for name in ("b", "c"):
        for j, g in enumerate(grads[name]):
            params[name][j] -= lr * g


SGD_WEIGHT_LOOP = """    for name in ("W", "V"):
        for row, grad_row in zip(params[name], grads[name]):
            for j, g in enumerate(grad_row):
                row[j] -= lr * g
"""
SGD_WEIGHT_LOOP_BY_INDEX = """    for name in ("W", "V"):
        for i in range(len(params[name])):
            for j in range(len(params[name][i])):
                params[name][i][j] -= lr * grads[name][i][j]
"""


def check_jacobian(fn):
    return exercises.check_softmax_jacobian(fn)


def check_backward(fn):
    return exercises.check_backward(forward, fn)


def check_forward(fn):
    return exercises.check_forward(fn)


NEW_MISTAKES = [  # (check, right function, old, new, mistake id, words)
    # round 7: an operator typed for another, a division by a size
    # round 9: a floor division in the softmax, rounded dl/do, dk a second name
    # for the dh list
    (check_forward, forward, "y = [v / sum(e) for v in e]",
     "y = [v // sum(e) for v in e]", "rounded_to_whole",
     ["the log met 0", "divides with //"]),
    (check_forward, forward,
     "y = [v / sum(e) for v in e]\n    return -math.log(y[target])",
     "y = [v // sum(e) for v in e]\n    return -math.log(max(y[target], 1e-12))",
     "rounded_to_whole", ["cache['y'] holds whole numbers", "divides with //"]),
    (exercises.check_backprop, backprop,
     "do = [sum(dl_dy[i] * J[i][m] for i in range(C)) for m in range(C)]",
     "do = [round(sum(dl_dy[i] * J[i][m] for i in range(C)), 4) for m in range(C)]",
     "rounded", ["rounded to 4 decimal place(s)"]),
    (exercises.check_backprop, backprop,
     "dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]",
     "dk = dh\n    for j in range(len(h)):\n        dk[j] *= h[j] * (1 - h[j])",
     "another_stage", ["one list under two names"]),
    # round 8: a shift taken entry by entry, rounded probabilities, a diagonal
    # whose terms cancel (parentheses), rows that are one list
    (exercises.check_logit_grad, logit_grad_01, "o - o.max()", "o - np.maximum(o, 0)",
     "shift_per_entry", ["right whenever every logit is below 0"]),
    (exercises.check_logit_grad, logit_grad_01, "g = e / e.sum()",
     "g = np.round(e / e.sum(), 4)", "rounded", ["rounded to 4 decimal place(s)"]),
    (check_jacobian, jacobian, "y * (1 - y)", "y * 1 - y", "part_scaled",
     ["in the diagonal it is 0: never written, or its terms cancel"]),
    (check_jacobian, jacobian,
     "    J = -np.outer(y, y)\n    np.fill_diagonal(J, y * (1 - y))\n",
     "    J = [[0.0] * len(y)] * len(y)\n    for i in range(len(y)):\n"
     "        for j in range(len(y)):\n"
     "            J[i][j] = y[i] * ((i == j) - y[j])\n"
     "    J = np.array(J)\n", "one_row_for_all",
     ["every row is one list under several names"]),
    (exercises.check_sgd_step, sgd_step, "params[name][j] -= lr * g",
     "params[name][j] -= lr * g\n            params[name][j] -= lr * g",
     "step_scaled", ["b moves 2 times", "as if its update ran 2 times"]),
    (exercises.check_sgd_step, sgd_step, "row[j] -= lr * g", "row[j] -= lr ** g",
     "step_operator_slip", ["lr raised to the power of the gradient"]),
    (exercises.check_sgd_step, sgd_step, "row[j] -= lr * g",
     "row[j] -= lr * g / len(params[name])", "step_over_row_count",
     ["divided by their number of rows"]),
    (exercises.check_sgd_step, sgd_step, "row[j] -= lr * g",
     "row[j] -= lr * g / (len(params[name]) * len(row))", "step_over_entry_count",
     ["divided by their number of entries"]),
    # round 7: IndexErrors named by the sizes they need or by what the step
    # does on networks whose sizes are all equal
    (exercises.check_sgd_step, sgd_step, SGD_WEIGHT_LOOP,
     SGD_WEIGHT_LOOP_BY_INDEX.replace("range(len(params[name])):",
                                      "range(len(grads)):"),
     "keys_counted_as_rows", ["right only when every size is 4, the number of keys"]),
    (exercises.check_sgd_step, sgd_step, SGD_WEIGHT_LOOP,
     SGD_WEIGHT_LOOP_BY_INDEX.replace("for j in", "for i in")
     .replace("[i][j]", "[i][i]"), "one_index_for_both",
     ["on networks whose sizes are all equal", "only the entries of W, V whose row"
      " and column numbers are equal"]),
    (exercises.check_sgd_step, sgd_step, "for j, g in enumerate(grads[name]):\n"
     "            params[name][j] -= lr * g", "for j in range(len(params[name])):\n"
     "            params[name][j] -= lr * grads['b'][j]", "another_parameters_step",
     ["raises IndexError on a network whose sizes differ", "the step of c holds the"
      " right step of b"]),
    (exercises.check_sgd_step, sgd_step, SGD_WEIGHT_LOOP,
     SGD_WEIGHT_LOOP_BY_INDEX.replace('("W", "V")', '("W", "b")'), "flat_as_rows",
     ["has no len()", "b and c are flat lists"]),
    (exercises.check_sgd_step, sgd_step, "                row[j] -= lr * g\n",
     "                row[j] -= lr * g\n        return\n", "skips_some",
     ["b, V, c did not change", "the update stops after W"]),
    (check_jacobian, jacobian,
     "J = -np.outer(y, y)\n    np.fill_diagonal(J, y * (1 - y))",
     "J = np.diag(y) - y @ y", "inner_product", ["inner product"]),
    (check_jacobian, jacobian, "np.fill_diagonal(J, y * (1 - y))",
     "np.fill_diagonal(J, y)", "diagonal_missing_square", ["J[i, i] is y_i"]),
    (check_jacobian, jacobian, "return J", "return J.astype(np.float32)",
     "low_precision", ["float32"]),
    (check_jacobian, jacobian, "return J", "return J[:, :, None][..., 0][None]",
     "extra_axis", ["(1, 2, 2)", "extra axis"]),
    (exercises.check_loss_grad, loss_grad_01, "g[c] = -1 / y[c]",
     "g[c - 1] = -1 / y[c - 1]", "wrong_class", ["class c - 1"]),
    # round 16: an array made without values
    (exercises.check_loss_grad, loss_grad_01, "g = np.zeros(len(y))",
     "g = np.empty_like(y)", "entries_never_set", ["entries of what loss_grad_01"
                                                   " returned were never set"]),
    (check_forward, forward, "y = [v / sum(e) for v in e]",
     "y = [v / e[-1] for v in e]", "sum_keeps_last_term",
     ["divided by the last exponential alone"]),
    (check_forward, forward, "y = [v / sum(e) for v in e]",
     "y = [round(v / sum(e), 4) for v in e]", "rounded",
     ["cache['y'] is the right one rounded to 4 decimal"]),
    # round 17: a walk back over the classes that never reaches 0 (its hint
    # was empty)
    (exercises.check_backprop, backprop, "for i in range(C)) for m",
     "for i in range(C - 1, 0, -1)) for m", None,
     ["first row, which is left at 0", "Hint: a loop over the classes visits"]),
    (exercises.check_graph_backward, graph_backward, 'if op == "add":',
     'if op == "Add":', "op_misspelled", ["compares an op with 'Add', which no node"
                                          " has", "spells it 'add'"]),
    (check_backward, backward_fixed,
     "    dl_dy = [g if i == target else 0.0 for i, g in enumerate(dl_dy)]\n",
     "    for i in range(len(dl_dy)):\n        if i != target:\n"
     "            dl_dy[i] = 0.0\n            break\n", "fix_stops_after_first",
     ["zeroes the first class other than the target and no more"]),
    # round 17: W stepped with V's gradient through a zip that stops at the
    # shorter list; a return after the first bias
    (exercises.check_sgd_step, sgd_step, SGD_WEIGHT_LOOP,
     SGD_WEIGHT_LOOP.replace("grads[name]):", 'grads["V"]):').replace(
         "            for j, g in enumerate(grad_row):\n"
         "                row[j] -= lr * g",
         "            for j in range(min(len(row), len(grad_row))):\n"
         "                row[j] -= lr * grad_row[j]"), "another_parameters_step",
     ["the step of W holds the right step of V where the two overlap"]),
    (exercises.check_sgd_step, sgd_step, "            params[name][j] -= lr * g\n",
     "            params[name][j] -= lr * g\n        return None\n", "skips_some",
     ["c did not change", "a return or a break inside a loop"]),
    # round 15: a minus sign inside the index; a loop bound from another size
    (exercises.check_loss_grad, loss_grad_01, "g[c] = -1 / y[c]",
     "g[-c] = -1 / y[c]", "index_from_end", ["entry -c", "counted from the end"]),
    (check_forward, forward, "for i in range(len(x))) + b[j]",
     "for i in range(min(len(x), len(b)) - 1)) + b[j]", "sum_cut_short",
     ["sums only the first", "stops early"]),
    # an index moved by one with no wrap-around: nothing set at the edge class
    (exercises.check_loss_grad, loss_grad_01, "g[c] = -1 / y[c]",
     "g[c - 1] = -1 / y[c - 1] if c else 0.0", "wrong_class",
     ["class c - 1, and there is none when c = 0"]),
    (exercises.check_loss_grad, loss_grad_01, "g[c] = -1 / y[c]",
     "g[c + 1:c + 2] = -1 / y[c + 1:c + 2]", "wrong_class",
     ["class c + 1, and there is none when c = C - 1"]),
    # every hidden unit from one k; k and h one list
    (check_forward, forward, "h = [sigmoid(v) for v in k]",
     "h = [sigmoid(k[0]) for v in k]", "all_entries_equal",
     ["every entry of cache['h'] is one and the same number"]),
    # round 11: the neighbour's probability at c, the log-sum-exp shift not put
    # back, running sums, a bracket lost in the sigmoid's slope
    (exercises.check_loss_grad, loss_grad_01, "g[c] = -1 / y[c]",
     "g[c] = -1 / y[c - 1]", "neighbour_probability",
     ["holds -1 over the probability of class c - 1"]),
    (check_forward, forward, "return -math.log(y[target])",
     "return -(o[target] - math.log(sum(e)))", "loss_shift_left",
     ["the right one minus the largest logit"]),
    (exercises.check_backprop, backprop,
     "do = [sum(dl_dy[i] * J[i][m] for i in range(C)) for m in range(C)]",
     "do, total = [], 0.0\n    for m in range(C):\n        for i in range(C):\n"
     "            total += dl_dy[i] * J[i][m]\n        do.append(total)",
     "running_sum", ["each dl/do_m is the sum of the right entries 0 to m"]),
    (exercises.check_backprop, backprop,
     "dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]",
     "dk = [dh[j] * h[j] * 1 - h[j] for j in range(len(h))]", "slope_brackets_lost",
     ["dl/dk is dl/dh · h - h"]),
    # round 12: an append inside the inner loop of a sum; a product's first
    # input stepped by its own value
    (exercises.check_backprop, backprop,
     "do = [sum(dl_dy[i] * J[i][m] for i in range(C)) for m in range(C)]",
     "do = []\n    for m in range(C):\n        total = 0.0\n        for i in"
     " range(C):\n            total += dl_dy[i] * J[i][m]\n"
     "            do.append(total)", "appended_per_inner_pass",
     ["groups of 2 whose last entries are the 2 right ones"]),
    (exercises.check_graph_backward, graph_backward,
     "local = [values[args[1]], values[args[0]]]",
     "local = [values[args[0]], values[args[0]]]", "graph_mul_own",
     ["with respect to its first input is that input's own value"]),
    # round 15: k from the last input alone (a sum with =); a fix that zeroes
    # one class only; dc taken from dl/dy; an integer J; the 1 of dl/do taken
    # at a class computed from o
    (check_forward, forward, "sum(x[i] * W[i][j] for i in range(len(x))) + b[j]",
     "x[-1] * W[-1][j] + b[j]", "sum_keeps_last_term",
     ["k keeps only the last input's term of its sum (plus its bias)"]),
    (check_backward, backward_fixed,
     "dl_dy = [g if i == target else 0.0 for i, g in enumerate(dl_dy)]",
     "dl_dy[target - 1] = 0.0", "fix_zeroes_few",
     ["zeroes the class before the target only"]),
    (check_backward, backward,
     '    return {name: d[name] for name in ("W", "b", "V", "c")}',
     '    return {"W": d["W"], "b": d["b"], "V": d["V"], "c": d["dy"]}',
     "wrong_dc_key",
     ["returns dW, db and dV right, but its dc is wrong: it holds dl/dy"]),
    (check_jacobian, jacobian, "J = -np.outer(y, y)",
     "J = (-np.outer(y, y)).astype(int)", "int_array", ["holds int64"]),
    (exercises.check_logit_grad, logit_grad_01, "g[c] -= 1",
     "g[int(np.argsort(o)[c])] -= 1", "one_at_other_class",
     ["its 1 is taken away at class"]),
    # round 14: one class's bias in every logit; the zeroing loop stops at the
    # target; the shift taken after the exponentials in the scalar forward
    (check_forward, forward, "+ c[m] for m in range(len(c))]",
     "+ c[target] for m in range(len(c))]", "bias_of_one_class",
     ["every logit adds the same entry of c, the target's"]),
    (check_backward, backward_fixed,
     "dl_dy = [g if i == target else 0.0 for i, g in enumerate(dl_dy)]",
     "for i in range(target):\n        dl_dy[i] = 0.0", "fix_one_side",
     ["still holds -1/y at the classes after the target"]),
    (check_forward, forward, "e = [math.exp(v - top) for v in o]",
     "e = [math.exp(v) - top for v in o]", "log_domain",
     ["entries at or below 0", "subtracted after the exponentials"]),
    # round 13: dk computed right, dh returned under its key; an unweighted sum
    # in dl/do; a return inside the loop over the names; b stepped twice, c
    # never; the steps into arrays made from the lists
    (exercises.check_backprop, backprop, '"dk": dk,', '"dk": dh,',
     "returned_under_other_key", ["under 'dk' is wrong: it holds your dl/dh",
                                  "dW and db, made from dl/dk, are right"]),
    (exercises.check_backprop, backprop,
     "do = [sum(dl_dy[i] * J[i][m] for i in range(C)) for m in range(C)]",
     "do = [y[m] * (dl_dy[m] - sum(dl_dy)) for m in range(C)]", "unweighted_sum",
     ["takes away the plain sum of dl/dy"]),
    (lambda fn: exercises.check_backward(forward, fn), backward,
     '    return {name: d[name] for name in ("W", "b", "V", "c")}',
     '    out = {}\n    for name in ("W", "b", "V", "c"):\n        out[name] = d[name]'
     '\n        return out', "wrong_keys", ["one key came back of the 4",
                                           "a return inside the loop"]),
    (exercises.check_sgd_step, sgd_step, "                row[j] -= lr * g\n",
     "                row[j] -= g // (1 / lr)\n", "floor_division",
     ["divides with //"]),
    (exercises.check_sgd_step, sgd_step, "                row[j] -= lr * g\n",
     "                lr = lr * g\n                row[j] -= lr\n", "lr_rebound",
     ["gives its argument `lr` a new value"]),
    (exercises.check_sgd_step, sgd_step, 'for name in ("b", "c"):',
     'for name in ("b", "b"):', "name_repeated",
     ["b takes two steps and c none"]),
    (exercises.check_sgd_step, sgd_step,
     "            for j, g in enumerate(grad_row):\n                row[j] -= lr * g",
     "            arr = np.asarray(row)\n            arr -= lr * np.asarray(grad_row)",
     "skips_weights", ["a numpy array made from a list"]),
    # a wrong shape read for its likely cause
    (exercises.check_loss_grad, loss_grad_01, "return g", "return g.sum()",
     "wrong_shape", ["one number where", "added up into one"]),
    (exercises.check_backprop, backprop,
     "dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]",
     "dk = [dh[j] * h[i] * (1 - h[i]) for j in range(len(h)) for i in range(len(h))]",
     "wrong_shape", ["9 = 3×3 entries: every entry paired with every other"]),
    (exercises.check_backprop, backprop, '"W": [[xi * d for d in dk] for xi in x]',
     '"W": [[xi * d for d, _ in zip(dk, x)] for xi in x]', "wrong_shape",
     ["each row stops at 2 entries, not 3"]),
    (exercises.check_backprop, backprop, '"W": [[xi * d for d in dk] for xi in x]',
     '"W": [xi * d for d in dk for xi in x]', "wrong_shape",
     ["the right count of entries, 6", "flattened"]),
    # one operation's updates written, not added: a sum's, then a product's
    (exercises.check_graph_backward, graph_backward,
     "grads[arg] += grads[name] * slope",
     "grads[arg] = grads[name] * slope + (grads[arg] if op != 'add' else 0.0)",
     "graph_overwrite", ["what a sum node sends back to its inputs replaces"]),
    (exercises.check_graph_backward, graph_backward,
     "grads[arg] += grads[name] * slope",
     "grads[arg] = grads[name] * slope + (grads[arg] if op != 'mul' else 0.0)",
     "graph_overwrite", ["what a product node sends back to its inputs replaces"]),
    # a sum written with = where it adds up: only the last term is left
    (exercises.check_backprop, backprop,
     "do = [sum(dl_dy[i] * J[i][m] for i in range(C)) for m in range(C)]",
     "do = [0.0] * C\n    for m in range(C):\n        for i in range(C):\n"
     "            do[m] = dl_dy[i] * J[i][m]", "sum_keeps_last_term",
     ["keeps only the last output's term"]),
    (exercises.check_backprop, backprop,
     "dh = [sum(V[j][m] * do[m] for m in range(C)) for j in range(len(h))]",
     "dh = [0.0] * len(h)\n    for j in range(len(h)):\n        for m in range(C):"
     "\n            dh[j] = V[j][m] * do[m]", "dh_last_logit_only",
     ["uses the last logit only"]),
    (exercises.check_loss_grad, loss_grad_01, "return g", "return list(g)",
     "not_an_array", ["is a list"]),
    (exercises.check_loss_grad, loss_grad_01, "np.zeros(len(y))",
     "np.zeros(len(y), dtype=np.float32)", "low_precision", ["float32"]),
    (exercises.check_logit_grad, logit_grad_01, "g[c] -= 1", "g[c - 1] -= 1",
     "wrong_class", ["class c - 1"]),
    (exercises.check_logit_grad, logit_grad_01, "return g", "return g.astype('f4')",
     "low_precision", ["float32"]),
    (check_forward, forward, "e = [math.exp(v - top) for v in o]",
     "e = [math.exp(v) for v in o]", "overflow",
     ["logits are near [", "OverflowError", "no exponent positive"]),
    (check_forward, forward, "e = [math.exp(v - top) for v in o]",
     "e = list(np.exp(o))", "overflow", ["logits are near [", "overflows"]),
    (check_forward, forward, "e = [math.exp(v - top) for v in o]",
     "e = [math.exp(v - min(o)) for v in o]", "overflow", ["OverflowError"]),
    (check_forward, forward, "e = [math.exp(v - top) for v in o]",
     "e = [math.exp(min(v, 700.0)) for v in o]", "large_logits",
     ["right for moderate logits", "expected"]),
    (check_forward, forward, "x[i] * W[i][j]", "x[i] * W[j][i]", "reads_transposed",
     ["raises IndexError", "it reads W transposed", "W has one row per input"]),
    (exercises.check_sgd_step, sgd_step,
     "for row, grad_row in zip(params[name], grads[name]):\n"
     "            for j, g in enumerate(grad_row):\n                row[j] -= lr * g",
     "for i, row in enumerate(params[name]):\n            for j in range(len(row)):"
     "\n                row[j] -= lr * grads[name][j][i]", "reads_transposed",
     ["grads['W'] and grads['V'] are handed to it transposed"]),
    # the hidden count read from W's rows (the inputs): right when D = H only
    (check_forward, forward, "+ b[j] for j in range(len(b))]",
     "+ b[j] for j in range(len(W))]", "sizes_confused",
     ["right when the number of inputs equals the number of hidden units"]),
    (exercises.check_backprop, backprop, "dh = [sum(V[j][m] * do[m]",
     "dh = [sum(V[j][m] * dl_dy[m]", "dh_from_dl_dy", ["computed from dl/dy"]),
    # raises IndexError where V is not square; named on 3-3-3 networks
    (exercises.check_backprop, backprop, "dh = [sum(V[j][m] * do[m]",
     "dh = [sum(V[m][j] * do[m]", "dh_V_transposed",
     ["raises IndexError on a network whose sizes differ", "reads V transposed"]),
    (exercises.check_backprop, backprop, '"V": [[hj * d for d in do] for hj in h]',
     '"V": [[hj * d for d in dl_dy] for hj in h]', "dV_from_dl_dy",
     ["dV is built from dl/dy"]),
    (exercises.check_backprop, backprop, '"V": [[hj * d for d in do] for hj in h]',
     '"V": [[vj * d for vj, d in zip(V[j], do)] for j in range(len(h))]',
     "dV_from_weights", ["dV is built from the weights V"]),
    (exercises.check_backprop, backprop, '"W": [[xi * d for d in dk] for xi in x]',
     '"W": [[wi * d for wi, d in zip(params["W"][i], dk)] for i in range(len(x))]',
     "dW_from_weights", ["dW is built from the weights W"]),
    (exercises.check_backprop, backprop, '"c": list(do)', '"c": list(dl_dy)',
     "dc_is_dl_dy", ["dc is dl/dy"]),
    (exercises.check_backprop, backprop, '"b": list(dk)', '"b": list(dh)',
     "db_from_dh", ["db is dl/dh"]),
    (exercises.check_backprop, backprop, '"V": [[hj * d for d in do] for hj in h]',
     '"V": [list(do) for hj in h]', "dV_missing_input", ["every row of dV"]),
    (check_backward, backward, 'loss_grad(cache["y"], cache["target"])',
     '[y_m - (m == cache["target"]) for m, y_m in enumerate(cache["y"])]',
     "dl_dy_is_dl_do", ["hands to backprop is Q2's dl/do"]),
    (check_backward, backward, 'loss_grad(cache["y"], cache["target"])',
     'cache["y"]', "dl_dy_is_y", ["probabilities y themselves"]),
    (check_backward, backward_fixed, "g if i == target else 0.0",
     "0.0 if i == target else g", "zeroes_target", ["wrong way round"]),
    (check_backward, backward_fixed,
     "dl_dy = [g if i == target else 0.0 for i, g in enumerate(dl_dy)]",
     "dl_dy[1 - target] = 0.0", "binary_fix", ["right for two classes"]),
    (check_backward, backward_fixed, "g if i == target else 0.0",
     "g if i == target else 0.1 * i", "wrong_dl_dy",
     ["the dl/dy that backward_fixed hands to backprop is wrong"]),
    (check_backward, backward, 'd = backprop(params, cache,',
     'd = backprop_y_times(params, cache,', "wrong_do", ["sums to", "softmax step"]),
    (exercises.check_loss_grad, loss_grad_01, "g[c] = -1 / y[c]",
     "k = int(np.argmax(y))\n    g[k] = -1 / y[k]", "predicted_class",
     ["most probable class"]),
    (exercises.check_loss_grad, loss_grad_01, "return g", "return g / len(y)",
     "divided_by_classes", ["number of classes"]),
    (exercises.check_loss_grad, loss_grad_01, "-1 / y[c]", "-1 / (1 - y[c])",
     "one_minus_y", ["-log(1 - y_c)"]),
    (check_jacobian, jacobian, "J = -np.outer(y, y)",
     "J = np.diag(y * (1 - y)) - np.outer(y, y)\n    return J", "diagonal_twice",
     ["taken away twice"]),
    (exercises.check_logit_grad, logit_grad_01, "g[c] -= 1", "g -= 1",
     "minus_one_everywhere", ["every entry"]),
    (exercises.check_logit_grad, logit_grad_01, "g[c] -= 1", "g[c] -= g[c]",
     "zeroes_c", ["set to 0"]),
    (check_forward, forward, "for i in range(len(x))) + b[j]",
     "+ b[j] for i in range(len(x)))", "forward_b_per_input", ["once per input"]),
    (check_forward, forward, "return -math.log(y[target]),",
     "return -math.log(y[target]) / len(y),", "loss_divided_by_classes",
     ["divided by the number of classes"]),
    (check_forward, forward_pair, "return loss, cache", "return cache, loss",
     "pair_swapped", ["other way round"]),
    (check_forward, forward, "y = [v / sum(e) for v in e]",
     "y = [v / sum(o) for v in e]", "log_domain", ["math domain", "print your y"]),
    (exercises.check_backprop, backprop, "((1.0 if i == m else 0.0) - y[m])",
     "((1.0 if i == m else 0.0) - y[i])", "jacobian_y_i_twice", ["y_i twice"]),
    (exercises.check_graph_backward, graph_backward, "grads[nodes[-1][0]] = 1.0",
     "grads[nodes[-1][0]] = values[nodes[-1][0]]", "graph_seed_value",
     ["output's value"]),
    (exercises.check_graph_backward, graph_backward, "local = [1.0] * len(args)",
     "local = [1.0]", "graph_add_first_only", ["first input only"]),
    (exercises.check_sgd_step, sgd_step, 'for name in ("W", "V"):',
     'for name in ("W", "V", "b"):', "flat_as_rows", ["flat lists"]),
    (exercises.check_sgd_step, sgd_step, "params[name][j] -= lr * g",
     "params[name][j] -= lr * g\n        params[name] = [params[name]]",
     "wrong_shape", ["params['b'] has shape (1, 3)", "an extra axis",
                     "keep every parameter's shape"]),
    (exercises.check_loss_grad, loss_grad_01, "g[c] = -1 / y[c]",
     "g[c] = -np.exp(-y[c])", "wrong_inside",
     ["right in the entries i ≠ c and wrong in the entry at c"]),
    (check_jacobian, jacobian, "np.fill_diagonal(J, y * (1 - y))",
     "np.fill_diagonal(J, y * (1 - y) ** 2)", "wrong_inside",
     ["right in the entries off the diagonal and wrong in the diagonal"]),
    (check_jacobian, jacobian, "J = -np.outer(y, y)", "J = -np.outer(y, y) ** 2",
     "wrong_outside", ["right in the diagonal and wrong in the entries off"]),
    (exercises.check_logit_grad, logit_grad_01, "g[c] -= 1", "g[c] -= 2",
     "explained", ["the right dl/do minus the true class's one-hot row"]),
    (exercises.check_sgd_step, sgd_step, "row[j] -= lr * g", "row[j] = -lr * g",
     "assigns_step", ["W, V are set to the step itself"]),
    (exercises.check_sgd_step, sgd_step, "for j, g in enumerate(grad_row):\n"
     "                row[j] -= lr * g", "for j in range(len(grad_row) + 1):\n"
     "                row[j] -= lr * grad_row[j]", "index_past_end",
     ["raised IndexError", "line 5 of sgd_step"]),
    # round 5: the logits add the hidden bias b (IndexError where C > H)
    (check_forward, forward, "+ c[m] for m in range(len(c))]",
     "+ b[m] for m in range(len(c))]", "other_layer_param",
     ["the logits add the first layer's bias b where the output bias c belongs"]),
    # round 5: sgd_step rebinding params to new lists; its arguments reordered
    (exercises.check_sgd_step, sgd_step, 'for name in ("W", "V"):',
     'params = {k: [list(r) if isinstance(r, list) else r for r in v]\n'
     '              for k, v in params.items()}\n    for name in ("W", "V"):',
     "rebinds_params", ["`params = ...` inside it gives the name params a new"]),
    (exercises.check_sgd_step, sgd_step, "def sgd_step(params, grads, lr):",
     "def sgd_step(params, lr, grads):", "argument_order",
     ["right when called with the learning rate second"]),
    # round 5: the report's fix with its loop one short, or comparing p[i]
    (check_backward, backward_fixed, "for i, g in enumerate(dl_dy)]",
     "for i, g in enumerate(dl_dy[:-1])] + [dl_dy[-1]]", "fix_stops_short",
     ["keeps -1/y at the last class"]),
    (check_backward, backward_fixed, "g if i == target", "g if p[i] == target",
     "dl_dy_all_zeroed", ["is 0 at every class, the target's too"]),
    # round 4: the flat lists' loop run on W and V too: a row times lr
    (exercises.check_sgd_step, sgd_step, 'for name in ("W", "V"):',
     'for name in ("W", "b", "V", "c"):\n        for j, g in enumerate('
     'grads[name]):\n            params[name][j] -= lr * g\n    return\n'
     '    for name in ("W", "V"):', "rows_as_numbers",
     ["an entry of W or V is a whole row"]),
    # round 4: a loop over the values of y compared with the class
    (exercises.check_scalar_loss_grad, loss_grad, "for m in range(len(y))]",
     "for m in y]", "values_as_positions",
     ["right only on y = [0, 1, 0] with target = 1",
      "compares the probabilities in y, not"]),
    (exercises.check_loss_grad, loss_grad_01, "g[c] = -1 / y[c]",
     "for i, p in enumerate(y):\n        if p == c:\n            g[i] = -1 / y[c]",
     "values_as_positions",
     ["with c = 1", "compares the probabilities in y, not their positions"]),
    # round 3: grads paired with params by position (the check hands grads
    # with its keys in reverse order)
    (exercises.check_sgd_step, sgd_step, 'for name in ("W", "V"):\n'
     '        for row, grad_row in zip(params[name], grads[name]):',
     'for p, g in zip(params.values(), grads.values()):\n'
     '        for row, grad_row in zip(p, g) if isinstance(p[0], list) else ():',
     "pairs_by_position", ["pairs each parameter with a gradient by position"]),
    (exercises.check_sgd_step, sgd_step, "enumerate(grads[name])",
     "enumerate(grads[name][:-1])", "some_entries_unchanged",
     ["some entries of b, c did not change"]),
    (exercises.check_sgd_step, sgd_step, "row[j] -= lr * g", "row[j] -= g",
     "lr_on_biases_only", ["missing in the weights' update"]),
    (exercises.check_sgd_step, sgd_step, "params[name][j] -= lr * g",
     "params[name][j] -= g", "lr_on_weights_only", ["missing in the biases'"]),
    (exercises.check_sgd_step, sgd_step,
     "for row, grad_row in zip(params[name], grads[name]):\n"
     "            for j, g in enumerate(grad_row):\n                row[j] -= lr * g",
     "for i in range(len(params[name][0])):\n"
     "            for j in range(len(params[name][i])):\n"
     "                params[name][i][j] -= lr * grads[name][i][j]",
     "sizes_confused", ["right only when all the sizes are equal",
                        "rows counted for columns"]),
    # round 2: general diagnoses (a part left out by a loop, a factor, a
    # transformed input, probabilities that do not sum to 1, a local slope)
    (check_jacobian, jacobian, "return J", "J[-1, :] = 0\n    J[:, -1] = 0\n"
     "    return J", "edge_zero", ["except its last row and column, which are left"
                                   " at 0", "stops one short"]),
    (check_jacobian, jacobian, "return J", "J[0, :] = 0\n    return J", "edge_zero",
     ["except its first row", "starts at 1"]),
    (exercises.check_logit_grad, logit_grad_01, "return g", "g[-1] += 0.1\n"
     "    return g", "edge_wrong", ["right except its last entry, which is wrong"]),
    (exercises.check_logit_grad, logit_grad_01, "return g", "return g * len(o)",
     "scaled_by_classes", ["C times the right one"]),
    (check_jacobian, jacobian, "return J", "return J / len(y)", "scaled_by_classes",
     ["divided by C"]),
    (exercises.check_logit_grad, logit_grad_01, "return g", "return 2 * g",
     "scaled", ["2 times the right one", "counted twice"]),
    (exercises.check_logit_grad, logit_grad_01, "e = np.exp(o - o.max())",
     "o = o.astype(int)\n    e = np.exp(o - o.max())", "int_logits",
     ["cut to whole numbers", "int cast"]),
    (exercises.check_logit_grad, logit_grad_01, "e = np.exp(o - o.max())",
     "o = np.round(o)\n    e = np.exp(o - o.max())", "int_logits",
     ["rounded to whole numbers"]),
    (exercises.check_logit_grad, logit_grad_01, "e = np.exp(o - o.max())",
     "e = np.exp(-o - (-o).max())", "negated_logits", ["sign flipped"]),
    (exercises.check_logit_grad, logit_grad_01, "g = e / e.sum()", "g = e / e.max()",
     "divided_by_max", ["largest entry of exactly 1", "not by the sum"]),
    (exercises.check_logit_grad, logit_grad_01, "g = e / e.sum()",
     "g = np.exp(o) / e.sum()", "shift_in_denominator_only",
     ["times e to the largest logit", "denominator's sum but not"]),
    (exercises.check_logit_grad, logit_grad_01, "g = e / e.sum()",
     "g = e / np.exp(o).sum()", "shift_in_numerator_only",
     ["divided by e to the largest logit", "numerator's exponent but not"]),
    (exercises.check_logit_grad, logit_grad_01, "g = e / e.sum()",
     "g = e / (e.sum() + 1)", "not_normalised", ["the right ones times a number"]),
    (exercises.check_logit_grad, logit_grad_01, "g = e / e.sum()",
     "g = e ** 2 / e.sum()", "not_normalised", ["do not sum to 1"]),
    (check_jacobian, jacobian,
     "J = -np.outer(y, y)\n    np.fill_diagonal(J, y * (1 - y))",
     "J = np.diag(y) - np.outer(y, 1 - y)", "product_one_minus",
     ["one minus y_j"]),
    (check_forward, forward, "for j in range(len(h))) + c[m]",
     "for j in range(1, len(h))) + c[m]", "sum_skips_first",
     ["leave out hidden unit 0", "starts at 1"]),
    (check_forward, forward, "for i in range(len(x))) + b[j]",
     "for i in range(len(x) - 1)) + b[j]", "sum_stops_short",
     ["leaves out the last input", "stops one short"]),
    (check_forward, forward, "y = [v / sum(e) for v in e]", "y = list(e)",
     "forward_not_normalised", ["before they are divided"]),
    (check_forward, forward, "y = [v / sum(e) for v in e]",
     "y = [2 * v / sum(e) for v in e]", "y_not_normalised",
     ["does not sum to 1", "sums to 2"]),
    (check_forward, forward, "h = [sigmoid(v) for v in k]",
     "h = [sigmoid(sigmoid(v)) for v in k]", "forward_sigmoid_twice",
     ["sigmoid applied twice"]),
    (check_forward, forward, "return -math.log(y[target]),",
     "return -math.log(y[target - 1]),", "loss_wrong_class",
     ["class target - 1", "off by one"]),
    (check_forward, forward, "return -math.log(y[target]),",
     "return -math.log(y[(target + 1) % len(y)]),", "loss_wrong_class",
     ["class target + 1"]),
    (exercises.check_backprop, backprop, "for m in range(C)) for j",
     "for m in range(1, C)) for j", "dh_skips_first", ["leaves out logit 0"]),
    (exercises.check_backprop, backprop, "for m in range(C)) for j",
     "for m in range(C - 1)) for j", "dh_stops_short",
     ["leaves out the last logit"]),
    (exercises.check_backprop, backprop, "do = [sum(dl_dy[i] * J[i][m] for i in "
     "range(C)) for m in range(C)]", "do = [sum(J[i][m] for i in range(C)) * "
     "dl_dy[m] for m in range(C)]", "do_zero", ["0 in every entry"]),
    (exercises.check_backprop, backprop, "dh[j] * h[j] * (1 - h[j])",
     "dh[j] * (1 - h[j])", "sigmoid_slope_wrong", ["one minus h alone"]),
    (exercises.check_backprop, backprop, "dh[j] * h[j] * (1 - h[j])",
     "dh[j] * (1 - h[j] ** 2)", "sigmoid_slope_wrong", ["tanh's slope"]),
    (check_backward, backward_fixed, "g if i == target else 0.0",
     "p[i] if i == target else 0.0", "dl_dy_keeps_y", ["the probability y (p)"]),
    (check_backward, backward_fixed, "g if i == target else 0.0",
     "1.0 if i == target else 0.0", "dl_dy_target_value",
     ["0 off the target (as it should be)", "it looks like 1 "]),
    (exercises.check_graph_backward, graph_backward,
     "local = [values[name] * (1 - values[name])]", "local = [values[name]]",
     "graph_sigmoid_h", ["sigmoid node", "its output h itself"]),
    (exercises.check_graph_backward, graph_backward, "local = [1.0] * len(args)",
     "local = [1.0 / len(args)] * len(args)", "graph_add_fraction",
     ["a sum with n inputs", "1/n of its derivative"]),
    (exercises.check_graph_backward, graph_backward,
     "local = [values[args[1]], values[args[0]]]",
     "local = [values[name], values[name]]", "graph_mul_product",
     ["the product itself"]),
    (exercises.check_graph_backward, graph_backward,
     "local = [values[args[1]], values[args[0]]]",
     "local = [grads[args[1]], grads[args[0]]]", "graph_mul_from_grads",
     ["read from the derivatives found so far"]),
    (exercises.check_logit_grad, logit_grad_01, "return g", "return -np.eye(len(g))[c]",
     "times_y_entrywise", ["entry by entry by y", "whole Jacobian"]),
    (exercises.check_sgd_step, sgd_step, "row[j] -= lr * g", "row[j] -= lr * lr * g",
     "step_times_lr", ["lr times the right step", "applied twice"]),
    (check_backward, backward, 'cache["y"], cache["target"]',
     'cache["o"], cache["target"]', "dl_dy_target_value",
     ["step 1 applied to cache['o'], the logits, not to y"]),
    (exercises.check_logit_grad, logit_grad_01, "return g",
     "return g / np.abs(g).sum()", "scaled_per_case",
     ["a factor that changes from case to case"]),
    (exercises.check_loss_grad, loss_grad_01, "return g", "return g - g.mean()",
     "offset", ["off by the same number"]),
    (exercises.check_logit_grad, logit_grad_01, "return g", "return g + 0.1",
     "offset", ["off by the same number"]),
    (exercises.check_backprop, backprop, "dh[j] * h[j] * (1 - h[j])",
     "h[j] * (1 - h[j])", "dk_slope_only", ["the sigmoid's slope alone"]),
    (exercises.check_graph_backward, graph_backward, "local = [1.0] * len(args)",
     "local = [2.0] * len(args)", "graph_local_slope",
     ["local derivative of the 'add' node", "2 in your code, 1 in fact"]),
    # the general diagnoses of _diagnose: another input, an input's factor or term
    (exercises.check_logit_grad, logit_grad_01, "g[c] -= 1", "g[0] -= 1",
     "other_class", ["right one for class 0 as the true class"]),
    (exercises.check_logit_grad, logit_grad_01, "g[c] -= 1", "g[len(g) - 1] -= 1",
     "other_class", ["for the last class as the true class"]),
    (exercises.check_logit_grad, logit_grad_01, "e = np.exp(o - o.max())",
     "o = o.copy()\n    o[c] -= 1\n    e = np.exp(o - o.max())\n    return e / e.sum()",
     "one_from_logit", ["logit is lowered by 1", "taken from a logit"]),
    (exercises.check_logit_grad, logit_grad_01, "g = e / e.sum()",
     "g = np.log(e / e.sum())", "log_of_y", ["logarithm of each probability"]),
    (exercises.check_logit_grad, logit_grad_01, "g[c] -= 1", "g[c] -= 1.5",
     "wrong_inside", ["wrong in the entry at c, off by -0.5 there on every case"]),
    (check_jacobian, jacobian, "np.fill_diagonal(J, y * (1 - y))",
     "np.fill_diagonal(J, 1 - y)", "divided_by_input",
     ["diagonal of your J is the right one divided by y"]),
    (exercises.check_backprop, backprop, '"V": [[hj * d for d in do] for hj in h]',
     '"V": [[kj * d for d in do] for kj in cache["k"]]', "other_cached_value",
     ["your dV", "cache['k'] where it needs cache['h']"]),
    (check_forward, forward_pair, "return loss, cache",
     "cache['o'] = [v + cm for v, cm in zip(cache['o'], params['c'])]\n"
     "    return loss, cache", "plus_input", ["cache['o'] is the right one plus c"]),
    (exercises.check_sgd_step, sgd_step, "row[j] -= lr * g",
     "row[j] -= lr * grad_row[0]", "row_entries_equal",
     ["the step of W holds one number in each row"]),
    (exercises.check_sgd_step, sgd_step, "row[j] -= lr * g",
     "row[j] -= lr * g * row[j]", "multiplied_by_input",
     ["the step of W", "multiplied by its old value"]),
    # round 8b (blindr): general mechanisms of notebook 02
    (check_forward, forward_loops,
     "            total += h[j] * V[j][m]\n        o.append",
     "            total += h[j] * V[j][m]\n            o.append",
     "appended_per_inner_pass",
     ["cache['o'] has 20 entries", "H x C", "once per pass of the inner loop"]),
    (check_forward, forward_loops, "        k.append(total)",
     "            k.append(total)", "appended_per_inner_pass",
     ["cache['k'] has", "D x H"]),
    (check_forward, forward_loops, "total += x[i] * W[i][j]",
     "total += x[i] * W[i][j] + b[j]", "bias_in_sum",
     ["cache['k'] is the right one plus the bias b", "D + 1 times",
      "once per input, inside the sum's loop"]),
    (check_forward, forward_loops, "total += h[j] * V[j][m]",
     "total += h[j] * V[j][m] + c[m]", "bias_in_sum",
     ["cache['o'] is the right one plus the bias c", "H + 1 times",
      "once per hidden unit, inside the sum's loop"]),
    (check_forward, forward, "return -math.log(y[target]),",
     "return -math.log1p(y[target]),", "loss_other_log",
     ["log of 1 plus the target's probability", "never below 0"]),
    (check_forward, forward, "return -math.log(y[target]),",
     "return -math.log(1 - y[target]),", "loss_other_log",
     ["log of 1 minus the target's probability"]),
    (exercises.check_backprop, backprop, "dh = [sum(V[j][m] * do[m]",
     "dh = [sum(h[j] * do[m]", "dh_plain_sum",
     ["dl/dh is 0 in every entry", "a sum of dl/do over the classes is always 0",
      "nudge h_j a little"]),
    (exercises.check_graph_backward, graph_backward_loops, "reversed(nodes)",
     "sorted(nodes, reverse=True)", "graph_walk_order",
     ["order of their names", "Z to A"]),
    (exercises.check_graph_backward, graph_backward_loops, "reversed(nodes)",
     "sorted(nodes)", "graph_walk_order", ["order of their names", "A to Z"]),
    (exercises.check_graph_backward, graph_backward_loops, "for a in args:",
     "for a in set(args):", "graph_same_input",
     ["takes the same input twice", "one contribution, not two"]),
    (exercises.check_graph_backward, graph_backward_loops,
     "            grads[args[0]] += g * h * (1 - h)\n    return grads",
     "            grads[args[0]] += g * h * (1 - h)\n        return grads",
     "graph_walk_stops", ["stops after the first node it visits",
                          "a return inside the loop"]),
    (exercises.check_graph_backward, graph_backward_loops,
     "        g = grads[name]\n",
     "        g = grads[name]\n        if name == nodes[-3][0]:\n"
     "            return grads\n", "graph_walk_stops",
     ["stops after the first 2 nodes it visits"]),
]


def backprop_y_times(params, cache, dl_dy):
    """backprop with the softmax step taken as dl/dy times y, entry by entry."""
    d = backprop(params, cache, dl_dy)
    do = [g * y for g, y in zip(dl_dy, cache["y"])]
    V, x, h = params["V"], cache["x"], cache["h"]
    dh = [sum(V[j][m] * do[m] for m in range(len(do))) for j in range(len(h))]
    dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]
    return {**d, "do": do, "dh": dh, "dk": dk, "c": do, "b": dk,
            "V": [[hj * g for g in do] for hj in h],
            "W": [[xi * g for g in dk] for xi in x]}


@pytest.mark.parametrize("check, right, old, new, mistake, words", NEW_MISTAKES,
                         ids=[f"{row[4]}-{i}" for i, row in enumerate(NEW_MISTAKES)])
def test_a_new_mistake_is_named(check, right, old, new, mistake, words):
    assert check(right).passed, "the right function passes first"
    assert_failed(check(variant(right, old, new)), mistake, *words)


def backprop_with_W(params, cache, dl_dy):
    """backprop, its dW written with the weights at hand (right as written)."""
    d = backprop(params, cache, dl_dy)
    W, x = params["W"], cache["x"]
    d["W"] = [[xi * g for g, Wij in zip(d["dk"], W_i)] for xi, W_i in zip(x, W)]
    return d


# No known mistake: the message still names the stage (or the cache entry, or
# the node) that is wrong. (check, right function, old, new, id, words)
STAGE_FALLBACKS = [
    # (a seed of 2 is named now: the output's derivative is not 1; here only the
    # nodes that feed two others are off, where no local slope can be read off)
    (exercises.check_graph_backward, graph_backward, "    return grads",
     "    users = {n: sum(n in a for _, _, a in nodes) for n, _, _ in nodes}\n"
     "    return {n: g * 1.1 if users[n] > 1 else g for n, g in grads.items()}",
     "graph_wrong", ["first wrong derivative", "node 's'"]),
    (check_forward, forward, '"o": o,', '"o": [v ** 3 - top for v in o],',
     "cache_value",
     ["cache['o'] should be the logits"]),
    (check_forward, forward, '"y": y,\n' + " " * 34 + '"target": target}',
     '"y": y}', "cache_keys", ["missing ['target']"]),
    (exercises.check_backprop, backprop, '"dy": list(dl_dy)',
     '"dy": [v + 0.01 * v ** 3 for v in dl_dy]', "wrong_dy",
     ["not the dl_dy it was given"]),
    (exercises.check_backprop, backprop, '"dy": list(dl_dy)', '"dy": do', "explained",
     ["your dl/dy is the right dl/do"]),
    (exercises.check_backprop, backprop, "sum(V[j][m] * do[m] for m in range(C))",
     "sum(V[j][m] * do[m] * (1 + h[j] * h[j]) for m in range(C))", "wrong_dh",
     ["dl/do is right, dl/dh is wrong"]),
    (exercises.check_backprop, backprop, "dh[j] * h[j] * (1 - h[j])",
     "dh[j] * h[j] * (1 - h[j]) * (1 + 0.1 * j)", "wrong_dk",
     ["dl/dh is right, dl/dk is wrong"]),
    (exercises.check_backprop, backprop, '"V": [[hj * d for d in do] for hj in h]',
     '"V": [[(hj + 0.01) * d for d in do] for hj in h]', "wrong_dV",
     ["dl/do is right, dV is wrong"]),
    (exercises.check_backprop, backprop, '"c": list(do)',
     '"c": [d * (1 + ym * ym) for d, ym in zip(do, y)]', "wrong_dc",
     ["dc is wrong"]),
    (exercises.check_backprop, backprop_with_W, "xi * g for",
     "xi * g * (1 + 0.01 * Wij) for", "wrong_dW", ["dl/dk is right, dW is wrong"]),
    (exercises.check_backprop, backprop_with_W, "xi * g for", "xi * g * Wij for",
     "explained", ["your dW is the right dW times the weights W, entry by entry"]),
    (exercises.check_backprop, backprop, '"b": list(dk)',
     '"b": [g * (1 + hj * hj) for g, hj in zip(dk, h)]', "wrong_db",
     ["db is wrong"]),
]


@pytest.mark.parametrize("check, right, old, new, mistake, words", STAGE_FALLBACKS,
                         ids=[f"{row[4]}-{i}" for i, row in enumerate(STAGE_FALLBACKS)])
def test_an_unknown_mistake_still_names_its_stage(check, right, old, new, mistake,
                                                 words):
    assert check(right).passed, "the right function passes first"
    assert_failed(check(variant(right, old, new)), mistake, *words)


def test_a_fix_that_only_passes_through_a_backprop_ignoring_dl_dy_is_named():
    """backprop with Q2's closed form ignores dl_dy, so any backward over it gives
    right gradients: the report left unfixed must not earn the fix's points."""
    def backprop_closed_form(params, cache, dl_dy):
        y, target = cache["y"], cache["target"]
        return backprop(params, cache, [(-1 / y[i] if i == target else 0.0)
                                        for i in range(len(y))])

    space = {**backward_report.__globals__, "backprop": backprop_closed_form}
    for fn in (backward_report, backward_fixed):
        moved = types.FunctionType(fn.__code__, space, fn.__name__)
        result = exercises.check_backward(forward, moved)
        if fn is backward_fixed:   # the right fix: nothing to object to
            assert result.passed, result.message
        else:
            assert_failed(result, "right_only_below", "only because your backprop"
                          " ignores its dl_dy", "backward_report hands to it")


def test_the_cache_hints_name_the_keys_without_writing_the_line():
    """Round 7: the hint printed the cache's dict literal (the line itself), and
    a wrong target got "the formula for target"."""
    missing = variant(forward, '"y": y,\n' + " " * 34 + '"target": target}',
                      '"y": y}')
    result = exercises.check_forward(missing)
    assert result.mistake == "cache_keys", result.message
    assert "{" not in result.message.split("Hint:")[1], result.message
    predicted = variant(forward, '"target": target}',
                        '"target": max(range(len(y)), key=y.__getitem__)}')
    result = exercises.check_forward(predicted)
    assert result.mistake == "cache_value", result.message
    assert "store the class forward was given" in result.message, result.message


# --------------------------------------------------------------------------
# Round 7 (blind walk): slips named by a general property of the student's
# function (ties, where a term landed, a second call, the output's seed)
# --------------------------------------------------------------------------


def jacobian_loop(y):
    C = len(y)
    J = np.zeros((C, C))
    for i in range(C):
        for j in range(C):
            if i == j:
                J[i, j] = y[i] * (1 - y[i])
            else:
                J[i, j] = -y[i] * y[j]
    return J


def loss_grad_loop(y, c):
    g = np.zeros(len(y))
    for i in range(len(y)):
        if i == c:
            g[i] = -1 / y[i]
    return g


def test_a_jacobian_comparing_probabilities_for_positions_is_named():
    """``if y[i] == y[j]``: wrong exactly where two different classes have equal
    probabilities (the course's example has two)."""
    assert exercises.check_softmax_jacobian(jacobian_loop).passed
    wrong = variant(jacobian_loop, "if i == j:", "if y[i] == y[j]:")
    assert_failed(exercises.check_softmax_jacobian(wrong), "ties_as_same",
                  "two probabilities are equal", "not the positions",
                  absent=("last row",))


def test_a_loss_grad_comparing_probabilities_for_positions_is_named():
    assert exercises.check_loss_grad(loss_grad_loop).passed
    wrong = variant(loss_grad_loop, "if i == c:", "if y[i] == y[c]:")
    assert_failed(exercises.check_loss_grad(wrong), "ties_as_same",
                  "equal", "not the positions")


@pytest.mark.parametrize("old, new, words", [
    ("np.fill_diagonal(J, y * (1 - y))", "J.flat[::len(y)] += y",
     ["column 0", "instead of on the diagonal"]),
    ("np.fill_diagonal(J, y * (1 - y))", "J[0, :] += y", ["row 0"]),
    ("np.fill_diagonal(J, y * (1 - y))", "J[:, 1] += y", ["column 1"]),
])
def test_a_jacobian_whose_diagonal_term_landed_elsewhere_is_named(old, new, words):
    assert_failed(exercises.check_softmax_jacobian(variant(jacobian, old, new)),
                  "diagonal_moved", *words)


def loss_grad_kept(y, target, _zeros={}):  # noqa: B006 - the student's slip
    grad = _zeros.setdefault(len(y), [0.0] * len(y))
    grad[target] = -1 / y[target]
    return grad


def loss_grad_kept_01(y, c, _zeros={}):  # noqa: B006 - the student's slip
    g = _zeros.setdefault(len(y), np.zeros(len(y)))
    g[c] = -1 / y[c]
    return g


_KEPT = {}


def jacobian_kept(y):
    """Reuses one array per size: the previous call's J is overwritten."""
    J = _KEPT.setdefault(len(y), np.zeros((len(y), len(y))))
    J[:] = -np.outer(y, y)
    J[np.diag_indices(len(y))] += y
    return J


def logit_grad_kept(o, c, _exps={}):  # noqa: B006 - the student's slip
    e = _exps.setdefault(len(o), np.exp(o - o.max()))   # once per size
    g = e / e.sum()
    g[c] -= 1
    return g


def graph_backward_kept(nodes, values, grads={}):  # noqa: B006 - the student's slip
    for name, _, _ in nodes:
        grads.setdefault(name, 0.0)
    grads[nodes[-1][0]] = 1.0
    for name, op, args in reversed(nodes):
        if op == "add":
            local = [1.0] * len(args)
        elif op == "mul":
            local = [values[args[1]], values[args[0]]]
        elif op == "sigmoid":
            local = [values[name] * (1 - values[name])]
        else:
            local = []
        for arg, slope in zip(args, local):
            grads[arg] += grads[name] * slope
    return {name: grads[name] for name, _, _ in nodes}


def forward_kept(params, x, target, _cache={}):  # noqa: B006 - the student's slip
    loss, cache = forward(params, x, target)
    _cache.update(cache)
    return loss, _cache


def backprop_kept(params, cache, dl_dy, _out={}):  # noqa: B006 - the student's slip
    _out.update(backprop(params, cache, dl_dy))
    return _out


@pytest.mark.parametrize("check, fn", [
    (exercises.check_forward, forward_kept),
    (exercises.check_backprop, backprop_kept),
    (exercises.check_scalar_loss_grad, loss_grad_kept),
    (exercises.check_loss_grad, loss_grad_kept_01),
    (exercises.check_softmax_jacobian, jacobian_kept),
    (exercises.check_logit_grad, logit_grad_kept),
    (exercises.check_graph_backward, graph_backward_kept),
], ids=["forward", "backprop", "scalar_loss_grad", "loss_grad", "jacobian",
        "logit_grad", "graph"])
def test_a_function_that_keeps_something_between_calls_is_named(check, fn):
    """Round 7's 02-lg-1 passed: its cases had one size each. The check now calls
    case A, then B, then A again, and watches the first answer."""
    _KEPT.clear()
    assert_failed(check(fn), "keeps_state", "between calls",
                  "made once, when the def runs")


@pytest.mark.parametrize("old, new, words", [
    ("grads[nodes[-1][0]] = 1.0", "grads[nodes[0][0]] = 1.0",
     ["with respect to itself is 0", "not 1", "starts from node 'x0'"]),
    ("grads[nodes[-1][0]] = 1.0", "grads[nodes[-1][0]] = 2.0",
     ["with respect to itself is 2", "not 1"]),
])
def test_a_graph_pass_that_does_not_start_at_the_output_with_1_is_named(old, new,
                                                                          words):
    assert_failed(exercises.check_graph_backward(variant(graph_backward, old, new)),
                  "graph_output_not_one", *words)


def logit_grad_shifted(shift):
    def logit_grad(o, c):
        e = np.exp(o - shift(o))
        g = e / e.sum()
        g[c] -= 1
        return g
    return logit_grad


@pytest.mark.parametrize("shift, mistake, words", [
    (np.argmax, "overflow", ["stays put while the logits move",
                             "the position of the largest logit rather than its"
                             " value"]),
    (np.min, "overflow", ["does move with the logits", "not the largest logit"]),
    (lambda o: np.abs(o).max(), "underflow", ["right from -300 to 1500",
                                              "not far below 0"]),
], ids=["argmax", "min", "abs_max"])
def test_a_shift_by_another_number_than_the_largest_logit_is_named(shift, mistake,
                                                                    words):
    """Round 7's 01-lo-1 / 02-fw-4: three logits close together at levels from
    -1500 to 1500 show whether the number taken away moves with the logits."""
    with np.errstate(all="ignore"):
        result = exercises.check_logit_grad(logit_grad_shifted(shift))
    assert_failed(result, mistake, *words)


def test_the_largest_logit_divided_out_after_the_exponential_is_among_the_causes():
    """Blind round 20 (01-lo-6): exp(o) / exp(max(o)) is the shift in algebra,
    but exp(1000) overflows before the division."""
    def logit_grad(o, c):
        e = np.exp(o) / np.exp(o.max())
        g = e / e.sum()
        g[c] -= 1
        return g
    with np.errstate(all="ignore"):
        result = exercises.check_logit_grad(logit_grad)
    assert_failed(result, "overflow", "stays put while the logits move",
                  "one divided out after the exponential")


def test_a_hidden_gradient_built_from_the_first_layer_says_so():
    """Blind round 22 (02-bp-2): V = params["W"] copied: dl/dh has D entries."""
    def backprop_w(params, cache, dl_dy):      # the notebook's own style
        V = params["W"]
        x, h, y = cache["x"], cache["h"], cache["y"]
        C = len(y)
        J = [[y[i] * ((1.0 if i == m else 0.0) - y[m]) for m in range(C)]
             for i in range(C)]
        do = [sum(dl_dy[i] * J[i][m] for i in range(C)) for m in range(C)]
        dV = [[h_j * do_m for do_m in do] for h_j in h]
        dh = [sum(V_j[m] * do[m] for m in range(C)) for V_j in V]
        dk = [dh_j * h_j * (1 - h_j) for dh_j, h_j in zip(dh, h)]
        dW = [[x_i * dk_j for dk_j in dk] for x_i in x]
        return {"dy": list(dl_dy), "do": do, "dh": dh, "dk": dk,
                "W": dW, "b": list(dk), "V": dV, "c": list(do)}

    result = exercises.check_backprop(backprop_w)
    assert_failed(result, None, "2 is D, the number of inputs",
                  "W read where V belongs")


def test_a_step_whose_entry_loop_is_dedented_names_the_last_row():
    """Blind round 22 (03-sgd-10): the entry loop after the row loop."""
    def sgd_step(params, grads, lr):
        for name in ("W", "V"):
            for row, g_row in zip(params[name], grads[name]):  # noqa: B007 - the slip: the loop ends here
                pass
            for j, g in enumerate(g_row):
                row[j] -= lr * g
        for name in ("b", "c"):
            for j, g in enumerate(grads[name]):
                params[name][j] -= lr * g

    assert_failed(exercises.check_sgd_step(sgd_step), "some_entries_unchanged",
                  "only the last row of each took its step", "indented")


def test_a_shift_in_the_numerators_or_the_sum_alone_is_named():
    """Blind round 21 (02-fwd-5): the numerators from the raw logits over the
    sum of the shifted ones, and the other way round."""
    for new, words in (("y = [math.exp(v) / sum(e) for v in o]",
                        "numerators are built from the logits"),
                       ("y = [math.exp(v - top) / sum(math.exp(u) for u in o)"
                        " for v in o]", "numerators are built from the shifted")):
        result = check_forward(variant(forward, "y = [v / sum(e) for v in e]", new))
        assert_failed(result, "shift_in_one_place", "times one number per case",
                      words)


@pytest.mark.parametrize("new, mistake, words", [
    ("top = max(k)", "overflow", ["stays put while the logits move",
                                  "a number that does not come from the logits"]),
    ("top = max(abs(v) for v in o)", "underflow", ["not far below 0"]),
])
def test_a_forward_shift_by_another_number_is_named(new, mistake, words):
    with np.errstate(all="ignore"):
        result = check_forward(variant(forward, "top = max(o)", new))
    assert_failed(result, mistake, *words, absent=("Hint: None",))


def _loop_jacobian(inner, store):
    """A loop-written Jacobian with its inner range and its store given."""
    def softmax_jacobian(y):
        C = len(y)
        J = np.zeros((C, C))
        for i in range(C):
            for j in inner(i, C):
                value = y[i] * (1 - y[i]) if i == j else -y[i] * y[j]
                J[store(i, j)] = value
        return J
    return softmax_jacobian


@pytest.mark.parametrize("fn, mistake, words", [
    # round 18: an inner loop over range(i); the else branch writing J[i, i]
    (_loop_jacobian(lambda i, C: range(i), lambda i, j: (i, j)), "one_triangle",
     ["right below the diagonal and 0 on and above it"]),
    (_loop_jacobian(lambda i, C: range(C), lambda i, j: (i, i) if i != j else (i, j)),
     "off_diagonal_empty", ["every entry of your J off its diagonal is 0"]),
])
def test_a_jacobian_loop_slip_is_named(fn, mistake, words):
    assert_failed(check_jacobian(fn), mistake, *words)


def test_backprop_slips_of_round_18_are_named():
    def crossed(params, cache, dl_dy):        # h and y unpacked into each other
        return backprop(params, {**cache, "h": cache["y"], "y": cache["h"]}, dl_dy)

    def one_slope(params, cache, dl_dy):      # dk with a j left over
        d = backprop(params, cache, dl_dy)
        h = cache["h"]
        d["dk"] = [d["dh"][i] * h[-1] * (1 - h[-1]) for i in range(len(h))]
        d["W"] = [[xi * dk for dk in d["dk"]] for xi in cache["x"]]
        d["b"] = list(d["dk"])
        return d

    assert_failed(exercises.check_backprop(crossed), "cache_names_crossed",
                  "your h holds cache['y'] and your y holds cache['h']")
    assert_failed(exercises.check_backprop(one_slope), "one_slope_for_all",
                  "slope of the last hidden unit")


def test_a_node_unpacked_in_another_order_is_named():
    def graph_backward(nodes, values):
        grads = {name: 0.0 for name, _, _ in nodes}
        grads[nodes[-1][0]] = 1.0
        for op, name, args in reversed(nodes):            # the order misread
            g = grads[name]
            if op == "add":
                for a in args:
                    grads[a] += g
        return grads

    assert_failed(exercises.check_graph_backward(graph_backward),
                  "node_unpacked_in_order", "an op, where a node's name belongs")
