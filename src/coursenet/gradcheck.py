"""The referee: numerical gradients and a readable comparison line.

Central differences ``(f(x + h) - f(x - h)) / 2h`` have truncation error
O(h^2) and rounding error O(eps / h); with float64 and ``h = 1e-5`` a correct
analytic gradient agrees to a relative error of about 1e-8 to 1e-10. Errors
above 1e-6 mean a bug (or a kink, which these networks do not have).
Always run checks in float64.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from coursenet._checks import refuse_masked


def numerical_gradient(f, x, h=1e-5):
    """Gradient of the scalar function ``f(x)`` w.r.t. the float64 array ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored (also when
    ``f`` raises).
    """
    _check_float64(x)
    if not callable(f):
        raise TypeError(f"f must be a function of x, got {type(f).__name__}")
    if isinstance(h, bool) or not isinstance(h, (int, float, np.floating)) \
            or not np.isfinite(h) or h <= 0:
        raise ValueError(f"h must be a finite step > 0, got {h!r}")
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place and restored")
    if h < np.finfo(np.float64).tiny or np.any(x + h == x) or np.any(x - h == x):
        raise ValueError(f"h={h!r} is too small for x: x + h == x (or h is below the"
                         " smallest normal float), so every difference would be"
                         " 0; use h around 1e-5 (for |x| near 1)")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):  # (an empty x: no entries, an empty gradient)
        old = x[i]
        try:
            x[i] = old + h
            f_plus = _scalar(f(x))
            x[i] = old - h
            f_minus = _scalar(f(x))
        finally:
            x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def _scalar(value) -> float:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"f must return a number, got {value!r}")
    if arr.size != 1:
        raise ValueError(f"f must return a scalar, got an array of shape {arr.shape};"
                         " for an array-valued f use numerical_vjp")
    return float(arr.reshape(()))


def numerical_vjp(f, x, dout, h=1e-5):
    """Numerical vector-Jacobian product ``dout · df/dx`` for array-valued ``f``.

    In notebook 01's notation (gradients are rows): ``dout`` is the upstream
    gradient ``∇_f l`` and the result is ``∇_x l``, entry ``k`` being
    ``Σ_i dout_i ∂f_i/∂x_k``.

    It is the gradient of the scalar ``sum(f(x) * dout)``: contracting with a
    random upstream gradient checks every entry of the Jacobian at once.
    ``dout`` must have exactly the shape of ``f(x)`` (no broadcasting).
    """
    _check_float64(x)
    if not callable(f):
        raise TypeError(f"f must be a function of x, got {type(f).__name__}")
    dout = _numbers(dout, "dout")
    shape = np.shape(f(x))
    if dout.shape != shape:
        raise ValueError(f"dout must have the shape of f(x), {shape}, got"
                         f" {dout.shape}")
    return numerical_gradient(lambda z: np.sum(np.asarray(f(z)) * dout), x, h)


def rel_error(a, b, floor=1e-8):
    """``||a - b|| / max(||a|| + ||b||, floor)`` (Frobenius norms).

    The floor keeps two (nearly) zero gradients from dividing 0 by 0.
    """
    a = _numbers(a, "a")
    b = _numbers(b, "b")
    if isinstance(floor, bool) or not isinstance(floor, (int, float, np.floating)) \
            or not np.isfinite(floor) or floor <= 0:
        raise ValueError(f"floor must be a finite number > 0 (it keeps 0 / 0 out),"
                         f" got {floor!r}")
    if a.shape != b.shape:
        raise ValueError(f"cannot compare shapes {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b),
                                             floor))


class Comparison(NamedTuple):
    name: str
    exact: bool
    approx: bool
    max_abs_diff: float
    rel_error: float


def compare(name, analytic, reference, rtol=1e-5, atol=1e-8, show=True):
    """Print (and return) one line: ✓ or ✗ (allclose?), max abs diff, rel error.

    ``analytic`` and ``reference`` may be arrays or nested lists (the scalar
    network's gradients). The line leads with the verdict a learner needs: ✓
    when the two agree within ``rtol``/``atol`` (``np.allclose``), ✗ when they
    do not. Bit-for-bit equality is kept in the result (``.exact``) but not
    printed: two correct float computations in a different order differ in
    the last bits, and "exact: False" would read as a failure.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string (the line's label), got {name!r}")
    for tol_name, tol in (("rtol", rtol), ("atol", atol)):
        if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) \
                or not np.isfinite(tol) or tol < 0:
            raise ValueError(f"{tol_name} must be a finite number >= 0, got {tol!r}")
    if not isinstance(show, bool):
        raise TypeError(f"show must be True or False, got {show!r}")
    a = _numbers(analytic, "analytic")
    r = _numbers(reference, "reference")
    if a.shape != r.shape:
        # arrays of different shapes do not agree: a ✗, not an error, so a
        # notebook comparing a student's wrong-shaped gradient (a scalar db)
        # goes on and its summary says they disagree; the check names the shape
        result = Comparison(name, exact=False, approx=False,
                            max_abs_diff=math.inf, rel_error=math.inf)
        if show:
            print(f"✗ {name}: shapes differ, {a.shape} vs {r.shape}")
        return result
    if not (np.isfinite(a).all() and np.isfinite(r).all()):
        # inf - inf is NaN: no difference can be measured, and a gradient
        # holding NaN or inf is wrong whatever it is compared with
        result = Comparison(name, exact=False, approx=False,
                            max_abs_diff=math.inf, rel_error=math.inf)
    else:
        result = Comparison(
            name=name,
            exact=bool(np.array_equal(a, r)),
            approx=bool(np.allclose(a, r, rtol=rtol, atol=atol)),
            max_abs_diff=float(np.max(np.abs(a - r))) if a.size else 0.0,
            rel_error=rel_error(a, r),
        )
    if show:
        print(format_comparison(result))
    return result


def _numbers(value, name):
    """``value`` as a float64 array, or an error that says what is wrong with it."""
    refuse_masked(value, name)
    if isinstance(value, dict):
        raise TypeError(
            f"{name} is a dict (keys {list(value)}); compare one array at a time,"
            f" e.g. compare('dW', grads['W'], reference['W']) for each key")
    try:
        arr = np.asarray(value)
    except ValueError:
        raise ValueError(f"{name} is a ragged nested list (rows of different"
                         " lengths); compare arrays of one shape") from None
    if arr.dtype == object:
        raise ValueError(f"{name} is a ragged nested list (rows of different"
                         " lengths) or holds non-numbers; compare arrays of one"
                         " shape")
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def format_comparison(c: Comparison) -> str:
    if not isinstance(c, Comparison):
        raise TypeError(f"c must be a Comparison (what compare returns), got"
                        f" {type(c).__name__}")
    mark = "✓" if c.approx else "✗"
    note = "" if math.isfinite(c.max_abs_diff) else "  (NaN or inf in the values)"
    return (f"{mark} {c.name:<16s}  max abs diff: {c.max_abs_diff:.1e}"
            f"  rel error: {c.rel_error:.1e}{note}")


def _check_float64(x):
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            "gradient checks need a float64 numpy array (float32 rounding swamps"
            f" the finite differences), got {type(x).__name__}"
            + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
        )
