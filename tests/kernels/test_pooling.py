"""The max pooling kernels held to the lecture MaxPoolNd: outputs (bit for bit, NaN and the sign of
zero included), PyTorch's indices and gradients, on randomised configurations above and below every
threshold of kernels/pooling.py (monkeypatched where the natural sizes would be too large); the
selector under every engine; and the separable and tiled kernels against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import POOL_WINDOW_CASES as SEPARABLE_CASES
from helpers import compare_with_torch

import convnp as cn
import convnp.kernels.pooling as kp
from convnp.arraymath.parallel import set_num_workers
from convnp.ops.pooling import MaxPoolNd, _max_pool_config, max_pool1d, max_pool2d, max_pool3d

MAX = {1: (max_pool1d, F.max_pool1d), 2: (max_pool2d, F.max_pool2d), 3: (max_pool3d, F.max_pool3d)}
DTYPES = dict(argvalues=[np.float64, np.float32], ids=["f64", "f32"])


@pytest.fixture(autouse=True)
def auto_engine():
    """These tests choose their engine (the run may be --engine reference)."""
    with cn.engine("auto"):
        yield


def distinct(shape, seed=0, spacing=0.25):
    """Tie-free input: a random permutation of distinct values `spacing` apart (exact in float32)."""
    size = int(np.prod(shape))
    perm = np.random.default_rng(seed).permutation(size).astype(np.float64)
    return ((perm - size / 2) * spacing).reshape(shape)


# ============================================================================================
# Kernel against lecture: randomised configurations
# ============================================================================================


def random_config(seed: int, nd: int) -> tuple[tuple[int, ...], dict]:
    """(input shape, max_pool keywords): overlapping windows, strides that do not divide, padding
    with ceil_mode, dilation, batch of one, unbatched; every window holds a real pixel."""
    r = np.random.default_rng(70_000 + 1000 * nd + seed)
    while True:
        kernel = tuple(int(v) for v in r.integers(1, 5 if nd < 3 else 4, nd))
        dilation = tuple(int(v) for v in r.choice([1, 1, 2, 3], nd))
        padding = tuple(int(r.integers(0, k // 2 + 1)) for k in kernel)
        stride = tuple(int(v) for v in r.integers(1, 4, nd))
        ceil_mode = bool(r.random() < 0.5)
        low = [max(1, d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dilation, padding)]
        spatial = tuple(v + int(r.integers(0, 7 if nd < 3 else 4)) for v in low)
        touch = True
        for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation):
            room = n + 2 * p - d * (k - 1) - 1
            out = (-(-room // s) if ceil_mode else room // s) + 1
            out -= ceil_mode and (out - 1) * s >= n + p
            touch &= all(any(0 <= i * s - p + a * d < n for a in range(k)) for i in range(out))
        if touch:
            break
    batch = [int(r.integers(1, 4)), int(r.integers(1, 4))]
    if r.random() < 0.2:
        batch[0] = 1  # batch of one
    shape = (batch[1], *spatial) if r.random() < 0.15 else (*batch, *spatial)
    kw = dict(
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        return_indices=bool(r.random() < 0.6),
    )
    return shape, kw


def make_input(kind: str, shape, seed: int, dtype) -> np.ndarray:
    """'distinct' (no ties), 'ties' (0, 1, 2 and both zeros), 'special' (ties, -inf blocks, NaN)."""
    r = np.random.default_rng(seed)
    if kind == "distinct":
        return distinct(shape, seed).astype(dtype)
    x = r.integers(0, 3, shape).astype(dtype)
    x[x == 0] = np.where(r.random(int((x == 0).sum())) < 0.5, -0.0, 0.0)
    if kind == "special":
        flat = x.reshape(-1)
        start = int(r.integers(0, flat.size))
        flat[start : start + int(r.integers(1, 8))] = -np.inf
        if r.random() < 0.5:
            flat[r.integers(0, flat.size, 2)] = np.nan
    return x


def _config(shape, kw):
    nd = len(kw["kernel_size"]) if isinstance(kw["kernel_size"], tuple) else len(shape) - 2
    return _max_pool_config(
        f"max_pool{nd}d",
        nd,
        tuple(shape),
        kw["kernel_size"],
        kw.get("stride"),
        kw.get("padding", 0),
        kw.get("dilation", 1),
        kw.get("ceil_mode", False),
        kw.get("return_indices", False),
    )


def run(fn, x, config, grad=True, seed=0):
    """fn.apply on x: (y, indices or None, dL/dx or None) with an integer-valued upstream gradient
    (sums of overlapping windows are then exact in any order); checks ctx.config."""
    t = cn.tensor(x, requires_grad=grad)
    out = fn.apply(t, config=config)
    y, idx = out if config.return_indices else (out, None)
    dx = None
    if grad:
        assert y._node.function is fn and y._node.ctx.config is config
        upstream = np.random.default_rng(seed).integers(1, 9, y.shape).astype(x.dtype)
        y.backward(upstream)
        dx = t.grad
    return y.data, (None if idx is None else idx.data), dx


def same_bits(ours, theirs):
    """Equal arrays: values, dtype, NaN positions and the sign of zero."""
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


def check_separable(x, config, grad=True):
    """The separable kernel against the lecture; True if it ran, False if it declined (then the
    lecture's answer has a NaN, or a -inf next to padding, as the kernel's rule says)."""
    y0, idx0, dx0 = run(MaxPoolNd, x, config, grad)
    try:
        y1, idx1, dx1 = run(kp.SeparableMaxPool, x, config, grad)
    except kp.Declined:
        assert np.isnan(y0).any() or (config.padded and np.isneginf(y0).any())
        return False
    same_bits(y1, y0)
    if config.return_indices:
        assert idx1.dtype == np.int64
        np.testing.assert_array_equal(idx1, idx0)
    if grad:
        same_bits(dx1, dx0)
    return True


CASES = [(nd, s) for nd in (1, 2, 3) for s in range({1: 12, 2: 20, 3: 8}[nd])]


@pytest.mark.parametrize("kind", ["distinct", "ties", "special"])
@pytest.mark.parametrize("nd,seed", CASES)
def test_separable_matches_the_lecture(nd, seed, kind):
    shape, kw = random_config(seed, nd)
    for dtype in (np.float64, np.float32):
        x = make_input(kind, shape, seed, dtype)
        config = _config(shape, kw)
        ran = check_separable(x, config)
        assert ran or kind == "special"
        check_separable(x, config, grad=False)


def test_random_configs_cover_the_awkward_cases():
    cfgs = [random_config(s, nd) for nd, s in CASES]
    assert any(any(s < k for s, k in zip(kw["stride"], kw["kernel_size"])) for _, kw in cfgs)  # overlapping
    assert any(kw["ceil_mode"] and any(kw["padding"]) for _, kw in cfgs)  # ceil + padding
    assert any(any(d > 1 for d in kw["dilation"]) for _, kw in cfgs)  # dilation
    assert any(len(shape) == len(kw["kernel_size"]) + 2 and shape[0] == 1 for shape, kw in cfgs)  # batch of one
    assert any(len(shape) == len(kw["kernel_size"]) + 1 for shape, kw in cfgs)  # unbatched
    assert any(_config(shape, kw).padded and not any(kw["padding"]) for shape, kw in cfgs)  # ceil overhang
    outcomes = set()
    for nd, seed in CASES:  # "special" reaches both outcomes
        shape, kw = random_config(seed, nd)
        outcomes.add(check_separable(make_input("special", shape, seed, np.float64), _config(shape, kw)))
    assert outcomes == {True, False}


@pytest.mark.parametrize("kind", ["ties", "special"])
@pytest.mark.parametrize("nd,seed", CASES[::3])
def test_tiled_matches_the_lecture(nd, seed, kind):
    """Inference on windows that tile the input: any size when forced (the threshold is auto's)."""
    shape, _ = random_config(seed, nd)
    kernel = tuple(int(v) for v in np.random.default_rng(seed).integers(1, 4, nd))
    kw = dict(kernel_size=kernel, stride=kernel)
    shape = shape[:-nd] + tuple(max(n, k) for n, k in zip(shape[-nd:], kernel))
    config = _config(shape, kw)
    assert not config.padded  # floor mode never overhangs
    for dtype in (np.float64, np.float32):
        x = make_input(kind, shape, seed, dtype)
        assert kp.TiledMaxPool.applies(config, needs_grad=False)
        y0, _, _ = run(MaxPoolNd, x, config, grad=False)
        y1, _, _ = run(kp.TiledMaxPool, x, config, grad=False)
        same_bits(y1, y0)


# ============================================================================================
# Each threshold, both sides
# ============================================================================================

THRESHOLD_CASES = [
    ((3, 5, 9, 8), dict(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True, return_indices=True)),
    ((2, 7, 10, 10), dict(kernel_size=(2, 2), stride=(2, 2))),
    ((1, 9, 4, 5, 4), dict(kernel_size=(2, 2, 2), stride=(1, 2, 2), dilation=(2, 1, 1), return_indices=True)),
    ((4, 33), dict(kernel_size=(4,), stride=(3,), padding=(2,), ceil_mode=True)),
]


@pytest.mark.parametrize("kind", ["ties", "distinct"])
@pytest.mark.parametrize("chunk", [1, 150, 400, None])
def test_separable_pieces_and_threads(chunk, kind, monkeypatch):
    """Above _PARALLEL_MIN (forced to 1) the planes run on two threads in pieces of _PIECE_BYTES
    (1 to a few planes, the last one shorter); below it (None: the defaults) in one piece."""
    set_num_workers(2)
    try:
        if chunk is not None:
            monkeypatch.setattr(kp, "_PARALLEL_MIN", 1)
            monkeypatch.setattr(kp, "_PIECE_BYTES", 8 * chunk)
        for i, (shape, kw) in enumerate(THRESHOLD_CASES):
            config = _config(shape, kw)
            planes = int(np.prod(config.input_shape[:2]))
            jobs = kp._jobs(planes, int(np.prod(config.input_shape[2:])), 8)
            assert (len(jobs) == 2) == (chunk is not None and planes > 1)
            for dtype in (np.float64, np.float32):
                assert check_separable(make_input(kind, shape, i, dtype), config)
    finally:
        set_num_workers(None)


@pytest.mark.parametrize("limit", [0, 1 << 40])
def test_separable_scratch_fresh_or_reused(limit, monkeypatch):
    """Below _SCRATCH_MIN_BYTES scratch is allocated afresh, above it reused between calls: the
    same numbers either way, twice in a row (a reused buffer's old contents never leak)."""
    monkeypatch.setattr(kp, "_SCRATCH_MIN_BYTES", limit)
    for _ in range(2):
        for i, (shape, kw) in enumerate(THRESHOLD_CASES):
            assert check_separable(make_input("ties", shape, 30 + i, np.float32), _config(shape, kw))


def test_separable_kernel_length_limit(monkeypatch):
    """Kernels up to _MAX_SEPARABLE_KERNEL taps per axis (uint8 switches) take the separable kernel,
    longer ones the lecture; at the natural limit too (255 applies, 256 does not)."""
    x = make_input("ties", (1, 2, 300), 31, np.float64)
    for k, applies in [(255, True), (256, False)]:
        config = _config(x.shape, dict(kernel_size=(k,), stride=(3,), return_indices=True))
        assert kp.SeparableMaxPool.applies(config) is applies
        assert (kp.select(config, needs_grad=True) is kp.SeparableMaxPool) is applies
        if applies:
            assert check_separable(x, config)
    monkeypatch.setattr(kp, "_MAX_SEPARABLE_KERNEL", 2)
    shape = (2, 3, 9, 8)
    x = make_input("ties", shape, 32, np.float64)
    for kernel, applies in [((2, 2), True), ((2, 3), False), ((3, 3), False)]:
        config = _config(shape, dict(kernel_size=kernel, stride=(1, 2), padding=(1, 1), return_indices=True))
        assert (kp.select(config, needs_grad=True) is kp.SeparableMaxPool) is applies
        with cn.engine(pool="separable"):
            assert (kp.select(config, needs_grad=True) is kp.SeparableMaxPool) is applies
        y, idx = max_pool2d(cn.tensor(x), kernel, stride=(1, 2), padding=1, return_indices=True)
        y0, idx0, _ = run(MaxPoolNd, x, config, grad=False)
        same_bits(y.data, y0)
        np.testing.assert_array_equal(idx.data, idx0)


@pytest.mark.parametrize("kind", ["ties", "special"])
def test_tiled_threshold(kind, monkeypatch):
    """At most _TILED_MAX input elements: inference takes the tiled kernel; above it the separable
    one (forced both ways with the threshold); the same numbers as the lecture every time."""
    shape = (2, 3, 12, 10)
    config = _config(shape, dict(kernel_size=(2, 2)))
    x = make_input(kind, shape, 33, np.float32)
    y0, _, _ = run(MaxPoolNd, x, config, grad=False)
    for limit, chosen in [(x.size, kp.TiledMaxPool), (x.size - 1, kp.SeparableMaxPool)]:
        monkeypatch.setattr(kp, "_TILED_MAX", limit)
        assert kp.select(config, needs_grad=False) is chosen
        assert kp.select(config, needs_grad=True) is kp.SeparableMaxPool  # a backward needs switches
        with cn.no_grad():
            y = max_pool2d(cn.tensor(x), 2)
        same_bits(y.data, y0)


def test_select_under_every_engine():
    tiling = _config((1, 2, 8, 8), dict(kernel_size=(2, 2)))
    overlapping = _config((1, 2, 8, 8), dict(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1)))
    long = _config((1, 2, 300), dict(kernel_size=(260,), stride=(3,)))
    expected = {
        "reference": [None, None, None, None],
        "auto": [kp.TiledMaxPool, kp.SeparableMaxPool, kp.SeparableMaxPool, None],
        "separable": [kp.SeparableMaxPool, kp.SeparableMaxPool, kp.SeparableMaxPool, None],
        "tiled": [kp.TiledMaxPool, None, None, None],
    }
    for name, kernels in expected.items():
        with cn.engine(pool=name):
            got = [
                kp.select(tiling, needs_grad=False),
                kp.select(tiling, needs_grad=True),
                kp.select(overlapping, needs_grad=False),
                kp.select(long, needs_grad=False),
            ]
        assert got == kernels, name
    tiled_indices = _config((1, 2, 8, 8), dict(kernel_size=(2, 2), return_indices=True))
    with cn.engine(pool="tiled"):
        assert kp.select(tiled_indices, needs_grad=False) is None


