"""Checks for notebook 03 (Q4): one SGD step, in place."""

from __future__ import annotations

import dis
import re
import types
from collections.abc import Mapping

import numpy as np

from coursenet import mlp
from coursenet.exercises import _diagnose
from coursenet.exercises._core import (
    ATOL,
    RTOL,
    Mistake,
    _array,
    _call,
    _Case,
    _code_has,
    _fail,
    _floor_divides,
    _match,
    _name,
    _names_used,
    _need_function,
    _run,
    _same,
    _shape_problem,
    _Stop,
    _worst,
)
from coursenet.exercises._networks import (
    _SCALAR_KEYS,
    _as_lists,
    _course_params,
    _random_params,
    _renamed,
    sizes_confused,
)

# --------------------------------------------------------------------------
# Q4: one SGD step, in place
# --------------------------------------------------------------------------


def _sgd_cases(seed, sizes=((3, 4, 5), (2, 3, 2)), course=True):
    """The course's parameters and gradients (when ``course``), then random
    ones of ``sizes`` (every entry != 0)."""
    cases = []
    if course:
        params = _course_params()
        cases.append(_Case("the course's parameters and gradients (lr = 0.1)",
                           {"params": params, "lr": 0.1, "grads":
                            mlp.loss_and_grads(params, [[1.0, -1.0]], [0])[1]}))
    rng = np.random.default_rng(seed)
    for size, lr in zip(sizes, (0.5, 0.03)):
        cases.append(_Case(
            f"random {'-'.join(map(str, size))} parameters (lr = {lr})",
            {"params": _random_params(rng, *size), "lr": lr,
             "grads": _random_params(rng, *size)}))
    return cases


def _stepped(d, weights=1.0, biases=1.0, sign=-1.0):
    """``p + sign * scale * dp`` with separate scales for weights and biases."""
    scale = {"W1": weights, "W2": weights, "b1": biases, "b2": biases}
    return {_SCALAR_KEYS[k]: v + sign * scale[k] * d["grads"][k]
            for k, v in d["params"].items()}


def _first_row_only(d):
    stepped = _stepped(d, d["lr"], d["lr"])
    for name in ("W", "V"):
        rows = np.array(_renamed(d["params"], _SCALAR_KEYS)[name])
        rows[0] = stepped[name][0]
        stepped[name] = rows
    return stepped


_SGD_MISTAKES = [
    Mistake("adds_gradient", "the step adds the gradient (p + lr * dp): it climbs"
            " the loss", "the gradient points the way the loss rises fastest; a"
            " step that lowers the loss goes the other way",
            lambda d: _stepped(d, d["lr"], d["lr"], sign=1.0)),
    Mistake("skips_biases", "the weights W and V are updated, the biases b and c"
            " are not", "update every parameter, the biases too: a number in a"
            " list changes only when it is written through the list, by its index"
            " (a new value given to a loop variable leaves the list as it was)",
            lambda d: _stepped(d, d["lr"], 0.0)),
    Mistake("skips_weights", "the biases b and c are updated, the weights W and V"
            " are not", "update every parameter: the weights W and V are lists of"
            " lists, and a number in a list changes only when it is written"
            " through the list, by its index (a new value given to a loop"
            " variable leaves the list as it was)",
            lambda d: _stepped(d, 0.0, d["lr"])),
    Mistake("lr_squared", "the step is lr² * dp: the learning rate is applied twice",
            "the learning rate scales the step once",
            lambda d: _stepped(d, d["lr"] ** 2, d["lr"] ** 2)),
    Mistake("no_lr", "the step is p - dp: the learning rate is missing",
            "scale every step by the learning rate", lambda d: _stepped(d)),
    Mistake("divides_lr", "the step is p - dp / lr: it divides by the learning rate",
            "a smaller learning rate must give a smaller step; dividing by it gives"
            " a larger one", lambda d: _stepped(d, 1 / d["lr"], 1 / d["lr"])),
    Mistake("first_row_only", "only the first row of W and of V steps (the"
            " biases are right): the loop over the rows stops after one",
            "W and V are lists of rows: every row takes its step, entry by entry",
            lambda d: _first_row_only(d)),
    Mistake("lr_on_biases_only", "the biases step by lr times their gradient, the"
            " weights by their whole gradient: the learning rate is missing in the"
            " weights' update", "scale every step by the learning rate, the"
            " weights' too", lambda d: _stepped(d, 1.0, d["lr"])),
    Mistake("lr_on_weights_only", "the weights step by lr times their gradient,"
            " the biases by their whole gradient: the learning rate is missing in"
            " the biases' update", "scale every step by the learning rate, the"
            " biases' too", lambda d: _stepped(d, d["lr"], 1.0)),
]


