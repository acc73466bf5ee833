"""convnp.nn.init: weight initialisation, in place, under torch.nn.init's names and defaults.

Every function fills a Parameter's (or tensor's, or NumPy array's) data in place, drawing from
``convnp.arraymath.random.resolve(generator)`` (the default generator that ``cn.manual_seed``
resets, unless a ``numpy.random.Generator`` is given), and returns its argument.

Fans: a weight of shape ``(out, in, *kernel)`` has ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)`` (a Linear weight ``(out, in)``: ``fan_in = in``).

- Xavier / Glorot (2010), keeping the variance of activations and gradients equal:
  ``std = gain * sqrt(2 / (fan_in + fan_out))``; uniform on ``[-a, a]`` with ``a = sqrt(3) * std``.
- Kaiming / He et al. (2015), for ReLU-family nets: ``std = gain / sqrt(fan)`` with
  ``gain = calculate_gain(nonlinearity, a)`` (``sqrt(2 / (1 + a^2))`` for leaky_relu);
  uniform on ``[-bound, bound]`` with ``bound = sqrt(3) * std``.
  PyTorch's layers use ``kaiming_uniform_(w, a=sqrt(5))``, i.e. ``bound = 1 / sqrt(fan_in)``.

>>> import numpy as np
>>> from convnp.nn import Parameter
>>> w = Parameter(np.zeros((64, 3, 3, 3), dtype=np.float32))
>>> _ = kaiming_uniform_(w, a=5 ** 0.5)
>>> bool(np.abs(w.data).max() <= 1 / np.sqrt(3 * 3 * 3))
True
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from convnp.arraymath import random as _random
from convnp.autograd.tensor import Tensor

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def _array(tensor, fn: str) -> np.ndarray:
    """The array to fill in place: a tensor's (Parameter's) data, or the array itself."""
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(
        f"{fn}: expected a Parameter, tensor or NumPy array to fill in place. Received: {type(tensor).__name__}"
    )


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear / conv / sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu: sqrt(2 / (1 + slope^2))
    (slope ``param``, default 0.01); selu: 3/4.

    >>> calculate_gain("relu") == 2 ** 0.5
    True
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} not a valid number. Received: param={param!r}")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: Unsupported nonlinearity {nonlinearity}; expected one of "
        f"{list(_LINEAR_FNS) + ['sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu']}. "
        f"Received: nonlinearity={nonlinearity!r}"
    )


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``.

    >>> _calculate_fan_in_and_fan_out(np.zeros((6, 3, 5, 5)))
    (75, 150)
    """
    shape = np.shape(tensor.data if isinstance(tensor, Tensor) else tensor)
    if len(shape) < 2:
        raise ValueError(
            f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions. Received: shape {shape}"
        )
    receptive_field_size = 1
    for s in shape[2:]:
        receptive_field_size *= s
    return shape[1] * receptive_field_size, shape[0] * receptive_field_size


def _calculate_correct_fan(tensor, mode: str) -> int:
    valid = ["fan_in", "fan_out"]
    if not isinstance(mode, str) or mode.lower() not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}. Received: mode={mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode.lower() == "fan_in" else fan_out


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with samples of U(a, b)."""
    arr = _array(tensor, "uniform_")
    arr[...] = _random.resolve(generator).uniform(a, b, size=arr.shape)
    return tensor


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with samples of N(mean, std^2)."""
    arr = _array(tensor, "normal_")
    arr[...] = _random.resolve(generator).normal(mean, std, size=arr.shape)
    return tensor


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None):
    """Fill with samples of N(mean, std^2) truncated to [a, b] (rejection sampling).

    When [a, b] holds much of the normal's mass the proposals are normal draws; otherwise uniform
    draws on [a, b] accepted with probability exp(-(z - mean)^2 / (2 std^2)) relative to the peak.
    """
    arr = _array(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b. Received: a={a}, b={b}")
    rng = _random.resolve(generator)
    n = arr.size
    out = np.empty(n)
    pending = np.arange(n)
    p = 0.5 * (math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2))))
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2
    while pending.size:  # a handful of rounds, each vectorised
        if p > 0.3:
            draw = rng.normal(mean, std, size=pending.size)
            ok = (draw >= a) & (draw <= b)
        else:
            draw = rng.uniform(a, b, size=pending.size)
            log_pdf = -0.5 * ((draw - mean) / std) ** 2 - log_peak
            ok = np.log(rng.random(pending.size)) <= log_pdf
        out[pending[ok]] = draw[ok]
        pending = pending[~ok]
    arr[...] = out.reshape(arr.shape)
    return tensor


def constant_(tensor, val: float):
    """Fill with the value ``val``."""
    _array(tensor, "constant_")[...] = val
    return tensor


def ones_(tensor):
    """Fill with ones."""
    _array(tensor, "ones_")[...] = 1
    return tensor


def zeros_(tensor):
    """Fill with zeros."""
    _array(tensor, "zeros_")[...] = 0
    return tensor


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot uniform: U(-a, a), ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_array(tensor, "xavier_uniform_"))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot normal: N(0, std^2), ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_array(tensor, "xavier_normal_"))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    """He uniform: U(-bound, bound), ``bound = sqrt(3) * gain / sqrt(fan)``, gain from ``nonlinearity``
    (and the leaky slope ``a``); ``fan`` is fan_in (keeps forward variance) or fan_out (backward)."""
    arr = _array(tensor, "kaiming_uniform_")
    if 0 in arr.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(arr, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None):
    """He normal: N(0, std^2), ``std = gain / sqrt(fan)``."""
    arr = _array(tensor, "kaiming_normal_")
    if 0 in arr.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(arr, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)
