"""gradcheck.py: the referee refuses what it cannot judge."""

import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import gradcheck

CASES = [
    ("numerical_gradient h=1e-320 (returned zeros)",
     lambda: gradcheck.numerical_gradient(lambda z: float(z.sum()), np.ones(3),
                                          h=1e-320),
     ValueError, ["h", "1e-320", "too small"]),
    ("numerical_gradient h lost against a large x (x + h == x)",
     lambda: gradcheck.numerical_gradient(lambda z: float(z.sum()),
                                          np.array([1e12]), h=1e-5),
     ValueError, ["h", "too small", "x + h == x"]),
    ("compare a masked array (the mask was dropped)",
     lambda: gradcheck.compare("g", np.ma.masked_array([1.0], mask=[True]),
                               np.array([2.0]), show=False),
     TypeError, ["analytic", "masked"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


def test_numerical_gradient_keeps_working_at_the_default_step():
    x = np.array([0.0, 1.0, -3.0])
    g = gradcheck.numerical_gradient(lambda z: float((z ** 2).sum()), x)
    np.testing.assert_allclose(g, 2 * x, atol=1e-8)


@pytest.mark.parametrize("analytic, reference", [([np.inf], [np.inf]),
                                                 ([1.0], [np.nan]),
                                                 ([np.nan, 1.0], [np.nan, 1.0])])
def test_compare_with_nan_or_inf_is_a_failure_never_approx(capsys, analytic,
                                                           reference):
    """inf vs inf said "approx" with NaN errors."""
    result = gradcheck.compare("g", np.array(analytic), np.array(reference))
    assert not result.approx and not result.exact
    assert result.max_abs_diff == result.rel_error == np.inf
    assert capsys.readouterr().out.startswith("✗ g")
    assert "NaN or inf" in gradcheck.format_comparison(result)
