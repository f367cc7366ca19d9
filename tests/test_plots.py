"""plots.py: bad input and the mutants the older tests let live (the rest of
the plots tests: test_plots_widgets.py)."""

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from bad_input import P32, X32, X64, Y2, Y, assert_clear_error

from coursenet import (
    mlp,
    plots,
    train,
)

matplotlib.use("Agg")

RNG = np.random.default_rng(1)  # this file's own random data


def _history():
    return train.sgd(P32, (X32, Y), lr=0.1, epochs=1, progress=False)


def _tiny_history():
    return train.sgd(mlp.init_mlp(4, 3, 2), (X64.astype(np.float32), Y2), lr=0.1,
                     epochs=1, progress=False)


CASES = [
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
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


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


@pytest.mark.parametrize("num_classes", [2, 3])
def test_scatter_classes_puts_its_legend_outside_the_points(num_classes):
    """The legend sat in the upper right of the axes, on the point cloud of
    notebook 03's data; it goes under the axes (as decision_boundary's)."""
    X = RNG.normal(size=(3000, 2))
    ax = plots.scatter_classes(X, np.arange(3000) % num_classes)
    ax.set(title="synthetic data")             # as notebook 03 calls it
    ax.figure.canvas.draw()
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.y1 < axes.y0, (legend, axes)     # below: it covers no point
    labels = ax.xaxis.label.get_window_extent()
    assert legend.y1 < labels.y0                   # and below the x label
    assert [t.get_text() for t in ax.get_legend().get_texts()] == \
        [f"class {k}" for k in range(num_classes)]
    plt.close("all")


def test_smooth_takes_a_generator_and_numpy_scalars():
    assert plots.smooth((float(i) for i in range(4)), 2).tolist() == \
        [0.0, 0.5, 1.5, 2.5]
    assert plots.smooth(np.arange(3), np.int64(1)).tolist() == [0.0, 1.0, 2.0]


def test_scatter_classes_draws_the_points():
    """Mutant: scatter_classes returning before drawing."""
    X = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    y = np.array([0, 1, 0])
    ax = plots.scatter_classes(X, y)
    assert len(ax.collections) == 2
    assert np.allclose(ax.collections[0].get_offsets(), X[[0, 2]])
    assert np.allclose(ax.collections[1].get_offsets(), X[[1]])
    plt.close("all")


def test_digit_grid_shows_each_image_and_its_title():
    """Mutant: digit_grid without images."""
    rng = np.random.default_rng(0)
    images = rng.random((3, 784))
    fig = plots.digit_grid(images, labels=[7, 1, 2], preds=[7, 4, 2], ncols=2)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 3 and len(fig.axes) == 4
    for ax, img in zip(shown, images):
        assert np.array_equal(ax.images[0].get_array(), img.reshape(28, 28))
    assert [ax.get_title() for ax in shown] == ["7→7", "1→4", "2→2"]
    assert shown[1].title.get_color() != shown[0].title.get_color()  # a mistake
    plt.close("all")


def test_confusion_plot_writes_every_count():
    """Mutant: the confusion plot without its numbers."""
    cm = plots.confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 2, 1], num_classes=3)
    ax = plots.plot_confusion_matrix(cm)
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}
    assert texts == {(i, j): str(cm[i, j]) for i in range(3) for j in range(3)}
    assert np.array_equal(ax.images[0].get_array(), cm)
    plt.close("all")


@pytest.mark.parametrize("level, line, said", [
    (None, True, None),
    (0.3, False, "no black line: P(class 1) ≤ 0.5 everywhere"),
    (0.9, False, "no black line: P(class 1) ≥ 0.5 everywhere"),
])
def test_decision_boundary_draws_the_half_line_only_where_there_is_one(level, line,
                                                                       said):
    """Round 16: a network that predicts class 0 everywhere (03 with a wrong
    sgd_step) had a figure whose key promised a black line that was not there."""
    X = RNG.normal(size=(40, 2))
    labels = (X[:, 0] > 0).astype(int)

    def prob(g):
        return 1 / (1 + np.exp(-g[:, 0])) if level is None else np.full(len(g), level)

    ax = plots.decision_boundary(prob, X, labels)
    texts = [t.get_text() for t in ax.texts]
    lines = [c for c in ax.collections
             if isinstance(c, matplotlib.contour.ContourSet) and not c.filled]
    assert len(lines) == line
    assert texts == ([said] if said else [])
    plt.close(ax.figure)
