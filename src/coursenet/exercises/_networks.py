"""The networks of Q3-Q6: cases, and one backward pass with switchable mistakes."""

from __future__ import annotations

import itertools

import numpy as np

from coursenet import gradcheck, layers, losses, mlp, scalar
from coursenet.exercises import _diagnose, _explain
from coursenet.exercises._core import (
    Mistake,
    _Case,
    _fail,
    _match,
    _onehot,
    _referee,
    _same,
    _worst,
)

# --------------------------------------------------------------------------
# The networks (Q3-Q6): cases, and one backward pass with switchable mistakes
# --------------------------------------------------------------------------

_SCALAR_KEYS = {"W1": "W", "b1": "b", "W2": "V", "b2": "c"}  # mlp name -> scalar name


def _course_params():
    return mlp.from_scalar(scalar.course_params())


def _random_params(rng, num_inputs, num_hiddens, num_outputs):
    """Asymmetric weights of unit scale and non-zero biases (zeros hide bias bugs)."""
    return {"W1": rng.normal(0.0, 1.0, (num_inputs, num_hiddens)),
            "b1": rng.normal(0.0, 0.5, num_hiddens),
            "W2": rng.normal(0.0, 1.0, (num_hiddens, num_outputs)),
            "b2": rng.normal(0.0, 0.5, num_outputs)}


_SIZE_NAMES = {"D": "inputs", "H": "hidden units", "C": "classes"}


def sizes_confused(right_on, who, stop, matrices=()):
    """After the student's function raised IndexError on networks of unequal
    sizes (``stop``, the check's failure): find the sizes on which it is right.

    ``right_on(D, H, C)`` runs it on a fresh random network of those sizes and
    says whether it gave the right answer (False when it raised). Right only
    when two of the sizes are equal: the code counts one where the other
    belongs (``H = len(W)`` counts the inputs); right only when all three are
    equal: a loop counts one size where it indexes along another. Right on
    3-3-3 when one of ``matrices`` (``(name, label)`` pairs such as ``("W",
    "grads['W']")``) is handed to it transposed, or all of them (``right_on(3, 3, 3,
    transposed=names)``): it reads those transposed. Otherwise the original
    failure stands."""
    for (a, b), sizes in ((("D", "H"), (3, 3, 2)), (("H", "C"), (2, 3, 3)),
                          (("D", "C"), (3, 2, 3))):
        if right_on(*sizes):
            _fail(f"{who} raises IndexError on a network whose sizes differ, and is"
                  f" right when the number of {_SIZE_NAMES[a]} equals the number of"
                  f" {_SIZE_NAMES[b]} ({'-'.join(map(str, sizes))}): one of the two"
                  " is counted where the other belongs", "W has one row per input"
                  " and one column per hidden unit, V one row per hidden unit and one"
                  " column per class: check which length each loop and each size"
                  " is taken from", "sizes_confused")
    if right_on(3, 3, 3):
        _fail(f"{who} raises IndexError on a network whose sizes differ, and is"
              " right only when all the sizes are equal (3-3-3): a loop counts one"
              " size where it indexes along another (rows counted for columns?)",
              "in a list of rows, len(M) counts the rows and len(M[i]) the entries"
              " of row i: check which one each loop runs over", "sizes_confused")
    # each matrix alone, then all of them (one loop written for every matrix)
    labels = dict(matrices)
    for names in [(name,) for name in labels] + [tuple(labels)] * (len(labels) > 1):
        if right_on(3, 3, 3, transposed=names):
            said = " and ".join(labels[n] for n in names)
            sides = "; ".join(f"{labels[n]} has one row per {_MATRIX_SIDES[n][0]}"
                              f" and one column per {_MATRIX_SIDES[n][1]}"
                              for n in names)
            are = "is" if len(names) == 1 else "are"
            _fail(f"{who} raises IndexError on a network whose sizes differ, and on"
                  f" 3-3-3 networks it is right when {said} {are} handed to it"
                  f" transposed: it reads {said} transposed, the first index"
                  " taken along the columns and the second along the rows",
                  f"{sides}: the first index picks the row", "reads_transposed")
    raise stop


# the rows and the columns of each scalar network's matrix
_MATRIX_SIDES = {"W": ("input", "hidden unit"), "V": ("hidden unit", "class")}


def _network_case(text, params, X, y):
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
    O = mlp.forward(params, X)[0]
    return _Case(text, {"params": params, "X": X, "y": y, "O": O,
                        "P": losses.softmax(O)})


