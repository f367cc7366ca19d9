"""Input checks shared by the numpy modules.

Every public function validates what a student is likely to get wrong (shape,
dtype, non-finite values, labels out of range) and raises an error that names
the argument, what it got and what it expected.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np


def as_float_array(value, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a floating numpy array, or raise a clear error.

    Integer and boolean arrays are converted to float64; strings, objects and
    complex numbers are refused. Floating arrays keep their dtype (float32 stays
    float32) and are not copied.
    """
    arr = np.asarray(refuse_masked(value, name))
    if arr.dtype.kind == "f":
        pass
    elif arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    else:
        raise TypeError(
            f"{name} must be a real-valued numeric array, got dtype {arr.dtype}"
            f" (e.g. {_first(arr)!r}); convert it with np.asarray(..., dtype=float)"
        )
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D, got shape {arr.shape}"
            + (" (a single instance is a batch of one: use x[None, :])" if ndim == 2
               and arr.ndim == 1 else "")
        )
    # min and max propagate NaN and reach +-inf: no (N, D) boolean temporary
    if arr.size and not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")
    return arr


def refuse_masked(value, name: str):
    """``value`` unless it is a masked array: ``np.asarray`` would drop its mask,
    and the masked entries would count as data."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array; its mask would be ignored."
                        f" Drop the masked rows or fill them first, e.g."
                        f" {name}.filled(0.0)")
    return value


def native(arr: np.ndarray) -> np.ndarray:
    """``arr`` in the machine's byte order (a copy only if it is not already)."""
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


def as_labels(value, name: str, num_rows: int, num_classes: int) -> np.ndarray:
    """Return integer class ids of shape ``(num_rows,)`` in ``[0, num_classes)``."""
    labels = np.asarray(value)
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer class ids, got dtype {labels.dtype}"
            " (one-hot rows or floats are not accepted: use y.argmax(1) or"
            " y.astype(int))"
        )
    if labels.shape != (num_rows,):
        raise ValueError(
            f"{name} must have shape ({num_rows},) to match {num_rows} rows,"
            f" got shape {labels.shape}"
        )
    if num_rows and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(
            f"{name} contains label {int(bad)}, outside [0, {num_classes})"
        )
    return labels


def positive_number(value, name: str, *, integer: bool = False):
    """Check that ``value`` is a finite number > 0 (an int if ``integer``)."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise TypeError(f"{name} must be {what}, got {value!r}")
    # math, not numpy: a Fraction or a Decimal is a number too; an int is finite
    if not (isinstance(value, numbers.Integral) or math.isfinite(value)) \
            or value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def non_negative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return int(value)


def check_seed(seed, name: str = "seed"):
    """An int >= 0 or a ``numpy.random.Generator`` (what ``default_rng`` takes)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 0 or a numpy.random.Generator,"
                        f" got {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be an int >= 0, got {seed!r}")
    return seed


def check_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _first(arr: np.ndarray):
    return arr.flat[0] if arr.size else None


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def env_flag(name: str) -> bool:
    """The yes/no environment variable ``name``: 1/true/yes/on or
    0/false/no/off/empty (unset is no); anything else is a ValueError naming it."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"${name} must be one of {_TRUE + _FALSE[1:]}, got"
                     f" {os.environ[name]!r}")
