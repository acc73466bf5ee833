"""correlate2d and convolve2d: cross-correlation versus true convolution, for one image and one kernel.

What deep learning calls "convolution" (conv2d, a Conv2d layer) is cross-correlation: the kernel
slides over the image as it is, and each output pixel is the dot product of the kernel with the
patch under it (the lectures' "start in the beginning of the kernel and move forward")::

    correlation:  y(r, c) = sum_{a=0}^{k1-1} sum_{b=0}^{k2-1}  x(r + a, c + b) k(a, b)

True convolution (signal processing, scipy.signal.convolve2d) runs the kernel backwards::

    convolution:  y(r, c) = sum_{a, b}  x(r - a, c - b) k(a, b)

which is the same as rotating the kernel 180 degrees ("flip") and correlating::

    convolve2d(x, k, mode) == correlate2d(x, k[::-1, ::-1], mode)     ('full' and 'valid'; 'same'
                                                                       for odd kernels, see below)

A network learns its kernels, so whether they are stored flipped does not matter. The flip
shows up in the backward pass instead (the lectures' duality): the gradient with respect to the
kernel is the input correlated with the upstream gradient, and the gradient with respect to the
input is the upstream gradient *convolved* with the kernel (correlated with the flipped kernel).

Output shapes are scipy.signal's (boundary='fill', fillvalue=0). For an image of size H and a
kernel of size k along one axis:

    'full'   H + k - 1: every overlap of kernel and image (the image zero-padded by k - 1 on
             both sides, then correlated without padding);
    'valid'  H - k + 1: only positions where the kernel lies inside the image. When in2 is at
             least as large as in1 in every dimension scipy swaps the two (|H - k| + 1, the image
             slides inside the kernel); when neither is at least as large as the other in every
             dimension scipy raises, and so does this function;
    'same'   H: the centre of 'full'. scipy takes 'full'[k // 2 : k // 2 + H] for correlate2d and
             'full'[(k - 1) // 2 : ...] for convolve2d, so with an even kernel the two keep
             different windows of the same full result (correlate2d pads (k - 1) // 2 before and
             k // 2 after, like PyTorch's padding='same'; convolve2d pads k // 2 before).

Every mode is a correlation of the zero-padded image with no further padding: pad, take a
read-only sliding-window view (Ho, Wo, kh, kw), and contract it with the kernel in one tensordot.

>>> import convnp as cn
>>> correlate2d(cn.randn(5, 6), cn.randn(3, 2), mode="full").shape
(7, 7)
>>> convolve2d(cn.randn(5, 6), cn.randn(3, 2), mode="valid").shape
(3, 5)
"""

from __future__ import annotations

import numpy as np

from convnp.arraymath.im2col import sliding_windows
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor

_MODES = ("valid", "same", "full")


def _windows(x: np.ndarray, kernel_shape) -> np.ndarray:
    """(H, W) -> read-only view (H - kh + 1, W - kw + 1, kh, kw) of every kernel-sized patch."""
    return sliding_windows(x[None, None], tuple(kernel_shape), (1, 1), (1, 1))[0, 0]


