"""interpolate, pixel_shuffle, pixel_unshuffle: PyTorch parity of the forward and the gradient on seeded
random configurations (odd sizes, batch of one, non-integer scale factors, align_corners both ways),
float64 gradcheck, and every error message."""

import numpy as np
import pytest
import torch.nn.functional as TF
from helpers import check_gradcheck, compare_with_torch

import convnp as cn
from convnp.ops.resampling import interpolate, pixel_shuffle, pixel_unshuffle

DTYPES = [np.float64, np.float32]
RANK = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _config(seed):
    """A random interpolate call: mode, input shape and its keyword arguments."""
    rng = np.random.default_rng(seed)
    mode = str(rng.choice(["nearest", "nearest-exact", "linear", "bilinear", "trilinear"]))
    k = RANK.get(mode, int(rng.integers(1, 4)))
    n = int(rng.choice([1, 2]))
    spatial = tuple(int(s) for s in rng.integers(1, 8 if k < 3 else 5, k))
    kwargs = {}
    if rng.random() < 0.5:
        kwargs["size"] = tuple(int(s) for s in rng.integers(1, 10 if k < 3 else 6, k))
        if rng.random() < 0.3:
            kwargs["size"] = kwargs["size"][0]
    else:
        factors = [float(f) for f in rng.choice([0.5, 0.7, 1.0, 1.5, 1.75, 2.0, 2.3, 3.0], k)]
        if any(int(np.floor(s * f)) < 1 for s, f in zip(spatial, factors)):
            factors = [2.0] * k
        kwargs["scale_factor"] = tuple(factors) if rng.random() < 0.7 else factors[0]
        if rng.random() < 0.3:
            kwargs["recompute_scale_factor"] = True
        if not isinstance(kwargs["scale_factor"], tuple) and any(
            int(np.floor(s * kwargs["scale_factor"])) < 1 for s in spatial
        ):
            kwargs["scale_factor"] = 2.0
    if mode in RANK:
        kwargs["align_corners"] = bool(rng.random() < 0.5)
    return mode, (n, int(rng.integers(1, 4))) + spatial, kwargs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(40))
def test_interpolate_matches_torch(seed, dtype):
    mode, shape, kwargs = _config(seed)
    x = np.random.default_rng(100 + seed).standard_normal(shape)
    compare_with_torch(
        lambda t: interpolate(t, mode=mode, **kwargs),
        lambda t: TF.interpolate(t, mode=mode, **kwargs),
        [x],
        dtype=dtype,
        seed=seed,
        what=f"interpolate {mode} {shape} {kwargs}",
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "mode, shape, kwargs",
    [
        ("bilinear", (1, 1, 5, 7), {"scale_factor": 1.5, "align_corners": False}),
        ("bilinear", (1, 2, 5, 7), {"scale_factor": 1.5, "align_corners": True}),
        ("bilinear", (1, 1, 7, 5), {"size": (3, 2), "align_corners": False}),  # downsampling
        ("bilinear", (2, 1, 4, 4), {"size": (1, 1), "align_corners": True}),  # out = 1: scale 0
        ("linear", (1, 1, 1), {"size": 5}),  # one input pixel
        ("nearest", (1, 3, 5, 5), {"scale_factor": 2}),  # the doubling shortcut
        ("nearest", (1, 1, 9), {"scale_factor": 0.35}),
        ("nearest", (1, 1, 10), {"scale_factor": 1 / 3}),  # float32 boundaries
        ("nearest-exact", (1, 1, 7, 3), {"scale_factor": (0.6, 2.5)}),
        ("trilinear", (1, 1, 3, 4, 5), {"scale_factor": (1.5, 0.75, 2.0), "recompute_scale_factor": True}),
        # PyTorch's shortcuts and its float32 arithmetic, found by a randomised comparison
        ("linear", (1, 2, 7), {"scale_factor": 1.126}),  # out == in: a copy
        ("bilinear", (1, 1, 7, 17), {"scale_factor": (1.126, 2.706)}),
        ("nearest", (1, 2, 11), {"scale_factor": 2.007}),  # 1-D forward: no doubling shortcut
        ("nearest", (1, 2, 24, 5), {"scale_factor": (2.54, 2.058)}),  # 2-D: out = 2 in is j // 2
        ("nearest-exact", (1, 2, 26), {"scale_factor": 0.891, "recompute_scale_factor": True}),
        ("nearest-exact", (1, 2, 32), {"scale_factor": 2.725}),
        ("nearest-exact", (1, 1, 20, 8), {"scale_factor": (3.611, 1.078)}),  # out == in, but no copy
    ],
)
def test_interpolate_awkward_cases(mode, shape, kwargs, dtype):
    x = np.random.default_rng(7).standard_normal(shape)
    # PyTorch's 1-D nearest backward takes the doubling shortcut its forward does not: its gradient is not that of
    # its own forward there, so only the forward is compared (the gradient is gradchecked below)
    torch_grad_is_its_forwards = not (mode == "nearest" and len(shape) == 3 and kwargs.get("scale_factor") == 2.007)
    compare_with_torch(
        lambda t: interpolate(t, mode=mode, **kwargs),
        lambda t: TF.interpolate(t, mode=mode, **kwargs),
        [x],
        dtype=dtype,
        what=f"interpolate {mode} {shape} {kwargs}",
        check_grads=torch_grad_is_its_forwards,
    )


