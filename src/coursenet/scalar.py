"""The network of Q3/Q4 in plain Python: lists of floats, lists of lists, ``math``.

No numpy here on purpose (a test checks it): every multiplication is a loop a
student can follow. Notation follows the course:

    k_j = sum_i x_i W[i][j] + b[j]        (hidden pre-activation)
    h_j = sigmoid(k_j)
    o_m = sum_j h_j V[j][m] + c[m]        (logits)
    y_m = exp(o_m) / sum_n exp(o_n)       (softmax)
    loss = -log y_target

Parameters are a dict ``{"W": D x H, "b": H, "V": H x C, "c": C}``; gradients
use the same keys and shapes.
"""

from __future__ import annotations

import math
import numbers
import random

from coursenet._fast_scalar import sgd_instance
from coursenet.history import DivergedError as _DivergedError
from coursenet.history import History as _History
from coursenet.history import all_finite as _all_finite
from coursenet.history import run_epochs as _run_epochs

__all__ = ["course_params", "init_params", "forward", "backward", "sgd_step",
           "sgd_instance", "train", "sigmoid", "mean_loss", "evaluate",
           "check_params", "PARAM_NAMES"]

PARAM_NAMES = ("W", "b", "V", "c")
_MAX_NUMBERS = 10_000_000  # weights of init_params: lists of Python floats


