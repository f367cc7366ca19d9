"""The layer pairs of notebooks 04 and 05 and the loop that runs them in reverse.

Right answers pass in any reasonable style; wrong ones, written as a student
would write them, are named; every row of every pair table fires; no message
holds the code or formula that is the answer.
"""

import numpy as np
import pytest

from coursenet import exercises, layers, losses
from coursenet.exercises import _pairs


def assert_passed(result):
    assert result.passed, result.message
    assert result.message.startswith("✓")


def assert_named(result, mistake, *words):
    assert not result.passed, result.message
    assert result.message.startswith("✗") and "Hint:" in result.message
    assert result.mistake == mistake, result.message
    for word in words:
        assert word in result.message, (word, result.message)


# --- one instance (notebook 04) -------------------------------------------

def linear_forward(x, W, b):
    return x @ W + b, (x, W)


def linear_backward(dout, cache):
    x, W = cache
    return dout @ W.T, np.outer(x, dout), dout


def sigmoid_forward(k):
    h = 1 / (1 + np.exp(-k))
    return h, h


def sigmoid_backward(dh, h):
    return dh * h * (1 - h)


def softmax_forward(o):
    e = np.exp(o - o.max())
    y = e / e.sum()
    return y, y


def softmax_backward(dy, y):
    return dy @ (np.diag(y) - np.outer(y, y))


def ce_forward(y, c):
    return -np.log(y[c]), (y, c)


def ce_backward(dloss, cache):
    y, c = cache
    dy = np.zeros_like(y)
    dy[c] = -dloss / y[c]
    return dy


def test_right_pairs_pass():
    assert_passed(exercises.check_linear_layer(linear_forward, linear_backward))
    assert_passed(exercises.check_sigmoid_layer(sigmoid_forward, sigmoid_backward))
    assert_passed(exercises.check_softmax_layer(softmax_forward, softmax_backward))
    assert_passed(exercises.check_cross_entropy_layer(ce_forward, ce_backward))


def test_right_pairs_in_other_styles_pass():
    def linear_loops(dout, cache):  # entry by entry, into arrays
        x, W = cache
        dW = [[x[i] * dout[j] for j in range(W.shape[1])] for i in range(W.shape[0])]
        dx = [sum(W[i][j] * dout[j] for j in range(W.shape[1]))
              for i in range(W.shape[0])]
        return np.array(dx), np.array(dW), np.array(dout)

    def softmax_jacobian_loops(dy, y):
        C = len(y)
        J = [[y[i] * ((i == j) - y[j]) for j in range(C)] for i in range(C)]
        return np.array([sum(dy[i] * J[i][j] for i in range(C)) for j in range(C)])

    assert_passed(exercises.check_linear_layer(linear_forward, linear_loops))
    assert_passed(exercises.check_softmax_layer(softmax_forward,
                                                softmax_jacobian_loops))


def _dx_last_term(dout, cache):
    x, W = cache
    dx = np.zeros(len(x))
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            dx[i] = W[i, j] * dout[j]          # = where += belongs
    return dx, np.outer(x, dout), dout


def _rows_one_list(dy, y):
    C = len(y)
    J = [[0.0] * C] * C                        # one row, C names
    for i in range(C):
        for j in range(C):
            J[i][j] = y[i] * ((i == j) - y[j])
    return dy @ np.array(J)


