"""The one check behind every table of bad inputs: the call raises the named
error type, and its message contains each of the given words (which argument,
shape, dtype or value was wrong)."""

import matplotlib.pyplot as plt
import pytest


def assert_clear_error(name, call, error, words):
    with pytest.raises(error) as info:
        call()
    plt.close("all")          # a plotting call may have opened a figure first
    message = str(info.value)
    for word in words:
        assert word in message, f"{name}: {word!r} not in {message!r}"