def _read_params(params, like, who):
    """The student's params after the step, as arrays of the original shapes."""
    if not isinstance(params, Mapping):
        _fail(f"params is a {type(params).__name__} after {who}, no longer a dict",
              "update the values inside params; keep it a dict", "wrong_type")
    missing = [k for k in like if k not in params]
    if missing:
        _fail(f"params lost the keys {missing} in {who}",
              "update the values in place, keep every key", "wrong_keys")
    out = {}
    for key, ref in like.items():
        out[key] = _array(params[key], f"params[{key!r}] after {who}")
        if out[key].shape != ref.shape:
            diagnosis, _ = _shape_problem(key, out[key].shape, ref.shape)
            _fail(diagnosis.replace("the gradient of", "after the step,")
                  .replace(f"{key} has", f"params[{key!r}] has"),
                  "the next forward pass reads each entry as one number: keep every"
                  " parameter's shape (lists of rows for W and V, flat lists for b"
                  " and c)", "wrong_shape")
    return out


# a flat list's entry (a float) used as a row: looped over, measured, indexed
_FLAT_AS_ROWS = re.compile(r"not iterable|has no len\(\)|'float' object is not"
                           r" subscriptable")


def _sgd_raised_hint(exc):
    if isinstance(exc, TypeError) and _FLAT_AS_ROWS.search(str(exc)):
        return ("b and c are flat lists, one number per unit; only W and V are"
                " lists of rows")
    if isinstance(exc, TypeError) and _ROW_AS_NUMBER.search(str(exc)):
        return ("a list met a number: an entry of W or V is a whole row (a list"
                " of numbers), not a number as in b and c, and a list cannot be"
                " scaled or subtracted like one")
    if isinstance(exc, IndexError):
        return ("W is a list of D rows of H entries, b of H entries, V of H rows"
                " of C entries, c of C entries, and the check's networks have more"
                " hidden units than inputs or classes (2-3-2, 3-4-5): a loop over one"
                " size that indexes along the other, or one parameter's gradient"
                " read for another, runs past the end: check which names the"
                " named line reads")
    return None


def _step_right_on(fn, sizes, transposed=(), lr_second=False):
    """Whether the student's step is right on random parameters and gradients
    of ``sizes`` (D, H, C), quietly (False when it raises); with the gradients
    of the matrices named in ``transposed`` handed to it transposed;
    ``lr_second``: called (params, lr, grads), the order of a def that lists
    its arguments in another order than the exercise's."""
    rng = np.random.default_rng(sum(sizes))
    d = {"params": _random_params(rng, *sizes), "grads": _random_params(rng, *sizes),
         "lr": 0.1}
    params, grads = _as_lists(d["params"]), _as_lists(d["grads"])
    for name in transposed:
        grads[name] = np.transpose(grads[name]).tolist()
    try:   # under the check's time limit
        args = (params, d["lr"], grads) if lr_second else (params, grads, d["lr"])
        _call(fn, args, "sgd_step", "a probe", may_change=(0,))
        return all(_same(np.asarray(params[k], dtype=np.float64), v)
                   for k, v in _stepped(d, d["lr"], d["lr"]).items())
    except (_Stop, TypeError, ValueError):
        return False


# a row of W or V used as one number: lr * row, row - number, row -= number
_ROW_AS_NUMBER = re.compile(r"can't multiply sequence|operand type\(s\) for"
                            r" [-+*/]=?: '(list|float)' and '(list|float)'")


def _run_steps(fn, who, cases, by_name=True):
    """Call the student's step on each case's own copies: (params after the
    step as arrays, what it returned).

    ``grads`` comes with its keys in the reverse of params' order (c, V, b, W,
    the order a backward pass computes them in): a dict's order is not part of
    its meaning, so a step that pairs the two dicts by position fails here;
    ``by_name=False`` hands them in params' order (:func:`_by_position`).
    """
    outs, returned = [], []
    for text, d in cases:
        params = _as_lists(d["params"])  # the student's own copies
        grads = _as_lists(d["grads"])
        if by_name:
            grads = dict(reversed(grads.items()))
        try:
            returned.append(_call(fn, (params, grads, d["lr"]), who, text,
                                  may_change=(0,), hint=_sgd_raised_hint))
        except _Stop as stop:
            if stop.mistake == "changed_input" and "`grads`" in stop.message:
                _roles_swapped(fn, who, d)
            if isinstance(stop.raised, IndexError) and by_name:
                stop.mistake = "index_past_end"
                _index_past_end(fn, who, stop)
            if isinstance(stop.raised, TypeError) \
                    and _step_right_on(fn, (2, 3, 2), lr_second=True):
                _fail(f"{who} takes its arguments in another order: it is right"
                      " when called with the learning rate second and the"
                      " gradients third, and the training loop calls it"
                      " sgd_step(params, grads, lr)", "keep the order of the"
                      " exercise's def line: params, grads, lr", "argument_order")
            if isinstance(stop.raised, TypeError) \
                    and _FLAT_AS_ROWS.search(str(stop.raised)):
                stop.mistake = "flat_as_rows"
            elif isinstance(stop.raised, TypeError) \
                    and _ROW_AS_NUMBER.search(str(stop.raised)):
                stop.mistake = "rows_as_numbers"
            raise
        outs.append(_read_params(params, _renamed(d["params"], _SCALAR_KEYS), who))
    return outs, returned