def _instance_cases(seed):
    """One instance each: the course's example, then random asymmetric networks."""
    cases = [_network_case("the course's example (2-3-2, x = [1, -1], c = 0)",
                           _course_params(), [[1.0, -1.0]], [0])]
    rng = np.random.default_rng(seed)
    for sizes, c in (((3, 4, 5), 0), ((2, 3, 2), 1), ((4, 2, 3), 2),
                     ((3, 5, 4), 3)):
        text = f"a random {'-'.join(map(str, sizes))} network (c = {c})"
        cases.append(_network_case(text, _random_params(rng, *sizes),
                                   rng.normal(0.0, 1.0, (1, sizes[0])), [c]))
    return cases


def _batch_cases(seed):
    """Batches: the course's example as N = 1 and N = 3, then random networks."""
    course = _course_params()
    cases = [_network_case("the course's example as a batch of N = 1", course,
                           [[1.0, -1.0]], [0]),
             _network_case("the course's network, N = 3", course,
                           [[1.0, -1.0], [0.5, 2.0], [-1.0, 0.3]], [0, 1, 0])]
    rng = np.random.default_rng(seed)
    for sizes, n in (((3, 4, 5), 6), ((4, 6, 3), 5), ((5, 3, 10), 8)):
        y = rng.integers(0, sizes[2], n)
        y[1] = 0  # class 0 in every batch: `if c:` mistakes show there
        text = f"a random {'-'.join(map(str, sizes))} network, N = {n}"
        cases.append(_network_case(text, _random_params(rng, *sizes),
                                   rng.normal(0.0, 1.0, (n, sizes[0])), y))
    return cases


def _copy_params(params):
    return {k: np.array(v, dtype=np.float64) for k, v in params.items()}


def _referee_network(d, ref):
    """The reference gradients must agree with central differences of the loss."""
    params = _copy_params(d["params"])

    def loss(_):
        return losses.cross_entropy(mlp.forward(params, d["X"])[0], d["y"])

    for key in mlp.PARAM_NAMES:
        _referee(ref[key], gradcheck.numerical_gradient(loss, params[key]),
                 f"gradient of {key}")


def _every_class(O, P, y):
    # dl/dy_i = -1/y_i for all i, through the softmax's VJP (the package's)
    return losses.softmax_backward(-1.0 / P, P)


def _label_columns(O, P, y):
    dO = P.copy()
    dO[:, y] -= 1  # the batched mistake: every row, every label's column
    return dO


def _other_branch(O, P, y):
    """A real student's Q3: dl/dy_i = -1/y_i for every i, then a branch on the
    label (`if y:`) keeps the other class's entry (drops class 1's for label 1,
    class 0's for label 0); pushed through the Jacobian."""
    g = -1.0 / P
    g[np.arange(len(y)), (np.asarray(y) != 0).astype(int)] = 0.0
    return losses.softmax_backward(g, P)


def _cache_overwritten(O, P, y):
    """A loss backward that wrote dl/dy into its y: the softmax's cache holds the
    same array, so the softmax's backward ran with dl/dy in place of y (its
    vector-Jacobian product, written out: the package's refuses a y that is not
    probabilities)."""
    g = -_onehot(y, P.shape[1]) / P[np.arange(len(y)), y][:, None]
    return g * (g - (g * g).sum(axis=1, keepdims=True))


# How messages name the true class: notebook 02's code calls it `target`
# (its student writes "if target:"); from notebook 04 on it is `c` (01's card).
_CLASS_WORDS = {
    "target": {"c": "target", "the_c": "the target"},  # notebook 02's words
    "c": {"c": "c", "the_c": "the true class c"},
}


def _say(text, cls):
    """A message template with {c} (the code name) and {the_c} (in words)."""
    return text.format(**_CLASS_WORDS[cls])


