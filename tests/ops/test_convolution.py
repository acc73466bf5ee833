"""conv1d/2d/3d and conv_transpose1d/2d/3d: gradcheck, PyTorch parity, the lectures' examples, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close, check_gradcheck, compare_with_torch

import convnp as cn
from convnp.arraymath.conv_arithmetic import Window
from convnp.ops import convolution as conv_module
from convnp.ops.convolution import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d

CONV = {1: (conv1d, F.conv1d), 2: (conv2d, F.conv2d), 3: (conv3d, F.conv3d)}
CONVT = {
    1: (conv_transpose1d, F.conv_transpose1d),
    2: (conv_transpose2d, F.conv_transpose2d),
    3: (conv_transpose3d, F.conv_transpose3d),
}


def _inputs(cfg, seed=0):
    """Random arrays (input, weight, bias or None) for a configuration."""
    r = np.random.default_rng(seed)
    x = r.standard_normal(cfg["x"])
    w = r.standard_normal(cfg["w"])
    b = r.standard_normal(cfg["bias"]) if cfg.get("bias") else None
    return x, w, b


def _bind(fn, cfg):
    kw = cfg["kw"]
    if cfg.get("bias"):
        return lambda x, w, b: fn(x, w, b, **kw)
    return lambda x, w: fn(x, w, **kw)


def _args(x, w, b):
    return [x, w] if b is None else [x, w, b]


# ============================================================================================
# Hand-picked awkward configurations (gradcheck, and parity in both dtypes)
# bias: the number of output channels, or 0 for no bias
# ============================================================================================


def _c(nd, x, w, bias, **kw):
    return dict(nd=nd, x=x, w=w, bias=bias, kw=kw)


CONV_CASES = {
    "1d-stride3-nondividing-pad": _c(1, (2, 3, 9), (4, 3, 3), 4, stride=3, padding=1),
    "1d-depthwise-same-even-dil3": _c(1, (1, 4, 7), (4, 1, 2), 0, padding="same", dilation=3, groups=4),
    "1d-kernel-equals-input": _c(1, (1, 1, 5), (2, 1, 5), 2),
    "1d-kernel-equals-padded-input": _c(1, (2, 2, 3), (3, 2, 5), 0, padding=1),
    "1d-unbatched-dil2": _c(1, (3, 6), (2, 3, 2), 2, dilation=2),
    "2d-nonsquare-stride23-pad10": _c(2, (2, 2, 6, 5), (3, 2, 3, 2), 3, stride=(2, 3), padding=(1, 0)),
    "2d-depthwise-dil2-pad2": _c(2, (1, 4, 5, 6), (4, 1, 3, 3), 0, dilation=2, padding=2, groups=4),
    "2d-same-even-kernel-dil13": _c(2, (1, 1, 4, 5), (2, 1, 4, 2), 2, padding="same", dilation=(1, 3)),
    "2d-groups2-kernel-equals-padded": _c(2, (2, 4, 3, 4), (2, 2, 5, 6), 2, padding=1, groups=2),
    "2d-unbatched-stride2-dil21": _c(2, (2, 5, 5), (3, 2, 3, 3), 3, stride=2, dilation=(2, 1)),
    "2d-valid-one-channel": _c(2, (3, 1, 4, 6), (1, 1, 2, 3), 1, padding="valid", stride=(1, 2)),
    "3d-stride212-pad1": _c(3, (1, 2, 4, 5, 3), (2, 2, 2, 3, 2), 2, stride=(2, 1, 2), padding=1),
    "3d-groups2-same-dil123": _c(3, (2, 2, 3, 4, 4), (2, 1, 3, 2, 2), 0, padding="same", dilation=(1, 2, 3), groups=2),
    "3d-kernel-equals-input": _c(3, (1, 1, 3, 3, 3), (1, 1, 3, 3, 3), 1),
}

CONVT_CASES = {
    "1d-stride3-pad1-outpad2": _c(1, (2, 3, 4), (3, 2, 3), 2, stride=3, padding=1, output_padding=2),
    "1d-depthwise-dil3-outpad2": _c(1, (1, 4, 3), (4, 1, 2), 0, dilation=3, output_padding=2, groups=4),
    "1d-unbatched-stride2-pad2": _c(1, (2, 5), (2, 3, 4), 3, stride=2, padding=2),
    "2d-nonsquare-stride23": _c(2, (2, 2, 3, 4), (2, 3, 3, 2), 3, stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
    "2d-depthwise-dil2-pad2": _c(2, (1, 4, 3, 3), (4, 1, 3, 3), 0, dilation=2, padding=2, groups=4),
    "2d-one-channel-pad01": _c(2, (1, 1, 2, 3), (1, 2, 2, 4), 2, padding=(0, 1)),
    "2d-groups2-stride2-dil3": _c(
        2, (2, 4, 2, 3), (4, 1, 2, 2), 2, stride=2, dilation=(3, 1), groups=2, output_padding=(2, 1)
    ),
    "2d-output-size-one": _c(2, (1, 2, 2, 2), (2, 1, 2, 3), 0, padding=(1, 1)),
    "2d-unbatched": _c(2, (3, 3, 2), (3, 2, 2, 2), 2, stride=(1, 2)),
    "3d-stride2-outpad1": _c(3, (1, 2, 2, 3, 2), (2, 2, 2, 2, 3), 2, stride=2, padding=(0, 1, 1), output_padding=1),
    "3d-groups2-dil123": _c(3, (1, 4, 2, 2, 2), (4, 1, 2, 3, 2), 2, dilation=(1, 2, 3), groups=2),
}


@pytest.mark.parametrize("name", list(CONV_CASES))
def test_conv_gradcheck(name):
    cfg = CONV_CASES[name]
    x, w, b = _inputs(cfg)
    check_gradcheck(_bind(CONV[cfg["nd"]][0], cfg), _args(x, w, b))


@pytest.mark.parametrize("name", list(CONVT_CASES))
def test_conv_transpose_gradcheck(name):
    cfg = CONVT_CASES[name]
    x, w, b = _inputs(cfg)
    check_gradcheck(_bind(CONVT[cfg["nd"]][0], cfg), _args(x, w, b))


# ============================================================================================
# Randomised (seeded) configurations for PyTorch parity
# ============================================================================================


def _ints(a):
    return tuple(int(v) for v in a)


def random_conv_config(seed: int) -> dict:
    r = np.random.default_rng(1000 + seed)
    nd = seed % 3 + 1
    groups = int(r.choice([1, 1, 2, 3]))
    cin, cout = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 3))
    if r.random() < 0.2:  # depthwise, with a channel multiplier
        groups = cin = int(r.integers(1, 4))
        cout = cin * int(r.integers(1, 3))
    kernel = _ints(r.integers(1, 5 if nd < 3 else 4, nd))
    dilation = _ints(r.choice([1, 1, 2, 3], nd))
    mode = str(r.choice(["int", "tuple", "valid", "same"]))
    stride = (1,) * nd if mode == "same" else _ints(r.integers(1, 4, nd))
    if mode == "int":
        padding = int(r.integers(0, 3))
        pads = [(padding, padding)] * nd
    elif mode == "tuple":
        padding = _ints(r.integers(0, 3, nd))
        pads = [(p, p) for p in padding]
    elif mode == "valid":
        padding, pads = "valid", [(0, 0)] * nd
    else:
        padding = "same"
        pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
    tight = r.random() < 0.2  # kernel as large as the padded input
    spatial = tuple(
        max(1, d * (k - 1) + 1 - a - b) + (0 if tight else int(r.integers(0, 6 if nd < 3 else 3)))
        for k, d, (a, b) in zip(kernel, dilation, pads)
    )
    n = int(r.integers(1, 4))
    xshape = (cin, *spatial) if r.random() < 0.15 else (n, cin, *spatial)
    bias = cout if r.random() < 0.7 else 0
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return _c(nd, xshape, (cout, cin // groups, *kernel), bias, **kw)


def random_conv_transpose_config(seed: int) -> dict:
    r = np.random.default_rng(2000 + seed)
    nd = seed % 3 + 1
    groups = int(r.choice([1, 1, 2, 3]))
    cin, cout = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 3))
    if r.random() < 0.2:  # depthwise
        groups = cin = int(r.integers(1, 4))
        cout = cin * int(r.integers(1, 3))
    kernel = _ints(r.integers(1, 5 if nd < 3 else 4, nd))
    dilation = _ints(r.choice([1, 1, 2, 3], nd))
    stride = _ints(r.integers(1, 4, nd))
    outpad = tuple(int(r.integers(0, max(s, d))) for s, d in zip(stride, dilation))
    spatial = _ints(r.integers(1, 6 if nd < 3 else 4, nd))
    full = [(i - 1) * s + d * (k - 1) + q for i, k, s, d, q in zip(spatial, kernel, stride, dilation, outpad)]
    if r.random() < 0.2:  # the largest padding: an output of 1 or 2
        padding = tuple(f // 2 for f in full)
    else:
        padding = tuple(min(int(r.integers(0, 3)), f // 2) for f in full)
    n = int(r.integers(1, 4))
    xshape = (cin, *spatial) if r.random() < 0.15 else (n, cin, *spatial)
    bias = cout if r.random() < 0.7 else 0
    kw = dict(stride=stride, padding=padding, output_padding=outpad, groups=groups, dilation=dilation)
    return _c(nd, xshape, (cin, cout // groups, *kernel), bias, **kw)


N_RANDOM = 24
CONV_PARITY = {**CONV_CASES, **{f"random{s}": random_conv_config(s) for s in range(N_RANDOM)}}
CONVT_PARITY = {**CONVT_CASES, **{f"random{s}": random_conv_transpose_config(s) for s in range(N_RANDOM)}}


def test_random_configs_cover_the_awkward_cases():
    """The random families really contain what they claim to (so the parity tests test it)."""
    cfgs = list(CONV_PARITY.values())
    kws = [c["kw"] for c in cfgs]
    assert {c["nd"] for c in cfgs} == {1, 2, 3}
    assert any(k.get("padding", 0) == "same" and any(v % 2 == 0 for v in c["w"][2:]) for k, c in zip(kws, cfgs))
    assert any(k.get("padding", 0) == "valid" for k in kws)
    assert any(isinstance(k.get("padding", 0), tuple) for k in kws)
    assert any(k.get("groups", 1) > 1 and k["groups"] == c["x"][-c["nd"] - 1] for k, c in zip(kws, cfgs))
    assert any(3 in _ints(np.atleast_1d(k.get("dilation", 1))) for k in kws)
    assert any(len(c["x"]) == c["nd"] + 1 for c in cfgs)  # unbatched
    assert any(len(c["x"]) == c["nd"] + 2 and c["x"][0] == 1 for c in cfgs)  # batch of one
    assert any(not c["bias"] for c in cfgs) and any(c["bias"] for c in cfgs)

    def padded_room(c):
        """Per axis: padded input minus the dilated kernel, as (room, stride) pairs."""
        nd, k = c["nd"], c["kw"]
        pad, s, d = (k.get(a, dflt) for a, dflt in (("padding", 0), ("stride", 1), ("dilation", 1)))
        s, d = (np.broadcast_to(v, (nd,)) for v in (s, d))
        if pad == "same":
            return [(0, 1)] * nd  # same output size; covered separately
        p = np.broadcast_to(0 if pad == "valid" else pad, (nd,))
        return [(i + 2 * pp - dd * (kk - 1) - 1, ss) for i, kk, pp, dd, ss in zip(c["x"][-nd:], c["w"][2:], p, d, s)]

    rooms = [padded_room(c) for c in cfgs if c["kw"].get("padding") != "same"]
    assert any(all(room == 0 for room, _ in r) for r in rooms)  # kernel = padded input
    assert any(any(room % s for room, s in r) for r in rooms)  # stride does not divide
    assert any(any(s > 1 and room >= s for room, s in r) for r in rooms)  # several strided windows
    tcfgs = list(CONVT_PARITY.values())
    assert any(any(q > 0 for q in _ints(np.atleast_1d(c["kw"].get("output_padding", 0)))) for c in tcfgs)
    assert any(c["kw"].get("groups", 1) > 1 for c in tcfgs)
    assert {c["nd"] for c in tcfgs} == {1, 2, 3}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", list(CONV_PARITY))
def test_conv_matches_torch(name, dtype):
    cfg = CONV_PARITY[name]
    ours, theirs = CONV[cfg["nd"]]
    x, w, b = _inputs(cfg, seed=len(name))
    compare_with_torch(_bind(ours, cfg), _bind(theirs, cfg), _args(x, w, b), dtype=dtype, what=f"{name} {cfg}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", list(CONVT_PARITY))
def test_conv_transpose_matches_torch(name, dtype):
    cfg = CONVT_PARITY[name]
    ours, theirs = CONVT[cfg["nd"]]
    x, w, b = _inputs(cfg, seed=len(name))
    compare_with_torch(_bind(ours, cfg), _bind(theirs, cfg), _args(x, w, b), dtype=dtype, what=f"{name} {cfg}")


# ============================================================================================
# The duality: a transposed convolution is the input gradient of a convolution
# ============================================================================================


@pytest.mark.parametrize(
    "nd,stride,padding,dilation,groups", [(1, 3, 1, 2, 1), (2, (2, 3), (1, 0), (1, 2), 2), (3, 2, 1, 1, 1)]
)
def test_conv_transpose_is_the_input_gradient_of_conv(nd, stride, padding, dilation, groups):
    r = np.random.default_rng(7)
    spatial = (7, 6, 5)[:nd]
    x = cn.tensor(r.standard_normal((2, 2 * groups, *spatial)), requires_grad=True)
    w = cn.tensor(r.standard_normal((3 * groups, 2, *(3,) * nd)))
    y = CONV[nd][0](x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    g = r.standard_normal(y.shape)
    y.backward(g)
    s, p, d = (np.broadcast_to(v, (nd,)) for v in (stride, padding, dilation))
    outpad = tuple(int((i + 2 * pp - dd * 2 - 1) % ss) for i, ss, pp, dd in zip(spatial, s, p, d))
    back = CONVT[nd][0](
        cn.tensor(g), w, stride=stride, padding=padding, output_padding=outpad, groups=groups, dilation=dilation
    )
    assert back.shape == x.shape
    np.testing.assert_allclose(back.data, x.grad, rtol=1e-12, atol=1e-12)
    # and the adjoint identity <conv(x), g> = <x, conv_transpose(g)>
    assert np.isclose(np.sum(y.data * g), np.sum(x.data * back.data), rtol=1e-12)


# ============================================================================================
# Only the gradients that are asked for are computed
# ============================================================================================


def _forbid(monkeypatch, *names):
    def boom(*args, **kwargs):
        raise AssertionError("computed a gradient nobody asked for")

    for name in names:
        monkeypatch.setattr(conv_module, name, boom)


@pytest.fixture
def lecture():
    """The lecture's ConvNd / ConvTransposeNd run (whatever --engine says)."""
    with cn.engine(conv="reference"):
        yield


