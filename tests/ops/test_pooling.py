"""Pooling: gradcheck, PyTorch parity (forward, input gradient, indices), ties, unpooling, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import POOL_WINDOW_CASES as WINDOW_CASES
from helpers import assert_close, check_gradcheck, compare_with_torch

import convnp as cn
from convnp.ops.pooling import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool2d,
)

MAX = {1: (max_pool1d, F.max_pool1d), 2: (max_pool2d, F.max_pool2d), 3: (max_pool3d, F.max_pool3d)}
AVG = {1: (avg_pool1d, F.avg_pool1d), 2: (avg_pool2d, F.avg_pool2d), 3: (avg_pool3d, F.avg_pool3d)}
ADAPTIVE = {"avg": (adaptive_avg_pool2d, F.adaptive_avg_pool2d), "max": (adaptive_max_pool2d, F.adaptive_max_pool2d)}
DTYPES = dict(argvalues=[np.float64, np.float32], ids=["f64", "f32"])


def distinct(shape, seed=0, spacing=0.25):
    """Tie-free input: a random permutation of distinct values `spacing` apart (exact in float32)."""
    size = int(np.prod(shape))
    perm = np.random.default_rng(seed).permutation(size).astype(np.float64)
    return ((perm - size / 2) * spacing).reshape(shape)


def _ints(a):
    return tuple(int(v) for v in a)


def _c(nd, x, **kw):
    return dict(nd=nd, x=x, kw=kw)


# ============================================================================================
# Hand-picked awkward configurations (gradcheck, and parity in both dtypes)
# ============================================================================================

MAX_CASES = {
    "1d-overlap-3-2-pad1-ceil": _c(1, (2, 3, 8), kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "1d-dil3-pad1-nondividing": _c(1, (1, 2, 11), kernel_size=3, stride=2, padding=1, dilation=3),
    "1d-one-window-overhangs-ceil": _c(1, (2, 2, 1), kernel_size=3, stride=3, ceil_mode=True, return_indices=True),
    "1d-unbatched": _c(1, (3, 7), kernel_size=2, stride=3, return_indices=True),
    "2d-overlap-3x3-2": _c(2, (2, 2, 7, 6), kernel_size=3, stride=2, return_indices=True),
    "2d-nonsquare-stride-nondividing": _c(2, (1, 3, 8, 7), kernel_size=(2, 3), stride=(3, 2)),
    "2d-ceil-with-padding": _c(
        2, (2, 1, 6, 7), kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True, return_indices=True
    ),
    "2d-dil2-pad1": _c(2, (1, 2, 7, 8), kernel_size=3, stride=1, padding=1, dilation=2, return_indices=True),
    "2d-dil-2-3-ceil": _c(2, (2, 1, 6, 9), kernel_size=(2, 3), stride=(2, 3), dilation=(2, 3), ceil_mode=True),
    "2d-kernel-equals-padded-input": _c(2, (1, 2, 4, 3), kernel_size=(6, 4), padding=(1, 2), return_indices=True),
    "2d-unbatched": _c(2, (2, 5, 6), kernel_size=2, stride=1, padding=1, return_indices=True),
    "3d-overlap-pad-ceil": _c(
        3,
        (1, 2, 4, 5, 3),
        kernel_size=(2, 3, 2),
        stride=(1, 2, 2),
        padding=(1, 1, 0),
        ceil_mode=True,
        return_indices=True,
    ),
    "3d-dil2": _c(3, (2, 1, 5, 4, 4), kernel_size=2, stride=(2, 1, 1), dilation=(2, 1, 2), return_indices=True),
}

AVG_CASES = {
    "1d-overlap-pad-ceil": _c(1, (2, 3, 8), kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "1d-exclude-pad-ceil": _c(
        1, (1, 2, 9), kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False
    ),
    "1d-one-window-overhangs-ceil": _c(1, (2, 2, 1), kernel_size=3, stride=3, ceil_mode=True),
    "1d-unbatched": _c(1, (3, 7), kernel_size=2, stride=3),
    "2d-overlap-3x3-2": _c(2, (2, 2, 7, 6), kernel_size=3, stride=2),
    "2d-nonsquare-stride-nondividing": _c(2, (1, 3, 8, 7), kernel_size=(2, 3), stride=(3, 2), padding=(1, 0)),
    "2d-ceil-pad-include": _c(2, (2, 1, 6, 7), kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True),
    "2d-ceil-pad-exclude": _c(
        2, (2, 1, 6, 7), kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True, count_include_pad=False
    ),
    "2d-divisor-override": _c(2, (1, 2, 5, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=5),
    "2d-negative-divisor-override": _c(2, (1, 1, 4, 4), kernel_size=2, divisor_override=-3),
    "2d-kernel-equals-padded-input": _c(2, (1, 2, 4, 3), kernel_size=(6, 4), padding=(1, 2), count_include_pad=False),
    "2d-unbatched": _c(2, (2, 5, 6), kernel_size=2, stride=1, padding=1),
    "3d-pad-ceil-exclude": _c(
        3,
        (1, 2, 4, 5, 3),
        kernel_size=(2, 3, 2),
        stride=(1, 2, 2),
        padding=(1, 1, 0),
        ceil_mode=True,
        count_include_pad=False,
    ),
    "3d-divisor-override": _c(3, (2, 1, 5, 4, 4), kernel_size=2, stride=(2, 1, 3), divisor_override=3),
}

ADAPTIVE_CASES = {
    "not-dividing": dict(x=(2, 3, 7, 5), size=(3, 2)),
    "larger-than-input": dict(x=(1, 2, 3, 4), size=(5, 7)),
    "int": dict(x=(2, 1, 6, 9), size=4),
    "none-entry": dict(x=(1, 2, 5, 6), size=(None, 4)),
    "to-one": dict(x=(2, 2, 5, 3), size=1),
    "unbatched": dict(x=(3, 7, 6), size=(4, 5)),
}


@pytest.mark.parametrize("name", list(MAX_CASES))
def test_max_pool_gradcheck(name):
    c = MAX_CASES[name]
    fn = MAX[c["nd"]][0]
    check_gradcheck(lambda t: fn(t, **c["kw"]), [distinct(c["x"], seed=1)])


@pytest.mark.parametrize("name", list(AVG_CASES))
def test_avg_pool_gradcheck(name):
    c = AVG_CASES[name]
    fn = AVG[c["nd"]][0]
    x = np.random.default_rng(2).standard_normal(c["x"])
    check_gradcheck(lambda t: fn(t, **c["kw"]), [x])


@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("name", list(ADAPTIVE_CASES))
def test_adaptive_gradcheck(name, kind):
    c = ADAPTIVE_CASES[name]
    fn = ADAPTIVE[kind][0]
    check_gradcheck(lambda t: fn(t, c["size"]), [distinct(c["x"], seed=3)])


# ============================================================================================
# Randomised (seeded) configurations for PyTorch parity
# ============================================================================================


def _windows_touch_input(spatial, kernel, stride, padding, dilation, ceil_mode) -> bool:
    """Every window holds at least one real pixel (see test_max_pool_all_padding_window)."""
    for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation):
        room = n + 2 * p - d * (k - 1) - 1
        out = (-(-room // s) if ceil_mode else room // s) + 1
        out -= ceil_mode and (out - 1) * s >= n + p
        if not all(any(0 <= i * s - p + a * d < n for a in range(k)) for i in range(out)):
            return False
    return True


def random_pool_config(seed: int, nd: int, kind: str) -> dict:
    """A random valid configuration; the output has at least one window on every axis."""
    r = np.random.default_rng(10_000 * nd + (0 if kind == "max" else 5000) + seed)
    while True:
        kernel = _ints(r.integers(1, 5 if nd < 3 else 4, nd))
        dilation = _ints(r.choice([1, 1, 2, 3], nd)) if kind == "max" else (1,) * nd
        padding = tuple(int(r.integers(0, k // 2 + 1)) for k in kernel)
        stride = None if r.random() < 0.15 else _ints(r.integers(1, 4, nd))
        ceil_mode = bool(r.random() < 0.5)
        tight = r.random() < 0.15  # kernel as large as the padded input
        low = [max(1, d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dilation, padding)]
        if kind == "avg" and nd == 3:  # PyTorch's avg_pool3d: input >= kernel
            low = [max(v, k) for v, k in zip(low, kernel)]
        spatial = tuple(v + (0 if tight else int(r.integers(0, 7 if nd < 3 else 3))) for v in low)
        if _windows_touch_input(spatial, kernel, stride or kernel, padding, dilation, ceil_mode):
            break
    n, ch = int(r.integers(1, 3)), int(r.integers(1, 4))
    x = (ch, *spatial) if r.random() < 0.15 else (n, ch, *spatial)
    kw = dict(
        kernel_size=kernel[0] if len(set(kernel)) == 1 and r.random() < 0.5 else kernel,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
    )
    if kind == "max":
        kw.update(dilation=dilation, return_indices=bool(r.random() < 0.6))
    else:
        kw.update(count_include_pad=bool(r.random() < 0.5))
        if nd > 1 and r.random() < 0.2:
            kw.update(divisor_override=int(r.choice([-2, 1, 3, 7])))
    return _c(nd, x, **kw)


def random_adaptive_config(seed: int) -> dict:
    r = np.random.default_rng(30_000 + seed)
    h, w = _ints(r.integers(1, 10, 2))
    size = [int(r.integers(1, 2 * v + 2)) for v in (h, w)]
    size = [None if r.random() < 0.15 else s for s in size]
    n, ch = int(r.integers(1, 3)), int(r.integers(1, 4))
    x = (ch, h, w) if r.random() < 0.15 else (n, ch, h, w)
    scalar = size[0] == size[1] and size[0] is not None and r.random() < 0.5
    return dict(x=x, size=size[0] if scalar else tuple(size), indices=bool(r.random() < 0.5))


N_RANDOM = {1: 16, 2: 30, 3: 14}
MAX_PARITY = {
    **MAX_CASES,
    **{f"random{nd}d-{s}": random_pool_config(s, nd, "max") for nd in (1, 2, 3) for s in range(N_RANDOM[nd])},
}
AVG_PARITY = {
    **AVG_CASES,
    **{f"random{nd}d-{s}": random_pool_config(s, nd, "avg") for nd in (1, 2, 3) for s in range(N_RANDOM[nd])},
}
ADAPTIVE_PARITY = {**ADAPTIVE_CASES, **{f"random{s}": random_adaptive_config(s) for s in range(30)}}


def _room(c):
    """Per axis: (padded input - dilated kernel, stride)."""
    nd, kw = c["nd"], c["kw"]
    k = np.broadcast_to(kw["kernel_size"], (nd,))
    s = k if kw.get("stride") is None else np.broadcast_to(kw["stride"], (nd,))
    p = np.broadcast_to(kw.get("padding", 0), (nd,))
    d = np.broadcast_to(kw.get("dilation", 1), (nd,))
    return [(int(i + 2 * pp - dd * (kk - 1) - 1), int(ss)) for i, kk, ss, pp, dd in zip(c["x"][-nd:], k, s, p, d)]


@pytest.mark.parametrize("family", ["max", "avg"])
def test_random_configs_cover_the_awkward_cases(family):
    """The parity families really contain what they claim to (so the parity tests test it)."""
    cfgs = list((MAX_PARITY if family == "max" else AVG_PARITY).values())
    kws = [c["kw"] for c in cfgs]
    assert {c["nd"] for c in cfgs} == {1, 2, 3}
    rooms = [_room(c) for c in cfgs]
    assert any(any(room % s for room, s in r) for r in rooms)  # stride does not divide
    assert any(all(room == 0 for room, _ in r) for r in rooms)  # kernel = padded input
    assert any(any(room < 0 for room, _ in r) for r in rooms)  # ceil window overhangs
    assert any(k.get("ceil_mode") and any(np.atleast_1d(k.get("padding", 0))) for k in kws)  # ceil_mode with padding
    assert any(k.get("stride") is None for k in kws)
    assert any(
        any(s < kk for s, kk in zip(np.atleast_1d(k["stride"]), np.atleast_1d(k["kernel_size"])))
        for k in kws
        if k.get("stride") is not None
    )  # overlapping windows
    assert any(len(c["x"]) == c["nd"] + 1 for c in cfgs)  # unbatched
    assert any(len(c["x"]) == c["nd"] + 2 and c["x"][0] == 1 for c in cfgs)  # batch of one
    assert any(c["x"][-c["nd"] - 1] == 1 for c in cfgs)  # one channel
    if family == "max":
        assert any(2 in np.atleast_1d(k.get("dilation", 1)) for k in kws)
        assert any(3 in np.atleast_1d(k.get("dilation", 1)) for k in kws)
        assert any(k.get("return_indices") for k in kws) and any(not k.get("return_indices") for k in kws)
    else:
        assert any(k.get("count_include_pad") is False and any(np.atleast_1d(k.get("padding", 0))) for k in kws)
        assert any(k.get("divisor_override") is not None for k in kws)


@pytest.mark.parametrize("dtype", **DTYPES)
@pytest.mark.parametrize("name", list(MAX_PARITY))
def test_max_pool_matches_torch(name, dtype):
    c = MAX_PARITY[name]
    ours, theirs = MAX[c["nd"]]
    kw = c["kw"]
    compare_with_torch(
        lambda t: ours(t, **kw), lambda t: theirs(t, **kw), [distinct(c["x"], seed=4)], dtype=dtype, what=name
    )


@pytest.mark.parametrize("dtype", **DTYPES)
@pytest.mark.parametrize("name", list(AVG_PARITY))
def test_avg_pool_matches_torch(name, dtype):
    c = AVG_PARITY[name]
    ours, theirs = AVG[c["nd"]]
    kw = c["kw"]
    x = np.random.default_rng(5).standard_normal(c["x"])
    compare_with_torch(lambda t: ours(t, **kw), lambda t: theirs(t, **kw), [x], dtype=dtype, what=name)


@pytest.mark.parametrize("dtype", **DTYPES)
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("name", list(ADAPTIVE_PARITY))
def test_adaptive_matches_torch(name, kind, dtype):
    c = ADAPTIVE_PARITY[name]
    ours, theirs = ADAPTIVE[kind]
    kw = {"return_indices": c.get("indices", True)} if kind == "max" else {}
    x = distinct(c["x"], seed=6) if kind == "max" else np.random.default_rng(6).standard_normal(c["x"])
    compare_with_torch(
        lambda t: ours(t, c["size"], **kw), lambda t: theirs(t, c["size"], **kw), [x], dtype=dtype, what=name
    )


def test_adaptive_random_configs_do_not_all_divide():
    pairs = [
        (n, o)
        for c in ADAPTIVE_PARITY.values()
        for n, o in zip(c["x"][-2:], np.broadcast_to(np.array(c["size"], dtype=object), (2,)))
        if o is not None
    ]
    assert any(n % o for n, o in pairs) and any(o > n for n, o in pairs) and any(n % o == 0 for n, o in pairs)


def test_adaptive_output_size_zero_matches_torch():
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 5))
    for ours, theirs in ADAPTIVE.values():
        compare_with_torch(lambda t: ours(t, (0, 3)), lambda t: theirs(t, (0, 3)), [x], check_grads=False)


# ============================================================================================
# Ties, -inf and NaN: PyTorch's rules
# ============================================================================================

TIE_CASES = [
    (1, (2, 3, 11), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 2, 7, 6), dict(kernel_size=3, stride=2)),
    (2, (1, 3, 6, 7), dict(kernel_size=(2, 3), stride=1, padding=1, ceil_mode=True)),
    (2, (2, 2, 8, 8), dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)),
    (3, (1, 2, 5, 4, 6), dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0))),
    # windows that tile the input (stride = kernel, no padding): one tap per phase on the separable path
    (2, (2, 3, 9, 7), dict(kernel_size=2)),
    (1, (4, 12, 13), dict(kernel_size=3)),
    (3, (2, 2, 6, 6, 5), dict(kernel_size=2)),
    (2, (1, 2, 24, 24), dict(kernel_size=12)),
]


@pytest.mark.parametrize("nd,shape,kw", TIE_CASES)
def test_max_pool_ties_go_to_the_first_maximum(nd, shape, kw):
    """Windows full of repeated maxima: indices and gradient routing equal PyTorch's (first max)."""
    ours, theirs = MAX[nd]
    x = np.random.default_rng(8).integers(0, 3, shape).astype(np.float64)  # many ties
    a, t = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, idx = ours(a, return_indices=True, **kw)
    yt, idxt = theirs(t, return_indices=True, **kw)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.data, idxt.numpy())
    upstream = np.arange(y.data.size, dtype=np.float64).reshape(y.shape) + 1  # distinct per output
    y.backward(upstream)
    yt.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(a.grad, t.grad.numpy())


