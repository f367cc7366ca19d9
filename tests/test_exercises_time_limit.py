"""A check bounds the student's code in time: an endless loop is stopped and named."""

from __future__ import annotations

import time

import numpy as np
import pytest

from coursenet import exercises
from coursenet.exercises import _core


@pytest.fixture
def short_limit(monkeypatch):
    monkeypatch.setattr(_core, "TIME_LIMIT", 0.5)


def loss_grad_endless(y, c):
    g = np.zeros(len(y))
    i = 0
    while i < len(y):      # the student forgot i += 1
        g[c] = -1 / y[c]
    return g


def loss_grad_endless_catching(y, c):
    while True:
        try:
            time.sleep(0.01)
        except Exception:  # noqa: BLE001 - a student's catch-all: must not hide it
            pass


def loss_grad(y, c):
    g = np.zeros(len(y))
    g[c] = -1 / y[c]
    return g


@pytest.mark.parametrize("fn", [loss_grad_endless, loss_grad_endless_catching])
def test_an_endless_loop_is_stopped_and_named(short_limit, fn):
    start = time.perf_counter()
    result = exercises.check_loss_grad(fn)
    elapsed = time.perf_counter() - start
    assert result.status == "failed" and result.mistake == "too_slow"
    assert f"{fn.__name__} did not return within 0.5 s" in result.message
    assert "course's example" in result.message  # the case it was on
    print(f"stopped after {elapsed:.2f} s")       # a figure, not a timed assert


def test_after_a_stopped_call_nothing_stray_arrives(short_limit):
    exercises.check_loss_grad(loss_grad_endless)
    # a pending stop would surface in any Python loop that runs next
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:
        pass
    assert exercises.check_loss_grad(loss_grad).passed


def test_a_fast_function_is_not_stopped(short_limit):
    for _ in range(20):
        assert exercises.check_loss_grad(loss_grad).passed
