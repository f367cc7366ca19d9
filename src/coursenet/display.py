"""Presentation helpers for the notebooks: data notices, answers, verdicts.

The notebooks state facts that must hold on whichever data they ran on, so the
text that names the data is computed here, not written by hand:

* :func:`data_notice` shows a visible Markdown notice when the bundled offline
  MNIST sample stands in for full MNIST (a :class:`coursenet.data.Dataset` from
  :func:`coursenet.data.load_dataset` says so in ``source``). The notice replaces
  the loader's :class:`~coursenet.data.SampleDataWarning`, whose text names the
  cache directory of the machine that ran it, which a stored notebook must not
  carry.
* :func:`describe_test_data` names the held-out data of ``final=True`` runs.
* :func:`answer` renders an "Answer to Qn" as Markdown from computed values.
* :func:`verdict` prints one line ``"<claim>: True"`` for nbval to check.

IPython is imported only when something is displayed, so the module imports
without it. The loading itself is :mod:`coursenet.data`'s.
"""

from __future__ import annotations

import numpy as np

from coursenet import data
from coursenet._checks import non_negative_int
from coursenet.exercises._core import failed_checks

_SOURCES = ("full", "sample")  # what Dataset.source can be


def data_notice(dataset):
    """Display the offline-sample notice if ``dataset`` is the bundled sample.

    ``dataset``: what :func:`coursenet.data.load_dataset` returned. Shows
    nothing for full MNIST or Fashion-MNIST.
    """
    if not isinstance(dataset, data.Dataset):
        raise TypeError("dataset must be what coursenet.data.load_dataset returns,"
                        f" got {type(dataset).__name__}")
    if dataset.source == "sample":
        _display(sample_notice())


def sample_notice_text() -> str:
    """The Markdown text of the offline-sample notice (no machine paths in it)."""
    return (
        "> **Offline: the bundled MNIST sample is in use, not full MNIST.**  \n"
        "> Full MNIST's training set could not be loaded, so this notebook trains on"
        " a sample of 5,000 real MNIST digits, all taken from MNIST's *training*"
        " file: 4,500 train / 500 validation, or with `final=True` all 5,000 to"
        " train on, tested on MNIST's canonical 10,000 test digits (which ship with"
        " coursenet). Every number below comes from that sample; expect lower"
        " accuracies than with full MNIST's 55,000 (or 60,000) training images. To"
        " use the full set, go online and run"
        " `coursenet.data.load_mnist(source='full')` once (it is cached), then"
        " re-run the notebook."
    )


def sample_notice():
    """The offline-sample notice as an ``IPython.display.Markdown`` object."""
    from IPython.display import Markdown

    return Markdown(sample_notice_text())


def describe_test_data(source, num_test=None, short=False) -> str:
    """Name the held-out set that ``final=True`` returns.

    ``source``: a :class:`coursenet.data.Dataset`, or for MNIST ``"full"`` or
    ``"sample"`` (both are tested on MNIST's canonical test set, which ships
    with coursenet). ``num_test`` (the number of test images) is quoted when
    given; ``short`` gives a phrase for a heading.
    """
    if not isinstance(short, (bool, np.bool_)):
        raise TypeError(f"short must be True or False, got {short!r}")
    if num_test is not None:
        num_test = non_negative_int(num_test, "num_test")
    if isinstance(source, data.Dataset):
        title = source.title
    elif isinstance(source, str) and source in _SOURCES:
        title = "MNIST"
    else:
        raise ValueError(f"source must be one of {_SOURCES} or a"
                         f" coursenet.data.Dataset, got {source!r}")
    canonical = " canonical" if title == "MNIST" else ""
    name = f"{title}'s{canonical} test set"
    if short or num_test is None:
        return name
    return f"{name} ({num_test:,} images)"


