"""Every backward against a numerical VJP; the three softmax gradients agree."""

import os
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coursenet import layers, losses
from coursenet.gradcheck import numerical_gradient, numerical_vjp, rel_error

dims = st.integers(min_value=1, max_value=6)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
scales = st.floats(min_value=0.1, max_value=5.0)
# COURSENET_EXAMPLES=2000 for a long hunt; 25 keeps the suite quick
check = settings(max_examples=int(os.environ.get("COURSENET_EXAMPLES", 25)),
                 deadline=None)


def assert_matches_fd(analytic, numerical):
    """Relative error < 1e-6; a gradient that is itself ~1e-6 or smaller may
    instead agree to 1e-10 absolute, since the finite differences' rounding
    noise (~1e-11) is then no longer small relative to it."""
    err = rel_error(analytic, numerical)
    assert err < 1e-6 or np.max(np.abs(analytic - numerical)) < 1e-10, err


@check
@given(n=dims, d=dims, m=dims, seed=seeds, scale=scales)
def test_linear_backward_equals_numerical_vjp(n, d, m, seed, scale):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * scale
    W = rng.normal(size=(d, m))
    b = rng.normal(size=m)
    dout = rng.normal(size=(n, m))
    _, cache = layers.linear_forward(X, W, b)
    dX, dW, db = layers.linear_backward(dout, cache)
    assert rel_error(dX, numerical_vjp(lambda z: layers.linear_forward(z, W, b)[0],
                                       X, dout)) < 1e-6
    assert rel_error(dW, numerical_vjp(lambda z: layers.linear_forward(X, z, b)[0],
                                       W, dout)) < 1e-6
    assert rel_error(db, numerical_vjp(lambda z: layers.linear_forward(X, W, z)[0],
                                       b, dout)) < 1e-6


@check
@given(n=dims, d=dims, seed=seeds, scale=scales)
def test_sigmoid_backward_equals_numerical_vjp(n, d, seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * scale
    dout = rng.normal(size=(n, d))
    _, cache = layers.sigmoid_forward(x)
    dx = layers.sigmoid_backward(dout, cache)
    num = numerical_vjp(lambda z: layers.sigmoid_forward(z)[0], x, dout)
    assert rel_error(dx, num) < 1e-6


@check
@given(n=dims, c=st.integers(2, 7), seed=seeds, scale=scales)
def test_softmax_backward_and_jacobian_equal_numerical_vjp(n, c, seed, scale):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c)) * scale
    g = rng.normal(size=(n, c))
    probs = losses.softmax(logits)
    vjp = losses.softmax_backward(g, probs)
    num = numerical_vjp(losses.softmax, logits, g)
    assert_matches_fd(vjp, num)
    J = losses.softmax_jacobian(probs)  # (N, C, C)
    assert J.shape == (n, c, c)
    assert np.allclose(np.einsum("nij,ni->nj", J, g), vjp, atol=1e-14)  # J^T g
    assert np.allclose(J, J.transpose(0, 2, 1))


@check
@given(n=dims, c=st.integers(2, 7), seed=seeds, scale=st.floats(0.1, 2.0))
def test_cross_entropy_gradients_staged_vjp_and_fused_agree(n, c, seed, scale):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c)) * scale
    y = rng.integers(0, c, size=n)
    probs = losses.softmax(logits)
    dprobs = losses.cross_entropy_backward(probs, y)
    # -log p is steep where p is small: step h in proportion to p
    num_dprobs = numerical_gradient(
        lambda p: -np.log(p[np.arange(n), y]).mean(), probs.copy(),
        h=1e-4 * probs.min())
    assert_matches_fd(dprobs, num_dprobs)
    via_jacobian = np.einsum("nij,ni->nj", losses.softmax_jacobian(probs), dprobs)
    via_vjp = losses.softmax_backward(dprobs, probs)
    loss, fused = losses.softmax_cross_entropy(logits, y)
    onehot = np.eye(c)[y]
    assert np.allclose(via_jacobian, (probs - onehot) / n, atol=1e-12)
    assert np.allclose(via_vjp, (probs - onehot) / n, atol=1e-12)
    assert np.allclose(fused, (probs - onehot) / n, atol=1e-15)
    num = numerical_gradient(lambda z: losses.cross_entropy(z, y), logits)
    assert_matches_fd(fused, num)
    assert loss == pytest.approx(-np.log(probs[np.arange(n), y]).mean())


