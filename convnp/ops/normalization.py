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

batch_norm runs the lecture BatchNorm below under ``cn.set_engine("reference")``; otherwise its
kernel (cache-sized blocks, BLAS sums, the worker threads): convnp/kernels/normalization.py.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from convnp.arraymath.broadcast import is_float
from convnp.arraymath.norm_config import BatchNormConfig
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.kernels import normalization as _kernels
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
        raise TypeError(
            f"{op}: expected {name} to be a convnp Tensor, a NumPy array or None. Received: {type(value).__name__}"
        )


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
    return inv_std * (
        dxhat - dxhat.mean(axis=axes, keepdims=True) - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)
    )


# ============================================================================================
# Batch normalization
# ============================================================================================


class BatchNorm(Function):
    """Batch normalization over every axis but the channel axis 1: S = (N, *spatial), n = |S|.

    Training: mu, sigma^2 = the mean and biased variance of each channel over S, and in place
        running_mean <- (1 - momentum) * running_mean + momentum * mu
        running_var  <- (1 - momentum) * running_var  + momentum * sigma^2 * n / (n - 1)   (unbiased)
    Eval: mu, sigma^2 = running_mean, running_var (constants). Then
        x_hat = (x - mu) / sqrt(sigma^2 + eps),   y = w * x_hat + b.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, running_mean, running_var, config):
        axes = (0,) + tuple(range(2, x.ndim))  # S: every axis but the channels
        col = (1, x.shape[1]) + (1,) * (x.ndim - 2)  # (C,) -> (1, C, 1, ...), broadcasts against x
        n = x.size // x.shape[1]
        if config.training:  # statistics in float64: n may be 10^5 entries
            mu = x.mean(axis=axes, dtype=np.float64)  # (N, C, *) -> (C,)
            var = ((x - mu.reshape(col)) ** 2).mean(axis=axes)
            m = config.momentum
            if running_mean is not None:
                running_mean[...] = (1 - m) * running_mean + m * mu
            if running_var is not None:
                running_var[...] = (1 - m) * running_var + m * var * (n / (n - 1))
        else:
            mu, var = running_mean, running_var
        inv_std = 1 / np.sqrt(var + config.eps)  # (C,)
        xhat = ((x - mu.reshape(col)) * inv_std.reshape(col)).astype(x.dtype)
        w = None if weight is None else weight.astype(x.dtype).reshape(col)
        y = xhat if w is None else xhat * w
        if bias is not None:
            y = y + bias.astype(x.dtype).reshape(col)
        ctx.config, ctx.xhat, ctx.inv_std, ctx.w = config, xhat, inv_std.astype(x.dtype).reshape(col), w
        return y

    @staticmethod
    def backward(ctx, grad):
        """With dx_hat = g * w and the sums over S:

        dx = (1/n) inv_std (n dx_hat - sum dx_hat - x_hat sum(dx_hat x_hat))     (training)
        dx = inv_std dx_hat                                                     (eval)
        dw = sum g x_hat,   db = sum g
        """
        xhat, inv_std = ctx.xhat, ctx.inv_std
        axes = (0,) + tuple(range(2, grad.ndim))
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dxhat = grad if ctx.w is None else grad * ctx.w
            if ctx.config.training:
                n = grad.size // grad.shape[1]
                dx = (inv_std / n) * (
                    n * dxhat
                    - dxhat.sum(axis=axes, keepdims=True)
                    - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True)
                )
            else:
                dx = dxhat * inv_std
        if ctx.needs_input_grad[1]:
            dw = (grad * xhat).sum(axis=axes)  # (N, C, *) -> (C,)
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=axes)
        return dx, dw, db


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05):
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
    config = _batch_norm_args(
        x.shape,
        *(None if a is None else a.shape for a in (rm, rv, w, b)),
        None if rm is None else rm.dtype,
        None if rv is None else rv.dtype,
        training,
        momentum,
        eps,
    )
    return (_kernels.select(x, config) or BatchNorm).apply(
        input, weight, bias, running_mean=rm, running_var=rv, config=config
    )


_BATCH_NORM_PARAMS = ("running_mean", "running_var", "weight", "bias")


@checked_once
def _batch_norm_args(x_shape, rm_shape, rv_shape, w_shape, b_shape, rm_dtype, rv_dtype, training, momentum, eps):
    """batch_norm's checks of everything but the types of its arrays; its BatchNormConfig (made once per
    combination of arguments: checked_once remembers it)."""
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
            raise ValueError(
                f"{op}: Expected more than 1 value per channel when training (N * prod(spatial) "
                f"must exceed 1). Received: input of shape {x_shape}"
            )
    elif rm_shape is None or rv_shape is None:
        missing = "running_mean" if rm_shape is None else "running_var"
        raise ValueError(
            f"{op}: {missing} must be given in evaluation mode (training=False); "
            f"expected an array of shape ({C},). Received: {missing}=None"
        )
    return BatchNormConfig(bool(training), float(momentum) if training else momentum, float(eps))


# ============================================================================================
# Layer normalization
# ============================================================================================


class LayerNorm(Function):
    """Standardise each sample over its last len(normalized_shape) axes; elementwise affine."""

    @staticmethod
    def forward(ctx, x, weight, bias, *, k, eps):
        axes = tuple(range(x.ndim - k, x.ndim))  # the normalised trailing axes
        mean = x.mean(axis=axes, keepdims=True)  # (*, D1, ..., Dk) -> (*, 1, ..., 1)
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
            dw = (grad * ctx.xhat).sum(axis=ctx.lead)  # (*, D1, ..., Dk) -> (D1, ..., Dk)
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
        raise TypeError(
            f"{op}: expected normalized_shape to be an int or a sequence of ints. Received: {normalized_shape!r}"
        ) from None
    k = len(shape)
    if k == 0 or k > x.ndim or x.shape[x.ndim - k :] != shape:
        raise ValueError(
            f"{op}: expected input with shape (*, {', '.join(map(str, shape))}) "
            f"(normalized_shape={shape} must be the trailing dimensions, at least one). "
            f"Received: input of shape {x.shape}"
        )
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
        xg = x.reshape(N, groups, -1)  # (N, C, *) -> (N, G, C/G * prod(*))
        mean = xg.mean(axis=2, keepdims=True)
        centred = xg - mean
        var = (centred * centred).mean(axis=2, keepdims=True)
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat_g = centred * inv_std
        xhat = xhat_g.reshape(x.shape)  # (N, G, C/G * prod(*)) -> (N, C, *)
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
            dxhat = dxhat.reshape(ctx.shape[0], ctx.groups, -1)  # (N, C, *) -> (N, G, C/G * prod(*))
            dx = _standardize_backward(dxhat, ctx.xhat_g, ctx.inv_std, 2).reshape(ctx.shape)
        if ctx.needs_input_grad[1]:
            dw = (grad * ctx.xhat).sum(axis=ctx.axes)  # (N, C, *) -> (C,)
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
        raise ValueError(
            f"{op}: expected the number of channels to be divisible by num_groups "
            f"({C} channels, num_groups={num_groups}). Received: input of shape {x.shape} "
            f"and num_groups={num_groups}"
        )
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
    padded = np.pad(a, pads)  # (N, C, *) -> (N, C + size - 1, *)
    out = padded[:, 0:C].copy()
    for o in range(1, size):  # a loop over window offsets only
        out += padded[:, o : o + C]
    return out


class LocalResponseNorm(Function):
    """b = a * s^-beta with s_c = k + alpha/size * sum_{j in win(c)} a_j^2, win(c) = [c - size//2, c + (size-1)//2].

    Backward: channel i appears in the windows of c in [i - (size-1)//2, i + size//2], so
        dL/da_i = g_i s_i^-beta - (2 alpha beta / size) a_i * sum_{c: i in win(c)} g_c a_c s_c^(-beta-1).
    """

    @staticmethod
    def forward(ctx, x, *, size, alpha, beta, k):
        energy = _channel_window_sum(x * x, size // 2, (size - 1) // 2, size)  # (N, C, *)
        s = (k + (alpha / size) * energy).astype(x.dtype, copy=False)
        scale = np.power(s, -beta).astype(x.dtype, copy=False)
        ctx.x, ctx.s, ctx.scale = x, s, scale
        ctx.size, ctx.alpha, ctx.beta = size, alpha, beta
        return x * scale

    @staticmethod
    def backward(ctx, grad):
        size = ctx.size
        t = grad * ctx.x * ctx.scale / ctx.s  # g_c a_c s_c^(-beta-1)
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


# ============================================================================================
# Instance normalization
# ============================================================================================


class InstanceNorm(Function):
    """Standardise each (sample, channel) over its spatial axes, S = (*spatial); per-channel affine.

    use_input_stats: mu, sigma^2 of each x[n, c] over S, and (when given) in place
        running_mean <- (1 - momentum) * running_mean + momentum * mean_n(mu[n, :])
        running_var  <- (1 - momentum) * running_var  + momentum * mean_n(sigma^2[n, :]) * m / (m - 1)
    otherwise mu, sigma^2 = running_mean, running_var (constants). x_hat = (x - mu) / sqrt(sigma^2 + eps).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, running_mean, running_var, use_input_stats, momentum, eps):
        axes = tuple(range(2, x.ndim))  # S: the spatial axes of each (n, c)
        col = (1, x.shape[1]) + (1,) * (x.ndim - 2)  # (C,) -> (1, C, 1, ...)
        if use_input_stats:
            mu = x.mean(axis=axes, keepdims=True)  # (N, C, *) -> (N, C, 1, ...)
            var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
            m = x.size // (x.shape[0] * x.shape[1])
            if running_mean is not None:
                running_mean[...] = (1 - momentum) * running_mean + momentum * mu.reshape(x.shape[:2]).mean(axis=0)
            if running_var is not None:
                running_var[...] = (1 - momentum) * running_var + momentum * var.reshape(x.shape[:2]).mean(axis=0) * (
                    m / (m - 1)
                )
        else:
            mu, var = running_mean.reshape(col), running_var.reshape(col)
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        xhat = ((x - mu) * inv_std).astype(x.dtype)
        ctx.axes, ctx.use_input_stats, ctx.xhat, ctx.inv_std = axes, use_input_stats, xhat, inv_std
        ctx.w = None if weight is None else weight.astype(x.dtype).reshape(col)
        y = xhat if ctx.w is None else xhat * ctx.w
        return y if bias is None else y + bias.astype(x.dtype).reshape(col)

    @staticmethod
    def backward(ctx, grad):
        """dx = the standardisation's backward over S (input statistics) or inv_std * dx_hat (running ones);
        dw = sum over N and S of g x_hat, db = sum of g."""
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dxhat = grad if ctx.w is None else grad * ctx.w
            if ctx.use_input_stats:
                dx = _standardize_backward(dxhat, ctx.xhat, ctx.inv_std, ctx.axes)
            else:
                dx = dxhat * ctx.inv_std
        if ctx.needs_input_grad[1]:
            dw = (grad * ctx.xhat).sum(axis=(0,) + ctx.axes)  # (N, C, *) -> (C,)
        if ctx.needs_input_grad[2]:
            db = grad.sum(axis=(0,) + ctx.axes)
        return dx, dw, db


def instance_norm(
    input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True, momentum=0.1, eps=1e-05
):
    """Instance normalization (Ulyanov et al. 2016): each channel of each sample standardised over space.

        y[n, c] = w_c * (x[n, c] - mu_{n,c}) / sqrt(sigma^2_{n,c} + eps) + b_c

    ``use_input_stats=True`` uses each instance's statistics and updates ``running_mean`` / ``running_var``
    (if given) in place with their batch averages, PyTorch's way (unbiased variance); ``False`` uses the
    running statistics. input (N, C, L), (N, C, H, W) or (N, C, D, H, W); running stats, weight, bias (C,).

    >>> instance_norm(Tensor(np.random.randn(2, 3, 4, 4))).shape
    (2, 3, 4, 4)
    """
    op = "instance_norm"
    x = float_array(op, input, 3, "(N, C, *spatial)")
    C = x.shape[1]
    per = f"one per channel of input of shape {x.shape}"
    for name, value in zip(_BATCH_NORM_PARAMS, (running_mean, running_var, weight, bias)):
        _check_param(op, name, value, (C,), per)
    _check_eps(op, eps)
    if not isinstance(use_input_stats, (bool, np.bool_)):
        raise TypeError(f"{op}: expected use_input_stats to be a bool. Received: {use_input_stats!r}")
    if use_input_stats:
        if not isinstance(momentum, numbers.Real) or isinstance(momentum, bool):
            raise TypeError(f"{op}: expected momentum to be a number. Received: {momentum!r}")
        if x.size // max(x.shape[0] * C, 1) <= 1:
            raise ValueError(
                f"{op}: Expected more than 1 spatial element when using the input's statistics. "
                f"Received: input of shape {x.shape}"
            )
    elif running_mean is None or running_var is None:
        raise ValueError(
            f"{op}: running_mean and running_var must be given when use_input_stats=False. "
            f"Received: running_mean={type(running_mean).__name__}, "
            f"running_var={type(running_var).__name__}"
        )
    rm, rv = (None if v is None else _data(v) for v in (running_mean, running_var))
    return InstanceNorm.apply(
        input,
        weight,
        bias,
        running_mean=rm,
        running_var=rv,
        use_input_stats=bool(use_input_stats),
        momentum=float(momentum),
        eps=float(eps),
    )
