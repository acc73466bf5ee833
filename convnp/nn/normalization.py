"""Normalization layers: BatchNorm1d/2d/3d, LayerNorm, GroupNorm, LocalResponseNorm (torch.nn's).

Batch, layer and group normalization standardise a set of entries and then scale and shift
them per channel (per feature for LayerNorm)::

    x_hat = (x - mu) / sqrt(sigma^2 + eps),    y = weight * x_hat + bias

BatchNorm (Ioffe & Szegedy 2015) takes mu, sigma^2 per channel over the batch and space in
training and keeps running estimates for evaluation, updated in place, PyTorch's way::

    running <- (1 - m) * running + m * batch_stat    (unbiased variance for running_var)
    m = momentum, or 1 / num_batches_tracked when momentum is None (a cumulative average)

Parameters and buffers (PyTorch's names): ``weight`` (ones), ``bias`` (zeros), ``running_mean``
(zeros), ``running_var`` (ones), ``num_batches_tracked`` (int64 0-D, zero).

LocalResponseNorm (Krizhevsky et al. 2012) divides each activation by a power of the energy of
its neighbouring channels: b_c = a_c / (k + alpha/size * sum_{nearby j} a_j^2) ^ beta.

>>> import convnp as cn
>>> bn = BatchNorm2d(6)
>>> y = bn(cn.randn(4, 6, 8, 8))
>>> int(bn.num_batches_tracked), bn.running_mean.shape
(1, (6,))
"""

from __future__ import annotations

import numbers

import numpy as np

from convnp.nn import functional as F
from convnp.nn import init
from convnp.nn.layer_utils import _check_bool, _check_int, _check_real, _factory_dtype, _layer_call, _same_shape
from convnp.nn.module import Module, Parameter

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "LayerNorm",
    "GroupNorm",
    "LocalResponseNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
]


def _check_eps(name: str, eps) -> float:
    _check_real(name, "eps", eps)
    if not eps >= 0:
        raise ValueError(f"{name}: eps must be a non-negative number. Received: eps={eps}")
    return eps


# --------------------------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------------------------


def _affine_parameters(module: Module, shape, dt, affine: bool, bias: bool) -> None:
    """The learnable per-feature scale ``weight`` and shift ``bias`` of a normalisation layer
    (registered as None when ``affine`` is off, as PyTorch does)."""
    module.register_parameter("weight", Parameter(np.empty(shape, dtype=dt)) if affine else None)
    module.register_parameter("bias", Parameter(np.empty(shape, dtype=dt)) if affine and bias else None)


def _reset_affine(module: Module) -> None:
    """PyTorch's start: scale 1, shift 0 (the layer first passes the standardised input on)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _BatchNorm(Module):
    """PyTorch's _NormBase + _BatchNorm: parameters, buffers and the forward's momentum rule."""

    _ndims: tuple[int, ...] = ()
    _layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        dt = _factory_dtype(name, device, dtype)
        self.num_features = _check_int(name, "num_features", num_features, 1)
        self.eps = _check_eps(name, eps)
        if momentum is not None:
            _check_real(name, "momentum", momentum)
        self.momentum = momentum
        self.affine = _check_bool(name, "affine", affine)
        self.track_running_stats = _check_bool(name, "track_running_stats", track_running_stats)
        bias = _check_bool(name, "bias", bias)
        _affine_parameters(self, num_features, dt, self.affine, bias)
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dt))
            self.register_buffer("running_var", np.ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    output_shape = _same_shape  # (N, C, *) -> the same shape

    def _check(self, input) -> None:  # (forward repeats this line, to stay one call lighter)
        self.check_input(input, ndim=self._ndims, channels=self.num_features, layout=self._layout)

    def forward(self, input):
        self.check_input(input, ndim=self._ndims, channels=self.num_features, layout=self._layout)
        # PyTorch's _BatchNorm.forward: the factor of the running averages
        momentum, training = self.momentum, self.training
        factor = 0.0 if momentum is None else momentum
        if training and self.track_running_stats:
            tracked = self.num_batches_tracked
            if tracked is not None:
                tracked[...] += 1  # in place: the buffer stays the same array
                factor = 1.0 / float(tracked) if momentum is None else momentum
        running_mean, running_var = self.running_mean, self.running_var
        # batch statistics in training, and in eval when there are no running statistics
        use_batch = training or (running_mean is None and running_var is None)
        track = not training or self.track_running_stats  # buffers updated / read only then
        return _layer_call(
            self,
            F.batch_norm,
            input,
            running_mean if track else None,
            running_var if track else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input, per channel C over N (and L).

    Args (PyTorch's): num_features (C), eps=1e-5, momentum=0.1 (None: cumulative average),
    affine=True, track_running_stats=True, device, dtype, keyword bias=True.
    Shape: (N, C) -> (N, C), (N, C, L) -> (N, C, L).
    """

    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) input, per channel over N, H and W.

    Args as :class:`BatchNorm1d`. Shape: (N, C, H, W) -> same; e.g. BatchNorm2d(6): (4, 6, 8, 8).
    """

    _ndims = (4,)
    _layout = "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalization of (N, C, D, H, W) input, per channel. Args as :class:`BatchNorm1d`."""

    _ndims = (5,)
    _layout = "(N, C, D, H, W)"


