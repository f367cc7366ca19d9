"""Checks for notebook 06 (Q7): the student's minibatch SGD loop.

The loop is checked on a small float64 problem (37 training rows, batches of
8, so the last batch of an epoch has 5 rows; 3 epochs), with the package's
:func:`coursenet.mlp.loss_and_grads` standing in for the student's
``batched_backward`` while the check runs: a mistake in Q6 does not show up
here, and every call the loop makes is recorded. From the recorded batches the
check sees the order in which the loop visited the rows, so each mistake of
the loop itself gets its own diagnosis (no shuffling, one permutation for all
epochs, the last partial batch dropped, labels shuffled apart from their
images, ...). Then the trained parameters must equal those of the reference
loop (the same permutations, ``np.random.default_rng(seed).permutation(N)``
drawn at the start of every epoch, as :func:`coursenet.train.sgd` draws them),
and the history must hold one mean loss per batch and ``epochs + 1``
evaluations of the whole training and validation sets.
"""

from __future__ import annotations

import math
import re

import numpy as np

from coursenet import losses, mlp
from coursenet.exercises._core import (
    RunStopped,
    Skipped,
    _call,
    _fail,
    _name,
    _need_function,
    _run,
    _Stop,
    failed_checks,
)
from coursenet.exercises._networks import _copy_params, _random_params

_N, _NV, _B, _EPOCHS, _LR, _SEED = 37, 11, 8, 3, 0.5, 3
_SIZES = (6, 5, 4)  # D, H, C


def _problem():
    rng = np.random.default_rng(606)
    D, H, C = _SIZES
    params = _random_params(rng, D, H, C)
    X = rng.normal(0.0, 1.0, (_N, D))
    c = rng.integers(0, C, _N)
    c[:C] = np.arange(C)  # every class occurs
    Xv = rng.normal(0.0, 1.0, (_NV, D))
    cv = rng.integers(0, C, _NV)
    return params, (X, c), (Xv, cv)


def _reference(params, train_data, val_data, lr, batch_size, epochs, seed,
               scale=None):
    """The loop the exercise asks for; ``scale`` (mistakes the steps' implied
    rates cannot name): ``"previous"`` steps with the previous batch's
    gradients (none on the first step), ``"replaced"``/``"replaced_plus"``
    assign the step (``=-``/``=+``) instead of subtracting it."""
    params = _copy_params(params)
    X, c = train_data
    rng = np.random.default_rng(seed)
    step_loss, evals = [], []

    def record():
        evals.append((*mlp.evaluate(params, X, c), *mlp.evaluate(params, *val_data)))

    record()
    previous = None
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss, grads = mlp.loss_and_grads(params, X[idx], c[idx])
            step, previous = (previous, grads) if scale == "previous" \
                else (grads, None)
            for name in params if step is not None else ():
                if scale in {"replaced", "replaced_plus"}:  # `=-` / `=+` typed
                    params[name] = (1 if scale == "replaced_plus" else -1) \
                        * lr * step[name]
                else:
                    params[name] -= lr * step[name]
            step_loss.append(loss)
        record()
    return params, step_loss, np.array(evals)


class _Spy:
    """Stands in for ``batched_backward``: the package's gradients, every call
    noted. They come in the reverse of params' order (W2 first, as a backward
    pass computes them), so a loop that pairs parameters and gradients by
    position, not by name, is seen (``reverse=False`` for the rerun that
    names it)."""

    def __init__(self, X, reverse=True, Xv=None):
        self.reverse = reverse
        self.rows = {X[i].tobytes(): i for i in range(len(X))}
        # validation rows, to tell a batch cut from the validation set
        self.val = set() if Xv is None else {row.tobytes() for row in Xv}
        self.from_val = 0   # calls whose rows are all validation rows
        self.calls = []  # (row indices or None, labels, loss)
        self.steps = []  # (params as they were at the call, the gradients given)

    def __call__(self, params, Xb, cb, *rest):
        Xb = np.asarray(Xb, dtype=np.float64)
        if Xb.ndim == 1:
            Xb = Xb[None]
        idx = [self.rows.get(np.ascontiguousarray(row).tobytes()) for row in Xb]
        if len(Xb) and all(i is None for i in idx) and all(
                np.ascontiguousarray(row).tobytes() in self.val for row in Xb):
            self.from_val += 1
        if not len(Xb):   # noted, named by _check_calls once the loop has run
            self.calls.append(([], np.array(cb).reshape(-1), 0.0))
            return 0.0, {k: np.zeros_like(np.asarray(v, dtype=np.float64))
                         for k, v in params.items()}
        loss, grads = mlp.loss_and_grads(params, Xb, cb)
        if self.reverse:
            grads = {k: grads[k] for k in reversed(list(grads))}
        self.calls.append((idx, np.array(cb).reshape(-1), loss))
        self.steps.append((_copy_params(params), grads))
        return loss, grads


def _find_name(fn, name):
    space = getattr(fn, "__globals__", None)
    if not isinstance(space, dict) or name not in space:
        _fail(f"{_name(fn, 'your loop')} cannot see a function `{name}`",
              f"define or import `{name}` in the notebook (it comes from notebook"
              " 05) and call it in your loop", "no_backward")
    return space


def check_minibatch_loop(fn=None, uses="batched_backward"):
    """Q7: ``fn(params, train_data, val_data, lr, batch_size, epochs, seed)``.

    ``fn`` trains ``params`` in place with minibatch SGD, calling the notebook's
    ``batched_backward`` (the name ``uses``) once per batch, and returns a
    :class:`coursenet.history.History` (or any object with the same fields:
    ``step_loss``, ``epoch_train_loss``, ``epoch_train_acc``, ``epoch_val_loss``,
    ``epoch_val_acc``).
    """

    def body():
        _need_function(fn, "check_minibatch_loop", "your training loop")
        who = _name(fn, "your loop")
        space = _find_name(fn, uses)
        params, train_data, val_data = _problem()
        X, c = train_data
        ref_params, ref_steps, ref_evals = _reference(
            params, train_data, val_data, _LR, _B, _EPOCHS, _SEED)
        spy = _Spy(X, Xv=val_data[0])
        mine = _copy_params(params)
        args = (mine, (X.copy(), c.copy()), (val_data[0].copy(), val_data[1].copy()),
                _LR, _B, _EPOCHS, _SEED)
        saved = space[uses]
        space[uses] = spy
        try:
            # params is trained in place; train_data gets its own message below
            history = _call(fn, args, who, _case_text(), may_change=(0, 1))
        except _Stop as stop:
            space[uses] = saved
            _by_position(fn, space, uses, (params, train_data, val_data), who)
            _training_set_shrank(spy, stop, who)
            raise
        finally:
            space[uses] = saved
        if not np.array_equal(args[1][0], X) or not np.array_equal(args[1][1], c):
            _fail(f"{who} changed train_data in place (the rows or labels are no"
                  f" longer in their original order{_pairs_broken(args[1], X, c)})",
                  "shuffle the positions of the rows, not the rows themselves;"
                  " leave train_data as it was passed", "changed_data")
        if not spy.calls and len(getattr(history, "epoch_val_loss", None) or ()) == 1:
            _fail(f"{who} returned after the first evaluation, before any step"
                  f" (on {_case_text()}): a return inside the epoch loop",
                  "return the history once, after the loop over the epochs",
                  "returned_in_loop")
        _check_batches(spy, c, who, lambda epochs=_EPOCHS: _rerun(
            fn, space, uses, (params, train_data, val_data), who, epochs=epochs))
        _check_steps(history, spy, who)
        got = {k: np.asarray(v, dtype=np.float64) for k, v in mine.items()}
        _check_params(got, params, ref_params, (train_data, val_data, spy), who)
        last = list(spy.calls[-1][0])
        _check_evals(history, ref_evals, _steps_of(history, who), who,
                     (got, X[last], c[last]), (params, c, val_data))
        _short_last_batch(fn, space, uses, (params, train_data, val_data), who)
        per = math.ceil(_N / _B)
        return (f"✓ {who}: a fresh order every epoch, {_EPOCHS} × {per} batches"
                " including the last partial one, the same parameters as the"
                f" reference loop, one mean loss per batch and {_EPOCHS + 1}"
                " evaluations of the training and validation sets")

    return _run(body)


