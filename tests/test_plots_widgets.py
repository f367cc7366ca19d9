"""Plot helpers (smoke tests plus the numbers they compute) and the explorers."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from bad_input import assert_clear_error  # noqa: E402

from coursenet import mlp, plots, train, widgets  # noqa: E402
from coursenet.data import load_mnist, load_synth, scale_pixels  # noqa: E402
from coursenet.history import DivergedError, History  # noqa: E402

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
    assert ax.get_xlabel() == "$x_0$" and ax.get_ylabel() == "$x_1$"  # 02's names
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


@pytest.mark.slow  # make check leaves it to make test (pyproject: markers)
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
    assert isinstance(ex.result, DivergedError)
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


# --- figures a person can read at 1366x768 (output area about 925 px) ------

plt = matplotlib.pyplot


def _synth_history(epochs=2, n=1000):
    from coursenet import scalar

    (X, y), (Xv, yv), _ = load_synth(num_train=n, num_val=200)
    return scalar.train(scalar.init_params(seed=1), (X, y), lr=0.5, epochs=epochs,
                        seed=0, val_data=(Xv, yv), progress=False)


def _texts(fig):
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]


@pytest.mark.slow  # make check leaves it to make test (pyproject: markers)
def test_every_package_figure_fits_the_output_area_and_its_text_is_readable(history):
    figures = {
        "learning_curve": plots.learning_curve(history).figure,
        "epoch_curves": plots.epoch_curves(history).figure,
        "mean_std_band": plots.mean_std_band([[1.0, 2.0], [2.0, 1.0]]).figure,
        "scatter_classes": plots.scatter_classes(np.eye(2), np.array([0, 1])).figure,
        "decision_boundary": plots.decision_boundary(
            lambda g: (g[:, 0] > 0.5).astype(float), np.eye(2), np.array([0, 1]),
            resolution=10).figure,
        "digit_grid": plots.digit_grid(np.zeros((20, 784)), labels=[1] * 20,
                                       preds=[2] * 20),
        "digit_grid 15 columns": plots.digit_grid(np.zeros((30, 784)), labels=[0] * 30,
                                                  ncols=15),
        "plot_confusion_matrix": plots.plot_confusion_matrix(np.eye(10, dtype=int)
                                                             ).figure,
        "LivePlot": plots.LivePlot(every=0.0),
    }
    figures["LivePlot"](history)
    figures["LivePlot"] = figures["LivePlot"].close()
    for name, fig in figures.items():
        assert fig.get_figwidth() <= plots.MAX_WIDTH + 1e-9, name
        fig.canvas.draw()   # tick labels exist once drawn
        sizes = [t.get_fontsize() for t in _texts(fig)]
        assert sizes and min(sizes) >= 9, (name, min(sizes))
    plt.close("all")


def test_confusion_counts_and_digit_titles_are_large_enough():
    ax = plots.plot_confusion_matrix(np.arange(9).reshape(3, 3))
    assert min(t.get_fontsize() for t in ax.texts) >= 10
    assert tuple(ax.figure.get_size_inches()) == (7, 6)
    fig = plots.digit_grid(np.zeros((3, 784)), labels=[1, 2, 3], preds=[1, 5, 3])
    titles = [ax.title for ax in fig.axes if ax.images]
    assert min(t.get_fontsize() for t in titles) >= 11
    assert titles[1].get_fontweight() == "bold"      # the mistake stands out
    plt.close("all")


def test_learning_curve_draws_epoch_losses_as_markers_only_and_raw_loss_visibly():
    h = _synth_history()
    ax = plots.learning_curve(h, window=50)
    raw, _, train_pts, val_pts = ax.lines
    for line in (train_pts, val_pts):   # measured once per epoch: never joined
        assert line.get_linestyle() == "None" and line.get_marker() != "None"
        assert "evaluated once per epoch" in line.get_label()
    assert raw.get_alpha() >= 0.4 and raw.get_marker() == "."  # one dot an instance
    for line in plots.epoch_curves(h).lines:   # dotted guides, never solid
        assert line.get_linestyle() == ":" and "once per epoch" in line.get_label()
    legend = ax.get_legend()
    # the default legend sits under the axes, where it covers no curve
    assert legend._loc == 9 and legend.get_bbox_to_anchor().y1 < \
        ax.get_window_extent().y0
    plt.close("all")


def test_learning_curve_uses_a_log_axis_with_plain_ticks_when_losses_span_decades(
        history):
    ax = plots.learning_curve(_synth_history(), window=50)  # losses 0.003 .. 3.4
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    form = ax.yaxis.get_major_formatter()
    assert [form(v, 0) for v in (0.001, 0.1, 1, 10)] == ["0.001", "0.1", "1", "10"]
    assert plots.learning_curve(_synth_history(), yscale="linear").get_yscale() \
        == "linear"
    # three batches of two MNIST-like steps: a small span stays linear
    ax = plots.learning_curve(history, raw=False)
    assert ax.get_yscale() == "linear"
    batch = plots.learning_curve(history).lines[0]
    assert batch.get_linewidth() >= 0.6 and batch.get_alpha() >= 0.5
    plt.close("all")


def test_mean_std_band_can_show_the_late_spread_in_a_panel_or_an_inset():
    rng = np.random.default_rng(0)
    curves = rng.normal(size=(4, 50)) * np.linspace(1, 0.01, 50) + 2
    std = curves.std(axis=0, ddof=1)
    fig, (ax, side) = plt.subplots(1, 2)
    assert plots.mean_std_band(curves, ax=ax, std_ax=side) is ax
    assert np.allclose(side.lines[0].get_ydata(), std)
    assert side.get_yscale() == "log"    # the std spans two decades
    ax = plots.mean_std_band(curves, std_ax="inset")
    (inset,) = ax.child_axes
    assert np.allclose(inset.lines[0].get_ydata(), std)
    plt.close("all")


def test_the_course_classes_have_one_colour_key_everywhere():
    from matplotlib.colors import to_rgba

    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    c = np.array([0, 1, 1])
    ax = plots.scatter_classes(X, c)
    colours = [tuple(col.get_facecolor()[0]) for col in ax.collections]
    assert colours == [to_rgba("navy"), to_rgba("gold")]
    ax = plots.decision_boundary(lambda g: (g[:, 0] > 0.5).astype(float), X, c,
                                 resolution=10)
    points = [col for col in ax.collections if col.get_label().startswith("class")]
    assert [tuple(p.get_facecolor()[0]) for p in points] == \
        [to_rgba("navy"), to_rgba("gold")]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == \
        ["class 0", "class 1"]
    (bar,) = ax.child_axes                  # the colour bar, as tall as the plot
    assert bar.get_ylabel() == "P(class 1)"
    plt.close("all")


def test_confusion_plot_can_show_the_predicted_totals(capsys):
    cm = np.array([[5, 1], [3, 7]])
    ax = plots.plot_confusion_matrix(cm, class_names=["cat", "dog"], totals=True)
    assert "predicted totals: cat 8, dog 8" in capsys.readouterr().out
    top = [a for a in ax.child_axes][0]
    assert [t.get_text() for t in top.get_xticklabels()] == ["8", "8"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog"]
    plt.close("all")


def test_explorer_pictures_fit_the_output_area_and_say_how_many_rows_they_use():
    (X, y), _, _ = load_synth(num_train=150, num_val=0)
    ex = widgets.scalar_explorer(X, y, subset=500, lr=0.1, epochs=1)
    png = bytes(ex.image.value)
    width = int.from_bytes(png[16:20], "big")
    assert width <= 930 and ex.image.layout.max_width == "100%"
    assert "on all 150 training points:" in ex.status.value
    assert "subset" not in ex.status.value and "asked for" not in ex.status.value
    ax1 = ex.figure.axes[0]
    assert all(line.get_linestyle() == "None" for line in ax1.lines[2:])
    ex = widgets.scalar_explorer(X, y, subset=100, lr=0.1, epochs=1)
    assert "the first 100 of the 150 training points" in ex.status.value
    assert len(ex.result.step_loss) == 100
    plt.close("all")


@pytest.mark.slow  # make check leaves it to make test (pyproject: markers)
def test_the_rate_slider_reaches_its_maximum_in_fine_steps_and_takes_a_typed_value(
        mnist_small):
    train_data, val_data = mnist_small
    ex = widgets.learning_rate_explorer(train_data, val_data, subset=100,
                                        num_hiddens=5, lr=0.3, epochs=1)
    slider = ex.controls["lr"]
    # the whole promised range, 0.001 to 10, and no further
    assert 10 ** slider.min == pytest.approx(1e-3)
    assert 10 ** slider.max == pytest.approx(10.0)
    slider.value = 10.0
    assert slider.value == pytest.approx(10.0) and ex.result.lr == pytest.approx(10.0)
    # an arrow key moves the rate by 10**step: a few percent, not a jump
    assert 10 ** slider.step < 1.05
    # a track of at least 80 px a decade (it was 120 px for four decades)
    assert int(slider.layout.width.rstrip("px")) >= 80 * (slider.max - slider.min)
    box, help_line = ex.extras
    slider.value = 0.30902954   # an arrow key's step: the box shows 4 digits and
    runs = len(ex.cache)        # its rounded echo does not retrain
    assert box.value == 0.309 and slider.value == pytest.approx(0.30902954)
    assert len(ex.cache) == runs
    box.value = 0.05  # typed into the box: the slider and the run follow
    assert slider.value == pytest.approx(0.05) and ex.result.lr == pytest.approx(0.05)
    assert "← →" in help_line.value and "0.001 to 10" in help_line.value
    assert ex.extras[0] in ex.widget.children[1].children
    plt.close("all")


def test_the_explorers_rate_axis_is_logarithmic_and_labelled_over_its_range(
        mnist_small):
    train_data, val_data = mnist_small
    ex = widgets.learning_rate_explorer(train_data, val_data, subset=100,
                                        num_hiddens=5, lr=0.3, epochs=1)
    ax2 = ex.figure.axes[1]
    assert ax2.get_xscale() == "log" and "learning rate" in ax2.get_xlabel()
    low, high = ax2.get_xlim()
    assert low <= 1e-3 and high >= 10.0   # the slider's whole range, from one run
    form = ax2.xaxis.get_major_formatter()
    labels = [form(t, 0) for t in ax2.get_xticks() if low <= t <= high]
    assert labels == ["0.001", "0.01", "0.1", "1", "10"]
    plt.close("all")


def test_the_automatic_log_scale_starts_at_one_decade_and_keeps_small_losses():
    def run(losses):
        return type("H", (), {"step_loss": list(losses), "steps_per_epoch": 10,
                              "epoch_train_loss": [losses[0], losses[-1]],
                              "epoch_val_loss": []})()

    # 1.3 decades (2.0 down to 0.1): log; 0.7 decades: linear
    ax = plots.learning_curve(run(np.geomspace(2.0, 0.1, 10)), window=1)
    assert ax.get_yscale() == "log"
    ax = plots.learning_curve(run(np.geomspace(2.0, 0.4, 10)), window=1)
    assert ax.get_yscale() == "linear"
    # losses down to 0.002 stay on the axis (no clip at 0.1 or 0.01)
    ax = plots.learning_curve(run(np.geomspace(2.0, 0.002, 10)), window=1)
    assert ax.get_ylim()[0] <= 0.002
    plt.close("all")


def _instances(losses):
    """A History of single instances (the scalar network's) with ``losses``."""
    h = History(lr=0.03, batch_size=1, epochs=1, seed=0, steps_per_epoch=len(losses),
                params={})
    h.step_loss.extend(losses)
    h.epoch_train_loss.extend([0.7, 0.08])
    return h


def test_the_log_axis_shows_every_positive_loss_and_says_how_many_it_cannot():
    """Notebook 03's run: a tenth of its 180,000 instance losses lie below 1e-4,
    down to 7.6e-10; a floor at 1e-4 left them off the axis without a word.
    Every positive loss is on the axis; a loss of 0 (a log axis has no 0) is
    counted in the figure's own text."""
    rng = np.random.default_rng(3)
    losses = np.exp(rng.uniform(np.log(7.6e-10), np.log(5.0), 2000))
    ax = plots.learning_curve(_instances(losses), window=100, yscale="log")
    low, high = ax.get_ylim()
    assert low <= losses.min() and high >= losses.max()
    assert not ax.texts                        # nothing left out, nothing to say
    # ticks of small losses read as numbers in the course's notation
    assert ax.yaxis.get_major_formatter()(1e-6, 0) == "1e-6"
    plt.close("all")
    losses[[5, 700, 1500]] = 0.0               # e.g. exp(-40) lost in 1 + ...
    ax = plots.learning_curve(_instances(losses), window=100, yscale="log")
    assert ax.get_ylim()[0] <= losses[losses > 0].min()
    notes = [t.get_text() for t in ax.texts]
    assert len(notes) == 1 and "3 losses ≤ 0 not drawn" in notes[0] \
        and "log axis" in notes[0], notes
    assert ax.texts[0].get_fontsize() >= 9
    plt.close("all")


def test_the_scalar_explorer_draws_losses_below_1e_4():
    (X, y), _, _ = load_synth(num_train=300, num_val=0)
    ex = widgets.scalar_explorer(X, y, subset=300, lr=3.0, epochs=1)
    losses = np.asarray(ex.result.step_loss)
    assert losses.min() < 1e-4                 # the case the floor hid
    assert ex.figure.axes[0].get_ylim()[0] <= losses.min()
    plt.close("all")


def test_notebook_06_figures_draw_their_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 784)).astype(np.float32)
    c = rng.integers(0, 10, 90)
    runs = {lr: train.sgd(mlp.init_mlp(784, 8, 10, seed=s), (X, c), lr=lr,
                          batch_size=30, epochs=2, seed=s, val_data=(X[:30], c[:30]),
                          progress=False) for s, lr in enumerate((0.01, 0.3, 30.0))}
    h = runs[0.3]
    fig = plots.batch_loss_figure(h, "t", chance=np.log(10))
    ax = fig.axes[0]
    # the legend is below the axes, and it lists the ln 10 line
    legend = ax.get_legend()
    assert any("ln 10" in t.get_text() for t in legend.get_texts())
    assert legend.get_bbox_to_anchor().y0 < ax.get_window_extent().y0
    fig = plots.rate_curves_figure({**runs, 3.0: None}, chance=np.log(10))
    left, right = fig.axes
    assert left.get_yscale() == "log" and "log scale" in left.get_ylabel()
    panels = [{line.get_label(): line for line in ax.lines} for ax in fig.axes]
    # the smaller rates on the left, the larger (the bursting one) on the right,
    # so the bursting curve cannot hide the slow ones; ln 10 beneath the curves
    # in both (a slow rate's curve starts on it), dashed grey
    assert set(panels[0]) == {"lr = 0.01", "lr = 0.3", "ln 10"}
    assert set(panels[1]) == {"lr = 3: diverged", "lr = 30", "ln 10"}
    for lines in panels:
        curves = [line for label, line in lines.items() if label != "ln 10"]
        assert len({line.get_color() for line in curves}) == len(curves)
        assert min(line.get_zorder() for line in curves) > lines["ln 10"].get_zorder()
        assert lines["ln 10"].get_linestyle() == "--"
    assert "mean of" in left.get_ylabel() or "each step" in left.get_ylabel()
    acc = {lr: np.array([0.5, 0.6]) + lr / 100 for lr in (0.1, 1.0)}
    loss = {lr: np.array([0.9, 0.7]) - lr / 10 for lr in (0.1, 1.0)}
    fig = plots.sweep_figure([0.1, 1.0, 3.0], loss, acc, seeds=range(2))
    left, right = fig.axes
    assert left.get_xscale() == "log" and "log scale" in left.get_xlabel()
    assert left.get_yscale() == "log" and "log scale" in left.get_ylabel()
    # one thin line per seed across the rates (the pairs), then mean ± std
    assert np.allclose(right.lines[0].get_ydata(), [acc[0.1][0], acc[1.0][0]])
    W0 = mlp.init_mlp(784, 12, 10, seed=0)["W1"]
    W1 = W0 + rng.normal(0, 0.5, W0.shape)
    fig = plots.weight_images_figure(W1, W0, range(4))
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 8
    # one colour scale for all panels, symmetric about 0, and a labelled bar
    assert {im.get_clim() for im in images} == {images[0].get_clim()}
    low, high = images[0].get_clim()
    assert low == -high == -max(np.abs(W1[:, :4]).max(), np.abs(W0[:, :4]).max())
    # the initial weights on top, the trained below
    assert np.allclose(images[0].get_array(), W0[:, 0].reshape(28, 28))
    assert np.allclose(images[4].get_array(), W1[:, 0].reshape(28, 28))
    assert "weight" in fig.axes[-1].get_ylabel()
    plots.seed_spread_figure(list(runs.values()), 2, chance=np.log(10))
    plots.train_val_figure(h)
    plots.loss_runs_figure({"a": h.step_loss, "b": h.step_loss})
    names = np.array([f"class {k}" for k in range(10)])
    plots.confusion_figure(plots.confusion_matrix(c, (c + 1) % 10), names, "t")
    fig = plots.misclassified_figure(X[:20], names[c[:20]], names[(c[:20] + 1) % 10],
                                     "m")
    assert sum(bool(ax.get_images()) for ax in fig.axes) == 10  # long names: 10
    plt.close("all")


