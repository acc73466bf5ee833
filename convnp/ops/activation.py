"""Activation functions, each forward beside its hand-written backward.

Families, one banner each: rectifiers (relu, leaky_relu, prelu, elu), GELU, squashing functions
(sigmoid, tanh, silu), hard activations (relu6, hardsigmoid, hardswish), softmax (softmax, log_softmax).

Elementwise activations keep the input's shape and dtype: (N, C, H, W) -> (N, C, H, W).
Derivatives at the kinks follow PyTorch, so gradients agree everywhere:

    relu'(0) = 0            (the gradient passes only where the output is > 0)
    leaky_relu'(0) = slope  (x > 0 selects 1, everything else the slope)
    prelu'(0) = a           (same rule; dL/da collects x * g where x <= 0, which is 0 at 0)
    elu'(0) = alpha         (x <= 0 selects alpha * exp(x))

``inplace=True`` is accepted for PyTorch compatibility but the result is always computed out of
place: the input's array is never modified (NumPy arrays captured by a backward must stay valid).

relu runs the lecture Relu below under ``cn.set_engine("reference")``; otherwise its kernel (a
one-byte mask, the worker threads): convnp/kernels/activation.py.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from convnp.arraymath.special import erfc
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.kernels import activation as _kernels
from convnp.ops.checks import float_tensor as _float_tensor


def _real(name: str, value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {what} must be a real number. Received: {what}={value!r}")
    return float(value)


# ============================================================================================
# Rectifiers: relu, leaky_relu, prelu, elu
# ============================================================================================


class Relu(Function):
    """y = max(0, x);  dL/dx = g where y > 0, else 0 (so relu'(0) = 0).

    PyTorch's rules, bit for bit: max(0, x) with the zero first keeps relu(-0.0) = -0.0 and
    relu(NaN) = NaN, and the backward is threshold_backward(g, y, 0) = (y <= 0 ? 0 : g): the mask
    is "not y <= 0", so a NaN output passes its gradient, and a blocked entry is 0 chosen by
    np.where, never g * 0 (which is NaN where g is inf or NaN).
    """

    @staticmethod
    def forward(ctx, x):
        y = np.maximum(0, x)
        ctx.mask = ~(y <= 0)  # where the gradient passes
        return y

    @staticmethod
    def backward(ctx, grad):
        return np.where(ctx.mask, grad, 0)

    @staticmethod
    def pass_mask(ctx) -> np.ndarray:
        """Where the gradient passes, as bools (convnp.inspect's guided backprop reads it)."""
        return ctx.mask


def relu(input, inplace: bool = False) -> Tensor:
    """Rectified linear unit, elementwise: relu(x) = max(0, x).

    Gradient 1 for x > 0 and 0 otherwise (0 at x = 0, as PyTorch). ``inplace`` is accepted and
    ignored: the result is a new tensor.

    >>> from convnp import tensor
    >>> relu(tensor([-1.0, 0.0, 2.0]))      # (3,) -> (3,)
    tensor([0., 0., 2.])
    """
    x = _float_tensor("relu", input)
    return (_kernels.select(x.data) or Relu).apply(x)


class LeakyRelu(Function):
    """y = x if x > 0 else slope * x;  dy/dx = 1 if x > 0 else slope (slope at 0)."""

    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.positive, ctx.slope = x > 0, negative_slope
        return np.where(ctx.positive, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        return np.where(ctx.positive, grad, grad * ctx.slope), None


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """Leaky ReLU, elementwise: x for x > 0, negative_slope * x otherwise.

    The gradient at x = 0 is negative_slope (PyTorch's rule: only x > 0 counts as positive).
    ``inplace`` is accepted and ignored (computed out of place). Shape: (N, C, H, W) -> same.
    """
    x = _float_tensor("leaky_relu", input)
    slope = _real("leaky_relu", negative_slope, "negative_slope")
    return LeakyRelu.apply(x, slope)


class Prelu(Function):
    """y = x if x > 0 else a_c * x, with one learned slope a (or one per channel c = axis 1).

    dL/dx = g if x > 0 else a_c * g;  dL/da_c = sum over every axis but the channel of x * g [x <= 0].
    """

    @staticmethod
    def forward(ctx, x, weight):
        per_channel = weight.size > 1
        if per_channel:
            a = weight.reshape((1, weight.size) + (1,) * (x.ndim - 2))  # (C,) -> (1, C, 1, ...)
        else:
            a = weight.reshape(())  # (1,) or () -> ()
        ctx.x, ctx.a, ctx.per_channel, ctx.w_shape = x, a, per_channel, weight.shape
        ctx.positive = x > 0
        return np.where(ctx.positive, x, a * x)

    @staticmethod
    def backward(ctx, grad):
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = np.where(ctx.positive, grad, grad * ctx.a)
        if ctx.needs_input_grad[1]:
            contrib = np.where(ctx.positive, 0, ctx.x * grad)  # (N, C, *)
            if ctx.per_channel:
                axes = (0,) + tuple(range(2, grad.ndim))
                gw = contrib.sum(axis=axes)  # (N, C, *) -> (C,)
            else:
                gw = contrib.sum()
            gw = np.asarray(gw, dtype=grad.dtype).reshape(ctx.w_shape)
        return gx, gw


def prelu(input, weight) -> Tensor:
    """Parametric ReLU (He et al. 2015): prelu(x) = max(0, x) + a * min(0, x), a learned.

    ``weight`` is a scalar or 1-D tensor with either 1 element (one slope shared by everything) or
    C = input.shape[1] elements (one slope per channel, broadcast over axis 1). Inputs with fewer
    than 2 dimensions have one channel. Gradients flow to both input and weight.

    Shape: input (N, C, H, W), weight (C,) or (1,) -> (N, C, H, W).
    """
    x = _float_tensor("prelu", input)
    w = _float_tensor("prelu", weight, "weight")
    if w.ndim > 1:
        raise ValueError(f"prelu: expected weight to be a scalar or a 1-D tensor. Received: weight of shape {w.shape}")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if w.numel() not in (1, channels):
        raise ValueError(
            f"prelu: expected weight with 1 element or C = input.shape[1] = {channels} elements "
            f"(inputs with fewer than 2 dimensions have C = 1). "
            f"Received: weight with {w.numel()} elements for input of shape {x.shape}"
        )
    if w.dtype != x.dtype:
        raise TypeError(
            f"prelu: expected weight to have the input's dtype {x.dtype}. Received: weight of dtype {w.dtype}"
        )
    return Prelu.apply(x, w)


class Elu(Function):
    """y = x if x > 0 else alpha * (exp(x) - 1);  dy/dx = 1 if x > 0 else alpha * exp(x)."""

    @staticmethod
    def forward(ctx, x, alpha):
        negative = x <= 0
        expm1 = np.expm1(np.minimum(x, 0))  # never exp of a large positive x: no overflow
        ctx.negative, ctx.alpha, ctx.expm1 = negative, alpha, expm1
        return np.where(negative, alpha * expm1, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        # alpha * exp(x) = alpha * (expm1(x) + 1)
        return np.where(ctx.negative, grad * (ctx.alpha * (ctx.expm1 + 1)), grad), None


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Exponential linear unit (Clevert et al. 2015), elementwise: x for x > 0, alpha * (e^x - 1) else.

    The gradient at x = 0 is alpha (PyTorch's rule). ``inplace`` is accepted and ignored
    (computed out of place). Shape: (N, C, H, W) -> same.
    """
    x = _float_tensor("elu", input)
    a = _real("elu", alpha, "alpha")
    return Elu.apply(x, a)


# ============================================================================================
# GELU
# ============================================================================================

_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_BETA = math.sqrt(2.0 / math.pi)
_TANH_KAPPA = 0.044715


class Gelu(Function):
    """Exact: y = x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2;  dy/dx = Phi(x) + x phi(x), phi the normal pdf.

    tanh: y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3);
          dy/dx = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2).
    """

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.x, ctx.approximate = x, approximate
        if approximate == "tanh":
            ctx.t = np.tanh(_TANH_BETA * (x + _TANH_KAPPA * x * x * x))
            return 0.5 * x * (1 + ctx.t)
        ctx.cdf = 0.5 * erfc(-x * _SQRT_HALF)  # Phi(x), accurate in the far left tail too
        return x * ctx.cdf

    @staticmethod
    def backward(ctx, grad):
        x = ctx.x
        if ctx.approximate == "tanh":
            t = ctx.t
            d_inner = _TANH_BETA * (1 + 3 * _TANH_KAPPA * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner), None
        pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
        return grad * (ctx.cdf + x * pdf), None


def gelu(input, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit (Hendrycks & Gimpel 2016): gelu(x) = x * Phi(x).

    Phi is the standard normal CDF, Phi(x) = (1 + erf(x / sqrt 2)) / 2 (``approximate='none'``,
    erf from convnp.arraymath.special), or, with ``approximate='tanh'``,
    gelu(x) ~ x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). Shape: (N, C, H, W) -> same.
    """
    x = _float_tensor("gelu", input)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh'. Received: approximate={approximate!r}")
    return Gelu.apply(x, approximate)


# ============================================================================================
# Squashing functions: sigmoid, tanh
# ============================================================================================


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y)."""

    @staticmethod
    def forward(ctx, x):
        # Stable for both signs: with e = exp(-|x|) <= 1 nothing overflows;
        # x >= 0: 1 / (1 + e^-x);  x < 0: e^x / (1 + e^x).
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1, e) / (1 + e)
        ctx.y = y.astype(x.dtype, copy=False)
        return ctx.y

    @staticmethod
    def backward(ctx, grad):
        y = ctx.y
        return grad * (1 - y) * y


def sigmoid(input) -> Tensor:
    """Logistic sigmoid, elementwise: sigma(x) = 1 / (1 + exp(-x)), in (0, 1).

    Computed without overflow for logits of either sign (sigmoid(-1e4) = 0, sigmoid(1e4) = 1,
    no warnings). Shape: (N, C, H, W) -> same.
    """
    return Sigmoid.apply(_float_tensor("sigmoid", input))


class Tanh(Function):
    """y = tanh(x);  dy/dx = 1 - y^2."""

    @staticmethod
    def forward(ctx, x):
        ctx.y = np.tanh(x)
        return ctx.y

    @staticmethod
    def backward(ctx, grad):
        y = ctx.y
        return grad * (1 - y * y)


def tanh(input) -> Tensor:
    """Hyperbolic tangent, elementwise: tanh(x) = (e^x - e^-x) / (e^x + e^-x) = 2 sigma(2x) - 1.

    Shape: (N, C, H, W) -> same.
    """
    return Tanh.apply(_float_tensor("tanh", input))


# ============================================================================================
# Hard (piecewise linear) activations: relu6, hardsigmoid, hardswish
# ============================================================================================


class Silu(Function):
    """y = x * s with s = sigmoid(x);  dy/dx = s * (1 + x * (1 - s)). Smooth: no kinks."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(-np.abs(x))  # the stable sigmoid of Sigmoid above
        s = (np.where(x >= 0, 1, e) / (1 + e)).astype(x.dtype, copy=False)
        ctx.x, ctx.s = x, s
        return (x * s).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        s = ctx.s
        return (grad * (s * (1 + ctx.x * (1 - s)))).astype(grad.dtype, copy=False)


def silu(input, inplace: bool = False) -> Tensor:
    """Sigmoid linear unit (swish, Ramachandran et al. 2017), elementwise: x * sigmoid(x).

    ``inplace`` is accepted and ignored. Shape: (N, C, H, W) -> same.
    """
    return Silu.apply(_float_tensor("silu", input))


class Relu6(Function):
    """y = min(max(x, 0), 6);  dy/dx = 1 for 0 < x < 6, else 0 (0 at both kinks, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.inside = (x > 0) & (x < 6)
        return np.clip(x, 0, 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return np.where(ctx.inside, grad, 0)


def relu6(input, inplace: bool = False) -> Tensor:
    """ReLU capped at 6, elementwise: min(max(x, 0), 6). Gradient 0 at x = 0 and x = 6 (PyTorch).

    ``inplace`` is accepted and ignored. Shape: (N, C, H, W) -> same.

    >>> from convnp import tensor
    >>> relu6(tensor([-1.0, 3.0, 8.0]))
    tensor([0., 3., 6.])
    """
    return Relu6.apply(_float_tensor("relu6", input))


class Hardsigmoid(Function):
    """y = min(max(x / 6 + 1/2, 0), 1);  dy/dx = 1/6 for -3 < x < 3, else 0 (0 at +-3, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.inside = (x > -3) & (x < 3)
        return np.clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        # PyTorch multiplies by 1/6 rounded to float32 (0.16666667163...) even in float64: so do we
        return np.where(ctx.inside, grad * float(np.float32(1 / 6)), 0).astype(grad.dtype, copy=False)


def hardsigmoid(input, inplace: bool = False) -> Tensor:
    """Hard sigmoid, elementwise: relu6(x + 3) / 6. ``inplace`` is accepted and ignored.

    >>> from convnp import tensor
    >>> hardsigmoid(tensor([-4.0, 0.0, 4.0]))
    tensor([0. , 0.5, 1. ])
    """
    return Hardsigmoid.apply(_float_tensor("hardsigmoid", input))


class Hardswish(Function):
    """y = x * relu6(x + 3) / 6;  dy/dx = 0 for x <= -3, x / 3 + 1/2 for -3 < x < 3, 1 for x >= 3.

    At the kinks PyTorch takes the outer pieces: 0 at x = -3 and 1 at x = 3.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return (x * np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x = ctx.x
        slope = np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1))
        return (grad * slope).astype(grad.dtype, copy=False)


def hardswish(input, inplace: bool = False) -> Tensor:
    """Hard swish (Howard et al. 2019, MobileNetV3), elementwise: x * relu6(x + 3) / 6.

    ``inplace`` is accepted and ignored. Shape: (N, C, H, W) -> same.

    >>> from convnp import tensor
    >>> hardswish(tensor([-4.0, 0.0, 4.0]))
    tensor([-0.,  0.,  4.])
    """
    return Hardswish.apply(_float_tensor("hardswish", input))


# ============================================================================================
# Softmax: softmax, log_softmax
# ============================================================================================


def _softmax_dim(name: str, ndim: int, dim) -> int:
    """Resolve ``dim`` to a non-negative axis; dim=None uses PyTorch's legacy rule (with its warning)."""
    if dim is None:
        dim = 0 if ndim in (0, 1, 3) else 1
        warnings.warn(
            f"{name}: implicit dimension choice (dim=None) is deprecated, as in PyTorch; "
            f"using dim={dim} for a {ndim}-D input. Pass dim= explicitly.",
            UserWarning,
            stacklevel=3,
        )
        return dim
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int or None. Received: dim={dim!r}")
    rank = max(ndim, 1)  # a 0-D tensor accepts dim 0 and -1, as PyTorch
    if not -rank <= dim < rank:
        raise ValueError(
            f"{name}: dim out of range for an input with {ndim} dimensions "
            f"(expected {-rank} <= dim < {rank}). Received: dim={dim}"
        )
    return int(dim) % rank


class Softmax(Function):
    """y_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j (along ``axis``);

    dL/dx_i = y_i (g_i - sum_j g_j y_j).
    """

    @staticmethod
    def forward(ctx, x, axis):
        shifted = x - np.max(x, axis=axis, keepdims=True)  # <= 0: exp cannot overflow
        e = np.exp(shifted)
        ctx.y, ctx.axis = e / np.sum(e, axis=axis, keepdims=True), axis
        return ctx.y

    @staticmethod
    def backward(ctx, grad):
        y = ctx.y
        return y * (grad - np.sum(grad * y, axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Function):
    """y_i = x_i - m - log sum_j exp(x_j - m), m = max_j x_j;  dL/dx_i = g_i - softmax_i sum_j g_j."""

    @staticmethod
    def forward(ctx, x, axis):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        y = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.y, ctx.axis = y, axis
        return y

    @staticmethod
    def backward(ctx, grad):
        return grad - np.exp(ctx.y) * np.sum(grad, axis=ctx.axis, keepdims=True), None


def _softmax_apply(name: str, fn, input, dim):
    x = _float_tensor(name, input)
    axis = _softmax_dim(name, x.ndim, dim)
    if x.ndim == 0:  # a scalar is a one-element distribution
        return fn.apply(x.reshape(1), axis).reshape(())
    return fn.apply(x, axis)


def softmax(input, dim: int | None = None) -> Tensor:
    """Softmax along ``dim``: softmax(x)_i = exp(x_i) / sum_j exp(x_j), each slice sums to 1.

    Computed as exp(x_i - max x) / sum_j exp(x_j - max x): the same value, but no exponent is
    positive, so logits of 1e4 or -1e4 neither overflow nor give NaN.

    dim=None follows PyTorch's legacy rule (and, like PyTorch, warns): dim 0 for 0-, 1- or 3-D
    input, dim 1 otherwise (so (N, C) and (N, C, H, W) are normalised over the classes C, while
    3-D input is taken as unbatched (C, H, W)).

    >>> from convnp import tensor
    >>> softmax(tensor([[1.0, 1.0], [0.0, 1e4]]), dim=1)      # (N, C) -> (N, C)
    tensor([[0.5, 0.5],
            [0. , 1. ]])
    """
    return _softmax_apply("softmax", Softmax, input, dim)


def log_softmax(input, dim: int | None = None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably as x_i - max x - log sum_j exp(x_j - max x).

    Never log(0): log_softmax([0, -1e4]) = [0, -1e4], where log(softmax(...)) would give -inf.
    dim=None follows PyTorch's legacy rule as :func:`softmax` (dim 0 for 0-, 1- or 3-D input,
    else 1). Shape: (N, C) -> (N, C).
    """
    return _softmax_apply("log_softmax", LogSoftmax, input, dim)
