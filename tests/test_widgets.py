"""widgets.py: bad input to the explorers (the rest: test_plots_widgets.py)."""

import matplotlib
import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import exercises, widgets

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


# --- train_with_your_functions: notebook 03's run of the student's code ----

def _synth(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] ** 2 + X[:, 1] ** 2 > 1).astype(int)


def test_train_with_your_functions_is_scalar_train_with_those_functions():
    from coursenet import scalar

    X, c = _synth()
    mine = widgets.train_with_your_functions(
        scalar.forward, scalar.backward, scalar.sgd_step, scalar.init_params(seed=1),
        (X, c), lr=0.1, epochs=2, seed=3, val_data=(X[:50], c[:50]))
    ref = scalar.train(scalar.init_params(seed=1), (X, c), lr=0.1, epochs=2, seed=3,
                       val_data=(X[:50], c[:50]))
    assert np.allclose(mine.step_loss, ref.step_loss)
    assert np.allclose(mine.epoch_val_loss, ref.epoch_val_loss)
    assert np.allclose(mine.epoch_train_acc, ref.epoch_train_acc)
    for name in ("W", "b", "V", "c"):
        assert np.allclose(mine.params[name], ref.params[name])


def test_train_with_your_functions_an_unwritten_function_draws_no_bar(capsys):
    from coursenet import scalar

    def sgd_step(params, grads, lr):
        raise NotImplementedError()

    X, c = _synth(20)
    with pytest.raises(NotImplementedError):
        widgets.train_with_your_functions(
            scalar.forward, scalar.backward, sgd_step, scalar.init_params(seed=1),
            (X, c), lr=0.1, epochs=1, seed=0, val_data=(X, c))
    captured = capsys.readouterr()
    assert "SGD with your functions" not in captured.out + captured.err


def test_train_with_your_functions_stops_at_a_loss_that_is_not_finite(capsys):
    from coursenet import scalar

    def forward(params, x, target):
        loss, cache = scalar.forward(params, x, target)
        return (float("nan") if calls.append(1) or len(calls) > 6 else loss), cache

    calls = []
    X, c = _synth(20)
    with exercises.needs_your_code() as run:
        widgets.train_with_your_functions(
            forward, scalar.backward, scalar.sgd_step, scalar.init_params(seed=1),
            (X, c), lr=0.1, epochs=1, seed=0, val_data=(X, c))
    # (the first call is the trial step on a copy); the run counts as stopped,
    # so the cell that plots its history skips instead of failing
    assert "■ stopped: your `forward` returned the loss nan after 5 updates" \
        in capsys.readouterr().out
    assert run.stopped


def test_train_with_your_functions_stops_when_a_step_changes_nothing(capsys):
    """sgd_step that rebinds its params: one stopped line, no bar, before an
    epoch of flat losses is drawn as if it trained."""
    from coursenet import scalar

    def sgd_step(params, grads, lr):
        params = {k: v for k, v in params.items()}   # a new dict, never seen

    X, c = _synth(20)
    with exercises.needs_your_code() as run:
        widgets.train_with_your_functions(
            scalar.forward, scalar.backward, sgd_step, scalar.init_params(seed=1),
            (X, c), lr=0.1, epochs=1, seed=0, val_data=(X, c))
    out = capsys.readouterr()
    assert out.out.startswith("■ stopped: your `sgd_step` left params as they were"
                              " after a step"), out.out
    assert "SGD with your functions" not in out.out + out.err and run.stopped