# dl/do row by row, from the logits O, probabilities P and labels y (N, C).
# Each entry: (diagnosis, hint, rule), both texts templates for _say; "right"
# first. A hint names a property of the right answer, never its formula.
_OUTPUT_RULES = {
    # the package's fused gradient is (P - onehot) / N: times N, one row per instance
    "right": ("", "", lambda O, P, y: losses.softmax_cross_entropy(O, y)[1] * len(y)),
    "flipped_sign": (
        "dl/do has the wrong sign in every entry, so every gradient points uphill",
        "raising {the_c}'s logit must lower the loss: dl/do must be negative at"
        " {the_c} and positive elsewhere",
        lambda O, P, y: _onehot(y, P.shape[1]) - P),
    "if_target": (
        "the gradients are wrong exactly when {the_c} is class 0: looks like a"
        " branch `if {c}:` that is false for class 0, so class 0 never gets"
        " its -1",
        "`if {c}:` asks whether {c} is non-zero, not which entry is the true"
        " class: class 0 is a class, not 'no class'",
        lambda O, P, y: P - _onehot(y, P.shape[1]) * (y != 0)[:, None]),
    "every_class": (
        "looks like dl/dy_i = -1/y_i for every class, not only {the_c}, pushed"
        " through the softmax Jacobian",
        "the loss -log y_{c} depends on y_{c} alone: dl/dy is 0 at every other"
        " class", _every_class),
    "every_class_if_target": (
        "looks like dl/dy_i = -1/y_i for every class AND a branch `if {c}:`"
        " that is false for class 0 (every gradient is 0 when {the_c} is 0)",
        "dl/dy has a single non-zero entry, at {the_c} (compare each index"
        " with {c}; class 0 is a class)",
        lambda O, P, y: _every_class(O, P, y) * (y != 0)[:, None]),
    "other_branch": (
        "looks like dl/dy_i = -1/y_i for every class, then a branch on the label"
        " (`if y:`) that keeps the wrong class's entry: with 2 classes these are"
        " the gradients of the other class's loss, and on the course's example"
        " every sign is flipped while the magnitudes match",
        "compare signs, not only magnitudes: raising {the_c}'s logit must lower"
        " the loss, so dl/do is negative at {the_c} and positive elsewhere",
        _other_branch),
    "no_softmax": (
        "dl/do = o - onehot({c}): the softmax is missing",
        "dl/do comes from the probabilities y = softmax(o), not from the logits o",
        lambda O, P, y: O - _onehot(y, P.shape[1])),
    "no_onehot": (
        "dl/do = y: the -1 at {the_c} is missing",
        "the entries of dl/do must sum to 0 (each row of J sums to 0); yours sum"
        " to 1", lambda O, P, y: P),
    "cache_overwritten": (
        "the loss's backward wrote dl/dy into the array y it was given, which the"
        " softmax's cache holds too: the softmax's backward then ran with dl/dy in"
        " place of y",
        "a backward must leave its cache as it was: start dl/dy from a new array",
        _cache_overwritten),
    "softmax_identity": (
        "dl/do equals dl/dy: the softmax's backward passed its upstream gradient"
        " on unchanged, as if the softmax were the identity",
        "the entries of dl/do must sum to 0 (each row of J sums to 0), whatever"
        " dl/dy is",
        lambda O, P, y: -_onehot(y, P.shape[1]) / P[np.arange(len(y)), y][:, None]),
    "diagonal_only": (
        "only {the_c}'s entry of dl/do is non-zero: the softmax derivative was"
        " taken elementwise, y(1 - y), where the whole Jacobian J of notebook 01"
        " is needed",
        "every y_i depends on every o_j, so dl/do has a non-zero entry at every"
        " class: the whole C×C Jacobian of notebook 01 takes part, not only its"
        " diagonal",
        lambda O, P, y: (P - 1) * _onehot(y, P.shape[1])),
}
_COLUMNS_RULE = {"label_columns": (
    "the 1 was subtracted in every row at every class of the batch (at all the"
    " batch's labels' columns at once), not once per row",
    "each row n needs exactly one -1, at its own class {c}[n]: index one entry"
    " per row", _label_columns)}


def _sigmoid_twice(K, H):
    S = layers.sigmoid(H)
    return S * (1 - S)


# dh/dk of the sigmoid, from its input K and output H.
_HIDDEN_RULES = {
    "right": ("", "", lambda K, H: layers.sigmoid_backward(np.ones_like(H), H)),
    "sigmoid_from_k": (
        "the sigmoid derivative is taken from k, k(1 - k), instead of from"
        " h = sigmoid(k)", "the sigmoid's derivative is a function of its output"
        " h, not of its input k",
        lambda K, H: K * (1 - K)),
    "sigmoid_twice": (
        "the sigmoid derivative is sigmoid(h)(1 - sigmoid(h)): the sigmoid is"
        " applied twice", "h is sigmoid(k) already: do not apply the"
        " sigmoid to it again",
        _sigmoid_twice),
    "sigma_as_h": (
        "the sigmoid's slope was written as h: dl/dk is dl/dh times h, where the"
        " sigmoid's slope is needed", "the sigmoid's slope is at most 0.25, and"
        " it is small where h is near 0 or 1", lambda K, H: H),
    "no_sigmoid_derivative": (
        "the sigmoid's derivative is missing: dk = dh",
        "dl/dk must include the sigmoid's own derivative (at most 0.25), so it"
        " cannot equal dl/dh", lambda K, H: np.ones_like(H)),
}

