"""Q7's check of the student's minibatch SGD loop: right loops pass, each typical
mistake of a loop is named. Every wrong loop here is written as a student would
write it, calling the notebook's ``batched_backward`` (defined below, as carried
over from notebook 05)."""

import math

import numpy as np
import pytest

from coursenet import exercises, mlp, train
from coursenet.history import History


def batched_backward(params, X, c):  # what notebook 05 hands over (right)
    return mlp.loss_and_grads(params, X, c)


def new_history(params, X, lr, batch_size, epochs, seed):
    return History(lr=lr, batch_size=batch_size, epochs=epochs, seed=seed,
                         steps_per_epoch=math.ceil(len(X) / batch_size),
                         params=params)


def make_loop(shuffle="fresh", last="keep", scale="mean", record="mean",
              evals="whole", labels="together", epoch0=True, in_place=True,
              skip=None):
    """The loop of Q7 with one switch per mistake."""

    def minibatch_sgd(params, train_data, val_data, lr, batch_size, epochs, seed):
        X, c = train_data
        Xv, cv = val_data
        history = new_history(params, X, lr, batch_size, epochs, seed)
        rng = np.random.default_rng(seed)
        N = len(X)
        if labels == "apart":  # shuffles images and labels separately
            X, c = X.copy(), c.copy()
        fixed = rng.permutation(N) if shuffle == "once" else None

        def record_epoch(epoch_losses, rows=None):
            # evals="last_batch": the epoch's training entries on its last batch
            on = slice(None) if rows is None or evals != "last_batch" else rows
            tl, ta = mlp.evaluate(params, X[on], c[on])
            if evals == "batch_mean" and epoch_losses:
                tl = float(np.mean(epoch_losses))
            if evals == "last_step" and history.step_loss:
                tl = history.step_loss[-1]
            on_train = evals == "val_on_train" or (evals == "val_on_train_in_loop"
                                                   and epoch_losses)
            vl, va = (tl, ta) if on_train else mlp.evaluate(
                params, Xv, c[:len(Xv)] if evals == "train_labels" else cv)
            history.epoch_train_loss.append(tl)
            history.epoch_train_acc.append(ta)
            history.epoch_val_loss.append(vl)
            history.epoch_val_acc.append(va)

        previous = [None]
        if epoch0:
            record_epoch([])
        for epoch in range(epochs):
            if shuffle in ("fresh", "per_batch"):
                order = rng.permutation(N)
            elif shuffle == "none":
                order = np.arange(N)
            elif shuffle == "once":
                order = fixed
            elif shuffle == "reseeded":
                order = np.random.default_rng(seed).permutation(N)
            elif shuffle == "global":   # numpy's global generator: not the seed's
                order = np.random.permutation(N)
            elif shuffle == "legacy_seeded":   # blind round 21: seeded, old API
                if epoch == 0:
                    np.random.seed(seed)
                order = np.random.permutation(N)
            elif shuffle == "choice":   # a draw without replacement
                order = rng.choice(N, N, replace=False)
            elif shuffle == "replacement":
                order = rng.integers(0, N, N)
            elif shuffle == "short":  # a permutation of the batch size
                order = rng.permutation(batch_size)
            if evals == "start":  # evaluated before the epoch trains
                record_epoch([])
            if labels == "apart":
                rng.shuffle(X)
                rng.shuffle(c)
                order = np.arange(N)
            stop = N - batch_size + 1 if last == "drop" else \
                N - 1 if last == "end_early" else N
            epoch_losses = []
            for start in range(0, stop, batch_size):
                idx = order[:batch_size] if last == "same" \
                    else order[start:min(start + batch_size, N - 1)] \
                    if last == "clamped" else order[start:start + batch_size]
                if shuffle == "per_batch":   # a new order for every batch
                    idx = rng.permutation(N)[start:start + batch_size]
                loss, grads = batched_backward(params, X[idx], c[idx])
                factor = {"sum": len(idx), "lr_twice": lr, "ascent": -1,
                          "double": 2, "over_B": 1 / batch_size,
                          "times_B": batch_size, "fixed": 0.3 / lr,
                          "epoch_decay": 0.9 ** epoch,   # a schedule nobody asked for
                          "step_decay": 0.99 ** len(history.step_loss)}.get(scale, 1)
                if scale == "previous":  # steps with the last batch's gradients
                    grads, previous[0] = previous[0], grads
                    factor = 0 if grads is None else 1
                    grads = grads or previous[0]
                if in_place == "rebind":   # each new array only renames p
                    for name, p in params.items():
                        p = p - lr * factor * grads[name]
                elif in_place and skip == "letters":   # a dict looped as pairs
                    for name, g in grads:
                        params[name] -= lr * factor * g
                elif in_place and skip == "by_position":   # relies on the dicts' order
                    for p, g in zip(params.values(), grads.values()):
                        p -= lr * factor * g
                elif in_place:
                    for name in params:
                        if name != skip:
                            params[name] -= lr * factor * grads[name]
                else:
                    params = {k: params[k] - lr * grads[k] for k in params}
                history.step_loss.append(loss * len(idx) if record == "sum"
                                         else loss)
                epoch_losses.append(loss)
                if evals == "per_batch":   # indented one level too far
                    record_epoch(epoch_losses, idx)
            if evals not in ("start", "per_batch"):
                record_epoch(epoch_losses, idx)
        return history

    return minibatch_sgd


