"""Checks for notebook 02 (Q3), one per stage in the order of the lesson.

1. :func:`check_forward`: the cache as a dict with the documented keys (``x``,
   ``k``, ``h``, ``o``, ``y``, ``target``), each value judged in the order of the
   forward pass (a forgotten bias, tanh, the logits taken from ``k`` are named
   at their step), then the loss;
2. :func:`check_scalar_loss_grad`: step 1, dl/dy (Q1's check on lists);
3. :func:`check_backprop`: steps 2-5 on the reference cache and a *random*
   dl/dy, compared stage by stage (dl/dy, dl/do = dl/dy J, dl/dh, dl/dk, then
   the parameters), so a backprop that ignores its dl_dy argument cannot pass;
4. :func:`check_backward`: forward and backward together, the parameter
   gradients;
5. :func:`check_graph_backward`: the bridge to notebook 04, reverse-mode
   accumulation on a small expression graph given as a list of nodes.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping

import numpy as np

from coursenet import gradcheck, layers, losses, mlp, scalar
from coursenet.exercises import _diagnose, _explain
from coursenet.exercises._core import (
    ATOL,
    RTOL,
    Mistake,
    _call,
    _Case,
    _fail,
    _finite,
    _floor_divides,
    _grads,
    _last_frame,
    _match,
    _name,
    _need_function,
    _number,
    _numbers,
    _referee,
    _run,
    _same,
    _short,
    _Stop,
    _worst,
)
from coursenet.exercises._networks import (
    _HIDDEN_RULES,
    _SCALAR_KEYS,
    _as_lists,
    _check_losses,
    _instance_cases,
    _loss_mistakes,
    _network_case,
    _network_fallback,
    _network_mistakes,
    _picked,
    _random_params,
    _referee_network,
    sizes_confused,
)
from coursenet.exercises.nb01 import (
    _keeps_state,
    _loss_grad_body,
    _right_at_levels,
    _shift_words,
)

CACHE_KEYS = ("x", "k", "h", "o", "y", "target")
_CACHE_WHAT = {"x": "the input", "k": "the hidden pre-activations (before the"
               " sigmoid)", "h": "the hidden activations (after the sigmoid)",
               "o": "the logits", "y": "the softmax outputs",
               "target": "the true class"}


def _cases(seed):
    """Notebook 02's cases; its class is ``target`` (``c`` is the output bias)."""
    return [_Case(text.replace("c = ", "target = "), d)
            for text, d in _instance_cases(seed)]


def _reference_cache(d):
    """The cache of the package's scalar forward pass, as numpy arrays."""
    cache = scalar.forward(_as_lists(d["params"]), d["X"][0].tolist(),
                           int(d["y"][0]))[1]
    return {k: v if k == "target" else np.array(v) for k, v in cache.items()}


def _large_logits_cases():
    """Logits near 1000 and -1000, the largest first in one case and last in the
    other: exp of a logit near 1000 overflows (math.exp raises past 709, numpy's
    gives inf) unless every logit is shifted by the largest (a shift by the first,
    the last, the smallest or the mean logit overflows in one of them)."""
    rng = np.random.default_rng(1000)
    cases = []
    # the last: large negative logits close together, where a shift by the
    # largest magnitude (not the largest logit) underflows every exponential
    for logits, target in (([1000.0, 999.0, -1000.0], 0),
                           ([-1000.0, -1000.0, 999.0, 1000.0], 3),
                           ([-1000.0, -999.0], 1)):
        params = {"W1": rng.normal(0.0, 1.0, (2, 3)), "b1": rng.normal(0.0, 0.5, 3),
                  "W2": rng.normal(0.0, 0.1, (3, len(logits))),
                  "b2": np.array(logits)}
        near = ", ".join(f"{v:.0f}" for v in logits)
        cases.append(_network_case(
            f"a 2-3-{len(logits)} network whose logits are near [{near}] (target ="
            f" {target})", params, [[0.5, -0.5]], [target]))
    return cases


# The forward pass's mistakes, one step at a time: (key, id, diagnosis, hint,
# what the mistake stores there from the reference cache r and parameters p).
# Each step is judged after the steps before it are right.
_CACHE_MISTAKES = [
    # a sum written with = where it adds up: the last term alone
    *[(key, "sum_keeps_last_term", f"{key} keeps only the last {unit}'s term of"
       f" its sum{plus}: each term replaced the one before (a sum written with ="
       " where it adds up)", f"every {unit} adds its term to the sum",
       lambda r, p, inp=inp, w=w, b=b, keep=keep: r[inp][-1]
       * np.asarray(p[w])[-1] + keep * np.asarray(p[b]))
      for key, inp, w, b, unit in (("k", "x", "W1", "b1", "input"),
                                   ("o", "h", "W2", "b2", "hidden unit"))
      for plus, keep in ((" (plus its bias)", 1.0),
                         (", and its bias is gone too", 0.0))],
    *[("o", "bias_of_one_class", f"every logit adds the same entry of c, {which},"
       " where each class's logit adds its own c_m",
       "each class's logit has its own bias: the index of c is the class's own",
       lambda r, p, pick=pick: r["h"] @ p["W2"] + np.asarray(p["b2"])[pick(r)])
      for which, pick in (("the target's (c[target])", lambda r: r["target"]),
                          ("the first (c[0])", lambda r: 0),
                          ("the last one", lambda r: -1))],
    ("k", "forward_no_b", "k misses the first layer's bias b",
     "each hidden unit adds its own bias after the weighted sum of the inputs",
     lambda r, p: r["x"] @ p["W1"]),
    ("k", "forward_b_per_input", "k adds the bias b once per input (inside the"
     " sum over the inputs), not once",
     "each hidden unit adds its own bias once, after the weighted sum of the inputs",
     lambda r, p: r["x"] @ p["W1"] + len(r["x"]) * p["b1"]),
    ("k", "cache_k_is_h", "cache['k'] holds h, the value after the sigmoid",
     "store k, the weighted sum before the sigmoid", lambda r, p: r["h"]),
    ("h", "cache_h_is_k", "cache['h'] holds k, the value before the sigmoid",
     "store h, the sigmoid's output: backward needs it", lambda r, p: r["k"]),
    ("h", "forward_tanh", "h is tanh(k): the hidden units use tanh, not the sigmoid",
     "the network's hidden units are sigmoids, whose outputs lie between 0 and 1",
     lambda r, p: np.tanh(r["k"])),
    ("h", "forward_relu", "h is max(0, k): the hidden units use ReLU, not the"
     " sigmoid", "the network's hidden units are sigmoids, whose outputs lie"
     " between 0 and 1", lambda r, p: np.maximum(r["k"], 0.0)),
    ("h", "forward_sigmoid_twice", "h is the sigmoid applied twice: the sigmoid"
     " of the right h", "the hidden unit applies the sigmoid once, to its k",
     lambda r, p: layers.sigmoid(r["h"])),
    ("h", "forward_sigmoid_sign", "h is the sigmoid of -k",
     "the sigmoid rises with its input: a larger k gives an h closer to 1",
     lambda r, p: layers.sigmoid(-r["k"])),
    ("o", "forward_o_from_k", "the logits are computed from k, the values before"
     " the sigmoid, not from h", "the second layer reads the hidden activations,"
     " after the sigmoid", lambda r, p: r["k"] @ p["W2"] + p["b2"]),
    ("o", "cache_o_shifted", "cache['o'] holds the logits with the largest one"
     " taken away (the softmax's shifted logits): the cache keeps the logits"
     " themselves", "the shift is a step inside the softmax; what the cache keeps"
     " under 'o' is the second layer's output as it is",
     lambda r, p: r["o"] - np.max(r["o"])),
    ("o", "forward_sigmoid_on_logits", "the sigmoid was applied to the logits too:"
     " cache['o'] is the sigmoid of the right logits", "only the hidden layer has"
     " a sigmoid: the logits go from the second layer straight to the softmax",
     lambda r, p: layers.sigmoid(r["o"])),
    ("o", "forward_no_c", "the logits miss the output bias c",
     "each logit adds its own bias after the weighted sum of the hidden units",
     lambda r, p: r["h"] @ p["W2"]),
    ("k", "sum_skips_first", "k leaves out input 0: the sum over the inputs starts"
     " at 1, not 0", "every input, input 0 included, feeds every hidden unit",
     lambda r, p: _without(r["x"], 0) @ p["W1"] + p["b1"]),
    ("k", "sum_stops_short", "k leaves out the last input: the sum over the inputs"
     " stops one short", "every input, the last one included, feeds every hidden"
     " unit", lambda r, p: _without(r["x"], -1) @ p["W1"] + p["b1"]),
    ("o", "sum_skips_first", "the logits leave out hidden unit 0: the sum over the"
     " hidden units starts at 1, not 0", "every hidden unit, unit 0 included, feeds"
     " every logit", lambda r, p: _without(r["h"], 0) @ p["W2"] + p["b2"]),
    ("o", "sum_stops_short", "the logits leave out the last hidden unit: the sum"
     " over the hidden units stops one short", "every hidden unit, the last one"
     " included, feeds every logit",
     lambda r, p: _without(r["h"], -1) @ p["W2"] + p["b2"]),
    ("y", "sum_keeps_last_term", "y is divided by the last exponential alone (its"
     " last entry is exactly 1): the softmax's total keeps only its last term,"
     " each term replaced the one before (a sum written with = where it adds"
     " up)", "every exponential adds its term to the total",
     lambda r, p: np.exp(np.asarray(r["o"]) - r["o"][-1])),
    ("y", "cache_y_is_o", "cache['y'] holds the logits o, not the softmax outputs",
     "store the probabilities: they are positive and sum to 1", lambda r, p: r["o"]),
    ("y", "forward_not_normalised", "y holds exponentials that do not sum to 1:"
     " the softmax's division is missing", "the softmax outputs are probabilities:"
     " they sum to 1", lambda r, p: np.exp(r["o"])),
    ("y", "forward_not_normalised", "y holds the shifted exponentials, before they"
     " are divided by their sum: they do not sum to 1", "the softmax outputs are"
     " probabilities: they sum to 1",
     lambda r, p: np.exp(r["o"] - np.max(r["o"]))),
]


def _without(values, index):
    """``values`` with one entry set to 0: a sum whose range misses that term."""
    values = np.array(values, dtype=np.float64)
    values[index] = 0.0
    return values


# The loss's mistakes with hints that describe the loss (the diagnoses say what
# the code did); the answers are the shared table's.
_LOSS_HINTS = {
    "loss_sign": "a probability is at most 1, so its log is at most 0: the"
                 " cross-entropy is never negative",
    "loss_log_base": "the course's logarithm is the natural one, of base e, so"
                     " ln 2 is the loss of a 50/50 guess",
    "loss_no_softmax": "the loss is computed from the probability the network"
                       " gives the target, after the softmax",
    "loss_no_log": "the cross-entropy takes the logarithm of the target's"
                   " probability",
    "loss_all_classes": "only the target's probability enters the loss; the other"
                        " classes count through the softmax's sum",
}
_FORWARD_LOSS_MISTAKES = [
    *[m._replace(hint=_LOSS_HINTS.get(m.id, m.hint)) for m in _loss_mistakes("target")],
    Mistake("loss_divided_by_classes", "the loss is divided by the number of"
            " classes", "the loss of one instance is the cross-entropy of its"
            " target's probability alone, not a mean over the classes",
            lambda d: losses.cross_entropy(d["O"], d["y"]) / d["O"].shape[1]),
    *[Mistake("loss_wrong_class", f"the loss is that of class target {sign} 1 (the"
              f" class {where} the target): the class index is off by one",
              "the target is already the position of the true class's probability:"
              " use it as it is", lambda d, step=step: losses.cross_entropy(
                  d["O"], (np.asarray(d["y"]) + step) % d["O"].shape[1]))
      for sign, where, step in (("-", "before", -1), ("+", "after", 1))],
    *[Mistake("loss_shift_left", f"the loss is {how}: the shift taken out of"
              " the logits for a stable log-sum-exp is not put back",
              "a stable log-sum-exp subtracts the largest logit before the"
              " exponentials and adds it back after the log, so the"
              " loss is the same as without the shift",
              lambda d, sign=sign: losses.cross_entropy(d["O"], d["y"])
              + sign * float(np.max(d["O"])))
      for how, sign in (("the right one plus the largest logit", 1.0),
                        ("the right one minus the largest logit", -1.0))],
]


def _other_logs():
    """The loss taken as another logarithm of the target's probability p: of
    1 + p (a log1p) or 1 - p, in base e, 10 or 2, with or without the minus (the
    logs of p itself in base 10 or 2, and the sign lost, are the shared rows)."""
    rows = []
    for of, inside in (("1 plus", lambda p: 1 + p), ("1 minus", lambda p: 1 - p)):
        for base, log in (("natural ", np.log), ("base-10 ", np.log10),
                          ("base-2 ", np.log2)):
            for sign, factor in (("minus the", -1.0), ("the", 1.0)):
                said = (f"the loss is {sign} {base}log of {of} the target's"
                        " probability, not of the probability itself")
                negative = (of == "1 plus") == (factor < 0)
                rows.append(Mistake(
                    "loss_other_log", said + (": -log of a probability is never"
                    " below 0, and yours is" if negative else ""),
                    "the cross-entropy is minus the natural log of the"
                    " target's probability: ln 2 for a 50/50 guess",
                    lambda d, inside=inside, log=log, factor=factor:
                        factor * np.mean(log(inside(_picked(d))))))
    return rows


_FORWARD_LOSS_MISTAKES += _other_logs()


def _forward_raised_hint(exc):
    """What an exception inside forward usually means, in this network."""
    if isinstance(exc, OverflowError):
        return ("math.exp overflows past about 709: the softmax does not change"
                " when the same number is taken from every logit, so choose one"
                " that leaves no exponent positive")
    if isinstance(exc, ValueError) and "math domain" in str(exc):
        last = _last_frame(exc)
        y = last.tb_frame.f_locals.get("y") if last is not None else None
        values = [v for v in (y if isinstance(y, (list, tuple)) else [])
                  if isinstance(v, (int, float))]
        below = [v for v in values if v <= 0]
        if below and len(below) < len(values):    # mixed signs: not a division
            return (f"your y holds {len(below)} entries at or below 0"
                    f" ({_numbers(np.asarray(y, dtype=float))}): an exponential is"
                    " never negative, so something was subtracted after the"
                    " exponentials, where the shift belongs"
                    " inside them")
        return ("math.log (or math.sqrt) got 0 or a negative number: the loss takes"
                " the log of the target's probability, which is positive when y is"
                " a softmax (positive entries that sum to 1): print your y")
    if isinstance(exc, IndexError):
        return ("W has one row per input and one column per hidden unit, b one"
                " entry per hidden unit; V one row per hidden unit and one column"
                " per class, c one entry per class. The check's networks have"
                " different numbers of inputs, hidden units and classes, so an"
                " index taken along the wrong side, or one layer's array read in"
                " the other layer, runs past the end: check which array the named"
                " line reads")
    return None


def _as_floats(value, shape):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except Exception:  # noqa: BLE001 - a student's object
        return None
    return arr if shape is None or arr.shape == shape else None


def _y_not_normalised(values, cases, fwd, floor_divides):
    """cache['y'] whose entries do not sum to 1: rounded to whole numbers by a
    floor division, or not divided by the sum of the exponentials."""
    sums = [float(np.sum(v)) for v in values]
    worst = int(np.argmax(np.abs(np.array(sums) - 1.0)))
    if not np.isclose(sums[worst], 1.0) and floor_divides \
            and all(np.all(np.asarray(v) == np.round(v)) for v in values):
        _fail(f"{fwd}: cache['y'] holds whole numbers (on {cases[worst].text}"
              f" they sum to {sums[worst]:.4g}) and {fwd} divides with //: a"
              " floor division rounds each probability down to a whole"
              " number", "a division that keeps its fraction is the plain one",
              "rounded_to_whole")
    if not np.isclose(sums[worst], 1.0):
        _shift_in_one_place(values, sums, cases, fwd)
        _fail(f"{fwd}: cache['y'] does not sum to 1 (on {cases[worst].text} it"
              f" sums to {sums[worst]:.4g}): these are not the softmax's"
              " probabilities", "the softmax divides each exponential by the sum"
              " of all of them, so its outputs sum to 1", "y_not_normalised")


