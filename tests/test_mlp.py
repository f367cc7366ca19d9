"""mlp.py: gradients against finite differences, the batch as the mean of its
rows, seeded init, chunked evaluation; every entry point refuses the parameters
forward refuses."""

import math

import numpy as np
import pytest
from bad_input import P32, P64, X32, X64, Y, assert_clear_error
from reference import problem

from coursenet import (
    mlp,
)
from coursenet.gradcheck import numerical_gradient, rel_error


def _params(**changes):
    p = mlp.init_mlp(4, 5, 3, seed=0, dtype=np.float64)
    for key, edit in changes.items():
        p[key] = edit(p[key])
    return p


def _with(value, at=(0,)):
    def edit(a):
        a = a.copy()
        a[at] = value
        return a
    return edit


X = np.random.default_rng(0).random((6, 4))
C = np.array([0, 1, 2, 0, 1, 2])
ENTRY_POINTS = {
    "forward": lambda p: mlp.forward(p, X),
    "predict": lambda p: mlp.predict(p, X),
    "evaluate": lambda p: mlp.evaluate(p, X, C),
    "accuracy": lambda p: mlp.accuracy(p, X, C),
}
BAD_PARAMS = [
    ("NaN in W1 (predict gave all zeros)", dict(W1=_with(np.nan, (0, 0))),
     ValueError, ["W1", "NaN or inf"]),
    ("+inf in b2 (evaluate gave (nan, 0.43))", dict(b2=_with(np.inf)),
     ValueError, ["b2", "NaN or inf"]),
    ("complex W1 (a ComplexWarning)", dict(W1=lambda a: a.astype(complex)),
     TypeError, ["W1", "complex"]),
    ("object b1 (numpy's own message)", dict(b1=lambda a: a.astype(object)),
     TypeError, ["b1", "object"]),
]


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("name, changes, error, words", BAD_PARAMS,
                         ids=[b[0] for b in BAD_PARAMS])
def test_bad_params_are_refused_by_every_entry_point(entry, name, changes, error,
                                                     words):
    assert_clear_error(f"{entry}: {name}", lambda: ENTRY_POINTS[entry](
        _params(**changes)), error, words)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_a_masked_X_is_refused(entry):
    masked = np.ma.masked_array(X, mask=np.zeros(X.shape, bool))
    masked.mask[0, 0] = True
    p = _params()
    with pytest.raises(TypeError, match="X .*masked"):
        {**ENTRY_POINTS, "predict": lambda p: mlp.predict(p, masked),
         "forward": lambda p: mlp.forward(p, masked),
         "evaluate": lambda p: mlp.evaluate(p, masked, C),
         "accuracy": lambda p: mlp.accuracy(p, masked, C)}[entry](p)


def test_big_endian_params_and_data_give_the_native_results():
    p = _params()
    big = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in p.items()}
    Xb = X.astype(">f8")
    np.testing.assert_array_equal(mlp.forward(big, Xb)[0], mlp.forward(p, X)[0])
    assert mlp.evaluate(big, Xb, C) == pytest.approx(mlp.evaluate(p, X, C))
    np.testing.assert_array_equal(mlp.predict(big, Xb), mlp.predict(p, X))


# --- bad input and the mutants older tests let live (filed here by module)



