"""Pooling: max, average and adaptive pooling, and max unpooling, each forward beside its backward.

Pooling slides a window over every activation map independently (the lectures: no parameters,
"makes the representations smaller and more manageable") and replaces each window by one number.
With x the padded input, s the stride, d the dilation and i, a multi-indices over the spatial
axes (output position and kernel offset)::

    max pooling      y[n, c, i] = max_a  x[n, c, s*i + d*a]                 (x padded with -inf)
    average pooling  y[n, c, i] = (1 / D[i]) * sum_a  x[n, c, s*i + a]      (x padded with 0)

and their backward passes, given the upstream gradient g = dL/dy:

    max:  dL/dx[p] = sum over the windows i whose argmax is p of g[i]
          "In the forward pass, store the index that took the max; the backprop gradient is the
          input gradient at that index" -- backprop through the stored argmax (the switches).
    avg:  dL/dx[p] = sum over the windows i that contain p of g[i] / D[i]

Output sizes per axis come from :func:`convnp.arraymath.conv_arithmetic.conv_output_size`::

    out = floor((in + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1

``ceil_mode`` rounds up instead (one more, partial window) unless that window would start in the
right padding; the partial window reads -inf (max) or is left out of the divisor (avg).

The adaptive pools choose the windows from the output size: bin i of Out over In pixels is
``[floor(i*In/Out), ceil((i+1)*In/Out))`` (PyTorch's bins, which may overlap and differ in size).

Everything works on (N, C, *spatial) and on unbatched (C, *spatial) input, as PyTorch does.

Max pooling also has faster kernels with the same contract, in :mod:`convnp.kernels.pooling` (one
axis at a time with uint8 switches; the maximum of strided views at inference), chosen by that
module's ``select``; ``cn.set_engine(pool="reference")`` runs the lecture Functions below.

>>> import convnp as cn
>>> max_pool2d(cn.randn(2, 3, 32, 32), 2).shape
(2, 3, 16, 16)
>>> y, idx = max_pool2d(cn.randn(2, 3, 7, 7), 3, stride=2, padding=1, ceil_mode=True, return_indices=True)
>>> y.shape, idx.dtype
((2, 3, 4, 4), dtype('int64'))
>>> avg_pool1d(cn.randn(3, 10), 4, stride=3).shape
(3, 3)
>>> adaptive_avg_pool2d(cn.randn(2, 3, 7, 5), (3, None)).shape
(2, 3, 3, 5)
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from convnp.arraymath.broadcast import is_float
from convnp.arraymath.conv_arithmetic import Window, check_at_least, conv_output_size, ntuple
from convnp.arraymath.im2col import pad_spatial, sliding_windows
from convnp.arraymath.pool_arithmetic import PoolConfig
from convnp.autograd.function import Function
from convnp.autograd.grad_mode import is_grad_enabled
from convnp.autograd.tensor import Tensor
from convnp.kernels.pooling import Declined, select
from convnp.ops.checks import checked_once

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool2d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
]

_AXES = {1: "L", 2: "H, W", 3: "D, H, W"}


# ============================================================================================
# Window arithmetic shared by the pools
# ============================================================================================


def _first(out) -> tuple:
    """Index selecting the first ``out`` windows of a (N, C, *windows, *kernel) view."""
    return (slice(None), slice(None), *(slice(0, o) for o in out))


def _crop(config: PoolConfig) -> tuple:
    """Index cutting the applied padding off a (N, C, *S_pad) array: (N, C, *S_pad) -> (N, C, *S)."""
    return (
        slice(None),
        slice(None),
        *(slice(before, before + n) for n, (before, _) in zip(config.input_shape[2:], config.applied_padding)),
    )


def _add_windows(windows: np.ndarray, padded_shape, stride, dilation) -> np.ndarray:
    """The adjoint of sliding_windows (col2im): every window (N, C, *out, *k) added back onto the
    (N, C, *S_pad) input it was read from, one strided slice per kernel offset; overlaps add up."""
    nd = len(stride)
    out, kernel = windows.shape[2 : 2 + nd], windows.shape[2 + nd :]
    dxp = np.zeros(padded_shape, dtype=windows.dtype)
    for offset in itertools.product(*(range(k) for k in kernel)):
        target = tuple(slice(a * d, a * d + s * (o - 1) + 1, s) for a, d, s, o in zip(offset, dilation, stride, out))
        dxp[(slice(None), slice(None), *target)] += windows[(Ellipsis, *offset)]  # (N, C, *out) each
    return dxp


def _show(values):
    return values[0] if len(set(values)) == 1 else tuple(values)


def _batched(x: np.ndarray, nd: int) -> tuple[np.ndarray, bool]:
    """(C, *spatial) -> (1, C, *spatial); batched input passes through."""
    if x.ndim == nd + 1:
        return x[None], True
    return x, False


# ============================================================================================
# Argument checking (at the door of every public function)
# ============================================================================================


def _check_input(op: str, input, nd: int) -> np.ndarray:
    if not isinstance(input, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: expected input to be a Tensor. Received: input of type {type(input).__name__}")
    x = input.data if isinstance(input, Tensor) else input
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{op}: expected a {nd + 1}-D (C, {_AXES[nd]}) or {nd + 2}-D (N, C, {_AXES[nd]}) "
            f"input. Received: input of shape {tuple(x.shape)}"
        )
    if not is_float(x.dtype):
        raise TypeError(f"{op}: expected a floating-point input. Received: input of dtype {x.dtype}")
    if 0 in x.shape[-(nd + 1) :]:
        raise ValueError(
            f"{op}: expected non-zero sizes for the channel and spatial axes. Received: input of shape {tuple(x.shape)}"
        )
    return x


def _check_flag(op: str, value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be a bool. Received: {name}={value!r}")
    return bool(value)


def window_args(op: str, nd: int, kernel_size, stride, padding, dilation=1):
    """Parse and check kernel_size, stride (None: kernel_size), padding and dilation (PyTorch's rules;
    the pooling layers check their constructor arguments with it too)."""
    kernel = ntuple(kernel_size, nd, "kernel_size", op)
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        stride = kernel
    else:
        stride = ntuple(stride, nd, "stride", op)
    padding = ntuple(padding, nd, "padding", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    check_at_least(kernel, 1, "kernel_size", op)
    check_at_least(stride, 1, "stride", op)
    check_at_least(dilation, 1, "dilation", op)
    check_at_least(padding, 0, "padding", op)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(
            f"{op}: padding must be at most half the kernel size (padding <= kernel_size // 2). "
            f"Received: padding={_show(padding)}, kernel_size={_show(kernel)}"
        )
    return kernel, stride, padding, dilation


def _output_size(op, x_shape, nd, kernel, stride, padding, dilation, ceil_mode) -> tuple[int, ...]:
    spatial = x_shape[-nd:]
    out = tuple(
        conv_output_size(n, k, s, p, p, d, ceil_mode)
        for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation)
    )
    if any(o < 1 for o in out):
        raise ValueError(
            f"{op}: the input is too small for the pooling window: the output size would be "
            f"{out}, expected at least 1 on every axis. Received: input of shape {tuple(x_shape)}, "
            f"kernel_size={_show(kernel)}, stride={_show(stride)}, padding={_show(padding)}, "
            f"dilation={_show(dilation)}, ceil_mode={ceil_mode}"
        )
    return out


# ============================================================================================
# Max pooling
# ============================================================================================


class MaxPoolNd(Function):
    """Max pooling over the spatial axes of (N, C, *S), keeping each window's argmax (the switches).

    With xp the input padded with -inf, s the stride, d the dilation, i an output position and a a
    tap of the window (multi-indices over the spatial axes), and g = dL/dy::

        y[n, c, i]  = max_a     xp[n, c, s*i + d*a]
        a*[n, c, i] = argmax_a  xp[n, c, s*i + d*a]          the first maximum on ties
        dL/dxp[n, c, q] = sum of g[n, c, i] over the windows i with s*i + d*a*[n, c, i] = q

    Forward, as Chainer's max_pooling_2d: view every window (sliding_windows, no copy), flatten
    it, take the argmax (NumPy's argmax returns the FIRST maximum, PyTorch's rule for ties) and
    remember where it lies in xp (the route). Backward: a scatter-add through the route, each g[i]
    added at the pixel its window chose (np.bincount sums the windows that chose the same pixel,
    what Chainer's col2im of one-hot windows computes); crop the padding.
    :func:`_pytorch_rules` fixes a* for NaN and for all -inf windows.
    Shapes: (N, C, *S) -> (N, C, *out). ``ctx.config``: the PoolConfig; ``ctx.route``: (N, C, *out).
    """

    @staticmethod
    def forward(ctx, x, *, config):
        w, out, padded = config.window, config.output_size, config.padded_shape
        x = x.reshape(config.input_shape)  # (C, *S) -> (1, C, *S) if unbatched
        xp = pad_spatial(x, config.applied_padding, value=-np.inf)  # (N, C, *S) -> (N, C, *S_pad)
        windows = sliding_windows(xp, w.kernel, w.stride, w.dilation)[_first(out)]  # (N, C, *out, *k), a view
        cols = windows.reshape(*config.output_shape, -1)  # (N, C, *out, K), K = prod(k)
        argmax = cols.argmax(axis=-1)  # (N, C, *out): the first maximum
        y = np.take_along_axis(cols, argmax[..., None], axis=-1)[..., 0]  # (N, C, *out)
        argmax = _pytorch_rules(argmax, y, cols, config)
        planes = np.arange(math.prod(padded[:2])).reshape(*padded[:2], *(1,) * len(out))  # (N, C, 1, ..)
        ctx.config = config
        ctx.route = planes * math.prod(padded[2:]) + _positions(argmax, config, padded[2:], (0,) * len(out))
        if not config.return_indices:
            return y[0] if config.unbatched else y
        indices = _positions(argmax, config, config.input_shape[2:], [-p for p, _ in w.padding])  # PyTorch's
        return (y[0], indices[0]) if config.unbatched else (y, indices)

    @staticmethod
    def backward(ctx, grad):
        config = ctx.config
        dxp = np.bincount(ctx.route.ravel(), weights=grad.ravel(), minlength=math.prod(config.padded_shape))
        dx = dxp.reshape(config.padded_shape)[_crop(config)].astype(grad.dtype)  # (N, C, *S_pad) -> (N, C, *S)
        return dx[0] if config.unbatched else dx


def _pytorch_rules(argmax, y, cols, config):
    """a* where PyTorch's rule is not NumPy's first maximum: (N, C, *out) -> (N, C, *out).

    A NaN is the maximum and the LAST NaN of a window gives a* (PyTorch replaces its running
    maximum by every NaN). A window whose maximum is -inf (all its pixels -inf, or padding only)
    keeps PyTorch's starting point, its first tap at or after pixel 0 on every axis, where argmax
    may have picked a -inf of the padding. The gradient of a window of padding only, the
    derivative of a constant, lands in the padding and is cropped away, where PyTorch adds it to
    whatever pixel its flat index names.
    """
    nan = np.isnan(y)
    if nan.any():
        last_nan = cols.shape[-1] - 1 - np.argmax(np.isnan(cols[..., ::-1]), axis=-1)
        argmax = np.where(nan, last_nan, argmax)
    lost = np.isneginf(y)
    if lost.any():
        w = config.window
        first_taps = [
            np.minimum(-(np.minimum(np.arange(o) * s - before, 0) // d), k - 1)  # per axis, (o,)
            for o, s, (before, _), d, k in zip(config.output_size, w.stride, w.padding, w.dilation, w.kernel)
        ]
        first = np.ravel_multi_index(np.broadcast_arrays(*np.ix_(*first_taps)), w.kernel)  # (*out)
        argmax = np.where(lost, first, argmax)
    return argmax


def _positions(argmax, config, plane, shift) -> np.ndarray:
    """Where every window's maximum lies, s*i + d*a* + shift per axis, as a flat index into a
    (n, c) plane of shape ``plane`` (h*W + w in 2-D): (N, C, *out) -> (N, C, *out) int64. With the
    unpadded plane and shift -p these are PyTorch's indices; with the padded plane, the route."""
    w = config.window
    taps = np.unravel_index(argmax, w.kernel)  # a* per axis, each (N, C, *out)
    grids = np.ix_(*(np.arange(o) for o in config.output_size))  # i per axis, broadcastable
    index = np.zeros(argmax.shape, dtype=np.int64)
    for i, a, s, d, size, sh in zip(grids, taps, w.stride, w.dilation, plane, shift):
        index = index * size + (i * s + a * d + sh)
    return index


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x = _check_input(op, input, nd)
    config = _max_pool_config(op, nd, x.shape, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    kernel = select(config, needs_grad=isinstance(input, Tensor) and input.requires_grad and is_grad_enabled())
    if kernel is not None:
        try:
            return kernel.apply(input, config=config)
        except Declined:  # a NaN, or a window of -inf next to padding: PyTorch's rules, the lecture's
            pass
    return MaxPoolNd.apply(input, config=config)


@checked_once
def _max_pool_config(op, nd, x_shape, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    kernel, stride, padding, dilation = window_args(op, nd, kernel_size, stride, padding, dilation)
    ceil_mode = _check_flag(op, ceil_mode, "ceil_mode")
    return_indices = _check_flag(op, return_indices, "return_indices")
    _output_size(op, x_shape, nd, kernel, stride, padding, dilation, ceil_mode)  # at least one window
    window = Window(kernel, stride, tuple((p, p) for p in padding), dilation, ceil_mode)
    unbatched = len(x_shape) == nd + 1
    return PoolConfig(window, (1, *x_shape) if unbatched else tuple(x_shape), unbatched, return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling: y[n, c, i] = max_a x[n, c, s*i + d*a] (x padded with -inf).

    (N, C, L) -> (N, C, L_out); with ``return_indices`` also the int64 position of each maximum in
    the input row (first maximum on ties, as PyTorch). E.g. (2, 3, 10), kernel 3, stride 2 -> (2, 3, 4).
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling: y[n, c, i, j] = max_{a, b} x[n, c, s_h*i + d_h*a, s_w*j + d_w*b] (x padded with -inf).

    (N, C, H, W) -> (N, C, H_out, W_out); stride defaults to kernel_size. With ``return_indices``
    also PyTorch's int64 indices h*W + w into each (n, c) plane of the unpadded input, the first
    maximum of a window on ties. The backward routes each gradient to that stored argmax.
    E.g. (2, 3, 32, 32), kernel 2 -> (2, 3, 16, 16).
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling over (D, H, W); indices are d*H*W + h*W + w.

    E.g. (1, 2, 8, 8, 8), kernel 2 -> (1, 2, 4, 4, 4).
    """
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# ============================================================================================
# Max unpooling
# ============================================================================================


class MaxUnpool2d(Function):
    """Scatter every value to the position its index names, zeros elsewhere (the deconvnet's switches).

    y.flat_plane[indices[n, c, i, j]] = x[n, c, i, j]; its backward gathers the upstream gradient
    at the same positions: dL/dx[n, c, i, j] = g.flat_plane[indices[n, c, i, j]].
    Shapes: (N, C, H, W) -> (N, C, H_out, W_out).

    Two entries with the same index (overlapping pooling windows that chose the same pixel, so
    equal values) write one position, the last one kept; the backward, as PyTorch's, still hands
    the gradient at that position to both.
    """

    @staticmethod
    def forward(ctx, x, indices, *, out_hw):
        x, unbatched = _batched(x, 2)  # (C, H, W) -> (1, C, H, W)
        indices = indices[None] if unbatched else indices
        n, c = x.shape[:2]
        plane = math.prod(out_hw)
        flat = (np.arange(n * c).reshape(n, c, 1, 1) * plane + indices).ravel()  # (N*C*H*W,)
        y = np.zeros(n * c * plane, dtype=x.dtype)
        y[flat] = x.ravel()
        ctx.flat, ctx.in_shape, ctx.unbatched = flat, x.shape, unbatched
        y = y.reshape(n, c, *out_hw)  # (N*C*Ho*Wo,) -> (N, C, Ho, Wo)
        return y[0] if unbatched else y

    @staticmethod
    def backward(ctx, grad):
        dx = grad.reshape(-1)[ctx.flat].reshape(ctx.in_shape)  # gather at the switches
        return (dx[0] if ctx.unbatched else dx), None


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool2d: put each value back where its maximum came from, zeros elsewhere.

    ``indices`` are max_pool2d's (h*W_out + w in each plane). The default output size per axis is
    (in - 1)*stride - 2*padding + kernel_size; ``output_size`` ((H, W) or (N, C, H, W)) picks
    another within stride of it, e.g. to undo a pooling that dropped a last row.
    E.g. (2, 3, 4, 4) with kernel 2 -> (2, 3, 8, 8).
    """
    op = "max_unpool2d"
    x = _check_input(op, input, 2)
    if not isinstance(indices, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: expected indices to be a Tensor. Received: indices of type {type(indices).__name__}")
    idx = indices.data if isinstance(indices, Tensor) else indices
    if idx.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: indices must be an integer tensor (int64, as max_pool2d returns). "
            f"Received: indices of dtype {idx.dtype}"
        )
    if idx.shape != x.shape:
        raise ValueError(
            f"{op}: indices must have the shape of input {tuple(x.shape)}. "
            f"Received: indices of shape {tuple(idx.shape)}"
        )
    kernel, stride, padding = _window_args_unpool(op, kernel_size, stride, padding)
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[-2:], stride, padding, kernel))
    if output_size is None:
        out = default
    else:
        if not isinstance(output_size, (list, tuple)) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in output_size
        ):
            raise TypeError(
                f"{op}: output_size must be a tuple of ints, (H, W) or (N, C, H, W). "
                f"Received: output_size={output_size!r}"
            )
        out = tuple(int(v) for v in output_size)
        if len(out) == 4:
            out = out[2:]
        if len(out) != 2:
            raise ValueError(
                f"{op}: output_size must have 2 (H, W) or 4 (N, C, H, W) entries. "
                f"Received: output_size={tuple(output_size)}"
            )
        for ax in range(2):
            lo, hi = default[ax] - stride[ax], default[ax] + stride[ax]
            if not lo < out[ax] < hi:
                raise ValueError(
                    f"{op}: output_size must lie strictly between default - stride and default + "
                    f"stride on every axis (default {default}, stride {stride}; axis {ax} must be "
                    f"in ({lo}, {hi})). Received: output_size={tuple(output_size)}"
                )
    if any(o < 1 for o in out):
        raise ValueError(
            f"{op}: the output size {out} is below 1 ((in - 1)*stride - 2*padding + kernel_size). "
            f"Received: input of shape {tuple(x.shape)}, kernel_size={_show(kernel)}, "
            f"stride={_show(stride)}, padding={_show(padding)}"
        )
    plane = math.prod(out)
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise ValueError(
            f"{op}: indices must lie in [0, {plane}) for an output of size {out}. Received: an index of {int(bad)}"
        )
    return MaxUnpool2d.apply(input, idx.astype(np.int64, copy=False), out_hw=out)


def _window_args_unpool(op, kernel_size, stride, padding):
    kernel = ntuple(kernel_size, 2, "kernel_size", op)
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        stride = kernel
    else:
        stride = ntuple(stride, 2, "stride", op)
    padding = ntuple(padding, 2, "padding", op)
    check_at_least(kernel, 1, "kernel_size", op)
    check_at_least(stride, 1, "stride", op)
    check_at_least(padding, 0, "padding", op)
    return kernel, stride, padding


# ============================================================================================
# Average pooling
# ============================================================================================


class AvgPoolNd(Function):
    """Average pooling over the spatial axes of (N, C, *S): the mean of every window.

    With xp the input padded with zeros, s the stride, i an output position and a a tap of the
    window (multi-indices over the spatial axes), and g = dL/dy::

        y[n, c, i]      = (1 / D[i]) * sum_a xp[n, c, s*i + a]
        dL/dxp[n, c, q] = sum of g[n, c, i] / D[i] over the windows i that contain q

    D[i] (:func:`_avg_divisor`): the window's size clipped to the zero-padded input
    (``count_include_pad``; a ceil_mode window counts only up to the padding's edge), or the
    number of real pixels in it; ``divisor_override`` replaces it. Forward: the sums over a view
    of every window. Backward: every window hands g[i] / D[i] to each of its pixels (col2im of
    constant windows: overlaps add up), then the padding is cropped away.
    Shapes: (N, C, *S) -> (N, C, *out). ``ctx.config``: the PoolConfig; ``ctx.divisor``: D.
    """

    @staticmethod
    def forward(ctx, x, *, config):
        w, nd = config.window, len(config.output_size)
        x = x.reshape(config.input_shape)  # (C, *S) -> (1, C, *S) if unbatched
        xp = pad_spatial(x, config.applied_padding)  # (N, C, *S) -> (N, C, *S_pad)
        windows = sliding_windows(xp, w.kernel, w.stride, w.dilation)[_first(config.output_size)]  # (N, C, *out, *k)
        sums = windows.sum(axis=tuple(range(2 + nd, 2 + 2 * nd)))  # (N, C, *out)
        divisor = _avg_divisor(config, x.dtype)  # (*out), or a scalar
        y = sums / divisor
        ctx.config, ctx.divisor = config, divisor
        return y[0] if config.unbatched else y

    @staticmethod
    def backward(ctx, grad):
        config, w = ctx.config, ctx.config.window
        g = grad.reshape(config.output_shape) / ctx.divisor  # (N, C, *out)
        windows = np.broadcast_to(g.reshape(*g.shape, *(1,) * len(w.kernel)), (*g.shape, *w.kernel))  # (N, C, *out, *k)
        dxp = _add_windows(windows, config.padded_shape, w.stride, w.dilation)  # (N, C, *S_pad)
        dx = dxp[_crop(config)]  # (N, C, *S_pad) -> (N, C, *S)
        return dx[0] if config.unbatched else dx


def _avg_divisor(config: PoolConfig, dtype) -> np.ndarray:
    """PyTorch's divisor D[i] of every window, computed once from a mask of counted pixels.

    The mask over the padded input is 1 on the real input, and on its zero padding when
    ``count_include_pad``; it is 0 on the overhang of a ceil_mode window. D = the window sums of
    that mask. So with count_include_pad the window is clipped to the zero-padded input; without
    it, D counts the real pixels. ``divisor_override`` replaces D. Shape: (*out) (or a scalar).
    """
    if config.divisor_override is not None:
        return np.asarray(config.divisor_override, dtype=dtype)
    w = config.window
    counted = []
    for n, (p, right) in zip(config.input_shape[2:], config.applied_padding):
        q = np.arange(p + n + right)  # padded coordinate
        keep = (q < 2 * p + n) if config.count_include_pad else ((q >= p) & (q < p + n))
        counted.append(keep.astype(np.float64))
    mask = counted[0]
    for axis_mask in counted[1:]:
        mask = np.multiply.outer(mask, axis_mask)  # (*S_pad)
    win = sliding_windows(mask[None, None], w.kernel, w.stride, w.dilation)[_first(config.output_size)]
    nd = len(w.kernel)
    return win.sum(axis=tuple(range(2 + nd, 2 + 2 * nd)))[0, 0].astype(dtype)  # (1, 1, *out, *k) -> (*out)


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x = _check_input(op, input, nd)
    kernel, stride, padding, dilation = window_args(op, nd, kernel_size, stride, padding)
    ceil_mode = _check_flag(op, ceil_mode, "ceil_mode")
    count_include_pad = _check_flag(op, count_include_pad, "count_include_pad")
    if divisor_override is not None:
        if not isinstance(divisor_override, (int, np.integer)) or isinstance(divisor_override, bool):
            raise TypeError(
                f"{op}: divisor_override must be an int or None. Received: divisor_override={divisor_override!r}"
            )
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must not be zero. Received: divisor_override=0")
    if nd == 3 and any(n < k for n, k in zip(x.shape[-3:], kernel)):
        raise ValueError(
            f"{op}: expected an input at least as large as the kernel on every spatial axis "
            f"(PyTorch's avg_pool3d requires it, whatever the padding). "
            f"Received: input of shape {tuple(x.shape)}, kernel_size={_show(kernel)}"
        )
    _output_size(op, x.shape, nd, kernel, stride, padding, dilation, ceil_mode)  # at least one window
    window = Window(kernel, stride, tuple((p, p) for p in padding), dilation, ceil_mode)
    unbatched = x.ndim == nd + 1
    config = PoolConfig(
        window,
        (1, *x.shape) if unbatched else tuple(x.shape),
        unbatched,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )
    return AvgPoolNd.apply(input, config=config)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling: y[n, c, i] = (1/D[i]) sum_a x[n, c, s*i + a] (x zero-padded).

    D[i] is the window length clipped to the zero-padded input (``count_include_pad``) or the
    number of real input pixels in it. E.g. (2, 3, 10), kernel 3, stride 2 -> (2, 3, 4).
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """2-D average pooling: y[n, c, i, j] = (1/D[i, j]) sum_{a, b} x[n, c, s_h*i + a, s_w*j + b].

    D as PyTorch: with ``count_include_pad`` the window's area clipped to the zero-padded input (a
    ceil_mode window hanging past the padding counts only up to its edge), otherwise the number of
    real input pixels in the window; ``divisor_override`` replaces it. E.g. (2, 3, 7, 7), kernel 3,
    stride 2, padding 1 -> (2, 3, 4, 4).
    """
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool3d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """3-D average pooling over (D, H, W), divisor as :func:`avg_pool2d`.

    E.g. (1, 2, 8, 8, 8), kernel 2 -> (1, 2, 4, 4, 4).
    """
    return _avg_pool(
        "avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


# ============================================================================================
# Adaptive pooling
# ============================================================================================


def _bins(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins: start_i = floor(i*In/Out), end_i = ceil((i+1)*In/Out)."""
    i = np.arange(size_out)
    return (i * size_in) // size_out, -((-(i + 1) * size_in) // size_out)


def _adaptive_output_size(op: str, x: np.ndarray, output_size) -> tuple[int, int]:
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise ValueError(
                f"{op}: output_size must be an int or a tuple of 2 (ints or None). "
                f"Received: output_size={tuple(output_size)}"
            )
        sizes = tuple(output_size)
    else:
        sizes = (output_size, output_size)
    if not all(v is None or (isinstance(v, (int, np.integer)) and not isinstance(v, bool)) for v in sizes):
        raise TypeError(
            f"{op}: output_size must be an int or a tuple of 2 (ints or None). Received: output_size={output_size!r}"
        )
    out = tuple(int(n) if v is None else int(v) for v, n in zip(sizes, x.shape[-2:]))
    if any(o < 0 for o in out):
        raise ValueError(f"{op}: output_size must not be negative. Received: output_size={output_size!r}")
    return out


class AdaptiveAvgPool2d(Function):
    """Adaptive average pooling as two averaging matrices, one per axis.

    The bins are rectangles, so averaging over bin (i, j) is averaging rows over bin i, then
    columns over bin j: y = A_H x A_W^T with A[i, h] = 1/len_i for h in bin i, 0 elsewhere.
    The backward is the transposed products: dL/dx = A_H^T g A_W.
    Shapes: (N, C, H, W) -> (N, C, H_out, W_out) (any leading axes).
    """

    @staticmethod
    def forward(ctx, x, *, output_size):
        ctx.shape = x.shape
        if tuple(output_size) == (1, 1):
            # global average pooling (ResNet's head): one bin, a plain mean over each map, much
            # faster than a batch of 1-row matrix products
            ctx.ah = None
            return x.mean(axis=(-2, -1), keepdims=True)  # (.., H, W) -> (.., 1, 1)
        ah = _averaging_matrix(x.shape[-2], output_size[0], x.dtype)  # (Ho, H)
        aw = _averaging_matrix(x.shape[-1], output_size[1], x.dtype)  # (Wo, W)
        ctx.ah, ctx.aw = ah, aw
        return ah @ x @ aw.T  # (.., H, W) -> (.., Ho, W) -> (.., Ho, Wo)

    @staticmethod
    def backward(ctx, grad):
        if ctx.ah is None:  # every pixel gets g / (H * W)
            h, w = ctx.shape[-2:]
            dx = np.empty(ctx.shape, dtype=grad.dtype)
            np.multiply(grad, grad.dtype.type(1 / (h * w)), out=dx)  # (.., 1, 1) -> (.., H, W)
            return dx
        return ctx.ah.T @ grad @ ctx.aw  # (.., Ho, Wo) -> (.., H, W)


def _averaging_matrix(size_in: int, size_out: int, dtype) -> np.ndarray:
    start, end = _bins(size_in, size_out)
    pixel = np.arange(size_in)
    inside = (pixel >= start[:, None]) & (pixel < end[:, None])  # (Out, In)
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveMaxPool2d(Function):
    """Adaptive max pooling: gather every bin padded to the largest bin size, take the first argmax.

    A bin shorter than the largest repeats its own last pixel, which can never come before the
    original in the flattened window, so argmax still returns the first maximum (PyTorch's rule).
    Backward: backprop through the stored argmax with np.bincount, as max pooling.
    Shapes: (N, C, H, W) -> (N, C, Ho, Wo, Lh, Lw) windows -> (N, C, Ho, Wo).
    """

    @staticmethod
    def forward(ctx, x, *, output_size, return_indices):
        x, unbatched = _batched(x, 2)
        n, c, h, w = x.shape
        ho, wo = output_size
        rows = _bin_gather(h, ho)  # (Ho, Lh)
        cols = _bin_gather(w, wo)  # (Wo, Lw)
        win = x[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, Ho, Wo, Lh, Lw)
        flat = win.reshape(n, c, ho, wo, rows.shape[1] * cols.shape[1])  # (N, C, Ho, Wo, Lh*Lw)
        k = flat.argmax(axis=-1)  # first maximum
        y = np.take_along_axis(flat, k[..., None], axis=-1)[..., 0]  # (N, C, Ho, Wo)
        nan = np.isnan(y)
        if nan.any():  # PyTorch: the last NaN wins
            last_nan = flat.shape[-1] - 1 - np.argmax(np.isnan(flat[..., ::-1]), axis=-1)
            k = np.where(nan, last_nan, k)
        a, b = np.divmod(k, cols.shape[1])
        indices = rows[np.arange(ho)[:, None], a] * w + cols[np.arange(wo), b]  # (N, C, Ho, Wo): h*W + w
        ctx.route = np.arange(n * c).reshape(n, c, 1, 1) * (h * w) + indices
        ctx.in_shape, ctx.unbatched = x.shape, unbatched
        if unbatched:
            y, indices = y[0], indices[0]
        return (y, indices.astype(np.int64)) if return_indices else y

    @staticmethod
    def backward(ctx, grad):
        g = grad[None] if ctx.unbatched else grad
        dx = np.bincount(ctx.route.ravel(), weights=g.ravel(), minlength=math.prod(ctx.in_shape))
        dx = dx.reshape(ctx.in_shape).astype(grad.dtype)
        return dx[0] if ctx.unbatched else dx


def _bin_gather(size_in: int, size_out: int) -> np.ndarray:
    """(Out, L) pixel indices of every bin, L the largest bin; short bins repeat their last pixel."""
    start, end = _bins(size_in, size_out)
    longest = int((end - start).max(initial=1))
    return np.minimum(start[:, None] + np.arange(longest), end[:, None] - 1)


def adaptive_avg_pool2d(input, output_size):
    """Average over PyTorch's adaptive bins, which fit any input into ``output_size``.

    Bin i of Out over In pixels: [floor(i*In/Out), ceil((i+1)*In/Out)). ``output_size`` is an int
    or (H_out, W_out), where None keeps that axis. E.g. (2, 3, 7, 5) -> (3, None) -> (2, 3, 3, 5).
    """
    op = "adaptive_avg_pool2d"
    x = _check_input(op, input, 2)
    return AdaptiveAvgPool2d.apply(input, output_size=_adaptive_output_size(op, x, output_size))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Maximum over PyTorch's adaptive bins (see :func:`adaptive_avg_pool2d`).

    With ``return_indices`` also the int64 index h*W + w of each maximum in its input plane (first
    maximum on ties). E.g. (2, 3, 7, 5) -> 3 -> (2, 3, 3, 3).
    """
    op = "adaptive_max_pool2d"
    x = _check_input(op, input, 2)
    return_indices = _check_flag(op, return_indices, "return_indices")
    return AdaptiveMaxPool2d.apply(
        input, output_size=_adaptive_output_size(op, x, output_size), return_indices=return_indices
    )
