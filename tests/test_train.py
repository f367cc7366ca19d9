"""train.py: the fast SGD loop against the readable reference (partial batches,
reshuffling, reproducibility, divergence), and the parameters and settings
sgd and sgd_step must refuse or honour."""

import math
from fractions import Fraction

import numpy as np
import pytest
from bad_input import (
    P32,
    P64,
    P64_WIDE,
    X32,
    X64,
    Y2,
    Y,
    assert_clear_error,
    p32_with,
)
from reference import batches_of, problem, reference_sgd_steps

from coursenet import (
    _blas,
    _fast_step,
    mlp,
    scalar,
    train,
)
from coursenet.gradcheck import rel_error
from coursenet.history import DivergedError

RNG = np.random.default_rng(0)
X = RNG.random((12, 4))
C = RNG.integers(0, 4, 12)


def _params():
    return mlp.init_mlp(4, 4, 4, seed=0, dtype=np.float64)


def _aliased(kind):
    p = _params()
    if kind == "W2 is W1":
        p["W2"] = p["W1"]
    elif kind == "b1 is a row of W1":
        p["b1"] = p["W1"][0]
    elif kind == "b2 is b1's view":
        p["b1"] = p["b1"][:4]
        p["b2"] = p["b1"][::-1]
    return p


ALIASES = ["W2 is W1", "b1 is a row of W1", "b2 is b1's view"]
TRAINERS = {
    "sgd_step": lambda p: train.sgd_step(p, X, C, 0.1),
    "sgd": lambda p: train.sgd(p, (X, C), lr=0.1, epochs=1, progress=False),
    "sgd copy=False": lambda p: train.sgd(p, (X, C), lr=0.1, epochs=1,
                                          progress=False, copy=False),
}


@pytest.mark.parametrize("trainer", sorted(TRAINERS))
@pytest.mark.parametrize("kind", ALIASES)
def test_parameters_sharing_memory_are_refused_before_any_update(trainer, kind):
    """They trained silently, and differently from unaliased copies."""
    p = _aliased(kind)
    before = {k: v.copy() for k, v in p.items()}
    with pytest.raises(ValueError, match=r"params\['\w+'\] shares memory with"
                       r" params\['\w+'\]"):
        TRAINERS[trainer](p)
    for k in mlp.PARAM_NAMES:
        np.testing.assert_array_equal(p[k], before[k])


@pytest.mark.parametrize("trainer", sorted(TRAINERS))
def test_lr_as_a_fraction_trains_like_its_float(trainer):
    """Fraction(1, 10) failed in numpy's isfinite."""
    p, q = _params(), _params()
    if trainer == "sgd_step":
        assert train.sgd_step(p, X, C, Fraction(1, 10)) == train.sgd_step(q, X, C, 0.1)
        arrays = p, q
    else:
        copy = trainer == "sgd"
        runs = [train.sgd(r, (X, C), lr=lr, epochs=2, progress=False, copy=copy)
                for r, lr in ((p, Fraction(1, 10)), (q, 0.1))]
        assert runs[0].step_loss == runs[1].step_loss
        arrays = runs[0].params, runs[1].params
    for k in mlp.PARAM_NAMES:
        np.testing.assert_array_equal(arrays[0][k], arrays[1][k])


@pytest.mark.parametrize("copy", [True, False])
def test_big_endian_params_and_data_train_like_native_ones(copy):
    """sgd failed with numpy's 'output array is not acceptable'."""
    big = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in _params().items()}
    run = train.sgd(big, (X.astype(">f8"), C), lr=0.1, epochs=2, progress=False,
                    copy=copy)
    ref = train.sgd(_params(), (X, C), lr=0.1, epochs=2, progress=False)
    np.testing.assert_allclose(run.step_loss, ref.step_loss, rtol=1e-12)
    for k in mlp.PARAM_NAMES:
        np.testing.assert_allclose(run.params[k], ref.params[k], rtol=1e-12)
    if not copy:
        assert run.params["W1"] is big["W1"]  # trained in place, as asked


def test_big_endian_sgd_step_equals_the_native_step():
    p = _params()
    big = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in p.items()}
    assert train.sgd_step(big, X.astype(">f8"), C, 0.1) == pytest.approx(
        train.sgd_step(p, X, C, 0.1), rel=1e-14)
    for k in mlp.PARAM_NAMES:
        np.testing.assert_allclose(big[k], p[k], rtol=1e-14)