def test_max_pool_tie_rule_by_hand():
    """A constant 3x3 input, windows 2x2 stride 1: every window's first pixel takes its gradient."""
    a = cn.tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    y, idx = max_pool2d(a, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(idx.data[0, 0], [[0, 1], [3, 4]])  # top-left pixel of each window
    y.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_array_equal(a.grad[0, 0], [[1, 2, 0], [3, 4, 0], [0, 0, 0]])


@pytest.mark.parametrize("size", [(2, 2, 5, 6), (1, 3, 4, 9)])
def test_adaptive_max_ties_go_to_the_first_maximum(size):
    x = np.random.default_rng(9).integers(0, 2, size).astype(np.float64)
    a, t = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, idx = adaptive_max_pool2d(a, (3, 4), return_indices=True)
    yt, idxt = F.adaptive_max_pool2d(t, (3, 4), return_indices=True)
    np.testing.assert_array_equal(idx.data, idxt.numpy())
    upstream = np.arange(y.data.size, dtype=np.float64).reshape(y.shape) + 1
    y.backward(upstream)
    yt.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(a.grad, t.grad.numpy())


def test_max_pool_minus_inf_and_nan_match_torch():
    """A window of -inf inputs next to the -inf padding, and NaN (which wins; the last NaN is kept)."""
    x = np.random.default_rng(10).standard_normal((2, 2, 6, 7))
    x[0, 0, :3, :3] = -np.inf
    x[1, 1, 2, 2:4] = np.nan
    x[0, 1, 5, 6] = np.nan
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, return_indices=True)
    compare_with_torch(lambda t: max_pool2d(t, **kw), lambda t: F.max_pool2d(t, **kw), [x])
    xa = x[:, :, :, :6].copy()
    compare_with_torch(
        lambda t: adaptive_max_pool2d(t, (4, 3), True), lambda t: F.adaptive_max_pool2d(t, (4, 3), True), [xa]
    )
    tiled = dict(kernel_size=2, return_indices=True)  # windows that tile: NaN leaves the separable path
    compare_with_torch(lambda t: max_pool2d(t, **tiled), lambda t: F.max_pool2d(t, **tiled), [xa])


