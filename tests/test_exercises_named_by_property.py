"""Notebooks 01-03: wrong answers named by the property they violate (the
general diagnoses of ``_diagnose`` and the probes of nb02/nb03), one real wrong
answer per diagnosis."""

import math

import numpy as np
import pytest

from coursenet import exercises


def assert_named(result, mistake, *words):
    assert not result.passed, result.message
    assert result.mistake == mistake, result.message
    for word in [w for item in words
                 for w in (item if isinstance(item, list) else [item])]:
        assert word in result.message, result.message


# ---------------------------------------------------------------- notebook 01


def loss_grad_with(entry):
    def loss_grad(y, c):
        g = np.zeros(len(y))
        g[c] = entry(y, c)
        return g
    return loss_grad


@pytest.mark.parametrize("entry, mistake, words", [
    (lambda y, c: -1 / (y[c] + 1e-3), "shifted_probability", ["y_c +0.001"]),
    (lambda y, c: -1 / max(y), "other_probability", ["the largest probability"]),
    (lambda y, c: -1 / math.log(y[c]), "slope_positive", ["positive at c"]),
])
def test_loss_grad_entry_at_c_is_read_off(entry, mistake, words):
    assert_named(exercises.check_loss_grad(loss_grad_with(entry)), mistake, *words)


def jacobian_with(diagonal, after_loop=False, off=lambda y, i, j: -y[i] * y[j]):
    def softmax_jacobian(y):
        C = len(y)
        J = np.zeros((C, C))
        for i in range(C):
            for j in range(C):
                if i != j:
                    J[i, j] = off(y, i, j)
                elif not after_loop:
                    J[i, j] = diagonal(y, i)
        if after_loop:
            J[i, i] = diagonal(y, i)
        return J
    return softmax_jacobian


@pytest.mark.parametrize("fn, mistake, words", [
    (jacobian_with(lambda y, i: y[i] * (y[i] - 1)), "part_scaled",
     ["in the diagonal it has the wrong sign"]),
    (jacobian_with(lambda y, i: 2 * y[i] * (1 - y[i])), "part_scaled",
     ["twice the right value"]),
    (jacobian_with(lambda y, i: y[i] * (1 - y[i]),
                   off=lambda y, i, j: -0.5 * y[i] * y[j]),
     "part_scaled", ["off the diagonal it is 0.5 times"]),
    (jacobian_with(lambda y, i: y[i] * (1 - y[i]), after_loop=True), "part_only_last",
     ["last entry of the diagonal only", "after the loop"]),
])
def test_jacobian_wrong_part_is_named(fn, mistake, words):
    assert_named(exercises.check_softmax_jacobian(fn), mistake, *words)


def test_jacobian_diagonal_from_the_other_rule_is_named():
    def softmax_jacobian(y):
        C = len(y)
        J = np.empty((C, C))
        for i in range(C):
            for j in range(C):
                J[i, j] = -y[i] * y[j]
        J[i, i] = y[i] * (1 - y[i])    # dedented: runs once
        return J
    assert_named(exercises.check_softmax_jacobian(softmax_jacobian),
                 "part_other_rule", ["what the rule for the entries off the diagonal",
                                     "runs once, after the loop"])


def logit_grad_with(take):
    def logit_grad(o, c):
        o = np.asarray(o, dtype=float)
        e = np.exp(o - o.max())
        g = e / e.sum()
        take(g, o, c)
        return g
    return logit_grad


def _reverse_at_c(g, o, c):
    g[c] = 1 - g[c]


def _at_argmax(g, o, c):
    g[np.argmax(o)] -= 1


def _by_value(g, o, c):
    g[o == o[c]] -= 1


@pytest.mark.parametrize("take, mistake, words", [
    (_reverse_at_c, "part_scaled", ["in the entry at c it has the wrong sign"]),
    (_at_argmax, "wrong_class_index", ["the most probable class"]),
    (_by_value, "class_by_value", ["logit equals the true class's"]),
])
def test_logit_grad_class_handling_is_named(take, mistake, words):
    assert_named(exercises.check_logit_grad(logit_grad_with(take)), mistake, *words)


# ---------------------------------------------------------------- notebook 02


def sigmoid(k):
    return 1 / (1 + math.exp(-k)) if k >= 0 else math.exp(k) / (1 + math.exp(k))


