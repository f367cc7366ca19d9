"""Wrong answers written as a student would (a walkthrough for issue 23), each
named by its check: notebooks 01-03. Every row says which mistake id the check
must report; none may pass."""
# ruff: noqa: E501, E701, E702, E741
import math

import numpy as np
import pytest

from coursenet import exercises
from coursenet.exercises import _core

ROWS = []


def run(label, check, *args):
    ROWS.append((label, check, args))


# ---- 01 loss_grad
def lg_scalar(y, c): return -1 / y[c]
def lg_int(y, c):
    g = np.zeros(len(y), dtype=int); g[c] = -1 / y[c]; return g
def lg_log10(y, c):
    g = np.zeros(len(y)); g[c] = -1 / (y[c] * np.log(10)); return g
def lg_list_mut(y, c):
    g = y; g[:] = 0; g[c] = -1 / 0.5; return g
def lg_loop_forever(y, c):
    g = np.zeros(len(y)); i = 0
    while i < len(y):
        if i == c: g[i] = -1 / y[i]
    return g
def lg_col(y, c): g = np.zeros((len(y), 1)); g[c] = -1 / y[c]; return g
def lg_one_minus(y, c): g = np.zeros(len(y)); g[c] = -(1 - y[c]); return g
def lg_all_minus_log(y, c): return -np.log(y)
def lg_div_y_sq(y, c): g = np.zeros(len(y)); g[c] = -1 / y[c] ** 2; return g
def lg_returns_none(y, c): g = np.zeros(len(y)); g[c] = -1 / y[c]
for f in [lg_scalar, lg_int, lg_log10, lg_list_mut, lg_loop_forever, lg_col, lg_one_minus, lg_all_minus_log, lg_div_y_sq, lg_returns_none]:
    run("01 loss_grad " + f.__name__, exercises.check_loss_grad, f)
# ---- 01 jacobian
def j_outer_pos(y): return np.diag(y) + np.outer(y, y)
def j_no_diag_term(y): return -np.outer(y, y)
def j_1d(y): return y * (1 - y)
def j_eye_minus(y): return np.eye(len(y)) - np.outer(y, y)
def j_yi_1_minus_yi_all(y): return np.tile((y * (1 - y))[:, None], (1, len(y)))
def j_half(y): return 0.5 * (np.diag(y) - np.outer(y, y))
def j_list(y):
    C = len(y); return [[y[i] * (1 - y[i]) if i == j else -y[i] * y[j] for j in range(C)] for i in range(C - 1)]
def j_diag_minus_y2(y): return np.diag(y - y ** 2)
for f in [j_outer_pos, j_no_diag_term, j_1d, j_eye_minus, j_yi_1_minus_yi_all, j_half, j_list, j_diag_minus_y2]:
    run("01 jacobian " + f.__name__, exercises.check_softmax_jacobian, f)
# ---- 01 logit_grad
def og_naive(o, c):
    y = np.exp(o) / np.exp(o).sum(); y[c] -= 1; return y
def og_min(o, c):
    e = np.exp(o - o.min()); y = e / e.sum(); y[c] -= 1; return y
def og_mutate(o, c):
    o -= o.max(); e = np.exp(o); y = e / e.sum(); y[c] -= 1; return y
def og_plus(o, c):
    e = np.exp(o - o.max()); y = e / e.sum(); y[c] += 1; return y
def og_row(o, c):
    e = np.exp(o - o.max()); y = e / e.sum(); y[c] -= 1; return y[None]
def og_logsoftmax(o, c):
    return o - o.max() - np.log(np.exp(o - o.max()).sum())
def og_staged(o, c):
    e = np.exp(o - o.max()); y = e / e.sum(); g = np.zeros(len(y)); g[c] = -1 / y[c]
    J = np.diag(y) - np.outer(y, y); return g @ J
def og_minus_c(o, c):
    e = np.exp(o - o.max()); y = e / e.sum(); return y - c
for f in [og_naive, og_min, og_mutate, og_plus, og_row, og_logsoftmax, og_staged, og_minus_c]:
    run("01 logit_grad " + f.__name__, exercises.check_logit_grad, f)

