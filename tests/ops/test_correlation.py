"""correlate2d / convolve2d: equality with scipy.signal in every mode, gradients (gradcheck and
PyTorch autograd of an equivalent conv2d), the flip identity, and the error messages."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from helpers import TOL, assert_close, check_gradcheck, compare_with_torch

import convnp as cn
from convnp.ops.correlation import convolve2d, correlate2d

MODES = ("valid", "same", "full")
FUNCTIONS = {
    "correlate2d": (correlate2d, scipy.signal.correlate2d),
    "convolve2d": (convolve2d, scipy.signal.convolve2d),
}


def _shape_configs(count: int, seed: int):
    """(image shape, kernel shape): odd and even kernels, 1xN and Nx1, kernels larger than the image."""
    rng = np.random.default_rng(seed)
    configs = [
        ((5, 6), (3, 3)),
        ((5, 6), (2, 4)),
        ((4, 4), (4, 4)),
        ((3, 7), (1, 4)),
        ((6, 2), (5, 1)),
        ((1, 1), (1, 1)),
        ((1, 6), (1, 3)),
        ((2, 3), (5, 6)),
        ((3, 3), (3, 6)),
        ((2, 2), (7, 2)),
        ((4, 5), (6, 3)),
        ((5, 4), (2, 6)),
        ((7, 8), (8, 8)),
    ]
    for _ in range(count):
        image = tuple(int(v) for v in rng.integers(1, 9, size=2))
        kernel = tuple(int(v) for v in rng.integers(1, 10, size=2))
        configs.append((image, kernel))
    return configs


SHAPES = _shape_configs(22, seed=7)
GRAD_SHAPES = SHAPES[:13] + SHAPES[13::2]  # the hand-picked edge cases and half the random ones


def _scipy_valid_ok(image, kernel) -> bool:
    return all(a >= b for a, b in zip(image, kernel)) or all(b >= a for a, b in zip(image, kernel))


# --------------------------------------------------------------------------------------------
# Forward: exactly scipy.signal's values and shapes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("image, kernel", SHAPES, ids=[f"{i}-{k}" for i, k in SHAPES])
def test_matches_scipy(image, kernel, name, dtype):
    ours, theirs = FUNCTIONS[name]
    rng = np.random.default_rng(sum(image) * 10 + sum(kernel))
    x = rng.standard_normal(image).astype(dtype)
    k = rng.standard_normal(kernel).astype(dtype)
    for mode in MODES:
        if mode == "valid" and not _scipy_valid_ok(image, kernel):
            with pytest.raises(ValueError):
                theirs(x, k, mode)  # scipy refuses it, and so do we
            with pytest.raises(ValueError, match=f"{name}: in 'valid' mode one input must be at least as large"):
                ours(cn.tensor(x), cn.tensor(k), mode)
            continue
        expected = theirs(x.astype(np.float64), k.astype(np.float64), mode)
        out = ours(cn.tensor(x), cn.tensor(k), mode)
        assert out.dtype == dtype, f"{name} {mode}: dtype {out.dtype} != {dtype}"
        assert_close(out, expected, TOL[np.dtype(dtype)], f"{name} {mode} {image} {kernel}")


def test_default_mode_is_full_like_scipy():
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((4, 5)), rng.standard_normal((2, 3))
    assert correlate2d(x, k).shape == scipy.signal.correlate2d(x, k).shape == (5, 7)
    np.testing.assert_allclose(convolve2d(x, k).data, scipy.signal.convolve2d(x, k), rtol=1e-12, atol=1e-12)


def test_integer_inputs_like_scipy():
    x = np.arange(20).reshape(4, 5)
    k = np.array([[1, -1], [2, 0]])
    for name, (ours, theirs) in FUNCTIONS.items():
        for mode in MODES:
            np.testing.assert_array_equal(ours(x, k, mode).data, theirs(x, k, mode), err_msg=f"{name} {mode}")


# --------------------------------------------------------------------------------------------
# The lectures' point: convolution is correlation with the kernel rotated 180 degrees
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image, kernel", SHAPES[:20], ids=[f"{i}-{k}" for i, k in SHAPES[:20]])
def test_convolution_is_correlation_with_flipped_kernel(image, kernel):
    rng = np.random.default_rng(3)
    x, k = cn.tensor(rng.standard_normal(image)), cn.tensor(rng.standard_normal(kernel))
    flipped = cn.tensor(k.data[::-1, ::-1].copy())
    modes = ["full", "same"] + (["valid"] if _scipy_valid_ok(image, kernel) else [])
    for mode in modes:
        conv = convolve2d(x, k, mode).data
        if mode == "same" and (kernel[0] % 2 == 0 or kernel[1] % 2 == 0):
            # scipy centres 'same' at (k-1)//2 for convolution and k//2 for correlation: with an
            # even kernel both are windows of the same full result, one pixel apart
            full = correlate2d(x, flipped, "full").data
            rows, cols = (kernel[0] - 1) // 2, (kernel[1] - 1) // 2
            np.testing.assert_allclose(
                conv, full[rows : rows + image[0], cols : cols + image[1]], rtol=1e-12, atol=1e-12
            )
        else:
            np.testing.assert_allclose(conv, correlate2d(x, flipped, mode).data, rtol=1e-12, atol=1e-12)
    # and in 'full' mode convolution commutes, correlation does not (it reverses)
    np.testing.assert_allclose(convolve2d(x, k).data, convolve2d(k, x).data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(correlate2d(x, k).data, correlate2d(k, x).data[::-1, ::-1], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Gradients: gradcheck, and PyTorch autograd of the same computation written as conv2d
# --------------------------------------------------------------------------------------------


def _torch_reference(name: str, mode: str):
    """The same operation in PyTorch: zero-pad the image (scipy's pads for the mode), conv2d."""

    def fn(x, k):
        pads = []
        for h, kk in zip(x.shape, k.shape):
            if mode == "full":
                pads.append((kk - 1, kk - 1))
            elif mode == "same":
                before = kk // 2 if name == "convolve2d" else (kk - 1) // 2
                pads.append((before, kk - 1 - before))
            else:
                pads.append((max(kk - h, 0), max(kk - h, 0)))
        kernel = k.flip((0, 1)) if name == "convolve2d" else k
        xp = F.pad(x[None, None], (*pads[1], *pads[0]))
        return F.conv2d(xp, kernel[None, None])[0, 0]

    return fn


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("image, kernel", GRAD_SHAPES, ids=[f"{i}-{k}" for i, k in GRAD_SHAPES])
def test_gradients_match_torch(image, kernel, name, dtype):
    ours = FUNCTIONS[name][0]
    rng = np.random.default_rng(sum(image) + 3 * sum(kernel))
    x, k = rng.standard_normal(image), rng.standard_normal(kernel)
    for mode in MODES:
        if mode == "valid" and not _scipy_valid_ok(image, kernel):
            continue
        compare_with_torch(
            lambda a, b: ours(a, b, mode),
            _torch_reference(name, mode),
            [x, k],
            dtype=dtype,
            what=f"{name} {mode} {image} {kernel}",
        )


GRADCHECK = [((4, 5), (3, 2)), ((3, 3), (2, 2)), ((2, 3), (3, 4)), ((3, 4), (1, 3)), ((4, 2), (4, 1))]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("image, kernel", GRADCHECK, ids=[f"{i}-{k}" for i, k in GRADCHECK])
def test_gradcheck_both_arguments(image, kernel, name, mode):
    ours = FUNCTIONS[name][0]
    rng = np.random.default_rng(5)
    check_gradcheck(lambda a, b: ours(a, b, mode), [rng.standard_normal(image), rng.standard_normal(kernel)])


def test_gradient_of_one_argument_only():
    rng = np.random.default_rng(2)
    x = cn.tensor(rng.standard_normal((4, 4)), requires_grad=True)
    k = cn.tensor(rng.standard_normal((3, 2)))
    convolve2d(x, k, "same").sum().backward()
    t = torch.tensor(x.data, requires_grad=True)
    _torch_reference("convolve2d", "same")(t, torch.tensor(k.data)).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert k.grad is None


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_errors(name):
    ours = FUNCTIONS[name][0]
    img, ker = cn.zeros(4, 5), cn.zeros(2, 2)
    with pytest.raises(
        ValueError,
        match=rf"{name}: in1 and in2 must both be 2-D \(one image, one kernel\). "
        rf"Received: in1 of shape \(1, 4, 5\), in2 of shape \(2, 2\)",
    ):
        ours(cn.zeros(1, 4, 5), ker)
    with pytest.raises(ValueError, match=rf"{name}: in1 and in2 must both be 2-D.*in2 of shape \(2,\)"):
        ours(img, cn.zeros(2))
    with pytest.raises(ValueError, match=rf"{name}: mode must be 'valid', 'same' or 'full'. Received: mode='circular'"):
        ours(img, ker, "circular")
    with pytest.raises(ValueError, match=rf"{name}: mode must be .* Received: mode=None"):
        ours(img, ker, None)
    with pytest.raises(
        ValueError,
        match=rf"{name}: in 'valid' mode one input must be at least as large as the other "
        rf"in every dimension \(as scipy.signal requires\). Received: in1 of shape "
        rf"\(4, 5\), in2 of shape \(5, 3\)",
    ):
        ours(img, cn.zeros(5, 3), "valid")
    with pytest.raises(ValueError, match=rf"{name}: in1 and in2 must not be empty. Received: in1 of shape \(0, 3\)"):
        ours(np.zeros((0, 3)), ker)
    with pytest.raises(
        TypeError,
        match=rf"{name}: in2 must be a real numeric array or tensor. Received: in2 of "
        rf"dtype <U1",
    ):
        ours(img, np.array([["a"]]))
