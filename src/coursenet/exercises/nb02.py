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

from collections.abc import Mapping

import numpy as np

from coursenet import gradcheck, layers, scalar
from coursenet.exercises._core import (
    Mistake,
    _call,
    _Case,
    _fail,
    _finite,
    _grads,
    _match,
    _name,
    _need_function,
    _number,
    _referee,
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
_CACHE_WHAT = {"x": "the input", "k": "the hidden pre-activations (before the"
               " sigmoid)", "h": "the hidden activations (after the sigmoid)",
               "o": "the logits", "y": "the softmax outputs",
               "target": "the true class"}


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


# The forward pass's mistakes, one step at a time: (key, id, diagnosis, hint,
# what the mistake stores there from the reference cache r and parameters p).
# Each step is judged after the steps before it are right.
_CACHE_MISTAKES = [
    ("k", "forward_no_b", "k misses the first layer's bias b",
     "each hidden unit adds its own bias after the weighted sum of the inputs",
     lambda r, p: r["x"] @ p["W1"]),
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
    ("h", "forward_sigmoid_sign", "h is the sigmoid of -k",
     "the sigmoid rises with its input: a larger k gives an h closer to 1",
     lambda r, p: layers.sigmoid(-r["k"])),
    ("o", "forward_o_from_k", "the logits are computed from k, the values before"
     " the sigmoid, not from h", "the second layer reads the hidden activations,"
     " after the sigmoid", lambda r, p: r["k"] @ p["W2"] + p["b2"]),
    ("o", "forward_no_c", "the logits miss the output bias c",
     "each logit adds its own bias after the weighted sum of the hidden units",
     lambda r, p: r["h"] @ p["W2"]),
    ("y", "cache_y_is_o", "cache['y'] holds the logits o, not the softmax outputs",
     "store the probabilities: they are positive and sum to 1", lambda r, p: r["o"]),
    ("y", "forward_not_normalised", "y holds exponentials that do not sum to 1:"
     " the softmax's division is missing", "the softmax outputs are probabilities:"
     " they sum to 1", lambda r, p: np.exp(r["o"])),
]


def _as_floats(value, shape):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except Exception:  # noqa: BLE001 - a student's object
        return None
    return arr if arr.shape == shape else None


def _cache_problem(key, caches, cases, fwd):
    """The first wrong step ``key`` of the cache (the steps before it are right)."""
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
    for value, cache, ref, (text, _) in zip(values, caches, refs, cases):
        if value is None or not _same(value, ref[key]):
            _fail(f"{fwd}: cache[{key!r}] should be {_CACHE_WHAT[key]}, but on {text}"
                  f" it is {_short(cache[key], 60)}", "the steps before it are"
                  f" right: compare your {key} with the formula for {key} in the"
                  " notebook, one entry at a time, on a small example of your own",
                  "cache_value")


def _forward_outputs(forward, cases, fwd):
    """Run the student's forward on every case; check the pair, the cache (a dict
    with the documented keys, each step in the order of the forward pass) and
    the loss. Returns the caches."""
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
    keys_text = ", ".join(f"'{k}': {k}" for k in CACHE_KEYS)
    for cache in caches:
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
    for key in CACHE_KEYS:
        refs = [_reference_cache(d)[key] for _, d in cases]
        values = [_as_floats(cache[key], np.shape(r)) for cache, r in zip(caches, refs)]
        if not all(v is not None and _same(v, r) for v, r in zip(values, refs)):
            _cache_problem(key, caches, cases, fwd)
    _check_losses(got, cases, _LOSS_MISTAKES, fwd, "k, h, o and y are right: the"
                  " loss is the cross-entropy of the true class's probability")
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
     " dl/do must come from the dl_dy argument, through the softmax Jacobian",
     lambda y, g, r: y - np.eye(len(y))[r["target"]]),
    ("no_jacobian", "its dl/do is dl/dy itself: the softmax step is missing",
     "every y_i depends on every o_m: the way from dl/dy to dl/do goes through"
     " the softmax Jacobian of notebook 01, not around it",
     lambda y, g, r: g),
    ("diagonal_only",
     "its dl/do is dl/dy * y(1 - y): only the diagonal of the softmax Jacobian",
     "every y_i depends on every o_m, so a change of o_m reaches the loss through"
     " every y_i: the entries of J off the diagonal count too",
     lambda y, g, r: g * y * (1 - y)),
    ("do_times_y", "its dl/do is dl/dy times y, entry by entry: only part of"
     " the diagonal of the softmax Jacobian",
     "every y_i depends on every o_m, so a change of o_m reaches the loss through"
     " every y_i: the whole Jacobian of notebook 01 is needed",
     lambda y, g, r: g * y),
    ("flipped_sign", "its dl/do has the wrong sign",
     "the softmax Jacobian's diagonal is positive and its other entries negative:"
     " check the signs of yours",
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
        if all(_same(o["dh"], d["params"]["W2"][:, 0] * r["do"][0])
               for o, d, r in zip(outs, datas, refs)):
            _fail("dl/do is right, dl/dh is wrong: it uses logit 0 only",
                  "h_j feeds every logit: each one adds its own path to dl/dh_j",
                  "dh_one_logit")
        _fail(f"dl/do is right, dl/dh is wrong: {worst}", "h_j feeds every logit,"
              " through one weight of row j of V each: a change of h_j reaches the"
              " loss along every one of those paths", "wrong_dh")
    if key == "dk":
        for hidden in ("sigmoid_from_k", "sigmoid_twice", "no_sigmoid_derivative"):
            if all(_same(o["dk"], _backprop_reference(d, g, hidden)["dk"])
                   for o, d, g in zip(outs, datas, gs)):
                _fail(f"dl/dh is right, dl/dk is wrong: {_HIDDEN_RULES[hidden][0]}",
                      _HIDDEN_RULES[hidden][1], hidden)
        if all(_same(o["dk"], r["dh"] * _reference_cache(d)["h"])
               for o, r, d in zip(outs, refs, datas)):
            _fail("dl/dh is right, dl/dk is wrong: it is dl/dh times h, where the"
                  " sigmoid's slope is needed", "the sigmoid's slope is at most"
                  " 0.25, and it is small where h is near 0 or 1", "dk_times_h")
        _fail(f"dl/dh is right, dl/dk is wrong: {worst}", "dl/dk_j is dl/dh_j times"
              " the sigmoid's slope at k_j, which can be written with h_j alone",
              "wrong_dk")
    if key in ("W", "V"):
        source = "dk" if key == "W" else "do"
        if all(_same(o[key], np.broadcast_to(r[source], r[key].shape))
               for o, r in zip(outs, refs)):
            what = "x" if key == "W" else "h"
            _fail(f"every row of d{key} is dl/d{source[1]}: the value {what} that"
                  f" {key} multiplies in the forward pass is missing",
                  f"nudge one entry of {key}: how much the change does depends on"
                  f" the {what} it meets", f"d{key}_missing_input")
    before = {"V": "dl/do", "c": "dl/do", "W": "dl/dk", "b": "dl/dk"}[key]
    layer = {"V": "second", "c": "second", "W": "first", "b": "first"}[key]
    _fail(f"{before} is right, d{key} is wrong: {worst}",
          f"nudge one entry of {key} in the {layer} layer: which value of the"
          f" forward pass does it meet, and which entry of {before} carries the"
          " change on to the loss?", f"wrong_d{key}")


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



# --------------------------------------------------------------------------
# The bridge to notebook 04: backpropagation on a graph given as a list of nodes
# --------------------------------------------------------------------------

_OPS = ("input", "add", "mul", "sigmoid")


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


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
            values[name] = float(_sigmoid(values[args[0]]))
    return values


def _graph_backward(nodes, values, order="reverse", accumulate=True, chain=True,
                    sigmoid="output", mul="other", seed=1.0):
    """dout/dnode for every node by reverse accumulation; the keywords switch on
    the known mistakes (the reference is the default)."""
    grads = {name: 0.0 for name, _, _ in nodes}
    grads[nodes[-1][0]] = seed
    walk = reversed(nodes) if order == "reverse" else iter(nodes)
    for name, op, args in walk:
        if op == "add":
            local = [1.0] * len(args)
        elif op == "mul":
            a, b = values[args[0]], values[args[1]]
            local = {"other": [b, a], "own": [a, b], "one": [1.0, 1.0]}[mul]
        elif op == "sigmoid":
            v = values[name] if sigmoid == "output" else values[args[0]]
            local = [1.0] if sigmoid == "none" else [v * (1 - v)]
        else:
            local = []
        for arg, slope in zip(args, local):
            step = grads[name] * slope if chain else slope
            grads[arg] = grads[arg] + step if accumulate else step
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
             ("u", "mul", ["s", "b"]), ("v", "add", ["s", "u"]),
             ("w", "mul", ["v", "v"])]
    cases = [("the notebook's example (one path of the 2-3-2 network)", path,
              path_inputs),
             ("a graph where s feeds two nodes and w = v * v", twice,
              {"a": 0.3, "b": -1.7})]
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
    Mistake("graph_overwrite", "a node that feeds two others (or one node twice)"
            " keeps only one of its contributions: the last one written replaces"
            " the others", "a change of such a node reaches the output along"
            " every path out of it, and the chain rule adds the paths up",
            lambda d: _graph_backward(d["nodes"], d["values"], accumulate=False)),
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
    Mistake("graph_mul_own", "a product's local derivative with respect to one"
            " factor is that factor itself", "nudge one factor of a * b by a"
            " little: by how much does the product change?",
            lambda d: _graph_backward(d["nodes"], d["values"], mul="own")),
]


