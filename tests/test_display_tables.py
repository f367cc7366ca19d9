"""coursenet.display's tables and reports: what the notebooks print, each figure
checked against a computation written out here."""

import math

import numpy as np
import pytest

from coursenet import display, mlp, scalar
from coursenet.exercises.nb06 import paired_difference
from coursenet.gradcheck import compare
from coursenet.history import History

RNG = np.random.default_rng(7)


def test_table_aligns_columns_and_formats_each_one(capsys):
    display.table({"lr": [0.1, 10.0], "acc": [0.5, 0.25], "note": ["a", None]},
                  {"acc": ".1%"})
    assert capsys.readouterr().out.splitlines() == [
        "  lr    acc  note",
        " 0.1  50.0%     a",
        "10.0  25.0%     –",
    ]


@pytest.mark.parametrize("columns, formats, words", [
    ({}, None, "non-empty dict"),
    ({"a": [1], "b": [1, 2]}, None, "same number"),
    ({"a": [1]}, {"b": ".2f"}, "among the headers"),
])
def test_table_refuses_what_it_cannot_print(columns, formats, words):
    with pytest.raises((TypeError, ValueError), match=words):
        display.table(columns, formats)


def test_vectors_marks_each_line_against_its_expected_value(capsys):
    display.vectors("t", {"x": [1.0, -0.0], "dW": [[0.5, 0.25], [0.0, 1.0]],
                          "y": [0.2]},
                    {"x": [1.0, 0.0], "dW": [[0.5, 0.25], [0.0, 0.9]], "y": [0.2, 0.8]})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "t"
    assert lines[1] == "     x  [+1.0000, +0.0000]  ✓"          # -0.0 printed as 0
    assert lines[2].endswith("✗ off by 1.0e-01")
    assert "[+0.5000, +0.2500]  [+0.0000, +1.0000]" in lines[2]
    assert lines[3].endswith("✗ 1 numbers, expected 2")


def test_comparisons_answer_names_what_disagrees(monkeypatch):
    shown = []
    monkeypatch.setattr(display, "_display", shown.append)
    good = compare("dW", np.ones(3), np.ones(3), show=False)
    bad = compare("db", np.ones(3), np.zeros(3), show=False)
    assert display.comparisons_answer("R", [], "not yet", "all {n}") is None
    display.comparisons_answer("R", [good, bad], "-", "all {n}", "x")
    display.comparisons_answer("R", [good, good], "-", "all {n} agree", "x")
    texts = [m.data for m in shown]
    assert "not yet" in texts[0]
    assert "do not agree yet**: db. x" in texts[1]
    assert "all 2 agree x" in texts[2]


def test_comparisons_answer_after_a_failed_check_says_so(monkeypatch):
    """Round 9: 04's 'Not run yet: finish Q5a-e' was false for a student whose
    comparison ran and stopped at a function that failed its check."""
    from coursenet.exercises import _core
    shown = []
    monkeypatch.setattr(display, "_display", shown.append)
    monkeypatch.setitem(_core._VERDICTS, ("run_backward",), (False, (len,)))
    display.comparisons_answer("R", [], "Not run yet: finish Q5", "all {n}")
    assert "Not run: the comparison stopped, and your `run_backward` failed its own" \
        " check above" in shown[0].data
    assert "finish Q5" not in shown[0].data
    # round 16: every comparison agrees while a check still fails (05's loss
    # divided by C, whose gradients are right): the ✓ summary says so
    good = compare("dW", np.ones(3), np.ones(3), show=False)
    display.comparisons_answer("R", [good], "-", "All {n} comparisons ✓.")
    assert shown[1].data.strip().endswith(
        "All 1 comparisons ✓. Your `run_backward` still fails its own check above:"
        " these comparisons do not reach what it gets wrong.")


def test_first_below_counts_full_windows_only():
    losses = [1.0] * 10 + [0.0] * 10
    # the trailing mean of 4 first drops below 0.5 when 3 zeros are in it:
    # after instance 13 (a loop over the windows, written out)
    means = [np.mean(losses[i - 4:i]) for i in range(4, len(losses) + 1)]
    expected = 4 + next(k for k, m in enumerate(means) if m < 0.5)
    assert display.first_below(losses, window=4) == expected == 13
    assert display.first_below([1.0] * 20, window=4) is None


def test_level_and_noise_of_a_rate_of_zero_is_the_loss_and_no_noise():
    params = scalar.init_params(seed=3)
    X = RNG.normal(size=(400, 2))
    c = (X[:, 0] > 0).astype(int)
    level, noise = display.level_and_noise(params, 0.0, (X, c), (X[:50], c[:50]),
                                           steps=300, every=100)
    assert level == pytest.approx(scalar.mean_loss(params, X[:50], c[:50]))
    assert noise == 0.0
    # a real rate moves the loss: some noise, and params themselves untouched
    before = {k: [list(r) if isinstance(r, list) else r for r in v]
              for k, v in params.items()}
    _, moving = display.level_and_noise(params, 0.5, (X, c), (X[:50], c[:50]),
                                        steps=300, every=100)
    assert moving > 0 and params == before
    with pytest.raises(ValueError, match="steps must lie in"):
        display.level_and_noise(params, 0.1, (X, c), (X, c), steps=500, every=100)