def _roles_swapped(fn, who, d):
    """The step changed grads: fail when it left parameters as they were and
    moved their gradients by lr times them, the two dicts' roles swapped (for
    every key, or for the keys of one loop: a zip's lists in the other order)."""
    params, grads = _as_lists(d["params"]), _as_lists(d["grads"])
    try:
        _call(fn, (params, grads, d["lr"]), who, "a probe", may_change=(0, 1))
    except _Stop:
        return
    before = _renamed(d["params"], _SCALAR_KEYS)
    moved = {k: _renamed(d["grads"], _SCALAR_KEYS)[k] - d["lr"] * before[k]
             for k in before}
    try:
        given = _renamed(d["grads"], _SCALAR_KEYS)
        swapped = [k for k in before   # (a key whose move is 0 tells nothing)
                   if _same(np.asarray(grads[k], dtype=np.float64), moved[k])
                   and not _same(moved[k], given[k])
                   and _same(np.asarray(params[k], dtype=np.float64), before[k])]
        still = all(_same(np.asarray(params[k], dtype=np.float64), before[k])
                    for k in before)
    except (TypeError, ValueError):
        return
    if swapped:
        which = "params" if still else f"{', '.join(swapped)} of params"
        _fail(f"{who} left {which} as they were and moved {', '.join(swapped)} of"
              " grads by lr times the parameters: the two dicts' roles are swapped"
              " there (the names given to params' and grads' lists exchanged, or a"
              " zip's two lists in the other order?)", "the parameters take the"
              " step, against their gradients; grads stays as it was",
              "params_grads_swapped")


def _index_past_end(fn, who, stop):
    """The step raised IndexError on networks of unequal sizes: name the size
    it counts (the dict's keys, another size), or what it does on networks
    whose sizes are all equal, where no index runs past an end."""
    keys = len(_SCALAR_KEYS)
    if _step_right_on(fn, (keys,) * 3) and not _step_right_on(fn, (3, 3, 3)):
        _fail(f"{who} raises IndexError on a network whose sizes differ, and is"
              f" right only when every size is {keys}, the number of keys in the"
              " dicts (W, b, V and c): a loop runs over as many rows as the dict"
              " has keys, not as many as the parameter has", "count the rows of"
              " the list you index, not the entries of the dict",
              "keys_counted_as_rows")
    try:
        sizes_confused(lambda *sizes, **how: _step_right_on(fn, sizes, **how),
                       who, stop, matrices=(("W", "grads['W']"), ("V", "grads['V']")))
    except _Stop as found:
        if found is not stop:
            raise
    try:
        _judge(fn, who, _sgd_cases(seed=4, sizes=((3, 3, 3), (4, 4, 4)),
                                   course=False), equal=True)
    except _Stop as square:
        if square.mistake not in (None, "raised", "index_past_end", "unchanged"):
            square.message = square.message.replace(
                "✗ ", f"✗ {who} raises IndexError on a network whose sizes differ;"
                " on networks whose sizes are all equal (3-3-3, 4-4-4) it runs,"
                " and there ", 1)
            raise square from None
    raise stop


def _by_position(fn, who, cases, refs):
    """The step failed with grads in another key order than params: is it right
    when they come in params' own order? Then it pairs them by position."""
    try:
        outs = _run_steps(fn, who, cases, by_name=False)[0]
    except _Stop:
        return
    if all(_same(o, r) for o, r in zip(outs, refs)):
        _fail(f"{who} pairs each parameter with a gradient by position: it is right"
              " only when grads lists its keys in the order of params, and a"
              " backward pass may build them in another (c and V first, as it"
              " computes them)", "take each parameter's gradient by its name",
              "pairs_by_position")



