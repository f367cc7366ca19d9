"""What a check says when the student's code raises, whichever check runs it
(exercises/_core.py: ``_call``): an error that has a definite cause in the
student's own code is named by that cause, not by the error's raw text."""

import numpy as np

from coursenet import exercises
from tests.test_exercises_q1_q4 import (
    assert_failed,
    backprop,
    forward,
    loss_grad,
    variant,
)


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

    assert_failed(exercises.check_sgd_step(sgd_step), "name_from_outside",
                  "NameError", "uses `scale`, which is not one of its arguments",
                  absent=("its own argument",))


def test_a_local_read_before_the_line_that_sets_it_is_named():
    def sgd_step(params, grads, lr):
        for name in params:
            if name == "never":
                scale = 1.0
            for i, row in enumerate(params[name]):
                params[name][i] = row - lr * scale * grads[name][i]

    assert_failed(exercises.check_sgd_step(sgd_step), "read_before_set",
                  "reads `scale` before any line of it has set `scale`")


def test_an_inner_function_reading_an_unset_outer_variable_is_named():
    def sgd_step(params, grads, lr):
        def step(value, grad):
            return value - lr * grad * scale
        for name in ("b", "c"):
            params[name][0] = step(params[name][0], grads[name][0])
        scale = 1.0  # noqa: F841 - set after the inner function ran: the slip

    assert_failed(exercises.check_sgd_step(sgd_step), "free_variable_unset",
                  "a variable of the function it is defined in")


def test_two_dicts_read_under_two_keys_on_one_line_is_named():
    def sgd_step(params, grads, lr):
        for name in ("W", "V"):
            for i, row in enumerate(params[name]):
                for j in range(len(row)):
                    row[j] -= lr * grads[name][i][j]
        for i in range(len(params["b"])):
            params["b"][i] -= lr * grads["b"][i]
        for i in range(len(params["c"])):
            params["c"][i] -= lr * grads["b"][i]     # copied from the line above

    assert_failed(exercises.check_sgd_step(sgd_step), "keys_crossed",
                  "reads params['c'] beside grads['b']", "a copied line")


def test_a_write_through_a_read_only_view_is_named():
    import numpy as np

    def softmax_jacobian(y):
        J = -np.outer(y, y)
        d = J.diagonal()
        d += y
        return J

    assert_failed(exercises.check_softmax_jacobian(softmax_jacobian),
                  "read_only_view", "writes into `d`, an array numpy hands out"
                  " read-only")


def test_a_dict_unpacked_into_its_keys_is_named():
    from tests.test_exercises_pairs import linear_forward

    def forward(x, W, b):
        out, (x, W) = linear_forward(x, W, b)
        return out, {"x": x, "W": W}

    def backward(dout, cache):
        x, W = cache
        return dout @ W.T, x[:, None] * dout, dout

    assert_failed(exercises.check_linear_layer(forward, backward),
                  "dict_keys_unpacked", "reads `W` = 'W', a key of the dict"
                  " `cache`")


def test_a_look_alike_function_is_named_when_the_check_fails():
    import numpy as np

    def logit_grad(o, c):
        e = np.expm1(o - o.max())
        y = e / e.sum()
        y[c] -= 1
        return y

    assert_failed(exercises.check_logit_grad(logit_grad), "lookalike_function",
                  "logit_grad calls expm1, which computes eˣ − 1, not eˣ")


def test_a_square_made_by_broadcasting_one_number_per_row_is_named():
    import numpy as np

    from tests.test_exercises_pairs import fused_b

    def softmax_cross_entropy_forward(O, c):
        top = O.max(axis=1, keepdims=True)
        lse = top + np.log(np.exp(O - top).sum(axis=1))
        log_Y = O - lse
        return -float(np.mean(log_Y[np.arange(len(c)), c])), (np.exp(log_Y), c)

    assert_failed(exercises.check_softmax_cross_entropy(
        softmax_cross_entropy_forward, fused_b), "raised",
        "a square of the batch's")


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


