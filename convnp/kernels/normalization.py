"""The kernels of the normalization family: batch norm in cache-sized blocks, on the worker threads.

Same contract as the lecture :class:`convnp.ops.normalization.BatchNorm`: the same inputs, output,
running-statistics update (in place, unbiased variance) and gradients (dx, dw, db), the same
``ctx.config`` (:class:`convnp.arraymath.norm_config.BatchNormConfig`); what it keeps for the
backward is smaller (no x_hat: the backward rebuilds x - m).

Selection (``select``, ``cn.set_engine(norm=...)``): "reference" -> the lecture BatchNorm;
"blocked" or "auto" -> :class:`BlockedBatchNorm` at every size. Measured against the lecture
BatchNorm, float32, one process on the shared 2-core machine (min of 15 interleaved samples):

    training, forward + backward   (8, 16, 32, 32) 317 vs 757 us; (64, 64, 32, 32) 15.2 vs 64.9 ms;
                                   (128, 16, 32, 32) 9.3 vs 22.7 ms
    eval, batch 1, no gradient     (1, 16, 32, 32), (1, 32, 16, 16), (1, 64, 8, 8): 20-60 us either
                                   way, the order changing from run to run (noise, no threshold)
"""

from __future__ import annotations

import numpy as np

from convnp.arraymath.parallel import batch_slices, blas_threads, parallel_map, workspace
from convnp.autograd.function import Function
from convnp.kernels.engine import get_engine

_PARALLEL_MIN = 1 << 20  # entries of x from which the passes run on the worker threads (a hand-off ~0.1 ms)
_BLOCK = 1 << 19  # entries per block (2 MB in float32; smaller blocks measured slower on 2 threads)
_SHIFT_SAMPLES = 8  # samples whose mean is the point the statistics are taken about
_ROWWISE_MAX_L = 2048  # rows of L shorter than this broadcast the constants as (C * L,) rows
# (twice as fast for 32x32 images and below: see _BatchLayout)


def select(x: np.ndarray, config):
    """The kernel Function for batch norm of ``x``, or None for the lecture BatchNorm (``cn.get_engine("norm")``)."""
    if get_engine("norm") == "reference":
        return None
    return BlockedBatchNorm  # "blocked" and "auto": every size (see above)


