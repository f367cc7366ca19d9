"""Fused twin of :func:`coursenet.scalar.forward` + ``backward`` + ``sgd_step``.

Pinned by ``tests/test_scalar.py::test_fused_sgd_instance_equals_forward_backward_step``
and the numpy-parameter tests beside it. The course reads the three
readable functions; this one does the same maths per instance for speed (plain
Python still: no numpy here either).

Why a second copy of the forward pass (the sigmoid and the log-sum-exp loss
are also :func:`coursenet.scalar._forward`'s): calling that forward from here
instead made a step 1.4 to 1.8x slower (79 against 45-57 us per instance,
5,000 instances x 5 epochs, best of 5, measured twice on a busy 2-core
machine), and notebook 03 waits on this loop.
"""

from __future__ import annotations

import math


def sgd_instance(params: dict, x, target: int, lr: float) -> float:
    """One SGD update on one instance, in place; returns the loss before it.

    The same maths as ``forward`` + ``backward`` + ``sgd_step``, fused: plain
    loops over the same lists, no intermediate gradient lists for the weights,
    and ``lr`` folded into the output gradient. (List comprehensions cost a
    function call each in CPython, so the hot loop avoids them.) It does not
    validate its input: :func:`coursenet.scalar.train` does, once per run.
    Works on lists and on float numpy arrays alike (it copies ``b`` and ``c``
    into new lists before writing: a slice of an array would be a view).
    """
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    exp = math.exp
    hidden = range(len(b))
    classes = range(len(c))
    h = list(b)  # k = x W + b, then h = sigmoid(k) in the same list
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
    o = list(c)  # o = h V + c
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
    dk = list(h)
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
    return float(loss)