def answer_markdown(title, body):
    """``IPython.display.Markdown`` of ``### title`` followed by ``body``."""
    from IPython.display import Markdown

    if not isinstance(title, str) or not title:
        raise TypeError(f"title must be a non-empty string, got {title!r}")
    if not isinstance(body, str):
        raise TypeError(f"body must be a string of Markdown, got {type(body).__name__}")
    return Markdown(f"### {title}\n\n{body.strip()}\n")


def answer(title, body):
    """Display an answer (computed Markdown) under a ``### title`` heading."""
    _display(answer_markdown(title, body))


def verdict(claim, holds):
    """Print ``"<claim>: True"`` or ``"... False"``: one stable line nbval can check.

    ``holds`` must be a boolean (numpy booleans included), so that a number
    passed by mistake is not silently read as a truth value.
    """
    if not isinstance(claim, str) or not claim:
        raise TypeError(f"claim must be a non-empty string, got {claim!r}")
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"holds must be True or False, got {holds!r}")
    print(f"{claim}: {bool(holds)}")


def _display(obj):
    from IPython.display import display

    display(obj)




# --------------------------------------------------------------------------
# Tables of numbers: the notebooks print many small tables; one function
# formats them all, so that a notebook cell says *what* it prints, not how.
# --------------------------------------------------------------------------


def table(columns, formats=None):
    """Print ``{header: values}`` as right-aligned columns, one row per index.

    ``columns``: a dict of equally long sequences; ``formats``: an optional dict
    ``{header: format spec}`` (e.g. ``".4f"``, ``".2%"``, ``","``); a value
    ``None`` prints as "–". Each column is as wide as its header or its widest
    value. Returns nothing; prints one header line and one line per row.
    """
    if not isinstance(columns, dict) or not columns:
        raise TypeError("columns must be a non-empty dict {header: values}")
    formats = formats or {}
    if not isinstance(formats, dict) or set(formats) - set(columns):
        raise ValueError(f"formats must be a dict whose keys are among the headers"
                         f" {list(columns)}, got {formats!r}")
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError("every column must have the same number of values, got"
                         f" {dict((h, len(v)) for h, v in columns.items())}")
    cells = {header: [("–" if v is None else format(v, formats.get(header, "")))
                      for v in values] for header, values in columns.items()}
    widths = {h: max([len(h)] + [len(c) for c in cells[h]]) for h in cells}
    print("  ".join(f"{h:>{widths[h]}}" for h in cells))
    for row in zip(*cells.values()):
        print("  ".join(f"{c:>{w}}" for c, w in zip(row, widths.values())))


def _vector_text(values):
    # (+ 0.0 turns -0.0 into 0.0); a matrix (list of rows) prints row by row
    if values and isinstance(values[0], (list, tuple, np.ndarray)):
        return "  ".join(_vector_text(list(row)) for row in values)
    return "[" + ", ".join(f"{float(v) + 0.0:+.4f}" for v in values) + "]"


def vectors(title, values, expected=None, tol=1e-4):
    """Print ``title``, then one line ``name  [+v0, +v1, ...]`` per entry of
    the dict ``values`` (lists of floats, or lists of rows for a matrix).

    ``expected``: an optional dict of the values they should have (same
    shapes); a line whose name is in it ends with ✓ when every entry is within
    ``tol`` of it, else with ✗ and the largest difference (the expected
    numbers themselves are not printed)."""
    if not isinstance(values, dict):
        raise TypeError("values must be a dict {name: list}, got"
                        f" {type(values).__name__}")
    expected = expected or {}
    print(title)
    for name, value in values.items():
        line = f"{name:>6}  {_vector_text(list(value))}"
        if name in expected:
            got = np.ravel(np.asarray(value, dtype=float))
            want = np.ravel(expected[name])
            if got.shape != want.shape:
                line += f"  ✗ {got.size} numbers, expected {want.size}"
            else:
                diff = float(np.max(np.abs(got - want), initial=0.0))
                line += "  ✓" if diff <= tol else f"  ✗ off by {diff:.1e}"
        print(line)


