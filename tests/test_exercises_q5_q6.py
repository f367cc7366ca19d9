"""Q5's explicit Jacobian and Q6's vectorisation: the checks cannot be fooled by
the shortcut or by a Python loop over the rows. Wrong answers are written as a
student would write them, in a notebook-like namespace."""

import numpy as np
import pytest

from coursenet import exercises, mlp
from coursenet.exercises import nb05


def assert_passed(result):
    assert result.passed, result.message
    assert result.message.startswith("✓")


def assert_diagnosed(result, mistake, *words):
    assert not result.passed, result.message
    assert result.message.startswith("✗") and "Hint:" in result.message
    assert result.mistake == mistake, result.message
    for word in words:
        assert word in result.message, (word, result.message)


# --------------------------------------------------------------------------
# Q5: softmax_backward(y, dl_dy), and vector_backward going through it
# --------------------------------------------------------------------------

NOTEBOOK_04 = '''
import numpy as np

def sigmoid(k):
    return 1 / (1 + np.exp(-k))

def forward(params, x, c):
    k = x @ params["W1"] + params["b1"]
    h = sigmoid(k)
    o = h @ params["W2"] + params["b2"]
    e = np.exp(o - o.max())
    y = e / e.sum()
    return -np.log(y[c]), (x, h, y)

def softmax_backward(y, dl_dy):
    J = np.diag(y) - np.outer(y, y)
    return dl_dy @ J

def below_softmax(params, x, h, do):
    dk = (params["W2"] @ do) * h * (1 - h)
    return {"W1": np.outer(x, dk), "b1": dk, "W2": np.outer(h, do), "b2": do}

def dl_dy_of(y, c):
    dy = np.zeros_like(y)
    dy[c] = -1.0 / y[c]
    return dy
'''

VECTOR_BACKWARDS = {
    "right": '''
def vector_backward(params, x, c):
    _, (x, h, y) = forward(params, x, c)
    return below_softmax(params, x, h, softmax_backward(y, dl_dy_of(y, c)))
''',
    "shortcut": '''
def vector_backward(params, x, c):
    _, (x, h, y) = forward(params, x, c)
    do = y.copy()
    do[c] -= 1
    return below_softmax(params, x, h, do)
''',
    "inline_jacobian": '''
def vector_backward(params, x, c):
    _, (x, h, y) = forward(params, x, c)
    J = np.diag(y) - np.outer(y, y)
    return below_softmax(params, x, h, dl_dy_of(y, c) @ J)
''',
    "shortcut_through_it": '''
def vector_backward(params, x, c):
    _, (x, h, y) = forward(params, x, c)
    softmax_backward(y, dl_dy_of(y, c))  # called, but its result is not used
    do = y.copy()
    do[c] -= 1
    return below_softmax(params, x, h, softmax_backward(y, -np.eye(len(y))[c]) * 0
                         + do)
''',
    "jacobian_once": '''
_CALLED = []
def vector_backward(params, x, c):
    _, (x, h, y) = forward(params, x, c)
    if not _CALLED:  # the Jacobian the first time, the shortcut from then on
        _CALLED.append(1)
        return below_softmax(params, x, h, softmax_backward(y, dl_dy_of(y, c)))
    do = y.copy()
    do[c] -= 1
    return below_softmax(params, x, h, do)
''',
    "elementwise": '''
def vector_backward(params, x, c):
    _, (x, h, y) = forward(params, x, c)
    dy = dl_dy_of(y, c)
    return below_softmax(params, x, h, dy * y * (1 - y))
''',
}


def notebook_04(answer):
    space = {}
    exec(NOTEBOOK_04 + VECTOR_BACKWARDS[answer], space)  # noqa: S102
    return space


def test_the_jacobian_path_passes_and_says_so():
    nb = notebook_04("right")
    result = exercises.check_vector_backward(nb["vector_backward"],
                                             uses=nb["softmax_backward"])
    assert_passed(result)
    assert "through softmax_backward" in result.message
    assert nb["softmax_backward"].__name__ == "softmax_backward"  # restored


