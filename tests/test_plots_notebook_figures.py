"""The one-call figures of notebooks 01-06 (plots.softmax_figure,
scalar_run_figure, sigma_prime_figure, output_gradient_figure and the units
of weight_images_figure): what they print, checked against numpy here."""

import matplotlib
import numpy as np
import pytest

from coursenet import losses, mlp, plots, scalar

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RNG = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_softmax_figure_draws_y_and_its_jacobian():
    y = losses.softmax(RNG.normal(size=(1, 4)))[0]
    fig = plots.softmax_figure(y)
    bars, heat = fig.axes[:2]
    assert np.allclose([p.get_height() for p in bars.patches], y)
    J = np.diag(y) - np.outer(y, y)                    # written out here
    assert np.allclose(heat.get_images()[0].get_array(), J)
    assert fig.axes[2].get_ylabel() == "$J_{ij}$"      # the colour bar is labelled


def test_scalar_run_figure_has_a_curve_and_a_boundary():
    X = RNG.normal(size=(300, 2))
    c = (X[:, 0] > 0).astype(int)
    run = scalar.train(scalar.init_params(seed=1), (X, c), lr=0.1, epochs=1,
                       val_data=(X, c))
    fig = plots.scalar_run_figure(run, mlp.from_scalar(run.params), X, c)
    left, right = fig.axes[:2]
    assert "log" in left.get_ylabel() and left.get_yscale() == "log"
    assert right.get_xlabel() == "$x_0$" and right.get_ylabel() == "$x_1$"


def test_sigma_prime_figure_prints_the_share_of_small_slopes(capsys):
    X = RNG.normal(size=(40, 6))
    W1, b1 = 3 * RNG.normal(size=(6, 5)), RNG.normal(size=5)
    plots.sigma_prime_figure({"a": (X, W1), "b": (X / 100, W1)}, b1)
    lines = capsys.readouterr().out.splitlines()
    h = 1 / (1 + np.exp(-(X @ W1 + b1)))
    share = np.mean(h * (1 - h) < 0.01)
    assert lines[0].strip() == (f"a: σ′ below 0.01 for {share:.1%},"
                                f" std of k {np.std(X @ W1):.3g}")
    assert len(lines) == 2


def test_output_gradient_figure_prints_rows_that_sum_to_zero(capsys):
    X = RNG.normal(size=(8, 5))
    classes = RNG.integers(0, 3, 8)
    net = mlp.init_mlp(5, 4, 3, seed=0, dtype=np.float64)
    plots.output_gradient_figure({"net": net}, X, classes)
    out = capsys.readouterr().out
    G = losses.softmax(mlp.forward(net, X)[0]) - np.eye(3)[classes]
    true = np.eye(3, dtype=bool)[classes]
    assert f"at the true class {G[true].mean():+.2f}" in out
    assert f"at a wrong class {G[~true].mean():+.2f}" in out
    assert float(out.split("largest |row sum| ")[1].split(";")[0]) < 1e-12


def test_weight_images_figure_shows_the_units_that_moved_most(capsys):
    W0 = RNG.normal(size=(784, 6))
    W = W0.copy()
    W[:, 4] += 1.0                                   # unit 4 moves most, then 1
    W[:, 1] += 0.5
    fig = plots.weight_images_figure(W, W0, units=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[:2] == ["unit 4", "unit 1"]
    assert f"moved by {0.5 * np.sqrt(784):.2f} to {np.sqrt(784):.2f}" \
        in capsys.readouterr().out
    with pytest.raises(ValueError, match="units"):
        plots.weight_images_figure(W, W0, units=0)


def test_confusion_totals_print_predicted_and_true_counts(capsys):
    cm = np.array([[3, 1], [0, 2]])
    plots.confusion_figure(cm, ["a", "b"], "t", totals=True)
    assert capsys.readouterr().out.splitlines() == [
        "predicted totals: a 3, b 3", "true totals:      a 4, b 2"]
