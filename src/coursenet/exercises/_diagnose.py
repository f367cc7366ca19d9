"""The structural comparisons of a wrong array with the right one, shared by
every check (notebooks 01-06): how the answer differs from the right one says
which mistake made it, without writing the right formula.

Each function takes the student's answers ``outs`` and the right ones ``refs``
(one per case, the same shapes) and either returns quietly (no such pattern)
or stops the check with a diagnosis (``_fail``). The patterns:

- ``scaled``: the right answer times one number per case (0, -1, 2, a count
  of the case such as C classes or N rows, or one that changes with the case);
- ``offset``: every entry off by the same number;
- ``edge_off`` / ``one_line_off``: right except one entry, row or column;
- ``part_off``: right except a named part (the true class's entries);
- ``times_an_input``: the right answer times, over, plus or minus an input,
  entry by entry;
- ``another_input``: the right rule applied to another input (another class,
  another cached value, a changed logit);
- ``all_equal``: one number in every entry where the right ones differ;
- ``other_upstream``: the right answer for an upstream gradient of all ones
  (the chain rule's upstream factor left out).
- ``length_off``: a vector of another length that holds the right entries
  the same way on every case (cut short, its non-zero entries only, one
  inserted, extra ones after them).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from coursenet.exercises._core import _fail, _same


class Count(NamedTuple):
    """A count of each case (C classes, N rows) a factor may equal; ``more``
    and ``less`` are (diagnosis after "{what} ", hint, id) for a factor equal to
    the count and to 1/count."""
    values: list
    more: tuple
    less: tuple
    squared: tuple = None   # (diagnosis, hint, id) for a factor of count * count


def classes(values):
    """The Count of classes C of each case (``values``)."""
    return Count(values, ("is C times the right one on every case (C, the number"
                          " of classes, changes from case to case and so does"
                          " your factor)", "a sum over the classes where one term"
                          " was meant, or a product with the number of classes",
                          "scaled_by_classes"),
                 ("is the right one divided by C, the number of classes, on every"
                  " case", "a mean over the classes where the quantity is not a"
                  " mean", "scaled_by_classes"))


def factors(outs, refs):
    """The one number k per case with out = k * ref (cases whose ref is 0 are
    skipped), or None when some case is not a multiple of its ref."""
    found = []
    for out, ref in zip(outs, refs):
        o = np.ravel(np.asarray(out, dtype=np.float64))
        r = np.ravel(np.asarray(ref, dtype=np.float64))
        size = float(r @ r)
        if size == 0.0 or o.shape != r.shape:
            if o.shape != r.shape:
                return None
            continue
        k = float(o @ r) / size
        if not np.allclose(o, k * r, rtol=1e-6, atol=1e-9):
            return None
        found.append(k)
    return found


def _factor_meaning(factor):
    """What a constant factor usually means, in words (None: no usual meaning)."""
    for value, meaning in ((2.0, "a term is counted twice"),
                           (0.5, "a stray 1/2, or a sum counted as a mean of two")):
        if np.isclose(factor, value):
            return meaning
    return None


def scaled(what, outs, refs, texts, counts=()):
    """Fail when every answer is the right one times one number per case; name
    the number: 0, a count of the case (``counts``) or its inverse, -1, another
    constant, or one that changes from case to case."""
    found = factors(outs, refs)
    if not found:
        return
    if all(abs(k) < 1e-9 for k in found):
        _fail(f"{what} is 0 in every entry", "nothing reaches the result: follow"
              " one entry through your function, step by step, on a small case"
              " of your own", "zero")
    for count in counts:
        values = [n for n in count.values if n][:len(found)]
        if len(values) < len(found) or len(set(values)) < 2:
            continue
        for want, (diagnosis, hint, id_) in ((values, count.more),
                                            ([1.0 / n for n in values], count.less)):
            if np.allclose(found, want, rtol=1e-6):
                _fail(f"{what} {diagnosis}", hint, id_)
        squares = [n * n for n in values]
        if count.squared and np.allclose(found, squares, rtol=1e-6):
            diagnosis, hint, id_ = count.squared
            _fail(f"{what} {diagnosis} ({', '.join(f'{k:.3g}' for k in found)})",
                  hint, id_)
    if np.allclose(found, found[0], rtol=1e-6):
        if np.isclose(found[0], -1.0):
            _fail(f"{what} has the wrong sign in every entry", "nudge one input"
                  " up a little: the result must change by about that nudge times"
                  " its gradient, sign included", "flipped_sign")
        if not np.isclose(found[0], 1.0):
            meaning = _factor_meaning(found[0])
            _fail(f"{what} is {found[0]:.3g} times the right one on every case"
                  + (f": {meaning}" if meaning else ""), "look for a constant"
                  " factor (a 1/2, a 2, a sign, a division by a count)", "scaled")
        return
    # a case with one non-zero entry is "a multiple" whatever that entry is
    telling = factors(*zip(*[(o, r) for o, r in zip(outs, refs)
                             if np.count_nonzero(np.abs(np.ravel(r)) > 1e-12) > 1]
                           or [((), ())]))
    if not telling or len(telling) < 2 or np.allclose(telling, telling[0], rtol=1e-6):
        return
    pairs = [(k, t) for (o, r), t in zip(zip(outs, refs), texts)
             for k in (factors([o], [r]) or [])]
    other = next(p for p in pairs if not np.isclose(p[0], pairs[0][0], rtol=1e-6))
    _fail(f"{what} is the right one times a factor that changes from case to"
          f" case ({pairs[0][0]:.3g} on {pairs[0][1]}, {other[0]:.3g} on"
          f" {other[1]}): the direction is right, the size is not",
          "look for a division or a product by a number computed from the case"
          " (a sum, a norm, a count, a value it holds), applied to the whole"
          " result", "scaled_per_case")


def offset(what, outs, refs, hint):
    """Fail when every entry is off by the same number (per case): a constant
    added or taken away, e.g. a mean removed from every entry."""
    shifts = [float(np.mean(o - r)) for o, r in zip(outs, refs)]
    if all(_same(o, r + k) for o, r, k in zip(outs, refs, shifts)) \
            and not np.allclose(shifts, 0.0):
        said = ", ".join(f"{k:.3g}" for k in shifts)
        _fail(f"every entry of {what} is off by the same number, case by case"
              f" ({said}): a number added to or taken from every entry (a mean"
              " removed, a 1 taken from all of them)", hint, "offset")


def _edge_masks(shape):
    """(name, mask, loop) for the parts a loop with a wrong range leaves out."""
    masks = []
    for end, index, loop in (("last", shape[0] - 1, "stops one short of C"),
                             ("first", 0, "starts at 1, not 0")):
        if len(shape) == 1:
            mask = np.zeros(shape, dtype=bool)
            mask[index] = True
            masks.append((f"its {end} entry", mask, loop))
            continue
        row, col = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
        row[index], col[:, index] = True, True
        masks += [(f"its {end} row", row, loop), (f"its {end} column", col, loop),
                  (f"its {end} row and column", row | col, loop)]
    return masks


def edge_off(what, outs, refs, hint):
    """Right except the first or the last entry (row, column, or both), the
    same one on every case: a loop over the classes whose range is off by one;
    say which part and whether it was left at 0."""
    for k, (name, _, loop) in enumerate(_edge_masks(refs[0].shape)):
        masks = [_edge_masks(r.shape)[k][1] for r in refs]
        if all(_same(o[~m], r[~m]) for o, r, m in zip(outs, refs, masks)) \
                and not all(_same(o[m], r[m]) for o, r, m in zip(outs, refs, masks)):
            zero = all(np.all(o[m] == 0) for o, m in zip(outs, masks))
            verb = "are" if " and " in name else "is"
            _fail(f"{what} is right except {name}, which {verb} "
                  + ("left at 0" if zero else "wrong")
                  + (f": looks like a loop over the classes that {loop}"
                     if zero else ""), hint, "edge_zero" if zero else "edge_wrong")


def part_off(what, outs, refs, masks, part, id_, rest="every other entry",
             hint=None):
    """Fail when every case is right outside ``masks`` (one boolean array per
    case, ``part`` in words: the true class's entries, a diagonal) and wrong
    inside: the student knows which case of the formula to look at."""
    if all(m.shape == np.shape(o) and _same(o[~m], np.asarray(r)[~m])
           for o, r, m in zip(outs, refs, masks)):
        gaps = np.concatenate([np.ravel(o[m] - np.asarray(r)[m])
                               for o, r, m in zip(outs, refs, masks)])
        same = len(gaps) > 1 and np.allclose(gaps, gaps[0], rtol=1e-6, atol=1e-9)
        _fail(f"{what} is right in {rest} and wrong in {part}"
              + (f", off by {gaps[0]:.4g} there on every case: a term added or"
                 " taken once too often" if same else ""), hint or "write"
              " down that part of the chain rule alone and compare one of its"
              " entries with a finite difference", id_)


def one_line_off(outs, refs, axis):
    """The index of the one row (axis 0) or column (axis 1) where every case's
    wrong entries lie, counted from the end when that is the same in all cases
    (``"last"``); None when there is no such line."""
    places = []
    for o, r in zip(outs, refs):
        if o.ndim < axis + 1:
            return None
        bad = ~np.isclose(o, r, rtol=1e-5, atol=1e-8)
        lines = np.flatnonzero(bad.any(axis=tuple(a for a in range(o.ndim)
                                                 if a != axis)))
        if len(lines) > 1 or o.shape[axis] < 2:
            return None
        if len(lines) == 1:
            places.append((int(lines[0]), int(lines[0]) - o.shape[axis]))
    if not places or (outs[0].ndim == 1 and axis == 0 and len(places) < 2):
        return None
    for pick in (0, 1):
        if len({p[pick] for p in places}) == 1:
            index = places[0][pick]
            return "last" if index == -1 else str(index)
    return None


def one_triangle(what, outs, refs):
    """Fail when a square answer is right on one side of the diagonal (and on
    it) and 0 on the other: one half of a symmetric matrix never filled."""
    square = all(np.ndim(r) == 2 and np.shape(o) == np.shape(r)
                 and np.shape(r)[0] == np.shape(r)[1] for o, r in zip(outs, refs))
    if not square:
        return
    for keep, half, empty in ((np.triu, "on and above", "below"),
                              (np.tril, "on and below", "above")):
        if all(_same(o, keep(r)) for o, r in zip(outs, refs)) \
                and not all(_same(keep(r), r) for r in refs):
            _fail(f"{what} is right {half} the diagonal and 0 {empty} it: that"
                  " half is never filled", "a symmetric matrix still has both"
                  " halves: fill every entry, or copy each one to its mirror"
                  " entry", "one_triangle")
    for keep, half, empty in ((lambda r: np.tril(r, -1), "below", "on and above"),
                              (lambda r: np.triu(r, 1), "above", "on and below")):
        if all(_same(o, keep(r)) for o, r in zip(outs, refs)):
            _fail(f"{what} is right {half} the diagonal and 0 {empty} it: the"
                  " inner loop stops at (or starts after) the row's own index,"
                  " so the diagonal and one half are never filled", "every"
                  " entry of a row is filled, its column running over every"
                  " index", "one_triangle")


def truncated(what, outs, refs):
    """Fail when every answer is the right one with its fractions cut off
    (the entries written into an integer array)."""
    refs = [np.asarray(r, dtype=np.float64) for r in refs]
    if all(np.shape(o) == r.shape and _same(o, np.trunc(r))
           for o, r in zip(outs, refs)) \
            and not all(_same(r, np.trunc(r)) for r in refs) \
            and any(np.any(o) for o in outs):   # all 0: the zero diagnosis's
        _fail(f"{what} holds whole numbers where the right entries have"
              " fractions: it is an array of integers, and every number written"
              " into it loses its fraction", "start from an array of floats (of"
              " the input's dtype), not of integers", "truncated_to_integers")


def line_off(what, outs, refs):
    """Fail when every case is right except in one row or column (the same
    one): a loop bound or an index off by one."""
    for axis, word in ((0, "row" if outs[0].ndim > 1 else "entry"), (1, "column")):
        where = one_line_off(outs, refs, axis)
        if where is not None:
            place = f"the last {word}" if where == "last" else f"{word} {where}"
            _fail(f"{what} is right except in {place} (on every case)",
                  f"look at what your code does differently in that {word}: a"
                  " loop that stops one short or starts one late, an index off by"
                  " one, a first or last entry treated apart", f"one_{word}_off")


def times_an_input(what, outs, refs, datas):
    """Fail when the answer is the right one multiplied, divided, plus or minus,
    entry by entry, an input of its shape (``datas``: the inputs of each case,
    named as the message should name them)."""
    for key in [k for k in datas[0] if k != "dout"]:
        if not all(np.shape(d[key]) == o.shape for d, o in zip(datas, outs)):
            continue
        for op, word, verb, id_ in _INPUT_OPS:
            with np.errstate(all="ignore"):
                if all(_same(o, op(np.asarray(r), d[key]))
                       for o, r, d in zip(outs, refs, datas)):
                    _fail(f"{what} is the right one {word} {key}, entry by entry:"
                          f" {key} {verb}", "write down each term and factor of"
                          " one entry by hand, on a small case of your own, and"
                          " compare it with yours", id_)


# (operation, how the answer relates to the input, what the code did with it)
_INPUT_OPS = (
    (np.multiply, "multiplied by", "multiplies it once too often",
     "multiplied_by_input"),
    (np.divide, "divided by", "divides it once too often", "divided_by_input"),
    (np.add, "plus", "is added once too often", "plus_input"),
    (np.subtract, "minus", "is left out or taken away", "minus_input"))


def all_equal(what, outs, refs, texts):
    """Fail when every entry holds one number (case by case) where the right
    entries differ: a sum over everything, or one number broadcast."""
    flat = [i for i, (o, r) in enumerate(zip(outs, refs))
            if o.size > 1 and np.ptp(np.asarray(r)) > 1e-6]
    if flat and all(not np.any(outs[i]) for i in flat):
        _fail(f"{what} is 0 in every entry (on {texts[flat[0]]} and every other"
              " case): nothing reaches it", "follow where each line of your code"
              " writes: a line copied from another name's may still write there",
              "zero")
    if flat and all(np.ptp(outs[i]) < 1e-12 for i in flat):
        i = flat[0]
        _fail(f"{what} holds the same number in every entry"
              f" ({float(outs[i].flat[0]):.4g} on {texts[i]}), where the right"
              " entries differ", "each entry has its own gradient: an index that"
              " does not move inside the loop (a name left over from an earlier"
              " loop), a sum over every entry at once (no axis), or one number"
              " broadcast loses what tells them apart", "all_entries_equal")
    rows = [i for i, (o, r) in enumerate(zip(outs, refs)) if np.ndim(o) == 2
            and np.shape(o)[1] > 1 and np.ptp(np.asarray(r), axis=1).max() > 1e-6]
    if rows and all(np.ptp(outs[i], axis=1).max() < 1e-12 for i in rows):
        _fail(f"{what} holds one number in each row (on {texts[rows[0]]} and every"
              " other case), where the right entries of a row differ", "each entry"
              " of a row has its own gradient: one entry read for the whole row,"
              " or a sum along the row, loses what tells them apart",
              "row_entries_equal")


def another_input(what, outs, alternatives):
    """Fail when the answer is, on every case, the right one computed from
    another input: ``alternatives`` holds (the diagnosis, naming what was used
    instead; hint; id; that answer per case, None where it does not apply)."""
    for instead, hint, id_, answers in alternatives:
        if all(a is not None and np.shape(o) == np.shape(a) and _same(o, a)
               for o, a in zip(outs, answers)):
            _fail(f"{what} is {instead}", hint, id_)


def other_upstream(what, outs, alternatives):
    """Fail when the answer is the right one for an upstream gradient of all
    ones (``alternatives``: that answer per case): dout left out of the chain
    rule for this gradient."""
    another_input(what, outs, [(
        "what it would be for an upstream gradient of all ones: the upstream"
        " gradient is left out of it", "the chain rule multiplies each local"
        " derivative by the upstream gradient that reaches it: change the"
        " upstream gradient and this gradient must change too",
        "upstream_ignored", alternatives)])


# --------------------------------------------------------------------------
# General diagnoses by property: what the wrong part of an answer relates to
# --------------------------------------------------------------------------


def part_relation(what, outs, refs, masks, part, rest, other_rule=None):
    """When every case is right outside ``masks`` and wrong inside (``part`` in
    words), say how the wrong part relates to the right one: the rule for
    ``rest`` used there too (``other_rule``: its values per case, None for
    none), right only in its last entry (a line after a loop, not in it), or
    one factor for all of it (a sign, a 2, a 0)."""
    inside = [np.asarray(o)[m] for o, m in zip(outs, masks)]
    right = [np.asarray(r)[m] for r, m in zip(refs, masks)]
    if not all(m.shape == np.shape(o) and _same(np.asarray(o)[~m], np.asarray(r)[~m])
               for o, r, m in zip(outs, refs, masks)) \
            or all(_same(i, r) for i, r in zip(inside, right)):
        return
    if other_rule is not None:
        others = [np.asarray(a)[m] for a, m in zip(other_rule, masks)]
        wrong = [~np.isclose(i, r, rtol=1e-5, atol=1e-8) for i, r in zip(inside, right)]
        if all(_same(i[w], a[w]) for i, a, w in zip(inside, others, wrong)):
            last_only = any(not w[-1] for w in wrong) \
                and all(w[:-1].all() for w in wrong)
            _fail(f"{what} holds, in {part}, what the rule for {rest} gives"
                  + (f" except in the last entry of {part}: the line that writes"
                     f" {part} runs once, after the loop" if last_only else
                     f": the case of {part} is not told apart from the others"),
                  f"{part} follows its own rule: check the test that picks it out,"
                  " and that it runs for every entry (inside the loop, not after)",
                  "part_other_rule")
    if all(len(i) > 1 and _same(i[-1:], r[-1:])
           and not np.isclose(i[:-1], r[:-1], rtol=1e-5, atol=1e-8).any()
           for i, r in zip(inside, right)):
        _fail(f"{what} is right in the last entry of {part} only, on every case:"
              " looks like that entry is written once, after the loop, where it"
              " belongs inside it", "check the indentation of the line that"
              f" writes {part}", "part_only_last")
    found = factors(inside, right)
    if found and np.allclose(found, found[0], rtol=1e-6):
        k = found[0]
        meaning = ("has the wrong sign" if np.isclose(k, -1.0)
                   else "is 0: never written, or its terms cancel (a product"
                   " taken before a subtraction it should hold: mind the"
                   " parentheses)" if abs(k) < 1e-9
                   else "is twice the right value: a term counted twice"
                   if np.isclose(k, 2.0) else f"is {k:.3g} times the right value")
        _fail(f"{what} is right in {rest}; in {part} it {meaning}, on every case",
              f"write down the rule for {part} alone, on a small case of your own,"
              " and compare it with a finite difference", "part_scaled")


def implied_probability(what, outs, datas, texts):
    """Q1's dl/dy_c is the slope of -log at y_c: read off the probability at
    which the student's entry at c is that slope (-1 over it) and name it when
    it is not y_c: y_c plus a constant, the largest probability, another
    class's, the log of y_c."""
    cs = [int(d["c"]) for d in datas]
    vals = [float(o[c]) for o, c in zip(outs, cs)]
    if any(v == 0 for v in vals):
        return
    if all(v > 0 for v in vals):
        _fail(f"{what} is positive at c on every case: in your code raising y_c"
              " would raise the loss, but -log y_c falls as y_c rises",
              "the slope of a falling curve is negative: check the sign and what"
              " your entry at c divides by", "slope_positive")
    z = [-1.0 / v for v in vals]
    ys = [d["y"] for d in datas]
    shift = [zi - y[c] for zi, y, c in zip(z, ys, cs)]
    if np.allclose(shift, shift[0], rtol=1e-6, atol=1e-9) \
            and abs(shift[0]) > 1e-9:
        _fail(f"{what} at c is the slope of -log at y_c {shift[0]:+.3g}, not at"
              " y_c, on every case: a number is added to y_c (a guard against"
              " division by 0 that changes the answer)", "y_c comes from a"
              " softmax and is never 0: use it as it is", "shifted_probability")
    for name, pick in (("the largest probability", lambda y, c: float(np.max(y))),
                       ("the smallest probability", lambda y, c: float(np.min(y))),
                       ("the sum of the probabilities", lambda y, c: float(np.sum(y)))):
        if all(np.isclose(zi, pick(y, c), rtol=1e-6) for zi, y, c in zip(z, ys, cs)) \
                and not all(np.isclose(pick(y, c), y[c]) for y, c in zip(ys, cs)):
            _fail(f"{what} at c is the slope of -log at {name}, not at y_c:"
                  " it reads another entry of y than the true class's",
                  "the loss is about the true class's probability y_c alone",
                  "other_probability")


def wrong_class_index(what, diffs, datas, texts):
    """``diffs``: per case, a one-hot vector where the right answer treats the
    true class c apart (the student's one-hot). Name the class it is at when it
    is not c: the most probable class, c - 1, 0, the last, or every class tied
    with c."""
    spots = []
    for diff in diffs:
        nonzero = np.flatnonzero(np.abs(diff) > 1e-9)
        spots.append(nonzero)
    cs = [int(d["c"]) for d in datas]
    if all(len(s) == 1 for s in spots):
        js = [int(s[0]) for s in spots]
        if js == cs:
            return
        for name, pick in (("the most probable class (the prediction)",
                            lambda d: int(np.argmax(d["y"]))),
                           ("class c + 1", lambda d: (int(d["c"]) + 1) % len(d["y"]))):
            if all(j == pick(d) for j, d in zip(js, datas)):
                _fail(f"{what} treats {name} as the true one, not the class c it is"
                      " given", "the loss is about the class the instance belongs"
                      " to, c, whatever the network predicts", "wrong_class_index")
    ties = [np.flatnonzero(np.isclose(d["o"], d["o"][int(d["c"])]))
            for d in datas] if all("o" in d for d in datas) else None
    if ties and all(list(s) == list(t) for s, t in zip(spots, ties)) \
            and any(len(t) > 1 for t in ties):
        i = next(i for i, t in enumerate(ties) if len(t) > 1)
        _fail(f"{what} treats every class whose logit equals the true class's as"
              f" the true class (on {texts[i]} two logits are equal): the true class"
              " is picked by its value, not by its position c", "c is a position:"
              " index with it directly", "class_by_value")


def bias_counted(what, outs, refs, biases, sizes):
    """Fail when each answer is the right one plus the bias times a count of the
    case, minus one (``sizes``: {name: per-case counts}): a bias added inside a
    sum, once per term."""
    for name, counts in sizes.items():
        if all(np.shape(o) == np.shape(b) and _same(o, r + (n - 1) * np.asarray(b))
               for o, r, b, n in zip(outs, refs, biases, counts)) \
                and len(set(counts)) > 1:
            _fail(f"{what} has its bias added {name}, inside the sum, where it is"
                  " added once", "the bias comes after the sum,"
                  " outside it", "bias_in_sum")


def wrong_where_negative(what, outs, refs, inputs, input_name):
    """Fail when the answer is wrong exactly at the entries whose ``inputs`` are
    negative (a branch for negative values)."""
    seen_neg = False
    for o, r, x in zip(outs, refs, inputs):
        bad = ~np.isclose(o, r, rtol=1e-5, atol=1e-8)
        neg = np.asarray(x) < 0
        if not np.array_equal(bad, neg):
            return
        seen_neg |= bool(neg.any())
    if seen_neg:
        _fail(f"{what} is right where {input_name} ≥ 0 and wrong exactly where"
              f" {input_name} < 0: the branch for negative inputs is wrong",
              f"try your function on one negative {input_name} and compare with"
              " the one-line definition", "wrong_for_negatives")


def step_extra(what, steps, rights, befores, grads, lrs):
    """Parameter steps (new - old) against the right ones (-lr * grad): name a
    multiple of the parameter's own value added (weight decay), or a step
    capped at one size (the gradient clipped)."""
    extra = [s - r for s, r in zip(steps, rights)]
    found = factors(extra, [-lr * b for b, lr in zip(befores, lrs)])
    if found and np.allclose(found, found[0], rtol=1e-6) and abs(found[0]) > 1e-12:
        _fail(f"{what} also moves by lr times {found[0]:.3g} times the parameter's"
              " own value, on every case: a weight decay that this step does not"
              " have", "the step is the learning rate times the gradient, nothing"
              " more", "weight_decay")
    caps = []
    for s, r, g, lr in zip(steps, rights, grads, lrs):
        bad = ~np.isclose(s, r, rtol=1e-5, atol=1e-9)
        if bad.any():
            caps.extend(np.abs(np.asarray(s)[bad]) / lr)
            if not np.all(np.abs(np.asarray(g)[bad]) >= np.abs(np.asarray(s)[bad]) / lr
                          - 1e-9):
                return
    if caps and np.allclose(caps, caps[0], rtol=1e-6):
        if all(np.all(np.abs(np.asarray(g))[np.isclose(s, r, rtol=1e-5, atol=1e-9)]
                      <= caps[0] + 1e-9) for s, r, g in zip(steps, rights, grads)):
            _fail(f"{what} is right where the gradient is small and capped at lr"
                  f" times {caps[0]:.3g} where it is larger: the gradient is"
                  " clipped", "the step follows the gradient whatever its size",
                  "clipped_step")


# --------------------------------------------------------------------------
# General diagnoses by probing (issue 23, item 5): name a mistake by the
# property the answer violates, found with designed inputs, rather than by a
# table row per answer.
# --------------------------------------------------------------------------


def reciprocal(what, outs, refs, douts):
    """Fail when an elementwise gradient is the upstream gradient divided by the
    local slope where it should be multiplied (out times ref = dout², entry by
    entry)."""
    pairs = [(np.asarray(o, float), np.asarray(r, float), np.asarray(d, float))
             for o, r, d in zip(outs, refs, douts)]
    if pairs and all(o.shape == r.shape == d.shape and _same(o * r, d * d)
                     and not _same(o, r) for o, r, d in pairs):
        _fail(f"{what} is the upstream gradient divided by the local slope:"
              " your code divides by the slope where the chain rule multiplies"
              " by it", "a small slope must make a small gradient: nudge the"
              " input where the layer is flat and see how little its output"
              " moves", "divides_by_slope")


def rows_fit(what, out, contributions, n_rows):
    """Fail when a parameter's gradient is a combination of the rows' own
    contributions other than their plain sum: some rows left out, or a mean.
    ``contributions``: one array per row of the batch, the row's own gradient."""
    a = np.stack([np.ravel(c) for c in contributions], axis=1)
    b = np.ravel(np.asarray(out, dtype=np.float64))
    if a.shape[0] < a.shape[1] or b.shape[0] != a.shape[0]:
        return
    weights, *_ = np.linalg.lstsq(a, b, rcond=None)
    if not np.allclose(a @ weights, b, rtol=1e-6, atol=1e-8):
        return
    weights = np.round(weights, 6)
    used = [i for i, w in enumerate(weights) if np.isclose(w, 1.0)]
    left = [i for i, w in enumerate(weights) if np.isclose(w, 0.0)]
    if left and len(used) + len(left) == n_rows and used:
        _fail(f"{what} holds the contribution of row{'s' if len(used) > 1 else ''}"
              f" {', '.join(map(str, used))} of the batch alone (of {n_rows} rows):"
              f" row{'s' if len(left) > 1 else ''} {', '.join(map(str, left))}"
              " never reach it", "every row of the batch contributes to a"
              " parameter's gradient: a loop that keeps one row's contribution"
              " instead of adding each one to the total loses the others",
              "rows_left_out")


def rows_mixed(what, changed_row, moved_rows, source="its input"):
    """Fail naming rows of a result that moved when only another row of the
    input (``source``) changed: the layer mixes the rows of the batch."""
    if moved_rows:
        _fail(f"row {moved_rows[0]} of {what} changes when only row {changed_row}"
              f" of {source} changes: it mixes the rows of the batch", "each row"
              " is one instance: every sum, mean or max inside the layer runs"
              " along one row, never over the whole batch", "rows_mixed")


def _diagonal_square(what, square):
    """Off the diagonal right; on it, the y_i² term (``square``: its extra
    coefficient per case) missing (+1) or taken twice (-1)."""
    if np.allclose(square, 1.0):
        _fail(f"the Jacobian {what} applies is right off the diagonal, but its"
              " diagonal entries are y_i alone: the product term y_i² is missing"
              " there (a fill of the diagonal replaces the entries it writes, it"
              " does not add to them)", "write entry (i, i) of the Jacobian once,"
              " by hand, for C = 2: the product of two probabilities enters it"
              " too", "diagonal_missing_square")
    if any(abs(s) > 1e-6 for s in square):
        _fail(f"the Jacobian {what} applies is right off the diagonal, but its"
              " diagonal entries take y_i² away once too often: the diagonal's"
              " product term is counted twice", "write entry (i, i) of the"
              " Jacobian once, by hand, for C = 2: the product of two"
              " probabilities enters it once", "jacobian_diagonal_twice")


def jacobian_parts(what, jacobians, probabilities):
    """Name how the Jacobians a softmax backward applies (one per case, read
    back with unit upstream gradients) differ from the right one, part by part:
    the diagonal part, the products of two probabilities, a number added to
    every entry, a square on the diagonal."""
    if jacobians and all(np.allclose(J, np.outer(y, 1 - y), rtol=1e-6, atol=1e-8)
                         for J, y in zip(jacobians, probabilities)):
        _fail(f"off the diagonal the Jacobian {what} applies follows the diagonal's"
              " rule too, entry (i, j) holding y_i (1 - y_j): the test that tells"
              " the diagonal from the rest is true for every pair", "the diagonal"
              " is where the row number equals the column number: check what your"
              " test compares", "jacobian_diagonal_rule_everywhere")
    notes = []
    for J, y in zip(jacobians, probabilities):
        C = len(y)
        basis = [np.diag(y), np.outer(y, y), np.ones((C, C)), np.diag(y * y),
                 np.tile(y * y, (C, 1))]   # y_j² in every row: y * y broadcast
        a = np.stack([m.ravel() for m in basis], axis=1)
        coef, *_ = np.linalg.lstsq(a, J.ravel(), rcond=None)
        if not np.allclose(a @ coef, J.ravel(), rtol=1e-6, atol=1e-8):
            return
        notes.append((np.round(coef, 6), C))
    if not notes:
        return
    diag = [c[0] for c, _ in notes]
    prod = [c[1] for c, _ in notes]
    const = [c[2] for c, _ in notes]
    square = [c[3] for c, _ in notes]
    if any(abs(c[4]) > 1e-6 for c, _ in notes):
        _fail(f"off the diagonal, entry (i, j) of the Jacobian {what} applies is the"
              " same in every row of column j: y_j times itself, an entry-by-entry"
              " square broadcast into every row", "entry (i, j) tells how y_i"
              " moves with o_j: it must depend on both i and j",
              "jacobian_squares_broadcast")
    if any(abs(k) > 1e-6 for k in const):
        _fail(f"the Jacobian {what} applies has one number added to every entry,"
              f" on the diagonal and off it ({const[0]:.3g} on the first case):"
              " one number stands where a C × C table belongs", "print what your"
              " product of the probabilities with themselves gives for a vector"
              " of 3: one number, or a 3 × 3 table?",
              "jacobian_constant_added")
    if np.allclose(prod, -1.0):
        _diagonal_square(what, square)
    if np.allclose(diag, 1.0) and np.allclose([p * C for p, (_, C) in
                                               zip(prod, notes)], -1.0) \
            and len({C for _, C in notes}) > 1:
        _fail(f"in the Jacobian {what} applies, the part made of products of two"
              " probabilities is 1/C of the right one (C, the number of classes):"
              " a mean over the classes where a sum belongs", "the sum over the"
              " classes in the chain rule is a sum: every class's term counts in"
              " full", "jacobian_products_mean")


# --------------------------------------------------------------------------
# Right values in the wrong places, rounded, or plus a constant (round two)
# --------------------------------------------------------------------------

_PLACES_HINT = ("each entry has one right place: check which array, and which"
                " index, your code reads for it")


def _moves(ref):
    """(words, id, array, mask of the entries that must match) for every
    consistent rearrangement of ``ref``: shifted by one along an axis (wrapping
    or not), one row, column or entry copied to all."""
    ref = np.asarray(ref, dtype=np.float64)
    found = []
    for axis in range(ref.ndim):
        if ref.shape[axis] < 2:
            continue
        line = ("entry" if ref.ndim == 1 else "row" if axis == 0 else "column")
        for step, words in ((1, f"the {line} before it"), (-1, f"the {line} after it")):
            moved = np.roll(ref, step, axis=axis)
            edge = np.zeros(ref.shape, dtype=bool)
            index = [slice(None)] * ref.ndim
            index[axis] = 0 if step == 1 else -1
            edge[tuple(index)] = True
            found.append((f"each {line} holds the right values of {words}"
                          " (the index is off by one)", "shifted_by_one", moved, ~edge))
        for pick, which in ((0, "first"), (-1, "last")):
            taken = np.take(ref, [pick], axis=axis)
            alias = (", or every row is one list under several names (a list"
                     " of rows made by repeating one row), which shows the last"
                     " values written" if (axis, pick) == (0, -1) else "")
            found.append((f"every {line} holds the right values of the {which}"
                          f" {line}: one {line} is read for all of them{alias}",
                          f"one_{line}_for_all", np.broadcast_to(taken, ref.shape),
                          np.ones(ref.shape, dtype=bool)))
    return found


def rearranged(what, outs, refs, others=()):
    """Fail when the answer holds right values in the wrong places, the same way
    on every case: another array's right values (``others``: (words, id, per
    case), e.g. another parameter's gradient, the value where the derivative
    belongs), or its own right values shifted by one or one line copied to all."""
    outs = [np.asarray(o, dtype=np.float64) for o in outs]
    for words, id_, arrays, *hint in others:
        if all(a is not None and np.shape(a) == o.shape and _same(o, np.asarray(a))
               for o, a in zip(outs, arrays)) \
                and not all(_same(np.asarray(a), np.asarray(r))
                            for a, r in zip(arrays, refs)):
            _fail(f"{what} holds {words}, on every case",
                  hint[0] if hint else _PLACES_HINT, id_)
    if any(o.shape != np.shape(r) for o, r in zip(outs, refs)):
        return
    for k, (words, id_, _, _) in enumerate(_moves(refs[0])):
        moves = [_moves(r) for r in refs]
        if any(len(m) != len(moves[0]) for m in moves):
            return
        picked = [m[k] for m in moves]
        if all(_same(o[mask], moved[mask]) for o, (_, _, moved, mask)
               in zip(outs, picked)) \
                and not all(_same(moved, np.asarray(r))
                            for (_, _, moved, _), r in zip(picked, refs)):
            _fail(f"{what}: {words}, on every case", _PLACES_HINT, id_)


def rounded(what, outs, refs):
    """Fail when every entry is a multiple of 10^-k and within half of that of
    the right one, and some entry differs from it: the answer was rounded (or
    printed and read back). Also for answers that pass the tolerance."""
    outs = [np.asarray(o, dtype=np.float64) for o in outs]
    refs = [np.asarray(r, dtype=np.float64) for r in refs]
    # no shortcut for answers within the checks' tolerance: rounded to 3
    # decimals is within it where the entries are large, and still wrong
    if any(o.shape != r.shape for o, r in zip(outs, refs)) \
            or max(float(np.max(np.abs(o - r), initial=0.0))
                   for o, r in zip(outs, refs)) <= 1e-9:
        return
    for places in range(0, 9):
        unit = 10.0 ** -places
        # rtol=0: a relative tolerance would call any number on a fine grid
        grid = all(np.allclose(o / unit, np.round(o / unit), rtol=0.0, atol=1e-6)
                   for o in outs)
        near = all(np.all(np.abs(o - r) <= unit / 2 + 1e-12)
                   for o, r in zip(outs, refs))
        if grid and near:
            _fail(f"{what} is the right one rounded to {places} decimal place(s):"
                  f" every entry is a multiple of {unit:g}, within half of that of"
                  " the right one", "round only what you print, never the values"
                  " you return: the cells below compute with them", "rounded")
        if grid:
            return


def plus_constant(what, outs, refs, masks=None, part="every entry"):
    """Fail when, outside ``masks`` (None: everywhere), the answer is the right
    one plus one number per case (not 0): a term that belongs elsewhere, or to
    one entry, reaches all of them."""
    shifts = []
    for k, (o, r) in enumerate(zip(outs, refs)):
        o, r = np.asarray(o, dtype=np.float64), np.asarray(r, dtype=np.float64)
        if o.shape != r.shape:
            return
        keep = np.ones(o.shape, dtype=bool) if masks is None else ~masks[k]
        gap = o[keep] - r[keep]
        if gap.size < 2 or not np.allclose(gap, gap[0], rtol=1e-6, atol=1e-9):
            return
        shifts.append(float(gap[0]))
    if shifts and not np.allclose(shifts, 0.0, atol=1e-9):
        said = ", ".join(f"{s:.3g}" for s in shifts[:3])
        _fail(f"{what} is the right one plus the same number in {part}, case by"
              f" case ({said}, …): a term that belongs to one place (or to no"
              " entry) reaches all of them", "print your answer minus the right"
              " one on a small case: the same number everywhere is a term added"
              " once to everything, or one number broadcast", "plus_constant")


def softmax_parts(what, outs, rows):
    """A softmax backward against the right one's two parts, row by row: the
    part from each entry's own y (the upstream gradient times y) and the shared
    part subtracted from it (proportional to that entry's y). ``rows``: the
    (Y, G) of each case. Name the part that lost its per-entry factor y."""
    lost_shared = lost_own = True
    for out, (Y, G) in zip(outs, rows):
        mine = np.atleast_2d(out)
        own = G * Y
        shared = Y * own.sum(axis=1, keepdims=True)
        taken = own - mine
        lost_shared &= bool(np.allclose(taken, taken[:, :1], rtol=1e-6, atol=1e-9)
                            and not np.allclose(taken, shared, rtol=1e-6, atol=1e-9))
        kept = mine + shared
        lost_own &= bool(np.allclose(kept, G, rtol=1e-6, atol=1e-9)
                         and not np.allclose(G, own, rtol=1e-6, atol=1e-9))
    if lost_shared:
        _fail(f"{what}: the amount subtracted is the same for every entry of a row;"
              " it must be proportional to that entry's y (0 where y is 0)",
              "raising o_j moves every probability, and y_j's own share of that"
              " move scales with y_j: an output of tiny probability barely moves",
              "shared_part_unweighted")
    if lost_own:
        _fail(f"{what}: the subtracted part is right, but the first part is the"
              " upstream gradient alone: it lost its factor y, that entry's own"
              " probability", "write entry (i, i) of the Jacobian by hand for"
              " C = 2, from the quotient rule, and compare it with yours",
              "own_part_unweighted")


# --------------------------------------------------------------------------
# Round three (notebooks 01-03): whole numbers, and how a step relates to the
# gradient it should be made of.

_TO_INTEGER = (
    ("rounded down (floor: integer division // or math.floor?)", np.floor),
    ("rounded up (math.ceil?)", np.ceil),
    ("cut to its whole part (int(...) truncates toward 0)", np.trunc),
    ("rounded to the nearest whole number", np.round),
)


def to_integers(what, outs, refs, masks=None, part="every entry"):
    """Fail when, in ``masks`` (None: everywhere), every entry is a whole
    number and equals the right one floored, ceiled, truncated or rounded (and
    some entry differs from the right one): the value was made an integer."""
    picks = []
    for k, (o, r) in enumerate(zip(outs, refs)):
        o, r = np.asarray(o, dtype=np.float64), np.asarray(r, dtype=np.float64)
        if o.shape != r.shape:
            return
        keep = np.ones(o.shape, dtype=bool) if masks is None else masks[k]
        picks.append((o[keep], r[keep]))
    if not picks or all(np.allclose(o, r, rtol=1e-9, atol=1e-12) for o, r in picks):
        return
    if not all(np.allclose(o, np.round(o), atol=1e-9) for o, _ in picks):
        return
    for said, to_int in _TO_INTEGER:
        if all(np.allclose(o, to_int(r), atol=1e-9) for o, r in picks):
            _fail(f"{what} in {part} is a whole number: the right one {said}",
                  "keep every value a float: / divides without rounding, and"
                  " nothing here needs int(...)", "made_integer")


def _ratio_on(steps, rights):
    """steps / rights where rights is not 0, per case, or None."""
    out = []
    for s, r in zip(steps, rights):
        s, r = np.ravel(s).astype(np.float64), np.ravel(r).astype(np.float64)
        keep = np.abs(r) > 1e-12
        if np.any(np.abs(s[~keep]) > 1e-9):
            return None
        out.append(s[keep] / r[keep])   # empty where every right one is 0
    return out


# a step that is the learning rate and the gradient met by another operator
_OPERATOR_SLIPS = (("lr raised to the power of the gradient", lambda g, lr: lr ** g),
                   ("lr plus the gradient", lambda g, lr: lr + g),
                   ("the gradient minus lr", lambda g, lr: g - lr),
                   ("lr divided by the gradient", lambda g, lr: lr / g))


def step_relation(what, steps, grads, lrs):
    """Fail when a parameter's movement ``steps`` (old minus new) is not lr *
    grad but a named relation to it, entry by entry, on every case: lr times
    the gradient's sign (each entry moves exactly lr), lr times its absolute
    value (the wrong way where it is negative), one fixed number times the
    gradient whatever lr is (lr unused), or lr times the gradient divided by
    the norm of its row (of the whole gradient for a flat one)."""
    def same(a, b):
        return np.allclose(a, b, rtol=1e-6, atol=1e-9)

    cases = list(zip(steps, grads, lrs))
    if all(same(s, lr * g) for s, g, lr in cases):
        return
    if all(same(s, lr * np.sign(g)) for s, g, lr in cases):
        _fail(f"{what}: every entry moved by exactly lr, against the gradient's"
              " sign: the step uses only the sign, not the size, of the gradient",
              "the step is lr times the gradient itself: a large gradient moves"
              " far, a small one a little", "step_sign_only")
    if all(same(s, lr * np.abs(g)) for s, g, lr in cases):
        _fail(f"{what} is right where the gradient is positive and moves the"
              " wrong way where it is negative: the step is lr times the"
              " gradient's absolute value", "the gradient's sign says which way"
              " is downhill: keep it (no abs)", "step_abs")
    if all(same(s, lr * g * np.abs(g)) for s, g, lr in cases):
        _fail(f"{what} is lr times the gradient times its own size |g| (g·|g|):"
              " large gradients move too far, small ones hardly at all", "the step"
              " is lr times the gradient, once", "step_times_own_size")
    for said, slip in _OPERATOR_SLIPS:   # one operator typed for another
        with np.errstate(all="ignore"):
            if all(same(s, slip(g, lr)) for s, g, lr in cases):
                _fail(f"{what} is {said}, not lr times the gradient: one operator"
                      " where another belongs", "read the update line operator by"
                      " operator: the step is the learning rate times the"
                      " gradient", "step_operator_slip")
    norms = [np.linalg.norm(g, axis=-1, keepdims=True) for _, g, _ in cases]
    if all(np.all(n > 0) for n in norms) \
            and all(same(s, lr * g / n) for (s, g, lr), n in zip(cases, norms)):
        _fail(f"{what} is lr times the gradient divided by the length (norm) of"
              " its row: every row moves the same distance", "plain SGD does not"
              " normalise: the step is lr times the gradient", "step_normalised")
    ratios = _ratio_on(steps, grads)
    if ratios is None or len(set(lrs)) < 2:
        return
    seen = [(r, lr) for r, lr in zip(ratios, lrs) if r.size]   # cases that move
    fixed = [float(r[0]) for r, _ in seen if np.allclose(r, r[0], rtol=1e-6)]
    if len(seen) > 1 and len(fixed) == len(seen) \
            and np.allclose(fixed, fixed[0], rtol=1e-6) and abs(fixed[0]) > 1e-12 \
            and not np.allclose(fixed, [lr for _, lr in seen], rtol=1e-6):
        _fail(f"{what} is {fixed[0]:.3g} times the gradient on every case, whatever"
              f" lr is (lr = {', '.join(f'{lr:g}' for lr in lrs)}): the argument lr"
              " is not used", "scale the step by the lr your function is given, not"
              " by a number written in it", "lr_unused")


def cases_swapped(what, outs, masks, inside, outside, names):
    """Fail when a two-case rule has its cases swapped: where ``masks`` holds
    (the true class, the diagonal) the answer follows the other case's rule
    ``outside``, and everywhere else it follows ``inside``'s (both given as
    full arrays, the rule evaluated at every entry). ``names`` = (the masked
    part, the rest), e.g. ("the entry at c", "every other entry")."""
    for o, m, i, x in zip(outs, masks, inside, outside):
        o, i, x = (np.asarray(a, dtype=np.float64) for a in (o, i, x))
        if o.shape != m.shape or not (np.allclose(o[m], x[m], rtol=1e-6, atol=1e-9)
                                      and np.allclose(o[~m], i[~m], rtol=1e-6,
                                                      atol=1e-9)):
            return
    if all(np.allclose(i, x, rtol=1e-6, atol=1e-9) for i, x in zip(inside, outside)):
        return
    _fail(f"{what} follows the rule for {names[1]} in {names[0]}, and the rule for"
          f" {names[0]} in {names[1]}: the two cases are swapped", "check which"
          " branch each case takes: the condition of the if, or which of the two"
          " values comes first where a condition picks between them", "cases_swapped")


def part_constant(what, outs, refs, masks, part):
    """Fail when, in ``masks`` (the entry at c), the answer is one and the same
    number on every case while the right one changes: a term that should
    depend on the input was written as a constant (assigned, not updated)."""
    picked = [np.asarray(o, dtype=np.float64)[m] for o, m in zip(outs, masks)]
    rights = [np.asarray(r, dtype=np.float64)[m] for r, m in zip(refs, masks)]
    if not picked or any(p.size == 0 or p.shape != r.shape
                         for p, r in zip(picked, rights)):
        return
    value = float(picked[0].flat[0])
    if all(np.allclose(p, value, atol=1e-12) for p in picked) \
            and not all(np.allclose(r, value, atol=1e-9) for r in rights):
        _fail(f"{what} is {value:g} in {part} on every case, whatever the input:"
              " a term that depends on the input is missing there (a value"
              " assigned where it should be added to or subtracted from)",
              f"work out {part} by hand on two different inputs: it changes",
              "part_constant")


def part_factor(what, outs, refs, masks, part, factors):
    """Fail when, in ``masks``, the answer is the right one divided (a factor
    missing) or multiplied (a factor too many) by a named quantity, entry by
    entry; ``factors``: {name: arrays per case, the answer's shape}."""
    for name, values in factors.items():
        for missing, word in ((True, "misses"), (False, "has one too many")):
            ok = True
            for o, r, m, f in zip(outs, refs, masks, values):
                o, r, f = (np.asarray(a, dtype=np.float64) for a in (o, r, f))
                left, right = (o * f, r) if missing else (o, r * f)
                if o.shape != m.shape or not np.allclose(
                        left[m], right[m], rtol=1e-6, atol=1e-9) \
                        or np.allclose(o[m], r[m], rtol=1e-6, atol=1e-9):
                    ok = False
                    break
            if ok:
                _fail(f"{what} {word} the factor {name} in {part}", "write one"
                      f" entry ({part}) by hand as a product and count its"
                      " factors", "part_factor")


def _length_readings(out, right):
    """{kind: words} for each way a vector of another length than ``right``
    holds the right entries."""
    n, size = len(out), len(right)
    found = {}
    if n < size and _same(out, right[right != 0]):
        found["nonzero"] = "only the entries that are not 0: the zeros were left out"
    if n < size and _same(out, right[:n]):
        found["short"] = (f"the first {n} of the {size} right entries: the rest are"
                          " missing (a loop or a size that stops short)")
    if n > size and any(_same(np.delete(out, i), right) for i in range(n)):
        found["insert"] = (f"the {size} right entries and one more: an entry was"
                           " inserted into the list where one was to be set")
    if n > size and _same(out[:size], right):
        found["long"] = (f"the {size} right entries followed by {n - size} more:"
                         " the length does not follow the number of classes")
    return found


def length_off(what, values, rights, texts):
    """Fail when every vector of the wrong length holds the right entries the
    same way on every case: cut short, only its non-zero entries, one entry
    inserted, or extra entries after them."""
    kinds, first = None, None
    for value, right, text in zip(values, rights, texts):
        try:
            out = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return
        right = np.asarray(right, dtype=np.float64)
        if out.shape == right.shape:
            continue
        if out.ndim != 1 or right.ndim != 1:
            return      # not a vector: _vector and _array say what it is
        found = _length_readings(out, right)
        kinds = set(found) if kinds is None else kinds & set(found)
        first = first or (found, len(out), len(right), text)
    if kinds:
        found, n, size, text = first
        words = next(found[k] for k in found if k in kinds)
        _fail(f"{what} has {n} entr{'y' if n == 1 else 'ies'} on {text}, expected"
              f" {size}: {words}",
              "one entry per class, each at its class's position, the zeros"
              " included", "length_off")
