"""Checks for notebook 02 (Q3), one per stage in the order of the lesson.

1. :func:`check_forward`: the loss, and the cache as a dict with the documented
   keys (``x``, ``k``, ``h``, ``o``, ``y``, ``target``) and values;
2. :func:`check_scalar_loss_grad`: step 1, dl/dy (Q1's check on lists);
3. :func:`check_backprop`: steps 2-5 on the reference cache and a *random*
   dl/dy, compared stage by stage (dl/dy, dl/do = dl/dy J, dl/dh, dl/dk, then
   the parameters), so a backprop that ignores its dl_dy argument cannot pass;
4. :func:`check_backward` (also :func:`check_scalar_network`): forward and
   backward together, the parameter gradients.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from coursenet import layers, scalar
from coursenet.exercises._core import (
    _call,
    _Case,
    _fail,
    _finite,
    _grads,
    _match,
    _name,
    _need_function,
    _number,
    _run,
    _same,
    _short,
    _worst,
)
from coursenet.exercises._networks import (
    _HIDDEN_RULES,
    _LOSS_MISTAKES,
    _SCALAR_KEYS,
    _as_lists,
    _check_losses,
    _instance_cases,
    _network_fallback,
    _network_mistakes,
    _referee_network,
)
from coursenet.exercises.nb01 import _loss_grad_body

CACHE_KEYS = ("x", "k", "h", "o", "y", "target")
_CACHE_WHAT = {"x": "the input", "k": "the hidden pre-activations k = x W + b",
               "h": "the hidden activations h = sigmoid(k)",
               "o": "the logits o = h V + c", "y": "the softmax outputs",
               "target": "the true class"}
_FORWARD_HINT = ("k = x W + b, h = sigmoid(k), o = h V + c, y = softmax(o),"
                 " loss = -log y[target]")


def _cases(seed):
    """Notebook 02's cases; its class is ``target`` (``c`` is the output bias)."""
    return [_Case(text.replace("c = ", "target = "), d)
            for text, d in _instance_cases(seed)]


def _reference_cache(d):
    """The cache of the course's forward pass, as numpy arrays."""
    p = d["params"]
    x = d["X"][0]
    k = x @ p["W1"] + p["b1"]
    h = layers.sigmoid(k)
    o = h @ p["W2"] + p["b2"]
    return {"x": x, "k": k, "h": h, "o": o, "y": d["P"][0],
            "target": int(d["y"][0])}


_CACHE_MISTAKES = [  # (key, id, diagnosis, hint, what the mistake stores)
    ("h", "cache_h_is_k", "cache['h'] holds k, the value before the sigmoid",
     "store h = sigmoid(k): backward needs the sigmoid's output",
     lambda r: r["k"]),
    ("y", "cache_y_is_o", "cache['y'] holds the logits o, not the softmax outputs",
     "store y = softmax(o)", lambda r: r["o"]),
    ("k", "cache_k_is_h", "cache['k'] holds h, the value after the sigmoid",
     "store k = x W + b, before the sigmoid", lambda r: r["h"]),
]