def loop_with_per_row_calls(params, train_data, val_data, lr, batch_size, epochs,
                            seed):
    """Calls batched_backward once per instance and sums the gradients."""
    X, c = train_data
    history = new_history(params, X, lr, batch_size, epochs, seed)
    rng = np.random.default_rng(seed)
    history.epoch_train_loss.append(0.0)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            total = {k: 0 for k in params}
            for i in order[start:start + batch_size]:
                loss, g = batched_backward(params, X[i:i + 1], c[i:i + 1])
                for k in params:
                    total[k] = total[k] + g[k]
            for k in params:
                params[k] -= lr * total[k]
            history.step_loss.append(loss)
    return history


def loop_with_inline_gradient(params, train_data, val_data, lr, batch_size, epochs,
                              seed):
    """Right in every other way, but never calls batched_backward."""
    X, c = train_data
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            _, g = mlp.loss_and_grads(params, X[idx], c[idx])
            for k in params:
                params[k] -= lr * g[k]
    return None


def train_sgd_loop(params, train_data, val_data, lr, batch_size, epochs, seed):
    """The same loop through Python sets and lists: right, in another style."""
    X, c = train_data
    history = new_history(params, X, lr, batch_size, epochs, seed)
    rng = np.random.default_rng(seed)
    for epoch in range(epochs + 1):
        if epoch:
            order = list(rng.permutation(len(X)))
            while order:
                idx, order = np.array(order[:batch_size]), order[batch_size:]
                loss, grads = batched_backward(params, X[idx], c[idx])
                for name, g in grads.items():
                    params[name] -= lr * g
                history.step_loss.append(float(loss))
        for (Xs, cs), part in (((X, c), "train"), (val_data, "val")):
            loss, acc = mlp.evaluate(params, Xs, cs)
            getattr(history, f"epoch_{part}_loss").append(loss)
            getattr(history, f"epoch_{part}_acc").append(acc)
    return history


def assert_diagnosed(result, mistake, *words):
    assert not result.passed, result.message
    assert result.message.startswith("✗") and "Hint:" in result.message
    assert result.mistake == mistake, result.message
    for word in words:
        assert word in result.message, (word, result.message)


@pytest.mark.parametrize("fn", [make_loop(), train_sgd_loop])
def test_right_loops_pass(fn):
    result = exercises.check_minibatch_loop(fn)
    assert result.passed, result.message
    assert "including the last partial one" in result.message


