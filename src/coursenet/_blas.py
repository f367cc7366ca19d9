"""``C += alpha * A^T @ B`` in one BLAS call, through the BLAS numpy already loaded.

numpy's ``dot`` always overwrites its output (BLAS ``beta = 0``), so a weight
update needs a second pass over the weights, ``W -= G``; at small batches that
pass costs about as much as the matrix product itself. BLAS's ``gemm`` can add
into ``C`` directly (``beta = 1``). This module finds the ``cblas_?gemm`` of the
library numpy is linked against (never loading a second BLAS), checks it on a
small problem against numpy, and otherwise reports itself unavailable, in which
case :mod:`coursenet.train` uses ``np.dot`` and ``-=``. Set the environment
variable ``COURSENET_NO_BLAS=1`` to force that fallback.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# (symbol prefix, suffix, 64-bit integers?) in the order they are tried
_NAMES = (("scipy_cblas_", "64_", True), ("cblas_", "64_", True),
          ("scipy_cblas_", "", False), ("cblas_", "", False))
_functions: dict | None = None


def _find_library():
    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        if info.get("user_api") == "blas" and info.get("filepath"):
            return info["filepath"]
    return None


def _load():
    if os.environ.get("COURSENET_NO_BLAS"):
        return {}
    try:
        path = _find_library()
        if path is None:
            return {}
        lib = ctypes.CDLL(path)  # already loaded by numpy: the same copy
    except (ImportError, OSError):
        return {}
    for prefix, suffix, ilp64 in _NAMES:
        found = {}
        for dtype, letter, scalar in ((np.float32, "s", ctypes.c_float),
                                      (np.float64, "d", ctypes.c_double)):
            fn = getattr(lib, f"{prefix}{letter}gemm{suffix}", None)
            if fn is None:
                break
            integer = ctypes.c_int64 if ilp64 else ctypes.c_int
            fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer,
                           integer, scalar, ctypes.c_void_p, integer, ctypes.c_void_p,
                           integer, scalar, ctypes.c_void_p, integer]
            fn.restype = None
            found[np.dtype(dtype)] = fn
        if len(found) == 2 and _self_test(found):
            return found
    return {}


def _self_test(functions) -> bool:
    rng = np.random.default_rng(0)
    for dtype, fn in functions.items():
        A = rng.normal(size=(5, 3)).astype(dtype)
        B = rng.normal(size=(5, 4)).astype(dtype)
        C = rng.normal(size=(3, 4)).astype(dtype)
        expected = C - 0.5 * (A.T @ B)
        _call(fn, C, A, B, -0.5)
        if not np.allclose(C, expected, rtol=1e-5, atol=1e-6):
            return False
    return True


def _call(fn, C, A, B, alpha):
    k, m = A.shape
    n = B.shape[1]
    fn(_ROW_MAJOR, _TRANS, _NO_TRANS, m, n, k, alpha, A.ctypes.data, A.strides[0]
       // A.itemsize, B.ctypes.data, B.strides[0] // B.itemsize, 1.0, C.ctypes.data,
       C.strides[0] // C.itemsize)


def available(dtype) -> bool:
    global _functions
    if _functions is None:
        _functions = _load()
    return np.dtype(dtype) in _functions


def add_AtB(C, A, B, alpha=1.0):
    """In place: ``C += alpha * A.T @ B``. A: (k, m), B: (k, n), C: (m, n).

    Rows of each array must be contiguous (``strides[1] == itemsize``), the
    dtypes equal and :func:`available` true for them; the caller checks.
    """
    _call(_functions[C.dtype], C, A, B, alpha)
