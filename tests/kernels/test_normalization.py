"""The normalization kernels held to the lecture BatchNorm: output, every gradient and the running
statistics, training and eval, above and below every threshold of kernels/normalization.py."""

import numpy as np
import pytest
from helpers import assert_close

import convnp as cn
import convnp.kernels.normalization as kernels
from convnp.arraymath.norm_config import BatchNormConfig
from convnp.arraymath.parallel import workers
from convnp.ops.normalization import BatchNorm, batch_norm

TOL = {np.dtype(np.float64): 1e-11, np.dtype(np.float32): 2e-5}


def _run(fn, x, w, b, rm, rv, config, g, requires):
    """forward, backward and the running statistics of one Function, on copies of the inputs."""
    ts = [cn.tensor(a.copy(), requires_grad=r) if a is not None else None for a, r in zip((x, w, b), requires)]
    rm_, rv_ = (None if a is None else a.copy() for a in (rm, rv))
    y = fn.apply(*ts, running_mean=rm_, running_var=rv_, config=config)
    assert y._node is None or y._node.ctx.config is config  # the same named configuration
    y.backward(g)
    return y.data, [t.grad if t is not None and r else None for t, r in zip(ts, requires)], rm_, rv_


def _check(shape, training, dtype, seed, requires=(True, True, True), affine=True, stats=True):
    rng = np.random.default_rng(seed)
    C = shape[1]
    shift, scale = rng.choice([0.0, -3.0, 40.0]), rng.choice([0.05, 1.0, 3.0])
    x = (rng.standard_normal(shape) * scale + shift).astype(dtype)
    x[::3] += dtype(4 * scale)  # the mean estimate of a few samples is off
    w, b = ((rng.standard_normal(C).astype(dtype) if affine else None) for _ in range(2))
    rm = (shift + rng.standard_normal(C) * scale).astype(dtype) if stats or not training else None
    rv = (scale**2 * rng.uniform(0.5, 2.0, C)).astype(dtype) if stats or not training else None
    g = rng.standard_normal(shape).astype(dtype)
    config = BatchNormConfig(training=training, momentum=float(rng.choice([0.1, 0.3, 1.0])), eps=1e-5)
    requires = tuple(r and (i == 0 or affine) for i, r in enumerate(requires))
    requires = requires if any(requires) else (True, False, False)
    ours = _run(kernels.BlockedBatchNorm, x, w, b, rm, rv, config, g, requires)
    lecture = _run(BatchNorm, x, w, b, rm, rv, config, g, requires)
    tol = TOL[np.dtype(dtype)]
    assert ours[0].dtype == dtype and ours[0].shape == shape
    assert_close(ours[0], lecture[0], tol, "output")
    for name, a, e in zip(("input", "weight", "bias"), ours[1], lecture[1]):
        assert (a is None) == (e is None), name
        if a is not None:
            assert a.dtype == e.dtype and a.shape == e.shape
            assert_close(a, e, tol, f"{name} gradient")
    for name, a, e in zip(("running_mean", "running_var"), ours[2:], lecture[2:]):
        if a is not None:
            assert_close(a, e, tol, name)


# natural sizes: the real thresholds on either side
NATURAL = [
    (4, 3),
    (2, 3, 5),
    (3, 2, 3, 4),
    (2, 2, 2, 3, 2),
    (1, 3, 2, 3),  # far below every threshold
    (64, 16, 8, 8),  # several blocks (> _BLOCK entries), one thread, rows of C * L
    (5, 3, 257, 275),  # >= _PARALLEL_MIN entries: worker threads, rows of C * L
    (1, 2, 700, 800),  # batch of one, L >= _ROWWISE_MAX_L, a sample larger than a block
    (4099, 257),
]  # (N, C): L = 1, threads


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", NATURAL, ids=lambda s: "x".join(map(str, s)))
def test_blocked_batch_norm_matches_the_lecture(shape, training, dtype):
    _check(shape, training, dtype, seed=sum(shape) + training)


@pytest.fixture
def small_thresholds(monkeypatch):
    """Thresholds lowered so that small inputs take every path; returns the list of parallel_map calls."""
    monkeypatch.setattr(kernels, "_PARALLEL_MIN", 40)
    monkeypatch.setattr(kernels, "_BLOCK", 24)
    monkeypatch.setattr(kernels, "_ROWWISE_MAX_L", 6)
    monkeypatch.setattr(kernels, "_SHIFT_SAMPLES", 2)
    calls, real_map = [], kernels.parallel_map
    monkeypatch.setattr(kernels, "parallel_map", lambda fn, items: calls.append(1) or real_map(fn, items))
    return calls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "shape",
    [
        (7, 3, 2, 2),  # blocks of 2 samples, threads, rows of C * L (L = 4 < 6)
        (5, 2, 3, 4),  # L = 12: (C, 1) columns, one sample per block
        (1, 3, 5, 7),  # batch of one, a sample larger than a block
        (9, 1),
        (2, 4, 9),
        (3, 2, 2),
        (2, 1, 5),
    ],
)  # below _PARALLEL_MIN too
def test_blocked_batch_norm_every_path_with_small_thresholds(small_thresholds, shape, training, dtype):
    _check(shape, training, dtype, seed=[*shape, int(training)])
    if workers() > 1:  # the worker threads ran when the batch could be cut
        assert bool(small_thresholds) == (np.prod(shape) >= 40 and shape[0] > 1)


@pytest.mark.parametrize("seed", range(12))
def test_blocked_batch_norm_random_configurations(small_thresholds, seed):
    """Random shapes, dtypes, gradients wanted, affine or not, with and without running statistics."""
    rng = np.random.default_rng(seed)
    spatial = tuple(int(d) for d in rng.integers(1, 6, rng.integers(0, 3)))
    shape = (int(rng.integers(1, 9)), int(rng.integers(1, 5))) + spatial
    if np.prod(shape) // shape[1] < 2:
        shape = (shape[0] + 1,) + shape[1:]
    requires = tuple(bool(r) for r in rng.integers(0, 2, 3))
    requires = requires if any(requires) else (True, False, False)
    _check(
        shape,
        bool(rng.integers(2)),
        [np.float64, np.float32][int(rng.integers(2))],
        seed,
        requires=requires,
        affine=bool(rng.integers(2)),
        stats=bool(rng.integers(2)),
    )


def test_select_follows_the_engine():
    x, config = np.zeros((2, 3)), BatchNormConfig(True, 0.1, 1e-5)
    with cn.engine("reference"):
        assert kernels.select(x, config) is None
        y = batch_norm(cn.tensor(np.ones((2, 3)), requires_grad=True), None, None, training=True)
        assert y._node.function is BatchNorm
    with cn.engine("auto"):
        assert kernels.select(x, config) is kernels.BlockedBatchNorm
    with cn.engine("reference", norm="blocked"):
        assert kernels.select(x, config) is kernels.BlockedBatchNorm