@pytest.mark.parametrize("answer", ["shortcut", "inline_jacobian"])
def test_right_numbers_without_softmax_backward_do_not_pass(answer):
    nb = notebook_04(answer)
    fn = nb["vector_backward"]
    assert_passed(exercises.check_vector_backward(fn))  # the numbers are right
    assert_diagnosed(exercises.check_vector_backward(fn, uses=nb["softmax_backward"]),
                     "skips_jacobian", "does not call softmax_backward")


def test_the_jacobian_on_the_first_case_only_does_not_pass():
    """Every case must go through softmax_backward, not one call in all."""
    nb = notebook_04("jacobian_once")
    assert_diagnosed(exercises.check_vector_backward(
        nb["vector_backward"], uses=nb["softmax_backward"]), "skips_jacobian",
        "does not call softmax_backward")


def test_calling_softmax_backward_with_another_upstream_gradient_is_named():
    nb = notebook_04("shortcut_through_it")
    assert_diagnosed(exercises.check_vector_backward(
        nb["vector_backward"], uses=nb["softmax_backward"]), "wrong_upstream",
        "not with the loss's own dl/dy")


def test_a_wrong_number_is_diagnosed_before_the_path():
    nb = notebook_04("elementwise")
    assert_diagnosed(exercises.check_vector_backward(
        nb["vector_backward"], uses=nb["softmax_backward"]), "diagonal_only",
        "elementwise")


def test_uses_must_be_visible_to_the_function():
    nb = notebook_04("right")

    def softmax_backward(y, g):  # a different function of the same name
        return g

    assert_diagnosed(exercises.check_vector_backward(nb["vector_backward"],
                                                     uses=softmax_backward),
                     "no_softmax_backward", "cannot see")


def jacobian_matmul(y, dl_dy):
    return (np.diag(y) - np.outer(y, y)).T @ dl_dy


def jacobian_loops(y, dl_dy):
    out = []
    for j in range(len(y)):
        out.append(sum(dl_dy[i] * (y[i] * (i == j) - y[i] * y[j])
                       for i in range(len(y))))
    return out


@pytest.mark.parametrize("fn", [jacobian_matmul, jacobian_loops,
                                lambda y, g: y * (g - g @ y)])
def test_softmax_backward_right_in_any_style(fn):
    assert_passed(exercises.check_softmax_backward(fn))


SOFTMAX_MISTAKES = [
    (lambda y, g: g * y * (1 - y), "diagonal_only", ["only the diagonal"]),
    (lambda y, g: (np.diag(y) + np.outer(y, y)) @ g, "plus_outer", ["wrong sign",
                                                                    "negative"]),
    (lambda y, g: -np.outer(y, y) @ g, "no_diag", ["diagonal part of J is missing",
                                                   "sum to 0"]),
    (lambda y, g: np.diag(y) - np.outer(y, y), "returned_matrix", ["matrix"]),
    (lambda y, g: np.append(g, 0), "wrong_shape", ["expected ("]),
    (lambda y, g: g, "explained", ["is the upstream gradient", "yours sum to"]),
    (lambda y, g: g + y ** 3, "wrong", ["differs from dl/dy·J", "max abs diff",
                                        "yours sum to"]),
]


@pytest.mark.parametrize("fn, mistake, words", SOFTMAX_MISTAKES)
def test_softmax_backward_mistakes_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_softmax_backward(fn), mistake, *words)


# What a Q5/Q6 message must never say: the formula Q5 asks for (review B9), the
# column-vector order or notebook 02's `target` (01's card: rows, c, e_c).
GIVE_AWAYS = ["np.diag", "np.outer", "diag(y) -", "diag(y) +", "y yᵀ", "J @",
              "J·dl/dy", "onehot(target)", "target", "y - onehot", "(P - onehot",
              "outer(", "dh * h", "dW = "]


def no_give_away(message):
    found = [words for words in GIVE_AWAYS if words in message]
    assert not found, (found, message)


