"""Upsample, PixelShuffle, PixelUnshuffle against torch.nn: forward, input gradient and repr in float64 and
float32; output_shape equals the forward's shape; constructor and input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import layer_parity

import convnp as cn
from convnp import nn

UPSAMPLE = [
    dict(scale_factor=2),
    dict(scale_factor=1.5, mode="bilinear"),
    dict(scale_factor=(0.6, 2.5), mode="bilinear", align_corners=True),
    dict(size=(3, 8), mode="nearest-exact"),
    dict(size=7, mode="nearest"),
    dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", UPSAMPLE, ids=[str(k) for k in UPSAMPLE])
def test_upsample_matches_torch(kwargs, dtype):
    x = np.random.default_rng(0).standard_normal((1, 3, 5, 7))
    ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    assert repr(ours) == repr(theirs)
    layer_parity(ours, theirs, [x], dtype, what=f"Upsample {kwargs}")
    assert ours.output_shape(x.shape) == tuple(theirs(torch.tensor(x)).shape)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "mode, shape", [("linear", (2, 3, 5)), ("trilinear", (1, 2, 3, 4, 5)), ("nearest", (1, 2, 3, 4, 5))]
)
def test_upsample_1d_and_3d(mode, shape, dtype):
    x = np.random.default_rng(1).standard_normal(shape)
    kwargs = dict(scale_factor=2.5, mode=mode)
    layer_parity(nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs), [x], dtype, what=f"Upsample {kwargs}")
    assert nn.Upsample(**kwargs).output_shape(shape) == tuple(torch.nn.Upsample(**kwargs)(torch.tensor(x)).shape)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("r, shape", [(2, (1, 8, 3, 5)), (3, (2, 9, 2, 1)), (1, (4, 2, 2)), (2, (2, 2, 4, 3, 3))])
def test_pixel_shuffle_layers_match_torch(r, shape, dtype):
    x = np.random.default_rng(2).standard_normal(shape)
    shuffle, t_shuffle = nn.PixelShuffle(r), torch.nn.PixelShuffle(r)
    assert repr(shuffle) == repr(t_shuffle)
    layer_parity(shuffle, t_shuffle, [x], dtype, what=f"PixelShuffle({r})")
    y = np.asarray(t_shuffle(torch.tensor(x)).detach())
    assert shuffle.output_shape(shape) == y.shape
    unshuffle, t_unshuffle = nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r)
    assert repr(unshuffle) == repr(t_unshuffle)
    layer_parity(unshuffle, t_unshuffle, [y], dtype, what=f"PixelUnshuffle({r})")
    assert unshuffle.output_shape(y.shape) == shape


@pytest.mark.parametrize(
    "make, kind, message",
    [
        (lambda: nn.Upsample(scale_factor=2, mode="area"), ValueError, "Upsample: mode must be one of"),
        (lambda: nn.Upsample(), ValueError, "Upsample: give exactly one of size and scale_factor"),
        (
            lambda: nn.Upsample(size=3, scale_factor=2),
            ValueError,
            "Upsample: give exactly one of size and scale_factor",
        ),
        (lambda: nn.Upsample(scale_factor=2, align_corners=True), ValueError, "align_corners can only be set"),
        (lambda: nn.PixelShuffle(0), ValueError, "PixelShuffle: upscale_factor must be at least 1"),
        (lambda: nn.PixelUnshuffle(2.0), TypeError, "PixelUnshuffle: downscale_factor must be an int"),
    ],
)
def test_constructor_errors(make, kind, message):
    with pytest.raises(kind, match="Received") as err:
        make()
    assert message in str(err.value)


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (nn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 5), "interpolate: mode 'bilinear' needs 4-D input"),
        (nn.Upsample(size=(3, 3)), (1, 2, 5), "expected size to be a number or a sequence of 1"),
        (nn.Upsample(scale_factor=0.1), (1, 2, 5, 5), "the output size must be at least 1"),
        (nn.PixelShuffle(2), (1, 6, 3, 3), "channels divisible by upscale_factor ** 2"),
        (nn.PixelShuffle(1), (3, 3), "expected input of shape (*, C * 1, H, W)"),
        (nn.PixelUnshuffle(2), (1, 2, 3, 4), "height and width divisible by downscale_factor"),
    ],
)
def test_input_errors_from_forward_and_output_shape(layer, shape, message):
    for call in (lambda: layer(cn.zeros(*shape)), lambda: layer.output_shape(shape)):
        with pytest.raises(nn.LayerInputError) as err:
            call()
        assert message in str(err.value) and str(err.value).startswith(type(layer).__name__)


# --------------------------------------------------------------------------------------------
# Padding layers (convnp/nn/padding.py, over F.pad)
# --------------------------------------------------------------------------------------------
def _pad_layers(nd, padding, value):
    kinds = [
        ("ZeroPad", ()),
        ("ConstantPad", (value,)),
        ("ReflectionPad", ()),
        ("ReplicationPad", ()),
        ("CircularPad", ()),
    ]
    return [
        (getattr(nn, f"{k}{nd}d")(padding, *extra), getattr(torch.nn, f"{k}{nd}d")(padding, *extra))
        for k, extra in kinds
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(8))
def test_padding_layers_match_torch(seed, dtype):
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 4))
    batched = bool(rng.random() < 0.7)
    spatial = tuple(int(s) for s in rng.integers(2, 6, nd))
    shape = ((1,) if batched else ()) + (int(rng.integers(1, 3)),) + spatial
    if rng.random() < 0.3:
        padding = int(rng.integers(0, min(spatial)))
    else:  # pads smaller than the sizes, so reflect works too
        padding = tuple(int(rng.integers(0, spatial[-1 - i // 2])) for i in range(2 * nd))
    x = rng.standard_normal(shape)
    for ours, theirs in _pad_layers(nd, padding, float(rng.choice([0.0, 2.5, -1.0]))):
        assert repr(ours) == repr(theirs)
        what = f"{ours!r} on {shape}"
        layer_parity(ours, theirs, [x], dtype, what=what)
        assert ours.output_shape(shape) == tuple(theirs(torch.tensor(x)).shape), what


def test_zero_and_constant_pad_crop_with_negative_padding():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5))
    for ours, theirs in [
        (nn.ZeroPad2d((-1, 2, 0, -3)), torch.nn.ZeroPad2d((-1, 2, 0, -3))),
        (nn.ConstantPad2d((1, -2, -1, 0), 4.0), torch.nn.ConstantPad2d((1, -2, -1, 0), 4.0)),
    ]:
        layer_parity(ours, theirs, [x], what=repr(ours))
        assert ours.output_shape(x.shape) == tuple(theirs(torch.tensor(x)).shape)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.ZeroPad2d((1, 2, 3)), "ZeroPad2d: padding must be an int or a tuple of 4 ints"),
        (lambda: nn.ReflectionPad1d(1.5), "ReflectionPad1d: padding must be an int or a tuple of 2 ints"),
        (lambda: nn.ConstantPad3d(1, "0"), "ConstantPad3d: value must be a number"),
    ],
)
def test_padding_constructor_errors(make, message):
    with pytest.raises(TypeError, match="Received") as err:
        make()
    assert message in str(err.value)


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (nn.ZeroPad2d(1), (5, 5), "expected 3D or 4D input (C, H, W) or (N, C, H, W)"),
        (nn.ReflectionPad2d(3), (1, 1, 3, 5), "pad: "),
        (nn.ZeroPad1d(-3), (1, 1, 5), "crops 6 entries"),
    ],
)
def test_padding_input_errors_from_forward_and_output_shape(layer, shape, message):
    for call in (lambda: layer(cn.zeros(*shape)), lambda: layer.output_shape(shape)):
        with pytest.raises(nn.LayerInputError) as err:
            call()
        assert message in str(err.value) and str(err.value).startswith(type(layer).__name__)
