"""The batched MLP and the fast SGD loop, against finite differences and a reference."""

import numpy as np
import pytest

from coursenet import _blas, mlp, train
from coursenet.gradcheck import compare, numerical_gradient, rel_error


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


def _reference_sgd_steps(params, X, y, lr, batch_size, order):
    """The straightforward implementation: mlp.loss_and_grads, then p -= lr * g."""
    params = {k: v.astype(np.float64) for k, v in params.items()}
    losses = []
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        loss, grads = mlp.loss_and_grads(params, X[idx].astype(np.float64), y[idx])
        losses.append(loss)
        for k in params:
            params[k] -= lr * grads[k]
    return params, losses


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
    ref_params, ref_losses = _reference_sgd_steps(params, X, y, 0.5, 16, order)
    assert history.steps_per_epoch == 3  # 16 + 16 + 13 rows
    assert train.Trainer(params, 16).fused == fused
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
    with pytest.raises(train.DivergedError, match="smaller learning rate"):
        train.sgd(params, (X, y), lr=1e300, batch_size=8, epochs=3, progress=False)


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