def _shift_in_one_place(values, sums, cases, fwd):
    """y the right probabilities times e to the largest logit (or its inverse),
    case by case: the numerators and the denominator were built from
    differently shifted logits."""
    refs = [_reference_cache(d) for _, d in cases]
    tops = [max(r["o"]) for r in refs]
    for sign, where, other in ((1.0, "the logits", "the shifted ones"),
                               (-1.0, "the shifted logits", "the logits")):
        if len(set(np.round(tops, 6))) > 1 and all(
                _same(np.asarray(v, dtype=np.float64) / t, r["y"])
                and np.isclose(t, np.exp(sign * top))
                for v, t, r, top in zip(values, sums, refs, tops)):
            _fail(f"{fwd}: cache['y'] is the right probabilities times one number"
                  f" per case, e to the power {'' if sign > 0 else 'minus '}the"
                  f" largest logit: the numerators are built from {where} and the"
                  f" sum they are divided by from {other}", "the shift cancels"
                  " only when the very same shifted logits make the numerators"
                  " and the sum", "shift_in_one_place")


def _cache_problem(key, caches, cases, fwd, floor_divides=False):
    """The first wrong step ``key`` of the cache (the steps before it are right);
    ``floor_divides``: the forward's code has a ``//``."""
    refs = [_reference_cache(d) for _, d in cases]
    values = [_as_floats(cache[key], np.shape(r[key]))
              for cache, r in zip(caches, refs)]
    for mkey, mid, diagnosis, hint, stored in _CACHE_MISTAKES:
        if mkey != key:
            continue
        wants = [stored(r, d["params"]) for r, (_, d) in zip(refs, cases)]
        if all(v is not None and w is not None and _same(v, w)
               for v, w in zip(values, wants)):
            _fail(f"{fwd}: {diagnosis}", hint, mid)
    _one_list_twice(key, caches, fwd)
    if all(v is not None for v in values):
        _diagnose.rounded(f"{fwd}: cache[{key!r}]", values, [r[key] for r in refs])
    if key == "y" and all(v is not None for v in values):
        _y_not_normalised(values, cases, fwd, floor_divides)
    _appended_per_inner_pass(key, caches, refs, cases, fwd)
    if all(v is not None for v in values) and key in ("k", "o"):
        bias, size, name = {"k": ("b1", "x", "once per input (D times)"),
                            "o": ("b2", "h", "once per hidden unit (H times)")}[key]
        _diagnose.bias_counted(f"{fwd}: cache[{key!r}]", values,
                               [r[key] for r in refs],
                               [d["params"][bias] for _, d in cases],
                               {name: [len(r[size]) for r in refs]})
    if all(v is not None for v in values) and key == "h":
        _diagnose.wrong_where_negative(f"{fwd}: cache['h']", values,
                                       [r["h"] for r in refs],
                                       [r["k"] for r in refs], "k")
    if all(v is not None for v in values) and key in ("k", "o"):
        _bias_per_term(key, values, refs, cases, fwd)
    if all(v is not None for v in values):   # a bias added twice, or left out
        _diagnose.times_an_input(f"{fwd}: cache[{key!r}]", values,
                                 [r[key] for r in refs],
                                 [{"b": d["params"]["b1"], "c": d["params"]["b2"]}
                                  for _, d in cases])
    if all(v is not None for v in values) and key in ("k", "o"):
        _one_unit_for_all(key, values, refs, cases, fwd)
        _sum_cut_short(key, values, refs, cases, fwd)
    raw = [_as_floats(cache[key], None) for cache in caches]   # any shape
    if all(v is not None for v in raw):
        _explain.explain(f"cache[{key!r}] from {fwd}", raw, [r[key] for r in refs],
                         [[(_CACHE_WORDS["x"], r["x"]), *_params_vocabulary(d),
                           *[(_CACHE_WORDS[k], r[k]) for k in "khoy"]]
                          for r, (_, d) in zip(refs, cases)],
                         hint="the steps before it are right: compare each of"
                         " your steps with the text, on a small example of your"
                         " own")
    _all_entries_equal(key, values, refs, fwd)
    for value, cache, ref, (text, _) in zip(values, caches, refs, cases):
        if value is None or not _same(value, ref[key]):
            hint = ("store the class forward was given, as it was given"
                    if key == "target" else "the steps before it are right:"
                    f" compare your {key} with the formula for {key} in the"
                    " notebook, one entry at a time, on a small example of your own")
            held = _short(cache[key], 60) if value is None else _numbers(value)
            _fail(f"{fwd}: cache[{key!r}] should be {_CACHE_WHAT[key]}, but on {text}"
                  f" it is {held}", hint, "cache_value")


def _one_list_twice(key, caches, fwd):
    """Fail when cache[key] is the very list object another entry holds: two
    names bound to one list (``k, h = [[]] * 2``) share every append."""
    for other in ("x", "k", "h", "o", "y"):
        if other != key and all(isinstance(c.get(key), list) and
                                c.get(other) is c[key] for c in caches):
            _fail(f"{fwd}: cache[{key!r}] and cache[{other!r}] are one and the same"
                  " list, so each holds the entries of both", "a list made once and"
                  " bound to two names ([[]] * 2, or a second name set to the"
                  " first) is one list: make each list on its own", "one_list_twice")


def _all_entries_equal(key, values, refs, fwd):
    """Fail when every entry of cache[key] is one number on every case, where
    the right entries differ: every unit computed from the same one (an index
    that does not move inside the loop, left over from an earlier one)."""
    if all(v is not None and np.size(v) > 1 and np.allclose(v, np.ravel(v)[0])
           for v in values) and not all(np.allclose(r[key], np.ravel(r[key])[0])
                                        for r in refs):
        _fail(f"{fwd}: every entry of cache[{key!r}] is one and the same number, on"
              " every case: each entry is computed from the same unit",
              "the index the loop reads must be the one it walks: a name left over"
              " from an earlier loop keeps that loop's last value", "all_entries_equal")


# what one entry of each cached list stands for, and the size that counts them
_ENTRY_OF = {"x": ("input", "D"), "k": ("hidden unit", "H"), "h": ("hidden unit", "H"),
             "o": ("class", "C"), "y": ("class", "C")}


def _appended_per_inner_pass(key, caches, refs, cases, fwd):
    """A cached list whose length, on every case, is the product of two of the
    network's sizes (D x H, H x C, ...) where it needs one of them: the append
    sits inside the inner of two loops, so it runs once per pass of that loop
    (partial sums stored), not once per unit after the sum is complete."""
    lengths = []
    for cache in caches:
        value = cache[key]
        if not hasattr(value, "__len__") or np.ndim(_as_floats(value, None)) != 1:
            return
        lengths.append(len(value))
    sizes = [{"D": len(r["x"]), "H": len(r["h"]), "C": len(r["o"])} for r in refs]
    pairs = [(a, b) for a, b in (("D", "H"), ("H", "C"), ("D", "C"), ("D", "D"),
                                 ("H", "H"), ("C", "C"))
             if all(n == s[a] * s[b] != len(r[key])
                    for n, s, r in zip(lengths, sizes, refs))]
    if len(pairs) != 1:       # none, or the cases cannot tell two pairs apart
        return
    (a, b), unit = pairs[0], _ENTRY_OF[key][0]
    at = next((i for i, s in enumerate(sizes) if len(set(s.values())) == 3), 0)
    s = sizes[at]
    _fail(f"{fwd}: cache[{key!r}] has {lengths[at]} entries on {cases[at].text},"
          f" {a} x {b} = {s[a]} x {s[b]}, where it needs one entry per {unit}"
          f" ({_ENTRY_OF[key][1]} = {len(refs[at][key])}): a value is appended once"
          f" per pass of the inner loop ({a} x {b} entries, partial sums), not once"
          f" per {unit}", f"each {unit} gets one entry,"
          " appended after its inner loop has finished the sum: check how far the"
          " append is indented", "appended_per_inner_pass")


def _bias_per_term(key, values, refs, cases, fwd):
    """A layer's output that is the right one plus its bias a whole number of
    times more, the count a size of the network (give or take one): the bias
    is added inside the loop of the sum, once per term (and once more where it
    belongs). Cases whose bias is 0 (the course's example) must be right."""
    bias, bname, size, unit = {"k": ("b1", "b", "D", "input"),
                               "o": ("b2", "c", "H", "hidden unit")}[key]
    counts, telling = [], None
    for i, (v, r, (_, d)) in enumerate(zip(values, refs, cases)):
        b = np.asarray(d["params"][bias], dtype=np.float64)
        if b @ b < 1e-12:
            if not _same(v, r[key]):
                return
            continue
        extra = float((np.asarray(v) - r[key]) @ b / (b @ b))
        if abs(extra - round(extra)) > 1e-6 or not _same(v, r[key] + round(extra) * b):
            return
        telling = i if telling is None else telling
        counts.append((round(extra) + 1, len(r["x" if key == "k" else "h"])))
    for shift, words in ((1, ", and once more outside it"), (0, ""),
                         (-1, " (all but one)")):
        if counts and all(t == n + shift for t, n in counts) \
                and len({n for _, n in counts}) > 1:
            times = size + {1: " + 1", 0: "", -1: " - 1"}[shift]
            t, _ = counts[0]
            _fail(f"{fwd}: cache[{key!r}] is the right one plus the bias {bname}"
                  f" again and again: {bname} counts {times} times ({t} times on"
                  f" {cases[telling].text}): the bias is added once per {unit},"
                  f" inside the sum's loop{words}", f"the bias comes once, after"
                  f" the sum over the {unit}s, outside its loop", "bias_in_sum")


def _one_unit_for_all(key, values, refs, cases, fwd):
    """Round two: without its bias, the layer's output holds right sums in the
    wrong places (one unit's weighted sum for every unit, a neighbour's)."""
    inp, weight, bias, unit = {"k": ("x", "W1", "b1", "hidden unit"),
                               "o": ("h", "W2", "b2", "class")}[key]
    sums = [np.asarray(v) - d["params"][bias] for v, (_, d) in zip(values, cases)]
    rights = [r[key] - d["params"][bias] for r, (_, d) in zip(refs, cases)]
    layer = "W" if key == "k" else "V"
    for pick, which in ((0, "first"), (-1, "last")):
        if all(_same(s, np.full(len(s), r[inp] @ d["params"][weight][:, pick]))
               for s, r, (_, d) in zip(sums, refs, cases)):
            _fail(f"{fwd}: in cache[{key!r}] every {unit} has the weighted sum of"
                  f" the {which} {unit} (plus its own bias): one column of"
                  f" {layer} is read for every {unit}", f"each {unit} has its own"
                  f" column of {layer}: check which index your loop reads there",
                  "one_unit_for_all")
        if all(_same(s, np.sum(r[inp]) * d["params"][weight][pick, :])
               for s, r, (_, d) in zip(sums, refs, cases)):
            _fail(f"{fwd}: in cache[{key!r}] every input of the layer meets the"
                  f" {which} row of {layer}: one row of {layer} is read for every"
                  " input", f"each input of the layer has its own row of {layer}:"
                  " check which index your loop reads there", "one_row_for_all")
    _diagnose.rearranged(f"{fwd}: cache[{key!r}] without its bias", sums, rights)


def _sum_cut_short(key, values, refs, cases, fwd):
    """A layer's output that sums only the first n of its inputs, n short of
    all of them by a different count on different networks: the loop over the
    inputs is bounded by something other than their number (``range(H)``,
    ``range(min(D, H) - 1)``). One short everywhere is _CACHE_MISTAKES's."""
    inp, weight, bias, unit = {"k": ("x", "W1", "b1", "input"),
                               "o": ("h", "W2", "b2", "hidden unit")}[key]
    counts = []
    for v, r, (_, d) in zip(values, refs, cases):
        W, b = np.asarray(d["params"][weight]), np.asarray(d["params"][bias])
        n = len(r[inp])
        used = [m for m in range(n) if _same(v, r[inp][:m] @ W[:m] + b)]
        if not used or _same(v, r[key]):
            return
        counts.append((used[-1], n))
    at = next((i for i, (m, _) in enumerate(counts) if m), None)
    if at is None or len({n - m for m, n in counts}) < 2:
        return
    m, n = counts[at]
    _fail(f"{fwd}: cache[{key!r}] sums only the first {m} of the {n} {unit}s on"
          f" {cases[at].text} (and a different number short on other networks):"
          f" the loop over the {unit}s stops early, so its bound is not the"
          f" number of {unit}s", f"the loop over the {unit}s runs once for each"
          f" {unit}: check what the number in its range counts", "sum_cut_short")


def _forward_right_on(forward, sizes, transposed=(), read=None):
    """Whether the student's forward gives the right loss on a random network
    of ``sizes`` (D, H, C), quietly (False when it raises); with the matrices
    named in ``transposed`` handed to it transposed; ``read`` = (a, b): the
    loss of a network that reads parameter b where a belongs (a mistake)."""
    rng = np.random.default_rng(sum(sizes))
    params = _random_params(rng, *sizes)
    x = rng.normal(size=sizes[0])
    like = {**params, read[0]: params[read[1]]} if read else params
    want = float(losses.cross_entropy(mlp.forward(like, x[None])[0], np.array([0])))
    given = _as_lists(params)
    for name in transposed:
        given[name] = np.transpose(given[name]).tolist()
    try:   # under the check's time limit, on fresh copies
        loss, _ = _call(forward, (given, x.tolist(), 0), "forward", "a probe")
        return bool(np.isclose(float(loss), want, rtol=1e-6, atol=1e-9))
    except (_Stop, TypeError, ValueError):   # raised, or not a (loss, cache) pair
        return False


# (parameter, the one read in its place, the mistake in words)
_READ_FOR = (("b2", "b1", "the logits add the first layer's bias b where the output"
              " bias c belongs"),
             ("b1", "b2", "k adds the output bias c where the first layer's bias b"
              " belongs"),
             ("W2", "W1", "the logits are computed with the first layer's weights W"
              " where V belongs"),
             ("W1", "W2", "k is computed with the second layer's weights V where W"
              " belongs"))


def _one_layer_for_the_other(forward, fwd):
    """forward raised IndexError where the sizes differ: on a 3-3-3 network,
    where both layers' arrays have the same shapes, is it the network that
    reads one layer's parameter where the other's belongs?"""
    for key, read, said in _READ_FOR:
        if _forward_right_on(forward, (3, 3, 3), read=(key, read)):
            _fail(f"{fwd} raises IndexError on a network whose sizes differ, and on"
                  " 3-3-3 networks it computes the loss of a network in which"
                  f" {said}",
                  "W and b belong to the first layer (inputs to hidden units), V and"
                  " c to the second (hidden units to classes)", "other_layer_param")


def _run_forward(forward, text, d, fwd):
    """The student's ``(loss, cache)`` on one case, the loss as a float."""
    try:
        out = _call(forward, (_as_lists(d["params"]), d["X"][0].tolist(),
                              int(d["y"][0])), fwd, text, hint=_forward_raised_hint)
    except _Stop as stop:
        if isinstance(stop.raised, IndexError):  # the hint names the two sides
            stop.mistake = "index_past_end"
            _one_layer_for_the_other(forward, fwd)
            sizes_confused(lambda *sizes, **how: _forward_right_on(
                forward, sizes, **how), fwd, stop,
                matrices=(("W", "W"), ("V", "V")))
        if isinstance(stop.raised, ValueError) \
                and "math domain" in str(stop.raised):
            stop.mistake = "log_domain"
            if _floor_divides(forward):   # y rounded down to 0
                _fail(f"{fwd} raised ValueError: math domain error on {text}: the"
                      f" log met 0, and {fwd} divides with //: a floor division"
                      " rounds each probability (a number below 1) down to 0",
                      "a division that keeps its fraction is the plain one",
                      "rounded_to_whole")
        raise
    if isinstance(out, (tuple, list)) and len(out) == 2 \
            and isinstance(out[0], Mapping) and not isinstance(out[1], Mapping):
        _fail(f"{fwd} returned (cache, loss): the pair is the other way round",
              "later cells unpack it as `loss, cache = forward(...)`: put the loss"
              " first", "pair_swapped")
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        _fail(f"{fwd} returned {_short(out, 50)}; expected a pair (loss, cache)",
              "end forward with `return loss, cache`", "wrong_type")
    return _number(out[0], f"the loss from {fwd}"), out[1]