def sigmoid(x: float) -> float:
    """``1 / (1 + exp(-x))`` written so that ``exp`` never overflows."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"x must be a number, got {x!r}")
    try:
        x = float(x)
    except OverflowError:  # an int beyond float's range: saturated
        return 1.0 if x > 0 else 0.0
    return _sigmoid(x)


def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def course_params() -> dict:
    """The 2-3-2 network of Q3 (deliberately symmetric: see the module notes)."""
    return {
        "W": [[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]],
        "b": [0.0, 0.0, 0.0],
        "V": [[1.0, 1.0], [-1.0, -1.0], [-1.0, -1.0]],
        "c": [0.0, 0.0],
    }


def init_params(seed=0, num_inputs=2, num_hiddens=3, num_outputs=2, std=1.0) -> dict:
    """Weights drawn from N(0, std^2), biases zero; ``seed`` (an int) seeds a
    private RNG."""
    _check_seed(seed)
    for name, value in (("num_inputs", num_inputs), ("num_hiddens", num_hiddens),
                        ("num_outputs", num_outputs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    size = num_inputs * num_hiddens + num_hiddens * num_outputs
    if size > _MAX_NUMBERS:
        raise ValueError(
            f"num_inputs x num_hiddens x num_outputs = {num_inputs} x {num_hiddens}"
            f" x {num_outputs} is too large for the plain-Python network ({size:,}"
            f" weights; at most {_MAX_NUMBERS:,}): use coursenet.mlp.init_mlp")
    if isinstance(std, bool) or not isinstance(std, numbers.Real) \
            or not math.isfinite(std) or std <= 0:
        raise ValueError(f"std must be a finite number > 0, got {std!r}")
    rng = random.Random(seed)
    return {
        "W": [[rng.gauss(0.0, std) for _ in range(num_hiddens)]
              for _ in range(num_inputs)],
        "b": [0.0] * num_hiddens,
        "V": [[rng.gauss(0.0, std) for _ in range(num_outputs)]
              for _ in range(num_hiddens)],
        "c": [0.0] * num_outputs,
    }


def forward(params: dict, x, target: int):
    """One instance forward to the loss. Returns ``(loss, cache)``.

    ``cache`` is a dict of every intermediate value (``x, k, h, o, y, target``),
    which :func:`backward` uses and the notebooks print. Its lists are new
    lists, not the caller's: editing ``x`` afterwards cannot change a backward
    pass.
    """
    num_inputs, _, num_classes = check_params(params)
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    x = _as_row(x, "x", num_inputs)
    target = _check_target(target, num_classes)
    k, h, o, y, loss = _forward(W, b, V, c, x, target)
    return loss, {"x": x, "k": k, "h": h, "o": o, "y": y, "target": target}


def _forward(W, b, V, c, x, target):
    # plain loops: in CPython a list comprehension costs a function call
    k = list(b)  # k_j = b_j + sum_i x_i W_ij
    for x_i, W_i in zip(x, W):
        for j in range(len(k)):
            k[j] += x_i * W_i[j]
    h = list(k)
    for j in range(len(h)):
        h[j] = _sigmoid(k[j])
    o = list(c)  # o_m = c_m + sum_j h_j V_jm
    for h_j, V_j in zip(h, V):
        for m in range(len(o)):
            o[m] += h_j * V_j[m]
    top = max(o)  # softmax of o - max(o): the same, and exp cannot overflow
    y = list(o)
    total = 0.0
    for m in range(len(y)):
        y[m] = math.exp(o[m] - top)
        total += y[m]
    for m in range(len(y)):
        y[m] /= total
    # -log y_target = log(total) - (o_target - top): finite even if y underflows
    loss = math.log(total) + top - o[target]
    return k, h, o, y, float(loss)


def backward(params: dict, cache: dict) -> dict:
    """Gradients of the loss w.r.t. ``W, b, V, c`` (same keys and shapes as params).

    The lines mirror forward in reverse: softmax + cross-entropy give
    ``do_m = y_m - [m == target]``; each linear layer passes ``dW = input * dout``
    and sends ``sum_m dout_m * weight`` back; sigmoid multiplies by ``h (1 - h)``.
    """
    num_inputs, num_hiddens, num_classes = check_params(params)
    V = params["V"]
    try:
        x, h, y, target = cache["x"], cache["h"], cache["y"], cache["target"]
    except (KeyError, TypeError):
        raise TypeError("cache must be the dict that forward returned (keys x, k,"
                        f" h, o, y, target), got {type(cache).__name__}") from None
    x, h, y = (_cache_numbers(cache, key) for key in ("x", "h", "y"))
    if (len(x), len(h), len(y)) != (num_inputs, num_hiddens, num_classes):
        raise ValueError(
            f"cache holds {len(x)} inputs, {len(h)} hidden units and {len(y)}"
            f" classes but params have {num_inputs}, {num_hiddens} and"
            f" {num_classes}: pass the params that forward used")
    if isinstance(target, bool) or not isinstance(target, numbers.Integral) \
            or not 0 <= target < num_classes:
        raise ValueError(f"cache['target'] must be an int class id in"
                         f" [0, {num_classes}), got {target!r}")
    do = list(y)
    do[target] -= 1.0
    dV = [[h_j * do_m for do_m in do] for h_j in h]
    dc = do
    dh = [sum(V_j[m] * do[m] for m in range(len(do))) for V_j in V]
    dk = [dh_j * h_j * (1.0 - h_j) for dh_j, h_j in zip(dh, h)]
    dW = [[x_i * dk_j for dk_j in dk] for x_i in x]
    db = dk
    return {"W": dW, "b": db, "V": dV, "c": dc}


def sgd_step(params: dict, grads: dict, lr: float) -> None:
    """In place: ``p -= lr * dp`` for every weight and bias.

    Everything is checked before the first number changes (a half-applied
    step would be a corrupted network): ``lr``, the shapes of both dicts, that
    every gradient is a finite number and that every parameter can be updated
    in place as a float (lists, or float numpy arrays; not tuples or integer
    arrays).
    """
    lr = _check_lr(lr)
    shape = check_params(params)
    if _check_params(grads, "grads", finite=False) != shape:
        raise ValueError(f"grads have shapes {_shapes(grads)} but params have"
                         f" {_shapes(params)}; they must match")
    _check_updatable(params)
    if not _all_finite(grads[name] for name in PARAM_NAMES):
        raise _DivergedError("grads contain NaN or infinite values: training has"
                            " diverged; try a smaller learning rate")
    # the new values first: an update that overflows changes nothing
    new = {}
    for name in ("W", "V"):
        new[name] = [[p - lr * g for p, g in zip(row, grad_row)]
                     for row, grad_row in zip(params[name], grads[name])]
    for name in ("b", "c"):
        new[name] = [p - lr * g for p, g in zip(params[name], grads[name])]
    if not _all_finite(new[name] for name in PARAM_NAMES):
        raise _DivergedError(
            f"lr * grads overflowed: the parameters would become infinite (lr={lr:g});"
            " nothing was changed. Try a smaller learning rate")
    for name in ("W", "V"):
        for row, new_row in zip(params[name], new[name]):
            row[:] = new_row
    for name in ("b", "c"):
        params[name][:] = new[name]


def mean_loss(params: dict, X, labels) -> float:
    """Mean loss over a data set (no updates)."""
    return evaluate(params, X, labels)[0]


def evaluate(params: dict, X, labels):
    """Mean loss and accuracy ``(loss, acc)`` over a data set (no updates)."""
    num_inputs, _, num_classes = check_params(params)
    X, labels = _as_rows(X, labels, num_inputs, num_classes)
    return _evaluate(params, X, labels)


def _evaluate(params, X, labels):
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    total = 0.0
    correct = 0
    for x, t in zip(X, labels):
        _, _, o, _, loss = _forward(W, b, V, c, x, t)
        total += loss
        correct += o.index(max(o)) == t  # argmax; the first of ties, as numpy
    return total / len(X), correct / len(X)


def train(params: dict, train_data, *, lr, epochs=1, seed=0, val_data=None,
          progress=False, callback=None, copy=True) -> _History:
    """SGD one instance at a time, shuffling without replacement each epoch.

    The same signature as :func:`coursenet.train.sgd` (without a batch size):
    ``train(params, (X, labels), lr=..., epochs=..., seed=...,
    val_data=(Xv, labels_v))``.
    ``X`` is a sequence of feature rows (lists, or a numpy array) and ``labels`` the
    integer labels. ``params`` (lists, or float numpy arrays) is copied into
    lists first unless ``copy=False`` (then updated in place); the trained
    parameters are ``history.params``. ``seed`` is an int. ``callback(history)``
    is called after every step and every epoch's evaluation. A NaN or infinite
    loss or parameter raises :class:`~coursenet.history.DivergedError`. Returns
    a :class:`~coursenet.history.History` with ``batch_size=1``. ``progress``
    defaults to False here (an epoch of the small network takes well under a
    second, and notebooks check this function's printed output).
    """
    lr, epochs = _check_settings(lr, epochs, seed, copy, progress, callback)
    shape = check_params(params)
    X, labels = _pair(train_data, "train_data")
    X, labels = _as_rows(X, labels, shape[0], shape[2])
    if val_data is not None:
        X_val, y_val = _pair(val_data, "val_data")
        X_val, y_val = _as_rows(X_val, y_val, shape[0], shape[2])
    if not _all_finite(params[name] for name in PARAM_NAMES):
        raise ValueError("params contain NaN or infinite values")
    if copy:
        params = {name: [[float(v) for v in row] for row in params[name]]
                  if name in ("W", "V") else [float(v) for v in params[name]]
                  for name in PARAM_NAMES}
    else:
        _check_updatable(params)
    rng = random.Random(seed)
    order = list(range(len(X)))
    history = _History(lr=lr, batch_size=1, epochs=epochs, seed=seed,
                      steps_per_epoch=len(X), params=params)

    def shuffled():
        rng.shuffle(order)
        return order

    def step(n):
        return sgd_instance(params, X[n], labels[n], lr)

    def evaluate_all():
        loss, acc = _evaluate(params, X, labels)
        if val_data is None:
            return loss, acc, None, None
        return (loss, acc) + _evaluate(params, X_val, y_val)

    def nonfinite():
        return [name for name in PARAM_NAMES if not _all_finite(params[name])]

    return _run_epochs(history, shuffled, step, evaluate_all, nonfinite,
                      callback=callback,
                      bar=_progress(epochs * len(X)) if progress else None)


def _check_settings(lr, epochs, seed, copy, progress, callback):
    """:func:`train`'s settings, checked; returns ``(lr, epochs)``."""
    lr = _check_lr(lr)
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) \
            or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    _check_seed(seed)
    for flag, value in (("copy", copy), ("progress", progress)):
        if not isinstance(value, bool):
            raise TypeError(f"{flag} must be True or False, got {value!r}")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be a function called with the History"
                        f" (e.g. plots.LivePlot()), got {callback!r}")
    return lr, int(epochs)


