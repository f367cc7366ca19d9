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
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def smooth(values, window=50):
    """Trailing moving average (the first entries average what exists so far)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    window = max(1, min(int(window), len(values)))
    csum = np.cumsum(np.insert(values, 0, 0.0))
    out = np.empty_like(values)
    out[window - 1:] = (csum[window:] - csum[:-window]) / window
    head = np.arange(1, window)
    out[:window - 1] = csum[1:window] / head
    return out


def learning_curve(history, ax=None, window=None, label=None, color=None,
                   raw=True):
    """Loss of every step (faint) and its moving average, against the step.

    Draws the :class:`~coursenet.history.History` of either network: a step is
    one minibatch for :func:`coursenet.train.sgd` and one instance for
    :func:`coursenet.scalar.train`. Per-epoch losses on the whole training (and
    validation) set are drawn as markers at the step where each epoch ended.
    """
    for name in ("step_loss", "steps_per_epoch", "epoch_train_loss",
                 "epoch_val_loss"):
        if not hasattr(history, name):
            raise TypeError("history must be a History from coursenet.train.sgd or"
                            f" coursenet.scalar.train, got {type(history).__name__}"
                            f" without .{name}")
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


def epoch_curves(history, ax=None, metric="loss"):
    """Training vs validation ``loss`` or ``acc`` per epoch (epoch 0 = before)."""
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
    ax = _axes(ax)
    curves = np.asarray([smooth(c, window) for c in curves])
    if curves.ndim != 2 or len(curves) < 2:
        raise ValueError("mean_std_band needs at least two curves of equal length,"
                         f" got array of shape {curves.shape}")
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
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (len(X),):
        raise ValueError("decision_boundary draws 2-D data: X must have shape (N, 2)"
                         f" and y shape (N,), got {X.shape} and {y.shape}")
    ax = _axes(ax, figsize=(5, 5))
    lo, hi = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    p = np.asarray(prob_fn(grid)).reshape(g0.shape)
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
    """The two-class synthetic data as a scatter plot."""
    ax = _axes(ax, figsize=(5, 5))
    X, y = np.asarray(X)[:max_points], np.asarray(y)[:max_points]
    for cls, color in ((0, "C0"), (1, "C3")):
        pts = X[y == cls]
        ax.scatter(pts[:, 0], pts[:, 1], s=3, color=color, label=f"class {cls}")
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(markerscale=4)
    return ax


def digit_grid(images, labels=None, preds=None, ncols=10, size=1.0):
    """A grid of 28x28 digits; titles show the label (and prediction if given)."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(len(images), 28, 28)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError("images must be rows of 784 pixels or 28x28 images, got"
                         f" shape {images.shape}")
    n = len(images)
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
    ax = _axes(ax, figsize=(5.5, 5))
    cm = np.asarray(cm)
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

        self.every = every
        self.window = window
        self.fig, self.ax = plt.subplots(figsize=(7, 3.5))
        plt.close(self.fig)  # shown through display(), not by pyplot
        self._last = 0.0
        self._handle = None
        self.history = None

    def __call__(self, history):
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
