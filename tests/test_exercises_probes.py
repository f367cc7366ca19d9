"""The general diagnoses of notebooks 04-05 (issue 23, item 5): a wrong answer
is named by the property of the layer it violates, found by probing the
student's functions with designed inputs (x = 0, k = 0, a row of the batch
changed, dout = 0, unit upstream gradients, y_c = 1 ...), not by a table row
per answer. Each test gives one wrong answer a student could write and the
id and words its message must carry.
"""

import numpy as np
import pytest

from coursenet import exercises
from tests.test_exercises_pairs import (
    assert_named,
    ce_b,
    ce_backward,
    ce_forward,
    ce_fwd_b,
    fused_b,
    fused_fwd,
    lin_b,
    linear_backward,
    linear_forward,
    run_backward,
    sigmoid_backward,
    sigmoid_forward,
    soft_b,
    soft_fwd_b,
    softmax_backward,
    softmax_forward,
)
from tests.test_exercises_q1_q4 import variant


def _sig(k):
    return 1 / (1 + np.exp(-k))


def _soft(o):
    e = np.exp(o - o.max())
    return e / e.sum()


def _soft_rows(O):
    E = np.exp(O - O.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _log_soft_rows(O):
    Z = O - O.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def _rows(c):
    return np.arange(len(c))


# --- forward passes ---------------------------------------------------------

FORWARD = [
    ("bias_subtracted", exercises.check_linear_layer,
     lambda x, W, b: (x.dot(W) - b, (x, W)), linear_backward, ["bias is taken away"]),
    ("bias_part_wrong", exercises.check_linear_layer,
     lambda x, W, b: (x @ W + b.sum(), (x, W)), linear_backward,
     ["with x = 0", "bias part"]),
    ("weights_part_wrong", exercises.check_linear_layer,
     lambda x, W, b: (x @ np.abs(W) + b, (x, W)), linear_backward,
     ["part made from x and W"]),
    ("sigmoid_out_of_range", exercises.check_sigmoid_layer,
     lambda k: (np.tanh(k), np.tanh(k)), lambda dh, h: dh * (1 - h ** 2),
     ["strictly between 0 and 1"]),
    ("sigmoid_falls", exercises.check_sigmoid_layer,
     lambda k: (np.exp(-k) / (1 + np.exp(-k)),) * 2,
     lambda dh, h: dh * h * (1 - h), ["falls as k rises"]),
    ("sigmoid_at_zero", exercises.check_sigmoid_layer,
     lambda k: (1 / (2 + np.exp(-k)),) * 2, lambda dh, h: dh * h * (1 - h),
     ["at k = 0", "one half"]),
    ("softmax_not_normalised", exercises.check_softmax_layer,
     lambda o: (np.exp(o - o.max()), _soft(o)), softmax_backward,
     ["exps before they are divided"]),
    ("softmax_scaled_rows", exercises.check_softmax_layer,
     lambda o: (np.exp(o - o.max()) / np.exp(o - o.max()).mean(), _soft(o)),
     softmax_backward, ["right probabilities times one number per row"]),
    # the max taken from the numerator only: the same class of slip
    ("softmax_scaled_rows", exercises.check_softmax_layer,
     lambda o: (np.exp(o - o.max()) / np.exp(o).sum(), _soft(o)),
     softmax_backward, ["not the sum of the very exps it divides"]),
    ("softmax_rows_not_one", exercises.check_softmax_layer,
     lambda o: ((np.exp(o - o.max()) + 0.1) / np.exp(o - o.max()).sum(), _soft(o)),
     softmax_backward, ["sum to", "not 1"]),
    ("softmax_not_shift_invariant", exercises.check_softmax_layer,
     lambda o: (np.abs(o) / np.abs(o).sum(), _soft(o)), softmax_backward,
     ["adding 3 to every logit"]),
    ("rows_mixed", exercises.check_softmax_layer_batch,
     lambda O: (np.exp(O - O.max(axis=1, keepdims=True))
                / np.exp(O - O.max(axis=1, keepdims=True)).sum(axis=1).mean(),
                _soft_rows(O)), soft_b, ["mixes the rows of the batch"]),
    ("loss_uses_other_classes", exercises.check_cross_entropy_layer,
     lambda y, c: (-np.log(y[c]) - np.log(1 - np.delete(y, c)).sum(), (y, c)),
     ce_backward, ["class other than c"]),
    ("loss_not_zero_at_one", exercises.check_cross_entropy_layer,
     lambda y, c: (-np.log(y[c]) + np.log(len(y)), (y, c)), ce_backward,
     ["at y_c = 1", "not 0"]),
    ("loss_times_probability", exercises.check_cross_entropy_layer,
     lambda y, c: (-np.log(y[c]) * y[c], (y, c)), ce_backward, ["times y_c"]),
    ("loss_not_falling", exercises.check_cross_entropy_layer,
     lambda y, c: (y[c] * (1 - y[c]), (y, c)), ce_backward,
     ["does not fall as y_c rises"]),
    ("batch_loss_not_mean", exercises.check_cross_entropy_batch,
     lambda Y, c: (np.median(-np.log(Y[_rows(c), c])), (Y, c)), ce_b,
     ["not the mean of the rows' losses"]),
    ("loss_not_shift_invariant", exercises.check_softmax_cross_entropy,
     lambda O, c: (-np.mean(O[_rows(c), c]
                            - np.log(np.exp(O).sum(axis=1) + 1.0)), (_soft_rows(O), c)),
     fused_b, ["adding 3 to every logit"]),
]


@pytest.mark.parametrize("mistake, check, forward, backward, words", FORWARD)
def test_a_forward_mistake_is_named_by_the_property_it_breaks(mistake, check, forward,
                                                              backward, words):
    assert_named(check(forward, backward), mistake, *words)


# --- backward passes --------------------------------------------------------

def _ce_log_cache(Y, c):
    return -np.mean(np.log(Y[_rows(c), c])), (np.log(Y), c)


def _ce_b_from_one_minus(dloss, cache):
    y, c = cache
    dy = np.zeros_like(y)
    dy[c] = dloss / (y[c] - 1)
    return dy


def _ce_b_grows(dloss, cache):
    y, c = cache
    dy = np.zeros_like(y)
    dy[c] = -dloss * y[c] / (1 - y[c])
    return dy


def _lin_b_last_row(dout, cache):
    X, W = cache
    for n in range(len(X)):
        db = dout[n]
    return dout @ W.T, X.T @ dout, db


def _lin_b_means(dout, cache):
    X, W = cache
    return dout @ W.T, X.mean(axis=0)[:, None] * dout.sum(axis=0), dout.sum(axis=0)


BACKWARD = [
    ("rule_on_another_value", exercises.check_cross_entropy_layer, ce_forward,
     _ce_b_from_one_minus, ["right rule applied to 1 - y"]),
    ("cache_holds_another_value", exercises.check_cross_entropy_batch, _ce_log_cache,
     ce_b, ["caches log y"]),
    ("rows_mixed", exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: Y * (dY - (dY * Y).mean()), ["row 1 of dout"]),
    ("jacobian_constant_added", exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy @ (np.diag(y) - np.sum(y ** 2)),
     ["one number added to every entry"]),
    ("jacobian_diagonal_twice", exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy @ (np.diag(y - y ** 2) - np.outer(y, y)),
     ["diagonal", "counted twice"]),
    ("jacobian_products_mean", exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: Y * dY - Y * (dY * Y).mean(axis=1, keepdims=True), ["1/C"]),
    ("divides_by_slope", exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: dh / (h - h ** 2), ["divides by the slope"]),
    ("part_without_dout", exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: h * (1 - h) + dh, ["with dout = 0"]),
    ("rows_left_out", exercises.check_linear_layer_batch, linear_forward,
     _lin_b_last_row, ["alone", "never reach it"]),
    ("rows_not_paired", exercises.check_linear_layer_batch, linear_forward,
     _lin_b_means, ["does not pair row n of x with row n of dout"]),
    ("class_gradient_grows", exercises.check_cross_entropy_layer, ce_forward,
     _ce_b_grows, ["grows in size as y_c grows"]),
]


@pytest.mark.parametrize("mistake, check, forward, backward, words", BACKWARD)
def test_a_backward_mistake_is_named_by_the_property_it_breaks(mistake, check,
                                                               forward, backward,
                                                               words):
    assert_named(check(forward, backward), mistake, *words)


def test_the_right_pairs_still_pass_every_probe():
    for result in (exercises.check_linear_layer(linear_forward, linear_backward),
                   exercises.check_cross_entropy_layer(ce_forward, ce_backward),
                   exercises.check_linear_layer_batch(linear_forward, lin_b),
                   exercises.check_cross_entropy_batch(ce_fwd_b, ce_b),
                   exercises.check_softmax_layer(softmax_forward, softmax_backward)):
        assert result.passed, result.message


# --- the composition of notebook 05 -----------------------------------------

@pytest.mark.parametrize("body, mistake, words", [
    ("X = X * 2.0", "input_changed", ["X times 2"]),
    ("X = X - X.min()", "input_changed", ["not the one it was given"]),
    ("c = c[0]", "labels_one_class", ["one class"]),
    ("c = (c + 2) % 10", "labels_changed_in_call", ["labels other than"]),
])
def test_what_batched_backward_feeds_its_layers_is_named(body, mistake, words):
    source = (
        "def batched_backward(params, X, c):\n"
        f"    {body}\n"
        "    layers = network(c)\n"
        "    loss, caches = run_forward(layers, params, X)\n"
        "    return loss, run_backward(layers, caches)\n")
    space = nb05_student_namespace()
    exec(source, space)
    assert_named(exercises.check_batched_backward(space["batched_backward"],
                                                  vectorised=False), mistake, *words)


_FORWARD_THEN = ("    layers = network(c)\n"
                 "    loss, caches = run_forward(layers, params, X)\n")


@pytest.mark.parametrize("body, mistake, words", [
    # rounds 10 and 11: the layers or the caches turned round before the walk
    (_FORWARD_THEN + "    return loss, run_backward(layers[::-1], caches)\n",
     "walk_turned", ["its layers last first"]),
    (_FORWARD_THEN + "    return loss, run_backward(layers, caches[::-1])\n",
     "walk_turned", ["its caches last first"]),
    (_FORWARD_THEN + "    return loss, run_backward(layers[:2] + layers[3:], caches)\n",
     "layers_differ", ["hands run_forward 4 layers and run_backward 3"]),
    ("    params = {k: v.astype(np.float32) for k, v in params.items()}\n"
     + _FORWARD_THEN + "    return loss, run_backward(layers, caches)\n",
     "low_precision", ["only to about", "float32"]),
    # round 13: a loop over the rows whose rows replace each other
    ("    grads = {}\n"
     "    for n in range(len(X)):\n"
     "        layers = network(c[n:n + 1])\n"
     "        loss, caches = run_forward(layers, params, X[n:n + 1])\n"
     "        for k, g in run_backward(layers, caches).items():\n"
     "            grads[k] = g / len(X)\n"
     "    return mlp_loss(params, X, c), grads\n",
     "rows_overwritten", ["the last row's alone, divided by N"]),
    # the keys split into their letters by unpacking
    (_FORWARD_THEN + "    grads = run_backward(layers, caches)\n"
     "    return loss, {name: g for name, g in grads}\n",
     "wrong_keys", ["the keys are the first letters of the names"]),
])
def test_a_composition_slip_is_named(body, mistake, words):
    space = nb05_student_namespace()
    space["mlp_loss"] = lambda p, X, c: float(
        __import__("coursenet").mlp.loss_and_grads(p, X, c)[0])
    exec("def batched_backward(params, X, c):\n" + body, space)
    assert_named(exercises.check_batched_backward(space["batched_backward"],
                                                  vectorised=False), mistake, *words)


def nb05_student_namespace():
    """The worked solution's layers and loop, batch versions, as a student's
    kernel holds them."""
    space = {"np": np}
    exec(_SOLUTION, space)
    return space


_SOLUTION = '''
from coursenet import losses

def sigmoid_forward(k):
    h = 1 / (1 + np.exp(-k))
    return h, h

def sigmoid_backward(dh, h):
    return dh * h * (1 - h)

def linear_forward(X, W, b):
    return X @ W + b, (X, W)

def linear_backward(dout, cache):
    X, W = cache
    return dout @ W.T, X.T @ dout, dout.sum(axis=0)

def softmax_cross_entropy_forward(O, c):
    Y = losses.softmax(O)
    return losses.cross_entropy(O, c), (Y, c)

def softmax_cross_entropy_backward(dloss, cache):
    Y, c = cache
    dO = Y.copy()
    dO[np.arange(len(c)), c] -= 1.0
    return dloss * dO / len(c)

def network(c):
    return [(linear_forward, linear_backward, ("W1", "b1")),
            (sigmoid_forward, sigmoid_backward, ()),
            (linear_forward, linear_backward, ("W2", "b2")),
            (lambda O: softmax_cross_entropy_forward(O, c),
             softmax_cross_entropy_backward, ())]

def run_forward(layers, params, x):
    caches = []
    for forward, _, names in layers:
        x, cache = forward(x, *(params[n] for n in names))
        caches.append(cache)
    return x, caches

def run_backward(layers, caches):
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, cache)
    return grads
'''


# --- the composition of notebook 04 -----------------------------------------

_GRADS_KEPT = {}


def _run_backward_module_dict(layers_, caches):
    """Fills a dict made once, at module level: every call adds to it."""
    dout = 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            for name, g in zip(names, dparams):
                _GRADS_KEPT[name] = _GRADS_KEPT.get(name, 0) + g
        else:
            dout = backward(dout, cache)
    return dict(_GRADS_KEPT)


def _run_backward_params_only(layers_, caches):
    grads, dout = {}, np.ones(1)
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if not names:
            continue
        dout, *dparams = backward(dout, cache)
        grads.update(zip(names, dparams))
    return grads


def _run_backward_multiplies(layers_, caches):
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, cache) * dout
    return grads


