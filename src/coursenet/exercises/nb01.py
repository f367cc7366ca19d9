"""Checks for notebook 01 (Q1, Q2): dl/dy, the softmax Jacobian, dl/do."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from coursenet import gradcheck, losses, scalar
from coursenet.exercises import _diagnose, _explain
from coursenet.exercises._core import (
    _UNCOPYABLE,
    ATOL,
    RTOL,
    Mistake,
    _array,
    _as_promised,
    _call,
    _Case,
    _difference,
    _entries_never_set,
    _fail,
    _finite,
    _match,
    _name,
    _need_function,
    _numbers,
    _onehot,
    _referee,
    _run,
    _same,
    _snapshot,
    _softmax,
    _Stop,
    _vector,
    _worst,
)

# --------------------------------------------------------------------------
# Q1: dl/dy
# --------------------------------------------------------------------------


def _prob_cases(seed, with_class=True):
    """The course's y = softmax(o) (two equal logits) and random asymmetric ones."""
    o_course = np.array(scalar.forward(scalar.course_params(), [1.0, -1.0], 0)[1]["o"])
    cases = [_Case("the course's example (y = [0.5, 0.5]"
                   + (", c = 0)" if with_class else ")"),
                   {"o": o_course, "y": _softmax(o_course), "c": 0})]
    rng = np.random.default_rng(seed)
    for num_classes, c in ((3, 2), (5, 0), (4, 1), (6, 5)):
        o = rng.normal(0.0, 1.5, num_classes)
        if c == 0:
            c = np.int64(0)  # labels often come out of numpy arrays
        text = f"C = {num_classes}, c = {int(c)}" if with_class \
            else f"C = {num_classes}"
        cases.append(_Case(f"a random case ({text})",
                           {"o": o, "y": _softmax(o), "c": c}))
    return cases


def _num(value):
    return f"{float(value) + 0.0:.4g}"


def _vec(values):
    return "[" + ", ".join(_num(v) for v in np.ravel(values)) + "]"


# --------------------------------------------------------------------------
# Probes of the student's function as a whole (notebook 02 imports them): what
# it does on a second call, on equal probabilities
# --------------------------------------------------------------------------

_STATE_HINT = ("a default value such as [] or {} in the def line is made once, when"
              " the def runs, and every call shares it; so does a name set outside"
              " the function (a global): build what you return inside the"
              " function, new on every call")


def _keeps_state(fn, who, first, second, right_so_far=False):
    """Fail when ``fn``'s answer depends on its earlier calls.

    ``first``, ``second``: ``(text, make_args, right answer)``, two cases of the
    same sizes; ``make_args()`` builds fresh arguments. The probe calls first,
    second, then first again: a function of its arguments alone gives the same
    answer to the same case, leaves the answer it returned alone, and (when it
    was right on the check's cases, ``right_so_far``) is right on both. (The
    checks' cases have a different size each, so a list kept per size passed
    them.) Quiet when a call raises or changes its argument: the main cases
    say why."""
    (text_a, make_a, right_a), (text_b, make_b, right_b) = first, second
    _entries_never_set(fn, make_a(), who, {np.shape(right_a)})
    try:
        answer = _call(fn, make_a(), who, text_a)
        kept = _snapshot(answer)
        answer_b = _call(fn, make_b(), who, text_b)
        changed = kept is not _UNCOPYABLE and _difference(kept, answer, "it")
        again = _call(fn, make_a(), who, text_a)
    except _Stop:
        return
    if changed:
        _fail(f"{who} keeps something between calls: called on {text_a}, then on"
              f" {text_b}, the second call changed what the first one had returned"
              f" ({changed.replace('after the call', 'after the second call')}):"
              " both calls hand back the same object", _STATE_HINT, "keeps_state")
    if kept is not _UNCOPYABLE and _difference(kept, again):
        _fail(f"{who} keeps something between calls: called on {text_a}, then"
              f" on {text_b}, then on the first case again (fresh copies), it"
              " answers the same case in two different ways", _STATE_HINT,
              "keeps_state")
    if right_so_far and _close(answer, right_a) and not _close(answer_b, right_b):
        _fail(f"{who} keeps something between calls: right on {text_a}, then wrong"
              f" on {text_b}, called next, with the same sizes (its answers on the"
              " check's cases, one size each, are right): the second call reuses"
              " something the first one left behind", _STATE_HINT, "keeps_state")


def _close(answer, right):
    """``answer`` (an array, a list, a dict of them) equals ``right`` within the
    checks' tolerance; False when it cannot be compared."""
    try:
        if isinstance(right, Mapping):
            return all(_close(answer[k], right[k]) for k in right)
        if isinstance(right, tuple):     # (loss, cache)
            return isinstance(answer, (tuple, list)) and len(answer) == len(
                right) and all(_close(a, r) for a, r in zip(answer, right))
        a = np.asarray(answer, dtype=np.float64)
        return a.shape == np.shape(right) and bool(
            np.allclose(a, right, rtol=RTOL, atol=ATOL))
    except (TypeError, ValueError, KeyError, IndexError):
        return False


def _state_cases(make_args, right, what_c="c", logits=False):
    """Two cases of one size for :func:`_keeps_state`: (text, fresh arguments,
    right answer).

    ``make_args(v, c)`` gets the probabilities y (the logits o if ``logits``),
    ``right(v, c)`` gives the right answer; ``what_c``: how messages call the
    class (None: the function takes none)."""
    cases = []
    rng = np.random.default_rng(7)    # 7 classes: a size the check's cases lack
    for which, c in (("a case", 2), ("another case", 0)):
        o = rng.normal(0.0, 1.5, 7)
        v = o if logits else _softmax(o)
        text = f"{which} with 7 classes" + (f" ({what_c} = {c})" if what_c else "")
        cases.append((text, lambda v=v, c=c: make_args(v, c), right(v, c)))
    return cases


def _wrong(out, ref):
    """Where ``out`` is off ``ref`` (a bool array of its shape)."""
    return ~np.isclose(out, ref, rtol=RTOL, atol=ATOL)


def _wrong_only_at_ties(outs, refs, ties):
    """Wrong somewhere, and only at positions that tie (equal probabilities at
    two different positions): a test that compares values, not positions."""
    wrongs = [_wrong(o, r) for o, r in zip(outs, refs)]
    return any(w.any() for w in wrongs) and not any(
        (w & ~t).any() for w, t in zip(wrongs, ties))


def _tie_probe(fn, who, args, ref, ties):
    """The student's answer on a probe with ties at some positions only: wrong
    exactly there? (None when the call fails or gives another shape.)"""
    try:
        out = np.asarray(_call(fn, args, who, "a probe"), dtype=np.float64)
    except (_Stop, TypeError, ValueError):
        return None
    if out.shape != ref.shape or not np.array_equal(_wrong(out, ref), ties):
        return None
    return out


def _jacobian_ties(fn, who, outs, datas):
    """J wrong exactly at the entries i != j where y_i equals y_j (the course's
    example has two equal probabilities): the branch for the diagonal tests the
    probabilities for equality, not the positions. Confirmed on a probe where
    some pairs tie and others do not."""
    ties = [(d["y"][:, None] == d["y"][None, :]) & ~np.eye(len(d["y"]), dtype=bool)
            for d in datas]
    if not _wrong_only_at_ties(outs, [_jacobian(d["y"]) for d in datas], ties):
        return
    y = np.array([0.1, 0.2, 0.3, 0.2, 0.2])
    tie = (y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool)
    out = _tie_probe(fn, who, (y.copy(),), _jacobian(y), tie)
    if out is None:
        return
    entries = ", ".join(f"J[{i}, {j}]" for i, j in zip(*np.nonzero(np.triu(tie))))
    diagonal_rule = np.allclose(out[tie], (y * (1 - y))[np.nonzero(tie)[0]])
    _fail("your J is wrong exactly at the entries off the diagonal where two"
          " probabilities are equal (y_i = y_j for two different classes), and"
          f" right everywhere else: on y = {_vec(y)} at {entries} and their mirror"
          " images, on the course's example (y = [0.5, 0.5]) at both entries off"
          " the diagonal" + (", which get the diagonal's value" if diagonal_rule
                             else "") + ": the test that picks the diagonal"
          " compares the probabilities y_i and y_j, not the positions i and j",
          "the diagonal is where the output you watch and the logit you nudge are"
          " the same class, the same position; two different classes may well have"
          " equal probabilities", "ties_as_same")


