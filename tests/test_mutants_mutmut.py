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
