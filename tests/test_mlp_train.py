"""The batched MLP and the fast SGD loop, against finite differences and a reference."""

import numpy as np
import pytest
from reference import batches_of, reference_sgd_steps

from coursenet import _blas, _fast_step, mlp, train
from coursenet.gradcheck import compare, numerical_gradient, rel_error
from coursenet.history import DivergedError


def _problem(n=7, d=5, h=4, c=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = mlp.init_mlp(d, h, c, seed=seed, dtype=dtype)
    params["b1"] += rng.normal(size=h).astype(dtype)
    params["b2"] += rng.normal(size=c).astype(dtype)
    X = rng.normal(size=(n, d)).astype(dtype)
    y = rng.integers(0, c, size=n)
    return params, X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mlp_gradients_equal_finite_differences(seed):
    params, X, y = _problem(seed=seed)
    _, grads = mlp.loss_and_grads(params, X, y)
    for name in mlp.PARAM_NAMES:
        num = numerical_gradient(lambda _: mlp.loss_and_grads(params, X, y)[0],
                                 params[name])
        assert rel_error(grads[name], num) < 1e-7, name


def test_batch_gradients_are_the_mean_of_per_instance_gradients():
    params, X, y = _problem(n=9)
    loss, grads = mlp.loss_and_grads(params, X, y)
    singles = [mlp.loss_and_grads(params, X[i:i + 1], y[i:i + 1]) for i in range(9)]
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    for name in mlp.PARAM_NAMES:
        mean = np.mean([s[1][name] for s in singles], axis=0)
        assert np.allclose(grads[name], mean, rtol=1e-12, atol=1e-15)


def test_init_is_seeded_and_leaves_global_state_alone():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    a = mlp.init_mlp(10, 6, 3, seed=4)
    b = mlp.init_mlp(10, 6, 3, seed=4)
    c = mlp.init_mlp(10, 6, 3, seed=5)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["W1"], c["W1"])
    assert a["W1"].dtype == np.float32
    assert np.array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_fast_sgd_equals_the_reference_including_the_partial_batch(dtype, tol, fused,
                                                                   monkeypatch):
    if fused and not _blas.available(dtype):
        pytest.skip("numpy's BLAS does not expose cblas gemm here")
    if not fused:
        monkeypatch.setattr(_blas, "available", lambda dtype: False)
    params, X, y = _problem(n=45, d=12, h=8, c=4, seed=3, dtype=dtype)
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
    params, X, y = _problem(n=200, d=6, h=5, c=3, seed=1, dtype=np.float32)
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
    params, X, y = _problem(n=64, seed=2)
    a = train.sgd(params, (X, y), lr=0.1, batch_size=8, epochs=1, seed=0,
                  progress=False)
    b = train.sgd(params, (X, y), lr=0.1, batch_size=8, epochs=1, seed=1,
                  progress=False)
    assert a.step_loss != b.step_loss


def test_divergence_stops_with_advice():
    params, X, y = _problem(n=64, d=5, h=4, c=3, seed=0)
    X = X * 1e3
    with pytest.raises(DivergedError, match="smaller learning rate"):
        train.sgd(params, (X, y), lr=1e300, batch_size=8, epochs=3, progress=False)


def test_a_float32_run_that_really_diverges_is_a_diverged_error():
    params, X, y = _problem(n=40, d=6, h=4, c=3, seed=0, dtype=np.float32)
    with pytest.raises(DivergedError, match="loss became nan at epoch 1"):
        train.sgd(params, (X, y), lr=1e30, batch_size=5, epochs=3, progress=False)


def test_divergence_on_the_last_step_of_an_epoch_is_a_diverged_error():
    """The step's loss (before its update) is finite, the update overflows b2.

    Before, the epoch's evaluation then raised ``ValueError: b contains ...``.
    """
    params, X, y = _problem(n=12, d=5, h=4, c=3, seed=0, dtype=np.float32)
    params["b2"][:] = 3e38  # near float32's largest: shifts every logit equally
    y = np.zeros_like(y)  # one class: b2[0] += lr * (1 - 1/3) overflows
    with pytest.raises(DivergedError, match="b2 became NaN or infinite by the"
                       " end of epoch 1"):
        train.sgd(params, (X, y), lr=1e38, batch_size=12, epochs=1, progress=False)


