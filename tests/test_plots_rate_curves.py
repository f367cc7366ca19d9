"""plots.rate_curves (notebook 03's six-rate figure): one line per rate, each
with its own colour and line style, a log y axis that says so, ln 2 marked."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

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
    assert any(line.get_label() == "ln 2" for line in ax.get_lines())


def test_curves_that_lie_on_each_other_or_on_ln_2_stay_visible():
    """Each rate has its own marker, placed at staggered steps (two curves at
    one level do not hide each other's markers), and ln 2 is drawn over them."""
    runs = {0.9: run(0.2), 0.01: run(0.2), 0.001: run(float(np.log(2)))}
    ax = plots.rate_curves(runs, window=50)
    lines = [line for line in ax.get_lines() if line.get_label().startswith("lr")]
    assert len({line.get_marker() for line in lines}) == 3
    steps = [set(line.get_xdata()[line.get_markevery()[0]::line.get_markevery()[1]])
             for line in lines]
    assert not steps[0] & steps[1] and not steps[1] & steps[2], steps
    ln2 = [line for line in ax.get_lines() if line.get_label() == "ln 2"][0]
    assert ln2.get_zorder() > max(line.get_zorder() for line in lines)


def test_bad_runs_are_refused():
    with pytest.raises(TypeError, match="runs must be"):
        plots.rate_curves([])
