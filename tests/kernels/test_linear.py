"""The linear kernel held to the lecture Linear: output and every gradient, above and below
_SMALL_FLOPS (the one-thread BLAS rule) of kernels/linear.py."""

import numpy as np
import pytest
from helpers import assert_close

import convnp as cn
import convnp.kernels.linear as kernels
from convnp.autograd.function import Context
from convnp.ops.linear import Linear, linear

TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def _run(fn, x, w, b, g, needs):
    ctx = Context()
    ctx.needs_input_grad = needs
    y = fn.forward(ctx, x, w, b)
    return (y,) + tuple(fn.backward(ctx, g))


@pytest.mark.parametrize("seed", range(16))
def test_one_thread_linear_matches_the_lecture(seed):
    rng = np.random.default_rng(seed)
    dtype = [np.float64, np.float32][seed % 2]
    lead = tuple(int(d) for d in rng.integers(0 if seed == 3 else 1, 6, size=rng.integers(0, 4)))
    i, o = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    x = rng.standard_normal(lead + (i,)).astype(dtype)
    w = rng.standard_normal((o, i)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if seed % 3 else None
    g = rng.standard_normal(lead + (o,)).astype(dtype)
    needs = (bool(seed % 2), True, b is not None) if seed % 4 else (True, bool(seed % 3), b is not None)
    for ours, theirs in zip(_run(kernels.OneThreadLinear, x, w, b, g, needs), _run(Linear, x, w, b, g, needs)):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert ours.dtype == theirs.dtype == dtype and ours.shape == theirs.shape
            assert_close(ours, theirs, TOL[np.dtype(dtype)])


@pytest.mark.parametrize("small_flops", [1.0, 1e12])
def test_select_above_and_below_the_threshold(monkeypatch, small_flops):
    monkeypatch.setattr(kernels, "_SMALL_FLOPS", small_flops)
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((6, 5)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    with cn.engine("auto"):
        expected = kernels.OneThreadLinear if 2 * x.size * 4 < small_flops else None
        assert kernels.select(x, w) is expected
        cx = cn.tensor(x, requires_grad=True)
        y = linear(cx, cn.tensor(w, requires_grad=True), cn.tensor(b, requires_grad=True))
        assert y._node.function is (expected or Linear)
        assert_close(y.data, x @ w.T + b, 1e-12)
    with cn.engine("reference"):
        assert kernels.select(x, w) is None
    with cn.engine("reference", linear="one_thread"):
        assert kernels.select(x, w) is kernels.OneThreadLinear


def test_natural_threshold_sides():
    with cn.engine("auto"):
        assert (
            kernels.select(np.zeros((128, 512), np.float32), np.zeros((10, 512), np.float32)) is kernels.OneThreadLinear
        )  # 1.3e6 flops
        assert kernels.select(np.zeros((128, 4096), np.float32), np.zeros((1000, 4096), np.float32)) is None
