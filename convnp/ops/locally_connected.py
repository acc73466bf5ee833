"""Locally connected layer: a convolution WITHOUT weight sharing.

The lectures' 3-D activations slide: with weight sharing, one filter slides over every position
and the layer is a convolution; without weight sharing, every output position (i, j) has its
own filter and the layer is called locally connected. The connectivity is the same (each output
pixel sees one kh x kw window of every input channel), only the parameters are not tied::

    convolution:        y[n, o, i, j] = b[o]       + sum_{c,a,b} W[o, c, a, b]       x[n, c, s*i + a, s*j + b]
    locally connected:  y[n, o, i, j] = b[o, i, j] + sum_{c,a,b} W[i, j, o, c, a, b] x[n, c, s*i + a, s*j + b]

(x zero-padded by ``padding``). So the weight has one (C_out, C_in, kh, kw) filter bank per
output position::

    weight: (out_h, out_w, out_channels, in_channels, kh, kw)      bias: (out_channels, out_h, out_w)

with out_h = floor((H + 2*p_h - kh) / s_h) + 1 (the lectures' (W - F + 2P) / S + 1), likewise out_w.
That is out_h * out_w times the parameters of the convolution, and the layer gives up
translation equivariance (a pattern learned at one place is not recognised elsewhere).

Forward: im2col writes every window as a column, grouped by position P = out_h * out_w; then
each position multiplies its own weight matrix, one batched matmul over P::

    x --im2col--> cols (C*kh*kw, N*P) -> (P, C*kh*kw, N)
    W (P, C_out, C*kh*kw) @ cols -> (P, C_out, N) -> y (N, C_out, out_h, out_w)

Backward (g = dL/dy as (P, C_out, N)), per position, batched over P::

    dW[p] = g[p] @ cols[p]^T              (C_out, N) @ (N, C*kh*kw)
    dcols[p] = W[p]^T @ g[p]              (C*kh*kw, C_out) @ (C_out, N)   then dX = col2im(dcols)
    db[o, i, j] = sum_n g[n, o, i, j]

>>> import convnp as cn
>>> x = cn.randn(2, 3, 8, 8)
>>> w = cn.randn(6, 6, 4, 3, 3, 3)          # out 6x6, 4 output channels, 3 input channels, 3x3
>>> locally_connected2d(x, w).shape
(2, 4, 6, 6)
"""

from __future__ import annotations

import numpy as np

from convnp.arraymath.conv_arithmetic import check_at_least, conv_output_size, ntuple
from convnp.arraymath.im2col import col2im, im2col, pad_spatial
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor

_OP = "locally_connected2d"


class LocallyConnected2d(Function):
    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        dtype = np.result_type(x, weight) if bias is None else np.result_type(x, weight, bias)
        x, weight = x.astype(dtype, copy=False), weight.astype(dtype, copy=False)
        n, c = x.shape[:2]
        oh, ow, co, _, kh, kw = weight.shape
        p = oh * ow
        ph, pw = padding
        xp = pad_spatial(x, ((ph, ph), (pw, pw)))  # (N, C, H+2ph, W+2pw)
        cols = im2col(xp, (kh, kw), stride, (1, 1))  # -> (C*kh*kw, N*P)
        cols = cols.reshape(c * kh * kw, n, p).transpose(2, 0, 1)  # -> (P, C*kh*kw, N)
        wmat = weight.reshape(p, co, c * kh * kw)  # (oh, ow, Co, C, kh, kw) -> (P, Co, C*kh*kw)
        out = np.matmul(wmat, cols)  # (P, Co, N)
        out = out.transpose(2, 1, 0).reshape(n, co, oh, ow)  # -> (N, Co, oh, ow)
        if bias is not None:
            out = out + bias.astype(dtype, copy=False)  # (Co, oh, ow) broadcast over N
        ctx.cols, ctx.wmat = cols, wmat
        ctx.x_shape, ctx.w_shape, ctx.xp_shape = x.shape, weight.shape, xp.shape
        ctx.stride, ctx.padding = stride, padding
        return out

    @staticmethod
    def backward(ctx, grad):
        n, c, h, w = ctx.x_shape
        oh, ow, co, _, kh, kw = ctx.w_shape
        g = grad.reshape(n, co, oh * ow).transpose(2, 1, 0)  # (N, Co, oh, ow) -> (P, Co, N)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dcols = np.matmul(ctx.wmat.transpose(0, 2, 1), g)  # (P, C*kh*kw, N)
            dcols = dcols.transpose(1, 2, 0).reshape(c * kh * kw, n * oh * ow)  # -> (C*kh*kw, N*P)
            dxp = col2im(dcols, ctx.xp_shape, (kh, kw), ctx.stride, (1, 1))  # (N, C, Hp, Wp)
            ph, pw = ctx.padding
            dx = dxp[:, :, ph : ph + h, pw : pw + w]  # drop the padding
        if ctx.needs_input_grad[1]:
            dw = np.matmul(g, ctx.cols.transpose(0, 2, 1))  # (P, Co, C*kh*kw)
            dw = dw.reshape(ctx.w_shape)
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            db = grad.sum(axis=0)  # (Co, oh, ow)
        return dx, dw, db


