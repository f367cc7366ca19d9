"""The third bad-input sweep (issue 17): one row per case that was silent, wrong
or an error naming nothing, each written before its fix and seen to fail.

Rows: the call, the exception, words the message must contain (the argument's
name first). Cases whose right answer is a result, not an error, are the
plain tests below the table.
"""

import math

import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import gradcheck, history, layers, mnist, scalar
from coursenet.exercises import _core

H_OK = dict(lr=0.1, batch_size=1, epochs=1, seed=0, steps_per_epoch=1, params={})


def _history(**changes):
    return history.History(**{**H_OK, **changes})


def _cache(**changes):
    p = scalar.course_params()
    return {**scalar.forward(p, [1.0, 2.0], 0)[1], **changes}


def _run_epochs(**changes):
    args = dict(batches=lambda: [0], step=lambda batch: 0.5,
                evaluate=lambda: (1.0, 0.5, None, None), nonfinite=lambda: [])
    args.update(changes)
    return history.run_epochs(_history(), **args)


def _params(**changes):
    return {**scalar.course_params(), **changes}


CASES = [
    # --- scalar
    ("init_params seed=-1 (random.Random(-1) is seed 1)",
     lambda: scalar.init_params(seed=-1), ValueError, ["seed", ">= 0", "-1"]),
    ("train seed=-1", lambda: scalar.train(scalar.course_params(), ([[1, 2]], [0]),
                                           lr=0.1, seed=-1),
     ValueError, ["seed", ">= 0", "-1"]),
    ("init_params num_hiddens 10**12 (hung building lists)",
     lambda: scalar.init_params(num_hiddens=10**12),
     ValueError, ["num_hiddens", "too large", "plain-Python"]),
    ("forward x as a string (read as its digits)",
     lambda: scalar.forward(scalar.course_params(), "12", 0),
     TypeError, ["x", "'12'"]),
    ("evaluate X rows as strings", lambda: scalar.evaluate(scalar.course_params(),
                                                           ["12"], [0]),
     TypeError, ["X", "rows of numbers"]),
    ("forward NaN in W (a NaN loss)",
     lambda: scalar.forward(_params(W=[[math.nan, 1, 1], [1, 1, 1]]), [1, 2], 0),
     ValueError, ["params['W']", "NaN or infinite"]),
    ("check_params inf in c", lambda: scalar.check_params(_params(c=[math.inf, 0.0])),
     ValueError, ["params['c']", "NaN or infinite"]),
    ("check_params b as a dict (its keys were read as numbers)",
     lambda: scalar.check_params(_params(b={0: 1.0, 1: 2.0, 2: 3.0})),
     TypeError, ["params['b']", "dict"]),
    ("backward cache target 5 (IndexError)",
     lambda: scalar.backward(scalar.course_params(), _cache(target=5)),
     ValueError, ["cache['target']", "[0, 2)", "5"]),
    ("backward cache target -1 (silently the last class)",
     lambda: scalar.backward(scalar.course_params(), _cache(target=-1)),
     ValueError, ["cache['target']", "-1"]),
    ("backward cache x a string", lambda: scalar.backward(scalar.course_params(),
                                                          _cache(x="ab")),
     TypeError, ["cache['x']", "numbers"]),
    ("backward cache y a generator",
     lambda: scalar.backward(scalar.course_params(), _cache(y=(v for v in [.5, .5]))),
     TypeError, ["cache['y']", "generator"]),
    ("backward cache h NaN", lambda: scalar.backward(scalar.course_params(),
                                                     _cache(h=[math.nan, 0.5, 0.5])),
     ValueError, ["cache['h']", "NaN"]),
    # --- layers
    ("linear_backward cache of two ints (AttributeError)",
     lambda: layers.linear_backward(np.ones((2, 3)), (1, 2)),
     TypeError, ["cache", "(X, W)", "int"]),
    # --- history: the History constructor
    ("History lr='a' (repr crashed)", lambda: _history(lr="a"),
     TypeError, ["lr", "number", "'a'"]),
    ("History lr=-1", lambda: _history(lr=-1), ValueError, ["lr", "> 0", "-1"]),
    ("History lr=nan", lambda: _history(lr=math.nan), ValueError, ["lr", "nan"]),
    ("History batch_size=0", lambda: _history(batch_size=0),
     ValueError, ["batch_size", "> 0", "0"]),
    ("History batch_size=True", lambda: _history(batch_size=True),
     TypeError, ["batch_size", "int", "True"]),
    ("History epochs=-1", lambda: _history(epochs=-1),
     ValueError, ["epochs", ">= 0", "-1"]),
    ("History epochs=1.5", lambda: _history(epochs=1.5),
     TypeError, ["epochs", "int", "1.5"]),
    ("History steps_per_epoch=-2", lambda: _history(steps_per_epoch=-2),
     ValueError, ["steps_per_epoch", ">= 0"]),
    ("History params=None", lambda: _history(params=None),
     TypeError, ["params", "dict", "NoneType"]),
    ("History epoch_train_loss of strings (summary crashed)",
     lambda: _history(epoch_train_loss=["x"]),
     TypeError, ["epoch_train_loss", "numbers", "'x'"]),
    ("History seconds='x' (repr crashed)", lambda: _history(seconds="x"),
     TypeError, ["seconds", "number", "'x'"]),
    ("History seconds=-1", lambda: _history(seconds=-1.0),
     ValueError, ["seconds", ">= 0"]),
    # --- history: all_finite and run_epochs
    ("all_finite(None)", lambda: history.all_finite(None),
     TypeError, ["values", "None"]),
    ("all_finite of a string", lambda: history.all_finite(["a"]),
     TypeError, ["values", "'a'"]),
    ("run_epochs history=None", lambda: history.run_epochs(
        None, lambda: [0], lambda b: 0.5, lambda: (1.0, 0.5, None, None), lambda: []),
     TypeError, ["history", "History", "NoneType"]),
    ("run_epochs step returns None", lambda: _run_epochs(step=lambda b: None),
     TypeError, ["step", "loss", "None"]),
    ("run_epochs evaluate returns a pair",
     lambda: _run_epochs(evaluate=lambda: (1.0, 0.5)),
     TypeError, ["evaluate", "4", "(1.0, 0.5)"]),
    ("run_epochs callback=3", lambda: _run_epochs(callback=3),
     TypeError, ["callback", "3"]),
    ("run_epochs batches a list", lambda: _run_epochs(batches=[0]),
     TypeError, ["batches", "function", "list"]),
    ("run_epochs nonfinite returns True", lambda: _run_epochs(nonfinite=lambda: True),
     TypeError, ["nonfinite", "list", "True"]),
    ("run_epochs evaluate gives a NaN loss (recorded silently)",
     lambda: _run_epochs(evaluate=lambda: (math.nan, 0.5, None, None)),
     history.DivergedError, ["nan", "epoch 0"]),
    # --- gradcheck
    ("format_comparison(None)", lambda: gradcheck.format_comparison(None),
     TypeError, ["c", "Comparison", "NoneType"]),
    # --- mnist
    ("fetch_mnist cache_dir='' (silently the current folder)",
     lambda: mnist.fetch_mnist("", mirrors=[]),
     ValueError, ["cache_dir", "empty"]),
    ("fetch_fashion_mnist data_dir that does not exist (silently ignored)",
     lambda: mnist.fetch_fashion_mnist("/nonexistent", data_dir="/nonexistent/fm",
                                       mirrors=[]),
     ValueError, ["data_dir", "/nonexistent/fm", "not a directory"]),
    # --- exercises' public helpers
    ("from_notebook folder=3", lambda: _core.from_notebook("x.ipynb", "f", folder=3),
     TypeError, ["folder", "3"]),
    ("CheckResult status 'maybe'", lambda: _core.CheckResult("maybe", "m"),
     ValueError, ["status", "'maybe'", "passed"]),
    ("CheckResult message 3", lambda: _core.CheckResult("passed", 3),
     TypeError, ["message", "3"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


# --- the right result, not an error ------------------------------------------

def test_sigmoid_of_a_huge_int_saturates():
    assert scalar.sigmoid(10**400) == 1.0
    assert scalar.sigmoid(-10**400) == 0.0


def test_all_finite_of_a_huge_int_is_true():
    assert history.all_finite([10**400, [1, 2.5]])
    assert not history.all_finite([[1.0, math.inf]])


def test_history_lists_from_a_generator_or_tuple_are_lists():
    h = _history(step_loss=(v for v in [1.0, 0.5]), epoch_train_loss=(1.0,))
    assert h.step_loss == [1.0, 0.5] and h.epoch_train_loss == [1.0]
    h.step_loss.append(0.25)  # run_epochs appends
    assert "2 steps" not in repr(h) and "3 steps" in repr(h)


def test_numerical_gradient_of_an_empty_x_is_empty():
    g = gradcheck.numerical_gradient(lambda z: float(z.sum()), np.zeros(0))
    assert g.shape == (0,)


def test_sgd_step_that_overflows_raises_and_leaves_params_untouched():
    params = scalar.course_params()
    before = {k: [list(r) if isinstance(r, list) else r for r in v]
              for k, v in params.items()}
    grads = scalar.backward(params, scalar.forward(params, [1.0, 2.0], 0)[1])
    grads["c"] = [1e10, -1e10]  # finite, and so is lr: lr * g overflows
    with pytest.raises(history.DivergedError, match="infinite"):
        scalar.sgd_step(params, grads, 1e308)
    assert params == before


@pytest.mark.parametrize("path", [None, 3])
def test_lab_is_read_only_names_a_path_that_is_not_a_string(tmp_path, path):
    from coursenet.lab import CourseContentsManager

    manager = CourseContentsManager(root_dir=str(tmp_path))
    with pytest.raises(TypeError, match=rf"^path must be an API path \(a str\), got"
                       rf" {path!r}$"):
        manager.is_read_only(path)


@pytest.mark.parametrize("folder", ["/", "", " "])
def test_lab_refuses_the_whole_root_as_a_read_only_folder(tmp_path, folder):
    """It used to drop such an entry silently: nothing was read-only."""
    from traitlets import TraitError

    from coursenet.lab import CourseContentsManager

    with pytest.raises(TraitError, match=rf"read_only_dirs entry {folder!r} names"
                       " the server's whole root"):
        CourseContentsManager(root_dir=str(tmp_path), read_only_dirs=[folder])


def test_sgd_keeps_the_batch_size_asked_for_when_the_data_is_smaller():
    """A batch of 64 over 10 rows is the whole set, one step an epoch: the
    history says 64 (it used to say 10), and the weights are those of batch 10."""
    from coursenet import mlp, train

    rng = np.random.default_rng(0)
    X, c = rng.random((10, 6), dtype=np.float32), rng.integers(0, 3, 10)
    runs = {b: train.sgd(mlp.init_mlp(6, 4, 3, seed=0), (X, c), lr=0.5,
                         batch_size=b, epochs=2, progress=False) for b in (64, 10)}
    assert runs[64].batch_size == 64 and runs[64].steps_per_epoch == 1
    for name in mlp.PARAM_NAMES:
        assert np.array_equal(runs[64].params[name], runs[10].params[name])