@pytest.mark.parametrize("name", ["auto", "separable", "tiled", "reference"])
def test_every_engine_gives_the_lecture_numbers(name):
    """The public max_pool under each engine: the kernels where they apply, the lecture elsewhere
    (NaN, -inf windows next to padding, a gradient for "tiled"), the same bits throughout."""
    for nd, seed in CASES[::2]:
        shape, kw = random_config(seed, nd)
        config = _config(shape, kw)
        x = make_input("special", shape, seed, np.float64)
        y0, idx0, dx0 = run(MaxPoolNd, x, config)
        with cn.engine(pool=name):
            t = cn.tensor(x, requires_grad=True)
            out = MAX[nd][0](t, **kw)
            y, idx = out if kw["return_indices"] else (out, None)
            y.backward(np.random.default_rng(0).integers(1, 9, y.shape).astype(x.dtype))
        same_bits(y.data, y0)
        same_bits(t.grad, dx0)
        if idx is not None:
            np.testing.assert_array_equal(idx.data, idx0)


def test_declined_leaves_no_trace():
    """The separable kernel declines after computing (a NaN): the call then records the lecture's
    node, whose backward runs, and nothing of the kernel's."""
    x = distinct((2, 2, 6, 6), seed=34)
    x[0, 0, 1, 1] = np.nan
    t = cn.tensor(x, requires_grad=True)
    y = max_pool2d(t, 2)
    assert y._node.function is MaxPoolNd
    y.sum().backward()
    assert t.grad[0, 0, 1, 1] == 1 and t.grad.sum() == y.data.size
    t2 = cn.tensor(distinct((2, 2, 6, 6), seed=34), requires_grad=True)
    assert max_pool2d(t2, 2)._node.function is kp.SeparableMaxPool


