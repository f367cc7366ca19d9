"""Tests for mutants mutmut left alive (issue 17, pass 3), one test per mutant.

Each test names the mutant it kills (module, function and the one-line change);
each was seen to fail with that change applied.
"""

import numpy as np
import pytest

from coursenet import history, mlp, mnist, train


def _params(**changes):
    p = mlp.init_mlp(4, 3, 2, seed=0)
    p.update(changes)
    return p


X = np.random.default_rng(0).random((5, 4)).astype(np.float32)
Y = np.array([0, 1, 0, 1, 1])


def test_sgd_step_refuses_mixed_dtypes():
    """train.sgd_step: ``check_params(params, training=True)`` -> ``training=False``
    (a float64 bias next to float32 weights was then trained silently)."""
    p = _params(b1=np.zeros(3))
    with pytest.raises(TypeError, match="same floating dtype"):
        train.sgd_step(p, X, Y, 0.1)


def test_sgd_step_names_lr():
    """train.sgd_step: ``positive_number(lr, "lr")`` -> another name or None."""
    with pytest.raises(ValueError, match=r"^lr must be > 0, got 0$"):
        train.sgd_step(_params(), X, Y, 0)


def test_a_read_only_parameter_message_starts_with_its_name():
    """train._check_writeable: ``why=""`` -> ``why="XXXX"``, and the
    ``(read-only)`` note dropped."""
    p = _params()
    p["W2"].flags.writeable = False
    with pytest.raises(TypeError) as info:
        train.sgd_step(p, X, Y, 0.1)
    assert str(info.value) == ("params['W2'] must be a writeable numpy array, got"
                               " ndarray (read-only)")


def test_summary_shows_the_last_epoch():
    """History.summary: ``[-1]`` -> ``[+1]`` (the first epoch after training)."""
    h = history.History(lr=0.5, batch_size=2, epochs=2, seed=0, steps_per_epoch=1,
                        params={}, epoch_train_loss=[3.0, 2.0, 1.0],
                        epoch_train_acc=[0.1, 0.2, 0.3],
                        epoch_val_loss=[3.5, 2.5, 1.5],
                        epoch_val_acc=[0.15, 0.25, 0.35])
    assert h.summary() == ("lr=0.5, batch=2, epochs=2, train loss 1.0000, train acc"
                           " 30.00%, val loss 1.5000, val acc 35.00%")