def _check_cache_keys(caches, fwd):
    keys_text = ", ".join(CACHE_KEYS)
    for cache in caches:
        if not isinstance(cache, Mapping):
            what = (f"a {type(cache).__name__} of {len(cache)}"
                    if isinstance(cache, (tuple, list)) else _short(cache, 40))
            _fail(f"the cache from {fwd} is {what}, not a dict: later cells (and"
                  " the spot-the-bug) read cache['y'] and cache['target']",
                  f"return the loss and a dict, whose keys the docstring names:"
                  f" {keys_text}", "cache_not_dict")
        missing = [k for k in CACHE_KEYS if k not in cache]
        if missing:
            _fail(f"the cache from {fwd} has keys {list(cache)}: missing"
                  f" {missing}", "keep every intermediate under the name the"
                  f" docstring gives it: {keys_text}", "cache_keys")


def _forward_levels(forward, fwd):
    """nb01._right_at_levels for forward: a 2-3-3 network whose output bias
    puts its three logits close together near each level."""
    rng = np.random.default_rng(1001)
    params = {"W1": rng.normal(0.0, 1.0, (2, 3)), "b1": rng.normal(0.0, 0.5, 3),
              "W2": rng.normal(0.0, 0.1, (3, 3))}

    def right_at(level):
        text, d = _network_case(f"a 2-3-3 network whose logits are near {level:.0f}",
                                {**params, "b2": np.array([level - 1, level,
                                                           level - 2])},
                                [[0.5, -0.5]], [0])
        loss, cache = _run_forward(forward, text, d, fwd)
        y = _as_floats(cache.get("y") if isinstance(cache, Mapping) else None,
                       (3,))
        return y is not None and np.all(np.isfinite(y)) and _same(
            y, _reference_cache(d)["y"]) and _same(
            np.float64(loss), losses.cross_entropy(d["O"], d["y"]))
    return _right_at_levels(right_at)


def _check_large_logits(forward, fwd):
    """Right for moderate logits must stay right at logits near 1000."""
    for text, d in _large_logits_cases():
        try:
            loss, cache = _run_forward(forward, text, d, fwd)
        except _Stop as stop:
            if isinstance(stop.raised, OverflowError):
                _fail(f"{fwd} is right for moderate logits, but on {text} it raised"
                      f" OverflowError: {stop.raised}: exp of a logit near 1000"
                      " overflows" + _shift_words(_forward_levels(forward, fwd)),
                      _forward_raised_hint(stop.raised), "overflow")
            if isinstance(stop.raised, ZeroDivisionError) \
                    and max(_reference_cache(d)["o"]) < 0:
                _fail(f"{fwd} is right for moderate logits, but on {text} it raised"
                      f" ZeroDivisionError: {stop.raised}: the shift must make the"
                      " largest logit 0, so that its exponential is 1 and the sum"
                      " cannot underflow to 0"
                      + _shift_words(_forward_levels(forward, fwd)),
                      _forward_raised_hint(OverflowError()), "underflow")
            raise
        ref = _reference_cache(d)
        y = _as_floats(cache.get("y") if isinstance(cache, Mapping) else None,
                       ref["y"].shape)
        ref_loss = losses.cross_entropy(d["O"], d["y"])
        if max(ref["o"]) < 0 and (not np.isfinite(loss) or y is None
                                  or not np.all(np.isfinite(y))):
            _fail(f"{fwd} is right for moderate logits, but on {text} it gives a"
                  f" loss of {loss:.6g} and y {_short(cache.get('y'), 50)}: the"
                  " shift must make the largest logit 0, so that its exponential"
                  " is 1 and the sum cannot underflow to 0"
                  + _shift_words(_forward_levels(forward, fwd)),
                  _forward_raised_hint(OverflowError()), "underflow")
        if not np.isfinite(loss) or y is None or not np.all(np.isfinite(y)):
            _fail(f"{fwd} is right for moderate logits, but on {text} its loss is"
                  f" {loss:.6g} and its y {_short(cache.get('y'), 50)}: exp of a"
                  " logit near 1000 overflows to inf"
                  + _shift_words(_forward_levels(forward, fwd)),
                  _forward_raised_hint(OverflowError()), "overflow")
        if not (_same(np.float64(loss), ref_loss) and _same(y, ref["y"])):
            _fail(f"{fwd} is right for moderate logits, but on {text} its loss is"
                  f" {loss:.6g}, expected {ref_loss:.6g}",
                  _forward_raised_hint(OverflowError()), "large_logits")


def _loss_of_another_class(got, cases, fwd):
    """The cached y is right and the loss is the cross-entropy of one class's
    probability, but not the target's: name that class."""
    picks = []
    for loss, (_, d) in zip(got, cases):
        y = _reference_cache(d)["y"]
        hits = [j for j in range(len(y)) if np.isclose(loss, -np.log(y[j]),
                                                       rtol=1e-6)]
        if not hits:
            return
        picks.append((hits, int(d["y"][0]), y))
    if all(t in hits for hits, t, _ in picks):
        return
    for name, pick in (("the most probable class (the prediction)",
                        lambda t, y: int(np.argmax(y))),
                       ("the least probable class", lambda t, y: int(np.argmin(y))),
                       ("class 0, the first", lambda t, y: 0),
                       ("the last class (y[-1])", lambda t, y: len(y) - 1)):
        if all(pick(t, y) in hits for hits, t, y in picks):
            _fail(f"{fwd}'s loss is -log of the probability of {name}, not of"
                  " class target: compare it with -log y at each class",
                  "the loss scores the probability of the true class, whatever"
                  " the network predicts", "loss_other_class")
    fixed = set.intersection(*[set(hits) for hits, _, _ in picks])
    if fixed:
        _fail(f"{fwd}'s loss is -log of the probability of class {min(fixed)} on"
              " every case, not of class target", "the loss scores the"
              " probability of the true class, whatever the network predicts",
              "loss_other_class")


def _forward_outputs(forward, cases, fwd):
    """Run the student's forward on every case; check the pair, the cache (a dict
    with the documented keys, each step in the order of the forward pass), the
    loss, then logits near 1000. Returns the caches."""
    pairs = [_run_forward(forward, text, d, fwd) for text, d in cases]
    got, caches = [loss for loss, _ in pairs], [cache for _, cache in pairs]
    _check_cache_keys(caches, fwd)
    for key in CACHE_KEYS:
        refs = [_reference_cache(d)[key] for _, d in cases]
        values = [_as_floats(cache[key], np.shape(r)) for cache, r in zip(caches, refs)]
        if not all(v is not None and _same(v, r) for v, r in zip(values, refs)):
            _cache_problem(key, caches, cases, fwd, _floor_divides(forward))
    _loss_of_another_class(got, cases, fwd)
    _check_losses(got, cases, _FORWARD_LOSS_MISTAKES, fwd, "k, h, o and y are"
                  " right: the loss is the cross-entropy of the true class's"
                  " probability")
    _check_large_logits(forward, fwd)
    return caches


def _forward_args(d, g=None):
    """Fresh arguments for forward on one case: (params, x, target) as lists."""
    return _as_lists(d["params"]), d["X"][0].tolist(), int(d["y"][0])


def _backprop_args(d, g):
    """Fresh arguments for backprop: the reference cache as lists, dl/dy ``g``."""
    cache = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
             for k, v in _reference_cache(d).items()}
    return _as_lists(d["params"]), cache, g.tolist()


def _network_state_cases(make_args, right):
    """Two random 3-2-2 networks (a size the checks' cases lack), each with a
    random dl/dy, for nb01._keeps_state: (text, fresh arguments, right answer);
    ``make_args(d, g)`` and ``right(d, g)`` build them from a case."""
    rng = np.random.default_rng(322)
    cases = []
    for which, target in (("a random 3-2-2 network", 1), ("another one", 0)):
        text, d = _network_case(f"{which} (target = {target})",
                                _random_params(rng, 3, 2, 2),
                                rng.normal(0.0, 1.0, (1, 3)), [target])
        g = rng.normal(0.0, 1.0, 2)
        cases.append((text, lambda d=d, g=g: make_args(d, g), right(d, g)))
    return cases


def check_forward(forward=None):
    """Q3, stage 1: ``forward(params, x, target) -> (loss, cache)``.

    ``cache`` must be a dict with the lists ``x``, ``k``, ``h``, ``o``, ``y``
    and the int ``target`` (later cells and ``backward`` read it).
    """

    def body():
        _need_function(forward, "check_forward", "your forward function")
        fwd = _name(forward, "forward")
        cases = _cases(seed=3)
        state_cases = _network_state_cases(_forward_args, lambda d, g: (
            losses.cross_entropy(d["O"], d["y"]), _reference_cache(d)))
        _keeps_state(forward, fwd, *state_cases)
        _forward_outputs(forward, cases, fwd)
        _keeps_state(forward, fwd, *state_cases, right_so_far=True)
        return (f"✓ {fwd}: the loss and every cached value are right on the"
                f" course's example and on {len(cases) - 1} random networks")

    return _run(body)


def check_scalar_loss_grad(fn=None):
    """Q3, stage 2: ``fn(y, target)``, dl/dy with ``y`` a list of floats."""
    return _run(lambda: _loss_grad_body(fn, "check_scalar_loss_grad",
                                        as_list=True, class_name="target"))


# --------------------------------------------------------------------------
# backprop: steps 2-5 from a given dl/dy
# --------------------------------------------------------------------------

_STAGES = ("dy", "do", "dh", "dk", "V", "c", "W", "b")


def _backprop_reference(d, g, hidden="right", do=None, swap=None, weights=None):
    """Every derivative below y for an upstream dl/dy ``g`` (numpy), from the
    package's layers; ``do``: start from this dl/do instead of ``g``'s; ``hidden``:
    a sigmoid rule of ``_HIDDEN_RULES`` (a known mistake); ``swap`` = (a, b): the
    cache's value b read where a belongs (a mistake); ``weights``: these
    arrays in the place of the parameters they are named after (a mistake)."""
    r = _reference_cache(d)
    for a, b in (swap if swap and isinstance(swap[0], tuple) else
                 [swap] if swap else []):   # one read, or two names crossed
        r = {**r, a: _reference_cache(d)[b]}
    p = {**d["params"], **(weights or {})}
    if do is None:
        do = losses.softmax_backward(g[None], r["y"][None])[0]   # dl/dy J
    dh, dV, dc = layers.linear_backward(do[None], (r["h"][None], p["W2"]))
    dk = dh * _HIDDEN_RULES[hidden][2](r["k"][None], r["h"][None])
    _, dW, db = layers.linear_backward(dk, (r["x"][None], p["W1"]))
    return {"dy": g, "do": do, "dh": dh[0], "dk": dk[0], "V": dV, "c": dc,
            "W": dW, "b": db}