WRONG_04 = [  # (check, forward, backward written wrong, mistake, words)
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (d @ cache[1].T, np.outer(d, cache[0]), d), "transposed",
     ["transposed"]),
    # round 5: a reshape where the transpose belongs (dx through W, dW)
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (d @ cache[1].reshape(cache[1].shape[1], cache[1].shape[0]),
                       np.outer(cache[0], d), d), "reshaped_not_transposed",
     ["reshaped to (outputs, inputs), not transposed"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (d @ cache[1], np.outer(cache[0], d), d), "dx_untransposed",
     ["without transposing"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (d @ cache[1].T, np.outer(cache[0], d), d[:, None]),
     "extra_axis", ["turns a (3,) parameter into a (3, 3) array"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (d @ cache[1].T, np.outer(cache[0], d), np.ones_like(d)),
     "db_ones", ["db"]),
    (exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: dh * h, "sigma_as_h", ["written as h"]),
    (exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: dh, "no_sigmoid_derivative", []),
    (exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: dh * h * 1 - h, "slope_brackets_lost", ["bracket around"]),
    # round 14: x multiplied into W entry by entry; a slope that overflows; a
    # slice that leaves the entry before c
    (exercises.check_linear_layer, lambda x, W, b: ((x * W).sum(axis=0) + b, (x, W)),
     linear_backward, "linear_elementwise", ["output j is x_j times the sum"]),
    (exercises.check_sigmoid_layer, lambda k: (1 / (1 + np.exp(-k)), k),
     lambda dh, k: dh * np.exp(-k) / (1 + np.exp(-k)) ** 2, "backward_not_stable",
     ["at k = [-800, 0, 800] with dout = 1"]),
    (exercises.check_cross_entropy_layer, ce_forward,
     lambda dl, cache: np.where(np.arange(len(cache[0])) >= cache[1] - 1,
                                np.where(np.arange(len(cache[0])) <= cache[1],
                                         -dl / cache[0], 0.0), 0.0),
     "nonzero_elsewhere", ["an entry of a class that is not the true one"]),
    # round 13: the shift taken after the exponentials
    (exercises.check_softmax_layer,
     lambda o: ((np.exp(o) - o.max()) / (np.exp(o) - o.max()).sum(),) * 2,
     softmax_backward, "shift_after_exp", ["subtracted after the exponentials"]),
    # the pair returned in the other order; an output clipped away from 0 and 1
    (exercises.check_linear_layer, lambda x, W, b: ((x, W), x @ W + b),
     linear_backward, "pair_swapped", ["(cache, out), the pair in the other order"]),
    (exercises.check_sigmoid_layer,
     lambda k: (np.clip(1 / (1 + np.exp(-k)), 0.01, 0.99),) * 2,
     sigmoid_backward, "output_clipped", ["stops at 0.01 and 0.99"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy * y * (1 - y), "diagonal_only", ["elementwise"]),
    # round 12: the diagonal filled with y, where y - y² belongs
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy @ (-np.outer(y, y) + np.diag(y + y * y)),
     "diagonal_missing_square", ["diagonal entries are y_i alone"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: np.diag(y) - np.outer(y, y), "returned_matrix", []),
    # round 17: a loop's sum written with =, a Jacobian's rows one list
    (exercises.check_linear_layer, linear_forward, _dx_last_term,
     "sum_keeps_last_term", ["each entry of dx holds only its last output's term"]),
    (exercises.check_softmax_layer, softmax_forward, _rows_one_list,
     "rows_one_list", ["every row of your Jacobian is its last row"]),
    (exercises.check_linear_layer, linear_forward,
     lambda dout, cache: (np.zeros_like(dout) + dout.sum(), np.outer(cache[0], dout),
                          dout), "wrong_shape", ["the shape of b and of dout"]),
    # round 19: a forward output made the size of its input
    (exercises.check_linear_layer,
     lambda x, W, b: ((x @ W + b)[:len(x)], (x, W)), linear_backward,
     "wrong_shape", ["the shape of x", "its output has the shape"]),
    # round 16: the bias reshaped into a column, broadcast into a table
    (exercises.check_linear_layer,
     lambda x, W, b: (x @ W + b.reshape(-1, 1), (x, W)), linear_backward,
     "row_plus_column", ["one entry of a row plus one of a column"]),
    (exercises.check_cross_entropy_layer, ce_forward,
     lambda dl, cache: np.where(np.arange(len(cache[0])) == cache[1],
                                -1 / cache[0], 0.0), "ignores_dout", ["dloss"]),
    (exercises.check_cross_entropy_layer, ce_forward,
     lambda dl, cache: np.array([-dl / cache[0][i] if cache[1] else 0.0
                                 for i in range(len(cache[0]))]),
     "every_class_if_c", ["if c:"]),
]


@pytest.mark.parametrize("check, forward, backward, mistake, words", WRONG_04)
def test_wrong_instance_pairs_are_named(check, forward, backward, mistake, words):
    assert_named(check(forward, backward), mistake, *words)


def test_unstable_softmax_forward_is_named():
    def naive(o):
        y = np.exp(o) / np.exp(o).sum()
        return y, y

    assert_named(exercises.check_softmax_layer(naive, softmax_backward),
                 "forward_not_finite", "1000")


def test_forward_that_returns_no_cache_is_named():
    assert_named(exercises.check_sigmoid_layer(lambda k: 1 / (1 + np.exp(-k)),
                                               sigmoid_backward), "not_a_pair")


def test_stubs_are_reported_as_not_written():
    def stub(*args):
        raise NotImplementedError()

    result = exercises.check_linear_layer(stub, stub)
    assert result.status == "todo" and "not implemented yet" in result.message


# --- batches (notebook 05) -------------------------------------------------

def lin_b(dout, cache):
    X, W = cache
    return dout @ W.T, X.T @ dout, dout.sum(axis=0)


def soft_fwd_b(O):
    E = np.exp(O - O.max(axis=1, keepdims=True))
    Y = E / E.sum(axis=1, keepdims=True)
    return Y, Y


def soft_b(dY, Y):
    J = Y[:, :, None] * (np.eye(Y.shape[1]) - Y[:, None, :])
    return np.einsum("ni,nij->nj", dY, J)


def soft_b_matmul(dY, Y):  # the same product with matmul's batch axes
    J = Y[:, :, None] * (np.eye(Y.shape[1]) - Y[:, None, :])
    return (dY[:, None, :] @ J)[:, 0, :]


def ce_fwd_b(Y, c):
    return -np.mean(np.log(Y[np.arange(len(c)), c])), (Y, c)


def ce_b(dl, cache):
    Y, c = cache
    g = np.zeros_like(Y)
    g[np.arange(len(c)), c] = -dl / (len(c) * Y[np.arange(len(c)), c])
    return g


def fused_fwd(O, c):  # by log-sum-exp, as 05 asks: no probability is logged
    Z = O - O.max(axis=1, keepdims=True)
    log_Y = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return -np.mean(log_Y[np.arange(len(c)), c]), (np.exp(log_Y), c)


def fused_b(dl, cache):
    Y, c = cache
    d = Y.copy()
    d[np.arange(len(c)), c] -= 1
    return dl * d / len(c)


def test_right_batch_pairs_pass():
    assert_passed(exercises.check_linear_layer_batch(linear_forward, lin_b))
    assert_passed(exercises.check_softmax_layer_batch(soft_fwd_b, soft_b))
    assert_passed(exercises.check_softmax_layer_batch(soft_fwd_b, soft_b_matmul))
    assert_passed(exercises.check_cross_entropy_batch(ce_fwd_b, ce_b))
    assert_passed(exercises.check_softmax_cross_entropy(fused_fwd, fused_b))


WRONG_05 = [
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, cache[0].T @ d, d), "bias_not_summed",
     ["not summed"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, cache[0].T @ d, d.mean(axis=0)),
     "divided_twice", ["divided by N once more"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, cache[0].T @ d / len(d), d.sum(axis=0)),
     "divided_twice", ["dW from", "divided by N once more"]),
    (exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: dY @ (Y[:, :, None] * (np.eye(Y.shape[1]) - Y[:, None, :])),
     "batch_matmul_nnc", ["(3, 3, 4)"]),
    (exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: dY * Y * (1 - Y), "diagonal_only", []),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, (d.T @ cache[0]).reshape(cache[1].shape),
                       d.sum(axis=0)), "reshaped_not_transposed",
     ["dW has the right numbers in the wrong places"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, cache[0].reshape(cache[0].shape[1], -1) @ d,
                       d.sum(axis=0)), "reshaped_not_transposed",
     ["dW is built from X reshaped to (inputs, rows)"]),
    # round 3: np.diag on the batch reads Y's own diagonal and fails to broadcast
    (exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: np.einsum("ni,nij->nj", dY, np.diag(Y) - Y[:, :, None]
                             * Y[:, None, :]), "raised",
     ["diag of a 2-D array gives back that array's own diagonal"]),
    (exercises.check_cross_entropy_batch, ce_fwd_b,
     lambda dl, cache: ce_b(dl, cache) * len(cache[1]), "summed", ["1/N"]),
    (exercises.check_softmax_cross_entropy, fused_fwd,
     lambda dl, cache: fused_b(dl, cache) * len(cache[1]), "summed", ["1/N"]),
    (exercises.check_softmax_cross_entropy, fused_fwd,
     lambda dl, cache: dl * (cache[0] - np.eye(cache[0].shape[1])[cache[1]].max(0))
     / len(cache[1]), "label_columns", []),
]


@pytest.mark.parametrize("check, forward, backward, mistake, words", WRONG_05)
def test_wrong_batch_pairs_are_named(check, forward, backward, mistake, words):
    assert_named(check(forward, backward), mistake, *words)


# --- every row of every pair table fires, in the order it is listed ---------

SPECS = [(_pairs.LINEAR, False), (_pairs.LINEAR, True), (_pairs.SIGMOID, False),
         (_pairs.SOFTMAX, False), (_pairs.SOFTMAX, True),
         (_pairs.CROSS_ENTROPY, False), (_pairs.CROSS_ENTROPY, True),
         (_pairs.FUSED, True)]
ROWS = [(spec, batch, row) for spec, batch in SPECS for row in spec.mistakes(batch)]


def _reference_pair(spec):
    keys = (*spec.wrt, *spec.extra)

    def forward(*args):
        inputs = dict(zip(keys, args))
        return spec.forward(**inputs), inputs

    return forward