@pytest.mark.parametrize("platform, env, tail", [
    ("linux", {"XDG_CACHE_HOME": "/xdg"}, "/xdg/coursenet"),
    ("linux", {}, "HOME/.cache/coursenet"),
    ("darwin", {}, "HOME/Library/Caches/coursenet"),
    ("win32", {"LOCALAPPDATA": "/lad"}, "/lad/coursenet"),
    ("win32", {}, "HOME/AppData/Local/coursenet"),
])
def test_default_cache_dir_per_platform(monkeypatch, tmp_path, platform, env, tail):
    """mnist.default_cache_dir: the XDG_CACHE_HOME name, the macOS and Windows
    folders (mutmut changed each string or operator; only Linux's default ran)."""
    monkeypatch.delenv(mnist.CACHE_ENV, raising=False)
    for name in ("XDG_CACHE_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(mnist.sys, "platform", platform)
    got = mnist.default_cache_dir()
    assert got.as_posix() == tail.replace("HOME", tmp_path.as_posix())


@pytest.mark.parametrize("kwargs, error, message", [
    ({"epochs": 2.5}, TypeError, r"^epochs must be an integer, got 2\.5$"),
    ({"seed": -1}, ValueError, r"^seed must be an int >= 0, got -1$"),
    ({"copy": "no"}, TypeError, r"^copy must be True or False, got 'no'$"),
    ({"progress": 1}, TypeError, r"^progress must be True or False, got 1$"),
    ({"callback": "plot"}, TypeError, r"^callback must be a function called with"),
])
def test_sgd_messages_start_with_the_argument(kwargs, error, message):
    """train.sgd: ``integer=True`` -> False (``epochs=2.5`` ran 2 epochs), and each
    argument's name in its message -> ``XXnameXX`` (a substring check passed)."""
    with pytest.raises(error, match=message):
        train.sgd(_params(), (X, Y), lr=0.1, **{"progress": False, **kwargs})


def test_sgd_defaults_are_the_documented_ones():
    """train.sgd: ``batch_size=64, epochs=5, seed=0`` -> 65, 6, 1."""
    rng = np.random.default_rng(1)
    Xs = rng.random((130, 4)).astype(np.float32)
    ys = rng.integers(0, 2, 130)
    h = train.sgd(_params(), (Xs, ys), lr=0.1, progress=False)
    assert (h.batch_size, h.epochs, h.seed, h.steps_per_epoch) == (64, 5, 0, 3)
    again = train.sgd(_params(), (Xs, ys), lr=0.1, batch_size=64, epochs=5, seed=0,
                      progress=False)
    assert h.step_loss == again.step_loss


@pytest.mark.parametrize("kwargs, message", [
    ({"num_train": -1}, r"^num_train must be >= 0"),
    ({"num_val": -1}, r"^num_val must be >= 0"),
    ({"seed": -1}, r"^seed must be >= 0"),
    ({"seed": 2**32}, r"^seed must be < 2\*\*32"),
])
def test_load_synth_messages_name_the_argument(kwargs, message):
    """data.load_synth: each argument's name -> ``XXnameXX``; ``2**32`` -> ``2*32``."""
    from coursenet import data

    with pytest.raises(ValueError, match=message):
        data.load_synth(**{"num_train": 3, "num_val": 2, **kwargs})
    if kwargs == {"seed": 2**32}:
        assert data.load_synth(3, 2, seed=2**32 - 1)[0][0].shape == (3, 2)
        assert data.load_synth(3, 2, seed=64)[0][0].shape == (3, 2)  # > 2*32


def test_run_epochs_times_the_run_and_moves_the_bar_once_per_step():
    """history.run_epochs: ``perf_counter() - start`` -> ``+ start``;
    ``bar.update(1)`` -> ``update(2)``."""
    class Bar:
        def __init__(self):
            self.n, self.closed = 0, False

        def update(self, k):
            self.n += k

        def close(self):
            self.closed = True

    bar = Bar()
    h = history.History(lr=0.1, batch_size=1, epochs=2, seed=0, steps_per_epoch=3,
                        params={})
    history.run_epochs(h, lambda: [0, 1, 2], lambda batch: 0.5,
                       lambda: (1.0, 0.5, None, None), lambda: [], bar=bar)
    assert bar.n == 6 and bar.closed
    assert 0 <= h.seconds < 60


@pytest.mark.parametrize("pixels, ok", [([[-1, 3]], False), ([[0, 256]], False),
                                        ([[0, 255]], True), ([[-0.5, 2.0]], False)])
def test_scale_pixels_bounds_each_side(pixels, ok):
    """data.scale_pixels: ``lo < 0 or hi > 255`` -> ``and``; ``255`` -> ``256``."""
    from coursenet import data

    X = np.array(pixels)
    if X.dtype.kind == "f":
        X = X.astype(np.float64)
    if ok:
        assert data.scale_pixels(X).tolist() == [[0.0, 1.0]]
    else:
        with pytest.raises(ValueError, match=r"^X must hold pixels in \[0, 255\]"):
            data.scale_pixels(X)


@pytest.mark.parametrize("name", ["final", "flatten"])
def test_load_fashion_mnist_names_its_flags(name):
    """data.load_fashion_mnist: ``_check_bool(final, "final")`` -> another name."""
    from coursenet import data

    with pytest.raises(TypeError, match=rf"^{name} must be True or False, got 'x'$"):
        data.load_fashion_mnist(**{name: "x"})