def _run_backward_returns_in_loop(layers_, caches):
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, cache)
        return grads


def _run_backward_stops_short(layers_, caches):
    grads, dout = {}, 1.0
    for i in range(len(layers_) - 1, 0, -1):      # never reaches 0
        _, backward, names = layers_[i]
        if names:
            dout, *dparams = backward(dout, caches[i])
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, caches[i])
    return grads


@pytest.mark.parametrize("fn, mistake, words", [
    (variant(run_backward, "    for (_, backward, names), cache in zip(reversed("
             "layers_), reversed(caches)):", "    layers_.reverse()   # the caller's"
             " list turned round\n    for (_, backward, names), cache in zip("
             "layers_, caches[::-1]):"), "changed_input", ["the caller's list was"
                                                           " reversed"]),
    (_run_backward_returns_in_loop, "loop_stopped_early", ["only, then stopped",
                                                           "`return` inside"]),
    (_run_backward_stops_short, "loop_stopped_early", ["at index 0, never ran",
                                                       "stops one short"]),
    (_run_backward_module_dict, "keeps_state", ["called twice", "earlier call"]),
    (_run_backward_params_only, "skipped_layer", ["never runs the backward of",
                                                  "without parameters"]),
    (_run_backward_multiplies, "dout_multiplied_again", ["chain rule applied twice"]),
])
def test_a_composition_mistake_is_named_by_what_the_loop_does(fn, mistake, words):
    _GRADS_KEPT.clear()
    assert_named(exercises.check_run_backward(fn), mistake, *words)


