"""The fast evaluator and the fast step against the readable reference.

``mlp.evaluate`` / ``mlp.predict`` (chunk buffers reused, sigmoid folded into
the weights, log-sum-exp, no softmax) are pinned to ``mlp.loss_and_grads`` and
``mlp.forward`` on the whole set at once; ``_fast_step.Trainer`` to
``mlp.loss_and_grads`` + ``p -= lr * g``. float64 agrees to 1e-10, float32
(computed in float32) to about 1e-4 of a float64 reference.
"""

import tracemalloc

import numpy as np
import pytest
from bad_input import P32, X32, Y, assert_clear_error, p32_with
from reference import batches_of, problem, reference_sgd_steps

from coursenet import (
    _blas,
    _fast_eval,
    _fast_step,
    losses,
    mlp,
    train,
)
from coursenet.gradcheck import rel_error


def _problem(n, d=6, h=5, c=4, seed=0, dtype=np.float64, scale=1.0):
    """This file's problems: X of scale 2, W2 scaled by ``scale``."""
    return problem(n, d, h, c, seed, dtype, x_scale=2.0, w2_scale=scale)


def _reference(params, X, y):
    """Loss, accuracy and logits of the whole set in one readable pass, float64."""
    p64 = {k: np.asarray(v, np.float64) for k, v in params.items()}
    X64 = np.asarray(X, np.float64)
    loss = mlp.loss_and_grads(p64, X64, y)[0]
    logits = mlp.forward(p64, X64)[0]
    return loss, float((logits.argmax(1) == y).mean()), logits