def check_params(params, name="params"):
    """Check ``{W: D x H, b: H, V: H x C, c: C}`` of numbers; return ``(D, H, C)``.

    Lists of floats (or of ints) are the course's form; tuples and numpy arrays
    of the same shapes pass too. Every entry must be a finite real number (not
    a bool, NaN or infinite).
    """
    return _check_params(params, name, finite=True)


def _check_params(params, name, finite):
    if not isinstance(params, dict):
        raise TypeError(f"{name} must be a dict with keys {PARAM_NAMES}, got"
                        f" {type(params).__name__}")
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"{name} is missing {missing}; expected keys {PARAM_NAMES}")
    W, b, V, c = (params[k] for k in PARAM_NAMES)
    for key in PARAM_NAMES:
        value = params[key]
        rows = list(value) if key in ("W", "V") and _is_sequence(value) else []
        for part in [value, *rows]:
            if not _is_sequence(part):
                raise TypeError(
                    f"{name}[{key!r}] must be a list"
                    + (" of rows (lists of numbers)" if key in ("W", "V") else
                       " of numbers")
                    + f", got {'a row of type ' if part is not value else ''}"
                    f"{type(part).__name__}")
    try:
        D, H, C = len(W), len(b), len(c)
        widths_W = {len(row) for row in W}
        widths_V = {len(row) for row in V}
        rows_V = len(V)
    except TypeError:
        raise TypeError(f"{name}: W and V must be lists of rows, b and c lists of"
                        f" numbers; got {_shapes(params)}") from None
    if D == 0 or H == 0 or C == 0 or widths_W != {H} or rows_V != H \
            or widths_V != {C}:
        raise ValueError(
            f"{name} shapes do not fit together: got {_shapes(params)};"
            " expected W D x H, b H, V H x C, c C (H hidden units, C classes)")
    for key in PARAM_NAMES:
        rows = params[key] if key in ("W", "V") else [params[key]]
        for row in rows:
            for v in row:
                if isinstance(v, bool) or not isinstance(v, numbers.Real):
                    raise TypeError(f"{name}[{key!r}] must hold numbers, found"
                                    f" {v!r} ({type(v).__name__})")
                if finite and not _finite_number(v):
                    raise ValueError(f"{name}[{key!r}] contains NaN or infinite"
                                     f" values ({v!r})")
    return D, H, C


