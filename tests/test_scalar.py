"""The plain-Python network: Q3's numbers, finite differences, agreement with mlp."""

import ast
import copy
import inspect
import math
import subprocess
import sys

import numpy as np
import pytest

from coursenet import mlp, scalar
from coursenet.data import load_synth
from coursenet.gradcheck import numerical_gradient, rel_error


def test_scalar_module_imports_no_numpy():
    from coursenet import _fast_scalar, history

    for module in (scalar, history, _fast_scalar):
        tree = ast.parse(inspect.getsource(module))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
        assert "numpy" not in {m.split(".")[0] for m in imported}
        assert imported <= {"__future__", "math", "numbers", "random", "time",
                            "tqdm.auto", "dataclasses", "coursenet.history",
                            "coursenet._fast_scalar"}
    # and for real: importing it (and training) loads no numpy
    code = ("import sys; from coursenet import scalar;"
            " scalar.train(scalar.course_params(), ([[1.0, 2.0]], [0]), lr=0.1,"
            " progress=False); print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "False"


def test_q3_forward_matches_the_expected_values():
    loss, cache = scalar.forward(scalar.course_params(), [1.0, -1.0], 0)
    s2 = 1 / (1 + math.exp(-2))  # independent closed form of sigmoid(2)
    assert cache["k"] == pytest.approx([2, 2, 2], abs=1e-12)
    assert cache["h"] == pytest.approx([0.8808] * 3, abs=1e-4)
    assert cache["h"] == pytest.approx([s2] * 3, abs=1e-12)
    assert cache["o"] == pytest.approx([-0.8808] * 2, abs=1e-4)
    assert cache["y"] == pytest.approx([0.5, 0.5], abs=1e-12)
    assert loss == pytest.approx(0.6931, abs=1e-4)
    assert loss == pytest.approx(math.log(2), abs=1e-12)


def test_q3_backward_matches_the_expected_values():
    params = scalar.course_params()
    _, cache = scalar.forward(params, [1.0, -1.0], 0)
    grads = scalar.backward(params, cache)
    assert set(grads) == set(params)
    assert np.allclose(grads["W"], [[0, 0, 0], [0, 0, 0]], atol=1e-4)
    assert np.allclose(grads["b"], [0, 0, 0], atol=1e-4)
    assert np.allclose(grads["V"], [[-0.4404, 0.4404]] * 3, atol=1e-4)
    assert np.allclose(grads["c"], [-0.5, 0.5], atol=1e-4)


def _loss_of_flat(params, name, x, target):
    """f(theta) for finite differences: theta is params[name] as a float64 array."""

    def f(theta):
        p = copy.deepcopy(params)
        p[name] = theta.tolist()
        return scalar.forward(p, x, target)[0]

    return f


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_asymmetric_network_gradients_equal_finite_differences(seed):
    params = scalar.init_params(seed=seed)
    params["b"] = [0.1, -0.2, 0.3]
    params["c"] = [0.05, -0.4]
    x, target = [0.7, -1.3], 1
    _, cache = scalar.forward(params, x, target)
    grads = scalar.backward(params, cache)
    for name in params:
        theta = np.array(params[name], dtype=np.float64)
        num = numerical_gradient(_loss_of_flat(params, name, x, target), theta)
        assert rel_error(grads[name], num) < 1e-7, name
        assert np.abs(num).max() > 1e-6, f"{name}: test too weak, gradient ~ 0"


def test_scalar_gradients_equal_mlp_gradients_on_the_same_weights():
    params = scalar.init_params(seed=5)
    params["b"] = [0.2, -0.1, 0.0]
    params["c"] = [-0.3, 0.3]
    x, target = [-0.4, 1.1], 0
    _, cache = scalar.forward(params, x, target)
    grads = scalar.backward(params, cache)
    np_params = mlp.from_scalar(params)
    loss, np_grads = mlp.loss_and_grads(np_params, np.array([x]), np.array([target]))
    assert loss == pytest.approx(scalar.forward(params, x, target)[0], rel=1e-12)
    for s_name, m_name in (("W", "W1"), ("b", "b1"), ("V", "W2"), ("c", "b2")):
        assert np.allclose(grads[s_name], np_grads[m_name], rtol=1e-10, atol=1e-14)


def test_sgd_step_moves_against_the_gradient():
    params = scalar.init_params(seed=3)
    before = copy.deepcopy(params)
    _, cache = scalar.forward(params, [1.0, 2.0], 1)
    grads = scalar.backward(params, cache)
    scalar.sgd_step(params, grads, lr=0.1)
    for name in params:
        assert np.allclose(np.array(params[name]),
                           np.array(before[name]) - 0.1 * np.array(grads[name]))


def test_train_lowers_the_loss_and_is_reproducible():
    (xtr, ytr), (xval, yval), _ = load_synth(num_train=2000, num_val=500)
    runs = []
    for _ in range(2):
        params = scalar.init_params(seed=1)
        runs.append(scalar.train(params, (xtr, ytr), lr=0.05, epochs=3, seed=7,
                                 val_data=(xval, yval)))
    h = runs[0]
    assert len(h.step_loss) == 3 * 2000
    assert len(h.epoch_train_loss) == len(h.epoch_val_loss) == 4
    assert h.epoch_train_loss[-1] < 0.8 * h.epoch_train_loss[0]
    assert h.epoch_val_loss[-1] < 0.8 * h.epoch_val_loss[0]
    assert runs[0].step_loss == runs[1].step_loss
    assert runs[0].params == runs[1].params


def test_large_logits_give_a_finite_loss():
    params = {"W": [[0.0]], "b": [0.0], "V": [[0.0, 0.0]], "c": [0.0, 1000.0]}
    loss, cache = scalar.forward(params, [1.0], 0)
    assert loss == pytest.approx(1000.0)
    assert scalar.sigmoid(-1000.0) == 0.0 and scalar.sigmoid(1000.0) == 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"x": [1.0], "target": 0}, "x has 1 features"),
    ({"x": [1.0, 2.0], "target": 2}, "target must be"),
    ({"x": [1.0, 2.0], "target": -1}, "target must be"),
])
def test_forward_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        scalar.forward(scalar.course_params(), **kwargs)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), "0.1"])
def test_bad_learning_rates_are_rejected(lr):
    params = scalar.course_params()
    with pytest.raises(ValueError, match="lr must be"):
        scalar.train(params, ([[1.0, 2.0]], [0]), lr=lr)