def _unchanged_problem(fn, who, returned, refs):
    """params did not change at all: say why, from what the step did instead."""
    if all(_converts_to(r, ref) for r, ref in zip(returned, refs)):
        _fail(f"{who} returns the updated parameters but leaves params unchanged:"
              " the training loop ignores the return value", "update params in"
              " place: change the numbers inside its lists, which the loop keeps"
              " using", "returns_new_params")
    if _copies(fn):
        _fail(f"params did not change after {who}: it updates a copy",
              "copy.deepcopy(params) (or .copy(), or list(row)) makes new lists;"
              " the step then changes those, and the caller's params stay as they"
              " were. Update the lists inside params itself", "updates_a_copy")
    if _rebinds_argument(fn, 0):
        name = fn.__code__.co_varnames[0]
        _fail(f"params did not change after {who}: `{name} = ...` inside it gives"
              f" the name {name} a new value (a new dict or list), and the"
              " caller's params, which that name held until then, stays as it"
              " was", "update the lists inside the params the caller passed: a"
              " new value for the name does not reach the caller", "rebinds_params")
    if _names_used(fn) & {"array", "asarray"} and _steps_in_place(fn):
        _fail(f"params did not change after {who}: the steps went into arrays made"
              " from params' lists", "a numpy array made from a list (array,"
              " asarray) is a new object with its own numbers: changing it leaves"
              " the list inside params as it was; write into params' own lists",
              "updates_a_copy")
    _fail(f"params did not change after {who}",
          "a loop variable over a list of floats is a name for one number, not a"
          " place in the list: changing it leaves the list as it was; write into"
          " the list itself, by index", "unchanged")


def _rebinds_argument(fn, position):
    """Whether ``fn``'s code assigns a new value to its argument number
    ``position`` (``params = {...}``): read from the bytecode, since a cell's
    source may not be at hand. False for anything but a plain function."""
    if not isinstance(fn, types.FunctionType) \
            or fn.__code__.co_argcount <= position:
        return False
    name = fn.__code__.co_varnames[position]
    for ins in dis.get_instructions(fn):
        targets = ins.argval if isinstance(ins.argval, tuple) else (ins.argval,)
        if ins.opname == "STORE_FAST_LOAD_FAST":   # 3.13: stores the first only
            targets = targets[:1]
        if ins.opname.startswith(("STORE_FAST", "STORE_DEREF")) and name in targets:
            return True
    return False


def _same_entries(a, b):
    """Entry by entry, the checks' own tolerance."""
    return np.isclose(a, b, rtol=RTOL, atol=ATOL)


def _factor(steps, wants):
    """The one number f with steps = f * wants on every case, or None."""
    found = _diagnose.factors(steps, wants)
    return found[0] if found and np.allclose(found, found[0], rtol=1e-6) else None


def _lr_again(wrong, outs, refs, befores, lrs):
    """Fail when each wrong parameter moves lr times its right step, case by
    case (lr changes from case to case): the learning rate applied twice."""
    seen = set()
    for k in wrong:
        for o, r, b, lr in zip(outs, refs, befores, lrs):
            found = _diagnose.factors([o[k] - b[k]], [r[k] - b[k]])
            if found is None or (found and not np.isclose(found[0], lr)):
                return
            seen.update([lr] if found else [])
    if len(seen) < 2:
        return
    _fail(f"{', '.join(wrong)} move lr times the right step on every case (lr"
          " changes from case to case, and so does the factor): the learning rate"
          " is applied twice", "a step is one learning rate times the gradient",
          "step_times_lr")


def _own_value_or_row_length(who, wrong, outs, refs, befores, lrs):
    """Fail when the wrong parameters step by lr times their own old values
    (the loop read params where it meant grads), or by the right step divided
    by the length of their rows."""
    if all(_same(o[k] - b[k], -lr * b[k])
           for o, b, lr in zip(outs, befores, lrs) for k in wrong):
        _fail(f"{', '.join(wrong)} step by lr times their own old values, not by"
              " their gradients: the update reads the parameters where it should"
              " read the gradients", "each entry's step comes from its own"
              " gradient: check what your loop walks over", "steps_by_own_value")
    sizes = (("the length of their rows", lambda shape: shape[-1],
              "step_over_row_length"),
             ("their number of rows", lambda shape: shape[0], "step_over_row_count"),
             ("their number of entries", np.prod, "step_over_entry_count"))
    for said, size, mistake in sizes:
        if all(_same(o[k] - b[k], (r[k] - b[k]) / size(np.shape(b[k])))
               for o, r, b in zip(outs, refs, befores) for k in wrong):
            _fail(f"after {who}, {', '.join(wrong)} move the right step divided by"
                  f" {said}: a stray division by a size, as if the step were a"
                  " mean", "a step is the learning rate times the gradient,"
                  " whatever the size of the parameter", mistake)