def _correlate_valid(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """y(r, c) = sum_{a, b} x(r + a, c + b) k(a, b), no padding: (H, W), (kh, kw) -> (H-kh+1, W-kw+1)."""
    return np.tensordot(_windows(x, k.shape), k, axes=([2, 3], [0, 1]))


class Correlate2d(Function):
    """Correlation of the zero-padded image with the kernel (flipped first when ``flip``, i.e.
    true convolution). ``pads`` is ((top, bottom), (left, right))."""

    @staticmethod
    def forward(ctx, x, k, pads, flip=False):
        dtype = np.result_type(x, k)
        x, k = x.astype(dtype, copy=False), k.astype(dtype, copy=False)
        kk = k[::-1, ::-1] if flip else k
        xp = np.pad(x, pads)  # (H, W) -> (H + pt + pb, W + pl + pr)
        ctx.xp, ctx.kk, ctx.x_shape, ctx.pads, ctx.flip = xp, kk, x.shape, pads, flip
        return _correlate_valid(xp, kk)  # -> (Ho, Wo)

    @staticmethod
    def backward(ctx, grad):
        xp, kk = ctx.xp, ctx.kk
        kh, kw = kk.shape
        dx = dk = None
        if ctx.needs_input_grad[0]:
            # dL/dxp(r', c') = sum_{a, b} g(r' - a, c' - b) kk(a, b): the upstream gradient, zero-padded
            # by k - 1, correlated with the flipped kernel ("backwards is convolution").
            gp = np.pad(grad, ((kh - 1, kh - 1), (kw - 1, kw - 1)))  # (Ho, Wo) -> (Ho+2kh-2, Wo+2kw-2)
            dxp = _correlate_valid(gp, kk[::-1, ::-1])  # -> padded image shape
            (pt, _), (pl, _) = ctx.pads
            h, w = ctx.x_shape
            dx = dxp[pt : pt + h, pl : pl + w]  # drop the zero padding
        if ctx.needs_input_grad[1]:
            # dL/dkk(a, b) = sum_{r, c} g(r, c) xp(r + a, c + b): the input correlated with the gradient
            dkk = np.tensordot(_windows(xp, (kh, kw)), grad, axes=([0, 1], [0, 1]))  # -> (kh, kw)
            dk = dkk[::-1, ::-1].copy() if ctx.flip else dkk
        return dx, dk


def _pads(mode: str, in1_shape, in2_shape, flip: bool):
    """Zero padding of in1 per axis that gives scipy's output for ``mode`` (checked before)."""
    pads = []
    for h, k in zip(in1_shape, in2_shape):
        if mode == "full":
            before, after = k - 1, k - 1
        elif mode == "same":
            before = k // 2 if flip else (k - 1) // 2  # scipy's centre of 'full'
            after = k - 1 - before
        else:  # 'valid', possibly swapped (k > h)
            before = after = max(k - h, 0)
        pads.append((before, after))
    return tuple(pads)


def _check(in1, in2, mode, op: str):
    arrays = []
    for name, a in (("in1", in1), ("in2", in2)):
        if not isinstance(a, Tensor):
            a = np.asarray(a)
            if a.dtype.kind not in "biuf":
                raise TypeError(
                    f"{op}: {name} must be a real numeric array or tensor. Received: {name} of dtype {a.dtype}"
                )
        arrays.append(a)
    in1, in2 = arrays
    if in1.ndim != 2 or in2.ndim != 2:
        raise ValueError(
            f"{op}: in1 and in2 must both be 2-D (one image, one kernel). "
            f"Received: in1 of shape {tuple(in1.shape)}, in2 of shape {tuple(in2.shape)}"
        )
    if 0 in in1.shape or 0 in in2.shape:
        raise ValueError(
            f"{op}: in1 and in2 must not be empty. "
            f"Received: in1 of shape {tuple(in1.shape)}, in2 of shape {tuple(in2.shape)}"
        )
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"{op}: mode must be 'valid', 'same' or 'full'. Received: mode={mode!r}")
    if mode == "valid":
        ok1 = all(a >= b for a, b in zip(in1.shape, in2.shape))
        ok2 = all(b >= a for a, b in zip(in1.shape, in2.shape))
        if not (ok1 or ok2):
            raise ValueError(
                f"{op}: in 'valid' mode one input must be at least as large as the other in every "
                f"dimension (as scipy.signal requires). Received: in1 of shape {tuple(in1.shape)}, "
                f"in2 of shape {tuple(in2.shape)}"
            )
    return in1, in2


def correlate2d(in1, in2, mode: str = "full"):
    """2-D cross-correlation of an image with a kernel, like scipy.signal.correlate2d (zero fill).

    y(r, c) = sum_{a, b} x_p(r + a, c + b) k(a, b), x_p the image zero-padded for ``mode``.
    This is what conv2d computes (no kernel flip). Differentiable in both arguments.

    Args:
        in1: image (H, W). in2: kernel (kh, kw). mode: 'full' (default, scipy's), 'valid', 'same'.

    Shapes: 'full' (H+kh-1, W+kw-1); 'valid' (|H-kh|+1, |W-kw|+1); 'same' (H, W).

    >>> import convnp as cn
    >>> correlate2d(cn.randn(5, 5), cn.randn(3, 3), mode="same").shape
    (5, 5)
    """
    in1, in2 = _check(in1, in2, mode, "correlate2d")
    return Correlate2d.apply(in1, in2, pads=_pads(mode, in1.shape, in2.shape, False), flip=False)


def convolve2d(in1, in2, mode: str = "full"):
    """2-D true convolution of an image with a kernel, like scipy.signal.convolve2d (zero fill).

    y(r, c) = sum_{a, b} x(r - a, c - b) k(a, b): the kernel is rotated 180 degrees, then
    correlated, so convolve2d(x, k) == correlate2d(x, k[::-1, ::-1]) in 'full' and 'valid' (and in
    'same' for odd kernel sizes; with an even size scipy centres 'same' one pixel differently for
    the two). Since convolution is commutative, convolve2d(x, k, 'full') == convolve2d(k, x, 'full').
    Differentiable in both arguments.

    >>> import convnp as cn
    >>> convolve2d(cn.randn(4, 6), cn.randn(2, 2)).shape
    (5, 7)
    """
    in1, in2 = _check(in1, in2, mode, "convolve2d")
    return Correlate2d.apply(in1, in2, pads=_pads(mode, in1.shape, in2.shape, True), flip=True)
