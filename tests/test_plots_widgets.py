"""Plot helpers (smoke tests plus the numbers they compute) and the explorers."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from coursenet import mlp, plots, train, widgets  # noqa: E402
from coursenet.data import load_mnist, load_synth, scale_pixels  # noqa: E402
from coursenet.history import History  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def history():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=120)
    params = mlp.init_mlp(6, 5, 3, seed=0)
    return train.sgd(params, (X, y), lr=0.2, batch_size=16, epochs=2,
                     val_data=(X[:30], y[:30]), progress=False)


def test_smooth_is_a_trailing_mean():
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert np.allclose(plots.smooth(values, 2), [1, 1.5, 2.5, 3.5, 4.5])
    assert np.allclose(plots.smooth(values, 1), values)
    assert np.allclose(plots.smooth(values, 99), np.cumsum(values) / np.arange(1, 6))


def test_learning_curves_draw_the_history(history):
    ax = plots.learning_curve(history)
    raw = ax.lines[0]
    assert np.allclose(raw.get_ydata(), history.step_loss)
    ax = plots.epoch_curves(history)
    assert np.allclose(ax.lines[1].get_ydata(), history.epoch_val_loss)
    ax = plots.epoch_curves(history, metric="acc")
    assert np.allclose(ax.lines[0].get_ydata(), history.epoch_train_acc)


def test_mean_std_band():
    curves = [np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])]
    ax = plots.mean_std_band(curves)
    assert np.allclose(ax.lines[0].get_ydata(), [2, 2, 2])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    # sample std (ddof=1) of (1, 3) is sqrt(2): the band spans 2 ± 1.414 at step 1
    assert np.isclose(band.max(), 2 + np.sqrt(2))
    assert np.isclose(band.min(), 2 - np.sqrt(2))
    with pytest.raises(ValueError, match="at least two curves"):
        plots.mean_std_band([np.ones(3)])


def test_confusion_matrix_counts():
    cm = plots.confusion_matrix([0, 1, 1, 2, 2, 2], [0, 1, 2, 2, 2, 0], 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [1, 0, 2]]
    assert cm.sum() == 6
    plots.plot_confusion_matrix(cm)
    with pytest.raises(ValueError, match="differ"):
        plots.confusion_matrix([0, 1], [0])


def test_picture_helpers_run():
    (X, y), _, _ = load_synth(num_train=300, num_val=0)
    plots.scatter_classes(X, y)
    ax = plots.decision_boundary(lambda g: (g[:, 0] > 0).astype(float), X, y,
                                 resolution=20)
    assert ax.get_xlabel() == "$x_1$"
    images = np.zeros((12, 784), np.uint8)
    fig = plots.digit_grid(images, labels=np.arange(12) % 10,
                           preds=np.zeros(12, int), ncols=5)
    assert len(fig.axes) == 15


def test_live_plot_keeps_the_latest_history(history):
    live = plots.LivePlot(every=0.0)
    for n in range(1, 4):
        history_view = type(history)(**{**history.__dict__,
                                        "step_loss": history.step_loss[:n]})
        live(history_view)
    fig = live.close()
    assert fig.axes[0].get_title() == f"step 3 / {2 * history.steps_per_epoch}"


@pytest.fixture(scope="module")
def mnist_small():
    (X, y), (Xv, yv), _ = load_mnist(source="sample")
    return (scale_pixels(X[:600]), y[:600]), (scale_pixels(Xv[:200]), yv[:200])


def test_learning_rate_explorer_retrains_caches_and_redraws(mnist_small):
    train_data, val_data = mnist_small
    ex = widgets.learning_rate_explorer(train_data, val_data, subset=600,
                                        num_hiddens=20, lr=0.1, epochs=1)
    first = bytes(ex.image.value)
    assert first.startswith(PNG) and "learning rate = 0.1," in ex.status.value
    assert ex.controls["lr"].continuous_update is False
    ex.controls["lr"].value = 1.0  # what the slider does when moved
    assert ex.result.lr == pytest.approx(1.0)
    assert "learning rate = 1," in ex.status.value
    assert bytes(ex.image.value) != first
    # the drawn curve is this run's losses, and the sweep panel has both runs
    ax1, ax2 = ex.figure.axes
    assert np.allclose(ax1.lines[0].get_ydata(), ex.result.step_loss)
    assert len(ax2.lines[0].get_xdata()) == 2
    # an independent run with the same settings gives the same history
    params = mlp.init_mlp(784, 20, 10, seed=0)
    again = train.sgd(params, train_data, lr=1.0, batch_size=32, epochs=1, seed=0,
                      val_data=val_data, progress=False)
    assert again.step_loss == ex.result.step_loss
    # returning to a setting is served from the cache
    trained = ex.cache.copy()
    ex.controls["lr"].value = 0.1
    assert "from the cache" in ex.status.value and ex.cache.keys() == trained.keys()
    ex.controls["batch_size"].value = 64
    assert ex.result.batch_size == 64 and len(ex.cache) == 3


def test_explorer_shows_a_diverged_run_and_stays_usable(mnist_small):
    (X, y), _ = mnist_small
    controls = {"lr": widgets._lr_slider(0.1, 1e-3, 1e31)}

    def run(lr):
        return train.sgd(mlp.init_mlp(784, 8, 10, seed=0), (X[:100], y[:100]), lr=lr,
                         batch_size=10, epochs=1, progress=False)

    def draw(fig, history, values, cache):
        plots.learning_curve(history, ax=fig.subplots())

    ex = widgets.Explorer(controls, run, draw, lambda v: f"lr = {v['lr']:.3g}")
    assert isinstance(ex.result, History)
    ex.controls["lr"].value = 1e30  # float32 overflows: a real divergence
    assert isinstance(ex.result, train.DivergedError)
    assert "failed: DivergedError" in ex.status.value
    assert "<b>training…</b>" not in ex.status.value
    assert bytes(ex.image.value).startswith(PNG)
    ex.controls["lr"].value = 0.01  # and the explorer goes on
    assert isinstance(ex.result, History)
    assert "trained in" in ex.status.value


def test_explorer_shows_any_error_of_a_run_or_a_drawing():
    controls = {"n": widgets.widgets.IntSlider(value=1, min=0, max=3)}

    def run(n):
        if n == 2:
            raise ValueError("n=2 is not allowed")
        return n

    def draw(fig, result, values, cache):
        if result == 3:
            raise KeyError("cannot draw 3")
        fig.subplots().plot([result])

    ex = widgets.Explorer(controls, run, draw, lambda v: f"n = {v['n']}")
    for n, words in ((2, "ValueError: n=2 is not allowed"), (3, "KeyError")):
        ex.controls["n"].value = n
        assert words in ex.status.value and isinstance(ex.result, Exception)
        assert bytes(ex.image.value).startswith(PNG)
    ex.controls["n"].value = 1
    assert ex.result == 1 and "failed" not in ex.status.value


def test_learning_curve_draws_both_networks():
    (X, y), (Xv, yv), _ = load_synth(num_train=300, num_val=100)
    from coursenet import scalar

    hs = scalar.train(scalar.init_params(seed=0), (X, y), lr=0.1, epochs=2,
                      val_data=(Xv, yv), progress=False)
    hb = train.sgd(mlp.init_mlp(2, 3, 2, dtype=np.float64), (X, y), lr=0.5,
                   batch_size=16, epochs=2, val_data=(Xv, yv), progress=False)
    assert type(hs) is type(hb)
    for h, xlabel in ((hs, "instance"), (hb, "minibatch")):
        ax = plots.learning_curve(h, window=10)
        assert np.allclose(ax.lines[0].get_ydata(), h.step_loss)
        assert np.allclose(ax.lines[2].get_ydata(), h.epoch_train_loss)
        assert np.allclose(ax.lines[3].get_ydata(), h.epoch_val_loss)
        assert np.array_equal(ax.lines[2].get_xdata(),
                              np.arange(3) * h.steps_per_epoch)
        assert xlabel in ax.get_xlabel()
        matplotlib.pyplot.close("all")


def test_scalar_explorer():
    (X, y), _, _ = load_synth(num_train=200, num_val=0)
    ex = widgets.scalar_explorer(X, y, subset=200, lr=0.1, epochs=1)
    assert len(ex.result.step_loss) == 200
    assert np.allclose(ex.figure.axes[0].lines[0].get_ydata(), ex.result.step_loss)
    ex.controls["epochs"].value = 2
    assert len(ex.result.step_loss) == 400
    assert "epochs = 2" in ex.status.value


def test_explorer_displays_as_a_widget_with_a_picture_fallback():
    (X, y), _, _ = load_synth(num_train=100, num_val=0)
    ex = widgets.scalar_explorer(X, y, subset=100, lr=0.1, epochs=1)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    import base64

    assert base64.b64decode(bundle["image/png"]).startswith(PNG)
    assert "learning rate = 0.1" in bundle["text/plain"]
