"""The one check behind every table of bad inputs: the call raises the named
error type, and its message contains each of the given words (which argument,
shape, dtype or value was wrong)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from coursenet import mlp

# Small data every bad-input table shares: float32 and float64 parameters, a
# batch for each (made once here, from one seeded generator).
RNG = np.random.default_rng(0)
X32 = RNG.random((12, 6)).astype(np.float32)
Y = RNG.integers(0, 3, 12)
P32 = mlp.init_mlp(6, 4, 3, seed=0)
P64 = mlp.init_mlp(4, 3, 2, dtype=np.float64)
X64 = RNG.random((6, 4))
Y2 = RNG.integers(0, 2, 6)
P64_WIDE = mlp.init_mlp(6, 4, 3, seed=0, dtype=np.float64)  # P32's shapes, float64


def p32_with(**changes):
    """A copy of P32 with some arrays replaced (P32 itself is never changed)."""
    params = {name: array.copy() for name, array in P32.items()}
    params.update(changes)
    return params


def assert_clear_error(name, call, error, words):
    with pytest.raises(error) as info:
        call()
    plt.close("all")          # a plotting call may have opened a figure first
    message = str(info.value)
    for word in words:
        assert word in message, f"{name}: {word!r} not in {message!r}"