def _vector_ties(fn, who, outs, refs, datas, what, make_args, ref_of):
    """dl/dy or dl/do wrong exactly at the entries i != c whose probability
    equals y_c: the entry at c is picked by comparing probabilities, not
    positions. Confirmed on y = [0.2, 0.3, 0.2, 0.3] with c = 1."""
    ties = [(d["y"] == d["y"][d["c"]]) & (np.arange(len(d["y"])) != d["c"])
            for d in datas]
    if not _wrong_only_at_ties(outs, refs, ties):
        return
    y, c = np.array([0.2, 0.3, 0.2, 0.3]), 1
    if _tie_probe(fn, who, make_args(y, c), ref_of(y, c),
                  np.arange(4) == 3) is None:
        return
    _fail(f"your {what} is wrong exactly at the entries i ≠ c whose probability"
          " equals y_c, and right everywhere else: on y = [0.2, 0.3, 0.2, 0.3],"
          " c = 1 at entry 3 only, on the course's example (y = [0.5, 0.5], c = 0)"
          " at entry 1: the test that picks the entry at c compares the"
          " probabilities y_i and y_c, not the positions i and c", "c is a"
          " position in y, 0 to C - 1; two classes may well have equal"
          " probabilities", "ties_as_same")


def _loss_grad_hint(outs, datas, texts=None):
    """The first property of dl/dy that the student's answers break, with numbers.

    Properties of the right answer, not the formula Q1 asks for.
    """
    texts = texts or [f"case {i + 1}" for i in range(len(datas))]
    for out, d, text in zip(outs, datas, texts):
        c = int(d["c"])
        others = [i for i in range(len(out)) if i != c and out[i] != 0]
        if others:
            return (f"nudge y_{others[0]} a little (not y_c) and watch -log y_c: by"
                    f" how much does it change? On {text} your entry {others[0]}"
                    f" is {_num(out[others[0]])}")
    for out, d, text in zip(outs, datas, texts):
        c = int(d["c"])
        slope = gradcheck.numerical_gradient(
            lambda y, c=c: -np.log(y[c]), d["y"].copy())[c]
        if not np.isclose(out[c], slope, rtol=1e-4, atol=1e-6):
            sign = (" (raising y_c lowers the loss, so it is negative)"
                    if out[c] >= 0 else "")
            return (f"nudge y_c a little and watch -log y_c: on {text} (y_c ="
                    f" {_num(d['y'][c])}) it changes at a rate of {_num(slope)} per"
                    f" unit of y_c{sign}; your entry at c is {_num(out[c])}")
    return "compare each entry with a finite difference of -log y_c"


def _before_c(d):
    """One-hot at class c - 1 (Python's index -1, the last class, for c = 0):
    the class index off by one."""
    return _onehot((int(d["c"]) - 1) % len(d["y"]), len(d["y"]))


def _report_branch(d):
    """The real report's Q3 code: -1/y_i for every class, then a branch on the
    class (``if c: dl[1] = 0 else: dl[0] = 0``) that zeroes the wrong entry."""
    dl = -1.0 / d["y"]
    dl[1 if int(d["c"]) else 0] = 0.0
    return dl


def _shifted_class(d, step):
    """dl/dy for class c + step, all zeros when that class does not exist."""
    c, size = int(d["c"]) + step, len(d["y"])
    return -_onehot(c, size) / d["y"] if 0 <= c < size else np.zeros(size)


def _if_c(d, every_class=False):
    """``if c:`` where ``if i == c:`` was meant: nothing happens for class 0."""
    if int(d["c"]) == 0:
        return np.zeros(len(d["y"]))
    if every_class:
        return -1.0 / d["y"]
    return -_onehot(d["c"], len(d["y"])) / d["y"]


_LOSS_GRAD_MISTAKES = [
    Mistake("if_target",
            "dl/dy is all zeros when the true class is 0 and right otherwise:"
            " looks like a branch `if c:`, which is false for class 0",
            "`if c:` asks whether c is non-zero, not whether i is the true class:"
            " class 0 is a class",
            lambda d: _if_c(d)),
    Mistake("every_class_if_target",
            "dl/dy is all zeros when the true class is 0, and -1/y_i in every entry"
            " otherwise: looks like a branch `if c:` (false for class 0, true for"
            " every i otherwise)",
            "`if c:` asks whether c is non-zero, not whether i is the true class:"
            " class 0 is a class",
            lambda d: _if_c(d, every_class=True)),
    Mistake("report_if_target",
            "dl/dy is -1/y_i in every entry except one that a branch on c zeroes:"
            " for class 0 the zeroed entry is the true class's own, so only the"
            " other classes' entries are left (a real report's `if c:` branch)",
            "`if c:` asks whether c is non-zero, not which entry is the true"
            " class's; the loss -log y_c has a slope in one entry only, at c",
            _report_branch),
    Mistake("every_class", "dl/dy_i is -1/y_i for every class, not only for i = c",
            _loss_grad_hint, lambda d: -1.0 / d["y"]),
    Mistake("flipped_sign", "dl/dy has the wrong sign (positive at the true class)",
            "raising y_c lowers the loss -log y_c, so dl/dy_c must be negative",
            lambda d: _onehot(d["c"], len(d["y"])) / d["y"]),
    Mistake("minus_y", "dl/dy_c is -y_c: the derivative of log taken as the"
            " identity", _loss_grad_hint,
            lambda d: -_onehot(d["c"], len(d["y"])) * d["y"]),
    Mistake("minus_y", "dl/dy_i = -y_i for every class: the derivative of log taken"
            " as the identity, and every class counted", _loss_grad_hint,
            lambda d: -d["y"]),
    Mistake("loss_value", "dl/dy_c is -log y_c: the loss itself, not its derivative",
            _loss_grad_hint,
            lambda d: -_onehot(d["c"], len(d["y"])) * np.log(d["y"])),
    Mistake("loss_value", "dl/dy_i is -log y_i in every entry: the loss's terms,"
            " not its derivative", _loss_grad_hint, lambda d: -np.log(d["y"])),
    Mistake("log_base", "dl/dy_c is the derivative of log10 (or log2), not of the"
            " natural log: off by the factor ln 10 (or ln 2)",
            "the loss uses the natural log, whose slope has no such factor",
            lambda d: -_onehot(d["c"], len(d["y"])) / (d["y"] * np.log(10))),
    Mistake("log_base", "dl/dy_c is the derivative of log2, not of the natural"
            " log: off by the factor ln 2",
            "the loss uses the natural log, whose slope has no such factor",
            lambda d: -_onehot(d["c"], len(d["y"])) / (d["y"] * np.log(2))),
    Mistake("squared", "dl/dy_c is -1/y_c²: one division by y_c too many",
            _loss_grad_hint, lambda d: -_onehot(d["c"], len(d["y"])) / d["y"] ** 2),
    Mistake("int_array", "your entries are whole numbers: they were stored in an"
            " integer array, which cuts -1/y_c to an integer",
            "an array made from integers (or with dtype=int) keeps integers; start"
            " from an array of floats",
            lambda d: -_onehot(d["c"], len(d["y"])) * np.trunc(1 / d["y"])),
    Mistake("wrong_class",
            "the only non-zero entry of dl/dy is at class c - 1 (the last class"
            " when c = 0), not at c: the class index is off by one",
            "classes are numbered from 0, and c is already the position of the true"
            " class's entry: use it as it is", lambda d: -_before_c(d) / d["y"]),
    *[Mistake("neighbour_probability", "the non-zero entry of dl/dy sits at c, but"
              f" holds -1 over the probability of class c {sign} 1: the index of"
              " y inside the division is off by one", "the entry at c divides by"
              " the true class's own probability: one index for both",
              lambda d, step=step: -_onehot(d["c"], len(d["y"]))
              / np.roll(d["y"], -step))
      for sign, step in (("-", -1), ("+", 1))],
    *[Mistake("wrong_class", f"the only non-zero entry of dl/dy is at class c {sign}"
              f" 1, and there is none when c = {edge}: the class index is off by"
              " one (a loop counting from 1, or an index moved by one?)",
              "classes are numbered from 0, and c is already the position of the"
              " true class's entry: use it as it is",
              lambda d, step=step: _shifted_class(d, step))
      for sign, edge, step in (("-", "0", -1), ("+", "C - 1", 1))],
    Mistake("index_from_end", "the only non-zero entry of dl/dy is at entry -c,"
            " counted from the end (entry C - c), not at c: a minus sign inside the"
            " index (right only for class 0)", "classes are numbered from 0, and c"
            " is already the position of the true class's entry: use it as it is",
            lambda d: -_onehot(-int(d["c"]) % len(d["y"]), len(d["y"]))
            / d["y"][int(d["c"])]),
    Mistake("predicted_class",
            "the only non-zero entry of dl/dy is at the most probable class, not"
            " at the true class c", "the loss is about the class the instance"
            " belongs to, c, whatever the network predicts",
            lambda d: -_onehot(int(np.argmax(d["y"])), len(d["y"]))
            / d["y"].max()),
    Mistake("divided_by_classes", "dl/dy_c is divided by the number of classes C:"
            " the loss of one instance is not a mean over its classes",
            _loss_grad_hint, lambda d: -_onehot(d["c"], len(d["y"])) / d["y"]
            / len(d["y"])),
    Mistake("one_minus_y", "dl/dy_c is -1/(1 - y_c): the slope of -log(1 - y_c),"
            " not of -log y_c", _loss_grad_hint,
            lambda d: -_onehot(d["c"], len(d["y"])) / (1 - d["y"])),
    Mistake("logit_grad",
            "dl/dy_c is -(1 - y_c), which is not how -log y_c changes with the"
            " probability y_c",
            "Q1 asks how the loss changes with each probability y_i; the loss"
            " -log y_c contains y_c alone",
            lambda d: -_onehot(d["c"], len(d["y"])) * (1 - d["y"])),
    Mistake("logit_grad",
            "this is not how the loss changes with each probability y_i (nudge"
            " one y_i and watch -log y_c)",
            "Q1 asks how the loss changes with each probability y_i; the loss"
            " -log y_c contains y_c alone",
            lambda d: d["y"] - _onehot(d["c"], len(d["y"]))),
]