def _skipped_where(wrong, outs, refs, befores):
    """(where, why) for the entries that did not step: the first or the last
    entry of each row, the first or last row, or elsewhere."""
    shapes = [np.shape(b[k]) for b in befores for k in wrong]
    cut = [_columns_stepped(o[k], r[k], b[k]) for o, r, b in zip(outs, refs, befores)
           for k in wrong]
    if all(len(s) == 2 and s[0] in n for n, s in zip(cut, shapes)) \
            and any(s[0] < s[1] for s in shapes):
        return (": in each row only the first entries stepped, as many as the"
                " parameter has rows", "the loop over a row's entries runs as"
                " many times as there are rows: a row's length is its own")
    for said, index, why in (
            ("the last", (slice(None, -1),), "the loop over a row's entries runs"
             " once, after the loop over the rows has ended: check how far it is"
             " indented"),
            ("the first", (slice(1, None),), "the loop over the rows ends after"
             " its first pass (a return or a break inside it?)")):
        if all(np.ndim(b[k]) == 2 and np.shape(b[k])[0] > 1
               for b in befores for k in wrong) and all(
                _only_skipped(o[k], r[k], b[k], _mask(b[k], index))
                for o, r, b in zip(outs, refs, befores) for k in wrong):
            return f": only {said} row of each took its step", why
    places = {"the first entry of each row": (slice(None), 0),
              "the last entry of each row": (slice(None), -1),
              "the first row": (0,), "the last row": (-1,)}
    for said, index in places.items():
        if all(np.ndim(b[k]) == 2 for b in befores for k in wrong) and all(
                _only_skipped(o[k], r[k], b[k], _mask(b[k], index))
                for o, r, b in zip(outs, refs, befores) for k in wrong):
            late = "first" in said
            return (f": {said} was skipped", "a loop over them starts one late"
                    " (range(1, ...))" if late else "a loop over them stops one"
                    " early (range(len(...) - 1))")
    return "", "a loop over the entries starts late or stops early"


def _columns_stepped(out, ref, before):
    """Every n for which the first n columns of a 2-D parameter stepped right
    and the others did not move (several where a gradient entry is 0)."""
    if np.ndim(before) != 2:
        return []
    return [n for n in range(np.shape(before)[1] + 1)
            if _only_skipped(out, ref, before, _mask(before, (slice(None),
                                                              slice(n, None))))]


def _only_skipped(out, ref, before, mask):
    """Unchanged in ``mask``, right everywhere else."""
    return bool(np.all(_same_entries(out, before)[mask])
                and np.all(_same_entries(out, ref)[~mask]))


def _mask(shape_of, index):
    mask = np.zeros(np.shape(shape_of), dtype=bool)
    mask[index] = True
    return mask


def _partial_problem(who, outs, refs, befores, lrs):
    """Some parameters are right: name the others (unchanged, or scaled)."""
    wrong = [k for k in refs[0]
             if not all(_same(o[k], r[k]) for o, r in zip(outs, refs))]
    still = [k for k in wrong
             if all(_same(o[k], b[k]) for o, b in zip(outs, befores))]
    if still and still == wrong:
        first = list(refs[0])[0]
        stops = still == list(refs[0])[1:]   # W only: the loop ends after one
        _fail(f"{', '.join(still)} did not change after {who}; the other"
              " parameters are right" + (f": the update stops after {first}, the"
              " first parameter (a return or a break inside the loop?)" if stops
              else ": forgotten, or a return or a break inside a loop ended the"
              " update before it"), "update every parameter: W, b, V and c",
              "skips_some")
    if all(_same(o[k], r[k] - b[k]) for o, r, b in zip(outs, refs, befores)
           for k in wrong):
        _fail(f"{', '.join(wrong)} are set to the step itself, lr times the"
              " gradient against it: their old values are lost", "the step moves"
              " each parameter from where it is: the new value starts from the old"
              " one", "assigns_step")
    moved_right = all(np.all(_same_entries(o[k], r[k]) | _same_entries(o[k], b[k]))
                      for o, r, b in zip(outs, refs, befores) for k in wrong)
    if moved_right:
        where = _skipped_where(wrong, outs, refs, befores)
        _fail(f"some entries of {', '.join(wrong)} did not change after {who}"
              f"{where[0]}; every entry that did change is right", f"{where[1]}:"
              " every entry takes its step", "some_entries_unchanged")
    _only_diagonal(who, wrong, outs, befores)
    _lr_again(wrong, outs, refs, befores, lrs)
    _own_value_or_row_length(who, wrong, outs, refs, befores, lrs)
    flat = [(np.concatenate([np.ravel(o[k] - b[k]) for k in wrong]),
             np.concatenate([np.ravel(r[k] - b[k]) for k in wrong]),
             np.concatenate([np.ravel(b[k]) for k in wrong]), lr)
            for o, r, b, lr in zip(outs, refs, befores, lrs)]
    steps, rights, olds, rates = zip(*flat)
    _diagnose.step_extra(f"the step of {', '.join(wrong)}", list(steps),
                         list(rights), list(olds),
                         [-r / lr for r, lr in zip(rights, rates)], list(rates))
    for k in wrong:     # a step times (or plus) the parameter's own value
        _diagnose.times_an_input(f"the step of {k}",
                                 [o[k] - b[k] for o, b in zip(outs, befores)],
                                 [r[k] - b[k] for r, b in zip(refs, befores)],
                                 [{"its old value": b[k]} for b in befores])
    _scaled_steps(wrong, outs, refs, befores)
    return wrong


