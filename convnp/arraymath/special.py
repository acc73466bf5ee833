"""Special functions NumPy lacks: the error function erf and its complement erfc.

    erf(x)  = 2/sqrt(pi) * integral_0^x exp(-t^2) dt          (odd, erf(+-inf) = +-1)
    erfc(x) = 1 - erf(x)                                         (computed directly, no cancellation)

The exact GELU needs them: Phi(x) = (1 + erf(x / sqrt 2)) / 2 = erfc(-x / sqrt 2) / 2.

Method: W. J. Cody's rational Chebyshev approximations (Math. Comp. 23, 1969, 631-637; the
coefficients below are the published double-precision figures of his CALERF), in three ranges
of y = |x|:

    y <= 0.46875        erf(x)  = x * P4(y^2) / Q4(y^2)
    0.46875 < y <= 4    erfc(y) = exp(-y^2) * P8(y) / Q8(y)
    y > 4               erfc(y) = exp(-y^2) / y * (1/sqrt(pi) + z * P5(z) / Q5(z)),  z = 1/y^2

then erf = 1 - erfc (no cancellation there: erf(y) > 0.49) and erf(-x) = -erf(x),
erfc(-x) = 2 - erfc(x). exp(-y^2) is taken as exp(-s^2) * exp(-(y - s)(y + s)) with s = y
rounded down to a multiple of 1/16, so that the rounding error of y*y is not magnified by the
exponential. Accuracy is about 1e-16 relative; float16/float32 inputs are computed in float64 and
cast back; integer inputs give float64.

>>> float(erf(0.5))
0.5204998778130465
"""

from __future__ import annotations

import numpy as np

_THRESH = 0.46875
_XBIG = 27.3  # erfc(x) < 2**-1074 (underflows to 0 in float64) beyond this
_INV_SQRT_PI = 5.6418958354775628695e-1

# erf on |x| <= 0.46875: x * (A4 + A0 s + ...) / (B3 + ...), s = x^2 (numerator then denominator,
# highest degree last in Horner order as in Cody's table).
_A = (
    3.16112374387056560e00,
    1.13864154151050156e02,
    3.77485237685302021e02,
    3.20937758913846947e03,
    1.85777706184603153e-1,
)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
# erfc on 0.46875 < |x| <= 4
_C = (
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
    2.15311535474403846e-8,
)
_D = (
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
# erfc on |x| > 4 (in z = 1/x^2)
_P = (
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
)
_Q = (
    2.56852019228982242e00,
    1.87295284992346047e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)


def _as_float64(x, name: str):
    """(x as float64 array, dtype to return in)."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x.astype(np.float64, copy=False), x.dtype
    if x.dtype.kind in "biu":
        return x.astype(np.float64), np.dtype(np.float64)
    raise TypeError(f"{name}: expected a real (float, integer or bool) array. Received: dtype {x.dtype}")


def _small_erf(x):
    """erf(x) for |x| <= 0.46875 (x float64 array)."""
    s = x * x
    num = _A[4] * s
    den = s
    for i in range(3):
        num = (num + _A[i]) * s
        den = (den + _B[i]) * s
    return x * (num + _A[3]) / (den + _B[3])


def _exp_neg_square(y):
    """exp(-y^2) without magnifying the rounding error of y*y."""
    s = np.trunc(y * 16.0) / 16.0
    return np.exp(-s * s) * np.exp(-(y - s) * (y + s))


def _mid_erfc(y):
    """erfc(y) for 0.46875 < y <= 4."""
    num = _C[8] * y
    den = y
    for i in range(7):
        num = (num + _C[i]) * y
        den = (den + _D[i]) * y
    return _exp_neg_square(y) * (num + _C[7]) / (den + _D[7])


def _large_erfc(y):
    """erfc(y) for 4 < y < 27.3 (subnormal results near the top of the range)."""
    z = 1.0 / (y * y)
    num = _P[5] * z
    den = z
    for i in range(4):
        num = (num + _P[i]) * z
        den = (den + _Q[i]) * z
    r = z * (num + _P[4]) / (den + _Q[4])
    return _exp_neg_square(y) * (_INV_SQRT_PI - r) / y


def _erfc_of_abs(y, out):
    """Fill out[i] = erfc(y[i]) where y[i] > 0.46875 (y = |x|, NaN-free entries only)."""
    mid = (y > _THRESH) & (y <= 4.0)
    big = (y > 4.0) & (y < _XBIG)
    out[mid] = _mid_erfc(y[mid])
    out[big] = _large_erfc(y[big])
    out[y >= _XBIG] = 0.0


def erf(x):
    """The error function, elementwise: erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt.

    Shape is kept: (2, 3) -> (2, 3). float32 in, float32 out (computed in float64); NaN stays NaN.

    >>> erf(np.array([-1.0, 0.0, 1.0])).round(12)
    array([-0.84270079,  0.        ,  0.84270079])
    """
    x, out_dtype = _as_float64(x, "erf")
    y = np.abs(x)
    out = np.empty_like(x)
    small = y <= _THRESH
    rest = ~small & ~np.isnan(x)
    tail = np.empty(int(rest.sum()))
    with np.errstate(under="ignore"):  # tiny x*x and far-tail exp underflow harmlessly
        out[small] = _small_erf(x[small])
        _erfc_of_abs(y[rest], tail)
    out[rest] = np.copysign((0.5 - tail) + 0.5, x[rest])  # erf = +-(1 - erfc(|x|))
    out[np.isnan(x)] = np.nan
    return out.astype(out_dtype, copy=False)[()]


def erfc(x):
    """The complementary error function 1 - erf(x), elementwise, accurate where erf(x) is near 1.

    erfc(10) = 2.09e-45 (1 - erf(10) would give 0). Shape and dtype as :func:`erf`.
    """
    x, out_dtype = _as_float64(x, "erfc")
    y = np.abs(x)
    out = np.empty_like(x)
    small = y <= _THRESH
    rest = ~small & ~np.isnan(x)
    tail = np.empty(int(rest.sum()))
    with np.errstate(under="ignore"):
        out[small] = 1.0 - _small_erf(x[small])
        _erfc_of_abs(y[rest], tail)
    xr = x[rest]
    tail = np.where(xr < 0, 2.0 - tail, tail)  # erfc(-y) = 2 - erfc(y)
    out[rest] = tail
    out[np.isnan(x)] = np.nan
    return out.astype(out_dtype, copy=False)[()]