def _dl_dy(y, c):
    """The right dl/dy of -log y_c (the package's cross-entropy backward)."""
    return losses.cross_entropy_backward(y[None], [c])[0]


def _loss_grad_body(fn, check, as_list=False, class_name="c"):
    """Q1's dl/dy check; ``as_list``: pass y as a list (notebook 02's version)."""
    _need_function(fn, check, "your dl/dy function")
    who = _name(fn, "your function")
    cases = _prob_cases(seed=1)
    refs = [losses.cross_entropy_backward(d["y"][None], [d["c"]])[0]
            for _, d in cases]
    d = cases[1].data  # referee: -log y_c by central differences
    _referee(refs[1], gradcheck.numerical_gradient(
        lambda y: -np.log(y[d["c"]]), d["y"].copy()), "dl/dy")
    outs, raws = [], []
    texts = [text.replace("c = ", f"{class_name} = ") for text, _ in cases]
    for text, (_, d) in zip(texts, cases):
        y = d["y"].tolist() if as_list else d["y"].copy()
        c = int(d["c"]) if as_list else d["c"]
        raws.append(_call(fn, (y, c), who, text))
    make_args = ((lambda y, c: (y.tolist(), c)) if as_list
                 else (lambda y, c: (y.copy(), np.int64(c))))
    if any(len(r) != len(ref) for r, ref in zip(raws, refs)
           if isinstance(r, list) or np.ndim(r) == 1):     # a list that grows?
        _keeps_state(fn, who, *_state_cases(make_args, _dl_dy, class_name))
    _diagnose.length_off(f"what {who} returned", raws, refs, texts)
    for value, text, (_, d) in zip(raws, texts, cases):
        outs.append(_vector(value, len(d["y"]), f"what {who} returned", text))
        _finite(outs[-1], f"what {who} returned", text)
    _keeps_state(fn, who, *_state_cases(make_args, _dl_dy, class_name),
                 right_so_far=all(_same(o, r) for o, r in zip(outs, refs)))
    if all(_same(o, r) for o, r in zip(outs, refs)):
        if not as_list:
            _promises_kept(raws, cases, f"what {who} returned",
                           "its negative, its product with J")
        _diagnose.rounded("your dl/dy", outs, refs)
        return (f"✓ {who}: dl/dy is right on {len(cases)} cases (C = 2 to 6,"
                f" {class_name} = 0 included)")
    _loss_grad_wrong(fn, who, (outs, refs, [d for _, d in cases], texts),
                     as_list, class_name, make_args)


def _loss_grad_wrong(fn, who, runs, as_list, class_name, make_args):
    """Name what is wrong in a dl/dy that differs from the reference; runs =
    (outs, refs, datas, texts), one entry per case."""
    outs, refs, datas, texts = runs
    if all(np.allclose(o, 0.0) for o in outs):
        _values_as_positions(fn, who, as_list, class_name)
    try:
        _match(outs, datas, _LOSS_GRAD_MISTAKES, texts)
        _vector_ties(fn, who, outs, refs, datas, "dl/dy", make_args, _dl_dy)
        if all(_same(o[d["c"]], r[d["c"]]) for o, r, d in zip(outs, refs, datas)):
            _fail("dl/dy_c is right but dl/dy_i is non-zero for some i ≠ c",
                  _loss_grad_hint(outs, datas, texts), "nonzero_elsewhere")
        if all(_same(np.delete(o, d["c"]), 0.0 * np.delete(o, d["c"]))
               for o, d in zip(outs, datas)):      # only the entry at c is wrong
            _diagnose.to_integers("your dl/dy", outs, refs,
                                  [np.arange(len(o)) == d["c"]
                                   for o, d in zip(outs, datas)], "the entry at c")
            _diagnose.implied_probability("your dl/dy", outs, datas, texts)
        at_c = [np.arange(len(o)) == d["c"] for o, d in zip(outs, datas)]
        _diagnose.cases_swapped("your dl/dy", outs, at_c,
                                [-1 / d["y"] for d in datas],
                                [np.zeros(len(d["y"])) for d in datas],
                                ("the entry at c", "the entries i ≠ c"))
        _diagnose.wrong_class_index("your dl/dy", [np.abs(o) > 0 for o in outs],
                                    datas, texts)
        _all_zero(outs, "dl/dy")
        _structural(outs, refs, texts, "dl/dy", _loss_grad_hint(outs, datas, texts))
        _placement(outs, refs, "dl/dy", datas)
        _where_wrong(outs, refs, datas, "dl/dy", _loss_grad_hint(outs, datas, texts))
        worst = _worst(outs, refs, texts, "dl/dy")
        _fail(f"dl/dy does not match the reference: {worst}",
              _loss_grad_hint(outs, datas, texts))
    except _Stop as stop:
        # notebook 02 calls the class `target` (there c is the output bias)
        stop.message = _CLASS_SYMBOL.sub(class_name, stop.message)
        raise


# the class index c in a message: y_c, i ≠ c, `if c:`, e_c; not C, c_bias or words
_CLASS_SYMBOL = re.compile(r"(?<![A-Za-z0-9])c(?![A-Za-z0-9])")


def _integer_result(raws, what, texts):
    """Fail when a wrong result is an integer array: every entry was cut to a
    whole number (entries between -1 and 1 to 0)."""
    for raw, text in zip(raws, texts):
        if isinstance(raw, np.ndarray) and raw.dtype.kind in "iub":
            _fail(f"{what} holds {raw.dtype} on {text}: the array was made of"
                  " integers (dtype=int, or from whole numbers), so every entry"
                  " was cut to a whole number and each one between -1 and 1 to 0",
                  "an array made from integers (or with dtype=int) keeps integers;"
                  " start from an array of floats", "int_array")


def _promises_kept(values, cases, what, uses):
    """Right numbers: now they must also come as the stub promises (a float64
    numpy array), judged after the numbers so that a wrong answer hears about
    its numbers first."""
    for value, (text, _) in zip(values, cases):
        _as_promised(value, what, text, uses)