def comparisons_answer(title, results, not_run, agree, extra=""):
    """Display ``title`` over one sentence about a list of
    :class:`coursenet.gradcheck.Comparison` ``results``: ``not_run`` if the
    list is empty, the names of those that disagree, or ``agree`` (``{n}`` in
    it becomes the number of comparisons); then ``extra``, a sentence of more
    computed numbers. Returns nothing (a notebook's last line shows no value)."""
    bad = [r.name for r in results if not r.approx]
    failed = failed_checks()
    if results and not bad and failed:   # agreeing is not the whole story
        who, one = " and ".join(f"`{name}`" for name in failed[0]), len(failed[0]) == 1
        extra = (f"{extra} Your {who} still {'fails its' if one else 'fail their'}"
                 " own check above: these comparisons do not reach what"
                 f" {'it gets' if one else 'they get'} wrong.").strip()
    if failed and not results:   # "finish Q5" would be false: it ran and stopped
        who = " and ".join(f"`{name}`" for name in failed[0])
        not_run = (f"Not run: the comparison stopped, and your {who} failed"
                   f" {'its' if len(failed[0]) == 1 else 'their'} own check above:"
                   " fix that, then re-run the cells from the comparison on.")
    what = "gradients" if any("loss" not in name for name in bad) else "losses"
    text = (not_run if not results else
            f"**Your {what} do not agree yet**: {', '.join(bad)}." if bad else
            agree.format(n=len(results)))
    answer(title, f"{text} {extra}".strip())


__all__ = ["data_notice", "sample_notice_text", "sample_notice", "describe_test_data",
           "answer_markdown", "answer", "verdict", "table", "vectors",
           "comparisons_answer", "level_and_noise", "first_below", "scalar_rate_table",
           "saturation_table", "batch_timings", "epoch_table", "sweep_table",
           "compare_rates",
           "summed_vs_mean"]


# --------------------------------------------------------------------------
# Notebook 03: what the learning rate does (the measurements of its tables)
# --------------------------------------------------------------------------


def level_and_noise(params, rate, train_data, check_data, steps=5000, every=100,
                    seed=1):
    """Continue SGD on a copy of scalar ``params`` for ``steps`` instances drawn
    from ``train_data`` (seed ``seed``, no repeats) and record the mean loss on
    ``check_data`` every ``every`` steps. Returns (level, noise): the mean of
    those losses and the std (ddof=1) of the change between two consecutive
    ones."""
    import copy
    import random

    from coursenet import scalar

    params = copy.deepcopy(params)
    X, labels = (np.asarray(a).tolist() for a in train_data)
    if steps > len(X) or steps < 2 * every:
        raise ValueError(f"steps must lie in [{2 * every}, {len(X)}] (at least two"
                         f" checkpoints, no instance twice), got {steps!r}")
    checkpoints = []
    for step, n in enumerate(random.Random(seed).sample(range(len(X)), steps), start=1):
        scalar.sgd_instance(params, X[n], labels[n], rate)
        if step % every == 0:
            checkpoints.append(scalar.mean_loss(params, *check_data))
    return float(np.mean(checkpoints)), float(np.std(np.diff(checkpoints), ddof=1))


def first_below(instance_loss, window=500, below=0.5):
    """Instances seen when the trailing mean of ``window`` losses first drops
    below ``below`` (only full windows count), or None if it never does."""
    from coursenet.plots import smooth

    smoothed = smooth(instance_loss, window)[window - 1:]
    hits = np.flatnonzero(smoothed < below)
    return int(hits[0]) + window if hits.size else None