class BlockedBatchNorm(Function):
    """Batch normalization over every axis but the channel axis 1, as the lecture BatchNorm.

    Training: mu, sigma^2 are the batch mean and biased variance per channel (over N and space);
    running_mean / running_var are updated in place:
        running_mean <- (1 - momentum) * running_mean + momentum * mu
        running_var  <- (1 - momentum) * running_var  + momentum * sigma^2 * n / (n - 1)
    (n = N * prod(spatial): the running variance is unbiased, as PyTorch).
    Eval: mu, sigma^2 are the running statistics, constants, so dL/dx = dL/dy * w / sqrt(var + eps).

    Fast path (see _BatchLayout): x is viewed as (N, C, L), L = prod(spatial), and walked in
    cache-sized blocks of whole samples, on both cores for large inputs. Every per-channel sum is
    BLAS (a matrix-vector product with ones per row, np.vecdot for products), the per-row results
    added in float64. The statistics are taken about m, a per-channel mean estimate in x's dtype,
    from d = x - m (exact for x near m), written into the output buffer: with S1 = sum d and
    S2 = sum d^2 (the corrected two-pass algorithm; the sums are taken while the block is in
    cache),

        mu = m + S1 / n,   sigma^2 = S2 / n - (S1 / n)^2,

    so a mean far from 0 costs no accuracy; then in place y = d * a + (b - (mu - m) * a),
    a = w / sqrt(sigma^2 + eps). Eval is PyTorch's y = x * a + (b - mu * a). x_hat is never kept:
    the backward rebuilds d. Passes over (N, C, L): training forward one read of x, one write of
    d and two in-place passes (eval: one read, one write, one in-place pass); backward one read
    of g and x and a write of d, then four block passes that end in dx.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, running_mean, running_var, config):
        training, momentum, eps = config.training, config.momentum, config.eps
        lay = _BatchLayout(x)
        dtype = x.dtype
        out = np.empty(lay.shape3, dtype)
        if training:
            m = lay.mean_estimate()  # (C,) in x's dtype, near mu
            m_op = lay.channel_operand(m)

            def moments(b):  # out = d = x - m; [S1, S2] of the block, float64
                d = out[b]
                np.subtract(lay.view(lay.x3[b]), m_op, out=lay.view(d))
                return np.concatenate(
                    [_row_sums(d).sum(axis=0, dtype=np.float64), np.vecdot(d, d).sum(axis=0, dtype=np.float64)]
                )

            s12 = lay.block_sum(moments)
            shift = s12[: lay.C] / lay.n  # mu - m, float64
            var = np.maximum(s12[lay.C :] / lay.n - shift * shift, 0.0)  # biased variance
            mu = m + shift
            if running_mean is not None:
                running_mean[...] = (1 - momentum) * running_mean + momentum * mu
            if running_var is not None:
                running_var[...] = (1 - momentum) * running_var + momentum * var * (lay.n / (lay.n - 1))
        else:
            mu = running_mean.astype(np.float64)
            var = running_var.astype(np.float64)
            m = running_mean.astype(dtype)  # a copy: the buffer may change before backward
            shift = mu - m  # the rounding of the running mean to x's dtype
        inv_std = 1.0 / np.sqrt(var + eps)  # (C,) float64
        scale = inv_std if weight is None else inv_std * weight  # a = w / sqrt(var + eps)
        about = shift if training else mu  # y = (x - m) * a + ... or x * a + ...
        offset = -about * scale if bias is None else bias - about * scale
        a_op = lay.channel_operand(scale.astype(dtype))
        c_op = lay.channel_operand(offset.astype(dtype))

        def affine(b):
            y = lay.view(out[b])
            np.multiply(y if training else lay.view(lay.x3[b]), a_op, out=y)
            np.add(y, c_op, out=y)

        lay.each_block(affine)
        ctx.config, ctx.lay, ctx.m, ctx.shift, ctx.inv_std = config, lay, m, shift, inv_std
        ctx.w = None if weight is None else weight.astype(np.float64)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        """With S = (N, *spatial), n = |S|, sum_g = sum_S g and sum_gx = sum_S g * x_hat (= dL/db and dL/dw):

            dx = inv_std * w * (g - sum_g / n - x_hat * sum_gx / n)      (training)
            dx = inv_std * w * g                                         (eval)

        since mean_S(dx_hat) = w * sum_g / n and mean_S(dx_hat * x_hat) = w * sum_gx / n, the two
        sums the weight and bias gradients need anyway. With d = x - m (m the rounded mean, as in
        the forward), x_hat = (d - (mu - m)) * inv_std, so sum_gx = inv_std * (sum g d - (mu - m) sum_g)
        and dx = g * a + d * k + c per channel: one pass over g and x after the one for the sums.
        """
        lay, m, shift, inv_std = ctx.lay, ctx.m, ctx.shift, ctx.inv_std
        dtype = m.dtype
        g3 = np.ascontiguousarray(grad).reshape(lay.shape3)  # (N, C, *) -> (N, C, L)
        scale = inv_std if ctx.w is None else inv_std * ctx.w  # (C,) float64
        need_x, need_w, need_b = ctx.needs_input_grad
        need_gx = need_w or (need_x and ctx.config.training)
        m_op = lay.channel_operand(m)
        sum_g = sum_gx = dx = None

        if need_x:
            dx = np.empty(lay.shape3, dtype)

        def sums(b):  # [sum g, sum g * (x - m)] of the block, float64
            gb = g3[b]
            sg = _row_sums(gb).sum(axis=0, dtype=np.float64)
            if not need_gx:
                return sg
            d = dx[b] if need_x else lay.scratch(b)  # d = x - m, kept in dx for the next pass
            np.subtract(lay.view(lay.x3[b]), m_op, out=lay.view(d))
            return np.concatenate([sg, np.vecdot(gb, d).sum(axis=0, dtype=np.float64)])

        if need_gx or need_b:
            s = lay.block_sum(sums)
            sum_g = s[: lay.C]
            if need_gx:
                sum_gx = inv_std * (s[lay.C :] - shift * sum_g)  # sum g * x_hat
        if need_x:
            a_op = lay.channel_operand(scale.astype(dtype))
            if ctx.config.training:
                n = lay.n
                k = -scale * inv_std * sum_gx / n  # dx = g * a + (x - mu) * k - a * sum_g / n
                k_op = lay.channel_operand(k.astype(dtype))
                c_op = lay.channel_operand((-scale * sum_g / n - shift * k).astype(dtype))

                def input_grad(b):  # dx = d * k + g * a + c, d = x - m in dx
                    out, t = lay.view(dx[b]), lay.view(lay.scratch(b))
                    np.multiply(out, k_op, out=out)
                    np.multiply(lay.view(g3[b]), a_op, out=t)
                    np.add(out, t, out=out)
                    np.add(out, c_op, out=out)
            else:

                def input_grad(b):
                    np.multiply(lay.view(g3[b]), a_op, out=lay.view(dx[b]))

            lay.each_block(input_grad)
            dx = dx.reshape(grad.shape)
        dw = sum_gx.astype(dtype) if need_w else None
        db = sum_g.astype(dtype) if need_b else None
        return dx, dw, db


def _row_sums(a3: np.ndarray) -> np.ndarray:
    """(n, C, L) -> (n, C): the sum of each row of L, one matrix-vector product with ones (BLAS)."""
    n, C, L = a3.shape
    return (a3.reshape(n * C, L) @ np.ones(L, a3.dtype)).reshape(n, C)


class _BatchLayout:
    """x as (N, C, L) and how batch norm walks it: blocks of whole samples, about _BLOCK entries,
    so that a block's scratch (x - m) is made and consumed while it sits in the core's cache,
    and the blocks spread over the worker threads (one slice of the batch each) for inputs of
    _PARALLEL_MIN entries or more (handing work to a thread costs about 0.1 ms).

    Per-channel constants broadcast against a block in one of two ways: for short rows
    (L < _ROWWISE_MAX_L) the block is viewed as (n, C * L) and each constant repeated into a
    (C * L,) row, so that NumPy's inner loop runs over C * L contiguous entries instead of
    restarting for each of the n * C rows of L (twice as fast for 32x32 images and below); long
    rows keep (n, C, L) against a (C, 1) column.
    """

    def __init__(self, x: np.ndarray):
        N, C = x.shape[:2]
        self.x3 = np.ascontiguousarray(x.reshape(N, C, -1))  # (N, C, *) -> (N, C, L)
        self.shape3 = self.x3.shape
        self.N, self.C, self.L = self.shape3
        self.n = self.N * self.L  # entries per channel
        self.rowwise = self.L < _ROWWISE_MAX_L and self.N > 1  # one sample: rows are already long
        self.block = max(1, _BLOCK // max(self.C * self.L, 1))  # samples per block
        self.parts = batch_slices(self.x3, _PARALLEL_MIN)

    def view(self, a3: np.ndarray) -> np.ndarray:
        """A block (n, C, L) as the operand of the elementwise passes: (n, C * L) or itself."""
        return a3.reshape(a3.shape[0], -1) if self.rowwise else a3

    def channel_operand(self, v: np.ndarray) -> np.ndarray:
        """(C,) -> what broadcasts against view(block): a (C * L,) row or a (C, 1) column."""
        return np.repeat(v, self.L) if self.rowwise else v[:, None]

    def mean_estimate(self) -> np.ndarray:
        """The per-channel mean of at most _SHIFT_SAMPLES samples spread over the batch, x's dtype.

        The statistics are taken about it, so it only needs to be near mu: being the mean of
        N / k groups of samples, (estimate - mu)^2 <= (N / k) sigma^2 whatever the data, which
        bounds the cancellation in S2 / n - (S1 / n)^2 (relative error <= (1 + N / k) x that of
        the float sums; in practice the estimate is within a fraction of sigma).
        """
        step = max(1, self.N // _SHIFT_SAMPLES)
        some = self.x3[::step][:_SHIFT_SAMPLES]  # (k, C, L), a view
        with blas_threads(1):
            sums = (some @ np.ones(self.L, some.dtype)).sum(axis=0, dtype=np.float64)  # (C,)
        return (sums / (some.shape[0] * self.L)).astype(self.x3.dtype)

    def scratch(self, b: slice) -> np.ndarray:
        """This thread's block-sized scratch array, (n_b, C, L), contents undefined."""
        n = b.stop - b.start
        return workspace("batch_norm.block", (n * self.C * self.L,), self.x3.dtype).reshape(n, self.C, self.L)

    def _blocks(self, part: slice) -> list[slice]:
        start, stop, _ = part.indices(self.N)
        return [slice(i, min(i + self.block, stop)) for i in range(start, stop, self.block)]

    def each_block(self, fn) -> None:
        """fn(b) for every block slice b, the worker slices in parallel."""

        def run(part):
            with blas_threads(1):  # small BLAS calls: no thread hand-offs
                for b in self._blocks(part):
                    fn(b)

        if len(self.parts) == 1:
            run(self.parts[0])
        else:
            parallel_map(run, self.parts)

    def block_sum(self, fn) -> np.ndarray:
        """The sum over every block slice b of fn(b) (float64 arrays), the worker slices in parallel."""

        def run(part):
            total = 0.0
            with blas_threads(1):
                for b in self._blocks(part):
                    total = total + fn(b)
            return total

        if len(self.parts) == 1:
            return run(self.parts[0])
        return sum(parallel_map(run, self.parts))