def _where_wrong(outs, refs, datas, what, hint):
    """No known mistake: say which part is wrong when the rest is right (the
    entry at c or the others, for a vector; the diagonal or the entries off it,
    for J), so the student knows which case of the formula to look at."""
    inside = [np.eye(len(o), dtype=bool) if o.ndim == 2
              else _onehot(d["c"], len(o)).astype(bool) for o, d in zip(outs, datas)]
    names = ({"inside": "the diagonal", "outside": "the entries off the diagonal"}
             if outs[0].ndim == 2 else
             {"inside": "the entry at c", "outside": "the entries i ≠ c"})
    others = ([-np.outer(d["y"], d["y"]) for d in datas] if outs[0].ndim == 2
              else None)    # the rule off the diagonal, applied on it
    _diagnose.part_relation(f"your {what}", outs, refs, inside, names["inside"],
                            names["outside"], others)
    _diagnose.part_relation(f"your {what}", outs, refs, [~m for m in inside],
                            names["outside"], names["inside"])
    _explain.explain_cases(what, outs, refs, datas, hint)
    for wrong, right, masks in (("inside", "outside", inside),
                                ("outside", "inside", [~m for m in inside])):
        _diagnose.part_off(f"your {what}", outs, refs, masks, names[wrong],
                           f"wrong_{wrong}", names[right], hint)


def _structural(outs, refs, texts, what, hint, offset=True):
    """The shared structural diagnoses (a factor, an offset, a first or last
    part off) for one of notebook 01's arrays. (No offset for J, where
    tests/test_exercises.py keeps J + 0.01 a general case.)"""
    counts = [_diagnose.classes([len(r) for r in refs])]
    _diagnose.scaled(f"your {what}", outs, refs, texts, counts)
    if offset:
        _diagnose.offset(f"your {what}", outs, refs, hint)
    _diagnose.edge_off(f"your {what}", outs, refs, hint)


def _values_as_positions(fn, who, as_list, class_name):
    """dl/dy is 0 everywhere on the cases: is it right where each probability
    equals its own position (y = [0, 1, 0], class 1)? Then a loop runs over the
    values of y (``for i in y``) and compares them with the class. (Whole
    numbers, so that a value used as an index, ``y[i]``, works too.)"""
    y = [0, 1, 0]
    try:
        with np.errstate(all="ignore"):
            got = _call(fn, (y if as_list else np.array(y), 1), who, "a probe")
        right = np.allclose(np.asarray(got, dtype=np.float64), [0.0, -1.0, 0.0])
    except (_Stop, TypeError, ValueError):
        return
    if right:
        _fail(f"your dl/dy is 0 in every entry on the check's cases, and right only"
              f" on y = [0, 1, 0] with {class_name} = 1, where each probability"
              " equals its own position: it compares the probabilities in y, not"
              f" their positions, with the class {class_name} (a loop over the"
              " values of y, or a comparison of y itself)",
              f"{class_name} is a position in y, 0 to C - 1: compare it with a"
              " position, not with a probability",
              "values_as_positions")


def _all_zero(outs, what):
    """Every entry 0 on every case: the loss reaches nothing."""
    if all(np.allclose(o, 0.0) for o in outs):
        _fail(f"your {what} is 0 in every entry, on every case", "the loss does"
              " depend on the probabilities: find the step of your function where"
              " every entry became 0 (print it on a small case of your own)", "zero")


def _placement(outs, refs, what, datas):
    """Round two's general diagnoses for one of notebook 01's arrays: the loss
    nowhere in it, rounded, a term reaching every entry, right values in the
    wrong places (another class's, a neighbour's, the value where its slope
    belongs)."""
    _all_zero(outs, what)
    _diagnose.rounded(f"your {what}", outs, refs)
    square = outs[0].ndim == 2
    masks = [np.eye(len(o), dtype=bool) if square else np.zeros(o.shape, bool)
             for o in outs]
    whole = all(np.allclose(np.asarray(o) - r, (o - r).flat[0]) for o, r in
                zip(outs, refs))
    if square and not whole:    # J + a number everywhere stays a general case
        _diagnose.plus_constant(f"your {what}", outs, refs, masks,
                                "every entry off the diagonal")
    others = [("the softmax's outputs y where their derivatives belong",
               "value_for_derivative", [d["y"] for d in datas])]
    _diagnose.rearranged(f"your {what}", outs, refs, others)


def check_loss_grad(fn=None):
    """Q1: ``fn(y, c)`` returns ``dl/dy`` (length C) of ``l = -log y_c``.

    ``y`` is a probability vector (a float numpy array), ``c`` the true class.
    """
    return _run(lambda: _loss_grad_body(fn, "check_loss_grad"))


# --------------------------------------------------------------------------
# Q1: the softmax Jacobian
# --------------------------------------------------------------------------


def _jacobian(y):
    return losses.softmax_jacobian(y[None])[0]


def _jacobian_hint(outs, datas, texts=None):
    """A finite difference of the softmax at the entry of J that is most wrong.

    Not a property of J (its rows sum to 0, its signs): notebook 01 asks which
    property the report's slip breaks, after this check, so no hint may say."""
    texts = texts or [f"case {i + 1}" for i in range(len(datas))]
    for out, d, text in zip(outs, datas, texts):
        o = d["o"]
        numeric = np.stack([gradcheck.numerical_gradient(
            lambda z, i=i: _softmax(z)[i], o.copy()) for i in range(len(o))])
        diff = np.abs(out - numeric)
        if diff.max() > 1e-5:
            i, j = np.unravel_index(int(diff.argmax()), diff.shape)
            return (f"nudge o_{j} and watch y_{i}: on {text} finite differences give"
                    f" J[{i}, {j}] = {_num(numeric[i, j])}; yours is"
                    f" {_num(out[i, j])}")
    return "compare each entry with a finite difference of the softmax"


def _yi_squared(d):
    """i ≠ j with e^{o_i} e^{o_i} for e^{o_i} e^{o_j}: -y_i² off the diagonal."""
    y = d["y"]
    J = -np.repeat(y[:, None] ** 2, len(y), axis=1)
    np.fill_diagonal(J, y * (1 - y))
    return J