CASES = [
    ("predict batch_size=-1", lambda: mlp.predict(P32, X32, batch_size=-1),
     ValueError, ["batch_size", "> 0", "-1"]),
    ("predict batch_size=0", lambda: mlp.predict(P32, X32, batch_size=0),
     ValueError, ["batch_size", "> 0", "0"]),
    ("predict batch_size=2.5", lambda: mlp.predict(P32, X32, batch_size=2.5),
     TypeError, ["batch_size", "integer", "2.5"]),
    ("predict wrong width", lambda: mlp.predict(P32, X32[:, :5]),
     ValueError, ["5 features", "W1 expects 6"]),
    ("evaluate label -1", lambda: mlp.evaluate(P32, X32, np.r_[Y[:-1], -1]),
     ValueError, ["label -1", "[0, 3)"]),
    ("mlp.evaluate empty", lambda: mlp.evaluate(P32, X32[:0], Y[:0]),
     ValueError, ["empty", "0 rows"]),
    ("accuracy empty", lambda: mlp.accuracy(P32, X32[:0], Y[:0]),
     ValueError, ["empty"]),
    ("mlp.accuracy params missing W2",
     lambda: mlp.accuracy({"W1": P32["W1"]}, X32, Y),
     ValueError, ["params", "missing", "W2"]),
    ("mlp.backward cache None", lambda: mlp.backward(np.ones((6, 2)), None),
     TypeError, ["cache", "mlp.forward"]),
    ("init_mlp seed='abc'", lambda: mlp.init_mlp(4, 3, 2, seed="abc"),
     TypeError, ["seed", "'abc'", "Generator"]),
    ("init_mlp seed=-1", lambda: mlp.init_mlp(4, 3, 2, seed=-1),
     ValueError, ["seed", "-1"]),
    ("init_mlp seed=1.5", lambda: mlp.init_mlp(4, 3, 2, seed=1.5),
     TypeError, ["seed", "1.5"]),
    ("init_mlp dtype='bogus'", lambda: mlp.init_mlp(4, 3, 2, dtype="bogus"),
     TypeError, ["dtype", "'bogus'"]),
    ("mlp.check_params training='yes'",
     lambda: mlp.check_params(P64, training="yes"),
     TypeError, ["training", "True or False"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


def test_editing_mlp_logits_in_place_does_not_corrupt_its_backward():
    logits, cache = mlp.forward(P64, X64)
    dlogits = np.random.default_rng(1).normal(size=logits.shape)
    expected = mlp.backward(dlogits, cache)
    logits[:] = 0.0
    got = mlp.backward(dlogits, cache)
    for k in mlp.PARAM_NAMES:
        assert np.array_equal(got[k], expected[k]), k


def test_init_std_is_one_over_sqrt_fan_in_for_each_layer():
    """Mutant: W1's std 1/sqrt(fan_in) -> 1/sqrt(fan_out)."""
    params = mlp.init_mlp(784, 30, 10, seed=0, dtype=np.float64)
    assert params["W1"].std() == pytest.approx(1 / math.sqrt(784), rel=0.02)
    assert params["W2"].std() == pytest.approx(1 / math.sqrt(30), rel=0.15)
    assert not params["b1"].any() and not params["b2"].any()
    # pre-activations start with unit scale for unit-scale inputs
    X = np.random.default_rng(1).standard_normal((2000, 784))
    assert (X @ params["W1"]).std() == pytest.approx(1.0, rel=0.05)


# --- gradients, the batch as a mean, seeded init, chunked evaluation


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mlp_gradients_equal_finite_differences(seed):
    params, X, y = problem(seed=seed)
    _, grads = mlp.loss_and_grads(params, X, y)
    for name in mlp.PARAM_NAMES:
        num = numerical_gradient(lambda _: mlp.loss_and_grads(params, X, y)[0],
                                 params[name])
        assert rel_error(grads[name], num) < 1e-7, name



def test_batch_gradients_are_the_mean_of_per_instance_gradients():
    params, X, y = problem(n=9)
    loss, grads = mlp.loss_and_grads(params, X, y)
    singles = [mlp.loss_and_grads(params, X[i:i + 1], y[i:i + 1]) for i in range(9)]
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    for name in mlp.PARAM_NAMES:
        mean = np.mean([s[1][name] for s in singles], axis=0)
        assert np.allclose(grads[name], mean, rtol=1e-12, atol=1e-15)



def test_init_is_seeded_and_leaves_global_state_alone():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    a = mlp.init_mlp(10, 6, 3, seed=4)
    b = mlp.init_mlp(10, 6, 3, seed=4)
    c = mlp.init_mlp(10, 6, 3, seed=5)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["W1"], c["W1"])
    assert a["W1"].dtype == np.float32
    assert np.array_equal(np.random.get_state()[1], state)



def test_evaluation_and_prediction_over_several_chunks():
    """More than EVAL_CHUNK rows, against one unchunked pass computed directly."""
    params, _, _ = problem(d=5, h=4, c=3, seed=6)
    rng = np.random.default_rng(6)
    n = mlp.EVAL_CHUNK + 1000
    X = rng.normal(size=(n, 5)) * 3
    y = rng.integers(0, 3, n)
    W1, b1, W2, b2 = (params[k] for k in mlp.PARAM_NAMES)
    logits = (1 / (1 + np.exp(-(X @ W1 + b1)))) @ W2 + b2
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    loss = -logp[np.arange(n), y].mean()
    pred = logits.argmax(1)
    assert (pred == y).mean() not in (0.0, 1.0)
    for chunk in (mlp.EVAL_CHUNK, 1000, 3):
        assert np.array_equal(mlp.predict(params, X, batch_size=chunk), pred)
        got_loss, got_acc = mlp.evaluate(params, X, y, batch_size=chunk)
        assert got_loss == pytest.approx(loss, rel=1e-12)
        assert got_acc == (pred == y).mean()
    assert mlp.predict(params, X).dtype == np.int64