@pytest.mark.parametrize("spec, batch, row", ROWS,
                         ids=[f"{s.title}-{b}-{r.id}" for s, b, r in ROWS])
def test_every_pair_mistake_is_reachable(spec, batch, row):
    """A backward that returns exactly what the row describes is named by it
    (no earlier row shadows it)."""
    def backward(dout, inputs):
        grads = row.answer({**inputs, "dout": dout})
        return grads if len(grads) > 1 else grads[0]

    result = _pairs_run(spec, batch, _reference_pair(spec), backward)
    assert result.mistake == row.id, result.message


def _pairs_run(spec, batch, forward, backward):
    from coursenet.exercises._core import _run
    return _run(lambda: _pairs.check_pair(spec, forward, backward, batch, seed=7))


# --- the loop --------------------------------------------------------------

def run_backward(layers_, caches):
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, cache)
    return grads


def run_backward_forward_order(layers_, caches):
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(layers_, caches):
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, cache)
    return grads


def run_backward_restarts(layers_, caches):
    grads = {}
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        out = backward(1.0, cache)       # dout not carried along
        if names:
            grads.update(zip(names, out[1:]))
    return grads


def run_backward_zero_start(layers_, caches):
    grads, dout = {}, 0.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, cache)
    return grads


def run_backward_swapped(layers_, caches):
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(reversed(names), dparams))
        else:
            dout = backward(dout, cache)
    return grads


def run_backward_names_from_dx(layers_, caches):
    """The names zipped with every result, dx included: W gets dx, b gets dW."""
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            results = backward(dout, cache)
            grads.update(zip(names, results))
            dout = results[0]
        else:
            dout = backward(dout, cache)
    return grads


def test_names_paired_with_dx_are_named_with_the_result_stored():
    result = exercises.check_run_backward(run_backward_names_from_dx)
    assert_named(result, "swapped_grads")
    assert "stored the first linear layer's dx (its result number 1) as the" \
        " gradient of W1" in result.message, result.message


def run_backward_skips_loss(layers_, caches):
    grads, dout = {}, None
    for (_, backward, names), cache in zip(reversed(layers_[:-1]),
                                           reversed(caches[:-1])):
        y = caches[-1][0]
        dout = -np.eye(len(y))[caches[-1][1]] / y if dout is None else dout
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, cache)
    return grads


def run_backward_unpacks_in_another_order(layers_, caches):
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dW, db, dout = backward(dout, cache)     # the order misread
            grads.update(zip(names, (dW, db)))
        else:
            dout = backward(dout, cache)
    return grads


def run_backward_grads_remade(layers_, caches):
    dout = 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads = dict(zip(names, dparams))     # made anew for each layer
        else:
            dout = backward(dout, cache)
    return grads


def run_backward_names_as_key(layers_, caches):
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads[names] = dparams                # the whole tuple as one key
        else:
            dout = backward(dout, cache)
    return grads


def run_backward_calls_forward(layers_, caches):
    grads, dout = {}, 1.0
    for (backward, _, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, cache)
    return grads


def run_backward_unpacks_by_length(layers_, caches):
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        result = backward(dout, cache)
        if len(result) == 3:                     # the sigmoid's dx has 3 entries
            dout, *dparams = result
            grads.update(zip(names, dparams))
        else:
            dout = result
    return grads


def test_the_loop_passes():
    assert_passed(exercises.check_run_backward(run_backward))


@pytest.mark.parametrize("fn, mistake", [
    (run_backward_forward_order, "not_reversed"),
    (run_backward_restarts, "dout_not_passed"),
    (run_backward_unpacks_in_another_order, "dout_not_passed"),
    (run_backward_zero_start, "wrong_start"),
    (run_backward_swapped, "swapped_grads"),
    (run_backward_skips_loss, "skipped_layer"),
    (run_backward_grads_remade, "grads_remade_per_layer"),
    (run_backward_names_as_key, "names_tuple_as_key"),
    (run_backward_calls_forward, "forward_in_backward"),
    (run_backward_unpacks_by_length, "array_unpacked_as_results"),
])
def test_loop_mistakes_are_named(fn, mistake):
    assert_named(exercises.check_run_backward(fn), mistake)


def test_gradients_changed_after_the_loop_get_the_loops_fallback():
    """Every call in order, every name right, the numbers changed after the
    loop: no probe of run_backward's explains it, and the fallback says which
    gradients differ (the machinery's own id, wrong_grads)."""
    def halved(layers_, caches):
        return {k: g / 2 for k, g in run_backward(layers_, caches).items()}

    result = exercises.check_run_backward(halved)
    assert_named(result, "wrong_grads")
    assert "differ from the package's" in result.message


def test_loop_that_runs_a_layer_twice_is_named():
    def twice(layers_, caches):
        layers_[-1][1](1.0, caches[-1])
        return run_backward(layers_, caches)

    assert_named(exercises.check_run_backward(twice), "called_twice")


def test_reference_layers_wrap_the_package():
    """The referee layers are the package's functions, one instance at a time."""
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=3), rng.normal(size=(3, 4)), rng.normal(size=4)
    from coursenet.exercises import nb04
    out, cache = nb04._ref_linear_forward(x, W, b)
    assert np.allclose(out, layers.linear_forward(x[None], W, b)[0][0])
    y, ycache = nb04._ref_softmax_forward(out)
    assert np.allclose(y, losses.softmax(out[None])[0])


# --- no message gives the answer -----------------------------------------

FORMULAS = ["np.outer", "X.T @", ".T @ d", "@ W.T", "sum(axis=0)", "np.diag",
            "h * (1 - h)", "h (1 - h)", "h(1 - h)", "diag(y) -", "einsum("]


def test_no_message_holds_the_answer():
    messages = []
    for _, _, row in ROWS:
        hint = row.hint if isinstance(row.hint, str) else ""
        messages += [row.diagnosis, hint]
    for check, forward, backward, _, _ in WRONG_04 + WRONG_05:
        messages.append(check(forward, backward).message)
    for fn in (run_backward_forward_order, run_backward_restarts,
               run_backward_zero_start, run_backward_swapped,
               run_backward_skips_loss):
        messages.append(exercises.check_run_backward(fn).message)
    for message in messages:
        for formula in FORMULAS:
            assert formula not in message, (formula, message)


# --- false passes found by a student walkthrough ------------------------------

def _fused_forward_unshifted(O, c):
    E = np.exp(O)  # no shift: exp(1000) overflows
    Y = E / E.sum(axis=1, keepdims=True)
    return -np.mean(np.log(Y[np.arange(len(c)), c])), (Y, c)


def _fused_backward(dloss, cache):
    Y, c = cache
    dO = Y.copy()
    dO[np.arange(len(c)), c] -= 1
    return dloss * dO / len(c)


