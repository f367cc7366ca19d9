"""Checks for notebook 02 (Q3): the scalar network, forward and backward."""

from __future__ import annotations

import numpy as np

from coursenet import scalar
from coursenet.exercises._core import (
    _call,
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
)
from coursenet.exercises._networks import (
    _LOSS_MISTAKES,
    _SCALAR_KEYS,
    _as_lists,
    _check_losses,
    _instance_cases,
    _network_fallback,
    _network_mistakes,
    _referee_network,
)

# --------------------------------------------------------------------------
# Q3: the scalar network, forward and backward
# --------------------------------------------------------------------------


def check_scalar_network(forward=None, backward=None):
    """Q3: ``forward(params, x, target) -> (loss, cache)``, ``backward(params, cache)``.

    ``params`` holds plain lists (``W`` D x H, ``b``, ``V`` H x C, ``c``), ``x`` a
    list of floats, ``target`` an int. ``backward`` gets whatever ``forward``
    returned as its cache and returns gradients with the keys and (nested-list)
    shapes of ``params``; lists, tuples or arrays are all fine.
    """

    def body():
        _need_function(forward, "check_scalar_network",
                       "your forward function as its first argument")
        _need_function(backward, "check_scalar_network",
                       "your backward function as its second argument")
        fwd, bwd = _name(forward, "forward"), _name(backward, "backward")
        cases = _instance_cases(seed=3)
        refs = []
        for _, d in cases:  # the reference: coursenet.scalar, refereed below
            lists = _as_lists(d["params"])
            cache = scalar.forward(lists, d["X"][0].tolist(), int(d["y"][0]))[1]
            refs.append({k: np.array(v) for k, v in
                         scalar.backward(lists, cache).items()})
        _referee_network(cases[1].data, {k: refs[1][name]
                                         for k, name in _SCALAR_KEYS.items()})
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
        _check_losses(got, cases, _LOSS_MISTAKES, fwd,
                      "k = x W + b, h = sigmoid(k), o = h V + c, y = softmax(o),"
                      " loss = -log y[target]")
        outs = []
        for (text, d), cache, ref in zip(cases, caches, refs):
            value = _call(backward, (_as_lists(d["params"]), cache), bwd, text)
            outs.append(_grads(value, ref, f"what {bwd} returned"))
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