# --------------------------------------------------------------------------------------------
# Layer and group normalization
# --------------------------------------------------------------------------------------------
class LayerNorm(Module):
    """Layer normalization (Ba et al. 2016): standardise each sample over its trailing axes.

    Args (PyTorch's): normalized_shape (int or tuple: the trailing dimensions), eps=1e-5,
    elementwise_affine=True (learn ``weight`` (ones) and ``bias`` (zeros) of normalized_shape),
    bias=True, device, dtype.
    Shape: (*, *normalized_shape) -> same; e.g. LayerNorm((3, 4)): (2, 3, 4) -> (2, 3, 4).
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        dt = _factory_dtype(name, device, dtype)
        if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
            normalized_shape = (normalized_shape,)
        if not isinstance(normalized_shape, (list, tuple)) or not all(
            isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in normalized_shape
        ):
            raise TypeError(
                f"{name}: normalized_shape must be an int or a tuple of ints. "
                f"Received: normalized_shape={normalized_shape!r}"
            )
        if len(normalized_shape) == 0 or any(d < 1 for d in normalized_shape):
            raise ValueError(
                f"{name}: normalized_shape must hold at least one dimension, each at least 1. "
                f"Received: normalized_shape={tuple(normalized_shape)}"
            )
        self.normalized_shape = tuple(int(d) for d in normalized_shape)
        self.eps = _check_eps(name, eps)
        self.elementwise_affine = _check_bool(name, "elementwise_affine", elementwise_affine)
        bias = _check_bool(name, "bias", bias)
        _affine_parameters(self, self.normalized_shape, dt, self.elementwise_affine, bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    output_shape = _same_shape  # (*, *normalized_shape) -> the same shape

    def _check(self, input) -> None:
        shape = tuple(np.shape(input))
        k = len(self.normalized_shape)
        if shape[len(shape) - k :] != self.normalized_shape or len(shape) < k:
            dims = ", ".join(map(str, self.normalized_shape))
            self._input_error(
                f"expected input of shape (*, {dims}) (normalized_shape={self.normalized_shape} "
                f"as the trailing dimensions), received shape {shape}"
            )

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.layer_norm, input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Group normalization (Wu & He 2018): channels in num_groups groups, each standardised per sample.

    Args (PyTorch's): num_groups, num_channels (divisible by num_groups), eps=1e-5, affine=True
    (per-channel ``weight`` ones and ``bias`` zeros), device, dtype, keyword bias=True.
    Shape: (N, C, *) -> same; e.g. GroupNorm(3, 6): (2, 6, 5, 5) -> (2, 6, 5, 5).
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        dt = _factory_dtype(name, device, dtype)
        self.num_groups = _check_int(name, "num_groups", num_groups, 1)
        self.num_channels = _check_int(name, "num_channels", num_channels, 1)
        if self.num_channels % self.num_groups:
            raise ValueError(
                f"{name}: num_channels must be divisible by num_groups. "
                f"Received: num_channels={num_channels}, num_groups={num_groups}"
            )
        self.eps = _check_eps(name, eps)
        self.affine = _check_bool(name, "affine", affine)
        bias = _check_bool(name, "bias", bias)
        _affine_parameters(self, self.num_channels, dt, self.affine, bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    output_shape = _same_shape  # (N, C, *) -> the same shape

    def _check(self, input) -> None:
        shape = tuple(np.shape(input))
        if len(shape) < 2:
            self._input_error(f"expected input of shape (N, C, *) with at least 2 dimensions, received shape {shape}")
        self.check_input(input, channels=self.num_channels)

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.group_norm, input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class LocalResponseNorm(Module):
    """Local response normalization across channels (AlexNet), PyTorch's definition.

        b_c = a_c / (k + alpha / size * sum_{j = c - size//2}^{c + (size-1)//2} a_j^2) ^ beta

    Args: size (channels in the window), alpha=1e-4, beta=0.75, k=1.0.
    Shape: (N, C, *) with at least 3 dimensions -> same.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        name = type(self).__name__
        self.size = _check_int(name, "size", size, 1)
        self.alpha = _check_real(name, "alpha", alpha)
        self.beta = _check_real(name, "beta", beta)
        self.k = _check_real(name, "k", k)

    output_shape = _same_shape  # (N, C, *) -> the same shape

    def _check(self, input) -> None:
        shape = tuple(np.shape(input))
        if len(shape) < 3:
            self._input_error(f"expected input of shape (N, C, *) with at least 3 dimensions, received shape {shape}")

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.local_response_norm, input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


# --------------------------------------------------------------------------------------------
# Instance normalization
# --------------------------------------------------------------------------------------------
class _InstanceNorm(_BatchNorm):
    """PyTorch's _InstanceNorm: _BatchNorm's parameters, buffers and repr; statistics per (sample, channel)."""

    _nd = 0

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _check(self, input) -> None:
        nd = self._nd
        self.check_input(input, ndim=(nd + 1, nd + 2), layout=self._layout)
        if self.affine or self.track_running_stats:  # the per-channel arrays need C = num_features
            self.check_input(input, channels=self.num_features, channel_axis=-nd - 1)

    def forward(self, input):
        """F.instance_norm with the instance statistics in training (and always without running stats),
        the running ones in evaluation; unbatched input runs as a batch of one."""
        self._check(input)
        batched = input.ndim == self._nd + 2
        x = input if batched else input.unsqueeze(0)
        use_input_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        y = _layer_call(
            self,
            F.instance_norm,
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            momentum,
            self.eps,
        )
        return y if batched else y.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization (Ulyanov et al. 2016) of (N, C, L) or (C, L): each x[n, c] over L.

    Args (PyTorch's): num_features (C), eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
    device, dtype, keyword bias=True. Shape: same as the input.
    """

    _nd = 1
    _layout = "(C, L) or (N, C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W): each x[n, c] over H and W. Args as InstanceNorm1d."""

    _nd = 2
    _layout = "(C, H, W) or (N, C, H, W)"


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W): each x[n, c] over D, H, W. Args as InstanceNorm1d."""

    _nd = 3
    _layout = "(C, D, H, W) or (N, C, D, H, W)"
