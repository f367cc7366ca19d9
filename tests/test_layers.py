"""layers.py: bad input to the linear and sigmoid pairs (the gradients
themselves are checked in test_losses_layers.py)."""

import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import layers

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