def forward_with(o_rule=None, act=sigmoid, loss_of=None):
    def forward(params, x, target):
        W, b, V, c = params["W"], params["b"], params["V"], params["c"]
        k = [sum(x[i] * W[i][j] for i in range(len(x))) + b[j] for j in range(len(b))]
        h = [act(kj) for kj in k]
        o = (o_rule or (lambda h, V, c: [sum(h[j] * V[j][m] for j in range(len(h)))
                                         + c[m] for m in range(len(c))]))(h, V, c)
        top = max(o)
        e = [math.exp(om - top) for om in o]
        y = [ei / sum(e) for ei in e]
        loss = -math.log((loss_of or (lambda y, t: y[t]))(y, target))
        return loss, {"x": x, "k": k, "h": h, "o": o, "y": y, "target": target}
    return forward


def test_forward_bias_inside_the_sum_is_named():
    fn = forward_with(o_rule=lambda h, V, c: [sum(h[j] * V[j][m] + c[m]
                                                  for j in range(len(h)))
                                              for m in range(len(c))])
    assert_named(exercises.check_forward(fn), "bias_in_sum", ["once per hidden unit"])


def test_forward_sigmoid_wrong_for_negative_k_is_named():
    def half_sigmoid(k):
        return 1 / (1 + math.exp(-k)) if k >= 0 else 1 / (1 + math.exp(k))
    assert_named(exercises.check_forward(forward_with(act=half_sigmoid)),
                 "wrong_for_negatives", ["wrong exactly where k < 0"])


def test_forward_loss_of_the_predicted_class_is_named():
    fn = forward_with(loss_of=lambda y, t: max(y))
    assert_named(exercises.check_forward(fn), "loss_other_class",
                 ["most probable class"])


def backprop_with(J_rule=None, dW_rule=None, db_rule=None):
    def backprop(params, cache, dl_dy):
        V = params["V"]
        x, h, y = cache["x"], cache["h"], cache["y"]
        C = len(y)
        J = [[(J_rule or (lambda y, i, m: y[i] * ((i == m) - y[m])))(y, i, m)
              for m in range(C)] for i in range(C)]
        do = [sum(dl_dy[i] * J[i][m] for i in range(C)) for m in range(C)]
        dh = [sum(Vj[m] * do[m] for m in range(C)) for Vj in V]
        dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]
        dW = (dW_rule or (lambda x, dk: [[xi * d for d in dk] for xi in x]))(x, dk)
        return {"dy": list(dl_dy), "do": do, "dh": dh, "dk": dk, "W": dW,
                "b": (db_rule or list)(dk), "V": [[hj * d for d in do] for hj in h],
                "c": list(do)}
    return backprop


@pytest.mark.parametrize("fn, mistake, words", [
    (backprop_with(J_rule=lambda y, i, m: y[i] * (1 - y[i]) if i == m else y[i] * y[m]),
     "offdiagonal_sign", ["Jacobian inside backprop", "wrong sign"]),
    (backprop_with(db_rule=lambda dk: [sum(dk)] * len(dk)), "all_entries_equal",
     ["your db holds the same number"]),
    (backprop_with(dW_rule=lambda x, dk: [[x[0] * d for d in dk] for _ in x]),
     "one_input_every_row", ["built from x[0]"]),
])
def test_backprop_named_by_probing(fn, mistake, words):
    assert_named(exercises.check_backprop(fn), mistake, *words)


def _right_backprop():
    return backprop_with()


def test_backward_dl_dy_at_another_class_is_named():
    backprop = _right_backprop()

    def loss_grad(y, target):
        return [-1 / y[m] if m == target else 0.0 for m in range(len(y))]

    def backward(params, cache):
        d = backprop(params, cache, loss_grad(cache["y"], cache["target"] - 1))
        return {name: d[name] for name in ("W", "b", "V", "c")}
    assert_named(exercises.check_backward(forward_with(), backward),
                 "dl_dy_other_class", ["the class before the target"])


def graph_backward_with(walk, slopes_as_dict):
    def graph_backward(nodes, values):
        grads = {name: 0.0 for name, _, _ in nodes}
        grads[nodes[-1][0]] = 1.0
        for name, op, args in walk(nodes):
            if op == "add":
                local = [(a, 1.0) for a in args]
            elif op == "mul":
                local = [(args[0], values[args[1]]), (args[1], values[args[0]])]
            elif op == "sigmoid":
                local = [(args[0], values[name] * (1 - values[name]))]
            else:
                local = []
            for arg, slope in (dict(local).items() if slopes_as_dict else local):
                grads[arg] += grads[name] * slope
        return grads
    return graph_backward


