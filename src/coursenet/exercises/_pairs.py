"""Layer pairs (notebooks 04 and 05): ``forward -> (out, cache)``, ``backward``.

A student's pair is run on a few cases; its output is compared with the
package's forward pass (:mod:`coursenet.layers`, :mod:`coursenet.losses`) and
its backward pass with **central differences** of that forward pass
(:func:`coursenet.gradcheck.numerical_vjp`): an independent referee, not a
second copy of the formula. A wrong backward pass is matched against the
known mistakes of that layer (:class:`Mistake` rows, written as the student
would write them); hints describe a property of the right answer, never its
code.

Shapes are exact: a result must have the shape the stub's docstring gives.
(A ``(C, 1)`` gradient for a ``(C,)`` bias would turn the bias into a
``(C, C)`` matrix at the update ``b - lr * db``: numpy broadcasts the two.)
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from coursenet import gradcheck, layers, losses
from coursenet.exercises import _diagnose, _explain
from coursenet.exercises._core import (
    Mistake,
    _array,
    _call,
    _difference,
    _entries_never_set,
    _fail,
    _floor_divides,
    _match,
    _name,
    _names_used,
    _need_function,
    _same,
    _shape_reading,
    _Stop,
    _worst,
)


class Spec(NamedTuple):
    """One kind of layer: how to make cases, the reference, the mistakes."""

    title: str            # "the linear layer"
    grad_names: tuple     # names of what backward returns: ("dx", "dW", "db")
    wrt: tuple            # the forward's inputs they belong to: ("x", "W", "b")
    extra: tuple          # forward inputs that get no gradient: ("c",)
    forward: object       # reference forward(**inputs) -> out
    cases: object         # cases(rng, batch) -> [(text, inputs, dout)]
    mistakes: object      # mistakes(batch) -> [Mistake]; answer(d) -> tuple
    forward_mistakes: object = None  # [Mistake]; answer(d) -> out


def _copy(value):
    return np.array(value, copy=True) if isinstance(value, np.ndarray) else value


def _exact_shape(arr, want, what, case, spec_title, batch=False, others=None):
    """``arr`` must have exactly ``want``; say why another shape is a mistake.
    ``others``: {name: array} of the case, to say whose shape it has instead."""
    got = arr.shape
    if got == want:
        return arr
    on = f" on {case}"
    if len(got) == 2 and len(want) == 2 and got == want[::-1]:
        _fail(f"{what} has shape {got}{on}, expected {want}: it looks transposed",
              "a gradient has the shape of what it is the gradient of: one row per"
              " input of the layer, one column per output", "transposed")
    if not batch and len(want) == 1 and got == (want[0], want[0]):
        sums = np.asarray(arr, dtype=np.float64)
        if np.allclose(sums - sums[:1] - sums[:, :1] + sums[0, 0], 0.0):
            _fail(f"{what} is a {got[0]}×{got[0]} matrix on {case}, expected the"
                  f" row {want}, and its every entry is one entry of a row plus one"
                  " of a column: a flat vector met a column of shape"
                  f" ({got[0]}, 1), and numpy broadcast the two into a table",
                  "keep every term of the sum flat, with the shape it was given",
                  "row_plus_column")
        _fail(f"{what} is a {got[0]}×{got[0]} matrix on {case}; expected the row"
              f" {want}", f"the result is a vector of {want[0]} entries: the matrix"
              " is a step on the way to it, not the answer", "returned_matrix")
    if batch and len(want) == 1 and len(got) == 2 and got[1:] == want and got[0] > 1:
        _fail(f"{what} has shape {got}{on}, expected {want}: one row per instance,"
              " not summed over the batch",
              "the bias is added to every row of the batch, so every row's"
              " gradient reaches it: add them up", "bias_not_summed")
    if batch and len(want) == 2 and len(got) == 1 and want[0] != want[1] \
            and got[0] in want:
        axis, kept = ((0, "the N rows") if got[0] == want[1]
                      else (1, "each row's entries"))
        _fail(f"{what} has shape {got}{on}, expected {want}: summed over axis"
              f" {axis} ({kept})", "an input of the layer has one row per"
              " instance, so its gradient keeps one row per instance: only a"
              " parameter shared by the rows sums over them", "summed_over_batch")
    if sorted(d for d in got if d != 1) == sorted(d for d in want if d != 1):
        _fail(f"{what} has shape {got}{on}; the stub says {want}: an extra or"
              " missing axis of length 1",
              f"return exactly {want}: a {got} result broadcasts against the"
              f" {want} arrays it meets later ({_broadcast_example(got, want)})",
              "extra_axis")
    if len(got) == 3 and len(want) == 2 and got[0] == got[1] == want[0] \
            and spec_title == "the softmax":      # the layer with a Jacobian
        _fail(f"{what} has shape {got}{on}, expected {want}: numpy's matmul paired"
              " every row of the upstream gradient with every instance's Jacobian",
              "each instance's row needs its own Jacobian only: make the instance"
              " axis shared by both factors of the product (the stack of 16"
              " products in the example above)", "batch_matmul_nnc")
    reading = _shape_reading(got, want)
    alike = [k for k, v in (others or {}).items() if np.shape(v) == got]
    if alike and not reading:   # made from the wrong array's shape
        reading = f"the shape of {' and of '.join(alike)}"
    _fail(f"{what} has shape {got}{on}, expected {want}"
          f"{': ' + reading if reading else ''}",
          f"{spec_title}: its output has the shape the stub's docstring gives"
          if what.startswith("the output") else
          f"{spec_title}: every gradient has the shape of the input it belongs to",
          "wrong_shape")


def _forward_out(spec, fwd, inputs, who, text):
    """Run the student's forward: ``(out, cache)``, out checked against the package."""
    args = tuple(_copy(inputs[k]) for k in (*spec.wrt, *spec.extra))
    value = _call(fwd, args, who, text)
    if not (isinstance(value, tuple) and len(value) == 2):
        _array(value, f"what {who} returned")  # None, a string ...: named there
        _fail(f"{who} returned {type(value).__name__} {_preview(value)} on {text};"
              " expected a pair (out, cache)",
              "a forward function returns its output and what its backward needs",
              "not_a_pair")
    out, cache = value
    ref = np.asarray(spec.forward(**inputs), dtype=np.float64)
    if isinstance(out, (tuple, list, dict)) and isinstance(
            cache, (np.ndarray, float, np.floating)) and np.shape(cache) == ref.shape:
        _fail(f"{who} returned a {type(out).__name__} first and an array of the"
              f" output's shape {ref.shape} second (on {text}): (cache, out), the"
              " pair in the other order", "a forward function returns its output"
              " first and its cache second: the order the stubs' docstrings give",
              "pair_swapped")
    _forward_keeps_state(fwd, args, who, text, cache)
    if not isinstance(out, (list, tuple)):  # a list is named by _exact_shape's
        plain_array(out, f"the output of {who}", text)
    arr = _array(out, f"the output of {who}")
    if ref.ndim == 0:
        first = np.asarray(inputs[spec.wrt[0]])
        if arr.size != 1 and arr.shape == first.shape and "c" in inputs:
            _fail(f"the output of {who} has shape {arr.shape} on {text}, one value"
                  f" for every entry of {spec.wrt[0]}: the true class c is not used"
                  " to pick the entries the loss is made of", "the loss is one"
                  " number, and only the true class's probability enters it",
                  "loss_of_every_class")
        if arr.size != 1:
            _fail(f"the output of {who} has shape {arr.shape} on {text}; the loss is"
                  " one number", "return one number: the mean over the batch"
                  if first.ndim == 2 else "return one number", "per_instance_loss")
        if arr.shape != ():
            _fail(f"the output of {who} is an array of shape {arr.shape} on {text};"
                  " the stub says the loss is one number", "return a plain number"
                  " (a float or a 0-d array): an array of shape (1,) broadcasts"
                  " where a number is expected, and a later shape check on it"
                  " fails", "loss_not_scalar")
        arr = arr.reshape(())
    else:
        arr = _exact_shape(arr, ref.shape, f"the output of {who}", text, spec.title,
                           np.ndim(ref) == 2, inputs)
    return arr, ref, cache


def _forward_keeps_state(fwd, args, who, text, cache):
    """Fail when a second call on the same inputs hands back the first call's
    cache object grown or changed (a default list, made once when the def ran,
    that every call appends to)."""
    if not isinstance(cache, (list, dict)):
        return
    kept = copy.deepcopy(cache)
    try:
        again = _call(fwd, tuple(_copy(a) for a in args), who, text)
    except _Stop:
        return
    if isinstance(again, tuple) and len(again) == 2 and again[1] is cache:
        change = _difference(kept, cache, "it")
        _fail(f"{who} keeps something between calls: called twice on {text}, it"
              " hands back the same cache object both times"
              + (f", and the second call changed it ({change})" if change else ""),
              "a default value such as [] in the def line is made once, when the def"
              " runs, and every call shares it: make the cache inside the call",
              "keeps_state")


def _counts(datas, batch):
    """The counts of each case a wrong factor may equal: N rows, C classes."""
    counts = [_diagnose.Count(_rows_of(datas, batch), _ROWS_MORE, _ROWS_LESS,
                              _ROWS_SQUARED)]
    key = next((k for k in ("o", "y") if k in datas[0]), None)
    if key:     # a layer over the classes (softmax, loss): C is a count too
        counts.append(_diagnose.classes([np.shape(d[key])[-1] for d in datas]))
    if all(np.ndim(d["dout"]) == 0 for d in datas):   # a loss: dout is one number
        counts.append(_diagnose.Count([float(d["dout"]) ** 2 for d in datas],
                                      _UPSTREAM_MORE, _UPSTREAM_LESS))
    if "W" in datas[0]:     # the linear layer: its input and output sizes
        for size, axis, key in (("D, the input size", 0, "W"),
                                ("M, the number of outputs", 1, "W")):
            counts.append(_diagnose.Count(
                [np.shape(d[key])[axis] for d in datas],
                (f"is {size} times the right one on every case", _SIZE_HINT,
                 "scaled_by_size"),
                (f"is the right one divided by {size}, on every case", _SIZE_HINT,
                 "scaled_by_size")))
    return counts


_SIZE_HINT = ("each path from an entry to the loss adds its own term: nothing is"
              " averaged across the layer's inputs or outputs")


# a factor of dloss squared: the upstream number used three times, or divided by
# where it multiplies (1/dloss where dloss belongs)
_UPSTREAM_MORE = ("is the right one times dloss squared: the upstream gradient"
                  " multiplies it more than once", "the chain rule multiplies by"
                  " the upstream gradient once", "upstream_too_often")
_UPSTREAM_LESS = ("is the right one divided by dloss squared: it divides by the"
                  " upstream gradient where the chain rule multiplies by it",
                  "the chain rule multiplies each local derivative by the upstream"
                  " gradient", "divides_by_upstream")


def _forward_structure(spec, fwd, who, cases, batch):
    """A wrong forward output: run every case and name a factor (a count of
    the case such as N or C, a sign, a constant) shared by all of them."""
    outs, refs, datas, texts = [], [], [], []
    for text, inputs, dout in cases:
        try:
            out, ref, _ = _forward_out(spec, fwd, inputs, who, text)
        except _Stop:
            return
        outs.append(np.atleast_1d(out))
        refs.append(np.atleast_1d(ref))
        datas.append({**inputs, "dout": dout})
        texts.append(text)
    _diagnose.scaled(f"the output of {who}", outs, refs, texts,
                     _counts(datas, batch))


def _preview(value):
    text = (f"of shape {value.shape}" if isinstance(value, np.ndarray)
            else repr(value))
    return text if len(text) < 50 else text[:47] + "..."


def _backward_grads(spec, value, inputs, who, text, batch=False, dout=None):
    """What backward returned, as a tuple of arrays of exactly the inputs' shapes
    (``dout``: the upstream gradient it was given, to name a shape taken from it)."""
    many = len(spec.grad_names) > 1
    if many:
        right_kind = isinstance(value, (tuple, list)) \
            and len(value) == len(spec.grad_names)
        if isinstance(value, Mapping) or not right_kind:
            _array(value, f"what {who} returned") if value is None else None
            _fail(f"{who} returned {_preview(value)} on {text}; expected"
                  f" ({', '.join(spec.grad_names)})",
                  f"return the gradients in the order {', '.join(spec.grad_names)}",
                  "not_a_tuple")
        values = list(value)
    else:
        values = [value]
    _in_order(spec, values, inputs, who, text)
    out = []
    for name, key, v in zip(spec.grad_names, spec.wrt, values):
        plain_array(v, f"{name} from {who}", text)
        arr = _array(v, f"{name} from {who}")
        want = np.shape(inputs[key])
        others = {k: v for k, v in {**inputs, "dout": dout}.items()
                  if k != key and v is not None}
        out.append(_exact_shape(arr, want, f"{name} from {who}", text, spec.title,
                                batch, others))
    return tuple(out)


def _in_order(spec, values, inputs, who, text):
    """The gradients' shapes are those of the inputs, in another order: name it."""
    want = [np.shape(inputs[key]) for key in spec.wrt]
    got = [np.shape(v) if isinstance(v, np.ndarray) else None for v in values]
    if len(set(want)) > 1 and got != want and sorted(map(str, got)) == sorted(
            map(str, want)):
        free, order = list(range(len(want))), []
        for i, g in enumerate(got):  # the same position first when shapes tie
            j = i if i in free and want[i] == g else next(
                j for j in free if want[j] == g)
            free.remove(j)
            order.append(spec.grad_names[j])
        _fail(f"{who} returned its gradients in the order ({', '.join(order)}) on"
              f" {text}", "the stub's docstring gives the order:"
              f" ({', '.join(spec.grad_names)})", "grads_order")