def _scaled_steps(wrong, outs, refs, befores):
    """Fail when the wrong parameters move one factor times their right step
    (each its own factor, or one for every parameter)."""
    factors = {k: _factor([o[k] - b[k] for o, b in zip(outs, befores)],
                          [r[k] - b[k] for r, b in zip(refs, befores)])
               for k in wrong}
    ints = {k: round(f) for k, f in factors.items()
            if f is not None and np.isclose(f, round(f))}
    if len(ints) == len(wrong) == 2 and sorted(ints.values()) == [0, 2]:
        twice, never = sorted(ints, key=ints.get, reverse=True)
        _fail(f"{twice} takes two steps and {never} none; the other parameters are"
              f" right: the update visits {twice} twice and skips {never} (a name"
              " repeated where the other belongs)", "each parameter takes its one"
              " step: read the names the update walks over", "name_repeated")
    if len(wrong) < len(refs[0]) and None not in factors.values():
        said = ", ".join(f"{k} moves {f:.3g} times" for k, f in factors.items())
        twice = {round(f) for f in factors.values()}
        again = (f": as if its update ran {twice.pop()} times (its loop inside"
                 " another loop, a second loop, or"
                 " the line written twice, over the same entries)"
                 if len(twice) == 1 and all(np.isclose(f, round(f)) and f >= 2
                                            for f in factors.values()) else "")
        _fail(f"{said} the right step (lr times its gradient, against it); the"
              f" other parameters are right{again}", "look at the lines that update"
              f" {', '.join(factors)}: a factor or a sign differs there",
              "step_scaled")
    factor = _factor([o[k] - b[k] for o, b in zip(outs, befores) for k in b],
                     [r[k] - b[k] for r, b in zip(refs, befores) for k in b])
    if factor is not None and np.isclose(factor, 1 / len(refs[0])):
        _fail(f"every step is {factor:.3g} times lr times the gradient: one over"
              f" the number of parameters ({len(refs[0])}: W, b, V and c), as if"
              " the learning rate were shared out among them", "each parameter"
              " takes the whole step of the learning rate times its gradient",
              "step_over_parameter_count")
    if factor is not None:
        _fail(f"every step is {factor:.3g} times lr times the gradient",
              "look for a constant factor in the step", "step_scaled")


def _only_diagonal(who, wrong, outs, befores):
    """Fail when the wrong parameters are square matrices of which only the
    diagonal moved: the two loops share one index name (seen on networks of
    equal sizes, after an IndexError on the others)."""
    pairs = [(o[k], b[k]) for o, b in zip(outs, befores) for k in wrong]
    if all(np.ndim(b) == 2 and np.shape(b)[0] == np.shape(b)[1]
           and np.array_equal(~_same_entries(o, b), np.eye(len(b), dtype=bool))
           for o, b in pairs):
        _fail(f"after {who}, only the entries of {', '.join(wrong)} whose row and"
              " column numbers are equal (the diagonal) moved: the loop inside"
              " the other one uses the same name for its index, so both indices"
              " always hold the same number", "each entry has a row number and a"
              " column number, one per loop: each loop needs a name of its own",
              "one_index_for_both")


def _corner(step, like):
    """``step`` laid on an array of ``like``'s shape where the two overlap, 0
    elsewhere; None for arrays of one shape (named as a whole) or of other
    ranks."""
    if np.ndim(step) != np.ndim(like) or np.shape(step) == np.shape(like):
        return None
    out = np.zeros(np.shape(like))
    both = tuple(slice(min(m, n)) for m, n in zip(np.shape(step), np.shape(like)))
    out[both] = np.asarray(step)[both]
    return out