def _forward_outputs(forward, cases, fwd):
    """Run the student's forward on every case; check the pair, the loss and the
    cache (a dict with the documented keys and values). Returns the caches."""
    got, caches = [], []
    for text, d in cases:
        out = _call(forward, (_as_lists(d["params"]), d["X"][0].tolist(),
                              int(d["y"][0])), fwd, text)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            _fail(f"{fwd} returned {_short(out, 50)}; expected a pair"
                  " (loss, cache)", "end forward with `return loss, cache`",
                  "wrong_type")
        got.append(_number(out[0], f"the loss from {fwd}"))
        caches.append(out[1])
    _check_losses(got, cases, _LOSS_MISTAKES, fwd, _FORWARD_HINT)
    for (text, d), cache in zip(cases, caches):
        keys_text = ", ".join(f"'{k}': {k}" for k in CACHE_KEYS)
        if not isinstance(cache, Mapping):
            what = (f"a {type(cache).__name__} of {len(cache)}"
                    if isinstance(cache, (tuple, list)) else _short(cache, 40))
            _fail(f"the cache from {fwd} is {what}, not a dict: later cells (and"
                  " the spot-the-bug) read cache['y'] and cache['target']",
                  f"return loss, {{{keys_text}}}", "cache_not_dict")
        missing = [k for k in CACHE_KEYS if k not in cache]
        if missing:
            _fail(f"the cache from {fwd} has keys {list(cache)}: missing"
                  f" {missing}", f"keep every intermediate under its name:"
                  f" {{{keys_text}}}", "cache_keys")
        ref = _reference_cache(d)
        for key in CACHE_KEYS:
            want = ref[key]
            try:
                value = np.asarray(cache[key], dtype=np.float64)
            except Exception:  # noqa: BLE001 - a student's object
                value = None
            if value is not None and value.shape == np.shape(want) \
                    and _same(value, want):
                continue
            for mkey, mid, diagnosis, hint, stored in _CACHE_MISTAKES:
                if key == mkey and value is not None \
                        and value.shape == np.shape(want) \
                        and _same(value, stored(ref)):
                    _fail(f"{diagnosis} (on {text})", hint, mid)
            shown = _short(cache[key], 60)
            _fail(f"cache[{key!r}] should be {_CACHE_WHAT[key]}, but on {text} it"
                  f" is {shown}", f"store the values themselves, as lists:"
                  f" {_FORWARD_HINT}", "cache_value")
    return caches


def check_forward(forward=None):
    """Q3, stage 1: ``forward(params, x, target) -> (loss, cache)``.

    ``cache`` must be a dict with the lists ``x``, ``k``, ``h``, ``o``, ``y``
    and the int ``target`` (later cells and ``backward`` read it).
    """

    def body():
        _need_function(forward, "check_forward", "your forward function")
        fwd = _name(forward, "forward")
        cases = _cases(seed=3)
        _forward_outputs(forward, cases, fwd)
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


def _backprop_reference(d, g, hidden="right", output=None):
    """Every derivative below y for an upstream dl/dy ``g`` (numpy)."""
    r = _reference_cache(d)
    p = d["params"]
    y = r["y"]
    do = y * (g - g @ y) if output is None else output(y, g, r)  # dl/dy J
    dh = p["W2"] @ do
    dk = dh * _HIDDEN_RULES[hidden][2](r["k"][None], r["h"][None])[0]
    return {"dy": g, "do": do, "dh": dh, "dk": dk, "V": np.outer(r["h"], do),
            "c": do, "W": np.outer(r["x"], dk), "b": dk}


_DO_MISTAKES = [  # (id, diagnosis, hint, dl/do from y, g and the cache)
    ("ignores_dl_dy",
     "its dl/do is y - onehot(target) whatever dl/dy it is given: backprop ignores"
     " its dl_dy argument",
     "the check passes a random dl/dy (the spot-the-bug below passes a wrong one):"
     " compute dl/do from the dl_dy argument, through the softmax Jacobian",
     lambda y, g, r: y - np.eye(len(y))[r["target"]]),
    ("no_jacobian", "its dl/do is dl/dy itself: the softmax step is missing",
     "every y_i depends on every o_m: dl/do_m sums dl/dy_i J[i][m] over i",
     lambda y, g, r: g),
    ("diagonal_only",
     "its dl/do is dl/dy * y(1 - y): only the diagonal of the softmax Jacobian",
     "every y_i depends on every o_m: dl/do_m sums dl/dy_i J[i][m] over every i,"
     " the entries off the diagonal too",
     lambda y, g, r: g * y * (1 - y)),
    ("flipped_sign", "its dl/do has the wrong sign",
     "dl/do is dl/dy J with J's diagonal positive and its other entries negative",
     lambda y, g, r: -y * (g - g @ y)),
]