# A stage's known mistakes, in the order of the stages: (stage, id, diagnosis,
# hint, the stage's value from the cache r, the right stages ref, the case's
# parameters p and the random dl/dy g). Each stage is judged after the stages
# before it are right.
_STAGE_MISTAKES = [
    ("do", "ignores_dl_dy",
     "its dl/do is Q2's closed form whatever dl/dy it is given: backprop ignores"
     " its dl_dy argument",
     "the check passes a random dl/dy (the spot-the-bug below passes a wrong one):"
     " dl/do must come from the dl_dy argument, through the softmax Jacobian",
     lambda r, ref, p, g: r["y"] - np.eye(len(r["y"]))[r["target"]]),
    ("do", "no_jacobian", "its dl/do is dl/dy itself: the softmax step is missing",
     "every y_i depends on every o_m: the way from dl/dy to dl/do goes through"
     " the softmax Jacobian of notebook 01, not around it",
     lambda r, ref, p, g: g),
    ("do", "diagonal_only",
     "its dl/do is dl/dy * y(1 - y): only the diagonal of the softmax Jacobian",
     "every y_i depends on every o_m, so a change of o_m reaches the loss through"
     " every y_i: the entries of J off the diagonal count too",
     lambda r, ref, p, g: g * r["y"] * (1 - r["y"])),
    ("do", "do_times_y", "its dl/do is dl/dy times y, entry by entry: only part of"
     " the diagonal of the softmax Jacobian",
     "every y_i depends on every o_m, so a change of o_m reaches the loss through"
     " every y_i: the whole Jacobian of notebook 01 is needed",
     lambda r, ref, p, g: g * r["y"]),
    ("do", "jacobian_y_i_twice", "its dl/do comes from a Jacobian whose entry in"
     " row i, column m uses y_i twice where the product term needs y_i and y_m",
     "compare your J with notebook 01's check on a case with three classes:"
     " its entries off the diagonal depend on both i and m",
     lambda r, ref, p, g: g * r["y"] - (g * r["y"] ** 2).sum()),
    ("do", "sum_keeps_last_term", "each dl/do_m keeps only the last output's term"
     " (i = C - 1) of its sum over the outputs: each term replaced the one before"
     " (a sum written with = where it adds up)", "dl/do_m collects a term from"
     " every output y_i, and every one of them adds to the total",
     lambda r, ref, p, g: g[-1] * (np.eye(len(r["y"]))[-1] - r["y"]) * r["y"][-1]),
    ("do", "running_sum", "each dl/do_m is the sum of the right entries 0 to m:"
     " the total that collects one entry's sum is not started afresh for the"
     " next entry", "each entry's sum starts from 0: set the total inside the loop"
     " over the entries, before its sum", lambda r, ref, p, g: np.cumsum(ref["do"])),
    ("do", "unweighted_sum", "each dl/do_m takes away the plain sum of dl/dy:"
     " the outputs' shares are not weighted by their probabilities",
     "raising o_m moves each y_i in proportion to y_i itself: an output of tiny"
     " probability barely moves, so its entry of dl/dy barely counts",
     lambda r, ref, p, g: np.asarray(r["y"]) * (np.asarray(g) - np.sum(g))),
    ("do", "flipped_sign", "its dl/do has the wrong sign",
     "the softmax Jacobian's diagonal is positive and its other entries negative:"
     " check the signs of yours", lambda r, ref, p, g: -ref["do"]),
    ("dh", "dh_one_logit", "dl/do is right, dl/dh is wrong: it uses logit 0 only",
     "h_j feeds every logit: each one adds its own path to dl/dh_j",
     lambda r, ref, p, g: p["W2"][:, 0] * ref["do"][0]),
    ("dh", "running_sum", "dl/do is right; each dl/dh_j is the sum of the right"
     " entries 0 to j: the total that collects one entry's sum is not started"
     " afresh for the next entry", "each entry's sum starts from 0: set the total"
     " inside the loop over the entries, before its sum",
     lambda r, ref, p, g: np.cumsum(ref["dh"])),
    ("dh", "dh_last_logit_only", "dl/do is right, dl/dh uses the last logit only:"
     " each logit's term replaced the one before (a sum written with = where it"
     " adds up)", "h_j feeds every logit: each one adds its own path to dl/dh_j",
     lambda r, ref, p, g: np.asarray(p["W2"], dtype=float)[:, -1] * ref["do"][-1]),
    ("dh", "dh_skips_first", "dl/do is right, dl/dh leaves out logit 0: the sum"
     " over the logits starts at 1, not 0", "h_j feeds every logit, logit 0"
     " included: each one adds its own path to dl/dh_j",
     lambda r, ref, p, g: p["W2"] @ _without(ref["do"], 0)),
    ("dh", "dh_stops_short", "dl/do is right, dl/dh leaves out the last logit: the"
     " sum over the logits stops one short", "h_j feeds every logit, the last one"
     " included: each one adds its own path to dl/dh_j",
     lambda r, ref, p, g: p["W2"] @ _without(ref["do"], -1)),
    # runs only where V is square: elsewhere it raises IndexError, and
    # _on_square_networks brings the check here on 3-3-3 networks
    ("dh", "dh_V_transposed", "dl/do is right, dl/dh reads V transposed: the"
     " weight from h_j to logit m is taken from row m, column j of V",
     "V has one row per hidden unit and one column per class: the weights that"
     " carry h_j to the logits are row j", lambda r, ref, p, g: (
         np.transpose(p["W2"]) @ ref["do"] if np.ndim(p["W2"]) == 2
         and len(p["W2"]) == len(p["W2"][0]) else np.full(len(ref["dh"]), np.nan))),
    ("dh", "dh_from_dl_dy", "dl/do is right, dl/dh is computed from dl/dy instead:"
     " the softmax step is skipped on the way down",
     "h reaches the loss through the logits: dl/dh comes from the gradient one"
     " stage above it, dl/do", lambda r, ref, p, g: p["W2"] @ g),
    *[("dk", hidden, f"dl/dh is right, dl/dk is wrong: {_HIDDEN_RULES[hidden][0]}",
       _HIDDEN_RULES[hidden][1], lambda r, ref, p, g, hidden=hidden: ref["dh"]
       * _HIDDEN_RULES[hidden][2](r["k"][None], r["h"][None])[0])
      for hidden in ("sigmoid_from_k", "sigmoid_twice", "no_sigmoid_derivative")],
    ("dk", "slope_brackets_lost", "dl/dh is right, dl/dk is dl/dh · h - h: the"
     " bracket around (1 - h) is lost, so h is subtracted after the product",
     "multiplication binds before subtraction: a difference that is one factor of"
     " a product needs its own brackets",
     lambda r, ref, p, g: ref["dh"] * np.asarray(r["h"]) - np.asarray(r["h"])),
    *[("dk", "one_slope_for_all", f"dl/dh is right, dl/dk is wrong: every entry"
       f" uses the sigmoid's slope of the {which} hidden unit, where each needs its"
       " own: the index of h is not the loop's own (a name left over from an"
       " earlier loop?)", "each hidden unit's entry uses that unit's own h",
       lambda r, ref, p, g, at=at: ref["dh"] * np.asarray(r["h"])[at]
       * (1 - np.asarray(r["h"])[at])) for which, at in (("last", -1), ("first", 0))],
    ("dk", "dk_slope_only", "dl/dh is right, dl/dk is the sigmoid's slope alone:"
     " dl/dh is not multiplied in", "the chain rule: how the loss changes with h,"
     " times how h changes with k", lambda r, ref, p, g: r["h"] * (1 - r["h"])),
    ("dk", "dk_times_h", "dl/dh is right, dl/dk is wrong: it is dl/dh times h, where"
     " the sigmoid's slope is needed", "the sigmoid's slope is at most 0.25, and it"
     " is small where h is near 0 or 1", lambda r, ref, p, g: ref["dh"] * r["h"]),
    ("V", "dV_missing_input", "every row of dV is dl/do: the value h that V"
     " multiplies in the forward pass is missing", "nudge one entry of V: how much"
     " the change does depends on the h it meets",
     lambda r, ref, p, g: np.broadcast_to(ref["do"], ref["V"].shape)),
    ("V", "dV_from_dl_dy", "dl/do is right, dV is built from dl/dy: the softmax"
     " step is skipped for the second layer's weights", "V feeds the logits, below"
     " the softmax: the gradient that reaches V is the logits' gradient",
     lambda r, ref, p, g: np.outer(r["h"], g)),
    ("V", "dV_from_weights", "dl/do is right, dV is built from the weights V"
     " themselves, where the value h that V multiplies belongs", "nudge one entry"
     " of V: how much the change does depends on the h it meets, not on V",
     lambda r, ref, p, g: np.asarray(p["W2"], dtype=float) * ref["do"]),
    ("W", "dW_from_weights", "dl/dk is right, dW is built from the weights W"
     " themselves, where the value x that W multiplies belongs", "nudge one entry"
     " of W: how much the change does depends on the x it meets, not on W",
     lambda r, ref, p, g: np.asarray(p["W1"], dtype=float) * ref["dk"]),
    ("c", "dc_is_dl_dy", "dl/do is right, dc is dl/dy: the output bias's gradient"
     " is taken above the softmax", "where in the forward pass is c added? Its"
     " gradient is read at that point of the backward pass, not above it",
     lambda r, ref, p, g: g),
    ("W", "dW_missing_input", "every row of dW is dl/dk: the value x that W"
     " multiplies in the forward pass is missing", "nudge one entry of W: how much"
     " the change does depends on the x it meets",
     lambda r, ref, p, g: np.broadcast_to(ref["dk"], ref["W"].shape)),
    ("W", "dW_from_dh", "dl/dk is right, dW is built from dl/dh: the sigmoid's"
     " slope is left out of the first layer's weights", "W feeds k, before the"
     " sigmoid: the gradient that reaches W is the one at k",
     lambda r, ref, p, g: np.outer(r["x"], ref["dh"])),
    ("b", "db_from_dh", "dl/dk is right, db is dl/dh: the sigmoid's slope is left"
     " out of the first layer's bias", "b is added to k, before the sigmoid: its"
     " gradient is the one at k", lambda r, ref, p, g: ref["dh"]),
]

# When no row matches: (diagnosis, hint, id) per stage.
_STAGE_FALLBACK = {
    "dy": ("what backprop returns as 'dy' is not the dl_dy it was given",
           "return the dl_dy argument unchanged under 'dy'", "wrong_dy"),
    "dh": ("dl/do is right, dl/dh is wrong", "h_j feeds every logit, through one"
           " weight of row j of V each: a change of h_j reaches the loss along"
           " every one of those paths", "wrong_dh"),
    "dk": ("dl/dh is right, dl/dk is wrong", "dl/dk_j is dl/dh_j times the"
           " sigmoid's slope at k_j, which can be written with h_j alone",
           "wrong_dk"),
    **{key: (f"{before} is right, d{key} is wrong", f"nudge one entry of {key} in"
             f" the {layer} layer: which value of the forward pass does it meet, and"
             f" which entry of {before} carries the change on to the loss?",
             f"wrong_d{key}")
       for key, before, layer in (("V", "dl/do", "second"), ("c", "dl/do", "second"),
                                  ("W", "dl/dk", "first"), ("b", "dl/dk", "first"))},
}


# What the slope that multiplies dl/dh can look like when it is not the
# sigmoid's: (words, slope from k and h).
_SLOPE_LOOKS = [
    ("one minus h alone: half of the sigmoid's slope is missing",
     lambda k, h: 1 - h),
    ("one minus h, squared: h is taken as one minus h in one factor",
     lambda k, h: (1 - h) ** 2),
    ("h squared: one minus h is taken as h in one factor", lambda k, h: h ** 2),
    ("one minus h squared: that is tanh's slope, not the sigmoid's",
     lambda k, h: 1 - h ** 2),
    ("the sigmoid's slope squared: it is applied twice", lambda k, h:
     (h * (1 - h)) ** 2),
    ("k itself, the value before the sigmoid", lambda k, h: k),
]


def _sigmoid_slope_problem(outs, refs, caches):
    """dl/dh is right and dl/dk is dl/dh times some slope: read the slope off
    entry by entry and name it when it is a usual wrong one."""
    for words, slope in _SLOPE_LOOKS:
        if all(_same(o["dk"], ref["dh"] * slope(r["k"], r["h"]))
               for o, ref, r in zip(outs, refs, caches)):
            _fail(f"dl/dh is right, dl/dk is wrong: the slope that multiplies dl/dh"
                  f" is {words}", "the sigmoid's slope is at most 0.25, and small"
                  " where h is near 0 or 1; it can be written with h alone",
                  "sigmoid_slope_wrong")


# the cached values a stage may read in the place of another of the same shape
_SWAPS = (("h", "k"), ("k", "h"), ("y", "o"), ("x", "h"), ("h", "x"))
_STAGE_NAMES = {"dy": "dl/dy", "do": "dl/do", "dh": "dl/dh", "dk": "dl/dk",
                "V": "dV", "c": "dc", "W": "dW", "b": "db"}


def _swapped_caches(key, datas, gs):
    """Stage ``key`` computed right but from another cached value, for
    _diagnose.another_input (None where the shapes differ)."""
    out = []
    for a, b in _SWAPS:
        answers = []
        for d, g in zip(datas, gs):
            r = _reference_cache(d)
            answers.append(_backprop_reference(d, g, swap=(a, b))[key]
                           if np.shape(r[a]) == np.shape(r[b]) else None)
        out.append((f"the right rule applied to cache[{b!r}] where it needs"
                    f" cache[{a!r}]", f"look at which value of the forward pass"
                    f" your {_STAGE_NAMES[key]} reads: {a} and {b} have the"
                    " same length here",
                    "other_cached_value", answers))
    for a, b in _CROSSED:
        answers = [_backprop_reference(d, g, swap=((a, b), (b, a)))[key]
                   if np.shape(_reference_cache(d)[a])
                   == np.shape(_reference_cache(d)[b]) else None
                   for d, g in zip(datas, gs)]
        out.append((f"the right rule with {a} and {b} crossed: your {a} holds"
                    f" cache[{b!r}] and your {b} holds cache[{a!r}]", "check the"
                    f" line that takes {a} and {b} from the cache: names unpacked"
                    " in another order than the values", "cache_names_crossed",
                    answers))
    return out


_CROSSED = (("h", "y"), ("k", "h"), ("x", "h"))   # two cached names exchanged


def _dh_plain_sum(outs, refs):
    """dl/do is right (not 0) and dl/dh is 0 in every entry on every case: dl/do
    always sums to 0 over the classes (the softmax ignores a number added to
    every logit), so a dl/dh_j that multiplies that plain sum by anything (h_j,
    a weight of one class, 1) is 0, whatever the network."""
    if all(np.allclose(o["dh"], 0.0, atol=1e-12) for o in outs) \
            and any(np.abs(r["do"]).max() > 1e-6 for r in refs):
        _fail("dl/do is right; your dl/dh is 0 in every entry, on every network: a"
              " sum of dl/do over the classes is always 0 (the softmax's outputs do"
              " not move when every logit moves by the same amount), so an entry"
              " that multiplies that plain sum is 0", "nudge h_j a little: by how"
              " much does each logit move? Compare that with what your sum"
              " multiplies each class's dl/do by", "dh_plain_sum")


# the stages computed from each one: right there means it was right inside
_MADE_FROM = {"do": ("V", "c"), "dh": ("dk",), "dk": ("W", "b")}


def _returned_list_other(key, outs, refs):
    """Fail when stage ``key`` is wrong but every stage computed from it is
    right: the function computed it right and returned another list under its
    key (``"dk": dh``, a copy-paste in the return line)."""
    made = _MADE_FROM.get(key, ())
    if not made or not all(_same(o[k], r[k]) for o, r in zip(outs, refs)
                           for k in made):
        return
    other = [k for k in _STAGES if k != key and all(
        np.shape(o[key]) == np.shape(r[k]) and _same(o[key], r[k])
        for o, r in zip(outs, refs))]
    if not other or _STAGES.index(other[0]) > _STAGES.index(key):
        return   # a later stage's list is named where it is checked
    held = f": it holds your {_STAGE_NAMES[other[0]]}"
    _fail(f"what your backprop returns under {key!r} is wrong{held}, yet"
          f" {' and '.join(_STAGE_NAMES[k] for k in made)}, made from"
          f" {_STAGE_NAMES[key]}, are right: it was computed right and another"
          " list was returned under its key", "read the return line: each key"
          " takes the list of its own name", "returned_under_other_key")


def _stage_problem(key, outs, refs, datas, gs, texts, probe=None):
    """The diagnosis of the first wrong stage ``key`` (the ones before are right);
    ``probe(datas)``: the student's backprop on designed dl/dy (for dl/do)."""
    caches = [_reference_cache(d) for d in datas]
    _returned_list_other(key, outs, refs)
    for stage, mid, diagnosis, hint, answer in _STAGE_MISTAKES:
        if stage == key and all(
                _same(o[key], answer(r, ref, d["params"], g))
                for o, r, ref, d, g in zip(outs, caches, refs, datas, gs)):
            _fail(diagnosis, hint, mid)
    if key == "dh":
        _dh_plain_sum(outs, refs)
    _diagnose.another_input(f"your {_STAGE_NAMES[key]}",
                            [o[key] for o in outs], _swapped_caches(key, datas, gs))
    if key in ("V", "c", "W", "b"):
        _diagnose.all_equal(f"your {_STAGE_NAMES[key]}", [o[key] for o in outs],
                            [r[key] for r in refs], texts)
    if key in ("W", "V"):
        _one_input_every_row(key, outs, refs, caches)
    worst = _worst([{key: o[key]} for o in outs], [{key: r[key]} for r in refs],
                   texts)
    if key == "dk":
        _sigmoid_slope_problem(outs, refs, caches)
    if key not in ("dy", "do"):     # dy's fallback says what it is
        _stage_placement(key, outs, refs, datas, gs, texts, caches)
    if key == "do" and all(np.allclose(o["do"], 0.0) for o in outs):
        _fail("your dl/do is 0 in every entry, whatever dl/dy is: each column of the"
              " softmax Jacobian sums to 0, so a column's sum times one entry of"
              " dl/dy gives 0", "write dl/do_m for C = 2 by the chain rule, one term"
              " per output, and check which of your indices follows the output and"
              " which the logit", "do_zero")
    if key == "do" and probe is not None:
        _diagnose.rounded("your dl/do", [o["do"] for o in outs],
                          [r["do"] for r in refs])
        _jacobian_inside(probe, outs, caches, gs)
    _explain.explain(_STAGE_NAMES[key], [o[key] for o in outs],
                     [r[key] for r in refs],
                     [_stage_vocabulary(c, d, r)
                      for c, d, r in zip(caches, datas, refs)],
                     [[("C", len(c["o"]))] for c in caches],
                     "nudge one entry a little: which values of the forward pass"
                     " does it meet on its way to the loss?")
    if key == "do":
        sums = [float(np.sum(o["do"])) for o in outs]
        most = sums[int(np.argmax(np.abs(sums)))]
        _fail(f"dl/do is wrong: {worst}", "whatever dl/dy is, dl/do = dl/dy J sums"
              f" to 0 (every row of J sums to 0); yours sums to {most:.4g}"
              if abs(most) > 1e-9 else "yours sums to 0 over the classes, as it"
              " must: the fault is in how each entry's terms are weighed or"
              " collected", "wrong_do")
    diagnosis, hint, mid = _STAGE_FALLBACK[key]
    _fail(f"{diagnosis}: {worst}", hint, mid)


def _params_vocabulary(d):
    """The case's parameters W, b, V, c, named for the explainer."""
    params = _as_lists(d["params"]).items()
    return [(f"the {'weights' if k in 'WV' else 'bias'} {k}",
             np.asarray(v, dtype=np.float64)) for k, v in params]


def _stage_vocabulary(cache, d, ref):
    """The quantities of one case a backprop stage may have combined: the
    forward's cached values, the parameters, and the right gradients."""
    return [*[(_CACHE_WORDS[k], cache[k]) for k in _CACHE_WORDS],
            *_params_vocabulary(d),
            *[(f"the right {_STAGE_NAMES[k]}", np.asarray(ref[k], dtype=np.float64))
              for k in _STAGE_NAMES]]