def test_the_reference_loop_equals_train_sgd():
    """The check's reference is the package's train.sgd (float64, same seed)."""
    from coursenet.exercises import nb06

    params, train_data, val_data = nb06._problem()
    ref, steps, evals = nb06._reference(params, train_data, val_data, 0.5, 8, 3, 3)
    history = train.sgd(params, train_data, lr=0.5, batch_size=8, epochs=3, seed=3,
                        val_data=val_data, progress=False)
    for k in ref:
        np.testing.assert_allclose(ref[k], history.params[k], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(steps, history.step_loss, rtol=1e-10)
    np.testing.assert_allclose(evals[:, 2], history.epoch_val_loss, rtol=1e-10)
    assert len(steps) == 3 * math.ceil(37 / 8)


LOOP_MISTAKES = [
    (make_loop(shuffle="none"), "no_shuffle", ["stored order"]),
    (make_loop(shuffle="once"), "same_permutation", ["same shuffled order"]),
    (make_loop(shuffle="reseeded"), "same_permutation", ["re-made from the seed"]),
    (make_loop(shuffle="replacement"), "with_replacement", ["with replacement"]),
    (make_loop(evals="per_batch"), "eval_per_batch", ["3 epochs × 5 batches",
                                                     "after every batch"]),
    (make_loop(shuffle="per_batch"), "order_per_batch", ["a new order of the rows"
                                                         " for every batch"]),
    (make_loop(last="drop"), "drop_last", ["dropped the last, partial batch"]),
    (make_loop(skip="letters"), "raised", ["the first letter of the key",
                                           "from the dict's items"]),
    (make_loop(evals="last_step"), "last_batch_loss", ["each epoch's last batch"
                                                       " loss"]),
    (make_loop(evals="train_labels"), "val_with_train_labels", ["scored against"
                                                                " the first 11"]),
    # blind round 21: the orders from the seed, drawn through other calls
    (make_loop(shuffle="legacy_seeded"), "other_generator",
     ["numpy's older global functions"]),
    (make_loop(shuffle="choice"), "other_generator", ["without replacement"]),
    # blind round 21: the slice's end clamped to N - 1
    (make_loop(last="clamped"), "one_row_short", ["one row is left out of every"
                                                   " epoch"]),
    (make_loop(last="end_early"), "last_row_skipped", ["the last row of the epoch's"
                                                       " order is never used",
                                                       "ends one row short"]),
    (make_loop(scale="sum"), "summed", ["too large", "(8 here)", "summed"]),
    (make_loop(scale="over_B"), "divided_twice", ["divided by the batch size once"
                                                   " more", "(8 here)"]),
    (make_loop(scale="times_B"), "summed", ["batch_size times too large"]),
    (make_loop(scale="previous"), "previous_grads", ["previous batch"]),
    (make_loop(scale="lr_twice"), "lr_twice", ["the learning rate is applied twice"]),
    (make_loop(scale="ascent"), "ascent", ["along the gradient, not against it"]),
    (make_loop(scale="double"), "lr_doubled", ["twice as large"]),
    (make_loop(scale="epoch_decay"), "rate_changes_between_epochs",
     ["the rates 0.5, 0.45, 0.405 in epochs 1 to 3", "changes between epochs"]),
    (make_loop(scale="step_decay"), "rate_changes_between_steps",
     ["the rates 0.5, 0.495, 0.4901", "changes from step to step"]),
    (make_loop(scale="fixed"), "rate_not_lr", ["uses the rate 0.3, not the lr = 0.5"]),
    (make_loop(skip="b2"), "not_all_params", ["never changed b2"]),
    (make_loop(skip="by_position"), "pairs_by_position",
     ["pairs each parameter with a gradient by position"]),
    (make_loop(record="sum"), "summed_loss", ["sum of each batch's losses"]),
    (make_loop(evals="val_on_train"), "val_on_train", ["training set", "every entry"]),
    # copy-pasted in the loop only: epoch 0's validation entries are right
    (make_loop(evals="val_on_train_in_loop"), "val_on_train",
     ["training set", "epochs 1 to 3"]),
    (make_loop(evals="batch_mean"), "mean_of_batches", ["mean of each epoch's"]),
    (make_loop(epoch0=False), "no_epoch0", ["before the first epoch"]),
    (make_loop(shuffle="global"), "global_generator",
     ["a second run with the same seed visits the rows in another order"]),
    (make_loop(shuffle="short"), "order_too_short", ["is empty", "29 rows never seen"]),
    (make_loop(last="same"), "same_batch", ["the same 8 rows", "never used"]),
    (make_loop(evals="last_batch"), "evaluated_on_batch", ["loss of the last batch"]),
    (make_loop(evals="start"), "evaluated_before_epoch", ["before epoch e trained"]),
    (make_loop(labels="apart"), "labels_apart", ["do not belong"]),
    (make_loop(in_place=False), "not_in_place",
     ["did not change, though the parameters batched_backward was given did"]),
    (make_loop(in_place="rebind"), "not_in_place",
     ["neither did the ones batched_backward was given", "`p = p - ...`"]),
    (loop_with_per_row_calls, "one_row_calls", ["one row at a time"]),
    (loop_with_inline_gradient, "no_backward", ["never called batched_backward"]),
]


@pytest.mark.parametrize("fn, mistake, words", LOOP_MISTAKES)
def test_loop_mistakes_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_minibatch_loop(fn), mistake, *words)


