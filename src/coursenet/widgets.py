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
import math
import numbers
import time

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from coursenet import mlp, plots, scalar, train


class Explorer:
    """Controls -> ``run(**values)`` (cached) -> ``draw(fig, result, values, cache)``.

    ``controls`` maps each keyword of ``run`` to an ipywidgets control;
    ``describe(values)`` gives the one-line status; ``extras`` are widgets
    shown under the controls (a typed value, a line of help). The picture is
    ``figsize`` inches at ``dpi`` (default 9.2 x 4.4 in at 100 dpi: 920 px,
    the width of JupyterLab's output area on a 1366-px laptop screen), and
    never wider than the output area.
    """

    def __init__(self, controls, run, draw, describe, figsize=(9.2, 4.4), dpi=100,
                 extras=()):
        if not hasattr(controls, "items"):
            raise TypeError("controls must be a dict {name: ipywidgets control}, got"
                            f" {type(controls).__name__}")
        for name, control in controls.items():
            if not isinstance(name, str) \
                    or not isinstance(control, widgets.ValueWidget):
                raise TypeError("controls must map names (str) to ipywidgets"
                                f" controls, got {name!r}: {type(control).__name__}")
        for name, fn in (("run", run), ("draw", draw), ("describe", describe)):
            if not callable(fn):
                raise TypeError(f"{name} must be a function, got {type(fn).__name__}")
        if not isinstance(figsize, (tuple, list)) or len(figsize) != 2 or any(
                isinstance(v, bool) or not isinstance(v, numbers.Real)
                or not 0 < v <= 30 for v in figsize):
            raise ValueError("figsize must be (width, height) in inches, each in"
                             f" (0, 30], got {figsize!r}")
        if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real) \
                or not 20 <= dpi <= 300:
            raise ValueError(f"dpi must be a number in [20, 300], got {dpi!r}")
        self.controls = dict(controls)
        self._run = run
        self._draw = draw
        self._describe = describe
        self.figsize = tuple(figsize)
        self.dpi = dpi
        self.cache = {}
        self.result = None
        self.figure = None
        self.seconds = 0.0
        self.status = widgets.HTML()
        # scaled down (never up) to the output area's width
        self.image = widgets.Image(format="png", layout=widgets.Layout(
            max_width="100%", height="auto"))
        self.extras = list(extras)
        # the controls wrap onto a second line rather than overflow a narrow screen
        self.widget = widgets.VBox([
            widgets.HBox(list(self.controls.values()),
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox(self.extras, layout=widgets.Layout(flex_flow="row wrap",
                                                            align_items="center")),
            self.status, self.image])
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
        fig.savefig(buf, format="png", dpi=self.dpi)
        self.figure = fig
        self.image.value = buf.getvalue()
        if isinstance(self.result, Exception):
            error = html.escape(self._error_text(self.result))
            how = f"<span style='color:#c00'>failed: {error}</span>"
        else:
            how = "from the cache" if cached else f"trained in {self.seconds:.2f} s"
        self.status.value = f"{self._describe(values)}: {how}"

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


def _narrow():
    return widgets.Layout(width="170px")  # a dropdown of a few small numbers


#: the slider's step, in decades: the arrow keys move the rate by 10**0.01,
#: about 2.3% a press
LR_STEP = 0.01


def _lr_slider(value, lo, hi):
    # a slider clamps a value outside its range without a word: refuse it here
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not lo <= value <= hi:
        raise ValueError(f"lr must be a number in [{lo:g}, {hi:g}] (the slider's"
                         f" range), got {value!r}")
    # 560 px for the whole control leaves a track of about 100 px a decade
    return widgets.FloatLogSlider(
        value=value, base=10, min=np.log10(lo), max=np.log10(hi), step=LR_STEP,
        description="learning rate", readout_format=".3g",
        continuous_update=False, style={"description_width": "initial"},
        layout=widgets.Layout(width="560px"))


def _lr_typed(slider):
    """A box to type the rate into, kept equal to ``slider``; and a line on the
    keys. A value outside the slider's range is clamped by the box, as typed
    numbers are by any bounded ipywidgets box."""
    low, high = slider.base ** slider.min, slider.base ** slider.max
    box = widgets.BoundedFloatText(value=float(f"{slider.value:.4g}"), min=low,
                                   max=high,
                                   description="or type it:",
                                   style={"description_width": "initial"},
                                   layout=widgets.Layout(width="190px"))
    # kept equal both ways; the box shows the slider's value to 4 digits, and a
    # rounded echo coming back does not move the slider (nor retrain)
    def to_box(change):
        box.value = float(f"{change['new']:.4g}")

    def to_slider(change):
        if not math.isclose(slider.value, change["new"], rel_tol=1e-3):
            slider.value = change["new"]

    slider.observe(to_box, names="value")
    box.observe(to_slider, names="value")
    factor = slider.base ** slider.step
    help_line = widgets.HTML(
        f"<small>Log scale, {low:g} to {high:g}: click the slider, then ← → step the"
        f" rate by ×{factor:.3f} (about {100 * (factor - 1):.0f}%); a typed rate"
        " applies on Enter.</small>")
    return box, help_line


def _choice(value, options, name):
    """``value`` must be one of ``options`` (a dropdown cannot show anything else),
    and every option an int >= 1."""
    if isinstance(options, (str, bytes)) or not hasattr(options, "__iter__"):
        raise TypeError(f"the {name} choices must be a tuple of ints, got"
                        f" {type(options).__name__} {options!r}")
    options = tuple(options)
    if not options:
        raise ValueError(f"the list of {name} choices is empty")
    for option in options:
        if isinstance(option, bool) or not isinstance(option, numbers.Integral) \
                or option < 1:
            raise ValueError(f"the {name} choices must be ints >= 1, got {option!r}"
                             f" in {options}")
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
        raise TypeError(f"{name} must be a pair (X, labels), got"
                        f" {type(data).__name__}")
    return data


def _rows_and_labels(X, labels, name, num_classes, columns=None):
    """``X`` ``(N, D)`` finite numbers and ``labels`` ``(N,)`` class indices in
    ``[0, num_classes)``, as numpy arrays, or a clear error naming ``name``."""
    X, labels = np.asarray(X), np.asarray(labels)
    if X.dtype.kind not in "fiu":
        raise TypeError(f"{name} X must hold numbers, got dtype {X.dtype}")
    if X.ndim != 2 or (columns is not None and X.shape[1] != columns):
        want = f"(N, {columns})" if columns is not None else "(N, D)"
        raise ValueError(f"{name} X must have shape {want}, got {X.shape}")
    if len(X) == 0:
        raise ValueError(f"{name} X is empty (shape {X.shape}): nothing to train on")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} X holds NaN or inf")
    if labels.shape != (len(X),):
        raise ValueError(f"{name} labels must have shape ({len(X)},) (one class"
                         f" index per row of X), got {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name} labels must be integer class indices, got dtype"
                        f" {labels.dtype}")
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise ValueError(f"{name} labels must be class indices in [0,"
                         f" {num_classes}) (the network has {num_classes} outputs),"
                         f" got {int(bad[0])}")
    return X, labels


