"""Convolution kernels: every engine equals the lecture (im2col + GEMM) and the sliding dot product.

- the switch: cn.set_engine(conv=...), and set_conv_engine / get_conv_engine / conv_engine as its
  thin alias ("im2col" is an old name of "reference");
- select: "reference" never picks a kernel; a kernel name picks it where it applies; "auto" picks
  per shape, and flips on either side of every threshold (monkeypatched);
- each engine on plain arrays against ops/sliding.py over randomised configurations: 1-D/2-D/3-D,
  strides that do not divide, padding including 'same' with even kernels and padding larger than
  the kernel, dilation 2 and 3, groups and depthwise, batch of one, several chunks and both workers,
  both sides of GATHER_BELOW and UNFOLD_ABOVE;
- each kernel Function against the lecture's ConvNd / ConvTransposeNd with the same ConvConfig:
  forward, dX, dW and db in float32 and float64, batched and unbatched;
- a sample of test_convolution's PyTorch parity cases run under every engine;
- the BLAS helper and the workspaces the engines stand on.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from helpers import assert_close, compare_with_torch
from ops.test_convolution import CONV, CONV_CASES, CONV_PARITY, CONVT, CONVT_CASES, CONVT_PARITY, _args, _bind, _inputs

import convnp as cn
from convnp.arraymath import parallel
from convnp.arraymath.conv_arithmetic import Window
from convnp.arraymath.conv_config import ConvConfig
from convnp.kernels import conv as kconv
from convnp.kernels import engine as switch
from convnp.ops import conv_engine, get_conv_engine, set_conv_engine, sliding
from convnp.ops.convolution import ConvNd, ConvTransposeNd, conv2d

FAST = ("shifted", "blocked", "chwn", "pointwise", "dense", "depthwise")
TOL = {np.float64: 1e-10, np.float32: 1e-4}


@pytest.fixture(autouse=True)
def _auto_then_restore():
    """Every test starts on "auto" (whatever --engine says) and leaves the switch as it found it."""
    before = cn.get_engine()
    cn.set_engine("auto")
    yield
    cn.set_engine(**before)


# ============================================================================================
# The switch
# ============================================================================================


def test_the_family_line_names_every_engine():
    assert switch.FAMILIES["conv"] == FAST == tuple(kconv.ENGINES)
    assert set(kconv.KERNELS) == set(kconv.TRANSPOSE_KERNELS) == set(FAST)
    assert kconv.KERNELS["shifted"].__name__ == "ShiftedConv"
    assert kconv.TRANSPOSE_KERNELS["depthwise"].__name__ == "DepthwiseConvTranspose"


def test_set_conv_engine_is_an_alias_of_set_engine():
    cn.set_engine("auto")
    assert get_conv_engine() == "auto"
    for name in ("reference",) + FAST + ("auto",):
        set_conv_engine(name)
        assert get_conv_engine() == name == cn.get_engine("conv")
        assert cn.get_engine("pool") == "auto"  # only convolution changes
    set_conv_engine("im2col")  # the old name of the lecture's engine
    assert get_conv_engine() == "reference"
    with conv_engine("shifted"):
        assert cn.get_engine("conv") == "shifted"
        with conv_engine("im2col"):
            assert cn.get_engine("conv") == "reference"
    assert get_conv_engine() == "reference"
    assert cn.set_conv_engine is set_conv_engine and cn.get_conv_engine is get_conv_engine
    assert cn.conv_engine is conv_engine


def test_conv_engine_context_restores_after_an_error():
    set_conv_engine("reference")
    with pytest.raises(RuntimeError):
        with conv_engine("shifted"):
            raise RuntimeError("boom")
    assert get_conv_engine() == "reference"


def test_set_conv_engine_errors():
    before = get_conv_engine()
    with pytest.raises(
        ValueError,
        match=r"set_engine: unknown engine for 'conv'; expected one of auto, reference, "
        r"shifted, blocked, chwn, pointwise, dense, depthwise\. "
        r"Received: conv='fast'",
    ):
        set_conv_engine("fast")
    with pytest.raises(TypeError, match=r"set_engine: the engine of 'conv' must be a str, .*Received: 3 of type int"):
        set_conv_engine(3)
    assert get_conv_engine() == before


def test_blas_info_is_exported_from_ops():
    import convnp.ops as ops

    info = ops.blas_info()
    assert info.startswith("OpenBLAS ") or info == "BLAS: not NumPy's bundled OpenBLAS", info


# ============================================================================================
# select
# ============================================================================================


def _config(x_shape, w_shape, padding=0, stride=1, dilation=1, groups=1):
    nd = len(x_shape) - 2
    pads = tuple((p, p) for p in np.broadcast_to(padding, (nd,)).tolist())
    window = Window(
        tuple(w_shape[2:]),
        tuple(np.broadcast_to(stride, (nd,)).tolist()),
        pads,
        tuple(np.broadcast_to(dilation, (nd,)).tolist()),
    )
    return ConvConfig(window, groups, tuple(x_shape))


def _picked(x_shape, w_shape, dtype=np.float32, **kw):
    function = kconv.select(_config(x_shape, w_shape, **kw), w_shape, np.dtype(dtype))
    return "lecture" if function is None else function.engine.name


@pytest.mark.parametrize(
    "x_shape,w_shape,kw,expected",
    [
        ((64, 64, 32, 32), (64, 64, 3, 3), dict(padding=1), "shifted"),
        ((64, 64, 32, 32), (64, 64, 1, 1), {}, "pointwise"),
        ((64, 64, 32, 32), (64, 1, 3, 3), dict(padding=1, groups=64), "depthwise"),
        ((256, 1, 32, 32), (6, 1, 5, 5), {}, "blocked"),
        ((64, 3, 32, 32), (32, 3, 3, 3), dict(padding=1), "blocked"),
        ((1, 1, 4, 4), (1, 1, 3, 3), {}, "lecture"),  # tiny: im2col's lower overhead
        ((128, 16, 5, 5), (120, 16, 5, 5), {}, "dense"),  # LeNet's C5: a fully connected layer
        ((1, 16, 5, 5), (120, 16, 5, 5), {}, "dense"),
        ((128, 16, 6, 5), (120, 16, 5, 5), {}, "lecture"),  # 2 output positions
        ((128, 512, 2, 2), (512, 512, 3, 3), dict(padding=1), "shifted"),  # VGG-CIFAR's last stage
        ((1, 64, 8, 8), (64, 64, 3, 3), dict(padding=1), "blocked"),  # batch of one: one block, one GEMM
        ((128, 6, 14, 14), (16, 6, 5, 5), {}, "chwn"),  # LeNet's C3: rows of 10 outputs
        ((1, 6, 14, 14), (16, 6, 5, 5), {}, "blocked"),  # ... but a single sample
        ((128, 1, 14, 14), (16, 1, 5, 5), {}, "blocked"),  # ... or one input channel
        ((128, 6, 15, 15), (16, 6, 5, 5), {}, "blocked"),  # ... or rows of 11
    ],
)
def test_auto_picks_the_kernel_for_the_shape(x_shape, w_shape, kw, expected):
    assert _picked(x_shape, w_shape, **kw) == expected


def test_auto_leaves_other_dtypes_to_the_lecture():
    assert _picked((64, 64, 32, 32), (64, 64, 3, 3), np.float16, padding=1) == "lecture"
    assert _picked((64, 64, 32, 32), (64, 64, 3, 3), np.float64, padding=1) == "shifted"


def test_reference_and_named_kernels():
    cn.set_engine("reference")
    assert _picked((64, 64, 32, 32), (64, 64, 3, 3), padding=1) == "lecture"
    cn.set_engine(conv="pointwise")  # applies to 1x1 only
    assert _picked((2, 3, 8, 8), (4, 3, 3, 3), np.float64, padding=1) == "lecture"
    assert _picked((2, 3, 8, 8), (4, 3, 1, 1), np.float64) == "pointwise"
    cn.set_engine(conv="depthwise")
    assert _picked((2, 3, 8, 8), (4, 3, 3, 3), np.float64, padding=1) == "lecture"
    assert _picked((2, 3, 8, 8), (3, 1, 3, 3), np.float64, padding=1, groups=3) == "depthwise"
    cn.set_engine(conv="shifted")  # even where "auto" keeps the lecture
    assert _picked((1, 1, 4, 4), (1, 1, 3, 3), np.float64) == "shifted"
    transposed = ConvConfig(Window((3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)), 1, (2, 4, 5, 5), False, (1, 1))
    assert kconv.select(transposed, (4, 3, 3, 3), np.dtype(np.float64)) is kconv.TRANSPOSE_KERNELS["shifted"]
    cn.set_engine("reference")
    assert kconv.select(transposed, (4, 3, 3, 3), np.dtype(np.float64)) is None


# Each threshold of "auto", a shape on its edge (LeNet's C3 at batch 128: 6 -> 16 channels, 5x5 kernel,
# 10x10 outputs on an unfolded 14 x 10 grid, 60,211,200 multiply-adds) and the threshold's values on
# either side of the shape, with what auto picks at each.
THRESHOLDS = [
    ("TINY_MACS", (60211201, "lecture"), (60211200, "chwn")),
    ("FEW_POSITIONS", (101, "lecture"), (100, "chwn")),
    ("SPARSE_GRID", (1.4, "lecture"), (1.5, "chwn")),  # 100 positions * 1.4 <= 140 grid columns
    ("GATHER_BELOW", (7, "chwn"), (6, "shifted")),
    ("SHORT_ROW", (10, "chwn"), (9, "blocked")),
]


@pytest.mark.parametrize("name,one_side,other_side", THRESHOLDS, ids=[t[0] for t in THRESHOLDS])
def test_auto_flips_at_each_threshold(name, one_side, other_side, monkeypatch):
    """With the threshold moved to either side of the shape, auto picks each side's kernel; and the
    convolution computed on either side equals the lecture's."""
    x_shape, w_shape = (128, 6, 14, 14), (16, 6, 5, 5)
    r = np.random.default_rng(0)
    small = (2, *x_shape[1:])  # the numbers on a small batch (the choice is checked at full size)
    x, w, b = r.standard_normal(small), r.standard_normal(w_shape), r.standard_normal(w_shape[0])
    expected = _run(ConvNd, x, w, b, _config(small, w_shape))
    for value, picked in (one_side, other_side):
        monkeypatch.setattr(kconv, name, value)
        assert _picked(x_shape, w_shape) == picked, (name, value)
        if picked != "lecture":
            got = _run(kconv.KERNELS[picked], x, w, b, _config(small, w_shape))
            for a, e, what in zip(got, expected, ("y", "dx", "dw", "db")):
                assert_close(a, e, 1e-10, f"{name}={value} {picked} {what}")