# The batch reduction: the loss is a mean, so dl/do carries 1/N.
_SCALE_RULES = {
    "right": ("", "", lambda n: 1.0 / n),
    "summed": (
        "the gradients are N times too large: summed over the batch, not"
        " averaged", "the loss is a mean over the batch: each gradient is 1/N of"
        " the summed one", lambda n: 1.0),
    "divided_twice": (
        "the gradients are N times too small: divided by N twice",
        "divide by N once: in dlogits, or at the end, not both",
        lambda n: 1.0 / n ** 2),
}

_FIRST_LAYER_NOTE = ("passes the course's example, fails on an asymmetric network:"
                     " check the first layer")


def _variant_grads(d, output="right", hidden="right", scale="right"):
    """The gradients as a student with these mistakes computes them (mlp names)."""
    X, y = d["X"], d["y"]
    O, cache = mlp.forward(d["params"], X)
    P = losses.softmax(O)
    rules = {**_OUTPUT_RULES, **_COLUMNS_RULE}
    dO = rules[output][2](O, P, y) * _SCALE_RULES[scale][2](len(X))
    if hidden == "right":
        return mlp.backward(dO, cache)   # the package's backward pass, as it is
    # mlp.backward's steps, with the mistaken sigmoid step switched in
    first, H, second = cache
    K = layers.linear_forward(X, d["params"]["W1"], d["params"]["b1"])[0]
    dH, dW2, db2 = layers.linear_backward(dO, second)
    dK = dH * _HIDDEN_RULES[hidden][2](K, H)
    _, dW1, db1 = layers.linear_backward(dK, first)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def _network_mistakes(course_ok, keys=None, batched=False, cls="target"):
    """Every combination of the known mistakes, single mistakes first.

    ``cls``: how the messages name the true class in the student's code,
    ``"target"`` (notebook 02) or ``"c"`` (notebooks 04-06).
    """
    outputs = {**_OUTPUT_RULES, **(_COLUMNS_RULE if batched else {})}
    axes = [("output", outputs), ("hidden", _HIDDEN_RULES)]
    if batched:
        axes.append(("scale", _SCALE_RULES))
    combos = [c for c in itertools.product(*(list(table) for _, table in axes))
              if any(choice != "right" for choice in c)]
    combos.sort(key=lambda c: sum(choice != "right" for choice in c))
    mistakes = []
    for combo in combos:
        chosen = [(table[choice], choice) for (_, table), choice
                  in zip(axes, combo) if choice != "right"]
        diagnosis = "; and ".join(_say(entry[0], cls) for entry, _ in chosen)
        if course_ok and combo[0] == "right" and combo[1] != "right":
            diagnosis = f"{_FIRST_LAYER_NOTE}: {diagnosis}"
        kwargs = {name: choice for (name, _), choice in zip(axes, combo)}
        mistakes.append(Mistake(
            "+".join(choice for _, choice in chosen), diagnosis,
            "; ".join(_say(entry[1], cls) for entry, _ in chosen),
            lambda d, kw=kwargs: _renamed(_variant_grads(d, **kw), keys)))
    return mistakes


def _renamed(grads, keys):
    return grads if keys is None else {keys[k]: v for k, v in grads.items()}


def _network_vocabulary(d, ref, names):
    """The quantities of one network case the expression explainer may
    combine: the input, each parameter, the forward's values, the true class's
    one-hot, the right gradients at the logits, the hidden values and the
    pre-activations, and the right parameter gradients (``ref``, under the
    student's ``names`` in the order of mlp.PARAM_NAMES)."""
    p, X, P = d["params"], d["X"], d["P"]
    K = X @ p["W1"] + p["b1"]
    H = layers.sigmoid(K)
    dO = (P - _onehot(d["y"], P.shape[1])) / len(X)
    dH = dO @ p["W2"].T
    words = ["the weights", "the bias", "the weights", "the bias"]
    vocab = [("the input x", X), *[(f"{w} {n}", p[k]) for w, n, k in
                                   zip(words, names, mlp.PARAM_NAMES)],
             ("the pre-activations k", K), ("the hidden values h", H),
             ("the logits o", d["O"]), ("the probabilities y", P),
             (_explain.NAMES["onehot"], _onehot(d["y"], P.shape[1])),
             ("the right dl/do", dO), ("the right dl/dh", dH),
             ("the right dl/dk", dH * H * (1 - H)),
             *[(f"the right d{n}", np.asarray(ref[n])) for n in names]]
    sizes = [("N", len(X))] if len(X) > 1 else []
    return vocab, sizes + [("C", P.shape[1])]


