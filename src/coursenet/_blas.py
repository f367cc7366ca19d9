"""``C += alpha * A^T @ B`` in one BLAS call, through the BLAS numpy itself links.

numpy's ``dot`` always overwrites its output (BLAS ``beta = 0``), so a weight
update needs a second pass over the weights, ``W -= G``; at small batches that
pass costs about as much as the matrix product itself. BLAS's ``gemm`` can add
into ``C`` directly (``beta = 1``).

This module finds the ``cblas_?gemm`` of the library *numpy* is linked against:
among the BLAS libraries threadpoolctl sees loaded (torch or scipy may have
loaded others), the one inside numpy's own installation (its bundled OpenBLAS),
else the only one matching numpy's build configuration; never loading a second
BLAS. It checks the function on a small problem against numpy, and otherwise
reports itself unavailable, in which case :mod:`coursenet._fast_step` uses
``np.dot`` and ``-=``. :func:`add_AtB` validates its arguments on every call and
computes with numpy whenever the arrays do not suit BLAS (wrong layout,
unsupported dtype, overlapping memory), so it never passes a bad pointer.
:func:`gemm_AtB` is the same call without the checks, for a caller that made
them once (:class:`coursenet._fast_step.Trainer`, per training run). Set
``COURSENET_NO_BLAS=1`` (or true/yes/on) to force the numpy path; ``0`` (or
false/no/off, or unset) leaves it on.

What it earns: without it (``fused=False``, or ``COURSENET_NO_BLAS=1``) a
training step took 11-17 % longer at batch 32 (three runs of four; no
difference in the fourth) and 3-10 % at batch 128 (``benchmarks/ab_kernels.py``,
7 December 2026 under load; 26 % and 8 % on a quiet machine on 26 November,
``docs/performance.md``); ``make bench`` prints what it saves of the same work
as ``train.sgd``. The same-work runs of 7 December 06:50-07:15 (load 4-7,
nine pairs at each of batch 32 and 128) were too noisy to choose it per batch
size: it was the faster in 6 of 9 pairs at each (``docs/performance.md``).

The BLAS integer width (32-bit LP64 or 64-bit ILP64) is read from numpy's own
build configuration (``numpy.show_config(mode="dicts")``: OpenBLAS's
``USE64BITINT`` flag, or ``ilp64``/``lp64`` in the library's name), never
guessed from a symbol's name: a wrong width would crash the interpreter, which
no self-test can catch. When the configuration does not say, the BLAS path is
off. Any exception while finding, loading or testing the library turns the
BLAS path off as well.
"""

from __future__ import annotations

import ctypes
import functools
import math
import numbers
from pathlib import Path

import numpy as np

from coursenet._checks import env_flag

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
NO_BLAS_ENV = "COURSENET_NO_BLAS"
# (symbol prefix, suffix) tried in order for each integer width; an ILP64
# library may export the 64-bit gemm with or without the "64_" suffix
_NAMES = {64: (("scipy_cblas_", "64_"), ("cblas_", "64_"), ("scipy_cblas_", ""),
               ("cblas_", "")),
          32: (("scipy_cblas_", ""), ("cblas_", ""))}
_functions: dict | None = None


def disabled() -> bool:
    """True if ``$COURSENET_NO_BLAS`` asks for the numpy path (parsed like
    ``$COURSENET_OFFLINE``: 1/true/yes/on or 0/false/no/off/empty)."""
    return env_flag(NO_BLAS_ENV)


def blas_int_bits(config=None):
    """64 or 32: the integer width of numpy's BLAS, from numpy's build config.

    ``config`` is ``numpy.show_config(mode="dicts")`` (read when None). Returns
    None when the configuration does not say (then the BLAS path stays off).
    """
    try:
        if config is None:
            config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        flags = str(blas.get("openblas configuration", "")).upper()
        name = str(blas.get("name", "")).lower()
    except Exception:  # numpy < 1.26 or an unusual build: no such information
        return None
    if flags:
        return 64 if "USE64BITINT" in flags.split() else 32
    if "ilp64" in name:
        return 64
    if "lp64" in name:
        return 32
    return None


