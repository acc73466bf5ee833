"""The kernels of the linear family: the fully connected layer's products on one BLAS thread.

Same contract as the lecture :class:`convnp.ops.linear.Linear` (y = x W^T + b; dx = g W,
dW = g^T x, db = sum g; it keeps x and W), the same products, run under a one-thread BLAS.
OpenBLAS splits even a small product over every core, and each split waits for the slowest
thread: on a busy machine one descheduled thread stalls the product.

Selection (``select``, ``cn.set_engine(linear=...)``): "reference" -> the lecture Linear (the BLAS
as configured); "one_thread" -> :class:`OneThreadLinear` always; "auto" -> :class:`OneThreadLinear`
for products under _SMALL_FLOPS, the lecture Linear above.
"""

from __future__ import annotations

import numpy as np

from convnp.arraymath.parallel import SMALL_PRODUCT_FLOPS, blas_threads
from convnp.autograd.function import Function
from convnp.kernels.engine import get_engine

# 2 * x.size * out_features: the flops of the forward product (each backward product has as many).
# Below this (parallel.SMALL_PRODUCT_FLOPS = 5e7, about half a millisecond on one core) one BLAS
# thread. Measured forward + backward, float32, 2-thread BLAS on the shared 2-core machine, one
# process, one thread vs the BLAS as it is (min / median of 7 interleaved samples):
#   (128, 512) -> 10  (VGG-CIFAR head)   76 / 77 us   vs  14.8 / 16.8 ms
#   (128, 400) -> 120 (LeNet F6 at 128)  0.56 / 0.62 ms vs 83 / 91 ms
#   (1, 400) -> 120   (batch 1)          65 / 221 us  vs  59 / 90 us   (noise; a gemv either way)
#   (128, 4096) -> 1000 (1.0e9 flops)    159 / 344 ms vs 133 / 336 ms  (above: both threads)
_SMALL_FLOPS = SMALL_PRODUCT_FLOPS


def select(x: np.ndarray, weight: np.ndarray):
    """The kernel Function for linear(x, weight), or None for the lecture Linear (``cn.get_engine("linear")``)."""
    name = get_engine("linear")
    if name == "reference":
        return None
    if name == "one_thread" or 2 * x.size * weight.shape[0] < _SMALL_FLOPS:
        return OneThreadLinear
    return None


class OneThreadLinear(Function):
    """y = x W^T + b over the last axis of x, its products on one BLAS thread; backward as the
    lecture Linear: dx = g W, dW = sum over the leading axes of g^T x, db = sum of g."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.x, ctx.weight = x, weight
        with blas_threads(1):
            y = x @ weight.T  # (*, in) @ (in, out) -> (*, out)
        if bias is not None:
            np.add(y, bias, out=y)  # (*, out) + (out,) -> (*, out), into the fresh y
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.x, ctx.weight
        out_features, in_features = weight.shape
        needs = ctx.needs_input_grad
        g2 = grad.reshape(-1, out_features)  # (*, out) -> (M, out)
        with blas_threads(1):
            dx = grad @ weight if needs[0] else None  # (*, out) @ (out, in) -> (*, in)
            dw = g2.T @ x.reshape(-1, in_features) if needs[1] else None  # (out, M) @ (M, in) -> (out, in)
        db = g2.sum(axis=0) if needs[2] else None  # (M, out) -> (out,)
        return dx, dw, db
