"""Pictures of training runs and data. Every function draws data it is given.

Functions take an optional matplotlib ``ax`` and return it, so notebooks can
compose them; none of them trains anything. Notation (notebook 01's card):
rows are instances, ``y`` means the softmax's probabilities, so the class of
each instance is an integer *class index* ``c`` (arguments ``labels``).

Sizes are for a laptop: every figure made here is at most 9.3 inches wide
(930 px at 100 dpi, JupyterLab's output area at 1366x768), and its text is at
least 9 pt (12 px at 100 dpi).
"""

from __future__ import annotations

import numbers
import time

import numpy as np

#: the course's two classes, the same in every figure: class 0 navy (white
#: edge), class 1 gold (dark edge); both stand out on the red/blue shading of
#: :func:`decision_boundary`.
CLASS_STYLE = {0: {"color": "navy", "edgecolors": "white"},
               1: {"color": "gold", "edgecolors": "0.15"}}

#: widest figure the package makes, in inches (at 100 dpi: 930 px)
MAX_WIDTH = 9.3


def _axes(ax, figsize=(6, 4)):
    if ax is not None:
        if not hasattr(ax, "plot") or not hasattr(ax, "set_xlabel"):
            raise TypeError("ax must be a matplotlib Axes (e.g. from"
                            f" plt.subplots()) or None, got {type(ax).__name__}")
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def _points_2d(X, labels, what):
    """``X (N, 2)`` of finite numbers and ``labels (N,)``, as arrays, or a clear
    error naming ``what`` (the function) and the shapes or dtype."""
    X, labels = np.asarray(X), np.asarray(labels)
    if X.ndim != 2 or X.shape[1] != 2 or labels.shape != (len(X),):
        raise ValueError(f"{what} draws 2-D data: X must have shape (N, 2)"
                         f" and labels shape (N,), got {X.shape} and {labels.shape}")
    if len(X) == 0:
        raise ValueError(f"X is empty (shape (0, 2)): {what} has no points to draw")
    if X.dtype.kind not in "fiu" or not np.isfinite(X).all():
        raise ValueError(f"X must hold finite numbers, got dtype {X.dtype}"
                         + (" with NaN or inf" if X.dtype.kind == "f" else ""))
    return X, labels


def _int_at_least(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _color(value, name):
    """``value`` if matplotlib takes it as a colour, else a clear error."""
    from matplotlib.colors import is_color_like

    if value is not None and (isinstance(value, bool) or not is_color_like(value)):
        raise ValueError(f"{name} must be a matplotlib colour (e.g. 'C0', 'navy',"
                         f" '0.5') or None, got {value!r}")
    return value


def _text(value, name):
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a string or None, got"
                        f" {type(value).__name__} {value!r}")
    return value


def _choice(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def _log_scale(ax, values, minor_labels=True, what=("value", "values")):
    """Log y axis over ``values`` with plain-number tick labels (0.01, 0.1, 1).

    The axis reaches the smallest positive value and the largest (no floor: a
    loss of 1e-9 is drawn where it lies), over a decade at least. A log axis
    has no place for 0 or a negative number: if ``values`` hold any, a line in
    the axes says how many were not drawn (``what``: the noun, singular and
    plural). Ticks read as numbers, never ``2×10⁰`` (``1e-6`` below 0.0001);
    when the axis spans less than two decades the 2 and 5 minor ticks are
    labelled too.
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    left_out = int(np.count_nonzero(values <= 0))
    values = values[values > 0]
    ax.set_yscale("log")
    if left_out:
        ax.text(0.01, 0.015, f"{left_out:,} {what[left_out != 1]} ≤ 0 not drawn"
                " (a log axis has no 0)", transform=ax.transAxes, ha="left",
                va="bottom", fontsize=9, zorder=10,
                bbox={"facecolor": "white", "alpha": 0.85, "pad": 2, "lw": 0})
    if values.size == 0:
        return
    low, high = values.min(), values.max()
    low = min(low, high / 10)
    ax.set_ylim(low / 1.5, high * 1.5)
    plain = FuncFormatter(lambda v, _: _plain_number(v))
    ax.yaxis.set_major_formatter(plain)
    if minor_labels and np.log10(high / low) < 2:
        ax.yaxis.set_minor_formatter(FuncFormatter(
            lambda v, _: _plain_number(v) if round(v / 10 ** np.floor(np.log10(v)))
            in (2, 5) else ""))
    else:
        ax.yaxis.set_minor_formatter(NullFormatter())


def _plain_number(v):
    """0.001, 0.5, 20 as written; below 0.0001 (or from a million) the course's
    code notation, 1e-6 (Python's ``g`` would write 1e-06)."""
    text = f"{v:g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _spans_decades(values, decades=1.0):
    values = values[np.isfinite(values) & (values > 0)]
    return values.size > 0 and np.log10(values.max() / values.min()) >= decades


def _legend(ax, where, **kwargs):
    """``where``: 'below' (under the axes, never on a curve), 'right' (beside
    it), 'best' (matplotlib's least-covering corner) or None (no legend)."""
    if where is None:
        return None
    if where == "below":
        kwargs.setdefault("ncol", 2)
        return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16),
                         **kwargs)
    if where == "right":
        return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), **kwargs)
    return ax.legend(loc="best", **kwargs)


def smooth(values, window=50):
    """Trailing moving average (the first entries average what exists so far).

    Each output is the mean of its own window, summed afresh (not a running
    sum, whose rounding a 1e16 spike would ruin for good): a NaN or a spike
    affects only the ``window`` outputs whose window holds it.
    """
    values = _numbers_1d(values, "values")
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) \
            or window < 1:
        raise ValueError(f"window must be an int >= 1, got {window!r}")
    if values.size == 0:
        return values
    window = min(int(window), len(values))
    # sum of each trailing window: np.convolve sums every window separately
    sums = np.convolve(values, np.ones(window))[:len(values)]
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return sums / counts