# ---- 02 forward variants
def sig(k): return 1 / (1 + math.exp(-k))
def make_fwd(no_b=False, act=sig, o_from_k=False, no_c=False, norm=True, log=math.log, store_h_as_k=False, relu=False):
    def forward(params, x, target):
        W, b, V, c = params["W"], params["b"], params["V"], params["c"]
        k = [sum(x[i] * W[i][j] for i in range(len(x))) + (0 if no_b else b[j]) for j in range(len(b))]
        h = [max(0.0, kj) if relu else act(kj) for kj in k]
        src = k if o_from_k else h
        o = [sum(src[j] * V[j][m] for j in range(len(h))) + (0 if no_c else c[m]) for m in range(len(c))]
        e = [math.exp(v - max(o)) for v in o]
        y = [v / sum(e) for v in e] if norm else [math.exp(v) for v in o]
        loss = -log(y[target])
        return loss, {"x": x, "k": k, "h": k if store_h_as_k else h, "o": o, "y": y, "target": target}
    forward.__name__ = "forward"
    return forward
good_fwd = make_fwd()
for label, f in [("no_b", make_fwd(no_b=True)), ("tanh", make_fwd(act=math.tanh)), ("o_from_k", make_fwd(o_from_k=True)),
                 ("no_c", make_fwd(no_c=True)), ("not_normalised", make_fwd(norm=False)), ("log2", make_fwd(log=math.log2)),
                 ("relu", make_fwd(relu=True)), ("h_is_k", make_fwd(store_h_as_k=True))]:
    run("02 forward " + label, exercises.check_forward, f)
def fwd_tuple_cache(params, x, target):
    loss, cache = good_fwd(params, x, target); return loss, tuple(cache.values())
run("02 forward tuple cache", exercises.check_forward, fwd_tuple_cache)
# ---- 02 backprop variants
def make_bp(do_mode="J", dh_mode="sum", dk_mode="h", dV_T=False, dW_from="x", no_dy=False):
    def backprop(params, cache, dl_dy):
        V = params["V"]; x, h, y, k = cache["x"], cache["h"], cache["y"], cache["k"]
        C = len(y)
        J = [[y[i] * ((1.0 if i == m else 0.0) - y[m]) for m in range(C)] for i in range(C)]
        if do_mode == "J": do = [sum(dl_dy[i] * J[i][m] for i in range(C)) for m in range(C)]
        elif do_mode == "JT_wrong_index": do = [sum(dl_dy[i] * J[m][i] for i in range(C)) for m in range(C)]
        elif do_mode == "shortcut": do = [y[m] - (1.0 if m == cache["target"] else 0.0) for m in range(C)]
        elif do_mode == "times_y": do = [dl_dy[m] * y[m] for m in range(C)]
        if dh_mode == "sum": dh = [sum(V[j][m] * do[m] for m in range(C)) for j in range(len(h))]
        elif dh_mode == "first": dh = [V[j][0] * do[0] for j in range(len(h))]
        dk = [dh[j] * (h[j] * (1 - h[j]) if dk_mode == "h" else k[j] * (1 - k[j]) if dk_mode == "k" else h[j]) for j in range(len(h))]
        dV = [[h[j] * do[m] for j in range(len(h))] for m in range(C)] if dV_T else [[h[j] * do[m] for m in range(C)] for j in range(len(h))]
        dW = [[x[i] * dk[j] for j in range(len(dk))] for i in range(len(x))] if dW_from == "x" else [[dk[j] for j in range(len(dk))] for i in range(len(x))]
        out = {"dy": list(dl_dy), "do": do, "dh": dh, "dk": dk, "W": dW, "b": list(dk), "V": dV, "c": list(do)}
        if no_dy: del out["dy"]
        return out
    backprop.__name__ = "backprop"; return backprop
for label, kw in [("shortcut", dict(do_mode="shortcut")), ("times_y", dict(do_mode="times_y")), ("dh first only", dict(dh_mode="first")),
                  ("dk from k", dict(dk_mode="k")), ("dk times h", dict(dk_mode="hh")), ("dV transposed", dict(dV_T=True)),
                  ("dW no x", dict(dW_from="none")), ("no dy key", dict(no_dy=True))]:
    run("02 backprop " + label, exercises.check_backprop, make_bp(**kw))
def bp_nan(params, cache, dl_dy):
    out = make_bp()(params, cache, dl_dy); out["dk"] = [float("nan")] * len(out["dk"]); return out