def _softmax_forward_batch_max(O):
    E = np.exp(O - O.max())  # one shift for the whole batch, not per row
    Y = E / E.sum(axis=1, keepdims=True)
    return Y, Y


def _softmax_backward_batch(dY, Y):
    return Y * (dY - (dY * Y).sum(axis=1, keepdims=True))


def _ce_backward_into_cache(dloss, cache):
    y, c = cache
    value = -dloss / y[c]
    dy = y           # the cache's own array, then overwritten
    dy[:] = 0
    dy[c] = value
    return dy


def _ce_forward(y, c):
    return -np.log(y[c]), (y, c)


def test_a_fused_layer_without_the_shift_fails_on_large_logits():
    assert_named(exercises.check_softmax_cross_entropy(_fused_forward_unshifted,
                                                       _fused_backward),
                 "forward_not_finite", "1000")


def test_a_softmax_shifted_by_the_whole_batch_fails_on_rows_of_other_scales():
    assert_named(exercises.check_softmax_layer_batch(_softmax_forward_batch_max,
                                                     _softmax_backward_batch),
                 "batch_shared_shift", "-1000", "one number shifts the whole batch")


def test_a_backward_that_overwrites_its_cache_is_named():
    assert_named(exercises.check_cross_entropy_layer(_ce_forward,
                                                     _ce_backward_into_cache),
                 "changed_input", "cache")


# --- mistakes a student review found with generic messages or passing ---------

def _lin_b_loop(dout, cache):  # right numbers, one row at a time
    X, W = cache
    dX = np.stack([W @ d for d in dout])
    dW = sum(np.outer(x, d) for x, d in zip(X, dout))
    return dX, dW, dout.sum(axis=0)


def _soft_b_loop(dY, Y):  # right numbers, one Jacobian per row in a loop
    return np.array([d @ (np.diag(y) - np.outer(y, y)) for d, y in zip(dY, Y)])


def _ce_b_loop(dl, cache):  # right numbers, a loop of scalar assignments
    Y, c = cache
    g = np.zeros_like(Y)
    for n in range(len(c)):
        g[n, c[n]] = -dl / (len(c) * Y[n, c[n]])
    return g


def _fused_fwd_rows(O, c):  # right numbers: a loop over the rows in the forward
    rows = [fused_fwd(o[None], c[n:n + 1]) for n, o in enumerate(O)]
    return np.mean([loss for loss, _ in rows]), (
        np.concatenate([Y for _, (Y, _) in rows]), c)


@pytest.mark.parametrize("check, forward, backward", [
    (exercises.check_linear_layer_batch, linear_forward, _lin_b_loop),
    (exercises.check_softmax_layer_batch, soft_fwd_b, _soft_b_loop),
    (exercises.check_cross_entropy_batch, ce_fwd_b, _ce_b_loop),
    (exercises.check_softmax_cross_entropy, _fused_fwd_rows, fused_b),
])
def test_batch_pairs_with_a_loop_over_the_rows_are_not_vectorised(check, forward,
                                                                   backward):
    assert_named(check(forward, backward), "not_vectorised", "lines of your Python")


def test_right_batch_pairs_say_how_many_lines_they_ran():
    result = exercises.check_linear_layer_batch(linear_forward, lin_b)
    assert "vectorised: 3 lines of your Python for 8 rows, 3 for 16384" in \
        result.message, result.message


def _lin_b_hidden_loop(dout, cache):
    import sys
    sys.settrace(None)  # the line counter no longer sees this call
    return _lin_b_loop(dout, cache)


def test_a_loop_hidden_from_the_line_counter_is_judged_by_its_cpu_time(monkeypatch):
    """The CPU rule itself, without a stopwatch in the test: with a budget of 0 s
    any answer fails on time, with a generous one the hidden loop passes; the
    message names the time and the budget."""
    from coursenet.exercises import nb05
    monkeypatch.setattr(nb05, "LOOP_CPU_SECONDS", 0.0)
    assert_named(exercises.check_linear_layer_batch(linear_forward,
                                                    _lin_b_hidden_loop),
                 "not_vectorised", "s of CPU on 16384 rows", "0.0 s")
    monkeypatch.setattr(nb05, "LOOP_CPU_SECONDS", 1e9)
    assert_passed(exercises.check_linear_layer_batch(linear_forward,
                                                     _lin_b_hidden_loop))


def test_the_cpu_budget_is_the_graders():
    from coursenet.exercises import nb05
    from coursenet.grading.judge import Budget
    assert nb05.LOOP_CPU_SECONDS == Budget().loop_cpu


def _softmax_forward_columns(O):
    E = np.exp(O - O.max(axis=1, keepdims=True))
    Y = E / E.sum(axis=0, keepdims=True)   # normalised down the batch axis
    return Y, Y


def _softmax_forward_columns_shifted(O):
    E = np.exp(O - O.max(axis=0))
    Y = E / E.sum(axis=0)
    return Y, Y


def _ce_b_columns(dl, cache):
    Y, c = cache
    dY = np.zeros_like(Y)
    dY[:, c] = -dl / (len(c) * Y[np.arange(len(c)), c])
    return dY


def _ce_b_off_by_one(dl, cache):
    Y, c = cache
    dY = np.zeros_like(Y)
    dY[np.arange(len(c)), c - 1] = -dl / (len(c) * Y[np.arange(len(c)), c - 1])
    return dY


def _fused_b_plus_one(dl, cache):
    Y, c = cache
    d = Y.copy()
    d[np.arange(len(c)), (c + 1) % Y.shape[1]] -= 1
    return dl * d / len(c)


def _ce_instance_off_by_one(dl, cache):
    y, c = cache
    dy = np.zeros_like(y)
    dy[c - 1] = -dl / y[c - 1]     # class 0 wraps to the last class
    return dy


def _fused_b_divided_first(dl, cache):  # the 1/N taken before the -1 (blind round 19)
    Y, c = cache
    dO = Y / len(c)
    dO[np.arange(len(c)), c] -= 1.0
    return dl * dO


def _fused_b_dloss_for_one(dl, cache):  # blind round 20: dloss where the 1 belongs
    Y, c = cache
    d = Y.copy()
    d[np.arange(len(c)), c] -= dl
    return dl * d / len(c)


def _fused_fwd_log_before_sum(O, c):  # blind round 20: a bracket closed early
    Z = O - O.max(axis=1, keepdims=True)
    log_Y = Z - np.log(np.exp(Z)).sum(axis=1, keepdims=True)
    return -np.mean(log_Y[np.arange(len(c)), c]), (np.exp(log_Y), c)


def _fused_fwd_column_max(O, c):  # blind round 20: each column's largest logit
    Z = O - O.max(axis=0, keepdims=True)
    log_Y = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return -np.mean(log_Y[np.arange(len(c)), c]), (np.exp(log_Y), c)