def test_sgd_reshuffles_every_epoch():
    """Two epochs equal the reference with a fresh permutation per epoch."""
    params, X, y = _problem(n=24, d=5, h=4, c=3, seed=4)
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
    params, X, y = _problem(n=20, seed=5)
    before = {k: v.copy() for k, v in params.items()}
    h = train.sgd(params, (X, y), lr=0.5, batch_size=4, epochs=1, progress=False)
    assert all(np.array_equal(params[k], before[k]) for k in params)
    assert all(h.params[k] is not params[k] for k in params)
    arrays = dict(params)
    h2 = train.sgd(params, (X, y), lr=0.5, batch_size=4, epochs=1, progress=False,
                   copy=False)
    assert all(h2.params[k] is arrays[k] for k in params)  # the same arrays...
    assert all(np.array_equal(params[k], h.params[k]) for k in params)  # ...trained


def test_evaluation_and_prediction_over_several_chunks():
    """More than EVAL_CHUNK rows, against one unchunked pass computed directly."""
    params, _, _ = _problem(d=5, h=4, c=3, seed=6)
    rng = np.random.default_rng(6)
    n = mlp.EVAL_CHUNK + 1000
    X = rng.normal(size=(n, 5)) * 3
    y = rng.integers(0, 3, n)
    W1, b1, W2, b2 = (params[k] for k in mlp.PARAM_NAMES)
    logits = (1 / (1 + np.exp(-(X @ W1 + b1)))) @ W2 + b2
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    loss = -logp[np.arange(n), y].mean()
    pred = logits.argmax(1)
    assert (pred == y).mean() not in (0.0, 1.0)
    for chunk in (mlp.EVAL_CHUNK, 1000, 3):
        assert np.array_equal(mlp.predict(params, X, batch_size=chunk), pred)
        got_loss, got_acc = mlp.evaluate(params, X, y, batch_size=chunk)
        assert got_loss == pytest.approx(loss, rel=1e-12)
        assert got_acc == (pred == y).mean()
    assert mlp.predict(params, X).dtype == np.int64


def test_history_repr_is_one_short_line():
    params, X, y = _problem(n=2000, seed=7)
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
    params, X, y = _problem()
    with pytest.raises(error, match=message):
        train.sgd(params, (X, y), progress=False, **kwargs)


def test_sgd_rejects_bad_data():
    params, X, y = _problem(dtype=np.float32)
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


def test_compare_prints_one_line(capsys):
    result = compare("dW", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and line.startswith("✓ dW ")
    assert "exact" not in line  # a last-bit difference must not read as a failure
    assert "max abs diff: 1.0e-09" in line and "rel error: 2.2e-10" in line
    assert result.approx and not result.exact
    assert result.max_abs_diff == pytest.approx(1e-9, rel=1e-3)


def test_compare_marks_a_disagreement_with_a_cross(capsys):
    result = compare("db", [[1.0, 2.0]], [[1.0, 2.5]])  # nested lists, a real bug
    line = capsys.readouterr().out.strip()
    assert line.startswith("✗ db ") and "max abs diff: 5.0e-01" in line
    assert not result.approx
    assert result.rel_error == pytest.approx(0.5 / (5**0.5 + 7.25**0.5))
    assert compare("db", [1.0], [1.0], show=False).exact
    assert capsys.readouterr().out == ""


def test_rel_error_floor_and_shape_check():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    expected = 1e-3 / (1 + np.hypot(1, 1e-3))  # ||a - b|| / (||a|| + ||b||)
    assert rel_error([1.0, 0.0], [1.0, 1e-3]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="cannot compare"):
        rel_error(np.zeros(2), np.zeros(3))
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda z: 0.0, np.zeros(2, dtype=np.float32))


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


def test_trainer_rechecks_the_layout_on_every_step():
    """The Trainer decides 'fused' at construction; W1 replaced afterwards by a
    Fortran-ordered array still gets the right update (add_AtB falls back)."""
    params, X, y = _problem(n=16, d=5, h=4, c=3, seed=8)
    trainer = _fast_step.Trainer({k: v.copy() for k, v in params.items()}, 8)
    trainer.params["W1"] = np.asfortranarray(trainer.params["W1"])
    order = np.arange(16)
    for s in (0, 8):
        trainer.step(X, y, order[s:s + 8], 0.5)
    ref, _ = reference_sgd_steps(params, X, y, 0.5, batches_of(order, 8))
    for k in mlp.PARAM_NAMES:
        assert rel_error(trainer.params[k], ref[k]) < 1e-10, k


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