@pytest.mark.parametrize("fn, mistake, words", [
    (graph_backward_with(lambda n: n[-2::-1], False), "graph_output_skipped",
     ["nothing is passed on"]),
    (graph_backward_with(reversed, True), "graph_same_input",
     ["takes the same input twice"]),
])
def test_graph_pass_named_by_what_it_does_to_the_graph(fn, mistake, words):
    assert_named(exercises.check_graph_backward(fn), mistake, *words)


# ---------------------------------------------------------------- notebook 03


def sgd_with(step):
    def sgd_step(params, grads, lr):
        for name in ("W", "V"):
            for row, grad_row in zip(params[name], grads[name]):
                for j, g in enumerate(grad_row):
                    row[j] = step(row[j], g, lr, len(grads))
        for name in ("b", "c"):
            for j, g in enumerate(grads[name]):
                params[name][j] = step(params[name][j], g, lr, len(grads))
    return sgd_step


def sgd_weights_only(step):
    def sgd_step(params, grads, lr):
        for name in ("W", "V"):
            for row, grad_row in zip(params[name], grads[name]):
                for j, g in enumerate(grad_row):
                    row[j] = step(row[j], g, lr)
        for name in ("b", "c"):
            for j, g in enumerate(grads[name]):
                params[name][j] -= lr * g
    return sgd_step


@pytest.mark.parametrize("fn, mistake, words", [
    (sgd_weights_only(lambda p, g, lr: p - lr * (g + 0.01 * p)), "weight_decay",
     ["0.01 times the parameter's own value"]),
    (sgd_with(lambda p, g, lr, n: p - lr * max(-1.0, min(1.0, g))), "clipped_step",
     ["capped at lr times 1", "clipped"]),
    (sgd_with(lambda p, g, lr, n: p - lr / n * g), "step_over_parameter_count",
     ["0.25 times", "number of parameters"]),
])
def test_sgd_step_named_by_how_it_moves(fn, mistake, words):
    assert_named(exercises.check_sgd_step(fn), mistake, *words)


# ------------------------------------------------ round two: general classes
# (a blind review's misses: right values in the wrong places, rounded, plus a
# number, a sign at one step, a malformed argument handed to a right helper)


def _onehot_bool(y, c):
    return np.arange(len(y)) == c


@pytest.mark.parametrize("fn, mistake, words", [
    (lambda y, c: np.zeros_like(y) * c, "zero", ["0 in every entry"]),
    (lambda y, c: -(y == c).astype(float) / y, "comparison_never_true",
     ["0 in every entry", "a value with a position"]),
    (lambda y, c: np.round(np.where(_onehot_bool(y, c), -1 / y, 0.0), 3), "rounded",
     ["rounded to 3 decimal"]),
])
def test_loss_grad_round_two(fn, mistake, words):
    result = exercises.check_loss_grad(fn)
    assert_named(result, mistake, *words)
    assert "upstream" not in result.message


def _jacobian(y):
    return np.diag(y) - np.outer(y, y)


@pytest.mark.parametrize("fn, mistake, words", [
    (lambda y: np.round(_jacobian(y), 4), "rounded", ["rounded to 4 decimal"]),
    (lambda y: np.diag(y.reshape(-1, 1)) - np.outer(y, y), "plus_constant",
     ["plus the same number in every entry off the diagonal"]),
    (lambda y: np.roll(_jacobian(y), -1, axis=1), "shifted_by_one",
     ["the column after it"]),
])
def test_jacobian_round_two(fn, mistake, words):
    assert_named(exercises.check_softmax_jacobian(fn), mistake, *words)


def _clipped_logit_grad(o, c):
    o = np.clip(np.asarray(o, dtype=float), -50, 50)
    e = np.exp(o)
    g = e / e.sum()
    g[c] -= 1
    return g


def test_logit_grad_changed_large_logits_is_not_a_pass():
    assert_named(exercises.check_logit_grad(_clipped_logit_grad),
                 "large_logits_changed", ["wrong where the logits are large",
                                          "o = [100, 60]"])


def test_forward_one_column_or_row_for_every_unit_is_named():
    col0 = forward_with()
    def forward(params, x, target):      # every hidden unit reads column 0 of W
        W0 = [[row[0]] * len(row) for row in params["W"]]
        return col0({**params, "W": W0}, x, target)
    assert_named(exercises.check_forward(forward), "one_unit_for_all",
                 ["one column of W is read for every hidden unit"])
    fn = forward_with(o_rule=lambda h, V, c: [sum(h[j] * V[0][m] for j in range(len(h)))
                                              + c[m] for m in range(len(c))])
    assert_named(exercises.check_forward(fn), "one_row_for_all",
                 ["one row of V is read for every input"])