run("02 backprop nan", exercises.check_backprop, bp_nan)
# ---- 02 graph
def gb(nodes, values, mode=""):
    grads = {n: 0.0 for n, _, _ in nodes}
    grads[nodes[-1][0]] = 1.0
    walk = nodes if mode == "fwd" else nodes[::-1]
    for name, op, args in walk:
        if op == "add": local = [1.0] * len(args)
        elif op == "mul": local = [values[args[1]], values[args[0]]] if mode != "own" else [values[args[0]], values[args[1]]]
        elif op == "sigmoid": local = [values[name] * (1 - values[name])] if mode != "sigk" else [values[args[0]] * (1 - values[args[0]])]
        else: local = []
        for a, s in zip(args, local):
            if mode == "overwrite": grads[a] = grads[name] * s
            elif mode == "nochain": grads[a] += s
            else: grads[a] += grads[name] * s
    if mode == "inputs_only": return {n: g for (n, op, _), g in zip(nodes, grads.values()) if op == "input"}
    if mode == "list": return list(grads.values())
    if mode == "sigmoid_value": pass
    return grads
for mode in ["overwrite", "fwd", "nochain", "sigk", "own", "inputs_only", "list"]:
    run("02 graph " + mode, exercises.check_graph_backward, lambda n, v, m=mode: gb(n, v, m))
def gb_mul_sum(nodes, values):  # mul local taken as 1 like add
    grads = {n: 0.0 for n, _, _ in nodes}; grads[nodes[-1][0]] = 1.0
    for name, op, args in reversed(nodes):
        local = [1.0] * len(args) if op in ("add", "mul") else ([values[name] * (1 - values[name])] if op == "sigmoid" else [])
        for a, s in zip(args, local): grads[a] += grads[name] * s
    return grads
run("02 graph mul as add", exercises.check_graph_backward, gb_mul_sum)
def gb_sig_no_deriv(nodes, values):
    grads = {n: 0.0 for n, _, _ in nodes}; grads[nodes[-1][0]] = 1.0
    for name, op, args in reversed(nodes):
        local = [1.0] * len(args) if op in ("add", "sigmoid") else ([values[args[1]], values[args[0]]] if op == "mul" else [])
        for a, s in zip(args, local): grads[a] += grads[name] * s
    return grads
run("02 graph sigmoid slope missing", exercises.check_graph_backward, gb_sig_no_deriv)
# ---- 03 sgd
def sgd_grads_of_V_for_W(params, grads, lr):
    for name in params:
        for i, row in enumerate(params[name]):
            if isinstance(row, list):
                for j in range(len(row)): row[j] -= lr * grads[name][i][j]
            else: params[name][i] -= lr * grads[name][i]
    params["b"][0] += 0.0
def sgd_numpy_replace(params, grads, lr):
    for name in params: params[name] = (np.array(params[name]) - lr * np.array(grads[name])).tolist()
def sgd_half(params, grads, lr):
    for name in params:
        for i, row in enumerate(params[name]):
            if isinstance(row, list):
                for j in range(len(row)): row[j] -= 0.5 * lr * grads[name][i][j]
            else: params[name][i] -= 0.5 * lr * grads[name][i]
def sgd_only_W(params, grads, lr):
    for i, row in enumerate(params["W"]):
        for j in range(len(row)): row[j] -= lr * grads["W"][i][j]
def sgd_mutates_grads(params, grads, lr):
    for name in params:
        for i, row in enumerate(params[name]):
            if isinstance(row, list):
                for j in range(len(row)): grads[name][i][j] *= lr; row[j] -= grads[name][i][j]
            else: grads[name][i] *= lr; params[name][i] -= grads[name][i]
def sgd_forever(params, grads, lr):
    while True: pass
for f in [sgd_half, sgd_only_W, sgd_mutates_grads, sgd_forever]:
    run("03 sgd " + f.__name__, exercises.check_sgd_step, f)

run("02 forward sigmoid of -k", exercises.check_forward,
    make_fwd(act=lambda k: 1 / (1 + math.exp(k))))


