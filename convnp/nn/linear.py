"""Fully connected layers and reshaping: Linear, Flatten, Unflatten (torch.nn's constructors and names).

A fully connected layer connects every input feature to every output unit::

    y = x W^T + b,      W: (out_features, in_features),  b: (out_features,)

so an input of shape (*, in_features) gives (*, out_features), e.g. (32, 400) -> (32, 120).
Its default initialisation is PyTorch's: ``kaiming_uniform_(W, a=sqrt(5))``, i.e.
W ~ U(-1/sqrt(in_features), 1/sqrt(in_features)), and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

>>> import convnp as cn
>>> Linear(400, 120)(cn.randn(32, 400)).shape
(32, 120)
>>> Flatten()(cn.randn(2, 16, 5, 5)).shape
(2, 400)
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from convnp.autograd.tensor import Tensor
from convnp.nn import functional as F
from convnp.nn.layer_utils import _check_bool, _check_int, _factory_dtype, _layer_call, _reset_fan_in_uniform
from convnp.nn.module import Module, Parameter, _shape_arg

__all__ = ["Linear", "Flatten", "Unflatten"]


# --------------------------------------------------------------------------------------------
# Linear
# --------------------------------------------------------------------------------------------
class Linear(Module):
    """Fully connected layer: y = x W^T + b on the last axis.

    Args:
        in_features: size of each input sample's last axis.
        out_features: size of each output sample's last axis.
        bias: learn an additive bias (default True).
        device, dtype: "cpu" only; parameter dtype (float32 by default).

    Parameters: ``weight`` (out_features, in_features), ``bias`` (out_features,), both drawn from
    U(-1/sqrt(in_features), 1/sqrt(in_features)) (PyTorch's default).

    Shape: (*, in_features) -> (*, out_features), e.g. (32, 400) -> (32, 120).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        dt = _factory_dtype(name, device, dtype)
        self.in_features = _check_int(name, "in_features", in_features, 1)
        self.out_features = _check_int(name, "out_features", out_features, 1)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dt))
        if _check_bool(name, "bias", bias):
            self.bias = Parameter(np.empty(self.out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_fan_in_uniform(self.weight, self.bias, self.in_features)

    def forward(self, input):
        shape = input.data.shape if type(input) is Tensor else tuple(np.shape(input))
        self._check_shape(shape)
        return _layer_call(self, F.linear, input, self.weight, self.bias)

    def _check_shape(self, shape) -> None:
        if len(shape) == 0 or shape[-1] != self.in_features:
            self._input_error(
                f"expected input of shape (*, {self.in_features}) (in_features={self.in_features} "
                f"in the last dimension), received shape {shape}"
            )

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """(*, in_features) -> (*, out_features)."""
        shape = _shape_arg(self, input_shape)
        self._check_shape(shape)
        return shape[:-1] + (self.out_features,)

    def summary_counts(self, input_shapes, output_shape) -> dict:
        """For cn.summary: MACs = out_elements * in_features; connections MACs + out_elements with a bias."""
        out_el = math.prod(output_shape)
        macs = out_el * self.in_features
        return {"macs": macs, "connections": macs + out_el * (self.bias is not None)}

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


# --------------------------------------------------------------------------------------------
# Flatten / Unflatten
# --------------------------------------------------------------------------------------------
def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


class Flatten(Module):
    """Merge the axes start_dim..end_dim into one (default: everything but the batch axis).

    Shape: (N, C, H, W) -> (N, C*H*W) with the defaults; e.g. (2, 16, 5, 5) -> (2, 400).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name}: {arg} must be an int. Received: {arg}={value!r}")
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def _axes(self, shape: tuple) -> tuple[int, int]:
        """The first and last axis merged, for an input of ``shape`` (the layer's error if out of range)."""
        rank = max(len(shape), 1)
        for what, d in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if not -rank <= d < rank:
                self._input_error(
                    f"expected an input with more dimensions: {what}={d} is out of range for a "
                    f"{len(shape)}-D input (expected {-rank} <= {what} < {rank}), received shape "
                    f"{shape}"
                )
        s, e = self.start_dim % rank, self.end_dim % rank
        if s > e:
            self._input_error(
                f"expected start_dim to come before end_dim (start_dim={self.start_dim} is axis {s}, "
                f"end_dim={self.end_dim} is axis {e}), received shape {shape}"
            )
        return s, e

    def forward(self, input):
        x = _as_tensor(input)
        s, e = self._axes(tuple(x.shape))
        return x.flatten(s, e)  # (N, C, H, W) -> (N, C*H*W)

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """(N, C, H, W) -> (N, C*H*W) with the defaults: the axes start_dim..end_dim multiplied."""
        shape = _shape_arg(self, input_shape)
        s, e = self._axes(shape)
        if not shape:
            return (1,)  # a 0-D input flattens to one element
        return shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :]

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (the inverse of Flatten; one entry may be -1).

    Shape: Unflatten(1, (16, 5, 5)) maps (N, 400) -> (N, 16, 5, 5).
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"{name}: dim must be an int. Received: dim={dim!r}")
        if not isinstance(unflattened_size, (list, tuple)) or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in unflattened_size
        ):
            raise TypeError(
                f"{name}: unflattened_size must be a tuple of ints. Received: unflattened_size={unflattened_size!r}"
            )
        sizes = tuple(int(v) for v in unflattened_size)
        if sum(v == -1 for v in sizes) > 1 or any(v < -1 for v in sizes):
            raise ValueError(
                f"{name}: unflattened_size must hold sizes >= 0 and at most one -1. "
                f"Received: unflattened_size={unflattened_size!r}"
            )
        self.dim = int(dim)
        self.unflattened_size = unflattened_size

    def forward(self, input):
        x = _as_tensor(input)
        return x.reshape(self.output_shape(tuple(x.shape)))  # (N, 400) -> (N, 16, 5, 5)

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """Axis ``dim`` split into ``unflattened_size`` (a -1 entry takes what is left)."""
        shape = _shape_arg(self, input_shape)
        rank = max(len(shape), 1)
        if not -rank <= self.dim < rank or len(shape) == 0:
            self._input_error(
                f"expected an input with dimension dim={self.dim} (at least "
                f"{self.dim + 1 if self.dim >= 0 else -self.dim} dimensions), received shape {shape}"
            )
        d = self.dim % rank
        sizes = tuple(int(v) for v in self.unflattened_size)
        known = math.prod(v for v in sizes if v != -1)
        if -1 in sizes:
            if known == 0 or shape[d] % known:
                self._input_error(
                    f"expected dimension {self.dim} divisible by {known} to unflatten it into "
                    f"{tuple(self.unflattened_size)}, received shape {shape}"
                )
            sizes = tuple(shape[d] // known if v == -1 else v for v in sizes)
        elif known != shape[d]:
            self._input_error(
                f"expected dimension {self.dim} of size {known} (the product of unflattened_size "
                f"{tuple(self.unflattened_size)}), received shape {shape}"
            )
        return shape[:d] + sizes + shape[d + 1 :]

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
