"""The plain-Python network: Q3's numbers, finite differences, agreement with mlp."""

import ast
import copy
import inspect
import math
import subprocess
import sys

import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import (
    gradcheck,
    history,
    mlp,
    scalar,
)
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


# --- bad input and the mutants older tests let live (filed here by module)


def scalar_params(**changes):
    p = scalar.course_params()
    p.update(changes)
    return p


def _grads():
    p = scalar.init_params(seed=3)
    return scalar.backward(p, scalar.forward(p, [0.5, -1.5], 1)[1])


def _readonly(values):
    a = np.array(values)
    a.flags.writeable = False
    return a


def _snapshot(params):
    return {k: np.array(v, dtype=float).tolist() for k, v in params.items()}


def _params(**changes):
    return {**scalar.course_params(), **changes}


def _cache(**changes):
    p = scalar.course_params()
    return {**scalar.forward(p, [1.0, 2.0], 0)[1], **changes}


CASES = [
    ("from_scalar b too short",
     lambda: mlp.from_scalar(scalar_params(b=[0.0, 0.0])),
     ValueError, ["shapes do not fit", "b 2"]),
    ("scalar.forward b shorter than W's columns",
     lambda: scalar.forward(scalar_params(b=[0.0, 0.0]), [1.0, 2.0], 0),
     ValueError, ["shapes do not fit", "b 2", "W 2 x 3"]),
    ("scalar.forward V with an extra row",
     lambda: scalar.forward(scalar_params(V=[[1.0, 1.0]] * 4), [1.0, 2.0], 0),
     ValueError, ["shapes do not fit", "V 4 x 2"]),
    ("scalar.forward NaN feature",
     lambda: scalar.forward(scalar.course_params(), [math.nan, 2.0], 0),
     ValueError, ["x", "NaN"]),
    ("scalar.forward target 1.0", lambda: scalar.forward(scalar.course_params(),
                                                         [1.0, 2.0], 1.0),
     ValueError, ["target", "int class id", "1.0"]),
    ("scalar.train float labels (int() truncated 0.7 to 0)",
     lambda: scalar.train(scalar.course_params(), ([[1.0, 2.0]], [0.7]), lr=0.1),
     ValueError, ["labels", "int class id", "0.7"]),
    ("scalar.train bool labels", lambda: scalar.train(scalar.course_params(),
                                                      ([[1.0, 2.0]], [True]), lr=0.1),
     ValueError, ["labels", "int class id", "True"]),
    ("scalar.train NaN feature",
     lambda: scalar.train(scalar.course_params(), ([[math.nan, 2.0]], [0]), lr=0.1),
     ValueError, ["X", "NaN"]),
    ("scalar.train flat X", lambda: scalar.train(scalar.course_params(),
                                                 ([1.0, 2.0], [0, 1]), lr=0.1),
     TypeError, ["X", "rows of numbers"]),
    ("scalar.train train_data not a pair",
     lambda: scalar.train(scalar.course_params(), [[1.0, 2.0]], lr=0.1),
     TypeError, ["train_data", "pair (X, labels)"]),
    ("scalar.sgd_step grads of another shape (zip truncated)",
     lambda: scalar.sgd_step(scalar.course_params(),
                             scalar.init_params(num_hiddens=2), 0.1),
     ValueError, ["grads have shapes", "W 2 x 2", "W 2 x 3"]),
    ("scalar.backward with another network's cache",
     lambda: scalar.backward(scalar.init_params(num_hiddens=4),
                             scalar.forward(scalar.course_params(), [1.0, 2.0], 0)[1]),
     ValueError, ["cache holds", "3 hidden units", "4"]),
    ("scalar.init_params std=nan", lambda: scalar.init_params(std=math.nan),
     ValueError, ["std", "> 0", "nan"]),
    ("compare the scalar network's gradient dicts",
     lambda: gradcheck.compare("grads", _grads(), _grads(), show=False),
     TypeError, ["analytic", "dict", "one array at a time", "'W'"]),
    ("scalar.train seed='abc'", lambda: scalar.train(
        scalar.course_params(), ([[1.0, 2.0]], [0]), lr=0.1, seed="abc"),
     TypeError, ["seed", "'abc'"]),
    ("scalar.train callback='plot'", lambda: scalar.train(
        scalar.course_params(), ([[1.0, 2.0]], [0]), lr=0.1, callback="plot"),
     TypeError, ["callback", "'plot'"]),
    ("scalar.sigmoid of a string", lambda: scalar.sigmoid("a"),
     TypeError, ["x", "number", "'a'"]),
    ("scalar.backward cache None",
     lambda: scalar.backward(scalar.course_params(), None),
     TypeError, ["cache", "forward returned", "NoneType"]),
    ("scalar.sgd_step NaN gradient", lambda: scalar.sgd_step(
        scalar.course_params(), {**_grads(), "c": [math.nan, 0.0]}, 0.1),
     history.DivergedError, ["grads", "NaN", "smaller learning rate"]),
    ("scalar.sgd_step read-only float array", lambda: scalar.sgd_step(
        {**scalar.course_params(), "b": _readonly([0.0, 0.0, 0.0])}, _grads(), 0.1),
     TypeError, ["params['b']", "read-only numpy array", "float64"]),
    ("scalar.sgd_step integer array", lambda: scalar.sgd_step(
        {**scalar.course_params(), "c": np.array([0, 0])}, _grads(), 0.1),
     TypeError, ["params['c']", "numpy array of dtype int64", "truncate"]),
    ("init_params seed=-1 (random.Random(-1) is seed 1)",
     lambda: scalar.init_params(seed=-1), ValueError, ["seed", ">= 0", "-1"]),
    ("train seed=-1", lambda: scalar.train(scalar.course_params(), ([[1, 2]], [0]),
                                           lr=0.1, seed=-1),
     ValueError, ["seed", ">= 0", "-1"]),
    ("init_params num_hiddens 10**12 (hung building lists)",
     lambda: scalar.init_params(num_hiddens=10**12),
     ValueError, ["num_hiddens", "too large", "plain-Python"]),
    ("forward x as a string (read as its digits)",
     lambda: scalar.forward(scalar.course_params(), "12", 0),
     TypeError, ["x", "'12'"]),
    ("evaluate X rows as strings", lambda: scalar.evaluate(scalar.course_params(),
                                                           ["12"], [0]),
     TypeError, ["X", "rows of numbers"]),
    ("forward NaN in W (a NaN loss)",
     lambda: scalar.forward(_params(W=[[math.nan, 1, 1], [1, 1, 1]]), [1, 2], 0),
     ValueError, ["params['W']", "NaN or infinite"]),
    ("check_params inf in c", lambda: scalar.check_params(_params(c=[math.inf, 0.0])),
     ValueError, ["params['c']", "NaN or infinite"]),
    ("check_params b as a dict (its keys were read as numbers)",
     lambda: scalar.check_params(_params(b={0: 1.0, 1: 2.0, 2: 3.0})),
     TypeError, ["params['b']", "dict"]),
    ("backward cache target 5 (IndexError)",
     lambda: scalar.backward(scalar.course_params(), _cache(target=5)),
     ValueError, ["cache['target']", "[0, 2)", "5"]),
    ("backward cache target -1 (silently the last class)",
     lambda: scalar.backward(scalar.course_params(), _cache(target=-1)),
     ValueError, ["cache['target']", "-1"]),
    ("backward cache x a string", lambda: scalar.backward(scalar.course_params(),
                                                          _cache(x="ab")),
     TypeError, ["cache['x']", "numbers"]),
    ("backward cache y a generator",
     lambda: scalar.backward(scalar.course_params(), _cache(y=(v for v in [.5, .5]))),
     TypeError, ["cache['y']", "generator"]),
    ("backward cache h NaN", lambda: scalar.backward(scalar.course_params(),
                                                     _cache(h=[math.nan, 0.5, 0.5])),
     ValueError, ["cache['h']", "NaN"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


@pytest.mark.parametrize("bad", ["tuple b", "tuple c", "tuple row of V",
                                 "integer numpy b", "integer numpy W",
                                 "string in c"])


def test_sgd_step_validates_every_parameter_before_updating_any(bad):
    params = scalar.init_params(seed=1)
    if bad == "tuple b":
        params["b"] = tuple(params["b"])
    elif bad == "tuple c":
        params["c"] = tuple(params["c"])
    elif bad == "tuple row of V":
        params["V"][2] = tuple(params["V"][2])
    elif bad == "integer numpy b":
        params["b"] = np.array([0, 0, 0])
    elif bad == "integer numpy W":
        params["W"] = np.array([[1, 2, 3], [4, 5, 6]])
    else:
        params["c"] = [0.0, "0"]
    before = _snapshot(params) if bad != "string in c" else None
    with pytest.raises((TypeError, ValueError)) as info:
        scalar.sgd_step(params, _grads(), 0.1)
    key = bad.split()[-1]
    assert f"params['{key}']" in str(info.value) or \
        f"params[{key!r}]" in str(info.value), str(info.value)
    if before is not None:
        assert _snapshot(params) == before  # nothing was half-updated


def test_sgd_step_refuses_bad_grads_before_updating():
    params = scalar.init_params(seed=1)
    before = _snapshot(params)
    grads = _grads()
    grads["c"] = [0.1, "x"]
    with pytest.raises(TypeError, match=r"grads\['c'\]"):
        scalar.sgd_step(params, grads, 0.1)
    assert _snapshot(params) == before


def test_sgd_step_updates_float_numpy_params_like_lists():
    lists = scalar.init_params(seed=2)
    arrays = {k: np.array(v) for k, v in lists.items()}
    grads = _grads()
    scalar.sgd_step(lists, grads, 0.3)
    scalar.sgd_step(arrays, grads, 0.3)
    for k in scalar.PARAM_NAMES:
        assert np.allclose(arrays[k], lists[k], rtol=0, atol=1e-15), k


def test_sgd_instance_does_not_overwrite_the_biases_with_activations():
    """``h = b[:]`` is a view of a numpy b: the forward pass wrote h into b."""
    params = scalar.init_params(seed=4)
    params["b"] = [0.3, -0.2, 0.1]
    params["c"] = [0.5, -0.5]
    arrays = {k: np.array(v) for k, v in params.items()}
    ref = scalar.init_params(seed=4)
    ref["b"], ref["c"] = [0.3, -0.2, 0.1], [0.5, -0.5]
    loss, cache = scalar.forward(ref, [1.0, -2.0], 1)
    scalar.sgd_step(ref, scalar.backward(ref, cache), 0.5)
    got = scalar.sgd_instance(arrays, [1.0, -2.0], 1, 0.5)
    assert got == pytest.approx(loss, rel=1e-12)
    for k in scalar.PARAM_NAMES:
        assert np.allclose(arrays[k], ref[k], rtol=1e-12, atol=1e-14), k


@pytest.mark.parametrize("copy", [True, False])
def test_scalar_train_accepts_the_numpy_params_check_params_accepts(copy):
    lists = scalar.init_params(seed=5)
    arrays = {k: np.array(v) for k, v in lists.items()}
    assert scalar.check_params(arrays) == scalar.check_params(lists)
    data = ([[1.0, 2.0], [-1.0, 0.5], [0.2, -0.3]], [0, 1, 1])
    a = scalar.train(lists, data, lr=0.2, epochs=2, copy=copy)
    b = scalar.train(arrays, data, lr=0.2, epochs=2, copy=copy)
    assert b.step_loss == pytest.approx(a.step_loss, rel=1e-12)
    for k in scalar.PARAM_NAMES:
        assert np.allclose(b.params[k], a.params[k], rtol=1e-12), k


def test_scalar_train_copy_false_refuses_integer_numpy_params():
    params = {k: np.array(v, dtype=int) for k, v in
              scalar.course_params().items()}
    with pytest.raises(TypeError, match=r"params\['W'\].*int"):
        scalar.train(params, ([[1.0, 2.0]], [0]), lr=0.1, copy=False)


def test_sigmoid_of_a_huge_int_saturates():
    assert scalar.sigmoid(10**400) == 1.0
    assert scalar.sigmoid(-10**400) == 0.0


def test_sgd_step_that_overflows_raises_and_leaves_params_untouched():
    params = scalar.course_params()
    before = {k: [list(r) if isinstance(r, list) else r for r in v]
              for k, v in params.items()}
    grads = scalar.backward(params, scalar.forward(params, [1.0, 2.0], 0)[1])
    grads["c"] = [1e10, -1e10]  # finite, and so is lr: lr * g overflows
    with pytest.raises(history.DivergedError, match="infinite"):
        scalar.sgd_step(params, grads, 1e308)
    assert params == before


def test_scalar_accuracy_is_the_argmax_accuracy():
    """Mutant: the plain-Python network's accuracy from argmin."""
    params = scalar.init_params(seed=3, std=2.0)
    params["c"] = [0.3, -0.1]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = rng.integers(0, 2, 200)
    net = mlp.from_scalar(params)
    expected = float((mlp.forward(net, X)[0].argmax(1) == y).mean())
    assert expected not in (0.5,)  # argmin would give 1 - expected
    loss, acc = scalar.evaluate(params, X, y)
    assert acc == pytest.approx(expected)
    assert acc == pytest.approx(mlp.accuracy(net, X, y))
    h = scalar.train(params, (X, y), lr=0.01, epochs=0)
    assert h.epoch_train_acc == [pytest.approx(expected)]


def test_history_finiteness_sees_nan_inside_nested_lists():
    """Mutant: all_finite ignoring nested lists (NaN in the scalar W unseen)."""
    assert history.all_finite([[1.0, 2.0], [3.0]])
    assert not history.all_finite([[1.0, math.nan]])
    assert not history.all_finite([[[1.0], [math.inf]]])
    assert not history.all_finite([1.0, -math.inf])
    assert not history.all_finite([np.array([[1.0, np.nan]])])
    params = scalar.course_params()
    params["W"][1][2] = math.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        scalar.train(params, ([[1.0, 2.0]], [0]), lr=0.1)


def test_scalar_train_stops_when_a_weight_becomes_nan_in_a_callback():
    """The end-of-epoch check looks inside W's rows too."""
    def poison(h):
        if h.step_loss:
            h.params["W"][0][1] = math.nan

    with pytest.raises(history.DivergedError, match="W"):
        scalar.train(scalar.course_params(), ([[1.0, 2.0]], [0]), lr=0.1,
                     callback=poison)
