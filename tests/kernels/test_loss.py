"""The loss kernels held to the lecture IndexCrossEntropy: loss and gradient on random configurations
(class weights, ignore_index, label smoothing, every reduction, extra axes, extreme logits)."""

import numpy as np
import pytest
from helpers import assert_close

import convnp as cn
import convnp.kernels.loss as kernels
from convnp.arraymath.loss_config import CrossEntropyConfig
from convnp.ops.loss import IndexCrossEntropy, cross_entropy

TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 2e-6}


def _run(engine, x, target, g, **kw):
    cx = cn.tensor(x.copy(), requires_grad=True)
    with cn.engine(loss=engine):
        loss = cross_entropy(cx, target, **kw)
    expected = IndexCrossEntropy if engine == "reference" else kernels.IndexedCrossEntropy
    assert loss._node.function is expected
    assert isinstance(loss._node.ctx.config, CrossEntropyConfig)
    loss.backward(g)
    return loss.data, cx.grad


def _check(x, target, seed, **kw):
    g = (
        np.random.default_rng(seed)
        .standard_normal(() if kw.get("reduction", "mean") != "none" else target.shape)
        .astype(x.dtype)
    )
    (l1, d1), (l0, d0) = _run("indexed", x, target, g, **kw), _run("reference", x, target, g, **kw)
    tol = TOL[x.dtype]
    assert l1.dtype == l0.dtype == x.dtype and l1.shape == l0.shape
    np.testing.assert_array_equal(np.isnan(l1), np.isnan(l0))
    assert_close(np.nan_to_num(l1), np.nan_to_num(l0), tol, f"loss {kw}")
    assert d1.dtype == x.dtype
    np.testing.assert_array_equal(np.isnan(d1), np.isnan(d0))
    assert_close(np.nan_to_num(d1), np.nan_to_num(d0), tol, f"gradient {kw}")


@pytest.mark.parametrize("seed", range(40))
def test_indexed_cross_entropy_matches_the_lecture_on_random_configurations(seed):
    rng = np.random.default_rng(seed)
    C = int(rng.choice([1, 2, 5, 10, 37]))
    extra = tuple(int(d) for d in rng.integers(1, 4, size=rng.integers(0, 3)))
    N = int(rng.integers(1, 9))
    shape = (C,) if rng.random() < 0.1 else (N, C) + extra
    dtype = [np.float64, np.float32][seed % 2]
    scale = rng.choice([0.1, 3.0, 1e4])  # 1e4: logits that would overflow exp without the max
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    tshape = () if len(shape) == 1 else (N,) + extra
    target = rng.integers(0, C, size=tshape)
    kw = {
        "reduction": str(rng.choice(["mean", "sum", "none"])),
        "label_smoothing": float(rng.choice([0.0, 0.0, 0.1, 1.0])),
    }
    if rng.random() < 0.5:
        kw["weight"] = rng.uniform(0.1, 3.0, C)
    if rng.random() < 0.5:  # some rows ignored
        ignore = int(rng.choice([-100, 0, C + 3]))
        t = np.array(target)
        t[rng.random(tshape) < 0.3] = ignore
        target = t
        kw["ignore_index"] = ignore
    _check(x, target, seed, **kw)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_every_row_ignored(dtype, reduction):
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(dtype)
    _check(x, np.full(4, -100), 1, reduction=reduction)
    _check(x, np.full(4, -100), 2, reduction=reduction, weight=np.ones(3), label_smoothing=0.2)


@pytest.mark.parametrize("shape", [(128, 10), (128, 1000), (16, 21, 8, 8)])
def test_indexed_cross_entropy_at_benchmark_sizes(shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    target = rng.integers(0, shape[1], size=shape[:1] + shape[2:])
    _check(x, target, 0)
    _check(x, target, 1, label_smoothing=0.1, weight=rng.uniform(0.5, 2, shape[1]))


def test_select_follows_the_engine():
    x, config = np.zeros((2, 3)), CrossEntropyConfig("mean", 0.0)
    with cn.engine("reference"):
        assert kernels.select(x, config) is None
    with cn.engine("auto"):
        assert kernels.select(x, config) is kernels.IndexedCrossEntropy
    with cn.engine("reference", loss="indexed"):
        assert kernels.select(x, config) is kernels.IndexedCrossEntropy