NEW_WRONG = [  # (check, forward, backward written wrong, mistake, words)
    (exercises.check_softmax_cross_entropy, fused_fwd, _fused_b_dloss_for_one,
     "upstream_where_one_belongs", ["right on every case with dloss = 1",
                                    "wrong on the case with dloss = 2"]),
    (exercises.check_softmax_cross_entropy, _fused_fwd_log_before_sum, fused_b,
     "log_before_sum", ["the log was taken of each exponential before the sum"]),
    (exercises.check_softmax_cross_entropy, _fused_fwd_column_max, fused_b,
     "shift_by_column_max", ["largest entries of the columns"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ np.linalg.pinv(cache[1]), cache[0].T @ d, d.sum(0)),
     "dx_through_inverse", ["W's (pseudo-)inverse"]),
    (exercises.check_cross_entropy_layer,
     lambda y, c: (-(c * np.log(y)).sum(), (y, c)), ce_backward,
     "loss_class_as_weight", ["by the class number c", "0 whenever c = 0"]),
    (exercises.check_softmax_cross_entropy, fused_fwd, _fused_b_divided_first,
     "class_term_not_averaged", ["(N - 1)/N times dloss", "not divided by N"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (cache[1] @ np.ones_like(d), np.outer(cache[0], d), d),
     "dx_no_dout", ["dout"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (list(d @ cache[1].T), np.outer(cache[0], d), d),
     "returned_list", ["list"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: ((d @ cache[1].T).astype(np.float32), np.outer(cache[0], d),
                       d), "low_precision", ["float32"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (np.outer(cache[0], d), d @ cache[1].T, d), "grads_order",
     ["(dW, dx, db)"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (d @ cache[1].T, np.outer(cache[0], d) * cache[1], d),
     "multiplied_by_input", ["multiplied by W, entry by entry"]),
    (exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: 2 * dh * h * (1 - h), "scaled", ["2 times the right one"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: -dy @ (np.diag(y) - np.outer(y, y)), "flipped_sign", ["wrong sign"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy @ (np.diag(y) - np.outer(y, y)) / len(y), "scaled_by_classes",
     ["divided by C"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy @ (np.diag(y) - np.outer(y, y)) * (1 + y[0]), "scaled_per_case",
     ["changes from case to case"]),
    (exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: np.einsum("ni,nij->ni", dY, Y[:, :, None]
                             * (np.eye(Y.shape[1]) - Y[:, None, :])),
     "jacobian_sums_to_zero", ["0 in every entry"]),
    (exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: Y * (dY - (dY * Y).sum(axis=0)), "batch_axis_sum",
     ["batch axis"]),
    (exercises.check_cross_entropy_batch, ce_fwd_b,
     lambda dl, cache: ce_b(dl, cache) * len(cache[1]) / cache[0].shape[1],
     "divided_by_classes", ["number of classes"]),
    (exercises.check_softmax_cross_entropy, fused_fwd,
     lambda dl, cache: fused_b(dl, cache) * len(cache[1]) / cache[0].shape[1],
     "divided_by_classes", ["number of classes"]),
    (exercises.check_softmax_layer_batch,
     lambda O: tuple(a.astype(np.float32) for a in soft_fwd_b(O)), soft_b,
     "low_precision", ["float32"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: y * (dy - dy.sum()), "unweighted_sum", ["weighted"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy, "identity", ["identity"]),
    (exercises.check_cross_entropy_layer, ce_forward, _ce_instance_off_by_one,
     "wrong_class", ["c - 1"]),
    (exercises.check_cross_entropy_layer, ce_forward,
     lambda dl, cache: np.where(np.arange(len(cache[0])) == (cache[1] + 1)
                                % len(cache[0]), -dl / cache[0][cache[1]], 0.0),
     "wrong_class", ["c + 1"]),
    (exercises.check_softmax_layer_batch, _softmax_forward_columns, soft_b,
     "softmax_columns", ["each row"]),
    (exercises.check_softmax_layer_batch, _softmax_forward_columns_shifted, soft_b,
     "softmax_columns", ["each row"]),
    (exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: dY @ (np.diag(Y.sum(0)) - Y.T @ Y), "summed_jacobian",
     ["all the rows"]),
    (exercises.check_cross_entropy_batch, ce_fwd_b, _ce_b_columns,
     "label_columns", ["column"]),
    (exercises.check_cross_entropy_batch, ce_fwd_b, _ce_b_off_by_one,
     "wrong_class", ["c - 1"]),
    (exercises.check_softmax_cross_entropy, fused_fwd, _fused_b_plus_one,
     "wrong_class", ["c + 1"]),
]


@pytest.mark.parametrize("check, forward, backward, mistake, words", NEW_WRONG)
def test_mistakes_of_the_review_are_named(check, forward, backward, mistake, words):
    result = check(forward, backward)
    assert_named(result, mistake, *words)
    for formula in FORMULAS + ["return loss, grads", "swap them"]:
        assert formula not in result.message, (formula, result.message)


def _ce_backward_zeros_divided(dl, cache):
    y, c = cache
    dy = np.zeros_like(y)
    dy[c] = -dl / dy[c]            # divides by the new zeros, not by y
    return dy


def test_a_ce_backward_that_divides_by_zeros_gets_a_hint_true_of_the_case():
    result = exercises.check_cross_entropy_layer(ce_forward,
                                                 _ce_backward_zeros_divided)
    assert_named(result, "not_finite", "every probability in this case is at least",
                 "array of zeros")


def _network_loop(backward_of_ce):
    """A one-instance network of the package's layers with the student's loss
    backward, run by the loop: the loss's cache is the softmax's y itself."""
    def softmax_f(o):
        y = losses.softmax(o[None])[0]
        return y, y

    def loss_f(y, c):
        return -np.log(y[c]), (y, c)

    return softmax_f, loss_f, backward_of_ce


def _loop(start=1.0, order=reversed, swapped=False):
    """A run_backward as a student writes it, with one switch per slip: the
    first upstream gradient, the order the caches are walked in, the arguments'
    order."""
    def run_backward(layers_, caches):
        grads, dout = {}, start
        for (_, backward, names), cache in zip(reversed(layers_), order(caches)):
            args = (cache, dout) if swapped else (dout, cache)
            if names:
                dout, *dparams = backward(*args)
                grads.update(zip(names, dparams))
            else:
                dout = backward(*args)
        return grads

    return run_backward


def test_run_backward_that_walks_the_caches_forward_is_one_named_line():
    result = exercises.check_run_backward(_loop(order=list))
    assert_named(result, "caches_not_paired", "the cache of the first linear layer")
    assert "as_float_array" not in result.message and "(line " not in result.message


def test_run_backward_that_copies_the_caches_still_passes():
    import copy

    def run_backward_copies(layers_, caches):
        return run_backward(layers_, copy.deepcopy(caches))

    assert_passed(exercises.check_run_backward(run_backward_copies))


def test_a_dout_the_package_layer_cannot_take_is_named_not_traced():
    # not a number: dl/dl is 1
    result = exercises.check_run_backward(_loop(start=np.ones((2, 2))))
    assert not result.passed
    assert result.mistake in ("wrong_start", "bad_dout"), result.message
    assert "as_float_array" not in result.message


def test_a_loop_that_swaps_dout_and_cache_is_named():
    assert_named(exercises.check_run_backward(_loop(swapped=True)),
                 "swapped_args", "first argument")


# --- round 2: answers of a second review, and held-out ones like them -------

def _softmax_caches_logits(o):
    e = np.exp(o - o.max())
    return e / e.sum(), o


def _ce_caches_y_only(y, c):
    return -np.log(y[c]), y


def _ce_argmax_backward(dl, y):
    dy = np.zeros_like(y)
    k = np.argmax(y)
    dy[k] = -dl / y[k]
    return dy


def _linear_caches_output(x, W, b):
    out = x @ W + b
    return out, (out, W)


def _soft_fwd_b_logits(O):
    return soft_fwd_b(O)[0], O


def _ce_backward_int_zeros(dloss, cache):
    y, c = cache
    dy = np.zeros(len(y), dtype=int)
    dy[c] = -dloss / y[c]
    return dy


def _softmax_caches_exps(o):
    e = np.exp(o - o.max())
    return e / e.sum(), e


def _fused_caches_log_probs(O, c):
    Z = O - O.max(axis=1, keepdims=True)
    log_Y = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return -np.mean(log_Y[np.arange(len(c)), c]), (log_Y, c)


def _soft_fwd_b_column_max(O):
    E = np.exp(O - O.max(axis=0))
    Y = E / E.sum(axis=1, keepdims=True)
    return Y, Y


def _fused_fwd_summed(O, c):
    Y, _ = soft_fwd_b(O)
    return -np.sum(np.log(Y[np.arange(len(c)), c])), (Y, c)


def _fused_fwd_shift_lost(O, c):
    Z = O - O.max(axis=1, keepdims=True)
    log_Y = O - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return -np.mean(log_Y[np.arange(len(c)), c]), (np.exp(log_Y), c)


def _ce_b_off_at_class(dloss, cache):  # a wrong number at c, 0 elsewhere
    y, c = cache
    dy = np.zeros_like(y)
    dy[c] = -dloss / (y[c] + 0.1)
    return dy


def _lin_b_last_column_zero(dout, cache):
    dx, dW, db = lin_b(dout, cache)
    dW = dW.copy()
    dW[:, -1] = 0.0       # a loop over the outputs that stops one short
    return dx, dW, db


def _soft_b_first_row_zero(dY, Y):
    dO = soft_b(dY, Y)
    dO[0] = 0.0           # the loop over the rows starts at 1
    return dO


ROUND2 = [  # (check, forward, backward, mistake, words)
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy @ np.diag(y), "shared_part_unweighted",
     ["the amount subtracted is the same for every entry"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: y - dy, "explained",
     ["the probabilities y minus the upstream gradient"]),
    (exercises.check_softmax_layer, _softmax_caches_logits,
     lambda dy, o: dy @ (np.diag(o) - np.outer(o, o)), "jacobian_from_logits",
     ["logits"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: (dy * (np.diag(y) - np.outer(y, y))).sum(axis=0),
     "jacobian_sums_to_zero", ["wrong axis"]),
    (exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: dh * (1 - h ** 2), "tanh_derivative", ["tanh"]),
    (exercises.check_sigmoid_layer, lambda k: (k, 1 / (1 + np.exp(-k))),
     sigmoid_backward, "forward_identity", ["unchanged"]),
    (exercises.check_cross_entropy_layer, _ce_caches_y_only, _ce_argmax_backward,
     "predicted_class", ["predicted class"]),
    (exercises.check_cross_entropy_layer,
     lambda y, c: (-np.log(y[[c]]), (y, c)), ce_backward, "loss_not_scalar",
     ["one number"]),
    (exercises.check_cross_entropy_layer,
     lambda y, c: (-np.log(y), (y, c)), ce_backward, "loss_of_every_class",
     ["true class c is not used"]),
    (exercises.check_cross_entropy_batch,
     lambda Y, c: (-np.log(Y), (Y, c)), ce_b, "loss_of_every_class",
     ["true class c is not used"]),
    (exercises.check_cross_entropy_batch, ce_fwd_b,
     lambda dl, cache: ce_b(dl, cache) * len(cache[1]) ** 2,
     "multiplied_not_divided", ["multiplied by N where it should be divided"]),
    (exercises.check_softmax_layer_batch, _soft_fwd_b_column_max, soft_b,
     "shift_by_column_max", ["down the batch axis"]),
    (exercises.check_cross_entropy_layer,
     lambda y, c: (-np.log(y.max()), (y, c)), ce_backward,
     "loss_predicted_class", ["predicted class"]),
    (exercises.check_softmax_cross_entropy,
     lambda O, c: (-np.mean(O[np.arange(len(c)), c] - O.max(axis=1)),
                   fused_fwd(O, c)[1]), fused_b, "log_normaliser_missing",
     ["left out"]),
    (exercises.check_softmax_layer, _softmax_caches_exps,
     lambda dy, y: dy @ (np.diag(y) - np.outer(y, y)),
     "cache_holds_another_value", ["holds the layer's output", "_softmax_caches_exps"]),
    (exercises.check_softmax_cross_entropy, _fused_caches_log_probs, fused_b,
     "cache_holds_another_value", ["slot 0 of its cache holds the probabilities"]),
    (exercises.check_cross_entropy_layer, ce_forward, _ce_backward_int_zeros,
     "truncated_to_integers", ["whole numbers", "integers"]),
    (exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: dh * h * (1 - dh), "dout_for_h", ["dout stands where h belongs"]),
    (exercises.check_linear_layer, _linear_caches_output, linear_backward,
     "explained", ["from the layer's output where the input x belongs"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, cache[0].T @ d, d[0]), "first_row_only",
     ["first row"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, np.outer(cache[0][0], d[0]), d.sum(0)),
     "first_row_only", ["first row"]),
    (exercises.check_linear_layer_batch,
     lambda X, W, b: (X @ W + b[:, None], (X, W)), lin_b, "bias_on_rows",
     ["down the columns"]),
    (exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: np.einsum("ni,nij->nj", dY, Y[:, :, None]
                             * (np.eye(Y.shape[1]) - Y[:, :, None])),
     "squared_on_diagonal", ["y_i twice"]),
    (exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: dY @ (np.diag(Y.mean(0)) - np.outer(Y.mean(0), Y.mean(0))),
     "mean_jacobian", ["mean row"]),
    (exercises.check_softmax_layer_batch, _soft_fwd_b_logits,
     lambda dY, O: soft_b(dY, O), "jacobian_from_logits", ["logits"]),
    (exercises.check_cross_entropy_batch,
     lambda Y, c: (-np.mean(np.log(Y[np.arange(len(c)), c]), keepdims=True),
                   (Y, c)), ce_b, "loss_not_scalar", ["one number"]),
    (exercises.check_softmax_cross_entropy, _fused_fwd_summed, fused_b,
     "loss_summed", ["summed"]),
    (exercises.check_softmax_cross_entropy, _fused_fwd_shift_lost, fused_b,
     "shift_not_added_back", ["shifted"]),
    (exercises.check_softmax_cross_entropy,
     lambda O, c: (-_fused_fwd_summed(O, c)[0] / len(c), _fused_fwd_summed(O, c)[1]),
     fused_b, "loss_sign", ["wrong sign"]),
    # structural diagnoses, for any pair
    (exercises.check_linear_layer,
     lambda x, W, b: (x @ W + b, (x, W, b)),
     lambda d, cache: (d @ cache[1].T, np.outer(cache[0], d), d * cache[2]),
     "multiplied_by_input", ["multiplied by b, entry by entry"]),
    (exercises.check_cross_entropy_layer, ce_forward,
     lambda dl, cache: ce_backward(dl, cache) / cache[0], "divided_by_input",
     ["divided by y, entry by entry"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, cache[0][:-1].T @ d[:-1], d.sum(0)),
     "last_row_left_out", ["every row but the last"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, cache[0].T @ d, d[1:].sum(0)),
     "first_row_left_out", ["every row but the first"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (d @ cache[1].T, np.outer(cache[0], d),
                       d.sum() * np.ones_like(d)), "all_entries_equal",
     ["same number in every entry"]),
    (exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: dh * h * (1 + h), "slope_out_of_range", ["between 0 and 0.25"]),
    (exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: dh / (h * (1 - h)), "divides_by_slope", ["divides by the slope"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy @ (np.diag(y) - y @ y), "jacobian_constant_added",
     ["one number added to every entry"]),
    # y * y where the outer product belongs (a blind student's answer)
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy @ (np.diag(y) - y * y), "jacobian_squares_broadcast",
     ["same in every row of column j"]),
    (exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: Y * (dY - (dY * Y).sum()), "rows_mixed",
     ["mixes the rows of the batch"]),
    (exercises.check_linear_layer_batch, linear_forward, _lin_b_last_column_zero,
     "one_column_off", ["except in the last column"]),
    (exercises.check_softmax_layer_batch, soft_fwd_b, _soft_b_first_row_zero,
     "one_row_off", ["except in row 0"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, cache[0].T @ d, d.sum(0) / len(d)),
     "divided_twice", []),
    (exercises.check_linear_layer, lambda x, W, b: (2 * (x @ W + b), (x, W)),
     linear_backward, "scaled", ["the output of", "2 times the right one"]),
    (exercises.check_cross_entropy_layer,
     lambda y, c: (-np.log(y[c]) * len(y), (y, c)), ce_backward,
     "scaled_by_classes", ["the output of", "C times the right one"]),
    (exercises.check_cross_entropy_layer, ce_forward, _ce_b_off_at_class,
     "wrong_at_class",
     ["right in every other entry and wrong in the true class's entries"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T, cache[0].T @ np.ones_like(d), d.sum(0)),
     "upstream_ignored", ["for an upstream gradient of all ones"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (d @ cache[1].T, np.outer(cache[0], d) / len(cache[0]), d),
     "scaled_by_size", ["divided by D, the input size"]),
    (exercises.check_linear_layer, linear_forward,
     lambda d, cache: (d @ cache[1].T, np.outer(cache[0], d), d / len(d)),
     "scaled_by_size", ["divided by M, the number of outputs"]),
    (exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: softmax_backward(dy, softmax_forward(y)[0]), "layer_applied_again",
     ["at the layer's own output taken as its input"]),
    (exercises.check_cross_entropy_layer, ce_forward,
     lambda dl, cache: np.where(np.arange(len(cache[0])) == cache[1],
                                -dl * np.log(cache[0]), 0.0), "loss_value",
     ["the loss itself (times dloss) in the true class's entries"]),
    (exercises.check_cross_entropy_layer, ce_forward,
     lambda dl, cache: ce_backward(1.0, cache) / dl, "divides_by_upstream",
     ["divided by dloss squared"]),
    (exercises.check_softmax_cross_entropy, fused_fwd,
     lambda dl, cache: fused_b(dl, cache) * np.where(
         np.arange(cache[0].shape[1]) == np.asarray(cache[1])[:, None], 1,
         len(cache[1])),
     "summed", ["in its entries off the true class", "N times too large"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T / len(d), cache[0].T @ d, d.sum(0)),
     "divided_twice", ["N times too small"]),
    (exercises.check_linear_layer_batch, linear_forward,
     lambda d, cache: (d @ cache[1].T * len(d), cache[0].T @ d, d.sum(0)),
     "summed", ["N times too large"]),
]


@pytest.mark.parametrize("check, forward, backward, mistake, words", ROUND2)
def test_round_two_mistakes_are_named(check, forward, backward, mistake, words):
    result = check(forward, backward)
    assert_named(result, mistake, *words)
    for formula in FORMULAS:
        assert formula not in result.message, (formula, result.message)


def test_a_transposed_gradient_on_square_cases_is_named():
    """On square cases only (others fail on the shape first) the expression
    explainer names the right numbers transposed; one row off is _structure's."""
    rng = np.random.default_rng(0)
    refs = [rng.normal(size=(3, 3)), rng.normal(size=(4, 4))]
    datas = [{"x": r, "W": r, "b": r[0], "dout": r} for r in refs]
    from coursenet.exercises import _explain
    vocab = [[("the right dW", r)] for r in refs]
    assert _explain.describe([r.T.copy() for r in refs], refs, vocab) \
        == "the right dW turned on its side (rows as columns)"
    right_but_one = [r.copy() for r in refs]
    for r in right_but_one:
        r[1, :] += 1.0
    assert_named(_run_structure(right_but_one, refs, datas), "one_row_off",
                 "except in row 1")


def _run_structure(outs, refs, datas):
    from coursenet.exercises._core import _run

    def body():
        _pairs._structure(_pairs.LINEAR, "dW", outs, refs, datas, ["a", "b"],
                          "your backward", False)
        return "✓ nothing found"
    return _run(body)


def test_a_loop_that_reverses_the_callers_lists_is_told_so():
    def reverses_in_place(layers_, caches):
        layers_.reverse()
        caches.reverse()
        grads, dout = {}, 1.0
        for (_, backward, names), cache in zip(layers_, caches):
            if names:
                dout, *dparams = backward(dout, cache)
                grads.update(zip(names, dparams))
            else:
                dout = backward(dout, cache)
        return grads

    result = exercises.check_run_backward(reverses_in_place)
    assert_named(result, "changed_input", "`caches`", "was reversed")
    assert "walk it backwards" in result.message


def test_a_dout_not_carried_on_is_not_called_an_unpacking_order():
    """One instance's db equals the dout its linear layer received: a loop that
    hands that dout on unchanged must not read as 'db passed on'."""
    def keeps_dout(layers_, caches):
        grads, dout = {}, 1.0
        for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
            if names:
                _, *dparams = backward(dout, cache)
                grads.update(zip(names, dparams))
            else:
                dout = backward(dout, cache)
        return grads

    assert_named(exercises.check_run_backward(keeps_dout), "dout_not_passed",
                 "the same dout that the layer after it received")


def test_a_weight_gradient_passed_on_as_dout_is_named():
    def passes_dW_on(layers_, caches):
        grads, dout = {}, 1.0
        for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
            if names:
                dx, dout, db = backward(dout, cache)    # dW taken for dx
                grads.update(zip(names, (dout, db)))
            else:
                dout = backward(dout, cache)
        return grads

    assert_named(exercises.check_run_backward(passes_dW_on), "dout_from_other_result",
                 "the linear layer's dW (its result number 2)")


# --- a value kept outside the cache (round 16) ------------------------------

def _kept_outside(forward):
    """A pair whose backward reads what ``forward`` stored on itself: right
    when each backward follows its own forward, wrong after another forward."""
    def fwd(*args):
        out, cache = forward(*args)
        fwd.saved = cache
        return out, None
    return fwd


@pytest.mark.parametrize("check, forward, backward, batched", [
    (exercises.check_linear_layer, linear_forward, linear_backward, False),
    (exercises.check_sigmoid_layer, sigmoid_forward, sigmoid_backward, False),
    (exercises.check_softmax_layer, softmax_forward, softmax_backward, False),
    (exercises.check_cross_entropy_layer, ce_forward, ce_backward, False),
    (exercises.check_linear_layer_batch, linear_forward, lin_b, True),
])
def test_a_backward_that_reads_outside_its_cache_is_named(check, forward, backward,
                                                          batched):
    fwd = _kept_outside(forward)

    def bwd(dout, cache):
        return backward(dout, fwd.saved)

    assert check(forward, backward).passed
    assert_named(check(fwd, bwd), "kept_outside_cache", "is right when it runs"
                 " just after its own forward", "kept outside the cache")


def test_a_loss_shifted_by_the_whole_batchs_maximum_is_named():
    """Round 17: the fused loss shifted by np.max(O) underflows on a row far
    below the batch's largest logit (its hint spoke of an overflow)."""
    def forward(O, c):
        Z = O - np.max(O)
        log_Y = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
        return -np.mean(log_Y[np.arange(len(c)), c]), (np.exp(log_Y), c)

    assert_named(exercises.check_softmax_cross_entropy(forward, fused_b),
                 "batch_shared_shift", "each of its rows alone comes out right",
                 "underflow")


def test_a_right_pair_written_with_loops_passes_with_a_note_on_its_time():
    """Round 17: a loop-written linear layer passes, and 04's training cell then
    ran for 18 minutes with nothing said. The check says so (a time, no verdict),
    and a vectorised pair gets no note."""
    def forward(x, W, b):
        out = np.array(b, dtype=float)
        for j in range(W.shape[1]):
            for i in range(W.shape[0]):
                out[j] += x[i] * W[i, j]
        return out, (x, W)

    def backward(dout, cache):
        x, W = cache
        dx, dW = np.zeros(len(x)), np.zeros(W.shape)
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                dx[i] += W[i, j] * dout[j]
                dW[i, j] = x[i] * dout[j]
        return dx, dW, np.array(dout, dtype=float)

    slow = exercises.check_linear_layer(forward, backward)
    assert slow.passed and "Note: one forward and backward through MNIST's first" \
        " layer (784 × 300) took" in slow.message, slow.message
    fast = exercises.check_linear_layer(linear_forward, linear_backward)
    assert fast.passed and "Note" not in fast.message


def test_a_loss_read_from_the_flattened_logits_is_named():
    """Round 18: np.take(O, c) reads entry c of the first row for every row."""
    def forward(O, c):
        Z = O - O.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(Z).sum(axis=1))
        return float(np.mean(log_sum - np.take(Z, c))), (
            np.exp(Z - log_sum[:, None]), c)

    assert_named(exercises.check_softmax_cross_entropy(forward, fused_b),
                 "flat_index", "read from the array flattened")


# --- ids of _pairs that no test named (found by the prune pass, issue 24) ---

def _fused_b_shifted(dl, cache):
    return fused_b(dl, cache) + 0.1 * dl


def _soft_b_rows_off(dy, y):   # linear in dy, but each entry scaled by its own y
    return softmax_backward(dy, y) * (1 + 0.1 * np.sin(5 * y))


def _soft_b_first_row_jacobian(dY, Y):
    return dY @ (np.diag(Y[0]) - np.outer(Y[0], Y[0]))


@pytest.mark.parametrize("check, forward, backward, mistake, words", [
    (exercises.check_linear_layer, lambda x, W, b: (x @ W, (x, W)), linear_backward,
     "linear_no_bias", ["the bias b is missing"]),
    (exercises.check_linear_layer, lambda x, W, b: (W @ x + b, (x, W)),
     linear_backward, "linear_order", ["the output is W x"]),
    (exercises.check_linear_layer, linear_forward,
     lambda dout, cache: [dout @ cache[1].T, np.outer(cache[0], dout)],
     "not_a_tuple", ["expected (dx, dW, db)"]),
    (exercises.check_sigmoid_layer, lambda k: (1 / (1 + np.exp(-1.1 * k)),) * 2,
     sigmoid_backward, "forward_wrong", ["the output of", "is wrong (max abs diff"]),
    (exercises.check_softmax_layer_batch, soft_fwd_b, _soft_b_first_row_jacobian,
     "one_jacobian", ["the Jacobian of the first row"]),
    (exercises.check_softmax_cross_entropy, fused_fwd, _fused_b_shifted,
     "outside_class_shifted", ["off by one shared amount (0.1"]),
    (exercises.check_softmax_layer, softmax_forward, _soft_b_rows_off,
     "rows_do_not_sum_to_zero", ["should sum to 0 but sum to up to"]),
], ids=["linear_no_bias", "linear_order", "not_a_tuple", "forward_wrong",
        "one_jacobian", "outside_class_shifted", "rows_do_not_sum_to_zero"])
def test_a_pair_mistake_no_other_test_names(check, forward, backward, mistake, words):
    assert_named(check(forward, backward), mistake, *words)


def test_an_elementwise_layers_fallback_hint_does_not_ask_for_a_sum():
    """The teacher's read: each entry of k reaches one output only, so 'sum the
    upstream gradient over those outputs' misleads for the sigmoid."""
    result = exercises.check_sigmoid_layer(sigmoid_forward,
                                           lambda dh, h: dh * (1 - h))
    assert not result.passed
    assert "its own output alone" in result.message
    assert "Sum the upstream gradient" not in result.message
