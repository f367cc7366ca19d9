"""The straightforward SGD the fast training loop is pinned to (shared by tests)."""

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