def test_tiled_has_no_backward():
    with pytest.raises(RuntimeError, match="no backward.*Received: a gradient"):
        kp.TiledMaxPool.backward(None, np.ones(1))


# ============================================================================================
# The separable kernel against PyTorch: one axis at a time, uint8 switches, pieces on threads
# ============================================================================================


@pytest.fixture
def separable_calls(monkeypatch):
    """Records whether each max pooling call was finished by the separable kernel (True) or handed
    to the lecture (False: it declined)."""
    calls = []
    inner = kp._max_pool_separable

    def spy(*args, **kwargs):
        try:
            out = inner(*args, **kwargs)
        except kp.Declined:
            calls.append(False)
            raise
        calls.append(True)
        return out

    monkeypatch.setattr(kp, "_max_pool_separable", spy)
    return calls


@pytest.fixture
def pieces(monkeypatch):
    """Small inputs cut into many uneven pieces on two worker threads: set(float64 elements per piece)."""
    set_num_workers(2)

    def setting(chunk):
        monkeypatch.setattr(kp, "_PARALLEL_MIN", 1)
        monkeypatch.setattr(kp, "_PIECE_BYTES", 8 * chunk)

    yield setting
    set_num_workers(None)


@pytest.mark.parametrize("dtype", **DTYPES)
@pytest.mark.parametrize("name", list(SEPARABLE_CASES))
def test_separable_matches_torch(name, dtype, separable_calls):
    nd, shape, kw = SEPARABLE_CASES[name]
    ours, theirs = MAX[nd]
    kw = dict(kw, return_indices=True)
    compare_with_torch(
        lambda t: ours(t, **kw), lambda t: theirs(t, **kw), [distinct(shape, seed=18)], dtype=dtype, what=name
    )
    assert separable_calls == [True]


