"""Pictures of training runs and data. Every function draws data it is given.

Functions take an optional matplotlib ``ax`` and return it, so notebooks can
compose them; none of them trains anything.
"""

from __future__ import annotations

import numbers
import time

import numpy as np


def _axes(ax, figsize=(6, 4)):
    if ax is not None:
        if not hasattr(ax, "plot") or not hasattr(ax, "set_xlabel"):
            raise TypeError("ax must be a matplotlib Axes (e.g. from"
                            f" plt.subplots()) or None, got {type(ax).__name__}")
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


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
                   raw=True):
    """Loss of every step (faint) and its moving average, against the step.

    Draws the :class:`~coursenet.history.History` of either network: a step is
    one minibatch for :func:`coursenet.train.sgd` and one instance for
    :func:`coursenet.scalar.train`. Per-epoch losses on the whole training (and
    validation) set are drawn as markers at the step where each epoch ended.
    """
    _check_history(history, ("step_loss", "steps_per_epoch", "epoch_train_loss",
                             "epoch_val_loss"))
    if not isinstance(raw, bool):
        raise TypeError(f"raw must be True or False, got {raw!r}")
    ax = _axes(ax)
    loss = np.asarray(history.step_loss)
    steps = np.arange(1, len(loss) + 1)
    if window is None:
        window = max(1, history.steps_per_epoch // 10)
    one = getattr(history, "batch_size", None) == 1
    unit = "instance" if one else "batch"
    if raw:
        ax.plot(steps, loss, color=color or "C0", alpha=0.2, lw=0.3,
                label=None if label else f"loss of each {unit}")
    ax.plot(steps, smooth(loss, window), color=color or "C0", lw=1.8,
            label=label or f"{'instance' if one else 'batch'} loss (moving avg of"
            f" {window})")
    ends = np.arange(len(history.epoch_train_loss)) * history.steps_per_epoch
    if label is None:
        ax.plot(ends, history.epoch_train_loss, "o--", color="C1", ms=4,
                label="train loss (whole set)")
        if history.epoch_val_loss:
            ax.plot(ends, history.epoch_val_loss, "s--", color="C2", ms=4,
                    label="validation loss")
    ax.set_xlabel("instance (one SGD update each)" if one
                  else "step (one minibatch update)")
    ax.set_ylabel("mean cross-entropy loss")
    ax.legend()
    return ax


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
    """Training vs validation ``loss`` or ``acc`` per epoch (epoch 0 = before)."""
    if metric not in ("loss", "acc"):
        raise ValueError(f"metric must be 'loss' or 'acc', got {metric!r}")
    _check_history(history, (f"epoch_train_{metric}", f"epoch_val_{metric}"))
    ax = _axes(ax)
    train = getattr(history, f"epoch_train_{metric}")
    val = getattr(history, f"epoch_val_{metric}")
    epochs = np.arange(len(train))
    ax.plot(epochs, train, "o-", label=f"training {metric}")
    if val:
        ax.plot(epochs, val, "s-", label=f"validation {metric}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy" if metric == "acc" else "mean cross-entropy loss")
    ax.set_xticks(epochs)
    ax.legend()
    return ax


def mean_std_band(curves, ax=None, label="mean", color="C0", window=1):
    """Mean of several equally long curves with a ± one standard deviation band.

    The std is the sample std across curves (``ddof=1``). ``window > 1`` first
    smooths each curve with :func:`smooth`; the default draws them raw.
    """
    if isinstance(curves, (str, bytes)) or not hasattr(curves, "__iter__"):
        raise TypeError("curves must be a list of curves (sequences of numbers),"
                        f" got {type(curves).__name__}")
    curves = [smooth(c, window) for c in curves]
    lengths = [len(c) for c in curves]
    if len(curves) < 2 or len(set(lengths)) != 1 or lengths[0] == 0:
        raise ValueError("mean_std_band needs at least two curves of equal length"
                         f" (non-empty), got lengths {lengths}")
    ax = _axes(ax)
    curves = np.asarray(curves)
    mean, std = curves.mean(axis=0), curves.std(axis=0, ddof=1)
    steps = np.arange(1, curves.shape[1] + 1)
    ax.plot(steps, mean, color=color, lw=1, label=f"{label} (n={len(curves)})")
    ax.fill_between(steps, mean - std, mean + std, color=color, alpha=0.3,
                    label="± 1 std (ddof=1)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def decision_boundary(prob_fn, X, y, ax=None, resolution=200, max_points=2000):
    """Shade ``prob_fn(grid) -> P(class 1)`` over the plane, with the data on top.

    ``prob_fn`` takes an ``(M, 2)`` array and returns ``(M,)`` probabilities.
    """
    if not callable(prob_fn):
        raise TypeError("prob_fn must be a function of an (M, 2) array returning"
                        f" (M,) probabilities, got {type(prob_fn).__name__}")
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (len(X),):
        raise ValueError("decision_boundary draws 2-D data: X must have shape (N, 2)"
                         f" and y shape (N,), got {X.shape} and {y.shape}")
    if len(X) == 0:
        raise ValueError("X is empty: no points to draw a boundary around")
    if X.dtype.kind not in "fiu" or not np.isfinite(X).all():
        raise ValueError(f"X must hold finite numbers, got dtype {X.dtype}")
    for name, value, low in (("resolution", resolution, 2),
                             ("max_points", max_points, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    ax = _axes(ax, figsize=(5, 5))
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
    p = p.reshape(g0.shape)
    ax.contourf(g0, g1, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(g0, g1, p, levels=[0.5], colors="k", linewidths=1.5)
    show = slice(0, max_points)
    ax.scatter(X[show, 0], X[show, 1], c=y[show], cmap="RdBu_r", s=4,
               edgecolors="none")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    return ax


def scatter_classes(X, y, ax=None, max_points=3000):
    """2-D points coloured by class, one colour per class present in ``y``."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (len(X),):
        raise ValueError("scatter_classes draws 2-D data: X must have shape (N, 2)"
                         f" and y shape (N,), got {X.shape} and {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class ids, got dtype {y.dtype}")
    if isinstance(max_points, bool) or not isinstance(max_points, numbers.Integral) \
            or max_points < 1:
        raise ValueError(f"max_points must be an int >= 1, got {max_points!r}")
    ax = _axes(ax, figsize=(5, 5))
    X, y = X[:max_points], y[:max_points]
    # the course's two classes keep their colours (blue 0, red 1)
    colors = ["C0", "C3"] if set(np.unique(y).tolist()) <= {0, 1} else None
    for i, cls in enumerate(np.unique(y)):
        pts = X[y == cls]
        ax.scatter(pts[:, 0], pts[:, 1], s=3, label=f"class {cls}",
                   color=colors[int(cls)] if colors else f"C{i % 10}")
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(markerscale=4)
    return ax


def digit_grid(images, labels=None, preds=None, ncols=10, size=1.0):
    """A grid of 28x28 digits; titles show the label (and prediction if given)."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    given = images.shape
    if images.dtype.kind not in "fiub":
        raise TypeError(f"images must hold numbers (pixels), got dtype {images.dtype}")
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(len(images), 28, 28)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError("images must be rows of 784 pixels or 28x28 images, got"
                         f" shape {images.shape}")
    n = len(images)
    if n == 0:
        raise ValueError(f"images holds no images (shape {given})")
    for name, value in (("ncols", ncols),):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if isinstance(size, bool) or not isinstance(size, numbers.Real) \
            or not np.isfinite(size) or size <= 0:
        raise ValueError(f"size must be a number > 0, got {size!r}")
    for name, value in (("labels", labels), ("preds", preds)):
        if value is not None and len(value) != n:
            raise ValueError(f"{name} has {len(value)} entries for {n} images;"
                             " give one per image")
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.2),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray_r")
        if labels is not None and preds is not None:
            ok = labels[i] == preds[i]
            ax.set_title(f"{labels[i]}→{preds[i]}", fontsize=9,
                         color="k" if ok else "C3")
        elif labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, num_classes=10):
    """Counts ``cm[true, predicted]`` as an ``(C, C)`` int array."""
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


def plot_confusion_matrix(cm, ax=None):
    """Heat map of a confusion matrix with the counts written in the cells."""
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
    ax = _axes(ax, figsize=(5.5, 5))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                color="white" if v > cm.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticks(range(len(cm)))
    ax.set_yticks(range(len(cm)))
    return ax


class LivePlot:
    """A ``callback`` for :func:`coursenet.train.sgd` that redraws the curve live.

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
