"""_blas: numpy's own BLAS found, add_AtB's fallback for layouts BLAS cannot take,
the integer width from numpy's build configuration, a fallback for any
failure while loading, and ``$COURSENET_NO_BLAS`` parsed like ``$COURSENET_OFFLINE``."""

import subprocess
import sys

import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import (
    _blas,
)


def _config(**blas):
    return {"Build Dependencies": {"blas": blas}}


@pytest.mark.parametrize("config, bits", [
    (_config(name="scipy-openblas", **{"openblas configuration":
                                       "OpenBLAS 0.3.31 USE64BITINT DYNAMIC_ARCH"}),
     64),
    (_config(name="scipy-openblas", **{"openblas configuration":
                                       "OpenBLAS 0.3.27 DYNAMIC_ARCH NO_AFFINITY"}),
     32),
    (_config(name="openblas", **{"openblas configuration": "unknown"}), 32),
    (_config(name="mkl-dynamic-ilp64-iomp"), 64),
    (_config(name="mkl-dynamic-lp64-iomp"), 32),
    (_config(name="accelerate"), None),  # does not say: BLAS path off
    ({}, None),
    ({"Build Dependencies": None}, None),
])
def test_integer_width_comes_from_numpys_build_configuration(config, bits):
    assert _blas.blas_int_bits(config) == bits


def test_this_numpys_width_is_known_and_matches_its_config():
    config = np.show_config(mode="dicts")
    flags = str(config["Build Dependencies"]["blas"].get("openblas configuration",
                                                          ""))
    bits = _blas.blas_int_bits()
    if flags:
        assert bits == (64 if "USE64BITINT" in flags else 32)


@pytest.mark.parametrize("failure", [RuntimeError("boom"), KeyError("x"),
                                     AttributeError("no symbol"), OSError("dlopen")])
def test_any_exception_while_loading_falls_back_to_numpy(monkeypatch, failure):
    def broken():
        raise failure

    monkeypatch.setattr(_blas, "_find_library", broken)
    assert _blas._load() == {}


def test_an_unknown_width_loads_nothing(monkeypatch):
    monkeypatch.setattr(_blas, "blas_int_bits", lambda config=None: None)
    monkeypatch.setattr(_blas, "_find_library",
                        lambda: pytest.fail("must not load a library"))
    assert _blas._load() == {}


@pytest.mark.parametrize("value, off", [("1", True), ("true", True), (" YES ", True),
                                        ("on", True), ("0", False), ("false", False),
                                        ("no", False), ("off", False), ("", False)])
def test_no_blas_env_is_parsed_like_offline(monkeypatch, value, off):
    monkeypatch.setenv(_blas.NO_BLAS_ENV, value)
    assert _blas.disabled() is off
    if off:
        assert _blas._load() == {}


def test_no_blas_zero_keeps_the_blas_path():
    """``COURSENET_NO_BLAS=0`` used to disable BLAS (any non-empty value did)."""
    code = ("import numpy as np; from coursenet import _blas;"
            " print(_blas.available(np.float32), _blas.blas_int_bits())")
    results = {}
    for value in ("0", "1"):
        env = {**__import__("os").environ, _blas.NO_BLAS_ENV: value}
        results[value] = subprocess.run([sys.executable, "-c", code], env=env,
                                        capture_output=True, text=True,
                                        check=True).stdout.split()
    assert results["1"][0] == "False"
    if results["0"][1] != "None":  # numpy says its width: BLAS loads
        assert results["0"][0] == "True"


def test_a_malformed_no_blas_value_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(_blas.NO_BLAS_ENV, "maybe")
    with pytest.raises(ValueError, match="COURSENET_NO_BLAS.*'maybe'"):
        _blas.disabled()


# --- bad input and the mutants older tests let live (filed here by module)


def _readonly(shape):
    a = np.zeros(shape)
    a.flags.writeable = False
    return a