def _rows_note(subset, total, what="training images"):
    # the explorers never shorten a request silently: they say what they use
    if subset >= total:
        return f"all {total:,} {what}"
    return f"the first {subset:,} of the {total:,} {what}"


def learning_rate_explorer(train_data, val_data, *, subset=5000, num_hiddens=300,
                           lr=0.1, batch_sizes=(16, 32, 64, 128), batch_size=32,
                           epochs_choices=(1, 2, 3, 5), epochs=2, seed=0):
    """The Q7 explorer: retrain the MNIST MLP on ``subset`` rows per setting.

    ``train_data`` and ``val_data`` are ``(X, labels)`` pairs: rows of pixels
    (floats) and class indices ``c`` in 0..9. The left panel is the run's
    learning curve; the right one collects the final validation accuracy of
    every run so far against its learning rate. The status line says how many
    rows were used (all of them when ``subset`` is larger).
    """
    lr_slider = _lr_slider(lr, 1e-3, 10.0)
    subset = _subset(subset)
    batch_sizes = _choice(batch_size, batch_sizes, "batch_size")
    epochs_choices = _choice(epochs, epochs_choices, "epochs")
    num_hiddens = plots._int_at_least(num_hiddens, "num_hiddens", 1)
    seed = plots._int_at_least(seed, "seed", 0)
    X, y = _rows_and_labels(*_pair(train_data, "train_data"), "train_data", 10)
    Xv, yv = _rows_and_labels(*_pair(val_data, "val_data"), "val_data", 10,
                              columns=X.shape[1])
    rows = _rows_note(subset, len(X))
    X, y = X[:subset], y[:subset]
    lr_box, lr_help = _lr_typed(lr_slider)
    controls = {
        "lr": lr_slider,
        "batch_size": widgets.Dropdown(options=list(batch_sizes), value=batch_size,
                                       description="batch size", layout=_narrow()),
        "epochs": widgets.Dropdown(options=list(epochs_choices), value=epochs,
                                   description="epochs", layout=_narrow()),
    }

    def run(lr, batch_size, epochs):
        params = mlp.init_mlp(X.shape[1], num_hiddens, 10, seed=seed, dtype=X.dtype)
        return train.sgd(params, (X, y), lr=lr, batch_size=batch_size,
                         epochs=epochs, seed=seed, val_data=(Xv, yv), progress=False)

    def draw(fig, history, values, cache):
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
        plots.learning_curve(history, ax=ax1, legend=None)
        plots._show_dots_in_legend(ax1.legend(loc="upper center",
                                              bbox_to_anchor=(0.5, -0.16)))
        ax1.set_title(f"lr = {values['lr']:.3g}, batch {values['batch_size']}")
        _accuracy_by_rate(ax2, history, values, cache, lr_slider)

    def describe(values):
        return (f"learning rate = {values['lr']:.3g}, batch size ="
                f" {values['batch_size']}, epochs = {values['epochs']}, on {rows}")

    return Explorer(controls, run, draw, describe, extras=[lr_box, lr_help])