@pytest.mark.parametrize("trainer", sorted(TRAINERS))
def test_a_masked_X_is_refused(trainer):
    global X
    plain = X
    X = np.ma.masked_array(plain, mask=np.zeros(plain.shape, bool))
    try:
        with pytest.raises(TypeError, match="masked"):
            TRAINERS[trainer](_params())
    finally:
        X = plain


# --- bad input and the mutants older tests let live (filed here by module)

X_mm = np.random.default_rng(0).random((5, 4)).astype(np.float32)
Y_mm = np.array([0, 1, 0, 1, 1])


def _params_mm(**changes):
    p = mlp.init_mlp(4, 3, 2, seed=0)
    p.update(changes)
    return p


CASES = [
    ("sgd mixed dtypes", lambda: train.sgd(p32_with(b1=np.zeros(4)), (X32, Y), lr=0.1,
                                           progress=False),
     TypeError, ["same floating dtype", "b1 float64", "W1 float32"]),
    ("sgd integer bias", lambda: train.sgd(p32_with(b2=np.zeros(3, int)), (X32, Y),
                                           lr=0.1, progress=False),
     TypeError, ["same floating dtype", "b2 int64"]),
    ("sgd NaN parameter", lambda: train.sgd(p32_with(W2=np.full((4, 3), np.nan,
                                                              np.float32)),
                                            (X32, Y), lr=0.1, progress=False),
     ValueError, ["W2", "NaN or inf"]),
    ("sgd copy='no'", lambda: train.sgd(P32, (X32, Y), lr=0.1, copy="no",
                                        progress=False),
     TypeError, ["copy", "True or False", "'no'"]),
    ("sgd copy=False on lists",
     lambda: train.sgd({k: v.tolist() for k, v in P64_WIDE.items()}, (X32, Y), lr=0.1,
                       copy=False, progress=False),
     TypeError, ["copy=False", "writeable numpy array", "list"]),
    ("sgd seed='abc'", lambda: train.sgd(P32, (X32, Y), lr=0.1, seed="abc",
                                        progress=False),
     TypeError, ["seed", "'abc'", "Generator"]),
    ("sgd seed=-1", lambda: train.sgd(P32, (X32, Y), lr=0.1, seed=-1,
                                     progress=False),
     ValueError, ["seed", "-1"]),
    ("sgd callback='plot'", lambda: train.sgd(P32, (X32, Y), lr=0.1,
                                             callback="plot", progress=False),
     TypeError, ["callback", "'plot'", "function"]),
    ("sgd progress='yes'", lambda: train.sgd(P32, (X32, Y), lr=0.1,
                                            progress="yes"),
     TypeError, ["progress", "True or False"]),
]