def _rerun(fn, space, uses, problem, who, reverse=True, epochs=_EPOCHS):
    """The loop run again on fresh copies of ``problem`` (params, train, val)
    with a new :class:`_Spy` standing in for ``uses`` (``epochs`` epochs): the
    spy, what the loop returned in its ``returned``, or None if the loop
    raised."""
    params, (X, c), (Xv, cv) = problem
    spy, saved = _Spy(X, reverse=reverse), space[uses]
    space[uses] = spy
    try:
        spy.returned = _call(
            fn, (_copy_params(params), (X.copy(), c.copy()), (Xv.copy(), cv.copy()),
                 _LR, _B, epochs, _SEED), who, _case_text(), may_change=(0, 1))
    except _Stop:
        return None
    finally:
        space[uses] = saved
    return spy


def _short_last_batch(fn, space, uses, problem, who):
    """The check's N = 37 leaves a last batch of 5, over half of 8: a batch
    count rounded to the nearest whole number is right there. Rerun one epoch
    on the first 35 rows (a last batch of 3), then on 33 (a last batch of one
    row, which a range of starts that ends early misses) and see every row
    used."""
    params, (X, c), val = problem
    n = 4 * _B + 3
    spy = _rerun(fn, space, uses, (params, (X[:n], c[:n]), val), who, epochs=1)
    rows = _rows_of(spy)
    if rows is not None and sorted(rows) != list(range(n)):
        _fail(f"with N = {n} training rows (a last batch of 3, under half of"
              f" batch_size = {_B}) {who} used {len(rows)} rows in an epoch, not"
              f" {n}: the number of batches is rounded to the nearest whole"
              " number, where a last, partial batch needs one batch more", "the"
              " batches of an epoch cover every row: a last batch of even one row"
              " counts", "batches_rounded")
    n = 4 * _B + 1    # a last batch of one row: a range of starts ending early
    spy = _rerun(fn, space, uses, (params, (X[:n], c[:n]), val), who, epochs=1)
    rows = _rows_of(spy)
    if rows is not None and len(rows) == len(set(rows)) == n - 1:
        _fail(f"with N = {n} training rows (a last batch of one row) {who} used"
              f" {n - 1} of them in an epoch: the last row of the epoch's order is"
              " never used, because the batches' starts stop before it (a range of"
              " starts that ends one row short of N)", "the batches"
              " of an epoch cover every row: a last batch of even one row counts",
              "last_row_skipped")


def _by_position(fn, space, uses, problem, who):
    """After the loop raised: does it run when the gradients come in params'
    own order? Then it pairs parameters and gradients by position."""
    if _rerun(fn, space, uses, problem, who, reverse=False) is None:
        return
    # only the gradients' order differs between the two runs: the loop depends
    # on it, whatever else it may still get wrong
    _fail(f"{who} pairs each parameter with a gradient by position: it runs only"
          " when the gradients come in the order of params, and batched_backward"
          " may return them in another (W2 first, as a backward pass computes"
          " them)", "take each parameter's gradient by its name",
          "pairs_by_position")


def _case_text():
    D, H, C = _SIZES
    return (f"a {D}-{H}-{C} network, N = {_N} training rows, batch_size = {_B},"
            f" epochs = {_EPOCHS}, lr = {_LR}, seed = {_SEED}")


def _pairs_broken(data, X, c):
    """", and ...": what a train_data changed in place says of its labels."""
    label = {X[i].tobytes(): c[i] for i in range(len(X))}
    rows, labels = (np.asarray(a) for a in data)
    if rows.shape != X.shape or labels.shape != c.shape:
        return ""
    theirs = [label.get(np.ascontiguousarray(r).tobytes()) for r in rows]
    if any(t is None for t in theirs) or np.array_equal(theirs, labels):
        return ""
    return ("; the rows and labels were shuffled separately, so a row no longer"
            " sits beside its own label")


def _training_set_shrank(spy, stop, who):
    """After an IndexError: the array the loop indexes holds exactly as many
    rows as the batch before it, so a batch took the training set's name."""
    found = re.search(r"with size (\d+)", str(stop.raised or ""))
    if not (isinstance(stop.raised, IndexError) and found and spy.calls):
        return
    size, last = int(found.group(1)), len(spy.calls[-1][0])
    if size != last or size >= _N:
        return
    _fail(f"{who} raised IndexError in its step {len(spy.calls) + 1}: an index of"
          f" the {_N} training rows met an array of only {size} rows, the size of"
          " the batch before it, so a batch was stored under the training set's"
          " own name and the next batch is cut from it (on"
          f" {_case_text()})", "keep each batch under names of its own: every"
          " step cuts its batch from the whole training set", "data_overwritten")


def _check_batches(spy, c, who, again=None):
    """The order in which the loop visited the rows, against the exercise's;
    ``again(epochs)``: the spy of a second run with the same seed (for
    ``epochs`` epochs, by default the check's), None if it raised."""
    _check_calls(spy, c, who)
    _check_order(spy, who, again)


def _rows_of(spy):
    """The rows (indices, in order) a run passed to batched_backward; None for
    a run that raised."""
    return None if spy is None else [i for idx, _, _ in spy.calls for i in idx]


def _check_calls(spy, c, who):
    """Each call of batched_backward: rows of X, their own labels, a batch."""
    case = _case_text()
    if not spy.calls:
        _fail(f"{who} never called batched_backward on {case}",
              "each step's loss and gradients come from your batched_backward,"
              " called on that batch's rows and labels", "no_backward")
    _empty_batches(spy, who)
    if spy.from_val:
        first = next(n for n, (idx, _, _) in enumerate(spy.calls)
                     if idx and all(i is None for i in idx))
        _fail(f"{who} called batched_backward on rows of the validation set, from"
              f" step {first + 1} on ({spy.from_val} of {len(spy.calls)} calls):"
              " the names of the training data were given the validation data's"
              " values on the way", "keep the training data under names of its"
              " own: a loop over the evaluation sets that reuses those names (for"
              " X, c in ...) leaves them holding the last set", "trained_on_validation")
    if any(i is None for idx, _, _ in spy.calls for i in idx):
        _fail(f"{who} called batched_backward with rows that are not rows of the"
              " training X", "pass the batch's rows of X as they are (not scaled,"
              " reshaped or copied into new numbers)", "not_rows")
    sizes = [len(idx) for idx, _, _ in spy.calls]
    for idx, labels, _ in spy.calls:
        if len(labels) != len(idx) or not np.array_equal(labels, c[idx]):
            _fail(f"{who} passed labels that do not belong to the batch's rows",
                  "take a batch's images and its labels at the same positions"
                  " (shuffling X and c separately pairs images with the wrong"
                  " labels)", "labels_apart")
    full, last = _N // _B, _N % _B
    if set(sizes) == {1} and len(sizes) >= _N:
        _fail(f"{who} called batched_backward on one row at a time ({len(sizes)}"
              f" calls) on {case}",
              "pass the whole batch in one call; the loss it returns is already"
              " the batch's mean", "one_row_calls")
    if sizes == [_B] * (full * _EPOCHS):
        _fail(f"{who} dropped the last, partial batch of every epoch ({last} of the"
              f" {_N} rows were never used per epoch) on {case}",
              "let the batches run to the end of the epoch's order: the last one"
              " is simply shorter", "drop_last")
    _slice_stepped(sizes, who)
    _batches_overlap(spy, who)
    _slice_end_off(sizes, who)
    if any(s > _B for s in sizes):
        _fail(f"{who} used batches of up to {max(sizes)} rows with batch_size = {_B}"
              f" on {case}", "take at most batch_size rows per step",
              "batch_size")