@pytest.mark.parametrize("fn", [f for f, _, _ in SOFTMAX_MISTAKES])
def test_softmax_backward_hints_describe_a_property_not_the_formula(fn):
    result = exercises.check_softmax_backward(fn)
    assert not result.passed
    no_give_away(result.message)


def test_the_softmax_check_says_rows_of_j_sum_to_0_with_the_students_number():
    def off_by_y(y, g):  # right plus y: its entries sum to 1 more than 0
        return g @ (np.diag(y) - np.outer(y, y)) + y

    result = exercises.check_softmax_backward(off_by_y)
    assert "must sum to 0" in result.message and "yours sum to 1 on" in result.message


def test_the_softmax_check_says_dl_dy_times_j_in_the_row_order():
    assert "dl/do = dl/dy·J" in exercises.check_softmax_backward(
        lambda y, g: g @ (np.diag(y) - np.outer(y, y))).message


VECTOR_WRONG = ["shortcut_through_it", "elementwise"]


def wrong_class_backward(params, x, c):
    """dl/do subtracts 1 at the next class, not at c."""
    nb = notebook_04("right")
    _, (x, h, y) = nb["forward"](params, x, c)
    do = y - np.eye(len(y))[(c + 1) % len(y)]
    return nb["below_softmax"](params, x, h, do)


def first_layer_off(params, x, c):
    g = mlp.loss_and_grads(params, x[None], np.array([c]))[1]
    return {**g, "W1": g["W1"] * 1.5}


def second_layer_off(params, x, c):
    g = mlp.loss_and_grads(params, x[None], np.array([c]))[1]
    return {**g, "W2": g["W2"] + 0.3}


def all_zero(params, x, c):
    return {k: np.zeros_like(v) for k, v in params.items()}


@pytest.mark.parametrize("fn, mistake", [
    (wrong_class_backward, "wrong_class"), (first_layer_off, "first_layer"),
    (second_layer_off, "second_layer_weights"), (all_zero, "all_zero")])
def test_vector_backward_messages_keep_the_card_and_give_nothing_away(fn, mistake):
    result = exercises.check_vector_backward(fn)
    assert_diagnosed(result, mistake)
    no_give_away(result.message)


@pytest.mark.parametrize("answer", VECTOR_WRONG)
def test_student_04_messages_keep_the_card(answer):
    nb = notebook_04(answer)
    result = exercises.check_vector_backward(nb["vector_backward"],
                                             uses=nb["softmax_backward"])
    assert not result.passed
    no_give_away(result.message)


def test_every_known_q5_q6_mistake_speaks_of_c_and_states_no_formula():
    from coursenet.exercises._networks import _BATCH_LOSS_MISTAKES, _network_mistakes
    mistakes = [*_network_mistakes(True, cls="c"),
                *_network_mistakes(False, batched=True, cls="c"), *_BATCH_LOSS_MISTAKES]
    assert len(mistakes) > 50
    for m in mistakes:
        text = m.diagnosis + " Hint: " + (m.hint if isinstance(m.hint, str) else "")
        no_give_away(text.replace("`if c:`", ""))
        assert "[:, y]" not in text and ", y]" not in text, text  # labels are c


def test_softmax_backward_is_checked_with_upstream_gradients_that_are_not_one_hot():
    def shortcut(y, dl_dy):  # y - onehot(c), with c read off the one-hot dl/dy
        c = int(np.argmin(dl_dy))
        return y - np.eye(len(y))[c]

    result = exercises.check_softmax_backward(shortcut)
    assert not result.passed, result.message


# --------------------------------------------------------------------------
# Q6: a Python loop over the rows gives right numbers but is not vectorised
# --------------------------------------------------------------------------


def forward_batch(params, X, c):
    K = X @ params["W1"] + params["b1"]
    H = 1 / (1 + np.exp(-K))
    O = H @ params["W2"] + params["b2"]
    Z = O - O.max(axis=1, keepdims=True)
    logsum = np.log(np.exp(Z).sum(axis=1))
    P = np.exp(Z - logsum[:, None])
    return np.mean(logsum - Z[np.arange(len(c)), c]), (X, H, P)