def scalar_rate_table(runs, train_data, val_data, checked=1000, steps=5000):
    """Notebook 03's table: for each ``{rate: History}`` of the scalar network,
    when its loss first drops below 0.5 (:func:`first_below`), its validation
    accuracy, and its :func:`level_and_noise` over ``steps`` more instances,
    measured on the first ``checked`` validation points. Prints the table;
    returns ``{rate: {"exit_at", "acc", "level", "noise"}}``."""
    from coursenet import mlp

    X_val, c_val = (np.asarray(a) for a in val_data)
    check = (X_val[:checked], c_val[:checked])
    found = {}
    for rate, run in runs.items():
        level, noise = level_and_noise(run.params, rate, train_data, check, steps)
        found[rate] = {"exit_at": first_below(run.step_loss),
                       "acc": mlp.accuracy(mlp.from_scalar(run.params), X_val, c_val),
                       "level": level, "noise": noise}
    table({"lr": list(found),
           "first below 0.5": ["never" if f["exit_at"] is None
                               else f"{f['exit_at']:,}" for f in found.values()],
           "val acc": [f["acc"] for f in found.values()],
           "level": [f["level"] for f in found.values()],
           "noise": [f["noise"] for f in found.values()]},
          {"val acc": ".2%", "level": ".3f", "noise": ".3f"})
    return found


def saturation_table(runs, X):
    """For each ``{rate: History}`` of the scalar network: its largest weight
    and the share of (hidden unit, row of ``X``) pairs where the sigmoid is
    saturated, h (1 − h) < 0.01. Prints the table."""
    from coursenet import mlp

    largest, saturated = [], []
    for run in runs.values():
        p = mlp.from_scalar(run.params)
        k = np.asarray(X) @ p["W1"] + p["b1"]          # (N, H) pre-activations
        h = 0.5 * (1 + np.tanh(k / 2))                 # the sigmoid, without overflow
        largest.append(max(np.abs(p["W1"]).max(), np.abs(p["W2"]).max()))
        saturated.append(np.mean(h * (1 - h) < 0.01))
    table({"lr": list(runs), "largest |weight|": largest,
           "saturated (unit, point) pairs": saturated},
          {"largest |weight|": ".1f", "saturated (unit, point) pairs": ".1%"})


# --------------------------------------------------------------------------
# Notebooks 05 and 06: timings, per-epoch and per-rate tables
# --------------------------------------------------------------------------


def batch_timings(batched_backward, params, X, c, sizes, repeats=5):
    """Seconds ``batched_backward(params, X_batch, c_batch)`` takes for all
    rows of ``X`` ``(N, D)``, ``batch_size`` rows at a time, for each batch
    size in ``sizes`` (the first one the reference of the speed-up). The best
    of ``repeats`` rounds, the sizes taking turns in each round, so that a slow
    moment of the machine does not hit one size only. Prints the table; returns
    ``{batch size: seconds}``."""
    import time

    sizes = [int(s) for s in sizes]
    best = {size: np.inf for size in sizes}
    for _ in range(repeats):
        for size in sizes:
            start = time.perf_counter()
            for i in range(0, len(X), size):
                batched_backward(params, X[i:i + size], c[i:i + size])
            best[size] = min(best[size], time.perf_counter() - start)
    table({"batch size": sizes,
           f"seconds for {len(X):,} instances": [best[s] for s in sizes],
           "speed-up": [f"{best[sizes[0]] / best[s]:.1f}×" for s in sizes]},
          {f"seconds for {len(X):,} instances": ".4f"})
    return best


def epoch_table(history):
    """Print a run's training and validation loss and accuracy per epoch
    (epoch 0: before training) and the gap between the two losses."""
    train_loss, val_loss = history.epoch_train_loss, history.epoch_val_loss
    table({"epoch": list(range(len(train_loss))), "train loss": train_loss,
           "val loss": val_loss,
           "gap": [v - t for t, v in zip(train_loss, val_loss)],
           "train acc": history.epoch_train_acc, "val acc": history.epoch_val_acc},
          {"train loss": ".4f", "val loss": ".4f", "gap": ".4f", "train acc": ".2%",
           "val acc": ".2%"})