def test_conv_skips_unneeded_gradients(monkeypatch, lecture):
    r = np.random.default_rng(3)
    x = cn.tensor(r.standard_normal((2, 3, 6, 6)))
    w = cn.tensor(r.standard_normal((4, 3, 3, 3)), requires_grad=True)
    y = conv2d(x, w, stride=2)
    assert y._node.function is conv_module.ConvNd
    _forbid(monkeypatch, "col2im")  # no dX
    y.backward(np.ones(y.shape))
    assert x.grad is None and w.grad is not None and w.grad.shape == w.shape
    monkeypatch.undo()
    x.requires_grad_(True)
    w.requires_grad_(False)
    y = conv2d(x, w, stride=2)
    assert y._node.ctx.cols is None  # the columns were not kept: no dW possible
    y.backward(np.ones(y.shape))
    assert x.grad is not None and w.grad is not None  # w.grad is the earlier one, untouched


def test_conv_transpose_skips_unneeded_gradients(monkeypatch, lecture):
    r = np.random.default_rng(4)
    x = cn.tensor(r.standard_normal((2, 3, 4, 4)), requires_grad=True)
    w = cn.tensor(r.standard_normal((3, 2, 3, 3)))
    y = conv_transpose2d(x, w, stride=2)
    assert y._node.function is conv_module.ConvTransposeNd
    assert y._node.ctx.x is None  # x not kept: no dW possible
    y.backward(np.ones(y.shape))
    assert x.grad is not None and w.grad is None
    x = cn.tensor(x.data)
    w.requires_grad_(True)
    y = conv_transpose2d(x, w, stride=2)
    _forbid(monkeypatch, "im2col", "col2im")  # dX and dW need im2col: only the bias grad
    with pytest.raises(AssertionError, match="nobody asked for"):
        y.backward(np.ones(y.shape))
    monkeypatch.undo()
    y = conv_transpose2d(x, w, stride=2)
    y.backward(np.ones(y.shape))
    assert x.grad is None and w.grad is not None


