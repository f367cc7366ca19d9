"""losses.py: bad input (the gradients themselves: test_losses_layers.py)."""


import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import (
    losses,
)

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
