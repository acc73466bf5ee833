"""erf / erfc (convnp.arraymath.special) against scipy.special and, in the far tail, mpmath."""

import mpmath
import numpy as np
import pytest
import scipy.special as sp

from convnp.arraymath.special import erf, erfc


def _rel_err(actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return np.abs(actual - expected) / np.abs(expected)


def _wide_grid():
    rng = np.random.default_rng(7)
    tiny = np.geomspace(1e-300, 1e-3, 2000)
    ordinary = np.geomspace(1e-3, 30.0, 20000)
    edges = np.array([0.46875, 4.0, 26.543, 27.3])
    edges = np.concatenate([edges, np.nextafter(edges, 0), np.nextafter(edges, 100)])
    random = rng.uniform(-30, 30, 20000)
    pos = np.concatenate([tiny, ordinary, edges, np.linspace(0.0, 30.0, 30001)[1:], [5e-324, 2.2e-308]])
    return np.concatenate([pos, -pos, random])


@pytest.mark.filterwarnings("error")
def test_erf_matches_scipy_to_double_precision():
    x = _wide_grid()
    with np.errstate(all="raise"):  # no underflow/overflow/invalid anywhere
        got = erf(x)
    assert got.dtype == np.float64 and got.shape == x.shape
    err = _rel_err(got, sp.erf(x))
    assert err.max() < 1e-14, f"worst relative error {err.max():.3e} at x={x[err.argmax()]!r}"


def test_erf_tiny_values_are_linear():
    # erf(x) = 2x/sqrt(pi) (1 - x^2/3 + ...): exact to double precision for |x| < 1e-8
    x = np.array([1e-300, 1e-200, 1e-100, 1e-20, 1e-9, -1e-300, -1e-9, 5e-324])
    expected = 2 / np.sqrt(np.pi) * x
    fin = x != 5e-324
    assert _rel_err(erf(x)[fin], expected[fin]).max() < 1e-15
    assert erf(5e-324) >= 0


def test_erf_odd_and_limits():
    x = np.linspace(0, 30, 5001)
    np.testing.assert_array_equal(erf(-x), -erf(x))
    out = erf(np.array([0.0, -0.0, np.inf, -np.inf, 6.0, -6.0, 30.0, 1e300]))
    np.testing.assert_array_equal(out, [0.0, -0.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0])
    assert np.signbit(out[1])  # erf(-0) = -0
    assert np.isnan(erf(np.array([np.nan, 1.0]))).tolist() == [True, False]
    assert erf(np.array([1.0]))[0] < 1.0 and erf(np.array([5.0]))[0] < 1.0


@pytest.mark.filterwarnings("error")
def test_erfc_matches_scipy_and_mpmath():
    x = _wide_grid()
    with np.errstate(all="raise"):
        got = erfc(x)
    expected = sp.erfc(x)
    normal = expected > 1e-300  # subnormal results carry fewer digits
    err = _rel_err(got[normal], expected[normal])
    # scipy itself is only good to a few 1e-15 in the far tail (checked against mpmath below)
    assert err.max() < 2e-13, f"worst relative error {err.max():.3e} at x={x[normal][err.argmax()]!r}"
    assert np.all(got[~normal] < 1e-290) and np.all(got >= 0)
    mpmath.mp.dps = 40
    for v in [-3.0, -0.3, 0.1, 0.46875, 0.5, 1.7, 3.99, 4.01, 7.5, 10.3, 15.7, 20.1, 23.4, 26.0]:
        exact = float(mpmath.erfc(v))
        assert abs(float(erfc(v)) - exact) <= 1e-15 * exact, v


def test_erfc_far_tail_underflows_to_zero_and_negative_side_to_two():
    out = erfc(np.array([27.5, 40.0, np.inf, -27.5, -np.inf, -6.0]))
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0, 2.0, 2.0, 2.0])
    assert 0.0 < erfc(26.9) < 1e-300  # subnormal, not flushed


def test_float32_is_computed_in_float64_and_cast_back():
    x = np.linspace(-6, 6, 4001).astype(np.float32)
    for fn, ref in ((erf, sp.erf), (erfc, sp.erfc)):
        got = fn(x)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, ref(x.astype(np.float64)).astype(np.float32))


def test_shapes_scalars_and_integer_input():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    assert erf(x).shape == (2, 3, 4) and erfc(x).shape == (2, 3, 4)
    assert np.isscalar(erf(0.5)) and erf(0.5) == pytest.approx(sp.erf(0.5), rel=1e-15)
    ints = erf(np.array([-2, 0, 3]))
    assert ints.dtype == np.float64
    np.testing.assert_allclose(ints, sp.erf([-2.0, 0.0, 3.0]), rtol=1e-15)
    assert erf(np.zeros((0, 3))).shape == (0, 3)


@pytest.mark.parametrize("fn, name", [(erf, "erf"), (erfc, "erfc")])
def test_non_real_input_is_rejected(fn, name):
    with pytest.raises(
        TypeError,
        match=rf"^{name}: expected a real \(float, integer or bool\) array\. "
        r"Received: dtype complex128",
    ):
        fn(np.array([1 + 1j]))
    with pytest.raises(TypeError, match=rf"^{name}: expected a real .*Received: dtype <U3"):
        fn("abc")