def test_a_loop_that_reshuffles_with_another_seed_scheme_is_told_the_order():
    def fn(params, train_data, val_data, lr, batch_size, epochs, seed):
        X, c = train_data
        history = new_history(params, X, lr, batch_size, epochs, seed)
        for epoch in range(epochs):
            order = np.random.default_rng(seed + epoch).permutation(len(X))
            for start in range(0, len(X), batch_size):
                idx = order[start:start + batch_size]
                loss, grads = batched_backward(params, X[idx], c[idx])
        return history

    assert_diagnosed(exercises.check_minibatch_loop(fn), "other_order",
                     "one generator from the seed before the epochs")


def test_the_stub_is_not_implemented_and_the_name_is_restored():
    def minibatch_sgd(*args):
        raise NotImplementedError()

    result = exercises.check_minibatch_loop(minibatch_sgd)
    assert result.status == "todo"
    assert batched_backward.__name__ == "batched_backward"
    assert globals()["batched_backward"] is batched_backward


def test_without_batched_backward_in_reach_the_check_says_so():
    namespace = {}
    exec("def loop(*args):\n    return None\n", namespace)  # noqa: S102
    assert_diagnosed(exercises.check_minibatch_loop(namespace["loop"]),
                     "no_backward", "cannot see a function `batched_backward`")


def loop_then(change):
    """The right loop, then ``change(history, params, train_data)`` before returning."""
    right = make_loop()

    def minibatch_sgd(params, train_data, val_data, lr, batch_size, epochs, seed):
        history = right(params, train_data, val_data, lr, batch_size, epochs, seed)
        return change(history, params, train_data, lr)

    return minibatch_sgd


def halve_steps(history, params, train_data, lr):
    return history


def divided_twice(params, train_data, val_data, lr, batch_size, epochs, seed):
    X, c = train_data
    history = new_history(params, X, lr, batch_size, epochs, seed)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss, grads = batched_backward(params, X[idx], c[idx])
            for name in params:
                params[name] -= lr * grads[name] / len(idx)
            history.step_loss.append(loss)
        for Xs, cs, part in ((X, c, "train"), (*val_data, "val")):
            loss, acc = mlp.evaluate(params, Xs, cs)
            getattr(history, f"epoch_{part}_loss").append(loss)
            getattr(history, f"epoch_{part}_acc").append(acc)
    return history


def other_update(params, train_data, val_data, lr, batch_size, epochs, seed):
    history = make_loop()(params, train_data, val_data, lr, batch_size, epochs, seed)
    params["b1"] += 0.1  # e.g. a momentum term, or a stray update
    return history