def test_the_config_records_the_window_as_applied(lecture):
    """ctx.config.window: kernel, stride, padding as (before, after) pairs actually applied, dilation."""
    x, w = cn.tensor(np.ones((1, 2, 9, 8))), cn.tensor(np.ones((3, 2, 4, 2)), requires_grad=True)
    ctx = conv2d(x, w, padding="same", dilation=(1, 3))._node.ctx
    assert ctx.config.window == Window(kernel=(4, 2), stride=(1, 1), padding=((1, 2), (1, 2)), dilation=(1, 3))
    assert (ctx.config.groups, ctx.config.input_shape, ctx.config.unbatched) == (1, (1, 2, 9, 8), False)
    assert not ctx.config.transposed
    ctx = conv1d(
        cn.tensor(np.ones((2, 7))), cn.tensor(np.ones((2, 1, 3)), requires_grad=True), stride=2, padding=1, groups=2
    )._node.ctx
    assert ctx.config.window.padding == ((1, 1),) and ctx.config.unbatched and ctx.config.input_shape == (1, 2, 7)
    ctx = conv_transpose2d(
        cn.tensor(np.ones((1, 2, 3, 3))),
        cn.tensor(np.ones((2, 1, 3, 3)), requires_grad=True),
        stride=2,
        padding=1,
        output_padding=1,
    )._node.ctx
    assert ctx.config.transposed and ctx.config.output_padding == (1, 1)
    assert ctx.config.window.padding == ((1, 1), (1, 1)) and ctx.config.full_size() == (7, 7)