def _first_wrong_node(outs, refs, cases):
    """Walking back from the output, the first node whose derivative is off, and
    the operations of the nodes it feeds (their local derivatives sent it)."""
    for out, ref, (text, d) in zip(outs, refs, cases):
        for name, _, _ in reversed(d["nodes"]):
            if not _same(out[name], ref[name]):
                feeds = sorted({op for _, op, args in d["nodes"] if name in args})
                via = (f", which feeds {' and '.join(repr(op) for op in feeds)}"
                       " node(s): check that operation's local derivative"
                       if feeds else ": it is the output")
                return (f"walking back from the output on {text}, the first wrong"
                        f" derivative is that of node {name!r}{via}")
    return "compare each node's derivative with a small nudge of its value"


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
        _referee_graph(cases[2].data, refs[2])
        outs = []
        for (text, d), ref in zip(cases, refs):
            nodes = [(name, op, list(args)) for name, op, args in d["nodes"]]
            value = _call(fn, (nodes, dict(d["values"])), who, text)
            like = {name: np.asarray(v) for name, v in ref.items()}
            outs.append(_grads(value, like, f"what {who} returned", case=text))
            _finite(outs[-1], f"what {who} returned", text)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {who}: every node's derivative is right on {len(cases)}"
                    " graphs (fan-out and a node used twice included)")
        datas, texts = [d for _, d in cases], [t for t, _ in cases]
        _match(outs, datas, _GRAPH_MISTAKES, texts)
        worst = _worst(outs, refs, texts)
        _fail(f"the derivatives do not match the reference: {worst}",
              _first_wrong_node(outs, refs, cases), "graph_wrong")

    return _run(body)
