"""Dropout (Srivastava et al., 2014): inverted dropout and channel-wise dropout2d.

Training multiplies the input by a random mask m / (1 - p), m_i ~ Bernoulli(1 - p); backward
multiplies the upstream gradient by the same mask and scale. Masks come from
``convnp.arraymath.random.resolve(generator)``, so ``cn.manual_seed(s)`` (or a generator passed
explicitly) makes them reproducible.
"""

from __future__ import annotations

import numbers

import numpy as np

from convnp.arraymath.random import resolve
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.ops.checks import float_tensor


class Dropout(Function):
    """y = x * s, with s = m / (1 - p) the scaled keep mask (broadcast to x);  dL/dx = g * s."""

    @staticmethod
    def forward(ctx, x, *, scaled_mask):
        ctx.scaled_mask = scaled_mask
        return x * scaled_mask  # (N, C, H, W) * (N, C, 1, 1) -> (N, C, H, W)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scaled_mask


def _check(name: str, input, p, training, generator) -> tuple[Tensor, float]:
    input = float_tensor(name, input)
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name}: p must be a real number in [0, 1]. Received: p={p!r}")
    p = float(p)
    if not 0.0 <= p <= 1.0:  # also rejects NaN
        raise ValueError(f"{name}: dropout probability p must be between 0 and 1. Received: p={p}")
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"{name}: training must be a bool. Received: training={training!r}")
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(
            f"{name}: generator must be a numpy.random.Generator or None. Received: {type(generator).__name__}"
        )
    return input, p


def _apply(x: Tensor, p: float, mask_shape: tuple[int, ...], generator) -> Tensor:
    if p == 1.0:  # every unit dropped; nothing to draw
        scaled = np.zeros(mask_shape, dtype=x.dtype)
    else:
        keep = resolve(generator).random(mask_shape) >= p  # P(keep) = 1 - p
        scaled = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return Dropout.apply(x, scaled_mask=scaled)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None) -> Tensor:
    """Inverted dropout: zero each element independently with probability p, scale the rest by 1/(1-p).

        y_i = x_i * m_i / (1 - p),   m_i ~ Bernoulli(1 - p)

    Srivastava et al. keep each unit with probability 1 - p during training and, at test time,
    use the whole network with its weights multiplied by 1 - p, so that every unit's expected
    output is what it was in training. Inverted dropout moves that factor into training:
    E[y_i] = (1 - p) * x_i / (1 - p) = x_i, so evaluation is the identity and needs no rescaling.

    ``training=False`` or ``p=0`` returns ``input`` itself, unchanged; ``p=1`` gives zeros (and zero
    gradients). The mask is drawn from ``generator`` (default: the generator ``cn.manual_seed``
    resets). ``inplace`` is accepted and ignored (computed out of place).
    Shape: any, e.g. (N, 4096) -> (N, 4096).
    """
    x, p = _check("dropout", input, p, training, generator)
    if not training or p == 0.0:
        return x
    return _apply(x, p, x.shape, generator)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None) -> Tensor:
    """Channel-wise dropout: zero whole feature maps x[n, c] with probability p, scale the rest by 1/(1-p).

        y[n, c, :, :] = x[n, c, :, :] * m[n, c] / (1 - p),   m[n, c] ~ Bernoulli(1 - p)

    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels
    barely regularises a convolutional layer; dropping a whole channel does (Tompson et al., 2015).
    Scaling as in :func:`dropout` (inverted: evaluation is the identity).

    Input (N, C, H, W), mask (N, C, 1, 1); or unbatched (C, H, W), mask (C, 1, 1). Note: for 3-D
    input PyTorch 2.x still applies its legacy 1-D behaviour (it reads (N, C, L) and warns that this
    will change to (C, H, W)); convnp already uses the (C, H, W) reading.
    ``training=False`` or ``p=0`` returns ``input`` unchanged; ``p=1`` gives zeros. ``inplace`` is
    accepted and ignored (computed out of place).
    """
    x, p = _check("dropout2d", input, p, training, generator)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"dropout2d: expected input of shape (N, C, H, W) or (C, H, W). Received: input of shape {x.shape}"
        )
    if not training or p == 0.0:
        return x
    mask_shape = x.shape[:-2] + (1, 1)  # (N, C, H, W) -> (N, C, 1, 1)
    return _apply(x, p, mask_shape, generator)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None) -> Tensor:
    """Channel-wise dropout of 1-D feature maps: zero whole x[n, c, :] with probability p, scale the rest by 1/(1-p).

    Input (N, C, L), mask (N, C, 1); or unbatched (C, L), mask (C, 1). As :func:`dropout2d` otherwise.
    """
    x, p = _check("dropout1d", input, p, training, generator)
    if x.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected input of shape (N, C, L) or (C, L). Received: input of shape {x.shape}")
    if not training or p == 0.0:
        return x
    return _apply(x, p, x.shape[:-1] + (1,), generator)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None) -> Tensor:
    """Channel-wise dropout of 3-D feature maps: zero whole x[n, c] with probability p, scale the rest by 1/(1-p).

    Input (N, C, D, H, W), mask (N, C, 1, 1, 1); or unbatched (C, D, H, W). As :func:`dropout2d` otherwise.
    """
    x, p = _check("dropout3d", input, p, training, generator)
    if x.ndim not in (4, 5):
        raise ValueError(
            f"dropout3d: expected input of shape (N, C, D, H, W) or (C, D, H, W). Received: input of shape {x.shape}"
        )
    if not training or p == 0.0:
        return x
    return _apply(x, p, x.shape[:-3] + (1, 1, 1), generator)


# SELU's constants (Klambauer et al. 2017): alpha' = -lambda * alpha, the value SELU tends to at -infinity
SELU_ALPHA_PRIME = 1.7580993408473766


class AlphaDropout(Function):
    """y = x * s + t, with s = a m and t = a alpha' (m - 1) + a alpha' p (per element);  dL/dx = g * s."""

    @staticmethod
    def forward(ctx, x, *, scale, shift):
        ctx.scale = scale
        return x * scale + shift

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False, generator=None) -> Tensor:
    """Alpha dropout (Klambauer et al. 2017): dropout that keeps SELU's zero mean and unit variance.

    A dropped unit is set to SELU's negative saturation value -alpha' (not 0), then an affine map
    restores the mean and variance of a standard-normal input:

        y = a (x m - alpha' (1 - m)) + b,   m ~ Bernoulli(1 - p),
        a = ((1 - p) (1 + p alpha'^2)) ^ (-1/2),   b = a alpha' p,   alpha' = 1.7580993408473766

    ``training=False`` (the default, as in PyTorch) or ``p=0`` returns ``input`` unchanged; ``p=1`` gives
    zeros. ``inplace`` is accepted and ignored. Shape: any -> same.
    """
    x, p = _check("alpha_dropout", input, p, training, generator)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        zeros = np.zeros(x.shape, dtype=x.dtype)
        return AlphaDropout.apply(x, scale=zeros, shift=zeros)
    keep = (resolve(generator).random(x.shape) >= p).astype(np.float64)  # P(keep) = 1 - p
    alpha = SELU_ALPHA_PRIME
    a = 1.0 / np.sqrt((alpha * alpha * p + 1.0) * (1.0 - p))
    shift = (keep - 1.0) * alpha * a + alpha * a * p
    return AlphaDropout.apply(x, scale=(a * keep).astype(x.dtype), shift=shift.astype(x.dtype))