def _eval_list_replaced(got, want, who):
    """One history list holds one value where the others hold ``want``: it is
    assigned a new one-item list at every evaluation."""
    short = [f for f, g in zip(_EVAL_FIELDS, got) if len(g) == 1]
    if short and len(short) < len(got) and all(len(g) in (1, want) for g in got):
        _fail(f"the history of {who} holds one value in {', '.join(short)} and"
              f" {want} in the other lists: {short[0]} is replaced at every"
              " evaluation (an assignment), not added to", "each evaluation adds"
              " its value to the end of the list it belongs to",
              "eval_list_replaced")


def _slice_stepped(sizes, who):
    """Each batch of an epoch runs from its start to the end of the order in
    steps of batch_size (order[start::batch_size]): sizes 5, 4, 3, 2, 1."""
    per = math.ceil(_N / _B)
    stepped = [math.ceil((_N - s) / _B) for s in range(0, _N, _B)]
    if len(sizes) == per * _EPOCHS and sizes == stepped * _EPOCHS:
        _fail(f"the batches of each epoch of {who} hold {', '.join(map(str, stepped))}"
              f" rows, with batch_size = {_B} (on {_case_text()}): each slice takes"
              " every batch_size-th position from its start to the end of the"
              " order, a step where an end belongs", "a batch is the run of"
              " batch_size positions from its start: the slice needs a start and"
              " an end, no step", "slice_stepped")


def _batches_overlap(spy, who):
    """Batch k starts at position k of the order, not k × batch_size: each
    batch is the one before it moved on by one row."""
    rows = [list(idx) for idx, _, _ in spy.calls[:3]]
    if len(rows) == 3 and all(len(r) == _B for r in rows) \
            and rows[1][:-1] == rows[0][1:] and rows[2][:-1] == rows[1][1:]:
        _fail(f"each batch of {who} is the one before it moved on by one row (on"
              f" {_case_text()}): batch k starts at position k of the epoch's"
              f" order, not at k × batch_size, so neighbouring batches share"
              f" {_B - 1} rows", "batch k starts where batch k - 1 ended: k times"
              " batch_size positions into the order", "batches_overlap")


def _slice_end_off(sizes, who):
    """Every epoch has its batches, but each full one holds the same wrong
    number of rows: the batches start every batch_size positions and the end of
    each slice sits a fixed number of positions off."""
    per = math.ceil(_N / _B)
    if len(sizes) != per * _EPOCHS or per < 2:
        return
    full = {s for e in range(_EPOCHS) for s in sizes[e * per:(e + 1) * per - 1]}
    if len(full) != 1 or full == {_B} or 0 in full:
        return
    size = full.pop()
    off = size - _B
    many = "one position" if abs(off) == 1 else f"{abs(off)} positions"
    if off < 0:
        unused = _N - sum(sizes[:per])
        _fail(f"every batch but the last holds {size} rows in each epoch of {who},"
              f" with batch_size = {_B}: each slice ends {many}"
              f" early, so {unused} of the {_N} rows of each epoch's order never"
              f" reach a batch (on {_case_text()})", "the end of a slice is already"
              " exclusive: a batch runs from its start for batch_size positions,"
              " and the next batch starts where it stopped", "slice_end_off")
    _fail(f"every batch but the last holds {size} rows in each epoch of {who},"
          f" with batch_size = {_B}: each slice runs {many} past the next batch's"
          " start, so each batch overlaps the next and those rows are used twice"
          f" per epoch (on {_case_text()})", "a batch runs from its start for"
          " batch_size positions, no further: the next batch starts where it"
          " stopped", "slice_end_off")


def _empty_batches(spy, who):
    """An empty batch: the order the batches are cut from is shorter than the
    data (a permutation of batch_size, say), so rows are never seen."""
    sizes = [len(idx) for idx, _, _ in spy.calls]
    if 0 not in sizes:
        return
    k, per = sizes.index(0), math.ceil(_N / _B)
    used = {i for idx, _, _ in spy.calls for i in idx if i is not None}
    where = f"batch {k % per + 1} of epoch {k // per + 1}"
    rows = _prefix_of_orders(spy, per)
    if rows is not None:
        _fail(f"{where} that {who} passed to batched_backward is empty: each"
              f" epoch's batches take the first {rows} positions of the seed's"
              f" shuffle of all {_N} rows, then nothing: the end of the slice"
              " does not move on with its start (or the order was cut to its"
              f" first {rows} positions) on {_case_text()}",
              "each step's batch is the next batch_size positions of the epoch's"
              " order: print where each slice starts and ends", "slice_end_fixed")
    epochs = [{i for idx, _, _ in spy.calls[e * per:(e + 1) * per] for i in idx}
              for e in range(math.ceil(len(spy.calls) / per))]
    if any(e != epochs[0] for e in epochs):   # not one short order: say no more
        _fail(f"{where} that {who} passed to batched_backward is empty: only"
              f" {len(used)} of the {_N} rows ever reach it ({_N - len(used)} rows"
              f" never seen) on {_case_text()}", "every row of the training set"
              " belongs to one batch of each epoch: print each step's positions",
              "order_too_short")
    _fail(f"batch {k % per + 1} of epoch {k // per + 1} that {who} passed to"
          f" batched_backward is empty: the order the batches are cut from holds"
          f" only {len(used)} of the {_N} rows ({_N - len(used)} rows never seen)"
          f" on {_case_text()}", "an epoch's order lists every row of the"
          " training set once: print its length next to N", "order_too_short")


def _prefix_of_orders(spy, per):
    """How many positions of the seed's order each epoch's batches cover, when
    they are the same first positions of every epoch's order; else None."""
    if len(spy.calls) != per * _EPOCHS:
        return None
    rng = np.random.default_rng(_SEED)
    covered = set()
    for e in range(_EPOCHS):
        order = rng.permutation(_N)
        seen = [i for idx, _, _ in spy.calls[e * per:(e + 1) * per] for i in idx]
        if not seen or list(order[:len(seen)]) != seen:
            return None
        covered.add(len(seen))
    return covered.pop() if len(covered) == 1 and min(covered) < _N else None


def _same_batch(spy, who):
    """Every step on the same rows: the slice does not move with the step."""
    per = math.ceil(_N / _B)
    firsts = [sorted(idx) for idx, _, _ in spy.calls[:per]]
    if len(firsts) > 1 and all(f == firsts[0] for f in firsts[1:]):
        _fail(f"every step of the first epoch of {who} used the same"
              f" {len(firsts[0])} rows: {_N - len(set(firsts[0]))} of the {_N}"
              " rows are never used, on"
              f" {_case_text()}", "each step's batch is the next batch_size rows"
              " of the epoch's order: print the positions each step takes",
              "same_batch")