def train_with_your_functions(forward, backward, sgd_step, params, train_data, *,
                              lr, epochs, seed, val_data):
    """:func:`coursenet.scalar.train`'s loop (same shuffling, same evaluation)
    with the student's ``forward``, ``backward`` and ``sgd_step`` (notebooks 02
    and 03), under a progress bar.

    ``train_data``/``val_data``: ``(X (N, 2), labels (N,))``. One step runs on a
    copy before the bar appears, so an unwritten function stops the run (its
    ``NotImplementedError`` goes to the caller) with no bar drawn. A loss that
    is not finite raises :class:`~coursenet.exercises.NotFinite` naming
    ``forward``, a step that leaves params as they were
    :class:`~coursenet.exercises.RunStopped` (one line inside
    ``needs_your_code``). Returns a
    :class:`~coursenet.history.History` (``batch_size=1``; ``params`` trained in
    place).
    """
    import copy
    import random

    from tqdm.auto import tqdm

    from coursenet.history import History

    X, labels = (np.asarray(a).tolist() for a in _pair(train_data, "train_data"))
    val = [np.asarray(a).tolist() for a in _pair(val_data, "val_data")]
    trial = copy.deepcopy(params)
    sgd_step(trial, backward(params, forward(params, X[0], labels[0])[1]), lr)
    if _same_params(trial, params):   # wrong but running code: nothing trains
        from coursenet.exercises import RunStopped
        raise RunStopped("your `sgd_step` left params as they were after a step,"
                         " so this run would train nothing")
    history = History(lr=lr, batch_size=1, epochs=epochs, seed=seed,
                      steps_per_epoch=len(X), params=params)
    _record_epoch(history, params, (X, labels), val)
    rng, order = random.Random(seed), list(range(len(X)))
    with tqdm(total=epochs * len(X), desc="SGD with your functions", unit="inst",
              miniters=1000) as bar:
        for _ in range(epochs):
            rng.shuffle(order)
            for n in order:
                loss, cache = forward(params, X[n], labels[n])
                if not math.isfinite(loss):   # wrong but running code: say where
                    from coursenet.exercises import NotFinite
                    raise NotFinite(
                        f"your `forward` returned the loss {loss} after"
                        f" {len(history.step_loss):,} updates: the parameters your"
                        " `backward` and `sgd_step` made are not finite")
                sgd_step(params, backward(params, cache), lr)
                history.step_loss.append(loss)
                bar.update(1)
            _record_epoch(history, params, (X, labels), val)
    return history


def _same_params(a, b):
    """Whether two parameter dicts (nested lists, or the arrays a student's
    step may have put in their place) hold the same numbers."""
    try:
        return a.keys() == b.keys() and all(
            np.array_equal(np.asarray(a[k], dtype=np.float64),
                           np.asarray(b[k], dtype=np.float64)) for k in a)
    except (TypeError, ValueError):   # ragged or not numbers: not the same
        return False


