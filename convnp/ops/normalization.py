"""Normalization layers: batch, layer and group normalization, and AlexNet's local response norm.

The first three share one shape of computation. A set S of entries (all of a channel over the batch
and space for batch norm; all of a sample's trailing dims for layer norm; a group of channels of one
sample for group norm) is standardised and then scaled and shifted per channel / per feature:

    mu = mean_S(x),   sigma^2 = mean_S((x - mu)^2)        (biased variance)
    x_hat = (x - mu) / sqrt(sigma^2 + eps),   y = w * x_hat + b

and share one backward. With dx_hat = dL/dy * w and m = |S|, differentiating through mu and sigma
(both depend on every x of S) gives the compact form

    dL/dx = (1 / sqrt(sigma^2 + eps)) * (dx_hat - mean_S(dx_hat) - x_hat * mean_S(dx_hat * x_hat))
    dL/dw = sum over the non-feature axes of dL/dy * x_hat,      dL/db = sum of dL/dy.

Local response normalization (Krizhevsky et al. 2012, as PyTorch defines it) divides each
activation by a power of the energy of its neighbouring channels:

    b_c = a_c / (k + alpha / size * sum_{j = c - size//2}^{c + (size-1)//2} a_j^2) ^ beta

(channels outside [0, C) count as zero).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from convnp.arraymath.broadcast import is_float
from convnp.arraymath.parallel import batch_slices, blas_threads, parallel_map, workspace
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.ops.checks import checked_once, float_array


# ============================================================================================
# Helpers
# ============================================================================================

def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _check_param(op: str, name: str, value, shape: tuple[int, ...], what: str) -> None:
    """weight / bias / running stats: None, or an array of exactly ``shape``."""
    _check_param_type(op, name, value)
    if value is not None:
        _check_param_shape(op, name, _data(value).shape, shape, what)


def _check_param_type(op: str, name: str, value) -> None:
    if value is not None and not isinstance(value, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: expected {name} to be a convnp Tensor, a NumPy array or None. "
                        f"Received: {type(value).__name__}")


def _check_param_shape(op: str, name: str, got, shape: tuple[int, ...], what: str) -> None:
    if got != shape:
        raise ValueError(f"{op}: expected {name} of shape {shape} ({what}). Received: {name} of shape {got}")


def _check_eps(op: str, eps) -> None:
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or eps < 0:
        raise ValueError(f"{op}: expected eps to be a non-negative number. Received: {eps!r}")


def _standardize_backward(dxhat: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, axes) -> np.ndarray:
    """dL/dx of x_hat = (x - mean_S x) / sqrt(var_S x + eps), given dL/dx_hat; S = ``axes``.

    dx = inv_std * (dx_hat - mean_S(dx_hat) - x_hat * mean_S(dx_hat * x_hat)).
    """
    return inv_std * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                      - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))


# ============================================================================================
# Batch normalization
# ============================================================================================

class BatchNorm(Function):
    """Batch normalization over every axis but the channel axis 1.

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
    def forward(ctx, x, weight, bias, *, running_mean, running_var, training, momentum, eps):
        lay = _BatchLayout(x)
        dtype = x.dtype
        out = np.empty(lay.shape3, dtype)
        if training:
            m = lay.mean_estimate()                      # (C,) in x's dtype, near mu
            m_op = lay.channel_operand(m)

            def moments(b):                              # out = d = x - m; [S1, S2] of the block, float64
                d = out[b]
                np.subtract(lay.view(lay.x3[b]), m_op, out=lay.view(d))
                return np.concatenate([_row_sums(d).sum(axis=0, dtype=np.float64),
                                       np.vecdot(d, d).sum(axis=0, dtype=np.float64)])

            s12 = lay.block_sum(moments)
            shift = s12[:lay.C] / lay.n                  # mu - m, float64
            var = np.maximum(s12[lay.C:] / lay.n - shift * shift, 0.0)         # biased variance
            mu = m + shift
            if running_mean is not None:
                running_mean[...] = (1 - momentum) * running_mean + momentum * mu
            if running_var is not None:
                running_var[...] = (1 - momentum) * running_var + momentum * var * (lay.n / (lay.n - 1))
        else:
            mu = running_mean.astype(np.float64)
            var = running_var.astype(np.float64)
            m = running_mean.astype(dtype)               # a copy: the buffer may change before backward
            shift = mu - m                               # the rounding of the running mean to x's dtype
        inv_std = 1.0 / np.sqrt(var + eps)               # (C,) float64
        scale = inv_std if weight is None else inv_std * weight                # a = w / sqrt(var + eps)
        about = shift if training else mu                # y = (x - m) * a + ... or x * a + ...
        offset = -about * scale if bias is None else bias - about * scale
        a_op = lay.channel_operand(scale.astype(dtype))
        c_op = lay.channel_operand(offset.astype(dtype))

        def affine(b):
            y = lay.view(out[b])
            np.multiply(y if training else lay.view(lay.x3[b]), a_op, out=y)
            np.add(y, c_op, out=y)

        lay.each_block(affine)
        ctx.training, ctx.lay, ctx.m, ctx.shift, ctx.inv_std = training, lay, m, shift, inv_std
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
        g3 = np.ascontiguousarray(grad).reshape(lay.shape3)                 # (N, C, *) -> (N, C, L)
        scale = inv_std if ctx.w is None else inv_std * ctx.w               # (C,) float64
        need_x, need_w, need_b = ctx.needs_input_grad
        need_gx = need_w or (need_x and ctx.training)
        m_op = lay.channel_operand(m)
        sum_g = sum_gx = dx = None

        if need_x:
            dx = np.empty(lay.shape3, dtype)

        def sums(b):                                     # [sum g, sum g * (x - m)] of the block, float64
            gb = g3[b]
            sg = _row_sums(gb).sum(axis=0, dtype=np.float64)
            if not need_gx:
                return sg
            d = dx[b] if need_x else lay.scratch(b)      # d = x - m, kept in dx for the next pass
            np.subtract(lay.view(lay.x3[b]), m_op, out=lay.view(d))
            return np.concatenate([sg, np.vecdot(gb, d).sum(axis=0, dtype=np.float64)])

        if need_gx or need_b:
            s = lay.block_sum(sums)
            sum_g = s[:lay.C]
            if need_gx:
                sum_gx = inv_std * (s[lay.C:] - shift * sum_g)                # sum g * x_hat
        if need_x:
            a_op = lay.channel_operand(scale.astype(dtype))
            if ctx.training:
                n = lay.n
                k = -scale * inv_std * sum_gx / n        # dx = g * a + (x - mu) * k - a * sum_g / n
                k_op = lay.channel_operand(k.astype(dtype))
                c_op = lay.channel_operand((-scale * sum_g / n - shift * k).astype(dtype))

                def input_grad(b):                       # dx = d * k + g * a + c, d = x - m in dx
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
        self.x3 = np.ascontiguousarray(x.reshape(N, C, -1))                # (N, C, *) -> (N, C, L)
        self.shape3 = self.x3.shape
        self.N, self.C, self.L = self.shape3
        self.n = self.N * self.L                         # entries per channel
        self.rowwise = self.L < _ROWWISE_MAX_L and self.N > 1       # one sample: rows are already long
        self.block = max(1, _BLOCK // max(self.C * self.L, 1))              # samples per block
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
        some = self.x3[::step][:_SHIFT_SAMPLES]                             # (k, C, L), a view
        with blas_threads(1):
            sums = (some @ np.ones(self.L, some.dtype)).sum(axis=0, dtype=np.float64)   # (C,)
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
            with blas_threads(1):                        # small BLAS calls: no thread hand-offs
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


_PARALLEL_MIN = 1 << 20        # entries of x from which the passes run on the worker threads
_BLOCK = 1 << 19               # entries per block (2 MB in float32; smaller blocks measured slower on 2 threads)
_SHIFT_SAMPLES = 8             # samples whose mean is the point the statistics are taken about
_ROWWISE_MAX_L = 2048          # rows of L shorter than this broadcast the constants as (C * L,) rows


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-05):
    """Batch normalization (Ioffe & Szegedy 2015), per channel over the batch and spatial axes.

        y = w * (x - mu) / sqrt(sigma^2 + eps) + b

    Training uses the batch's mean and biased variance and updates ``running_mean`` and
    ``running_var`` in place (tensors or NumPy arrays, or None to skip), PyTorch's convention
    running <- (1 - momentum) * running + momentum * batch_stat, with the unbiased variance.
    Eval uses the running statistics.

    input (N, C), (N, C, L), (N, C, H, W) or (N, C, D, H, W); running stats, weight, bias (C,).

    >>> x = Tensor(np.random.randn(8, 3, 4, 4))
    >>> rm, rv = np.zeros(3), np.ones(3)
    >>> batch_norm(x, rm, rv, training=True).shape       # rm, rv updated in place
    (8, 3, 4, 4)
    """
    op = "batch_norm"
    x = float_array(op, input, 2, "(N, C, *)")
    params = (running_mean, running_var, weight, bias)
    for name, value in zip(_BATCH_NORM_PARAMS, params):
        _check_param_type(op, name, value)
    rm, rv, w, b = (None if v is None else _data(v) for v in params)
    training, momentum, eps = _batch_norm_args(
        x.shape, *(None if a is None else a.shape for a in (rm, rv, w, b)),
        None if rm is None else rm.dtype, None if rv is None else rv.dtype, training, momentum, eps)
    return BatchNorm.apply(input, weight, bias, running_mean=rm, running_var=rv, training=training,
                           momentum=momentum, eps=eps)