CASES = [
    ("add_AtB shapes", lambda: _blas.add_AtB(np.zeros((3, 4)), np.zeros((5, 3)),
                                             np.zeros((6, 4))),
     ValueError, ["shapes", "A (5, 3)", "B (6, 4)"]),
    ("add_AtB dtypes", lambda: _blas.add_AtB(np.zeros((3, 4), np.float32),
                                             np.zeros((5, 3)), np.zeros((5, 4))),
     TypeError, ["one floating dtype", "float32", "float64"]),
    ("add_AtB 1-D", lambda: _blas.add_AtB(np.zeros(12), np.zeros((5, 3)),
                                          np.zeros((5, 4))),
     TypeError, ["C", "2-D", "(12,)"]),
    ("add_AtB read-only C", lambda: _blas.add_AtB(_readonly((3, 4)), np.zeros((5, 3)),
                                                  np.zeros((5, 4))),
     ValueError, ["read-only"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


def test_blas_self_test_rejects_a_gemm_that_computes_nothing():
    """Mutant: _blas's self-test comparison removed."""
    def does_nothing(*args):
        return None

    def adds_twice(order, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
        return None

    functions = {np.dtype(np.float32): does_nothing,
                 np.dtype(np.float64): adds_twice}
    assert _blas._self_test(functions) is False
    if _blas.available(np.float64):  # the real one passes
        assert _blas._self_test(dict(_blas._functions)) is True


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("overlap", ["C overlaps A", "C overlaps B", "C is B"])
def test_add_AtB_with_overlapping_arrays_gives_numpys_result(dtype, overlap):
    """Mutant: _blas's overlap checks removed (a raw gemm reading A while it
    writes C gives a relative error of 3e7 at 300 x 300)."""
    rng = np.random.default_rng(0)
    n = 300
    buf = rng.standard_normal((n, 2 * n)).astype(dtype)
    if overlap == "C overlaps A":
        A, B, C = buf[:, :n], rng.standard_normal((n, n)).astype(dtype), \
            buf[:, n // 2:n // 2 + n]
    elif overlap == "C overlaps B":
        A, B, C = rng.standard_normal((n, n)).astype(dtype), buf[:, :n], \
            buf[:, n // 3:n // 3 + n]
    else:
        A = rng.standard_normal((n, n)).astype(dtype)
        B = C = buf[:, :n]
    expected = C.astype(np.float64) + 0.5 * (A.astype(np.float64).T
                                            @ B.astype(np.float64))
    _blas.add_AtB(C, A, B, alpha=0.5)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    err = np.linalg.norm(C - expected) / np.linalg.norm(expected)
    assert err < tol


# --- which BLAS library, and add_AtB on layouts BLAS cannot take


def test_blas_picks_numpys_own_library_not_the_first_listed():
    torch = {"user_api": "blas", "internal_api": "mkl", "prefix": "libmkl_rt",
             "filepath": "/site-packages/torch/lib/libmkl_rt.so"}
    scipy = {"user_api": "blas", "internal_api": "openblas", "prefix":
             "libscipy_openblas", "filepath":
             "/site-packages/scipy.libs/libscipy_openblas-1.so"}
    mine = {"user_api": "blas", "internal_api": "openblas", "prefix":
            "libscipy_openblas", "filepath":
            "/site-packages/numpy.libs/libscipy_openblas64_-2.so"}
    omp = {"user_api": "openmp", "filepath": "/site-packages/numpy.libs/libgomp.so"}
    dirs = ["/site-packages/numpy", "/site-packages/numpy.libs"]
    assert _blas.choose_library([omp, torch, scipy, mine], dirs) == mine["filepath"]
    # not bundled: the only one matching numpy's build configuration
    system = dict(mine, filepath="/usr/lib/libopenblas.so.0", prefix="libopenblas")
    assert _blas.choose_library([torch, system], dirs, "openblas") == \
        system["filepath"]
    # two candidates and no way to tell: do not guess, fall back to numpy
    assert _blas.choose_library([torch, scipy], dirs, "scipy-openblas") == \
        scipy["filepath"]
    assert _blas.choose_library([torch, scipy], dirs, None) is None
    assert _blas.choose_library([torch], dirs, None) == torch["filepath"]



def test_threadpoolctl_sees_the_blas_numpy_bundles():
    from importlib.metadata import version

    import threadpoolctl

    major, minor = (int(v) for v in version("threadpoolctl").split(".")[:2])
    assert (major, minor) >= (3, 5)  # 3.5 knows numpy 2's libscipy_openblas
    infos = threadpoolctl.threadpool_info()
    numpy_dirs = [str(d) for d in _blas._numpy_dirs()]
    bundled = [i for i in infos if i.get("user_api") == "blas"
               and any(i["filepath"].startswith(d) for d in numpy_dirs)]
    if not any(d.endswith("numpy.libs") and __import__("os").path.isdir(d)
               for d in numpy_dirs):
        pytest.skip("this numpy does not bundle its BLAS")
    assert bundled, infos
    assert _blas._find_library() == bundled[0]["filepath"]



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_AtB_falls_back_for_layouts_blas_cannot_take(dtype):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(7, 10)).astype(dtype)
    B = rng.normal(size=(7, 6)).astype(dtype)
    C0 = rng.normal(size=(5, 6)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    cases = {
        "columns strided": (C0.copy(), A[:, ::2], B),
        "C transposed": (np.asfortranarray(C0), A[:, :5], B),
        "B a column slice": (C0[:, :3].copy(), A[:, :5], B[:, ::2]),
        "empty k": (C0.copy(), A[:0, :5], B[:0]),
    }
    for name, (C, a, b) in cases.items():
        expected = C + 0.5 * (a.T.astype(np.float64) @ b)
        _blas.add_AtB(C, a, b, alpha=0.5)
        assert np.allclose(C, expected, rtol=tol, atol=tol), name
    C = np.zeros((7, 7), dtype)  # C is A itself: must not alias inside BLAS
    A = C[:, :7]
    expected = A.T @ A
    _blas.add_AtB(C, A, np.array(A), alpha=1.0)
    assert np.allclose(C, expected)



def test_blas_update_adds_into_the_output():
    if not _blas.available(np.float32):
        pytest.skip("numpy's BLAS does not expose cblas gemm here")
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        A = rng.normal(size=(7, 5)).astype(dtype)
        B = rng.normal(size=(7, 3)).astype(dtype)
        C = rng.normal(size=(5, 3)).astype(dtype)
        expected = C + 2.0 * (A.T @ B)
        _blas.add_AtB(C, A[:7], B, alpha=2.0)
        assert np.allclose(C, expected, rtol=1e-5)



def test_bound_update_adds_into_the_output_at_every_call():
    """bind_AtB: the arguments worked out once, the update done at each call."""
    if not _blas.available(np.float32):
        pytest.skip("numpy's BLAS does not expose cblas gemm here")
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        A = rng.normal(size=(6, 5)).astype(dtype)
        B = rng.normal(size=(6, 3)).astype(dtype)
        C = rng.normal(size=(5, 3)).astype(dtype)
        expected = C - 2 * 0.5 * (A.T @ B)
        update = _blas.bind_AtB(_blas.gemm_function(dtype), C, A, B, -0.5)
        update()
        A[0] += 1.0  # the call reads the arrays as they are when it runs
        expected -= 0.5 * np.outer(np.ones(5), B[0])
        update()
        assert np.allclose(C, expected, rtol=1e-5, atol=1e-5)