def _explain_network(outs, refs, cases, names, wrong):
    """Fail when a wrong gradient is an expression over the network's values."""
    vocabs = [_network_vocabulary(d, r, names) for (_, d), r in zip(cases, refs)]
    for k in wrong:
        _explain.explain(f"d{k}", [o[k] for o in outs], [r[k] for r in refs],
                         [v for v, _ in vocabs], [z for _, z in vocabs],
                         "each gradient says how the loss moves with its own"
                         " parameter: follow one entry's path to the loss")


def _network_fallback(outs, refs, cases, names, course_ok, batched=False,
                      cls="target"):
    """No known mistake matched: say which layer is off and where the worst entry is.

    ``batched``: the check feeds batches (only then may a hint mention one);
    ``cls``: the true class's name in the student's code (``_say``).
    """
    words = _CLASS_WORDS[cls]
    first, second = names[:2], names[2:]
    texts = [t for t, _ in cases]
    wrong = [k for k in names
             if not all(_same(o[k], r[k]) for o, r in zip(outs, refs))]
    worst = _worst(outs, refs, texts)
    flat_out = np.concatenate([o[k].ravel() for o in outs for k in names])
    flat_ref = np.concatenate([np.ravel(r[k]) for r in refs for k in names])
    largest = float(np.abs(flat_out).max()) if flat_out.size else 0.0
    if largest <= 1e-12 * max(1.0, float(np.abs(flat_ref).max())):
        rounding = "" if largest == 0 else \
            f" (up to rounding: the largest is {largest:.1e})"
        _fail(f"every gradient is 0{rounding}", "if dl/dy is the same number for"
              f" every class (e.g. -1/y_{words['c']} in every entry), dl/do ="
              " dl/dy J is"
              " exactly 0, because J sends a constant vector to 0 (adding one"
              " number to every logit leaves the softmax unchanged); otherwise,"
              " did the backward pass run to the end and return what it"
              " computed?", "all_zero")
    found = _diagnose.factors([flat_out], [flat_ref])
    if found and _same(flat_out, found[0] * flat_ref):
        factor = found[0]
        mean = " (a mean over the batch)" if batched else ""
        _fail(f"every gradient is {factor:.3g} times the right one",
              f"look for a constant factor: the loss is -log y_{words['c']}{mean};"
              " compare your dl/do with the check of notebook 01", "scaled")
    _explain_network(outs, refs, cases, names, wrong)
    if set(wrong) <= set(first):
        diagnosis = (_FIRST_LAYER_NOTE if course_ok
                     else "the first-layer gradients are wrong")
        _fail(f"{diagnosis} ({', '.join(wrong)}): {worst}",
              "compare each first-layer gradient with finite differences"
              " (coursenet.gradcheck.numerical_gradient) on a random network: the"
              " course's own example alone does not show this part",
              "first_layer")
    wrong_class = _wrong_class(outs, cases, second[1], cls)
    if wrong_class:
        _fail(wrong_class, f"the -1 of dl/do belongs at {words['the_c']}",
              "wrong_class")
    if second[1] not in wrong and second[0] in wrong:
        _fail(f"d{second[1]} is right but d{second[0]} is wrong: {worst}",
              "the second-layer weight gradient is built from dl/do and the"
              " hidden layer's output h (after the sigmoid), one entry per"
              " (hidden unit, class) pair", "second_layer_weights")
    _fail(f"the gradients do not match the reference ({', '.join(wrong)}): {worst}",
          "going back from dl/do, compare each layer's gradients with finite"
          " differences (coursenet.gradcheck.numerical_gradient) to find the first"
          " wrong one")


