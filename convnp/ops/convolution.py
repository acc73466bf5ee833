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
correlates. The two Function classes below are each other's mirror image, built from the same
three GEMMs (:func:`_gemm_forward`, :func:`_gemm_transpose`, :func:`_gemm_weight`).

How the sums are computed is the choice of an *engine* (``set_conv_engine``, see
:mod:`convnp.ops.conv_engines`): "reference" (the sliding dot product, a loop over output
positions), "im2col" (the three GEMMs below, whole batch at once), and faster ones ("shifted",
"blocked", "chwn", "pointwise", "depthwise") that "auto", the default, picks per shape. They all give
the same numbers to float rounding; the Functions below only dispatch.

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

import math

import numpy as np

from convnp.arraymath.conv_arithmetic import check_at_least, conv_output_size, ntuple, same_padding
from convnp.arraymath.im2col import col2im, im2col, pad_spatial
from convnp.arraymath.parallel import blas_threads_for
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.ops import conv_engines
from convnp.ops.checks import checked_once


# ============================================================================================
# The GEMM core: plain arrays in, plain arrays out (a faster engine can replace these three)
# ============================================================================================

def _gemm_forward(w: np.ndarray, cols: np.ndarray, groups: int) -> np.ndarray:
    """W @ cols per group: (C_out, C_in/G*K), (C_in*K, M) -> (C_out, M)."""
    cout, m = w.shape[0], cols.shape[1]
    a = w.reshape(groups, cout // groups, w.shape[1])                 # (G, C_out/G, C_in/G*K)
    b = cols.reshape(groups, cols.shape[0] // groups, m)              # (G, C_in/G*K, M)
    return np.matmul(a, b).reshape(cout, m)


def _gemm_transpose(w: np.ndarray, y: np.ndarray, groups: int) -> np.ndarray:
    """W^T @ y per group: (C_out, C_in/G*K), (C_out, M) -> (C_in*K, M)."""
    cout, m = y.shape
    a = w.reshape(groups, cout // groups, w.shape[1])                 # (G, C_out/G, C_in/G*K)
    b = y.reshape(groups, cout // groups, m)                          # (G, C_out/G, M)
    return np.matmul(a.transpose(0, 2, 1), b).reshape(groups * w.shape[1], m)


def _gemm_weight(y: np.ndarray, cols: np.ndarray, groups: int) -> np.ndarray:
    """y @ cols^T per group: (C_out, M), (C_in*K, M) -> (C_out, C_in/G*K)."""
    cout, m = y.shape
    a = y.reshape(groups, cout // groups, m)                          # (G, C_out/G, M)
    b = cols.reshape(groups, cols.shape[0] // groups, m)              # (G, C_in/G*K, M)
    return np.matmul(a, b.transpose(0, 2, 1)).reshape(cout, -1)


# --- layout helpers -------------------------------------------------------------------------

def _rows(y: np.ndarray) -> np.ndarray:
    """(N, C, *out) -> (C, N*L), the layout of a GEMM result."""
    return np.swapaxes(y, 0, 1).reshape(y.shape[1], -1)


def _unrows(m: np.ndarray, n: int, out) -> np.ndarray:
    """(C, N*L) -> (N, C, *out), contiguous."""
    return np.ascontiguousarray(np.swapaxes(m.reshape(m.shape[0], n, *out), 0, 1))


def _window(x: np.ndarray, starts, lengths) -> np.ndarray:
    """Cut (or zero-extend) every spatial axis to [start, start + length); start may be negative."""
    pads = [(max(0, -s), max(0, s + n - size)) for s, n, size in zip(starts, lengths, x.shape[2:])]
    x = pad_spatial(x, pads)
    cut = tuple(slice(s + before, s + before + n) for s, n, (before, _) in zip(starts, lengths, pads))
    return x[(slice(None), slice(None)) + cut]


def _bias_grad(grad: np.ndarray) -> np.ndarray:
    return grad.sum(axis=(0, *range(2, grad.ndim)))                   # (N, C, *out) -> (C,)


def _add_bias(y: np.ndarray, bias) -> np.ndarray:
    if bias is not None:
        y += bias.reshape(1, -1, *(1,) * (y.ndim - 2))
    return y


# ============================================================================================
# The two Functions: each one's forward is the other's input gradient
# ============================================================================================

def _flops(x_shape, w_shape, stride) -> float:
    """About the floating-point operations of the convolution (for the BLAS thread choice)."""
    return 2.0 * x_shape[0] * math.prod(x_shape[2:]) / math.prod(stride) * math.prod(w_shape)


class ConvNd(Function):
    """Cross-correlation; pads: one (before, after) pair per spatial axis.

    Small convolutions (a batch of one, LeNet's layers) run their products in this thread on one
    BLAS thread (:func:`convnp.arraymath.parallel.blas_threads_for`)."""

    @staticmethod
    def forward(ctx, x, weight, bias, *, stride, pads, dilation, groups, unbatched):
        ctx.flops = _flops(x.shape if not unbatched else (1, *x.shape), weight.shape, stride)
        with blas_threads_for(ctx.flops):
            return ConvNd._forward(ctx, x, weight, bias, stride, pads, dilation, groups, unbatched)

    @staticmethod
    def backward(ctx, grad):
        with blas_threads_for(ctx.flops):
            return ConvNd._backward(ctx, grad)

    @staticmethod
    def _forward(ctx, x, weight, bias, stride, pads, dilation, groups, unbatched):
        if unbatched:
            x = x[None]                                                # (C, *s) -> (1, C, *s)
        engine = conv_engines.select(x.shape, weight.shape, pads, stride, dilation, groups, x.dtype)
        ctx.engine = engine
        if engine is not None:                                         # a faster (or the reference) engine
            y, ctx.saved = engine.forward(x, weight, pads, stride, dilation, groups, ctx.needs_input_grad[1])
            y = _add_bias(y, bias)
            ctx.cfg = (None, x.shape, pads, stride, dilation, groups, unbatched)
            ctx.weight, ctx.cols = weight, None
            ctx.x = x if ctx.needs_input_grad[1] else None
            return y[0] if unbatched else y
        xp = pad_spatial(x, pads)                                      # (N, C_in, *padded)
        kernel = weight.shape[2:]
        cols = im2col(xp, kernel, stride, dilation)                    # (C_in*K, N*L)
        out = tuple(conv_output_size(s, k, st, 0, 0, d)
                    for s, k, st, d in zip(xp.shape[2:], kernel, stride, dilation))
        w2 = weight.reshape(weight.shape[0], -1)                       # (C_out, C_in/G*K)
        y = _add_bias(_unrows(_gemm_forward(w2, cols, groups), x.shape[0], out), bias)
        ctx.cfg = (xp.shape, x.shape, pads, stride, dilation, groups, unbatched)
        ctx.weight = weight
        ctx.cols = cols if ctx.needs_input_grad[1] else None
        return y[0] if unbatched else y

    @staticmethod
    def _backward(ctx, grad):
        padded_shape, x_shape, pads, stride, dilation, groups, unbatched = ctx.cfg
        weight = ctx.weight
        dx = dw = db = None
        if ctx.engine is not None:
            gb = np.ascontiguousarray(grad[None] if unbatched else grad)
            x = ctx.x if ctx.x is not None else np.empty(x_shape, weight.dtype)   # only its shape is used for dX
            dx, dw = ctx.engine.backward(gb, x, weight, ctx.saved, pads, stride, dilation, groups,
                                         ctx.needs_input_grad[0], ctx.needs_input_grad[1])
            if dx is not None and unbatched:
                dx = dx[0]
            if ctx.needs_input_grad[2]:
                db = _bias_grad(gb)
            return dx, dw, db
        g = _rows(grad[None] if unbatched else grad)                   # (C_out, N*L)
        if ctx.needs_input_grad[0]:          # dX: the gradient convolved with W = transposed conv
            dcols = _gemm_transpose(weight.reshape(weight.shape[0], -1), g, groups)   # (C_in*K, N*L)
            dxp = col2im(dcols, padded_shape, weight.shape[2:], stride, dilation)  # (N, C_in, *padded)
            dx = np.ascontiguousarray(_window(dxp, [b for b, _ in pads], x_shape[2:]))
            dx = dx[0] if unbatched else dx
        if ctx.needs_input_grad[1]:          # dW: the input correlated with the gradient
            dw = _gemm_weight(g, ctx.cols, groups).reshape(weight.shape)
        if ctx.needs_input_grad[2]:
            db = _bias_grad(grad[None] if unbatched else grad)
        return dx, dw, db


class ConvTransposeNd(Function):
    """Transposed convolution: the backward-data pass of ConvNd, used as a forward."""

    @staticmethod
    def forward(ctx, x, weight, bias, *, stride, padding, out_size, dilation, groups, unbatched):
        ctx.flops = _flops(x.shape if not unbatched else (1, *x.shape), weight.shape, (1,))
        with blas_threads_for(ctx.flops):
            return ConvTransposeNd._forward(ctx, x, weight, bias, stride, padding, out_size, dilation, groups,
                                            unbatched)

    @staticmethod
    def backward(ctx, grad):
        with blas_threads_for(ctx.flops):
            return ConvTransposeNd._backward(ctx, grad)

    @staticmethod
    def _forward(ctx, x, weight, bias, stride, padding, out_size, dilation, groups, unbatched):
        if unbatched:
            x = x[None]                                                # (C, *s) -> (1, C, *s)
        n, kernel = x.shape[0], weight.shape[2:]
        # the full scatter, before padding is cut away: (in - 1)*s + d*(k - 1) + 1 per axis
        full = tuple((i - 1) * s + d * (k - 1) + 1 for i, k, s, d in zip(x.shape[2:], kernel, stride, dilation))
        full_shape = (n, weight.shape[1] * groups, *full)
        nopad = [(0, 0)] * len(kernel)
        # as a convolution: input (N, C_out, *full), weight (C_in, C_out/G, *k), output x's shape
        engine = conv_engines.select(full_shape, weight.shape, nopad, stride, dilation, groups, x.dtype)
        ctx.engine = engine
        if engine is not None:
            yf, _ = engine.backward(np.ascontiguousarray(x), np.empty(full_shape, x.dtype), weight, None, nopad,
                                    stride, dilation, groups, True, False)
        else:
            w2 = weight.reshape(weight.shape[0], -1)                   # (C_in, C_out/G*K)
            cols = _gemm_transpose(w2, _rows(x), groups)               # (C_out*K, N*L_in)
            yf = col2im(cols, full_shape, kernel, stride, dilation)
        # cut `padding` off both sides; output_padding appends zeros the scatter never reached
        y = _add_bias(np.ascontiguousarray(_window(yf, padding, out_size)), bias)
        ctx.cfg = (x.shape, full, padding, stride, dilation, groups, unbatched)
        ctx.weight = weight
        ctx.x = x if ctx.needs_input_grad[1] else None                 # dW correlates x with the gradient
        return y[0] if unbatched else y

    @staticmethod
    def _backward(ctx, grad):
        x_shape, full, padding, stride, dilation, groups, unbatched = ctx.cfg
        weight = ctx.weight
        grad = grad[None] if unbatched else grad
        dx = dw = db = None
        if ctx.engine is not None and (ctx.needs_input_grad[0] or ctx.needs_input_grad[1]):
            gp = np.ascontiguousarray(_window(grad, [-p for p in padding], full))       # (N, C_out, *full)
            nopad = [(0, 0)] * len(full)
            if ctx.needs_input_grad[0]:      # dX: a convolution of the gradient with W
                dx, _ = ctx.engine.forward(gp, weight, nopad, stride, dilation, groups, False)
                dx = dx[0] if unbatched else dx
            if ctx.needs_input_grad[1]:      # dW: x correlated with the gradient
                _, dw = ctx.engine.backward(np.ascontiguousarray(ctx.x), gp, weight, None, nopad, stride,
                                            dilation, groups, False, True)
        elif ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            gp = _window(grad, [-p for p in padding], full)           # (N, C_out, *full)
            cols = im2col(gp, weight.shape[2:], stride, dilation)      # (C_out*K, N*L_in)
            if ctx.needs_input_grad[0]:      # dX: a convolution of the gradient with W
                w2 = weight.reshape(weight.shape[0], -1)
                dx = _unrows(_gemm_forward(w2, cols, groups), x_shape[0], x_shape[2:])
                dx = dx[0] if unbatched else dx
            if ctx.needs_input_grad[1]:      # dW: x correlated with the gradient
                dw = _gemm_weight(_rows(ctx.x), cols, groups).reshape(weight.shape)
        if ctx.needs_input_grad[2]:
            db = _bias_grad(grad)
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
    unbatched, stride, dilation = _check_shapes(op, nd, x.shape, x.dtype, w.shape, w.dtype,
                                                None if b is None else b.shape, None if b is None else b.dtype,
                                                groups, stride, dilation, transposed)
    return x, w, unbatched, stride, dilation


@checked_once
def _check_shapes(op, nd, x_shape, x_dtype, w_shape, w_dtype, b_shape, b_dtype, groups, stride, dilation,
                  transposed):
    wname = "(in_channels, out_channels/groups" if transposed else "(out_channels, in_channels/groups"
    if len(x_shape) not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input. "
                         f"Received: input of shape {x_shape}")
    if len(w_shape) != nd + 2:
        axes = ", ".join(f"k{i}" for i in range(nd))
        raise ValueError(f"{op}: expected a {nd + 2}-D weight {wname}, {axes}). "
                         f"Received: weight of shape {w_shape}")
    for name, dtype in (("input", x_dtype), ("weight", w_dtype)):
        if dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be a float tensor. Received: {name} of dtype {dtype}")
    if x_dtype != w_dtype:
        raise TypeError(f"{op}: input and weight must have the same dtype. "
                        f"Received: input {x_dtype}, weight {w_dtype}")
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
        raise ValueError(f"{op}: groups={groups} must divide the input channels. "
                         f"Received: input of shape {x_shape}, groups={groups}")
    if transposed:
        if c != w_shape[0]:
            raise ValueError(f"{op}: expected input with {w_shape[0]} channels (weight.shape[0]). "
                             f"Received: input of shape {x_shape}, weight of shape {w_shape}")
        cout = w_shape[1] * groups
    else:
        if w_shape[0] % groups:
            raise ValueError(f"{op}: groups={groups} must divide the output channels (weight.shape[0]). "
                             f"Received: weight of shape {w_shape}, groups={groups}")
        if c != w_shape[1] * groups:
            raise ValueError(f"{op}: expected input with {w_shape[1] * groups} channels (weight.shape[1] * groups"
                             f" = {w_shape[1]} * {groups}). Received: input of shape {x_shape}")
        cout = w_shape[0]
    if b_shape is not None:
        if b_shape != (cout,):
            raise ValueError(f"{op}: expected bias of shape ({cout},) (one per output channel). "
                             f"Received: bias of shape {b_shape}")
        if b_dtype != x_dtype:
            raise TypeError(f"{op}: bias must have the dtype of input ({x_dtype}). Received: bias of dtype {b_dtype}")
    return unbatched, stride, dilation


def _conv(op, nd, input, weight, bias, stride, padding, dilation, groups):
    x, w, unbatched, stride, dilation = _check_common(op, nd, input, weight, bias, groups, stride, dilation, False)
    pads = _conv_pads(op, nd, x.shape, w.shape, stride, padding, dilation)
    return ConvNd.apply(input, weight, bias, stride=stride, pads=pads, dilation=dilation, groups=int(groups),
                        unbatched=unbatched)


@checked_once
def _conv_pads(op, nd, x_shape, w_shape, stride, padding, dilation):
    """The (before, after) pads per spatial axis, after checking that the kernel fits."""
    kernel = w_shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(expected stride 1). Received: stride={stride}")
            pads = tuple(tuple(p) for p in same_padding(kernel, dilation))
        else:
            raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple of {nd} ints. "
                             f"Received: padding={padding!r}")
    else:
        p = ntuple(padding, nd, "padding", op)
        check_at_least(p, 0, "padding", op)
        pads = tuple((q, q) for q in p)
    spatial = x_shape[-nd:]
    padded = tuple(s + a + b for s, (a, b) in zip(spatial, pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(s < k for s, k in zip(padded, span)):
        raise ValueError(f"{op}: the kernel (dilated size {span}) is larger than the padded input ({padded}). "
                         f"Received: input of shape {tuple(x_shape)}, weight of shape {tuple(w_shape)}, "
                         f"padding={padding!r}, dilation={dilation}")
    return pads


def _conv_transpose(op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    x, w, unbatched, stride, dilation = _check_common(op, nd, input, weight, bias, groups, stride, dilation, True)
    padding = ntuple(padding, nd, "padding", op)
    output_padding = ntuple(output_padding, nd, "output_padding", op)
    check_at_least(padding, 0, "padding", op)
    check_at_least(output_padding, 0, "output_padding", op)
    if any(op_ >= s and op_ >= d for op_, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{op}: output_padding must be smaller than either stride or dilation on every axis. "
                         f"Received: output_padding={output_padding}, stride={stride}, dilation={dilation}")
    kernel = w.shape[2:]
    out_size = tuple((i - 1) * s - 2 * p + d * (k - 1) + q + 1
                     for i, k, s, p, d, q in zip(x.shape[-nd:], kernel, stride, padding, dilation, output_padding))
    if any(o < 1 for o in out_size):
        raise ValueError(f"{op}: the output size {out_size} is below 1 ((in - 1)*stride - 2*padding + "
                         f"dilation*(kernel - 1) + output_padding + 1). Received: input of shape {tuple(x.shape)}, "
                         f"weight of shape {tuple(w.shape)}, stride={stride}, padding={padding}, "
                         f"dilation={dilation}, output_padding={output_padding}")
    return ConvTransposeNd.apply(input, weight, bias, stride=stride, padding=padding, out_size=out_size,
                                 dilation=dilation, groups=int(groups), unbatched=unbatched)


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
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution: (N, C_in, H, W), weight (C_in, C_out/groups, kh, kw).

    The gradient of conv2d with respect to its input, used as a layer (upsampling):
    every input pixel scatters a weighted copy of the kernel, s pixels apart, then padding is
    cut off. E.g. (1, 8, 16, 16) with weight (8, 4, 4, 4), stride 2, padding 1 -> (1, 4, 32, 32).
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution: (N, C_in, D, H, W), weight (C_in, C_out/groups, kd, kh, kw).

    E.g. (1, 2, 3, 3, 3) with weight (2, 4, 3, 3, 3), stride 2 -> (1, 4, 7, 7, 7).
    """
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)
