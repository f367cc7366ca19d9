"""widgets.py: bad input to the explorers (the rest: test_plots_widgets.py)."""

import matplotlib
import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import (
    widgets,
)

matplotlib.use("Agg")

RNG = np.random.default_rng(1)  # this file's own random data


def _lr_explorer(**kwargs):
    X = RNG.random((40, 784)).astype(np.float32)
    y = RNG.integers(0, 10, 40)
    return widgets.learning_rate_explorer((X, y), (X[:10], y[:10]), num_hiddens=5,
                                          **kwargs)


CASES = [
    ("lr explorer lr=100 (was clamped to 10)", lambda: _lr_explorer(lr=100.0),
     ValueError, ["lr", "100", "[0.001, 10]"]),
    ("lr explorer lr=-1 (was clamped to 0.001)", lambda: _lr_explorer(lr=-1.0),
     ValueError, ["lr", "-1"]),
    ("lr explorer subset=-1 (trained on X[:-1])", lambda: _lr_explorer(subset=-1),
     ValueError, ["subset", "-1", "> 0"]),
    ("lr explorer subset=2.5", lambda: _lr_explorer(subset=2.5),
     TypeError, ["subset", "2.5"]),
    ("lr explorer batch size not in its list", lambda: _lr_explorer(batch_size=48),
     ValueError, ["batch_size", "48", "(16, 32, 64, 128)"]),
    ("lr explorer epochs not in its list", lambda: _lr_explorer(epochs=4),
     ValueError, ["epochs", "4", "(1, 2, 3, 5)"]),
    ("scalar explorer lr=5", lambda: widgets.scalar_explorer(
        RNG.normal(size=(20, 2)), np.arange(20) % 2, lr=5.0),
     ValueError, ["lr", "5", "[0.001, 3]"]),
    ("scalar explorer subset=0", lambda: widgets.scalar_explorer(
        RNG.normal(size=(20, 2)), np.arange(20) % 2, subset=0),
     ValueError, ["subset", "0"]),
    ("scalar explorer epochs not in its list", lambda: widgets.scalar_explorer(
        RNG.normal(size=(20, 2)), np.arange(20) % 2, epochs=7),
     ValueError, ["epochs", "7"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)
