"""Unit tests that kill issue 17's hand-made mutants, one test per mutant.

Each mutant is a one-line change every older test let pass; the name of each
test says which change it catches (each was applied by hand once and made its
test fail).
"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from coursenet import _blas, history, mlp, plots, scalar, train  # noqa: E402


def test_init_std_is_one_over_sqrt_fan_in_for_each_layer():
    """Mutant: W1's std 1/sqrt(fan_in) -> 1/sqrt(fan_out)."""
    params = mlp.init_mlp(784, 30, 10, seed=0, dtype=np.float64)
    assert params["W1"].std() == pytest.approx(1 / math.sqrt(784), rel=0.02)
    assert params["W2"].std() == pytest.approx(1 / math.sqrt(30), rel=0.15)
    assert not params["b1"].any() and not params["b2"].any()
    # pre-activations start with unit scale for unit-scale inputs
    X = np.random.default_rng(1).standard_normal((2000, 784))
    assert (X @ params["W1"]).std() == pytest.approx(1.0, rel=0.05)


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


def test_blas_self_test_rejects_a_gemm_that_computes_nothing():
    """Mutant: _blas's self-test comparison removed."""
    def does_nothing(*args):
        return None

    def adds_twice(order, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
        return None

    functions = {np.dtype(np.float32): does_nothing,
                 np.dtype(np.float64): adds_twice}
    assert _blas._self_test(functions) is False
    if _blas.available(np.float64):  # the real one passes
        assert _blas._self_test(dict(_blas._functions)) is True


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("overlap", ["C overlaps A", "C overlaps B", "C is B"])
def test_add_AtB_with_overlapping_arrays_gives_numpys_result(dtype, overlap):
    """Mutant: _blas's overlap checks removed (a raw gemm reading A while it
    writes C gives a relative error of 3e7 at 300 x 300)."""
    rng = np.random.default_rng(0)
    n = 300
    buf = rng.standard_normal((n, 2 * n)).astype(dtype)
    if overlap == "C overlaps A":
        A, B, C = buf[:, :n], rng.standard_normal((n, n)).astype(dtype), \
            buf[:, n // 2:n // 2 + n]
    elif overlap == "C overlaps B":
        A, B, C = rng.standard_normal((n, n)).astype(dtype), buf[:, :n], \
            buf[:, n // 3:n // 3 + n]
    else:
        A = rng.standard_normal((n, n)).astype(dtype)
        B = C = buf[:, :n]
    expected = C.astype(np.float64) + 0.5 * (A.astype(np.float64).T
                                            @ B.astype(np.float64))
    _blas.add_AtB(C, A, B, alpha=0.5)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    err = np.linalg.norm(C - expected) / np.linalg.norm(expected)
    assert err < tol


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


def test_train_history_summary_and_repr_are_one_line():
    rng = np.random.default_rng(0)
    X = rng.random((20, 4)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    h = train.sgd(mlp.init_mlp(4, 3, 3), (X, y), lr=0.1, epochs=2, batch_size=7,
                  progress=False, val_data=(X, y))
    assert h.steps_per_epoch == 3 and len(h.step_loss) == 6
    assert "\n" not in repr(h) and "6 steps" in repr(h)
    assert f"train loss {h.epoch_train_loss[-1]:.4f}" in h.summary()
