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


__all__ = ["data_notice", "sample_notice_text", "sample_notice", "describe_test_data",
           "answer_markdown", "answer", "verdict"]