def plain_array(value, what, case):
    """A gradient is a float64 numpy array: name a list, and a cast to float32
    (the cases' inputs are float64)."""
    if isinstance(value, (list, tuple)):
        _fail(f"{what} is a Python {type(value).__name__} on {case}, not a numpy"
              " array", "the stub promises an array: lr times a list raises"
              " TypeError at the update, and the code that receives a list gets"
              " no array arithmetic (a list times 2 is the list twice over)",
              "returned_list")
    dtype = getattr(value, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize < 8:
        _fail(f"{what} is {dtype} on {case}, from float64 inputs: about 7 of its"
              " 16 significant digits are lost", "keep the precision of the arrays"
              " you were given (no cast): a gradient check against finite"
              " differences needs float64's digits",
              "low_precision")


def _not_finite_hint(spec, inputs):
    """Where nan or inf can come from, true of the case that showed it."""
    if "y" in inputs:  # probabilities: none is 0 in the check's cases
        low = float(np.min(inputs["y"]))
        return (f"every probability in this case is at least {low:.2g}, so a"
                " division by an entry of y cannot overflow: look for a division"
                " by an entry of a new array of zeros, or of an array the function"
                " overwrote first")
    return "look for a division by a number that can be 0, or an overflow"


def _numeric(spec, inputs, dout):
    """Every gradient by central differences of the package's forward pass."""
    grads = []
    for key in spec.wrt:
        x = np.array(inputs[key], dtype=np.float64)

        def f(z, key=key):
            return spec.forward(**{**inputs, key: z})

        if np.ndim(dout) == 0:
            grads.append(gradcheck.numerical_gradient(
                lambda z, f=f: float(dout) * f(z), x))
        else:
            grads.append(gradcheck.numerical_vjp(f, x, np.asarray(dout)))
    return tuple(grads)


def _cache_carries_all(spec, pair, names, two, right):
    """Fail when the backward's result depends on the last forward call, not on
    the cache it is handed: forward on case 1, forward on case 2, backward with
    case 1's cache. The check's own order (each backward right after its
    forward) cannot see a value kept outside the cache (a global, an attribute
    of the function), which the next forward overwrites."""
    (fwd, bwd), (fwho, bwho) = pair, names
    (text, inputs, dout), (_, later, _) = two
    args = [tuple(_copy(d[k]) for k in (*spec.wrt, *spec.extra))
            for d in (inputs, later)]
    try:
        _, cache = _call(fwd, args[0], fwho, text)
        _call(fwd, args[1], fwho, text)
    except (_Stop, TypeError, ValueError):
        return
    try:
        value = _call(bwd, (_copy(dout), cache), bwho, text)
        got = _backward_grads(spec, value, inputs, bwho, text)
        wrong = "gives another case's gradient"
        if all(_same(g, right[name]) for g, name in zip(got, spec.grad_names)):
            return
    except _Stop as stop:   # only in this order: the order is the finding
        wrong = f"raises ({stop.message.split(' on ')[0].removeprefix('✗ ')})"
    _fail(f"{bwho} is right when it runs just after its own forward, and wrong"
          f" when another {fwho} call comes between them: handed the cache of"
          f" {text}, it {wrong}. Something it reads is kept outside the cache"
          " (a global, or an attribute), and the later forward overwrote it",
          "everything the backward needs travels in the cache that its forward"
          " returns", "kept_outside_cache")


def _passing_probes(spec, pair, names, first, how):
    """A pair right on the check's cases, tried where those cases cannot see:
    a one-row batch, ties, other shapes, extreme inputs."""
    (fwd, bwd), (fwho, bwho), (batch, seed) = pair, names, how
    if batch:
        _one_row_batch(spec, pair, names, first)
    if spec.title == CROSS_ENTROPY.title:
        _class_by_value(spec, pair, names, batch)
    if spec.title == SIGMOID.title and not batch:
        _elementwise_any_shape(spec, pair, fwho, bwho, seed)
    if spec.title == SIGMOID.title:
        _sigmoid_backward_extremes(fwd, bwd, bwho, batch)


def check_pair(spec, fwd, bwd, batch, seed):
    """The body of a pair check: forward vs the package, backward vs finite
    differences, then the known mistakes. Returns the ✓ line."""
    _need_function(fwd, "this check", "your forward function")
    _need_function(bwd, "this check", "your backward function")
    fwho, bwho = _name(fwd, "your forward"), _name(bwd, "your backward")
    cases = spec.cases(np.random.default_rng(seed), batch)
    outs, refs, datas, texts, caches = [], [], [], [], []
    for text, inputs, dout in cases:
        out, ref, cache = _forward_out(spec, fwd, inputs, fwho, text)
        _check_forward(spec, fwd, fwho, (out, ref, inputs, dout, text), cases, batch)
        value = None
        try:
            value = _call(bwd, (_copy(dout), cache), bwho, text)
            grads = _backward_grads(spec, value, inputs, bwho, text, batch, dout)
        except _Stop as stop:
            _cache_order(spec, (bwd, bwho, fwho, batch),
                         [(inputs, dout, cache, text)])
            if stop.mistake in ("summed_over_batch", "wrong_shape"):
                one_row_returned(spec, value, (inputs, dout), bwho, text)
            if stop.mistake == "wrong_shape":
                _summed_axis(spec, (fwd, bwd), (fwho, bwho), cases, batch)
            # a mistake seen on the earlier cases may explain the failure here
            if datas:
                keyed = [dict(zip(spec.grad_names, o)) for o in outs]
                # not a reshape: on the square first case alone, a transpose
                # reshaped to its own shape is the transpose, named below
                _match(keyed, datas, [m for m in _keyed_mistakes(spec, batch)
                                      if m.id != "reshaped_not_transposed"], texts)
                _indices_swapped(spec, keyed, datas, bwho)
            if stop.mistake == "wrong_shape":
                _explain_shape(spec, value, {**inputs, "dout": dout}, bwho, text)
            raise
        if not all(np.all(np.isfinite(g)) for g in grads):
            _not_finite(spec, (bwd, bwho, fwho), out, inputs, text)
        outs.append(grads)
        refs.append(_numeric(spec, inputs, dout))
        datas.append({**inputs, "dout": dout})
        caches.append(cache)
        texts.append(text)
    _unset_entries(spec, bwd, bwho, datas[0], caches[0])
    extreme_probes(spec, fwd, fwho, batch)
    outs = [dict(zip(spec.grad_names, o)) for o in outs]
    refs = [dict(zip(spec.grad_names, r)) for r in refs]
    if all(_same(o, r) for o, r in zip(outs, refs)):
        _cache_carries_all(spec, (fwd, bwd), (fwho, bwho), cases[:2], refs[0])
        _passing_probes(spec, (fwd, bwd), (fwho, bwho), cases[0], (batch, seed))
        return (f"✓ {fwho}/{bwho}: the output agrees with the package and"
                f" {', '.join(spec.grad_names)} with finite differences on"
                f" {len(cases)} cases ({cases[0][0]}, ...)")
    _cache_order(spec, (bwd, bwho, fwho, batch),
                 [({k: d[k] for k in (*spec.wrt, *spec.extra)}, d["dout"], cache, t)
                  for d, cache, t in zip(datas, caches, texts)])
    _explain_backward(spec, (outs, refs, datas, texts), bwho, batch,
                      (bwd, fwho, caches, fwd))


def _grad_values(spec, value):
    """What a probe's backward call returned, one value per gradient name (a
    tuple of them for a layer with several, the value itself for one)."""
    many = len(spec.grad_names) > 1 and isinstance(value, (tuple, list))
    return value if many else (value,)


def _unset_entries(spec, bwd, who, d, cache):
    """Fail when entries of the backward's results were never set (an array
    made with np.empty keeps what memory held): :func:`_entries_never_set`."""
    shapes = {np.shape(d[k]) for k in spec.wrt} | {np.shape(d["dout"])}
    _entries_never_set(bwd, (_copy(d["dout"]), cache), who, shapes,
                       spec.grad_names if len(spec.grad_names) > 1 else None)


def _linear_in_dout(spec, bwd, who, datas, caches):
    """Fail when the backward does not scale with the upstream gradient: twice
    dout must give twice every gradient, whatever the layer (a backward pass is
    linear in dout); one that does not uses dout where a forward value
    belongs, or squares or divides by it."""
    for d, cache in zip(datas, caches):
        one, two = (_quiet_call(bwd, (_copy(d["dout"]) * k, cache), who)
                    for k in (1.0, 2.0))
        many = len(spec.grad_names) > 1
        for i, name in enumerate(spec.grad_names):
            a, b = (_floats_or_none(v[i] if many and isinstance(v, (tuple, list))
                                    else v) for v in (one, two))
            if a is None or b is None or a.shape != b.shape \
                    or not np.all(np.isfinite(a)) or _same(b, 2 * a):
                continue
            _fail(f"{name} from {who} does not scale with the upstream gradient:"
                  " with dout doubled it is not doubled. A backward pass is linear"
                  " in dout, so the upstream gradient stands where a forward value"
                  " belongs, or it enters more than once", "dout multiplies what"
                  " the layer's local derivatives give, once; every other number"
                  " comes from the forward pass (the cache)", "not_linear_in_dout")


def _cache_order(spec, who, runs):
    """Fail when the backward is right on every case of ``runs`` ((inputs,
    dout, cache, text)) once the entries of its cache (a tuple or list) come
    in another order: the forward stores them in one order, the backward
    unpacks them in another."""
    bwd, bwho, fwho, batch = who
    cache = runs[0][2]
    if not isinstance(cache, (tuple, list)) or not 2 <= len(cache) <= 3:
        return
    for order in itertools.permutations(range(len(cache))):
        if list(order) == sorted(order):
            continue
        try:
            right = all(_same(dict(zip(spec.grad_names, _backward_grads(
                spec, _quiet_call(bwd, (_copy(dout), type(c)(c[i] for i in order)),
                                  bwho), inputs, bwho, text, batch))),
                dict(zip(spec.grad_names, _numeric(spec, inputs, dout))))
                for inputs, dout, c, text in runs)
        except _Stop:
            continue
        if right:
            _fail(f"{bwho} is right once the entries of its cache come in another"
                  f" order: {fwho} stores them in one order and {bwho} unpacks them"
                  " in another, so each name holds another entry's value",
                  f"print the cache {fwho} returns and read it in the order it"
                  " was stored", "cache_order")

def _class_by_value(spec, pair, names, batch):
    """Fail when the cross-entropy pair is wrong on probabilities with ties:
    an entry whose probability equals the true class's is treated as the
    true class (the class found by comparing values, not by its position)."""
    (fwd, bwd), (fwho, bwho) = pair, names
    Y = np.array([[0.25, 0.25, 0.5], [0.5, 0.25, 0.25]])
    inputs = {"y": Y if batch else Y[0], "c": np.array([0, 2]) if batch else 0}
    try:
        _, cache = _call(fwd, (_copy(inputs["y"]), _copy(inputs["c"])), fwho,
                         "probabilities with ties")
        got = _floats_or_none(_call(bwd, (1.0, cache), bwho, "probabilities with"
                                    " ties"))
    except _Stop:
        return
    right = _numeric(spec, inputs, 1.0)[0]
    if got is not None and got.shape == right.shape and not _same(got, right):
        _fail(f"on probabilities with ties ({_fmt(inputs['y'])}, true class"
              f" {inputs['c']}) dy from {bwho} is {_fmt(got)}, expected"
              f" {_fmt(right)}: an entry whose probability equals the true class's"
              " is treated as the true class: the class is found by comparing"
              " probabilities, not by its position", "the true class is the one"
              " whose number c is: only its entry is non-zero", "class_by_value")


def _one_row_batch(spec, pair, names, case):
    """Fail when a pair that is right on batches gives results of another
    shape on a batch of one row (an axis of length 1 dropped: a squeeze, an
    index that takes the row out), which the training loop's last batch can
    be."""
    (fwd, bwd), (fwho, bwho) = pair, names
    _, inputs, dout = case
    one = {k: (v if k in _PARAMETERS else np.asarray(v)[:1]) for k, v in inputs.items()}
    dout = np.asarray(dout)[:1] if np.ndim(dout) == 2 else dout
    wants = [("the output of " + fwho, np.shape(spec.forward(**one)))] + \
        [(f"{name} from {bwho}", np.shape(one[k]))
         for name, k in zip(spec.grad_names, spec.wrt)]
    try:
        out, cache = _call(fwd, tuple(_copy(v) for v in one.values()), fwho,
                           "a batch of one row")
        value = _call(bwd, (_copy(dout), cache), bwho, "a batch of one row")
    except _Stop:
        return
    for (what, want), got in zip(wants, (out, *_grad_values(spec, value))):
        if np.shape(got) != want:
            _fail(f"on a batch of one row (N = 1) {what} has shape {np.shape(got)},"
                  f" expected {want}: an axis of length 1 was dropped (a squeeze, or"
                  " an index that takes the row out), and with one row the batch's"
                  " own axis has length 1", "keep every axis the stub promises,"
                  " whatever its length: the last batch of an epoch can be one row",
                  "one_row_dropped")


def _not_finite(spec, who, out, inputs, text):
    """Fail for a backward that returned nan or inf on ``text``."""
    bwd, bwho, fwho = who
    if spec.title in (SOFTMAX.title, FUSED.title) \
            and "exp" in _names_used(bwd) and np.all(np.isfinite(out)):
        _fail(f"{bwho} returns nan or inf on {text}, where {fwho}'s output"
              f" is finite: {bwho} takes exp of something itself, and exp"
              " overflows there", "the forward pass computed the"
              " probabilities already: the backward reads them from the"
              " cache and needs no exp", "backward_recomputes_exp")
    _fail(f"{bwho} returns nan or inf on {text}", _not_finite_hint(spec, inputs),
          "not_finite")


def _explain_shape(spec, value, d, who, text):
    """A gradient of the wrong shape that is a simple expression over the
    case's quantities (one number from a product of two vectors, ...): say
    which, on this one case (the shape alone says little)."""
    values = list(value) if len(spec.grad_names) > 1 else [value]
    inputs = {k: d[k] for k in (*spec.wrt, *spec.extra)}
    right = dict(zip(spec.grad_names, _numeric(spec, inputs, d["dout"])))
    vocab, sizes = _vocabulary(spec, d, right)
    for name, key, v in zip(spec.grad_names, spec.wrt, values):
        arr = _floats(v)
        if arr is not None and arr.shape != np.shape(d[key]):
            _explain.explain(f"{name} from {who}", [arr], [right[name]], [vocab],
                             [sizes], "a gradient has the shape of what it is the"
                             " gradient of, and each entry says how the loss moves"
                             " with that one entry", on=f"on {text}")


def _summed_axis(spec, pair, names, cases, batch):
    """A result of the wrong shape on a case whose sides tie (N = D): run the
    cases whose sides all differ, where a sum over one axis shows which."""
    fwd, bwd = pair
    fwho, bwho = names
    for text, inputs, dout in cases:
        first = np.shape(inputs[spec.wrt[0]])
        if len(first) != 2 or first[0] == first[1]:   # N = D: the axes tie
            continue
        got = _probe_out(spec, fwd, fwho, inputs, with_cache=True)
        value = None if got is None else _quiet_call(bwd, (dout, got[1]), bwho)
        if not isinstance(value, (tuple, list)) \
                or len(value) != len(spec.grad_names):
            continue
        for name, key, v in zip(spec.grad_names, spec.wrt, value):
            arr = _floats_or_none(v)
            if arr is None:
                continue
            try:
                _exact_shape(arr, np.shape(inputs[key]), f"{name} from {bwho}",
                             text, spec.title, batch)
            except _Stop as stop:
                if stop.mistake == "summed_over_batch":
                    raise


def _elementwise_any_shape(spec, pair, fwho, bwho, seed):
    """An elementwise pair (its stub says "any shape", and 05 reuses it on
    (N, H) batches) must work on a matrix too, not only on the vectors of
    the cases: a matrix product in it shows only there."""
    fwd, bwd = pair
    rng = np.random.default_rng(seed)
    k, dh = rng.normal(0.0, 2.0, (3, 4)), rng.normal(size=(3, 4))
    text = "a k of shape (3, 4)"
    said = (f"{bwho} works on a vector but not on {text}: the layer works entry"
            " by entry")
    hint = ("each entry of dk depends only on the same entry of dh and of h:"
            " nothing mixes entries, so nothing depends on the array's shape")
    try:
        out, ref, cache = _forward_out(spec, fwd, {"k": k}, fwho, text)
    except _Stop as stop:
        _fail(f"{fwho} works on a vector but not on {text} (the stub says any"
              f" shape): {stop.message.lstrip('✗ ').split('. Hint')[0]}",
              "the sigmoid works entry by entry: nothing in it depends on the"
              " array's shape", "not_elementwise")
    if np.shape(out) != np.shape(ref) or not _same(out, ref):
        _fail(f"{fwho} works on a vector but not on {text} (the stub says any"
              " shape): its output there is not the sigmoid of each entry",
              "the sigmoid works entry by entry: nothing in it depends on the"
              " array's shape", "not_elementwise")
    try:
        value = _call(bwd, (dh.copy(), cache), bwho, text)
    except _Stop as stop:
        _fail(f"{said} ({stop.message.lstrip('✗ ').split('. Hint')[0]})", hint,
              "not_elementwise")
    got = _floats_or_none(value)
    want = _numeric(spec, {"k": k}, dh)[0]
    if got is None or got.shape != want.shape or not _same(got, want):
        _fail(f"{said} (it returns "
              + ("another shape" if got is not None and got.shape != want.shape
                 else "other numbers") + ")", hint, "not_elementwise")


def _rows_alone(spec, fwd, fwho, inputs, text):
    """A batch forward that is not finite on a batch: is each row alone (with
    its own class, for a loss) finite and right? Then one shift serves the
    whole batch, and a row far below its largest logit underflows."""
    keys = (*spec.wrt, *spec.extra)
    X = np.asarray(inputs[keys[0]], dtype=np.float64)
    if X.ndim != 2 or len(X) < 2:
        return
    for i in range(len(X)):
        row = {k: np.asarray(v)[i:i + 1].copy() if np.ndim(v) and len(v) == len(X)
               else v for k, v in inputs.items()}
        try:
            alone = _floats_or_none(_call(fwd, tuple(row[k] for k in keys), fwho,
                                          text)[0])
        except (_Stop, TypeError, IndexError):
            return
        if alone is None or not np.all(np.isfinite(alone)) or not _same(
                alone, spec.forward(**row)):
            return
    _fail(f"{fwho} gives nan or inf on {text}, though each of its rows alone"
          " comes out right: one number shifts the whole batch, and the exps of"
          " a row far below it underflow to 0", "the text of the exercise:"
          " each row is shifted by its own maximum", "batch_shared_shift")


def _check_forward(spec, fwd, fwho, case, cases, batch):
    """Fail, naming the mistake where one is known, if the forward output
    `out` of one case differs from the package's `ref`."""
    out, ref, inputs, dout, text = case
    if not np.all(np.isfinite(out)):
        _rows_alone(spec, fwd, fwho, inputs, text)
        _fail(f"{fwho} gives nan or inf on {text}",
              "exp of a large number overflows: the softmax is unchanged when"
              " the same number is subtracted from every logit, and that number"
              " must leave no exponent above 0 (a position, an index, a mean or"
              " a fixed number does not)",
              "forward_not_finite")
    if not _same(out, ref):
        d = {**inputs, "dout": dout}
        if _floor_divides(fwd) and _whole(np.asarray(out)) \
                and not _whole(np.asarray(ref)):
            _fail(f"the output of {fwho} on {text} is a whole number ({_fmt(out)}),"
                  f" the right one is {_fmt(ref)}, and {fwho} divides with //: a"
                  " floor division rounds each quotient down to a whole number",
                  "a division that keeps its fraction is the plain one",
                  "rounded_to_whole")
        _match([out], [d], spec.forward_mistakes or [])
        first = np.asarray(inputs[spec.wrt[0]], dtype=np.float64)
        if out.shape == first.shape and _same(out, first):
            _fail(f"{fwho} returns its input {spec.wrt[0]} unchanged on {text}",
                  f"{spec.title}: the output is what the layer computes from"
                  f" {spec.wrt[0]}; the cache keeps what the backward pass"
                  " needs, the output is what the next layer gets",
                  "forward_identity")
        _forward_probes(spec, fwd, fwho, inputs, batch)
        _forward_structure(spec, fwd, fwho, cases, batch)
        vocab, sizes = _vocabulary(spec, d)
        _explain.explain(f"output of {fwho}", [out], [ref],
                         [[p for p in vocab if p[0] != _explain.NAMES["out"]]], [sizes])
        worst = _worst([out], [ref], [text], "out")
        _fail(f"the output of {fwho} is wrong ({worst})",
              f"{spec.title}: compare your forward pass with its definition in"
              " the text above, entry by entry", "forward_wrong")


def _cache_candidates(spec, inputs):
    """What a layer's backward usually reads from its cache, by name: the
    layer's output, and the probabilities when the input is logits o."""
    found = []
    out = np.asarray(spec.forward(**inputs), dtype=np.float64)
    if out.ndim:
        found.append(("the layer's output", out))
    if "y" in inputs and not out.ndim:
        found.append(("the probabilities y", np.asarray(inputs["y"], dtype=np.float64)))
    if "o" in inputs and not out.ndim:
        found.append(("the probabilities (the softmax of o)", _soft_ref(inputs["o"])))
    return found


def _slots(cache):
    """The array slots of a cache: (index or None for the cache itself, value)."""
    if isinstance(cache, (tuple, list)):
        return [(i, v) for i, v in enumerate(cache) if isinstance(v, np.ndarray)]
    return [(None, cache)] if isinstance(cache, np.ndarray) else []


def _cache_swapped(spec, who, refs, datas, texts):
    """Fail when the backward is right once one slot of its cache holds the
    value it should (the layer's output, the probabilities): the forward
    caches another value there, the backward is not at fault."""
    bwd, bwho, fwho, batch = who
    first = datas[0]
    inputs = {k: first[k] for k in (*spec.wrt, *spec.extra)}
    for index, _ in _slots(first["cache"]):
        for name, _ in _cache_candidates(spec, inputs):
            if _cache_slot_fixes(spec, (bwd, bwho, batch), refs, datas, texts,
                                 (index, name)):
                slot = "its cache" if index is None else f"slot {index} of its cache"
                held = _identify(dict(_slots(first["cache"]))[index], inputs)
                _fail(f"{bwho} is right once {slot} holds {name}, but {fwho} caches"
                      + (f" {held}" if held else " another value") + " there: the"
                      " forward pass caches the wrong value",
                      "print what your forward pass caches and compare"
                      f" it with {name}: the backward reads it as that",
                      "cache_holds_another_value")


def _cache_slot_fixes(spec, who, refs, datas, texts, slot):
    """Whether the backward is right on every case with the cache's ``slot``
    (index, candidate name) replaced by that candidate's right value."""
    bwd, bwho, batch = who
    index, name = slot
    differs = False    # the slot holds another value on some case
    for ref, d, text in zip(refs, datas, texts):
        inputs = {k: d[k] for k in (*spec.wrt, *spec.extra)}
        want = dict(_cache_candidates(spec, inputs)).get(name)
        cache = d["cache"]
        old = cache if index is None else (
            cache[index] if isinstance(cache, (tuple, list)) and len(cache) > index
            else None)
        if want is None or not isinstance(old, np.ndarray) \
                or old.shape != want.shape:
            return False
        differs = differs or not _same(old, want)
        if index is None:
            fixed = want.copy()
        else:
            fixed = list(_copy(cache))
            fixed[index] = want.copy()
            fixed = type(cache)(fixed)
        try:
            value = _call(bwd, (_copy(d["dout"]), fixed), bwho, text)
            grads = _backward_grads(spec, value, inputs, bwho, text, batch)
        except _Stop:
            return False
        if not _same(dict(zip(spec.grad_names, grads)), ref):
            return False
    return differs


_ONE_ENTRY = ("take one entry: which outputs does it change, and by how much? Sum"
              " the upstream gradient over those outputs")
_ONE_ENTRY_ELEMENTWISE = ("take one entry of the input: it changes its own output"
                          " alone; by how much per unit, at that input? Compare"
                          " with a finite difference there")


def _one_entry(spec):
    """The fallback hint: an elementwise layer's entry reaches one output only."""
    return _ONE_ENTRY_ELEMENTWISE if spec is SIGMOID else _ONE_ENTRY


def _vocabulary(spec, d, right=None):
    """The quantities of one case the expression explainer may combine: the
    case's inputs and upstream gradient, the forward's output, the right
    gradients (``right``: name -> array)."""
    inputs = {k: d[k] for k in (*spec.wrt, *spec.extra)}
    return _explain.vocabulary(d, right, [(_explain.NAMES["out"],
                                           spec.forward(**inputs))])


def _explain_backward(spec, runs, bwho, batch, swap):
    """Fail with the best diagnosis of gradients that differ from finite
    differences; runs = (outs, refs, datas, texts), one entry per case;
    swap = (backward, forward's name, the forward's cache per case)."""
    outs, refs, datas, texts = runs
    bwd, fwho, caches, _ = swap
    integer_results(spec, outs, refs, datas, caches, bwd, bwho)
    one_entry_local(spec, outs, datas, bwho)
    gradient_for_input(spec, (outs, refs, datas), bwho)
    _match(outs, datas, _keyed_mistakes(spec, batch), texts)
    _cache_swapped(spec, (bwd, bwho, fwho, batch), refs,
                   [{**d, "cache": c} for d, c in zip(datas, caches)], texts)
    wrong = [n for n in spec.grad_names
             if not all(_same(o[n], r[n]) for o, r in zip(outs, refs))]
    _backward_probes(spec, runs, bwho, swap)
    for name in wrong:
        mine, right = [o[name] for o in outs], [r[name] for r in refs]
        _structure(spec, name, mine, right, datas, texts, bwho, batch)
    vocabs = [_vocabulary(spec, d, r) for d, r in zip(datas, refs)]
    for name in wrong:
        _explain.explain(f"{name} from {bwho}", [o[name] for o in outs],
                         [r[name] for r in refs], [v for v, _ in vocabs],
                         [z for _, z in vocabs], _one_entry(spec))
    _backward_probes(spec, runs, bwho, swap, late=True)
    _softmax_rows_sum(spec, outs, texts, bwho)
    _sigmoid_slope(spec, outs, datas, texts, bwho)
    for name in wrong:
        _diagnose.all_equal(f"{name} from {bwho}", [o[name] for o in outs],
                            [r[name] for r in refs], texts)
    _fail(f"{', '.join(wrong)} from {bwho} differ from finite differences"
          f" ({_worst(outs, refs, texts)})", _one_entry(spec), "wrong")


def _rows_of(datas, batch):
    """The number of rows N of each case (None for one instance)."""
    if batch and all("c" in d and np.ndim(d["c"]) == 1 for d in datas):
        return [len(d["c"]) for d in datas]      # a loss layer: dout is a number
    return [np.shape(d["dout"])[0] if batch and np.ndim(d["dout"]) == 2 else None
            for d in datas]


def _class_entries(out, c):
    """The mask of the true class's entries (one per row) of an (N, C) or (C,)
    gradient."""
    mask = np.zeros(np.shape(out), dtype=bool)
    if mask.ndim == 1:
        mask[int(np.asarray(c).ravel()[0])] = True
    elif mask.ndim == 2:
        mask[np.arange(len(mask)), np.atleast_1d(c)] = True
    return mask


_ROWS_MORE = ("is N times too large on every batch of N rows: the 1/N of the mean"
              " loss is missing", "the loss is the mean over the N rows: each"
              " row's loss counts 1/N", "summed")
_ROWS_LESS = ("is N times too small on every batch of N rows: divided by N once"
              " more", "the upstream gradient already carries the mean's 1/N: do"
              " not divide by the batch size again", "divided_twice")

_ROWS_SQUARED = ("is N times N too large on every batch of N rows: multiplied by N"
                 " where it should be divided by N", "the loss is the mean over"
                 " the N rows: each row's share is 1/N of it", "multiplied_not_divided")



def _class_term_not_averaged(what, outs, refs, masks, rows, douts):
    """A loss layer's gradient on batches of N rows, right off the true class's
    entries and off at them by (N - 1)/N times dloss on every case: the term
    only the true class gets missed the mean's 1/N (a division made before
    that term was subtracted). Needs two batch sizes to tell N apart."""
    ratios = []
    for o, r, m, n, g in zip(outs, refs, masks, rows, douts):
        if not n or n < 2 or np.ndim(g) or not float(g) or np.shape(o) != m.shape \
                or not _same(np.asarray(o)[~m], np.asarray(r)[~m]):
            return
        gap = (np.asarray(o, dtype=np.float64)[m] - np.asarray(r)[m]) / float(g)
        if not np.allclose(gap, gap[0], rtol=1e-6, atol=1e-9):
            return
        ratios.append(gap[0] * n / (n - 1))
    if len(set(rows)) > 1 and (np.allclose(ratios, 1.0, rtol=1e-5)
                               or np.allclose(ratios, -1.0, rtol=1e-5)):
        _fail(f"{what} is right in every other entry and off in the true class's"
              " entries by (N - 1)/N times dloss on every batch of N rows: the"
              " term only the true class gets is not divided by N like the rest",
              "the mean's 1/N reaches every term of a row's gradient, the true"
              " class's own included: check what your division is applied to",
              "class_term_not_averaged")


def _right_only_at_unit_upstream(what, outs, refs, douts):
    """A loss layer's gradient right on every case with dloss = 1 and wrong on
    those with another dloss: dloss stands where a plain number belongs, or
    counts twice."""
    if not all(np.ndim(g) == 0 for g in douts):
        return
    unit = [_same(o, r) for o, r, g in zip(outs, refs, douts) if float(g) == 1.0]
    other = [(float(g), _same(o, r)) for o, r, g in zip(outs, refs, douts)
             if float(g) != 1.0]
    if unit and all(unit) and other and not any(ok for _, ok in other):
        _fail(f"{what} is right on every case with dloss = 1 and wrong on the"
              f" case with dloss = {other[0][0]:g}: dloss stands where a plain"
              " number belongs, or is applied twice", "dloss scales the whole"
              " gradient once: follow it through your lines on a case with"
              " dloss = 2", "upstream_where_one_belongs")


def _broadcast_example(got, want):
    """What an update with a gradient of shape ``got`` does to a parameter of
    shape ``want``, in words (the example fits the student's own shape)."""
    with np.errstate(all="ignore"):
        try:
            made = np.broadcast_shapes(tuple(want), tuple(got))
        except ValueError:
            return "where an update of the parameter fails on it"
    return (f"an update p - lr * dp with a {got} gradient turns a {want}"
            f" parameter into a {made} array, and the next step's shapes no"
            " longer fit")


def _at_output(spec, d, wrt):
    """Gradient ``wrt`` of the case ``d`` with the forward's output in the
    place of its first input (None when their shapes differ)."""
    inputs = {k: v for k, v in d.items() if k != "dout"}
    out = np.asarray(spec.forward(**inputs), dtype=np.float64)
    if out.shape != np.shape(inputs[spec.wrt[0]]):
        return None
    return _numeric(spec, {**inputs, spec.wrt[0]: out}, d["dout"])[wrt]


def _loss_in_place(d):
    """For the loss layer (inputs y, c): dloss times each row's loss, divided by
    the rows' count, at the true class's entries, 0 elsewhere; None otherwise."""
    if set(d) != {"y", "c", "dout"} or np.ndim(d["dout"]) != 0:
        return None
    y = np.asarray(d["y"], dtype=np.float64)
    mask = _class_entries(y, d["c"])
    out = np.zeros_like(y)
    out[mask] = float(d["dout"]) * -np.log(y[mask]) / max(1, mask.sum())
    return out


def _structure(spec, name, outs, refs, datas, texts, who, batch):
    """Fail when the wrong gradient has a recognisable shape of error (the
    shared ones of _diagnose: an input's factor, a constant or count factor,
    dout left out, one row or column off; a transposed square result is the
    expression explainer's) or, on a batch, is the
    gradient of some of its rows alone."""
    what = f"{name} from {who}"
    _diagnose.truncated(what, outs, refs)
    _diagnose.times_an_input(what, outs, refs, datas)
    _diagnose.scaled(what, outs, refs, texts, _counts(datas, batch))
    wrt = spec.grad_names.index(name)
    _diagnose.other_upstream(what, outs, [
        _numeric(spec, {k: v for k, v in d.items() if k != "dout"},
                 np.ones_like(np.asarray(d["dout"], dtype=np.float64)))[wrt]
        for d in datas])
    _diagnose.another_input(what, outs, [(
        "the right one at the layer's own output taken as its input: the layer's"
        " function is applied again to what the cache holds", "the cache holds"
        " the forward pass's values already: use them as they are",
        "layer_applied_again", [_at_output(spec, d, wrt) for d in datas]),
        ("the loss itself (times dloss) in the true class's entries, not its"
         " derivative", "nudge one probability at the true class a little: by how"
         " much does the loss change per unit of the nudge?", "loss_value",
         [_loss_in_place(d) for d in datas])])
    if "c" in datas[0]:
        masks = [_class_entries(o, d["c"]) for o, d in zip(outs, datas)]
        _class_term_not_averaged(what, outs, refs, masks, _rows_of(datas, batch),
                                 [d["dout"] for d in datas])
        _right_only_at_unit_upstream(what, outs, refs, [d["dout"] for d in datas])
        _diagnose.part_off(what, outs, refs, masks, "the true class's entries",
                           "wrong_at_class")
        for part, keep in (("off", lambda m: ~m), ("at", lambda m: m)):
            _diagnose.scaled(f"{what}, in its entries {part} the true class,",
                             [o[keep(m)] for o, m in zip(outs, masks)],
                             [np.asarray(r)[keep(m)] for r, m in zip(refs, masks)],
                             texts, _counts(datas, batch))
    _diagnose.line_off(what, outs, refs)
    key = spec.wrt[spec.grad_names.index(name)]
    if batch and all(np.ndim(d["dout"]) == 2 and len(d["dout"]) > 1
                     for d in datas):
        for rows, text, id_ in ((slice(0, 1), "of the batch's first row alone",
                                 "first_row_only"),
                                (slice(0, -1), "of every row but the last",
                                 "last_row_left_out"),
                                (slice(1, None), "of every row but the first",
                                 "first_row_left_out")):
            parts = [_rows_reference(spec, d, key, rows) for d in datas]
            if all(f is not None and _same(o, f) for o, f in zip(outs, parts)):
                _fail(f"{what} is the gradient {text}", "every row of the batch"
                      f" reaches the loss, so every row contributes to {name}: add"
                      " up all the rows' contributions (a loop bound or a slice"
                      " leaves some out)", id_)


def _sigmoid_slope(spec, outs, datas, texts, who):
    """dk / dout is the sigmoid's slope at each entry: between 0 and 0.25."""
    if spec.wrt != ("k",):
        return
    for o, d, text in zip(outs, datas, texts):
        dout = np.asarray(d["dout"])
        keep = np.abs(dout) > 1e-3
        slope = o["dk"][keep] / dout[keep]
        if slope.size and (slope.max() > 0.25 + 1e-9 or slope.min() < -1e-9):
            bad = slope.max() if slope.max() > 0.25 else slope.min()
            _fail(f"dk from {who} divided by dout, the slope your code uses, is"
                  f" {bad:.3g} at an entry of {text}: the sigmoid's slope lies"
                  " between 0 and 0.25", "the sigmoid rises everywhere, steepest"
                  " (0.25) at k = 0 and flat for large |k|: check your slope"
                  " against a finite difference at k = 0 and at k = 3.5",
                  "slope_out_of_range")


def _softmax_rows_sum(spec, outs, texts, who):
    """The softmax's dl/do sums to 0 along each row whatever dl/dy is: a
    property to name when no known mistake matched."""
    if spec.grad_names != ("do",) or spec.extra:
        return
    sums = [np.abs(np.atleast_2d(o["do"]).sum(axis=-1)).max() for o in outs]
    i = int(np.argmax(sums))
    if sums[i] > 1e-6:
        _fail(f"the entries of each row of do from {who} should sum to 0 but sum"
              f" to up to {sums[i]:.3g} on {texts[i]}", "adding one number to"
              " every logit of a row leaves its y unchanged, so each row of the"
              " softmax's Jacobian sums to 0, and so does each row of do: look"
              " for the part of the Jacobian your product leaves out or changes",
              "rows_do_not_sum_to_zero")


_PARAMETERS = ("W", "b")  # the pairs' inputs that have no row per instance


def _rows_reference(spec, d, key, rows):
    """The right gradient of ``key`` from the batch's ``rows`` only, for a
    parameter (an input without a row per instance); None otherwise."""
    if key not in _PARAMETERS:
        return None
    inputs = {k: (v if k in _PARAMETERS else v[rows])
              for k, v in d.items() if k != "dout"}
    wrt = spec.wrt.index(key)
    return _numeric(spec, inputs, np.asarray(d["dout"])[rows])[wrt]


def _keyed_mistakes(spec, batch):
    """The spec's mistakes with answers keyed by gradient name, like ``outs``."""
    return [m._replace(answer=lambda d, f=m.answer: dict(zip(spec.grad_names, f(d))))
            for m in spec.mistakes(batch)]


# --------------------------------------------------------------------------
# The four layers of notebook 04 (one instance: 1-D arrays) and 05 (rows)
# --------------------------------------------------------------------------


def _rows(a, batch):
    return a if batch else a[0]


def _lin_cases(rng, batch):
    cases = []
    for n, d, m in ((3, 3, 3), (4, 2, 5), (5, 4, 3)):  # square first: dx's order shows
        n = n if batch else 1
        inputs = {"x": _rows(rng.normal(size=(n, d)), batch),
                  "W": rng.normal(size=(d, m)), "b": rng.normal(size=m)}
        dout = _rows(rng.normal(size=(n, m)), batch)
        shape = f"x {inputs['x'].shape}, W {(d, m)}"
        cases.append((f"a random case ({shape})", inputs, dout))
    return cases


def _lin_ref(x, W, b):
    x2 = np.atleast_2d(x)
    out = layers.linear_forward(x2, W, b)[0]
    return out if np.ndim(x) == 2 else out[0]


def _lin_right(d):
    dout2, x2 = np.atleast_2d(d["dout"]), np.atleast_2d(d["x"])
    dx, dW, db = layers.linear_backward(dout2, (x2, d["W"]))
    return (dx if np.ndim(d["x"]) == 2 else dx[0]), dW, db


def _lin_variant(dx=None, dW=None, db=None):
    def answer(d):
        right = _lin_right(d)
        return tuple(f(d, r) if f else r for f, r in zip((dx, dW, db), right))
    return answer


def _lin_mistakes(batch):
    rows = [
        Mistake("dx_untransposed", "dx sends dout back through W without"
                " transposing it", "dx has one entry per input: each input i"
                " reaches the outputs through row i of W",
                _lin_variant(dx=lambda d, r: d["dout"] @ d["W"])),
        Mistake("reshaped_not_transposed", "dx sends dout back through W"
                " reshaped to (outputs, inputs), not transposed: a reshape keeps"
                " W's entries in their order and cuts them into new rows, it does"
                " not turn W's rows into columns", "print both on a 2 x 3 matrix"
                " of your own: which one puts row i of W into column i?",
                _lin_variant(dx=lambda d, r: d["dout"] @ d["W"].reshape(
                    d["W"].shape[::-1]))),
        Mistake("reshaped_not_transposed", "dW has the right numbers in the wrong"
                " places: it is the (outputs, inputs) product reshaped to W's shape,"
                " where its transpose belongs; a reshape keeps the entries in their"
                " order and cuts them into new rows", "print both on a 2 x 3 matrix"
                " of your own: which one puts row i into column i?",
                _lin_variant(dW=lambda d, r: r.T.reshape(r.shape))),
        Mistake("dx_no_dout", "dx does not depend on dout: each input's entry is"
                " the sum of its weights, the upstream gradient is missing",
                "dx must change when dout changes: the chain rule weights each"
                " output's share of dout by the weight that leads to it",
                _lin_variant(dx=lambda d, r: np.broadcast_to(
                    d["W"].sum(axis=1), np.shape(d["x"])))),
        Mistake("sum_keeps_last_term", "each entry of dx holds only its last"
                " output's term, the last weight of its row times the last entry"
                " of dout: each term of its sum replaced the one before (= where"
                " the sum adds up)", "every output of the layer adds its term to"
                " each entry of dx", _lin_variant(dx=lambda d, r: d["W"][:, -1]
                                                 * np.asarray(d["dout"])[..., -1:])),
        Mistake("dx_through_inverse", "dx sends dout back through W's (pseudo-)"
                "inverse: backpropagation does not undo the layer (recover x from"
                " the output), it asks how much the loss changes per unit change"
                " of each input", "nudge one input a little: which outputs move,"
                " by how much, and how much does each move the loss?",
                _lin_variant(dx=lambda d, r: d["dout"] @ np.linalg.pinv(d["W"]))),
        Mistake("db_ones", "db is all ones: the local derivative 1, without the"
                " upstream gradient", "multiply every local derivative by the"
                " upstream gradient dout (the chain rule)",
                _lin_variant(db=lambda d, r: np.ones_like(r))),
    ]
    if batch:
        rows += [
            Mistake("reshaped_not_transposed", "dW is built from X reshaped to"
                    " (inputs, rows), not transposed: a reshape keeps X's entries in"
                    " their order and cuts them into new rows, so the rows of the"
                    " batch are scrambled", "print both on a 2 x 3 matrix of your"
                    " own: which one puts row i into column i?",
                    _lin_variant(dW=lambda d, r: d["x"].reshape(
                        d["x"].shape[::-1]) @ d["dout"])),
            Mistake("first_row_only", "dW and db use the first row of the batch only",
                    "every row of the batch contributes to dW and db",
                    _lin_variant(dW=lambda d, r: np.outer(d["x"][0], d["dout"][0]),
                                 db=lambda d, r: d["dout"][0])),
        ]
    return rows


LINEAR = Spec("the linear layer", ("dx", "dW", "db"), ("x", "W", "b"), (),
              _lin_ref, _lin_cases, _lin_mistakes,
              [Mistake("linear_no_bias", "the bias b is missing from the output",
                       "the layer's output adds the bias to x W",
                       lambda d: d["x"] @ d["W"]),
               Mistake("bias_added_to_weights", "the bias was added to every row of"
                       " W before the product, so each output takes it once per"
                       " input, weighted by that input", "the bias is added once,"
                       " to the product's result: mind which operation runs first",
                       lambda d: d["x"] @ (d["W"] + d["b"])),
               Mistake("bias_on_rows", "the bias was added down the columns:"
                       " entry i of b went to row i of the output, not to column i",
                       "b has one entry per output of the layer: each column of the"
                       " output gets its own entry of b, the same in every row",
                       lambda d: d["x"] @ d["W"] + d["b"][:, None]
                       if np.ndim(d["x"]) == 2 and len(d["x"]) == len(d["b"])
                       else np.nan),
               Mistake("linear_elementwise", "output j is x_j times the sum of"
                       " column j of W: x was multiplied into W entry by entry"
                       " (lined up with its columns) and the rows summed, where"
                       " output j takes every input i with the weight from i to j",
                       "an entry-by-entry product lines x up with W's columns;"
                       " the layer pairs input i with row i of W",
                       lambda d: (d["x"] * d["W"]).sum(axis=0) + d["b"]
                       if np.ndim(d["x"]) == 1 and d["W"].shape[0] == d["W"].shape[1]
                       else np.nan),
               Mistake("linear_order", "the output is W x: the row x multiplies W"
                       " from the left in this course (rows are instances)",
                       "x is a row: out has one entry per column of W",
                       lambda d: (d["W"] @ d["x"].T).T + d["b"]
                       if d["W"].shape[0] == d["W"].shape[1] else np.nan)])


def _sig_cases(rng, batch):
    cases = []
    for n, m in ((3, 4), (5, 2), (2, 6)):
        n = n if batch else 1
        k = rng.normal(0.0, 2.0, (n, m))
        k[0, 0] = 3.5   # where sigma' is small: h and sigma' differ most
        cases.append((f"a random k of shape {_rows(k, batch).shape}",
                       {"k": _rows(k, batch)}, _rows(rng.normal(size=(n, m)), batch)))
    return cases


def _sig(d):
    return layers.sigmoid(d["k"])


SIGMOID = Spec(
    "the sigmoid", ("dk",), ("k",), (), lambda k: layers.sigmoid(k), _sig_cases,
    lambda batch: [
        Mistake("sigma_as_h", "sigma'(k) was written as h: dk = dout · h, the"
                " sigmoid's derivative taken to be its own value",
                "sigma'(k) is largest (0.25) at k = 0 and tends to 0 for large |k|,"
                " where h tends to 1: compare your sigma' at k = 3.5 with a finite"
                " difference", lambda d: (d["dout"] * _sig(d),)),
        Mistake("sigmoid_from_k", "the sigmoid derivative is taken from k,"
                " k(1 - k), instead of from h = sigmoid(k)", "the sigmoid's"
                " derivative is a function of its output h, not of its input k",
                lambda d: (d["dout"] * d["k"] * (1 - d["k"]),)),
        # the sigmoid applied again to h: _diagnose.another_input, for every layer
        Mistake("no_sigmoid_derivative", "dk = dout: the sigmoid's own derivative"
                " is missing", "dk must include the sigmoid's derivative (at most"
                " 0.25), so it cannot equal dout", lambda d: (d["dout"],)),
        Mistake("slope_brackets_lost", "dk = dout · h - h: the bracket around"
                " (1 - h) is lost, so h is subtracted after the product",
                "multiplication binds before subtraction: a difference that is one"
                " factor of a product needs its own brackets",
                lambda d: (d["dout"] * _sig(d) - _sig(d),)),
        Mistake("tanh_derivative", "dk = dout · (1 - h²): that is the"
                " derivative of tanh, not of the sigmoid", "the sigmoid's"
                " derivative is at most 0.25 (at k = 0); tanh's reaches 1",
                lambda d: (d["dout"] * (1 - _sig(d) ** 2),)),
        *[Mistake("dout_for_h", "the upstream gradient dout stands where h"
                  f" belongs in {where} of the sigmoid's slope: dout and h"
                  " swapped once", "the sigmoid's slope is a function of h alone;"
                  " dout multiplies it once, from outside", rule)
          for where, rule in (
              ("the second factor", lambda d: (d["dout"] * _sig(d) * (1 - d["dout"]),)),
              ("the first factor", lambda d: (d["dout"] ** 2 * (1 - _sig(d)),)))],
    ])


def _soft_cases(rng, batch):
    cases = []
    for n, c in ((3, 4), (4, 3), (2, 10)):
        n = n if batch else 1
        o = rng.normal(0.0, 1.5, (n, c))
        cases.append((f"random logits of shape {_rows(o, batch).shape} and a random"
                      " upstream gradient", {"o": _rows(o, batch)},
                      _rows(rng.normal(size=(n, c)), batch)))
    # rows on different scales: a shift by one number for the whole batch
    # (its largest logit) leaves the second row's exps at 0
    big = _BIG[:2 if batch else 1]
    cases.append((_big_text(batch), {"o": _rows(big, batch)},
                  _rows(rng.normal(size=big.shape), batch)))
    return cases


_BIG = np.array([[0.0, 1000.0, -3.0], [-1000.0, -999.0, -1002.0]])


def _big_text(batch):
    return ("the logits [[0, 1000, -3], [-1000, -999, -1002]]" if batch
            else "the logits [0, 1000, -3]")


def _soft_ref(o):
    return losses.softmax(np.atleast_2d(o)).reshape(np.shape(o))


def _soft_rows(d):
    return np.atleast_2d(_soft_ref(d["o"])), np.atleast_2d(d["dout"])


def _soft_mistake(rule):
    def answer(d):
        Y, G = _soft_rows(d)
        return (rule(Y, G).reshape(np.shape(d["o"])),)
    return answer


def _soft_hint(outs, cases, texts):
    sums = [float(np.abs(np.sum(o["do"], axis=-1)).max()) for o in outs]
    i = int(np.argmax(sums))
    return ("every y_i depends on every o_j, so the Jacobian has entries off its"
            " diagonal (notebook 01's Q1); a property to test: adding one number"
            " to every logit leaves y unchanged, so the entries of dl/do sum to 0"
            f" whatever dl/dy is; yours sum to {sums[i]:.3g} on {texts[i]}")


def _columns_softmax(shift_axis):
    """A batch's softmax normalised down the columns (axis 0), not per row."""
    def answer(d):
        O = np.asarray(d["o"], dtype=np.float64)
        if O.ndim != 2:
            return np.nan  # one instance: axis 0 is its only axis
        E = np.exp(O - O.max(axis=shift_axis, keepdims=True))
        return E / E.sum(axis=0, keepdims=True)
    return answer


_SOFTMAX_FORWARD_MISTAKES = [
    Mistake("softmax_expm1", "each exponential is one less than it should be"
            " (e^z - 1, the exp of z minus one), so the rows' shares are wrong",
            "the softmax is made of plain exponentials", lambda d: _rows_of_expm1(
                np.asarray(d["o"], dtype=np.float64))),
    Mistake("shift_after_exp", "the largest logit is subtracted after the"
            " exponentials, not from the logits inside them: the shares change,"
            " and entries can be negative",
            "the shift that keeps exp from overflowing goes inside the exponential,"
            " where it cancels in the division", lambda d: _shift_after_exp(
                np.asarray(d["o"], dtype=np.float64))),
    Mistake("softmax_columns", "each column of y sums to 1, not each row: the"
            " softmax was normalised over the batch axis",
            "one row is one instance: each row of y is that instance's"
            " probabilities, so each row sums to 1", _columns_softmax(1)),
    Mistake("softmax_columns", "each column of y sums to 1, not each row: the"
            " softmax was shifted and normalised over the batch axis",
            "one row is one instance: each row of y is that instance's"
            " probabilities, so each row sums to 1", _columns_softmax(0)),
    Mistake("shift_by_column_max", "each row was shifted by the largest entries"
            " of the columns (the max taken down the batch axis), so the rows'"
            " entries are shifted by different numbers and y changes",
            "the shift leaves y unchanged only when the whole row moves by one"
            " number: take each row's own largest logit",
            lambda d: losses.softmax(np.asarray(d["o"], dtype=np.float64)
                                     - np.max(d["o"], axis=0))
            if np.ndim(d["o"]) == 2 else None),
]


def _shift_after_exp(O):
    with np.errstate(all="ignore"):
        E = np.exp(O) - O.max(axis=-1, keepdims=True)
        return E / E.sum(axis=-1, keepdims=True)


def _rows_of_expm1(O):
    E = np.expm1(O - O.max(axis=-1, keepdims=True))
    with np.errstate(all="ignore"):
        return E / E.sum(axis=-1, keepdims=True)


def _soft_rule(Y, G):
    """The softmax's backward rule, row by row, from whatever ``Y`` holds."""
    with np.errstate(all="ignore"):
        return G * Y - Y * (G * Y).sum(axis=1, keepdims=True)


def _summed_jacobian(Y, G):
    """One C×C Jacobian from all rows at once, applied to every row."""
    return G @ (np.diag(Y.sum(axis=0)) - Y.T @ Y)


SOFTMAX = Spec(
    "the softmax", ("do",), ("o",), (), _soft_ref, _soft_cases,
    lambda batch: [
        Mistake("diagonal_only", "the softmax derivative was taken elementwise,"
                " dl/dy · y(1 - y): only the diagonal of its Jacobian", _soft_hint,
                _soft_mistake(lambda Y, G: G * Y * (1 - Y))),
        Mistake("plus_outer", "the off-diagonal entries of the Jacobian have the"
                " wrong sign", "raising o_j lowers every other probability y_i"
                " (i ≠ j): those entries of the Jacobian are negative",
                _soft_mistake(lambda Y, G: np.einsum(
                    "ni,nij->nj", G, np.einsum("ni,ij->nij", Y, np.eye(Y.shape[1]))
                    + Y[:, :, None] * Y[:, None, :]))),
        Mistake("no_diag", "the diagonal part of the Jacobian is missing: only the"
                " products of two probabilities were applied", _soft_hint,
                _soft_mistake(lambda Y, G: -np.einsum(
                    "ni,nij->nj", G, Y[:, :, None] * Y[:, None, :]))),
        Mistake("identity", "dl/do = dl/dy: the softmax was passed back as if it"
                " were the identity, without its Jacobian", _soft_hint,
                _soft_mistake(lambda Y, G: G)),
        Mistake("jacobian_from_logits", "the Jacobian was built from the logits o"
                " (what the cache holds), not from the probabilities y",
                "the softmax's Jacobian is written in its outputs y: cache y in the"
                " forward pass and build it from that",
                lambda d: (_soft_rule(np.atleast_2d(d["o"]),
                                      np.atleast_2d(d["dout"])).reshape(
                                          np.shape(d["o"])),)),
        Mistake("jacobian_sums_to_zero", "do is 0 in every entry, whatever"
                " dl/dy is: each row and each column of the softmax's Jacobian"
                " sums to 0, so a product that gives every entry of a row (or of a"
                " column) the same weight returns 0: dl/dy met the Jacobian along"
                " the wrong axis",
                "write out one entry of dl/do on a 2-class case by the chain"
                " rule, then check which axis of the Jacobian your product sums"
                " over", lambda d: (np.zeros(np.shape(d["o"])),)),
        Mistake("rows_one_list", "every row of your Jacobian is its last row: the"
                " rows are one list, repeated (a list of lists made by multiplying"
                " a list of one row holds that one row C times, so writing a row"
                " writes them all)", "make each row of the Jacobian a list of its"
                " own", _soft_mistake(lambda Y, G: G.sum(axis=1, keepdims=True)
                                      * Y[:, -1:] * (np.eye(Y.shape[1])[-1] - Y))),
        Mistake("squared_on_diagonal", "the Jacobian's entry (i, j) was built"
                " with y_i twice (its second factor broadcast on the wrong axis):"
                " the off-diagonal part uses y_i, not y_j", _soft_hint,
                _soft_mistake(lambda Y, G: G * Y
                              - (G * Y * Y).sum(axis=1, keepdims=True))),
        Mistake("unweighted_sum", "the amount taken from every entry is the plain"
                " sum of dl/dy: the outputs' shares are not weighted by their"
                " probabilities", "raising o_j moves each y_i in proportion to y_i"
                " itself: an output of tiny probability barely moves, so its entry"
                " of dl/dy barely counts",
                _soft_mistake(lambda Y, G: Y * (G - G.sum(axis=1, keepdims=True)))),
    ] + ([Mistake("batch_axis_sum", "the sum in dl/do runs down the batch axis"
                  " (over the rows), not along each row", "row n of dl/do depends"
                  " on row n of dl/dy and of y alone: every sum stays within one"
                  " row", _soft_mistake(lambda Y, G: Y * (G - (G * Y).sum(axis=0)))),
          Mistake("summed_jacobian", "one C×C Jacobian built from all the rows at"
                  " once was applied to every row", "each instance has its own"
                  " probabilities, so its own Jacobian: row n of dl/do depends on"
                  " row n of y alone", _soft_mistake(_summed_jacobian)),
          Mistake("summed_jacobian", "each row's Jacobian kept its own diagonal,"
                  " but its products of two probabilities were summed over all the"
                  " rows (the batch index n left out of that product's result)",
                  "each instance has its own probabilities, so its own Jacobian:"
                  " every term of row n's Jacobian comes from row n of y alone",
                  _soft_mistake(lambda Y, G: G * Y - G @ (Y.T @ Y))),
          Mistake("mean_jacobian", "one Jacobian, from the batch's mean row of"
                  " y, was applied to every row", "each instance has its own"
                  " probabilities, so its own Jacobian: row n of dl/do depends on"
                  " row n of y alone", _soft_mistake(lambda Y, G: _soft_rule(
                      np.broadcast_to(Y.mean(axis=0), Y.shape), G))),
          Mistake("one_jacobian", "every row used the Jacobian of the first row",
                  "each instance has its own probabilities, so its own Jacobian",
                  _soft_mistake(lambda Y, G: G @ (np.diag(Y[0])
                                                  - np.outer(Y[0], Y[0]))))]
         if batch else []), _SOFTMAX_FORWARD_MISTAKES)


def _ce_cases(rng, batch):
    cases = []
    for n, c, dloss in ((3, 4, 1.0), (4, 3, 2.5), (2, 5, -0.7)):
        n = n if batch else 1
        y = losses.softmax(rng.normal(0.0, 1.0, (n, c)))
        cls = rng.integers(0, c, n)
        cls[0] = 0 if dloss == 1.0 else cls[0]   # class 0: `if c:` shows there
        cls[-1] = c - 1 if dloss != 1.0 else cls[-1]
        text = (f"random probabilities of shape {_rows(y, batch).shape},"
                f" class{'es' if batch else ''} {_rows(cls, batch)}, dloss = {dloss}")
        cases.append((text, {"y": _rows(y, batch),
                             "c": _rows(cls, batch) if batch else int(cls[0])},
                      dloss))
    return cases


def _ce_ref(y, c):
    Y = np.atleast_2d(y)
    C = np.atleast_1d(c)
    return float(-np.mean(np.log(Y[np.arange(len(C)), C])))


def _ce_right(d):
    Y, C = np.atleast_2d(d["y"]), np.atleast_1d(d["c"])
    return (d["dout"] * losses.cross_entropy_backward(Y, C)).reshape(np.shape(d["y"]))


def _ce_rule(rule):
    def answer(d):
        Y, C = np.atleast_2d(d["y"]), np.atleast_1d(d["c"])
        n = len(C)
        T = np.eye(Y.shape[1])[C]
        return ((d["dout"] * rule(Y, C, T, n)).reshape(np.shape(d["y"])),)
    return answer


def _shifted(step, from_c):
    """dl/dy at class c + step (mod C, as Python's index -1 is the last);
    ``from_c``: its value from y_c (else from y at that wrong class)."""
    def rule(Y, C, T, n):
        wrong = (np.asarray(C) + step) % Y.shape[1]
        value = _pick(Y, C) if from_c else _pick(Y, wrong)
        G = np.zeros_like(Y)
        G[np.arange(len(C)), wrong] = -1 / (value * n)
        return G
    return rule


def _one_class_off(word, grad, make):
    return [make("wrong_class", f"the non-zero entry of {grad} sits at class c"
                 f" {word}, not at the true class c", "Python counts classes from"
                 " 0: class c is index c (and index -1 is the last class)",
                 rule) for rule in (_shifted(int(word[0] + "1"), True),
                                    _shifted(int(word[0] + "1"), False))]


def _columns_assigned(Y, C, T, n):
    """Each row's value written down its class's whole column (dy[:, c] = ...)."""
    G = np.zeros_like(Y)
    G[:, C] = -1 / (_pick(Y, C) * n)
    return G


def _ce_mistakes(batch):
    shifted = [row for word in ("- 1", "+ 1") for row in _one_class_off(
        word, "dy", lambda i, dg, h, rule: Mistake(i, dg, h, _ce_rule(rule)))]
    rows = [
        Mistake("if_target", "the gradient is 0 exactly when the true class c is 0:"
                " looks like a branch `if c:` that is false for class 0",
                "`if c:` asks whether c is non-zero, not which entry is the true"
                " class: class 0 is a class, not 'no class'",
                _ce_rule(lambda Y, C, T, n: -(T * (C != 0)[:, None]) / Y / n)),
        Mistake("every_class_if_c", "dl/dy_i = -1/y_i for every class, and all 0"
                " when the true class is 0: a branch `if c:` inside a loop over the"
                " classes", "`if c:` asks whether c is non-zero, not which entry is"
                " the true class: class 0 is a class, not 'no class'",
                _ce_rule(lambda Y, C, T, n: -(C != 0).astype(float)[:, None] / Y / n)),
        Mistake("every_class", "dl/dy has the true class's rule at every class,"
                " not only at the true class c", "nudge one y_i with i ≠ c and"
                " watch the loss: what does that say about entry i of dl/dy?",
                _ce_rule(lambda Y, C, T, n: -1 / Y / n)),
        Mistake("flipped_sign", "dl/dy has the wrong sign", "raising y_c must lower"
                " the loss -log y_c", _ce_rule(lambda Y, C, T, n: T / Y / n)),
        Mistake("ignores_dout", "the upstream gradient dloss is ignored (the cases"
                " with dloss = 2.5 and -0.7 show it)", "the chain rule multiplies"
                " the local derivative by the upstream gradient, even for the loss",
                lambda d: (_ce_right(d) / d["dout"],)),
        Mistake("predicted_class", "dl/dy is non-zero at the predicted class"
                " (the largest y), not at the true class c: the class was taken"
                " from y", "the true class c is what the forward pass was given:"
                " keep it in the cache", _ce_rule(lambda Y, C, T, n: -np.eye(
                    Y.shape[1])[Y.argmax(axis=1)] / Y / n)),
        Mistake("minus_y", "dl/dy_c = -y_c: the derivative of -log is missing",
                "d(-log y)/dy is not -y; if your line does divide by y, read its"
                " operators left to right: a / b * y multiplies by y",
                _ce_rule(lambda Y, C, T, n: -T * Y / n)),
        *shifted,
    ]
    if batch:
        rows += [
            Mistake("summed", "the gradient is N times too large: the 1/N of the"
                    " mean loss is missing", "the loss is the mean over the N rows:"
                    " each row's loss counts 1/N",
                    _ce_rule(lambda Y, C, T, n: -T / Y)),
            Mistake("label_columns", "every row got an entry at every label of the"
                    " batch, not one at its own class",
                    "each row n has a single non-zero entry, at its own class c[n]:"
                    " index one entry per row",
                    _ce_rule(lambda Y, C, T, n: -(T.max(0, keepdims=True)
                                                  * np.ones_like(Y)) / Y / n)),
            Mistake("divided_by_classes", "the gradient is divided by the number of"
                    " classes C, where the mean over the batch divides by the N"
                    " rows", "the loss is the mean over the N rows of the batch:"
                    " that is where its 1/N comes from",
                    _ce_rule(lambda Y, C, T, n: -T / Y / Y.shape[1])),
            Mistake("label_columns", "each row's value was written down its class's"
                    " whole column, in every row of the batch",
                    "each row n has a single non-zero entry, at its own class c[n]:"
                    " index one entry per row", _ce_rule(_columns_assigned)),
        ]
    return rows


def _ce_loss_mistake(id_, diagnosis, hint, rule):
    return Mistake(id_, diagnosis, hint, lambda d: rule(
        np.atleast_2d(d["y"]), np.atleast_1d(d["c"])))


def _pick(Y, C):
    return Y[np.arange(len(C)), C]


CROSS_ENTROPY = Spec(
    "the cross-entropy", ("dy",), ("y",), ("c",), _ce_ref, _ce_cases, _ce_mistakes,
    [_ce_loss_mistake("loss_sign", "the loss has the wrong sign (log y_c is"
                      " negative)", "a loss is at least 0: small when y_c is close"
                      " to 1", lambda Y, C: np.mean(np.log(_pick(Y, C)))),
     _ce_loss_mistake("loss_summed", "the loss is summed over the batch, not"
                      " averaged", "the loss is the mean over the N rows",
                      lambda Y, C: -np.sum(np.log(_pick(Y, C)))),
     _ce_loss_mistake("loss_log_base", "the loss uses log10 instead of the natural"
                      " log", "the course's log is the natural one",
                      lambda Y, C: -np.mean(np.log10(_pick(Y, C)))),
     _ce_loss_mistake("loss_all_classes", "the loss sums -log y_i over every"
                      " class", "only the true class c counts",
                      lambda Y, C: -np.mean(np.log(Y).sum(1))),
     _ce_loss_mistake("loss_block", "the loss averages -log Y[:, c], an N×N"
                      " block, not one entry per row", "pick one entry per row:"
                      " row n's entry at its own class c[n]",
                      lambda Y, C: -np.mean(np.log(Y[:, C]))),
     _ce_loss_mistake("loss_flat_index", "the loss reads each row's class number"
                      " as a position in the whole batch taken as one flat row, so"
                      " every pick comes from the first row", "pick one entry per"
                      " row: row n's entry at its own class c[n]",
                      lambda Y, C: -np.mean(np.log(Y.ravel()[C]))),
     _ce_loss_mistake("loss_log1p", "the loss is minus the log of 1 + y_c, not of"
                      " y_c (a log of one plus its argument)", "the loss is minus"
                      " the natural log of the true class's probability itself",
                      lambda Y, C: -np.mean(np.log1p(_pick(Y, C)))),
     _ce_loss_mistake("loss_class_before", "the loss reads each row's probability"
                      " one class before the true one (the class before 0 being"
                      " the last)", "classes count from 0: the true class's entry"
                      " is at its own number", lambda Y, C: -np.mean(np.log(
                          _pick(Y, C - 1)))),
     _ce_loss_mistake("loss_class_as_weight", "the loss multiplies the log of"
                      " every probability by the class number c, as if c were a"
                      " one-hot vector: it is 0 whenever c = 0, whatever y is", "c"
                      " is a position (which class is true), not a vector of"
                      " weights: the loss reads one entry of y", lambda Y, C:
                      -np.mean(np.asarray(C) * np.log(Y).sum(1))),
     _ce_loss_mistake("loss_predicted_class", "the loss uses the largest"
                      " probability (the predicted class), not the true class"
                      " c's", "the loss measures how sure the model is of the"
                      " right answer: pick the probability at c, whichever entry is"
                      " largest", lambda Y, C: -np.mean(np.log(Y.max(axis=1))))])


def _fused_cases(rng, batch):
    cases = []
    for n, c, dloss in ((4, 3, 1.0), (3, 5, 2.0), (6, 4, 1.0)):
        n = n if batch else 1
        o = rng.normal(0.0, 1.5, (n, c))
        cls = rng.integers(0, c, n)
        cls[0] = 0
        cases.append((f"random logits of shape {o.shape}, classes {cls},"
                      f" dloss = {dloss}", {"o": o, "c": cls}, dloss))
    big = _BIG[:2 if batch else 1]
    # each row's true class is its largest logit: the loss is finite and small,
    # unless exp(1000) overflowed
    cases.append((f"{_big_text(batch)}, class 1 in each row, dloss = 1.0",
                  {"o": big, "c": np.array([1, 1])[:len(big)]}, 1.0))
    return cases


def _fused_ref(o, c):
    return losses.cross_entropy(o, c)


def _flat_picked(d, shift):
    """The fused loss with each row's true-class logit read from the array
    flattened (``np.take(O, c)``: entry c of the first row), each row's own
    log-sum-exp kept; ``shift``: both from the logits less each row's largest."""
    O = np.asarray(d["o"], dtype=np.float64)
    Z = O - O.max(axis=1, keepdims=True) if shift else O
    top = Z.max(axis=1)
    lse = top + np.log(np.exp(Z - top[:, None]).sum(axis=1))
    return float(np.mean(lse - np.ravel(Z)[np.asarray(d["c"])]))


def _fused_loss_mistakes():
    def log_softmax_unshifted(d):
        O = np.asarray(d["o"], dtype=np.float64)
        Z = O - O.max(axis=1, keepdims=True)
        return O - np.log(np.exp(Z).sum(axis=1, keepdims=True))

    def picked(d, logp):
        return logp[np.arange(len(d["c"])), d["c"]]

    def right(d):
        O = np.asarray(d["o"], dtype=np.float64)
        return np.log(losses.softmax(O))

    return [
        Mistake("loss_summed", "the loss is N times the mean: summed over the"
                " batch, not averaged (or a (N, 1) column met the (N,) true-class"
                " entries and broadcast into an N×N table before the mean)",
                "the loss is the mean over the N rows, of one number per row",
                lambda d: -np.sum(picked(d, right(d)))),
        Mistake("shift_not_added_back", "the log of the softmax used the logits"
                " where it needs the shifted ones: the largest logit subtracted"
                " inside the log-sum-exp is not taken off outside it",
                "the shift must cancel: the same number is subtracted from every"
                " logit everywhere it appears, so the loss does not depend on it",
                lambda d: -np.mean(picked(d, log_softmax_unshifted(d)))),
        *[Mistake("flat_index", "every row's true-class logit is read from the"
                  " array flattened, counted as one long row, so it comes from"
                  " the first row (the row number is never used): numpy's take"
                  " without an axis, or an index without the row, does that",
                  "each row n has its own true-class entry: index by the row"
                  " and by its class",
                lambda d, shift=shift: _flat_picked(d, shift))
        for shift in (False, True)],
        Mistake("shift_by_column_max", "each row's logits were shifted by the"
                " largest entries of the columns (the max taken down the batch"
                " axis), so a row's logits lose different numbers and its"
                " probabilities change", "the shift cancels only when the whole"
                " row moves by one number: take each row's own largest logit",
                lambda d: -np.mean(picked(d, np.log(losses.softmax(
                    np.asarray(d["o"], float) - np.max(d["o"], axis=0)))))),
        Mistake("log_before_sum", "the log was taken of each exponential before"
                " the sum, and log(exp(z)) is z: the normaliser became the sum of"
                " the row's logits, not the log of the sum of their exponentials",
                "mind where each bracket closes: the log is of one number per row",
                lambda d: -np.mean(picked(d, (lambda Z: Z - Z.sum(
                    axis=1, keepdims=True))(np.asarray(d["o"], float) - np.max(
                        d["o"], axis=1, keepdims=True))))),
        Mistake("loss_sign", "the loss has the wrong sign", "a loss is at least"
                " 0: small when the true class's probability is close to 1",
                lambda d: np.mean(picked(d, right(d)))),
        *[Mistake("log_normaliser_missing", "the loss is built from the true"
                  " class's logit alone: the log of the softmax's denominator"
                  " (the log-sum-exp over the classes) is left out",
                  "a probability is a share of its whole row: its log depends on"
                  " every logit of the row, not on the true class's alone", rule)
          for rule in (lambda d: -np.mean(picked(d, np.asarray(d["o"], float))),
                       lambda d: -np.mean(picked(d, np.asarray(d["o"], float)
                                                 - np.max(d["o"], axis=1,
                                                          keepdims=True))))],
    ]


def _fused_rule(rule):
    def answer(d):
        O, C = d["o"], d["c"]
        Y = losses.softmax(O)
        T = np.eye(O.shape[1])[C]
        return (d["dout"] * rule(O, Y, T, len(C)),)
    return answer


FUSED = Spec(
    "softmax and cross-entropy in one layer", ("do",), ("o",), ("c",), _fused_ref,
    _fused_cases,
    lambda batch: [
        Mistake("summed", "the gradient is N times too large: the 1/N of the mean"
                " loss is missing", "the loss is the mean over the N rows",
                _fused_rule(lambda O, Y, T, n: Y - T)),
        Mistake("divided_twice", "the gradient is N times too small: divided by N"
                " twice", "divide by N once", _fused_rule(
                    lambda O, Y, T, n: (Y - T) / n ** 2)),
        Mistake("divided_by_classes", "the gradient is divided by the number of"
                " classes C, where the mean over the batch divides by the N rows",
                "the loss is the mean over the N rows of the batch: that is where"
                " its 1/N comes from",
                _fused_rule(lambda O, Y, T, n: (Y - T) / Y.shape[1])),
        Mistake("flipped_sign", "dl/do has the wrong sign in every entry",
                "raising the true class's logit must lower the loss",
                _fused_rule(lambda O, Y, T, n: (T - Y) / n)),
        Mistake("no_onehot", "your dl/do is the probabilities over N in every"
                " entry, the true class's included: the term the loss itself adds"
                " at the true class is missing", "each row of dl/do sums to 0",
                _fused_rule(lambda O, Y, T, n: Y / n)),
        Mistake("ignores_dout", "the upstream gradient dloss is ignored",
                "the chain rule multiplies by the upstream gradient, even for the"
                " loss", lambda d: ((losses.softmax(d["o"])
                                     - np.eye(d["o"].shape[1])[d["c"]])
                                    / len(d["c"]),)),
        Mistake("no_softmax", "dl/do is built from the logits o, not from the"
                " probabilities y = softmax(o)", "the shortcut of notebook 01's Q2"
                " is written in the probabilities",
                _fused_rule(lambda O, Y, T, n: (O - T) / n)),
        Mistake("if_target", "the rows whose class is 0 get no -1: looks like a"
                " branch `if c:`", "class 0 is a class, not 'no class'",
                _fused_rule(lambda O, Y, T, n: (Y - T * (T[:, 0] == 0)[:, None]) / n)),
        Mistake("label_columns", "every row got a -1 at every label of the batch",
                "each row n needs exactly one -1, at its own class c[n]: index one"
                " entry per row", _fused_rule(
                    lambda O, Y, T, n: (Y - T.max(0, keepdims=True)) / n)),
        *[Mistake("wrong_class", f"the -1 of each row sits at class c {word}, not"
                  " at the row's true class c", "Python counts classes from 0: row"
                  " n's -1 belongs at index c[n] (and index -1 is the last class)",
                  _fused_rule(lambda O, Y, T, n, step=step:
                              (Y - np.roll(T, step, axis=1)) / n))
          for word, step in (("- 1", -1), ("+ 1", 1))],
    ], _fused_loss_mistakes())


# --------------------------------------------------------------------------
# General probes (issue 23, item 5): designed inputs that show which property
# of a layer a wrong answer violates, so the message names the mistake without
# a table row per answer. Each probe calls the student's function on the
# check's own copies; a probe the function cannot run is skipped (the error is
# named by the check itself).
# --------------------------------------------------------------------------


def _quiet_call(fn, args, who):
    try:
        return _call(fn, tuple(copy.deepcopy(a) for a in args), who, "a probe")
    except _Stop:
        return None


def _floats(value):
    """``value`` as a float64 array, or None when it holds no numbers."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _floats_or_none(value):
    arr = _floats(value)
    return arr if arr is not None and np.all(np.isfinite(arr)) else None


def _probe_out(spec, fwd, who, inputs, with_cache=False):
    """The student's forward output on ``inputs`` (and its cache), or None."""
    value = _quiet_call(fwd, [inputs[k] for k in (*spec.wrt, *spec.extra)], who)
    if not (isinstance(value, tuple) and len(value) == 2):
        return None
    out = _floats_or_none(value[0])
    if with_cache:
        return None if out is None else (out, value[1])
    return out


def _fmt(values):
    return ", ".join(f"{float(v):.3g}" for v in np.ravel(values)[:4])


def _probe_rows(spec, fwd, who, inputs, out):
    """A batch: change row 1 of the first input; other rows must not move."""
    key = spec.wrt[0]
    x = np.asarray(inputs[key], dtype=np.float64)
    if x.ndim != 2 or len(x) < 2 or np.ndim(out) != 2 or len(out) != len(x):
        return
    other = x.copy()
    other[1] = other[1] * 1.5 - 0.7
    moved = _probe_out(spec, fwd, who, {**inputs, key: other})
    if moved is None or moved.shape != out.shape:
        return
    rows = [n for n in range(len(x)) if n != 1 and not _same(moved[n], out[n])]
    _diagnose.rows_mixed(f"the output of {who}", 1, rows)


def _probe_linear(fwd, who, inputs, batch):
    x, W, b = (np.asarray(inputs[k], dtype=np.float64) for k in ("x", "W", "b"))
    out = _probe_out(LINEAR, fwd, who, inputs)
    if out is None or _diagnose.factors([out], [_lin_ref(x, W, b)]) is not None:
        return   # one factor for the whole output: _forward_structure names it
    zero = _probe_out(LINEAR, fwd, who, {**inputs, "x": np.zeros_like(x)})
    want = _lin_ref(np.zeros_like(x), W, b)
    if zero is not None and zero.shape == want.shape and not _same(zero, want):
        if _same(zero, -want):
            _fail(f"with x = 0 the output of {who} is -b, not b: the bias is taken"
                  " away where the layer adds it", "at x = 0 the layer's output is"
                  " its bias, entry by entry", "bias_subtracted")
        if not _same(zero, 0 * want):
            _fail(f"with x = 0 the output of {who} should be the bias b, but it is"
                  f" {_fmt(zero)}, not {_fmt(want)}: the bias part of your output"
                  " is wrong", "at x = 0 the weights contribute nothing: what is"
                  " left is the bias, entry by entry", "bias_part_wrong")
    unbiased = _probe_out(LINEAR, fwd, who, {**inputs, "b": np.zeros_like(b)})
    want = _lin_ref(x, W, np.zeros_like(b))
    if unbiased is not None and unbiased.shape == want.shape \
            and not _same(unbiased, want) and zero is not None \
            and _same(zero, _lin_ref(np.zeros_like(x), W, b)):
        _fail(f"the bias part of the output of {who} is right, but with b = 0 the"
              " output differs from the layer's: the part made from x and W is"
              " wrong", "output j takes every input i, weighted by the weight"
              " from i to j; check one entry by hand", "weights_part_wrong")


def _probe_sigmoid(fwd, who, inputs, batch):
    k = np.array([[-2.0, 0.0, 2.0]]) if batch else np.array([-2.0, 0.0, 2.0])
    h = _probe_out(SIGMOID, fwd, who, {"k": k})
    if h is None or h.shape != k.shape:
        return
    h = np.ravel(h)
    if h.min() <= 0.0 or h.max() >= 1.0:
        _fail(f"the output of {who} at k = -2, 0, 2 is {_fmt(h)}: the sigmoid's"
              " values lie strictly between 0 and 1", "the sigmoid squashes any"
              " number into (0, 1): check yours at k = 0 (one half) and far from"
              " it", "sigmoid_out_of_range")
    if h[0] > h[2]:
        _fail(f"your sigmoid falls as k rises ({h[0]:.3g} at k = -2, {h[2]:.3g} at"
              " k = 2): the sign of k in the exponent is flipped", "the sigmoid"
              " rises everywhere: near 1 for large k, near 0 for very negative k",
              "sigmoid_falls")
    if not np.isclose(h[1], 0.5, atol=1e-6):
        _fail(f"at k = 0 the output of {who} is {h[1]:.3g}; the sigmoid is one half"
              " there", "at k = 0 the exponential is 1: work the sigmoid out by"
              " hand there", "sigmoid_at_zero")


def _probe_softmax(fwd, who, inputs, batch):
    o = np.asarray(inputs["o"], dtype=np.float64)
    out = _probe_out(SOFTMAX, fwd, who, inputs)
    if out is None or out.shape != o.shape:
        return
    if batch:
        _probe_rows(SOFTMAX, fwd, who, inputs, out)
    O, Y = np.atleast_2d(o), np.atleast_2d(out)
    sums = Y.sum(axis=1)
    for name, value in (("the exps before they are divided by their sum",
                         np.exp(O - O.max(axis=1, keepdims=True))),
                        ("the exps of the logits, never divided by their sum",
                         np.exp(O)), ("the logits themselves", O)):
        if _same(Y, value):
            _fail(f"the output of {who} holds {name}: its rows sum to"
                  f" {_fmt(sums)}, not 1", "each row of y is a probability"
                  " distribution: positive entries that sum to 1",
                  "softmax_not_normalised")
    right = losses.softmax(O)
    if not np.allclose(sums, 1.0, atol=1e-6) and _same(Y, right * sums[:, None]):
        _fail(f"the rows of the output of {who} are the right probabilities times"
              f" one number per row ({_fmt(sums)}): what it divides by is not the"
              " sum of the very exps it divides", "the numerator and the"
              " denominator must come from the same exps, shifted alike",
              "softmax_scaled_rows")
    if not np.allclose(sums, 1.0, atol=1e-6):
        _fail(f"the rows of the output of {who} sum to {_fmt(sums)}, not 1",
              "each row of y is a probability distribution: positive entries that"
              " sum to 1", "softmax_rows_not_one")
    moved = _probe_out(SOFTMAX, fwd, who, {"o": o + 3.0})
    if moved is not None and moved.shape == out.shape and not _same(moved, out):
        low = o - np.max(o) - 0.5     # every logit below 0
        below = _probe_out(SOFTMAX, fwd, who, {"o": low})
        if below is not None and below.shape == o.shape \
                and _same(below, SOFTMAX.forward(o=low)):
            _fail(f"{who} is right whenever every logit is below 0 and wrong when"
                  " some are above: what it takes from the logits is not one"
                  " number per row but depends on each logit's sign (a maximum"
                  " taken entry by entry?)", "take the same number from every"
                  " logit of a row", "shift_per_entry")
        _fail(f"adding 3 to every logit changes the output of {who}: the softmax"
              " depends only on the differences between the logits of a row",
              "a number added to every logit of a row multiplies each exp of the"
              " row by the same factor, and the division cancels it",
              "softmax_not_shift_invariant")


def _loss_rows(spec, fwd, who, inputs):
    """The student's loss of each row alone (None if one cannot be had)."""
    first = spec.wrt[0]
    found = []
    for n in range(len(inputs["c"])):
        one = {**inputs, first: inputs[first][n:n + 1], "c": inputs["c"][n:n + 1]}
        value = _probe_out(spec, fwd, who, one)
        if value is None or value.size != 1:
            return None
        found.append(float(value))
    return found


def _probe_batch_mean(spec, fwd, who, inputs, loss):
    """A batch loss: each row alone right, the batch not their mean."""
    c = np.asarray(inputs["c"])
    if c.ndim != 1 or len(c) < 2:
        return
    mine = _loss_rows(spec, fwd, who, inputs)
    right = [float(spec.forward(**{**inputs, spec.wrt[0]:
                                   inputs[spec.wrt[0]][n:n + 1],
                                   "c": c[n:n + 1]})) for n in range(len(c))]
    if mine is None or not np.allclose(mine, right, rtol=1e-5, atol=1e-8):
        return
    if not np.isclose(float(loss), np.mean(mine), rtol=1e-5, atol=1e-8):
        _fail(f"each row alone gives the right loss, but the loss {who} returns for"
              f" the batch ({float(loss):.4g}) is not the mean of the rows' losses"
              f" ({np.mean(mine):.4g}): it mixes the rows of the batch", "the"
              " batch's loss is the mean of the N rows' own losses: each row's"
              " loss uses that row's probabilities at that row's class",
              "batch_loss_not_mean")


def _probe_cross_entropy(fwd, who, inputs, batch):
    y = np.asarray(inputs["y"], dtype=np.float64)
    c = inputs["c"]
    loss = _probe_out(CROSS_ENTROPY, fwd, who, inputs)
    if loss is None or loss.size != 1:
        return
    Y, C = np.atleast_2d(y).copy(), np.atleast_1d(c)
    rows = np.arange(len(C))
    other = (C + 1) % Y.shape[1]
    changed = Y.copy()
    changed[rows, other] *= 0.5
    moved = _probe_out(CROSS_ENTROPY, fwd, who,
                       {**inputs, "y": changed.reshape(y.shape)})
    if moved is not None and moved.size == 1 and not np.isclose(
            float(moved), float(loss), rtol=1e-6, atol=1e-9):
        _fail(f"the loss from {who} changes when y at a class other than c changes"
              f" ({float(loss):.4g} before, {float(moved):.4g} after): only the"
              " true class's probability enters it", "the loss measures how sure"
              " the model is of the true class c: the other entries of y do not"
              " count", "loss_uses_other_classes")
    values = []
    for v in (0.1, 0.4, 0.8, 1.0):
        at = Y.copy()
        at[rows, C] = v
        got = _probe_out(CROSS_ENTROPY, fwd, who, {**inputs, "y": at.reshape(y.shape)})
        if got is None or got.size != 1:
            return
        values.append(float(got))
    if not np.isclose(values[3], 0.0, atol=1e-9):
        _fail(f"at y_c = 1 (the model sure of the true class) the loss from {who}"
              f" is {values[3]:.3g}, not 0", "a sure, right answer costs nothing:"
              " the loss is 0 there and grows as y_c falls", "loss_not_zero_at_one")
    right = [-np.log(v) for v in (0.1, 0.4, 0.8)]
    if np.allclose(np.divide(values[:3], right), (0.1, 0.4, 0.8), rtol=1e-5):
        _fail(f"the loss from {who} is the right one times y_c, the true class's"
              " probability", "the loss is the minus log of y_c alone: nothing"
              " multiplies it", "loss_times_probability")
    if not values[0] > values[1] > values[2]:
        _fail(f"the loss from {who} does not fall as y_c rises ({_fmt(values[:3])} at"
              " y_c = 0.1, 0.4, 0.8)", "the surer the model of the true class, the"
              " smaller the loss: it falls all the way from y_c near 0 to y_c = 1",
              "loss_not_falling")
    if batch:
        _probe_batch_mean(CROSS_ENTROPY, fwd, who, inputs, loss)


def _probe_fused(fwd, who, inputs, batch):
    o = np.asarray(inputs["o"], dtype=np.float64)
    loss = _probe_out(FUSED, fwd, who, inputs)
    if loss is None or loss.size != 1:
        return
    moved = _probe_out(FUSED, fwd, who, {**inputs, "o": o + 3.0})
    if moved is not None and moved.size == 1 and not np.isclose(
            float(moved), float(loss), rtol=1e-6, atol=1e-9):
        _fail(f"adding 3 to every logit changes the loss from {who} ({float(loss):.4g}"
              f" before, {float(moved):.4g} after): the softmax, and so the loss,"
              " depends only on the differences between the logits of a row",
              "a number subtracted from every logit of a row must cancel"
              " everywhere it appears", "loss_not_shift_invariant")
    _probe_batch_mean(FUSED, fwd, who, inputs, loss)


def _forward_probes(spec, fwd, who, inputs, batch):
    probe = {LINEAR.title: _probe_linear, SIGMOID.title: _probe_sigmoid,
             SOFTMAX.title: _probe_softmax, CROSS_ENTROPY.title: _probe_cross_entropy,
             FUSED.title: _probe_fused}.get(spec.title)
    if probe is not None:
        with np.errstate(all="ignore"):
            probe(fwd, who, inputs, batch)


def _intermediates(inputs):
    """The values a softmax or loss layer meets on its way, by name."""
    found = []
    if "o" in inputs:
        O = np.atleast_2d(np.asarray(inputs["o"], dtype=np.float64))
        Z = O - O.max(axis=1, keepdims=True)
        found += [("the logits o", O), ("the shifted logits (each row minus its"
                                        " largest)", Z),
                  ("the exps before they are divided by their sum", np.exp(Z)),
                  ("the exps of the logits, never divided by their sum", np.exp(O)),
                  ("the exps divided by their sum over the whole batch (all rows"
                   " together), so each row does not sum to 1",
                   np.exp(Z) / np.exp(Z).sum()),
                  ("log y", np.log(losses.softmax(O)))]
    if "y" in inputs:
        Y = np.atleast_2d(np.asarray(inputs["y"], dtype=np.float64))
        found += [("log y", np.log(Y)), ("1 - y", 1 - Y)]
    return found


def _rule_on(spec, d, value):
    """The right backward rule of the softmax / loss layers with ``value``
    where the probabilities belong; None for other layers."""
    G = d["dout"]
    with np.errstate(all="ignore"):
        if spec.title == SOFTMAX.title:
            return _soft_rule(value, np.atleast_2d(G))
        C = np.atleast_1d(d["c"])
        T = np.eye(value.shape[1])[C]
        if spec.title == FUSED.title:
            return G * (value - T) / len(C)
        if spec.title == CROSS_ENTROPY.title:
            return -G * T / (len(C) * np.where(T > 0, value, 1.0))
    return None


def _holds(cache, value):
    return any(np.shape(v) == np.shape(value) and _same(np.asarray(v), value)
               for _, v in _slots(cache)) or any(
                   isinstance(v, np.ndarray) and v.size == value.size
                   and _same(v.reshape(value.shape), value) for _, v in _slots(cache))


def _rule_on_intermediate(spec, outs, datas, caches, who, fwho):
    """The right rule applied to another value of the layer (log y, the exps)."""
    name = spec.grad_names[0]
    for what, _ in _intermediates(datas[0]):
        fits = True
        for o, d in zip(outs, datas):
            value = dict(_intermediates(d))[what]
            want = _rule_on(spec, d, value)
            if want is None or not _same(np.atleast_2d(o[name]), want):
                fits = False
                break
        if fits:
            cached = all(_holds(c, dict(_intermediates(d))[what])
                         for c, d in zip(caches, datas))
            _fail(f"{name} from {who} is the right rule applied to {what} in place"
                  " of the probabilities y" + (f": {fwho} caches {what} where y"
                                               " belongs" if cached else ""),
                  "print what your backward reads from the cache next to y: they"
                  " must be the same numbers", "rule_on_another_value")


def _zero_upstream(spec, bwd, who, datas, caches):
    """dout = 0 must give 0: a part that does not multiply by dout shows."""
    d, cache = datas[0], caches[0]
    zero = 0.0 if np.ndim(d["dout"]) == 0 else np.zeros_like(d["dout"])
    value = _quiet_call(bwd, (zero, cache), who)
    for name, v in zip(spec.grad_names, _grad_values(spec, value)):
        arr = _floats_or_none(v)
        if arr is not None and np.abs(arr).max(initial=0.0) > 1e-9:
            _fail(f"with dout = 0 (nothing comes from above) {name} from {who} is not"
                  f" 0 ({_fmt(arr)}, ...): a part of it does not multiply by the"
                  " upstream gradient", "every term of a backward pass carries the"
                  " upstream gradient: no change above, no gradient below",
                  "part_without_dout")


def _rows_of_backward(spec, bwd, who, datas, caches):
    """A batch: change row 1 of dout; the other rows of dx / dk / do must stay."""
    d, cache = datas[0], caches[0]
    dout = np.asarray(d["dout"], dtype=np.float64)
    if dout.ndim != 2 or len(dout) < 2:
        return
    other = dout.copy()
    other[1] = other[1] * -2.0 + 0.5
    a, b = (_quiet_call(bwd, (g, cache), who) for g in (dout, other))
    many = len(spec.grad_names) > 1
    for i, (name, key) in enumerate(zip(spec.grad_names, spec.wrt)):
        if key in _PARAMETERS:
            continue
        x, y = (_floats_or_none(v[i] if many and isinstance(v, (tuple, list))
                                else v) for v in (a, b))
        if x is None or y is None or x.shape != y.shape or x.ndim != 2:
            return
        rows = [n for n in range(len(x)) if n != 1 and not _same(x[n], y[n])]
        _diagnose.rows_mixed(f"{name} from {who}", 1, rows, "dout")


def _parameter_rows(spec, outs, refs, datas, bwd, who):
    """The linear layer on a batch: dW and db against the rows' contributions."""
    if spec.title != LINEAR.title:
        return
    for o, r, d in zip(outs, refs, datas):
        X, G = np.asarray(d["x"], float), np.asarray(d["dout"], float)
        if X.ndim != 2 or len(X) < 2:
            return
        for name, parts in (("dW", [np.outer(x, g) for x, g in zip(X, G)]),
                            ("db", list(G))):
            if not _same(o[name], r[name]):
                _diagnose.rows_fit(f"{name} from {who}", o[name], parts, len(X))


def _pairing(spec, outs, refs, datas, caches, bwd, who):
    """dW must pair row n of x with row n of dout: reorder dout's rows alone."""
    if spec.title != LINEAR.title or all(_same(o["dW"], r["dW"])
                                         for o, r in zip(outs, refs)):
        return
    d, cache = datas[0], caches[0]
    G = np.asarray(d["dout"], dtype=np.float64)
    if G.ndim != 2 or len(G) < 3:
        return
    value = _quiet_call(bwd, (G[::-1].copy(), cache), who)
    if isinstance(value, (tuple, list)) and len(value) == 3:
        moved = _floats_or_none(value[1])
        if moved is not None and moved.shape == outs[0]["dW"].shape \
                and _same(moved, outs[0]["dW"]):
            _fail(f"dW from {who} stays the same when the rows of dout are put in"
                  " another order: it does not pair row n of x with row n of dout",
                  "each instance's input meets that same instance's upstream"
                  " gradient, and only then are the instances added up",
                  "rows_not_paired")


def _softmax_jacobians(spec, bwd, who, datas, caches):
    """Read back the Jacobian a softmax backward applies to the first row of each
    case (unit upstream gradients), and name how it differs, part by part."""
    if spec.title != SOFTMAX.title:
        return
    Js, ys = [], []
    for d, cache in zip(datas, caches):
        O = np.atleast_2d(np.asarray(d["o"], dtype=np.float64))
        if np.abs(O).max() > 100:
            continue
        rows = []
        for i in range(O.shape[1]):
            unit = np.zeros(np.shape(d["dout"]))
            unit[(0, i) if unit.ndim == 2 else i] = 1.0
            value = _floats_or_none(_quiet_call(bwd, (unit, cache), who))
            if value is None or value.shape != unit.shape:
                return
            rows.append(np.atleast_2d(value)[0])
        Js.append(np.array(rows))
        ys.append(losses.softmax(O)[0])
    _diagnose.jacobian_parts(who, Js, ys)


def _class_entry_trend(spec, fwd, bwd, who, batch):
    """The loss layer's gradient at the true class must shrink as y_c grows."""
    if spec.title != CROSS_ENTROPY.title or fwd is None:
        return
    found = []
    for y in (np.array([0.2, 0.5, 0.3]), np.array([0.8, 0.1, 0.1])):
        inputs = {"y": y[None], "c": np.array([0])} if batch else {"y": y, "c": 0}
        got = _probe_out(spec, fwd, who, inputs, with_cache=True)
        if got is None:
            return
        grad = _floats_or_none(_quiet_call(bwd, (1.0, got[1]), who))
        if grad is None or grad.size != 3:
            return
        found.append(abs(float(np.ravel(grad)[0])))
    if found[1] > found[0] + 1e-9:
        _fail(f"at the true class, dy from {who} grows in size as y_c grows"
              f" ({found[0]:.3g} at y_c = 0.2, {found[1]:.3g} at y_c = 0.8): the"
              " loss is steepest where y_c is small and flattens as y_c nears 1",
              "nudge y_c a little at y_c = 0.2 and at y_c = 0.8: where does the loss"
              " change more?", "class_gradient_grows")


def _backward_probes(spec, runs, bwho, swap, late=False):
    """The general probes of a wrong backward pass: the early ones before the
    shared patterns of _structure (they name more precisely than its part
    and per-case factors), the late ones after them."""
    outs, refs, datas, texts = runs
    bwd, fwho, caches, fwd = swap
    with np.errstate(all="ignore"):
        if not late:
            if spec.title in (SOFTMAX.title, FUSED.title, CROSS_ENTROPY.title):
                _rule_on_intermediate(spec, outs, datas, caches, bwho, fwho)
            _class_entry_trend(spec, fwd, bwd, bwho,
                               np.ndim(datas[0][spec.wrt[0]]) == 2)
            _rows_of_backward(spec, bwd, bwho, datas, caches)
            _softmax_jacobians(spec, bwd, bwho, datas, caches)
            if spec.title == SOFTMAX.title:
                _diagnose.softmax_parts(f"do from {bwho}", [o["do"] for o in outs],
                                        [_soft_rows(d) for d in datas])
            if spec.title in (FUSED.title, CROSS_ENTROPY.title):
                _outside_class(spec, outs, refs, datas, bwho)
                _class_entries_shared(spec, outs, refs, datas, bwho)
            if spec.title == CROSS_ENTROPY.title:
                _nonzero_outside(outs, datas, texts, bwho)
            if spec.title == SIGMOID.title:
                _diagnose.reciprocal(f"dk from {bwho}", [o["dk"] for o in outs],
                                     [r["dk"] for r in refs],
                                     [d["dout"] for d in datas])
            return
        _zero_upstream(spec, bwd, bwho, datas, caches)
        _parameter_rows(spec, outs, refs, datas, bwd, bwho)
        _pairing(spec, outs, refs, datas, caches, bwd, bwho)
        _linear_in_dout(spec, bwd, bwho, datas, caches)


def _identify(value, inputs):
    """The name of a known value of the layer that ``value`` holds, or None."""
    arr = _floats_or_none(value)
    if arr is None:
        return None
    for name, known in _intermediates(inputs):
        if arr.size == known.size and _same(arr.reshape(known.shape), known):
            return name
    return None


def _indices_swapped(spec, outs, datas, who):
    """A loss layer on a batch: every non-zero entry of row n's gradient sits at
    row c[n], column n, where (n, c[n]) belongs: the two indices swapped."""
    if "c" not in datas[0] or len(spec.grad_names) != 1:
        return
    name = spec.grad_names[0]
    for o, d in zip(outs, datas):
        g, c = np.asarray(o[name]), np.atleast_1d(d["c"])
        if g.ndim != 2 or len(c) < 2:
            return
        swapped = np.zeros(g.shape, dtype=bool)
        try:
            swapped[c, np.arange(len(c))] = True
        except IndexError:
            return
        if not np.array_equal(np.abs(g) > 0, swapped):
            return
    _fail(f"{name} from {who} puts row n's entry in row c[n] and column n: the row"
          " index and the class index are swapped", "index the gradient as"
          " (row, class), the order of its axes: one row per instance, one column"
          " per class", "indices_swapped")


def _nonzero_outside(outs, datas, texts, who):
    """The loss layer's dy must be 0 outside the true class: name the first
    case and entries where it is not."""
    for o, d, text in zip(outs, datas, texts):
        dy = np.atleast_2d(o["dy"])
        off = np.argwhere((np.abs(dy) > 1e-12) & ~_class_entries(dy, np.atleast_1d(
            d["c"])))
        if len(off):
            where = ", ".join(f"dy[{', '.join(map(str, i))}]" if dy.shape[0] > 1
                              else f"dy[{i[1]}]" for i in off[:3])
            _fail(f"dy from {who} is not 0 at {where} on {text}, an entry of a class"
                  " that is not the true one: the loss reads only y_c, so every"
                  " other entry is 0 (a slice or a condition that misses some"
                  " entries?)", "keep the true class's entry and make sure every"
                  " other one is 0, on both sides of c", "nonzero_elsewhere")


def _outside_class(spec, outs, refs, datas, who):
    """A loss layer: the entries outside the true class are off by one shared
    amount (a gradient started from ones, a 1 subtracted everywhere)."""
    name = spec.grad_names[0]
    offs, sums = [], []
    for o, r, d in zip(outs, refs, datas):
        mine, right = np.atleast_2d(o[name]), np.atleast_2d(r[name])
        outside = ~_class_entries(mine, np.atleast_1d(d["c"]))
        diff = (mine - right)[outside]
        if diff.size == 0 or not np.allclose(diff, diff[0], rtol=1e-6, atol=1e-9) \
                or abs(diff[0]) < 1e-9:
            return
        offs.append((float(diff[0]), float(d["dout"]) / mine.shape[0]))
        sums.append(mine.sum(axis=1))
    rows = f"its rows sum to {_fmt(sums[0])} on the first case"
    if spec.title == CROSS_ENTROPY.title:
        ups = [float(d["dout"]) for d in datas]
        value = next((word for word, want in (
            (f"{offs[0][0]:.3g}", [offs[0][0]] * len(offs)),
            ("the upstream gradient dloss", ups),
            ("the upstream gradient dloss divided by N", [s for _, s in offs]))
            if np.allclose([off for off, _ in offs], want)), "one number per case")
        _fail(f"the entries of {name} from {who} outside the true class are {value}"
              " (should be 0 there: the loss reads only y_c); " + rows,
              "start from a gradient that is 0 everywhere and set the true class's"
              " entry alone", "outside_class_not_zero")
    if all(np.isclose(off, -scale) for off, scale in offs):
        _fail(f"1 is subtracted in every entry of {name} from {who}, not only at the"
              " true class: " + rows + " (they should sum to 0)", "the target is 1"
              " at the true class and 0 everywhere else: subtract only there",
              "subtracted_everywhere")
    _fail(f"the entries of {name} from {who} outside the true class are all off by"
          f" one shared amount ({offs[0][0]:.3g} on the first case): " + rows,
          "outside the true class the gradient is the probability alone (times the"
          " upstream gradient and 1/N)", "outside_class_shifted")


def _class_entries_shared(spec, outs, refs, datas, who):
    """A batch loss layer: the N true-class entries hold one number where each
    row's must depend on its own row."""
    name = spec.grad_names[0]
    for o, r, d in zip(outs, refs, datas):
        mine, right = np.asarray(o[name]), np.asarray(r[name])
        c = np.atleast_1d(d["c"])
        if mine.ndim != 2 or len(c) < 2:
            return
        mask = _class_entries(mine, c)
        if not np.any(mine) or \
                not np.allclose(mine[mask], mine[mask][0], rtol=1e-9, atol=1e-12) \
                or np.allclose(right[mask], right[mask][0], rtol=1e-6):
            return
    _fail(f"the N true-class entries of {name} from {who} all hold one number"
          " (on every case): each row's entry must depend on its own row",
          "row n's entry at its class comes from row n's own probability alone:"
          " nothing is shared or averaged across the rows, and a number assigned"
          " there (= where the entry is to change) replaces what the row had",
          "class_entries_shared")


# --------------------------------------------------------------------------
# Extreme but legal inputs (issue 23, item 5): a softmax shifted by anything
# but each row's largest logit overflows on a large spread, and a batch loss
# taken as the log of a product underflows on many rows. Neither shows on the
# ordinary cases, so every softmax / loss forward is run on them too.
# --------------------------------------------------------------------------

_SPREAD = np.array([[2000.0, 0.0, -5.0], [-3.0, 1.0, 0.5]])
_SPREAD_TEXT = {False: "[2000, 0, -5]", True: "[[2000, 0, -5], [-3, 1, 0.5]]"}
_BIG_K = np.array([-800.0, 0.0, 800.0])   # a sigmoid's exp overflows past 709
_MANY = 400   # rows whose true-class probability is 1e-3: 1e-3 ** 400 is 0


def _extreme_out(fwd, args, who):
    """The student's forward output on extreme inputs as floats (nan kept),
    or None when it cannot be had (the ordinary cases name that)."""
    with np.errstate(all="ignore"):
        value = _quiet_call(fwd, args, who)
    if not (isinstance(value, tuple) and len(value) == 2):
        return None
    return _floats(value[0])


def _went_wrong(who, got):
    """'<who> gives nan/inf' or '<who> is wrong', whichever ``got`` shows."""
    return f"{who} {'gives nan/inf' if not np.all(np.isfinite(got)) else 'is wrong'}"


def _spread_fail(who, got, want, text):
    _fail(f"{_went_wrong(who, got)} on logits with a large spread: {text} (it returns"
          f" {_fmt(got)}, expected {_fmt(want)})", "exp overflows above about"
          " 709: whatever you subtract from a row before exp must leave no"
          " exponent above 0 (a position, an index, a mean or a fixed number"
          " does not), and a small spread must stay exact",
          "not_stable_on_spread")


def _underflow_fail(who, got, want):
    _fail(f"the loss of {_MANY} rows underflows: {who} returns {_fmt(got)} on"
          f" {_MANY} rows whose true-class probability is 1e-3 (expected"
          f" {want:.4g}): a product of many probabilities is 0 in floating point",
          "the log of a product is a sum of logs: take the log of each row's"
          " probability before you combine the rows", "loss_underflows")


def _many_rows(rng):
    """(Y, c): _MANY rows of 4 probabilities, 1e-3 at the true class."""
    c = rng.integers(0, 4, _MANY)
    Y = np.full((_MANY, 4), (1.0 - 1e-3) / 3)
    Y[np.arange(_MANY), c] = 1e-3
    return Y, c


def _clipped(got, want, who, where):
    """Fail when the output is the right one held inside [its smallest, its
    largest] value: a clip the stub does not ask for."""
    if not np.all(np.isfinite(got)):
        return
    lo, hi = float(got.min()), float(got.max())
    if np.allclose(got, np.clip(want, lo, hi), rtol=1e-9, atol=1e-12):
        _fail(f"{who} is right {where} except that its output stops at {lo:.4g}"
              f" and {hi:.4g} (expected {_fmt(want)}): it is clipped",
              "the layer returns its function's own value, however close to 0 or"
              " 1: a clip changes the output and the gradient the check expects",
              "output_clipped")


def _sigmoid_backward_extremes(fwd, bwd, who, batch):
    """The sigmoid's backward at k = -800, 0, 800 with dout = 1: 0, 0.25, 0.
    A slope written with exp(-k) overflows there though it is right for
    moderate k."""
    k = _BIG_K[None, :] if batch else _BIG_K
    with np.errstate(all="ignore"):
        value = _quiet_call(fwd, (k.copy(),), who)
        if not (isinstance(value, tuple) and len(value) == 2):
            return
        got = _quiet_call(bwd, (np.ones_like(k), value[1]), who)
    try:
        got = np.asarray(got, dtype=np.float64).reshape(k.shape)
    except (TypeError, ValueError):
        return
    want = np.array([0.0, 0.25, 0.0]).reshape(k.shape)
    if not _same(got, want):
        _fail(f"{_went_wrong(who, got)} at k = [-800, 0, 800] with dout = 1 (it returns"
              f" {_fmt(got)}, expected 0, 0.25, 0): its slope is right for"
              " moderate k, but exp overflows above about 709",
              "the sigmoid's slope can be written from h, the forward's output,"
              " which is never out of range", "backward_not_stable")


def extreme_probes(spec, fwd, who, batch):
    """Fail if a softmax / loss forward goes wrong on a large logit spread
    or, for a batch loss, on many rows of small probabilities."""
    rows = _SPREAD[:2 if batch else 1]
    if spec.title == SOFTMAX.title:
        o = rows if batch else rows[0]
        got, want = _extreme_out(fwd, (o.copy(),), who), _soft_ref(o)
        if got is not None and got.shape == want.shape and not _same(got, want):
            _clipped(got, want, who, "on a large logit spread")
            _spread_fail(who, got, want, _SPREAD_TEXT[batch])
    elif spec.title == FUSED.title:
        _fused_extremes(fwd, who, batch, rows)
    elif spec.title == SIGMOID.title:
        k = _BIG_K[None, :] if batch else _BIG_K
        got = _extreme_out(fwd, (k.copy(),), who)
        want = np.array([0.0, 0.5, 1.0]).reshape(k.shape)
        if got is not None and got.shape == want.shape and not _same(got, want):
            _clipped(got, want, who, "at k = [-800, 0, 800]")
            _fail(f"{_went_wrong(who, got)} at k = [-800, 0, 800] (it returns"
                  f" {_fmt(got)}, expected 0, 0.5, 1): exp overflows above about 709",
                  "for a large |k| only one of exp(k) and exp(-k) is safe to"
                  " compute: the sigmoid can be written with either",
                  "not_stable_on_spread")
    elif spec.title == CROSS_ENTROPY.title and batch:
        Y, c = _many_rows(np.random.default_rng(0))
        got, want = _extreme_out(fwd, (Y.copy(), c.copy()), who), _ce_ref(Y, c)
        if got is not None and got.size == 1 and not np.isclose(
                float(got.ravel()[0]), want, rtol=1e-6):
            _underflow_fail(who, got, want)



def _fused_extremes(fwd, who, batch, rows):
    """The fused layer on many rows of small true-class probabilities (a
    product of them underflows), then on a large spread, where the true
    class's probability itself is 0 in floating point (its log is not)."""
    if batch:
        rng = np.random.default_rng(0)
        O = rng.normal(0.0, 1.0, (_MANY, 4))
        O[np.arange(_MANY), rng.integers(0, 4, _MANY)] = -7.0
        c = np.argmin(O, axis=1)
        got, want = _extreme_out(fwd, (O.copy(), c.copy()), who), _fused_ref(O, c)
        if got is not None and got.size == 1 and not np.isclose(
                float(got.ravel()[0]), want, rtol=1e-6):
            _underflow_fail(who, got, want)
    # row 0's true class (1) sits 2000 below its largest logit
    c = np.array([1, 0])[:len(rows)]
    got, want = _extreme_out(fwd, (rows.copy(), c.copy()), who), _fused_ref(rows, c)
    if got is not None and got.size == 1 and not np.isclose(
            float(got.ravel()[0]), want, rtol=1e-6):
        _fail(f"{_went_wrong(who, got)} on logits with a large spread: "
              + _SPREAD_TEXT[batch] + (", classes [1, 0]" if batch else ", class 1")
              + f" (it returns {_fmt(got)}, expected {_fmt(want)}): the true"
              " class's probability, e to the -2000, is 0 in floating point,"
              " and so is anything computed from it, but its log, about -2000,"
              " is an ordinary number", "the log of a softmax output can be"
              " written from the shifted logits directly, never forming"
              " the probability", "not_stable_on_spread")


# --------------------------------------------------------------------------
# Two backward mistakes that the patterns above misread (issue 23, item 5):
# an array made with an integer dtype truncates every value written into it
# (a softmax Jacobian's entries, all below 1 in size, become 0, which looks
# like a product along the wrong axis), and a cache indexed where it is used
# whole gives every entry the local value of one entry.
# --------------------------------------------------------------------------


def _scaled(cache, factor):
    """The cache with every float array in it multiplied by ``factor``."""
    if isinstance(cache, np.ndarray) and cache.dtype.kind == "f":
        return cache * factor
    if isinstance(cache, (tuple, list)):
        return type(cache)(_scaled(part, factor) for part in cache)
    return cache


def _whole(arr):
    return arr is not None and np.all(arr == np.round(arr))


def _whole_before_dloss(spec, datas, caches, bwd, who):
    """Whether a loss layer (a number dloss from above) gives whole numbers
    with dloss = 1 where the right ones are not: a truncation made before
    dloss multiplies, which a dloss of 2.5 hides."""
    if np.ndim(datas[0]["dout"]) != 0:
        return False
    for d, cache in zip(datas, caches):
        value = _quiet_call(bwd, (1.0, cache), who)
        arr = _floats_or_none(value[0] if isinstance(value, (tuple, list)) else value)
        right = _numeric(spec, {k: d[k] for k in (*spec.wrt, *spec.extra)}, 1.0)[0]
        if not _whole(arr) or _whole(np.asarray(right)):
            return False
    return True


def integer_results(spec, outs, refs, datas, caches, bwd, who):
    """Fail if every result is a whole number (the right ones are not) and a
    cache of larger values gives whole numbers that are not all 0."""
    name = spec.grad_names[0]
    if any(np.abs(np.asarray(o[name])).max() > 1e-9 for o in outs):
        # all 0 is also the wrong axis's answer: the probe below tells them apart
        _diagnose.truncated(f"{name} from {who}", [o[name] for o in outs],
                            [r[name] for r in refs])
    gate = all(_whole(np.asarray(o[name])) for o in outs) \
        and not all(_whole(np.asarray(r[name])) for r in refs)
    if not gate and not _whole_before_dloss(spec, datas, caches, bwd, who):
        return
    nonzero = floats = False
    for d, cache in zip(datas, caches):
        with np.errstate(all="ignore"):
            # whole upstream numbers, so that only a truncation makes whole results
            ones = np.ones_like(np.asarray(d["dout"], dtype=np.float64))
            for scale in (1.0, 7.3):
                value = _quiet_call(bwd, (ones, _scaled(cache, scale)), who)
                first = value[0] if isinstance(value, (tuple, list)) else value
                arr = _floats_or_none(first)
                if not _whole(arr):
                    return
                nonzero = nonzero or bool(np.any(arr != 0))
                floats = np.asarray(first).dtype.kind == "f"
    if nonzero and floats and _floor_divides(bwd):
        _fail(f"every entry of {name} from {who} is a whole number"
              f" ({_fmt(outs[0][name])} ...) in an array of floats, and {who}"
              " divides with //: a floor division rounds each quotient down to a"
              " whole number", "a division that keeps its fraction is the plain"
              " one", "rounded_to_whole")
    if nonzero:
        seen = _fmt(outs[0][name])
        _fail(f"every entry of {name} from {who} is a whole number ({seen} ...):"
              " an array your backward builds has an integer dtype, so each value"
              " written into it is cut to a whole number (the softmax's local"
              " derivatives, all smaller than 1, become 0)", "print the dtype of"
              " each array you create: an array that holds fractions must be made"
              " as floats", "truncated_to_integers")


def one_entry_local(spec, outs, datas, who):
    """An elementwise backward whose every entry (or row) used the local slope
    of one entry (or row): the cache indexed, as cache[0], not used whole."""
    if spec.title != SIGMOID.title:
        return
    found = None
    for o, d in zip(outs, datas):
        dout = np.asarray(d["dout"], dtype=np.float64)
        h = layers.sigmoid(np.asarray(d["k"], dtype=np.float64))
        slope, got = h * (1 - h), np.asarray(o["dk"], dtype=np.float64)
        if got.shape != dout.shape or np.any(dout == 0) or _same(got, dout * slope):
            return
        fits = [i for i in range(len(slope))
                if _same(got, dout * np.broadcast_to(slope[i], slope.shape))]
        if not fits or (found is not None and fits[0] != found):
            return
        found = fits[0]
    what = "row" if np.ndim(datas[0]["k"]) == 2 else "entry"
    _fail(f"every {what} of dk from {who} uses the slope of {what} {found}: the"
          f" cache was indexed ({what} {found} taken) where it is used whole",
          "print what your backward takes from the cache next to the cache"
          " itself: each entry of dk needs the slope at its own entry",
          "one_entry_local")


def one_row_returned(spec, value, case, who, text):
    """A batch gradient returned as one row that is the right gradient's last
    (or first) row: a loop over the rows overwrote the result each time."""
    inputs, dout = case
    values = list(value) if isinstance(value, (tuple, list)) else [value]
    if len(values) != len(spec.grad_names):
        return
    with np.errstate(all="ignore"):
        rights = _numeric(spec, inputs, dout)
    for name, v, right in zip(spec.grad_names, values, rights):
        arr = _floats_or_none(v)
        if arr is None or arr.ndim != 1 or np.ndim(right) != 2 or len(right) < 2 \
                or arr.shape != right.shape[1:]:
            continue
        for n, which in ((len(right) - 1, "last"), (0, "first")):
            if _same(arr, right[n]) and not _same(arr, right.sum(axis=0)):
                _fail(f"{name} from {who} is one row, the {which} row's gradient,"
                      f" on {text}: a loop over the rows wrote over the result"
                      " each time, so only one row's is left", "the gradient has"
                      " one row per row of the batch: each row's result needs"
                      " its own place in it", "one_row_kept")


def gradient_for_input(spec, runs, who):
    """A gradient that is the right rule with one of the layer's inputs (W, x)
    replaced by a gradient of the same shape (dW, dx): the rule applied to
    the wrong array."""
    outs, refs, datas = runs
    if len(spec.grad_names) < 2:
        return
    names = dict(zip(spec.wrt, spec.grad_names))
    for name in spec.grad_names:
        if all(_same(o[name], r[name]) for o, r in zip(outs, refs)):
            continue
        for key in spec.wrt:
            for other in spec.grad_names:
                if names[key] == name or np.shape(refs[0][other]) != \
                        np.shape(datas[0][key]):
                    continue
                if all(_same(o[name], _numeric(spec, {
                        **{k: d[k] for k in (*spec.wrt, *spec.extra)},
                        key: r[other]}, d["dout"])[spec.grad_names.index(name)])
                       for o, r, d in zip(outs, refs, datas)):
                    _fail(f"{name} from {who} is the right rule applied to"
                          f" {other} where {key} belongs: {other} is a gradient,"
                          f" {key} the layer's own array", f"print the arrays"
                          f" your line for {name} uses: each must be one the"
                          " forward pass cached", "gradient_for_input")