@pytest.mark.parametrize("name, call, error, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, error, words):
    assert_clear_error(name, call, error, words)


def test_what_students_pass_is_accepted():
    """numpy integers as targets and numpy floats as learning rates are fine."""
    loss, cache = scalar.forward(scalar.course_params(), np.array([1.0, 2.0]),
                                 np.int64(1))
    assert math.isfinite(loss) and cache["target"] == 1
    params = scalar.course_params()
    scalar.sgd_step(params, scalar.backward(params, cache), np.float32(0.1))
    h = scalar.train(scalar.course_params(), (np.array([[1.0, 2.0]]),
                                              np.array([1], np.int64)),
                     lr=np.float64(0.1), epochs=np.int64(2), progress=False)
    assert len(h.step_loss) == 2
    assert train.sgd(P32, (X32, Y.astype(np.uint8)), lr=np.float32(0.1), epochs=1,
                     progress=False).lr == pytest.approx(0.1)


def test_train_sgd_step_refuses_a_read_only_parameter_before_updating_any():
    params = {k: v.copy() for k, v in P64.items()}
    params["b2"].flags.writeable = False
    before = {k: v.copy() for k, v in params.items()}
    with pytest.raises(TypeError, match=r"params\['b2'\].*writeable"):
        train.sgd_step(params, X64, Y2, 0.1)
    for k in mlp.PARAM_NAMES:
        assert np.array_equal(params[k], before[k]), k


def test_sgd_keeps_the_batch_size_asked_for_when_the_data_is_smaller():
    """A batch of 64 over 10 rows is the whole set, one step an epoch: the
    history says 64 (it used to say 10), and the weights are those of batch 10."""
    from coursenet import mlp, train

    rng = np.random.default_rng(0)
    X, c = rng.random((10, 6), dtype=np.float32), rng.integers(0, 3, 10)
    runs = {b: train.sgd(mlp.init_mlp(6, 4, 3, seed=0), (X, c), lr=0.5,
                         batch_size=b, epochs=2, progress=False) for b in (64, 10)}
    assert runs[64].batch_size == 64 and runs[64].steps_per_epoch == 1
    for name in mlp.PARAM_NAMES:
        assert np.array_equal(runs[64].params[name], runs[10].params[name])


def test_train_history_summary_and_repr_are_one_line():
    rng = np.random.default_rng(0)
    X = rng.random((20, 4)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    h = train.sgd(mlp.init_mlp(4, 3, 3), (X, y), lr=0.1, epochs=2, batch_size=7,
                  progress=False, val_data=(X, y))
    assert h.steps_per_epoch == 3 and len(h.step_loss) == 6
    assert "\n" not in repr(h) and "6 steps" in repr(h)
    assert f"train loss {h.epoch_train_loss[-1]:.4f}" in h.summary()


def test_sgd_step_refuses_mixed_dtypes():
    """train.sgd_step: ``check_params(params, training=True)`` -> ``training=False``
    (a float64 bias next to float32 weights was then trained silently)."""
    p = _params_mm(b1=np.zeros(3))
    with pytest.raises(TypeError, match="same floating dtype"):
        train.sgd_step(p, X_mm, Y_mm, 0.1)


def test_sgd_step_names_lr():
    """train.sgd_step: ``positive_number(lr, "lr")`` -> another name or None."""
    with pytest.raises(ValueError, match=r"^lr must be > 0, got 0$"):
        train.sgd_step(_params_mm(), X_mm, Y_mm, 0)


def test_a_read_only_parameter_message_starts_with_its_name():
    """train._check_writeable: ``why=""`` -> ``why="XXXX"``, and the
    ``(read-only)`` note dropped."""
    p = _params_mm()
    p["W2"].flags.writeable = False
    with pytest.raises(TypeError) as info:
        train.sgd_step(p, X_mm, Y_mm, 0.1)
    assert str(info.value) == ("params['W2'] must be a writeable numpy array, got"
                               " ndarray (read-only)")


@pytest.mark.parametrize("kwargs, error, message", [
    ({"epochs": 2.5}, TypeError, r"^epochs must be an integer, got 2\.5$"),
    ({"seed": -1}, ValueError, r"^seed must be an int >= 0, got -1$"),
    ({"copy": "no"}, TypeError, r"^copy must be True or False, got 'no'$"),
    ({"progress": 1}, TypeError, r"^progress must be True or False, got 1$"),
    ({"callback": "plot"}, TypeError, r"^callback must be a function called with"),
])


def test_sgd_messages_start_with_the_argument(kwargs, error, message):
    """train.sgd: ``integer=True`` -> False (``epochs=2.5`` ran 2 epochs), and each
    argument's name in its message -> ``XXnameXX`` (a substring check passed)."""
    with pytest.raises(error, match=message):
        train.sgd(_params_mm(), (X_mm, Y_mm), lr=0.1, **{"progress": False, **kwargs})


def test_sgd_defaults_are_the_documented_ones():
    """train.sgd: ``batch_size=64, epochs=5, seed=0`` -> 65, 6, 1."""
    rng = np.random.default_rng(1)
    Xs = rng.random((130, 4)).astype(np.float32)
    ys = rng.integers(0, 2, 130)
    h = train.sgd(_params_mm(), (Xs, ys), lr=0.1, progress=False)
    assert (h.batch_size, h.epochs, h.seed, h.steps_per_epoch) == (64, 5, 0, 3)
    again = train.sgd(_params_mm(), (Xs, ys), lr=0.1, batch_size=64, epochs=5, seed=0,
                      progress=False)
    assert h.step_loss == again.step_loss


# --- the fast SGD loop against the readable reference


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_fast_sgd_equals_the_reference_including_the_partial_batch(dtype, tol, fused,
                                                                   monkeypatch):
    if fused and not _blas.available(dtype):
        pytest.skip("numpy's BLAS does not expose cblas gemm here")
    if not fused:
        monkeypatch.setattr(_blas, "available", lambda dtype: False)
    params, X, y = problem(n=45, d=12, h=8, c=4, seed=3, dtype=dtype)
    history = train.sgd(params, (X, y), lr=0.5, batch_size=16, epochs=1, seed=9,
                        progress=False)
    order = np.random.default_rng(9).permutation(len(X))
    ref_params, ref_losses = reference_sgd_steps(params, X, y, 0.5,
                                                 batches_of(order, 16))
    assert history.steps_per_epoch == 3  # 16 + 16 + 13 rows
    assert _fast_step.Trainer(params, 16).fused == fused
    assert np.allclose(history.step_loss, ref_losses, rtol=tol, atol=tol)
    for k in mlp.PARAM_NAMES:
        assert history.params[k].dtype == dtype
        assert rel_error(history.params[k], ref_params[k]) < tol, k
    # the caller's parameters were copied, not trained in place
    assert not np.array_equal(history.params["W1"], params["W1"])



def test_sgd_history_is_complete_and_reproducible():
    params, X, y = problem(n=200, d=6, h=5, c=3, seed=1, dtype=np.float32)
    Xv, yv = X[:50], y[:50]
    calls = []
    runs = [train.sgd(params, (X, y), lr=0.3, batch_size=32, epochs=3, seed=2,
                      val_data=(Xv, yv), progress=False,
                      callback=lambda h: calls.append(len(h.step_loss)))
            for _ in range(2)]
    h = runs[0]
    assert len(h.step_loss) == 3 * 7
    assert len(h.epoch_train_loss) == len(h.epoch_val_acc) == 4
    assert h.step_loss == runs[1].step_loss
    assert all(np.array_equal(h.params[k], runs[1].params[k]) for k in h.params)
    assert h.epoch_train_loss[-1] < h.epoch_train_loss[0]
    assert len(calls) == 2 * (21 + 4)
    loss0 = mlp.loss_and_grads({k: v.astype(np.float64) for k, v in params.items()},
                               X.astype(np.float64), y)[0]
    assert h.epoch_train_loss[0] == pytest.approx(loss0, rel=1e-5)
    assert h.epoch_train_acc[-1] == pytest.approx(mlp.accuracy(h.params, X, y))
    assert "val acc" in h.summary()



def test_different_seeds_give_different_orders():
    params, X, y = problem(n=64, seed=2)
    a = train.sgd(params, (X, y), lr=0.1, batch_size=8, epochs=1, seed=0,
                  progress=False)
    b = train.sgd(params, (X, y), lr=0.1, batch_size=8, epochs=1, seed=1,
                  progress=False)
    assert a.step_loss != b.step_loss



def test_divergence_stops_with_advice():
    params, X, y = problem(n=64, d=5, h=4, c=3, seed=0)
    X = X * 1e3
    with pytest.raises(DivergedError, match="smaller learning rate"):
        train.sgd(params, (X, y), lr=1e300, batch_size=8, epochs=3, progress=False)



def test_a_float32_run_that_really_diverges_is_a_diverged_error():
    params, X, y = problem(n=40, d=6, h=4, c=3, seed=0, dtype=np.float32)
    with pytest.raises(DivergedError, match="loss became nan at epoch 1"):
        train.sgd(params, (X, y), lr=1e30, batch_size=5, epochs=3, progress=False)



def test_divergence_on_the_last_step_of_an_epoch_is_a_diverged_error():
    """The step's loss (before its update) is finite, the update overflows b2.

    Before, the epoch's evaluation then raised ``ValueError: b contains ...``.
    """
    params, X, y = problem(n=12, d=5, h=4, c=3, seed=0, dtype=np.float32)
    params["b2"][:] = 3e38  # near float32's largest: shifts every logit equally
    y = np.zeros_like(y)  # one class: b2[0] += lr * (1 - 1/3) overflows
    with pytest.raises(DivergedError, match="b2 became NaN or infinite by the"
                       " end of epoch 1"):
        train.sgd(params, (X, y), lr=1e38, batch_size=12, epochs=1, progress=False)



def test_sgd_reshuffles_every_epoch():
    """Two epochs equal the reference with a fresh permutation per epoch."""
    params, X, y = problem(n=24, d=5, h=4, c=3, seed=4)
    history = train.sgd(params, (X, y), lr=0.5, batch_size=5, epochs=2, seed=3,
                        progress=False)
    rng = np.random.default_rng(3)
    ref, losses = dict(params), []
    for _ in range(2):
        ref, epoch_losses = reference_sgd_steps(
            ref, X, y, 0.5, batches_of(rng.permutation(len(X)), 5))
        losses += epoch_losses
    assert np.allclose(history.step_loss, losses, rtol=1e-10, atol=1e-12)
    for k in mlp.PARAM_NAMES:
        assert rel_error(history.params[k], ref[k]) < 1e-10, k



def test_copy_false_trains_in_place_and_copy_true_does_not():
    params, X, y = problem(n=20, seed=5)
    before = {k: v.copy() for k, v in params.items()}
    h = train.sgd(params, (X, y), lr=0.5, batch_size=4, epochs=1, progress=False)
    assert all(np.array_equal(params[k], before[k]) for k in params)
    assert all(h.params[k] is not params[k] for k in params)
    arrays = dict(params)
    h2 = train.sgd(params, (X, y), lr=0.5, batch_size=4, epochs=1, progress=False,
                   copy=False)
    assert all(h2.params[k] is arrays[k] for k in params)  # the same arrays...
    assert all(np.array_equal(params[k], h.params[k]) for k in params)  # ...trained



def test_history_repr_is_one_short_line():
    params, X, y = problem(n=2000, seed=7)
    h = train.sgd(params, (X, y), lr=0.1, batch_size=1, epochs=2, progress=False)
    assert len(h.step_loss) == 4000
    text = repr(h)
    assert "\n" not in text and len(text) < 200 and "4000 steps" in text



@pytest.mark.parametrize("kwargs, error, message", [
    ({"lr": -0.1}, ValueError, "lr must be > 0"),
    ({"lr": 0.1, "batch_size": 0}, ValueError, "batch_size must be > 0"),
    ({"lr": 0.1, "batch_size": 2.5}, TypeError, "batch_size must be an integer"),
    ({"lr": 0.1, "epochs": -1}, ValueError, "epochs must be > 0"),
    ({"lr": "fast"}, TypeError, "lr must be a number"),
])
def test_sgd_rejects_bad_options(kwargs, error, message):
    params, X, y = problem()
    with pytest.raises(error, match=message):
        train.sgd(params, (X, y), progress=False, **kwargs)



def test_sgd_rejects_bad_data():
    params, X, y = problem(dtype=np.float32)
    with pytest.raises(TypeError, match="scale the pixels"):
        train.sgd(params, ((X * 255).astype(np.uint8), y), lr=0.1, progress=False)
    with pytest.raises(TypeError, match="float64 but the parameters are float32"):
        train.sgd(params, (X.astype(np.float64), y), lr=0.1, progress=False)
    with pytest.raises(ValueError, match="label 3"):
        train.sgd(params, (X, np.full(len(X), 3)), lr=0.1, progress=False)
    with pytest.raises(ValueError, match="has 4 features"):
        train.sgd(params, (X[:, :4], y), lr=0.1, progress=False)
    with pytest.raises(ValueError, match="non-finite"):
        train.sgd(params, (np.full_like(X, np.inf), y), lr=0.1, progress=False)
    with pytest.raises(ValueError, match="params is missing"):
        train.sgd({"W1": params["W1"]}, (X, y), lr=0.1, progress=False)



def test_largest_difference_sees_weights_and_the_recorded_curves():
    rng = np.random.default_rng(0)
    X, c = rng.normal(size=(40, 6)).astype(np.float32), rng.integers(0, 3, 40)
    run = train.sgd(mlp.init_mlp(6, 5, 3, seed=0), (X, c), lr=0.1, batch_size=8,
                    epochs=2, val_data=(X[:10], c[:10]), progress=False)
    again = train.sgd(mlp.init_mlp(6, 5, 3, seed=0), (X, c), lr=0.1, batch_size=8,
                      epochs=2, val_data=(X[:10], c[:10]), progress=False)
    assert train.largest_difference(run, again) == 0.0
    # the right weights, but "validation" figures from the training set
    again.epoch_val_loss[1:] = run.epoch_train_loss[1:]
    assert train.largest_difference(run, again) == pytest.approx(
        abs(run.epoch_val_loss[1] - run.epoch_train_loss[1]))
    again.epoch_val_acc.pop()                       # a list one short
    assert train.largest_difference(run, again) == np.inf
    again = train.sgd(mlp.init_mlp(6, 5, 3, seed=0), (X, c), lr=0.1, batch_size=8,
                      epochs=2, val_data=(X[:10], c[:10]), progress=False)
    again.step_loss = again.step_loss[4::5]         # one step loss per epoch
    assert train.largest_difference(run, again) == np.inf
    again = train.sgd(mlp.init_mlp(6, 5, 3, seed=0), (X, c), lr=0.2, batch_size=8,
                      epochs=2, val_data=(X[:10], c[:10]), progress=False)
    weights = max(float(np.abs(run.params[k] - again.params[k]).max())
                  for k in run.params)
    assert train.largest_difference(run, again) >= weights > 0