# ============================================================================================
# The lectures' worked examples
# ============================================================================================


def test_lecture_padding_example():
    image = np.array(
        [[2, 4, 9, 1, 4], [2, 1, 4, 4, 6], [1, 1, 2, 9, 2], [7, 3, 5, 1, 3], [2, 3, 4, 8, 5]], dtype=np.float64
    )
    kernel = np.array([[1, 2, 3], [-4, 7, 4], [2, -5, 1]], dtype=np.float64)
    expected = np.array(
        [
            [21, 59, 37, -19, 2],
            [30, 51, 66, 20, 43],
            [-14, 31, 49, 101, -19],
            [59, 15, 53, -2, 21],
            [49, 57, 64, 76, 10],
        ],
        dtype=np.float64,
    )
    out = conv2d(cn.tensor(image[None, None]), cn.tensor(kernel[None, None]), padding=1)
    np.testing.assert_array_equal(out.data[0, 0], expected)


def test_lecture_vertical_edge_example():
    image = np.tile(np.array([10, 10, 10, 0, 0, 0], dtype=np.float64), (6, 1))
    kernel = np.tile(np.array([1, 0, -1], dtype=np.float64), (3, 1))
    out = conv2d(cn.tensor(image[None]), cn.tensor(kernel[None, None]))  # unbatched (1, 6, 6)
    np.testing.assert_array_equal(out.data, np.tile([0.0, 30.0, 30.0, 0.0], (1, 4, 1)))