def _is_sequence(value):
    """A list or tuple, or a numpy array (read without importing numpy)."""
    return isinstance(value, (list, tuple)) or (
        hasattr(value, "dtype") and getattr(value, "ndim", 0) >= 1)


def _finite_number(v):
    try:
        return math.isfinite(v)
    except OverflowError:  # an int beyond float's range is finite
        return True


def _cache_numbers(cache, key):
    """``cache[key]`` as a list of finite floats, or an error naming it."""
    value = cache[key]
    if not _is_sequence(value):
        raise TypeError(f"cache[{key!r}] must be the list of numbers forward"
                        f" returned, got {type(value).__name__}")
    if any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in value):
        raise TypeError(f"cache[{key!r}] must hold numbers, got {value!r}")
    if not all(_finite_number(v) for v in value):
        raise ValueError(f"cache[{key!r}] contains NaN or infinite values: {value!r}")
    return value


def _check_updatable(params, name="params"):
    """Every row of W and V and the vectors b and c can take ``v -= ...`` in place
    as floats: lists, or float numpy arrays (no numpy import needed to tell)."""
    for key in PARAM_NAMES:
        value = params[key]
        parts = [value] if key in ("b", "c") else [value, *value]
        for part in parts:
            kind = getattr(getattr(part, "dtype", None), "kind", None)
            if kind is not None:
                if kind != "f" or not part.flags.writeable:
                    raise TypeError(
                        f"{name}[{key!r}] must be updatable in place as floats,"
                        f" got a {'read-only ' if kind == 'f' else ''}numpy array of"
                        f" dtype {part.dtype} (an int array would truncate the"
                        " update); use lists or float arrays")
            elif part is value or key in ("W", "V"):
                if not isinstance(part, list):
                    raise TypeError(
                        f"{name}[{key!r}] must be a list (updated in place), got a"
                        f" {type(part).__name__}: {part!r}")