def learning_curve(history, ax=None, window=None, label=None, color=None,
                   raw=True, yscale="auto", legend="below"):
    """Loss of every step, its moving average, and the whole-set loss per epoch.

    Draws the :class:`~coursenet.history.History` of either network: a step is
    one minibatch for :func:`coursenet.train.sgd` and one instance for
    :func:`coursenet.scalar.train`. ``raw=True`` draws the loss of each step
    (grey: dots for single instances, a thin line for batches); the moving
    average of ``window`` steps (default: a tenth of an epoch) is the solid
    line. The losses on the whole training (and validation) set are measured
    once per epoch, so they are drawn as markers only, at the step where each
    epoch ended: nothing is measured between them.

    ``yscale``: ``"auto"`` (log when the drawn losses span a decade or more,
    with plain-number ticks), ``"log"`` or ``"linear"``. ``legend``:
    ``"below"`` the axes (never on a curve), ``"right"``, ``"best"`` or None.
    ``label``/``color`` name and colour one run among several on one ``ax``
    (then the epoch markers are left out).
    """
    _check_history(history, ("step_loss", "steps_per_epoch", "epoch_train_loss",
                             "epoch_val_loss"))
    if not isinstance(raw, bool):
        raise TypeError(f"raw must be True or False, got {raw!r}")
    _text(label, "label")
    _color(color, "color")
    _choice(yscale, "yscale", ("auto", "log", "linear"))
    if legend is not None:
        _choice(legend, "legend", ("below", "right", "best"))
    loss = _numbers_1d(history.step_loss, "history.step_loss")
    if loss.size == 0:
        raise ValueError("history.step_loss is empty: the run has no steps to draw")
    if window is None:
        window = max(1, history.steps_per_epoch // 10)
    window = _int_at_least(window, "window", 1)
    ax = _axes(ax)
    steps = np.arange(1, len(loss) + 1)
    one = getattr(history, "batch_size", None) == 1
    unit = "instance" if one else "batch"
    if raw:
        _draw_step_losses(ax, steps, loss, one, color, label)
    smoothed = smooth(loss, window)
    ax.plot(steps, smoothed, color=color or "C0", lw=1.6,
            label=label or f"moving average of {window:,} {unit}"
            f"{('es' if unit == 'batch' else 's') if window > 1 else ''}")
    shown = [loss if raw else smoothed]
    if label is None:
        shown += _draw_epoch_losses(ax, history)
    shown = np.concatenate(shown)
    log = yscale == "log" or (yscale == "auto" and _spans_decades(shown))
    if log:
        _log_scale(ax, shown, what=("loss", "losses"))
    ax.set_xlabel("instance (one SGD update each)" if one
                  else "step (one minibatch update)")
    ax.set_ylabel("cross-entropy loss" + (" (log scale)" if log else ""))
    _show_dots_in_legend(_legend(ax, legend))
    return ax


def _draw_step_losses(ax, steps, loss, one, color, label):
    """The loss of every step, in grey (or the run's ``color`` when ``label``
    names one run among several): dots for single instances, a thin line for
    batches."""
    raw_color = "0.45" if label is None else (color or "C0")
    if one:   # single instances: a cloud of dots, not a solid slab
        ax.plot(steps, loss, ".", ls="none", ms=2.5, mew=0, alpha=0.45,
                color=raw_color,
                label=None if label else "loss of one instance (each dot)")
    else:
        ax.plot(steps, loss, color=raw_color, lw=0.7, alpha=0.6,
                label=None if label else "loss of each batch")


def _draw_epoch_losses(ax, history):
    """The losses on all the training (and validation) data, measured once per
    epoch: markers only, at the step where each epoch ended (nothing is
    measured between them). Returns the arrays drawn."""
    ends = np.arange(len(history.epoch_train_loss)) * history.steps_per_epoch
    ax.plot(ends, history.epoch_train_loss, "o", ls="none", color="C1", ms=8,
            mfc="none", mew=2,
            label="all the training data used (evaluated once per epoch)")
    drawn = [np.asarray(history.epoch_train_loss, dtype=float)]
    if history.epoch_val_loss:
        ax.plot(ends, history.epoch_val_loss, "s", ls="none", color="C2", ms=5,
                label="validation set (evaluated once per epoch)")
        drawn.append(np.asarray(history.epoch_val_loss, dtype=float))
    return drawn


def _show_dots_in_legend(legend):
    """The key of a faint cloud of small dots is itself faint and small: make
    the dots in the legend large and opaque."""
    if legend is None:
        return
    for handle in legend.legend_handles:
        if getattr(handle, "get_marker", lambda: None)() == ".":
            handle.set_markersize(9)
            handle.set_alpha(1)


def _plain_log_x(ax):
    """Plain-number tick labels (0.01, 0.1, 1) on a log x axis."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _check_history(history, names):
    for name in names:
        if not hasattr(history, name):
            raise TypeError("history must be a History from coursenet.train.sgd or"
                            f" coursenet.scalar.train, got {type(history).__name__}"
                            f" without .{name}")


def _numbers_1d(values, name):
    """A 1-D float64 array from a sequence of numbers, or a clear error."""
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of numbers, got"
                        f" {type(values).__name__}")
    if not hasattr(values, "__len__"):  # a generator
        values = list(values)
    try:
        arr = np.asarray(values)
    except ValueError:
        raise ValueError(f"{name} is ragged: rows of different lengths") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr.astype(np.float64)


def epoch_curves(history, ax=None, metric="loss"):
    """Training vs validation ``loss`` or ``acc`` per epoch (epoch 0 = before).

    Each value is measured once, after its epoch: markers, joined by a dotted
    line only to guide the eye (nothing is measured between them).
    """
    if metric not in ("loss", "acc"):
        raise ValueError(f"metric must be 'loss' or 'acc', got {metric!r}")
    _check_history(history, (f"epoch_train_{metric}", f"epoch_val_{metric}"))
    ax = _axes(ax)
    train = getattr(history, f"epoch_train_{metric}")
    val = getattr(history, f"epoch_val_{metric}")
    epochs = np.arange(len(train))
    ax.plot(epochs, train, "o:", label=f"training {metric} (evaluated once per"
            " epoch)")
    if val:
        ax.plot(epochs, val, "s:", label=f"validation {metric} (evaluated once per"
                " epoch)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy" if metric == "acc" else "mean cross-entropy loss")
    ax.set_xticks(epochs)
    ax.legend()
    return ax


def mean_std_band(curves, ax=None, label="mean", color="C0", window=1,
                  std_ax=None):
    """Mean of several equally long curves with a ± one standard deviation band.

    The std is the sample std across curves (``ddof=1``). ``window > 1`` first
    smooths each curve with :func:`smooth`; the default draws them raw.

    Late in training the band can be too thin to see under a linear axis. To
    show it, ``std_ax`` also draws the std itself against the step (log y axis
    when it spans a decade): give an Axes (e.g. a small third panel), or
    ``"inset"`` for a small inset in the upper right of ``ax``. Returns ``ax``.
    """
    if isinstance(curves, (str, bytes, dict)) or not hasattr(curves, "__iter__"):
        raise TypeError("curves must be a list of curves (sequences of numbers),"
                        f" got {type(curves).__name__}")
    _text(label, "label")
    _color(color, "color")
    if isinstance(std_ax, str):
        _choice(std_ax, "std_ax", ("inset",))
    elif std_ax is not None:
        _axes(std_ax)
    window = _int_at_least(window, "window", 1)
    curves = list(curves)
    lengths = []
    for i, curve in enumerate(curves):
        curve = _numbers_1d(curve, f"curves[{i}]")
        lengths.append(len(curve))
        curves[i] = curve
    if len(curves) < 2 or len(set(lengths)) != 1 or lengths[0] == 0:
        raise ValueError("mean_std_band needs at least two curves of equal length"
                         f" (non-empty), got lengths {lengths}")
    curves = np.asarray([smooth(c, window) for c in curves])
    ax = _axes(ax)
    mean, std = curves.mean(axis=0), curves.std(axis=0, ddof=1)
    steps = np.arange(1, curves.shape[1] + 1)
    ax.plot(steps, mean, color=color, lw=1, label=f"{label} (n={len(curves)})")
    ax.fill_between(steps, mean - std, mean + std, color=color, alpha=0.3,
                    label="± 1 std (ddof=1)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    inset = std_ax == "inset"
    # a falling curve leaves the lower left empty; the inset takes the upper right
    ax.legend(loc="lower left" if inset else "best")
    if std_ax is not None:
        sax = ax.inset_axes([0.47, 0.47, 0.5, 0.38]) if inset else std_ax
        sax.plot(steps, std, color=color, lw=1)
        if _spans_decades(std):
            _log_scale(sax, std, minor_labels=not inset)
        sax.set_title(f"std across the {len(curves)} curves",
                      fontsize=9 if inset else None)
        if inset:
            sax.tick_params(labelsize=9)
        else:
            sax.set_xlabel("step")
            sax.set_ylabel("std (ddof=1)")
    return ax


def _half_line(ax, g0, g1, p):
    """The black P = 0.5 line, or a note that there is none: a network that
    predicts one class everywhere has no boundary to draw."""
    if p.min() < 0.5 < p.max():
        ax.contour(g0, g1, p, levels=[0.5], colors="k", linewidths=1.5)
        return
    side = "≤" if p.max() <= 0.5 else "≥"
    ax.text(0.5, 0.97, f"no black line: P(class 1) {side} 0.5 everywhere",
            transform=ax.transAxes, ha="center", va="top", fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.85, "pad": 2})


def decision_boundary(prob_fn, X, labels, ax=None, resolution=200, max_points=2000,
                      colorbar=True, legend=True):
    """Shade ``prob_fn(grid) -> P(class 1)`` over the plane, with the data on top.

    ``prob_fn`` takes an ``(M, 2)`` array of rows and returns ``(M,)``
    probabilities in [0, 1], e.g. ``lambda g: mlp.probabilities(params, g)[:,
    1]``. ``labels`` are the class indices ``c`` (0 or 1) of the rows of ``X``,
    drawn in the course's class colours (:data:`CLASS_STYLE`). The black line
    is P = 0.5; ``colorbar`` adds the colour key of the shading and ``legend``
    the key of the points.
    """
    if not callable(prob_fn):
        raise TypeError("prob_fn must be a function of an (M, 2) array returning"
                        f" (M,) probabilities, got {type(prob_fn).__name__}")
    X, labels = _points_2d(X, labels, "decision_boundary")
    _two_classes(labels)
    resolution = _int_at_least(resolution, "resolution", 2)
    max_points = _int_at_least(max_points, "max_points", 1)
    for name, value in (("colorbar", colorbar), ("legend", legend)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}")
    lo, hi = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    p = np.asarray(prob_fn(grid))
    if p.shape != (len(grid),) or p.dtype.kind not in "fiu":
        raise ValueError(f"prob_fn must return ({len(grid)},) probabilities for an"
                         f" ({len(grid)}, 2) grid, got shape {p.shape} dtype"
                         f" {p.dtype}; e.g. lambda g: mlp.probabilities(params,"
                         " g)[:, 1]")
    finite = p[np.isfinite(p)]
    if finite.size < p.size or p.min() < 0 or p.max() > 1:
        seen = (f"values from {finite.min():g} to {finite.max():g}" if finite.size
                else "no finite value")
        raise ValueError(f"prob_fn must return probabilities in [0, 1], got {seen}"
                         + (" and NaN or inf" if finite.size < p.size else ""))
    ax = _axes(ax, figsize=(6, 5))
    p = p.reshape(g0.shape)
    shade = ax.contourf(g0, g1, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r",
                        alpha=0.45)
    _half_line(ax, g0, g1, p)
    Xs, cs = X[:max_points], labels[:max_points]
    for cls, style in CLASS_STYLE.items():
        pts = Xs[cs == cls]
        ax.scatter(pts[:, 0], pts[:, 1], s=10, linewidths=0.5, label=f"class {cls}",
                   **style)
    if colorbar:   # beside the axes, exactly as tall as the (square) plot
        cax = ax.inset_axes([1.04, 0, 0.05, 1])
        ax.figure.colorbar(shade, cax=cax, label="P(class 1)",
                           ticks=[0, 0.25, 0.5, 0.75, 1])
    if legend:     # under the plot: no point is hidden
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
                  markerscale=1.5)
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
    ax.set_aspect("equal")
    return ax


def _two_classes(labels):
    if labels.dtype.kind not in "iu":
        raise TypeError("labels must hold integer class indices 0 or 1, got dtype"
                        f" {labels.dtype}")
    bad = labels[(labels != 0) & (labels != 1)]
    if bad.size:
        raise ValueError("labels must be class indices 0 or 1 (P(class 1) is"
                         f" drawn), got class {int(bad[0])}")


def scatter_classes(X, labels, ax=None, max_points=3000):
    """2-D rows of ``X`` coloured by class index, one colour per class present.

    Classes 0 and 1 get the course's colours (:data:`CLASS_STYLE`, navy and
    gold); any other set of classes the default colour cycle. The legend sits
    under the axes, where it covers no point.
    """
    if np.asarray(labels).dtype.kind not in "iu":
        raise TypeError("labels must hold integer class indices, got dtype"
                        f" {np.asarray(labels).dtype}")
    X, labels = _points_2d(X, labels, "scatter_classes")
    if labels.min() < 0:
        raise ValueError(f"labels must be class indices >= 0, got {labels.min()}")
    max_points = _int_at_least(max_points, "max_points", 1)
    ax = _axes(ax, figsize=(5, 5))
    X, c = X[:max_points], labels[:max_points]
    classes = np.unique(c)
    course = set(classes.tolist()) <= {0, 1}
    for i, cls in enumerate(classes):
        pts = X[c == cls]
        style = CLASS_STYLE[int(cls)] if course else {"color": f"C{i % 10}"}
        ax.scatter(pts[:, 0], pts[:, 1], s=8, linewidths=0.4, label=f"class {cls}",
                   **style)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
    # under the axes, as decision_boundary's: no point is hidden
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncol=min(len(classes), 5), markerscale=2)
    return ax


def digit_grid(images, labels=None, preds=None, ncols=10, size=None, fontsize=11):
    """A grid of 28x28 digits; titles show the label (and prediction if given).

    With ``preds``, each title reads ``true→pred``, dark when right and red
    (bold) when wrong. ``size`` is the width of one image in inches; the
    default fits the row into :data:`MAX_WIDTH` (at most 1 inch an image).
    """
    import matplotlib.pyplot as plt

    images = _digit_images(images)
    n = len(images)
    ncols = _int_at_least(ncols, "ncols", 1)
    if size is None:
        size = min(1.0, MAX_WIDTH / ncols)
    if isinstance(size, bool) or not isinstance(size, numbers.Real) \
            or not np.isfinite(size) or size <= 0:
        raise ValueError(f"size must be a number > 0 (inches) or None, got {size!r}")
    if isinstance(fontsize, bool) or not isinstance(fontsize, numbers.Real) \
            or not fontsize > 0:
        raise ValueError(f"fontsize must be a number > 0 (points), got {fontsize!r}")
    _check_titles(labels, preds, n)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size,
                                                    nrows * size * 1.25),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray_r")
        if labels is not None and preds is not None:
            ok = labels[i] == preds[i]
            ax.set_title(f"{labels[i]}→{preds[i]}", fontsize=fontsize,
                         color="k" if ok else "#c00000",
                         fontweight="normal" if ok else "bold")
        elif labels is not None:
            ax.set_title(str(labels[i]), fontsize=fontsize)
    fig.tight_layout()
    return fig


def _digit_images(images):
    """``images`` as an ``(N, 28, 28)`` array of finite pixels (rows of 784
    are reshaped), or a clear error."""
    images = np.asarray(images)
    given = images.shape
    if images.dtype.kind not in "fiub":
        raise TypeError(f"images must hold numbers (pixels), got dtype {images.dtype}")
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(len(images), 28, 28)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError("images must be rows of 784 pixels or 28x28 images, got"
                         f" shape {images.shape}")
    if len(images) == 0:
        raise ValueError(f"images holds no images (shape {given})")
    if not np.isfinite(images).all():
        raise ValueError("images hold NaN or inf pixels: nothing to show there")
    return images


def _check_titles(labels, preds, n):
    """``labels`` and ``preds``: None or one entry per image of ``n``; preds
    only with labels (a title true→pred needs both)."""
    for name, value in (("labels", labels), ("preds", preds)):
        if value is None:
            continue
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise TypeError(f"{name} must be a sequence with one entry per image,"
                            f" got {type(value).__name__} {value!r}")
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} entries for {n} images;"
                             " give one per image")
    if preds is not None and labels is None:
        raise ValueError("preds given without labels: a title true→pred needs"
                         " both (give labels=...)")


def confusion_matrix(y_true, y_pred, num_classes=10):
    """Counts ``cm[true class, predicted class]`` as a ``(C, C)`` int array.

    ``y_true`` holds the true class index ``c`` of each instance and ``y_pred``
    the predicted one (``argmax`` of its probabilities ``y``), both integer
    arrays ``(N,)``; the names follow scikit-learn's, they are not
    probabilities.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) \
            or num_classes <= 0:
        raise ValueError(f"num_classes must be an int > 0, got {num_classes!r}")
    y_true = _class_ids(y_true, "y_true", num_classes)
    y_pred = _class_ids(y_pred, "y_pred", num_classes)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def _class_ids(values, name, num_classes):
    values = np.asarray(values)
    if values.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class ids, got dtype {values.dtype}"
                        " (use .astype(int) only if the values are whole numbers)")
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        bad = values[(values < 0) | (values >= num_classes)][0]
        raise ValueError(f"{name} contains {int(bad)}, outside [0, {num_classes})")
    return values.astype(np.int64)