# J = diag(y) - y^T y (y a row) is symmetric, so a transposed answer is a right answer.
_JACOBIAN_MISTAKES = [
    Mistake("log_softmax_jacobian",
            "your J is the Jacobian of log y, the log of the softmax, not of y"
            " itself: its rows are not scaled by their probabilities",
            "J[i, j] is how much y_i moves when o_j moves: a y_i close to 0"
            " barely moves at all", lambda d: np.eye(len(d["y"])) - d["y"][None, :]),
    Mistake("diagonal_only",
            "only the diagonal is filled in: the scalar derivative of y_i with"
            " respect to its own logit, 0 elsewhere",
            "every y_i depends on every o_j (softmax divides by a sum over all"
            " logits): the entries off the diagonal are not 0", lambda d:
            np.diag(d["y"] * (1 - d["y"]))),
    Mistake("offdiag_yi_squared",
            "off the diagonal your J[i, j] is the same in every column of row i"
            " (it depends on i only, not on the logit o_j you nudge)",
            _jacobian_hint, _yi_squared),
    Mistake("offdiag_yi_squared",
            "off the diagonal your J[i, j] is the same in every row of column j"
            " (it depends on j only, not on the output y_i you watch)",
            _jacobian_hint, lambda d: _yi_squared(d).T),
    Mistake("one_minus_everywhere",
            "y_i(1 - y_j) in every entry: the i = j formula used for i ≠ j too",
            _jacobian_hint, lambda d: np.outer(d["y"], 1 - d["y"])),
    Mistake("one_minus_everywhere",
            "y_j(1 - y_i) in every entry: the i = j formula used for i ≠ j too (or"
            " the vector of the y_j taken into every row, where a matrix with the"
            " y_i on its diagonal belongs)",
            _jacobian_hint, lambda d: np.outer(1 - d["y"], d["y"])),
    Mistake("offdiagonal_sign", "the off-diagonal entries have the wrong sign",
            "raising another logit o_j takes probability away from y_i: the"
            " off-diagonal entries are negative",
            lambda d: np.outer(d["y"], d["y"]) + np.diag(d["y"] - 2 * d["y"] ** 2)),
    Mistake("flipped_sign", "every entry has the wrong sign",
            "raising o_i raises y_i: the diagonal of J is positive, the other"
            " entries negative", lambda d: -_jacobian(d["y"])),
    Mistake("outer_only", "J = -yᵀ y: the diagonal misses a term",
            "for i = j the numerator of y_i depends on o_i too (quotient rule):"
            " the diagonal must be positive", lambda d: -np.outer(d["y"], d["y"])),
    Mistake("diag_y", "J = diag(y): the entries off the diagonal are 0 and the"
            " diagonal is too large", _jacobian_hint, lambda d: np.diag(d["y"])),
    Mistake("offdiagonal_sign", "J = diag(y) + yᵀ y: the product term is added,"
            " not subtracted", "raising another logit o_j takes probability"
            " away from y_i: the off-diagonal entries are negative",
            lambda d: np.diag(d["y"]) + np.outer(d["y"], d["y"])),
    Mistake("eye_minus", "your J's off-diagonal entries are right, but its"
            " diagonal is 1 - y_i²: close to 1 where y_i is small, far more than a"
            " probability can move with its own logit", "the diagonal entry is at"
            " most 0.25 (notebook 01's figure): work out dy_i/do_i for one i by"
            " the quotient rule",
            lambda d: np.eye(len(d["y"])) - np.outer(d["y"], d["y"])),
    Mistake("one_minus_everywhere", "every entry of row i is y_i(1 - y_i): the"
            " i = j formula used for i ≠ j too", _jacobian_hint,
            lambda d: np.repeat((d["y"] * (1 - d["y"]))[:, None], len(d["y"]), 1)),
    Mistake("inner_product",
            "every entry of your J has the same number taken away, the sum of all"
            " y_i²: the product of y with itself came out as one number (an inner"
            " product) where each entry needs its own",
            "the term that J subtracts differs from entry to entry: it depends on"
            " the output y_i you watch and on the logit o_j you nudge",
            lambda d: np.diag(d["y"]) - d["y"] @ d["y"]),
    Mistake("diagonal_missing_square",
            "off the diagonal your J is right; on it J[i, i] is y_i, too large: the"
            " diagonal misses the term that every other entry has",
            "on the diagonal, nudging o_i changes both the numerator and the sum in"
            " the denominator of y_i (the quotient rule): the diagonal entries get"
            " the denominator's term too, so each is at most 0.25",
            lambda d: _jacobian(d["y"]) + np.diag(d["y"] ** 2)),
    Mistake("diagonal_twice",
            "off the diagonal your J is right; on it the product term is taken"
            " away twice (y_i - 2 y_i²)", _jacobian_hint,
            lambda d: _jacobian(d["y"]) - np.diag(d["y"] ** 2)),
    Mistake("product_one_minus",
            "every entry of your J takes away y_i times one minus y_j: the term"
            " that belongs on the diagonal only is used for every entry",
            "J[i, j] for i ≠ j: nudging o_j changes y_i only through the sum in"
            " its denominator", lambda d: np.diag(d["y"])
            - d["y"][:, None] * (1 - d["y"])[None, :]),
    Mistake("softmax_again",
            "this is the Jacobian at softmax(y): your function applies softmax to"
            " its input, but it gets the softmax output y already",
            "build J from y directly, without another softmax",
            lambda d: _jacobian(_softmax(d["y"]))),
]


def _where_landed(positions):
    """Words for a set of (row, column) positions of J: a column, a row, or the
    list of entries."""
    rows, cols = {i for i, _ in positions}, {j for _, j in positions}
    listed = ", ".join(f"J[{i}, {j}]" for i, j in positions)
    if len(cols) == 1 and len(rows) > 1:
        return f"down column {cols.pop()} ({listed})"
    if len(rows) == 1 and len(cols) > 1:
        return f"along row {rows.pop()} ({listed})"
    return f"at {listed}"


def _diagonal_moved(outs, datas, texts):
    """Every entry of J follows the rule for i != j, and the term that only the
    diagonal adds (one probability per class) sits at other positions: a
    column, a row, a stride through the flat array. Read off the difference
    between the student's J and the rule for i != j applied everywhere."""
    landed = []
    for out, d in zip(outs, datas):
        extra = out + np.outer(d["y"], d["y"])
        where = np.abs(extra) > 1e-9
        if where.sum() != len(d["y"]) or np.array_equal(where, np.eye(len(out))) \
                or not np.allclose(np.sort(extra[where]), np.sort(d["y"])):
            return
        landed.append([(int(i), int(j)) for i, j in zip(*np.nonzero(where))])
    index = max(range(len(outs)), key=lambda k: 0 if len(outs[k]) > 4
                else len(outs[k]))     # the largest case that fits on a line
    _fail("the entries of your J off the diagonal are right, but the term that"
          " only the diagonal adds (one probability per class) landed at other"
          f" positions: on {texts[index]} {_where_landed(landed[index])} instead"
          " of on the diagonal J[i, i] alone", "print your J on the course's"
          " example next to a J you fill in by hand: the diagonal entries are"
          " J[0, 0], J[1, 1], ..., one per row and one per column",
          "diagonal_moved")


def _jacobian_output(fn, who, text, d):
    """The student's J on one case, as a (C, C) float array, or a message on
    why not (a list, float32, y(1 - y) alone, an extra axis, another shape)."""
    num_classes = len(d["y"])
    square = (num_classes, num_classes)
    value = _call(fn, (d["y"].copy(),), who, text)
    out = _array(value, f"what {who} returned")
    if out.size == num_classes and out.ndim <= 2 \
            and _same(out.ravel(), d["y"] * (1 - d["y"])):
        _fail(f"{who} returned the vector y(1 - y) (shape {out.shape}), the"
              f" elementwise derivative; Q1 asks for the full {square} Jacobian",
              "every y_i depends on every o_j, so the entries off the diagonal are"
              " not 0: treat i ≠ j as its own case", "elementwise")
    if out.shape == (1, *square):
        _fail(f"{who} returned shape {out.shape} on {text}, expected {square}: the"
              " right table with an extra axis in front", "the cells below take its"
              " transpose and multiply dl/dy by it; with a third axis those give"
              " other shapes without an error: return the (C, C) table itself",
              "extra_axis")
    if out.shape != square:
        _fail(f"{who} returned shape {out.shape} on {text}, expected {square}",
              "one row per output y_i, one column per logit o_j", "wrong_shape")
    _finite(out, f"what {who} returned", text)
    return value, out


def _off_diagonal_empty(outs):
    """Fail when nothing was written off the diagonal of any J."""
    if all(not np.any(o - np.diag(np.diag(o))) for o in outs):
        _fail("every entry of your J off its diagonal is 0: nothing was written"
              " there (an index that points at the diagonal, the row's own"
              " number twice, where the column's belongs?)", "each y_i"
              " depends on every logit, so every entry of J has a value of its"
              " own", "off_diagonal_empty")