def test_max_pool_all_padding_window():
    """Width 1, kernel 2, dilation 2, padding 1: the taps -1 and 1 both miss the input.

    The output is -inf and the index PyTorch's (1, pointing past the row); the gradient of that
    constant output is zero (PyTorch adds it to whatever pixel flat index h*W + 1 names)."""
    x = distinct((1, 3, 2, 1), seed=16)
    kw = dict(kernel_size=2, stride=(3, 2), padding=(0, 1), dilation=(1, 2), return_indices=True)
    a = cn.tensor(x, requires_grad=True)
    y, idx = max_pool2d(a, **kw)
    yt, idxt = F.max_pool2d(torch.tensor(x), **kw)
    assert_close(y, yt, 0.0, "forward")
    np.testing.assert_array_equal(idx.data, idxt.numpy())
    assert np.all(np.isneginf(y.data))
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(a.grad, np.zeros_like(x))


# ============================================================================================
# Overlapping windows, ties shared between windows, non-finite gradients
# (tests/kernels/test_pooling.py holds the kernels to the lecture on these and more)
# ============================================================================================


@pytest.mark.parametrize("dtype", **DTYPES)
@pytest.mark.parametrize("name", list(WINDOW_CASES))
def test_max_pool_window_cases_match_torch(name, dtype):
    nd, shape, kw = WINDOW_CASES[name]
    ours, theirs = MAX[nd]
    kw = dict(kw, return_indices=True)
    compare_with_torch(
        lambda t: ours(t, **kw), lambda t: theirs(t, **kw), [distinct(shape, seed=18)], dtype=dtype, what=name
    )