def _misplaced_steps(wrong, outs, refs, befores):
    """Round two: the steps of a wrong parameter are right steps in the wrong
    places (another parameter's, a neighbour's, one row's for all), rounded,
    or the right ones plus one number."""
    for k in wrong:
        steps = [o[k] - b[k] for o, b in zip(outs, befores)]
        rights = [r[k] - b[k] for r, b in zip(refs, befores)]
        others = [(f"the right step of {j}", "another_parameters_step",
                   [r[j] - b[j] if np.shape(r[j]) == np.shape(r[k]) else None
                    for r, b in zip(refs, befores)]) for j in refs[0] if j != k]
        # a zip of two lists of rows stops at the shorter: a larger gradient's
        # corner steps a smaller parameter
        others += [(f"the right step of {j} where the two overlap, and none"
                    " elsewhere (a zip stops at the shorter of its lists)",
                    "another_parameters_step", [_corner(r[j] - b[j], r[k])
                                                for r, b in zip(refs, befores)])
                   for j in refs[0] if j != k]
        _diagnose.rearranged(f"the step of {k}", steps, rights, others)
        _diagnose.plus_constant(f"the step of {k}", steps, rights)
        _diagnose.rounded(f"{k} after the step", [o[k] for o in outs],
                          [r[k] for r in refs])


def _step_relations(outs, datas, befores):
    """Round three: each parameter's movement against lr * its gradient, entry
    by entry (the sign only, abs, lr unused, a normalised step)."""
    grads = [_renamed(d["grads"], _SCALAR_KEYS) for d in datas]
    found, alike = None, []
    for k in befores[0]:
        try:
            _diagnose.step_relation(f"the step of {k}",
                                    [b[k] - o[k] for o, b in zip(outs, befores)],
                                    [g[k] for g in grads], [d["lr"] for d in datas])
        except _Stop as stop:   # name every parameter that shares the relation
            found = found or (k, stop)
            alike += [k] if stop.mistake == found[1].mistake else []
    if found:
        k, stop = found
        if len(alike) > 1:
            stop.message = stop.message.replace(
                f"the step of {k}", f"the step of each of {', '.join(alike)}", 1)
        raise stop


def _implied_rates(outs, datas, befores, texts):
    """The learning rate each entry's step implies, (before - after) / its
    gradient, read in the order the parameters are stored: a rate that
    changes from entry to entry (a decay inside the loop), or entries that
    are off only where they end at one magnitude (a clip), are named with the
    student's own numbers."""
    for out, d, before, text in zip(outs, datas, befores, texts):
        grads = _renamed(d["grads"], _SCALAR_KEYS)
        b = np.concatenate([np.ravel(before[k]) for k in before])
        a = np.concatenate([np.ravel(out[k]) for k in before])
        g = np.concatenate([np.ravel(grads[k]) for k in before])
        used = np.abs(g) > 1e-9
        rates = (b - a)[used] / g[used]
        off = ~np.isclose(rates, d["lr"], rtol=1e-6, atol=1e-12)
        if not off.any():
            continue
        distinct = len(np.unique(np.round(rates, 9)))
        if distinct > 2 and distinct > len(rates) // 2 and np.all(rates > 0) \
                and _drifts(b - a, g, [np.size(before[k]) for k in before]):
            _fail(f"your steps used a different learning rate for each entry on"
                  f" {text}: from {rates.max():.4g} to"
                  f" {rates.min():.4g}, {distinct} different rates: the rate"
                  " changes while the step runs", "one step uses one learning"
                  " rate for every entry: leave lr as it was given",
                  "rate_changes_in_step")
        ends = np.abs(a[used][off])
        right = np.abs((b - d["lr"] * g)[used][off])   # where the step would go
        if off.sum() > 1 and np.ptp(ends) < 1e-12 and ends[0] > 0 \
                and np.all(right > ends[0]) and np.all(np.abs(a) <= ends[0] + 1e-12):
            _fail(f"the entries whose step is off all end at ±{ends[0]:g} exactly on"
                  f" {text}: the parameters are held within ±{ends[0]:g} after the"
                  " step (clipped), which the step does not do", "the step moves"
                  " each entry by the learning rate times its gradient, however far"
                  " that takes it", "clipped_after_step")
        return


