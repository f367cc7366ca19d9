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
import random

__all__ = ["course_params", "init_params", "forward", "backward", "sgd_step",
           "train", "sigmoid", "ScalarHistory", "sgd_instance",
           "mean_loss"]


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
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    x = [float(v) for v in x]
    if len(x) != len(W):
        raise ValueError(f"x has {len(x)} features but W has {len(W)} rows")
    _check_target(target, len(c))
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
    V = params["V"]
    x, h, y, target = cache["x"], cache["h"], cache["y"], cache["target"]
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
    _check_lr(lr)
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


class ScalarHistory(dict):
    """What :func:`train` returns: a dict with attribute access.

    Keys: ``instance_loss`` (one per update), ``epoch_train_loss`` and
    ``epoch_val_loss`` (mean loss over the whole set after each epoch; the
    epoch-0 entry is before training), ``params`` (the trained parameters).
    """

    __getattr__ = dict.__getitem__


def mean_loss(params: dict, X, y) -> float:
    """Mean loss over a data set (no updates)."""
    X, y = _as_rows(X, y, len(params["W"]), len(params["c"]))
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    total = 0.0
    for x, t in zip(X, y):
        total += _forward(W, b, V, c, x, t)[4]
    return total / len(X)


def train(params: dict, X, y, *, lr=0.01, epochs=1, seed=0, X_val=None, y_val=None,
          progress=False) -> ScalarHistory:
    """SGD one instance at a time, shuffling without replacement each epoch.

    ``X`` is a sequence of feature rows (lists, or a numpy array) and ``y`` the
    integer labels. ``params`` is updated in place (pass a copy to keep it).
    """
    _check_lr(lr)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    shape = (len(params["W"]), len(params["c"]))
    X, y = _as_rows(X, y, *shape)
    has_val = X_val is not None
    if has_val:
        X_val, y_val = _as_rows(X_val, y_val, *shape)
    rng = random.Random(seed)
    order = list(range(len(X)))
    history = ScalarHistory(instance_loss=[],
                            epoch_train_loss=[mean_loss(params, X, y)],
                            epoch_val_loss=[mean_loss(params, X_val, y_val)]
                            if has_val else [], params=params)
    bar = _progress(epochs * len(X)) if progress else None
    for _ in range(epochs):
        rng.shuffle(order)
        losses = history["instance_loss"]
        for n in order:
            losses.append(sgd_instance(params, X[n], y[n], lr))
        if bar is not None:
            bar.update(len(X))
        history["epoch_train_loss"].append(mean_loss(params, X, y))
        if has_val:
            history["epoch_val_loss"].append(mean_loss(params, X_val, y_val))
        if not math.isfinite(history["epoch_train_loss"][-1]):
            raise FloatingPointError(
                f"training diverged (loss is {history['epoch_train_loss'][-1]})"
                f" with lr={lr}: try a smaller learning rate")
    if bar is not None:
        bar.close()
    return history


def _as_rows(X, y, num_inputs, num_classes):
    if hasattr(X, "tolist"):  # numpy arrays, without importing numpy here
        X = X.tolist()
    if hasattr(y, "tolist"):
        y = y.tolist()
    X = [list(map(float, row)) for row in X]
    y = [int(t) for t in y]
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if not X:
        raise ValueError("X is empty: need at least one instance")
    for t in set(y):
        _check_target(t, num_classes)
    for row in X:
        if len(row) != num_inputs:
            raise ValueError(f"X has rows of {len(row)} features but W has"
                             f" {num_inputs} rows")
    return X, y


def _check_target(target, num_classes):
    if isinstance(target, bool) or not isinstance(target, int) \
            or not 0 <= target < num_classes:
        raise ValueError(f"target must be an int class id in [0, {num_classes}),"
                         f" got {target!r}")


def _check_lr(lr):
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) \
            or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")


def _progress(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="scalar SGD", unit="inst")