def _one_row_short(seen, who, case):
    """Every epoch used N - 1 distinct rows: a slice or a range that ends one
    row short of N leaves a row out of every epoch."""
    if len(seen) != (_N - 1) * _EPOCHS:
        return
    epochs = seen.reshape(_EPOCHS, _N - 1)
    if all(len(set(e.tolist())) == _N - 1 for e in epochs):
        _fail(f"{who} used {_N - 1} different rows in each epoch, where there are"
              f" {_N}: one row is left out of every epoch, on {case}. A slice or a"
              " range that ends one row short of N (N - 1 as its end, or a bound"
              " clamped below N) does that", "a slice's end is not included:"
              " print the positions of the last batch of an epoch",
              "one_row_short")


def _check_order(spy, who, again=None):
    """The rows visited, epoch by epoch: each once, in the seed's order."""
    case = _case_text()
    _same_batch(spy, who)
    seen = np.concatenate([idx for idx, _, _ in spy.calls]).astype(np.int64)
    if len(seen) != _N * _EPOCHS and len(seen) % _N == 0 and len(seen):
        ran = len(seen) // _N
        off = _EPOCHS - ran
        many = (f"{abs(off)} epoch{'s' if abs(off) > 1 else ''}"
                f" {'fewer' if off > 0 else 'more'} than asked")
        each = f"{ran} times" if ran > 1 else "once"
        _first_epoch_only(ran, again, who)
        _fail(f"{who} passed {len(seen)} rows to batched_backward in total, each of"
              f" the {_N} rows {each}: {ran} epoch{'s' if ran > 1 else ''}, {many}"
              f" ({_EPOCHS}), on"
              f" {case}", "run exactly `epochs` passes over the data: count the"
              " passes your loop makes", "epoch_count")
    if len(seen) != _N * _EPOCHS:
        _loop_bound(spy, len(seen), who)
        _one_row_short(seen, who, case)
        _fail(f"{who} passed {len(seen)} rows to batched_backward in total; expected"
              f" each of the {_N} rows once per epoch, {_N * _EPOCHS} for {_EPOCHS}"
              f" epochs, on {case}",
              "one epoch is one pass over all N rows, in batches of batch_size",
              "row_count")
    epochs = seen.reshape(_EPOCHS, _N)
    for e, order in enumerate(epochs):
        if not np.array_equal(np.sort(order), np.arange(_N)):
            _order_per_batch([idx for idx, _, _ in spy.calls], who)
            _fail(f"epoch {e + 1} of {who} visits some rows twice and misses others:"
                  " the batches were drawn with replacement",
                  "draw one ordering of all N rows per epoch (each row exactly"
                  " once) and cut it into batches", "with_replacement")
    if np.array_equal(epochs[0], np.arange(_N)):
        _fail(f"{who} visits the rows in their stored order: no shuffling",
              "draw a random order of the rows at the start of every epoch and"
              " take the batches from it", "no_shuffle")
    if all(np.array_equal(o, epochs[0]) for o in epochs[1:]):
        _fail(f"{who} visits the rows in the same shuffled order in every epoch",
              "draw a new order at the start of every epoch, from one generator"
              " made once before the epochs (a generator re-made from the seed"
              " inside the loop repeats its first order)", "same_permutation")
    rng = np.random.default_rng(_SEED)
    expected = [rng.permutation(_N) for _ in range(_EPOCHS)]
    _reshuffled(epochs, expected, who)
    if not all(np.array_equal(o, r) for o, r in zip(epochs, expected)) \
            and again is not None and _rows_of(again()) not in (None, seen.tolist()):
        _fail(f"{who} shuffles every epoch, but a second run with the same seed"
              " visits the rows in another order: the orders do not come from the"
              " seed argument (a global generator, numpy's own random functions or"
              " Python's random module, is not set by it)", "make one generator"
              " from the seed before the epochs and draw each epoch's order from"
              " it (the exercise's fold names the calls)", "global_generator")
    _other_generator(epochs, who, case)
    if not all(np.array_equal(o, r) for o, r in zip(epochs, expected)):
        _fail(f"{who} shuffles every epoch, but not in the order the seed gives on"
              f" {case}",
              "make one generator from the seed before the epochs and draw each"
              " epoch's order from it, with the calls the exercise's fold names"
              " (so that a run can be repeated exactly)", "other_order")


def _other_generator(epochs, who, case):
    """Orders from the seed, but drawn another way than the fold's calls: numpy's
    older global functions seeded with it, or a draw without replacement."""
    legacy = np.random.RandomState(_SEED)
    drawn = np.random.default_rng(_SEED)
    for way, orders in (
            ("numpy's older global functions (seeded with random.seed, drawn with"
             " random.permutation), a generator of another kind",
             [legacy.permutation(_N) for _ in range(_EPOCHS)]),
            ("a draw of N rows without replacement (choice), which takes other"
             " numbers from the generator than a permutation does",
             [drawn.choice(_N, _N, replace=False) for _ in range(_EPOCHS)])):
        if all(np.array_equal(o, r) for o, r in zip(epochs, orders)):
            _fail(f"{who} draws its orders from the seed, but through {way}: the"
                  f" run repeats, yet its orders are not the course's on {case}",
                  "make the generator and draw each epoch's order with the calls"
                  " the exercise's fold names, so that your run and the course's"
                  " can be compared step by step", "other_generator")


def _first_epoch_only(ran, again, who):
    """One epoch where more were asked, one again when the loop is given more
    epochs, and nothing returned when it is given none: its only return sits
    inside the epoch loop, reached at the end of the first epoch."""
    more = _EPOCHS + 2
    if ran != 1 or _EPOCHS < 2 or again is None:
        return
    longer, none = again(more), again(0)
    if longer is None or len(_rows_of(longer)) != _N or none is None \
            or none.returned is not None or none.calls:
        return
    _fail(f"{who} runs one epoch where {_EPOCHS} were asked, one again when given"
          f" epochs = {more}, and returns nothing when given epochs = 0: it"
          " returns after the first epoch, so its return sits inside the epoch"
          f" loop (on {_case_text()})", "the history is returned once, after"
          " every epoch has run: check the indentation of the return",
          "stops_after_first_epoch")


def _reshuffled(epochs, expected, who):
    """Each epoch's order is the seed's order for that epoch applied to the
    rows as the previous epoch left them (or the other way round): the loop
    shuffles the shuffled rows again instead of the original ones."""
    if _EPOCHS < 2 or not np.array_equal(epochs[0], expected[0]):
        return
    for compose in (lambda prev, p: prev[p], lambda prev, p: p[prev]):
        order, same = expected[0], True
        for seen, p in zip(epochs[1:], expected[1:]):
            order = compose(order, p)
            same = same and np.array_equal(seen, order)
        if same:
            _fail(f"{who} shuffles every epoch, and epoch 1 is in the seed's order,"
                  " but each later epoch's order is the seed's order for that"
                  " epoch applied to the rows as the previous epoch left them:"
                  " each epoch shuffles the already shuffled rows (on"
                  f" {_case_text()})", "every epoch's order is drawn over the"
                  " original rows: take each batch from the arrays the loop was"
                  " given, not from the ones shuffled last epoch",
                  "reshuffled_shuffled")


def _order_per_batch(batches, who):
    """Fail when each batch is cut from an order of its own: the seeded
    generator's permutations, one drawn per batch (in the loop over the
    batches) where one per epoch belongs, give exactly these rows."""
    def cut_from_own_orders(epoch_draw):   # the epoch's order drawn, unused?
        rng, start = np.random.default_rng(_SEED), _N
        for idx in batches:
            if start >= _N:
                start = 0
                if epoch_draw:
                    rng.permutation(_N)
            if not np.array_equal(np.asarray(idx),
                                  rng.permutation(_N)[start:start + len(idx)]):
                return False
            start += len(idx)
        return True

    if not (cut_from_own_orders(False) or cut_from_own_orders(True)):
        return
    _fail(f"{who} draws a new order of the rows for every batch and cuts each"
          " batch from its own order, so an epoch visits some rows twice and"
          " misses others", "draw the order once per epoch, before the loop over"
          " the batches, and cut every batch of that epoch from it",
          "order_per_batch")