@pytest.mark.parametrize("name", list(SEPARABLE_CASES))
def test_separable_ties_across_overlapping_windows(name, separable_calls):
    """Repeated maxima, also on the pixels two overlapping windows share: every window takes its
    FIRST maximum in scan order, and a pixel chosen by several windows sums their gradients."""
    nd, shape, kw = SEPARABLE_CASES[name]
    ours, theirs = MAX[nd]
    x = np.random.default_rng(19).integers(0, 3, shape).astype(np.float64)
    a, t = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, idx = ours(a, return_indices=True, **kw)
    yt, idxt = theirs(t, return_indices=True, **kw)
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    np.testing.assert_array_equal(idx.data, idxt.numpy())
    upstream = np.arange(y.data.size, dtype=np.float64).reshape(y.shape) + 1  # distinct per output
    y.backward(upstream)
    yt.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(a.grad, t.grad.numpy())
    assert separable_calls == [True]


def test_separable_tie_rule_by_hand():
    """3x3 windows, stride 2, on a constant 5x5 map: each window's top-left pixel wins, and the
    centre pixel (2, 2), shared by all four windows, is the first pixel of the last one only."""
    a = cn.tensor(np.ones((1, 1, 5, 5)), requires_grad=True)
    y, idx = max_pool2d(a, 3, stride=2, return_indices=True)
    np.testing.assert_array_equal(idx.data[0, 0], [[0, 2], [10, 12]])
    y.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    expected = np.zeros((5, 5))
    expected[0, 0], expected[0, 2], expected[2, 0], expected[2, 2] = 1, 2, 3, 4
    np.testing.assert_array_equal(a.grad[0, 0], expected)