def test_a_loss_gradient_indexed_class_first_is_named_though_it_raises_later():
    def ce_b_swapped(dloss, cache):
        Y, c = cache
        dY = np.zeros_like(Y)
        for n in range(len(c)):
            dY[c[n], n] = -dloss / (len(c) * Y[n, c[n]])
        return dY

    assert_named(exercises.check_cross_entropy_batch(ce_fwd_b, ce_b_swapped),
                 "indices_swapped", "swapped")


# --- round b2: the classes a blind review found unnamed -----------------------

def _fused_minus_one_everywhere(dl, cache):
    Y, c = cache
    return dl * (Y - 1.0) / len(c)


def _ce_b_from_ones(dl, cache):
    Y, c = cache
    dY = np.ones_like(Y) * dl / len(c)     # outside the class: dloss / N, not 0
    dY[_rows(c), c] = -dl / (len(c) * Y[_rows(c), c])
    return dY


def _ce_from_ones(dloss, cache):
    y, c = cache
    dy = np.ones_like(y)
    dy[c] = -dloss / y[c]
    return dy


def _ce_b_shared(dl, cache):
    Y, c = cache
    dY = np.zeros_like(Y)
    dY[_rows(c), c] = np.mean(-dl / (len(c) * Y[_rows(c), c]))
    return dY


