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
           "train", "sigmoid", "softmax", "ScalarHistory"]


def sigmoid(x: float) -> float:
    """``1 / (1 + exp(-x))`` written so that ``exp`` never overflows."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def softmax(o: list[float]) -> list[float]:
    """Probabilities from logits; shifting by the max keeps ``exp`` finite."""
    top = max(o)
    exps = [math.exp(v - top) for v in o]
    total = sum(exps)
    return [e / total for e in exps]


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
    num_classes = len(c)
    if isinstance(target, bool) or not isinstance(target, int) \
            or not 0 <= target < num_classes:
        raise ValueError(f"target must be an int class id in [0, {num_classes}),"
                         f" got {target!r}")
    k = list(b)
    for i, x_i in enumerate(x):
        W_i = W[i]
        for j in range(len(k)):
            k[j] += x_i * W_i[j]
    h = [sigmoid(k_j) for k_j in k]
    o = list(c)
    for j, h_j in enumerate(h):
        V_j = V[j]
        for m in range(num_classes):
            o[m] += h_j * V_j[m]
    y = softmax(o)
    # log y_target from the shifted logits: finite even if y_target underflows
    top = max(o)
    loss = math.log(sum(math.exp(v - top) for v in o)) + top - o[target]
    return loss, {"x": x, "k": k, "h": h, "o": o, "y": y, "target": target}


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


class ScalarHistory(dict):
    """What :func:`train` returns: a dict with attribute access.

    Keys: ``instance_loss`` (one per update), ``epoch_train_loss`` and
    ``epoch_val_loss`` (mean loss over the whole set after each epoch; the
    epoch-0 entry is before training), ``params`` (the trained parameters).
    """

    __getattr__ = dict.__getitem__


def mean_loss(params: dict, X, y) -> float:
    """Mean loss over a data set (no updates)."""
    X, y = _as_rows(X, y)
    return sum(forward(params, x, t)[0] for x, t in zip(X, y)) / len(X)


def train(params: dict, X, y, *, lr=0.01, epochs=1, seed=0, X_val=None, y_val=None,
          progress=False) -> ScalarHistory:
    """SGD one instance at a time, shuffling without replacement each epoch.

    ``X`` is a sequence of feature rows (lists, or a numpy array) and ``y`` the
    integer labels. ``params`` is updated in place (pass a copy to keep it).
    """
    _check_lr(lr)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    X, y = _as_rows(X, y)
    has_val = X_val is not None
    if has_val:
        X_val, y_val = _as_rows(X_val, y_val)
    rng = random.Random(seed)
    order = list(range(len(X)))
    history = ScalarHistory(instance_loss=[],
                            epoch_train_loss=[mean_loss(params, X, y)],
                            epoch_val_loss=[mean_loss(params, X_val, y_val)]
                            if has_val else [], params=params)
    bar = _progress(epochs * len(X)) if progress else None
    for _ in range(epochs):
        rng.shuffle(order)
        for n in order:
            loss, cache = forward(params, X[n], y[n])
            sgd_step(params, backward(params, cache), lr)
            history["instance_loss"].append(loss)
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


def _as_rows(X, y):
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
    return X, y


def _check_lr(lr):
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) \
            or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")


def _progress(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="scalar SGD", unit="inst")
