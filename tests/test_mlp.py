"""mlp.py: every entry point refuses the parameters forward refuses."""

import numpy as np
import pytest
from bad_input import assert_clear_error

from coursenet import mlp


def _params(**changes):
    p = mlp.init_mlp(4, 5, 3, seed=0, dtype=np.float64)
    for key, edit in changes.items():
        p[key] = edit(p[key])
    return p


def _with(value, at=(0,)):
    def edit(a):
        a = a.copy()
        a[at] = value
        return a
    return edit


X = np.random.default_rng(0).random((6, 4))
C = np.array([0, 1, 2, 0, 1, 2])
ENTRY_POINTS = {
    "forward": lambda p: mlp.forward(p, X),
    "predict": lambda p: mlp.predict(p, X),
    "evaluate": lambda p: mlp.evaluate(p, X, C),
    "accuracy": lambda p: mlp.accuracy(p, X, C),
}
BAD_PARAMS = [
    ("NaN in W1 (predict gave all zeros)", dict(W1=_with(np.nan, (0, 0))),
     ValueError, ["W1", "NaN or inf"]),
    ("+inf in b2 (evaluate gave (nan, 0.43))", dict(b2=_with(np.inf)),
     ValueError, ["b2", "NaN or inf"]),
    ("complex W1 (a ComplexWarning)", dict(W1=lambda a: a.astype(complex)),
     TypeError, ["W1", "complex"]),
    ("object b1 (numpy's own message)", dict(b1=lambda a: a.astype(object)),
     TypeError, ["b1", "object"]),
]


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("name, changes, error, words", BAD_PARAMS,
                         ids=[b[0] for b in BAD_PARAMS])
def test_bad_params_are_refused_by_every_entry_point(entry, name, changes, error,
                                                     words):
    assert_clear_error(f"{entry}: {name}", lambda: ENTRY_POINTS[entry](
        _params(**changes)), error, words)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_a_masked_X_is_refused(entry):
    masked = np.ma.masked_array(X, mask=np.zeros(X.shape, bool))
    masked.mask[0, 0] = True
    p = _params()
    with pytest.raises(TypeError, match="X .*masked"):
        {**ENTRY_POINTS, "predict": lambda p: mlp.predict(p, masked),
         "forward": lambda p: mlp.forward(p, masked),
         "evaluate": lambda p: mlp.evaluate(p, masked, C),
         "accuracy": lambda p: mlp.accuracy(p, masked, C)}[entry](p)


def test_big_endian_params_and_data_give_the_native_results():
    p = _params()
    big = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in p.items()}
    Xb = X.astype(">f8")
    np.testing.assert_array_equal(mlp.forward(big, Xb)[0], mlp.forward(p, X)[0])
    assert mlp.evaluate(big, Xb, C) == pytest.approx(mlp.evaluate(p, X, C))
    np.testing.assert_array_equal(mlp.predict(big, Xb), mlp.predict(p, X))
