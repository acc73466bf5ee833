"""Pooling layers against torch.nn: MaxPool1d/2d/3d, MaxUnpool2d, AvgPool1d/2d/3d, AdaptiveAvgPool2d,
AdaptiveMaxPool2d.

The same arguments in both libraries; forward output (and indices), input gradient, reprs, in
train and eval mode, float64 and float32, on the awkward configurations (strides that do not
divide, overlapping windows, ceil_mode with padding, dilation, unbatched input, a kernel as large
as the padded input) and seeded random ones; constructor and input errors.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from helpers import layer_parity

import convnp as cn
from convnp import nn


# --------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------
def _case(name, args, x, **kw):
    return dict(name=name, args=args, kw=kw, x=x)


CASES = [
    _case("MaxPool2d", (2,), (2, 3, 8, 8)),
    _case("MaxPool2d", (3,), (1, 2, 7, 8), stride=2, padding=1, ceil_mode=True),
    _case("MaxPool2d", ((3, 2),), (2, 1, 9, 6), stride=(2, 1), padding=(1, 0), dilation=(2, 1)),
    _case("MaxPool2d", (2,), (2, 5, 5), stride=1, return_indices=True),  # overlapping, unbatched
    _case("MaxPool2d", (3,), (1, 1, 1, 1), padding=1),  # kernel = padded input
    _case("MaxPool2d", (3,), (2, 2, 6, 7), stride=2, dilation=3, padding=1, ceil_mode=True, return_indices=True),
    _case("MaxPool1d", (3,), (2, 3, 10), stride=2, padding=1, dilation=2, ceil_mode=True),
    _case("MaxPool1d", (4,), (3, 9), stride=3, return_indices=True),
    _case("MaxPool3d", (2,), (1, 2, 4, 5, 4)),
    _case("MaxPool3d", ((3, 2, 3),), (2, 1, 5, 4, 6), stride=2, padding=(1, 0, 1), ceil_mode=True, return_indices=True),
    _case("AvgPool1d", (3,), (2, 3, 10), stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    _case("AvgPool1d", (4,), (3, 9), stride=3),
    _case("AvgPool2d", (2,), (2, 3, 8, 8)),
    _case("AvgPool2d", (3,), (1, 2, 7, 8), stride=2, padding=1, ceil_mode=True),
    _case("AvgPool2d", ((3, 2),), (2, 1, 7, 5), stride=(2, 3), padding=(1, 1), count_include_pad=False),
    _case("AvgPool2d", (3,), (2, 6, 5), stride=2, padding=1, divisor_override=5),
    _case("AvgPool3d", (2,), (1, 2, 4, 5, 4)),
    _case("AvgPool3d", (3,), (2, 1, 5, 4, 6), stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    _case("AdaptiveAvgPool2d", ((3, None),), (2, 3, 7, 5)),
    _case("AdaptiveAvgPool2d", (1,), (2, 4, 6, 6)),
    _case("AdaptiveAvgPool2d", ((4, 3),), (3, 7, 5)),
    _case("AdaptiveMaxPool2d", ((3, 2),), (2, 3, 7, 5), return_indices=True),
    _case("AdaptiveMaxPool2d", (4,), (1, 2, 9, 6)),
]


def _random_cases(n=6, seed=77):
    r = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        name = str(r.choice(["MaxPool2d", "AvgPool2d"]))
        k = tuple(int(v) for v in r.integers(1, 5, size=2))
        stride = tuple(int(v) for v in r.integers(1, 4, size=2))
        padding = tuple(int(r.integers(0, kk // 2 + 1)) for kk in k)
        kw = dict(stride=stride, padding=padding, ceil_mode=bool(r.integers(0, 2)))
        if name == "MaxPool2d":
            kw["dilation"] = tuple(int(v) for v in r.integers(1, 3, size=2))
        else:
            kw["count_include_pad"] = bool(r.integers(0, 2))
        size = tuple(int(kk * 2 + r.integers(0, 5)) for kk in k)
        out.append(_case(name, (k,), (int(r.integers(1, 3)), int(r.integers(1, 4)), *size), **kw))
    return out


CASES += _random_cases()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c['name']}-{i}" for i, c in enumerate(CASES)])
def test_pooling_layer_matches_torch(case, dtype):
    cfg = CASES[case]
    ours = getattr(nn, cfg["name"])(*cfg["args"], **cfg["kw"])
    theirs = getattr(torch.nn, cfg["name"])(*cfg["args"], **cfg["kw"])
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == [] and list(ours.parameters()) == []
    x = np.random.default_rng(case).standard_normal(cfg["x"])
    for train in (True, False):
        layer_parity(ours, theirs, [x], dtype, train=train, what=f"{cfg['name']} {cfg['kw']}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "kw,x_shape,output_size",
    [
        (dict(kernel_size=2), (2, 3, 8, 8), None),
        (dict(kernel_size=3, stride=2, padding=1), (1, 2, 7, 9), None),
        (dict(kernel_size=3, stride=2, padding=1), (1, 2, 7, 9), [8, 10]),  # undo a pooling that dropped pixels
        (dict(kernel_size=(2, 3), stride=(2, 2)), (3, 5, 7), [1, 3, 5, 8]),
    ],
)
def test_max_unpool_layer_matches_torch(kw, x_shape, output_size, dtype):
    x = torch.tensor(np.random.default_rng(3).standard_normal(x_shape))
    pooled, indices = torch.nn.functional.max_pool2d(x, return_indices=True, **kw)
    ours, theirs = nn.MaxUnpool2d(**kw), torch.nn.MaxUnpool2d(**kw)
    assert repr(ours) == repr(theirs)
    kwargs = {} if output_size is None else {"output_size": output_size}
    out, _ = layer_parity(ours, theirs, [pooled.numpy(), indices.numpy()], dtype, kwargs=kwargs)
    if output_size is not None:
        assert out.shape[-2:] == tuple(output_size[-2:])


def test_max_pool_then_unpool_round_trip():
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    x = cn.tensor(np.abs(np.random.default_rng(0).standard_normal((2, 3, 6, 6))) + 0.1)  # maxima above 0
    y, idx = pool(x)
    back = unpool(y, idx)
    # every window keeps its maximum where it was, zeros elsewhere
    windows = back.data.reshape(2, 3, 3, 2, 3, 2)
    assert np.array_equal(windows.max(axis=(3, 5)), y.data)
    assert np.count_nonzero(back.data) == y.data.size


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make,exc,message",
    [
        (lambda: nn.MaxPool2d(0), ValueError, "MaxPool2d: kernel_size must be at least 1. Received: kernel_size=0"),
        (lambda: nn.MaxPool2d(2, stride=0), ValueError, "MaxPool2d: stride must be at least 1. Received: stride=0"),
        (
            lambda: nn.MaxPool1d(2, dilation=0),
            ValueError,
            "MaxPool1d: dilation must be at least 1. Received: dilation=0",
        ),
        (
            lambda: nn.MaxPool2d(3, padding=2),
            ValueError,
            "MaxPool2d: padding must be at most half the kernel size (padding <= kernel_size // 2). "
            "Received: padding=2, kernel_size=3",
        ),
        (
            lambda: nn.AvgPool2d((2, 4), padding=(1, 3)),
            ValueError,
            "AvgPool2d: padding must be at most half the kernel size (padding <= kernel_size // 2). "
            "Received: padding=(1, 3), kernel_size=(2, 4)",
        ),
        (
            lambda: nn.AvgPool3d(2, padding=-1),
            ValueError,
            "AvgPool3d: padding must be at least 0. Received: padding=-1",
        ),
        (
            lambda: nn.AvgPool2d(2, divisor_override=0),
            ValueError,
            "AvgPool2d: divisor_override must not be zero. Received: divisor_override=0",
        ),
        (lambda: nn.AvgPool2d(2, ceil_mode=1), TypeError, "AvgPool2d: ceil_mode must be a bool. Received: ceil_mode=1"),
        (
            lambda: nn.MaxPool2d((2, 2, 2)),
            TypeError,
            "MaxPool2d: kernel_size must be an int or a tuple of 2 ints. Received: kernel_size=(2, 2, 2)",
        ),
        (lambda: nn.MaxUnpool2d(2, stride=0), ValueError, "MaxUnpool2d: stride must be at least 1. Received: stride=0"),
        (
            lambda: nn.AdaptiveAvgPool2d((1, 2, 3)),
            ValueError,
            "AdaptiveAvgPool2d: output_size must be an int or a tuple of 2 (ints or None). Received: output_size=(1, 2, 3)",
        ),
        (
            lambda: nn.AdaptiveMaxPool2d(-1),
            ValueError,
            "AdaptiveMaxPool2d: output_size must not be negative. Received: output_size=-1",
        ),
        (
            lambda: nn.AdaptiveMaxPool2d(None),
            TypeError,
            "AdaptiveMaxPool2d: output_size must be an int or a tuple of 2 (ints or None). Received: output_size=None",
        ),
    ],
)
def test_constructor_errors(make, exc, message):
    with pytest.raises(exc, match="^" + re.escape(message) + "$"):
        make()


def test_input_errors_name_the_layer():
    with pytest.raises(
        ValueError,
        match=r"^MaxPool2d: expected 3D or 4D input \(C, H, W\) or \(N, C, H, W\), "
        r"received shape \(8, 8\)$",
    ):
        nn.MaxPool2d(2)(cn.randn(8, 8))
    with pytest.raises(
        ValueError,
        match=r"^AvgPool1d: expected 2D or 3D input \(C, L\) or \(N, C, L\), "
        r"received shape \(1, 2, 3, 4\)$",
    ):
        nn.AvgPool1d(2)(cn.randn(1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"^AdaptiveAvgPool2d: expected 3D or 4D input"):
        nn.AdaptiveAvgPool2d(1)(cn.randn(1, 2, 3, 4, 5))
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(4))
    with pytest.raises(
        nn.LayerInputError,
        match=r"^1 \(MaxPool2d\): max_pool2d: the input is too small for the "
        r"pooling window",
    ):
        model(cn.randn(1, 1, 5, 5))
    with pytest.raises(ValueError, match=r"^MaxUnpool2d: max_unpool2d: indices must have the shape of input"):
        nn.MaxUnpool2d(2)(cn.randn(1, 1, 2, 2), cn.tensor(np.zeros((1, 1, 2, 1), dtype=np.int64)))
