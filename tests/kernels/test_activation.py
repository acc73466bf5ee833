"""The activation kernels held to the lecture Relu: bit for bit (values, sign of zero, NaN), forward,
gradient and guided-backprop mask, above and below every threshold of kernels/activation.py."""

import numpy as np
import pytest

import convnp as cn
import convnp.kernels.activation as kernels
from convnp.arraymath.parallel import workers
from convnp.autograd.function import Context
from convnp.ops.activation import Relu, relu

DTYPES = [np.float64, np.float32, np.float16]


def _inputs(rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    specials = np.array([np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45], dtype)
    idx = rng.choice(flat.size, size=min(flat.size, 64), replace=False)
    flat[idx] = np.resize(specials, idx.size)
    return x


def _upstream(rng, shape, dtype):
    g = rng.standard_normal(shape).astype(dtype)
    if g.size:
        g.reshape(-1)[: min(g.size, 6)] = [np.inf, -np.inf, np.nan, np.inf, np.nan, -np.inf][: min(g.size, 6)]
    return g


def _same_bits(ours, theirs, sign_of_zero=True):
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    np.testing.assert_array_equal(ours[ok], theirs[ok])
    if sign_of_zero:
        np.testing.assert_array_equal(np.signbit(ours[ok]), np.signbit(theirs[ok]))


def _run(fn, x, g, needs=(True,)):
    ctx = Context()
    ctx.needs_input_grad = needs
    y = np.asarray(fn.forward(ctx, x))
    return y, np.asarray(fn.backward(ctx, g)), fn.pass_mask(ctx)


def _check_against_lecture(x, g):
    y0, dx0, mask0 = _run(Relu, x, g)
    for needs in ((True,), (False,)):  # with the int8 mask, and rebuilt from y
        y1, dx1, mask1 = _run(kernels.BitmaskRelu, x, g, needs)
        sign = x.dtype != np.float16  # NumPy's float16 maximum: relu(-0.0) = +0.0
        _same_bits(y1, y0, sign)
        _same_bits(dx1, dx0)
        np.testing.assert_array_equal(mask1, mask0)
        assert mask1.dtype == np.bool_


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape",
    [
        (),
        (1,),
        (7,),
        (3, 5),
        (1, 3, 5, 7),  # one thread, under one row block
        (2, 3, 150, 151),  # one thread, a row block and a tail
        (5, 3, 257, 275),
    ],
)  # >= _PARALLEL_MIN: worker threads
def test_bitmask_relu_matches_the_lecture_relu_at_natural_sizes(shape, dtype):
    rng = np.random.default_rng(len(shape) + sum(shape))
    _check_against_lecture(_inputs(rng, shape, dtype), _upstream(rng, shape, dtype))


@pytest.mark.parametrize("seed", range(6))
def test_bitmask_relu_above_and_below_lowered_thresholds(monkeypatch, seed):
    """The worker-thread split (_PARALLEL_MIN) and the zero-block rows (_ROW) at small sizes."""
    monkeypatch.setattr(kernels, "_PARALLEL_MIN", 64)
    monkeypatch.setattr(kernels, "_ROW", 16)
    calls = []
    real_map = kernels.parallel_map
    monkeypatch.setattr(kernels, "parallel_map", lambda fn, items: calls.append(1) or real_map(fn, items))
    rng = np.random.default_rng(seed)
    shapes = [tuple(int(d) for d in rng.integers(1, 9, size=rng.integers(1, 5))) for _ in range(4)]
    shapes += [(4, 3, 5, 7), (9, 17), (2, 8), (3, 1, 1, 5)]  # >= 64 entries and < 64, tails of 16
    for shape in shapes:
        dtype = DTYPES[int(rng.integers(len(DTYPES)))]
        _check_against_lecture(_inputs(rng, shape, dtype), _upstream(rng, shape, dtype))
    if workers() > 1:
        assert calls  # the threshold was crossed: the split ran


def test_bitmask_relu_of_non_contiguous_input_and_gradient():
    rng = np.random.default_rng(3)
    base = _inputs(rng, (6, 40, 30), np.float32)
    for x in (base.transpose(2, 0, 1), base[:, ::3, 1::2]):
        g = _upstream(rng, x.shape[::-1], np.float32).T  # a non-contiguous upstream gradient too
        _check_against_lecture(x, g)


def test_bitmask_relu_long_double_keeps_the_output_instead_of_a_mask():
    x = np.array([-1.5, 0.0, -0.0, 2.5, np.nan, -np.inf], np.longdouble)
    g = np.array([1.0, np.inf, np.nan, 4.0, 5.0, np.nan], np.longdouble)
    ctx = Context()
    ctx.needs_input_grad = (True,)
    kernels.BitmaskRelu.forward(ctx, x)
    assert not hasattr(ctx, "ones")
    _check_against_lecture(x, g)


def test_select_follows_the_engine():
    x = np.zeros((2, 3))
    with cn.engine("reference"):
        assert kernels.select(x) is None
        assert relu(cn.tensor(x, requires_grad=True))._node.function is Relu
    with cn.engine("auto"):
        assert kernels.select(x) is kernels.BitmaskRelu
        assert relu(cn.tensor(x, requires_grad=True))._node.function is kernels.BitmaskRelu
    with cn.engine("reference", activation="bitmask"):
        assert kernels.select(x) is kernels.BitmaskRelu