def _drifts(moved, g, sizes):
    """Whether the rate moved / g drifts one way within every parameter, entry
    after entry in the order they are stored (a rate changed inside the loop),
    rather than jumping about (a step that is not lr times g at all)."""
    start = 0
    for size in sizes:
        part, grad = moved[start:start + size], g[start:start + size]
        start += size
        rates = part[np.abs(grad) > 1e-9] / grad[np.abs(grad) > 1e-9]
        steps = np.diff(rates)
        if len(steps) and not (np.all(steps <= 1e-12) or np.all(steps >= -1e-12)):
            return False
    return True


def check_sgd_step(fn=None):
    """Q4: ``fn(params, grads, lr)`` updates the scalar ``params`` in place.

    ``params`` and ``grads`` are dicts of lists (``W``, ``b``, ``V``, ``c``). The
    return value is ignored, except to explain a step that returns new parameters
    instead of updating ``params``.
    """

    def body():
        _need_function(fn, "check_sgd_step", "your SGD step function")
        return _judge(fn, _name(fn, "your function"), _sgd_cases(seed=4))

    return _run(body)


def _judge(fn, who, cases, equal=False):
    """The check on ``cases``; ``equal``: networks whose sizes are all equal,
    tried after an IndexError on the others (no second try from there)."""
    datas = [d for _, d in cases]
    befores = [_renamed(d["params"], _SCALAR_KEYS) for d in datas]
    refs = [_stepped(d, d["lr"], d["lr"]) for d in datas]
    try:
        outs, returned = _run_steps(fn, who, cases, by_name=not equal)
    except _Stop:
        _by_position(fn, who, cases, refs)
        raise
    if all(_same(o, r) for o, r in zip(outs, refs)):
        for k in refs[0]:       # within tolerance, but rounded
            _diagnose.rounded(f"{k} after the step", [o[k] for o in outs],
                              [r[k] for r in refs])
        return (f"✓ {who}: every weight and bias steps against its gradient,"
                f" in place, right on {len(cases)} cases")
    _by_position(fn, who, cases, refs)
    if all(_same(o, b) for o, b in zip(outs, befores)):
        _unchanged_problem(fn, who, returned, refs)
    if _floor_divides(fn):
        _fail(f"after {who} the parameters are off, and {who} divides with //: a"
              " floor division rounds each result down to a whole number, so the"
              " steps come out whole", "a division that keeps its fraction is the"
              " plain one; the step is the rate times the gradient",
              "floor_division")
    if _rebinds_argument(fn, 2):     # a rate that changes step by step first
        _implied_rates(outs, datas, befores, [t for t, _ in cases])
        name = fn.__code__.co_varnames[2]
        _fail(f"after {who} the parameters are off, and {who} gives its"
              f" argument `{name}` a new value inside it: every step after"
              f" that line uses the new {name}, not the learning rate it was given",
              f"keep {name} as it came in; give a step of your own its own name",
              "lr_rebound")
    try:
        _match(outs, datas, _SGD_MISTAKES)
    except _Stop as stop:
        if stop.mistake in ("skips_weights", "skips_biases") \
                and _names_used(fn) & {"array", "asarray"}:
            stop.message = stop.message.split(" Hint: ")[0] + (
                " Hint: a numpy array made from a list (array, asarray) is a new"
                " object with its own numbers: changing it leaves the list inside"
                " params as it was; write into params' own lists")
        raise
    wrong = _partial_problem(who, outs, refs, befores, [d["lr"] for d in datas])
    _step_relations(outs, datas, befores)
    _implied_rates(outs, datas, befores, [t for t, _ in cases])
    for k in wrong:     # one number for a whole row of W or V
        _diagnose.all_equal(f"the step of {k}",
                            [o[k] - b[k] for o, b in zip(outs, befores)],
                            [r[k] - b[k] for r, b in zip(refs, befores)],
                            [t for t, _ in cases])
    _misplaced_steps(wrong, outs, refs, befores)
    worst = _worst(outs, refs, [t for t, _ in cases])
    _fail(f"after the step, {', '.join(wrong)} are off: {worst}",
          "every entry of every parameter takes one step against its own"
          " gradient, of the learning rate times that gradient")


def _steps_in_place(fn):
    """Whether ``fn``'s code has an in-place operator (``-=``): 3.10 names it
    INPLACE_*, 3.11+ gives it as BINARY_OP's text."""
    return _code_has(fn, lambda ins: ins.opname.startswith("INPLACE_")
                     or ins.argrepr in ("-=", "+=", "*="))


def _copies(fn):
    """Whether ``fn``'s code calls something named like a copy."""
    return bool(_names_used(fn) & {"deepcopy", "copy"})


def _converts_to(value, ref):
    try:
        return _same(_read_params(value, ref, "the step"), ref) \
            if isinstance(value, Mapping) else False
    except _Stop:
        return False
