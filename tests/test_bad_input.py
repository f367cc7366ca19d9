"""Bad input, one row per case: the call, the exception, words the message must contain.

Every public function must refuse what it cannot handle with an error that
names the argument, the value and what was expected -- never a wrong number,
never numpy's internals. Add a row for every new hole.
"""

import math
import os

import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import (
    _blas,
    _fast_step,
    data,
    gradcheck,
    losses,
    mlp,
    mnist,
    plots,
    scalar,
    train,
)

RNG = np.random.default_rng(0)
X32 = RNG.random((10, 6)).astype(np.float32)
Y = RNG.integers(0, 3, 10)
P32 = mlp.init_mlp(6, 4, 3, seed=0)
P64 = mlp.init_mlp(6, 4, 3, seed=0, dtype=np.float64)


def params(**changes):
    p = {k: v.copy() for k, v in P32.items()}
    p.update(changes)
    return p


def scalar_params(**changes):
    p = scalar.course_params()
    p.update(changes)
    return p


def _offline_maybe():
    old = os.environ.get(mnist.OFFLINE_ENV)
    os.environ[mnist.OFFLINE_ENV] = "maybe"
    try:
        mnist.offline()
    finally:
        if old is None:
            del os.environ[mnist.OFFLINE_ENV]
        else:
            os.environ[mnist.OFFLINE_ENV] = old


def _absurd_idx():
    import struct

    mnist.parse_idx(bytes([0, 0, 8, 4]) + struct.pack(">4I", *[65536] * 4))


def _trainer_step(idx=None, y=None):
    t = _fast_step.Trainer(params(), 4)
    t.step(X32, Y if y is None else y, np.array([0, 1] if idx is None else idx), 0.1)