def check_softmax_jacobian(fn=None):
    """Q1: ``fn(y)`` returns the ``(C, C)`` Jacobian ``J[i, j] = dy_i/do_j``.

    ``y`` is the softmax output (a float numpy array); the result must be a
    float64 numpy array (the notebook's next cells transpose it and sum its rows).
    """

    def body():
        _need_function(fn, "check_softmax_jacobian", "your Jacobian function")
        who = _name(fn, "your function")
        cases = _prob_cases(seed=2, with_class=False)
        refs = [_jacobian(d["y"]) for _, d in cases]
        o = cases[2].data["o"].copy()  # referee: one column of J per logit
        numeric = np.stack([gradcheck.numerical_gradient(
            lambda z, i=i: _softmax(z)[i], o) for i in range(len(o))])
        _referee(refs[2], numeric, "softmax Jacobian")
        raws, outs = zip(*(_jacobian_output(fn, who, text, d) for text, d in cases))
        _keeps_state(fn, who, *_state_cases(lambda y, c: (y.copy(),),
                                            lambda y, c: _jacobian(y), None),
                     right_so_far=all(_same(o, r) for o, r in zip(outs, refs)))
        if all(_same(o, r) for o, r in zip(outs, refs)):
            _promises_kept(raws, cases, f"what {who} returned", "its transpose, its"
                           " row sums, the product of dl/dy with it")
            _diagnose.rounded("your J", outs, refs)
            return (f"✓ {who}: the Jacobian is right on {len(cases)} cases"
                    " (C = 2 to 6)")
        datas, texts = [d for _, d in cases], [t for t, _ in cases]
        _integer_result(raws, f"what {who} returned", texts)
        _match(outs, datas, _JACOBIAN_MISTAKES, texts)
        _jacobian_ties(fn, who, outs, datas)
        _diagonal_moved(outs, datas, texts)
        _structural(outs, refs, texts, "J", _jacobian_hint(outs, datas, texts),
                    offset=False)
        if all(_same(o - np.diag(np.diag(o)), r - np.diag(np.diag(r)))
               for o, r in zip(outs, refs)):      # only the diagonal is wrong
            _diagnose.times_an_input("the diagonal of your J",
                                     [np.diag(o) for o in outs],
                                     [np.diag(r) for r in refs],
                                     [{"y": d["y"]} for d in datas])
        _diagnose.one_triangle("your J", outs, refs)
        _off_diagonal_empty(outs)
        for inside, part in ((False, "the entries off the diagonal"),
                             (True, "the diagonal")):
            masks = [np.eye(len(o), dtype=bool) == inside for o in outs]
            _diagnose.part_factor("your J", outs, refs, masks, part, {
                "y_i (its row's y)": [np.repeat(d["y"][:, None], len(d["y"]), 1)
                                      for d in datas],
                "y_j (its column's y)": [np.repeat(d["y"][None, :], len(d["y"]), 0)
                                         for d in datas]})
        _placement(outs, refs, "J", datas)
        _where_wrong(outs, refs, datas, "J", _jacobian_hint(outs, datas, texts))
        worst = _worst(outs, refs, texts, "J")
        _fail(f"the Jacobian does not match the reference: {worst}",
              _jacobian_hint(outs, datas, texts))

    return _run(body)


# --------------------------------------------------------------------------
# Q2: dl/do
# --------------------------------------------------------------------------


def _every_class_logit_grad(d):
    """dl/dy_i = -1/y_i for every class, pushed through J: C y - 1."""
    return len(d["y"]) * d["y"] - 1


def _logit_grad_hint(outs, datas, texts=None):
    """The first property of dl/do the student's answers break, with numbers."""
    texts = texts or [f"case {i + 1}" for i in range(len(datas))]
    for out, text in zip(outs, texts):
        if abs(out.sum()) > 1e-6:
            return (f"dl/do must sum to 0 (adding one number to every logit leaves"
                    f" the softmax, so the loss, unchanged); on {text} yours sums"
                    f" to {_num(out.sum())}")
    for out, d, text in zip(outs, datas, texts):
        c = int(d["c"])
        if out[c] >= 0 or np.any(np.delete(out, c) < 0):
            return (f"raising the true class's logit lowers the loss and raising any"
                    f" other raises it: dl/do is negative at c and positive"
                    f" elsewhere; on {text} (c = {c}) yours is {_vec(out)}")
    for out, d, text in zip(outs, datas, texts):
        numeric = gradcheck.numerical_gradient(
            lambda o, c=d["c"]: losses.cross_entropy(o[None], [c]), d["o"].copy())
        if not np.allclose(out, numeric, rtol=1e-4, atol=1e-6):
            return (f"finite differences of the loss give {_vec(numeric)} on {text};"
                    f" yours is {_vec(out)}")
    return "compare each entry with a finite difference of the loss"


_LOGIT_GRAD_MISTAKES = [
    Mistake("flipped_sign", "dl/do has the wrong sign: positive at the true class",
            "raising the true class's logit lowers the loss, so dl/do_c is"
            " negative", lambda d: _onehot(d["c"], len(d["y"])) - d["y"]),
    Mistake("no_softmax", "dl/do is computed from the logits o as if they were the"
            " probabilities: the softmax is missing", _logit_grad_hint,
            lambda d: d["o"] - _onehot(d["c"], len(d["y"]))),
    Mistake("no_onehot", "dl/do = softmax(o): the true class is not treated"
            " differently from the others", _logit_grad_hint, lambda d: d["y"]),
    Mistake("diagonal_only",
            "only the true class's entry is non-zero: the softmax derivative was"
            " taken elementwise, y(1 - y), instead of the Jacobian",
            "every y_i depends on every o_j: a change of one logit reaches the loss"
            " through every y_i (the multivariate chain rule)",
            lambda d: (d["y"] - 1) * _onehot(d["c"], len(d["y"]))),
    Mistake("times_y_entrywise",
            "dl/do is -1 at the true class and 0 elsewhere: dl/dy was multiplied"
            " entry by entry by y, where the chain rule multiplies it by the whole"
            " Jacobian", "every y_i depends on every o_j: a change of one logit"
            " reaches the loss through every y_i (the multivariate chain rule)",
            lambda d: -_onehot(d["c"], len(d["y"]))),
    Mistake("every_class",
            "dl/do = C y - 1: looks like dl/dy_i = -1/y_i for every class, pushed"
            " through the Jacobian", "the loss -log y_c does not depend on the other"
            " y_i (Q1): only one term of the chain rule's sum is non-zero",
            _every_class_logit_grad),
    Mistake("plus_onehot", "dl/do adds 1 at the true class instead of taking it"
            " away", _logit_grad_hint,
            lambda d: d["y"] + _onehot(d["c"], len(d["y"]))),
    Mistake("log_softmax", "dl/do holds the log-probabilities log softmax(o), not"
            " a derivative", _logit_grad_hint, lambda d: np.log(d["y"])),
    Mistake("minus_c", "the class index c is subtracted from every entry: c is a"
            " position, not a number to subtract",
            "only the true class's entry differs from the others",
            lambda d: d["y"] - float(d["c"])),
    Mistake("wrong_class",
            "dl/do takes the 1 away at class c - 1 (the last class when c = 0), not"
            " at the true class c: the class index is off by one",
            "classes are numbered from 0, and c is already the position of the true"
            " class's entry: use it as it is",
            lambda d: d["y"] - _before_c(d)),
    Mistake("minus_one_everywhere", "dl/do takes 1 away from every entry, not only"
            " at the true class c", _logit_grad_hint, lambda d: d["y"] - 1.0),
    Mistake("zeroes_c", "dl/do is softmax(o) with the true class's entry set to"
            " 0: the entry at c takes away the whole of y_c",
            _logit_grad_hint, lambda d: d["y"] * (1 - _onehot(d["c"], len(d["y"])))),
    Mistake("int_logits", "your dl/do is the right one for the logits cut to whole"
            " numbers: o became an integer array (an int cast) before the softmax",
            "the logits are floats such as -0.88: keep them floats (an array made"
            " with an integer dtype drops everything after the point)",
            lambda d: _logit_grad_of(np.trunc(d["o"]), d["c"])),
    Mistake("int_logits", "your dl/do is the right one for the logits rounded to"
            " whole numbers: the logits were rounded before the softmax",
            "the logits are floats such as -0.88: use them as they are",
            lambda d: _logit_grad_of(np.round(d["o"]), d["c"])),
    Mistake("negated_logits", "your dl/do is the right one for the logits with"
            " their sign flipped: the softmax inside it raises e to minus each logit",
            "the largest logit gets the largest probability: check the sign inside"
            " your exponentials", lambda d: _logit_grad_of(-d["o"], d["c"])),
    # the 1 divided by the sum of the exponentials, shifted by the largest
    # logit or not: one mistake, two ways of writing the softmax
    *(Mistake("one_before_division",
              "dl/do has the 1 at the true class divided by the softmax's sum too:"
              " the 1 is subtracted before the division, where it belongs after"
              " it (the softmax itself is right)",
              "print your softmax alone, then your dl/do, on a case of your own:"
              " which entry differs, and by how much?",
              lambda d, shift=shift: d["y"] - _onehot(d["c"], len(d["y"]))
              / np.exp(d["o"] - shift * np.max(d["o"])).sum())
      for shift in (1, 0)),
    Mistake("if_target",
            "dl/do is wrong exactly when the true class is 0: looks like a branch"
            " `if c:` that is false for class 0",
            "`if c:` asks whether c is non-zero, not which entry is the true"
            " class: class 0 is a class",
            lambda d: d["y"] - _onehot(d["c"], len(d["y"])) * (d["c"] != 0)),
]

def _logit_grad_of(o, c):
    """The right dl/do at the logits ``o`` (a known mistake changes them)."""
    return losses.softmax_cross_entropy(np.asarray(o, dtype=float)[None], [c])[1][0]