def mutating_loop(params, train_data, val_data, lr, batch_size, epochs, seed):
    history = make_loop()(params, train_data, val_data, lr, batch_size, epochs, seed)
    train_data[0][:] = train_data[0][::-1].copy()
    return history


def transformed_rows(params, train_data, val_data, lr, batch_size, epochs, seed):
    X, c = train_data
    return make_loop()(params, (X * 1.0000001, c), val_data, lr, batch_size,
                       epochs, seed)


def big_batches(params, train_data, val_data, lr, batch_size, epochs, seed):
    return make_loop()(params, train_data, val_data, lr, 2 * batch_size, epochs, seed)


def one_epoch_only(params, train_data, val_data, lr, batch_size, epochs, seed):
    return make_loop()(params, train_data, val_data, lr, batch_size, 1, seed)


def first_batch_skipped(params, train_data, val_data, lr, batch_size, epochs, seed):
    """Starts each epoch's batches at batch_size, not 0: 29 of 37 rows per epoch."""
    X, c = train_data
    history = new_history(params, X, lr, batch_size, epochs, seed)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(batch_size, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss, grads = batched_backward(params, X[idx], c[idx])
            for name in params:
                params[name] -= lr * grads[name]
            history.step_loss.append(loss)
    return history


def epoch_losses_only(history, params, train_data, lr):
    per = history.steps_per_epoch
    history.step_loss = [float(np.mean(history.step_loss[i:i + per]))
                         for i in range(0, len(history.step_loss), per)]
    return history


def shifted_losses(history, params, train_data, lr):
    history.step_loss = history.step_loss[1:] + [0.0]
    return history


def missing_loss(history, params, train_data, lr):
    history.step_loss.pop()
    return history


def swapped(history, params, train_data, lr):
    h = history
    h.epoch_train_loss, h.epoch_val_loss = h.epoch_val_loss, h.epoch_train_loss
    h.epoch_train_acc, h.epoch_val_acc = h.epoch_val_acc, h.epoch_train_acc
    return h


def extra_eval(history, params, train_data, lr):
    history.epoch_val_loss.append(0.0)
    return history


def stale_eval(history, params, train_data, lr):
    history.epoch_val_acc[2] = 0.5
    return history


def text_losses(history, params, train_data, lr):
    history.step_loss = ["a"] * len(history.step_loss)
    return history


def text_evals(history, params, train_data, lr):
    history.epoch_train_acc = [{"a": 1}]
    return history


def slipped_loop(slip):
    """The right loop with one slip a blind walk wrote (rounds 7 and 8c)."""

    def minibatch_sgd(params, train_data, val_data, lr, batch_size, epochs, seed):
        X, c = train_data
        Xv, cv = val_data
        history = new_history(params, X, lr, batch_size, epochs, seed)
        rng = np.random.default_rng(seed)
        N = len(X)

        def record():
            nonlocal X, c
            if slip == "eval_names_reused":   # round 11: the training names reused
                for X, c in ((X, c), (Xv, cv)):  # noqa: B020 - the slip under test
                    mlp.evaluate(params, X, c)
            tl, ta = mlp.evaluate(params, X, c)
            if slip == "unpacked_swapped":
                ta, tl = mlp.evaluate(params, X, c)
            vl, va = mlp.evaluate(params, Xv, cv)
            if slip == "val_acc_gets_loss":   # one append takes the wrong name
                va = vl
            for name, value in zip(("train_loss", "train_acc", "val_loss",
                                    "val_acc"), (tl, ta, vl, va)):
                getattr(history, f"epoch_{name}").append(value)
            if slip == "eval_list_replaced":
                history.epoch_train_loss = [tl]

        if slip != "record_at_start":
            record()
        if slip == "return_after_first_record":
            return history
        for _ in range(epochs):
            if slip == "eval_names_reused":   # the sizes follow the reused names
                N = len(X)
            if slip == "record_at_start":
                record()
            order = rng.permutation(N) if slip != "end_fixed_global" \
                else np.random.permutation(N)
            if slip == "shuffled_apart":   # the caller's arrays, each on its own
                rng.shuffle(X)
                rng.shuffle(c)
                order = np.arange(N)
            if slip == "reshuffle_shuffled":   # shuffles the rows shuffled last epoch
                X, c = X[order], c[order]
                order = np.arange(N)
            bound = len(Xv) if slip == "val_bound" else N
            if slip == "batches_rounded":   # round(37 / 8) = 5: right for 37 rows
                bound = round(N / batch_size) * batch_size
            for start in range(0, bound, batch_size):
                end = batch_size if slip.startswith("end_fixed") else \
                    start + batch_size + {"end_short": -1, "end_long": 1}.get(slip, 0)
                idx = order[start:end] if slip != "slice_stepped" \
                    else order[start::batch_size]
                if slip == "batches_overlap":   # round 14: batch k starts at k
                    k = start // batch_size
                    idx = order[k:k + batch_size]
                if slip == "overwritten":
                    X, c = X[idx], c[idx]
                    loss, grads = batched_backward(params, X, c)
                else:
                    loss, grads = batched_backward(params, X[idx], c[idx])
                for name in params:
                    params[name] -= lr * (params[name] if slip == "own_value"
                                          else grads[name])
                history.step_loss.append(history.epoch_val_loss[-1]
                                         if slip == "eval_loss_as_step" else loss)
            if slip != "record_at_start":
                record()
            if slip == "return_in_loop":   # indented into the loop: the only return
                return history
        if slip != "return_in_loop":
            return history
        return None   # what falling off the end returns (epochs = 0)

    return minibatch_sgd


MORE_MISTAKES = [
    (divided_twice, "divided_twice", ["too small"]),
    (other_update, "params", ["max abs diff", "in b1"]),
    (mutating_loop, "changed_data", ["changed train_data in place"]),
    (transformed_rows, "not_rows", ["not rows of the training X"]),
    (big_batches, "batch_size", ["batches of up to 16 rows"]),
    (one_epoch_only, "epoch_count", ["37 rows once", "2 epochs fewer than asked"]),
    (first_batch_skipped, "row_count", ["87 rows", "111"]),
    (loop_then(epoch_losses_only), "loss_per_epoch", ["one per epoch"]),
    (loop_then(shifted_losses), "step_loss", ["not the loss batched_backward"]),
    (loop_then(missing_loss), "step_count", ["14 entries for 15 batches"]),
    (loop_then(swapped), "swapped_evals", ["swapped"]),
    (loop_then(extra_eval), "eval_count", ["epoch_val_loss 5"]),
    (loop_then(stale_eval), "evals", ["epoch_val_acc[2]"]),
    (loop_then(text_losses), "wrong_type", ["step_loss"]),
    (loop_then(text_evals), "wrong_type", ["epoch_train_acc"]),
    (loop_then(lambda h, p, d, lr: None), "wrong_type", ["NoneType, not the"]),
    (slipped_loop("end_fixed"), "slice_end_fixed",
     ["batch 2 of epoch 1", "is empty", "the end of the slice does not move"]),
    (slipped_loop("end_fixed_global"), "order_too_short",
     ["batch 2 of epoch 1", "is empty", "ever reach it"]),
    (slipped_loop("val_bound"), "loop_bound",
     ["2 batches", "16 rows", "the validation set's 11 rows"]),
    (slipped_loop("overwritten"), "data_overwritten",
     ["only 8 rows", "the size of the batch before it", "37 training rows"]),
    (slipped_loop("unpacked_swapped"), "eval_fields_swapped",
     ["epoch_train_loss holds what epoch_train_acc should hold",
      "the two values evaluate returns were unpacked in the other order"]),
    (slipped_loop("shuffled_apart"), "changed_data",
     ["changed train_data in place", "rows and labels were shuffled separately"]),
    # round 11
    (slipped_loop("eval_names_reused"), "trained_on_validation",
     ["on rows of the validation set", "(for X, c in ...)"]),
    (slipped_loop("eval_loss_as_step"), "evaluation_as_step_loss",
     ["holds losses of the whole-set evaluations"]),
    (slipped_loop("return_after_first_record"), "returned_in_loop",
     ["returned after the first evaluation, before any step"]),
    # round 12
    (slipped_loop("batches_rounded"), "batches_rounded",
     ["with N = 35 training rows", "used 32 rows in an epoch, not 35"]),
    (slipped_loop("slice_stepped"), "slice_stepped", ["hold 5, 4, 3, 2, 1 rows"]),
    (slipped_loop("own_value"), "steps_by_own_value",
     ["by lr times the parameter itself", "(1 - lr)^15"]),
    (slipped_loop("batches_overlap"), "batches_overlap",
     ["moved on by one row", "share 7 rows"]),
    (slipped_loop("eval_list_replaced"), "eval_list_replaced",
     ["one value in epoch_train_loss", "replaced at every evaluation"]),
]


def recorded_twice_at_the_end(history, params, train_data, lr):
    for field in ("train_loss", "train_acc", "val_loss", "val_acc"):
        values = getattr(history, f"epoch_{field}")
        values.append(values[-1])
    return history


ROUND8_MISTAKES = [
    (slipped_loop("end_short"), "slice_end_off",
     ["every batch but the last holds 7 rows", "batch_size = 8",
      "one position early", "already exclusive"]),
    (slipped_loop("end_long"), "slice_end_off",
     ["every batch but the last holds 9 rows", "overlaps the next"]),
    (slipped_loop("record_at_start"), "evaluated_before_epoch",
     ["before each epoch", "never after the last"]),
    (slipped_loop("return_in_loop"), "stops_after_first_epoch",
     ["after the first epoch", "return", "inside the epoch loop"]),
    (slipped_loop("val_acc_gets_loss"), "eval_field_repeated",
     ["epoch_val_acc repeats the values of epoch_val_loss",
      "one append takes the wrong variable"]),
    (slipped_loop("reshuffle_shuffled"), "reshuffled_shuffled",
     ["shuffles the already shuffled rows", "the original"]),
    (loop_then(recorded_twice_at_the_end), "eval_moments",
     ["5 evaluations", "before training, after epoch 1, after epoch 2, after"
      " epoch 3, after epoch 3"]),
]


def test_round8_mistakes_are_not_misnamed():
    texts = {slip: exercises.check_minibatch_loop(slipped_loop(slip)).message
             for slip in ("record_at_start", "val_acc_gets_loss")}
    assert "after each epoch" not in texts["record_at_start"], texts
    assert "other order" not in texts["val_acc_gets_loss"], texts


@pytest.mark.parametrize("fn, mistake, words", ROUND8_MISTAKES)
def test_round8_loop_mistakes_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_minibatch_loop(fn), mistake, *words)