_BATCH_NORM_PARAMS = ("running_mean", "running_var", "weight", "bias")


@checked_once
def _batch_norm_args(x_shape, rm_shape, rv_shape, w_shape, b_shape, rm_dtype, rv_dtype, training, momentum, eps):
    """batch_norm's checks of everything but the types of its arrays; (training, momentum, eps)."""
    op = "batch_norm"
    C = x_shape[1]
    per = f"one per channel of input of shape {x_shape}"
    for name, got in zip(_BATCH_NORM_PARAMS, (rm_shape, rv_shape, w_shape, b_shape)):
        if got is not None:
            _check_param_shape(op, name, got, (C,), per)
    for name, dtype in (("running_mean", rm_dtype), ("running_var", rv_dtype)):
        if dtype is not None and not is_float(dtype):
            raise TypeError(f"{op}: expected {name} to be a floating-point array. Received: dtype {dtype}")
    _check_eps(op, eps)
    if training:
        if not isinstance(momentum, numbers.Real) or isinstance(momentum, bool):
            raise TypeError(f"{op}: expected momentum to be a number. Received: {momentum!r}")
        if math.prod(x_shape) // max(C, 1) <= 1:
            raise ValueError(f"{op}: Expected more than 1 value per channel when training (N * prod(spatial) "
                             f"must exceed 1). Received: input of shape {x_shape}")
    elif rm_shape is None or rv_shape is None:
        missing = "running_mean" if rm_shape is None else "running_var"
        raise ValueError(f"{op}: {missing} must be given in evaluation mode (training=False); "
                         f"expected an array of shape ({C},). Received: {missing}=None")
    return bool(training), float(momentum) if training else momentum, float(eps)