# --- notation: the package's docstrings hold notebook 01's card ------------

def test_docstrings_write_rows_and_never_the_column_chain_rule():
    import re
    from pathlib import Path

    src = Path(plots.__file__).parent
    column = [r"J\^T", r"Jᵀ", r"J\[n\]\^T", r"y\s*y\^T", r"y\s*yᵀ", r"J\.T\s*@"]
    for name in ("losses.py", "plots.py", "widgets.py"):
        text = (src / name).read_text(encoding="utf-8")
        for pattern in column:
            assert not re.search(pattern, text), (name, pattern)
    losses = (src / "losses.py").read_text(encoding="utf-8")
    for words in ("∇ₒl = ∇ᵧl J", "diag(y) - yᵀy", "class index", "Rows are instances"):
        assert words in losses, words


# --- bad input: every public function of plots and widgets -----------------

def _tiny_history():
    return _synth_history(epochs=1, n=20)


def _lr(**kwargs):
    rng = np.random.default_rng(0)
    X = rng.random((40, 784)).astype(np.float32)
    y = rng.integers(0, 10, 40)
    args = {"train_data": (X, y), "val_data": (X[:10], y[:10]), "num_hiddens": 5}
    args.update(kwargs)
    return widgets.learning_rate_explorer(args.pop("train_data"),
                                          args.pop("val_data"), **args)


