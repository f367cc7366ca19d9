"""_blas: the integer width from numpy's build configuration, a fallback for any
failure while loading, and ``$COURSENET_NO_BLAS`` parsed like ``$COURSENET_OFFLINE``."""

import subprocess
import sys

import numpy as np
import pytest

from coursenet import _blas


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
