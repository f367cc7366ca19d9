"""gradcheck.py: compare's one line, rel_error, and the referee refuses what it
cannot judge."""


import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import (
    gradcheck,
)
from coursenet.gradcheck import compare, numerical_gradient, rel_error

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
    ("numerical_vjp dout of another shape",
     lambda: gradcheck.numerical_vjp(lambda z: z * 2, np.zeros(3), np.ones((2, 3))),
     ValueError, ["dout", "shape of f(x)", "(3,)", "(2, 3)"]),
    ("numerical_gradient of an array-valued f",
     lambda: gradcheck.numerical_gradient(lambda z: z * 2, np.zeros(3)),
     ValueError, ["scalar", "numerical_vjp"]),
    ("numerical_gradient h=0",
     lambda: gradcheck.numerical_gradient(lambda z: z.sum(), np.zeros(3), h=0),
     ValueError, ["h", "> 0"]),
    ("compare ragged lists",
     lambda: gradcheck.compare("g", [[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0]],
                               show=False),
     ValueError, ["analytic", "ragged", "rows of different lengths"]),
    ("compare strings", lambda: gradcheck.compare("g", ["a"], [1.0], show=False),
     TypeError, ["analytic", "numbers"]),
    ("rel_error of dicts", lambda: gradcheck.rel_error({"a": 1}, {"a": 1}),
     TypeError, ["a", "dict", "one array at a time"]),
    ("rel_error ragged", lambda: gradcheck.rel_error([[1], [1, 2]], [[1], [1, 2]]),
     ValueError, ["ragged"]),
    ("rel_error floor=0 (0/0)", lambda: gradcheck.rel_error([0.0], [0.0], floor=0),
     ValueError, ["floor", "> 0", "0"]),
    ("numerical_vjp f not callable",
     lambda: gradcheck.numerical_vjp(3, np.zeros(3), np.ones(3)),
     TypeError, ["f", "function", "int"]),
    ("numerical_gradient f returns a string",
     lambda: gradcheck.numerical_gradient(lambda z: "a", np.zeros(3)),
     TypeError, ["f", "number", "'a'"]),
    ("compare rtol=-1", lambda: gradcheck.compare("g", [1.0], [1.0], rtol=-1,
                                                  show=False),
     ValueError, ["rtol", ">= 0", "-1"]),
    ("compare show='no'", lambda: gradcheck.compare("g", [1.0], [1.0], show="no"),
     TypeError, ["show", "True or False"]),
    ("compare name=3", lambda: gradcheck.compare(3, [1.0], [1.0], show=False),
     TypeError, ["name", "string", "3"]),
    ("format_comparison(None)", lambda: gradcheck.format_comparison(None),
     TypeError, ["c", "Comparison", "NoneType"]),
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


# --- bad input and the mutants older tests let live (filed here by module)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.arange(3.0)

    def f(z):
        if z[1] != 1.0:
            raise RuntimeError("boom")
        return z.sum()

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck.numerical_gradient(f, x)
    assert x.tolist() == [0.0, 1.0, 2.0]


def test_numerical_gradient_of_an_empty_x_is_empty():
    g = gradcheck.numerical_gradient(lambda z: float(z.sum()), np.zeros(0))
    assert g.shape == (0,)


# --- compare's one line and rel_error


def test_compare_prints_one_line(capsys):
    result = compare("dW", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and line.startswith("✓ dW ")
    assert "exact" not in line  # a last-bit difference must not read as a failure
    assert "max abs diff: 1.0e-09" in line and "rel error: 2.2e-10" in line
    assert result.approx and not result.exact
    assert result.max_abs_diff == pytest.approx(1e-9, rel=1e-3)



def test_compare_marks_a_disagreement_with_a_cross(capsys):
    result = compare("db", [[1.0, 2.0]], [[1.0, 2.5]])  # nested lists, a real bug
    line = capsys.readouterr().out.strip()
    assert line.startswith("✗ db ") and "max abs diff: 5.0e-01" in line
    assert not result.approx
    assert result.rel_error == pytest.approx(0.5 / (5**0.5 + 7.25**0.5))
    assert compare("db", [1.0], [1.0], show=False).exact
    assert capsys.readouterr().out == ""



def test_compare_of_two_shapes_is_a_disagreement_that_says_so(capsys):
    """A scalar db against a (3,) one (a bias gradient not summed per unit):
    ✗ with both shapes, never ✓ and never an exception that stops Run All."""
    result = compare("db1", np.float64(1.5), np.ones(3))
    assert not result.approx and not result.exact
    assert capsys.readouterr().out.strip() == "✗ db1: shapes differ, () vs (3,)"
    assert not compare("dW", np.ones((2, 3)), np.ones((3, 2)), show=False).approx
    assert capsys.readouterr().out == ""


def test_rel_error_floor_and_shape_check():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    expected = 1e-3 / (1 + np.hypot(1, 1e-3))  # ||a - b|| / (||a|| + ||b||)
    assert rel_error([1.0, 0.0], [1.0, 1e-3]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="cannot compare"):
        rel_error(np.zeros(2), np.zeros(3))
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda z: 0.0, np.zeros(2, dtype=np.float32))