def _logit_alternatives(datas):
    """dl/do from other inputs than (o, c), for _diagnose.another_input: the
    first or last class as the true one; log y for y; the softmax with 1 taken
    from the true logit."""
    def each(rule):
        return [rule(d["o"], d["c"]) for d in datas]

    def logged(o, c):       # log y in the place of y
        onehot = _onehot(c, len(o))
        return np.log(_logit_grad_of(o, c) + onehot) - onehot

    def lowered(o, c):      # the softmax at o with 1 taken from logit c
        return _logit_grad_of(o - _onehot(c, len(o)), c) + _onehot(c, len(o))

    hint = ("the loss is -log y_c of the softmax of the logits as given: c enters"
            " once, at the end")
    return [("the right one for class 0 as the true class, whatever c is", hint,
             "other_class", each(lambda o, c: _logit_grad_of(o, 0))),
            ("the right one for the last class as the true class, whatever c is",
             hint, "other_class", each(lambda o, c: _logit_grad_of(o, len(o) - 1))),
            ("the right one with the logarithm of each probability where the"
             " probability belongs", "the softmax's outputs inside dl/do are"
             " probabilities: positive, and they sum to 1", "log_of_y",
             each(logged)),
            ("the softmax's outputs at logits whose true class's logit is"
             " lowered by 1: the 1 is taken from a logit, where it belongs to the"
             " probability at c", hint, "one_from_logit", each(lowered))]


def _one_at_other_class(outs, datas, texts):
    """dl/do is the softmax minus a 1 at another class than c (on some case):
    the probabilities are right, the class is not."""
    found = []
    for o, d in zip(outs, datas):
        y = _softmax(d["o"])
        at = [k for k in range(len(o)) if np.allclose(o, y - _onehot(k, len(o)),
                                                      rtol=RTOL, atol=ATOL)]
        if not at:
            return
        found.append(at[0])
    wrong = [(k, d, t) for k, d, t in zip(found, datas, texts) if k != int(d["c"])]
    if wrong:
        k, d, text = wrong[0]
        _fail(f"the softmax part of your dl/do is right, but its 1 is taken away at"
              f" class {k}, not at c = {int(d['c'])} (on {text}): the class index"
              " is computed, where c is given", "c is already the position of the"
              " true class: use it as it is", "one_at_other_class")


def _normalisation_problem(outs, datas, texts):
    """The probabilities inside dl/do (dl/do with the 1 at c given back) must be
    positive and sum to 1: name how the student's are not (divided by the
    largest exponential, the shift taken in the denominator only, another
    wrong division)."""
    probs = [o + _onehot(d["c"], len(o)) for o, d in zip(outs, datas)]
    sums = np.array([p.sum() for p in probs])
    _one_at_other_class(outs, datas, texts)
    below = [i for i, p in enumerate(probs) if np.any(p < -1e-12)]
    if below and np.allclose(sums, 1.0):    # normalised, but not exponentials
        p = probs[below[0]]
        _fail("the probabilities inside your dl/do (dl/do with the 1 at c given"
              f" back) have negative entries: on {texts[below[0]]} they are"
              f" {_numbers(p)} (they sum to 1); an exponential is never negative, so"
              " something was subtracted after the exponential", "the"
              " softmax's outputs are probabilities: positive, and they sum to 1",
              "negative_probabilities")
    if not all(np.all(p > 0) for p in probs) or np.allclose(sums, 1.0):
        return
    worst = int(np.argmax(np.abs(sums - 1.0)))
    where = f"on {texts[worst]} they sum to {_num(sums[worst])}"
    hint = ("the softmax's outputs are probabilities: positive, and they sum to 1;"
            " print the sum of yours")
    if all(np.isclose(p.max(), 1.0) for p in probs):
        _fail("the probabilities inside your dl/do (dl/do with the 1 at c given"
              f" back) have a largest entry of exactly 1 ({where}): they are divided"
              " by the largest exponential, not by the sum of all of them", hint,
              "divided_by_max")
    ratios = [p / d["y"] for p, d in zip(probs, datas)]
    if all(np.allclose(r, r[0], rtol=1e-6) for r in ratios):
        if all(np.isclose(r[0], np.exp(d["o"].max())) for r, d in zip(ratios, datas)):
            _fail("the probabilities inside your dl/do are the right ones times"
                  " e to the largest logit, a factor that grows with it"
                  f" ({where}): the largest logit"
                  " is taken from the exponents in the denominator's sum but not"
                  " from the numerator's", "the shift must be the same number in"
                  " the numerator and in every term of the denominator: that is why"
                  " it cancels", "shift_in_denominator_only")
        if all(np.isclose(r[0], np.exp(-d["o"].max())) for r, d in zip(ratios, datas)):
            _fail("the probabilities inside your dl/do are the right ones"
                  " divided by e to the largest logit, a factor that grows with it"
                  f" ({where}): the largest"
                  " logit is taken from the numerator's exponent but not from the"
                  " exponents in the denominator's sum", "the shift must be the"
                  " same number in the numerator and in every term of the"
                  " denominator: that is why it cancels", "shift_in_numerator_only")
        _fail("the probabilities inside your dl/do (dl/do with the 1 at c given"
              f" back) are the right ones times a number, and {where}: the division"
              " that makes them sum to 1 is wrong", hint, "not_normalised")
    _fail("the probabilities inside your dl/do (dl/do with the 1 at c given back)"
          f" do not sum to 1: {where}; the softmax's normalisation is wrong", hint,
          "not_normalised")


_LARGE_LOGITS = [("o = [0, 1000], c = 0", [0.0, 1000.0], 0),
                 ("o = [1000, 0, -1000], c = 2", [1000.0, 0.0, -1000.0], 2)]
# large NEGATIVE logits close together: a shift by anything but the largest
# logit (abs(o).max(), the smallest) leaves every exponent far below 0, so the
# sum underflows to 0 and 0/0 is nan (judged last: a clip is named first)
_LARGE_NEGATIVE_LOGITS = [("o = [-1000, -999], c = 0", [-1000.0, -999.0], 0)]
# large logits close to each other: a clip, a cap or a rounding of the logits
# changes their differences, and so the answer, while staying finite
_LARGE_CLOSE_LOGITS = [("o = [100, 60], c = 0", [100.0, 60.0], 0),
                       ("o = [1000, 999, 998], c = 1", [1000.0, 999.0, 998.0], 1),
                       ("o = [-300, -301], c = 1", [-300.0, -301.0], 1)]

_SHIFT_HINT = ("the softmax does not change when the same number is taken from"
               " every logit: choose that number so that no exponent is positive;"
               " and use your simplified Q2 result rather than dividing by a"
               " probability that rounds to 0")


_LEVELS = (-1500, -1000, -600, -300, 0, 300, 600, 1000, 1500)


def _right_at_levels(right_at):
    """Which of _LEVELS ``right_at(level)`` is right at: three logits close
    together (the largest in the middle) near each level; a probe that raises
    (an OverflowError, say) is not right."""
    right = []
    for level in _LEVELS:
        try:
            right.append(bool(right_at(float(level))))
        except (_Stop, TypeError, ValueError, KeyError, AttributeError):
            right.append(False)
    return right


def _shift_words(right):
    """What a shift that fails somewhere does as the logits move, read off
    :func:`_right_at_levels`: it stays put (right only near 0: a fixed number,
    none, or the position of the largest logit rather than its value), it
    follows the logits one way only, or it follows them but is not the largest
    (then only logits far apart break it). '' when nothing can be said."""
    if not right[_LEVELS.index(0)]:
        return ""
    good = [level for level, ok in zip(_LEVELS, right) if ok]
    bad = [level for level, ok in zip(_LEVELS, right) if not ok]
    if all(right):
        return ("; the number you take away does move with the logits (with three"
                " logits close together your answer is right near -1500 and near"
                " 1500), but either it is not the largest logit (where the logits"
                " lie far apart, an exponent then stays far from 0), or a"
                " probability that rounds to 0 is divided by (a -1/y_c on the"
                " way)")
    span = f"right from {min(good)} to {max(good)}, wrong at {_and(bad)}"
    if not right[0] and not right[-1]:
        return (f". With three logits close together near one level your answer is"
                f" {span}: the number you take away stays put while the logits"
                " move (a fixed number, a number that does not come from the"
                " logits, nothing, the position of the largest logit rather"
                " than its value, or one divided out after the exponential, once"
                " exp has overflowed)")
    side = "below" if not right[0] else "above"
    return (f". With three logits close together near one level your answer is"
            f" {span}: the number you take away follows the logits only when they"
            f" are not far {side} 0, so it is not the largest logit")


