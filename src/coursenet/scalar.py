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
import time

from coursenet.history import DivergedError, History, all_finite

__all__ = ["course_params", "init_params", "forward", "backward", "sgd_step",
           "train", "sigmoid", "History", "ScalarHistory", "DivergedError",
           "sgd_instance", "mean_loss", "evaluate", "check_params"]

PARAM_NAMES = ("W", "b", "V", "c")


def sigmoid(x: float) -> float:
    """``1 / (1 + exp(-x))`` written so that ``exp`` never overflows."""
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
    """Weights drawn from N(0, std^2), biases zero; ``seed`` seeds a private RNG."""
    for name, value in (("num_inputs", num_inputs), ("num_hiddens", num_hiddens),
                        ("num_outputs", num_outputs)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
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
    which :func:`backward` uses and the notebooks print.
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
        h[j] = sigmoid(k[j])
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
    return k, h, o, y, loss


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
    if (len(x), len(h), len(y)) != (num_inputs, num_hiddens, num_classes):
        raise ValueError(
            f"cache holds {len(x)} inputs, {len(h)} hidden units and {len(y)}"
            f" classes but params have {num_inputs}, {num_hiddens} and"
            f" {num_classes}: pass the params that forward used")
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
    """In place: ``p -= lr * dp`` for every weight and bias."""
    lr = _check_lr(lr)
    shape = check_params(params)
    if check_params(grads, "grads") != shape:
        raise ValueError(f"grads have shapes {_shapes(grads)} but params have"
                         f" {_shapes(params)}; they must match")
    if not all_finite(grads[name] for name in PARAM_NAMES):
        raise DivergedError("grads contain NaN or infinite values: training has"
                            " diverged; try a smaller learning rate")
    for name in ("W", "V"):
        for row, grow in zip(params[name], grads[name]):
            for j, g in enumerate(grow):
                row[j] -= lr * g
    for name in ("b", "c"):
        vec = params[name]
        for j, g in enumerate(grads[name]):
            vec[j] -= lr * g


def sgd_instance(params: dict, x, target: int, lr: float) -> float:
    """One SGD update on one instance, in place; returns the loss before it.

    The same maths as ``forward`` + ``backward`` + ``sgd_step`` (a test checks
    it), fused for speed: plain loops over the same lists, no intermediate
    gradient lists for the weights, and ``lr`` folded into the output gradient.
    (List comprehensions cost a function call each in CPython, so the hot loop
    avoids them.) It does not validate its input: :func:`train` does.
    """
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    exp = math.exp
    hidden = range(len(b))
    classes = range(len(c))
    h = b[:]  # k = x W + b, then h = sigmoid(k) in the same list
    for x_i, W_i in zip(x, W):
        for j in hidden:
            h[j] += x_i * W_i[j]
    for j in hidden:
        k_j = h[j]
        if k_j >= 0:
            h[j] = 1.0 / (1.0 + exp(-k_j))
        else:
            e = exp(k_j)
            h[j] = e / (1.0 + e)
    o = c[:]  # o = h V + c
    for h_j, V_j in zip(h, V):
        for m in classes:
            o[m] += h_j * V_j[m]
    top = max(o)
    loss = top - o[target]
    total = 0.0
    for m in classes:  # o becomes exp(o - top)
        o[m] = exp(o[m] - top)
        total += o[m]
    loss += math.log(total)
    do = o  # then lr * (y - onehot): the output gradient, pre-scaled
    scale = lr / total
    for m in classes:
        do[m] *= scale
    do[target] -= lr
    dk = h[:]
    for j, V_j in enumerate(V):  # dh uses V before its update
        h_j = h[j]
        dh_j = 0.0
        for m in classes:
            dh_j += V_j[m] * do[m]
            V_j[m] -= h_j * do[m]
        dk[j] = dh_j * h_j * (1.0 - h_j)
    for m in classes:
        c[m] -= do[m]
    for x_i, W_i in zip(x, W):
        for j in hidden:
            W_i[j] -= x_i * dk[j]
    for j in hidden:
        b[j] -= dk[j]
    return loss


ScalarHistory = History  # the old name: the scalar network has the same History


def mean_loss(params: dict, X, y) -> float:
    """Mean loss over a data set (no updates)."""
    return evaluate(params, X, y)[0]


def evaluate(params: dict, X, y):
    """Mean loss and accuracy ``(loss, acc)`` over a data set (no updates)."""
    num_inputs, _, num_classes = check_params(params)
    X, y = _as_rows(X, y, num_inputs, num_classes)
    return _evaluate(params, X, y)


def _evaluate(params, X, y):
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    total = 0.0
    correct = 0
    for x, t in zip(X, y):
        _, _, o, _, loss = _forward(W, b, V, c, x, t)
        total += loss
        correct += o.index(max(o)) == t  # argmax; the first of ties, as numpy
    return total / len(X), correct / len(X)


def train(params: dict, train_data, y=None, *, lr, epochs=1, seed=0, val_data=None,
          progress=False, callback=None, copy=True, X_val=None,
          y_val=None) -> History:
    """SGD one instance at a time, shuffling without replacement each epoch.

    The same signature as :func:`coursenet.train.sgd` (without a batch size):
    ``train(params, (X, y), lr=..., epochs=..., seed=..., val_data=(Xv, yv))``.
    ``X`` is a sequence of feature rows (lists, or a numpy array) and ``y`` the
    integer labels. ``params`` is copied first unless ``copy=False`` (then
    updated in place); the trained parameters are ``history.params``.
    ``callback(history)`` is called after every step and every epoch's
    evaluation. A NaN or infinite loss or parameter raises
    :class:`DivergedError`. Returns a :class:`History` with ``batch_size=1``.
    ``progress`` defaults to False here (an epoch of the small network takes
    well under a second, and notebooks check this function's printed output).

    The older form ``train(params, X, y, X_val=..., y_val=...)`` still works.
    """
    lr = _check_lr(lr)
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) \
            or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    epochs = int(epochs)
    if not isinstance(copy, bool):
        raise TypeError(f"copy must be True or False, got {copy!r}")
    shape = check_params(params)
    X, y = _pair(train_data, y, "train_data")
    X, y = _as_rows(X, y, shape[0], shape[2])
    if X_val is not None or y_val is not None:
        if val_data is not None:
            raise TypeError("give val_data=(X, y) or X_val/y_val, not both")
        val_data = (X_val, y_val)
    has_val = val_data is not None
    if has_val:
        X_val, y_val = _pair(val_data, None, "val_data")
        X_val, y_val = _as_rows(X_val, y_val, shape[0], shape[2])
    if not all_finite(params[name] for name in PARAM_NAMES):
        raise ValueError("params contain NaN or infinite values")
    if copy:
        params = {name: [list(row) for row in params[name]] if name in ("W", "V")
                  else list(params[name]) for name in PARAM_NAMES}
    rng = random.Random(seed)
    order = list(range(len(X)))
    history = History(lr=lr, batch_size=1, epochs=epochs, seed=seed,
                      steps_per_epoch=len(X), params=params)
    start = time.perf_counter()

    def record_epoch(epoch):
        if not all_finite(params[name] for name in PARAM_NAMES):
            raise DivergedError(
                f"training diverged: a parameter became NaN or infinite by the end"
                f" of epoch {epoch} with lr={lr:g}; try a smaller learning rate")
        loss, acc = _evaluate(params, X, y)
        history.epoch_train_loss.append(loss)
        history.epoch_train_acc.append(acc)
        if has_val:
            loss, acc = _evaluate(params, X_val, y_val)
            history.epoch_val_loss.append(loss)
            history.epoch_val_acc.append(acc)
        if callback is not None:
            callback(history)

    bar = _progress(epochs * len(X)) if progress else None
    try:
        record_epoch(0)
        losses = history.step_loss
        isfinite = math.isfinite
        for epoch in range(epochs):
            rng.shuffle(order)
            for n in order:
                loss = sgd_instance(params, X[n], y[n], lr)
                if not isfinite(loss):
                    raise DivergedError(
                        f"training diverged: the loss became {loss} at epoch"
                        f" {epoch + 1}, step {len(losses)} with lr={lr:g}; try a"
                        " smaller learning rate")
                losses.append(loss)
                if callback is not None:
                    callback(history)
            if bar is not None:
                bar.update(len(X))
            record_epoch(epoch + 1)
    finally:
        if bar is not None:
            bar.close()
    history.seconds = time.perf_counter() - start
    return history