ROUND_B2 = [
    ("not_elementwise", exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: dh @ np.diag(h * (1 - h)),
     ["works on a vector but not on a k of shape (3, 4)", "entry by entry"]),
    ("not_elementwise", exercises.check_sigmoid_layer, sigmoid_forward,
     lambda dh, h: dh.ravel() * h.ravel() * (1 - h.ravel()),
     ["works on a vector but not", "another shape"]),
    ("not_elementwise", exercises.check_sigmoid_layer,
     lambda k: (1 / (1 + np.exp(-k.ravel())),) * 2,
     lambda dh, h: dh * h * (1 - h), ["works on a vector but not", "has shape (12,)"]),
    ("shared_part_unweighted", exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy * y - dy @ y, ["same for every entry", "proportional"]),
    ("shared_part_unweighted", exercises.check_softmax_layer_batch, soft_fwd_b,
     lambda dY, Y: dY * Y - (dY * Y).sum(axis=1, keepdims=True),
     ["same for every entry"]),
    ("own_part_unweighted", exercises.check_softmax_layer, softmax_forward,
     lambda dy, y: dy - y * (dy @ y), ["lost its factor y"]),
    ("outside_class_not_zero", exercises.check_cross_entropy_layer, ce_forward,
     _ce_from_ones, ["outside the true class are 1", "should be 0", "sum to"]),
    ("outside_class_not_zero", exercises.check_cross_entropy_batch, ce_fwd_b,
     _ce_b_from_ones, ["divided by N", "should be 0"]),
    ("subtracted_everywhere", exercises.check_softmax_cross_entropy, fused_fwd,
     _fused_minus_one_everywhere, ["1 is subtracted in every entry", "sum to"]),
    ("class_entries_shared", exercises.check_cross_entropy_batch, ce_fwd_b,
     _ce_b_shared, ["all hold one number", "its own row"]),
    ("summed_over_batch", exercises.check_linear_layer_batch, linear_forward,
     lambda dout, cache: ((dout @ cache[1].T).sum(axis=0), cache[0].T @ dout,
                          dout.sum(axis=0)),
     ["summed over axis 0 (the N rows)", "x (4, 2)"]),
    ("summed_over_batch", exercises.check_linear_layer_batch, linear_forward,
     lambda dout, cache: ((dout @ cache[1].T).sum(axis=1), cache[0].T @ dout,
                          dout.sum(axis=0)), ["summed over axis 1"]),
]


@pytest.mark.parametrize("mistake, check, forward, backward, words", ROUND_B2)
def test_a_review_b_class_is_named(mistake, check, forward, backward, words):
    assert_named(check(forward, backward), mistake, *words)


def test_the_right_sigmoid_pair_passes_on_a_matrix_too():
    result = exercises.check_sigmoid_layer(sigmoid_forward,
                                           lambda dh, h: dh * h * (1 - h))
    assert result.passed, result.message