@pytest.mark.parametrize("dtype", **DTYPES)
@pytest.mark.parametrize("chunk", [1, 150, 400])
def test_separable_in_pieces_on_threads(chunk, dtype, pieces, separable_calls):
    """Planes cut into pieces of 1 to 10 planes (the last one shorter) on two threads: the same
    results, ties included, as PyTorch."""
    pieces(chunk)
    for nd, shape, kw in [
        (2, (3, 5, 9, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
        (2, (2, 7, 10, 10), dict(kernel_size=2)),
        (3, (1, 9, 4, 5, 4), dict(kernel_size=2, stride=(1, 2, 2))),
    ]:
        ours, theirs = MAX[nd]
        kw = dict(kw, return_indices=True)
        compare_with_torch(
            lambda t: ours(t, **kw),
            lambda t: theirs(t, **kw),
            [distinct(shape, seed=20)],
            dtype=dtype,
            what=f"chunk {chunk}",
        )
        x = np.random.default_rng(21).integers(0, 3, shape).astype(dtype)
        a, t = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, idx = ours(a, **kw)
        yt, idxt = theirs(t, **kw)
        np.testing.assert_array_equal(idx.data, idxt.numpy())
        upstream = (np.arange(y.data.size) % 7 + 1).reshape(y.shape).astype(dtype)
        y.backward(upstream)
        yt.backward(torch.tensor(upstream))
        np.testing.assert_array_equal(a.grad, t.grad.numpy())
    assert separable_calls == [True] * 6


@pytest.mark.parametrize("k,s", [(2, 2), (3, 2)])
def test_separable_above_the_parallel_threshold(k, s, separable_calls):
    """An input above _PARALLEL_MIN with the default piece size: two jobs on two threads, each
    cut into pieces (the last one shorter), against PyTorch in float32."""
    set_num_workers(2)
    try:
        shape = (2, 32, 128, 130)
        assert np.prod(shape) > kp._PARALLEL_MIN
        jobs = kp._jobs(64, 128 * 130, 4)
        assert len(jobs) == 2 and len(jobs[0]) > 1
        kw = dict(kernel_size=k, stride=s, return_indices=True)
        compare_with_torch(
            lambda t: max_pool2d(t, **kw),
            lambda t: F.max_pool2d(t, **kw),
            [distinct(shape, seed=22, spacing=1 / 64)],
            dtype=np.float32,
        )
    finally:
        set_num_workers(None)
    assert separable_calls == [True]


def test_jobs_cover_the_planes_once():
    set_num_workers(2)
    try:
        assert kp._jobs(7, 10, 4) == [[(0, 7)]]  # small: one piece, no threads
        plane = kp._PARALLEL_MIN // 10  # 10 planes: the threshold
        jobs = kp._jobs(101, plane, 4)
        assert len(jobs) == 2
        per = kp._PIECE_BYTES // (plane * 4)
        covered = np.zeros(101, int)
        for job in jobs:
            for a, b in job:
                assert 0 < b - a <= per
                covered[a:b] += 1
        assert np.all(covered == 1)
    finally:
        set_num_workers(None)


@pytest.mark.parametrize("dtype", **DTYPES)
@pytest.mark.parametrize("name", ["3x3-2", "3x3-2-pad1-ceil", "2x2-2-ceil-partial", "3d-3-2-pad1"])
def test_separable_forward_without_grad(name, dtype, separable_calls):
    """Under no_grad no switches are kept; the output is the same."""
    nd, shape, kw = SEPARABLE_CASES[name]
    ours, theirs = MAX[nd]
    x = distinct(shape, seed=23).astype(dtype)
    with cn.no_grad():
        y = ours(cn.tensor(x), **kw)
    np.testing.assert_array_equal(y.data, theirs(torch.tensor(x), **kw).numpy())
    assert y.dtype == dtype and separable_calls == [True]


@pytest.mark.parametrize(
    "kw", [dict(kernel_size=3, stride=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), dict(kernel_size=2)]
)
def test_separable_nan_and_minus_inf(kw, separable_calls):
    """NaN (it wins; the last NaN of a window is kept) goes to the lecture, and so does a
    window of -inf inputs next to padding (PyTorch keeps its first tap inside the input); -inf
    without padding stays on the separable kernel (the first tap wins the tie)."""
    x = np.random.default_rng(24).standard_normal((2, 2, 9, 8))
    x[0, 1, 2:5, 3:6] = np.nan
    x[1, 0, 0, 4] = np.nan
    kwi = dict(kw, return_indices=True)
    compare_with_torch(lambda t: max_pool2d(t, **kwi), lambda t: F.max_pool2d(t, **kwi), [x])
    x = np.random.default_rng(25).standard_normal((2, 2, 9, 8))
    x[0, 0, :5, :5] = -np.inf
    x[1, 1, 6:, 5:] = -np.inf
    compare_with_torch(lambda t: max_pool2d(t, **kwi), lambda t: F.max_pool2d(t, **kwi), [x])
    padded = kw.get("padding", 0) or kw.get("ceil_mode", False)
    assert separable_calls == [False, not padded]


def test_separable_nonfinite_gradient_reaches_its_pixel_only():
    """An inf or NaN upstream gradient goes to its window's argmax; every other pixel gets 0 (a
    multiply by a 0/1 mask would spread NaN, as 0 * inf)."""
    x = distinct((1, 2, 9, 9), seed=26)
    a, t = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = max_pool2d(a, 3, stride=2)
    yt = F.max_pool2d(t, 3, stride=2)
    upstream = np.ones(y.shape)
    upstream[0, 0, 1, 2], upstream[0, 1, 3, 0] = np.inf, np.nan
    y.backward(upstream)
    yt.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(a.grad, t.grad.numpy())
    assert np.isfinite(a.grad).sum() == a.grad.size - 2


def test_kernel_longer_than_uint8_switches_takes_the_general_path(separable_calls):
    kw = dict(kernel_size=260, stride=3, return_indices=True)
    compare_with_torch(lambda t: max_pool1d(t, **kw), lambda t: F.max_pool1d(t, **kw), [distinct((1, 2, 300), seed=27)])
    assert separable_calls == []


# ============================================================================================
# Inference on a small input whose windows tile it: the maximum of strided views
# ============================================================================================


@pytest.mark.parametrize(
    "nd,shape,kernel",
    [
        (2, (1, 6, 28, 28), 2),  # LeNet's S2 at batch 1
        (2, (2, 3, 9, 7), 2),  # a leftover row and column (floor mode drops them)
        (1, (4, 5, 11), 3),  # 1-D
        (3, (1, 2, 4, 6, 6), 2),  # 3-D
        (2, (3, 8, 8), 4),  # unbatched
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_inference_tiles_match_torch(nd, shape, kernel, dtype):
    r = np.random.default_rng(len(shape) * 10 + kernel)
    x = r.integers(-2, 3, shape).astype(dtype)  # many ties, zeros of both signs below
    x[x == 0] = np.where(r.random(int((x == 0).sum())) < 0.5, -0.0, 0.0)
    x.reshape(-1)[::7] = np.nan
    x.reshape(-1)[3::11] = -np.inf
    assert x.size <= kp._TILED_MAX
    ours_fn, theirs_fn = MAX[nd]
    calls = []
    original = kp._max_of_tiles
    kp._max_of_tiles = lambda *a: calls.append(1) or original(*a)
    try:
        with cn.no_grad():
            y = ours_fn(cn.tensor(x), kernel).data
    finally:
        kp._max_of_tiles = original
    assert calls, "the small-input path was not taken"
    expected = theirs_fn(torch.from_numpy(x), kernel).numpy()
    assert y.dtype == dtype and y.shape == expected.shape
    np.testing.assert_array_equal(y, expected)  # NaN where torch has NaN
    np.testing.assert_array_equal(np.signbit(y), np.signbit(expected))  # the first zero's sign


def test_small_tiles_path_is_inference_only():
    """With a gradient to come, or indices asked for, the switches are needed: the separable kernel."""
    x = cn.tensor(np.random.default_rng(0).standard_normal((1, 2, 4, 4)), requires_grad=True)
    original, calls = kp._max_of_tiles, []
    kp._max_of_tiles = lambda *a: calls.append(1) or original(*a)
    try:
        max_pool2d(x, 2).sum().backward()
        with cn.no_grad():
            max_pool2d(x, 2, return_indices=True)
    finally:
        kp._max_of_tiles = original
    assert not calls
    np.testing.assert_array_equal(x.grad.sum(axis=(2, 3)), np.full((1, 2), 4.0))