def test_a_comparison_that_is_never_true_is_named_when_nothing_is_kept():
    import numpy as np

    def softmax_jacobian(y):
        C = len(y)
        return np.array([[y[i] * (i == j - y[j]) for j in range(C)]
                         for i in range(C)])

    assert_failed(exercises.check_softmax_jacobian(softmax_jacobian),
                  "comparison_never_true", "has a comparison with ==")


def test_a_look_alike_in_a_forward_is_named_too():
    import numpy as np

    from tests.test_exercises_pairs import fused_b

    def softmax_cross_entropy_forward(O, c):
        Z = O - O.max(axis=1, keepdims=True)
        log_Y = Z - np.log1p(np.exp(Z).sum(axis=1, keepdims=True))
        return -np.mean(log_Y[np.arange(len(c)), c]), (np.exp(log_Y), c)

    assert_failed(exercises.check_softmax_cross_entropy(
        softmax_cross_entropy_forward, fused_b), "lookalike_function",
        "calls log1p, which computes log(1 + x)")


def test_an_array_method_named_not_called_in_an_expression_is_named():
    import numpy as np

    from tests.test_exercises_pairs import ce_b

    def cross_entropy_forward(Y, c):
        picked = Y[np.arange(len(c)), c]
        return -np.log(picked).mean, (Y, c)     # the method, not its result

    assert_failed(exercises.check_cross_entropy_batch(cross_entropy_forward, ce_b),
                  "raised", "a call whose () are missing")


def test_negative_probabilities_inside_dl_do_are_named():
    import numpy as np

    def logit_grad(o, c):
        e = np.exp(o) - np.max(o)        # the shift after the exponential
        y = e / e.sum()
        y[c] -= 1
        return y

    assert_failed(exercises.check_logit_grad(logit_grad), "negative_probabilities",
                  "have negative entries", "subtracted after the exponential")


def test_a_name_set_from_an_in_place_call_that_returns_none_is_named():
    import numpy as np

    def softmax_jacobian(y):
        J = np.fill_diagonal(-np.outer(y, y), y * (1 - y))
        return J

    assert_failed(exercises.check_softmax_jacobian(softmax_jacobian),
                  "inplace_result_kept", "returns `J`, which held None",
                  "fill_diagonal changes its argument in place")


def test_a_function_with_no_return_still_says_the_return_is_missing():
    def softmax_jacobian(y):
        y * 2

    assert_failed(exercises.check_softmax_jacobian(softmax_jacobian),
                  "returned_none", "forget the `return`")


def test_a_row_loop_bounded_by_the_row_count_is_named():
    def sgd_step(params, grads, lr):
        W = params["W"]
        for i in range(len(W)):
            for j in range(len(W)):              # the rows, not the row's length
                W[i][j] -= lr * grads["W"][i][j]
        for name in ("b", "c"):
            for j in range(len(params[name])):
                params[name][j] -= lr * grads[name][j]
        for i, row in enumerate(params["V"]):
            for j in range(len(row)):
                row[j] -= lr * grads["V"][i][j]

    assert_failed(exercises.check_sgd_step(sgd_step), "some_entries_unchanged",
                  "as many as the parameter has rows")


def test_an_index_made_of_floats_is_named_by_the_name_that_holds_them():
    import numpy as np

    from tests.test_exercises_pairs import ce_b

    def cross_entropy_forward(Y, c):
        c = c.astype(float)                       # "to be safe"
        return -np.mean(np.log(Y[np.arange(len(c)), c])), (Y, c)

    assert_failed(exercises.check_cross_entropy_batch(cross_entropy_forward, ce_b),
                  "raised", "c holds float64 numbers", "integer positions")


def test_a_table_broadcast_from_a_kept_axis_is_read_from_its_shape():
    import numpy as np

    from tests.test_exercises_pairs import fused_fwd

    def fused_backward(dl, cache):
        Y, c = cache
        d = Y.copy()
        d[np.arange(len(c)), c] -= 1
        return dl * d / len(c) - np.zeros((len(c), 1, 1)) * Y.sum(axis=1)[:, None]

    assert_failed(exercises.check_softmax_cross_entropy(fused_fwd, fused_backward),
                  "wrong_shape", "is a square of the batch's",
                  absent=("matmul",))


