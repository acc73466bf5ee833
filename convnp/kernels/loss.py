"""The kernels of the loss family: cross-entropy with class-index targets, without a one-hot.

Same contract as the lecture :class:`convnp.ops.loss.IndexCrossEntropy` (class-index targets with
class weights, ignore_index and label smoothing, every reduction): the same inputs, loss and
gradient, the same ``ctx.config`` (:class:`convnp.arraymath.loss_config.CrossEntropyConfig`).
It never forms log p for every class: with z = x - max_c x and s = sum_c exp(z_c), -log p_y =
log s - z_y, and the backward reuses exp(z), overwritten in place of z.

Selection (``select``, ``cn.set_engine(loss=...)``): "reference" -> the lecture IndexCrossEntropy;
"indexed" or "auto" -> :class:`IndexedCrossEntropy` at every size. Measured against the lecture,
float32, the public cross_entropy forward + backward, one process (min of 15 interleaved samples):

    (1, 10) 43 vs 52 us;  (128, 10) 51 vs 91 us;  (128, 1000) 215 vs 498 us;
    (128, 1000) with label_smoothing=0.1: 367 vs 503 us

so there is no size threshold between the two.
"""

from __future__ import annotations

import numpy as np

from convnp.arraymath.loss_config import index_shape, reduce_rows, row_grad, rows, unrows
from convnp.arraymath.parallel import blas_threads
from convnp.autograd.function import Function
from convnp.kernels.engine import get_engine


def select(x: np.ndarray, config):
    """The kernel Function for cross-entropy of ``x`` with class indices, or None for the lecture's
    IndexCrossEntropy (``cn.get_engine("loss")``)."""
    if get_engine("loss") == "reference":
        return None
    return IndexedCrossEntropy  # "indexed" and "auto": every size (see above)


class IndexedCrossEntropy(Function):
    """Cross-entropy with class-index targets y (the usual case), without building a one-hot q.

    With z = x - max_c x (<= 0: no overflow), s = sum_c exp(z_c), log p_c = z_c - log s, eps the
    smoothing, w the class weights (1 without weights, W = sum_c w_c) and v = [y is not ignored]:

        l = v * ((1 - eps) w_y (log s - z_y) + (eps / C) (W log s - sum_c w_c z_c))
        dl/dx_c = v * (Q p_c - q_c),  p = exp(z) / s,  Q = (1 - eps) w_y + (eps / C) W,
                  q_c = (1 - eps) w_y [c = y] + (eps / C) w_c

    so the forward is four passes over the (M, C) logits (max, subtract, exp, and the sum as a
    matrix-vector product with ones) and the backward one (exp(z) times a per-row factor) plus
    one scattered entry per row. (Smoothing takes the general form, with a dense q.)
    """

    @staticmethod
    def forward(ctx, x, *, index, valid, weight, denominator, config):
        x2 = rows(x)  # (N, C, d1, ...) -> (M, C)
        M, C = x2.shape
        smoothing = config.smoothing
        z = x2 - x2.max(axis=1, keepdims=True)  # (M, C), <= 0
        zy = z[np.arange(M), index]  # (M,)
        smooth = None
        if smoothing:
            smooth = -(z.sum(axis=1) if weight is None else z @ weight)  # -sum_c w_c z_c, (M,)
        e = np.exp(z, out=z)  # z is not needed any more
        with blas_threads(1):  # a small product: no thread hand-offs
            s = e @ np.ones(C, e.dtype)  # sum_c exp(z_c), (M,)
        log_s = np.log(s)
        wy = None if weight is None else weight[index]
        loss = log_s - zy  # -log p_y
        if wy is not None:
            loss *= wy
        if smoothing:
            total_w = C if weight is None else weight.sum()
            loss = (1 - smoothing) * loss + (smoothing / C) * (total_w * log_s + smooth)
        if valid is not None:
            loss = np.where(valid, loss, 0).astype(x.dtype, copy=False)  # an ignored row is 0 (even NaN)
        ctx.config, ctx.denominator, ctx.shape, ctx.dtype, ctx.e, ctx.s = config, denominator, x.shape, x.dtype, e, s
        ctx.index, ctx.valid, ctx.weight, ctx.wy = index, valid, weight, wy
        return reduce_rows(loss, config.reduction, denominator, index_shape(x), x.dtype)

    @staticmethod
    def backward(ctx, grad):
        e, dtype, eps = ctx.e, ctx.dtype, ctx.config.smoothing
        M, C = e.shape
        g = row_grad(grad, ctx.config.reduction, ctx.denominator, M, dtype).reshape(M).astype(dtype, copy=False)
        if ctx.valid is not None:
            g = np.where(ctx.valid, g, 0).astype(dtype, copy=False)
        if not eps:  # dx = g w_y (p - onehot(y))
            gw = g if ctx.wy is None else g * ctx.wy
            dx = e * (gw / ctx.s)[:, None]  # (M, C)
            dx[np.arange(M), ctx.index] -= gw
        else:  # dx = g (Q p - q), q dense
            q = np.empty((M, C), dtype)
            q[...] = (eps / C) if ctx.weight is None else (eps / C) * ctx.weight
            q[np.arange(M), ctx.index] += (1 - eps) * (1 if ctx.wy is None else ctx.wy)
            if ctx.valid is not None:
                q *= ctx.valid[:, None]
            dx = g[:, None] * ((e / ctx.s[:, None]) * q.sum(axis=1, keepdims=True) - q)
        return unrows(dx.astype(dtype, copy=False), ctx.shape)