CASES = [
    # --- mlp
    ("predict batch_size=-1", lambda: mlp.predict(P32, X32, batch_size=-1),
     ValueError, ["batch_size", "> 0", "-1"]),
    ("predict batch_size=0", lambda: mlp.predict(P32, X32, batch_size=0),
     ValueError, ["batch_size", "> 0", "0"]),
    ("predict batch_size=2.5", lambda: mlp.predict(P32, X32, batch_size=2.5),
     TypeError, ["batch_size", "integer", "2.5"]),
    ("predict wrong width", lambda: mlp.predict(P32, X32[:, :5]),
     ValueError, ["5 features", "W1 expects 6"]),
    ("evaluate label -1", lambda: mlp.evaluate(P32, X32, np.r_[Y[:-1], -1]),
     ValueError, ["label -1", "[0, 3)"]),
    ("mlp.evaluate empty", lambda: mlp.evaluate(P32, X32[:0], Y[:0]),
     ValueError, ["empty", "0 rows"]),
    ("accuracy empty", lambda: mlp.accuracy(P32, X32[:0], Y[:0]),
     ValueError, ["empty"]),
    ("from_scalar b too short",
     lambda: mlp.from_scalar(scalar_params(b=[0.0, 0.0])),
     ValueError, ["shapes do not fit", "b 2"]),
    # --- train
    ("sgd mixed dtypes", lambda: train.sgd(params(b1=np.zeros(4)), (X32, Y), lr=0.1,
                                           progress=False),
     TypeError, ["same floating dtype", "b1 float64", "W1 float32"]),
    ("sgd integer bias", lambda: train.sgd(params(b2=np.zeros(3, int)), (X32, Y),
                                           lr=0.1, progress=False),
     TypeError, ["same floating dtype", "b2 int64"]),
    ("sgd NaN parameter", lambda: train.sgd(params(W2=np.full((4, 3), np.nan,
                                                              np.float32)),
                                            (X32, Y), lr=0.1, progress=False),
     ValueError, ["W2", "NaN or inf"]),
    ("sgd copy='no'", lambda: train.sgd(P32, (X32, Y), lr=0.1, copy="no",
                                        progress=False),
     TypeError, ["copy", "True or False", "'no'"]),
    ("sgd copy=False on lists",
     lambda: train.sgd({k: v.tolist() for k, v in P64.items()}, (X32, Y), lr=0.1,
                       copy=False, progress=False),
     TypeError, ["copy=False", "writeable numpy array", "list"]),
    ("Trainer batch_size=0", lambda: _fast_step.Trainer(P32, 0),
     ValueError, ["batch_size", "> 0"]),
    ("step idx out of range", lambda: _trainer_step(idx=[0, 10]),
     IndexError, ["idx", "[0, 10)", "10"]),
    ("step idx -1 (mode='clip' would pair it silently)",
     lambda: _trainer_step(idx=[-1, 2]), IndexError, ["idx", "-1"]),
    ("step label -1", lambda: _trainer_step(y=np.r_[-1, Y[1:]]),
     ValueError, ["c[idx]", "label -1"]),
    ("step too many rows", lambda: _trainer_step(idx=np.arange(5)),
     ValueError, ["idx", "1 to 4"]),
    # --- plots
    ("confusion_matrix wraps -1", lambda: plots.confusion_matrix([-1, 2], [0, 1]),
     ValueError, ["y_true", "-1", "[0, 10)"]),
    ("confusion_matrix truncates 2.7", lambda: plots.confusion_matrix([2.7], [1]),
     TypeError, ["y_true", "integer class ids", "float64"]),
    ("confusion_matrix prediction 10", lambda: plots.confusion_matrix([1], [10]),
     ValueError, ["y_pred", "10", "[0, 10)"]),
    ("confusion_matrix num_classes=0", lambda: plots.confusion_matrix([], [], 0),
     ValueError, ["num_classes", "> 0"]),
    ("learning_curve of a dict", lambda: plots.learning_curve({"step_loss": [1.0]}),
     TypeError, ["History", "dict"]),
    ("digit_grid of 10-pixel rows", lambda: plots.digit_grid(np.zeros((3, 10))),
     ValueError, ["images", "784", "(3, 10)"]),
    ("decision_boundary of 3-D data",
     lambda: plots.decision_boundary(lambda g: g[:, 0], np.zeros((5, 3)),
                                     np.zeros(5, int)),
     ValueError, ["X must have shape (N, 2)", "(5, 3)"]),
    # --- data
    ("scale_pixels twice",
     lambda: data.scale_pixels(data.scale_pixels(np.array([[0, 128, 255]]))),
     ValueError, ["scaled already", "whole pixel values"]),
    ("scale_pixels to an integer dtype",
     lambda: data.scale_pixels(np.array([[0, 255]]), dtype=np.uint8),
     TypeError, ["dtype", "floating", "uint8"]),
    ("scale_pixels NaN", lambda: data.scale_pixels(np.array([[np.nan, 1.0]])),
     ValueError, ["[0, 255]", "nan"]),
    ("load_mnist flatten='yes'", lambda: data.load_mnist(flatten="yes",
                                                        source="sample"),
     TypeError, ["flatten", "True or False", "'yes'"]),
    ("COURSENET_OFFLINE=maybe", _offline_maybe,
     ValueError, ["COURSENET_OFFLINE", "'maybe'", "false"]),
    ("fetch_mnist mirrors as one string (was split into characters)",
     lambda: mnist.fetch_mnist("/nonexistent", mirrors="http://127.0.0.1:9/"),
     TypeError, ["mirrors", "list of base URLs", "'http://127.0.0.1:9/'"]),
    ("load_mnist timeout=0", lambda: mnist.fetch_mnist("/nonexistent", timeout=0),
     ValueError, ["timeout", "> 0"]),
    ("IDX dimensions overflowing int64", _absurd_idx,
     ValueError, ["(65536, 65536, 65536, 65536)", "18446744073709551616 bytes"]),
    # --- scalar network
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
    # --- losses and gradcheck
    ("cross_entropy on an empty batch",
     lambda: losses.cross_entropy(np.zeros((0, 3)), np.zeros(0, int)),
     ValueError, ["empty batch", "(0, 3)"]),
    ("softmax_cross_entropy on an empty batch",
     lambda: losses.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, int)),
     ValueError, ["empty batch"]),
    ("softmax of zero classes", lambda: losses.softmax(np.zeros((2, 0))),
     ValueError, ["at least one class", "(2, 0)"]),
    ("numerical_vjp dout of another shape",
     lambda: gradcheck.numerical_vjp(lambda z: z * 2, np.zeros(3), np.ones((2, 3))),
     ValueError, ["dout", "shape of f(x)", "(3,)", "(2, 3)"]),
    ("numerical_gradient of an array-valued f",
     lambda: gradcheck.numerical_gradient(lambda z: z * 2, np.zeros(3)),
     ValueError, ["scalar", "numerical_vjp"]),
    ("numerical_gradient h=0",
     lambda: gradcheck.numerical_gradient(lambda z: z.sum(), np.zeros(3), h=0),
     ValueError, ["h", "> 0"]),
    # --- the BLAS shortcut
    ("add_AtB shapes", lambda: _blas.add_AtB(np.zeros((3, 4)), np.zeros((5, 3)),
                                             np.zeros((6, 4))),
     ValueError, ["shapes", "A (5, 3)", "B (6, 4)"]),
    ("add_AtB dtypes", lambda: _blas.add_AtB(np.zeros((3, 4), np.float32),
                                             np.zeros((5, 3)), np.zeros((5, 4))),
     TypeError, ["one floating dtype", "float32", "float64"]),
    ("add_AtB 1-D", lambda: _blas.add_AtB(np.zeros(12), np.zeros((5, 3)),
                                          np.zeros((5, 4))),
     TypeError, ["C", "2-D", "(12,)"]),
    ("add_AtB read-only C", lambda: _blas.add_AtB(_readonly((3, 4)), np.zeros((5, 3)),
                                                  np.zeros((5, 4))),
     ValueError, ["read-only"]),
]


def _readonly(shape):
    a = np.zeros(shape)
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


def test_what_students_pass_is_accepted():
    """numpy integers as targets and numpy floats as learning rates are fine."""
    loss, cache = scalar.forward(scalar.course_params(), np.array([1.0, 2.0]),
                                 np.int64(1))
    assert math.isfinite(loss) and cache["target"] == 1
    params = scalar.course_params()
    scalar.sgd_step(params, scalar.backward(params, cache), np.float32(0.1))
    h = scalar.train(scalar.course_params(), (np.array([[1.0, 2.0]]),
                                              np.array([1], np.int64)),
                     lr=np.float64(0.1), epochs=np.int64(2), progress=False)
    assert len(h.step_loss) == 2
    assert train.sgd(P32, (X32, Y.astype(np.uint8)), lr=np.float32(0.1), epochs=1,
                     progress=False).lr == pytest.approx(0.1)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.arange(3.0)

    def f(z):
        if z[1] != 1.0:
            raise RuntimeError("boom")
        return z.sum()

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck.numerical_gradient(f, x)
    assert x.tolist() == [0.0, 1.0, 2.0]
