"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, GELU, Sigmoid, Tanh, Softmax, LogSoftmax,
ReLU6, Hardsigmoid, Hardswish, SiLU.

Each applies its function elementwise (Softmax and LogSoftmax along one axis) and keeps the
shape; PReLU is the only one with a parameter, the learned negative slope of He et al. (2015)::

    ReLU(x) = max(0, x)                       LeakyReLU(x) = x if x > 0 else slope * x
    PReLU(x) = x if x > 0 else a_c * x        ELU(x) = x if x > 0 else alpha * (exp(x) - 1)
    GELU(x) = x * Phi(x)                      Sigmoid(x) = 1 / (1 + exp(-x)),  Tanh(x)
    Softmax(x)_i = exp(x_i) / sum_j exp(x_j)  LogSoftmax(x)_i = x_i - log sum_j exp(x_j)

>>> import convnp as cn
>>> PReLU(num_parameters=6)(cn.randn(2, 6, 4, 4)).shape
(2, 6, 4, 4)
"""

from __future__ import annotations

import numbers

import numpy as np

from convnp.nn import functional as F
from convnp.nn.layer_utils import _check_bool, _check_int, _check_real, _factory_dtype, _layer_call, _same_shape
from convnp.nn.module import Module, Parameter

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax"]


class ReLU(Module):
    """max(0, x) elementwise. Args: inplace=False (accepted; computed out of place). Shape: any -> same."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = _check_bool(type(self).__name__, "inplace", inplace)

    output_shape = _same_shape  # elementwise: any shape -> the same shape

    def forward(self, input):
        return _layer_call(self, F.relu, input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x. Args: negative_slope=0.01, inplace=False. Shape: any -> same."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        self.negative_slope = _check_real(name, "negative_slope", negative_slope)
        self.inplace = _check_bool(name, "inplace", inplace)

    output_shape = _same_shape  # elementwise: any shape -> the same shape

    def forward(self, input):
        return _layer_call(self, F.leaky_relu, input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """Parametric ReLU (He et al. 2015): max(0, x) + a * min(0, x), the slope a learned.

    Args: num_parameters=1 (one slope shared by every channel, or C = input.shape[1] slopes, one per
    channel), init=0.25 (initial slope), device, dtype.
    Parameter: ``weight`` (num_parameters,), filled with ``init``.
    Shape: (N, C, *) -> same; e.g. PReLU(6): (2, 6, 4, 4) -> (2, 6, 4, 4).
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        dt = _factory_dtype(name, device, dtype)
        self.num_parameters = _check_int(name, "num_parameters", num_parameters, 1)
        self.init = _check_real(name, "init", init)
        self.weight = Parameter(np.full(self.num_parameters, init, dtype=dt))

    def reset_parameters(self) -> None:
        self.weight.data[...] = self.init

    output_shape = _same_shape  # elementwise: any shape -> the same shape

    def _check(self, input) -> None:
        if self.num_parameters > 1:
            self.check_input(input, channels=self.num_parameters)

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.prelu, input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """x if x > 0 else alpha * (exp(x) - 1). Args: alpha=1.0, inplace=False. Shape: any -> same."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        self.alpha = _check_real(name, "alpha", alpha)
        self.inplace = _check_bool(name, "inplace", inplace)

    output_shape = _same_shape  # elementwise: any shape -> the same shape

    def forward(self, input):
        return _layer_call(self, F.elu, input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SiLU(ReLU):
    """x * sigmoid(x) elementwise. Args: inplace=False (accepted; computed out of place). Shape: any -> same."""

    def forward(self, input):
        return _layer_call(self, F.silu, input, self.inplace)


class ReLU6(ReLU):
    """min(max(x, 0), 6) elementwise. Args: inplace=False (accepted; computed out of place). Shape: any -> same."""

    def forward(self, input):
        return _layer_call(self, F.relu6, input, self.inplace)


class Hardsigmoid(ReLU):
    """relu6(x + 3) / 6 elementwise. Args: inplace=False (accepted; computed out of place). Shape: any -> same."""

    def forward(self, input):
        return _layer_call(self, F.hardsigmoid, input, self.inplace)


class Hardswish(ReLU):
    """x * relu6(x + 3) / 6 elementwise. Args: inplace=False (accepted; computed out of place). Shape: any -> same."""

    def forward(self, input):
        return _layer_call(self, F.hardswish, input, self.inplace)


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF ('none') or its tanh approximation ('tanh').

    Args: approximate='none'. Shape: any -> same.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(
                f"{type(self).__name__}: approximate must be 'none' or 'tanh'. Received: approximate={approximate!r}"
            )
        self.approximate = approximate

    output_shape = _same_shape  # elementwise: any shape -> the same shape

    def forward(self, input):
        return _layer_call(self, F.gelu, input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise. Shape: any -> same."""

    output_shape = _same_shape  # elementwise: any shape -> the same shape

    def forward(self, input):
        return _layer_call(self, F.sigmoid, input)


class Tanh(Module):
    """tanh(x) elementwise. Shape: any -> same."""

    output_shape = _same_shape  # elementwise: any shape -> the same shape

    def forward(self, input):
        return _layer_call(self, F.tanh, input)


def _check_dim(name: str, dim):
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, numbers.Integral)):
        raise TypeError(f"{name}: dim must be an int or None. Received: dim={dim!r}")
    return dim


class Softmax(Module):
    """exp(x_i) / sum_j exp(x_j) along ``dim`` (each slice sums to 1), computed stably.

    Args: dim=None (PyTorch's deprecated implicit choice, with its warning: 0 for 0-, 1- or 3-D
    input, else 1). Shape: any -> same; e.g. Softmax(dim=1): (N, C) -> (N, C).
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = _check_dim(type(self).__name__, dim)

    output_shape = _same_shape  # elementwise: any shape -> the same shape

    def forward(self, input):
        return _layer_call(self, F.softmax, input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably as x_i - max x - log sum_j exp(x_j - max x).

    Args: dim=None (as :class:`Softmax`). Shape: any -> same.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = _check_dim(type(self).__name__, dim)

    output_shape = _same_shape  # elementwise: any shape -> the same shape

    def forward(self, input):
        return _layer_call(self, F.log_softmax, input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