def plot_confusion_matrix(cm, ax=None, class_names=None, totals=False,
                          fontsize=10):
    """Heat map of a confusion matrix ``cm[true c, predicted]`` with the counts.

    The colour scale is a square root of the count, so that small off-diagonal
    counts stay visible next to the large diagonal. ``class_names`` label the
    ticks. ``totals=True`` writes how often each class was *predicted* (the
    column sums) along the top and prints them in one line, and how often it
    is the true class (the row sums) in a second.
    """
    from matplotlib.colors import PowerNorm

    cm = np.asarray(cm)
    if cm.dtype.kind not in "iuf":
        raise TypeError(f"cm must hold counts (numbers), got dtype {cm.dtype}; make"
                        " it with plots.confusion_matrix(y_true, y_pred)")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.size == 0:
        raise ValueError("cm must be a non-empty square (C, C) matrix of counts,"
                         f" got shape {cm.shape}")
    if not np.isfinite(cm).all() or cm.min() < 0:
        raise ValueError("cm must hold counts >= 0, got values from"
                         f" {cm.min()} to {cm.max()}")
    if class_names is not None:
        if isinstance(class_names, (str, bytes)) \
                or not hasattr(class_names, "__len__") or len(class_names) != len(cm):
            raise ValueError(f"class_names must give {len(cm)} names (one per row of"
                             f" cm), got {class_names!r}")
        class_names = [str(name) for name in class_names]
    if not isinstance(totals, bool):
        raise TypeError(f"totals must be True or False, got {totals!r}")
    if isinstance(fontsize, bool) or not isinstance(fontsize, numbers.Real) \
            or not fontsize > 0:
        raise ValueError(f"fontsize must be a number > 0 (points), got {fontsize!r}")
    ax = _axes(ax, figsize=(7, 6))
    norm = PowerNorm(0.5, vmin=0, vmax=max(cm.max(), 1))
    ax.imshow(cm, cmap="Blues", norm=norm)
    text = (lambda v: str(v)) if cm.dtype.kind in "iu" else (lambda v: f"{v:.2g}")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, text(v), ha="center", va="center", fontsize=fontsize,
                color="white" if norm(v) > 0.6 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_xticks(range(len(cm)))
    ax.set_yticks(range(len(cm)))
    if class_names is not None:
        long = max(len(name) for name in class_names) > 2
        ax.set_xticklabels(class_names, rotation=45 if long else 0,
                           ha="right" if long else "center")
        ax.set_yticklabels(class_names)
    if totals:
        sums = cm.sum(axis=0)
        top = ax.secondary_xaxis("top")
        top.set_xticks(range(len(cm)))
        top.set_xticklabels([text(v) for v in sums], fontsize=fontsize - 1)
        top.set_xlabel("predicted this often (column totals)")
        names = class_names or [str(k) for k in range(len(cm))]
        for what, counts in (("predicted", sums), ("true", cm.sum(axis=1))):
            print(f"{what + ' totals:':<17} " + ", ".join(
                f"{name} {text(v)}" for name, v in zip(names, counts)))
    return ax


