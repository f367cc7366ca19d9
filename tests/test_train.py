"""train.py: parameters and settings sgd and sgd_step must refuse or honour."""

from fractions import Fraction

import numpy as np
import pytest

from coursenet import mlp, train

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