_CACHE_WORDS = {"x": "the input x", "k": "the hidden pre-activations k",
                "h": "the hidden values h", "o": "the logits o",
                "y": "the probabilities y"}


def _forward_factors(cache, shape):
    """Round three: the forward quantities (and the sigmoid's parts) a stage's
    entries may have been multiplied by, spread to ``shape``: as they are, one
    per row or one per column. Keys are how a message names them."""
    h = np.asarray(cache["h"], dtype=np.float64)
    values = {**{k: np.asarray(cache[k], dtype=np.float64)
                 for k in ("x", "k", "h", "o", "y")},
              "the sigmoid's slope": h * (1 - h), "1 - h": 1 - h}
    out = {}
    for name, v in values.items():
        if v.shape == tuple(shape):
            out[name] = v
        if len(shape) == 2 and v.shape == (shape[0],):
            out[f"{name} (one per row)"] = np.repeat(v[:, None], shape[1], axis=1)
        if len(shape) == 2 and v.shape == (shape[1],):
            out[f"{name} (one per column)"] = np.repeat(v[None, :], shape[0], axis=0)
    return out


def _stage_placement(key, outs, refs, datas, gs, texts, caches):
    """Round two: a wrong stage that is the right one times a number, rounded,
    plus a number, another stage's or a forward value's right values (a value
    where its derivative belongs), the right rule applied to a gradient where
    its weight belongs, or its own values in the wrong places."""
    before = {"dh": "dl/do", "dk": "dl/dh", "V": "dl/do", "c": "dl/do",
              "W": "dl/dk", "b": "dl/dk"}[key]
    name = f"{before} is right; your {_STAGE_NAMES[key]}"
    mine, right = [o[key] for o in outs], [r[key] for r in refs]
    telling = [i for i, r in enumerate(right) if np.abs(r).max() > 1e-9]
    _diagnose.scaled(name, [mine[i] for i in telling],
                     [right[i] for i in telling], [texts[i] for i in telling])
    _diagnose.rounded(name, mine, right)
    _diagnose.plus_constant(name, mine, right)
    # dl/dh holding dl/dk: dk made as a second name for the dh list, not a copy
    others = [(f"the right {_STAGE_NAMES[k]}" + (
        " (are dl/dh and dl/dk one list under two names? a second name for a"
        " list is not a copy)" if (key, k) == ("dh", "dk") else ""),
        "another_stage", [r[k] for r in refs]) for k in _STAGES if k != key]
    others += [(f"{words} (a value of the forward pass where its derivative"
                " belongs)", "value_for_derivative", [c[k] for c in caches])
               for k, words in _CACHE_WORDS.items()]
    for weight, grad, layer in (("W2", "V", "V"), ("W1", "W", "W")):
        others.append((f"the right rule applied to the gradient d{layer} where the"
                       f" weights {layer} belong", "gradient_for_weight",
                       [_backprop_reference(d, g, weights={weight: r[grad]})[key]
                        for d, g, r in zip(datas, gs, refs)],
                       f"the way back through a layer goes through its weights:"
                       f" check which array your line reads where {layer} belongs"))
    _diagnose.rearranged(name, mine, right, others)
    factors = [_forward_factors(c, np.shape(m)) for c, m in zip(caches, mine)]
    common = set.intersection(*[set(f) for f in factors])
    _diagnose.times_an_input(name, mine, right,   # same keys on every case
                             [{k: f[k] for k in f if k in common} for f in factors])


def _unit_probe(fn, who, datas, texts):
    """A probe for _jacobian_inside: the student's dl/do for dl/dy = 1 at class
    i and 0 elsewhere is row i of the softmax Jacobian their backprop uses."""
    def probe():
        found = []
        for d, text in zip(datas, texts):
            cache = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                     for k, v in _reference_cache(d).items()}
            rows = []
            for unit in np.eye(len(cache["y"])):
                value = _call(fn, (_as_lists(d["params"]), cache, unit.tolist()),
                              who, f"{text} with dl/dy = 1 at one class")
                like = {k: np.asarray(v) for k, v in
                        _backprop_reference(d, unit).items()}
                rows.append(_grads(value, like, f"what {who} returned",
                                   case=text)["do"])
            found.append(np.array(rows))
        return found
    return probe


def _jacobian_inside(probe, outs, caches, gs):
    """Name how the softmax Jacobian inside the student's backprop is wrong,
    with notebook 01's diagnoses of J, after checking that dl/do follows dl/dy
    linearly (else part of it does not come from dl/dy)."""
    from coursenet.exercises import nb01
    try:
        found = probe()
    except _Stop:
        return
    if not all(_same(o["do"], g @ J) for o, g, J in zip(outs, gs, found)):
        _fail("your dl/do is not proportional to dl/dy: doubling dl/dy does not"
              " double it, so part of it does not come from dl_dy", "every term of"
              " dl/do is some entry of dl/dy times a local derivative", "do_not_linear")
    refs = [losses.softmax_jacobian(r["y"][None])[0] for r in caches]
    if all(_same(J, ref) for J, ref in zip(found, refs)):
        return
    datas = [{"y": r["y"], "o": r["o"], "c": r["target"]} for r in caches]
    texts = [f"case {i + 1}" for i in range(len(datas))]
    try:
        _match(found, datas, nb01._JACOBIAN_MISTAKES, texts)
        nb01._structural(found, refs, texts, "J", "a loop over the classes visits"
                         " every class, 0 and C - 1 included (a range stops"
                         " before its end value)", offset=False)
        _diagnose.one_triangle("your J", found, refs)
        nb01._where_wrong(found, refs, datas, "J", "compare it with notebook 01's"
                          " softmax_jacobian, entry by entry")
    except _Stop as stop:
        stop.message = stop.message.replace(
            "✗ ", "✗ the softmax Jacobian inside backprop (read off by handing it"
            " dl/dy = 1 at one class, 0 elsewhere): ", 1)
        raise


def _one_input_every_row(key, outs, refs, caches):
    """dW (dV) is the right upstream gradient in every row, times one and the
    same input value for every row: the row's own input is not the one read."""
    inp, up = {"W": ("x", "dk"), "V": ("h", "do")}[key]
    units = []
    for o, ref in zip(outs, refs):
        v = ref[up]
        if v @ v < 1e-8:        # nothing reaches this layer on this case
            units.append(None)
            continue
        if not _same(o[key], np.outer(o[key] @ v / (v @ v), v)):
            return
        units.append(o[key] @ v / (v @ v))
    for j in range(min(len(r[inp]) for r in caches)):
        if any(u is not None for u in units) and all(
                u is None or _same(u, np.full(len(u), r[inp][j]))
                for u, r in zip(units, caches)):
            _fail(f"every row of your d{key} is built from {inp}[{j}], one and the"
                  f" same input for every row", f"row i of d{key} belongs to the"
                  f" input that row i of {key} multiplies: check which entry of"
                  f" {inp} your loop reads", "one_input_every_row")


def _partial_sums(value, like, who, text):
    """Fail when a returned list holds n groups of partial sums whose last
    entries are the n right ones: the append sits inside the inner loop."""
    if not isinstance(value, Mapping):
        return
    for key, want in like.items():
        got = _as_floats(value.get(key), None)
        n = len(want) if np.ndim(want) == 1 else 0
        if got is None or got.ndim != 1 or not n or len(got) <= n or len(got) % n:
            continue
        inner, groups = len(got) // n, got.reshape(n, -1)
        growing = np.ptp(groups, axis=1).max() > 1e-9   # sums that grow, not copies
        if growing and np.allclose(groups[:, -1], want, rtol=RTOL, atol=ATOL):
            name = _STAGE_NAMES.get(key, key)
            _fail(f"your {name} has {len(got)} entries on {text}, {n} groups of"
                  f" {inner} whose last entries are the {n} right ones: partial"
                  " sums, appended on every pass of the inner loop", "append each"
                  " entry once, after its inner loop has finished the sum: check"
                  " how far the append is indented", "appended_per_inner_pass")


def _stage_grads(value, like, who, text):
    """_grads, with the words of a shape message fit for the stages that are
    not parameters (dl/dh has one entry per hidden unit; no params['dh'])."""
    try:
        return _grads(value, like, f"what {who} returned", case=text)
    except _Stop as stop:
        _partial_sums(value, like, who, text)
        for key, unit in (("dy", "class"), ("do", "class"), ("dh", "hidden unit"),
                          ("dk", "hidden unit")):
            stop.message = stop.message.replace(
                f"the gradient of {key} ", f"your {_STAGE_NAMES[key]} ").replace(
                f", the shape of params[{key!r}] there", f": one entry per {unit}")
        stop.message = stop.message.replace(
            "every gradient has the shape of its parameter", "every derivative has"
            " the shape of what it is the derivative of") \
            if "your dl/d" in stop.message else stop.message
        stop.message = _inputs_for_hidden(value, like, stop.message)
        raise


def _inputs_for_hidden(value, like, message):
    """A hidden stage (dl/dh, dl/dk) with D entries, D the number of inputs:
    a first-layer size where the hidden size belongs, as when W is read where
    V belongs (a copied line). The message with that said, or as it was."""
    if not isinstance(value, Mapping) or np.ndim(like.get("W")) != 2:
        return message
    inputs, hidden = np.shape(like["W"])
    for key in ("dh", "dk"):
        got = _as_floats(value.get(key), None)
        if inputs != hidden and got is not None and got.shape == (inputs,) \
                and f"your {_STAGE_NAMES[key]} has shape" in message:
            return message.replace(". Hint:", f": {inputs} is D, the number of"
                                   " inputs, a first-layer size where the hidden"
                                   " size belongs (the first layer's weights W"
                                   " read where V belongs?). Hint:", 1)
    return message