def _stage_problem(key, outs, refs, datas, gs, texts):
    """The diagnosis of the first wrong stage ``key`` (the ones before are right)."""
    worst = _worst([{key: o[key]} for o in outs], [{key: r[key]} for r in refs],
                   texts)
    if key == "dy":
        _fail(f"what backprop returns as 'dy' is not the dl_dy it was given: {worst}",
              "return the dl_dy argument unchanged under 'dy'", "wrong_dy")
    if key == "do":
        for mid, diagnosis, hint, rule in _DO_MISTAKES:
            caches = [_reference_cache(d) for d in datas]
            if all(_same(o["do"], rule(r["y"], g, r))
                   for o, r, g in zip(outs, caches, gs)):
                _fail(diagnosis, hint, mid)
        sums = [float(np.sum(o["do"])) for o in outs]
        _fail(f"dl/do is wrong: {worst}", "whatever dl/dy is, dl/do = dl/dy J sums"
              " to 0 (every row of J sums to 0); yours sums to"
              f" {sums[int(np.argmax(np.abs(sums)))]:.4g}", "wrong_do")
    if key == "dh":
        _fail(f"dl/do is right, dl/dh is wrong: {worst}", "h_j feeds every logit"
              " o_m through V[j][m]: dl/dh_j sums V[j][m] dl/do_m over m",
              "wrong_dh")
    if key == "dk":
        for hidden in ("sigmoid_from_k", "sigmoid_twice", "no_sigmoid_derivative"):
            if all(_same(o["dk"], _backprop_reference(d, g, hidden)["dk"])
                   for o, d, g in zip(outs, datas, gs)):
                _fail(f"dl/dh is right, dl/dk is wrong: {_HIDDEN_RULES[hidden][0]}",
                      _HIDDEN_RULES[hidden][1], hidden)
        _fail(f"dl/dh is right, dl/dk is wrong: {worst}", "dl/dk_j is dl/dh_j times"
              " the sigmoid's slope at k_j, which can be written with h_j alone",
              "wrong_dk")
    before = {"V": "dl/do", "c": "dl/do", "W": "dl/dk", "b": "dl/dk"}[key]
    where = {"V": "h", "c": "1", "W": "x", "b": "1"}[key]
    _fail(f"{before} is right, d{key} is wrong: {worst}",
          f"each entry of d{key} is {before} times what it multiplies in the"
          f" forward pass ({where})", f"wrong_d{key}")


def check_backprop(fn=None):
    """Q3, stage 3: ``fn(params, cache, dl_dy)`` returns every derivative below y.

    Called on the reference cache with a *random* dl/dy; the result must have the
    keys ``dy``, ``do``, ``dh``, ``dk``, ``W``, ``b``, ``V``, ``c``.
    """

    def body():
        _need_function(fn, "check_backprop", "your backprop function")
        who = _name(fn, "backprop")
        cases = _cases(seed=6)
        rng = np.random.default_rng(6)
        datas, texts = [d for _, d in cases], [t for t, _ in cases]
        gs = [rng.normal(0.0, 1.0, d["P"].shape[1]) for d in datas]
        refs = [_backprop_reference(d, g) for d, g in zip(datas, gs)]
        outs = []
        for text, d, g, ref in zip(texts, datas, gs, refs):
            cache = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                     for k, v in _reference_cache(d).items()}
            value = _call(fn, (_as_lists(d["params"]), cache, g.tolist()), who,
                          f"{text} with a random dl/dy")
            like = {k: np.asarray(ref[k]) for k in _STAGES}
            outs.append(_grads(value, like, f"what {who} returned", case=text))
            _finite(outs[-1], f"what {who} returned", text)
        for key in _STAGES:
            if not all(_same(o[key], r[key]) for o, r in zip(outs, refs)):
                _stage_problem(key, outs, refs, datas, gs, texts)
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
        outs = []
        for (text, d), cache, ref in zip(cases, caches, refs):
            value = _call(backward, (_as_lists(d["params"]), cache), bwd, text)
            outs.append(_grads(value, ref, f"what {bwd} returned", case=text))
            _finite(outs[-1], f"what {bwd} returned", text)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {fwd} and {bwd}: the loss and every gradient are right on"
                    f" the course's example and on {len(cases) - 1} random"
                    " asymmetric networks (first layer included)")
        course_ok = _same(outs[0], refs[0])
        datas = [d for _, d in cases]
        _match(outs, datas, _network_mistakes(course_ok, keys=_SCALAR_KEYS))
        _network_fallback(outs, refs, cases, list(_SCALAR_KEYS.values()), course_ok)

    return _run(body)


check_scalar_network = check_backward