@pytest.mark.parametrize(
    "mode, shape, kwargs",
    [
        ("nearest", (1, 2, 3, 5), {"scale_factor": 1.7}),
        ("nearest", (1, 2, 11), {"scale_factor": 2.007}),
        ("linear", (2, 1, 5), {"size": 8}),
        ("bilinear", (1, 2, 4, 3), {"scale_factor": 1.5, "align_corners": False}),
        ("bilinear", (1, 1, 5, 4), {"size": (3, 7), "align_corners": True}),
        ("trilinear", (1, 1, 2, 3, 3), {"scale_factor": 2}),
    ],
)
def test_interpolate_gradcheck(mode, shape, kwargs):
    x = np.random.default_rng(3).standard_normal(shape)
    check_gradcheck(lambda t: interpolate(t, mode=mode, **kwargs), [x])


def test_interpolate_doctest_value_and_rows_sum_to_one():
    y = interpolate(cn.ones(1, 1, 5, 7), scale_factor=1.3, mode="bilinear")
    np.testing.assert_allclose(y.data, 1.0)
    assert y.shape == (1, 1, 6, 9)


@pytest.mark.parametrize(
    "call, kind, message",
    [
        (lambda x: interpolate(x, size=4, mode="bicubic"), ValueError, "mode must be one of"),
        (lambda x: interpolate(x[0, 0], size=4), ValueError, "expected input of shape (N, C, L)"),
        (lambda x: interpolate(x, size=4, mode="linear"), ValueError, "mode 'linear' needs 3-D input"),
        (lambda x: interpolate(x, size=4, align_corners=True), ValueError, "align_corners can only be set"),
        (lambda x: interpolate(x, size=4, antialias=True), ValueError, "antialias is not supported"),
        (lambda x: interpolate(x), ValueError, "give exactly one of size and scale_factor"),
        (lambda x: interpolate(x, size=4, scale_factor=2), ValueError, "give exactly one of size and scale_factor"),
        (lambda x: interpolate(x, size=(4, 4, 4)), ValueError, "expected size to be a number or a sequence of 2"),
        (lambda x: interpolate(x, size=2.5), ValueError, "expected size to be a number or a sequence of 2"),
        (lambda x: interpolate(x, scale_factor=-1.0), ValueError, "scale_factor must be positive"),
        (lambda x: interpolate(x, scale_factor=0.1), ValueError, "the output size must be at least 1"),
        (lambda x: interpolate(x, size=(0, 3)), ValueError, "the output size must be at least 1"),
        (lambda x: interpolate(cn.zeros(1, 1, 3, 3, dtype=np.int64), size=4), TypeError, "floating-point"),
        (lambda x: pixel_shuffle(x, 0), ValueError, "upscale_factor must be a positive int"),
        (lambda x: pixel_shuffle(x, 3), ValueError, "channels divisible by upscale_factor ** 2"),
        (lambda x: pixel_shuffle(x[0, 0], 1), ValueError, "expected input of shape (*, C * 1, H, W)"),
        (lambda x: pixel_unshuffle(x, 2.0), ValueError, "downscale_factor must be a positive int"),
        (lambda x: pixel_unshuffle(x, 2), ValueError, "height and width divisible by downscale_factor"),
    ],
)
def test_errors(call, kind, message):
    x = cn.zeros(2, 4, 3, 5)
    with pytest.raises(kind, match="Received") as err:
        call(x)
    assert message in str(err.value)


# --------------------------------------------------------------------------------------------
# pixel shuffle
# --------------------------------------------------------------------------------------------
def _shuffle_config(seed):
    rng = np.random.default_rng(seed)
    r = int(rng.integers(1, 4))
    lead = tuple(int(s) for s in rng.integers(1, 3, int(rng.integers(0, 3))))
    c, h, w = (int(s) for s in rng.integers(1, 4, 3))
    return r, lead, c, h, w


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(12))
def test_pixel_shuffle_and_unshuffle_match_torch(seed, dtype):
    r, lead, c, h, w = _shuffle_config(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(lead + (c * r * r, h, w))
    compare_with_torch(
        lambda t: pixel_shuffle(t, r),
        lambda t: TF.pixel_shuffle(t, r),
        [x],
        dtype=dtype,
        what=f"pixel_shuffle {x.shape} r={r}",
    )
    y = rng.standard_normal(lead + (c, h * r, w * r))
    compare_with_torch(
        lambda t: pixel_unshuffle(t, r),
        lambda t: TF.pixel_unshuffle(t, r),
        [y],
        dtype=dtype,
        what=f"pixel_unshuffle {y.shape} r={r}",
    )


def test_pixel_shuffle_round_trip_and_gradcheck():
    x = np.random.default_rng(0).standard_normal((2, 18, 3, 5))
    np.testing.assert_array_equal(pixel_unshuffle(pixel_shuffle(cn.tensor(x), 3), 3).data, x)
    check_gradcheck(lambda t: pixel_shuffle(t, 3), [x])
    check_gradcheck(lambda t: pixel_unshuffle(t, 2), [np.random.default_rng(1).standard_normal((1, 2, 4, 6))])