def backprop_changed(change):
    right = backprop_with()
    def backprop(params, cache, dl_dy):
        return change(right(params, cache, dl_dy), params, cache)
    return backprop


def _dh_from_dV(d, params, cache):
    dh = [sum(dVj[m] * d["do"][m] for m in range(len(d["do"]))) for dVj in d["V"]]
    h = cache["h"]
    dk = [dh[j] * h[j] * (1 - h[j]) for j in range(len(h))]
    return {**d, "dh": dh, "dk": dk, "b": dk,
            "W": [[xi * g for g in dk] for xi in cache["x"]]}


@pytest.mark.parametrize("change, mistake, words", [
    (lambda d, p, c: {**d, "dk": [-g for g in d["dk"]]}, "flipped_sign",
     ["dl/dh is right; your dl/dk has the wrong sign"]),
    (_dh_from_dV, "gradient_for_weight", ["gradient dV where the weights V belong"]),
    (lambda d, p, c: {**d, "b": list(c["h"])}, "value_for_derivative",
     ["the hidden values h"]),
    (lambda d, p, c: {**d, "c": [round(g, 2) for g in d["c"]]}, "rounded",
     ["your dc is the right one rounded to 2"]),
    (lambda d, p, c: {**d, "W": [row[-1:] + row[:-1] for row in d["W"]]},
     "shifted_by_one", ["your dW: each column holds the right values of the column"
                        " before it"]),
])
def test_backprop_round_two(change, mistake, words):
    assert_named(exercises.check_backprop(backprop_changed(change)), mistake, *words)


def test_backprop_dh_shape_names_no_parameter():
    fn = backprop_changed(lambda d, p, c: {**d, "dh": d["dh"][:-1]})
    result = exercises.check_backprop(fn)
    assert not result.passed
    assert "params['dh']" not in result.message and "one entry per hidden unit" \
        in result.message, result.message


def _backward_from(pick):
    backprop = _right_backprop()

    def loss_grad(y, target):
        return [-1 / y[m] if m == target else 0.0 for m in range(len(y))]

    def backward(params, cache):
        return pick(backprop(params, cache, loss_grad(cache["y"], cache["target"])))
    return backward


@pytest.mark.parametrize("pick, mistake, words", [
    (lambda d: {"W": d["V"], "b": d["b"], "V": d["W"], "c": d["c"]},
     "misnamed_arrays", ["under 'W' the right 'V'", "under 'V' the right 'W'"]),
    (lambda d: {"W": [[round(v, 3) for v in r] for r in d["W"]], "b": d["b"],
                "V": d["V"], "c": d["c"]}, "rounded", ["gradient of W", "rounded"]),
])
def test_backward_round_two(pick, mistake, words):
    assert_named(exercises.check_backward(forward_with(), _backward_from(pick)),
                 mistake, *words)


def test_backward_fixed_handing_a_short_dl_dy_is_named_at_the_caller():
    namespace = {"backprop": _right_backprop()}
    exec("def backward_fixed(params, cache):\n"
         "    p, target = cache['y'], cache['target']\n"
         "    dl_dy = [-1 / p[target]]\n"
         "    d = backprop(params, cache, dl_dy)\n"
         "    return {name: d[name] for name in ('W', 'b', 'V', 'c')}\n", namespace)
    fn = namespace["backward_fixed"]
    assert_named(exercises.check_backward(forward_with(), fn), "malformed_dl_dy",
                 ["has 1 entry, expected", "one per class"])
    assert namespace["backprop"] is not None and namespace["backprop"].__name__ \
        == "backprop"    # the watch is taken off again


def graph_variant(start=0.0, carry="derivative"):
    def graph_backward(nodes, values):
        grads = {name: values[name] if start == "value" else start
                 for name, _, _ in nodes}     # "value": a copy of the values
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
                sent = {"derivative": grads[name], "value": values[name],
                        "input": values[arg], "own": grads[arg]}[carry]
                grads[arg] += sent * slope
        return grads
    return graph_backward


def _plus_one(nodes, values):
    grads = graph_backward_with(reversed, False)(nodes, values)
    return {n: g + (1.0 if n != nodes[-1][0] else 0.0) for n, g in grads.items()}