def test_an_alias_on_the_failing_line_also_says_what_it_holds():
    from tests.test_exercises_pairs import sigmoid_backward

    def sigmoid_forward(k):
        import numpy as np
        h = 1 / (1 + np.exp(-k))
        return h, (h,)                  # a trailing comma: a tuple

    def backward(dh, cache):
        h = cache
        return dh * h * (1 - h)

    result = exercises.check_sigmoid_layer(sigmoid_forward, backward)
    assert "h is the argument cache (a tuple of 1 row of" in result.message, \
        result.message
    del sigmoid_backward


def test_a_raise_while_handling_an_input_node_is_named():
    from tests.test_exercises_q1_q4 import graph_backward

    def graph_backward_else(nodes, values):
        grads = {name: 0.0 for name, _, _ in nodes}
        grads[nodes[-1][0]] = 1.0
        for name, op, args in reversed(nodes):
            if op == "add":
                local = [1.0] * len(args)
            elif op == "mul":
                local = [values[args[1]], values[args[0]]]
            else:  # sigmoid (an input node lands here too)
                local = [values[name] * (1 - values[name])]
            for i, slope in enumerate(local):
                grads[args[i]] += grads[name] * slope
        return grads

    assert_failed(exercises.check_graph_backward(graph_backward_else),
                  "input_in_op_branch", "while it handled an input node")
    del graph_backward


def test_a_params_unchanged_by_steps_into_arrays_of_lists_is_named():
    import numpy as np

    def sgd_step(params, grads, lr):
        for name in params:
            arr = np.asarray(params[name], dtype=float)
            arr -= lr * np.asarray(grads[name])

    assert_failed(exercises.check_sgd_step(sgd_step), "updates_a_copy",
                  "arrays made from params' lists")


def test_a_count_of_every_entry_where_the_rows_belong_is_shown():
    import numpy as np

    from tests.test_exercises_pairs import fused_fwd

    def fused_backward(dl, cache):
        Y, c = cache
        N = Y.size                          # the entries, not the rows
        d = Y.copy()
        d[np.arange(N), c] -= 1
        return dl * d / N

    result = exercises.check_softmax_cross_entropy(fused_fwd, fused_backward)
    assert "every entry of Y: the count of its entries, not of its rows" \
        in result.message, result.message


def test_a_stop_from_a_failed_check_does_not_send_the_student_elsewhere(capsys):
    with exercises.needs_your_code():
        raise exercises.RunStopped("your `minibatch_sgd` failed its own check above")
    out = capsys.readouterr().out
    assert "say which one is wrong" not in out and "The cells below" in out, out


def test_row_numbers_where_the_classes_belong_are_named():
    import numpy as np

    from tests.test_exercises_pairs import fused_b

    def forward(O, c):
        Z = O - O.max(axis=1, keepdims=True)
        log_Y = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
        return -np.mean(log_Y[c, np.arange(len(c))]), (np.exp(log_Y), c)

    assert_failed(exercises.check_softmax_cross_entropy(forward, fused_b), "raised",
                  "is a row number", "the (row, class) pair the other way round")


def test_a_list_emptied_by_pop_is_named():
    from tests.test_exercises_pairs import run_backward

    def run_backward_pop(layers, caches):
        grads, dout = {}, 1.0
        for _, backward, names in reversed(layers):
            cache = caches.pop()
            if names:
                dout, *dparams = backward(dout, cache)
                grads.update(zip(names, dparams))
            else:
                dout = backward(dout, cache)
        return grads

    assert_failed(exercises.check_run_backward(run_backward_pop), "changed_input",
                  "entries were taken out of the caller's list")
    del run_backward