# ============================================================================================
# Layer normalization
# ============================================================================================

class LayerNorm(Function):
    """Standardise each sample over its last len(normalized_shape) axes; elementwise affine."""

    @staticmethod
    def forward(ctx, x, weight, bias, *, k, eps):
        axes = tuple(range(x.ndim - k, x.ndim))          # the normalised trailing axes
        mean = x.mean(axis=axes, keepdims=True)          # (*, D1, ..., Dk) -> (*, 1, ..., 1)
        centred = x - mean
        var = (centred * centred).mean(axis=axes, keepdims=True)
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = centred * inv_std
        ctx.axes, ctx.lead = axes, tuple(range(x.ndim - k))
        ctx.xhat, ctx.inv_std = xhat, inv_std
        ctx.w = None if weight is None else weight.astype(x.dtype, copy=False)
        out = xhat if ctx.w is None else xhat * ctx.w
        if bias is not None:
            out = out + bias.astype(x.dtype, copy=False)
        return out

    @staticmethod
    def backward(ctx, grad):
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dxhat = grad if ctx.w is None else grad * ctx.w
            dx = _standardize_backward(dxhat, ctx.xhat, ctx.inv_std, ctx.axes)
        if ctx.needs_input_grad[1]:
            dw = (grad * ctx.xhat).sum(axis=ctx.lead)    # (*, D1, ..., Dk) -> (D1, ..., Dk)
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=ctx.lead)
        return dx, dw, db


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    """Layer normalization (Ba et al. 2016) over the trailing ``normalized_shape`` axes.

        y = w * (x - mu) / sqrt(sigma^2 + eps) + b,   mu, sigma^2 over the last k axes of each sample

    input (*, D1, ..., Dk); normalized_shape (D1, ..., Dk) (an int means (D1,)); weight, bias of
    normalized_shape, applied elementwise.

    >>> layer_norm(Tensor(np.random.randn(2, 3, 4)), (3, 4)).shape
    (2, 3, 4)
    """
    op = "layer_norm"
    x = float_array(op, input, 1, "(*, normalized_shape)")
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        normalized_shape = (int(normalized_shape),)
    try:
        shape = tuple(int(d) for d in normalized_shape)
    except TypeError:
        raise TypeError(f"{op}: expected normalized_shape to be an int or a sequence of ints. "
                        f"Received: {normalized_shape!r}") from None
    k = len(shape)
    if k == 0 or k > x.ndim or x.shape[x.ndim - k:] != shape:
        raise ValueError(f"{op}: expected input with shape (*, {', '.join(map(str, shape))}) "
                         f"(normalized_shape={shape} must be the trailing dimensions, at least one). "
                         f"Received: input of shape {x.shape}")
    for name, value in (("weight", weight), ("bias", bias)):
        _check_param(op, name, value, shape, "normalized_shape")
    _check_eps(op, eps)
    return LayerNorm.apply(input, weight, bias, k=k, eps=float(eps))