def test_unfold_above_decides_the_layout(monkeypatch):
    """8x8 images with padding 1 waste 27% of a compact row: unfolded at 0.1, compact at 0.3."""
    for value, unfolded in ((0.1, True), (0.3, False)):
        monkeypatch.setattr(kconv, "UNFOLD_ABOVE", value)
        kconv._geometry.cache_clear()
        geo = kconv.geometry((8, 8), (3, 3), [(1, 1)] * 2, (1, 1), (1, 1))
        assert geo.unfolded is unfolded and geo.compact
    kconv._geometry.cache_clear()


# ============================================================================================
# Engines on plain arrays against the sliding dot product, over randomised configurations
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
    if kind == "dense":  # the kernel covers the input: one output position
        groups = int(r.choice([1, 1, 2, 3]))
        cin, cout = groups * int(r.integers(1, 4)), groups * int(r.integers(1, 5))
        kernel = _ints(r.integers(1, 6 if nd < 3 else 4, nd))
        return dict(
            x=(n, cin, *kernel),
            w=(cout, cin // groups, *kernel),
            pads=((0, 0),) * nd,
            stride=stride,
            dilation=(1,) * nd,
            groups=groups,
            same=False,
        )
    if kind == "pointwise":
        kernel = (1,) * nd
        groups = int(r.choice([1, 1, 2, 3]))
        cin, cout = groups * int(r.integers(1, 4)), groups * int(r.integers(1, 4))
        pads = ((0, 0),) * nd
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
            pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
        elif mode == "sym":
            pads = tuple((p, p) for p in _ints(r.integers(0, 3, nd)))
        else:  # as conv_transpose uses them, and larger than the kernel
            pads = tuple(_ints(r.integers(0, 4, 2)) for _ in range(nd))
    tight = r.random() < 0.2
    spatial = tuple(
        max(1, d * (k - 1) + 1 - a - b) + (0 if tight else int(r.integers(0, 7 if nd < 3 else 4)))
        for k, d, (a, b) in zip(kernel, dilation, pads)
    )
    return dict(
        x=(n, cin, *spatial),
        w=(cout, cin // groups, *kernel),
        pads=pads,
        stride=stride,
        dilation=dilation,
        groups=groups,
        same=kind != "pointwise" and mode == "same",
    )


CONFIGS = [(kind, seed) for kind in FAST for seed in range(24 if kind in ("shifted", "blocked", "chwn") else 12)]


@pytest.fixture(params=["default", "tiny-chunks"])
def chunking(request, monkeypatch):
    """Default chunks, or one sample per chunk and every call shared between the workers (SHARE_ABOVE
    and CHUNK_BYTES on their other side: every worker loops over several chunks)."""
    if request.param == "tiny-chunks":
        monkeypatch.setattr(kconv, "SHARE_ABOVE", 0)
        for name in kconv.CHUNK_BYTES:
            monkeypatch.setitem(kconv.CHUNK_BYTES, name, 1)
    return request.param


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind,seed", CONFIGS, ids=[f"{k}-{s}" for k, s in CONFIGS])
def test_engine_equals_the_sliding_dot_product(kind, seed, dtype, chunking):
    cfg = random_engine_config(seed, kind)
    engine = kconv.ENGINES[kind]
    args = (cfg["pads"], cfg["stride"], cfg["dilation"], cfg["groups"])
    assert engine.applies(cfg["x"], cfg["w"], *args, dtype)
    r = np.random.default_rng(seed)
    tol = TOL[dtype]
    for _ in range(2):  # twice: reused workspaces must not leak old data
        x = r.standard_normal(cfg["x"]).astype(dtype)
        w = r.standard_normal(cfg["w"]).astype(dtype)
        y_ref = sliding.conv_forward(x, w, *args)
        y, saved = engine.forward(x, w, *args, True)
        assert y.dtype == dtype and y.flags.c_contiguous
        assert_close(y, y_ref, tol, f"{kind} forward {cfg}")
        g = r.standard_normal(y_ref.shape).astype(dtype)
        dx, dw = engine.backward(g, x, w, saved, *args, True, True)
        assert_close(dx, sliding.conv_input_grad(g, w, x.shape, *args), tol, f"{kind} dx {cfg}")
        assert_close(dw, sliding.conv_weight_grad(g, x, w.shape, *args), tol, f"{kind} dw {cfg}")
        assert dx.dtype == dtype and dw.dtype == dtype
        only_dx, none_dw = engine.backward(g, x, w, saved, *args, True, False)
        none_dx, only_dw = engine.backward(g, x, w, saved, *args, False, True)
        assert none_dw is None and none_dx is None
        np.testing.assert_array_equal(only_dx, dx)
        assert_close(only_dw, dw, tol, "dw alone")


@pytest.fixture
def unfold_above(request, monkeypatch):
    monkeypatch.setattr(kconv, "UNFOLD_ABOVE", request.param)
    kconv._geometry.cache_clear()
    yield request.param
    kconv._geometry.cache_clear()


@pytest.mark.parametrize("unfold_above", [-1.0, float("inf")], ids=["unfold-always", "unfold-never"], indirect=True)
@pytest.mark.parametrize("gather_below", [0, 1000])
@pytest.mark.parametrize("kind", ["shifted", "depthwise"])
@pytest.mark.parametrize("seed", range(8))
def test_wide_layout_engines_on_both_sides_of_their_thresholds(kind, seed, gather_below, unfold_above, monkeypatch):
    """Force a GEMM per offset even for one channel (GATHER_BELOW 0), or gather mode even for many
    (1000); unfold the last axis wherever the layout allows it, or never."""
    monkeypatch.setattr(kconv, "GATHER_BELOW", gather_below)
    cfg = random_engine_config(100 + seed, kind)
    args = (cfg["pads"], cfg["stride"], cfg["dilation"], cfg["groups"])
    r = np.random.default_rng(seed)
    x, w = r.standard_normal(cfg["x"]), r.standard_normal(cfg["w"])
    engine = kconv.ENGINES[kind]
    y, _ = engine.forward(x, w, *args, True)
    assert_close(y, sliding.conv_forward(x, w, *args), 1e-10, f"forward {cfg}")
    g = r.standard_normal(y.shape)
    dx, dw = engine.backward(g, x, w, None, *args, True, True)
    assert_close(dx, sliding.conv_input_grad(g, w, x.shape, *args), 1e-10, f"dx {cfg}")
    assert_close(dw, sliding.conv_weight_grad(g, x, w.shape, *args), 1e-10, f"dw {cfg}")


def test_random_engine_configs_cover_the_awkward_cases():
    cfgs = [random_engine_config(s, k) for k, s in CONFIGS]
    assert {len(c["x"]) - 2 for c in cfgs} == {1, 2, 3}
    assert any(c["x"][0] == 1 for c in cfgs)  # batch of one
    assert any(3 in c["dilation"] for c in cfgs) and any(2 in c["dilation"] for c in cfgs)
    assert any(c["groups"] > 1 and c["w"][1] == 1 for c in cfgs)  # depthwise
    assert any(c["groups"] > 1 and c["w"][1] > 1 for c in cfgs)  # grouped
    assert any(c["same"] and any(k % 2 == 0 for k in c["w"][2:]) for c in cfgs)  # 'same', even kernel
    assert any(any(a != b for a, b in c["pads"]) for c in cfgs)  # asymmetric
    assert any(any(a > k for (a, _), k in zip(c["pads"], c["w"][2:])) for c in cfgs)  # padding > kernel
    layouts = set()
    for (kind, _), c in zip(CONFIGS, cfgs):
        if kind in ("shifted", "depthwise"):
            geo = kconv.geometry(c["x"][2:], c["w"][2:], c["pads"], c["stride"], c["dilation"])
            layouts.add((kind, "unfolded" if geo.unfolded else "compact" if geo.compact else "phases"))
    assert layouts == {(k, lay) for k in ("shifted", "depthwise") for lay in ("unfolded", "compact", "phases")}
    shifted = [c for (k, _), c in zip(CONFIGS, cfgs) if k == "shifted"]
    assert any(c["w"][1] < kconv.GATHER_BELOW for c in shifted)
    assert any(c["w"][1] >= kconv.GATHER_BELOW for c in shifted)
    rooms = [
        (x + a + b - d * (k - 1) - 1, s)
        for c in cfgs
        for x, (a, b), k, s, d in zip(c["x"][2:], c["pads"], c["w"][2:], c["stride"], c["dilation"])
    ]
    assert any(room % s for room, s in rooms)  # stride does not divide
    assert any(room == 0 for room, _ in rooms)  # kernel = padded input


# ============================================================================================
# Kernel Functions against the lecture's, with the same ConvConfig
# ============================================================================================


def _run(function, x, w, b, config, seed=1):
    """(y, dx, dw, db) of function.apply(x, w, b, config=config) for a random upstream gradient."""
    xt, wt, bt = (cn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = function.apply(xt, wt, bt, config=config)
    assert y._node.function is function and y._node.ctx.config is config
    y.backward(np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype))
    return y.data, xt.grad, wt.grad, bt.grad


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind,seed", CONFIGS, ids=[f"{k}-{s}" for k, s in CONFIGS])
def test_kernel_function_equals_the_lecture(kind, seed, dtype):
    cfg = random_engine_config(seed, kind)
    r = np.random.default_rng(seed)
    x, w = r.standard_normal(cfg["x"]).astype(dtype), r.standard_normal(cfg["w"]).astype(dtype)
    b = r.standard_normal(cfg["w"][0]).astype(dtype)
    unbatched = cfg["x"][0] == 1 and seed % 2 == 0  # half the batches of one go in unbatched
    config = ConvConfig(
        Window(cfg["w"][2:], cfg["stride"], cfg["pads"], cfg["dilation"]), cfg["groups"], cfg["x"], unbatched
    )
    if unbatched:
        x = x[0]
    expected = _run(ConvNd, x, w, b, config)
    got = _run(kconv.KERNELS[kind], x, w, b, config)
    for a, e, what in zip(got, expected, ("y", "dx", "dw", "db")):
        assert a.dtype == dtype and a.shape == e.shape
        assert_close(a, e, TOL[dtype], f"{kind} {what} {cfg}")


def random_transpose_config(seed: int, kind: str) -> tuple:
    """A transposed convolution whose convolution (on the full scatter, no padding) `kind` applies to."""
    r = np.random.default_rng(7000 + seed)
    cfg = random_engine_config(seed, kind)
    nd = len(cfg["x"]) - 2
    # the convolution it transposes maps (N, C_out, *full) to (N, C_in, *spatial): take its output as our input
    spatial = tuple(
        (f + a + b - d * (k - 1) - 1) // s + 1
        for f, (a, b), k, s, d in zip(cfg["x"][2:], cfg["pads"], cfg["w"][2:], cfg["stride"], cfg["dilation"])
    )
    groups = cfg["groups"]
    cin, cout = cfg["w"][0], cfg["x"][1]  # transposed weight (C_in, C_out/G, *k)
    full = tuple(
        (i - 1) * s + d * (k - 1) + 1 for i, k, s, d in zip(spatial, cfg["w"][2:], cfg["stride"], cfg["dilation"])
    )
    padding = tuple(int(r.integers(0, (f - 1) // 2 + 1)) for f in full)  # an output of at least 1
    outpad = tuple(int(r.integers(0, max(s, d))) for s, d in zip(cfg["stride"], cfg["dilation"]))
    window = Window(cfg["w"][2:], cfg["stride"], tuple((p, p) for p in padding), cfg["dilation"])
    x_shape = (cfg["x"][0], cin, *spatial)
    unbatched = x_shape[0] == 1 and seed % 2 == 0  # half the batches of one go in unbatched
    return ConvConfig(window, groups, x_shape, unbatched, outpad), x_shape, (cin, cout // groups, *cfg["w"][2:]), nd


TCONFIGS = [(kind, seed) for kind in FAST for seed in range(8)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind,seed", TCONFIGS, ids=[f"{k}-{s}" for k, s in TCONFIGS])
def test_transposed_kernel_function_equals_the_lecture(kind, seed, dtype):
    config, x_shape, w_shape, _ = random_transpose_config(seed, kind)
    out = config.output_shape(w_shape)
    if min(out[2:]) < 1:
        pytest.fail(f"bad generated config {config}")
    full = (x_shape[0], w_shape[1] * config.groups, *config.full_size())
    assert kconv.ENGINES[kind].applies(
        full,
        w_shape,
        ((0, 0),) * len(full[2:]),
        config.window.stride,
        config.window.dilation,
        config.groups,
        np.dtype(dtype),
    )
    r = np.random.default_rng(seed)
    x, w = r.standard_normal(x_shape).astype(dtype), r.standard_normal(w_shape).astype(dtype)
    b = r.standard_normal(out[1]).astype(dtype)
    if config.unbatched:
        x = x[0]
    expected = _run(ConvTransposeNd, x, w, b, config)
    got = _run(kconv.TRANSPOSE_KERNELS[kind], x, w, b, config)
    for a, e, what in zip(got, expected, ("y", "dx", "dw", "db")):
        assert a.dtype == dtype and a.shape == e.shape
        assert_close(a, e, TOL[dtype], f"{kind} transposed {what} {config}")


def test_random_transpose_configs_cover_the_awkward_cases():
    cfgs = [random_transpose_config(s, k)[0] for k, s in TCONFIGS]
    assert any(c.unbatched for c in cfgs) and any(c.input_shape[0] > 1 for c in cfgs)
    assert any(any(q > 0 for q in c.output_padding) for c in cfgs)
    assert any(any(a > 0 for a, _ in c.window.padding) for c in cfgs)
    assert any(c.groups > 1 for c in cfgs) and {len(c.window.kernel) for c in cfgs} == {1, 2, 3}
    assert any(any(s > 1 for s in c.window.stride) for c in cfgs) and any(3 in c.window.dilation for c in cfgs)


def test_the_kernel_context_has_the_lectures_config():
    r = np.random.default_rng(5)
    x = cn.tensor(r.standard_normal((2, 4, 9, 8)))
    w = cn.tensor(r.standard_normal((6, 2, 3, 3)), requires_grad=True)
    for name in ("reference", "shifted", "blocked", "chwn"):
        with cn.engine(conv=name):
            ctx = conv2d(x, w, stride=(2, 1), padding=(2, 1), dilation=(1, 2), groups=2)._node.ctx
        assert ctx.config == ConvConfig(Window((3, 3), (2, 1), ((2, 2), (1, 1)), (1, 2)), 2, (2, 4, 9, 8))


# ============================================================================================
# PyTorch parity of the public functions under every engine (a sample of test_convolution's)
# ============================================================================================

ENGINE_NAMES = ("reference",) + FAST + ("auto",)
CONV_SAMPLE = list(CONV_CASES) + [f"random{s}" for s in range(0, 24, 2)]
CONVT_SAMPLE = list(CONVT_CASES) + [f"random{s}" for s in range(0, 24, 3)]


@pytest.fixture(params=ENGINE_NAMES)
def engine(request):
    cn.set_engine(conv=request.param)
    return request.param


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    "parity,functions,sample",
    [(CONV_PARITY, CONV, CONV_SAMPLE), (CONVT_PARITY, CONVT, CONVT_SAMPLE)],
    ids=["conv", "conv_transpose"],
)
def test_parity_under_every_engine(engine, parity, functions, sample, dtype):
    for name in sample:
        cfg = parity[name]
        ours, theirs = functions[cfg["nd"]]
        x, w, b = _inputs(cfg, seed=len(name))
        compare_with_torch(
            _bind(ours, cfg), _bind(theirs, cfg), _args(x, w, b), dtype=dtype, what=f"{engine} {name} {cfg}"
        )


# the cases each engine really applies to, through the public functions (the sample above mostly
# falls back to the lecture under "pointwise" and "depthwise")
SPECIAL = {
    "pointwise": [
        (2, (3, 6, 7, 5), (4, 6, 1, 1), dict(stride=(2, 3))),
        (1, (2, 4, 9), (6, 2, 1), dict(groups=2)),
        (3, (1, 3, 3, 4, 5), (2, 3, 1, 1, 1), dict(stride=2)),
    ],
    "depthwise": [
        (2, (2, 4, 9, 8), (4, 1, 3, 3), dict(padding=1, groups=4)),
        (2, (1, 3, 7, 6), (6, 1, 4, 2), dict(padding="same", dilation=(1, 3), groups=3)),
        (1, (3, 5, 11), (5, 1, 3), dict(stride=2, padding=2, dilation=2, groups=5)),
        (3, (2, 2, 4, 5, 6), (4, 1, 2, 3, 2), dict(stride=(1, 2, 3), padding=1, groups=2)),
    ],
    "blocked": [
        (2, (3, 4, 9, 8), (6, 2, 3, 3), dict(stride=(2, 3), padding=(3, 2), dilation=(3, 1), groups=2)),
        (1, (2, 1, 12), (3, 1, 4), dict(padding="same", dilation=3)),
        (3, (2, 3, 4, 5, 4), (2, 3, 2, 3, 2), dict(stride=(2, 1, 2), padding=1)),
    ],
    "dense": [
        (2, (3, 6, 5, 4), (4, 3, 5, 4), dict(stride=2, groups=2)),
        (1, (1, 3, 7), (5, 3, 7), {}),
        (3, (2, 2, 2, 3, 2), (3, 2, 2, 3, 2), {}),
    ],
    "chwn": [
        (2, (3, 4, 9, 8), (6, 2, 3, 3), dict(stride=(2, 3), padding=(3, 2), dilation=(3, 1), groups=2)),
        (1, (2, 1, 12), (3, 1, 4), dict(padding="same", dilation=3)),
        (3, (1, 3, 4, 5, 4), (2, 3, 2, 3, 2), dict(stride=(2, 1, 2), padding=1)),
    ],
    "shifted": [
        (2, (3, 20, 9, 8), (6, 10, 3, 3), dict(stride=(2, 3), padding=(3, 2), dilation=(3, 1), groups=2)),
        (2, (1, 3, 6, 7), (4, 3, 2, 4), dict(padding="same", dilation=2)),
        (3, (2, 17, 4, 5, 4), (3, 17, 2, 3, 2), dict(stride=(2, 1, 2), padding=1)),
    ],
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kind", list(SPECIAL))
def test_each_kernel_matches_torch_through_the_public_functions(kind, dtype, monkeypatch):
    cn.set_engine(conv=kind)
    r = np.random.default_rng(11)
    for nd, xs, ws, kw in SPECIAL[kind]:
        x, w, b = r.standard_normal(xs), r.standard_normal(ws), r.standard_normal(ws[0])
        ours, theirs = CONV[nd]
        hits = []
        original = kconv.select

        def spy(*a, **k):
            f = original(*a, **k)
            hits.append(f.engine.name if f is not None else "lecture")
            return f

        monkeypatch.setattr(kconv, "select", spy)
        compare_with_torch(
            lambda x, w, b: ours(x, w, b, **kw),
            lambda x, w, b: theirs(x, w, b, **kw),
            [x, w, b],
            dtype=dtype,
            what=f"{kind} {xs} {ws} {kw}",
        )
        monkeypatch.undo()
        assert hits == [kind], hits


def test_unbatched_input_and_bias_under_kernels():
    r = np.random.default_rng(2)
    x, w, b = r.standard_normal((5, 9, 8)), r.standard_normal((4, 5, 3, 3)), r.standard_normal(4)
    cn.set_engine(conv="shifted")
    compare_with_torch(
        lambda x, w, b: conv2d(x, w, b, padding=1), lambda x, w, b: F.conv2d(x, w, b, padding=1), [x, w, b]
    )
    cn.set_engine(conv="depthwise")
    compare_with_torch(
        lambda x, w: conv2d(x, w, groups=5), lambda x, w: F.conv2d(x, w, groups=5), [x, r.standard_normal((5, 1, 3, 3))]
    )


def test_kernels_skip_unneeded_gradients(monkeypatch):
    """Only dW asked: dX is never allocated; only dX asked: x is not kept for the backward."""
    cn.set_engine(conv="shifted")
    r = np.random.default_rng(3)
    x = cn.tensor(r.standard_normal((2, 3, 6, 6)))
    w = cn.tensor(r.standard_normal((4, 3, 3, 3)), requires_grad=True)
    calls = []
    original = kconv.Shifted.backward

    def spy(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw):
        calls.append((need_dx, need_dw))
        return original(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw)

    monkeypatch.setattr(kconv.Shifted, "backward", spy)
    conv2d(x, w, stride=2).backward(np.ones((2, 4, 2, 2)))
    assert calls == [(False, True)] and x.grad is None and w.grad.shape == w.shape
    x2 = cn.tensor(x.data, requires_grad=True)
    w2 = cn.tensor(w.data)
    y = conv2d(x2, w2, stride=2)
    assert y._node.function is kconv.KERNELS["shifted"] and y._node.ctx.x is None
    y.backward(np.ones(y.shape))
    assert calls[-1] == (True, False) and x2.grad.shape == x2.shape


def test_a_large_layer_agrees_across_engines():
    """A benchmark-sized layer (several chunks per worker), float32: shifted versus the lecture."""
    r = np.random.default_rng(4)
    x = cn.tensor(r.standard_normal((8, 32, 20, 20), dtype=np.float32), requires_grad=True)
    w = cn.tensor(r.standard_normal((48, 32, 3, 3), dtype=np.float32) / 17, requires_grad=True)
    results = {}
    for name in ("reference", "shifted"):
        cn.set_engine(conv=name)
        x.grad = w.grad = None
        y = conv2d(x, w, stride=2, padding=1)
        y.backward(np.cos(np.arange(y.data.size, dtype=np.float32)).reshape(y.shape))
        results[name] = (y.data, x.grad, w.grad)
    for a, b in zip(results["shifted"], results["reference"]):
        assert_close(a, b, 1e-5, "large layer")


# ============================================================================================
# The BLAS helper and the workspaces the engines stand on
# ============================================================================================


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fallback", [False, True])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm_on_strided_views(dtype, fallback, trans_a, trans_b, monkeypatch):
    if fallback:
        monkeypatch.setattr(parallel, "_GEMM", {})
    r = np.random.default_rng(0)
    big = r.standard_normal((9, 40)).astype(dtype)
    a = big[1:6, 3:10] if not trans_a else big[1:8, 3:8]  # rows 40 apart: leading dimension 40
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
    with pytest.raises(
        ValueError,
        match=r"gemm: expected 2-D views of one dtype \(float32\) with a contiguous "
        r"last axis.*Received: shape \(4, 2\), strides \(16, 8\)",
    ):
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