@pytest.mark.parametrize("stride,padding,size", [(1, 0, 5), (2, 0, 3), (1, 1, 7), (3, 0, 2)])
def test_lecture_output_sizes_7x7(stride, padding, size):
    """(N - F + 2P) / stride + 1 with N = 7, F = 3; stride 3 'does not fit' and is floored to 2."""
    x = cn.tensor(np.random.default_rng(0).standard_normal((1, 1, 7, 7)))
    w = cn.tensor(np.ones((1, 1, 3, 3)))
    assert conv2d(x, w, stride=stride, padding=padding).shape == (1, 1, size, size)


def test_lecture_32x32x3_ten_5x5_filters():
    r = np.random.default_rng(0)
    x = r.standard_normal((1, 3, 32, 32))
    w = r.standard_normal((10, 3, 5, 5))
    out = conv2d(cn.tensor(x), cn.tensor(w), stride=1, padding=2)
    assert out.shape == (1, 10, 32, 32)
    assert_close(out, F.conv2d(torch.tensor(x), torch.tensor(w), padding=2), 1e-10, "32x32x3")


# ============================================================================================
# dtype
# ============================================================================================


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "op,transposed",
    [
        (conv1d, False),
        (conv2d, False),
        (conv3d, False),
        (conv_transpose1d, True),
        (conv_transpose2d, True),
        (conv_transpose3d, True),
    ],
)
def test_dtype_is_kept(op, transposed, dtype):
    nd = int(op.__name__[-2])
    r = np.random.default_rng(0)
    x = cn.tensor(r.standard_normal((2, 2, *(4,) * nd)).astype(dtype), requires_grad=True)
    w = cn.tensor(
        r.standard_normal((2, 3, *(2,) * nd) if transposed else (3, 2, *(2,) * nd)).astype(dtype), requires_grad=True
    )
    b = cn.tensor(r.standard_normal(3).astype(dtype), requires_grad=True)
    y = op(x, w, b, stride=2)
    assert y.dtype == dtype
    y.backward(np.ones(y.shape, dtype=dtype))
    for t in (x, w, b):
        assert t.grad.dtype == dtype and t.grad.shape == t.shape