class LivePlot:
    """A ``callback`` for :func:`coursenet.train.sgd` that redraws the curve live.

    The figure is 7 x 3.5 inches with the legend under the axes
    (:func:`learning_curve`'s defaults).

    Redraws at most every ``every`` seconds (drawing costs more than a step)
    and once more when :meth:`close` is called. Outside Jupyter it only keeps
    the figure.
    """

    def __init__(self, every=0.5, window=None):
        import matplotlib.pyplot as plt

        if isinstance(every, bool) or not isinstance(every, numbers.Real) \
                or not np.isfinite(every) or every < 0:
            raise ValueError(f"every must be a number of seconds >= 0, got {every!r}")
        if window is not None and (isinstance(window, bool)
                                   or not isinstance(window, numbers.Integral)
                                   or window < 1):
            raise ValueError(f"window must be None or an int >= 1, got {window!r}")
        self.every = every
        self.window = window
        self.fig, self.ax = plt.subplots(figsize=(7, 3.5))
        plt.close(self.fig)  # shown through display(), not by pyplot
        self._last = 0.0
        self._handle = None
        self.history = None

    def __call__(self, history):
        _check_history(history, ("step_loss", "steps_per_epoch", "epochs",
                                 "epoch_train_loss", "epoch_val_loss"))
        self.history = history
        now = time.perf_counter()
        if now - self._last >= self.every:
            self._last = now
            self.draw()

    def draw(self):
        if self.history is None or not self.history.step_loss:
            return
        self.ax.clear()
        learning_curve(self.history, ax=self.ax, window=self.window)
        total = self.history.epochs * self.history.steps_per_epoch
        self.ax.set_xlim(0, total)
        self.ax.set_title(f"step {len(self.history.step_loss)} / {total}")
        try:
            from IPython.display import display
        except ImportError:  # pragma: no cover - plain Python
            return
        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)

    def close(self):
        self.draw()
        return self.fig