def test_the_slice_end_is_not_called_a_short_order():
    result = exercises.check_minibatch_loop(slipped_loop("end_fixed"))
    assert "holds only" not in result.message, result.message


@pytest.mark.parametrize("fn, mistake, words", MORE_MISTAKES)
def test_more_loop_mistakes_are_named(fn, mistake, words):
    assert_diagnosed(exercises.check_minibatch_loop(fn), mistake, *words)


def test_every_mistake_id_of_the_loop_check_is_triggered_by_a_test():
    import inspect
    import re

    from coursenet.exercises import nb06

    source = inspect.getsource(nb06).split("# The workbook:")[0]  # the checks
    ids = set(re.findall(r'"([a-z_0-9]+)"\)', source)) & set(
        re.findall(r'"([a-z_0-9]+)"', source))
    ids = {i for i in ids if re.search(rf'[ ,(]"{i}"\)', source)}
    ids |= set(re.findall(r'mistake="([a-z_0-9]+)"', source))
    ids |= {"summed", "divided_twice", "lr_twice", "ascent", "lr_doubled"}
    ids -= {f"epoch_{p}_{m}" for p in ("train", "val") for m in ("loss", "acc")}
    tested = {row[1] for row in LOOP_MISTAKES + MORE_MISTAKES + ROUND8_MISTAKES}
    tested |= {"other_order", "no_backward"}
    assert "drop_last" in ids and "evals" in ids
    assert ids - {"todo"} <= tested, ids - tested