_LOOP = '''
def minibatch_sgd(params, train_data, val_data, lr, batch_size, epochs, seed):
    X, c = train_data
    history = History(lr=lr, batch_size=batch_size, epochs=epochs, seed=seed,
                      steps_per_epoch=-(-len(X) // batch_size), params=params)
    rng = np.random.default_rng(seed)

    def evaluate_both():
        for (Xs, cs), part in ((train_data, "train"), (val_data, "val")):
            loss, acc = mlp.evaluate(params, Xs, cs)
            getattr(history, f"epoch_{part}_loss").append(loss)
            getattr(history, f"epoch_{part}_acc").append(acc)

    evaluate_both()
    for _ in EPOCHS:
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss, grads = batched_backward(params, X[idx], c[idx])
            for name in params:
                UPDATE
            history.step_loss.append(float(loss))
        evaluate_both()
    return history
'''


def _loop06(epochs="range(epochs)", update="params[name] -= lr * grads[name]"):
    from coursenet import mlp
    from coursenet.history import History
    space = {"np": np, "mlp": mlp, "History": History,
             "batched_backward": mlp.loss_and_grads}
    exec(_LOOP.replace("EPOCHS", epochs).replace("UPDATE", update), space)
    return space["minibatch_sgd"]


@pytest.mark.parametrize("loop, mistake, words", [
    (_loop06(), None, []),
    (_loop06(update="params[name] =- lr * grads[name]"), "params_replaced",
     ["holds the step alone", "old value thrown away"]),
    (_loop06(update="params[name] = lr * grads[name]"), "params_replaced",
     ["along the gradient", "thrown away"]),
    (_loop06(epochs="range(1, epochs)"), "epoch_count", ["1 epoch fewer than asked"]),
    (_loop06(epochs="range(epochs + 1)"), "epoch_count", ["1 epoch more than asked"]),
])
def test_an_update_that_replaces_or_a_wrong_epoch_count_is_named(loop, mistake, words):
    result = exercises.check_minibatch_loop(loop)
    if mistake is None:
        assert result.passed, result.message
    else:
        assert_named(result, mistake, *words)


def test_vector_backward_after_a_wrong_run_backward_points_at_the_loop():
    from tests.test_exercises_pairs import _loop

    def run_backward_forward_caches(layers_, caches):  # the loop, wrong
        return _loop(order=list)(layers_, caches)

    space = {"np": np, "run_backward": run_backward_forward_caches}
    exec("def vector_backward(params, x, c):\n"
         "    raise ValueError('operands could not be broadcast together')\n", space)
    result = exercises.check_vector_backward(space["vector_backward"])
    assert_named(result, "run_backward_wrong", "because run_backward does",
                 "not at fault")


# --- extreme but legal inputs (a large logit spread, many small rows) -------

def _soft_by_mean(o):
    e = np.exp(o - o.mean())
    return e / e.sum(), e / e.sum()


