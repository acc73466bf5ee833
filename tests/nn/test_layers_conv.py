"""Conv1d/2d/3d, ConvTranspose1d/2d/3d and LocallyConnected2d as layers, against torch.nn.

Every layer is built with the same arguments in both libraries, torch's weights are copied into
convnp through load_state_dict (NumPy arrays), and forward output, input gradient and every
parameter gradient are compared (float64 within 1e-10 relative, float32 within 1e-4), in train
and eval mode. Also: state_dict names and shapes, reprs, default initialisation (statistically,
on large layers, against the theoretical bounds and against torch's layers), constructor errors
and layer-path input errors.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.stats
import torch
from helpers import TOL, assert_close, assert_same_state_layout, copy_weights, layer_parity

import convnp as cn
from convnp import nn

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")


# --------------------------------------------------------------------------------------------
# Configurations: the awkward cases and seeded random ones
# --------------------------------------------------------------------------------------------
def _cfg(nd, cin, cout, k, x, **kw):
    return dict(nd=nd, args=(cin, cout, k), kw=kw, x=x)


CONV_CASES = {
    "2d-lenet": _cfg(2, 1, 6, 5, (2, 1, 12, 12), padding=2),
    "2d-nonsquare-stride-nondividing": _cfg(
        2, 4, 6, (3, 2), (1, 4, 9, 7), stride=(2, 3), padding=(1, 0), dilation=(2, 1), groups=2, bias=False
    ),
    "2d-same-even-kernel-dil2": _cfg(2, 2, 3, (4, 3), (2, 2, 6, 5), padding="same", dilation=2),
    "2d-valid": _cfg(2, 3, 2, 3, (1, 3, 5, 6), padding="valid"),
    "2d-depthwise-dil3": _cfg(2, 3, 6, 2, (2, 3, 8, 7), groups=3, dilation=3, padding=1),
    "2d-kernel-as-large-as-padded": _cfg(2, 2, 2, 5, (1, 2, 3, 3), padding=1),
    "2d-unbatched": _cfg(2, 2, 3, 3, (2, 5, 4), stride=2, padding=1),
    "2d-reflect": _cfg(2, 2, 4, 3, (2, 2, 6, 5), padding=(2, 1), stride=2, padding_mode="reflect"),
    "2d-replicate": _cfg(2, 1, 2, (2, 3), (1, 1, 5, 5), padding=2, dilation=(1, 2), padding_mode="replicate"),
    "2d-circular": _cfg(2, 2, 2, 3, (2, 2, 4, 6), padding=(1, 2), stride=(1, 2), padding_mode="circular"),
    "2d-circular-same-even": _cfg(2, 2, 3, 4, (1, 2, 5, 5), padding="same", padding_mode="circular"),
    "2d-reflect-same-unbatched": _cfg(2, 2, 2, 3, (2, 4, 4), padding="same", padding_mode="reflect"),
    "1d-stride3": _cfg(1, 3, 4, 3, (2, 3, 10), stride=3, padding=1),
    "1d-same-even-dil3": _cfg(1, 2, 2, 2, (1, 2, 7), padding="same", dilation=3),
    "1d-reflect-groups": _cfg(1, 4, 2, 3, (2, 4, 6), padding=2, groups=2, padding_mode="reflect"),
    "1d-circular-unbatched": _cfg(1, 2, 3, 3, (2, 5), padding=3, padding_mode="circular"),
    "3d-basic": _cfg(3, 2, 3, 3, (1, 2, 5, 4, 5), stride=2, padding=1),
    "3d-nonsquare-replicate": _cfg(
        3, 1, 2, (2, 3, 1), (2, 1, 3, 4, 3), padding=(1, 1, 0), dilation=(2, 1, 1), padding_mode="replicate"
    ),
    "3d-same-groups": _cfg(3, 4, 2, 2, (1, 4, 3, 3, 4), padding="same", groups=2, bias=False),
}


def _random_conv_cases(n=6, seed=2024):
    """Seeded random 2-D configurations (every setting drawn, input sized to fit)."""
    r = np.random.default_rng(seed)
    cases = {}
    for i in range(n):
        groups = int(r.choice([1, 2]))
        cin, cout = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 3))
        k = tuple(int(v) for v in r.integers(1, 4, size=2))
        stride = tuple(int(v) for v in r.integers(1, 4, size=2))
        dilation = tuple(int(v) for v in r.integers(1, 3, size=2))
        mode = str(r.choice(["zeros", "reflect", "replicate", "circular"]))
        padding = tuple(int(v) for v in r.integers(0, 3, size=2))
        size = tuple(int(d * (kk - 1) + 1 + r.integers(0, 5)) for d, kk in zip(dilation, k))
        size = tuple(max(s, p + 1) for s, p in zip(size, padding))  # reflect needs pad < size
        x = (int(r.integers(1, 3)), cin, *size)
        cases[f"2d-random-{i}"] = _cfg(
            2,
            cin,
            cout,
            k,
            x,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bool(r.integers(0, 2)),
            padding_mode=mode,
        )
    return cases


CONV_CASES.update(_random_conv_cases())

CN_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
T_CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
CN_CONVT = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
T_CONVT = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}


def _build(cn_cls, t_cls, cfg):
    torch.manual_seed(0)
    return cn_cls(*cfg["args"], **cfg["kw"]), t_cls(*cfg["args"], **cfg["kw"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(CONV_CASES))
def test_conv_layer_matches_torch(name, dtype):
    cfg = CONV_CASES[name]
    ours, theirs = _build(CN_CONV[cfg["nd"]], T_CONV[cfg["nd"]], cfg)
    assert repr(ours) == repr(theirs)
    assert_same_state_layout(ours, theirs)
    x = np.random.default_rng(1).standard_normal(cfg["x"])
    for train in (True, False):
        ours.zero_grad()
        theirs.zero_grad()
        layer_parity(ours, theirs, [x], dtype, train=train, what=name)


CONVT_CASES = {
    "2d-stride2-pad1": _cfg(2, 4, 3, 4, (2, 4, 5, 5), stride=2, padding=1),
    "2d-output-padding-groups": _cfg(
        2, 4, 6, (3, 2), (1, 4, 3, 4), stride=(3, 2), padding=(1, 0), output_padding=(2, 1), groups=2
    ),
    "2d-dilation-output-padding": _cfg(2, 2, 2, 3, (2, 2, 3, 3), dilation=3, output_padding=1, stride=1, bias=False),
    "2d-unbatched": _cfg(2, 3, 2, 2, (3, 4, 3), stride=2),
    "1d-stride3": _cfg(1, 2, 3, 3, (2, 2, 5), stride=3, padding=2, output_padding=1),
    "1d-depthwise": _cfg(1, 4, 4, 2, (1, 4, 6), groups=4, dilation=2),
    "3d-basic": _cfg(3, 2, 2, 3, (1, 2, 3, 2, 3), stride=2, padding=1, output_padding=(1, 0, 1)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(CONVT_CASES))
def test_conv_transpose_layer_matches_torch(name, dtype):
    cfg = CONVT_CASES[name]
    ours, theirs = _build(CN_CONVT[cfg["nd"]], T_CONVT[cfg["nd"]], cfg)
    assert repr(ours) == repr(theirs)
    assert_same_state_layout(ours, theirs)
    x = np.random.default_rng(2).standard_normal(cfg["x"])
    layer_parity(ours, theirs, [x], dtype, train=True, what=name)
    ours.zero_grad()
    theirs.zero_grad()
    layer_parity(ours, theirs, [x], dtype, train=False, copy=False, what=name)


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_transpose_output_size_matches_torch(dtype, batched):
    torch.manual_seed(0)
    ours, theirs = nn.ConvTranspose2d(3, 2, 3, stride=(3, 2), padding=1), torch.nn.ConvTranspose2d(3, 2, 3, (3, 2), 1)
    shape = (2, 3, 4, 5) if batched else (3, 4, 5)
    x = np.random.default_rng(3).standard_normal(shape)
    # default (10, 9); valid sizes (10..12, 9..10); also given with the non-spatial axes
    for size in [(10, 9), (12, 10), (11, 9), shape[:-2] + (12, 10)]:
        ours.zero_grad()
        theirs.zero_grad()
        out, _ = layer_parity(ours, theirs, [x], dtype, kwargs={"output_size": list(size)}, what=str(size))
        assert out.shape[-2:] == tuple(size[-2:])


def test_conv_transpose_output_size_errors():
    layer = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    x = cn.randn(1, 3, 4, 4)
    with pytest.raises(
        ValueError,
        match=r"^ConvTranspose2d: expected output_size between \(7, 7\) and \(8, 8\) "
        r"for an input of spatial size \(4, 4\), received output_size=\(9, 7\)$",
    ):
        layer(x, output_size=(9, 7))
    with pytest.raises(
        ValueError,
        match=r"^ConvTranspose2d: expected output_size with 2 or 4 elements for a 4D "
        r"input, received output_size=\(1, 7, 7\)$",
    ):
        layer(x, output_size=(1, 7, 7))
    with pytest.raises(TypeError, match=r"ConvTranspose2d: output_size must be a sequence of ints"):
        layer(x, output_size=(7.0, 7))


# --------------------------------------------------------------------------------------------
# LocallyConnected2d: no torch layer; the reference is torch's unfold and one matmul per position
# --------------------------------------------------------------------------------------------
def _lc_torch(x, w, b, stride, padding):
    oh, ow, co, ci, kh, kw = w.shape
    cols = torch.nn.functional.unfold(x, (kh, kw), stride=stride, padding=padding)  # (N, ci*kh*kw, P)
    y = torch.einsum("nkp,pok->nop", cols, w.reshape(oh * ow, co, ci * kh * kw))  # (N, co, P)
    y = y.reshape(x.shape[0], co, oh, ow)
    return y if b is None else y + b


LC_CASES = [
    dict(args=(3, 4, 3, (8, 8)), kw={}, x=(2, 3, 8, 8)),
    dict(args=(2, 3, (3, 2), (7, 5)), kw=dict(stride=2, padding=(1, 0)), x=(1, 2, 7, 5)),
    dict(args=(1, 2, 2, 5), kw=dict(stride=(3, 2), bias=False), x=(3, 1, 5, 5)),
    dict(args=(2, 1, 4, (4, 3)), kw=dict(padding=(0, 1)), x=(2, 2, 4, 3)),  # kernel as large as the input
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(LC_CASES)))
def test_locally_connected_layer_matches_reference(case, dtype):
    cfg = LC_CASES[case]
    layer = nn.LocallyConnected2d(*cfg["args"], **cfg["kw"]).to(dtype)
    oh, ow = layer.output_size
    cin, cout, (kh, kw) = layer.in_channels, layer.out_channels, layer.kernel_size
    assert layer.weight.shape == (oh, ow, cout, cin, kh, kw)
    assert [n for n, _ in layer.named_parameters()] == (["weight", "bias"] if layer.bias is not None else ["weight"])
    rng = np.random.default_rng(4)
    state = {k: rng.standard_normal(v.shape) for k, v in layer.state_dict().items()}
    layer.load_state_dict(state)
    x = rng.standard_normal(cfg["x"]).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(state["weight"].astype(dtype), requires_grad=True)
    tb = torch.tensor(state["bias"].astype(dtype), requires_grad=True) if "bias" in state else None
    cx = cn.tensor(x, requires_grad=True)
    out = layer(cx)
    ref = _lc_torch(tx, tw, tb, layer.stride, layer.padding)
    tol = TOL[np.dtype(dtype)]
    assert_close(out, ref, tol, "output")
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(g)
    ref.backward(torch.tensor(g))
    assert_close(cx.grad, tx.grad, tol, "input grad")
    assert_close(layer.weight.grad, tw.grad, tol, "weight grad")
    if tb is not None:
        assert_close(layer.bias.grad, tb.grad, tol, "bias grad")


def test_locally_connected_repr_and_errors():
    layer = nn.LocallyConnected2d(3, 4, 3, 8, stride=2, padding=1, bias=False)
    assert repr(layer) == (
        "LocallyConnected2d(3, 4, kernel_size=(3, 3), input_size=(8, 8), stride=(2, 2), padding=(1, 1), bias=False)"
    )
    assert layer.output_size == (4, 4)
    with pytest.raises(
        ValueError,
        match=r"^LocallyConnected2d: expected input of spatial size \(H, W\) = \(8, 8\) "
        r"\(the input_size the layer was built for\), received shape "
        r"\(2, 3, 9, 8\)$",
    ):
        layer(cn.randn(2, 3, 9, 8))
    with pytest.raises(
        ValueError,
        match=r"^LocallyConnected2d: expected input with 3 channels, "
        r"received shape \(2, 2, 8, 8\)$",
    ):
        layer(cn.randn(2, 2, 8, 8))
    with pytest.raises(
        ValueError,
        match=r"^LocallyConnected2d: expected 4D input \(N, C, H, W\), "
        r"received shape \(3, 8, 8\)$",
    ):
        layer(cn.randn(3, 8, 8))
    with pytest.raises(
        ValueError,
        match=r"^LocallyConnected2d: the kernel \(5, 5\) does not fit in the padded "
        r"input \(4, 4\), so there is no output position\. Received: "
        r"input_size=\(4, 4\), kernel_size=\(5, 5\), padding=\(0, 0\)$",
    ):
        nn.LocallyConnected2d(1, 1, 5, 4)
    with pytest.raises(ValueError, match=r"^LocallyConnected2d: stride must be at least 1\. Received: stride=0$"):
        nn.LocallyConnected2d(1, 1, 3, 4, stride=0)


# --------------------------------------------------------------------------------------------
# dtype conversion
# --------------------------------------------------------------------------------------------
def test_double_and_float_convert_and_match_torch_double():
    torch.manual_seed(5)
    theirs = torch.nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect").double()
    ours = nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")
    assert ours.weight.dtype == np.float32 and ours.bias.dtype == np.float32
    ours.double()
    assert ours.weight.dtype == np.float64 and ours.bias.dtype == np.float64
    copy_weights(ours, theirs)
    x = np.random.default_rng(5).standard_normal((2, 3, 6, 6))
    assert_close(ours(cn.tensor(x)), theirs(torch.tensor(x)), 1e-10, "double model")
    ours.float()
    assert ours.weight.dtype == np.float32
    made64 = nn.Conv2d(3, 4, 3, dtype=np.float64)
    assert made64.weight.dtype == np.float64 and made64.bias.dtype == np.float64


# --------------------------------------------------------------------------------------------
# Default initialisation: the distribution of torch's (statistically, on large layers)
# --------------------------------------------------------------------------------------------
def _check_uniform(values: np.ndarray, bound: float, reference: np.ndarray, what: str) -> None:
    values = np.asarray(values, dtype=np.float64).ravel()
    n = values.size
    assert np.abs(values).max() <= bound * (1 + 1e-6), f"{what}: a value beyond the bound {bound}"
    # the largest of n uniform draws lies within bound * (1 - 20/n) with probability 1 - e^-20
    assert np.abs(values).max() >= bound * (1 - 20 / n), f"{what}: the values do not reach the bound"
    var = bound**2 / 3
    # the sample variance of U(-b, b) has standard deviation ~ sqrt(4/45) b^2 / sqrt(n): 6 sigma
    assert abs(values.var() - var) <= 6 * math.sqrt(4 / 45) * bound**2 / math.sqrt(n), f"{what}: variance"
    assert abs(values.mean()) <= 6 * bound / math.sqrt(3 * n), f"{what}: mean"
    assert scipy.stats.kstest(values, "uniform", args=(-bound, 2 * bound)).pvalue > 1e-4, f"{what}: KS test"
    # torch's layer drawn the same way: the two sample variances agree within 6 sigma of their difference
    ref = np.asarray(reference, dtype=np.float64).ravel()
    sigma = math.sqrt(4 / 45) * bound**2 * math.sqrt(1 / n + 1 / ref.size)
    assert abs(values.var() - ref.var()) <= 6 * sigma, f"{what}: variance differs from torch's"
    assert abs(np.abs(values).max() - np.abs(ref).max()) <= 20 * bound * (1 / n + 1 / ref.size), (
        f"{what}: largest value differs from torch's"
    )


@pytest.mark.parametrize(
    "cn_cls,t_cls,args,fan_in",
    [
        (nn.Conv2d, torch.nn.Conv2d, (64, 128, 5), 64 * 25),
        (nn.Conv2d, torch.nn.Conv2d, (32, 64, (3, 5), 1, 0, 1, 4), 8 * 15),  # groups: fan_in = in/groups * k
        (nn.Conv1d, torch.nn.Conv1d, (128, 256, 7), 128 * 7),
        (nn.Conv3d, torch.nn.Conv3d, (16, 64, 3), 16 * 27),
        (nn.ConvTranspose2d, torch.nn.ConvTranspose2d, (128, 48, 4), 48 * 16),  # torch's fan: weight.shape[1]
        (nn.Linear, torch.nn.Linear, (1000, 300), 1000),
    ],
)
def test_default_init_matches_torch_distribution(cn_cls, t_cls, args, fan_in):
    cn.manual_seed(7)
    ours = cn_cls(*args)
    torch.manual_seed(7)
    theirs = t_cls(*args)
    bound = 1 / math.sqrt(fan_in)
    assert ours.weight.dtype == np.float32 and ours.bias.dtype == np.float32
    _check_uniform(ours.weight.data, bound, theirs.weight.detach().numpy(), "weight")
    # biases are short: draw several layers' worth
    cn.manual_seed(8)
    torch.manual_seed(8)
    repeats = max(1, 4000 // ours.bias.numel())
    biases = np.concatenate([cn_cls(*args).bias.data for _ in range(repeats)])
    t_biases = np.concatenate([t_cls(*args).bias.detach().numpy() for _ in range(repeats)])
    _check_uniform(biases, bound, t_biases, "bias")


def test_locally_connected_init_bound():
    cn.manual_seed(9)
    layer = nn.LocallyConnected2d(16, 32, 3, 12)
    bound = 1 / math.sqrt(16 * 9)
    w = layer.weight.data.astype(np.float64).ravel()
    assert np.abs(w).max() <= bound and np.abs(w).max() >= bound * (1 - 20 / w.size)
    assert abs(w.var() - bound**2 / 3) <= 0.02 * bound**2 / 3
    assert scipy.stats.kstest(w, "uniform", args=(-bound, 2 * bound)).pvalue > 1e-4


def test_manual_seed_reproduces_a_model():
    def make():
        return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ConvTranspose2d(6, 3, 2), nn.LocallyConnected2d(3, 2, 3, 6))

    cn.manual_seed(123)
    a = make()
    cn.manual_seed(123)
    b = make()
    c = make()
    for (k, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        np.testing.assert_array_equal(va, vb, err_msg=k)
        assert not np.array_equal(va, vc), k


# --------------------------------------------------------------------------------------------
# Errors: constructor (Keras style) and input (the layer's path)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make,exc,message",
    [
        (
            lambda: nn.Conv2d(5, 4, 3, groups=2),
            ValueError,
            "Conv2d: in_channels must be divisible by groups. Received: in_channels=5, groups=2",
        ),
        (
            lambda: nn.Conv2d(4, 5, 3, groups=2),
            ValueError,
            "Conv2d: out_channels must be divisible by groups. Received: out_channels=5, groups=2",
        ),
        (lambda: nn.Conv2d(1, 6, 0), ValueError, "Conv2d: kernel_size must be at least 1. Received: kernel_size=0"),
        (lambda: nn.Conv1d(1, 6, -2), ValueError, "Conv1d: kernel_size must be at least 1. Received: kernel_size=-2"),
        (
            lambda: nn.Conv2d(1, 6, (3, 0)),
            ValueError,
            "Conv2d: kernel_size must be at least 1. Received: kernel_size=(3, 0)",
        ),
        (lambda: nn.Conv2d(1, 6, 3, stride=0), ValueError, "Conv2d: stride must be at least 1. Received: stride=0"),
        (
            lambda: nn.Conv3d(1, 6, 3, dilation=0),
            ValueError,
            "Conv3d: dilation must be at least 1. Received: dilation=0",
        ),
        (
            lambda: nn.Conv2d(1, 6, 3, padding=-1),
            ValueError,
            "Conv2d: padding must be at least 0. Received: padding=-1",
        ),
        (
            lambda: nn.Conv2d(1, 6, 3, padding_mode="mirror"),
            ValueError,
            "Conv2d: padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular'. "
            "Received: padding_mode='mirror'",
        ),
        (
            lambda: nn.Conv2d(1, 6, 3, padding="full"),
            ValueError,
            "Conv2d: padding must be 'valid', 'same', an int or a tuple of 2 ints. Received: padding='full'",
        ),
        (
            lambda: nn.Conv2d(1, 6, 3, stride=2, padding="same"),
            ValueError,
            "Conv2d: padding='same' is not supported for strided convolutions (expected stride 1). "
            "Received: stride=(2, 2)",
        ),
        (lambda: nn.Conv2d(0, 6, 3), ValueError, "Conv2d: in_channels must be at least 1. Received: in_channels=0"),
        (lambda: nn.Conv2d(1, 6, 3, groups=0), ValueError, "Conv2d: groups must be at least 1. Received: groups=0"),
        (lambda: nn.Conv2d(1.0, 6, 3), TypeError, "Conv2d: in_channels must be an int. Received: in_channels=1.0"),
        (
            lambda: nn.Conv2d(1, 6, (3, 3, 3)),
            TypeError,
            "Conv2d: kernel_size must be an int or a tuple of 2 ints. Received: kernel_size=(3, 3, 3)",
        ),
        (lambda: nn.Conv2d(1, 6, 3, bias="yes"), TypeError, "Conv2d: bias must be a bool. Received: bias='yes'"),
        (
            lambda: nn.Conv2d(1, 6, 3, device="cuda"),
            ValueError,
            "Conv2d: convnp runs on the CPU only. Received: device='cuda'",
        ),
        (
            lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2),
            ValueError,
            "ConvTranspose2d: output_padding must be smaller than either stride or dilation on every axis. "
            "Received: output_padding=(2, 2), stride=(2, 2), dilation=(1, 1)",
        ),
        (
            lambda: nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"),
            ValueError,
            "ConvTranspose2d: only padding_mode='zeros' is supported for transposed convolutions. "
            "Received: padding_mode='reflect'",
        ),
        (
            lambda: nn.ConvTranspose1d(2, 2, 3, padding="same"),
            ValueError,
            "ConvTranspose1d: padding must be an int or a tuple of 1 ints. Received: padding='same'",
        ),
    ],
)
def test_constructor_errors(make, exc, message):
    with pytest.raises(exc, match="^" + re.escape(message) + "$"):
        make()


def test_input_errors_name_the_layer():
    conv = nn.Conv2d(1, 6, 5)
    with pytest.raises(ValueError, match=r"^Conv2d: expected input with 1 channel, received shape \(2, 3, 28, 28\)$"):
        conv(cn.randn(2, 3, 28, 28))
    with pytest.raises(
        ValueError,
        match=r"^Conv2d: expected 3D or 4D input \(C, H, W\) or \(N, C, H, W\), "
        r"received shape \(28, 28\)$",
    ):
        conv(cn.randn(28, 28))
    # input too small for the kernel: the engine's message, named by the layer's path
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Conv2d(6, 16, 5))
    with pytest.raises(
        nn.LayerInputError,
        match=r"^2 \(Conv2d\): conv2d: the kernel \(dilated size \(5, 5\)\) is "
        r"larger than the padded input \(\(4, 4\)\)\.",
    ):
        model(cn.randn(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"^0 \(Conv1d\): pad: .*reflect"):
        nn.Sequential(nn.Conv1d(1, 1, 3, padding=4, padding_mode="reflect"))(cn.randn(1, 1, 3))
    with pytest.raises(
        ValueError,
        match=r"^ConvTranspose3d: expected input with 2 channels, "
        r"received shape \(1, 3, 2, 2, 2\)$",
    ):
        nn.ConvTranspose3d(2, 1, 2)(cn.randn(1, 3, 2, 2, 2))
