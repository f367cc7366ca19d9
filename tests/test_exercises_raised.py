"""What a check says when the student's code raises, whichever check runs it
(exercises/_core.py: ``_call``): an error that has a definite cause in the
student's own code is named by that cause, not by the error's raw text."""

from coursenet import exercises
from tests.test_exercises_q1_q4 import assert_failed, backprop, forward, loss_grad


def test_a_call_with_its_arguments_swapped_is_named_at_the_call():
    def backward(params, cache):
        d = backprop(cache, params, loss_grad(cache["y"], cache["target"]))
        return {name: d[name] for name in ("W", "b", "V", "c")}

    assert_failed(exercises.check_backward(forward, backward),
                  "call_arguments_swapped", "of backward calls backprop"
                  " with (cache, params, …)", "`cache` arrives where the def"
                  " line has `params`")


def test_one_argument_in_another_place_is_named_too():
    def backward(params, cache):
        dl_dy = loss_grad(cache["y"], cache["target"])
        d = backprop(params, dl_dy, cache)
        return {name: d[name] for name in ("W", "b", "V", "c")}

    assert_failed(exercises.check_backward(forward, backward),
                  "call_arguments_swapped", "`dl_dy` arrives where the def line"
                  " has `cache`")


def test_an_error_inside_a_call_in_the_right_order_is_not_called_a_swap():
    def lookup(params, cache):
        return cache["no such key"]

    def backward(params, cache):
        return lookup(params, cache)

    assert_failed(exercises.check_backward(forward, backward), "raised",
                  "KeyError", absent=("arrives where",))


def test_an_argument_renamed_in_the_def_line_only_is_named():
    def sgd_step(params, grads, rate):
        for key in params:
            params[key] = lr * grads[key]  # noqa: F821 - the slip under test

    assert_failed(exercises.check_sgd_step(sgd_step), "argument_renamed",
                  "reads `lr`, which nothing defines", "its own argument `rate`")


def test_an_undefined_name_with_every_argument_read_is_a_plain_error():
    def sgd_step(params, grads, lr):
        step = lr * scale * grads["c"][0]  # noqa: F821 - the slip under test
        params["c"][0] -= step

    assert_failed(exercises.check_sgd_step(sgd_step), "raised", "NameError",
                  absent=("its own argument",))


def test_an_error_with_no_known_cause_says_what_its_line_saw():
    def backprop_scaled(params, cache, dl_dy):
        inputs = len(cache["x"])
        scale = 1 / (inputs - 2)
        return {k: v * scale for k, v in backprop(params, cache, dl_dy).items()}

    assert_failed(exercises.check_backprop(backprop_scaled), "raised",
                  "ZeroDivisionError", "that line saw inputs = 2")


def test_a_name_left_over_from_an_earlier_loop_is_named_by_what_it_holds():
    def sgd_step(params, grads, lr):
        for name in ("W", "V"):
            P, G = params[name], grads[name]
            for i in range(len(P)):
                for j in range(len(P[i])):
                    P[i][j] -= lr * G[i][j]
        for name in ("b", "c"):
            p = params[name]
            for i in range(len(p)):
                p[i] -= lr * G[i]

    assert_failed(exercises.check_sgd_step(sgd_step), None, "that line saw",
                  "G is the argument grads['V']", "p is the argument params['b']")


def test_a_step_on_arrays_made_from_the_lists_says_they_are_copies():
    import numpy as np

    def sgd_step(params, grads, lr):
        for name in ("W", "V"):
            P = np.array(params[name])
            P -= lr * np.array(grads[name])
        for name in ("b", "c"):
            for i in range(len(params[name])):
                params[name][i] -= lr * grads[name][i]

    assert_failed(exercises.check_sgd_step(sgd_step), "skips_weights",
                  "the weights W and V are not", "a numpy array made from a list")


def test_a_result_made_of_true_and_false_is_named_a_comparison():
    import numpy as np

    def logit_grad(o, c):
        e = np.exp(o - o.max())
        y = e / e.sum()
        return y - np.arange(len(y)) == c    # - binds before ==

    assert_failed(exercises.check_logit_grad(logit_grad), "comparison_result",
                  "holds True and False", "worked out after the arithmetic")


def test_a_step_with_params_and_grads_swapped_is_named():
    def sgd_step(params, grads, lr):
        for name in params:
            g, p = params[name], grads[name]
            for i in range(len(p)):
                if isinstance(p[i], list):
                    for j in range(len(p[i])):
                        p[i][j] -= lr * g[i][j]
                else:
                    p[i] -= lr * g[i]

    assert_failed(exercises.check_sgd_step(sgd_step), "params_grads_swapped",
                  "left params as they were", "roles are swapped")


def test_a_loss_gradient_whose_list_grows_between_calls_is_named():
    def loss_grad(y, target, dl=[]):  # noqa: B006 - the slip under test
        for i in range(len(y)):
            dl.append(-1 / y[i] if i == target else 0.0)
        return dl

    assert_failed(exercises.check_scalar_loss_grad(loss_grad), "keeps_state",
                  "keeps something between calls")


def test_a_function_named_where_its_result_belongs_says_the_call_is_missing():
    def backprop_uncalled(params, cache, dl_dy):
        for _ in loss_grad:      # the function, not its result
            pass
        return backprop(params, cache, dl_dy)

    assert_failed(exercises.check_backprop(backprop_uncalled), "raised",
                  "a call whose () are missing")


def test_an_array_method_left_uncalled_is_shown_as_the_method():
    import numpy as np

    from tests.test_exercises_pairs import linear_forward

    def linear_backward(dout, cache):
        x, W = cache
        x = x.copy                   # the method, not a copy
        return dout @ W.T, np.einsum("i,j->ij", x, dout), dout

    result = exercises.check_linear_layer(linear_forward, linear_backward)
    assert "x is an array's method copy, not its result" in result.message, \
        result.message