def batched_vectorised(params, X, c):
    loss, (X, H, P) = forward_batch(params, X, c)
    dO = P.copy()
    dO[np.arange(len(c)), c] -= 1
    dO /= len(c)
    dK = dO @ params["W2"].T * H * (1 - H)
    return loss, {"W1": X.T @ dK, "b1": dK.sum(0), "W2": H.T @ dO, "b2": dO.sum(0)}


def batched_loop(params, X, c):
    """The forward pass given, the backward one row at a time (right numbers)."""
    loss, (X, H, P) = forward_batch(params, X, c)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    for n in range(len(c)):
        do = P[n].copy()
        do[c[n]] -= 1
        do /= len(c)
        dk = params["W2"] @ do * H[n] * (1 - H[n])
        grads["W2"] += np.outer(H[n], do)
        grads["b2"] += do
        grads["W1"] += np.outer(X[n], dk)
        grads["b1"] += dk
    return loss, grads


def test_a_vectorised_answer_passes_with_its_speed_up():
    result = exercises.check_batched_backward(batched_vectorised)
    assert_passed(result)
    assert "vectorised: " in result.message and "lines of your Python" in result.message


def test_a_loop_over_the_rows_is_not_vectorised():
    assert_diagnosed(exercises.check_batched_backward(batched_loop),
                     "not_vectorised", "not vectorised", "lines of your Python",
                     "no Python loop over the rows")


def test_slow_work_with_the_same_lines_is_not_called_a_loop(monkeypatch):
    """Round 15's 05-fu-1: an (N, 1) + (N,) broadcast grows as N × N and made
    the check slow with no loop. Here the CPU limit is set below anything, so
    that a right answer's equal line counts choose the message (the time it
    takes is the machine's, not the test's)."""
    from coursenet.exercises import nb05
    monkeypatch.setattr(nb05, "LOOP_CPU_SECONDS", -1.0)
    assert_diagnosed(exercises.check_batched_backward(batched_vectorised),
                     "not_vectorised", "no loop the line counter sees",
                     "an array that grows as N × N")


@pytest.mark.slow  # make check leaves it to make test (pyproject: markers)
def test_a_row_function_given_to_numpy_is_a_loop_too():
    def one_row(row, params):                 # the student's per-row helper
        return row @ params["W1"]

    def batched_apply(params, X, c):
        np.apply_along_axis(one_row, 1, X, params)
        return batched_vectorised(params, X, c)

    assert_diagnosed(exercises.check_batched_backward(batched_apply),
                     "not_vectorised")


def test_the_loop_is_still_right_without_the_vectorisation_check():
    assert_passed(exercises.check_batched_backward(batched_loop, vectorised=False))


def test_lines_are_counted_not_timed():
    """The count is exact and repeatable: a loop's grows by a line or more per
    row, a whole-batch version's not at all; numpy's own Python is not counted."""
    small, large = (nb05.python_lines_run(batched_vectorised, n) for n in (8, 64))
    assert small == large > 0
    small, large = (nb05.python_lines_run(batched_loop, n) for n in (8, 64))
    assert large - small >= 56


def test_package_reference_counts_as_vectorised():
    assert_passed(exercises.check_batched_backward(mlp.loss_and_grads))


# --------------------------------------------------------------------------
# Q5/Q6 mistakes a student review found with generic messages
# --------------------------------------------------------------------------