def _numpy_dirs():
    """Directories numpy's own shared libraries live in."""
    root = Path(np.__file__).resolve().parent
    return [root, root.parent / "numpy.libs", root / ".dylibs"]


def _numpy_blas_name():
    """numpy's build configuration's BLAS name (e.g. ``scipy-openblas``), or None."""
    try:
        config = np.show_config(mode="dicts")
        return str(config["Build Dependencies"]["blas"]["name"]).lower()
    except Exception:  # numpy < 1.26 or an unusual build: no such information
        return None


def choose_library(infos, numpy_dirs=None, numpy_blas=None):
    """Pick numpy's BLAS among threadpoolctl's ``threadpool_info()`` entries.

    First an entry whose file lies inside numpy's installation; else, if
    exactly one BLAS entry matches numpy's build configuration (or exactly one
    BLAS is loaded at all), that one; else None (ambiguous: do not guess).
    """
    blas = [i for i in infos if i.get("user_api") == "blas" and i.get("filepath")]
    dirs = [Path(d) for d in (numpy_dirs if numpy_dirs is not None else _numpy_dirs())]
    for info in blas:
        path = Path(info["filepath"]).resolve()
        if any(d == path.parent or d in path.parents for d in dirs):
            return info["filepath"]
    if numpy_blas:
        key = numpy_blas.replace("-", "_")
        matching = [i for i in blas
                    if key in (i.get("prefix") or "").lower()
                    or key in Path(i["filepath"]).name.lower()
                    or (i.get("internal_api") or "") == key]
        if len(matching) == 1:
            return matching[0]["filepath"]
        return None
    return blas[0]["filepath"] if len(blas) == 1 else None


def _find_library():
    from threadpoolctl import threadpool_info

    return choose_library(threadpool_info(), numpy_blas=_numpy_blas_name())


def _load():
    if disabled():  # a malformed value is an error, not a silent choice
        return {}
    try:
        return _load_gemm()
    except Exception:  # anything at all: the numpy path always works
        return {}


def _load_gemm():
    bits = blas_int_bits()
    if bits is None:
        return {}
    path = _find_library()
    if path is None:
        return {}
    lib = ctypes.CDLL(path)  # already loaded by numpy: the same copy
    integer = ctypes.c_int64 if bits == 64 else ctypes.c_int32
    for prefix, suffix in _NAMES[bits]:
        found = {}
        for dtype, letter, scalar in ((np.float32, "s", ctypes.c_float),
                                      (np.float64, "d", ctypes.c_double)):
            fn = getattr(lib, f"{prefix}{letter}gemm{suffix}", None)
            if fn is None:
                break
            fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer,
                           integer, scalar, ctypes.c_void_p, integer, ctypes.c_void_p,
                           integer, scalar, ctypes.c_void_p, integer]
            fn.restype = None
            found[np.dtype(dtype)] = fn
        if len(found) == 2:
            # the first names found are the library's gemm: test them, no others
            return found if _self_test(found) else {}
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