def locally_connected2d(input, weight, bias=None, stride=1, padding=0):
    """Locally connected 2-D layer: a convolution with a separate filter at every output position.

    y[n, o, i, j] = bias[o, i, j] + sum_{c, a, b} weight[i, j, o, c, a, b] * x_p[n, c, s_h*i + a, s_w*j + b]

    Args:
        input: (N, C_in, H, W).
        weight: (out_h, out_w, C_out, C_in, kh, kw): one (C_out, C_in, kh, kw) filter bank per
            output position; out_h, out_w must be the output size that input, kernel, stride
            and padding give: out = floor((in + 2*padding - k) / stride) + 1.
        bias: (C_out, out_h, out_w) or None (unshared too: one bias per output unit).
        stride, padding: int or (h, w) pair, as in conv2d (zero padding).

    Returns: (N, C_out, out_h, out_w).

    >>> import convnp as cn
    >>> locally_connected2d(cn.randn(1, 2, 7, 5), cn.randn(3, 2, 4, 2, 3, 3), stride=2).shape
    (1, 4, 3, 2)
    """
    args = []
    for name, a in (("input", input), ("weight", weight), ("bias", bias)):
        if a is not None and not isinstance(a, Tensor):
            a = np.asarray(a)
            if a.dtype.kind not in "biuf":
                raise TypeError(f"{_OP}: {name} must be a real numeric tensor. Received: {name} of dtype {a.dtype}")
        args.append(a)
    input, weight, bias = args
    stride = ntuple(stride, 2, "stride", _OP)
    padding = ntuple(padding, 2, "padding", _OP)
    check_at_least(stride, 1, "stride", _OP)
    check_at_least(padding, 0, "padding", _OP)
    if input.ndim != 4:
        raise ValueError(f"{_OP}: expected a 4-D input (N, C_in, H, W). Received: input of shape {tuple(input.shape)}")
    if weight.ndim != 6:
        raise ValueError(
            f"{_OP}: expected a 6-D weight (out_h, out_w, out_channels, in_channels, kh, kw), one filter "
            f"bank per output position. Received: weight of shape {tuple(weight.shape)}"
        )
    n, c, h, w = input.shape
    oh, ow, co, ci, kh, kw = weight.shape
    if ci != c:
        raise ValueError(
            f"{_OP}: expected input with {ci} channels (weight.shape[3] = {ci}). "
            f"Received: input of shape {tuple(input.shape)}"
        )
    if kh < 1 or kw < 1 or co < 1:
        raise ValueError(
            f"{_OP}: the weight must have at least one output channel and a kernel of at least 1x1. "
            f"Received: weight of shape {tuple(weight.shape)}"
        )
    want = tuple(conv_output_size(size, k, s, p) for size, k, s, p in zip((h, w), (kh, kw), stride, padding))
    if min(want) < 1:
        raise ValueError(
            f"{_OP}: the {kh}x{kw} kernel does not fit in the padded input "
            f"({h + 2 * padding[0]}x{w + 2 * padding[1]}), so there is no output position. "
            f"Received: input of shape {tuple(input.shape)}, weight of shape {tuple(weight.shape)}, "
            f"padding={padding}"
        )
    if (oh, ow) != want:
        raise ValueError(
            f"{_OP}: the weight has filters for a {oh}x{ow} output, but the input, kernel, stride and "
            f"padding give a {want[0]}x{want[1]} output (out = floor((in + 2*padding - k) / stride) + 1 "
            f"= ({h} + 2*{padding[0]} - {kh}) // {stride[0]} + 1 by ({w} + 2*{padding[1]} - {kw}) // "
            f"{stride[1]} + 1). Received: weight of shape {tuple(weight.shape)} for input of shape "
            f"{tuple(input.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (co, oh, ow):
        raise ValueError(
            f"{_OP}: expected bias of shape (out_channels, out_h, out_w) = {(co, oh, ow)} or None. "
            f"Received: bias of shape {tuple(bias.shape)}"
        )
    if bias is None:
        return LocallyConnected2d.apply(input, weight, stride=stride, padding=padding)
    return LocallyConnected2d.apply(input, weight, bias, stride=stride, padding=padding)
