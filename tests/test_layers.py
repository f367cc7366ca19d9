"""layers.py: bad input to the linear and sigmoid pairs (the gradients
themselves are checked in test_losses_layers.py)."""


import numpy as np
import pytest
from bad_input import X64, assert_clear_error

from coursenet import (
    layers,
)

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
    ("linear_backward cache of two ints (AttributeError)",
     lambda: layers.linear_backward(np.ones((2, 3)), (1, 2)),
     TypeError, ["cache", "(X, W)", "int"]),
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
