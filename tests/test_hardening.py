"""Issue 17's cases in the package's own modules: each was silent, wrong or an
error that named nothing. Written before the fixes (each failed first).

Corrupted parameters, silently wrong results, raw errors. Bad-input rows use the
same form as ``test_bad_input.py``: the call, the exception, words the message
must contain.
"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from bad_input import assert_clear_error  # noqa: E402

from coursenet import (  # noqa: E402
    gradcheck,
    history,
    layers,
    losses,
    mlp,
    plots,
    scalar,
    train,
    widgets,
)

RNG = np.random.default_rng(0)
X32 = RNG.random((12, 6)).astype(np.float32)
Y = RNG.integers(0, 3, 12)
P32 = mlp.init_mlp(6, 4, 3, seed=0)


def _grads():
    p = scalar.init_params(seed=3)
    return scalar.backward(p, scalar.forward(p, [0.5, -1.5], 1)[1])


def _snapshot(params):
    return {k: np.array(v, dtype=float).tolist() for k, v in params.items()}


# --- parameters corrupted without an error ---------------------------------

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


# --- silently wrong results ----------------------------------------------

def test_smooth_is_a_windowed_mean_not_a_running_sum():
    values = [1.0, math.nan, 1.0, 1.0, 1.0, 1.0]
    out = plots.smooth(values, 2)
    assert np.isnan(out[1]) and np.isnan(out[2])  # the windows holding the NaN
    assert out[0] == 1.0 and out[3:].tolist() == [1.0, 1.0, 1.0]
    spike = plots.smooth([1e16, 1.0, 1.0, 1.0], 2)
    assert spike[2:].tolist() == [1.0, 1.0]  # not 0.0 after the spike leaves
    rng = np.random.default_rng(0)
    long = rng.normal(size=1000) + 1e8
    expected = [long[max(0, i - 49):i + 1].mean() for i in range(1000)]
    assert np.allclose(plots.smooth(long, 50), expected, rtol=1e-15, atol=1e-7)


def test_scatter_classes_draws_every_class():
    X = RNG.normal(size=(30, 2))
    y = np.arange(30) % 3
    ax = plots.scatter_classes(X, y)
    offsets = [c.get_offsets() for c in ax.collections]
    assert len(offsets) == 3
    assert sorted(len(o) for o in offsets) == [10, 10, 10]
    for cls, o in enumerate(offsets):
        assert np.allclose(o, X[y == cls])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == \
        ["class 0", "class 1", "class 2"]
    plt.close("all")


def _lr_explorer(**kwargs):
    X = RNG.random((40, 784)).astype(np.float32)
    y = RNG.integers(0, 10, 40)
    return widgets.learning_rate_explorer((X, y), (X[:10], y[:10]), num_hiddens=5,
                                          **kwargs)


RAISES = [
    ("lr explorer lr=100 (was clamped to 10)", lambda: _lr_explorer(lr=100.0),
     ValueError, ["lr", "100", "[0.001, 10]"]),
    ("lr explorer lr=-1 (was clamped to 0.001)", lambda: _lr_explorer(lr=-1.0),
     ValueError, ["lr", "-1"]),
    ("lr explorer subset=-1 (trained on X[:-1])", lambda: _lr_explorer(subset=-1),
     ValueError, ["subset", "-1", "> 0"]),
    ("lr explorer subset=2.5", lambda: _lr_explorer(subset=2.5),
     TypeError, ["subset", "2.5"]),
    ("lr explorer batch size not in its list", lambda: _lr_explorer(batch_size=48),
     ValueError, ["batch_size", "48", "(16, 32, 64, 128)"]),
    ("lr explorer epochs not in its list", lambda: _lr_explorer(epochs=4),
     ValueError, ["epochs", "4", "(1, 2, 3, 5)"]),
    ("scalar explorer lr=5", lambda: widgets.scalar_explorer(
        RNG.normal(size=(20, 2)), np.arange(20) % 2, lr=5.0),
     ValueError, ["lr", "5", "[0.001, 3]"]),
    ("scalar explorer subset=0", lambda: widgets.scalar_explorer(
        RNG.normal(size=(20, 2)), np.arange(20) % 2, subset=0),
     ValueError, ["subset", "0"]),
    ("scalar explorer epochs not in its list", lambda: widgets.scalar_explorer(
        RNG.normal(size=(20, 2)), np.arange(20) % 2, epochs=7),
     ValueError, ["epochs", "7"]),
    # --- raw errors that named nothing
    ("decision_boundary prob_fn not callable",
     lambda: plots.decision_boundary(3, np.zeros((5, 2)), np.zeros(5, int)),
     TypeError, ["prob_fn", "int"]),
    ("decision_boundary prob_fn returns (M, 2)",
     lambda: plots.decision_boundary(lambda g: g, RNG.normal(size=(5, 2)),
                                     np.zeros(5, int), resolution=10),
     ValueError, ["prob_fn", "(100,)", "(100, 2)"]),
    ("decision_boundary empty X",
     lambda: plots.decision_boundary(lambda g: g[:, 0], np.zeros((0, 2)),
                                     np.zeros(0, int)),
     ValueError, ["X", "empty"]),
    ("decision_boundary resolution=1",
     lambda: plots.decision_boundary(lambda g: g[:, 0], np.zeros((3, 2)),
                                     np.zeros(3, int), resolution=1),
     ValueError, ["resolution", "1"]),
    ("digit_grid labels shorter than images",
     lambda: plots.digit_grid(np.zeros((3, 784)), labels=[1]),
     ValueError, ["labels", "1", "3 images"]),
    ("digit_grid ncols=0", lambda: plots.digit_grid(np.zeros((3, 784)), ncols=0),
     ValueError, ["ncols", "0"]),
    ("digit_grid string pixels",
     lambda: plots.digit_grid(np.array([["a"] * 784])),
     TypeError, ["images", "numbers", "<U1"]),
    ("digit_grid no images", lambda: plots.digit_grid(np.zeros((0, 784))),
     ValueError, ["images", "no images", "(0, 784)"]),
    ("mean_std_band ragged curves", lambda: plots.mean_std_band([[1, 2], [1]]),
     ValueError, ["curves", "equal length", "[2, 1]"]),
    ("mean_std_band a number", lambda: plots.mean_std_band(5),
     TypeError, ["curves", "int"]),
    ("mean_std_band window=0", lambda: plots.mean_std_band([[1, 2], [1, 3]],
                                                           window=0),
     ValueError, ["window", "0"]),
    ("epoch_curves metric='accuracy'",
     lambda: plots.epoch_curves(_history(), metric="accuracy"),
     ValueError, ["metric", "'accuracy'", "'loss'", "'acc'"]),
    ("epoch_curves of a dict", lambda: plots.epoch_curves({}),
     TypeError, ["history", "History", "dict"]),
    ("plot_confusion_matrix 1-D", lambda: plots.plot_confusion_matrix([1, 2, 3]),
     ValueError, ["cm", "square", "(3,)"]),
    ("plot_confusion_matrix strings",
     lambda: plots.plot_confusion_matrix([["a"]]),
     TypeError, ["cm", "counts", "<U1"]),
    ("plot_confusion_matrix empty",
     lambda: plots.plot_confusion_matrix(np.zeros((0, 0), int)),
     ValueError, ["cm", "(0, 0)"]),
    ("compare the scalar network's gradient dicts",
     lambda: gradcheck.compare("grads", _grads(), _grads(), show=False),
     TypeError, ["analytic", "dict", "one array at a time", "'W'"]),
    ("compare ragged lists",
     lambda: gradcheck.compare("g", [[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0]],
                               show=False),
     ValueError, ["analytic", "ragged", "rows of different lengths"]),
    ("compare strings", lambda: gradcheck.compare("g", ["a"], [1.0], show=False),
     TypeError, ["analytic", "numbers"]),
    ("sgd seed='abc'", lambda: train.sgd(P32, (X32, Y), lr=0.1, seed="abc",
                                        progress=False),
     TypeError, ["seed", "'abc'", "Generator"]),
    ("sgd seed=-1", lambda: train.sgd(P32, (X32, Y), lr=0.1, seed=-1,
                                     progress=False),
     ValueError, ["seed", "-1"]),
    ("sgd callback='plot'", lambda: train.sgd(P32, (X32, Y), lr=0.1,
                                             callback="plot", progress=False),
     TypeError, ["callback", "'plot'", "function"]),
    ("sgd progress='yes'", lambda: train.sgd(P32, (X32, Y), lr=0.1,
                                            progress="yes"),
     TypeError, ["progress", "True or False"]),
    ("scalar.train seed='abc'", lambda: scalar.train(
        scalar.course_params(), ([[1.0, 2.0]], [0]), lr=0.1, seed="abc"),
     TypeError, ["seed", "'abc'"]),
    ("scalar.train callback='plot'", lambda: scalar.train(
        scalar.course_params(), ([[1.0, 2.0]], [0]), lr=0.1, callback="plot"),
     TypeError, ["callback", "'plot'"]),
    ("mlp.accuracy params missing W2",
     lambda: mlp.accuracy({"W1": P32["W1"]}, X32, Y),
     ValueError, ["params", "missing", "W2"]),
]


def _history():
    return train.sgd(P32, (X32, Y), lr=0.1, epochs=1, progress=False)


@pytest.mark.parametrize("name, call, error, words", RAISES,
                         ids=[c[0] for c in RAISES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


# --- the sweep: every public function's arguments (cases found by probing) --

P64 = mlp.init_mlp(4, 3, 2, dtype=np.float64)
X64 = RNG.random((6, 4))
Y2 = RNG.integers(0, 2, 6)


def _tiny_history():
    return train.sgd(mlp.init_mlp(4, 3, 2), (X64.astype(np.float32), Y2), lr=0.1,
                     epochs=1, progress=False)


SWEEP = [
    ("linear_backward cache None", lambda: layers.linear_backward(np.ones((6, 3)),
                                                                  None),
     TypeError, ["cache", "linear_forward", "NoneType"]),
    ("linear_backward cache of 3", lambda: layers.linear_backward(
        np.ones((6, 3)), (X64, np.ones((4, 3)), np.zeros(3))),
     TypeError, ["cache", "(X, W)"]),
    ("sigmoid_backward cache None", lambda: layers.sigmoid_backward(np.ones(3), None),
     TypeError, ["cache", "sigmoid_forward"]),
    ("mlp.backward cache None", lambda: mlp.backward(np.ones((6, 2)), None),
     TypeError, ["cache", "mlp.forward"]),
    ("layers.sigmoid of a string", lambda: layers.sigmoid("a"),
     TypeError, ["x", "numbers", "<U1"]),
    ("layers.sigmoid of None", lambda: layers.sigmoid(None),
     TypeError, ["x", "numbers"]),
    ("scalar.sigmoid of a string", lambda: scalar.sigmoid("a"),
     TypeError, ["x", "number", "'a'"]),
    ("cross_entropy_backward probs > 1",
     lambda: losses.cross_entropy_backward(np.full((1, 2), 2.0), [0]),
     ValueError, ["probs", "[0, 1]"]),
    ("cross_entropy_backward probs < 0",
     lambda: losses.cross_entropy_backward(np.full((1, 2), -0.5), [0]),
     ValueError, ["probs", "[0, 1]"]),
    ("init_mlp seed='abc'", lambda: mlp.init_mlp(4, 3, 2, seed="abc"),
     TypeError, ["seed", "'abc'", "Generator"]),
    ("init_mlp seed=-1", lambda: mlp.init_mlp(4, 3, 2, seed=-1),
     ValueError, ["seed", "-1"]),
    ("init_mlp seed=1.5", lambda: mlp.init_mlp(4, 3, 2, seed=1.5),
     TypeError, ["seed", "1.5"]),
    ("init_mlp dtype='bogus'", lambda: mlp.init_mlp(4, 3, 2, dtype="bogus"),
     TypeError, ["dtype", "'bogus'"]),
    ("mlp.check_params training='yes'",
     lambda: mlp.check_params(P64, training="yes"),
     TypeError, ["training", "True or False"]),
    ("rel_error of dicts", lambda: gradcheck.rel_error({"a": 1}, {"a": 1}),
     TypeError, ["a", "dict", "one array at a time"]),
    ("rel_error ragged", lambda: gradcheck.rel_error([[1], [1, 2]], [[1], [1, 2]]),
     ValueError, ["ragged"]),
    ("rel_error floor=0 (0/0)", lambda: gradcheck.rel_error([0.0], [0.0], floor=0),
     ValueError, ["floor", "> 0", "0"]),
    ("numerical_vjp f not callable",
     lambda: gradcheck.numerical_vjp(3, np.zeros(3), np.ones(3)),
     TypeError, ["f", "function", "int"]),
    ("numerical_gradient f returns a string",
     lambda: gradcheck.numerical_gradient(lambda z: "a", np.zeros(3)),
     TypeError, ["f", "number", "'a'"]),
    ("compare rtol=-1", lambda: gradcheck.compare("g", [1.0], [1.0], rtol=-1,
                                                  show=False),
     ValueError, ["rtol", ">= 0", "-1"]),
    ("compare show='no'", lambda: gradcheck.compare("g", [1.0], [1.0], show="no"),
     TypeError, ["show", "True or False"]),
    ("compare name=3", lambda: gradcheck.compare(3, [1.0], [1.0], show=False),
     TypeError, ["name", "string", "3"]),
    ("learning_curve raw='no'", lambda: plots.learning_curve(_tiny_history(),
                                                             raw="no"),
     TypeError, ["raw", "True or False"]),
    ("epoch_curves ax=3", lambda: plots.epoch_curves(_tiny_history(), ax=3),
     TypeError, ["ax", "matplotlib Axes", "int"]),
    ("LivePlot every=-1", lambda: plots.LivePlot(every=-1),
     ValueError, ["every", "seconds", "-1"]),
    ("LivePlot every='x'", lambda: plots.LivePlot(every="x"),
     ValueError, ["every", "'x'"]),
    ("LivePlot window=0", lambda: plots.LivePlot(window=0),
     ValueError, ["window", "0"]),
    ("LivePlot called with a dict", lambda: plots.LivePlot()({"step_loss": []}),
     TypeError, ["History", "dict"]),
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
]


def _readonly(values):
    a = np.array(values)
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("name, call, error, words", SWEEP, ids=[c[0] for c in SWEEP])
def test_sweep_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


def test_smooth_takes_a_generator_and_numpy_scalars():
    assert plots.smooth((float(i) for i in range(4)), 2).tolist() == \
        [0.0, 0.5, 1.5, 2.5]
    assert plots.smooth(np.arange(3), np.int64(1)).tolist() == [0.0, 1.0, 2.0]


def test_editing_a_sigmoid_output_in_place_does_not_corrupt_its_backward():
    """Layer caches hold copies of outputs (a cache that *is* the output would
    change with it) and references to inputs (documented: do not edit them)."""
    x = RNG.normal(size=(3, 4))
    out, cache = layers.sigmoid_forward(x)
    expected = layers.sigmoid_backward(np.ones_like(out), cache)
    out *= 0.0  # e.g. dropout written in place
    assert np.allclose(layers.sigmoid_backward(np.ones_like(out), cache), expected)
    assert np.allclose(expected, layers.sigmoid(x) * (1 - layers.sigmoid(x)))


def test_editing_mlp_logits_in_place_does_not_corrupt_its_backward():
    logits, cache = mlp.forward(P64, X64)
    dlogits = RNG.normal(size=logits.shape)
    expected = mlp.backward(dlogits, cache)
    logits[:] = 0.0
    got = mlp.backward(dlogits, cache)
    for k in mlp.PARAM_NAMES:
        assert np.array_equal(got[k], expected[k]), k


def test_editing_a_linear_output_in_place_does_not_corrupt_its_backward():
    W, b = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    out, cache = layers.linear_forward(X64, W, b)
    dout = RNG.normal(size=out.shape)
    expected = layers.linear_backward(dout, cache)
    out += 5.0
    for got, want in zip(layers.linear_backward(dout, cache), expected):
        assert np.array_equal(got, want)


def test_train_sgd_step_refuses_a_read_only_parameter_before_updating_any():
    params = {k: v.copy() for k, v in P64.items()}
    params["b2"].flags.writeable = False
    before = {k: v.copy() for k, v in params.items()}
    with pytest.raises(TypeError, match=r"params\['b2'\].*writeable"):
        train.sgd_step(params, X64, Y2, 0.1)
    for k in mlp.PARAM_NAMES:
        assert np.array_equal(params[k], before[k]), k