def _and(numbers):
    words = [str(n) for n in numbers]
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 \
        else words[0]


def _logit_levels(fn, who):
    """:func:`_right_at_levels` for a dl/do function (class 0)."""
    def right_at(level):
        o = np.array([level - 1.0, level, level - 2.0])
        out = np.asarray(_call(fn, (o.copy(), 0), who, "a probe"), dtype=np.float64)
        return out.shape == (3,) and np.all(np.isfinite(out)) and _same(
            out, _logit_grad_of(o, 0))
    return _right_at_levels(right_at)


def _check_large_logits(fn, who, what):
    """Q2's answer must stay finite and right at logits far from 0."""
    for text, o, c in _LARGE_LOGITS:
        o = np.array(o)
        out = _vector(_call(fn, (o.copy(), c), who, text), len(o), what, text)
        ref = losses.softmax_cross_entropy(o[None], [c])[1][0]
        if not np.all(np.isfinite(out)):
            _fail(f"right for moderate logits, but at {text} {who} returns"
                  f" {np.array2string(out, precision=3)}: exp(1000) overflows"
                  " (or y underflows to 0 and -1/y_c is infinite)"
                  + _shift_words(_logit_levels(fn, who)), _SHIFT_HINT, "overflow")
        if not _same(out, ref):
            _fail(f"right for moderate logits, but at {text} {who} returns"
                  f" {np.array2string(out, precision=3)}, expected"
                  f" {np.array2string(ref, precision=3)}", _SHIFT_HINT,
                  "large_logits")
    for text, o, c in _LARGE_CLOSE_LOGITS:
        o = np.array(o)
        out = _vector(_call(fn, (o.copy(), c), who, text), len(o), what, text)
        ref = losses.softmax_cross_entropy(o[None], [c])[1][0]
        if not _same(out, ref):
            _fail(f"right for moderate logits, wrong where the logits are large: at"
                  f" {text} {who} returns {np.array2string(out, precision=3)},"
                  f" expected {np.array2string(ref, precision=3)}",
                  "the softmax depends only on the differences between the logits:"
                  " a change to the logits that is not the same number for all of"
                  " them (a clip, a cap, a rounding) changes the answer",
                  "large_logits_changed")
    for text, o, c in _LARGE_NEGATIVE_LOGITS:
        o = np.array(o)
        out = _vector(_call(fn, (o.copy(), c), who, text), len(o), what, text)
        if not np.all(np.isfinite(out)):
            _fail(f"right for moderate logits, but {who} gives"
                  f" {np.array2string(out, precision=3)} at {text}: the shift must"
                  " make the largest logit 0, so that its exponential is 1 and the"
                  " sum cannot underflow to 0" + _shift_words(_logit_levels(fn, who)),
                  _SHIFT_HINT, "underflow")
        if not _same(out, losses.softmax_cross_entropy(o[None], [c])[1][0]):
            _fail(f"right for moderate logits, but at {text} {who} returns"
                  f" {np.array2string(out, precision=3)}", _SHIFT_HINT,
                  "large_logits")


def _name_logit_grad_mistake(outs, refs, cases, fn=None, who=None):
    """Fail with the most specific name for a wrong dl/do (``outs``) against
    the right one (``refs``) on ``cases``; ``fn`` is probed when given."""
    datas, texts = [d for _, d in cases], [t for t, _ in cases]
    _diagnose.rounded("your dl/do", outs, refs)
    _match(outs, datas, _LOGIT_GRAD_MISTAKES, texts)
    _diagnose.wrong_class_index("your dl/do", [d["y"] - o for o, d in
                                               zip(outs, datas)],
                                datas, texts)
    _structural(outs, refs, texts, "dl/do",
                _logit_grad_hint(outs, datas, texts))
    _diagnose.another_input("your dl/do", outs, _logit_alternatives(datas))
    _diagnose.part_relation("your dl/do", outs, refs,
                            [_onehot(d["c"], len(o)).astype(bool)
                             for o, d in zip(outs, datas)],
                            "the entry at c", "the entries i ≠ c")
    at_c = [_onehot(d["c"], len(o)).astype(bool) for o, d in zip(outs, datas)]
    _diagnose.cases_swapped("your dl/do", outs, at_c,
                            [d["y"] - 1 for d in datas],
                            [d["y"] for d in datas],
                            ("the entry at c", "the entries i ≠ c"))
    _diagnose.part_constant("your dl/do", outs, refs, at_c, "the entry at c")
    # before the normalisation: y (y - onehot) has probabilities that do
    # not sum to 1 inside it, though its softmax is right
    _diagnose.part_factor("your dl/do", outs, refs,
                          [np.ones(len(o), bool) for o in outs],
                          "every entry", {"y_i": [d["y"] for d in datas]})
    _normalisation_problem(outs, datas, texts)
    if fn is not None:
        _right_below_zero(fn, who, datas)
    _placement(outs, refs, "dl/do", datas)
    _where_wrong(outs, refs, datas, "dl/do",
                 _logit_grad_hint(outs, datas, texts))
    worst = _worst(outs, refs, texts, "dl/do")
    _fail(f"dl/do does not match the reference: {worst}",
          _logit_grad_hint(outs, datas, texts))


def _right_below_zero(fn, who, datas):
    """Fail when dl/do is right on the cases' logits moved below 0 (the
    softmax does not change) and wrong on the cases themselves: what is taken
    from the logits depends on the sign of each one, not one number for all."""
    for d in datas:
        o = d["o"] - d["o"].max() - 0.5
        ref = losses.softmax_cross_entropy(o[None], [d["c"]])[1][0]
        try:
            got = _vector(_call(fn, (o.copy(), d["c"]), who, "a probe"), len(o),
                          "dl/do", "a probe")
        except _Stop:
            return
        if not _same(got, ref):
            return
    _fail(f"{who} is right whenever every logit is below 0 and wrong when some"
          " are above: the softmax does not change when one number is taken from"
          " every logit, but yours treats each logit by its own sign (a maximum"
          " taken entry by entry?)", "take the same number from every logit of"
          " the vector", "shift_per_entry")


def check_logit_grad(fn=None):
    """Q2: ``fn(o, c)`` returns ``dl/do`` (length C) from the logits ``o``.

    Must stay finite and right at logits like ``[0, 1000]``.
    """

    def body():
        _need_function(fn, "check_logit_grad", "your dl/do function")
        who = _name(fn, "your function")
        what = f"what {who} returned"
        cases = [_Case(t.replace("y = [0.5, 0.5]", "o = [-0.88, -0.88]"), d)
                 for t, d in _prob_cases(seed=3)]
        refs = [losses.softmax_cross_entropy(d["o"][None], [d["c"]])[1][0]
                for _, d in cases]
        d = cases[1].data  # referee: the loss by central differences
        _referee(refs[1], gradcheck.numerical_gradient(
            lambda o: losses.cross_entropy(o[None], [d["c"]]), d["o"].copy()),
            "dl/do")
        outs, raws = [], []
        for text, d in cases:
            raws.append(_call(fn, (d["o"].copy(), d["c"]), who, text))
            outs.append(_vector(raws[-1], len(d["o"]), what, text))
            _finite(outs[-1], what, text)
        _keeps_state(fn, who, *_state_cases(lambda o, c: (o.copy(), np.int64(c)),
                                            _logit_grad_of, logits=True),
                     right_so_far=all(_same(o, r) for o, r in zip(outs, refs)))
        if not all(_same(o, r) for o, r in zip(outs, refs)):
            _name_logit_grad_mistake(outs, refs, cases, fn, who)
        _promises_kept(raws, cases, what, None)  # nothing below needs an array
        _diagnose.rounded("your dl/do", outs, refs)
        _check_large_logits(fn, who, what)
        return (f"✓ {who}: dl/do is right on {len(cases)} cases and finite at"
                " logits like [0, 1000]")

    return _run(body)