def _sc(X=None, c=None, **kwargs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2)) if X is None else X
    c = np.arange(20) % 2 if c is None else c
    return widgets.scalar_explorer(X, c, **kwargs)


def _control():
    return {"lr": widgets._lr_slider(0.1, 1e-3, 1.0)}


def _nan(shape):
    a = np.zeros(shape)
    a.flat[0] = np.nan
    return a


P = lambda g: np.full(len(g), 0.5)  # noqa: E731  (a valid prob_fn)
X2 = np.random.default_rng(1).normal(size=(6, 2))
C2 = np.array([0, 1, 0, 1, 0, 1])

SWEEP = [
    # learning_curve
    ("learning_curve window=0", lambda: plots.learning_curve(_tiny_history(),
                                                             window=0),
     ValueError, ["window", "int >= 1", "0"]),
    ("learning_curve window=2.5", lambda: plots.learning_curve(_tiny_history(),
                                                               window=2.5),
     ValueError, ["window", "2.5"]),
    ("learning_curve color='notacolour'",
     lambda: plots.learning_curve(_tiny_history(), color="notacolour"),
     ValueError, ["color", "matplotlib colour", "'notacolour'"]),
    ("learning_curve label=3", lambda: plots.learning_curve(_tiny_history(),
                                                            label=3),
     TypeError, ["label", "int"]),
    ("learning_curve yscale='logit'",
     lambda: plots.learning_curve(_tiny_history(), yscale="logit"),
     ValueError, ["yscale", "'logit'", "'auto'"]),
    ("learning_curve legend='top'",
     lambda: plots.learning_curve(_tiny_history(), legend="top"),
     ValueError, ["legend", "'top'", "'below'"]),
    ("learning_curve of a run without steps",
     lambda: plots.learning_curve(History(lr=0.1, batch_size=1, epochs=0, seed=0,
                                          steps_per_epoch=5, params={})),
     ValueError, ["step_loss", "empty"]),
    ("learning_curve step losses of strings",
     lambda: plots.learning_curve(History(lr=0.1, batch_size=1, epochs=1, seed=0,
                                          steps_per_epoch=1, params={},
                                          step_loss=["a"])),
     TypeError, ["step_loss", "numbers"]),
    # epoch_curves
    ("epoch_curves metric=None", lambda: plots.epoch_curves(_tiny_history(),
                                                            metric=None),
     ValueError, ["metric", "None"]),
    # mean_std_band
    ("mean_std_band curve of strings",
     lambda: plots.mean_std_band([[1.0, 2.0], ["a", "b"]]),
     TypeError, ["curves[1]", "numbers"]),
    ("mean_std_band 2-D curve",
     lambda: plots.mean_std_band([[[1.0, 2.0]], [[1.0, 2.0]]]),
     ValueError, ["curves[0]", "1-D", "(1, 2)"]),
    ("mean_std_band a dict", lambda: plots.mean_std_band({"a": [1, 2]}),
     TypeError, ["curves", "dict"]),
    ("mean_std_band one curve", lambda: plots.mean_std_band([[1.0, 2.0]]),
     ValueError, ["at least two curves", "[2]"]),
    ("mean_std_band color=5", lambda: plots.mean_std_band([[1, 2], [2, 1]],
                                                          color=5),
     ValueError, ["color", "matplotlib colour", "5"]),
    ("mean_std_band std_ax='panel'",
     lambda: plots.mean_std_band([[1, 2], [2, 1]], std_ax="panel"),
     ValueError, ["std_ax", "'panel'", "'inset'"]),
    ("mean_std_band std_ax=3", lambda: plots.mean_std_band([[1, 2], [2, 1]],
                                                           std_ax=3),
     TypeError, ["ax", "matplotlib Axes", "int"]),
    ("mean_std_band window=2.0", lambda: plots.mean_std_band([[1, 2], [2, 1]],
                                                             window=2.0),
     ValueError, ["window", "2.0"]),
    # decision_boundary
    ("decision_boundary labels beyond 0/1",
     lambda: plots.decision_boundary(P, X2, np.array([0, 1, 2, 0, 1, 0])),
     ValueError, ["labels", "0 or 1", "2"]),
    ("decision_boundary labels -1",
     lambda: plots.decision_boundary(P, X2, np.array([0, 1, -1, 0, 1, 0])),
     ValueError, ["labels", "-1"]),
    ("decision_boundary float labels",
     lambda: plots.decision_boundary(P, X2, C2.astype(float)),
     TypeError, ["labels", "integer", "float64"]),
    ("decision_boundary NaN in X",
     lambda: plots.decision_boundary(P, _nan((6, 2)), C2),
     ValueError, ["X", "finite", "NaN"]),
    ("decision_boundary prob_fn gives 1.5",
     lambda: plots.decision_boundary(lambda g: np.full(len(g), 1.5), X2, C2),
     ValueError, ["prob_fn", "[0, 1]", "1.5"]),
    ("decision_boundary prob_fn gives NaN",
     lambda: plots.decision_boundary(lambda g: np.full(len(g), np.nan), X2, C2),
     ValueError, ["prob_fn", "NaN"]),
    ("decision_boundary labels too short",
     lambda: plots.decision_boundary(P, X2, C2[:3]),
     ValueError, ["labels shape (N,)", "(3,)"]),
    ("decision_boundary max_points=0",
     lambda: plots.decision_boundary(P, X2, C2, max_points=0),
     ValueError, ["max_points", "0"]),
    ("decision_boundary resolution=20.5",
     lambda: plots.decision_boundary(P, X2, C2, resolution=20.5),
     ValueError, ["resolution", "20.5"]),
    ("decision_boundary colorbar='yes'",
     lambda: plots.decision_boundary(P, X2, C2, colorbar="yes"),
     TypeError, ["colorbar", "True or False"]),
    # scatter_classes
    ("scatter_classes NaN in X", lambda: plots.scatter_classes(_nan((6, 2)), C2),
     ValueError, ["X", "finite", "NaN"]),
    ("scatter_classes empty", lambda: plots.scatter_classes(np.zeros((0, 2)),
                                                            np.zeros(0, int)),
     ValueError, ["X", "empty"]),
    ("scatter_classes class -1",
     lambda: plots.scatter_classes(X2, np.array([0, 1, -1, 0, 1, 0])),
     ValueError, ["labels", ">= 0", "-1"]),
    ("scatter_classes float labels",
     lambda: plots.scatter_classes(X2, C2 + 0.5),
     TypeError, ["labels", "integer", "float64"]),
    ("scatter_classes strings", lambda: plots.scatter_classes(
        np.array([["a", "b"]]), np.array([0])),
     ValueError, ["X", "numbers", "<U1"]),
    ("scatter_classes max_points=0",
     lambda: plots.scatter_classes(X2, C2, max_points=0),
     ValueError, ["max_points", "0"]),
    ("scatter_classes 3 columns",
     lambda: plots.scatter_classes(np.zeros((6, 3)), C2),
     ValueError, ["X must have shape (N, 2)", "(6, 3)"]),
    # digit_grid
    ("digit_grid NaN pixels", lambda: plots.digit_grid(_nan((2, 784))),
     ValueError, ["images", "NaN"]),
    ("digit_grid preds without labels",
     lambda: plots.digit_grid(np.zeros((2, 784)), preds=[1, 2]),
     ValueError, ["preds", "labels"]),
    ("digit_grid labels=7", lambda: plots.digit_grid(np.zeros((2, 784)), labels=7),
     TypeError, ["labels", "one entry per image", "int"]),
    ("digit_grid labels a string",
     lambda: plots.digit_grid(np.zeros((2, 784)), labels="12"),
     TypeError, ["labels", "str"]),
    ("digit_grid size=0", lambda: plots.digit_grid(np.zeros((2, 784)), size=0),
     ValueError, ["size", "> 0", "0"]),
    ("digit_grid size=NaN",
     lambda: plots.digit_grid(np.zeros((2, 784)), size=float("nan")),
     ValueError, ["size", "> 0 (inches)", "nan"]),
    ("digit_grid fontsize=-1",
     lambda: plots.digit_grid(np.zeros((2, 784)), fontsize=-1),
     ValueError, ["fontsize", "-1"]),
    ("digit_grid ncols=2.0",
     lambda: plots.digit_grid(np.zeros((2, 784)), ncols=2.0),
     ValueError, ["ncols", "2.0"]),
    ("digit_grid 27x27 images", lambda: plots.digit_grid(np.zeros((2, 27, 27))),
     ValueError, ["images", "28x28", "(2, 27, 27)"]),
    # confusion_matrix / plot_confusion_matrix
    ("confusion_matrix num_classes=10.0",
     lambda: plots.confusion_matrix([1], [1], num_classes=10.0),
     ValueError, ["num_classes", "10.0"]),
    ("confusion_matrix 2-D labels",
     lambda: plots.confusion_matrix([[1]], [[1]]),
     ValueError, ["y_true", "1-D", "(1, 1)"]),
    ("plot_confusion_matrix negative count",
     lambda: plots.plot_confusion_matrix([[1, -1], [0, 2]]),
     ValueError, ["cm", ">= 0", "-1"]),
    ("plot_confusion_matrix NaN",
     lambda: plots.plot_confusion_matrix([[1.0, np.nan], [0.0, 2.0]]),
     ValueError, ["cm", ">= 0"]),
    ("plot_confusion_matrix 2x3", lambda: plots.plot_confusion_matrix(
        np.zeros((2, 3), int)),
     ValueError, ["cm", "square", "(2, 3)"]),
    ("plot_confusion_matrix 3 names for 2 classes",
     lambda: plots.plot_confusion_matrix(np.eye(2, dtype=int),
                                         class_names=["a", "b", "c"]),
     ValueError, ["class_names", "2 names"]),
    ("plot_confusion_matrix totals='yes'",
     lambda: plots.plot_confusion_matrix(np.eye(2, dtype=int), totals="yes"),
     TypeError, ["totals", "True or False"]),
    ("plot_confusion_matrix fontsize=0",
     lambda: plots.plot_confusion_matrix(np.eye(2, dtype=int), fontsize=0),
     ValueError, ["fontsize", "0"]),
    ("plot_confusion_matrix ax='x'",
     lambda: plots.plot_confusion_matrix(np.eye(2, dtype=int), ax="x"),
     TypeError, ["ax", "matplotlib Axes", "str"]),
    # smooth / LivePlot
    ("smooth window=True", lambda: plots.smooth([1.0, 2.0], window=True),
     ValueError, ["window", "True"]),
    ("smooth a string", lambda: plots.smooth("123"),
     TypeError, ["values", "str"]),
    ("LivePlot window=2.5", lambda: plots.LivePlot(window=2.5),
     ValueError, ["window", "2.5"]),
    ("LivePlot every=inf", lambda: plots.LivePlot(every=float("inf")),
     ValueError, ["every", "inf"]),
    # learning_rate_explorer
    ("lr explorer lr=NaN", lambda: _lr(lr=float("nan")),
     ValueError, ["lr", "nan", "[0.001, 10]"]),
    ("lr explorer lr='0.1'", lambda: _lr(lr="0.1"),
     ValueError, ["lr", "'0.1'"]),
    ("lr explorer lr=0 (below the slider)", lambda: _lr(lr=0.0),
     ValueError, ["lr", "0.0", "[0.001, 10]"]),
    ("lr explorer batch_size=True", lambda: _lr(batch_size=True),
     ValueError, ["batch_size", "True"]),
    ("lr explorer batch size 0 among the choices",
     lambda: _lr(batch_sizes=(0, 32), batch_size=32),
     ValueError, ["batch_size choices", "ints >= 1", "0"]),
    ("lr explorer batch sizes a string", lambda: _lr(batch_sizes="32"),
     TypeError, ["batch_size choices", "str"]),
    ("lr explorer epochs 2.5 among the choices",
     lambda: _lr(epochs_choices=(1, 2.5), epochs=1),
     ValueError, ["epochs choices", "2.5"]),
    ("lr explorer num_hiddens=0", lambda: _lr(num_hiddens=0),
     ValueError, ["num_hiddens", "0"]),
    ("lr explorer seed='abc'", lambda: _lr(seed="abc"),
     ValueError, ["seed", "'abc'"]),
    ("lr explorer labels beyond 9",
     lambda: _lr(train_data=(np.zeros((5, 784), np.float32), np.full(5, 10))),
     ValueError, ["train_data", "labels", "[0, 10)", "10"]),
    ("lr explorer float labels",
     lambda: _lr(train_data=(np.zeros((5, 784), np.float32), np.zeros(5))),
     TypeError, ["train_data", "labels", "integer", "float64"]),
    ("lr explorer labels too short",
     lambda: _lr(train_data=(np.zeros((5, 784), np.float32), np.zeros(3, int))),
     ValueError, ["train_data", "labels", "(5,)", "(3,)"]),
    ("lr explorer NaN pixels",
     lambda: _lr(train_data=(_nan((5, 784)), np.zeros(5, int))),
     ValueError, ["train_data", "NaN"]),
    ("lr explorer empty training set",
     lambda: _lr(train_data=(np.zeros((0, 784), np.float32), np.zeros(0, int))),
     ValueError, ["train_data", "empty"]),
    ("lr explorer 1-D X",
     lambda: _lr(train_data=(np.zeros(784, np.float32), np.zeros(1, int))),
     ValueError, ["train_data", "(N, D)", "(784,)"]),
    ("lr explorer validation of another width",
     lambda: _lr(val_data=(np.zeros((5, 10), np.float32), np.zeros(5, int))),
     ValueError, ["val_data", "(N, 784)", "(5, 10)"]),
    ("lr explorer val_data a triple",
     lambda: _lr(val_data=(1, 2, 3)), TypeError, ["val_data", "pair", "tuple"]),
    # scalar_explorer
    ("scalar explorer lr=100", lambda: _sc(lr=100.0),
     ValueError, ["lr", "100", "[0.001, 3]"]),
    ("scalar explorer lr=-1", lambda: _sc(lr=-1.0), ValueError, ["lr", "-1"]),
    ("scalar explorer subset=-1", lambda: _sc(subset=-1),
     ValueError, ["subset", "-1", "> 0"]),
    ("scalar explorer subset='all'", lambda: _sc(subset="all"),
     TypeError, ["subset", "'all'"]),
    ("scalar explorer class 2 (two outputs)",
     lambda: _sc(c=np.arange(20) % 3), ValueError, ["labels", "[0, 2)", "2"]),
    ("scalar explorer 3 features", lambda: _sc(X=np.zeros((20, 3))),
     ValueError, ["X", "(N, 2)", "(20, 3)"]),
    ("scalar explorer NaN", lambda: _sc(X=_nan((20, 2))),
     ValueError, ["X", "NaN"]),
    ("scalar explorer string X", lambda: _sc(X=np.array([["a", "b"]] * 20)),
     TypeError, ["X", "numbers", "<U1"]),
    ("scalar explorer seed=-1", lambda: _sc(seed=-1),
     ValueError, ["seed", "-1"]),
    ("scalar explorer epochs choices empty",
     lambda: _sc(epochs_choices=(), epochs=1),
     ValueError, ["epochs", "empty"]),
    # Explorer
    ("Explorer controls a list",
     lambda: widgets.Explorer([1], lambda lr: lr, lambda *a: None, str),
     TypeError, ["controls", "dict", "list"]),
    ("Explorer control not a widget",
     lambda: widgets.Explorer({"lr": 0.1}, lambda lr: lr, lambda *a: None, str),
     TypeError, ["controls", "'lr'", "float"]),
    ("Explorer run not callable",
     lambda: widgets.Explorer(_control(), "train", lambda *a: None, str),
     TypeError, ["run", "function", "str"]),
    ("Explorer draw not callable",
     lambda: widgets.Explorer(_control(), lambda lr: lr, None, str),
     TypeError, ["draw", "function", "NoneType"]),
    ("Explorer figsize (0, 4)",
     lambda: widgets.Explorer(_control(), lambda lr: lr, lambda *a: None, str,
                              figsize=(0, 4)),
     ValueError, ["figsize", "(0, 4)"]),
    ("Explorer figsize 9", lambda: widgets.Explorer(
        _control(), lambda lr: lr, lambda *a: None, str, figsize=9),
     ValueError, ["figsize", "9"]),
    ("Explorer dpi=1000", lambda: widgets.Explorer(
        _control(), lambda lr: lr, lambda *a: None, str, dpi=1000),
     ValueError, ["dpi", "1000"]),
]


@pytest.mark.parametrize("name, call, error, words", SWEEP, ids=[c[0] for c in SWEEP])
def test_plots_and_widgets_refuse_bad_input_clearly(name, call, error, words):
    assert_clear_error(name, call, error, words)