def check_params(params, name="params"):
    """Check ``{W: D x H, b: H, V: H x C, c: C}`` of numbers; return ``(D, H, C)``."""
    if not isinstance(params, dict):
        raise TypeError(f"{name} must be a dict with keys {PARAM_NAMES}, got"
                        f" {type(params).__name__}")
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"{name} is missing {missing}; expected keys {PARAM_NAMES}")
    W, b, V, c = (params[k] for k in PARAM_NAMES)
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
    return D, H, C


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


def _pair(data, y, name):
    if y is not None:
        return data, y
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (X, y), got {type(data).__name__}"
                        + (f" of length {len(data)}" if hasattr(data, "__len__")
                           else ""))
    return data


def _as_row(x, name, num_inputs):
    if hasattr(x, "tolist"):  # numpy arrays, without importing numpy here
        x = x.tolist()
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


def _as_rows(X, y, num_inputs, num_classes):
    if hasattr(X, "tolist"):  # numpy arrays, without importing numpy here
        X = X.tolist()
    if hasattr(y, "tolist"):
        y = y.tolist()
    try:
        X = [list(map(float, row)) for row in X]
    except (TypeError, ValueError):
        raise TypeError("X must be a sequence of rows of numbers (one row per"
                        " instance)") from None
    try:
        y = [_check_target(t, num_classes, "y") for t in y]
    except TypeError:
        raise TypeError("y must be a sequence of int class ids") from None
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if not X:
        raise ValueError("X is empty: need at least one instance")
    for row in X:
        if len(row) != num_inputs:
            raise ValueError(f"X has rows of {len(row)} features but W has"
                             f" {num_inputs} rows")
    if not all(math.isfinite(v) for row in X for v in row):
        raise ValueError("X contains NaN or infinite values")
    return X, y


def _check_target(target, num_classes, name="target"):
    """An int class id in ``[0, num_classes)``: Python or numpy ints, not bools."""
    if isinstance(target, bool) or not isinstance(target, numbers.Integral) \
            or not 0 <= target < num_classes:
        raise ValueError(f"{name} must be an int class id in [0, {num_classes}),"
                         f" got {target!r}")
    return int(target)


def _check_lr(lr):
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) \
            or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    return float(lr)


def _progress(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="scalar SGD", unit="inst")