def _misnamed(value, like, who):
    """Round two: the right arrays handed back under other names (W's gradient
    under V and V's under W, b's under c): name the mapping, not a shape."""
    if not isinstance(value, Mapping):
        return
    found = []
    for key, want in like.items():
        try:
            got = np.asarray(value.get(key), dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if got.shape == np.shape(want) and _same(got, want):
            continue
        for other, right in like.items():
            if other != key and got.shape == np.shape(right) and _same(got, right) \
                    and not (got.shape == np.shape(want) and _same(right, want)):
                found.append(f"under {key!r} the right {other!r}")
                break
    if found:
        _fail(f"what {who} returned holds right arrays under the wrong names: "
              + "; ".join(found), "each array goes under its own name: check the"
              " dict you return, key by key", "misnamed_arrays")


def _call_watched(backward, args, bwd, text, num_classes, handed=None):
    """Call ``backward``; while it runs, the ``backprop`` and ``loss_grad`` it
    calls record what they are handed (into ``handed``, ``(helper, argument)``
    pairs), so a malformed argument (a dl/dy or a y of the wrong length, one
    number for a list) is named at the caller rather than as a traceback in a
    right helper, or as a wrong value far below."""
    space = getattr(backward, "__globals__", None)
    if not isinstance(space, dict) or num_classes is None:
        return _call(backward, args, bwd, text)
    handed, inners = [] if handed is None else handed, {}
    for helper, slots in (("backprop", {2: "backprop"}),
                          ("loss_grad", {0: "loss_grad", 1: "target"})):
        inner = space.get(helper)
        if callable(inner) and inner is not backward:
            inners[helper] = inner
            space[helper] = _watching(inner, helper, slots, handed)
    try:
        value = _call(backward, args, bwd, text)
    except _Stop as stop:
        if stop.mistake != "call_arguments_swapped":   # the cause, named already
            _malformed_handed(handed, bwd, text, num_classes)
        raise
    finally:
        space.update(inners)
    _malformed_handed(handed, bwd, text, num_classes)
    return value


def _watching(inner, helper, slots, handed):
    def watched(*given, **named):
        handed.extend((kind, given[slot]) for slot, kind in slots.items()
                      if len(given) > slot)
        return inner(*given, **named)
    watched.__name__ = getattr(inner, "__name__", helper)
    return watched


def _malformed_handed(handed, bwd, text, num_classes):
    """Fail when a helper was handed a dl/dy (backprop) or a y (loss_grad)
    without one entry per class."""
    words = {"backprop": ("the dl/dy", "backprop reads one entry of dl/dy per"
                          " class, the zeros included: keep its length"),
             "loss_grad": ("the y", "loss_grad needs the whole list y, one"
                           " probability per class: it returns one entry for each")}
    for helper, arg in handed:
        if helper == "target":
            whole = isinstance(arg, (int, float, np.integer, np.floating)) \
                and not isinstance(arg, bool) and float(arg).is_integer()
            if not whole or not 0 <= arg < num_classes:
                _fail(f"the target that {bwd} hands to loss_grad on {text} is"
                      f" {_what_it_is(arg)}, where the class index belongs (a"
                      f" whole number from 0 to {num_classes - 1})", "loss_grad's"
                      " second argument is which class is true: pass the one the"
                      " cache keeps", "malformed_target")
            continue
        size = len(arg) if hasattr(arg, "__len__") else None
        if size == num_classes:
            continue
        what, hint = words[helper]
        said = (f"is one number (a {type(arg).__name__}) where it needs a list of"
                f" {num_classes}" if size is None else
                f"has {'1 entry' if size == 1 else f'{size} entries'}, expected"
                f" {num_classes}")
        _fail(f"{what} that {bwd} hands to {helper} on {text} {said}, one per"
              " class", hint, "malformed_dl_dy" if helper == "backprop"
              else "malformed_y")


def _right_only_below(handed, datas, bwd):
    """Right gradients, but a wrong dl/dy handed to backprop: they are right only
    because the student's backprop ignores its dl_dy (Q2's closed form), so the
    step judged here (dl/dy, or the report's fix) is not shown to be right."""
    for given, d in zip(handed, datas):
        right = _right_dl_dy(_reference_cache(d))
        sent = [dl_dy for helper, dl_dy in given if helper == "backprop"]
        if sent and not any(_same_numbers(dl_dy, right) for dl_dy in sent):
            _fail(f"the gradients are right, but only because your backprop"
                  f" ignores its dl_dy: the dl/dy that {bwd} hands to it is not"
                  " step 1's dl/dy, and the result does not show it",
                  "fix backprop first (its check, above, names what it does with"
                  " dl_dy); then this check can judge the dl/dy handed to it",
                  "right_only_below")


def _zeros_handed(handed, bwd):
    """Every dl/dy the student's backward handed to backprop was 0 at every
    class: the entry to keep was zeroed too (a condition never true)."""
    sent = [dl_dy for given in handed for helper, dl_dy in given
            if helper == "backprop"]
    if sent and all(_same_numbers(dl_dy, np.zeros(np.size(dl_dy))) for dl_dy in sent):
        _fail(f"the dl/dy that {bwd} hands to backprop is 0 at every class, the"
              " target's too: the condition that should keep the target's entry"
              " is never true (does it compare a probability, not a position,"
              " with the target?)", "the target's entry is the one to keep:"
              " compare positions with the target", "dl_dy_all_zeroed")


def _what_it_is(value):
    """``a list of 2 numbers``, ``2.0 (a float)``, ``5``: a handed value in words."""
    if isinstance(value, (list, tuple)) or isinstance(value, np.ndarray) \
            and value.ndim:
        kind = "an array" if isinstance(value, np.ndarray) \
            else f"a {type(value).__name__}"
        return f"{kind} of {len(value)} entr{'y' if len(value) == 1 else 'ies'}"
    if isinstance(value, np.ndarray):
        return f"{value!r}"
    return f"{value!r}" + ("" if isinstance(value, (int, np.integer))
                           else f" (a {type(value).__name__})")


def _same_numbers(value, right):
    """Whether ``value`` (anything a student may hand on) equals ``right``."""
    try:
        return _same(np.asarray(value, dtype=np.float64), right)
    except (TypeError, ValueError):
        return False


def _on_square_networks(body, stop, who):
    """backprop raised IndexError on a network whose sizes differ: run the whole
    check on 3-3-3 networks, where a size read from the wrong side cannot run
    past the end, and say what it finds there (or that it is right there)."""
    rng = np.random.default_rng(33)
    square = [_Case(f"a random 3-3-3 network (target = {k})", _network_case(
        "", _random_params(rng, 3, 3, 3), rng.normal(size=(1, 3)), [k]).data)
        for k in (0, 2)]
    try:
        body(square)
    except _Stop as inner:
        if inner.mistake in (None, "raised") or inner.status != "failed":
            raise stop from None
        raise _Stop(f"✗ {who} raises IndexError on a network whose sizes differ;"
                    " on 3-3-3 networks, where it runs: "
                    + inner.message.removeprefix("✗ "), mistake=inner.mistake) \
            from None
    _fail(f"{who} raises IndexError on a network whose sizes differ, and is right"
          " on 3-3-3 networks: a size or an index is taken from the wrong side",
          "W has one row per input and one column per hidden unit, V one row per"
          " hidden unit and one column per class: check which length each loop"
          " runs over", "sizes_confused")


def check_backprop(fn=None):
    """Q3, stage 3: ``fn(params, cache, dl_dy)`` returns every derivative below y.

    Called on the reference cache with a *random* dl/dy; the result must have the
    keys ``dy``, ``do``, ``dh``, ``dk``, ``W``, ``b``, ``V``, ``c``.
    """

    def body(cases=None):
        _need_function(fn, "check_backprop", "your backprop function")
        who = _name(fn, "backprop")
        square = cases is not None
        cases = cases or _cases(seed=6)
        rng = np.random.default_rng(6)
        datas, texts = [d for _, d in cases], [t for t, _ in cases]
        gs = [rng.normal(0.0, 1.0, d["P"].shape[1]) for d in datas]
        refs = [_backprop_reference(d, g) for d, g in zip(datas, gs)]
        outs = []
        if not square:
            _keeps_state(fn, who, *_network_state_cases(_backprop_args,
                                                        _backprop_reference))
        for text, d, g, ref in zip(texts, datas, gs, refs):
            try:
                value = _call(fn, _backprop_args(d, g), who,
                              f"{text} with a random dl/dy")
            except _Stop as stop:
                if isinstance(stop.raised, IndexError) and not square:
                    _on_square_networks(body, stop, who)
                raise
            like = {k: np.asarray(ref[k]) for k in _STAGES}
            _misnamed(value, {k: like[k] for k in "WbVc"}, who)
            outs.append(_stage_grads(value, like, who, text))
            _finite(outs[-1], f"what {who} returned", text)
        for key in _STAGES:
            if not all(_same(o[key], r[key]) for o, r in zip(outs, refs)):
                _stage_problem(key, outs, refs, datas, gs, texts,
                               _unit_probe(fn, who, datas, texts))
        for key in _STAGES:      # within tolerance, but rounded
            _diagnose.rounded(f"your {_STAGE_NAMES[key]}", [o[key] for o in outs],
                              [r[key] for r in refs])
        _keeps_state(fn, who, *_network_state_cases(_backprop_args,
                                                    _backprop_reference),
                     right_so_far=True)
        return (f"✓ {who}: dl/dy, dl/do, dl/dh, dl/dk and the four parameter"
                f" gradients are right for a random dl/dy on {len(cases)} networks")

    return _run(body)


# --------------------------------------------------------------------------
# forward and backward together: the parameters
# --------------------------------------------------------------------------


def check_backward(forward=None, backward=None):
    """Q3, stage 4: ``forward(params, x, target) -> (loss, cache)``,
    ``backward(params, cache)`` -> the gradients of ``W``, ``b``, ``V``, ``c``.

    ``params`` holds plain lists (``W`` D x H, ``b``, ``V`` H x C, ``c``), ``x`` a
    list of floats, ``target`` an int. ``backward`` gets what ``forward``
    returned as its cache (a dict, checked too) and returns gradients with the
    keys and (nested-list) shapes of ``params``; lists, tuples or arrays are fine.
    """

    def body():
        _need_function(forward, "check_backward",
                       "your forward function as its first argument")
        _need_function(backward, "check_backward",
                       "your backward function as its second argument")
        fwd, bwd = _name(forward, "forward"), _name(backward, "backward")
        cases = _cases(seed=3)
        refs = []
        for _, d in cases:  # the reference: coursenet.scalar, refereed below
            lists = _as_lists(d["params"])
            cache = scalar.forward(lists, d["X"][0].tolist(), int(d["y"][0]))[1]
            refs.append({k: np.array(v) for k, v in
                         scalar.backward(lists, cache).items()})
        _referee_network(cases[1].data, {k: refs[1][name]
                                         for k, name in _SCALAR_KEYS.items()})
        caches = _forward_outputs(forward, cases, fwd)
        outs, handed = [], []
        for (text, d), cache, ref in zip(cases, caches, refs):
            handed.append([])
            value = _call_watched(backward, (_as_lists(d["params"]), cache), bwd,
                                  text, len(cache["y"]) if isinstance(cache, Mapping)
                                  and "y" in cache else None, handed[-1])
            _misnamed(value, ref, bwd)
            outs.append(_grads(value, ref, f"what {bwd} returned", case=text))
            _finite(outs[-1], f"what {bwd} returned", text)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            for key in refs[0]:      # within tolerance, but rounded
                _diagnose.rounded(f"your gradient of {key}", [o[key] for o in outs],
                                  [r[key] for r in refs])
            _right_only_below(handed, [d for _, d in cases], bwd)
            return (f"✓ {fwd} and {bwd}: the loss and every gradient are right on"
                    f" the course's example and on {len(cases) - 1} random"
                    " asymmetric networks (first layer included)")
        course_ok = _same(outs[0], refs[0])
        datas = [d for _, d in cases]
        _zeros_handed(handed, bwd)
        _match(outs, datas, _network_mistakes(course_ok, keys=_SCALAR_KEYS))
        _backward_step(outs, datas, bwd)
        _backward_placement(outs, refs, [t for t, _ in cases])
        try:
            _network_fallback(outs, refs, cases, list(_SCALAR_KEYS.values()),
                              course_ok)
        except _Stop as stop:
            if stop.mistake is None:  # the general message: name the step instead
                _backward_step(outs, datas, bwd, general=True)
            raise

    return _run(body)


def _backward_placement(outs, refs, texts):
    """Round two, for each wrong parameter gradient: the right one times a
    number, rounded, plus a number, or right values in the wrong places."""
    for key in refs[0]:
        mine, right = [o[key] for o in outs], [r[key] for r in refs]
        if all(_same(m, r) for m, r in zip(mine, right)) \
                or all(np.allclose(m, 0.0) for m in mine):  # named by the layer
            continue
        telling = [i for i, r in enumerate(right) if np.abs(r).max() > 1e-9]
        what = f"your gradient of {key}"
        found = _diagnose.factors([mine[i] for i in telling],
                                  [right[i] for i in telling])
        if found and np.allclose(found, found[0], rtol=1e-6):  # one factor: here;
            # one per case: a wrong dl/dy, named by _backward_step
            _diagnose.scaled(what, [mine[i] for i in telling],
                             [right[i] for i in telling], [texts[i] for i in telling])
        _diagnose.rounded(what, mine, right)
        _diagnose.plus_constant(what, mine, right)
        _diagnose.rearranged(what, mine, right, [
            (f"the right gradient of {k}", "another_parameters_gradient",
             [r[k] for r in refs]) for k in refs[0] if k != key])


def _right_dl_dy(r):
    g = np.zeros(len(r["y"]))
    g[r["target"]] = -1.0 / r["y"][r["target"]]
    return g


def _zeroes_neighbours(r):
    """Only the classes next to the target zeroed (target - 1 and + 1)."""
    g = -1.0 / np.asarray(r["y"], dtype=float)
    t = r["target"]
    g[[i for i in (t - 1, t + 1) if 0 <= i < len(g)]] = 0.0
    return g


def _zeroes_one_before(r):
    g = -1.0 / np.asarray(r["y"], dtype=float)
    g[r["target"] - 1] = 0.0     # Python's -1 for target 0: the last class
    return g


def _first_zeroed_only(r):
    """The loop that zeroes the other classes stops after its first one."""
    g = -1.0 / np.asarray(r["y"], dtype=float)
    g[next(i for i in range(len(g)) if i != r["target"])] = 0.0
    return g


def _binary_fix(r):
    """The report's fix for two classes, ``dl_dy[1 - target] = 0``, on C classes
    (Python's negative indices included)."""
    g = list(-1.0 / r["y"])
    g[1 - r["target"]] = 0.0
    return np.array(g)


# What a backward may hand backprop as dl/dy instead of step 1's: (id,
# diagnosis, hint, dl/dy from the reference cache r).
_DL_DY_MISTAKES = [
    ("dl_dy_is_dl_do", "the layers below dl/do are right, but the dl/dy that {bwd}"
     " hands to backprop is Q2's dl/do (the logits' gradient): the softmax step is"
     " then taken twice", "backprop takes the gradient with respect to the"
     " probabilities y and goes through the softmax itself: hand it step 1's"
     " dl/dy", lambda r: r["y"] - np.eye(len(r["y"]))[r["target"]]),
    ("dl_dy_is_y", "the layers below dl/do are right, but {bwd} hands backprop the"
     " probabilities y themselves as dl/dy", "step 1 (loss_grad) computes dl/dy"
     " from y and the target: hand backprop what it returns", lambda r: r["y"]),
    ("zeroes_target", "the layers below dl/do are right, but the dl/dy that {bwd}"
     " hands to backprop is zero at the target and non-zero at every other class:"
     " the condition is the wrong way round", "the loss depends on the target's"
     " probability alone: the target's entry is the one to keep",
     lambda r: np.where(np.arange(len(r["y"])) == r["target"], 0.0, -1.0 / r["y"])),
    ("binary_fix", "the layers below dl/do are right, but the dl/dy that {bwd}"
     " hands to backprop zeroes one other class's entry only: right for two"
     " classes, wrong for more", "with C classes, every entry but the target's"
     " must be zeroed; the check's networks have up to 5 classes", _binary_fix),
    ("dl_dy_keeps_y", "the layers below dl/do are right, but the dl/dy that {bwd}"
     " hands to backprop holds the probability y (p) at the target, where it needs"
     " the derivative there", "keep step 1's derivative at the target and 0"
     " elsewhere: the list to filter is dl/dy, not p",
     lambda r: np.where(np.arange(len(r["y"])) == r["target"], r["y"], 0.0)),
    ("fix_stops_short", "the layers below dl/do are right, but the dl/dy that {bwd}"
     " hands to backprop keeps -1/y at the last class: the loop that zeroes the"
     " other classes stops one short", "every class but the target is zeroed, the"
     " last one included", lambda r: np.where(
         np.arange(len(r["y"])) == r["target"], -1.0 / r["y"],
         np.where(np.arange(len(r["y"])) == len(r["y"]) - 1, -1.0 / r["y"], 0.0))),
    *[("fix_zeroes_few", "the layers below dl/do are right, but the dl/dy that"
       " {bwd} hands to backprop zeroes " + said + " only: with three classes or"
       " more, other classes keep -1/y", "with C classes, every entry but the"
       " target's must be zeroed; the check's networks have up to 5 classes", rule)
      for said, rule in (("the class before the target", _zeroes_one_before),
                         ("the classes next to the target", _zeroes_neighbours))],
    ("fix_stops_after_first", "the layers below dl/do are right, but the dl/dy"
     " that {bwd} hands to backprop zeroes the first class other than the target"
     " and no more: the loop that zeroes them ends after its first one (a"
     " `break` or a `return` inside it?)", "every class but the target is"
     " zeroed: the loop runs over all of them", _first_zeroed_only),
    *[("fix_one_side", "the layers below dl/do are right, but the dl/dy that {bwd}"
       f" hands to backprop still holds -1/y at the classes {side} the target:"
       f" only the classes {done} it were zeroed", "every class but the target is"
       " zeroed, on both sides of it", lambda r, keep=keep: np.where(
           keep(np.arange(len(r["y"])), r["target"]), -1.0 / r["y"], 0.0))
      for side, done, keep in (("after", "before", lambda i, t: i >= t),
                               ("before", "after", lambda i, t: i <= t))],
]


def _dl_dy_other_class(outs, caches, bwd):
    """The student's dl/do (their dc) is one row of J times a number: their
    dl/dy is non-zero at that row's class only. Name the class when it is not
    the target."""
    picks = []
    for o, r in zip(outs, caches):
        y = r["y"]
        rows = [y[j] * (np.eye(len(y))[j] - y) for j in range(len(y))]
        hits = [j for j, row in enumerate(rows)
                if _same(np.asarray(o["c"]), (o["c"] @ row / (row @ row)) * row)]
        if not hits:
            return
        picks.append(hits)      # two classes: both rows of J are one line
    if all(r["target"] in j for j, r in zip(picks, caches)):
        return
    for name, pick in (("the class before the target", lambda r: (r["target"] - 1)
                        % len(r["y"])),
                       ("the class after the target", lambda r: (r["target"] + 1)
                        % len(r["y"])),
                       ("class 0", lambda r: 0),
                       ("the last class", lambda r: len(r["y"]) - 1),
                       ("the most probable class", lambda r: int(np.argmax(r["y"])))):
        if all(pick(r) in j for j, r in zip(picks, caches)):
            _fail(f"the layers below dl/do are right, but the dl/dy that {bwd} hands"
                  f" to backprop is non-zero at {name} only, not at the target",
                  "the loss depends on the target's probability alone: the one"
                  " non-zero entry of dl/dy sits at the target's position",
                  "dl_dy_other_class")


def _dl_dy_by_probability(outs, datas, caches, bwd):
    """Fail when the dl/dy handed to backprop keeps every entry whose
    probability equals the target's (the class picked by its probability, not
    its index): different from the right one only where probabilities tie."""
    def kept(r):
        return np.where(r["y"] == r["y"][r["target"]], -1.0 / r["y"], 0.0)

    tied = [r for r in caches if np.count_nonzero(r["y"] == r["y"][r["target"]]) > 1]
    if tied and all(_same(o["c"], _backprop_reference(d, kept(r))["do"])
                    for o, d, r in zip(outs, datas, caches)):
        y = ", ".join(f"{v:.3g}" for v in tied[0]["y"])
        count = np.count_nonzero(tied[0]["y"] == tied[0]["y"][tied[0]["target"]])
        keeps = "both entries" if count == 2 else f"all {count} tied entries"
        _fail(f"at y = [{y}] your dl/dy (the one {bwd} hands to backprop) keeps"
              f" {keeps}: it picks the class by its probability, not by its"
              " index", "two classes can have the same probability: compare each"
              " entry's index with the target", "dl_dy_by_probability")


def _target_value_problem(outs, caches, bwd):
    """A dl/dy that is 0 off the target, with a wrong number at the target: the
    student's dl/do (their dc) is then that number times row ``target`` of J, so
    the number can be read off and compared with step 1's."""
    values = []
    for o, r in zip(outs, caches):
        y, t = r["y"], r["target"]
        row = y[t] * (np.eye(len(y))[t] - y)        # row t of the softmax Jacobian
        value = float(o["c"] @ row / (row @ row))
        if not _same(np.asarray(o["c"]), value * row):
            return
        values.append((value, -1.0 / y[t], y[t]))
    said, right, _ = values[-1]
    looks = {"the probability itself": lambda y: y,
             "minus the probability": lambda y: -y,
             "one over the probability, without the minus": lambda y: 1.0 / y,
             "the loss there, not its slope": lambda y: -np.log(y),
             "1": lambda y: 1.0, "-1": lambda y: -1.0}
    what = next((name for name, f in looks.items()
                 if all(np.isclose(v, f(y)) for v, _, y in values)), None)
    # step 1 right, but handed another list of the cache than y
    for key in ("o", "h", "k", "x"):
        if all(r["target"] < len(r[key]) and r[key][r["target"]] != 0
               and np.isclose(v, -1.0 / r[key][r["target"]])
               for (v, _, _), r in zip(values, caches)):
            what = f"step 1 applied to cache['{key}'], {_CACHE_WHAT[key]}, not to y"
    _fail(f"the layers below dl/do are right, and the dl/dy that {bwd} hands to"
          " backprop acts as one that is 0 off the target (as it should be) and"
          f" {said:.4g} at the target on the last case, where step 1 gives"
          f" {right:.4g}" + (f": it looks like {what}" if what else "")
          + " (the softmax ignores a number added to every entry of dl/dy, so that"
          " is all the check can see)", "at the target, dl/dy is the slope of the"
          " loss with respect to that probability: step 1's value",
          "dl_dy_target_value")


def _dc_alone_wrong(outs, datas, caches, bwd):
    """dV, dW and db right, dc wrong: the list returned under 'c' is not the
    dl/do the others were made from (backprop's dl/dy, say)."""
    rights = [_backprop_reference(d, _right_dl_dy(r)) for d, r in zip(datas, caches)]
    if not all(_same(o[k], m[k]) for o, m in zip(outs, rights) for k in "WbV"):
        return
    said = ": it holds dl/dy" if all(_same(o["c"], m["dy"])
                                     for o, m in zip(outs, rights)) else ""
    _fail(f"{bwd} returns dW, db and dV right, but its dc is wrong{said}: the list"
          " under 'c' is not the dl/do the others were made from", "dc is dl/do"
          " itself: take it from backprop's result under its own key", "wrong_dc_key")


def _backward_step(outs, datas, bwd, general=False):
    """Name the step of backward that is wrong: the layers below dl/do are judged
    from the student's own dc (which is dl/do), so a wrong dl/dy handed to
    backprop is told from a wrong layer. ``general``: also fail with a general
    message for the step (else only a known mistake fails)."""
    caches = [_reference_cache(d) for d in datas]
    mine = [_backprop_reference(d, None, do=o["c"]) for o, d in zip(outs, datas)]
    below_ok = all(_same(o[k], m[k]) for o, m in zip(outs, mine) for k in "WbV")
    if below_ok:
        _dl_dy_by_probability(outs, datas, caches, bwd)
        for mid, diagnosis, hint, dl_dy in _DL_DY_MISTAKES:
            if all(_same(o["c"], _backprop_reference(d, dl_dy(r))["do"])
                   for o, d, r in zip(outs, datas, caches)):
                _fail(diagnosis.format(bwd=bwd), hint, mid)
        if general:
            _dl_dy_other_class(outs, caches, bwd)
            _target_value_problem(outs, caches, bwd)
            sums = [abs(float(np.sum(o["c"]))) for o in outs]
            if max(sums) > 1e-6:
                _fail(f"the layers below dl/do are right, but dc (dl/do) sums to"
                      f" {max(sums):.4g}: the softmax step is wrong", "dl/do ="
                      " dl/dy J sums to 0 whatever dl/dy is: run check_backprop",
                      "wrong_do")
            _fail(f"the layers below dl/do are right, but the dl/dy that {bwd}"
                  " hands to backprop is wrong", "print it on a case with three"
                  " classes: step 1's dl/dy is 0 at every class but the target",
                  "wrong_dl_dy")
        return
    _dc_alone_wrong(outs, datas, caches, bwd)
    seen = [{"V": o["V"], "dk": o["b"], "W": o["W"], "b": o["b"]} for o in outs]
    for key in ("V", "dk", "W"):
        if all(_same(s[key], m[key]) for s, m in zip(seen, mine)):
            continue
        for stage, mid, diagnosis, hint, answer in _STAGE_MISTAKES:
            if stage == key and all(
                    _same(s[key], answer(r, m, d["params"], _right_dl_dy(r)))
                    for s, r, m, d in zip(seen, caches, mine, datas)):
                _fail(f"{bwd}, one step at a time from your dc: {diagnosis}", hint,
                      mid)
        if general:
            diagnosis, hint, mid = _STAGE_FALLBACK["dk" if key == "dk" else key]
            _fail(f"{bwd}, one step at a time from your dc: {diagnosis}", hint, mid)
        return



# --------------------------------------------------------------------------
# The bridge to notebook 04: backpropagation on a graph given as a list of nodes
# --------------------------------------------------------------------------

_OPS = ("input", "add", "mul", "sigmoid")


def _evaluate(nodes, inputs):
    """The value of every node, in the order of the list (a forward pass)."""
    values = {}
    for name, op, args in nodes:
        if op == "input":
            values[name] = float(inputs[name])
        elif op == "add":
            values[name] = float(sum(values[a] for a in args))
        elif op == "mul":
            values[name] = float(values[args[0]] * values[args[1]])
        else:
            values[name] = scalar.sigmoid(values[args[0]])
    return values


def _graph_backward(nodes, values, order="reverse", accumulate=True, chain=True,
                    sigmoid="output", mul="other", seed=1.0, add="all",
                    stop_at_input=False, start=0.0, carry="derivative",
                    stop_after=None, overwrite_in=()):
    """dout/dnode for every node by reverse accumulation; the keywords switch on
    the known mistakes (the reference is the default). ``start``: what every
    node's derivative but the output's starts at (a number, or "value");
    ``carry``: what a node sends back times the local slope (its "derivative",
    its "value", the input's value "input", or the input's "own" derivative);
    ``order``: "reverse", "forward", or the names' order "A to Z" / "Z to A";
    ``stop_after``: the walk ends after this many nodes; ``overwrite_in``: the
    operations whose inputs' derivatives are written, not added to."""
    grads = {name: values[name] if start == "value" else start
             for name, _, _ in nodes}
    grads[nodes[-1][0]] = values[nodes[-1][0]] if seed == "value" else seed
    walk = {"reverse": lambda: list(reversed(nodes)), "forward": lambda: nodes,
            "A to Z": lambda: sorted(nodes, key=lambda n: n[0]),
            "Z to A": lambda: sorted(nodes, key=lambda n: n[0], reverse=True)}[order]()
    for visited, (name, op, args) in enumerate(walk):
        if stop_after is not None and visited == stop_after:
            break
        if stop_at_input and op == "input":
            break
        if op == "add":
            local = {"all": [1.0] * len(args), "first": [1.0],
                     "share": [1.0 / len(args)] * len(args)}[add]
        elif op == "mul":
            a, b = values[args[0]], values[args[1]]
            local = {"other": [b, a], "own": [a, b], "one": [1.0, 1.0],
                     "own_first": [a, a], "own_second": [b, b],
                     "product": [values[name]] * 2,
                     "grads": [grads[args[1]], grads[args[0]]]}[mul]
        elif op == "sigmoid":
            v = values[args[0]] if sigmoid == "input" else values[name]
            local = {"none": [1.0], "value": [v]}.get(sigmoid, [v * (1 - v)])
        else:
            local = []
        for arg, slope in zip(args, local):
            sent = {"derivative": grads[name], "value": values[name],
                    "input": values[arg], "own": grads[arg]}[carry]
            step = sent * slope if chain else slope
            grads[arg] = grads[arg] + step if accumulate and op not in overwrite_in \
                else step
    return grads


def _graph_cases(seed):
    """The notebook's example (one path of 02's network), a node used twice, and
    random graphs with fan-out."""
    path = [("x0", "input", []), ("x1", "input", []), ("W00", "input", []),
            ("W10", "input", []), ("b0", "input", []), ("V00", "input", []),
            ("p0", "mul", ["x0", "W00"]), ("p1", "mul", ["x1", "W10"]),
            ("k0", "add", ["p0", "p1", "b0"]), ("h0", "sigmoid", ["k0"]),
            ("o0", "mul", ["h0", "V00"])]
    path_inputs = {"x0": 1.0, "x1": -1.0, "W00": 1.0, "W10": -1.0, "b0": 0.0,
                   "V00": 1.0}
    twice = [("a", "input", []), ("b", "input", []), ("s", "sigmoid", ["a"]),
             ("u", "mul", ["s", "b"]), ("v", "add", ["s", "u", "u"]),
             ("w", "mul", ["v", "v"])]
    cases = [("the notebook's example (one path of the 2-3-2 network)", path,
              path_inputs),
             ("a graph where s feeds two nodes, v = s + u + u and w = v * v", twice,
              {"a": 0.3, "b": -1.7})]
    # inputs listed where they are first used, after operation nodes: the
    # list is in forward order, which does not put every input first, so a walk
    # that stops at the first input it meets is caught here
    interleaved = [("a", "input", []), ("s", "sigmoid", ["a"]), ("b", "input", []),
                   ("u", "mul", ["s", "b"]), ("d", "input", []),
                   ("v", "add", ["u", "d", "s"])]
    cases.append(("a graph whose inputs b and d come after operation nodes",
                  interleaved, {"a": 0.4, "b": -1.2, "d": 0.7}))
    rng = np.random.default_rng(seed)
    for size in (7, 9):
        nodes = [(f"i{n}", "input", []) for n in range(3)]
        for n in range(size - 3):
            op = ("add", "mul", "sigmoid")[n % 3]
            names = [name for name, _, _ in nodes]
            count = 1 if op == "sigmoid" else 2
            args = [str(a) for a in rng.choice(names, count, replace=False)]
            nodes.append((f"n{n}", op, args))
        nodes.append(("out", "add", [name for name, _, _ in nodes[-3:]]))
        cases.append((f"a random graph of {len(nodes)} nodes", nodes,
                      {f"i{n}": float(rng.normal()) for n in range(3)}))
    return [_Case(text, {"nodes": nodes, "values": _evaluate(nodes, inputs),
                         "inputs": inputs}) for text, nodes, inputs in cases]


def _referee_graph(d, ref):
    """Reference derivatives w.r.t. the inputs against central differences."""
    names = list(d["inputs"])
    x = np.array([d["inputs"][n] for n in names])

    def out(z):
        return _evaluate(d["nodes"], dict(zip(names, z)))[d["nodes"][-1][0]]

    _referee(np.array([ref[n] for n in names]),
             gradcheck.numerical_gradient(out, x), "graph derivatives")


_GRAPH_MISTAKES = [
    Mistake("graph_seed", "every derivative is 0: nothing starts the pass",
            "the output's derivative with respect to itself is the first value"
            " of the backward pass, and it is not 0",
            lambda d: _graph_backward(d["nodes"], d["values"], seed=0.0)),
    Mistake("graph_seed_value", "the pass starts from the output's value, not from"
            " the output's derivative with respect to itself", "how much does the"
            " output change when the output itself changes by a little?",
            lambda d: _graph_backward(d["nodes"], d["values"], seed="value")),
    Mistake("graph_add_first_only", "a sum passes the derivative to its first"
            " input only", "a sum changes by the same amount whichever of its"
            " inputs is nudged: each input gets the sum's derivative",
            lambda d: _graph_backward(d["nodes"], d["values"], add="first")),
    Mistake("graph_overwrite", "a node that feeds two others (or one node twice)"
            " keeps only one of its contributions: the last one written replaces"
            " the others", "a change of such a node reaches the output along"
            " every path out of it, and the chain rule adds the paths up",
            lambda d: _graph_backward(d["nodes"], d["values"], accumulate=False)),
    *[Mistake("graph_overwrite", f"what a {kind} node sends back to its inputs"
              " replaces their derivatives instead of adding to them: a node that"
              f" feeds a {kind} node and another node (or one {kind} node twice)"
              " keeps one contribution only", "a change of such a node reaches the"
              " output along every path out of it, and the chain rule adds the"
              " paths up", lambda d, op=op: _graph_backward(
                  d["nodes"], d["values"], overwrite_in=(op,)))
      for op, kind in (("add", "sum"), ("mul", "product"))],
    Mistake("graph_stops_at_input", "stops early: nodes after the first input in"
            " your walk get no derivative", "an input node has nothing to pass on,"
            " but the nodes listed before it still do: skip it and go on",
            lambda d: _graph_backward(d["nodes"], d["values"], stop_at_input=True)),
    Mistake("graph_forward_order", "the nodes are visited in the order of the"
            " list, the forward order: a node passes its derivative on before it"
            " has received it", "a node's derivative is complete only when every"
            " node it feeds has been visited: walk the list from its end",
            lambda d: _graph_backward(d["nodes"], d["values"], order="forward")),
    Mistake("graph_no_chain", "each input gets the node's local derivative alone,"
            " not multiplied by the node's own derivative",
            "the chain rule: how the output changes with a node, times how the"
            " node changes with its input",
            lambda d: _graph_backward(d["nodes"], d["values"], chain=False)),
    Mistake("graph_mul_as_add", "a product's local derivatives are taken as 1,"
            " as for a sum", "nudge one factor of a * b by a little: by how much"
            " does the product change?",
            lambda d: _graph_backward(d["nodes"], d["values"], mul="one")),
    Mistake("graph_sigmoid_slope", "a sigmoid node passes its derivative on"
            " unchanged: its local derivative is missing", "the sigmoid's slope is"
            " at most 0.25, so its input's derivative is smaller than its own",
            lambda d: _graph_backward(d["nodes"], d["values"], sigmoid="none")),
    Mistake("sigmoid_from_k", "the sigmoid's local derivative is taken from its"
            " input k instead of from its output h", "the sigmoid's derivative is"
            " a function of its output, which is the node's own value",
            lambda d: _graph_backward(d["nodes"], d["values"], sigmoid="input")),
    Mistake("graph_sigmoid_h", "a sigmoid node's local derivative is its output h"
            " itself, where the sigmoid's slope is needed (it is at most 0.25)",
            "nudge the input of a sigmoid node by a little: by how much does its"
            " output change?", lambda d: _graph_backward(d["nodes"], d["values"],
                                                         sigmoid="value")),
    Mistake("graph_add_fraction", "a sum with n inputs passes on 1/n of its"
            " derivative to each input, where it passes the whole derivative to"
            " every input", "nudge one input of a sum by a little: by how much does"
            " the sum change?", lambda d: _graph_backward(d["nodes"], d["values"],
                                                          add="share")),
    Mistake("graph_mul_product", "a product's local derivative is the product"
            " itself (the node's own value), where the slope with respect to one"
            " factor is the other factor", "nudge one factor of a * b by a little:"
            " by how much does the product change?",
            lambda d: _graph_backward(d["nodes"], d["values"], mul="product")),
    Mistake("graph_mul_own", "a product's local derivative with respect to one"
            " factor is that factor itself", "nudge one factor of a * b by a"
            " little: by how much does the product change?",
            lambda d: _graph_backward(d["nodes"], d["values"], mul="own")),
    *[Mistake("graph_mul_own", f"a product's local derivative with respect to its"
              f" {which} input is that input's own value, where the other factor"
              " belongs", "nudge one factor of a * b by a little: by how much does"
              " the product change?", lambda d, how=how: _graph_backward(
                  d["nodes"], d["values"], mul=how))
      for which, how in (("first", "own_first"), ("second", "own_second"))],
    Mistake("graph_mul_from_grads", "a product's local derivatives are read from"
            " the derivatives found so far (grads), where the factors' values"
            " belong", "the slope of a * b with respect to a is a number of the"
            " forward pass: nudge a by a little and watch the product",
            lambda d: _graph_backward(d["nodes"], d["values"], mul="grads")),
]


def _graph_state_cases(d):
    """Two passes over one graph (the notebook's example) with other inputs, for
    nb01._keeps_state: (text, fresh arguments, right answer)."""
    cases = []
    for text, scale in (("the notebook's example with its inputs halved", 0.5),
                        ("the same graph with its inputs doubled", 2.0)):
        values = _evaluate(d["nodes"], {n: v * scale for n, v in d["inputs"].items()})
        cases.append((text, lambda values=values: (
            [(name, op, list(args)) for name, op, args in d["nodes"]],
            dict(values)), _graph_backward(d["nodes"], values)))
    return cases


def _output_not_one(outs, cases):
    """The output's derivative with respect to itself is 1, on every graph: the
    walk starts there. Named when it is not 1 on every graph (seeded at another
    node, seeded with another number), with the node that holds the 1 if one
    does."""
    tops = [d["nodes"][-1][0] for _, d in cases]
    if any(np.isclose(o[top], 1.0) for o, top in zip(outs, tops)):
        return
    (text, d), out, top = cases[0], outs[0], tops[0]
    ones = [n for n, _, _ in d["nodes"][:-1] if out[n] == 1.0]
    start = (f": your walk starts from node {ones[0]!r}"
             + (", the first in the list" if ones[0] == d["nodes"][0][0] else "")
             + ", which holds the 1" if len(ones) == 1 else "")
    _fail(f"the derivative of the output node {top!r} with respect to itself is"
          f" {float(out[top]):.4g} on {text}, not 1{start}", "how much does the"
          " output change when the output itself changes by a little? The"
          " backward pass starts there, at the last node of the list, and every"
          " other node starts at 0",
          "graph_output_not_one")


def _first_wrong_node(outs, refs, cases):
    """Walking back from the output, the first node whose derivative is off, and
    the operations of the nodes it feeds (their local derivatives sent it)."""
    for out, ref, (text, d) in zip(outs, refs, cases):
        for name, _, _ in reversed(d["nodes"]):
            if not _same(out[name], ref[name]):
                feeds = sorted({op for _, op, args in d["nodes"] if name in args})
                via = (f", which feeds {' and '.join(repr(op) for op in feeds)}"
                       " node(s): check that operation's local derivative"
                       if feeds else ": it is the output" if name == d["nodes"][-1][0]
                       else ": it feeds no node, so the output does not move with"
                       " it")
                return (f"walking back from the output on {text}, the first wrong"
                        f" derivative is that of node {name!r}{via}")
    return "compare each node's derivative with a small nudge of its value"


def _slope_reading(out, ref, d):
    """Walking back from the output, the first node whose derivative is off: when
    it feeds one node whose derivative is right, the student's local derivative
    of that node's operation is their ratio. Returns (input, node, op, args,
    student's slope, right slope), or None when it cannot be read off."""
    for name, _, _ in reversed(d["nodes"]):
        if _same(out[name], ref[name]):
            continue
        users = [(n, op, args) for n, op, args in d["nodes"] if name in args]
        if len(users) != 1 or users[0][2].count(name) != 1:
            return None
        user, op, args = users[0]
        if not _same(out[user], ref[user]) or abs(ref[user]) < 1e-6:
            return None
        return name, user, op, args, out[name] / out[user], ref[name] / ref[user]
    return None


def _local_slope_problem(outs, refs, cases):
    """No known mistake: quote the first local derivative that can be read off
    (the node, its operation, the student's slope and the right one)."""
    for out, ref, (text, d) in zip(outs, refs, cases):
        reading = _slope_reading(out, ref, d)
        if reading is None:
            continue
        name, user, op, _, mine, right = reading
        a = "an" if op[0] in "aeiou" else "a"
        _fail(f"the local derivative of the {op!r} node {user!r} on {text} is"
              f" {mine:.4g} in your code, {right:.4g} in fact (its input {name!r}"
              " gets the wrong derivative)", f"nudge one input of {a} {op!r} node"
              " by a little: by how much does its output change?",
              "graph_local_slope")


def _graph_properties(outs, refs, cases):
    """Name a wrong pass by what it does to the whole graph: nothing passed on
    below the output, or wrong only where one node takes the same input twice."""
    output = [d["nodes"][-1][0] for _, d in cases]
    if all(_same(np.asarray(o[top]), r[top]) and all(
            o[n] == 0 for n in o if n != top) for o, r, top in zip(outs, refs, output)):
        _fail("only the output's own derivative is set; every node below it keeps"
              " the 0 it starts with: nothing is passed on", "what an input"
              " collects is the derivative of the node it feeds (the output's, to"
              " begin with) times the local slope: check that the walk reaches the"
              " output node and which derivative your update reads",
              "graph_output_skipped")
    twice = [[(n, op, args) for n, op, args in d["nodes"]
              if len(set(args)) < len(args)] for _, d in cases]
    right = [_same(o, r) for o, r in zip(outs, refs)]
    if not all(ok or tw for ok, tw in zip(right, twice)):
        return
    wrong = [i for i, ok in enumerate(right) if not ok]
    for i in wrong:    # name a node whose twice-taken input got the wrong derivative
        for name, op, args in twice[i]:
            arg = next(a for a in args if args.count(a) > 1)
            if not _same(np.asarray(outs[i][arg]), refs[i][arg]):
                sign = {"add": " + ", "mul": " * "}.get(op, ", ")
                _fail(f"right on every graph except {cases[i].text}, where one node"
                      f" takes the same input twice ({name!r} = "
                      f"{sign.join(args)}): there a node whose two inputs are one"
                      f" node gives it one contribution, not two", "each slot of a"
                      " node is its own path to its input, even when two slots"
                      " hold the same node: both add up", "graph_same_input")


_WHOLE_PASS = [
    ({"start": "value"}, "every node's derivative starts from the node's value,"
     " not from 0 (as if the derivatives began as a copy of the values)", "only"
     " the output's derivative starts at 1; every other node's starts at 0 and"
     " collects what its users send", "graph_starts_at_value"),
    ({"start": 1.0, "carry": "own"}, "each input's derivative grows by its own"
     " derivative times the slope, where the derivative of the node it feeds"
     " belongs", "what an input collects is the derivative of the node it feeds"
     " times the local slope", "graph_own_derivative"),
    ({"start": 1.0}, "every node's derivative starts at 1, not only the output's:"
     " the extra 1s add up along the way back", "only the output's derivative"
     " starts at 1; every other node's starts at 0 and collects what its users"
     " send", "graph_all_start_at_one"),
    ({"carry": "value"}, "each node sends its inputs its own value times the local"
     " slope, where its derivative belongs", "what flows back from a node is its"
     " derivative (how much the output moves with it), not its value",
     "graph_value_for_derivative"),
    ({"carry": "input"}, "each input receives its own value times the local"
     " slope, where the derivative of the node it feeds belongs", "what flows"
     " back to an input is the derivative of the node it feeds, times the local"
     " slope", "graph_value_for_derivative"),
    ({"start": 1.0, "carry": "value"}, "each node sends its value, not its"
     " derivative, and every derivative starts at 1", "what flows back is the"
     " derivative, and only the output's starts at 1", "graph_value_for_derivative"),
]


def _graph_whole_pass(outs, refs, cases):
    """Round two: judge the whole pass before one node: every derivative the right
    one plus 1, or a known whole-pass variant (all start at 1, values passed)."""
    names = [[n for n, _, _ in d["nodes"][:-1]] for _, d in cases]
    if all(np.isclose(o[n], r[n] + 1.0) for o, r, ns in zip(outs, refs, names)
           for n in ns):
        _fail("every derivative below the output is the right one plus 1",
              "a derivative starts at 0 and collects what its users send; only the"
              " output's is 1", "graph_plus_one")
    for keywords, diagnosis, hint, id_ in _WHOLE_PASS:
        if all(_same({n: np.asarray(v) for n, v in o.items()},
                     _graph_backward(d["nodes"], d["values"], **keywords))
               for o, (_, d) in zip(outs, cases)):
            _fail(f"your pass: {diagnosis}", hint, id_)


class _WatchedNodes(list):
    """The node list handed to a probe call: it records every walk over it (a
    for loop, reversed(), sorted(), list()) as [direction, nodes handed out],
    so a walk left before its end (a return or break inside the loop) shows."""

    def __init__(self, nodes):
        super().__init__(nodes)
        self.walks = []

    def _walk(self, indices, direction):
        record = [direction, 0]
        self.walks.append(record)
        for i in indices:
            record[1] += 1
            yield list.__getitem__(self, i)

    def __iter__(self):
        return self._walk(range(len(self)), "forward")

    def __reversed__(self):
        return self._walk(range(len(self) - 1, -1, -1), "reverse")

    def __deepcopy__(self, memo):    # the check's snapshot: not a walk
        return [copy.deepcopy(node, memo) for node in list.__iter__(self)]


def _graph_renamed(d, seed):
    """Graph ``d`` with its nodes renamed in a shuffled order (n00..nNN), so
    that the names' order is neither the list's order nor its reverse."""
    rng = np.random.default_rng(seed)
    old = [name for name, _, _ in d["nodes"]]
    new = dict(zip(old, (f"n{i:02d}" for i in rng.permutation(len(old)))))
    nodes = [(new[n], op, [new[a] for a in args]) for n, op, args in d["nodes"]]
    return {"nodes": nodes, "values": {new[n]: v for n, v in d["values"].items()}}


def _walk_probes(fn, who, cases):
    """The student's derivatives on renamed copies of two graphs (the names'
    order shuffled), and the walks over each node list: (graph, derivatives,
    walks) per probe; [] when the function raises there."""
    found = []
    for seed, (text, d) in zip((5, 6), (cases[0], cases[-1])):
        g = _graph_renamed(d, seed)
        nodes = _WatchedNodes([(n, op, list(a)) for n, op, a in g["nodes"]])
        try:
            value = _call(fn, (nodes, dict(g["values"])), who,
                          f"{text} with its nodes renamed")
            like = {n: np.asarray(v) for n, v in g["values"].items()}
            found.append((g, _grads(value, like, f"what {who} returned", case=text),
                          nodes.walks))
        except _Stop:
            return []
    return found


def _walk_problem(fn, who, outs, cases):
    """Name the order of the student's walk when their derivatives are exactly
    those of the reference walk in another order (the names' order A to Z or
    Z to A: judged on graphs renamed so that it differs from the list's), or
    of the reference walk stopped after its first k nodes (a return inside
    the loop; for k = 1 the same numbers as the forward order, told apart by
    a walk over the list left before its end)."""
    graphs = [d for _, d in cases]
    probes = _walk_probes(fn, who, cases)
    if not probes:
        return

    def walks_like(**how):
        return all(_same({n: np.asarray(v) for n, v in o.items()},
                         _graph_backward(d["nodes"], d["values"], **how))
                   for o, d in zip(outs + [p[1] for p in probes],
                                   graphs + [p[0] for p in probes]))

    for order in ("Z to A", "A to Z"):
        if walks_like(order=order):
            _fail(f"your walk visits the nodes in the order of their names"
                  f" ({order}), not from the end of the list back: your derivatives"
                  " are exactly what that walk gives, here and on the same graphs"
                  " with their nodes renamed. A name says nothing about where a"
                  " node sits in the graph, so a node may pass its derivative on"
                  " before it has received all of it", "the list is in forward"
                  " order (every node after its inputs): walk the list itself,"
                  " from its last node to its first", "graph_walk_order")
    left = {count for _, _, walks in probes for direction, count in walks
            if direction == "reverse" and count < len(graphs[0]["nodes"])}
    for k in range(1, min(len(d["nodes"]) for d in graphs)):
        if walks_like(stop_after=k) and (k > 1 or left == {1}):
            first, those = ("the first node it visits (the output)", "the output") \
                if k == 1 else (f"the first {k} nodes it visits", f"those {k} nodes")
            _fail(f"your walk stops after {first}: your derivatives are exactly"
                  f" those of a walk from the end of the list that ends there, and"
                  f" every node below keeps what {those} sent it (is a return inside"
                  " the loop?)", "the walk visits every node of the list, from its"
                  " last to its first, before the derivatives are returned: check"
                  " how far your return is indented", "graph_walk_stops")


def _node_unpacked(stop, who, text):
    """Fail when the student's walk looked up an op ("mul") or an op's inputs
    as a node's name: a node ``(name, op, inputs)`` unpacked in another order."""
    exc = stop.raised
    key = exc.args[0] if isinstance(exc, KeyError) and exc.args else None
    if isinstance(key, str) and key in _OPS:
        _fail(f"{who} raised KeyError on {text}: it looked up {key!r}, an op, where"
              " a node's name belongs: each node is (name, op, inputs), and the"
              " name your code uses as the node's name holds its op (unpacked in"
              " another order)", "unpack each node in the order its parts come:"
              " name, op, inputs", "node_unpacked_in_order")


def _raised_at_input(stop, who, text):
    """Fail when the student's walk raised while it handled an input node (a
    local of that frame holds "input"): a branch for an operation caught it."""
    last = _last_frame(stop.raised) if stop.raised is not None else None
    held = last.tb_frame.f_locals if last is not None else {}
    if any(isinstance(v, str) and v == "input" for v in held.values()):
        _fail(f"{who} raised {type(stop.raised).__name__} on {text} while it handled"
              " an input node: a branch meant for an operation ran for it, and an"
              " input has no inputs of its own to pass anything to", "an input node"
              " passes nothing on: let only the operations' own names pick their"
              " branches (a bare else catches every other kind of node)",
              "input_in_op_branch")


def _op_misspelled(fn, who):
    """Fail when the student's code compares with a string that is almost one
    of the graph's ops (``"Add"``, ``"sigmod"``): no node has that op, so the
    branch it guards never runs, without any error."""
    def strings(code):
        for const in code.co_consts:
            if isinstance(const, str):
                yield const
            elif hasattr(const, "co_consts"):
                yield from strings(const)
            elif isinstance(const, (tuple, frozenset)):   # op in ("add", "mul")
                yield from (c for c in const if isinstance(c, str))

    code = getattr(fn, "__code__", None)
    said = list(dict.fromkeys(strings(code))) if code else []
    for text in said:
        near = difflib.get_close_matches(text.lower(), _OPS, n=1, cutoff=0.75)
        if text not in _OPS and near and near[0] not in said:
            _fail(f"{who} compares an op with {text!r}, which no node has: the"
                  f" graph spells it {near[0]!r}, so the branch for {near[0]!r}"
                  " nodes never runs (a string that matches nothing raises no"
                  " error)", "spell each op exactly as the nodes do",
                  "op_misspelled")


def check_graph_backward(fn=None):
    """The bridge: ``fn(nodes, values)`` returns d(output)/d(node) for every node.

    ``nodes``: a list of ``(name, op, inputs)`` in forward order (``op`` one of
    ``"input"``, ``"add"``, ``"mul"``, ``"sigmoid"``), the last node the output;
    ``values``: the forward pass's value of every node (a dict). The result: a
    dict with a float for every node's name.
    """

    def body():
        _need_function(fn, "check_graph_backward", "your graph_backward function")
        who = _name(fn, "graph_backward")
        cases = _graph_cases(seed=23)
        refs = [_graph_backward(d["nodes"], d["values"]) for _, d in cases]
        _referee_graph(cases[3].data, refs[3])
        outs = []
        for (text, d), ref in zip(cases, refs):
            nodes = [(name, op, list(args)) for name, op, args in d["nodes"]]
            try:
                value = _call(fn, (nodes, dict(d["values"])), who, text)
            except _Stop as stop:
                _raised_at_input(stop, who, text)
                _node_unpacked(stop, who, text)
                raise
            like = {name: np.asarray(v) for name, v in ref.items()}
            try:
                outs.append(_grads(value, like, f"what {who} returned", case=text))
            except _Stop:   # keys of another graph: kept from an earlier call?
                _keeps_state(fn, who, *_graph_state_cases(cases[0].data))
                raise
            _finite(outs[-1], f"what {who} returned", text)
        _keeps_state(fn, who, *_graph_state_cases(cases[0].data),
                     right_so_far=all(_same(o, r) for o, r in zip(outs, refs)))
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {who}: every node's derivative is right on {len(cases)}"
                    " graphs (fan-out and a node used twice included)")
        datas, texts = [d for _, d in cases], [t for t, _ in cases]
        _op_misspelled(fn, who)
        _walk_problem(fn, who, outs, cases)
        _match(outs, datas, _GRAPH_MISTAKES, texts)
        _graph_whole_pass(outs, refs, cases)
        _output_not_one(outs, cases)
        _graph_properties(outs, refs, cases)
        _local_slope_problem(outs, refs, cases)
        worst = _worst(outs, refs, texts)
        _fail(f"the derivatives do not match the reference: {worst}",
              _first_wrong_node(outs, refs, cases), "graph_wrong")

    return _run(body)
