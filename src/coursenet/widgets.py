"""Interactive explorers: move a control, retrain on a subset, redraw.

An :class:`Explorer` owns a few ipywidgets controls, a function that trains
for a setting and a function that draws the result. Results are cached by
setting, so returning to a setting is instant. Sliders use
``continuous_update=False``: one run per release, not one per pixel.

Everything here works without a browser: set ``control.value`` (or call
:meth:`Explorer.update`) and read ``explorer.result``, ``explorer.figure``
and ``explorer.image.value`` (PNG bytes).
"""

from __future__ import annotations

import base64
import html
import io
import numbers
import time

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from coursenet import mlp, plots, scalar
from coursenet.train import sgd


class Explorer:
    """Controls -> ``run(**values)`` (cached) -> ``draw(fig, result, values)``."""

    def __init__(self, controls, run, draw, describe, figsize=(10, 3.8)):
        self.controls = dict(controls)
        self._run = run
        self._draw = draw
        self._describe = describe
        self.figsize = figsize
        self.cache = {}
        self.result = None
        self.figure = None
        self.seconds = 0.0
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.widget = widgets.VBox([
            widgets.HBox(list(self.controls.values())), self.status, self.image])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    @staticmethod
    def key(values) -> tuple:
        # floats from a log slider: 6 significant digits identify a setting
        return tuple((k, float(f"{v:.6g}") if isinstance(v, float) else v)
                     for k, v in sorted(values.items()))

    def update(self):
        """Train (or fetch from the cache) for the current values and redraw.

        Any error of a run (divergence, bad settings, anything) is shown in
        the picture and the status line instead of escaping, and the controls
        stay usable: the next move trains again.
        """
        values = self.values()
        key = self.key(values)
        cached = key in self.cache
        start = time.perf_counter()
        if not cached:
            self.status.value = f"<b>training…</b> {self._describe(values)}"
            try:
                self.cache[key] = self._run(**values)
            except Exception as err:  # shown to the student; the explorer goes on
                self.cache[key] = err
        self.result = self.cache[key]
        self.seconds = time.perf_counter() - start
        fig = Figure(figsize=self.figsize, layout="constrained")
        if not isinstance(self.result, Exception):
            try:
                self._draw(fig, self.result, values, self.cache)
            except Exception as err:
                self.result = err
                fig.clear()
        if isinstance(self.result, Exception):
            fig.text(0.5, 0.5, self._error_text(self.result), ha="center",
                     va="center", wrap=True, color="C3")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)
        self.figure = fig
        self.image.value = buf.getvalue()
        if isinstance(self.result, Exception):
            error = html.escape(self._error_text(self.result))
            how = f"<span style='color:#c00'>failed: {error}</span>"
        else:
            how = "from the cache" if cached else f"trained in {self.seconds:.2f} s"
        self.status.value = f"{self._describe(values)} — {how}"

    @staticmethod
    def _error_text(err):
        return f"{type(err).__name__}: {err}"

    def _on_change(self, change):
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        """The live widget, plus a picture of the current plot for where the
        widget cannot run (a saved notebook reopened, a static viewer)."""
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        bundle["image/png"] = base64.b64encode(bytes(self.image.value)).decode()
        bundle["text/plain"] = (f"{type(self).__name__}: {self.status.value} (run the"
                                " cell in JupyterLab to use the controls)")
        return bundle


def _lr_slider(value, lo, hi):
    # a slider clamps a value outside its range without a word: refuse it here
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not lo <= value <= hi:
        raise ValueError(f"lr must be a number in [{lo:g}, {hi:g}] (the slider's"
                         f" range), got {value!r}")
    return widgets.FloatLogSlider(
        value=value, base=10, min=np.log10(lo), max=np.log10(hi), step=0.05,
        description="learning rate", readout_format=".3g",
        continuous_update=False, style={"description_width": "initial"})


def _choice(value, options, name):
    """``value`` must be one of ``options`` (a dropdown cannot show anything else)."""
    options = tuple(options)
    if not options:
        raise ValueError(f"the list of {name} choices is empty")
    if isinstance(value, bool) or value not in options:
        raise ValueError(f"{name} must be one of {options} (the dropdown's"
                         f" choices), got {value!r}")
    return options


def _subset(subset):
    if isinstance(subset, bool) or not isinstance(subset, numbers.Integral):
        raise TypeError(f"subset must be an int (rows to train on), got {subset!r}")
    if subset <= 0:
        raise ValueError(f"subset must be > 0 (rows to train on), got {subset!r}")
    return int(subset)