def test_a_zip_whose_pairs_are_named_the_other_way_round_is_named():
    from tests.test_exercises_pairs import run_backward as right
    run_backward = variant(right, "for (_, backward, names), cache in zip(",
                           "for cache, (_, backward, names) in zip(")
    assert_failed(exercises.check_run_backward(run_backward), "zip_unpacked_swapped",
                  "unpacks each item of zip(layers_, caches) as cache, (_, backward,"
                  " names)", "first from layers_")


def test_a_tuple_one_name_took_whole_from_a_call_is_named():
    from tests.test_exercises_pairs import softmax_forward

    def softmax_backward(dy, o):
        y = softmax_forward(o)
        J = -y[:, None] * y[None, :]
        return dy @ (J + np.diag(y))

    def forward(o):
        y, _ = softmax_forward(o)
        return y, o

    assert_failed(exercises.check_softmax_layer(forward, softmax_backward),
                  "tuple_kept_whole", "reads `y`, which holds the whole tuple of 2"
                  " that softmax_forward returned")


def test_a_list_whose_length_is_written_into_the_code_is_named():
    def loss_grad(y, c):
        g = [0.0, 0.0]            # the course's example has two classes
        g[c] = -1 / y[c]
        return g

    assert_failed(exercises.check_scalar_loss_grad(loss_grad), "list_too_short",
                  "of `g`, which has 2 entries, while the argument `y` has",
                  "a length written into the code")


def test_a_list_made_from_a_size_is_not_called_written_into_the_code():
    def loss_grad(y, c):
        g = [0.0] * (len(y) - 1)
        g[c] = -1 / y[c]
        return g

    assert_failed(exercises.check_scalar_loss_grad(loss_grad), "raised",
                  absent=("written into the code",))


def test_a_number_indexed_as_an_array_is_named():
    """Round 17: a log-sum-exp summed without an axis, then indexed per row."""
    from tests.test_exercises_pairs import fused_b

    def forward(O, c):
        shifted = O - O.max(axis=1, keepdims=True)
        log_sum = np.log(np.sum(np.exp(shifted)))
        rows = np.arange(len(c))
        Y = np.exp(shifted - log_sum)
        return float(np.mean(log_sum[rows] - shifted[rows, c])), (Y, c)

    assert_failed(exercises.check_softmax_cross_entropy(forward, fused_b),
                  "scalar_indexed", "indexes `log_sum`, which holds one number",
                  "without an axis")


def test_an_array_made_like_an_argument_and_indexed_twice_is_named():
    """Round 19: J = np.zeros_like(y), then J[i, j] = ..."""
    def softmax_jacobian(y):
        J = np.zeros_like(y)
        for i in range(len(y)):
            for j in range(len(y)):
                J[i, j] = y[i] * ((i == j) - y[j])
        return J

    assert_failed(exercises.check_softmax_jacobian(softmax_jacobian),
                  "made_like_input", "indexes `J` with 2 indices",
                  "the shape of the argument `y`")


def test_an_integer_array_behind_a_failed_check_is_noted():
    """Round 19: a batch Jacobian made with dtype=int cuts y to 0."""
    from tests.test_exercises_pairs import soft_fwd_b

    def softmax_backward(dY, Y):
        N, C = Y.shape
        J = np.zeros((N, C, C), dtype=int)
        J[:, np.arange(C), np.arange(C)] = Y
        J = J - Y[:, :, None] * Y[:, None, :]
        return np.einsum("ni,nij->nj", dY, J)

    result = exercises.check_softmax_layer_batch(soft_fwd_b, softmax_backward)
    assert_failed(result, None, "softmax_backward makes an array with an integer"
                  " dtype")


def test_two_results_taken_in_the_other_order_are_named():
    from coursenet import mlp

    def batched_backward(params, X, c):          # loss_and_grads returns (loss, grads)
        grads, loss = mlp.loss_and_grads(params, X, c)
        return loss, {k: grads[k] for k in params}

    assert_failed(exercises.check_batched_backward(batched_backward),
                  "unpacked_swapped", "unpacks a call's two results as grads, loss",
                  "`loss` is a dict", "look swapped")