def test_train_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="1 rows but 2 labels"):
        scalar.train(scalar.course_params(), ([[1.0, 2.0]], [0, 1]), lr=0.1)


def test_fused_sgd_instance_equals_forward_backward_step():
    fused = scalar.init_params(seed=4, num_inputs=3, num_hiddens=4, num_outputs=3)
    fused["b"] = [0.1, -0.3, 0.2, 0.0]
    staged = copy.deepcopy(fused)
    rows = [([0.5, -1.0, 2.0], 2), ([-0.3, 0.8, 0.1], 0), ([40.0, -60.0, 5.0], 1)]
    for x, t in rows * 3:
        loss, cache = scalar.forward(staged, x, t)
        scalar.sgd_step(staged, scalar.backward(staged, cache), 0.3)
        assert scalar.sgd_instance(fused, x, t, 0.3) == pytest.approx(loss, rel=1e-12)
    for name in fused:
        assert np.allclose(fused[name], staged[name], rtol=1e-12, atol=1e-15), name


def test_mean_loss_is_the_mean_of_forward_losses():
    params = scalar.init_params(seed=2)
    (X, y), _, _ = load_synth(num_train=50, num_val=0)
    losses = [scalar.forward(params, row, int(t))[0] for row, t in zip(X, y)]
    assert scalar.mean_loss(params, X, y) == pytest.approx(np.mean(losses), rel=1e-12)


def test_train_rejects_out_of_range_labels_and_wrong_widths():
    with pytest.raises(ValueError, match="labels must be an int class id"):
        scalar.train(scalar.course_params(), ([[1.0, 2.0]], [2]), lr=0.1)
    with pytest.raises(ValueError, match="rows of 3 features"):
        scalar.train(scalar.course_params(), ([[1.0, 2.0, 3.0]], [0]), lr=0.1)


@pytest.mark.parametrize("x", [{0: 1.0, 1: 2.0}, {"a": 1.0, "b": 2.0}, {1.0, 2.0}])
def test_forward_refuses_a_dict_or_set_as_x(x):
    """A dict's keys were read as the features (an unordered set's too)."""
    with pytest.raises(TypeError, match=r"x must be a sequence of 2 numbers, got a"
                       r" (dict|set)"):
        scalar.forward(scalar.course_params(), x, 0)