def _layers_net(sigmoid_slope=None, ce_backward=None):
    """vector_backward built from one-instance layer pairs, as notebook 04's
    student writes it, with one pair swapped for a wrong one."""
    def lin_f(x, W, b):
        return x @ W + b, (x, W)

    def lin_b(dout, cache):
        x, W = cache
        return dout @ W.T, np.outer(x, dout), dout

    def sig_f(k):
        h = 1 / (1 + np.exp(-k))
        return h, h

    def sig_b(dh, h):
        return dh * (sigmoid_slope(h) if sigmoid_slope else h * (1 - h))

    def sm_f(o):
        e = np.exp(o - o.max())
        y = e / e.sum()
        return y, y

    def sm_b(dy, y):
        return dy @ (np.diag(y) - np.outer(y, y))

    def ce_f(y, c):
        return -np.log(y[c]), (y, c)

    def ce_b(dloss, cache):
        y, c = cache
        dy = np.zeros_like(y)
        dy[c] = -dloss / y[c]
        return dy

    def vector_backward(params, x, c):
        rows = [(lin_f, lin_b, ("W1", "b1")), (sig_f, sig_b, ()),
                (lin_f, lin_b, ("W2", "b2")), (sm_f, sm_b, ()),
                (lambda y: ce_f(y, c), ce_backward or ce_b, ())]
        out, caches = x, []
        for f, _, names in rows:
            out, cache = f(out, *(params[n] for n in names))
            caches.append(cache)
        grads, dout = {}, 1.0
        for (_, b, names), cache in zip(reversed(rows), reversed(caches)):
            if names:
                dout, *d = b(dout, cache)
                grads.update(zip(names, d))
            else:
                dout = b(dout, cache)
        return grads

    return vector_backward


def _ce_backward_into_y(dloss, cache):
    y, c = cache
    value = -dloss / y[c]
    dy = y            # the softmax's output itself, which its cache holds too
    dy[:] = 0
    dy[c] = value
    return dy


def test_the_layers_net_itself_passes():
    assert_passed(exercises.check_vector_backward(_layers_net()))


def test_sigma_written_as_h_is_named_in_04_as_in_02():
    result = exercises.check_vector_backward(_layers_net(sigmoid_slope=lambda h: h))
    assert_diagnosed(result, "sigma_as_h", "written as h", "slope")


def test_a_loss_backward_that_writes_into_y_is_named():
    result = exercises.check_vector_backward(_layers_net(
        ce_backward=_ce_backward_into_y))
    assert_diagnosed(result, "cache_overwritten", "cache")
    assert "max abs diff" not in result.message


def test_the_batched_pair_hints_give_no_code():
    def swapped(params, X, c):
        loss, grads = mlp.loss_and_grads(params, X, c)
        return grads, loss

    result = exercises.check_batched_backward(swapped)
    assert_diagnosed(result, "wrong_type", "wrong order")
    assert "return loss, grads" not in result.message


def test_a_batched_backward_returning_lists_is_named():
    def as_lists(params, X, c):
        loss, grads = mlp.loss_and_grads(params, X, c)
        return loss, {k: v.tolist() for k, v in grads.items()}

    assert_diagnosed(exercises.check_batched_backward(as_lists), "returned_list",
                     "list")


def test_an_identity_softmax_step_in_the_batched_network_is_named():
    from coursenet import losses

    def batched_identity_softmax(params, X, c):
        logits, cache = mlp.forward(params, X)
        P = losses.softmax(logits)
        rows = np.arange(len(c))
        dP = np.zeros_like(P)
        dP[rows, c] = -1 / (len(c) * P[rows, c])
        dO = dP                      # the softmax step passes dP on unchanged
        return losses.cross_entropy(logits, c), mlp.backward(dO, cache)

    assert_diagnosed(exercises.check_batched_backward(batched_identity_softmax),
                     "softmax_identity", "identity")


def test_nan_gradients_are_named_not_finite_with_the_entry():
    def batched_nan(params, X, c):
        loss, grads = mlp.loss_and_grads(params, X, c)
        grads["W2"] = grads["W2"].copy()
        grads["W2"][0, 1] = np.nan
        return loss, grads

    assert_diagnosed(exercises.check_batched_backward(batched_nan), "not_finite",
                     "['W2'][0, 1] is nan")


def test_inf_gradients_of_vector_backward_are_named_not_finite():
    def vector_inf(params, x, c):
        grads = mlp.loss_and_grads(params, x[None], np.array([c]))[1]
        return {**grads, "b1": np.full_like(grads["b1"], np.inf)}

    assert_diagnosed(exercises.check_vector_backward(vector_inf), "not_finite",
                     "['b1'][0] is inf")