def _scalar_run(lr, seed=0, n=300):
    X = RNG.normal(size=(n, 2))
    c = (X[:, 0] * X[:, 1] > 0).astype(int)
    run = scalar.train(scalar.init_params(seed=seed), (X, c), lr=lr, epochs=1,
                       seed=seed)
    return run, X, c


def test_saturation_table_counts_saturated_units(capsys):
    run, X, _ = _scalar_run(0.1)
    huge = History(lr=1, batch_size=1, epochs=1, seed=0, steps_per_epoch=1,
                   params={k: [[100 * v for v in row] if isinstance(row, list)
                               else 100 * row for row in val]
                           for k, val in run.params.items()})
    display.saturation_table({0.1: run, 1.0: huge}, X)
    lines = capsys.readouterr().out.splitlines()
    p = mlp.from_scalar(run.params)
    h = 1 / (1 + np.exp(-(X @ p["W1"] + p["b1"])))
    share = np.mean(h * (1 - h) < 0.01)
    largest = max(np.abs(p["W1"]).max(), np.abs(p["W2"]).max())
    assert lines[1].split()[1:] == [f"{largest:.1f}", f"{share:.1%}"]
    assert float(lines[2].split()[-1].rstrip("%")) > 90


def test_scalar_rate_table_reports_each_rate(capsys):
    runs = {rate: _scalar_run(rate)[0] for rate in (0.05, 0.5)}
    _, X, c = _scalar_run(0.1, n=2000)
    found = display.scalar_rate_table(runs, (X, c), (X[:200], c[:200]), checked=100,
                                     steps=1000)
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:1] == ["lr"] and len(out) == 3
    for rate, row in found.items():
        assert set(row) == {"exit_at", "acc", "level", "noise"}
        assert row["acc"] == mlp.accuracy(mlp.from_scalar(runs[rate].params),
                                          X[:200], c[:200])
        assert row["exit_at"] == display.first_below(runs[rate].step_loss)


def test_batch_timings_calls_every_batch_of_every_size(capsys):
    calls = []
    X, c = np.zeros((10, 3)), np.zeros(10, int)
    times = display.batch_timings(lambda p, Xb, cb: calls.append(len(Xb)), {}, X, c,
                                  [1, 4], repeats=2)
    # per round: 10 batches of 1, then 4 + 4 + 2
    assert calls == ([1] * 10 + [4, 4, 2]) * 2
    assert set(times) == {1, 4} and all(t >= 0 for t in times.values())
    assert "speed-up" in capsys.readouterr().out


def _history(train_loss, val_loss, acc=0.5):
    h = History(lr=0.1, batch_size=2, epochs=len(train_loss) - 1, seed=0,
                steps_per_epoch=1, params={})
    h.epoch_train_loss, h.epoch_val_loss = list(train_loss), list(val_loss)
    h.epoch_train_acc = h.epoch_val_acc = [acc] * len(train_loss)
    return h


def test_epoch_table_prints_the_gap(capsys):
    display.epoch_table(_history([2.0, 1.0], [2.5, 1.25]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["epoch", "train", "loss", "val", "loss", "gap",
                                "train", "acc", "val", "acc"]
    assert lines[2].split()[:4] == ["1", "1.0000", "1.2500", "0.2500"]


def test_sweep_table_and_compare_rates(capsys):
    seeds = range(3)
    sweep = {r: [_history([2, l], [2, l], a) for l, a in zip(loss, acc)]
             for r, loss, acc in ((0.1, [0.5, 0.6, 0.7], [0.9, 0.8, 0.85]),
                                  (1.0, [0.4, 0.5, 0.5], [0.92, 0.85, 0.9]))}
    sweep[10.0] = []
    usable, val_loss, val_acc = display.sweep_table(
        [0.1, 1.0, 10.0], sweep, {0.1: 0, 1.0: 0, 10.0: 3}, seeds)
    out = capsys.readouterr().out.splitlines()
    assert usable == [0.1, 1.0]
    assert out[-1].split() == ["10.0", "–", "–", "3", "of", "3"]
    assert f"{np.mean([0.5, 0.6, 0.7]):.4f} ± {np.std([0.5, 0.6, 0.7], ddof=1):.4f}" \
        in out[1]
    result = display.compare_rates(1.0, 0.1, val_acc, "acc")
    expected = paired_difference([0.92, 0.85, 0.9], [0.9, 0.8, 0.85])
    assert result.mean == pytest.approx(expected.mean) and result.wins == 3
    assert "better on 3 of 3 seeds" in capsys.readouterr().out
    with pytest.raises(ValueError, match='"acc" or "loss"'):
        display.compare_rates(1.0, 0.1, val_acc, "accuracy")
    with pytest.raises(ValueError, match="lr 10.0 has no value"):
        display.compare_rates(10.0, 0.1, val_acc, "acc")


def test_summed_vs_mean_equal_runs_have_equal_weights(capsys):
    import matplotlib
    matplotlib.use("Agg")
    X = RNG.random((64, 784)).astype(np.float32)
    c = RNG.integers(0, 10, 64)
    found = display.summed_vs_mean((X, c), (X[:16], c[:16]), 0.03 * 32)
    assert found["max_diff"] < 1e-4 and len(found["acc"]) == 3
    unset = display.summed_vs_mean((X, c), (X[:16], c[:16]), None)
    assert unset["max_diff"] is None and len(unset["acc"]) == 2
    assert "EQUIV_LR is not set yet" in capsys.readouterr().out
    assert math.isfinite(min(found["acc"].values()))