def _loop_bound(spy, total, who):
    """Each epoch's batches counted by another of the sizes the loop was given
    (the validation set's rows, the batch size, a layer's width...): name it
    when it is the only size that gives that many batches or rows."""
    if not spy.calls or len(spy.calls) % _EPOCHS or total % _EPOCHS:
        return
    calls, rows = len(spy.calls) // _EPOCHS, total // _EPOCHS
    D, H, C = _SIZES
    sizes = {f"the validation set's {_NV} rows": _NV, f"batch_size ({_B})": _B,
             f"epochs ({_EPOCHS})": _EPOCHS, f"the {D} inputs of a row": D,
             f"the {H} hidden units": H, f"the {C} classes": C}
    found = [name for name, size in sizes.items()
             if size != _N and (calls == math.ceil(size / _B) or rows == size)]
    if len(found) != 1:
        return
    _fail(f"each epoch of {who} runs {calls} batches, {rows} rows in all: as many"
          f" as {found[0]} make in batches of {_B}, where the {_N} training rows"
          f" make {math.ceil(_N / _B)} (on {_case_text()}): the loop over an"
          " epoch's batches is bounded by the wrong size", "the batches of an"
          " epoch cover the training rows: print the number your loop's range"
          " runs to next to N", "loop_bound")


def _steps_of(history, who):
    try:
        return np.asarray(history.step_loss, dtype=np.float64).reshape(-1)
    except AttributeError:
        _fail(f"{who} returned {type(history).__name__}, not the history",
              "return history (the History the exercise cell makes)", "wrong_type")
    except (TypeError, ValueError):
        _fail(f"history.step_loss from {who} is not a list of numbers",
              "append one number per batch to history.step_loss", "wrong_type")


def _check_steps(history, spy, who):
    steps = _steps_of(history, who)
    returned = np.array([loss for _, _, loss in spy.calls])
    sizes = np.array([len(idx) for idx, _, _ in spy.calls])
    per_epoch = math.ceil(_N / _B)
    if len(steps) == _EPOCHS and len(returned) != _EPOCHS:
        _fail(f"history.step_loss from {who} has {len(steps)} entries, one per epoch;"
              f" expected one per batch, {per_epoch} per epoch",
              "append the loss of every batch, right after its backward pass",
              "loss_per_epoch")
    if len(steps) != len(returned):
        _fail(f"history.step_loss from {who} has {len(steps)} entries for"
              f" {len(returned)} batches", "append exactly one loss per batch",
              "step_count")
    if np.allclose(steps, returned * sizes, rtol=1e-9, atol=1e-12) \
            and not np.allclose(steps, returned):
        _fail(f"history.step_loss from {who} holds the sum of each batch's losses",
              "record the batch's mean loss, as batched_backward returns it",
              "summed_loss")
    evaluated = []
    for name in ("epoch_train_loss", "epoch_val_loss"):
        try:
            evaluated += [float(v) for v in getattr(history, name, [])]
        except (TypeError, ValueError):
            pass
    if len(steps) and evaluated and all(np.isclose(evaluated, v, rtol=1e-9).any()
                                        for v in steps):
        _fail(f"history.step_loss from {who} holds losses of the whole-set"
              " evaluations (the epoch_* lists' numbers), not each batch's loss",
              "step_loss records the loss batched_backward returned for the"
              " step's batch: a copied line kept the evaluation's name",
              "evaluation_as_step_loss")
    if not np.allclose(steps, returned, rtol=1e-9, atol=1e-12):
        _fail(f"history.step_loss from {who} is not the loss batched_backward"
              " returned for each batch", "append the loss of every batch as"
              " batched_backward returns it (before that step's update)",
              "step_loss")


# How a loop's steps can differ from the reference loop's: (the `scale` that
# `_reference` replays, mistake id, what the loop does, hint).
#: What the learning rate a run's steps imply means, as its ratio to lr on
#: every step (``n``: that step's batch size): (ratio(n), id, what the loop
#: takes, hint). One mechanism (_implied_rates) reads them all.
_RATE_MEANINGS = (
    (lambda n: n, "summed", "steps as many times too large as the batch has rows"
     f" ({_B} here), as if the gradients were summed over the batch, not"
     " averaged", "batched_backward already returns the gradient of the batch's"
     " mean loss: do not scale it by the batch size"),
    (lambda n: 1 / n, "divided_twice", "steps as many times too small as the"
     " batch has rows, as if divided by the batch size once more", "the mean is"
     " already in batched_backward: do not divide by the batch size again"),
    (lambda n: 1 / _B, "divided_twice", "steps batch_size times too small"
     f" ({_B} here): the gradient was divided by the batch size once more",
     "batched_backward already returns the gradient of the batch's mean loss:"
     " do not divide it by the batch size again"),
    (lambda n: _B, "summed", f"steps batch_size times too large ({_B} here),"
     " as if the gradients were summed over the batch, not averaged",
     "batched_backward already returns the gradient of the batch's mean"
     " loss: do not scale it by the batch size"),
    (lambda n: _LR, "lr_twice", "steps scaled by lr², not lr: the learning"
     " rate is applied twice", "scale each step by the learning rate once"),
    (lambda n: -1, "ascent", "steps along the gradient, not against it: the"
     " loss is climbed, not descended",
     "a step moves each parameter against its gradient"),
    (lambda n: 2, "lr_doubled", "steps twice as large as the learning rate"
     " gives", "look for a stray factor 2: each step is the learning"
     " rate times the gradient, nothing more"))

_STEP_MISTAKES = (
    ("previous", "previous_grads", "each step with the gradients of the"
     " previous batch: the first batch's step is skipped and every later"
     " one is one batch late", "update the parameters with the gradients"
     " batched_backward just returned for this batch"),
    ("replaced", "params_replaced", "steps that replace each parameter:"
     " after a step it holds the step alone, the old value thrown away",
     "a step changes the parameter's old value by the step (`=-` assigns"
     " the step; the update subtracts it from what is there)"),
    ("replaced_plus", "params_replaced", "steps that replace each"
     " parameter: after a step it holds the step alone (and along the"
     " gradient), the old value thrown away", "a step changes the"
     " parameter's old value, against the gradient (`=+` assigns)"))


def _check_params(got, start, ref_params, run, who):
    def same(a, b):
        return all(np.allclose(a[k], b[k], rtol=1e-7, atol=1e-10) for k in b)

    if same(got, ref_params):
        return
    train_data, val_data, spy = run
    if same(got, start):
        _unchanged_params(spy, start, who)
    _implied_rates(spy, got, who)
    for scale, mistake, text, hint in _STEP_MISTAKES:
        scaled, _, _ = _reference(start, train_data, val_data, _LR, _B, _EPOCHS,
                                  _SEED, scale=scale)
        if same(got, scaled):
            _fail(f"the batches are right, but {who} takes {text}", hint, mistake)
    steps = len(spy.calls)
    if steps and same(got, {k: np.asarray(v) * (1 - _LR) ** steps
                            for k, v in start.items()}):
        _fail(f"the batches are right, but each step of {who} moved every"
              f" parameter by lr times the parameter itself: after {steps} steps"
              f" each one is its start times (1 - lr)^{steps}", "each parameter"
              " moves against its own gradient, the one batched_backward returned"
              " under its name", "steps_by_own_value")
    worst = max((float(np.max(np.abs(got[k] - ref_params[k]))), k)
                for k in ref_params)
    still = [k for k in start if np.array_equal(got[k], start[k])]
    if still:
        _fail(f"the batches are right, but {who} never changed {', '.join(still)}",
              "every step updates every parameter of the dict, the biases too",
              "not_all_params")
    _fail(f"the batches are right, but the trained parameters differ from the"
          f" reference loop's (max abs diff {worst[0]:.3g} in {worst[1]})",
          "after each batch, move every parameter against its gradient, scaled by"
          " the learning rate once, using that batch's gradients", "params")