def _soft_rows_by_mean(O):
    E = np.exp(O - O.mean(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True), E / E.sum(axis=1, keepdims=True)


def _ce_product(Y, c):
    return -np.log(np.prod(Y[_rows(c), c])) / len(c), (Y, c)


def _fused_product(O, c):
    Y = _soft_rows(O)
    return -np.log(np.prod(Y[_rows(c), c])) / len(c), (Y, c)


def _sig_exp_over(k):  # right values, nan where exp(k) overflows
    h = np.exp(k) / (1 + np.exp(k))
    return h, h


def _fused_log_after(O, c):  # the shift is right; the log of a 0 is not
    Y = _soft_rows(O)
    return -np.mean(np.log(Y[_rows(c), c])), (Y, c)


@pytest.mark.parametrize("check, forward, backward, mistake, words", [
    (exercises.check_softmax_layer, _soft_by_mean, softmax_backward,
     "not_stable_on_spread", ["gives nan/inf on logits with a large spread"]),
    (exercises.check_softmax_layer_batch, _soft_rows_by_mean, soft_b,
     "not_stable_on_spread", ["gives nan/inf on logits with a large spread"]),
    (exercises.check_cross_entropy_batch, _ce_product, ce_b, "loss_underflows",
     ["the loss of 400 rows underflows", "product of many probabilities"]),
    (exercises.check_softmax_cross_entropy, _fused_product, fused_b,
     "loss_underflows", ["the loss of 400 rows underflows"]),
    (exercises.check_sigmoid_layer, _sig_exp_over, sigmoid_backward,
     "not_stable_on_spread", ["gives nan/inf at k = [-800, 0, 800]"]),
    (exercises.check_softmax_cross_entropy, _fused_log_after, fused_b,
     "not_stable_on_spread", ["is 0 in floating point", "its log"]),
])
def test_a_forward_that_breaks_only_on_extreme_inputs_is_named(check, forward,
                                                               backward, mistake,
                                                               words):
    with np.errstate(all="ignore"):
        result = check(forward, backward)
    assert_named(result, mistake, *words)


def test_the_right_batch_forwards_pass_the_extreme_inputs():
    for result in (exercises.check_softmax_layer_batch(soft_fwd_b, soft_b),
                   exercises.check_softmax_cross_entropy(fused_fwd, fused_b)):
        assert result.passed, result.message


# --- an integer array; a cache indexed where it is used whole ---------------

def _soft_b_int_jacobian(dy, y):
    J = np.zeros((len(y), len(y)), dtype=int)
    for i in range(len(y)):
        for j in range(len(y)):
            J[i, j] = y[i] * ((i == j) - y[j])
    return dy @ J


def _sig_b_first_entry(dh, cache):
    h = cache[0]
    return dh * h * (1 - h)


@pytest.mark.parametrize("check, forward, backward, mistake, words", [
    (exercises.check_softmax_layer, softmax_forward, _soft_b_int_jacobian,
     "truncated_to_integers", ["whole number", "integer"]),
    (exercises.check_sigmoid_layer, sigmoid_forward, _sig_b_first_entry,
     "one_entry_local", ["uses the slope of entry 0", "cache was indexed"]),
])
def test_a_truncated_or_indexed_backward_is_named(check, forward, backward, mistake,
                                                  words):
    assert_named(check(forward, backward), mistake, *words)


def _soft_b_loop_overwrites(dY, Y):
    for n in range(len(Y)):
        dO = Y[n] * (dY[n] - dY[n] @ Y[n])
    return dO


def test_a_loop_that_keeps_only_the_last_row_is_named():
    result = exercises.check_softmax_layer_batch(soft_fwd_b, _soft_b_loop_overwrites)
    assert_named(result, "one_row_kept", "the last row's gradient", "wrote over")


def test_a_loss_divided_by_n_twice_in_the_composition_is_named():
    source = (
        "def batched_backward(params, X, c):\n"
        "    layers = network(c)\n"
        "    loss, caches = run_forward(layers, params, X)\n"
        "    return loss / len(c), run_backward(layers, caches)\n")
    space = nb05_student_namespace()
    exec(source, space)
    assert_named(exercises.check_batched_backward(space["batched_backward"],
                                                  vectorised=False),
                 "loss_divided_twice", "divided by N", "twice")


def _lin_b_dW_for_W(dout, cache):
    X, W = cache
    dW = X.T @ dout
    return dout @ dW.T, dW, dout.sum(axis=0)


def test_a_gradient_used_where_a_weight_belongs_is_named():
    assert_named(exercises.check_linear_layer_batch(linear_forward, _lin_b_dW_for_W),
                 "gradient_for_input", "applied to dW where W belongs")


# --- the expression explainer (exercises/_explain.py) ----------------------

def test_explained_inner_product_for_a_weight_gradient():
    """04's dW written as a matrix product of two 1-D vectors is one number."""
    def backward(dout, cache):
        x, W = cache
        return dout @ W.T, x.T @ dout, dout
    assert_named(exercises.check_linear_layer(linear_forward, backward), "explained",
                 "is one number", "the input x", "the upstream gradient")


def test_explained_upstream_gradient_applied_twice():
    def backward(dh, h):
        return dh * h * (1 - h) * dh
    assert_named(exercises.check_sigmoid_layer(sigmoid_forward, backward),
                 "explained", "the right dk times the upstream gradient")


def test_explained_upstream_gradient_added():
    def backward(dh, h):
        return dh * h * (1 - h) + dh
    assert_named(exercises.check_sigmoid_layer(sigmoid_forward, backward),
                 "explained", "the right dk plus the upstream gradient")


def test_explained_a_sum_met_by_a_second_value():
    def backward(dout, cache):
        x, W = cache
        return dout @ W.T, np.outer(x, dout), W.sum(axis=0) * dout
    assert_named(exercises.check_linear_layer(linear_forward, backward), "explained",
                 "the weights W added up down each column times the upstream gradient")


def test_explained_a_column_maximum_for_a_bias_gradient():
    def backward(dout, cache):
        x, W = cache
        return dout @ W.T, x.T @ dout, dout.max(axis=0)
    assert_named(exercises.check_linear_layer_batch(linear_forward, backward),
                 "explained", "the largest entry of each column of the upstream"
                 " gradient")


def test_explained_a_table_of_products_of_two_batches():
    """np.outer of two 2-D arrays reads them entry by entry: an (N·D, N·M) table."""
    def backward(dout, cache):
        x, W = cache
        return dout @ W.T, np.outer(x, dout), dout.sum(axis=0)
    assert_named(exercises.check_linear_layer_batch(linear_forward, backward),
                 "explained", "a table of products, one row per entry of the input x")


def test_explained_one_quantity_where_another_belongs_without_the_structure():
    """The cache holds the layer's output and dW is built from it: the message
    says which quantity stands where the input belongs, not the product's
    structure (that would be the answer)."""
    def forward(x, W, b):
        out = x @ W + b
        return out, (out, W)

    def backward(dout, cache):
        out, W = cache
        return dout @ W.T, np.outer(out, dout), dout
    result = exercises.check_linear_layer(forward, backward)
    assert_named(result, "explained", "built the way the right one is, but from the"
                 " layer's output where the input x belongs")
    assert "table of products" not in result.message


def test_a_row_sum_without_its_axis_is_explained_in_the_hint():
    """E / E.sum(axis=1) on a batch: numpy's broadcast error, read for the
    student (the rows' sums lined up with the columns)."""
    def forward(O):
        E = np.exp(O - O.max(axis=1, keepdims=True))
        Y = E / E.sum(axis=1)
        return Y, Y

    result = exercises.check_softmax_layer_batch(forward, soft_b)
    assert not result.passed and result.mistake == "raised", result.message
    assert "lines such a vector up with the" in result.message
    assert "keep the reduced axis" in result.message


def test_one_shift_for_the_whole_batch_is_named():
    """O - O.max(): right row by row, nan for a row far below the batch's
    largest logit (a blind student's answer)."""
    def forward(O):
        E = np.exp(O - O.max())
        Y = E / E.sum(axis=1, keepdims=True)
        return Y, Y

    assert_named(exercises.check_softmax_layer_batch(forward, soft_b),
                 "batch_shared_shift", "each of its rows alone comes out right")


# --- round 7: a cache read in another order; a gradient under another name ---

def _ce_backward_cache_reversed(dloss, cache):
    c, y = cache
    dy = np.zeros_like(y)
    dy[c] = -dloss / y[c]
    return dy


def _linear_backward_cache_reversed(dout, cache):
    W, x = cache
    return dout @ W.T, np.outer(x, dout), dout


@pytest.mark.parametrize("check, forward, backward", [
    (exercises.check_cross_entropy_layer, ce_forward, _ce_backward_cache_reversed),
    (exercises.check_linear_layer, linear_forward, _linear_backward_cache_reversed),
])
def test_a_cache_unpacked_in_another_order_is_named(check, forward, backward):
    assert_named(check(forward, backward), "cache_order",
                 "right once the entries of its cache come in another order")


def _run_backward_bias_under_weight_name(layers_, caches):
    grads, dout = {}, 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, dW, db = backward(dout, cache)
            grads[names[0]] = dW
            grads[names[0]] = db
        else:
            dout = backward(dout, cache)
    return grads


def test_a_gradient_stored_under_another_name_is_named():
    assert_named(exercises.check_run_backward(_run_backward_bias_under_weight_name),
                 "wrong_keys", "W2 holds an array of b2's shape (2,)",
                 "b2's gradient was stored under W2's name")


# --- round 8: slips a blind walk wrote that no check had foreseen -----------

def _linear_forward_bias_in_weights(x, W, b):
    return x @ (W + b), (x, W)


def _softmax_forward_caching_logits(o):
    e = np.exp(o - o.max())
    return e / e.sum(), o


def _softmax_backward_from_logits(dy, o):
    y = np.exp(o) / np.exp(o).sum()
    return dy @ (np.diag(y) - np.outer(y, y))


def _softmax_backward_diagonal_everywhere(dy, y):
    C = len(y)
    J = np.array([[y[i] * ((i == i) - y[j]) for j in range(C)] for i in range(C)])
    return dy @ J


def _softmax_backward_dy_for_y(dy, y):
    C = len(y)
    J = np.array([[y[i] * ((i == j) - dy[j]) for j in range(C)] for i in range(C)])
    return dy @ J


def _ce_backward_empty(dloss, cache):
    y, c = cache
    dy = np.empty_like(y)
    dy[c] = -dloss / y[c]
    return dy


def _ce_backward_floor(dloss, cache):
    y, c = cache
    dy = np.zeros_like(y)
    dy[c] = -dloss // y[c]
    return dy


@pytest.mark.parametrize("mistake, check, forward, backward, words", [
    ("bias_added_to_weights", exercises.check_linear_layer,
     _linear_forward_bias_in_weights, linear_backward,
     ["added to every row of W before the product"]),
    ("backward_recomputes_exp", exercises.check_softmax_layer,
     _softmax_forward_caching_logits, _softmax_backward_from_logits,
     ["takes exp of something itself", "output is finite"]),
    ("jacobian_diagonal_rule_everywhere", exercises.check_softmax_layer,
     softmax_forward, _softmax_backward_diagonal_everywhere,
     ["follows the diagonal's rule too", "true for every pair"]),
    ("not_linear_in_dout", exercises.check_softmax_layer, softmax_forward,
     _softmax_backward_dy_for_y, ["does not scale with the upstream gradient"]),
    ("entries_never_set", exercises.check_cross_entropy_layer, ce_forward,
     _ce_backward_empty, ["were never set", "777.25"]),
    ("rounded_to_whole", exercises.check_cross_entropy_layer, ce_forward,
     _ce_backward_floor, ["whole number", "divides with //", "floor division"]),
])
def test_a_round_8_slip_is_named(mistake, check, forward, backward, words):
    assert_named(check(forward, backward), mistake, *words)


def _run_backward_default_dict(layers_, caches, grads={}):  # noqa: B006 - the slip
    dout = 1.0
    for (_, backward, names), cache in zip(reversed(layers_), reversed(caches)):
        if names:
            dout, *dparams = backward(dout, cache)
            grads.update(zip(names, dparams))
        else:
            dout = backward(dout, cache)
    return grads


def test_a_run_backward_that_returns_one_shared_dict_is_named():
    assert_named(exercises.check_run_backward(_run_backward_default_dict),
                 "keeps_state", "the very same dict on two calls")


# --- round 8c: the batched pairs -------------------------------------------

def _soft_fwd_b_per_entry(O):
    E = np.exp(O - np.maximum(O, 0))
    Y = E / E.sum(axis=1, keepdims=True)
    return Y, Y


def _soft_b_squeezed(dY, Y):
    J = Y[:, :, None] * (np.eye(Y.shape[1]) - Y[:, None, :])
    return (dY[:, None, :] @ J).squeeze()


def _ce_fwd_b_flat(Y, c):
    return -np.mean(np.log(np.take(Y, c))), (Y, c)


def _ce_fwd_b_floor(Y, c):
    return -np.sum(np.log(Y[np.arange(len(c)), c])) // len(c), (Y, c)


def _fused_fwd_batch_normalised(O, c):
    Z = O - O.max(axis=1, keepdims=True)
    Y = np.exp(Z) / np.exp(Z).sum()
    log_Y = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return -np.mean(log_Y[np.arange(len(c)), c]), (Y, c)


def _fused_b_rows_by_label(dl, cache):
    Y, c = cache
    d = Y.copy()
    d[c] -= 1
    return dl * d / len(c)


@pytest.mark.parametrize("mistake, check, forward, backward, words", [
    ("shift_per_entry", exercises.check_softmax_layer_batch, _soft_fwd_b_per_entry,
     soft_b, ["right whenever every logit is below 0"]),
    ("one_row_dropped", exercises.check_softmax_layer_batch, soft_fwd_b,
     _soft_b_squeezed, ["on a batch of one row (N = 1)", "expected (1, "]),
    ("loss_flat_index", exercises.check_cross_entropy_batch, _ce_fwd_b_flat, ce_b,
     ["the whole batch taken as one flat row"]),
    ("rounded_to_whole", exercises.check_cross_entropy_batch, _ce_fwd_b_floor, ce_b,
     ["is a whole number", "divides with //"]),
    ("cache_holds_another_value", exercises.check_softmax_cross_entropy,
     _fused_fwd_batch_normalised, fused_b,
     ["their sum over the whole batch (all rows together)"]),
    ("raised", exercises.check_softmax_cross_entropy, fused_fwd,
     _fused_b_rows_by_label, ["is a class label", "picked whole rows"]),
])
def test_a_round_8c_slip_is_named(mistake, check, forward, backward, words):
    assert_named(check(forward, backward), mistake, *words)


# --- round 9: the cross-entropy pairs --------------------------------------

def _ce_forward_log1p(y, c):
    return -np.log1p(y[c]), (y, c)


def _ce_forward_class_before(y, c):
    return -np.log(y[c - 1]), (y, c)


def _ce_backward_by_value(dloss, cache):
    y, c = cache
    return -dloss * (y == y[c]) / y[c]


def _ce_b_int_times_dloss(dl, cache):
    Y, c = cache
    g = np.zeros(Y.shape, dtype=int)
    g[np.arange(len(c)), c] = -1 / (len(c) * Y[np.arange(len(c)), c])
    return g * dl


@pytest.mark.parametrize("mistake, check, forward, backward, words", [
    ("loss_log1p", exercises.check_cross_entropy_layer, _ce_forward_log1p,
     ce_backward, ["the log of 1 + y_c"]),
    ("loss_class_before", exercises.check_cross_entropy_layer,
     _ce_forward_class_before, ce_backward, ["one class before the true one"]),
    ("class_by_value", exercises.check_cross_entropy_layer, ce_forward,
     _ce_backward_by_value, ["on probabilities with ties", "comparing probabilities"]),
    ("truncated_to_integers", exercises.check_cross_entropy_batch, ce_fwd_b,
     _ce_b_int_times_dloss, ["whole number", "integer dtype"]),
])
def test_a_round_9_slip_is_named(mistake, check, forward, backward, words):
    assert_named(check(forward, backward), mistake, *words)


def _sigmoid_forward_default_cache(k, cache=[]):  # noqa: B006 - the slip
    h = 1 / (1 + np.exp(-k))
    cache.append(h)
    return h, cache


def _sigmoid_backward_first(dh, cache):
    h = cache[0]
    return dh * h * (1 - h)


def test_a_forward_whose_cache_list_grows_between_calls_is_named():
    assert_named(exercises.check_sigmoid_layer(_sigmoid_forward_default_cache,
                                               _sigmoid_backward_first),
                 "keeps_state", "hands back the same cache object both times")


def _softmax_forward_expm1(o):
    e = np.expm1(o - o.max())
    y = e / e.sum()
    return y, y


def test_a_softmax_of_expm1_is_named():
    assert_named(exercises.check_softmax_layer(_softmax_forward_expm1,
                                               softmax_backward),
                 "softmax_expm1", "one less than it should be")
