"""losses.py: softmax and cross-entropy gradients against finite differences
(the three softmax gradients agree), extreme logits, and bad input."""

import warnings

import numpy as np
import pytest
from bad_input import assert_clear_error
from hypothesis import given
from hypothesis import strategies as st
from strategies import dims, scales, seeds

from coursenet import (
    losses,
)
from coursenet.gradcheck import numerical_gradient, numerical_vjp, rel_error

CASES = [
    ("softmax_jacobian of a row that is not a probability vector",
     lambda: losses.softmax_jacobian(np.array([[2.0, 3.0]])),
     ValueError, ["probs", "probabilities", "[0, 1]"]),
    ("softmax_jacobian of non-negative rows not summing to 1",
     lambda: losses.softmax_jacobian(np.array([[0.2, 0.2]])),
     ValueError, ["probs", "row 0", "sums to 0.4"]),
    ("cross_entropy_backward of rows not summing to 1",
     lambda: losses.cross_entropy_backward(np.array([[0.2, 0.2]]), np.array([0])),
     ValueError, ["probs", "row 0", "sums to 0.4"]),
    ("log_softmax of a masked array (the mask was dropped)",
     lambda: losses.log_softmax(np.ma.masked_array([[0.0, 1.0]], mask=[[1, 0]])),
     TypeError, ["logits", "masked"]),
    ("cross_entropy on an empty batch",
     lambda: losses.cross_entropy(np.zeros((0, 3)), np.zeros(0, int)),
     ValueError, ["empty batch", "(0, 3)"]),
    ("softmax_cross_entropy on an empty batch",
     lambda: losses.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, int)),
     ValueError, ["empty batch"]),
    ("softmax of zero classes", lambda: losses.softmax(np.zeros((2, 0))),
     ValueError, ["at least one class", "(2, 0)"]),
    ("cross_entropy_backward probs > 1",
     lambda: losses.cross_entropy_backward(np.full((1, 2), 2.0), [0]),
     ValueError, ["probs", "[0, 1]"]),
    ("cross_entropy_backward probs < 0",
     lambda: losses.cross_entropy_backward(np.full((1, 2), -0.5), [0]),
     ValueError, ["probs", "[0, 1]"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_outputs_pass_the_probability_check(dtype):
    """The check must accept what softmax returns, rounding included."""
    rng = np.random.default_rng(0)
    probs = losses.softmax((rng.normal(size=(50, 10)) * 20).astype(dtype))
    assert losses.softmax_jacobian(probs).shape == (50, 10, 10)
    losses.cross_entropy_backward(probs, rng.integers(0, 10, 50))


# --- bad input and the mutants older tests let live (filed here by module)


# --- softmax and cross-entropy gradients against finite differences


def assert_matches_fd(analytic, numerical):
    """Relative error < 1e-6; a gradient that is itself ~1e-6 or smaller may
    instead agree to 1e-10 absolute, since the finite differences' rounding
    noise (~1e-11) is then no longer small relative to it."""
    err = rel_error(analytic, numerical)
    assert err < 1e-6 or np.max(np.abs(analytic - numerical)) < 1e-10, err



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
])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