def _unchanged_params(spy, start, who):
    """The caller's params never changed: did the loop step other arrays (a new
    dict, which batched_backward then saw change), or nothing at all?"""
    seen = [p for p, _ in spy.steps]
    moved = any(not np.array_equal(p[k], start[k]) for p in seen for k in start)
    if moved:
        _fail(f"the params passed to {who} did not change, though the parameters"
              " batched_backward was given did: the steps went into arrays of the"
              " loop's own (a new dict, or copies), not into the caller's",
              "change the arrays of the dict the caller passed, in place",
              "not_in_place")
    _fail(f"the params passed to {who} did not change, and neither did the ones"
          " batched_backward was given: every step was computed and then dropped"
          " (a name given a new array, as `p = p - ...` does, is no longer the"
          " array in the dict)", "change the arrays of the dict the caller passed,"
          " in place", "not_in_place")


def _rates_of(spy, got):
    """The learning rate each step implies, (params before - after) / the
    gradients batched_backward gave for that step, one number per step; None
    when some step is not a multiple of its own batch's gradients."""
    afters = [before for before, _ in spy.steps[1:]] + [got]
    rates = []
    for (before, grads), after in zip(spy.steps, afters):
        moved = np.concatenate([np.ravel(before[k] - after[k]) for k in grads])
        g = np.concatenate([np.ravel(grads[k]) for k in grads])
        if not g @ g > 0:
            return None
        rate = float(moved @ g / (g @ g))
        if not np.allclose(moved, rate * g, rtol=1e-6, atol=1e-10):
            return None
        rates.append(rate)
    return np.array(rates)


def _implied_rates(spy, got, who):
    """Name a run whose every step is its batch's gradient times a rate that is
    not lr: by what the ratio to lr means (the batch size, lr once more, -1,
    2: _RATE_MEANINGS), or by how the rate moves -- between epochs (a
    schedule), from step to step, or one other constant -- quoting the rates."""
    rates = _rates_of(spy, got)
    if rates is None or not len(rates):
        return
    sizes = np.array([len(idx) for idx, _, _ in spy.calls], dtype=float)
    for ratio, mistake, text, hint in _RATE_MEANINGS:
        if np.allclose(rates, _LR * ratio(sizes), rtol=1e-6):
            _fail(f"the batches are right, but {who} takes {text}", hint, mistake)
    per = math.ceil(_N / _B)
    shown = ", ".join(f"{r:.4g}" for r in rates[:3])
    if len(rates) == per * _EPOCHS:
        epochs = rates.reshape(_EPOCHS, per)
        if np.allclose(epochs, epochs[:, :1], rtol=1e-6) \
                and np.ptp(epochs[:, 0]) > 1e-6 * abs(rates).max():
            _fail(f"the batches are right, but the steps of {who} use the rates"
                  f" {', '.join(f'{r:.4g}' for r in epochs[:, 0])} in epochs 1 to"
                  f" {_EPOCHS} (lr = {_LR:g}): the rate changes between epochs",
                  "one learning rate for the whole run: the loop is given lr and"
                  " keeps it", "rate_changes_between_epochs")
    if np.ptp(rates) > 1e-6 * abs(rates).max():
        _fail(f"the batches are right, but the steps of {who} use the rates"
              f" {shown}, … (lr = {_LR:g}): the rate changes from step to step",
              "every step uses the learning rate the loop is given, unchanged",
              "rate_changes_between_steps")
    _fail(f"the batches are right, but every step of {who} uses the rate"
          f" {rates[0]:.4g}, not the lr = {_LR:g} the loop is given", "scale each"
          " step by the lr argument, not by a number of your own", "rate_not_lr")


_EVAL_FIELDS = ("epoch_train_loss", "epoch_train_acc", "epoch_val_loss",
                "epoch_val_acc")


def _check_evals_labels(history, ref_evals, problem, who):
    """Before training, the validation entries equal the untrained network's
    numbers on the validation images scored with the training labels (the
    first ones, as many as there are images): the images met the wrong
    labels."""
    params, c, (Xv, cv) = problem
    loss, acc = mlp.evaluate(params, Xv, c[:len(Xv)])
    try:
        got = (float(history.epoch_val_loss[0]), float(history.epoch_val_acc[0]))
    except (AttributeError, IndexError, TypeError, ValueError):
        return      # what the history holds gets its own message
    if np.allclose(got, (loss, acc)) and not np.allclose(got, ref_evals[0, 2:]):
        _fail(f"{who}'s validation numbers before training are the untrained"
              f" network's on the validation images scored against the first"
              f" {len(Xv)} training labels: the validation images met the"
              " training set's labels", "each set's images go with that set's"
              " own labels", "val_with_train_labels")