# --- a wrong layer list in batched_backward: named by the loss it gives -----

def _composed(*steps, scale=1.0):
    """batched_backward whose forward runs ``steps`` (a layer list written
    wrong); the gradients are the right ones, so the loss must name it."""
    def batched(params, X, c):
        Z = X * scale
        for step in steps:
            if step == "lin1":
                Z = Z @ params["W1"] + params["b1"]
            elif step == "lin2":
                Z = Z @ params["W2"] + params["b2"]
            elif step == "sig":
                Z = 1 / (1 + np.exp(-Z))
            else:
                E = np.exp(Z - Z.max(axis=1, keepdims=True))
                Z = E / E.sum(axis=1, keepdims=True)
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        P = E / E.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(P[np.arange(len(c)), c]))
        return loss, batched_vectorised(params, X, c)[1]
    return batched


def _centred_input(params, X, c):
    loss = forward_batch(params, X - X.mean(axis=0), c)[0]
    return loss, batched_vectorised(params, X, c)[1]


def _relabelled(change):
    def batched(params, X, c):
        loss = forward_batch(params, X, change(c, params["W2"].shape[1]))[0]
        return loss, batched_vectorised(params, X, c)[1]
    return batched


def _stale_labels():
    kept = {}

    def batched(params, X, c):
        kept.setdefault("c", c)  # the labels of the first call, kept
        loss = forward_batch(params, X, np.resize(kept["c"], len(c)))[0]
        return loss, batched_vectorised(params, X, c)[1]
    return batched


@pytest.mark.parametrize("fn, mistake, words", [
    (_composed("lin1", "lin2"), "no_sigmoid", ["without the sigmoid"]),
    (_composed("lin1", "sig", "lin2", "soft"), "softmax_twice", ["twice"]),
    (_composed("lin1", "lin2", "sig"), "layers_reordered", ["wrong order"]),
    (_composed("lin1", "sig", "lin2", "sig"), "extra_sigmoid", ["second sigmoid"]),
    (_composed("lin1", "sig", "lin2", scale=1 / 255), "input_scaled", ["1/255"]),
    (_centred_input, "input_centred", ["centres the X it is given"]),
    (_stale_labels(), "stale_labels", ["labels c change"]),
    (_relabelled(lambda c, C: (c - 1) % C), "labels_changed", ["labels c - 1"]),
    (_relabelled(lambda c, C: np.sort(c)), "labels_changed", ["sorted"]),
    (_relabelled(lambda c, C: c[::-1]), "labels_changed", ["reverse order"]),
])
def test_a_wrong_layer_list_is_named_by_its_loss(fn, mistake, words):
    result = exercises.check_batched_backward(fn)
    assert_diagnosed(result, mistake, *words)
    assert "mean of its rows' losses" not in result.message


# --------------------------------------------------------------------------
# Q6 pairs: slips named by probes of nb05 (round 7 of the blind walk)
# --------------------------------------------------------------------------

def _soft_fwd(O):
    E = np.exp(O - O.max(axis=1, keepdims=True))
    Y = E / E.sum(axis=1, keepdims=True)
    return Y, Y


def _soft_back_rows_for_classes(dY, Y):
    """The diagonal indexed by the row count where the classes belong."""
    N, C = Y.shape
    J = np.zeros((N, C, C))
    idx = np.arange(N)
    J[:, idx, idx] = Y
    J -= Y[:, :, None] * Y[:, None, :]
    return np.einsum("nc,ncd->nd", dY, J)


def _ce_fwd(Y, c):
    return -np.mean(np.log(Y[np.arange(len(c)), c])), (Y, c)


def _ce_back(dl, cache):
    Y, c = cache
    g = np.zeros_like(Y)
    g[np.arange(len(c)), c] = -dl / (len(c) * Y[np.arange(len(c)), c])
    return g


def _ce_back_eye_of_rows(dl, cache):
    """The one-hot rows built with as many columns as the batch has rows."""
    Y, c = cache
    T = np.eye(Y.shape[0])[c]
    return -dl * T / Y / len(c)


