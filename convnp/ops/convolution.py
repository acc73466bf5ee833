"""Convolution and transposed convolution in 1-D, 2-D and 3-D, from one N-dimensional implementation.

What deep learning calls convolution is cross-correlation (the kernel is not flipped). The
lectures' forward sum, written for N samples, channels and any number of spatial axes (i, a and
p are multi-indices over the spatial axes; x is the zero-padded input)::

    y[n, o, i] = b[o] + sum_c sum_a  x[n, c, s*i + d*a] * w[o, c, a]

s is the stride and d the dilation; with groups, output channel o only sums over the input
channels of its own group. Its two gradients, given the upstream gradient g = dL/dy:

    dL/dw[o, c, a] = sum_n sum_i  g[n, o, i] * x[n, c, s*i + d*a]
        the input cross-correlated with the upstream gradient ("what a kernel pixel affects
        at the output: everything");
    dL/dx[n, c, p] = sum_o sum_{i, a : s*i + d*a = p}  g[n, o, i] * w[o, c, a]
        the (stride-dilated) upstream gradient convolved with the kernel, i.e. correlated with
        the flipped kernel: a transposed convolution.
    dL/db[o] = sum_n sum_i g[n, o, i]

im2col turns every receptive field into one column, so the forward is one GEMM::

    x: (N, C_in, *spatial) --im2col--> cols: (C_in*K, N*L)      K = prod(kernel), L = prod(out)
    w: (C_out, C_in/G*K) @ cols -> (C_out, N*L) -> y: (N, C_out, *out)

and the gradients are GEMMs too: dW = g @ cols^T, and dX = col2im(W^T @ g). A transposed
convolution *is* that dX computation (col2im of W^T @ x), so its backward is a convolution:
its dX is the convolution of the upstream gradient with W (im2col, then W @ cols) and its dW
correlates. :class:`ConvNd` and :class:`ConvTransposeNd` below are each other's mirror image.

They are the lecture tier: the code ``cn.set_engine("reference")`` runs. By default ("auto")
the public functions ask :func:`convnp.kernels.conv.select` for a faster kernel with the same
contract (shifted GEMMs, cache-sized blocks, 1x1 and depthwise special cases, on two cores);
where none pays, these Functions run. The slow, obviously correct sliding dot product that both
tiers are tested against is :mod:`convnp.ops.sliding`.

Shapes (PyTorch's): conv weight (C_out, C_in/groups, *kernel); transposed weight
(C_in, C_out/groups, *kernel). Transposed output size per axis::

    out = (in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1

>>> import convnp as cn
>>> conv2d(cn.randn(2, 3, 32, 32), cn.randn(10, 3, 5, 5), padding=2).shape
(2, 10, 32, 32)
>>> conv_transpose2d(cn.randn(2, 10, 16, 16), cn.randn(10, 3, 4, 4), stride=2, padding=1).shape
(2, 3, 32, 32)
"""

from __future__ import annotations

import numpy as np

from convnp.arraymath.conv_arithmetic import Window, check_at_least, ntuple, same_padding
from convnp.arraymath.conv_config import ConvConfig, cut_or_extend
from convnp.arraymath.im2col import col2im, im2col, pad_spatial
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.kernels import conv as kernels
from convnp.ops.checks import checked_once


