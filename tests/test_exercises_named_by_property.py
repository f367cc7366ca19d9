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
     ["never passes the output's derivative on"]),
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