def _ce_loss(aggregate):
    def forward(Y, c):
        return aggregate(Y[np.arange(len(c)), c], Y), (Y, c)
    return forward


@pytest.mark.parametrize("check, forward, backward", [
    (exercises.check_softmax_layer_batch, _soft_fwd, _soft_back_rows_for_classes),
    (exercises.check_cross_entropy_batch, _ce_fwd, _ce_back_eye_of_rows),
])
def test_a_row_count_where_the_classes_belong_is_named(check, forward, backward):
    result = check(forward, backward)
    assert_diagnosed(result, "sizes_confused", "as many rows as classes",
                     "number of rows", "number of classes")


@pytest.mark.parametrize("aggregate, mistake, words", [
    (lambda p, Y: -np.log(p.mean()), "log_of_mean",
     ["log of the mean probability", "not the mean of the rows' own losses"]),
    (lambda p, Y: -np.log(p).sum() / Y.shape[1], "size_factor",
     ["times N/C", "number of classes C", "number of rows N"]),
    (lambda p, Y: -np.log(p).mean() / len(p), "size_factor",
     ["times 1/N", "divided by the number of rows N twice"]),
])
def test_a_batch_loss_aggregated_otherwise_is_named(aggregate, mistake, words):
    result = exercises.check_cross_entropy_batch(_ce_loss(aggregate), _ce_back)
    assert_diagnosed(result, mistake, *words)


def _soft_back_times_rows_over_classes(dY, Y):
    return _soft_back_rows_ok(dY, Y) * len(Y) / Y.shape[1]


def test_a_gradient_off_by_a_ratio_of_the_sizes_is_named():
    result = exercises.check_softmax_layer_batch(
        _soft_fwd, _soft_back_times_rows_over_classes)
    assert_diagnosed(result, "size_factor", "the gradient from", "times N/C",
                     "divided by the number of classes C and multiplied by the"
                     " number of rows N", "has no size of the batch in it")


def test_the_right_pairs_still_pass_the_size_probes():
    assert_passed(exercises.check_softmax_layer_batch(_soft_fwd, _soft_back_rows_ok))
    assert_passed(exercises.check_cross_entropy_batch(_ce_fwd, _ce_back))


def _soft_back_rows_ok(dY, Y):
    N, C = Y.shape
    J = np.zeros((N, C, C))
    idx = np.arange(C)
    J[:, idx, idx] = Y
    J -= Y[:, :, None] * Y[:, None, :]
    return np.einsum("nc,ncd->nd", dY, J)


def test_gradients_keyed_in_another_order_are_named_by_the_shape_they_hold():
    def batched_rekeyed(params, X, c):
        loss, grads = batched_vectorised(params, X, c)
        return loss, dict(zip(["W1", "W2", "b1", "b2"], grads.values()))

    result = exercises.check_batched_backward(batched_rekeyed)
    assert result.mistake == "wrong_shape", result.message
    assert "is the shape of W2, so W2's gradient is stored under" \
        in result.message, result.message


def test_rounding_noise_in_a_gradient_that_is_zero_is_not_called_float32():
    """The course's W1 and b1 gradients are exactly 0: a right answer that
    sums in another order may leave 1e-17 there, which is float64's rounding
    against the case's other gradients, not float32's."""
    def batched_noisy(params, X, c):
        loss, grads = mlp.loss_and_grads(params, X, c)
        return loss, {k: v + (1e-17 if not np.any(v) else 0.0)
                      for k, v in grads.items()}

    assert_passed(exercises.check_batched_backward(batched_noisy, vectorised=False))


def test_a_rounded_batch_loss_is_named_though_within_tolerance():
    """Round 18: round(loss, 4) passed the loss's tolerance."""
    def rounded(params, X, c):
        loss, grads = batched_vectorised(params, X, c)
        return round(float(loss), 4), grads

    assert_diagnosed(exercises.check_batched_backward(rounded), "rounded",
                     "rounded to 4 decimal")
