"""Convolution engines: every fast path equals the reference; PyTorch parity under every engine.

- the engine switch (set_conv_engine / get_conv_engine / conv_engine) and its errors;
- each fast engine (shifted in both its modes, pointwise, depthwise) against the reference
  engine (the lectures' sliding dot product) over randomised configurations: 1-D/2-D/3-D,
  strides that do not divide, padding including 'same' with even kernels, dilation 2 and 3,
  groups and depthwise, batch of one, several chunks and both workers;
- a sample of test_convolution's PyTorch parity cases run under every engine;
- the reference pooling functions against PyTorch; the BLAS helper against NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import convnp as cn
from convnp.arraymath import parallel
from convnp.ops import conv_engine, conv_engines, get_conv_engine, reference, set_conv_engine
from convnp.ops.convolution import conv2d
from helpers import assert_close, compare_with_torch
from ops.test_convolution import CONV, CONV_CASES, CONV_PARITY, CONVT, CONVT_CASES, CONVT_PARITY, _args, _bind, _inputs

FAST = ("shifted", "blocked", "chwn", "pointwise", "dense", "depthwise")


@pytest.fixture(autouse=True)
def _restore_engine():
    before = get_conv_engine()
    yield
    set_conv_engine(before)


# ============================================================================================
# The switch
# ============================================================================================

def test_default_engine_is_auto_and_switch_round_trips():
    assert get_conv_engine() == "auto"
    for name in conv_engines.ENGINES:
        set_conv_engine(name)
        assert get_conv_engine() == name
    with conv_engine("reference"):
        assert get_conv_engine() == "reference"
    assert get_conv_engine() == conv_engines.ENGINES[-1]


def test_conv_engine_context_restores_after_an_error():
    set_conv_engine("im2col")
    with pytest.raises(RuntimeError):
        with conv_engine("shifted"):
            raise RuntimeError("boom")
    assert get_conv_engine() == "im2col"


def test_set_conv_engine_errors():
    with pytest.raises(ValueError, match=r"set_conv_engine: unknown engine; expected one of auto, reference, "
                                         r"im2col, shifted, blocked, chwn, pointwise, dense, depthwise\. Received: 'fast'"):
        set_conv_engine("fast")
    with pytest.raises(TypeError, match=r"set_conv_engine: the engine must be a str, .*Received: 3 of type int"):
        set_conv_engine(3)


def test_the_switch_and_blas_info_are_exported_from_ops():
    import convnp.ops as ops
    assert ops.set_conv_engine is set_conv_engine and ops.get_conv_engine is get_conv_engine
    info = ops.blas_info()
    assert info.startswith("OpenBLAS ") or info == "BLAS: not NumPy's bundled OpenBLAS", info


@pytest.mark.parametrize("x_shape,w_shape,kw,expected", [
    ((64, 64, 32, 32), (64, 64, 3, 3), dict(padding=1), "shifted"),
    ((64, 64, 32, 32), (64, 64, 1, 1), {}, "pointwise"),
    ((64, 64, 32, 32), (64, 1, 3, 3), dict(padding=1, groups=64), "depthwise"),
    ((256, 1, 32, 32), (6, 1, 5, 5), {}, "blocked"),
    ((64, 3, 32, 32), (32, 3, 3, 3), dict(padding=1), "blocked"),
    ((1, 1, 4, 4), (1, 1, 3, 3), {}, "im2col"),                      # tiny: im2col's lower overhead
    ((128, 16, 5, 5), (120, 16, 5, 5), {}, "dense"),                 # LeNet's C5: a fully connected layer
    ((1, 16, 5, 5), (120, 16, 5, 5), {}, "dense"),
    ((128, 16, 6, 5), (120, 16, 5, 5), {}, "im2col"),                # 2 output positions
    ((128, 512, 2, 2), (512, 512, 3, 3), dict(padding=1), "shifted"),   # VGG-CIFAR's last stage
    ((1, 64, 8, 8), (64, 64, 3, 3), dict(padding=1), "blocked"),      # batch of one: one block, one GEMM
    ((128, 6, 14, 14), (16, 6, 5, 5), {}, "chwn"),                    # LeNet's C3: rows of 10 outputs
    ((1, 6, 14, 14), (16, 6, 5, 5), {}, "blocked"),                   # ... but a single sample
    ((128, 1, 14, 14), (16, 1, 5, 5), {}, "blocked"),                 # ... or one input channel
    ((128, 6, 15, 15), (16, 6, 5, 5), {}, "blocked"),                 # ... or rows of 11
])
def test_auto_picks_the_engine_for_the_shape(x_shape, w_shape, kw, expected):
    nd = len(x_shape) - 2
    pads = [(kw.get("padding", 0),) * 2] * nd
    engine = conv_engines.select(x_shape, w_shape, pads, (1,) * nd, (1,) * nd, kw.get("groups", 1), np.float32)
    assert (engine.name if engine is not None else "im2col") == expected


def test_an_engine_that_does_not_apply_falls_back_to_im2col():
    set_conv_engine("pointwise")
    assert conv_engines.select((2, 3, 8, 8), (4, 3, 3, 3), [(1, 1)] * 2, (1, 1), (1, 1), 1, np.float64) is None
    set_conv_engine("depthwise")
    assert conv_engines.select((2, 3, 8, 8), (4, 3, 3, 3), [(1, 1)] * 2, (1, 1), (1, 1), 1, np.float64) is None
    assert conv_engines.select((2, 3, 8, 8), (3, 1, 3, 3), [(1, 1)] * 2, (1, 1), (1, 1), 3, np.float64) is not None


# ============================================================================================
# Fast engines against the reference, on plain arrays, over randomised configurations
# ============================================================================================

def _ints(a):
    return tuple(int(v) for v in a)


def random_engine_config(seed: int, kind: str) -> dict:
    """A random convolution the engine `kind` applies to (shapes, pads, stride, dilation, groups)."""
    r = np.random.default_rng(5000 + seed)
    nd = (1, 2, 2, 3)[seed % 4]
    n = int(r.choice([1, 1, 2, 3, 5]))
    stride = _ints(r.choice([1, 1, 2, 3], nd))
    dilation = _ints(r.choice([1, 1, 2, 3], nd))
    if kind == "dense":                         # the kernel covers the input: one output position
        groups = int(r.choice([1, 1, 2, 3]))
        cin, cout = groups * int(r.integers(1, 4)), groups * int(r.integers(1, 5))
        kernel = _ints(r.integers(1, 6 if nd < 3 else 4, nd))
        return dict(x=(n, cin, *kernel), w=(cout, cin // groups, *kernel), pads=[(0, 0)] * nd, stride=stride,
                    dilation=(1,) * nd, groups=groups, same=False)
    if kind == "pointwise":
        kernel = (1,) * nd
        groups = int(r.choice([1, 1, 2, 3]))
        cin, cout = groups * int(r.integers(1, 4)), groups * int(r.integers(1, 4))
        pads = [(0, 0)] * nd
    else:
        kernel = _ints(r.integers(1, 5 if nd < 3 else 4, nd))
        if kind == "depthwise":
            groups = cin = int(r.integers(2, 6))
            cout = cin * int(r.choice([1, 1, 2]))
        else:
            groups = int(r.choice([1, 1, 2, 3]))
            # small channel counts use gather mode, larger ones a GEMM per offset
            cig = int(r.choice([1, 2, 3, 17, 20]))
            cin, cout = groups * cig, groups * int(r.integers(1, 5))
        mode = r.choice(["sym", "asym", "same"])
        if mode == "same":
            stride = (1,) * nd
            pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
        elif mode == "sym":
            pads = [(p, p) for p in _ints(r.integers(0, 3, nd))]
        else:                                    # as conv_transpose uses them, and larger than the kernel
            pads = [_ints(r.integers(0, 4, 2)) for _ in range(nd)]
    tight = r.random() < 0.2
    spatial = tuple(max(1, d * (k - 1) + 1 - a - b) + (0 if tight else int(r.integers(0, 7 if nd < 3 else 4)))
                    for k, d, (a, b) in zip(kernel, dilation, pads))
    return dict(x=(n, cin, *spatial), w=(cout, cin // groups, *kernel), pads=pads, stride=stride,
                dilation=dilation, groups=groups, same=kind != "pointwise" and mode == "same")


CONFIGS = [(kind, seed) for kind in FAST for seed in range(24 if kind in ("shifted", "blocked", "chwn") else 12)]


@pytest.fixture(params=["default", "tiny-chunks"])
def chunking(request, monkeypatch):
    """Default chunks, or one sample per chunk (so every worker loops over several chunks)."""
    if request.param == "tiny-chunks":
        monkeypatch.setattr(conv_engines, "SHARE_ABOVE", 0)
        for cls in (conv_engines.Shifted, conv_engines.Blocked, conv_engines.ChannelsHeightWidthBatch,
                    conv_engines.Pointwise, conv_engines.Depthwise):
            monkeypatch.setattr(cls, "chunk_bytes", 1)
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind,seed", CONFIGS, ids=[f"{k}-{s}" for k, s in CONFIGS])
def test_fast_engine_equals_reference(kind, seed, dtype, chunking):
    cfg = random_engine_config(seed, kind)
    engine = conv_engines._BY_NAME[kind]
    args = (cfg["pads"], cfg["stride"], cfg["dilation"], cfg["groups"])
    assert engine.applies(cfg["x"], cfg["w"], *args, dtype)
    r = np.random.default_rng(seed)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    for _ in range(2):                          # twice: reused workspaces must not leak old data
        x = r.standard_normal(cfg["x"]).astype(dtype)
        w = r.standard_normal(cfg["w"]).astype(dtype)
        y_ref = reference.conv_forward(x, w, *args)
        y, saved = engine.forward(x, w, *args, True)
        assert y.dtype == dtype and y.flags.c_contiguous
        assert_close(y, y_ref, tol, f"{kind} forward {cfg}")
        g = r.standard_normal(y_ref.shape).astype(dtype)
        dx, dw = engine.backward(g, x, w, saved, *args, True, True)
        assert_close(dx, reference.conv_input_grad(g, w, x.shape, *args), tol, f"{kind} dx {cfg}")
        assert_close(dw, reference.conv_weight_grad(g, x, w.shape, *args), tol, f"{kind} dw {cfg}")
        assert dx.dtype == dtype and dw.dtype == dtype
        only_dx, none_dw = engine.backward(g, x, w, saved, *args, True, False)
        none_dx, only_dw = engine.backward(g, x, w, saved, *args, False, True)
        assert none_dw is None and none_dx is None
        np.testing.assert_array_equal(only_dx, dx)
        assert_close(only_dw, dw, tol, "dw alone")


@pytest.fixture
def unfold_above(request, monkeypatch):
    monkeypatch.setattr(conv_engines, "UNFOLD_ABOVE", request.param)
    conv_engines._geometry.cache_clear()
    yield request.param
    conv_engines._geometry.cache_clear()


@pytest.mark.parametrize("unfold_above", [-1.0, float("inf")], ids=["unfold-always", "unfold-never"],
                         indirect=True)
@pytest.mark.parametrize("gather_below", [0, 1000])
@pytest.mark.parametrize("seed", range(8))
def test_shifted_both_modes_equal_reference(seed, gather_below, unfold_above, monkeypatch):
    """Force a GEMM per offset even for one channel (0), or gather mode even for many (1000);
    unfold the last axis wherever the layout allows it, or never."""
    monkeypatch.setattr(conv_engines.Shifted, "gather_below", gather_below)
    cfg = random_engine_config(100 + seed, "shifted")
    args = (cfg["pads"], cfg["stride"], cfg["dilation"], cfg["groups"])
    r = np.random.default_rng(seed)
    x, w = r.standard_normal(cfg["x"]), r.standard_normal(cfg["w"])
    y, _ = conv_engines.SHIFTED.forward(x, w, *args, True)
    assert_close(y, reference.conv_forward(x, w, *args), 1e-10, f"forward {cfg}")
    g = r.standard_normal(y.shape)
    dx, dw = conv_engines.SHIFTED.backward(g, x, w, None, *args, True, True)
    assert_close(dx, reference.conv_input_grad(g, w, x.shape, *args), 1e-10, f"dx {cfg}")
    assert_close(dw, reference.conv_weight_grad(g, x, w.shape, *args), 1e-10, f"dw {cfg}")


def test_random_engine_configs_cover_the_awkward_cases():
    cfgs = [random_engine_config(s, k) for k, s in CONFIGS]
    assert {len(c["x"]) - 2 for c in cfgs} == {1, 2, 3}
    assert any(c["x"][0] == 1 for c in cfgs)                                          # batch of one
    assert any(3 in c["dilation"] for c in cfgs) and any(2 in c["dilation"] for c in cfgs)
    assert any(c["groups"] > 1 and c["w"][1] == 1 for c in cfgs)                      # depthwise
    assert any(c["groups"] > 1 and c["w"][1] > 1 for c in cfgs)                       # grouped
    assert any(c["same"] and any(k % 2 == 0 for k in c["w"][2:]) for c in cfgs)     # 'same', even kernel
    assert any(any(a != b for a, b in c["pads"]) for c in cfgs)                       # asymmetric
    assert any(any(a > k for (a, _), k in zip(c["pads"], c["w"][2:])) for c in cfgs)  # padding > kernel
    layouts = set()
    for (kind, _), c in zip(CONFIGS, cfgs):
        if kind in ("shifted", "depthwise"):
            geo = conv_engines.geometry(c["x"][2:], c["w"][2:], c["pads"], c["stride"], c["dilation"])
            layouts.add((kind, "unfolded" if geo.unfolded else "compact" if geo.compact else "phases"))
    assert layouts == {(k, lay) for k in ("shifted", "depthwise") for lay in ("unfolded", "compact", "phases")}
    shifted = [c for (k, _), c in zip(CONFIGS, cfgs) if k == "shifted"]
    assert any(c["w"][1] < conv_engines.Shifted.gather_below for c in shifted)
    assert any(c["w"][1] >= conv_engines.Shifted.gather_below for c in shifted)
    rooms = [(x + a + b - d * (k - 1) - 1, s) for c in cfgs
             for x, (a, b), k, s, d in zip(c["x"][2:], c["pads"], c["w"][2:], c["stride"], c["dilation"])]
    assert any(room % s for room, s in rooms)                                         # stride does not divide
    assert any(room == 0 for room, _ in rooms)                                        # kernel = padded input


# ============================================================================================
# PyTorch parity of the public functions under every engine (a sample of test_convolution's)
# ============================================================================================

ENGINE_NAMES = ("reference", "im2col", "shifted", "blocked", "chwn", "pointwise", "dense", "depthwise", "auto")
CONV_SAMPLE = list(CONV_CASES) + [f"random{s}" for s in range(0, 24, 2)]
CONVT_SAMPLE = list(CONVT_CASES) + [f"random{s}" for s in range(0, 24, 3)]


@pytest.fixture(params=ENGINE_NAMES)
def engine(request):
    set_conv_engine(request.param)
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("parity,functions,sample", [(CONV_PARITY, CONV, CONV_SAMPLE),
                                                     (CONVT_PARITY, CONVT, CONVT_SAMPLE)],
                         ids=["conv", "conv_transpose"])
def test_parity_under_every_engine(engine, parity, functions, sample, dtype):
    for name in sample:
        cfg = parity[name]
        ours, theirs = functions[cfg["nd"]]
        x, w, b = _inputs(cfg, seed=len(name))
        compare_with_torch(_bind(ours, cfg), _bind(theirs, cfg), _args(x, w, b), dtype=dtype,
                           what=f"{engine} {name} {cfg}")


# the cases each special engine really applies to, through the public functions (the sample above
# mostly falls back to im2col under "pointwise" and "depthwise")
SPECIAL = {
    "pointwise": [(2, (3, 6, 7, 5), (4, 6, 1, 1), dict(stride=(2, 3))),
                  (1, (2, 4, 9), (6, 2, 1), dict(groups=2)),
                  (3, (1, 3, 3, 4, 5), (2, 3, 1, 1, 1), dict(stride=2))],
    "depthwise": [(2, (2, 4, 9, 8), (4, 1, 3, 3), dict(padding=1, groups=4)),
                  (2, (1, 3, 7, 6), (6, 1, 4, 2), dict(padding="same", dilation=(1, 3), groups=3)),
                  (1, (3, 5, 11), (5, 1, 3), dict(stride=2, padding=2, dilation=2, groups=5)),
                  (3, (2, 2, 4, 5, 6), (4, 1, 2, 3, 2), dict(stride=(1, 2, 3), padding=1, groups=2))],
    "blocked": [(2, (3, 4, 9, 8), (6, 2, 3, 3), dict(stride=(2, 3), padding=(3, 2), dilation=(3, 1), groups=2)),
                (1, (2, 1, 12), (3, 1, 4), dict(padding="same", dilation=3)),
                (3, (2, 3, 4, 5, 4), (2, 3, 2, 3, 2), dict(stride=(2, 1, 2), padding=1))],
    "dense": [(2, (3, 6, 5, 4), (4, 3, 5, 4), dict(stride=2, groups=2)),
              (1, (1, 3, 7), (5, 3, 7), {}),
              (3, (2, 2, 2, 3, 2), (3, 2, 2, 3, 2), {})],
    "chwn": [(2, (3, 4, 9, 8), (6, 2, 3, 3), dict(stride=(2, 3), padding=(3, 2), dilation=(3, 1), groups=2)),
             (1, (2, 1, 12), (3, 1, 4), dict(padding="same", dilation=3)),
             (3, (1, 3, 4, 5, 4), (2, 3, 2, 3, 2), dict(stride=(2, 1, 2), padding=1))],
    "shifted": [(2, (3, 20, 9, 8), (6, 10, 3, 3), dict(stride=(2, 3), padding=(3, 2), dilation=(3, 1), groups=2)),
                (2, (1, 3, 6, 7), (4, 3, 2, 4), dict(padding="same", dilation=2)),
                (3, (2, 17, 4, 5, 4), (3, 17, 2, 3, 2), dict(stride=(2, 1, 2), padding=1))],
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", list(SPECIAL))
def test_special_engines_match_torch_through_the_public_functions(kind, dtype):
    set_conv_engine(kind)
    r = np.random.default_rng(11)
    for nd, xs, ws, kw in SPECIAL[kind]:
        x, w, b = r.standard_normal(xs), r.standard_normal(ws), r.standard_normal(ws[0])
        ours, theirs = CONV[nd]
        hits = []
        original = conv_engines.select

        def spy(*a, **k):
            e = original(*a, **k)
            hits.append(e.name if e is not None else "im2col")
            return e
        conv_engines.select = spy
        try:
            compare_with_torch(lambda x, w, b: ours(x, w, b, **kw), lambda x, w, b: theirs(x, w, b, **kw),
                               [x, w, b], dtype=dtype, what=f"{kind} {xs} {ws} {kw}")
        finally:
            conv_engines.select = original
        assert hits == [kind], hits


def test_unbatched_input_and_bias_under_fast_engines():
    r = np.random.default_rng(2)
    x, w, b = r.standard_normal((5, 9, 8)), r.standard_normal((4, 5, 3, 3)), r.standard_normal(4)
    set_conv_engine("shifted")
    compare_with_torch(lambda x, w, b: conv2d(x, w, b, padding=1), lambda x, w, b: F.conv2d(x, w, b, padding=1),
                       [x, w, b])
    set_conv_engine("depthwise")
    compare_with_torch(lambda x, w: conv2d(x, w, groups=5), lambda x, w: F.conv2d(x, w, groups=5),
                       [x, r.standard_normal((5, 1, 3, 3))])


def test_fast_engines_skip_unneeded_gradients(monkeypatch):
    """Only dW asked: dX is never allocated; only dX asked: x is not kept for the backward."""
    set_conv_engine("shifted")
    r = np.random.default_rng(3)
    x = cn.tensor(r.standard_normal((2, 3, 6, 6)))
    w = cn.tensor(r.standard_normal((4, 3, 3, 3)), requires_grad=True)
    calls = []
    original = conv_engines.Shifted.backward

    def spy(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw):
        calls.append((need_dx, need_dw))
        return original(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw)
    monkeypatch.setattr(conv_engines.Shifted, "backward", spy)
    conv2d(x, w, stride=2).backward(np.ones((2, 4, 2, 2)))
    assert calls == [(False, True)] and x.grad is None and w.grad.shape == w.shape
    x2 = cn.tensor(x.data, requires_grad=True)
    w2 = cn.tensor(w.data)
    y = conv2d(x2, w2, stride=2)
    assert y.grad_fn.ctx.x is None and y.grad_fn.ctx.cols is None
    y.backward(np.ones(y.shape))
    assert calls[-1] == (True, False) and x2.grad.shape == x2.shape


def test_a_large_layer_agrees_across_engines():
    """A benchmark-sized layer (several chunks per worker), float32: shifted versus im2col."""
    r = np.random.default_rng(4)
    x = cn.tensor(r.standard_normal((8, 32, 20, 20), dtype=np.float32), requires_grad=True)
    w = cn.tensor(r.standard_normal((48, 32, 3, 3), dtype=np.float32) / 17, requires_grad=True)
    results = {}
    for name in ("im2col", "shifted"):
        set_conv_engine(name)
        x.grad = w.grad = None
        y = conv2d(x, w, stride=2, padding=1)
        y.backward(np.cos(np.arange(y.data.size, dtype=np.float32)).reshape(y.shape))
        results[name] = (y.data, x.grad, w.grad)
    for a, b in zip(results["shifted"], results["im2col"]):
        assert_close(a, b, 1e-5, "large layer")


# ============================================================================================
# The reference pooling functions against PyTorch
# ============================================================================================

POOLS = [
    (2, (2, 3, 7, 8), dict(kernel=2, stride=2)),
    (2, (1, 2, 7, 8), dict(kernel=3, stride=2, padding=1, ceil_mode=True)),
    (2, (2, 1, 9, 6), dict(kernel=(3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True)),
    (1, (2, 3, 10), dict(kernel=4, stride=3, padding=2, ceil_mode=True)),
    (3, (1, 2, 5, 6, 7), dict(kernel=(2, 3, 2), stride=(2, 2, 3), padding=(1, 1, 0))),
    (2, (1, 1, 5, 5), dict(kernel=5, stride=1)),
]


@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("case", range(len(POOLS)))
def test_reference_max_pool_matches_torch(case, dilation):
    nd, shape, kw = POOLS[case]
    k = np.broadcast_to(kw["kernel"], (nd,))
    p = np.broadcast_to(kw.get("padding", 0), (nd,))
    if any(2 * pp > kk for pp, kk in zip(p, k)) or any(dilation * (kk - 1) + 1 > s + 2 * pp
                                                     for kk, s, pp in zip(k, shape[2:], p)):
        dilation = 1                               # PyTorch's limits: padding <= kernel/2, window fits
    x = np.random.default_rng(case).standard_normal(shape)
    ours = reference.max_pool_forward(x, kw["kernel"], kw["stride"], kw.get("padding", 0), dilation,
                                      kw.get("ceil_mode", False))
    fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
    theirs = fn(torch.tensor(x), kw["kernel"], kw["stride"], kw.get("padding", 0), dilation,
                ceil_mode=kw.get("ceil_mode", False))
    assert_close(ours, theirs, 1e-12, f"max_pool {POOLS[case]}")


@pytest.mark.parametrize("include_pad", [True, False])
@pytest.mark.parametrize("divisor", [None, 3])
@pytest.mark.parametrize("case", range(len(POOLS)))
def test_reference_avg_pool_matches_torch(case, include_pad, divisor):
    nd, shape, kw = POOLS[case]
    x = np.random.default_rng(case).standard_normal(shape)
    k, s, p, c = kw["kernel"], kw["stride"], kw.get("padding", 0), kw.get("ceil_mode", False)
    ours = reference.avg_pool_forward(x, k, s, p, c, include_pad, divisor)
    if nd == 1:       # avg_pool1d has no divisor_override: the same pooling as a 2-D one of height 1
        theirs = F.avg_pool2d(torch.tensor(x)[:, :, None], (1, k), (1, s), (0, p), c, include_pad,
                              divisor_override=divisor)[:, :, 0]
    else:
        fn = {2: F.avg_pool2d, 3: F.avg_pool3d}[nd]
        theirs = fn(torch.tensor(x), k, s, p, c, include_pad, divisor_override=divisor)
    assert_close(ours, theirs, 1e-12, f"avg_pool {POOLS[case]} include_pad={include_pad} divisor={divisor}")


# ============================================================================================
# The BLAS helper
# ============================================================================================

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fallback", [False, True])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm_on_strided_views(dtype, fallback, trans_a, trans_b, monkeypatch):
    if fallback:
        monkeypatch.setattr(parallel, "_GEMM", {})
    r = np.random.default_rng(0)
    big = r.standard_normal((9, 40)).astype(dtype)
    a = big[1:6, 3:10] if not trans_a else big[1:8, 3:8]           # rows 40 apart: leading dimension 40
    b = big[2:9, 10:14] if not trans_b else big[0:4, 20:27]
    op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
    c = r.standard_normal((12, 30)).astype(dtype)
    view = c[2:7, 5:9]
    expected = view + op_a @ op_b
    parallel.gemm(a, b, view, trans_a=trans_a, trans_b=trans_b, beta=1.0)
    np.testing.assert_allclose(view, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)
    parallel.gemm(a, b, view, trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_allclose(view, op_a @ op_b, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert c[0, 0] != 0 and np.isfinite(c).all()


def test_gemm_rejects_views_blas_cannot_read():
    a = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match=r"gemm: expected 2-D views of one dtype \(float32\) with a contiguous "
                                         r"last axis.*Received: shape \(4, 2\), strides \(16, 8\)"):
        parallel.gemm(a, a[:, ::2], np.zeros((4, 2), np.float32))


def test_workspaces_are_reused_and_zeroed_once():
    parallel.clear_workspaces()
    a = parallel.workspace("t", (3, 4), np.float32, zero=True)
    assert not a.any()
    a[0, 0] = 5
    assert parallel.workspace("t", (3, 4), np.float32, zero=True) is a
    assert parallel.workspace("t", (3, 5), np.float32, zero=True) is not a
    parallel.clear_workspaces()
    assert not parallel.workspace("t", (3, 4), np.float32, zero=True).any()


def test_set_num_workers(monkeypatch):
    monkeypatch.setitem(parallel._WORKERS, "n", None)
    parallel.set_num_workers(1)
    assert parallel.workers() == 1
    assert parallel.parallel_map(lambda v: v * 2, range(5)) == [0, 2, 4, 6, 8]
    parallel.set_num_workers(None)
    assert parallel.workers() == max(1, min(8, parallel.cpu_count()))
    with pytest.raises(ValueError, match=r"set_num_workers: expected a positive int or None\. Received: 0"):
        parallel.set_num_workers(0)


def test_parallel_map_keeps_order_and_runs_inline_for_one_item():
    assert parallel.parallel_map(lambda v: v * v, range(7)) == [v * v for v in range(7)]
    assert parallel.parallel_map(lambda v: v + 1, [41]) == [42]

