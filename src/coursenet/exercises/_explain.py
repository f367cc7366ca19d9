"""Say what a wrong answer computed, as an expression over quantities the
check already holds (its inputs, the forward's values, the upstream gradient,
the right result, the sizes N and C).

Why a search and not one table row per mistake: the wrong answers students
write are mostly one small step away from the quantities on the page -- a
product taken entry by entry where a matrix product was meant, a sum over the
wrong axis, the right result times the upstream gradient once more, a
quotient where a sum was meant. A small grammar over the check's own
vocabulary names a whole class of such slips at once. Every candidate must
reproduce the student's answer on *every* case (random cases, so a chance
match is very unlikely), must differ from the right answer on some case, and
is tried simplest first. The sentence describes what the student computed in
words; it never writes the right formula.
"""

from __future__ import annotations

import re
from itertools import product

import numpy as np

from coursenet.exercises._core import _fail

#: How a sentence names the values checks put in their vocabularies.
NAMES = {"x": "the input x", "X": "the input X", "W": "the weights W",
         "b": "the bias b", "k": "the input k", "o": "the logits o",
         "y": "the probabilities y", "dout": "the upstream gradient",
         "dloss": "the upstream gradient", "out": "the layer's output",
         "h": "the sigmoid's output h", "onehot": "the true class's one-hot row"}


#: What some expressions mean, by the shape of their phrase: a sentence that
#: names the expression adds the reason (the first pattern that matches).
MEANINGS = [
    (re.compile(r"^the upstream gradient$"), "the layer's own local derivative is"
     " missing"),
    (re.compile(r"^the right \S+ divided by the upstream gradient"), "the upstream"
     " gradient is not used"),
    (re.compile(r"^the right \S+ times the upstream gradient"), "the upstream"
     " gradient is applied twice"),
    (re.compile(r"^the right \S+ turned on its side"), "it is transposed"),
    (re.compile(r"^the right \S+ divided by N$"), "the 1/N of the mean loss is"
     " already in the upstream gradient, so it is divided twice"),
    (re.compile(r"^the right \S+ times N$"), "the 1/N of the mean loss is missing"),
    (re.compile(r"^the right \S+ divided by C$"), "a mean over the classes where"
     " the loss has one term per row"),
    (re.compile(r"^the right \S+ (times|divided by) the"), "one factor too many or"
     " too few"),
]


def vocabulary(d, right=None, extra=()):
    """(vocabulary, sizes) of one case for :func:`describe`: each array of the
    case's data ``d`` that :data:`NAMES` names, the true class's one-hot (from
    ``c`` or ``target``), the probabilities of logits and the sigmoid of k
    when the case has none, ``extra`` (phrase, value) pairs, and the right
    results (``right``: name -> array); sizes N (rows of a 2-D first input)
    and C (its last axis)."""
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in d.items()
              if k in NAMES and np.ndim(v) >= (0 if k in ("dout", "dloss") else 1)}
    if "o" in arrays and "y" not in arrays:
        z = np.exp(arrays["o"] - arrays["o"].max(axis=-1, keepdims=True))
        arrays["y"] = z / z.sum(axis=-1, keepdims=True)
    if "k" in arrays and "h" not in arrays:
        arrays["h"] = 1 / (1 + np.exp(-arrays["k"]))
    first = next(iter(arrays.values()), np.zeros(0))
    vocab = [(NAMES[k], v) for k, v in arrays.items()]
    for key in ("c", "target"):
        if key in d and first.ndim in (1, 2):
            cls = np.atleast_1d(np.asarray(d[key], dtype=int))
            hot = np.zeros((len(cls), first.shape[-1]))
            hot[np.arange(len(cls)), cls] = 1.0
            vocab.append((NAMES["onehot"], hot.reshape(first.shape)))
    vocab += [*extra, *[(f"the right {n}", r) for n, r in (right or {}).items()]]
    sizes = [("N", first.shape[0])] if first.ndim == 2 else []
    return vocab, sizes + ([("C", first.shape[-1])] if first.ndim else [])


def explain_cases(what, outs, refs, datas, hint, extras=None):
    """:func:`explain` with each case's :func:`vocabulary` built from its data
    (``datas``), the right result named after ``what`` and ``extras[i]`` the
    (phrase, value) pairs only the caller knows."""
    name = what.split(" from ")[0]
    vocabs = [vocabulary(d, {name: r}, e) for d, r, e in
              zip(datas, refs, extras or [()] * len(datas))]
    explain(what, outs, refs, [v for v, _ in vocabs], [z for _, z in vocabs], hint)


def _reductions(name, a):
    """(phrase, value) for the sums, means and maxima of one quantity."""
    if a.ndim == 2:
        yield f"{name} added up down each column", a.sum(axis=0)
        yield f"{name} added up along each row", a.sum(axis=1)
        yield f"the largest entry of each row of {name}", a.max(axis=1)
        yield f"the largest entry of each column of {name}", a.max(axis=0)
    if a.size > 1:
        yield f"one number: all the entries of {name} added up", a.sum()
        yield f"one number: the mean of the entries of {name}", a.mean()


def _unary(name, a, sizes):
    """(phrase, value) for one quantity and the simple things done to it."""
    yield name, a
    if a.ndim == 2:
        yield f"{name} turned on its side (rows as columns)", a.T
    yield from _reductions(name, a)
    for size_name, n in sizes:
        if n > 1:
            yield f"{name} times {size_name}", a * n
            yield f"{name} divided by {size_name}", a / n