def _shapes(params):
    out = {}
    for k in PARAM_NAMES:
        v = params.get(k) if isinstance(params, dict) else None
        try:
            widths = sorted({len(row) for row in v})
            out[k] = f"{len(v)} x {widths[0] if len(widths) == 1 else widths}"
        except TypeError:
            out[k] = str(len(v)) if hasattr(v, "__len__") else repr(v)
    return ", ".join(f"{k} {s}" for k, s in out.items())


def _pair(data, name):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (X, labels), got {type(data).__name__}"
                        + (f" of length {len(data)}" if hasattr(data, "__len__")
                           else ""))
    return data


def _as_row(x, name, num_inputs):
    if hasattr(x, "tolist"):  # numpy arrays, without importing numpy here
        x = x.tolist()
    if isinstance(x, (str, bytes)):  # float() would read its characters
        raise TypeError(f"{name} must be a sequence of {num_inputs} numbers, got"
                        f" {x!r}")
    if isinstance(x, (dict, set, frozenset)):  # its keys, in no meaningful order
        raise TypeError(f"{name} must be a sequence of {num_inputs} numbers, got a"
                        f" {type(x).__name__}: {x!r}")
    try:
        row = [float(v) for v in x]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of {num_inputs} numbers, got"
                        f" {x!r}") from None
    if len(row) != num_inputs:
        raise ValueError(f"{name} has {len(row)} features but W has {num_inputs}"
                         " rows")
    if not all(math.isfinite(v) for v in row):
        raise ValueError(f"{name} contains NaN or infinite values: {row}")
    return row


def _as_rows(X, labels, num_inputs, num_classes):
    if hasattr(X, "tolist"):  # numpy arrays, without importing numpy here
        X = X.tolist()
    if hasattr(labels, "tolist"):
        labels = labels.tolist()
    try:
        if isinstance(X, (str, bytes)) or any(isinstance(row, (str, bytes))
                                              for row in X):
            raise TypeError  # float() would read a string's characters
        X = [list(map(float, row)) for row in X]
    except (TypeError, ValueError):
        raise TypeError("X must be a sequence of rows of numbers (one row per"
                        " instance)") from None
    try:
        labels = [_check_target(t, num_classes, "labels") for t in labels]
    except TypeError:
        raise TypeError("labels must be a sequence of int class ids") from None
    if len(X) != len(labels):
        raise ValueError(f"X has {len(X)} rows but {len(labels)} labels")
    if not X:
        raise ValueError("X is empty: need at least one instance")
    for row in X:
        if len(row) != num_inputs:
            raise ValueError(f"X has rows of {len(row)} features but W has"
                             f" {num_inputs} rows")
    if not all(math.isfinite(v) for row in X for v in row):
        raise ValueError("X contains NaN or infinite values")
    return X, labels


def _check_target(target, num_classes, name="target"):
    """An int class id in ``[0, num_classes)``: Python or numpy ints, not bools."""
    if isinstance(target, bool) or not isinstance(target, numbers.Integral) \
            or not 0 <= target < num_classes:
        raise ValueError(f"{name} must be an int class id in [0, {num_classes}),"
                         f" got {target!r}")
    return int(target)


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if seed < 0:  # random.Random(-1) is random.Random(1)
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")


def _check_lr(lr):
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) \
            or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    return float(lr)


def _progress(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="scalar SGD", unit="inst")