def test_a_loss_that_is_one_number_is_not_called_swapped():
    from coursenet import mlp

    def batched_backward(params, X, c):
        loss, grads = mlp.loss_and_grads(params, X, c)
        return loss, {k: grads[k + "x"] for k in params}   # KeyError, names right

    result = exercises.check_batched_backward(batched_backward)
    assert not result.passed and result.mistake != "unpacked_swapped", result.message


def test_indices_counted_by_enumerate_from_one_are_named():
    def sgd_step(params, grads, lr):      # blind round 20 (03-sgd-5)
        for name in ("W", "V"):
            for i, row in enumerate(params[name]):
                for j, g in enumerate(grads[name][i], 1):
                    row[j] -= lr * g
        for name in ("b", "c"):
            for j, g in enumerate(grads[name]):
                params[name][j] -= lr * g

    assert_failed(exercises.check_sgd_step(sgd_step), "enumerate_from_one",
                  "counts with enumerate(…, 1)", "the last runs off the end")


def test_a_shape_passed_as_two_numbers_is_named():
    def softmax_jacobian(y):           # blind round 21 (01-jac-1)
        C = len(y)
        J = np.empty(C, C)
        for i in range(C):
            for j in range(C):
                J[i, j] = y[i] * ((i == j) - y[j])
        return J

    assert_failed(exercises.check_softmax_jacobian(softmax_jacobian),
                  "shape_as_two_arguments", "passes an array's shape as separate"
                  " numbers", "read a second number as the dtype")


def test_a_key_missing_from_a_dict_the_function_got_back_lists_its_keys():
    def backward(params, cache):       # blind round 21 (02-bw-2): 'dW' for 'W'
        d = backprop(params, cache, loss_grad(cache["y"], cache["target"]))
        return {name: d["d" + name] for name in ("W", "b", "V", "c")}

    assert_failed(exercises.check_backward(forward, backward), "raised",
                  "it looked up the key 'dW'; on that line `d` has keys ['dy',")


def test_zip_lists_swapped_in_one_loop_of_a_step_are_named():
    def sgd_step(params, grads, lr):   # blind round 21 (03-sgd-7): W and V only
        for name in ("W", "V"):
            for g_row, p_row in zip(params[name], grads[name]):
                for j in range(len(p_row)):
                    p_row[j] -= lr * g_row[j]
        for name in ("b", "c"):
            for j in range(len(params[name])):
                params[name][j] -= lr * grads[name][j]

    assert_failed(exercises.check_sgd_step(sgd_step), "params_grads_swapped",
                  "left W, V of params as they were", "a zip's two lists")


def test_an_argument_handed_on_transposed_is_named():
    from coursenet import mlp

    def batched_backward(params, X, c):   # blind round 21 (05-bb-2)
        return mlp.loss_and_grads(params, X.T, c)

    assert_failed(exercises.check_batched_backward(batched_backward),
                  "argument_transposed", "hands on X turned round")


def test_an_array_made_like_a_number_and_then_indexed_is_named():
    from tests.test_exercises_pairs import ce_forward

    def cross_entropy_backward(dloss, cache):     # blind round 22 (04-ce-1)
        y, c = cache
        dy = np.zeros_like(c)
        dy[c] = -dloss / y[c]
        return dy

    assert_failed(exercises.check_cross_entropy_layer(ce_forward,
                                                      cross_entropy_backward),
                  "made_like_input", "it was made like `c`, which is one number")


def test_a_bias_line_copied_with_its_name_is_named_as_a_parameter_that_never_moves():
    def sgd_step(params, grads, lr):     # blind round 22 (03-sgd-4): "b" kept
        for name in ("W", "V"):
            for row, g_row in zip(params[name], grads[name]):
                for j, g in enumerate(g_row):
                    row[j] -= lr * g
        for name in ("b", "c"):
            for j, g in enumerate(grads[name]):
                params["b"][j] -= lr * g

    assert_failed(exercises.check_sgd_step(sgd_step), None,
                  "the step of c is 0 in every entry", "nothing reaches it")