def sweep_table(rates, sweep, diverged, seeds):
    """Notebook 06's sweep: the final validation loss and accuracy (mean ± std
    over the seeds, ddof=1) and the diverged runs of each rate. ``sweep``,
    ``diverged``: what :func:`coursenet.exercises.nb06.rate_sweep` returned.
    Prints the table; returns (usable rates, {rate: val losses},
    {rate: val accuracies}), the arrays ``(len(seeds),)``, for the rates where
    no seed diverged."""
    usable = [r for r in rates if diverged[r] == 0]
    val_loss = {r: np.array([h.epoch_val_loss[-1] for h in sweep[r]]) for r in usable}
    val_acc = {r: np.array([h.epoch_val_acc[-1] for h in sweep[r]]) for r in usable}

    def mean_std(values, r, spec):
        return (f"{values[r].mean():{spec}} ± {values[r].std(ddof=1):{spec}}"
                if r in values else None)

    table({"lr": list(rates),
           "val loss, mean ± std": [mean_std(val_loss, r, ".4f") for r in rates],
           "val acc, mean ± std": [mean_std(val_acc, r, ".2%") for r in rates],
           "diverged": [f"{diverged[r]} of {len(seeds)}" for r in rates]})
    return usable, val_loss, val_acc


def compare_rates(rate, other, values, metric):
    """Compare lr ``rate`` with lr ``other`` seed by seed on ``values``
    ``{rate: array (seeds,)}`` of the final validation ``metric`` ("acc":
    higher is better, "loss": lower is better). Prints one line; returns the
    :func:`coursenet.exercises.nb06.paired_difference` result (positive
    differences: ``rate`` is better)."""
    from coursenet.exercises.nb06 import paired_difference

    if metric not in ("acc", "loss"):
        raise ValueError(f'metric must be "acc" or "loss", got {metric!r}')
    for r in (rate, other):
        if r not in values:
            raise ValueError(f"lr {r} has no value for every seed (diverged or not"
                             f" in the sweep); rates with values: {list(values)}")
    result = paired_difference(values[rate], values[other],
                               higher_is_better=metric == "acc")
    print(f"lr {rate} vs lr {other}, validation {metric}: better on {result.wins} of"
          f" {result.n} seeds; mean difference {result.mean:+.4f}, 95% paired-t"
          f" interval [{result.low:+.4f}, {result.high:+.4f}]")
    return result


def summed_vs_mean(train_data, val_data, equiv_lr, lr=0.03):
    """Notebook 06: the MNIST MLP trained over the same batches on the summed
    loss at ``lr``, on the mean loss at ``equiv_lr`` (skipped while it is
    None) and on the mean loss at ``lr``
    (:func:`coursenet.exercises.nb06.summed_or_mean_run`). Draws their batch
    losses, prints their validation accuracies and the largest difference
    between the first two runs' weights. Returns {"acc": {run name: accuracy},
    "max_diff": that difference, or None without ``equiv_lr``}."""
    import matplotlib.pyplot as plt

    from coursenet import mlp, plots
    from coursenet.exercises.nb06 import summed_or_mean_run

    (X, c), (X_val, c_val) = train_data, val_data
    runs = {f"summed loss, lr {lr:g}": summed_or_mean_run(X, c, lr, summed=True)}
    if equiv_lr is None:
        print("EQUIV_LR is not set yet: set it in the cell above to the rate you"
              " expect, run that cell, then this one")
    else:
        runs[f"mean loss, lr {equiv_lr:g}"] = summed_or_mean_run(X, c, equiv_lr,
                                                                 summed=False)
    runs[f"mean loss, lr {lr:g}"] = summed_or_mean_run(X, c, lr, summed=False)
    plots.loss_runs_figure({name: losses for name, (_, losses) in runs.items()})
    plt.show()
    accs = {name: mlp.accuracy(params, X_val, c_val)
            for name, (params, _) in runs.items()}
    for name, acc in accs.items():
        print(f"{name:>20}: validation accuracy {acc:.2%}")
    max_diff = None
    if equiv_lr is not None:
        (summed_params, _), (mean_params, _) = list(runs.values())[:2]
        max_diff = float(max(np.abs(summed_params[k] - mean_params[k]).max()
                             for k in summed_params))
        print("largest difference between the weights of the first two:"
              f" {max_diff:.1e}")
    return {"acc": accs, "max_diff": max_diff}