def _wrong_class(outs, cases, bias, cls="target"):
    """Single instances only: does dl/do subtract 1 at a class other than c?"""
    found = []
    for out, (text, d) in zip(outs, cases):
        P, y = d["P"], d["y"]
        if len(y) != 1:
            return None
        if _same(out[bias], P[0] - _onehot(y, P.shape[1])[0]):
            continue
        others = [j for j in range(P.shape[1]) if j != y[0]
                  and _same(out[bias], P[0] - _onehot([j], P.shape[1])[0])]
        if not others:
            return None
        found.append(f"class {others[0]} instead of"
                     f" {_CLASS_WORDS[cls]['the_c']} {int(y[0])} on {text}")
    return f"dl/do subtracts 1 at the wrong class: {found[0]}" if found else None


def _picked(d):
    return d["P"][np.arange(len(d["y"])), d["y"]]


def _loss_mistakes(cls="target"):
    """The known mistakes of the loss, naming the true class as ``cls`` does."""
    c = _CLASS_WORDS[cls]["c"]
    the_c = _CLASS_WORDS[cls]["the_c"]
    return [
        Mistake("loss_sign", f"the loss has the wrong sign (log y_{c} is negative)",
                f"a loss is at least 0: small when y_{c} is close to 1",
                lambda d: np.mean(np.log(_picked(d)))),
        Mistake("loss_log_base", "the loss uses log10 instead of the natural log",
                "the course's log is the natural one, base e",
                lambda d: -np.mean(np.log10(_picked(d)))),
        Mistake("loss_log_base", "the loss uses log2 instead of the natural log",
                "the course's log is the natural one, base e",
                lambda d: -np.mean(np.log2(_picked(d)))),
        Mistake("loss_no_softmax", f"the loss is -o_{c}: the softmax is missing",
                "the loss is taken from the probabilities, after the softmax,"
                " not from the logits",
                lambda d: -np.mean(d["O"][np.arange(len(d["y"])), d["y"]])),
        Mistake("loss_no_log", f"the loss is 1 - y_{c}: the log is missing",
                f"the loss grows without bound as y_{c} goes to 0",
                lambda d: np.mean(1 - _picked(d))),
        Mistake("loss_no_log", f"the loss is -y_{c}: the log is missing",
                f"a loss is at least 0, and grows without bound as y_{c} goes"
                " to 0", lambda d: -np.mean(_picked(d))),
        Mistake("loss_all_classes", "the loss sums -log y_i over every class",
                f"only {the_c} counts",
                lambda d: -np.mean(np.log(d["P"]).sum(1))),
    ]


_LOSS_MISTAKES = _loss_mistakes("target")  # notebook 02's words

# notebook 05: a batch Y (N, C) of probabilities, true classes c (N,)
_BATCH_LOSS_MISTAKES = [
    Mistake("loss_summed", "the loss is summed over the batch, not averaged",
            "return the mean over the N rows", lambda d: -np.sum(np.log(_picked(d)))),
    Mistake("loss_divided_twice", "the loss is the batch's mean divided by N"
            " again: the factor 1/N is applied twice", "the loss layer already"
            " returns the mean over the N rows: check what your code does to it"
            " after", lambda d: -np.mean(np.log(_picked(d))) / len(d["y"])),
    Mistake("loss_first_row", "the loss is that of the first row only",
            "average -log y_c over all N rows",
            lambda d: -np.log(_picked(d)[0])),
    Mistake("loss_last_row", "the loss is that of the last row only",
            "average -log y_c over all N rows",
            lambda d: -np.log(_picked(d)[-1])),
    Mistake("loss_block", "the loss averages -log Y[:, c], an N×N block, not one"
            " entry per row", "pick one entry per row: row n's entry at its own"
            " class c[n]",
            lambda d: -np.mean(np.log(d["P"][:, d["y"]]))),
    *_loss_mistakes("c"),
]


def _check_losses(got, cases, mistakes, who, hint):
    refs = [losses.cross_entropy(d["O"], d["y"]) for _, d in cases]
    if all(_same(np.float64(g), r) for g, r in zip(got, refs)):
        return
    _match([np.float64(g) for g in got], [d for _, d in cases], mistakes)
    for g, r, (text, _) in zip(got, refs, cases):
        if not _same(np.float64(g), r):
            _fail(f"the loss from {who} is {g:.6g} on {text}, expected {r:.6g}",
                  hint, "loss")


def _as_lists(params):
    """mlp-named float arrays -> the scalar network's names and nested lists."""
    return {_SCALAR_KEYS[k]: v.tolist() for k, v in params.items()}