# ============================================================================================
# Group normalization
# ============================================================================================

class GroupNorm(Function):
    """Standardise each (sample, group of C/G channels) over the group's channels and space."""

    @staticmethod
    def forward(ctx, x, weight, bias, *, groups, eps):
        N, C = x.shape[:2]
        bshape = (1, C) + (1,) * (x.ndim - 2)
        xg = x.reshape(N, groups, -1)                    # (N, C, *) -> (N, G, C/G * prod(*))
        mean = xg.mean(axis=2, keepdims=True)
        centred = xg - mean
        var = (centred * centred).mean(axis=2, keepdims=True)
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat_g = centred * inv_std
        xhat = xhat_g.reshape(x.shape)                   # (N, G, C/G * prod(*)) -> (N, C, *)
        ctx.shape, ctx.groups, ctx.axes = x.shape, groups, (0,) + tuple(range(2, x.ndim))
        ctx.xhat_g, ctx.xhat, ctx.inv_std = xhat_g, xhat, inv_std
        ctx.w = None if weight is None else weight.astype(x.dtype, copy=False).reshape(bshape)
        out = xhat if ctx.w is None else xhat * ctx.w
        if bias is not None:
            out = out + bias.astype(x.dtype, copy=False).reshape(bshape)
        return out

    @staticmethod
    def backward(ctx, grad):
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dxhat = grad if ctx.w is None else grad * ctx.w
            dxhat = dxhat.reshape(ctx.shape[0], ctx.groups, -1)     # (N, C, *) -> (N, G, C/G * prod(*))
            dx = _standardize_backward(dxhat, ctx.xhat_g, ctx.inv_std, 2).reshape(ctx.shape)
        if ctx.needs_input_grad[1]:
            dw = (grad * ctx.xhat).sum(axis=ctx.axes)    # (N, C, *) -> (C,)
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=ctx.axes)
        return dx, dw, db


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    """Group normalization (Wu & He 2018): channels split into ``num_groups`` groups of C/G.

        y = w_c * (x - mu_{n,g}) / sqrt(sigma^2_{n,g} + eps) + b_c,
        mu, sigma^2 over the C/G channels of group g and all spatial positions of sample n

    input (N, C, *) with C divisible by num_groups; weight, bias (C,).

    >>> group_norm(Tensor(np.random.randn(2, 6, 5, 5)), 3).shape
    (2, 6, 5, 5)
    """
    op = "group_norm"
    x = float_array(op, input, 2, "(N, C, *)")
    if not isinstance(num_groups, numbers.Integral) or isinstance(num_groups, bool) or num_groups < 1:
        raise ValueError(f"{op}: expected num_groups to be a positive integer. Received: {num_groups!r}")
    C = x.shape[1]
    if C % num_groups:
        raise ValueError(f"{op}: expected the number of channels to be divisible by num_groups "
                         f"({C} channels, num_groups={num_groups}). Received: input of shape {x.shape} "
                         f"and num_groups={num_groups}")
    for name, value in (("weight", weight), ("bias", bias)):
        _check_param(op, name, value, (C,), f"one per channel of input of shape {x.shape}")
    _check_eps(op, eps)
    return GroupNorm.apply(input, weight, bias, groups=int(num_groups), eps=float(eps))