def test_softmax_jacobian_entries_match_q1():
    probs = losses.softmax(np.array([[0.3, -1.2, 2.0, 0.1]]))
    J = losses.softmax_jacobian(probs)[0]
    y = probs[0]
    for i in range(4):
        for j in range(4):
            expected = y[i] * (1 - y[i]) if i == j else -y[i] * y[j]
            assert J[i, j] == pytest.approx(expected, abs=1e-15)


def test_batched_loss_and_gradient_are_means_of_single_instances():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(8, 5))
    y = rng.integers(0, 5, size=8)
    loss, grad = losses.softmax_cross_entropy(logits, y)
    singles = [losses.softmax_cross_entropy(logits[i:i + 1], y[i:i + 1])
               for i in range(8)]
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    assert np.allclose(grad, np.concatenate([s[1] for s in singles]) / 8)


@pytest.mark.parametrize("logits, label, expected_loss", [
    ([[0.0, 1000.0]], 0, 1000.0),
    ([[0.0, 1000.0]], 1, 0.0),
    ([[-1000.0, 1000.0]], 0, 2000.0),
    ([[-1000.0, 1000.0]], 1, 0.0),
])
def test_extreme_logits_are_finite_and_correct(logits, label, expected_loss):
    logits = np.array(logits)
    y = np.array([label])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any numpy warning fails the test
        loss, dlogits = losses.softmax_cross_entropy(logits, y)
        logp = losses.log_softmax(logits)
        assert losses.cross_entropy(logits, y) == pytest.approx(expected_loss)
    assert loss == pytest.approx(expected_loss)
    expected_grad = np.eye(2)[[1]] - np.eye(2)[y]  # probs are (0, 1) exactly
    assert np.allclose(dlogits, expected_grad)
    assert np.all(np.isfinite(logp)) and np.all(np.isfinite(dlogits))


def test_large_sigmoid_inputs_are_finite_and_accurate():
    x = np.array([-1000.0, -40.0, -5.0, 0.0, 5.0, 40.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, _ = layers.sigmoid_forward(x)
        out32, _ = layers.sigmoid_forward(x.astype(np.float32))
    reference = np.array([0.0] + [1 / (1 + np.exp(-v)) for v in x[1:-1]] + [1.0])
    assert np.allclose(out, reference, rtol=1e-12, atol=0)
    assert out32.dtype == np.float32
    assert np.allclose(out32, reference, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("call, error, message", [
    (lambda: losses.softmax(np.zeros(3)), ValueError, "logits must be 2-D"),
    (lambda: losses.softmax(np.array([["a", "b"]])), TypeError, "dtype <U1"),
    (lambda: losses.softmax(np.array([[1.0, np.nan]])), ValueError, "non-finite"),
    (lambda: losses.cross_entropy(np.zeros((2, 3)), np.array([0, 3])), ValueError,
     "label 3, outside \\[0, 3\\)"),
    (lambda: losses.cross_entropy(np.zeros((2, 3)), np.array([0, -1])), ValueError,
     "label -1"),
    (lambda: losses.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])), TypeError,
     "integer class ids"),
    (lambda: losses.cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])), ValueError,
     "shape \\(2,\\)"),
    (lambda: losses.softmax_backward(np.zeros((2, 3)), np.zeros((2, 4))), ValueError,
     "must match"),
    (lambda: layers.linear_forward(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(5)),
     ValueError, "3 features"),
    (lambda: layers.linear_forward(np.zeros((2, 3)), np.zeros((3, 5)), np.zeros(4)),
     ValueError, "b must have shape"),
    (lambda: layers.linear_forward(np.zeros(3, dtype=object), np.zeros((3, 5)),
                                   np.zeros(5)), TypeError, "dtype object"),
])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_backward_does_not_mutate_its_inputs():
    rng = np.random.default_rng(1)
    X, W, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=2)
    dout = rng.normal(size=(3, 2))
    copies = [a.copy() for a in (X, W, b, dout)]
    _, cache = layers.linear_forward(X, W, b)
    layers.linear_backward(dout, cache)
    for a, c in zip((X, W, b, dout), copies):
        assert np.array_equal(a, c)