@pytest.mark.parametrize("name", list(WINDOW_CASES))
def test_max_pool_ties_across_overlapping_windows(name):
    """Repeated maxima, also on the pixels two overlapping windows share: every window takes its
    FIRST maximum in scan order, and a pixel chosen by several windows sums their gradients."""
    nd, shape, kw = WINDOW_CASES[name]
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


def test_max_pool_overlapping_tie_rule_by_hand():
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
@pytest.mark.parametrize("name", ["3x3-2", "3x3-2-pad1-ceil", "2x2-2-ceil-partial", "3d-3-2-pad1"])
def test_max_pool_forward_without_grad(name, dtype):
    """Under no_grad nothing is kept for a backward; the output is the same."""
    nd, shape, kw = WINDOW_CASES[name]
    ours, theirs = MAX[nd]
    x = distinct(shape, seed=23).astype(dtype)
    with cn.no_grad():
        y = ours(cn.tensor(x), **kw)
    np.testing.assert_array_equal(y.data, theirs(torch.tensor(x), **kw).numpy())
    assert y.dtype == dtype


def test_max_pool_nonfinite_gradient_reaches_its_pixel_only():
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


def test_max_pool_kernel_longer_than_255():
    kw = dict(kernel_size=260, stride=3, return_indices=True)
    compare_with_torch(lambda t: max_pool1d(t, **kw), lambda t: F.max_pool1d(t, **kw), [distinct((1, 2, 300), seed=27)])