# ============================================================================================
# Local response normalization
# ============================================================================================

def _channel_window_sum(a: np.ndarray, before: int, after: int, size: int) -> np.ndarray:
    """out[:, c] = sum_{o < size} a_padded[:, c + o], a zero-padded by (before, after) on axis 1."""
    C = a.shape[1]
    pads = [(0, 0)] * a.ndim
    pads[1] = (before, after)
    padded = np.pad(a, pads)                             # (N, C, *) -> (N, C + size - 1, *)
    out = padded[:, 0:C].copy()
    for o in range(1, size):                             # a loop over window offsets only
        out += padded[:, o:o + C]
    return out


class LocalResponseNorm(Function):
    """b = a * s^-beta with s_c = k + alpha/size * sum_{j in win(c)} a_j^2, win(c) = [c - size//2, c + (size-1)//2].

    Backward: channel i appears in the windows of c in [i - (size-1)//2, i + size//2], so
        dL/da_i = g_i s_i^-beta - (2 alpha beta / size) a_i * sum_{c: i in win(c)} g_c a_c s_c^(-beta-1).
    """

    @staticmethod
    def forward(ctx, x, *, size, alpha, beta, k):
        energy = _channel_window_sum(x * x, size // 2, (size - 1) // 2, size)   # (N, C, *)
        s = (k + (alpha / size) * energy).astype(x.dtype, copy=False)
        scale = np.power(s, -beta).astype(x.dtype, copy=False)
        ctx.x, ctx.s, ctx.scale = x, s, scale
        ctx.size, ctx.alpha, ctx.beta = size, alpha, beta
        return x * scale

    @staticmethod
    def backward(ctx, grad):
        size = ctx.size
        t = grad * ctx.x * ctx.scale / ctx.s             # g_c a_c s_c^(-beta-1)
        back = _channel_window_sum(t, (size - 1) // 2, size // 2, size)
        return grad * ctx.scale - (2 * ctx.alpha * ctx.beta / size) * ctx.x * back


def local_response_norm(input, size, alpha=0.0001, beta=0.75, k=1.0):
    """Local response normalization across channels (AlexNet), PyTorch's definition.

        b_c = a_c / (k + alpha / size * sum_{j = c - size//2}^{c + (size-1)//2} a_j^2) ^ beta

    with zero channels outside [0, C). input (N, C, *) with at least 3 dimensions.

    >>> local_response_norm(Tensor(np.random.randn(2, 8, 5, 5)), size=5).shape
    (2, 8, 5, 5)
    """
    op = "local_response_norm"
    float_array(op, input, 3, "(N, C, *)")
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
        raise ValueError(f"{op}: expected size to be a positive integer. Received: {size!r}")
    for name, value in (("alpha", alpha), ("beta", beta), ("k", k)):
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"{op}: expected {name} to be a number. Received: {value!r}")
    return LocalResponseNorm.apply(input, size=int(size), alpha=float(alpha), beta=float(beta), k=float(k))