def _gemm_args(C, A, B, alpha):
    """``cblas_?gemm``'s arguments for ``C += alpha * A.T @ B`` (row-major)."""
    k, m = A.shape
    n = B.shape[1]
    return (_ROW_MAJOR, _TRANS, _NO_TRANS, m, n, k, alpha, A.ctypes.data,
            A.strides[0] // A.itemsize, B.ctypes.data, B.strides[0] // B.itemsize,
            1.0, C.ctypes.data, C.strides[0] // C.itemsize)


def _call(fn, C, A, B, alpha):
    fn(*_gemm_args(C, A, B, alpha))


def available(dtype) -> bool:
    """True if the BLAS path is usable for ``dtype`` (float32 or float64)."""
    global _functions
    if _functions is None:
        _functions = _load()
    return np.dtype(dtype) in _functions


def gemm_function(dtype):
    """The ``cblas_?gemm`` for ``dtype`` (see :func:`gemm_AtB`); None if unavailable."""
    return _functions.get(np.dtype(dtype)) if available(dtype) else None


def fits_blas(a) -> bool:
    """True if ``a`` is a 2-D floating numpy array whose layout BLAS can take."""
    return (isinstance(a, np.ndarray) and a.ndim == 2 and a.dtype.kind == "f"
            and _blas_layout(a))


def gemm_AtB(fn, C, A, B, alpha):
    """``C += alpha * A.T @ B`` through ``fn`` from :func:`gemm_function`, unchecked.

    For callers that checked once what :func:`add_AtB` checks on every call
    (:class:`coursenet._fast_step.Trainer` does, and re-checks that ``C`` is still
    the array it checked); anything else must use :func:`add_AtB`.
    """
    _call(fn, C, A, B, alpha)


def bind_AtB(fn, C, A, B, alpha):
    """:func:`gemm_AtB` with its arguments worked out once: call the result (no
    arguments) for each ``C += alpha * A.T @ B``.

    The call holds the arrays' addresses: the caller keeps ``C``, ``A`` and
    ``B`` alive and never lets their layout change while it uses the result
    (:class:`coursenet._fast_step.Trainer` binds its own buffers and checks
    before each call that ``C`` is still the array it bound). What it saves
    (three ``.ctypes.data`` and the strides per step) is measured in
    :mod:`coursenet._fast_step`.
    """
    return functools.partial(fn, *_gemm_args(C, A, B, alpha))


def _blas_layout(a) -> bool:
    """Rows contiguous, a leading dimension BLAS accepts, aligned, non-empty, in
    the machine's byte order (BLAS would read a big-endian array as garbage)."""
    rows, cols = a.shape
    step = a.strides[0]
    return (a.dtype.isnative and rows > 0 and cols > 0 and a.strides[1] == a.itemsize
            and step % a.itemsize == 0 and step >= cols * a.itemsize
            and a.flags.aligned)


def add_AtB(C, A, B, alpha=1.0):
    """In place: ``C += alpha * A.T @ B``. A: (k, m), B: (k, n), C: (m, n).

    All three must be 2-D numpy arrays of one floating dtype with fitting
    shapes, and ``C`` writeable (else ``TypeError``/``ValueError``). One BLAS
    call when the BLAS path is available and the layout suits it; otherwise the
    same result through numpy.
    """
    for name, a in (("C", C), ("A", A), ("B", B)):
        if not isinstance(a, np.ndarray) or a.ndim != 2:
            raise TypeError(f"{name} must be a 2-D numpy array, got"
                            f" {type(a).__name__}"
                            + (f" with shape {a.shape}" if hasattr(a, "shape") else ""))
    if C.dtype.kind != "f" or A.dtype != C.dtype or B.dtype != C.dtype:
        raise TypeError(f"C, A and B must share one floating dtype, got {C.dtype},"
                        f" {A.dtype} and {B.dtype}")
    if A.shape[0] != B.shape[0] or C.shape != (A.shape[1], B.shape[1]):
        raise ValueError(f"shapes do not fit C += A.T @ B: C {C.shape}, A {A.shape},"
                         f" B {B.shape}; expected (m, n), (k, m), (k, n)")
    if not C.flags.writeable:
        raise ValueError("C is read-only; add_AtB updates it in place")
    if type(alpha) is not float and (isinstance(alpha, bool)
                                     or not isinstance(alpha, numbers.Real)) \
            or not math.isfinite(alpha):
        raise TypeError(f"alpha must be a finite real number, got {alpha!r}")
    if available(C.dtype) and _blas_layout(C) and _blas_layout(A) \
            and _blas_layout(B) and not np.may_share_memory(C, A) \
            and not np.may_share_memory(C, B):
        _call(_functions[C.dtype], C, A, B, float(alpha))
    else:
        product = A.T @ B
        if alpha != 1:
            product *= alpha
        C += product