def _pair(data, name):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (X, y), got {type(data).__name__}")
    return data


def learning_rate_explorer(train_data, val_data, *, subset=5000, num_hiddens=300,
                           lr=0.1, batch_sizes=(16, 32, 64, 128), batch_size=32,
                           epochs_choices=(1, 2, 3, 5), epochs=2, seed=0):
    """The Q7 explorer: retrain the MNIST MLP on ``subset`` rows per setting.

    ``train_data`` and ``val_data`` are ``(X float, y int)`` pairs. The left
    panel is the run's learning curve; the right one collects the final
    validation accuracy of every run so far against its learning rate.
    """
    subset = _subset(subset)
    batch_sizes = _choice(batch_size, batch_sizes, "batch_size")
    epochs_choices = _choice(epochs, epochs_choices, "epochs")
    X, y = _pair(train_data, "train_data")
    X, y = X[:subset], y[:subset]
    Xv, yv = _pair(val_data, "val_data")
    controls = {
        "lr": _lr_slider(lr, 1e-3, 10.0),
        "batch_size": widgets.Dropdown(options=list(batch_sizes), value=batch_size,
                                       description="batch size"),
        "epochs": widgets.Dropdown(options=list(epochs_choices), value=epochs,
                                   description="epochs"),
    }

    def run(lr, batch_size, epochs):
        params = mlp.init_mlp(X.shape[1], num_hiddens, 10, seed=seed, dtype=X.dtype)
        return sgd(params, (X, y), lr=lr, batch_size=batch_size, epochs=epochs,
                   seed=seed, val_data=(Xv, yv), progress=False)

    def draw(fig, history, values, cache):
        ax1, ax2 = fig.subplots(1, 2)
        plots.learning_curve(history, ax=ax1)
        ax1.set_title(f"lr = {values['lr']:.3g}, batch {values['batch_size']}")
        runs = [(dict(k)["lr"], h.epoch_val_acc[-1]) for k, h in cache.items()
                if not isinstance(h, Exception)
                and dict(k)["batch_size"] == values["batch_size"]
                and dict(k)["epochs"] == values["epochs"]]
        lrs, accs = np.array(sorted(runs)).reshape(-1, 2).T
        ax2.plot(lrs, accs, "o:", color="0.5", label="runs so far")
        ax2.plot([values["lr"]], [history.epoch_val_acc[-1]], "o", color="C3", ms=9,
                 label="this run")
        ax2.set_xscale("log")
        ax2.set_xlabel("learning rate")
        ax2.set_ylabel("validation accuracy")
        ax2.set_title(f"after {values['epochs']} epoch(s)")
        ax2.legend()

    def describe(values):
        return (f"learning rate = {values['lr']:.3g}, batch size ="
                f" {values['batch_size']}, epochs = {values['epochs']}")

    return Explorer(controls, run, draw, describe)


def scalar_explorer(X, y, *, subset=2000, lr=0.05, epochs=2,
                    epochs_choices=(1, 2, 3, 5), seed=0):
    """The Q4 explorer: the plain-Python 2-3-2 network trained on ``subset`` rows."""
    subset = _subset(subset)
    epochs_choices = _choice(epochs, epochs_choices, "epochs")
    X, y = np.asarray(X)[:subset], np.asarray(y)[:subset]
    rows, labels = X.tolist(), y.tolist()
    controls = {
        "lr": _lr_slider(lr, 1e-3, 3.0),
        "epochs": widgets.Dropdown(options=list(epochs_choices), value=epochs,
                                   description="epochs"),
    }

    def run(lr, epochs):
        params = scalar.init_params(seed=seed)
        return scalar.train(params, (rows, labels), lr=lr, epochs=epochs, seed=seed,
                            progress=False)

    def draw(fig, history, values, cache):
        ax1, ax2 = fig.subplots(1, 2)
        plots.learning_curve(history, ax=ax1, window=100)
        ax1.set_title(f"lr = {values['lr']:.3g}: final mean loss"
                      f" {history.epoch_train_loss[-1]:.3f}")
        params = mlp.from_scalar(history.params)
        plots.decision_boundary(lambda g: mlp.probabilities(params, g)[:, 1], X, y,
                                ax=ax2, resolution=120, max_points=1000)
        ax2.set_title("learned P(class 1); black line: P = 0.5")

    def describe(values):
        return f"learning rate = {values['lr']:.3g}, epochs = {values['epochs']}"

    return Explorer(controls, run, draw, describe)