# n: one partial chunk only, exactly two chunks, several chunks + a partial one
@pytest.mark.parametrize("n, chunk", [(5, 8), (16, 8), (3 * 64 + 17, 64)])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_evaluate_equals_the_reference_in_chunks(n, chunk, dtype, tol):
    params, X, y = _problem(n, dtype=dtype, seed=n)
    loss, acc, logits = _reference(params, X, y)
    got_loss, got_acc = mlp.evaluate(params, X, y, batch_size=chunk)
    assert got_loss == pytest.approx(loss, rel=tol)
    assert got_acc == acc
    assert isinstance(got_loss, float) and isinstance(got_acc, float)
    assert np.array_equal(mlp.predict(params, X, batch_size=chunk), logits.argmax(1))
    starts, pieces = [], []
    for start, z in _fast_eval.chunks(params, X, batch_size=chunk):
        assert z.dtype == dtype  # float32 stays float32
        starts.append(start)
        pieces.append(z.copy())  # the buffer is reused by the next chunk
    assert starts == list(range(0, n, chunk))
    assert np.allclose(np.concatenate(pieces), logits, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_evaluate_over_more_than_the_default_chunk(dtype, tol):
    n = mlp.EVAL_CHUNK * 2 + 321  # two full default chunks and a partial one
    params, X, y = _problem(n, d=5, h=4, c=3, dtype=dtype, seed=11)
    loss, acc, logits = _reference(params, X, y)
    got_loss, got_acc = mlp.evaluate(params, X, y)
    assert got_loss == pytest.approx(loss, rel=tol)
    assert got_acc == acc
    assert (logits.argmax(1) == y).mean() not in (0.0, 1.0)
    assert np.array_equal(mlp.predict(params, X), logits.argmax(1))


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_evaluate_is_stable_for_huge_logits(dtype, tol):
    """Logits of several hundred overflow exp() in float32 without the shift."""
    params, X, y = _problem(300, dtype=dtype, seed=5, scale=400.0)
    loss, acc, logits = _reference(params, X, y)
    assert np.abs(logits).max() > 200
    got_loss, got_acc = mlp.evaluate(params, X, y, batch_size=64)
    assert np.isfinite(got_loss)
    assert got_loss == pytest.approx(loss, rel=tol)
    assert got_acc == acc


@pytest.mark.parametrize("label_dtype", [np.uint8, np.int32, np.uint64])
def test_any_integer_label_dtype_gives_the_same_results(label_dtype):
    params, X, y = _problem(30, seed=8)
    expected = mlp.evaluate(params, X, y, batch_size=8)
    assert mlp.evaluate(params, X, y.astype(label_dtype), batch_size=8) == expected
    runs = [train.sgd(params, (X, labels), lr=0.3, batch_size=8, epochs=1,
                      progress=False) for labels in (y, y.astype(label_dtype))]
    assert runs[0].step_loss == runs[1].step_loss
    assert runs[0].epoch_train_loss == runs[1].epoch_train_loss


def test_evaluate_with_mixed_dtypes_computes_in_the_wider_one():
    params, X, y = _problem(50, seed=3, dtype=np.float32)
    loss, acc, _ = _reference(params, X.astype(np.float64), y)
    got = mlp.evaluate(params, X.astype(np.float64), y, batch_size=16)
    assert got[0] == pytest.approx(loss, rel=1e-6)  # float32 weights, float64 data
    assert got[1] == acc


def test_evaluate_allocates_no_per_chunk_temporaries():
    """Peak memory stays near the one hidden buffer, whatever the rows: the
    old evaluator made 3-4 hidden-sized temporaries per chunk (K, exp, where,
    the sigmoid) and a softmax-sized one."""
    chunk, h = 1000, 200
    params, X, y = _problem(20 * chunk + 7, d=5, h=h, c=3, seed=2)
    hidden_bytes = chunk * h * 8
    mlp.evaluate(params, X, y, batch_size=chunk)  # warm up imports and caches
    tracemalloc.start()
    try:
        mlp.evaluate(params, X, y, batch_size=chunk)
        mlp.predict(params, X, batch_size=chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert hidden_bytes <= peak < 1.5 * hidden_bytes


@pytest.mark.parametrize("fused", [None, False])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_trainer_steps_equal_the_reference(dtype, tol, fused):
    """Full and partial batches, and the same batch size twice (cached views)."""
    params, X, y = _problem(40, d=9, h=7, c=5, seed=4, dtype=dtype)
    order = np.random.default_rng(1).permutation(40)
    batches = [order[:16], order[16:32], order[32:], order[5:21]]
    trainer = _fast_step.Trainer({k: v.copy() for k, v in params.items()}, 16,
                                 fused=fused)
    if fused is None:
        assert trainer.fused == _blas.available(dtype)
    losses = [trainer._step(X, y, idx, 0.7) for idx in batches]
    ref, ref_losses = reference_sgd_steps(params, X, y, 0.7, batches)
    assert np.allclose(losses, ref_losses, rtol=tol, atol=tol)
    for k in mlp.PARAM_NAMES:
        assert np.allclose(trainer.params[k], ref[k], rtol=tol, atol=tol), k


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_trainer_steps_equal_the_readable_sgd_step(dtype, tol):
    """_fast_step.Trainer is pinned to train.sgd_step, the course's step."""
    params, X, y = _problem(30, d=7, h=6, c=4, seed=9, dtype=dtype)
    readable = {k: v.copy() for k, v in params.items()}
    trainer = _fast_step.Trainer({k: v.copy() for k, v in params.items()}, 8)
    order = np.random.default_rng(3).permutation(30)
    for s in range(0, 30, 8):
        idx = order[s:s + 8]
        fast_loss = trainer._step(X, y, idx, 0.4)
        loss = train.sgd_step(readable, X[idx], y[idx], 0.4)
        assert fast_loss == pytest.approx(loss, rel=tol, abs=tol)
    for k in mlp.PARAM_NAMES:
        assert readable[k].dtype == dtype
        assert np.allclose(trainer.params[k], readable[k], rtol=tol, atol=tol), k


def test_fused_true_needs_the_blas_path(monkeypatch):
    params, _, _ = _problem(4, dtype=np.float32)
    monkeypatch.setattr(_blas, "available", lambda dtype: False)
    with pytest.raises(ValueError, match="fused=True needs"):
        _fast_step.Trainer(params, 4, fused=True)
    with pytest.raises(TypeError, match="fused must be None, True or False"):
        _fast_step.Trainer(params, 4, fused="yes")


@pytest.mark.parametrize("replace", ["fortran", "strided", "same layout"])
def test_a_callback_replacing_W1_mid_run_still_gets_the_right_update(replace):
    """The step checks W1's layout once per Trainer, then only that W1 is the
    array it checked: a W1 swapped in by a callback goes through the checked
    add_AtB (which falls back where BLAS cannot take it)."""
    params, X, y = _problem(24, d=6, h=5, c=3, seed=6)
    swapped = []

    def swap(history):
        if len(history.step_loss) == 2 and not swapped:
            W1 = history.params["W1"]
            if replace == "fortran":
                new = np.asfortranarray(W1)
            elif replace == "strided":
                new = np.zeros((W1.shape[0], 2 * W1.shape[1]))[:, ::2]
                new[:] = W1
            else:
                new = W1.copy()
            history.params["W1"] = new
            swapped.append(new)

    history = train.sgd(params, (X, y), lr=0.5, batch_size=4, epochs=1, seed=2,
                        progress=False, callback=swap)
    order = np.random.default_rng(2).permutation(24)
    ref, ref_losses = reference_sgd_steps(params, X, y, 0.5,
                                       [order[s:s + 4] for s in range(0, 24, 4)])
    assert swapped and history.params["W1"] is swapped[0]
    assert np.allclose(history.step_loss, ref_losses, rtol=1e-10)
    for k in mlp.PARAM_NAMES:
        assert np.allclose(history.params[k], ref[k], rtol=1e-10, atol=1e-12), k


def test_fits_blas_accepts_only_layouts_blas_can_take():
    a = np.zeros((6, 4), np.float32)
    assert _blas.fits_blas(a) and _blas.fits_blas(a[1:4])
    assert _blas.fits_blas(np.zeros((6, 8))[:, :4])  # a leading dimension of 8
    for bad in (a[:, ::2], np.asfortranarray(a), a[:0], a.ravel(), a.astype(int),
                a.tolist()):
        assert not _blas.fits_blas(bad)


# --- bad input and the mutants older tests let live (filed here by module)

def _trainer_step(idx=None, y=None):
    t = _fast_step.Trainer(p32_with(), 4)
    t.step(X32, Y if y is None else y, np.array([0, 1] if idx is None else idx), 0.1)


CASES = [
    ("Trainer batch_size=0", lambda: _fast_step.Trainer(P32, 0),
     ValueError, ["batch_size", "> 0"]),
    ("step idx out of range", lambda: _trainer_step(idx=[0, 12]),
     IndexError, ["idx", "[0, 12)", "12"]),
    ("step idx -1 (mode='clip' would pair it silently)",
     lambda: _trainer_step(idx=[-1, 2]), IndexError, ["idx", "-1"]),
    ("step label -1", lambda: _trainer_step(y=np.r_[-1, Y[1:]]),
     ValueError, ["c[idx]", "label -1"]),
    ("step too many rows", lambda: _trainer_step(idx=np.arange(5)),
     ValueError, ["idx", "1 to 4"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


# --- the Trainer checks W1's layout again on every step


def test_trainer_rechecks_the_layout_on_every_step():
    """The Trainer decides 'fused' at construction; W1 replaced afterwards by a
    Fortran-ordered array still gets the right update (add_AtB falls back)."""
    params, X, y = problem(n=16, d=5, h=4, c=3, seed=8)
    trainer = _fast_step.Trainer({k: v.copy() for k, v in params.items()}, 8)
    trainer.params["W1"] = np.asfortranarray(trainer.params["W1"])
    order = np.arange(16)
    for s in (0, 8):
        trainer.step(X, y, order[s:s + 8], 0.5)
    ref, _ = reference_sgd_steps(params, X, y, 0.5, batches_of(order, 8))
    for k in mlp.PARAM_NAMES:
        assert rel_error(trainer.params[k], ref[k]) < 1e-10, k


def test_row_losses_leave_the_logits_and_keep_exp_shifted_apart():
    """The loss's exp(logits - row max) has its own buffer: a Trainer's logits
    stay logits for the whole step (no buffer changes meaning mid-step)."""
    rng = np.random.default_rng(12)
    logits = rng.normal(size=(6, 4)) * 50
    before = logits.copy()
    c = rng.integers(0, 4, 6)
    rows = _fast_eval.RowLosses(8, 4, np.float64)
    total = rows.loss_sum(logits, c)
    assert np.array_equal(logits, before)
    shifted = before - before.max(axis=1, keepdims=True)
    r = rows.rows(6)
    assert np.allclose(r.exp_shifted, np.exp(shifted), rtol=1e-14)
    assert np.allclose(r.row_sum, np.exp(shifted).sum(axis=1), rtol=1e-14)
    assert total == pytest.approx(6 * losses.cross_entropy(before, c), rel=1e-12)


def test_trainer_views_are_made_once_per_batch_length():
    params, X, y = _problem(20, seed=13)
    trainer = _fast_step.Trainer(params, 8)
    full, short = trainer._rows(8), trainer._rows(4)
    assert trainer._rows(8) is full and trainer._rows(4) is short
    for name, buffer in trainer.buffers.items():
        assert np.shares_memory(getattr(short, name), buffer), name
        assert len(getattr(short, name)) == 4 and len(getattr(full, name)) == 8
