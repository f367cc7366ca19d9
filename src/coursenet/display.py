"""Presentation helpers for the notebooks: data notices, answers, verdicts.

The notebooks state facts that must hold on whichever data they ran on, so the
text that names the data is computed here, not written by hand:

* :func:`load_mnist_with_notice` loads MNIST like :func:`coursenet.data.load_mnist`
  and also says which data it got (``"full"`` or ``"sample"``). When the bundled
  offline sample stands in, it shows a visible Markdown notice instead of the
  loader's :class:`~coursenet.data.SampleDataWarning` (whose text names the
  cache directory of the machine that ran it, which a stored notebook must not
  carry).
* :func:`describe_test_data` names the held-out data of ``final=True`` runs.
* :func:`answer` renders an "Answer to Qn" as Markdown from computed values.
* :func:`verdict` prints one line ``"<claim>: True"`` for nbval to check.

IPython is imported only when something is displayed, so the module imports
without it.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from coursenet import data

SOURCES = ("full", "sample")


class MnistLoad(NamedTuple):
    """What :func:`load_mnist_with_notice` returns: the course's tuple plus ``source``.

    Unpack it as ``(xtrain, ytrain), (xval, yval), num_cls, source = ...``.
    """

    train: tuple
    val: tuple
    num_cls: int
    source: str  # "full" or "sample"


def load_mnist_with_notice(final=False, *, notice=True, **kwargs):
    """:func:`coursenet.data.load_mnist` plus which data it used.

    Returns ``(xtrain, ytrain), (xval, yval), num_cls, source`` (a
    :class:`MnistLoad`), ``source`` being ``"sample"`` when the bundled offline
    sample is in use and ``"full"`` otherwise. When the sample is in use and
    ``notice`` is true, a Markdown notice is displayed (see :func:`sample_notice`)
    instead of the loader's warning; every other warning passes through.
    ``final`` and ``kwargs`` go to :func:`coursenet.data.load_mnist` unchanged.
    """
    if not isinstance(notice, bool):
        raise TypeError(f"notice must be True or False, got {notice!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train, val, num_cls = data.load_mnist(final=final, **kwargs)
    fell_back = False
    for w in caught:
        if issubclass(w.category, data.SampleDataWarning):
            fell_back = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    source = "sample" if fell_back or kwargs.get("source") == "sample" else "full"
    if source == "sample" and notice:
        _display(sample_notice())
    return MnistLoad(train, val, num_cls, source)


def sample_notice_text() -> str:
    """The Markdown text of the offline-sample notice (no machine paths in it)."""
    return (
        "> **Offline: the bundled MNIST sample is in use, not full MNIST.**  \n"
        "> Full MNIST could not be loaded, so this notebook runs on a sample of"
        " 5,000 real MNIST digits, all taken from MNIST's *training* file: 3,500"
        " train / 500 validation, or 4,000 train / 1,000 held-out test digits with"
        " `final=True`. Every number below comes from that sample; expect lower"
        " accuracies than with full MNIST's 60,000 training images. To use the full"
        " set, go online and run `coursenet.data.load_mnist(source='full')` once (it"
        " is cached), then re-run the notebook."
    )


def sample_notice():
    """The offline-sample notice as an ``IPython.display.Markdown`` object."""
    from IPython.display import Markdown

    return Markdown(sample_notice_text())


def describe_test_data(source, num_test=None, short=False) -> str:
    """Name the held-out set that ``load_mnist(final=True)`` returns for ``source``.

    Full MNIST: the canonical test set. The sample: its held-out digits, which
    come from MNIST's training file (so they are *not* the canonical test set).
    ``num_test`` (the number of test images) is quoted when given; ``short``
    gives a phrase for a heading.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if short:
        return ("MNIST's canonical test set" if source == "full" else
                "the offline sample's held-out digits (not MNIST's test set)")
    count = "" if num_test is None else f" ({int(num_test):,} images)"
    if source == "full":
        return f"MNIST's canonical test set{count}"
    return (f"the offline sample's held-out test digits{count}, taken from MNIST's"
            " training file (not the canonical test set)")


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