def test_requires_skips_with_the_name_of_the_unfinished_function(capsys):
    def minibatch_sgd(*args):
        raise NotImplementedError()

    with exercises.needs_your_code() as first_run:
        minibatch_sgd()
    ran = []
    with exercises.needs_your_code() as later:
        exercises.requires(first_run)
        ran.append(True)
    assert ran == [] and later.skipped == "minibatch_sgd"
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("↷ skipped: `minibatch_sgd` is not written yet")
    with exercises.needs_your_code() as done:
        pass
    with exercises.needs_your_code():
        exercises.requires(done)
        ran.append(True)
    assert ran == [True]
    with pytest.raises(TypeError, match="needs_your_code"):
        exercises.requires(None)


CODE_IN_HINT = ("=", "params[", "rng.", "X[idx]", "permutation(", "range(", "grads[",
                ".append(", "mlp.evaluate", "np.")


def test_no_hint_of_the_loop_check_holds_the_answers_code():
    """Issue 23: a hint says what is wrong in words; it never writes the line of
    code (or the formula) that the exercise asks for."""
    results = [exercises.check_minibatch_loop(fn)
               for fn, _, _ in LOOP_MISTAKES + MORE_MISTAKES + ROUND8_MISTAKES]
    for result in results:
        hint = result.message.split("Hint:", 1)[1]
        for code in CODE_IN_HINT:
            assert code not in hint, (code, result.message)


