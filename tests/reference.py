"""The straightforward SGD the fast training loop is pinned to, and the small
seeded problems it is run on (shared by tests)."""

import numpy as np

from coursenet import mlp


def reference_sgd_steps(params, X, y, lr, batches):
    """``mlp.loss_and_grads`` then ``p -= lr * g`` in float64, one batch of row
    indices at a time; returns the final parameters and the loss of every step."""
    params = {k: v.astype(np.float64) for k, v in params.items()}
    losses = []
    for idx in batches:
        loss, grads = mlp.loss_and_grads(params, X[idx].astype(np.float64), y[idx])
        losses.append(loss)
        for k in params:
            params[k] -= lr * grads[k]
    return params, losses


def batches_of(order, batch_size):
    """Consecutive batches of ``batch_size`` indices; the last may be short."""
    return [order[s:s + batch_size] for s in range(0, len(order), batch_size)]


def problem(n=7, d=5, h=4, c=3, seed=0, dtype=np.float64, x_scale=1.0, w2_scale=1.0):
    """Seeded parameters (biases made non-zero), X (n, d) and labels (n,) in
    [0, c): ``x_scale`` scales X, ``w2_scale`` W2 (large logits)."""
    rng = np.random.default_rng(seed)
    params = mlp.init_mlp(d, h, c, seed=seed, dtype=dtype)
    params["b1"] += rng.normal(size=h).astype(dtype)
    params["b2"] += rng.normal(size=c).astype(dtype)
    params["W2"] *= dtype(w2_scale)
    X = (rng.normal(size=(n, d)) * x_scale).astype(dtype)
    y = rng.integers(0, c, size=n)
    return params, X, y
