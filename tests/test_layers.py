"""layers.py: the linear and sigmoid pairs' backward against a numerical VJP,
large inputs, and bad input to both."""

import warnings

import numpy as np
import pytest
from bad_input import X64, assert_clear_error
from hypothesis import given
from strategies import dims, scales, seeds

from coursenet import (
    layers,
)
from coursenet.gradcheck import numerical_vjp, rel_error

CASES = [
    ("linear_backward cache of two ints (AttributeError)",
     lambda: layers.linear_backward(np.ones((2, 3)), (1, 2)),
     TypeError, ["cache", "(X, W)", "int"]),
    ("linear_backward complex X in the cache (complex gradients)",
     lambda: layers.linear_backward(np.ones((2, 3)),
                                    (np.ones((2, 4)) + 0j, np.ones((4, 3)))),
     TypeError, ["cache", "X", "complex"]),
    ("linear_backward 1-D X in the cache",
     lambda: layers.linear_backward(np.ones((2, 3)), (np.ones(4), np.ones((4, 3)))),
     ValueError, ["cache", "X", "2-D"]),
    ("sigmoid of a masked array (the mask was dropped)",
     lambda: layers.sigmoid(np.ma.masked_array([0.0, 1.0], mask=[True, False])),
     TypeError, ["x", "masked"]),
    ("sigmoid_forward of a masked array",
     lambda: layers.sigmoid_forward(np.ma.masked_array([0.0, 1.0], mask=[1, 0])),
     TypeError, ["x", "masked"]),
    ("linear_backward cache None", lambda: layers.linear_backward(np.ones((6, 3)),
                                                                  None),
     TypeError, ["cache", "linear_forward", "NoneType"]),
    ("linear_backward cache of 3", lambda: layers.linear_backward(
        np.ones((6, 3)), (X64, np.ones((4, 3)), np.zeros(3))),
     TypeError, ["cache", "(X, W)"]),
    ("sigmoid_backward cache None", lambda: layers.sigmoid_backward(np.ones(3), None),
     TypeError, ["cache", "sigmoid_forward"]),
    ("layers.sigmoid of a string", lambda: layers.sigmoid("a"),
     TypeError, ["x", "numbers", "<U1"]),
    ("layers.sigmoid of None", lambda: layers.sigmoid(None),
     TypeError, ["x", "numbers"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


@pytest.mark.parametrize("values, dtype", [([0, 1, 200, 255], np.uint8),
                                           ([-128, -1, 0, 1, 127], np.int8),
                                           ([False, True], bool)])
def test_sigmoid_of_small_integers_and_bools_is_float64(values, dtype):
    """uint8 wrapped around (-200 as 56), int8 gave float16, bool an error."""
    x = np.array(values, dtype)
    expected = 1.0 / (1.0 + np.exp(-np.array(values, np.float64)))
    out = layers.sigmoid(x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-15)


def test_sigmoid_leaves_floats_in_their_dtype():
    assert layers.sigmoid(np.zeros(3, np.float32)).dtype == np.float32


# --- bad input and the mutants older tests let live (filed here by module)

RNG = np.random.default_rng(1)  # this file's own random data


def test_editing_a_sigmoid_output_in_place_does_not_corrupt_its_backward():
    """Layer caches hold copies of outputs (a cache that *is* the output would
    change with it) and references to inputs (documented: do not edit them)."""
    x = RNG.normal(size=(3, 4))
    out, cache = layers.sigmoid_forward(x)
    expected = layers.sigmoid_backward(np.ones_like(out), cache)
    out *= 0.0  # e.g. dropout written in place
    assert np.allclose(layers.sigmoid_backward(np.ones_like(out), cache), expected)
    assert np.allclose(expected, layers.sigmoid(x) * (1 - layers.sigmoid(x)))


def test_editing_a_linear_output_in_place_does_not_corrupt_its_backward():
    W, b = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    out, cache = layers.linear_forward(X64, W, b)
    dout = RNG.normal(size=out.shape)
    expected = layers.linear_backward(dout, cache)
    out += 5.0
    for got, want in zip(layers.linear_backward(dout, cache), expected):
        assert np.array_equal(got, want)


# --- the backward passes against a numerical VJP, large and in-place inputs


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



@given(n=dims, d=dims, seed=seeds, scale=scales)
def test_sigmoid_backward_equals_numerical_vjp(n, d, seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * scale
    dout = rng.normal(size=(n, d))
    _, cache = layers.sigmoid_forward(x)
    dx = layers.sigmoid_backward(dout, cache)
    num = numerical_vjp(lambda z: layers.sigmoid_forward(z)[0], x, dout)
    assert rel_error(dx, num) < 1e-6



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



def test_backward_does_not_mutate_its_inputs():
    rng = np.random.default_rng(1)
    X, W, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=2)
    dout = rng.normal(size=(3, 2))
    copies = [a.copy() for a in (X, W, b, dout)]
    _, cache = layers.linear_forward(X, W, b)
    layers.linear_backward(dout, cache)
    for a, c in zip((X, W, b, dout), copies):
        assert np.array_equal(a, c)


@pytest.mark.parametrize("call, error, message", [
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
