"""Checks for notebook 04 (Q5): one instance's backward pass with numpy."""

from __future__ import annotations

from coursenet import mlp
from coursenet.exercises._core import (
    _call,
    _finite,
    _grads,
    _match,
    _name,
    _need_function,
    _run,
    _same,
)
from coursenet.exercises._networks import (
    _copy_params,
    _instance_cases,
    _network_fallback,
    _network_mistakes,
    _referee_network,
)

# --------------------------------------------------------------------------
# Q5: the backward pass of one instance, numpy
# --------------------------------------------------------------------------


def check_vector_backward(fn=None):
    """Q5: ``fn(params, x, c)`` returns the gradients of one instance's loss.

    ``params`` has float64 arrays ``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, C)``,
    ``b2 (C,)``; ``x`` is ``(D,)``, ``c`` an int. Returns a dict with the same
    keys and shapes.
    """

    def body():
        _need_function(fn, "check_vector_backward", "your backward function")
        who = _name(fn, "your function")
        cases = _instance_cases(seed=5)
        refs = [mlp.loss_and_grads(d["params"], d["X"], d["y"])[1] for _, d in cases]
        _referee_network(cases[1].data, refs[1])
        outs = []
        for i, ((text, d), ref) in enumerate(zip(cases, refs)):
            c = d["y"][0] if i % 2 else int(d["y"][0])  # np.int64 or int
            value = _call(fn, (_copy_params(d["params"]), d["X"][0].copy(), c),
                          who, text)
            outs.append(_grads(value, ref, f"what {who} returned"))
            _finite(outs[-1], f"what {who} returned", text)
        if all(_same(o, r) for o, r in zip(outs, refs)):
            return (f"✓ {who}: every gradient is right on the course's example and"
                    f" on {len(cases) - 1} random asymmetric networks")
        course_ok = _same(outs[0], refs[0])
        _match(outs, [d for _, d in cases], _network_mistakes(course_ok))
        _network_fallback(outs, refs, cases, list(mlp.PARAM_NAMES), course_ok)

    return _run(body)
