"""Padding layers over F.pad: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad, 1d/2d/3d.

``padding`` is an int (the same on every side) or a tuple of 2 * nd ints (left, right, top, bottom, front,
back), pairs from the last dimension backwards, as in F.pad; a ZeroPad or ConstantPad may crop with
negative values.

>>> import convnp as cn
>>> ReflectionPad2d((1, 1, 2, 0))(cn.randn(1, 3, 4, 4)).shape
(1, 3, 6, 6)
"""

from __future__ import annotations

import numbers

from convnp.nn import functional as F
from convnp.nn.layer_utils import _checked_shape, _layer_call
from convnp.nn.module import Module
from convnp.ops.padding import _pad_plan

__all__ = [
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
]

_LAYOUT = {1: "(C, W) or (N, C, W)", 2: "(C, H, W) or (N, C, H, W)", 3: "(C, D, H, W) or (N, C, D, H, W)"}


class _PadNd(Module):
    _nd = 0
    _mode = "constant"

    def __init__(self, padding, value: float = 0.0) -> None:
        super().__init__()
        name, n = type(self).__name__, 2 * self._nd
        if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
            padding = (int(padding),) * n
        if (
            not isinstance(padding, (tuple, list))
            or len(padding) != n
            or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in padding)
        ):
            raise TypeError(f"{name}: padding must be an int or a tuple of {n} ints. Received: padding={padding!r}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}: value must be a number. Received: value={value!r}")
        self.padding = tuple(int(p) for p in padding)
        self.value = value

    def _check(self, input) -> None:
        nd = self._nd
        self.check_input(input, ndim=(nd + 1, nd + 2), layout=_LAYOUT[nd])
        try:
            _pad_plan(tuple(input.shape), self.padding, self._mode, None if self._mode != "constant" else self.value)
        except ValueError as err:
            self._input_error(str(err))

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """The last nd dimensions grow by their (before, after) pads."""
        shape = list(_checked_shape(self, input_shape))
        for i in range(self._nd):
            shape[-1 - i] += self.padding[2 * i] + self.padding[2 * i + 1]
        return tuple(shape)

    def forward(self, input):
        self._check(input)
        if self._mode == "constant":
            return _layer_call(self, F.pad, input, self.padding, "constant", self.value)
        return _layer_call(self, F.pad, input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_PadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)


class _ReflectionPadNd(_PadNd):
    _mode = "reflect"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class _ReplicationPadNd(_PadNd):
    _mode = "replicate"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dimension of (C, W) or (N, C, W) input with zeros: padding int or (left, right)."""

    _nd = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last two dimensions with zeros: padding int or (left, right, top, bottom)."""

    _nd = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last three dimensions with zeros: padding int or (left, right, top, bottom, front, back)."""

    _nd = 3


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with ``value``: ConstantPad1d(padding, value)."""

    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dimensions with ``value``: ConstantPad2d(padding, value)."""

    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dimensions with ``value``: ConstantPad3d(padding, value)."""

    _nd = 3


class ReflectionPad1d(_ReflectionPadNd):
    """Mirror the last dimension about its edges (edge not repeated; each pad < the dimension's size)."""

    _nd = 1


class ReflectionPad2d(_ReflectionPadNd):
    """Mirror the last two dimensions about their edges (edge not repeated; each pad < the size)."""

    _nd = 2


class ReflectionPad3d(_ReflectionPadNd):
    """Mirror the last three dimensions about their edges (edge not repeated; each pad < the size)."""

    _nd = 3


class ReplicationPad1d(_ReplicationPadNd):
    """Repeat the edge values of the last dimension."""

    _nd = 1


class ReplicationPad2d(_ReplicationPadNd):
    """Repeat the edge values of the last two dimensions."""

    _nd = 2


class ReplicationPad3d(_ReplicationPadNd):
    """Repeat the edge values of the last three dimensions."""

    _nd = 3


class CircularPad1d(_CircularPadNd):
    """Wrap the last dimension around (each pad at most the dimension's size)."""

    _nd = 1


class CircularPad2d(_CircularPadNd):
    """Wrap the last two dimensions around (each pad at most the size)."""

    _nd = 2


class CircularPad3d(_CircularPadNd):
    """Wrap the last three dimensions around (each pad at most the size)."""

    _nd = 3