def _rows(y: np.ndarray, groups: int) -> np.ndarray:
    """(N, C, *s) -> (G, C/G, N*L): channels as rows, one group per matrix."""
    return np.swapaxes(y, 0, 1).reshape(groups, y.shape[1] // groups, -1)


def _unrows(m: np.ndarray, n: int, spatial) -> np.ndarray:
    """(G, C/G, N*L) -> (N, C, *spatial), contiguous."""
    return np.ascontiguousarray(np.swapaxes(m.reshape(-1, n, *spatial), 0, 1))


class ConvNd(Function):
    """y = W @ im2col(x) + b, per group. With cols = im2col(x_pad), (C_in*K, N*L), and g = dL/dy
    as rows (C_out, N*L)::

        y  = W @ cols + b                        (C_out, C_in/G*K) @ (C_in/G*K, N*L), per group
        dW = g @ cols^T                          the input correlated with the gradient
        dX = col2im(W^T @ g), padding cut off    the gradient convolved with W (transposed conv)
        db = g summed over samples and positions
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, config: ConvConfig):
        win, groups = config.window, config.groups
        x = x[None] if config.unbatched else x  # (C, *s) -> (1, C, *s)
        cols = im2col(pad_spatial(x, win.padding), win.kernel, win.stride, win.dilation)  # (C_in*K, N*L)
        w = weight.reshape(groups, weight.shape[0] // groups, -1)  # (G, C_out/G, C_in/G*K)
        y = w @ cols.reshape(groups, -1, cols.shape[1])  # (G, C_out/G, N*L)
        y = _unrows(y, x.shape[0], win.output_size(x.shape[2:]))  # (N, C_out, *out)
        if bias is not None:
            y += bias.reshape(-1, *(1,) * (y.ndim - 2))
        ctx.config, ctx.weight = config, weight
        ctx.cols = cols if ctx.needs_input_grad[1] else None  # dW needs the columns, dX does not
        return y[0] if config.unbatched else y

    @staticmethod
    def backward(ctx, grad):
        config, weight = ctx.config, ctx.weight
        win, groups, shape = config.window, config.groups, config.input_shape
        grad = grad[None] if config.unbatched else grad
        g = _rows(grad, groups)  # (G, C_out/G, N*L)
        w = weight.reshape(groups, weight.shape[0] // groups, -1)  # (G, C_out/G, C_in/G*K)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:  # dX: each column's gradient added back onto its pixels
            dcols = (w.transpose(0, 2, 1) @ g).reshape(-1, g.shape[2])  # (C_in*K, N*L)
            padded = (*shape[:2], *(s + a + b for s, (a, b) in zip(shape[2:], win.padding)))
            dxp = col2im(dcols, padded, win.kernel, win.stride, win.dilation)  # (N, C_in, *padded)
            dx = np.ascontiguousarray(cut_or_extend(dxp, [a for a, _ in win.padding], shape[2:]))
            dx = dx[0] if config.unbatched else dx
        if ctx.needs_input_grad[1]:  # dW: the input correlated with the gradient
            cols = ctx.cols.reshape(groups, -1, ctx.cols.shape[1])  # (G, C_in/G*K, N*L)
            dw = (g @ cols.transpose(0, 2, 1)).reshape(weight.shape)
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=(0, *range(2, grad.ndim)))  # (N, C_out, *out) -> (C_out,)
        return dx, dw, db


class ConvTransposeNd(Function):
    """ConvNd's input gradient used as a forward: every input pixel scatters a weighted copy of
    the kernel, s pixels apart. With x as rows (C_in, N*L_in) and g_full = dL/dy on the full
    scatter (the cut padding put back as zeros, output_padding's zeros dropped)::

        y  = col2im(W^T @ x), padding cut off + b    (C_out*K, N*L_in) scattered: (N, C_out, *out)
        dX = W @ im2col(g_full)                      the gradient convolved with W: a convolution
        dW = x @ im2col(g_full)^T                    x correlated with the gradient
        db = g summed over samples and positions
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, config: ConvConfig):
        win, groups = config.window, config.groups
        x = x[None] if config.unbatched else x  # (C, *s) -> (1, C, *s)
        full = (x.shape[0], weight.shape[1] * groups, *config.full_size())  # (N, C_out, *full)
        w = weight.reshape(groups, weight.shape[0] // groups, -1)  # (G, C_in/G, C_out/G*K)
        cols = w.transpose(0, 2, 1) @ _rows(x, groups)  # (G, C_out/G*K, N*L_in)
        y_full = col2im(cols.reshape(-1, cols.shape[2]), full, win.kernel, win.stride, win.dilation)
        out = config.output_shape(weight.shape)[2:]
        y = np.ascontiguousarray(cut_or_extend(y_full, [a for a, _ in win.padding], out))
        if bias is not None:
            y += bias.reshape(-1, *(1,) * (y.ndim - 2))
        ctx.config, ctx.weight = config, weight
        ctx.x = x if ctx.needs_input_grad[1] else None  # dW correlates x with the gradient
        return y[0] if config.unbatched else y

    @staticmethod
    def backward(ctx, grad):
        config, weight = ctx.config, ctx.weight
        win, groups, shape = config.window, config.groups, config.input_shape
        grad = grad[None] if config.unbatched else grad
        dx = dw = db = None
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            g_full = cut_or_extend(grad, [-a for a, _ in win.padding], config.full_size())  # (N, C_out, *full)
            cols = im2col(g_full, win.kernel, win.stride, win.dilation)  # (C_out*K, N*L_in)
            cols = cols.reshape(groups, -1, cols.shape[1])  # (G, C_out/G*K, N*L_in)
            w = weight.reshape(groups, weight.shape[0] // groups, -1)  # (G, C_in/G, C_out/G*K)
            if ctx.needs_input_grad[0]:  # dX: a convolution of the gradient with W
                dx = _unrows(w @ cols, shape[0], shape[2:])
                dx = dx[0] if config.unbatched else dx
            if ctx.needs_input_grad[1]:  # dW: x correlated with the gradient
                dw = (_rows(ctx.x, groups) @ cols.transpose(0, 2, 1)).reshape(weight.shape)
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=(0, *range(2, grad.ndim)))  # (N, C_out, *out) -> (C_out,)
        return dx, dw, db


# ============================================================================================
# Argument checking (at the door) and the public functions
# ============================================================================================


def _array(value, name: str, op: str):
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"{op}: {name} must be a Tensor. Received: {name} of type {type(value).__name__}")


def _check_common(op, nd, input, weight, bias, groups, stride, dilation, transposed):
    """Ranks, dtypes, groups, stride, dilation; returns (x, w, unbatched, stride, dilation)."""
    x, w = _array(input, "input", op), _array(weight, "weight", op)
    b = None if bias is None else _array(bias, "bias", op)
    unbatched, stride, dilation = _check_shapes(
        op,
        nd,
        x.shape,
        x.dtype,
        w.shape,
        w.dtype,
        None if b is None else b.shape,
        None if b is None else b.dtype,
        groups,
        stride,
        dilation,
        transposed,
    )
    return x, w, unbatched, stride, dilation


@checked_once
def _check_shapes(op, nd, x_shape, x_dtype, w_shape, w_dtype, b_shape, b_dtype, groups, stride, dilation, transposed):
    wname = "(in_channels, out_channels/groups" if transposed else "(out_channels, in_channels/groups"
    if len(x_shape) not in (nd + 1, nd + 2):
        raise ValueError(
            f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input. Received: input of shape {x_shape}"
        )
    if len(w_shape) != nd + 2:
        axes = ", ".join(f"k{i}" for i in range(nd))
        raise ValueError(f"{op}: expected a {nd + 2}-D weight {wname}, {axes}). Received: weight of shape {w_shape}")
    for name, dtype in (("input", x_dtype), ("weight", w_dtype)):
        if dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be a float tensor. Received: {name} of dtype {dtype}")
    if x_dtype != w_dtype:
        raise TypeError(f"{op}: input and weight must have the same dtype. Received: input {x_dtype}, weight {w_dtype}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{op}: groups must be an int. Received: groups={groups!r}")
    check_at_least([int(groups)], 1, "groups", op)
    stride = ntuple(stride, nd, "stride", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    check_at_least(stride, 1, "stride", op)
    check_at_least(dilation, 1, "dilation", op)
    unbatched = len(x_shape) == nd + 1
    c = x_shape[0] if unbatched else x_shape[1]
    if c % groups:
        raise ValueError(
            f"{op}: groups={groups} must divide the input channels. Received: input of shape {x_shape}, groups={groups}"
        )
    if transposed:
        if c != w_shape[0]:
            raise ValueError(
                f"{op}: expected input with {w_shape[0]} channels (weight.shape[0]). "
                f"Received: input of shape {x_shape}, weight of shape {w_shape}"
            )
        cout = w_shape[1] * groups
    else:
        if w_shape[0] % groups:
            raise ValueError(
                f"{op}: groups={groups} must divide the output channels (weight.shape[0]). "
                f"Received: weight of shape {w_shape}, groups={groups}"
            )
        if c != w_shape[1] * groups:
            raise ValueError(
                f"{op}: expected input with {w_shape[1] * groups} channels (weight.shape[1] * groups"
                f" = {w_shape[1]} * {groups}). Received: input of shape {x_shape}"
            )
        cout = w_shape[0]
    if b_shape is not None:
        if b_shape != (cout,):
            raise ValueError(
                f"{op}: expected bias of shape ({cout},) (one per output channel). Received: bias of shape {b_shape}"
            )
        if b_dtype != x_dtype:
            raise TypeError(f"{op}: bias must have the dtype of input ({x_dtype}). Received: bias of dtype {b_dtype}")
    return unbatched, stride, dilation


def _conv(op, nd, input, weight, bias, stride, padding, dilation, groups):
    x, w, unbatched, stride, dilation = _check_common(op, nd, input, weight, bias, groups, stride, dilation, False)
    config = _conv_config(op, nd, x.shape, w.shape, stride, padding, dilation, int(groups), unbatched)
    function = kernels.select(config, w.shape, x.dtype) or ConvNd  # a faster kernel, or the lecture's
    return function.apply(input, weight, bias, config=config)


@checked_once
def _conv_config(op, nd, x_shape, w_shape, stride, padding, dilation, groups, unbatched):
    """The convolution's ConvConfig (padding as (before, after) pairs), after checking that the kernel fits."""
    kernel = w_shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    f"{op}: padding='same' is not supported for strided convolutions "
                    f"(expected stride 1). Received: stride={stride}"
                )
            pads = tuple(tuple(p) for p in same_padding(kernel, dilation))
        else:
            raise ValueError(
                f"{op}: padding must be 'valid', 'same', an int or a tuple of {nd} ints. Received: padding={padding!r}"
            )
    else:
        p = ntuple(padding, nd, "padding", op)
        check_at_least(p, 0, "padding", op)
        pads = tuple((q, q) for q in p)
    spatial = x_shape[-nd:]
    padded = tuple(s + a + b for s, (a, b) in zip(spatial, pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(s < k for s, k in zip(padded, span)):
        raise ValueError(
            f"{op}: the kernel (dilated size {span}) is larger than the padded input ({padded}). "
            f"Received: input of shape {tuple(x_shape)}, weight of shape {tuple(w_shape)}, "
            f"padding={padding!r}, dilation={dilation}"
        )
    input_shape = (1, *x_shape) if unbatched else tuple(x_shape)
    return ConvConfig(Window(tuple(kernel), stride, pads, dilation), groups, input_shape, unbatched)


def _conv_transpose(op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    x, w, unbatched, stride, dilation = _check_common(op, nd, input, weight, bias, groups, stride, dilation, True)
    config = _conv_transpose_config(
        op, nd, x.shape, w.shape, stride, padding, output_padding, dilation, int(groups), unbatched
    )
    function = kernels.select(config, w.shape, x.dtype) or ConvTransposeNd
    return function.apply(input, weight, bias, config=config)


@checked_once
def _conv_transpose_config(op, nd, x_shape, w_shape, stride, padding, output_padding, dilation, groups, unbatched):
    padding = ntuple(padding, nd, "padding", op)
    output_padding = ntuple(output_padding, nd, "output_padding", op)
    check_at_least(padding, 0, "padding", op)
    check_at_least(output_padding, 0, "output_padding", op)
    if any(op_ >= s and op_ >= d for op_, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding must be smaller than either stride or dilation on every axis. "
            f"Received: output_padding={output_padding}, stride={stride}, dilation={dilation}"
        )
    kernel = tuple(w_shape[2:])
    out_size = tuple(
        (i - 1) * s - 2 * p + d * (k - 1) + q + 1
        for i, k, s, p, d, q in zip(x_shape[-nd:], kernel, stride, padding, dilation, output_padding)
    )
    if any(o < 1 for o in out_size):
        raise ValueError(
            f"{op}: the output size {out_size} is below 1 ((in - 1)*stride - 2*padding + "
            f"dilation*(kernel - 1) + output_padding + 1). Received: input of shape {tuple(x_shape)}, "
            f"weight of shape {tuple(w_shape)}, stride={stride}, padding={padding}, "
            f"dilation={dilation}, output_padding={output_padding}"
        )
    window = Window(kernel, stride, tuple((p, p) for p in padding), dilation)
    input_shape = (1, *x_shape) if unbatched else tuple(x_shape)
    return ConvConfig(window, groups, input_shape, unbatched, output_padding)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation): (N, C_in, L), weight (C_out, C_in/groups, k) -> (N, C_out, L_out).

    L_out = floor((L + 2*padding - dilation*(k - 1) - 1) / stride) + 1; e.g. (2, 4, 10) with weight
    (6, 4, 3) and padding=1 gives (2, 6, 10).
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation): (N, C_in, H, W), weight (C_out, C_in/groups, kh, kw).

    y[n, o, i, j] = b[o] + sum_{c, a, b'} x_pad[n, c, s*i + d*a, s*j + d*b'] * w[o, c, a, b'];
    per axis out = floor((in + 2*padding - dilation*(k - 1) - 1) / stride) + 1, the lectures'
    (W - F + 2P) / S + 1. E.g. (2, 3, 32, 32) with ten 5x5 filters, padding 2 -> (2, 10, 32, 32).
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation): (N, C_in, D, H, W), weight (C_out, C_in/groups, kd, kh, kw).

    E.g. (1, 2, 8, 8, 8) with weight (4, 2, 3, 3, 3), stride 2 -> (1, 4, 3, 3, 3).
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution: (N, C_in, L), weight (C_in, C_out/groups, k) -> (N, C_out, L_out).

    L_out = (L - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1; e.g. (2, 4, 5)
    with weight (4, 3, 4), stride 2, padding 1 -> (2, 3, 10).
    """
    return _conv_transpose(
        "conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution: (N, C_in, H, W), weight (C_in, C_out/groups, kh, kw).

    The gradient of conv2d with respect to its input, used as a layer (upsampling):
    every input pixel scatters a weighted copy of the kernel, s pixels apart, then padding is
    cut off. E.g. (1, 8, 16, 16) with weight (8, 4, 4, 4), stride 2, padding 1 -> (1, 4, 32, 32).
    """
    return _conv_transpose(
        "conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution: (N, C_in, D, H, W), weight (C_in, C_out/groups, kd, kh, kw).

    E.g. (1, 2, 3, 3, 3) with weight (2, 4, 3, 3, 3), stride 2 -> (1, 4, 7, 7, 7).
    """
    return _conv_transpose(
        "conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups, dilation
    )
