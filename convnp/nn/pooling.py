"""Pooling layers: MaxPool1d/2d/3d, MaxUnpool2d, AvgPool1d/2d/3d, AdaptiveAvgPool2d, AdaptiveMaxPool2d.

Pooling has no parameters; it replaces every window of each activation map by one number
(the lectures: "makes the representations smaller and more manageable, operates over each
activation map independently"):

    max pooling      y[n, c, i] = max_a  x_pad[n, c, s*i + d*a]
    average pooling  y[n, c, i] = (1 / D[i]) sum_a  x_pad[n, c, s*i + a]

with out = floor((in + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1 per axis (ceil with
``ceil_mode``). The adaptive pools choose their windows from the output size instead.

Constructor signatures, defaults and attributes are PyTorch's (MaxPool keeps ``kernel_size`` as
given; AvgPool1d, MaxUnpool2d keep tuples, as torch does, so the reprs agree).

>>> import convnp as cn
>>> MaxPool2d(2)(cn.randn(2, 6, 28, 28)).shape
(2, 6, 14, 14)
>>> AdaptiveAvgPool2d((1, 1))(cn.randn(2, 16, 7, 5)).shape
(2, 16, 1, 1)
"""

from __future__ import annotations

import math

from convnp.arraymath.conv_arithmetic import Window, check_at_least, ntuple
from convnp.arraymath.receptive import adaptive_bins
from convnp.nn import functional as F
from convnp.nn.layer_utils import _check_bool, _checked_shape, _layer_call, _window_output
from convnp.nn.module import Module, ShapeOnly, _shape_arg
from convnp.ops.pooling import window_args

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
]

_LAYOUT = {1: "(C, L) or (N, C, L)", 2: "(C, H, W) or (N, C, H, W)", 3: "(C, D, H, W) or (N, C, D, H, W)"}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


class _Pool(Module):
    _nd = 0

    def _check(self, input) -> None:
        nd = self._nd
        self.check_input(input, ndim=(nd + 1, nd + 2), layout=_LAYOUT[nd])

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """(N, C, *spatial) -> (N, C, *window.output_size(spatial)); unbatched likewise."""
        shape = _checked_shape(self, input_shape)
        return shape[: -self._nd] + _window_output(self, shape, self.window)

    def summary_counts(self, input_shapes, output_shape) -> dict:
        """For cn.summary: no MACs; connections = out_elements * window size (LeCun et al.'s count)."""
        return {"macs": 0, "connections": math.prod(output_shape) * math.prod(self.window.kernel)}