def gb_no_seed(nodes, values):
    grads = {n: 0.0 for n, _, _ in nodes}  # the output's own 1 is never set
    for name, op, args in reversed(nodes):
        local = [1.0] * len(args) if op == "add" else (
            [values[args[1]], values[args[0]]] if op == "mul" else
            [values[name] * (1 - values[name])] if op == "sigmoid" else [])
        for a, s in zip(args, local):
            grads[a] += grads[name] * s
    return grads


run("02 graph no seed", exercises.check_graph_backward, gb_no_seed)

EXPECTED = {
    "02 forward sigmoid of -k": "forward_sigmoid_sign",
    "02 graph no seed": "graph_seed",
    '01 loss_grad lg_scalar': 'wrong_shape',
    '01 loss_grad lg_int': 'int_array',
    '01 loss_grad lg_log10': 'log_base',
    '01 loss_grad lg_list_mut': 'changed_input',
    '01 loss_grad lg_loop_forever': 'too_slow',
    '01 loss_grad lg_col': 'extra_axis',
    '01 loss_grad lg_one_minus': 'logit_grad',
    '01 loss_grad lg_all_minus_log': 'loss_value',
    '01 loss_grad lg_div_y_sq': 'squared',
    '01 loss_grad lg_returns_none': 'returned_none',
    '01 jacobian j_outer_pos': 'offdiagonal_sign',
    '01 jacobian j_no_diag_term': 'outer_only',
    '01 jacobian j_1d': 'elementwise',
    '01 jacobian j_eye_minus': 'eye_minus',
    '01 jacobian j_yi_1_minus_yi_all': 'one_minus_everywhere',
    '01 jacobian j_half': 'scaled',
    '01 jacobian j_list': 'wrong_shape',
    '01 jacobian j_diag_minus_y2': 'diagonal_only',
    '01 logit_grad og_naive': 'overflow',
    '01 logit_grad og_min': 'overflow',
    '01 logit_grad og_mutate': 'changed_input',
    '01 logit_grad og_plus': 'plus_onehot',
    '01 logit_grad og_row': 'extra_axis',
    '01 logit_grad og_logsoftmax': 'log_softmax',
    '01 logit_grad og_staged': 'overflow',
    '01 logit_grad og_minus_c': 'minus_c',
    '02 forward no_b': 'forward_no_b',
    '02 forward tanh': 'forward_tanh',
    '02 forward o_from_k': 'forward_o_from_k',
    '02 forward no_c': 'forward_no_c',
    '02 forward not_normalised': 'forward_not_normalised',
    '02 forward log2': 'loss_log_base',
    '02 forward relu': 'forward_relu',
    '02 forward h_is_k': 'cache_h_is_k',
    '02 forward tuple cache': 'cache_not_dict',
    '02 backprop shortcut': 'ignores_dl_dy',
    '02 backprop times_y': 'do_times_y',
    '02 backprop dh first only': 'dh_one_logit',
    '02 backprop dk from k': 'sigmoid_from_k',
    '02 backprop dk times h': 'dk_times_h',
    '02 backprop dV transposed': 'wrong_shape',
    '02 backprop dW no x': 'dW_missing_input',
    '02 backprop no dy key': 'wrong_keys',
    '02 backprop nan': 'not_finite',
    '02 graph overwrite': 'graph_overwrite',
    '02 graph fwd': 'graph_forward_order',
    '02 graph nochain': 'graph_no_chain',
    '02 graph sigk': 'sigmoid_from_k',
    '02 graph own': 'graph_mul_own',
    '02 graph inputs_only': 'wrong_keys',
    '02 graph list': 'wrong_type',
    '02 graph mul as add': 'graph_mul_as_add',
    '02 graph sigmoid slope missing': 'graph_sigmoid_slope',
    '03 sgd sgd_half': 'step_scaled',
    '03 sgd sgd_only_W': 'skips_some',
    '03 sgd sgd_mutates_grads': 'changed_input',
    '03 sgd sgd_forever': 'too_slow',
}


@pytest.fixture
def short_limit(monkeypatch):
    monkeypatch.setattr(_core, "TIME_LIMIT", 1.0)


@pytest.mark.parametrize("label, check, args", ROWS, ids=[r[0] for r in ROWS])
def test_a_students_mistake_is_named(short_limit, label, check, args):
    result = check(*args)
    assert result.status == "failed", result.message
    assert result.mistake == EXPECTED[label], result.message