# --------------------------------------------------------------------------
# Notebook 06's figures: one call per figure, each drawing data it is given
# --------------------------------------------------------------------------


def _figure(width=MAX_WIDTH, height=4.2, **kwargs):
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), **kwargs)


def _histories(runs, name):
    if isinstance(runs, (str, bytes, dict)) or not hasattr(runs, "__len__") \
            or len(runs) == 0:
        raise TypeError(f"{name} must be a non-empty list of Histories, got"
                        f" {type(runs).__name__}")
    for run in runs:
        _check_history(run, ("step_loss", "steps_per_epoch"))
    return list(runs)


def batch_loss_figure(history, title, chance=None):
    """One run: the loss of every batch, its moving average and the whole-set
    losses per epoch; ``chance`` (e.g. ln 10) a dashed grey reference line
    beneath the data (a loss that sits on it stays visible). The legend sits
    under the axes, so it hides no line."""
    _text(title, "title")
    fig, ax = _figure(height=4.6)
    if chance is not None:
        ax.axhline(chance, color="0.6", ls="--", lw=0.9, zorder=1,
                   label=f"ln 10 = {chance:.3f} (a uniform guess)")
    learning_curve(history, ax=ax, legend="below")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def train_val_figure(history):
    """Training and validation loss (left) and accuracy (right) per epoch,
    epoch 0 before training; one legend under both panels."""
    fig, axes = _figure(height=3.9, ncols=2)
    epoch_curves(history, ax=axes[0], metric="loss")
    epoch_curves(history, ax=axes[1], metric="acc")
    for ax in axes:
        ax.get_legend().remove()
    fig.legend(axes[0].get_legend_handles_labels()[0],
               ["training set", "validation set"], ncol=2, loc="lower center",
               title="evaluated once per epoch")
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