def _record_epoch(history, params, train_rows, val_rows):
    # the whole-set loss and accuracy, as scalar.train records them
    for rows, losses, accs in ((train_rows, history.epoch_train_loss,
                                history.epoch_train_acc),
                               (val_rows, history.epoch_val_loss,
                                history.epoch_val_acc)):
        loss, acc = scalar.evaluate(params, *rows)
        losses.append(loss)
        accs.append(acc)


def _accuracy_by_rate(ax, history, values, cache, lr_slider):
    """The explorer's right panel: the final validation accuracy of every run
    so far with this batch size and number of epochs, against its learning
    rate (log axis, a labelled tick on every decade of the slider's range)."""
    runs = [(dict(k)["lr"], h.epoch_val_acc[-1]) for k, h in cache.items()
            if not isinstance(h, Exception)
            and dict(k)["batch_size"] == values["batch_size"]
            and dict(k)["epochs"] == values["epochs"]]
    lrs, accs = np.array(sorted(runs)).reshape(-1, 2).T
    ax.plot(lrs, accs, "o:", color="0.5", label="runs so far")
    ax.plot([values["lr"]], [history.epoch_val_acc[-1]], "o", color="C3", ms=9,
            label="this run")
    ax.set_xscale("log")
    ax.set_xlim(10 ** lr_slider.min / 1.5, 10 ** lr_slider.max * 1.5)
    ax.set_xticks([10.0 ** k for k in range(round(lr_slider.min),
                                            round(lr_slider.max) + 1)])
    plots._plain_log_x(ax)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("validation accuracy")
    epochs = values["epochs"]
    ax.set_title(f"after {epochs} epoch{'' if epochs == 1 else 's'}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16))


def scalar_explorer(X, labels, *, subset=2000, lr=0.05, epochs=2,
                    epochs_choices=(1, 2, 3, 5), seed=0):
    """The Q4 explorer: the plain-Python 2-3-2 network trained on ``subset`` rows.

    ``X`` holds 2-D rows ``(N, 2)`` and ``labels`` their class indices ``c``
    (0 or 1). Left: the loss of each instance (dots), its moving average and
    the loss on all the subset's rows once per epoch (markers), on a log axis;
    right: the learned P(class 1) with its colour bar and the points in the
    course's class colours.
    """
    lr_slider = _lr_slider(lr, 1e-3, 3.0)
    subset = _subset(subset)
    epochs_choices = _choice(epochs, epochs_choices, "epochs")
    seed = plots._int_at_least(seed, "seed", 0)
    X, labels = _rows_and_labels(X, labels, "scalar_explorer's", 2,
                                 columns=2)
    note = _rows_note(subset, len(X), "training points")
    X, labels = X[:subset], labels[:subset]
    lr_box, lr_help = _lr_typed(lr_slider)
    rows, classes = X.tolist(), labels.tolist()
    controls = {
        "lr": lr_slider,
        "epochs": widgets.Dropdown(options=list(epochs_choices), value=epochs,
                                   description="epochs", layout=_narrow()),
    }

    def run(lr, epochs):
        params = scalar.init_params(seed=seed)
        return scalar.train(params, (rows, classes), lr=lr, epochs=epochs, seed=seed,
                            progress=False)

    def draw(fig, history, values, cache):
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        plots.learning_curve(history, ax=ax1, window=100, legend=None)
        plots._show_dots_in_legend(ax1.legend(loc="upper center",
                                              bbox_to_anchor=(0.5, -0.16)))
        ax1.set_title(f"lr = {values['lr']:.3g}: subset loss"
                      f" {history.epoch_train_loss[-1]:.3f} after epoch"
                      f" {len(history.epoch_train_loss) - 1}")
        params = mlp.from_scalar(history.params)
        plots.decision_boundary(lambda g: mlp.probabilities(params, g)[:, 1], X,
                                labels, ax=ax2, resolution=120, max_points=1000)
        ax2.set_title("learned P(class 1)\nblack line: P = 0.5")

    def describe(values):
        return (f"learning rate = {values['lr']:.3g}, epochs = {values['epochs']},"
                f" on {note}")

    return Explorer(controls, run, draw, describe, extras=[lr_box, lr_help])