@pytest.mark.parametrize("fn, mistake, words", [
    (graph_variant(start=1.0), "graph_all_start_at_one", ["starts at 1"]),
    (graph_variant(carry="value"), "graph_value_for_derivative",
     ["its own value times the local slope"]),
    (graph_variant(carry="input"), "graph_value_for_derivative",
     ["each input receives its own value"]),
    (_plus_one, "graph_plus_one", ["the right one plus 1"]),
])
def test_graph_whole_pass_named_before_one_node(fn, mistake, words):
    assert_named(exercises.check_graph_backward(fn), mistake, *words)


def sgd_read(read):
    def sgd_step(params, grads, lr):
        for name in ("W", "V"):
            G = grads[name]
            for i, row in enumerate(params[name]):
                for j in range(len(row)):
                    row[j] -= lr * read(G, i, j)
        for name in ("b", "c"):
            for j, g in enumerate(grads[name]):
                params[name][j] -= lr * g
    return sgd_step


@pytest.mark.parametrize("fn, mistake, words", [
    (sgd_read(lambda G, i, j: G[i][j - 1]), "shifted_by_one",
     ["each column holds the right values of the column before it"]),
    (sgd_read(lambda G, i, j: G[i - 1][j]), "shifted_by_one", ["the row before it"]),
    (sgd_read(lambda G, i, j: G[0][j]), "one_row_for_all", ["of the first row"]),
    (sgd_weights_only(lambda p, g, lr: round(p - lr * g, 3)), "rounded",
     ["rounded to 3 decimal"]),
    (sgd_weights_only(lambda p, g, lr: p - lr * g - 0.001), "plus_constant",
     ["plus the same number"]),
])
def test_sgd_step_round_two(fn, mistake, words):
    assert_named(exercises.check_sgd_step(fn), mistake, *words)


# ---------------------------------------------- round three: general classes
# (a second blind review's misses: a two-case rule with its cases swapped, a
# value made a whole number, how a step relates to lr * g entry by entry)