def seed_spread_figure(runs, window, chance=None):
    """Several seeds of one setting: mean ± std of the raw batch loss (upper
    left), of its moving average of ``window`` steps (upper right), and the
    std itself at each step on a log axis (below; dotted lines: epochs)."""
    runs = _histories(runs, "runs")
    window = _int_at_least(window, "window", 1)
    raw = np.array([r.step_loss for r in runs], dtype=float)
    smoothed = np.array([smooth(r.step_loss, window) for r in runs])
    fig = _figure(height=7.4)[0]
    fig.axes[0].remove()
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 0.85])
    top = fig.add_subplot(grid[0, 0])
    panels = [top, fig.add_subplot(grid[0, 1], sharey=top)]
    for ax, curves, title in ((panels[0], raw, "raw batch loss"),
                              (panels[1], smoothed, f"moving average of {window}")):
        if chance is not None:
            ax.axhline(chance, color="black", ls=":", lw=1, label="ln 10")
        mean_std_band(curves, ax=ax, label="mean over seeds")
        ax.set_title(title)
    for ax in panels:                    # one name for the one quantity
        ax.set_ylabel("batch loss")
    ax = fig.add_subplot(grid[1, :])
    steps = np.arange(1, raw.shape[1] + 1)
    ax.plot(steps, raw.std(axis=0, ddof=1), color="C0", lw=0.8, label="raw")
    ax.plot(steps, smoothed.std(axis=0, ddof=1), color="C3", lw=2,
            label=f"moving average of {window}")
    for e in range(1, len(steps) // runs[0].steps_per_epoch):
        ax.axvline(e * runs[0].steps_per_epoch, color="gray", lw=0.6, ls=":")
    _log_scale(ax, np.concatenate([raw.std(axis=0, ddof=1),
                                   smoothed.std(axis=0, ddof=1)]))
    ax.set_xlabel("step (dotted lines: epoch boundaries)")
    ax.set_ylabel("std across seeds (log scale)")
    ax.set_title(f"the spread between the {len(runs)} seeds at each step")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def rate_curves_figure(first_runs, chance=None):
    """``first_runs``: {learning rate: History or None (diverged)}. The moving
    average of each rate's batch loss on a log axis, the smaller half of the
    rates on the left and the larger on the right (nine curves on one axis hide
    each other where they meet, as the slowest and the bursting ones do near
    ``chance``), each with its own distinct colours; ``chance`` is drawn on
    top in both panels."""
    if not hasattr(first_runs, "items") or not first_runs:
        raise TypeError("first_runs must be a non-empty dict {lr: History or None}")
    rates = sorted(first_runs)
    halves = [rates[:(len(rates) + 1) // 2], rates[(len(rates) + 1) // 2:]]
    halves = [half for half in halves if half]
    fig, axes = _figure(height=4.4, ncols=len(halves), sharey=True, squeeze=False)
    drawn, windows = [], set()
    for ax, half, name in zip(axes[0], halves, ("smaller rates", "larger rates")):
        for k, rate in enumerate(half):
            h, style = first_runs[rate], ("-", "--", "-.")[k % 3]
            colour = f"C{k}"
            if h is None:
                ax.plot([], [], style, color=colour, label=f"lr = {rate:g}: diverged")
                continue
            windows.add(max(1, h.steps_per_epoch // 10))
            curve = smooth(h.step_loss, max(1, h.steps_per_epoch // 10))
            ax.plot(np.arange(1, len(curve) + 1), curve, style, color=colour,
                    lw=1.8, zorder=2 + k, label=f"lr = {rate:g}")
            drawn.append(curve)
        if chance is not None:
            # beneath the curves, as in 03's rate figure: a slow rate's curve
            # starts on ln 10 and must not be hidden by it
            ax.axhline(chance, color="0.6", ls="--", lw=0.9, zorder=1,
                       label="ln 10")
        ax.set_xlabel("step (one minibatch update)")
        ax.set_title(f"seed 0, {name}" if len(halves) > 1 else "seed 0 of each rate")
        _legend(ax, "best", fontsize=10)
    if drawn:
        _log_scale(axes[0][0], np.concatenate(drawn))
    window = windows.pop() if len(windows) == 1 else None
    window = ("moving average" if window is None else f"mean of {window} steps"
              if window > 1 else "each step")
    axes[0][0].set_ylabel(f"batch loss, {window}\n(log scale)")
    fig.tight_layout()
    return fig


def sweep_figure(rates, val_loss, val_acc, seeds):
    """Final validation loss (left, log axis) and accuracy (right) per rate:
    each seed's values joined across the rates (thin lines: the same seed,
    which a paired comparison compares) and their mean ± std (error bars).
    ``val_loss``/``val_acc``: {rate: array (len(seeds),)} of usable rates."""
    rates = [r for r in rates if r in val_acc and len(val_acc[r]) == len(seeds)]
    if not rates:
        raise ValueError("no rate has a value for every seed: nothing to draw")
    fig, axes = _figure(height=4.2, ncols=2)
    for ax, values, name in ((axes[0], val_loss, "validation loss"),
                             (axes[1], val_acc, "validation accuracy")):
        table = np.array([values[r] for r in rates], dtype=float)   # (rates, seeds)
        for s in range(len(seeds)):
            ax.plot(rates, table[:, s], "-", color="0.6", lw=0.8,
                    label="one seed" if s == 0 else None)
        ax.errorbar(rates, table.mean(axis=1), yerr=table.std(axis=1, ddof=1),
                    fmt="o", color="C0", capsize=4, zorder=3,
                    label=f"mean ± std, {len(seeds)} seeds")
        ax.set_xscale("log")
        _plain_log_x(ax)
        ax.set_xlabel("learning rate (log scale)")
        ax.set_title(f"{name} after the last epoch")
    _log_scale(axes[0], np.array([val_loss[r] for r in rates], dtype=float).ravel())
    axes[0].set_ylabel("mean cross-entropy (log scale)")
    axes[1].set_ylabel("accuracy")
    axes[1].legend(loc="lower center")
    fig.tight_layout()
    return fig


def loss_runs_figure(runs, window=10):
    """{name: batch losses} of a few runs over the same batches, moving
    average of ``window``; the first is drawn wide and faint, so that a run
    identical to it (drawn dashed over it) stays visible."""
    if not hasattr(runs, "items") or not runs:
        raise TypeError("runs must be a non-empty dict {name: batch losses}")
    fig, ax = _figure(height=4.2)
    for k, (name, losses) in enumerate(runs.items()):
        first = k == 0 and len(runs) > 1
        ax.plot(smooth(losses, window), "--" if k == 1 else "-",
                lw=5 if first else 1.8, alpha=0.5 if first else 1, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("mean loss of the batch after the step\n"
                  f"(moving average of {window})")
    ax.legend()
    fig.tight_layout()
    return fig


def confusion_figure(cm, class_names, title, totals=False):
    """The confusion matrix with its counts, sized for long or short names;
    ``totals=True``: how often each class was predicted, along the top and
    printed (:func:`plot_confusion_matrix`)."""
    long_names = max(len(str(name)) for name in class_names) > 2
    fig, ax = _figure(*((8.5, 7.5) if long_names else (7.2, 6.4)))
    plot_confusion_matrix(cm, ax=ax, class_names=class_names, totals=totals)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def misclassified_figure(images, true_names, pred_names, title):
    """Misclassified images titled ``true→predicted``: 16 of 1.15 inches a
    panel for short class names, 10 of 1.8 for long ones."""
    long_names = max(len(str(name)) for name in true_names) > 2
    shown, ncols, size = (10, 5, 1.8) if long_names else (16, 8, 1.15)
    fig = digit_grid(images[:shown], labels=list(true_names[:shown]),
                     preds=list(pred_names[:shown]), ncols=ncols, size=size,
                     fontsize=12)
    fig.suptitle(title, y=1.02 if long_names else 1.07)
    return fig


def weight_images_figure(W_trained, W_initial, units):
    """Incoming weights of hidden ``units`` as 28x28 images: before training
    (top row) and after (bottom row), all on one colour scale, symmetric about
    0, with one labelled colour bar. W: (784, H). (A row of the change in
    training would look like the trained row: the initial weights are small.)

    ``units``: a list of unit indices, or an int n: the n units whose weights
    moved most (the norm of their column's change); then one line says how
    far they moved, against the median unit and a unit's initial norm."""
    W_trained, W_initial = np.asarray(W_trained), np.asarray(W_initial)
    if W_trained.shape != W_initial.shape or W_trained.ndim != 2 \
            or W_trained.shape[0] != 784:
        raise ValueError("W_trained and W_initial must both have shape (784, H),"
                         f" got {W_trained.shape} and {W_initial.shape}")
    if isinstance(units, numbers.Integral) and not isinstance(units, bool):
        count = _int_at_least(units, "units", 1)
        moved = np.linalg.norm(W_trained - W_initial, axis=0)
        units = np.argsort(moved)[::-1][:count]
        print(f"the {len(units)} units shown moved by {moved[units].min():.2f} to"
              f" {moved[units].max():.2f}; the median over all {len(moved)} units,"
              f" {np.median(moved):.2f}; a unit's initial weights: about"
              f" {np.linalg.norm(W_initial, axis=0).mean():.2f} (norms of W1's"
              " columns)")
    units = [int(u) for u in units]
    panels = [W_initial[:, units], W_trained[:, units]]
    lim = max(np.abs(p).max() for p in panels)
    fig, axes = _figure(width=9.0, height=2.3, nrows=2, ncols=len(units),
                        squeeze=False)
    fig.subplots_adjust(left=0.01, right=0.86, wspace=0.05, hspace=0.08)
    for row, panel in enumerate(panels):
        for col, u in enumerate(units):
            image = axes[row, col].imshow(panel[:, col].reshape(28, 28),
                                          cmap="RdBu_r", vmin=-lim, vmax=lim)
            axes[row, col].axis("off")
            if row == 0:
                axes[row, col].set_title(f"unit {u}", fontsize=10)
    bar = fig.colorbar(image, cax=fig.add_axes((0.88, 0.1, 0.015, 0.78)))
    bar.set_label("weight", fontsize=10)
    fig.suptitle("first-layer weights: initial (top), trained (bottom);"
                 " one colour scale", x=0.43, y=1.02, fontsize=12)
    return fig


# --------------------------------------------------------------------------
# Figures of notebooks 03, 04 and 05 (one call each)
# --------------------------------------------------------------------------


def sigma_prime_histograms(panels, threshold=0.01):
    """One histogram per panel of σ′(k) = h (1 − h) values (log counts).

    ``panels``: {title: 1-D array of σ′ values}; each title gets the share of
    values below ``threshold``. Returns the figure.
    """
    import matplotlib.pyplot as plt

    if not isinstance(panels, dict) or not panels:
        raise TypeError("panels must be a non-empty dict {title: σ′ values}")
    fig, axes = plt.subplots(1, len(panels), figsize=(min(MAX_WIDTH, 3.1 * len(panels)),
                                                      3.4), sharey=True, squeeze=False)
    for ax, (title, values) in zip(axes[0], panels.items()):
        values = _numbers_1d(np.ravel(values), f"panels[{title!r}]")
        ax.hist(values, bins=50, range=(0, 0.25))
        ax.set_yscale("log")
        ax.set_title(f"{_text(title, 'title')}\n{np.mean(values < threshold):.1%}"
                     f" of σ′ below {threshold:g}", fontsize=10)
        ax.set_xlabel("σ′(k) = h (1 − h), first step", fontsize=10)
    axes[0][0].set_ylabel("count (log scale)", fontsize=10)
    fig.tight_layout()
    return fig


def instance_losses(step_losses, window=100, ax=None):
    """The loss of every SGD step (one instance each), its moving average and
    the ln 10 line of a uniform guess over 10 classes."""
    values = _numbers_1d(step_losses, "step_losses")
    ax = _axes(ax, figsize=(8, 3.5))
    ax.plot(values, lw=0.6, alpha=0.6, label="loss of each instance")
    ax.plot(smooth(values, _int_at_least(window, "window", 1)), lw=2,
            label=f"moving average of {window}")
    ax.axhline(np.log(10), color="gray", ls=":", label="ln 10 (a uniform guess)")
    ax.set_xlabel("step (one instance each)")
    ax.set_ylabel("loss")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=10)
    return ax


def output_gradients(panels, classes):
    """Heat maps of N·∂L/∂O = Y − T, one per panel {title: (N, C) array}, rows
    labelled by instance and true class; one shared, labelled colour bar."""
    import matplotlib.pyplot as plt

    classes = np.asarray(classes)
    fig, axes = plt.subplots(1, len(panels), figsize=(MAX_WIDTH, 4.2), sharey=True,
                             squeeze=False)
    for ax, (title, G) in zip(axes[0], panels.items()):
        G = np.asarray(G, dtype=np.float64)
        im = ax.imshow(G, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        ax.set_title(f"{title}: N·∂L/∂O = Y − T", fontsize=11)
        ax.set_xlabel("class (logit)", fontsize=10)
        ax.set_xticks(range(G.shape[1]))
    axes[0][0].set_ylabel("image in the batch (true class)", fontsize=10)
    axes[0][0].set_yticks(range(len(classes)),
                          [f"{n}: {k}" for n, k in enumerate(classes)], fontsize=9)
    bar = fig.colorbar(im, ax=axes[0].tolist(), shrink=0.9)
    bar.set_label("N · ∂L/∂O (negative: that logit is raised)", fontsize=10)
    return fig


def throughput(sizes, per_second, ax=None, title=None):
    """Instances per second against the batch size, both on log axes with
    plain-number ticks on every power of 2 and at 1, 2, 5 times powers of ten."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    sizes = _numbers_1d(sizes, "sizes")
    rates = _numbers_1d(per_second, "per_second")
    ax = _axes(ax, figsize=(7, 4))
    ax.loglog(sizes, rates, "o-")
    ax.set_xlabel("batch size (log scale)", fontsize=11)
    ax.set_ylabel("instances per second (log scale)", fontsize=11)
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_minor_formatter(NullFormatter())
    low, high = rates.min(), rates.max()
    ticks = [m * 10.0 ** e for e in range(int(np.floor(np.log10(low))) - 1,
                                          int(np.ceil(np.log10(high))) + 1)
             for m in (1, 2, 5) if low / 1.5 <= m * 10.0 ** e <= high * 1.5]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_formatter(NullFormatter())
    plain = FuncFormatter(lambda v, _: f"{v:,.0f}")
    ax.xaxis.set_major_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    ax.set_ylim(low / 1.5, high * 1.5)
    if title:
        ax.set_title(title, fontsize=11)
    ax.grid(True, which="major", alpha=0.3)


def rate_curves(runs, window=2000, ax=None):
    """Notebook 03: the moving average of the instance losses, one line per rate.

    ``runs``: ``{learning rate: History}``. Each rate gets its own colour *and*
    line style (two rates whose curves lie close stay distinguishable), the
    y axis is logarithmic and says so, and a grey dashed line beneath the
    curves marks ln 2, the plateau of two classes (a curve on it stays whole).
    """
    from matplotlib.ticker import EngFormatter

    if not isinstance(runs, dict) or not runs:
        raise TypeError("runs must be a non-empty dict {learning rate: History}")
    window = _int_at_least(window, "window", 1)
    ax = _axes(ax, figsize=(7, 4))
    styles = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]
    markers = "osD^vx"
    shown = []
    for i, (rate, history) in enumerate(runs.items()):
        _check_history(history, ("step_loss",))
        loss = smooth(_numbers_1d(history.step_loss, f"runs[{rate!r}].step_loss"),
                      window)
        every = max(1, len(loss) // 8)   # staggered, so that markers do not coincide
        ax.plot(np.arange(1, len(loss) + 1), loss, color=f"C{i}", lw=1.8,
                ls=styles[i % len(styles)], marker=markers[i % len(markers)],
                markevery=(i * every // len(runs), every), ms=6,
                label=f"lr = {rate:g}")
        shown.append(loss)
    # beneath the curves (zorder 1 < 2): lr = 0.001 lies exactly on ln 2, and
    # a line on top would leave only its markers to see
    ax.axhline(np.log(2), color="0.6", ls="--", lw=0.9, zorder=1, label="ln 2")
    _log_scale(ax, np.concatenate(shown), minor_labels=False,
               what=("moving average", "moving averages"))
    ax.xaxis.set_major_formatter(EngFormatter())          # 50k, not 50000
    ax.set_xlabel("instances seen (one SGD update each)")
    ax.set_ylabel(f"loss, moving average of {window:,} (log scale)")
    _legend(ax, "right")
    return ax



def softmax_figure(y):
    """Notebook 01: the softmax outputs ``y`` ``(C,)`` as bars (left) and their
    Jacobian J = diag(y) − yᵀy (the card's rows) as a heat map (right), its colour bar
    symmetric about 0 and labelled."""
    import matplotlib.pyplot as plt

    from coursenet.losses import softmax_jacobian

    y = _numbers_1d(y, "y")
    J = softmax_jacobian(y[None])[0]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    axes[0].bar(range(len(y)), y)
    axes[0].set(title="softmax outputs y", xlabel="i", ylabel="probability $y_i$")
    limit = np.abs(J).max()
    image = axes[1].imshow(J, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[1].set(title=r"$J_{ij} = \partial y_i / \partial o_j$", xlabel="j (logit)",
                ylabel="i (output)")
    fig.colorbar(image, ax=axes[1]).set_label(r"$J_{ij}$")
    fig.tight_layout()
    return fig


def scalar_run_figure(history, net, X, labels):
    """Notebook 03: a scalar run's learning curve (left: every instance's loss,
    its moving average of 1,000 and the whole-set losses per epoch, log y) and
    the decision boundary of ``net`` (numpy parameters) over ``X, labels``."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter

    from coursenet import mlp

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    learning_curve(history, ax=axes[0], window=1000, yscale="log", legend=None)
    _show_dots_in_legend(axes[0].legend(loc="upper center",
                                        bbox_to_anchor=(0.5, -0.16), fontsize=8))
    axes[0].xaxis.set_major_formatter(EngFormatter())     # 50k, not 50000
    decision_boundary(lambda g: mlp.probabilities(net, g)[:, 1], X, labels,
                      ax=axes[1], max_points=1500)
    axes[1].set(title="your network: P(class 1); black line: 0.5", xlabel="$x_0$",
                ylabel="$x_1$")
    return fig


def sigma_prime_figure(inputs, b1, threshold=0.01):
    """Notebook 04: how saturated the first layer's sigmoids are for several
    ``inputs`` ``{name: (X (N, D), W1 (D, H))}`` with the bias ``b1`` ``(H,)``.
    Prints, per input, the share of σ′(k) below ``threshold`` and the std of
    k = X W1; draws :func:`sigma_prime_histograms`."""
    from coursenet.layers import sigmoid

    panels = {}
    for name, (X, W1) in inputs.items():
        k = np.asarray(X) @ np.asarray(W1)
        H = sigmoid(k + b1)                               # (N, H)
        panels[name] = (H * (1 - H)).ravel()              # σ′(k) of every unit, image
        print(f"{name:>24}: σ′ below {threshold:g} for"
              f" {np.mean(panels[name] < threshold):.1%}, std of k {np.std(k):.3g}")
    return sigma_prime_histograms(panels, threshold)


def output_gradient_figure(nets, X, classes):
    """Notebook 05: N·∂L/∂O = Y − T of the batch ``X`` ``(N, D)`` with true
    ``classes`` ``(N,)`` for each network of ``{title: params}``. Prints, per
    network, the largest row sum (0 in exact arithmetic), the mean entry at the
    true and at a wrong class, and the share of rows with every entry below
    0.1 in size; draws :func:`output_gradients`."""
    from coursenet import mlp
    from coursenet.losses import softmax

    classes = np.asarray(classes)
    rows = np.arange(len(classes))
    panels = {}
    for title, net in nets.items():
        G = softmax(mlp.forward(net, X)[0])
        G[rows, classes] -= 1.0                           # N ∇_O = Y − T
        true = np.zeros(G.shape, dtype=bool)
        true[rows, classes] = True
        panels[title] = G
        print(f"{title}: largest |row sum| {np.abs(G.sum(axis=1)).max():.1e}; mean"
              f" entry at the true class {G[true].mean():+.2f}, at a wrong class"
              f" {G[~true].mean():+.2f}; rows with every entry below 0.1 in size:"
              f" {np.mean(np.abs(G).max(axis=1) < 0.1):.0%}")
    return output_gradients(panels, classes)
