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

import numbers

import numpy as np

from convnp.arraymath.broadcast import is_float
from convnp.arraymath.parallel import batch_slices, parallel_map, workspace
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.ops.checks import float_array


# ============================================================================================
# Helpers
# ============================================================================================

def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _check_param(op: str, name: str, value, shape: tuple[int, ...], what: str) -> None:
    """weight / bias / running stats: None, or an array of exactly ``shape``."""
    if value is None:
        return
    if not isinstance(value, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: expected {name} to be a convnp Tensor, a NumPy array or None. "
                        f"Received: {type(value).__name__}")
    got = _data(value).shape
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

    Fast path (same numbers, fewer passes over memory, both cores): x is viewed as (N, C, L),
    L = prod(spatial), so every per-channel statistic is a reduction over the contiguous last axis
    followed by a small sum over N (np.mean over the axes (0, 2, 3) walks memory with strides and
    is slower); the sum of squares is a dot product per row (np.vecdot, no squared temporary);
    x - mu and x_hat live in a reused scratch buffer (a fresh array costs a page fault per 4 KiB),
    x_hat is recomputed in the backward from x instead of being kept (one activation-sized array
    less per layer); and each pass runs on slices of the batch in parallel threads (NumPy
    releases the GIL), as the convolution engines do.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, running_mean, running_var, training, momentum, eps):
        N, C = x.shape[:2]
        x3 = x.reshape(N, C, -1)                         # (N, C, *) -> (N, C, L), a view when contiguous
        n = x3.shape[0] * x3.shape[2]                    # entries per channel
        parts = batch_slices(x3)
        centred = workspace("batch_norm.centred", x3.shape, x3.dtype)     # (N, C, L) scratch: x - mu
        if training:
            mean = sum(parallel_map(lambda b: x3[b].sum(axis=2).sum(axis=0), parts)) / n   # (C,)

            def centre(b):                               # writes x - mu, returns the sum of its squares
                np.subtract(x3[b], mean[:, None], out=centred[b])
                return np.vecdot(centred[b], centred[b]).sum(axis=0)      # (n_b, C, L) -> (C,)

            var = sum(parallel_map(centre, parts)) / n   # biased variance, (C,)
            if running_mean is not None:
                running_mean[...] = (1 - momentum) * running_mean + momentum * mean
            if running_var is not None:
                running_var[...] = (1 - momentum) * running_var + momentum * var * (n / (n - 1))
        else:
            mean = running_mean.astype(x.dtype, copy=False)
            var = running_var.astype(x.dtype, copy=False)
            parallel_map(lambda b: np.subtract(x3[b], mean[:, None], out=centred[b]), parts)
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)    # (C,)
        w = None if weight is None else weight.astype(x.dtype, copy=False)
        b_ = None if bias is None else bias.astype(x.dtype, copy=False)
        scale = inv_std if w is None else inv_std * w    # y = (x - mu) * (inv_std * w) + b
        out = np.empty_like(x3)

        def affine(b):
            np.multiply(centred[b], scale[:, None], out=out[b])
            if b_ is not None:
                out[b] += b_[:, None]

        parallel_map(affine, parts)
        ctx.training = training
        ctx.x3, ctx.mean, ctx.inv_std, ctx.w = x3, mean, inv_std, w
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        """With S = (N, *spatial), m = |S|, sum_g = sum_S g and sum_gx = sum_S g * x_hat (= dL/db and dL/dw):

            dx = inv_std * w * (g - sum_g / m - x_hat * sum_gx / m)      (training)
            dx = inv_std * w * g                                         (eval)

        since mean_S(dx_hat) = w * sum_g / m and mean_S(dx_hat * x_hat) = w * sum_gx / m, the two
        sums the weight and bias gradients need anyway: two reductions and four in-place passes.
        """
        x3, mean, inv_std = ctx.x3, ctx.mean, ctx.inv_std                  # (N, C, L), (C,), (C,)
        g = grad.reshape(x3.shape)                       # (N, C, *) -> (N, C, L)
        parts = batch_slices(x3)
        scale = inv_std if ctx.w is None else inv_std * ctx.w             # (C,)
        need_x, need_w, need_b = ctx.needs_input_grad
        sum_gx = sum_g = dx = None
        need_xhat = need_w or (need_x and ctx.training)
        xhat = workspace("batch_norm.xhat", x3.shape, x3.dtype) if need_xhat else None

        def sums(b):                                     # x_hat recomputed into the scratch buffer
            gx = None
            if need_xhat:
                np.subtract(x3[b], mean[:, None], out=xhat[b])
                xhat[b] *= inv_std[:, None]
                gx = np.vecdot(g[b], xhat[b]).sum(axis=0)                 # (n_b, C, L) -> (C,)
            return gx, g[b].sum(axis=2).sum(axis=0)

        if need_xhat or need_b:
            parts_sums = parallel_map(sums, parts)
            sum_gx = sum(s[0] for s in parts_sums) if need_xhat else None
            sum_g = sum(s[1] for s in parts_sums)
        if need_x:
            m = x3.shape[0] * x3.shape[2]
            dx = np.empty_like(x3)

            def input_grad(b):
                if ctx.training:
                    np.multiply(xhat[b], (sum_gx / m)[:, None], out=dx[b])   # x_hat * sum_gx / m
                    np.subtract(g[b], dx[b], out=dx[b])                      # g - x_hat * sum_gx / m
                    dx[b] -= (sum_g / m)[:, None]                            # ... - sum_g / m
                    dx[b] *= scale[:, None]                                  # ... times inv_std * w
                else:
                    np.multiply(g[b], scale[:, None], out=dx[b])

            parallel_map(input_grad, parts)
            dx = dx.reshape(grad.shape)
        return dx, (sum_gx if need_w else None), (sum_g if need_b else None)


def _running_buffer(op: str, name: str, value):
    """The array to read and update in place: a tensor's .data, the array itself, or None."""
    if value is None:
        return None
    arr = _data(value)
    if not is_float(arr.dtype):
        raise TypeError(f"{op}: expected {name} to be a floating-point array. Received: dtype {arr.dtype}")
    return arr


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
    C = x.shape[1]
    per = f"one per channel of input of shape {x.shape}"
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        _check_param(op, name, value, (C,), per)
    rm = _running_buffer(op, "running_mean", running_mean)
    rv = _running_buffer(op, "running_var", running_var)
    _check_eps(op, eps)
    if training:
        if not isinstance(momentum, numbers.Real) or isinstance(momentum, bool):
            raise TypeError(f"{op}: expected momentum to be a number. Received: {momentum!r}")
        if x.size // max(C, 1) <= 1:
            raise ValueError(f"{op}: Expected more than 1 value per channel when training (N * prod(spatial) "
                             f"must exceed 1). Received: input of shape {x.shape}")
    elif rm is None or rv is None:
        missing = "running_mean" if rm is None else "running_var"
        raise ValueError(f"{op}: {missing} must be given in evaluation mode (training=False); "
                         f"expected an array of shape ({C},). Received: {missing}=None")
    return BatchNorm.apply(input, weight, bias, running_mean=rm, running_var=rv, training=bool(training),
                           momentum=float(momentum) if training else momentum, eps=float(eps))


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
