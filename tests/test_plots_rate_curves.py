"""plots.rate_curves (notebook 03's six-rate figure): one line per rate, each
with its own colour and line style, a log y axis that says so, ln 2 marked
beneath the curves."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from coursenet import plots  # noqa: E402
from coursenet.history import History  # noqa: E402


def run(level, n=500):
    history = History(lr=0.1, batch_size=1, epochs=1, seed=0, steps_per_epoch=n,
                      params={})
    history.step_loss.extend(level * (1 + 0.1 * np.sin(np.arange(n))))
    return history


def test_each_rate_its_own_style_and_the_axis_says_log():
    runs = {0.9: run(0.2), 0.01: run(0.21), 10.0: run(5.0)}
    ax = plots.rate_curves(runs, window=50)
    lines = [line for line in ax.get_lines() if line.get_label().startswith("lr")]
    assert [line.get_label() for line in lines] == ["lr = 0.9", "lr = 0.01", "lr = 10"]
    styles = {(line.get_color(), str(line.get_linestyle())) for line in lines}
    assert len({str(line.get_linestyle()) for line in lines}) == 3 and len(styles) == 3
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    assert any(line.get_label().startswith("ln 2") for line in ax.get_lines())


def test_curves_that_lie_on_each_other_or_on_ln_2_stay_visible():
    """Each rate has its own marker, placed at staggered steps (two curves at
    one level do not hide each other's markers), and ln 2 is drawn beneath
    them: notebook 03's lr = 0.001 curve lies exactly on ln 2, and a reference
    line on top left only its markers to see. The line stays distinguishable:
    grey (no curve is), dashed and labelled."""
    runs = {0.9: run(0.2), 0.01: run(0.2), 0.001: run(float(np.log(2)))}
    ax = plots.rate_curves(runs, window=50)
    lines = [line for line in ax.get_lines() if line.get_label().startswith("lr")]
    assert len({line.get_marker() for line in lines}) == 3
    steps = [set(line.get_xdata()[line.get_markevery()[0]::line.get_markevery()[1]])
             for line in lines]
    assert not steps[0] & steps[1] and not steps[1] & steps[2], steps
    ln2 = [line for line in ax.get_lines() if line.get_label().startswith("ln 2")]
    assert len(ln2) == 1 and ln2[0].get_zorder() < min(line.get_zorder()
                                                        for line in lines)
    assert ln2[0].get_linestyle() == "--"
    grey = to_rgb(ln2[0].get_color())
    assert grey[0] == grey[1] == grey[2] and 0.3 <= grey[0] <= 0.7
    assert all(len(set(to_rgb(line.get_color()))) > 1 for line in lines)
    assert "ln 2" in [t.get_text() for t in ax.get_legend().get_texts()][-1]


def test_bad_runs_are_refused():
    with pytest.raises(TypeError, match="runs must be"):
        plots.rate_curves([])