def test_summed_or_mean_run_steps_along_the_mean_or_the_summed_gradient():
    """Its steps equal plain SGD steps on mlp.loss_and_grads (the mean), or
    batch_size times them (the sum), over the complete batches only."""
    from coursenet import mlp
    from coursenet.exercises.nb06 import summed_or_mean_run

    rng = np.random.default_rng(5)
    X, c = rng.normal(size=(70, 6)), rng.integers(0, 10, 70)
    for summed in (False, True):
        params, after = summed_or_mean_run(X, c, lr=0.05, summed=summed, epochs=1,
                                           batch_size=32, seed=1)
        ref = mlp.init_mlp(6, 300, 10, seed=0)
        order = np.random.default_rng(1).permutation(70)
        for start in (0, 32):       # the 6 rows left over are skipped
            idx = order[start:start + 32]
            _, grads = mlp.loss_and_grads(ref, X[idx], c[idx])
            for name in ref:
                ref[name] -= 0.05 * (32 if summed else 1) * grads[name]
        assert len(after) == 2
        for name in ref:
            assert np.allclose(params[name], ref[name], rtol=1e-5, atol=1e-6), name


@pytest.mark.parametrize("part", ["params", "step_loss"])
def test_a_loop_off_by_a_ten_thousandth_does_not_pass(part):
    """The trained parameters and the step losses are compared to ~1e-7: W1
    nudged by 0.01 % after the last evaluation, or step losses recorded 0.01 %
    high, everything else right, are caught."""
    right = make_loop()

    def minibatch_sgd(params, train_data, val_data, lr, batch_size, epochs, seed):
        history = right(params, train_data, val_data, lr, batch_size, epochs, seed)
        if part == "params":
            params["W1"] *= 1.0001
        else:
            history.step_loss[:] = [loss * 1.0001 for loss in history.step_loss]
        return history

    result = exercises.check_minibatch_loop(minibatch_sgd)
    assert not result.passed, result.message