# ============================================================================================
# max_unpool2d
# ============================================================================================


def random_unpool_config(seed: int) -> dict:
    """Pooling parameters and an unpooling output size under which every index fits."""
    r = np.random.default_rng(40_000 + seed)
    while True:
        kernel = _ints(r.integers(1, 4, 2))
        stride = _ints(r.integers(1, 4, 2))
        padding = tuple(int(r.integers(0, k // 2 + 1)) for k in kernel)
        spatial = tuple(max(1, k - 2 * p) + int(r.integers(0, 6)) for k, p in zip(kernel, padding))
        pooled = [(i + 2 * p - k) // s + 1 for i, k, s, p in zip(spatial, kernel, stride, padding)]
        default = tuple((o - 1) * s - 2 * p + k for o, s, p, k in zip(pooled, stride, padding, kernel))
        legal = all(d - s < i < d + s for d, s, i in zip(default, stride, spatial))
        if legal and spatial != default:
            output_size = spatial  # back to the pooled input's size
            break
        if all(i <= d for i, d in zip(spatial, default)):
            output_size = None  # the default plane holds every index
            break
    n, ch = int(r.integers(1, 3)), int(r.integers(1, 4))
    batched = r.random() >= 0.15
    x = (n, ch, *spatial) if batched else (ch, *spatial)
    if output_size is not None and batched and r.random() < 0.5:
        output_size = (n, ch, *spatial)
    return dict(x=x, kw=dict(kernel_size=kernel, stride=stride, padding=padding), output_size=output_size)


UNPOOL_PARITY = {f"random{s}": random_unpool_config(s) for s in range(30)}


def test_unpool_random_configs_use_output_size():
    assert sum(c["output_size"] is not None for c in UNPOOL_PARITY.values()) >= 5
    assert any(c["output_size"] is not None and len(c["output_size"]) == 4 for c in UNPOOL_PARITY.values())


@pytest.mark.parametrize("dtype", **DTYPES)
@pytest.mark.parametrize("name", list(UNPOOL_PARITY))
def test_unpool_of_pool_matches_torch(name, dtype):
    """max_unpool2d(max_pool2d(x, return_indices=True)): forward, indices and the gradient through both."""
    c = UNPOOL_PARITY[name]
    kw, size = c["kw"], c["output_size"]

    def run(pool, unpool):
        def f(t):
            y, idx = pool(t, return_indices=True, **kw)
            return unpool(y, idx, output_size=size, **kw), idx

        return f

    compare_with_torch(
        run(max_pool2d, max_unpool2d),
        run(F.max_pool2d, F.max_unpool2d),
        [distinct(c["x"], seed=11)],
        dtype=dtype,
        what=name,
    )


@pytest.mark.parametrize("dtype", **DTYPES)
@pytest.mark.parametrize("name", ["random0", "random1", "random2", "random3", "random4", "random5"])
def test_unpool_alone_matches_torch(name, dtype):
    """The unpooling's own gradient: gather the upstream gradient at the indices."""
    c = UNPOOL_PARITY[name]
    kw, size = c["kw"], c["output_size"]
    _, idx = F.max_pool2d(torch.tensor(distinct(c["x"], seed=12)), return_indices=True, **kw)
    y = np.random.default_rng(13).standard_normal(tuple(idx.shape))
    compare_with_torch(
        lambda t, i: max_unpool2d(t, i, output_size=size, **kw),
        lambda t, i: F.max_unpool2d(t, i, output_size=size, **kw),
        [y, idx.numpy()],
        dtype=dtype,
    )


@pytest.mark.parametrize(
    "shape,kw,size",
    [
        ((2, 2, 7, 6), dict(kernel_size=3, stride=3), (7, 6)),
        ((1, 3, 5, 8), dict(kernel_size=(2, 3), stride=(2, 3), padding=(1, 0)), (1, 3, 5, 8)),
        ((2, 1, 4, 6), dict(kernel_size=2, padding=1), None),
        ((3, 4, 4), dict(kernel_size=2), (5, 5)),
    ],
)
def test_unpool_gradcheck(shape, kw, size):
    """Windows that do not overlap: no two indices collide (see test_unpool_duplicate_indices)."""
    x = distinct(shape, seed=14)
    _, idx = max_pool2d(cn.tensor(x), return_indices=True, **kw)
    y = np.random.default_rng(15).standard_normal(idx.shape)
    check_gradcheck(lambda t: max_unpool2d(t, idx, output_size=size, **kw), [y])
    check_gradcheck(lambda t: max_unpool2d(*max_pool2d(t, return_indices=True, **kw), output_size=size, **kw), [x])


def test_unpool_duplicate_indices():
    """Four overlapping windows all choose the centre: one value written, and (as PyTorch) the
    gradient at the centre handed to all four pooled entries."""
    x = np.array([[[[0.0, 1.0, 2.0], [3.0, 9.0, 4.0], [5.0, 6.0, 7.0]]]])
    a, t = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, idx = max_pool2d(a, 2, stride=1, return_indices=True)
    yt, idxt = F.max_pool2d(t, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(idx.data, np.full((1, 1, 2, 2), 4))
    u = max_unpool2d(y, idx, 2, stride=1)
    ut = F.max_unpool2d(yt, idxt, 2, stride=1)
    assert_close(u, ut, 0.0, "unpool forward")
    upstream = np.arange(9.0).reshape(1, 1, 3, 3) + 1
    u.backward(upstream)
    ut.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(a.grad, t.grad.numpy())
    assert a.grad[0, 0, 1, 1] == 4 * upstream[0, 0, 1, 1]


# ============================================================================================
# dtypes, and that unbatched input equals the batched result
# ============================================================================================


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_and_indices_are_int64(dtype):
    x = cn.tensor(distinct((2, 3, 6, 5)).astype(dtype), requires_grad=True)
    outs = [
        max_pool2d(x, 2, return_indices=True),
        avg_pool2d(x, 3, 1, 1),
        adaptive_avg_pool2d(x, 4),
        adaptive_max_pool2d(x, (3, 2), True),
        max_pool1d(x[0], 2),
        avg_pool3d(x, 2),
    ]
    for out in outs:
        y = out[0] if isinstance(out, tuple) else out
        assert y.dtype == dtype
        if isinstance(out, tuple):
            assert out[1].dtype == np.int64 and not out[1].requires_grad
        y.sum().backward()
        assert x.grad.dtype == dtype


# ============================================================================================
# Errors
# ============================================================================================

X2 = cn.tensor(np.zeros((1, 2, 5, 5)))
IDX = max_pool2d(cn.tensor(distinct((1, 2, 4, 4))), 2, return_indices=True)[1]
Y = cn.tensor(np.zeros((1, 2, 2, 2)))

ERRORS = [
    (
        lambda: max_pool2d(np.zeros(3).tolist(), 2),
        TypeError,
        r"max_pool2d: expected input to be a Tensor\. Received: input of type list",
    ),
    (
        lambda: max_pool2d(cn.tensor(np.zeros((5, 5))), 2),
        ValueError,
        r"max_pool2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input\. Received: input of shape \(5, 5\)",
    ),
    (
        lambda: max_pool1d(cn.tensor(np.zeros((1, 1, 2, 5))), 2),
        ValueError,
        r"max_pool1d: expected a 2-D \(C, L\) or 3-D \(N, C, L\) input\. Received: input of shape \(1, 1, 2, 5\)",
    ),
    (
        lambda: avg_pool3d(cn.tensor(np.zeros((3, 3))), 2),
        ValueError,
        r"avg_pool3d: expected a 4-D \(C, D, H, W\) or 5-D \(N, C, D, H, W\) input",
    ),
    (
        lambda: max_pool2d(cn.tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), 2),
        TypeError,
        r"max_pool2d: expected a floating-point input\. Received: input of dtype int64",
    ),
    (
        lambda: avg_pool2d(cn.tensor(np.zeros((1, 0, 4, 4))), 2),
        ValueError,
        r"avg_pool2d: expected non-zero sizes for the channel and spatial axes\. Received: input of shape \(1, 0, 4, 4\)",
    ),
    (
        lambda: max_pool2d(X2, 2.5),
        TypeError,
        r"max_pool2d: kernel_size must be an int or a tuple of 2 ints\. Received: kernel_size=2\.5",
    ),
    (lambda: max_pool2d(X2, (2, 2, 2)), TypeError, r"max_pool2d: kernel_size must be an int or a tuple of 2 ints"),
    (lambda: max_pool2d(X2, 0), ValueError, r"max_pool2d: kernel_size must be at least 1\. Received: kernel_size=0"),
    (
        lambda: avg_pool1d(cn.tensor(np.zeros((1, 1, 5))), 2, stride=0),
        ValueError,
        r"avg_pool1d: stride must be at least 1\. Received: stride=0",
    ),
    (
        lambda: max_pool3d(cn.tensor(np.zeros((1, 1, 5, 5, 5))), 2, dilation=(1, 0, 1)),
        ValueError,
        r"max_pool3d: dilation must be at least 1\. Received: dilation=\(1, 0, 1\)",
    ),
    (
        lambda: max_pool2d(X2, 3, padding=-1),
        ValueError,
        r"max_pool2d: padding must be at least 0\. Received: padding=-1",
    ),
    (
        lambda: max_pool2d(X2, 3, padding=2),
        ValueError,
        r"max_pool2d: padding must be at most half the kernel size \(padding <= kernel_size // 2\)\. "
        r"Received: padding=2, kernel_size=3",
    ),
    (
        lambda: max_pool2d(X2, (3, 2), padding=(1, 2), dilation=3),
        ValueError,
        r"padding must be at most half the kernel size .*Received: padding=\(1, 2\), kernel_size=\(3, 2\)",
    ),
    (lambda: avg_pool2d(X2, 4, padding=(2, 3)), ValueError, r"avg_pool2d: padding must be at most half"),
    (
        lambda: max_pool2d(X2, 3, dilation=3),
        ValueError,
        r"max_pool2d: the input is too small for the pooling window: the output size would be \(0, 0\), expected "
        r"at least 1 on every axis\. Received: input of shape \(1, 2, 5, 5\), kernel_size=3, stride=3, padding=0, "
        r"dilation=3, ceil_mode=False",
    ),
    (
        lambda: avg_pool1d(cn.tensor(np.zeros((1, 1, 2))), 3, stride=1, ceil_mode=True),
        ValueError,
        r"avg_pool1d: the input is too small for the pooling window: the output size would be \(0,\)",
    ),
    (
        lambda: max_pool2d(X2, 2, ceil_mode=1),
        TypeError,
        r"max_pool2d: ceil_mode must be a bool\. Received: ceil_mode=1",
    ),
    (
        lambda: max_pool2d(X2, 2, return_indices="yes"),
        TypeError,
        r"max_pool2d: return_indices must be a bool\. Received: return_indices='yes'",
    ),
    (
        lambda: avg_pool2d(X2, 2, count_include_pad=None),
        TypeError,
        r"avg_pool2d: count_include_pad must be a bool\. Received: count_include_pad=None",
    ),
    (
        lambda: avg_pool2d(X2, 2, divisor_override=2.0),
        TypeError,
        r"avg_pool2d: divisor_override must be an int or None\. Received: divisor_override=2\.0",
    ),
    (
        lambda: avg_pool3d(cn.tensor(np.zeros((1, 1, 2, 4, 4))), 3, padding=1),
        ValueError,
        r"avg_pool3d: expected an input at least as large as the kernel on every spatial axis \(PyTorch's avg_pool3d "
        r"requires it, whatever the padding\)\. Received: input of shape \(1, 1, 2, 4, 4\), kernel_size=3",
    ),
    (
        lambda: avg_pool3d(cn.tensor(np.zeros((1, 1, 4, 4, 4))), 2, divisor_override=0),
        ValueError,
        r"avg_pool3d: divisor_override must not be zero\. Received: divisor_override=0",
    ),
    # max_unpool2d
    (
        lambda: max_unpool2d(Y, IDX.data.tolist(), 2),
        TypeError,
        r"max_unpool2d: expected indices to be a Tensor\. Received: indices of type list",
    ),
    (
        lambda: max_unpool2d(Y, cn.tensor(IDX.data.astype(np.float32)), 2),
        TypeError,
        r"max_unpool2d: indices must be an integer tensor \(int64, as max_pool2d returns\)\. Received: indices of dtype float32",
    ),
    (
        lambda: max_unpool2d(Y, IDX[:, :1], 2),
        ValueError,
        r"max_unpool2d: indices must have the shape of input \(1, 2, 2, 2\)\. Received: indices of shape \(1, 1, 2, 2\)",
    ),
    (
        lambda: max_unpool2d(Y, IDX, 2, output_size=[4.0, 4.0]),
        TypeError,
        r"max_unpool2d: output_size must be a tuple of ints, \(H, W\) or \(N, C, H, W\)\. Received: output_size=\[4\.0, 4\.0\]",
    ),
    (
        lambda: max_unpool2d(Y, IDX, 2, output_size=(1, 4, 4)),
        ValueError,
        r"max_unpool2d: output_size must have 2 \(H, W\) or 4 \(N, C, H, W\) entries\. Received: output_size=\(1, 4, 4\)",
    ),
    (
        lambda: max_unpool2d(Y, IDX, 2, output_size=(4, 6)),
        ValueError,
        r"max_unpool2d: output_size must lie strictly between default - stride and default \+ stride on every axis "
        r"\(default \(4, 4\), stride \(2, 2\); axis 1 must be in \(2, 6\)\)\. Received: output_size=\(4, 6\)",
    ),
    (
        lambda: max_unpool2d(Y, IDX, 1, padding=1),
        ValueError,
        r"max_unpool2d: the output size \(0, 0\) is below 1 \(\(in - 1\)\*stride - 2\*padding \+ kernel_size\)\. "
        r"Received: input of shape \(1, 2, 2, 2\), kernel_size=1, stride=1, padding=1",
    ),
    (
        lambda: max_unpool2d(Y, IDX, 1),
        ValueError,
        r"max_unpool2d: indices must lie in \[0, 4\) for an output of size \(2, 2\)\. Received: an index of \d+",
    ),
    (
        lambda: max_unpool2d(Y, cn.tensor(-IDX.data), 2),
        ValueError,
        r"max_unpool2d: indices must lie in \[0, 16\) for an output of size \(4, 4\)\. Received: an index of -\d+",
    ),
    (lambda: max_unpool2d(Y, IDX, 0), ValueError, r"max_unpool2d: kernel_size must be at least 1"),
    (lambda: max_unpool2d(Y, IDX, 2, stride=0), ValueError, r"max_unpool2d: stride must be at least 1"),
    (lambda: max_unpool2d(Y, IDX, 2, padding=-1), ValueError, r"max_unpool2d: padding must be at least 0"),
    (
        lambda: max_unpool2d(cn.tensor(np.zeros((2, 2))), IDX, 2),
        ValueError,
        r"max_unpool2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input\. Received: input of shape \(2, 2\)",
    ),
    # adaptive
    (
        lambda: adaptive_avg_pool2d(X2, (2, 2, 2)),
        ValueError,
        r"adaptive_avg_pool2d: output_size must be an int or a tuple of 2 \(ints or None\)\. Received: output_size=\(2, 2, 2\)",
    ),
    (
        lambda: adaptive_max_pool2d(X2, 2.0),
        TypeError,
        r"adaptive_max_pool2d: output_size must be an int or a tuple of 2 \(ints or None\)\. Received: output_size=2\.0",
    ),
    (
        lambda: adaptive_max_pool2d(X2, (2, -1)),
        ValueError,
        r"adaptive_max_pool2d: output_size must not be negative\. Received: output_size=\(2, -1\)",
    ),
    (
        lambda: adaptive_avg_pool2d(cn.tensor(np.zeros((1, 2, 0, 3))), 2),
        ValueError,
        r"adaptive_avg_pool2d: expected non-zero sizes for the channel and spatial axes\. Received: input of shape \(1, 2, 0, 3\)",
    ),
    (
        lambda: adaptive_max_pool2d(X2, 2, return_indices=0),
        TypeError,
        r"adaptive_max_pool2d: return_indices must be a bool\. Received: return_indices=0",
    ),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors(case):
    fn, exc, match = ERRORS[case]
    with pytest.raises(exc, match=match):
        fn()


@pytest.mark.parametrize(
    "nd,kw",
    [
        (2, dict(kernel_size=3, padding=2)),
        (1, dict(kernel_size=3, padding=2, dilation=2)),
        (2, dict(kernel_size=3, dilation=3)),
        (1, dict(kernel_size=3, stride=1, ceil_mode=True)),
    ],
)
def test_errors_where_torch_errors(nd, kw):
    """Whatever PyTorch rejects (padding above kernel_size // 2 even when dilated, too small), we reject too."""
    shape = (1, 1) + (2,) * nd if "ceil_mode" in kw else (1, 1) + (5,) * nd
    with pytest.raises(RuntimeError):
        MAX[nd][1](torch.zeros(shape), **kw)
    with pytest.raises(ValueError):
        MAX[nd][0](cn.tensor(np.zeros(shape)), **kw)


def test_avg_pool3d_input_smaller_than_kernel_errors_as_torch():
    """PyTorch's avg_pool3d (only) refuses an input smaller than the kernel even when padded."""
    shape, kw = (1, 1, 2, 4, 4), dict(kernel_size=3, padding=1)
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        F.avg_pool3d(torch.zeros(shape), **kw)
    with pytest.raises(ValueError, match="at least as large as the kernel"):
        avg_pool3d(cn.tensor(np.zeros(shape)), **kw)
    F.max_pool3d(torch.zeros(shape), **kw)  # max_pool3d and avg_pool2d accept it
    max_pool3d(cn.tensor(np.zeros(shape)), **kw)
    compare_with_torch(
        lambda t: avg_pool2d(t, **kw),
        lambda t: F.avg_pool2d(t, **kw),
        [np.random.default_rng(17).standard_normal((1, 2, 4, 4))],
    )