# ============================================================================================
# Errors
# ============================================================================================


def _t(*shape, dtype=np.float64):
    return cn.tensor(np.zeros(shape, dtype=dtype))


CONV_ERRORS = [
    (
        lambda: conv2d(_t(4, 4), _t(1, 1, 3, 3)),
        ValueError,
        r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input\. Received: input of shape \(4, 4\)",
    ),
    (
        lambda: conv1d(_t(1, 1, 2, 5), _t(1, 1, 3)),
        ValueError,
        r"conv1d: expected a 2-D \(unbatched\) or 3-D \(batched\) input\. Received: input of shape \(1, 1, 2, 5\)",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3)),
        ValueError,
        r"conv2d: expected a 4-D weight \(out_channels, in_channels/groups, k0, k1\)\. "
        r"Received: weight of shape \(1, 1, 3\)",
    ),
    (
        lambda: conv_transpose3d(_t(1, 1, 3, 3, 3), _t(1, 1, 3, 3)),
        ValueError,
        r"conv_transpose3d: expected a 5-D weight \(in_channels, out_channels/groups, k0, k1, k2\)\. Received",
    ),
    (
        lambda: conv2d(_t(2, 4, 8, 8), _t(5, 3, 3, 3)),
        ValueError,
        r"conv2d: expected input with 3 channels \(weight\.shape\[1\] \* groups = 3 \* 1\)\. "
        r"Received: input of shape \(2, 4, 8, 8\)",
    ),
    (
        lambda: conv2d(_t(2, 4, 8, 8), _t(4, 1, 3, 3), groups=2),
        ValueError,
        r"conv2d: expected input with 2 channels \(weight\.shape\[1\] \* groups = 1 \* 2\)",
    ),
    (
        lambda: conv_transpose2d(_t(1, 3, 4, 4), _t(2, 1, 3, 3)),
        ValueError,
        r"conv_transpose2d: expected input with 2 channels \(weight\.shape\[0\]\)\. Received: input of shape "
        r"\(1, 3, 4, 4\), weight of shape \(2, 1, 3, 3\)",
    ),
    (
        lambda: conv2d(_t(1, 2, 5, 5), _t(2, 2, 3, 3), groups=0),
        ValueError,
        r"conv2d: groups must be at least 1\. Received: groups=0",
    ),
    (
        lambda: conv_transpose1d(_t(1, 2, 5), _t(2, 2, 3), groups=-1),
        ValueError,
        r"conv_transpose1d: groups must be at least 1\. Received: groups=-1",
    ),
    (
        lambda: conv2d(_t(1, 2, 5, 5), _t(2, 2, 3, 3), groups=1.0),
        TypeError,
        r"conv2d: groups must be an int\. Received: groups=1\.0",
    ),
    (
        lambda: conv2d(_t(1, 3, 5, 5), _t(3, 1, 3, 3), groups=2),
        ValueError,
        r"conv2d: groups=2 must divide the input channels\. Received: input of shape \(1, 3, 5, 5\), groups=2",
    ),
    (
        lambda: conv2d(_t(1, 4, 5, 5), _t(3, 2, 3, 3), groups=2),
        ValueError,
        r"conv2d: groups=2 must divide the output channels \(weight\.shape\[0\]\)\. "
        r"Received: weight of shape \(3, 2, 3, 3\), groups=2",
    ),
    (
        lambda: conv_transpose2d(_t(1, 3, 4, 4), _t(3, 1, 3, 3), groups=2),
        ValueError,
        r"conv_transpose2d: groups=2 must divide the input channels\. Received: input of shape \(1, 3, 4, 4\)",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), stride=0),
        ValueError,
        r"conv2d: stride must be at least 1\. Received: stride=0",
    ),
    (
        lambda: conv3d(_t(1, 1, 5, 5, 5), _t(1, 1, 3, 3, 3), stride=(1, 0, 1)),
        ValueError,
        r"conv3d: stride must be at least 1\. Received: stride=\(1, 0, 1\)",
    ),
    (
        lambda: conv_transpose2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), stride=(0, 1)),
        ValueError,
        r"conv_transpose2d: stride must be at least 1\. Received: stride=\(0, 1\)",
    ),
    (
        lambda: conv1d(_t(1, 1, 5), _t(1, 1, 3), dilation=0),
        ValueError,
        r"conv1d: dilation must be at least 1\. Received: dilation=0",
    ),
    (
        lambda: conv_transpose1d(_t(1, 1, 5), _t(1, 1, 3), dilation=0),
        ValueError,
        r"conv_transpose1d: dilation must be at least 1\. Received: dilation=0",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding=(1, -1)),
        ValueError,
        r"conv2d: padding must be at least 0\. Received: padding=\(1, -1\)",
    ),
    (
        lambda: conv_transpose2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding=-1),
        ValueError,
        r"conv_transpose2d: padding must be at least 0\. Received: padding=-1",
    ),
    (
        lambda: conv_transpose2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), stride=2, output_padding=-1),
        ValueError,
        r"conv_transpose2d: output_padding must be at least 0\. Received: output_padding=-1",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding="full"),
        ValueError,
        r"conv2d: padding must be 'valid', 'same', an int or a tuple of 2 ints\. Received: padding='full'",
    ),
    (
        lambda: conv_transpose2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding="same"),
        TypeError,
        r"conv_transpose2d: padding must be an int or a tuple of 2 ints\. Received: padding='same'",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding=(1, 1, 1)),
        TypeError,
        r"conv2d: padding must be an int or a tuple of 2 ints\. Received: padding=\(1, 1, 1\)",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding="same", stride=(1, 2)),
        ValueError,
        r"conv2d: padding='same' is not supported for strided convolutions \(expected stride 1\)\. "
        r"Received: stride=\(1, 2\)",
    ),
    (
        lambda: conv2d(_t(1, 1, 4, 6), _t(1, 1, 3, 5), padding=0, dilation=(2, 1)),
        ValueError,
        r"conv2d: the kernel \(dilated size \(5, 5\)\) is larger than the padded input \(\(4, 6\)\)\. "
        r"Received: input of shape \(1, 1, 4, 6\), weight of shape \(1, 1, 3, 5\)",
    ),
    (
        lambda: conv1d(_t(1, 1, 2), _t(1, 1, 5), padding=1),
        ValueError,
        r"conv1d: the kernel \(dilated size \(5,\)\) is larger than the padded input \(\(4,\)\)",
    ),
    (
        lambda: conv_transpose2d(_t(1, 1, 2, 2), _t(1, 1, 2, 2), padding=(2, 0)),
        ValueError,
        r"conv_transpose2d: the output size \(-1, 3\) is below 1 .*Received: input of shape \(1, 1, 2, 2\)",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5), _t(4, 1, 3, 3), _t(3)),
        ValueError,
        r"conv2d: expected bias of shape \(4,\) \(one per output channel\)\. Received: bias of shape \(3,\)",
    ),
    (
        lambda: conv_transpose2d(_t(1, 2, 5, 5), _t(2, 3, 3, 3), _t(2), groups=2),
        ValueError,
        r"conv_transpose2d: expected bias of shape \(6,\) \(one per output channel\)\. Received: bias of shape \(2,\)",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5), _t(4, 1, 3, 3), _t(1, 4)),
        ValueError,
        r"conv2d: expected bias of shape \(4,\).*Received: bias of shape \(1, 4\)",
    ),
    (
        lambda: conv_transpose2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), stride=2, output_padding=(2, 1)),
        ValueError,
        r"conv_transpose2d: output_padding must be smaller than either stride or dilation on every axis\. "
        r"Received: output_padding=\(2, 1\), stride=\(2, 2\), dilation=\(1, 1\)",
    ),
    (
        lambda: conv_transpose1d(_t(1, 1, 5), _t(1, 1, 3), stride=1, dilation=2, output_padding=2),
        ValueError,
        r"conv_transpose1d: output_padding must be smaller than either stride or dilation",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5, dtype=np.float32), _t(1, 1, 3, 3)),
        TypeError,
        r"conv2d: input and weight must have the same dtype\. Received: input float32, weight float64",
    ),
    (
        lambda: conv2d(cn.tensor(np.zeros((1, 1, 5, 5), dtype=np.int64)), _t(1, 1, 3, 3)),
        TypeError,
        r"conv2d: input must be a float tensor\. Received: input of dtype int64",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), _t(1, dtype=np.float32)),
        TypeError,
        r"conv2d: bias must have the dtype of input \(float64\)\. Received: bias of dtype float32",
    ),
    (
        lambda: conv2d([[[[1.0]]]], _t(1, 1, 1, 1)),
        TypeError,
        r"conv2d: input must be a Tensor\. Received: input of type list",
    ),
    (
        lambda: conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), stride=(1, 1, 1)),
        TypeError,
        r"conv2d: stride must be an int or a tuple of 2 ints\. Received: stride=\(1, 1, 1\)",
    ),
]


@pytest.mark.parametrize("case", range(len(CONV_ERRORS)))
def test_errors(case):
    call, error, message = CONV_ERRORS[case]
    with pytest.raises(error, match=message):
        call()
