"""The fully connected (linear, dense) layer: y = x W^T + b, forward beside its hand-written backward.

Small products run the same sums on a one-thread BLAS (``cn.set_engine(linear=...)``):
convnp/kernels/linear.py.
"""

from __future__ import annotations

from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.kernels import linear as _kernels
from convnp.ops.checks import float_tensor


class Linear(Function):
    """y = x W^T + b over the last axis of x.

    Backward, with g = dL/dy of shape (*, out):
        dL/dx = g W                                     (*, out) @ (out, in) -> (*, in)
        dL/dW = sum over the leading axes of g^T x      (out, M) @ (M, in) -> (out, in), M = prod(*)
        dL/db = sum over the leading axes of g          (M, out) -> (out,)
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.x, ctx.weight = x, weight
        y = x @ weight.T  # (*, in) @ (in, out) -> (*, out)
        return y if bias is None else y + bias  # (*, out) + (out,) -> (*, out)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.x, ctx.weight
        out_features, in_features = weight.shape
        needs = ctx.needs_input_grad
        g2 = grad.reshape(-1, out_features)  # (*, out) -> (M, out)
        dx = grad @ weight if needs[0] else None  # (*, out) @ (out, in) -> (*, in)
        dw = g2.T @ x.reshape(-1, in_features) if needs[1] else None  # (out, M) @ (M, in) -> (out, in)
        db = g2.sum(axis=0) if needs[2] else None  # (M, out) -> (out,)
        return dx, dw, db


def linear(input, weight, bias=None) -> Tensor:
    """Fully connected layer: y = x W^T + b, applied to the last axis of ``input``.

    Every output unit j is a weighted sum of every input feature: y_j = sum_i W[j, i] x_i + b_j.

    Shapes: input (*, in_features), weight (out_features, in_features), bias (out_features,) or
    None -> output (*, out_features). E.g. input (32, 9216), weight (4096, 9216), bias (4096,)
    -> (32, 4096); any leading axes are kept: (N, H, W, in) -> (N, H, W, out).
    """
    x = float_tensor("linear", input, "input")
    w = float_tensor("linear", weight, "weight")
    b = None if bias is None else float_tensor("linear", bias, "bias")
    xd, wd = x.data, w.data
    if wd.ndim != 2:
        raise ValueError(
            f"linear: expected a 2-D weight of shape (out_features, in_features). Received: weight of shape {w.shape}"
        )
    out_features, in_features = wd.shape
    if xd.ndim == 0:
        raise ValueError(
            f"linear: expected input of shape (*, in_features={in_features}) with at least "
            f"1 dimension. Received: input of shape {x.shape}"
        )
    if xd.shape[-1] != in_features:
        raise ValueError(
            f"linear: expected input with in_features={in_features} (weight.shape[1]) in its "
            f"last dimension, got {x.shape[-1]}. Received: input of shape {x.shape}, "
            f"weight of shape {w.shape}"
        )
    if b is not None and b.data.shape != (out_features,):
        raise ValueError(
            f"linear: expected bias of shape (out_features,) = ({out_features},). Received: bias of shape {b.shape}"
        )
    if xd.dtype != wd.dtype or (b is not None and b.data.dtype != xd.dtype):
        raise TypeError(
            f"linear: expected input, weight and bias of one dtype. Received: input {x.dtype}, "
            f"weight {w.dtype}" + (f", bias {b.dtype}" if b is not None else "")
        )
    return (_kernels.select(xd, wd) or Linear).apply(x, w, b)