@pytest.mark.parametrize("fn, mistake, words", [
    (lambda y, c: np.where(_onehot_bool(y, c), 0.0, -1 / y), "cases_swapped",
     ["the two cases are swapped"]),
    (loss_grad_with(lambda y, c: -1 // y[c]), "made_integer", ["rounded down"]),
])
def test_loss_grad_round_three(fn, mistake, words):
    assert_named(exercises.check_loss_grad(fn), mistake, *words)


@pytest.mark.parametrize("fn, mistake, words", [
    (sgd_weights_only(lambda p, g, lr: p - lr * np.sign(g)), "step_sign_only",
     ["moved by exactly lr"]),
    (sgd_weights_only(lambda p, g, lr: p - lr * abs(g)), "step_abs",
     ["moves the wrong way where it is negative"]),
    (sgd_weights_only(lambda p, g, lr: p - lr * g * abs(g)), "step_times_own_size",
     ["g·|g|"]),
    (sgd_with(lambda p, g, lr, n: p - 0.1 * g), "lr_unused",
     ["the step of each of W, b, V, c is 0.1 times the gradient on every case,"
      " whatever lr is"]),
])
def test_sgd_step_round_three(fn, mistake, words):
    assert_named(exercises.check_sgd_step(fn), mistake, *words)


def test_sgd_step_normalised_by_row_is_named():
    def sgd_step(params, grads, lr):
        for name in ("W", "V"):
            for row, grad_row in zip(params[name], grads[name]):
                norm = sum(g * g for g in grad_row) ** 0.5 or 1.0
                for j, g in enumerate(grad_row):
                    row[j] -= lr * g / norm
        for name in ("b", "c"):
            for j, g in enumerate(grads[name]):
                params[name][j] -= lr * g
    assert_named(exercises.check_sgd_step(sgd_step), "step_normalised",
                 ["divided by the length (norm) of its row"])


def test_sgd_step_late_loop_says_which_entries_it_skipped():
    def sgd_step(params, grads, lr):
        for name in ("W", "V"):
            for row, grad_row in zip(params[name], grads[name]):
                for j in range(1, len(grad_row)):
                    row[j] -= lr * grad_row[j]
        for name in ("b", "c"):
            for j, g in enumerate(grads[name]):
                params[name][j] -= lr * g
    assert_named(exercises.check_sgd_step(sgd_step), "some_entries_unchanged",
                 ["the first entry of each row was skipped", "starts one late"])


@pytest.mark.parametrize("pick, words", [
    (lambda y, t: y[-1], ["the last class"]),
    (lambda y, t: y[1], ["class 1 on every case"]),
])
def test_forward_loss_at_a_fixed_class_says_which(pick, words):
    assert_named(exercises.check_forward(forward_with(loss_of=pick)),
                 "loss_other_class", *words)


def _dV_times_slope(d, params, cache):
    h = cache["h"]
    return {**d, "V": [[g * hj * (1 - hj) for g in row]
                       for row, hj in zip(d["V"], h)]}


@pytest.mark.parametrize("change, mistake, words", [
    (_dV_times_slope, "multiplied_by_input",
     ["your dV is the right one multiplied by the sigmoid's slope (one per row)"]),
    (lambda d, p, c: {**d, "W": [[g * xi for g in row]
                                 for row, xi in zip(d["W"], c["x"])]},
     "multiplied_by_input", ["your dW is the right one multiplied by x (one per row)"]),
])
def test_backprop_stage_times_a_forward_value_names_it(change, mistake, words):
    assert_named(exercises.check_backprop(backprop_changed(change)), mistake, *words)


def test_graph_derivatives_started_from_the_values_are_named_as_a_whole_pass():
    result = exercises.check_graph_backward(graph_variant(start="value"))
    assert_named(result, "graph_starts_at_value", ["starts from the node's value"])
    assert "local derivative" not in result.message


def test_graph_pass_that_sends_nothing_does_not_blame_the_visit_alone():
    result = exercises.check_graph_backward(graph_variant(carry="own"))
    assert_named(result, "graph_output_skipped", ["nothing is passed on",
                                                  "which derivative your update reads"])
    assert "does it visit" not in result.message


def test_backward_handing_loss_grad_one_number_is_named_at_the_caller():
    namespace = {"backprop": _right_backprop(),
                 "loss_grad": lambda y, target: [-1 / y[m] if m == target else 0.0
                                                 for m in range(len(y))]}
    exec("def backward(params, cache):\n"
         "    t = cache['target']\n"
         "    d = backprop(params, cache, loss_grad(cache['y'][t], t))\n"
         "    return {name: d[name] for name in ('W', 'b', 'V', 'c')}\n", namespace)
    assert_named(exercises.check_backward(forward_with(), namespace["backward"]),
                 "malformed_y", ["hands to loss_grad", "is one number (a float)"])


def test_backward_handing_loss_grad_a_list_as_the_target_is_named_at_the_caller():
    # a blind student's answer: "c is the class" (notebook 01) read as params["c"]
    namespace = {"backprop": _right_backprop(),
                 "loss_grad": lambda y, target: [-1 / y[m] if m == target else 0.0
                                                 for m in range(len(y))]}
    exec("def backward(params, cache):\n"
         "    d = backprop(params, cache, loss_grad(cache['y'], params['c']))\n"
         "    return {name: d[name] for name in ('W', 'b', 'V', 'c')}\n", namespace)
    assert_named(exercises.check_backward(forward_with(), namespace["backward"]),
                 "malformed_target", ["the target that backward hands to loss_grad",
                                      "is a list of 2 entries"])


def test_backward_fixed_handing_a_long_dl_dy_is_named_though_nothing_raised():
    namespace = {"backprop": _right_backprop()}
    exec("def backward_fixed(params, cache):\n"
         "    p, t = cache['y'], cache['target']\n"
         "    g = [-1 / q for q in p]\n"
         "    dl_dy = [v if i == t else 0.0 for v in g for i in range(len(g))]\n"
         "    d = backprop(params, cache, dl_dy)\n"
         "    return {name: d[name] for name in ('W', 'b', 'V', 'c')}\n", namespace)
    assert_named(exercises.check_backward(forward_with(), namespace["backward_fixed"]),
                 "malformed_dl_dy", ["hands to backprop", "has 4 entries, expected 2"])


def _softmax_of(o):
    e = np.exp(np.asarray(o, dtype=float) - np.max(o))
    return e / e.sum()


def _logit_grad_then(at_c):
    def logit_grad(o, c):
        g = _softmax_of(o)
        g[c] = at_c(g, c)
        return g
    return logit_grad


@pytest.mark.parametrize("fn, mistake, words", [
    (_logit_grad_then(lambda g, c: -1.0), "part_constant",
     ["is -1 in the entry at c on every case"]),
    (lambda o, c: np.where(np.arange(len(o)) == c, _softmax_of(o),
                           _softmax_of(o) - 1), "cases_swapped",
     ["the two cases are swapped"]),
])
def test_logit_grad_round_three(fn, mistake, words):
    assert_named(exercises.check_logit_grad(fn), mistake, *words)


def test_jacobian_missing_factor_is_named():
    def softmax_jacobian(y):
        J = -np.repeat(y[:, None], len(y), axis=1)    # -y_i: y_j forgotten
        np.fill_diagonal(J, y * (1 - y))
        return J
    assert_named(exercises.check_softmax_jacobian(softmax_jacobian), "part_factor",
                 ["misses the factor y_j", "off the diagonal"])


# ---------------------------------------------------------------- round four


def test_logit_grad_shifted_by_the_largest_magnitude_is_caught_at_negative_logits():
    def logit_grad(o, c):
        o = np.asarray(o, dtype=float)
        e = np.exp(o - np.abs(o).max())      # abs(o).max(): not the largest logit
        g = e / e.sum()
        g[c] -= 1
        return g
    with np.errstate(all="ignore"):
        result = exercises.check_logit_grad(logit_grad)
    assert_named(result, "underflow", ["gives [nan", "at o = [-1000, -999]",
                                       "the shift must make the largest logit 0"])


def test_logit_grad_times_y_once_more_is_not_blamed_on_the_normalisation():
    def logit_grad(o, c):
        y = _softmax_of(o)
        onehot = np.zeros(len(o))
        onehot[c] = 1
        return y * (y - onehot)
    result = exercises.check_logit_grad(logit_grad)
    assert_named(result, "part_factor", ["has one too many the factor y_i in every"
                                         " entry"])
    assert "normalisation" not in result.message


def test_graph_walk_that_breaks_at_the_first_input_is_caught():
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
                break                       # where `continue` belongs
            for arg, slope in zip(args, local):
                grads[arg] += grads[name] * slope
        return grads
    assert_named(exercises.check_graph_backward(graph_backward),
                 "graph_stops_at_input", ["stops early: nodes after the first input"
                                          " in your walk get no derivative"])


def test_backward_fixed_keeping_tied_probabilities_is_named_at_the_tie():
    namespace = {"backprop": _right_backprop()}
    exec("def backward_fixed(params, cache):\n"
         "    p, target = cache['y'], cache['target']\n"
         "    dl_dy = [-1 / p_i for p_i in p]\n"
         "    dl_dy = [g if p_i == p[target] else 0.0 for g, p_i in zip(dl_dy, p)]\n"
         "    d = backprop(params, cache, dl_dy)\n"
         "    return {name: d[name] for name in ('W', 'b', 'V', 'c')}\n", namespace)
    assert_named(exercises.check_backward(forward_with(), namespace["backward_fixed"]),
                 "dl_dy_by_probability",
                 ["at y = [0.5, 0.5] your dl/dy", "keeps both entries",
                  "it picks the class by its probability, not by its index"])


@pytest.mark.parametrize("exp, words", [
    (math.exp, ["raised ZeroDivisionError", "[-1000, -999]"]),
    (lambda v: float(np.exp(v)), ["gives a loss of", "[-1000, -999]"]),
])
def test_forward_shifted_by_the_largest_magnitude_is_caught_at_negative_logits(
        exp, words):
    def forward(params, x, target):
        W, b, V, c = params["W"], params["b"], params["V"], params["c"]
        k = [sum(x[i] * W[i][j] for i in range(len(x))) + b[j] for j in range(len(b))]
        h = [sigmoid(kj) for kj in k]
        o = [sum(h[j] * V[j][m] for j in range(len(h))) + c[m] for m in range(len(c))]
        top = max(abs(v) for v in o)           # the largest magnitude, not max(o)
        e = [exp(v - top) for v in o]
        total = sum(e)
        y = [v / total if total or exp is math.exp else math.nan for v in e]
        loss = -math.log(y[target]) if y[target] > 0 else math.nan
        return loss, {"x": x, "k": k, "h": h, "o": o, "y": y, "target": target}
    with np.errstate(all="ignore"):
        result = exercises.check_forward(forward)
    assert_named(result, "underflow", words,
                 "the shift must make the largest logit 0")


# the learning rate each entry's step implies (nb03._implied_rates)

def sgd_decaying_rate(params, grads, lr):
    """lr *= 0.99 inside the loop: each entry takes a smaller step."""
    for name in ("W", "V"):
        for row, grad_row in zip(params[name], grads[name]):
            for j, g in enumerate(grad_row):
                row[j] -= lr * g
                lr *= 0.99
    for name in ("b", "c"):
        for j, g in enumerate(grads[name]):
            params[name][j] -= lr * g
            lr *= 0.99


def sgd_clipped(params, grads, lr):
    """The weights held within [-1, 1] after the step."""
    for name in ("W", "V"):
        for row, grad_row in zip(params[name], grads[name]):
            for j, g in enumerate(grad_row):
                row[j] = max(-1.0, min(1.0, row[j] - lr * g))
    for name in ("b", "c"):
        for j, g in enumerate(grads[name]):
            params[name][j] -= lr * g


def test_a_rate_that_changes_inside_the_step_is_named():
    assert_named(exercises.check_sgd_step(sgd_decaying_rate), "rate_changes_in_step",
                 "a different learning rate for each entry", "changes while the step")


def test_parameters_clipped_after_the_step_are_named():
    assert_named(exercises.check_sgd_step(sgd_clipped), "clipped_after_step",
                 "end at ±1 exactly", "clipped")


def test_an_array_changed_inside_a_tuple_cache_is_not_told_to_build_a_list():
    def sigmoid_backward(dh, cache):
        h = cache[0]
        h *= 1 - h      # writes into the cached array
        return dh * h
    result = exercises.check_sigmoid_layer(lambda k: (1 / (1 + np.exp(-k)),
                                                      (1 / (1 + np.exp(-k)),)),
                                           sigmoid_backward)
    assert result.mistake == "changed_input", result.message
    assert "an array inside" in result.message and "list" not in result.message


def test_biases_stepped_by_lr_alone_are_not_called_clipped_or_a_changing_rate():
    """The implied rates of a step that drops the gradient (lr alone) differ
    from entry to entry and end at one magnitude from zero biases: neither the
    clip nor the in-loop rate change may claim it."""
    def sgd_step(params, grads, lr):
        for name in ("W", "V"):
            for row, grad_row in zip(params[name], grads[name]):
                for j, g in enumerate(grad_row):
                    row[j] -= lr * g
        for name in ("b", "c"):
            for j in range(len(params[name])):
                params[name][j] -= lr
    result = exercises.check_sgd_step(sgd_step)
    assert not result.passed
    assert result.mistake not in ("clipped_after_step", "rate_changes_in_step"), \
        result.message


def test_explained_a_forward_value_the_tables_do_not_know():
    """02's forward: h written as k times its sigmoid (the swish of other
    courses) -- no row names it, the explainer finds it over the cache."""
    from tests.test_exercises_q1_q4 import check_forward, forward, variant
    wrong = variant(forward, "h = [sigmoid(v) for v in k]",
                    "h = [sigmoid(v) * v for v in k]")
    assert_named(check_forward(wrong), "explained",
                 "your cache['h'] from forward is the hidden pre-activations k"
                 " times the hidden values h, entry by entry")


# a vector of another length read against the right one (_diagnose.length_off)

@pytest.mark.parametrize("loss_grad, words", [
    (lambda y, c: [-1 / y[m] if m == c else 0.0 for m in range(len(y) - 1)],
     "the rest are missing"),
    (lambda y, c: [-1 / y[c]], "only the entries that are not 0"),
    (lambda y, c: [0.0] * c + [-1 / y[c]] + [0.0] * (len(y) - c),
     "one more: an entry was inserted"),
])
def test_a_vector_of_another_length_is_read_against_the_right_one(loss_grad, words):
    assert_named(exercises.check_loss_grad(loss_grad), "length_off", words)


def test_rows_that_are_one_list_under_several_names_are_named():
    """dW made as [[0.0] * H] * D: every row is the same list, so the last row
    written wins everywhere (a blind student's answer)."""
    from tests.test_exercises_q1_q4 import backprop, variant
    wrong = variant(backprop, '"W": [[xi * d for d in dk] for xi in x],',
                    '"W": _aliased([[xi * d for d in dk] for xi in x]),')
    wrong.__globals__["_aliased"] = lambda rows: [rows[-1]] * len(rows)
    result = exercises.check_backprop(wrong)
    assert_named(result, "rows_aliased", "one and the same list under several names")


def test_a_backprop_that_runs_past_the_end_is_diagnosed_on_square_networks():
    """dW built from h where x belongs, indexed by the inputs: IndexError when
    there are more inputs than hidden units; on 3-3-3 networks the check's own
    diagnoses name the mistake (a blind student's answer)."""
    from tests.test_exercises_q1_q4 import backprop, variant
    wrong = variant(backprop, '"W": [[xi * d for d in dk] for xi in x]',
                    '"W": [[h[i] * d for d in dk] for i in range(len(x))]')
    result = exercises.check_backprop(wrong)
    assert_named(result, "other_cached_value", "raises IndexError on a network whose"
                 " sizes differ", "on 3-3-3 networks", "cache['h'] where it needs"
                 " cache['x']")