def _evals_per_batch(lengths, who):
    """Fail when the evaluation lists have no entry before training, or one
    entry per batch: the evaluation sits inside the loop over the batches."""
    if lengths == {_EPOCHS}:
        _fail(f"{who} evaluates {_EPOCHS} times, after each epoch; expected"
              f" {_EPOCHS + 1} evaluations", "evaluate once before the first epoch"
              " too (epoch 0, the untrained network), then after every epoch",
              "no_epoch0")
    per_epoch = -(-_N // _B)
    for extra, where in ((1, "before training and "), (0, "")):
        if lengths == {extra + _EPOCHS * per_epoch}:
            _fail(f"the history of {who} has {extra + _EPOCHS * per_epoch} entries"
                  f" in each list, {where}{_EPOCHS} epochs × {per_epoch} batches:"
                  " it evaluates after every batch, not after every epoch (the"
                  " evaluation sits inside the loop over the batches)", "evaluate"
                  " once per epoch, after its last batch: one level out of the"
                  " batch loop", "eval_per_batch")


def _train_loss_from_steps(train_loss, ref_train, steps, who):
    """An epoch's training loss taken from its batch losses (their mean, or
    the last one) where the whole training set belongs."""
    per = math.ceil(_N / _B)
    means = [np.mean(steps[e * per:(e + 1) * per]) for e in range(_EPOCHS)]
    if np.allclose(train_loss[1:], means) and not np.allclose(ref_train[1:], means):
        _fail(f"epoch_train_loss from {who} is the mean of each epoch's batch losses,"
              " measured while the weights were still changing",
              "after each epoch evaluate the whole training set with the weights of"
              " that moment (not the mean of the epoch's batch losses)",
              "mean_of_batches")
    lasts = [steps[(e + 1) * per - 1] for e in range(_EPOCHS)]
    if np.allclose(train_loss[1:], lasts) and not np.allclose(ref_train[1:], lasts):
        _fail(f"epoch_train_loss from {who} is each epoch's last batch loss, the"
              " loss of a few rows measured before their step", "after each epoch"
              " evaluate the whole training set with the weights of that moment",
              "last_batch_loss")


def _check_evals(history, ref_evals, steps, who, last_batch, start):
    """The evaluation lists against the reference's ``ref_evals``; ``start`` =
    (the untrained params, the training labels, the validation set)."""
    _check_evals_labels(history, ref_evals, start, who)
    got = []
    for field in _EVAL_FIELDS:
        value = getattr(history, field, None)
        try:
            got.append(np.asarray(value, dtype=np.float64).reshape(-1))
        except (TypeError, ValueError):
            _fail(f"history.{field} from {who} is not a list of numbers",
                  f"append one number per evaluation to history.{field}",
                  "wrong_type")
    lengths = {len(g) for g in got}
    want = _EPOCHS + 1
    if len(lengths) == 1 and lengths != {want}:
        _moments_recorded(got[0], ref_evals[:, 0], who)
    _evals_per_batch(lengths, who)
    _eval_list_replaced(got, want, who)
    if lengths != {want}:
        counts = ", ".join(f"{f} {len(g)}" for f, g in zip(_EVAL_FIELDS, got))
        _fail(f"the history of {who} has {counts} entries; expected {want} each"
              f" (before training and after each of the {_EPOCHS} epochs)",
              "evaluate the whole training set and the whole validation set once"
              " before training and once after every epoch", "eval_count")
    train_loss, train_acc, val_loss, val_acc = got
    ref = ref_evals.T
    # the validation entries that equal the training ones where the right ones
    # differ (all of them, or only those of the loop: epoch 0 can be right)
    same = np.isclose(val_loss, train_loss) & ~np.isclose(ref[2], ref[0])
    if same.any() and np.array_equal(same, ~np.isclose(val_loss, ref[2])):
        epochs = np.flatnonzero(same)
        which = ("every entry" if same.all() else
                 f"the entries of epochs {epochs[0]} to {epochs[-1]}"
                 if len(epochs) > 1 else f"the entry of epoch {epochs[0]}")
        _fail(f"{who} records the training set's numbers as validation numbers in"
              f" {which}: those validation entries were computed on the training"
              " set", "compute the epoch_val_* entries on val_data, not on"
              " train_data", "val_on_train")
    if np.allclose(val_loss, ref[0]) and np.allclose(train_loss, ref[2]):
        _fail(f"{who} swapped the training and validation entries",
              "epoch_train_* are computed on train_data, epoch_val_* on val_data",
              "swapped_evals")
    _fields_swapped(got, ref, who)
    _train_loss_from_steps(train_loss, ref[0], steps, who)
    _epoch_moments(train_loss, ref[0], last_batch, who)
    for vals, refs, field in zip(got, ref, _EVAL_FIELDS):
        if not np.allclose(vals, refs, rtol=1e-7, atol=1e-9):
            k = int(np.argmax(np.abs(vals - refs)))
            raise _Stop(f"✗ history.{field}[{k}] from {who} is {vals[k]:.6g},"
                        f" expected {refs[k]:.6g}. Hint: evaluate the whole set"
                        " with the parameters of that moment (index 0 before"
                        " training, index e after epoch e)", mistake="evals")


# --------------------------------------------------------------------------
# The workbook: cells that use what an earlier, skipped cell would have made
# --------------------------------------------------------------------------


def requires(*blocks):
    """Skip this ``needs_your_code`` block too if an earlier one was skipped.

    A cell that only *uses* the results of a run of the student's code (a plot
    of ``history``, say) is written::

        with exercises.needs_your_code():
            exercises.requires(first_run)   # first_run: the earlier block
            ...

    When the earlier block was skipped because ``minibatch_sgd`` is unfinished,
    this raises ``NotImplementedError`` from a frame named after that function,
    so the block skips with the same one-line message naming it; when it
    stopped (wrong but running code), the block skips saying so.
    """
    for block in blocks:
        name = getattr(block, "skipped", None)
        if not hasattr(block, "skipped"):
            raise TypeError("requires(...) takes the `with exercises.needs_your_code()"
                            f" as block:` objects of earlier cells, got {block!r}")
        if name and getattr(block, "stopped", False):
            raise Skipped("the cell this one needs stopped: fix what its line"
                          " says, then re-run both cells", name)
        if name:
            _unfinished(name)()


def _unfinished(name):
    def unfinished():
        raise NotImplementedError(f"`{name}` is not written yet")

    label = name if name.isidentifier() else "an_exercise"
    changes = {"co_name": label, "co_filename": "<your exercise>"}
    if hasattr(unfinished.__code__, "co_qualname"):  # Python 3.11 and later
        changes["co_qualname"] = label
    unfinished.__code__ = unfinished.__code__.replace(**changes)
    return unfinished


# --------------------------------------------------------------------------
# Notebook 06's experiments: a paired comparison of two rates, and one run on a
# summed or a mean loss (used by the notebook, not checks)
# --------------------------------------------------------------------------

#: two-sided 95% quantiles of Student's t for ``df`` degrees of freedom
#: (``scipy.stats.t.ppf(0.975, df)``; scipy is not a dependency of the course,
#: and tests/test_exercises_q7.py recomputes each by integrating t's density)
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365,
        8: 2.306, 9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160,
        14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093}


class Paired:
    """``a`` against ``b``, seed by seed: ``diffs`` (a - b, or b - a when lower
    is better, so positive means ``a`` is better), their ``mean``, the paired-t
    95% interval ``low``..``high`` of that mean, and ``wins`` (seeds where ``a``
    is better). ``separated``: the interval excludes 0."""

    def __init__(self, diffs):
        self.diffs = diffs
        self.n = len(diffs)
        self.mean = float(diffs.mean())
        half = T975[self.n - 1] * diffs.std(ddof=1) / math.sqrt(self.n)
        self.low, self.high = self.mean - half, self.mean + half
        self.wins = int((diffs > 0).sum())
        self.separated = bool(self.low > 0 or self.high < 0)

    def __repr__(self):
        return (f"Paired(mean {self.mean:+.4g}, 95% CI [{self.low:+.4g},"
                f" {self.high:+.4g}], better on {self.wins} of {self.n})")