# --------------------------------------------------------------------------------------------
# Max pooling
# --------------------------------------------------------------------------------------------
class _MaxPoolNd(_Pool):
    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False, ceil_mode: bool = False
    ) -> None:
        super().__init__()
        name = type(self).__name__
        window_args(name, self._nd, kernel_size, stride, padding, dilation)  # the attributes keep the values as given
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = _check_bool(name, "return_indices", return_indices)
        self.ceil_mode = _check_bool(name, "ceil_mode", ceil_mode)

    @property
    def window(self) -> Window:
        """kernel, stride (default: the kernel), padding as (before, after) pairs, dilation, ceil_mode."""
        return Window.of(
            self._nd, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, op=type(self).__name__
        )

    def forward(self, input):
        self._check(input)
        return _layer_call(
            self,
            _MAX_POOL[self._nd],
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling: y[n, c, i] = max_a x_pad[n, c, s*i + d*a] (x padded with -inf).

    Args (PyTorch's): kernel_size, stride=None (= kernel_size), padding=0, dilation=1,
    return_indices=False (also return the argmax positions, for MaxUnpool), ceil_mode=False.
    Shape: (N, C, L) or (C, L) -> (N, C, L_out); e.g. MaxPool1d(3, 2): (2, 3, 10) -> (2, 3, 4).
    """

    _nd = 1


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling over (N, C, H, W), each window replaced by its maximum.

    Args as :class:`MaxPool1d`, per axis. Backward sends each output's gradient to the pixel that
    won its window (the stored "switches").
    Shape: per axis out = floor((in + 2*padding - dilation*(k - 1) - 1) / stride) + 1;
    e.g. MaxPool2d(2): (2, 6, 28, 28) -> (2, 6, 14, 14).
    """

    _nd = 2


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling over (N, C, D, H, W); e.g. MaxPool3d(2): (1, 2, 8, 8, 8) -> (1, 2, 4, 4, 4)."""

    _nd = 3


class MaxUnpool2d(Module):
    """Partial inverse of MaxPool2d: every value goes back to where its maximum came from, zeros elsewhere.

    Args (PyTorch's): kernel_size, stride=None (= kernel_size), padding=0.
    ``forward(input, indices, output_size=None)``: indices from ``MaxPool2d(..., return_indices=True)``.
    Shape: out = (in - 1)*stride - 2*padding + kernel_size per axis, or ``output_size``;
    e.g. MaxUnpool2d(2): (2, 3, 4, 4) -> (2, 3, 8, 8).
    """

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        name = type(self).__name__
        kernel = ntuple(kernel_size, 2, "kernel_size", name)
        strides = kernel if stride is None else ntuple(stride, 2, "stride", name)
        pads = ntuple(padding, 2, "padding", name)
        check_at_least(kernel, 1, "kernel_size", name)
        check_at_least(strides, 1, "stride", name)
        check_at_least(pads, 0, "padding", name)
        self.kernel_size, self.stride, self.padding = kernel, strides, pads

    transposed = True  # its window is the pooling's it undoes: it maps the window's outputs back to inputs

    @property
    def window(self) -> Window:
        """The window of the max pooling it undoes."""
        return Window.of(2, self.kernel_size, self.stride, self.padding, op=type(self).__name__)

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """(N, C, H, W) -> (N, C, (H - 1)*stride - 2*padding + kernel_size, ...): the input size of
        the max pooling it undoes (its window is that pooling's)."""
        shape = _shape_arg(self, input_shape)
        self.check_input(ShapeOnly(shape), ndim=(3, 4), layout=_LAYOUT[2])
        spatial = self.window.transposed_output_size(shape[-2:])
        if min(spatial) < 1:
            self._input_error(f"the output size {spatial} is below 1, received shape {shape}")
        return shape[:-2] + spatial

    def forward(self, input, indices, output_size=None):
        self.check_input(input, ndim=(3, 4), layout=_LAYOUT[2])
        return _layer_call(
            self, F.max_unpool2d, input, indices, self.kernel_size, self.stride, self.padding, output_size
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


# --------------------------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------------------------
class _AvgPoolNd(_Pool):
    def _check_args(self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override=None):
        name = type(self).__name__
        window_args(name, self._nd, kernel_size, stride, padding)
        _check_bool(name, "ceil_mode", ceil_mode)
        _check_bool(name, "count_include_pad", count_include_pad)
        if divisor_override is not None:
            if isinstance(divisor_override, bool) or not isinstance(divisor_override, int):
                raise TypeError(
                    f"{name}: divisor_override must be an int or None. Received: divisor_override={divisor_override!r}"
                )
            if divisor_override == 0:
                raise ValueError(f"{name}: divisor_override must not be zero. Received: divisor_override=0")

    @property
    def window(self) -> Window:
        """kernel, stride (default: the kernel), padding as (before, after) pairs, no dilation, ceil_mode."""
        return Window.of(
            self._nd, self.kernel_size, self.stride, self.padding, 1, self.ceil_mode, op=type(self).__name__
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling: y[n, c, i] = (1/D[i]) sum_a x_pad[n, c, s*i + a].

    Args (PyTorch's): kernel_size, stride=None (= kernel_size), padding=0, ceil_mode=False,
    count_include_pad=True (D counts the zero padding). Attributes are 1-tuples, as in torch.
    Shape: (N, C, L) -> (N, C, L_out); e.g. AvgPool1d(3, 2): (2, 3, 10) -> (2, 3, 4).
    """

    _nd = 1

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True
    ) -> None:
        super().__init__()
        self._check_args(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.kernel_size = ntuple(kernel_size, 1, "kernel_size", "AvgPool1d")
        self.stride = ntuple(stride if stride is not None else kernel_size, 1, "stride", "AvgPool1d")
        self.padding = ntuple(padding, 1, "padding", "AvgPool1d")
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        self._check(input)
        return _layer_call(
            self,
            F.avg_pool1d,
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )


class _AvgPool23(_AvgPoolNd):
    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override=None,
    ) -> None:
        super().__init__()
        self._check_args(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        self._check(input)
        return _layer_call(
            self,
            F.avg_pool2d if self._nd == 2 else F.avg_pool3d,
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AvgPool2d(_AvgPool23):
    """2-D average pooling: y[n, c, i, j] = (1/D) sum_{a, b} x_pad[n, c, s_h*i + a, s_w*j + b].

    Args (PyTorch's): kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
    divisor_override=None (replaces D). E.g. AvgPool2d(3, 2, 1): (2, 3, 7, 7) -> (2, 3, 4, 4).
    """

    _nd = 2


class AvgPool3d(_AvgPool23):
    """3-D average pooling over (N, C, D, H, W); arguments as :class:`AvgPool2d`.

    E.g. AvgPool3d(2): (1, 2, 8, 8, 8) -> (1, 2, 4, 4, 4).
    """

    _nd = 3

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """As every pooling; and, as PyTorch's avg_pool3d, the input at least as large as the kernel."""
        shape = _checked_shape(self, input_shape)
        if any(n < k for n, k in zip(shape[-3:], self.window.kernel)):
            self._input_error(
                f"expected an input at least as large as the kernel {self.window.kernel} on every "
                f"spatial axis (PyTorch's avg_pool3d requires it, whatever the padding), received "
                f"shape {shape}"
            )
        return super().output_shape(shape)


# --------------------------------------------------------------------------------------------
# Adaptive pooling
# --------------------------------------------------------------------------------------------
def _check_output_size(name: str, output_size) -> None:
    sizes = output_size if isinstance(output_size, (list, tuple)) else (output_size,)
    if isinstance(output_size, (list, tuple)) and len(output_size) != 2:
        raise ValueError(
            f"{name}: output_size must be an int or a tuple of 2 (ints or None). Received: output_size={output_size!r}"
        )
    for v in sizes:
        if v is None and isinstance(output_size, (list, tuple)):
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(
                f"{name}: output_size must be an int or a tuple of 2 (ints or None). "
                f"Received: output_size={output_size!r}"
            )
        if v < 0:
            raise ValueError(f"{name}: output_size must not be negative. Received: output_size={output_size!r}")


class _AdaptivePool(_Pool):
    """Adaptive pooling: ``output_size`` fixes the output, the bins follow from the input size."""

    _nd = 2

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """(N, C, H, W) -> (N, C, *output_size), None keeping that axis."""
        shape = _checked_shape(self, input_shape)
        out = self.output_size
        out = (out, out) if not isinstance(out, (tuple, list)) else tuple(out)
        return shape[:-2] + tuple(s if o is None else o for s, o in zip(shape[-2:], out))

    def summary_counts(self, input_shapes, output_shape) -> dict:
        """For cn.summary: no MACs; connections = the sizes of the exact bins, over every map."""
        if not input_shapes or len(input_shapes[0]) < 3:
            return {"macs": 0, "connections": 0}
        per_map = math.prod(sum(adaptive_bins(i, o)) for i, o in zip(input_shapes[0][-2:], output_shape[-2:]))
        return {"macs": 0, "connections": math.prod(output_shape[:-2]) * per_map}


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average over PyTorch's adaptive bins, which fit any input into ``output_size``.

    Bin i of Out over In pixels is [floor(i*In/Out), ceil((i+1)*In/Out)). ``output_size``: an int or
    (H_out, W_out), None keeping that axis. E.g. AdaptiveAvgPool2d(1) is global average pooling:
    (2, 16, 7, 5) -> (2, 16, 1, 1).
    """

    _nd = 2

    def __init__(self, output_size) -> None:
        super().__init__()
        _check_output_size(type(self).__name__, output_size)
        self.output_size = output_size

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.adaptive_avg_pool2d, input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(_AdaptivePool):
    """Maximum over PyTorch's adaptive bins (see :class:`AdaptiveAvgPool2d`).

    Args: output_size, return_indices=False. E.g. AdaptiveMaxPool2d(3): (2, 3, 7, 5) -> (2, 3, 3, 3).
    """

    _nd = 2

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        _check_output_size(name, output_size)
        self.output_size = output_size
        self.return_indices = _check_bool(name, "return_indices", return_indices)

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.adaptive_max_pool2d, input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