def _binary(p, a, q, b):
    """(phrase, value) for two quantities combined once."""
    same = a.shape == b.shape
    rows = a.ndim == 2 and b.ndim == 1 and a.shape[1] == len(b)  # b in every row
    if same or rows or a.ndim == 0 or b.ndim == 0:
        first, second = (q, p) if q.startswith("the right") else (p, q)
        yield f"{first} times {second}, entry by entry", a * b
        yield f"{first} plus {second}", a + b
        if p != q:
            yield f"{p} minus {q}", a - b
            yield f"{p} divided by {q}, entry by entry", a / b
    if a.ndim == b.ndim == 1 and same:
        yield (f"one number: each entry of {p} times the matching entry of {q},"
               " added up", np.dot(a, b))
    if a.ndim >= 1 and b.ndim >= 1:   # a 2-D factor is read entry by entry
        yield (f"a table of products, one row per entry of {p} and one column"
               f" per entry of {q}", np.multiply.outer(a.ravel(), b.ravel()))
    if a.ndim == b.ndim == 2:
        for pa, ma in ((p, a), (f"{p} turned on its side", a.T)):
            for qb, mb in ((q, b), (f"{q} turned on its side", b.T)):
                if ma.shape[1] == mb.shape[0]:
                    yield f"the matrix product of {pa} and {qb}", np.matmul(ma, mb)


def _candidates(vocab, sizes):
    """Every (phrase, value) of the grammar on one case, simplest first."""
    for name, a in vocab:
        yield from _unary(name, a, sizes)
    for (p, a), (q, b) in product(vocab, repeat=2):
        yield from _binary(p, a, q, b)
    for (p, a), (q, b) in product(vocab, repeat=2):   # a sum met by a second value
        for reduced, value in _reductions(p, a):
            if not reduced.startswith("one number"):
                yield from _binary(reduced, value, q, b)


def describe(outs, refs, vocabs, sizes=()):
    """The phrase of the simplest candidate that equals ``outs[i]`` on every case
    i and differs from ``refs`` on some case, or None.

    ``vocabs[i]`` is a list of (phrase, array) for case i, the same phrases
    in the same order on every case; ``sizes`` is a list of (phrase, number)
    per case, e.g. [[("N", 4)], [("N", 6)]].
    """
    if not any(np.max(np.abs(o), initial=0.0) > 1e-9 for o in outs):
        return None   # all zero: a sum that cancels would "explain" it
    with np.errstate(all="ignore"):
        per_case = []
        vocabs = _distinct([[(p, np.asarray(v, dtype=np.float64)) for p, v in vocab]
                            for vocab in vocabs])
        for vocab, size in zip(vocabs, sizes or [()] * len(vocabs)):
            found = {}
            for phrase, value in _candidates(vocab, size):
                found.setdefault(phrase, value)   # the simplest reading first
            per_case.append(found)
        for phrase in per_case[0] if per_case else ():
            if not all(phrase in c for c in per_case):
                continue   # a candidate some case's shapes do not allow
            values = [c[phrase] for c in per_case]
            if any(np.max(np.abs(v), initial=0.0) > 1e-9 for v in values) and all(
                    _fits(o, v) for o, v in zip(outs, values)) and not all(
                    _fits(np.asarray(r, dtype=np.float64), v)
                    for r, v in zip(refs, values)):
                return _swapped(phrase, per_case, refs, vocabs[0]) or phrase
    return None


def _swapped(phrase, per_case, refs, vocab):
    """When the same expression over one other quantity is the right result,
    say only which quantity stands where another belongs: the structure of
    the expression is the answer's, and is not repeated."""
    names = [p for p, _ in vocab if not p.startswith("the right")]
    for used, meant in product(names, repeat=2):
        other = phrase.replace(used, meant)
        if used in phrase and used != meant and all(other in c for c in per_case) \
                and all(_fits(np.asarray(r, dtype=np.float64), c[other])
                        for r, c in zip(refs, per_case)):
            return f"built the way the right one is, but from {used} where {meant}" \
                " belongs"
    return None


def _distinct(vocabs):
    """The vocabularies without a quantity that equals an earlier one on every
    case (the linear layer's right db is its upstream gradient): a sentence
    names the simpler, earlier one."""
    def equal(a, b):
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-8)

    keep = [i for i in range(len(vocabs[0])) if not any(
        all(equal(v[i][1], v[j][1]) for v in vocabs) for j in range(i))]
    return [[v[i] for i in keep] for v in vocabs]


def _fits(out, value):
    value = np.asarray(value)
    return out.shape == value.shape and bool(np.all(np.isfinite(value))) \
        and bool(np.allclose(out, value, rtol=1e-5, atol=1e-8))


def explain(what, outs, refs, vocabs, sizes=(), hint=None, on="on every case we tried"):
    """Fail saying which expression over the vocabulary ``what`` equals on every
    case (see :func:`describe`); return quietly when none does."""
    phrase = describe(outs, refs, vocabs, sizes)
    if phrase is None:
        return
    meaning = next((m for pattern, m in MEANINGS if pattern.search(phrase)), "")
    if phrase.startswith("built the way"):
        hint = ("check which value that line reads, and what the forward pass put"
                " in the cache for it")
    _fail(f"your {what} is {phrase}, {on}" + (f": {meaning}" if meaning else ""),
          hint or "compare that with what it should hold: each step of the"
          " rule in the text, one entry at a time, on a small example of"
          " your own", "explained")