def paired_difference(a, b, higher_is_better=True):
    """Compare two settings run with the same seeds: ``a[i]`` and ``b[i]`` are
    one metric of seed i (arrays ``(n,)``, 2 <= n <= 20). Returns a
    :class:`Paired`. The differences are paired because a seed fixes the initial
    weights and the batches: what a seed adds to both runs cancels."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or not 2 <= len(a) <= 20:
        raise ValueError("a and b must hold one value per seed, the same seeds,"
                         f" 2 to 20 of them: got shapes {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("a and b must be finite (a diverged run has no value)")
    return Paired(a - b if higher_is_better else b - a)


def summed_or_mean_run(X, c, lr, summed, epochs=2, batch_size=32, seed=0):
    """Plain SGD on the MNIST MLP (seed 0's initial weights, 300 hidden units)
    over complete batches only (an epoch's last partial batch is skipped, so
    that every batch has ``batch_size`` rows); ``summed=True`` steps along the
    gradient of the batch's *summed* loss, else of its mean. ``seed`` orders the
    batches. Returns (params, the loss of each batch after its step)."""
    params = mlp.init_mlp(X.shape[1], 300, 10, seed=0)
    rng = np.random.default_rng(seed)
    after_step = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            logits, cache = mlp.forward(params, X[idx])
            if summed:
                # the sum of the rows' -log y_c, differentiated row by row (notebook
                # 01's Q2): y - onehot(c) for each row. Computed on its own, not as
                # N times the mean's gradient, so the two runs can disagree
                dlogits = losses.softmax(logits)
                dlogits[np.arange(len(idx)), c[idx]] -= 1
            else:
                dlogits = losses.softmax_cross_entropy(logits, c[idx])[1]
            grads = mlp.backward(dlogits, cache)
            for name in params:
                params[name] -= lr * grads[name]
            after_step.append(mlp.evaluate(params, X[idx], c[idx])[0])
    return params, after_step


def rate_sweep(train_data, val_data, rates, seeds, epochs=5, batch_size=32):
    """Train the MNIST MLP with :func:`coursenet.train.sgd` for every rate from
    every seed (the same seeds for each rate: the runs can be compared in
    pairs). Returns ({rate: [History of each seed that did not diverge]},
    {rate: how many seeds diverged}); a progress bar counts the runs."""
    from tqdm.auto import tqdm

    from coursenet import train
    from coursenet.history import DivergedError

    X = np.asarray(train_data[0])
    sweep, diverged = {}, {}
    with tqdm(total=len(rates) * len(seeds), desc="learning-rate sweep (runs)") as bar:
        for rate in rates:
            sweep[rate], diverged[rate] = [], 0
            for s in seeds:
                try:
                    sweep[rate].append(train.sgd(
                        mlp.init_mlp(X.shape[1], 300, 10, seed=s), train_data, lr=rate,
                        batch_size=batch_size, epochs=epochs, seed=s,
                        val_data=val_data, progress=False))
                except DivergedError:
                    diverged[rate] += 1
                bar.update(1)
    return sweep, diverged


def per_image_loss(params, X, c):
    """The cross-entropy ``-log y_c`` of each row of ``X`` (N, D): (N,)."""
    log_y = losses.log_softmax(mlp.forward(params, X)[0])
    return -log_y[np.arange(len(c)), c]


def stop_unless_right(history, start=None, who="minibatch_sgd"):
    """``history``, unless the cell must stop (one line, through
    ``needs_your_code``): when the loop's own check failed above (its History
    would go into the experiments below as if it were right: "validation"
    figures from the training set, a "before" that is the last evaluation), or
    when the params the History holds are still ``start`` (the loop stepped
    arrays of its own, so every number computed from ``history.params`` would
    be the untrained network's)."""
    if any(who in names for names in failed_checks()):
        raise RunStopped(f"your `{who}` failed its own check above: the"
                         " experiments below would report what it records as if"
                         " it were right; fix it, re-run its check, then this cell")
    if start is not None and all(
            np.array_equal(np.asarray(history.params[k]), np.asarray(v))
            for k, v in start.items() if k in history.params):
        raise RunStopped(f"your `{who}` returned a History whose params never"
                         " changed: its steps went into arrays of its own, not"
                         " into the params it was given")
    return history


def loss_change(before, after, X, c):
    """The change of the mean loss on ``(X, c)`` from params ``before`` to
    ``after``, and its standard error: the per-image changes are paired (the
    same images), so their std / sqrt(N). Returns (mean change, se)."""
    change = per_image_loss(after, X, c) - per_image_loss(before, X, c)
    return float(change.mean()), float(change.std(ddof=1) / math.sqrt(len(change)))


def loss_standard_error(params, X, c):
    """The standard error of the mean loss on ``(X, c)`` as an estimate of the
    loss on new images like them: the std of the per-image losses / sqrt(N)."""
    each = per_image_loss(params, X, c)
    return float(each.std(ddof=1) / math.sqrt(len(each)))


def seed_spread(runs, window):
    """How far runs that differ only in their seed lie apart: the std across
    runs (``ddof=1``) of the raw batch loss and of its moving average of
    ``window`` steps, averaged over the steps of the first and of the last
    epoch. Returns {"raw": (first, last), "smoothed": (first, last)}."""
    from coursenet.plots import smooth

    per_epoch = runs[0].steps_per_epoch
    curves = {"raw": [r.step_loss for r in runs],
              "smoothed": [smooth(r.step_loss, window) for r in runs]}
    spread = {}
    for kind, rows in curves.items():
        std = np.std(np.asarray(rows, dtype=float), axis=0, ddof=1)
        spread[kind] = (float(std[:per_epoch].mean()), float(std[-per_epoch:].mean()))
    return spread


def _fields_swapped(got, ref, who):
    """A list of the history that holds what another list should hold (the
    accuracies in a loss list, ...), where the two right lists differ."""
    for i, field in enumerate(_EVAL_FIELDS):
        for j, other in enumerate(_EVAL_FIELDS):
            if i == j or np.allclose(ref[i], ref[j]) \
                    or not np.allclose(got[i], ref[j]):
                continue
            kind = "accuracies" if other.endswith("acc") else "losses"
            part = "training" if "_train_" in other else "validation"
            same_set = field.split("_")[1] == other.split("_")[1]
            if np.allclose(got[j], ref[j]) and not np.allclose(got[j], ref[i]):
                _fail(f"in the history of {who}, {field} repeats the values of"
                      f" {other} (the {kind} on the {part} set), which holds its"
                      " own right values: one append takes the wrong variable,"
                      " not a swap", f"the {field} list gets the value of its own"
                      " name: read which variable each append takes",
                      "eval_field_repeated")
            why = ("the two values evaluate returns were unpacked in the other"
                   " order" if same_set else "each value went into another"
                   " set's list")
            _fail(f"in the history of {who}, {field} holds what {other} should"
                  f" hold (the {kind} on the {part} set): {why}", "evaluate"
                  " returns the loss first, then the accuracy (its docstring"
                  " says so); each list gets the value of its own name",
                  "eval_fields_swapped")


def _moments_recorded(train_loss, ref, who):
    """A history with too few or too many entries whose every entry is the
    training loss of one moment of the reference run (0 before training, e
    after epoch e): name the moments it recorded, by comparing each entry with
    the reference's evaluation at every moment."""
    moments = []
    for value in train_loss:
        at = np.flatnonzero(np.isclose(ref, value, rtol=1e-7, atol=1e-9))
        if len(at) != 1:
            return
        moments.append(int(at[0]))
    if moments == list(range(1, _EPOCHS + 1)):
        return   # after each epoch, none before: no_epoch0 names it
    if moments == list(range(_EPOCHS)):
        _fail(f"{who} evaluates {_EPOCHS} times, before each epoch and never after"
              " the last: its entries are the network as it was when each epoch"
              " began, so the trained network is never evaluated",
              "an epoch's evaluation describes the network that epoch"
              " produced: evaluate once before training, then once each epoch's"
              " steps are done", "evaluated_before_epoch")
    said = ", ".join("before training" if m == 0 else f"after epoch {m}"
                     for m in moments)
    _fail(f"the history of {who} holds {len(moments)} evaluations, of the network"
          f" {said}; expected {_EPOCHS + 1}: before training and after each of"
          f" the {_EPOCHS} epochs, each once", "evaluate once before the first"
          " epoch and once at the end of every epoch, nowhere else",
          "eval_moments")


def _epoch_moments(train_loss, ref, last_batch, who):
    """The epoch's training loss evaluated at another moment or on other rows
    than the reference's: before the epoch trained, or on its last batch."""
    if np.allclose(train_loss, ref, rtol=1e-7, atol=1e-9):
        return
    if np.allclose(train_loss[1:], ref[:-1]) and not np.allclose(ref[1:], ref[:-1]):
        _fail(f"epoch_train_loss[e] from {who} holds the state before epoch e"
              " trained (its entry 1 repeats entry 0): each epoch is evaluated"
              " before it trains, and the state after the last epoch is never"
              " evaluated", "an epoch's entry describes the network that epoch"
              " produced: evaluate once the epoch's steps are done",
              "evaluated_before_epoch")
    params, Xb, cb = last_batch
    on_batch = mlp.evaluate(params, Xb, cb)[0]
    if np.isclose(train_loss[-1], on_batch) and not np.isclose(ref[-1], on_batch):
        _fail(f"epoch_train_loss[{len(train_loss) - 1}] from {who} is the loss of"
              f" the last batch ({len(Xb)} rows), not of the {_N} training rows",
              "the epoch's training entries describe the whole training set with"
              " the parameters of that moment", "evaluated_on_batch")
