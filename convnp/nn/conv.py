"""Convolution layers: Conv1d/2d/3d, ConvTranspose1d/2d/3d and LocallyConnected2d (torch.nn's constructors).

A convolution layer holds a bank of filters and slides each over the input (the lectures'
"convolve the filter with the image"): output channel o at position i is

    y[n, o, i] = b[o] + sum_c sum_a  x_pad[n, c, s*i + d*a] * w[o, c, a]

with one output size per axis ``out = floor((in + 2*padding - dilation*(k - 1) - 1) / stride) + 1``,
the lectures' (W - F + 2P) / S + 1. Parameters (PyTorch's names and shapes)::

    Conv2d           weight (out_channels, in_channels / groups, kh, kw),  bias (out_channels,)
    ConvTranspose2d  weight (in_channels, out_channels / groups, kh, kw),  bias (out_channels,)
    LocallyConnected2d  weight (out_h, out_w, out_channels, in_channels, kh, kw), bias (out_channels, out_h, out_w)

Default initialisation is PyTorch's: ``kaiming_uniform_(weight, a=sqrt(5))``, which is
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.shape[1] * prod(kernel) (so for a
transposed convolution out_channels / groups * prod(kernel), as PyTorch computes it), and the
bias from the same interval.

``padding_mode`` other than 'zeros' pads the input with ``F.pad`` (reflect, replicate, circular)
by ``_reversed_padding_repeated_twice`` and then convolves without padding, exactly as PyTorch.

>>> import convnp as cn
>>> Conv2d(1, 6, 5, padding=2)(cn.randn(2, 1, 28, 28)).shape
(2, 6, 28, 28)
>>> ConvTranspose2d(8, 4, 4, stride=2, padding=1)(cn.randn(1, 8, 16, 16)).shape
(1, 4, 32, 32)
"""

from __future__ import annotations

import math

import numpy as np

from convnp.arraymath.conv_arithmetic import Window, check_at_least, ntuple, same_padding
from convnp.nn import functional as F
from convnp.nn import init
from convnp.nn.layer_utils import (
    _check_bool,
    _check_int,
    _checked_shape,
    _factory_dtype,
    _layer_call,
    _reset_fan_in_uniform,
    _window_output,
)
from convnp.nn.module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LocallyConnected2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_LAYOUT = {1: "(C, L) or (N, C, L)", 2: "(C, H, W) or (N, C, H, W)", 3: "(C, D, H, W) or (N, C, D, H, W)"}
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _reverse_repeat_tuple(t) -> list[int]:
    """(p_h, p_w) -> [p_w, p_w, p_h, p_h]: F.pad's order (last axis first, before and after)."""
    return [x for x in reversed(t) for _ in range(2)]


class _ConvNd(Module):
    """Shared constructor of the convolution layers (PyTorch's _ConvNd): checks the arguments,
    keeps them as attributes (tuples), creates ``weight`` and ``bias`` and initialises them."""

    _nd = 0

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        transposed,
        output_padding,
        groups,
        bias,
        padding_mode,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        dt = _factory_dtype(name, device, dtype)
        in_channels = _check_int(name, "in_channels", in_channels, 1)
        out_channels = _check_int(name, "out_channels", out_channels, 1)
        groups = _check_int(name, "groups", groups, 1)
        if in_channels % groups:
            raise ValueError(
                f"{name}: in_channels must be divisible by groups. Received: in_channels={in_channels}, groups={groups}"
            )
        if out_channels % groups:
            raise ValueError(
                f"{name}: out_channels must be divisible by groups. "
                f"Received: out_channels={out_channels}, groups={groups}"
            )
        kernel_size = ntuple(kernel_size, nd, "kernel_size", name)
        stride = ntuple(stride, nd, "stride", name)
        dilation = ntuple(dilation, nd, "dilation", name)
        check_at_least(kernel_size, 1, "kernel_size", name)
        check_at_least(stride, 1, "stride", name)
        check_at_least(dilation, 1, "dilation", name)
        if isinstance(padding, str):
            if transposed or padding not in ("same", "valid"):
                allowed = "an int or a tuple" if transposed else "'valid', 'same', an int or a tuple"
                raise ValueError(f"{name}: padding must be {allowed} of {nd} ints. Received: padding={padding!r}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided convolutions "
                    f"(expected stride 1). Received: stride={stride}"
                )
        else:
            padding = ntuple(padding, nd, "padding", name)
            check_at_least(padding, 0, "padding", name)
        output_padding = ntuple(output_padding, nd, "output_padding", name)
        check_at_least(output_padding, 0, "output_padding", name)
        if any(q >= s and q >= d for q, s, d in zip(output_padding, stride, dilation)):
            raise ValueError(
                f"{name}: output_padding must be smaller than either stride or dilation on every axis. "
                f"Received: output_padding={output_padding}, stride={stride}, dilation={dilation}"
            )
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {', '.join(map(repr, _PADDING_MODES))}. "
                f"Received: padding_mode={padding_mode!r}"
            )
        if transposed and padding_mode != "zeros":
            raise ValueError(
                f"{name}: only padding_mode='zeros' is supported for transposed convolutions. "
                f"Received: padding_mode={padding_mode!r}"
            )
        bias = _check_bool(name, "bias", bias)

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's argument for the non-zero padding modes: last axis first, (before, after) pairs
        if isinstance(padding, str):
            self._reversed_padding_repeated_twice = [0, 0] * nd
            if padding == "same":
                self._reversed_padding_repeated_twice = [
                    p for pair in reversed(same_padding(kernel_size, dilation)) for p in pair
                ]
        else:
            self._reversed_padding_repeated_twice = _reverse_repeat_tuple(padding)
        if transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: W ~ kaiming_uniform_(a=sqrt(5)), b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
        _reset_fan_in_uniform(self.weight, self.bias, fan_in)

    def _check(self, input) -> None:
        nd = self._nd
        self.check_input(
            input, ndim=(nd + 1, nd + 2), channels=self.in_channels, channel_axis=-(nd + 1), layout=_LAYOUT[nd]
        )

    @property
    def window(self) -> Window:
        """The sliding window (of the forward convolution, for a transposed one): kernel, stride,
        padding as (before, after) pairs ('same' resolved), dilation."""
        return Window.of(self._nd, self.kernel_size, self.stride, self.padding, self.dilation, op=type(self).__name__)

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------
class _Conv(_ConvNd):
    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            False,
            0,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def _conv_forward(self, input, weight, bias):
        conv = _CONV[self._nd]
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        self._check(input)
        return _layer_call(self, self._conv_forward, input, self.weight, self.bias)

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """(N, C_in, *spatial) -> (N, C_out, *window.output_size(spatial)); unbatched likewise."""
        shape = _checked_shape(self, input_shape)
        if self.padding_mode != "zeros":  # reflect / circular padding has its own limits: F.pad's checks
            _layer_call(
                self,
                F.pad,
                np.broadcast_to(np.zeros((), np.float32), shape),
                self._reversed_padding_repeated_twice,
                mode=self.padding_mode,
            )
        return shape[: -self._nd - 1] + (self.out_channels,) + _window_output(self, shape, self.window)

    def summary_counts(self, input_shapes, output_shape) -> dict:
        """For cn.summary: MACs = out_elements * C_in/groups * prod(kernel) (each output sums that many
        products); connections = MACs + out_elements (each output's bias) when there is a bias."""
        out_el = math.prod(output_shape)
        macs = out_el * (self.in_channels // self.groups) * math.prod(self.kernel_size)
        return {"macs": macs, "connections": macs + out_el * (self.bias is not None)}


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L): weight (out_channels, in_channels/groups, k).

    Args (PyTorch's): in_channels, out_channels, kernel_size, stride=1, padding=0 (int, tuple,
    'valid' or 'same'), dilation=1, groups=1, bias=True, padding_mode='zeros' ('reflect',
    'replicate', 'circular'), device=None, dtype=None.

    Shape: (N, C_in, L) or (C_in, L) -> (N, C_out, L_out),
    L_out = floor((L + 2*padding - dilation*(k - 1) - 1) / stride) + 1; e.g. Conv1d(4, 6, 3, padding=1):
    (2, 4, 10) -> (2, 6, 10).
    """

    _nd = 1


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W): weight (out_channels, in_channels/groups, kh, kw).

    y[n, o, i, j] = b[o] + sum_{c, a, b'} x_pad[n, c, s_h*i + d_h*a, s_w*j + d_w*b'] * w[o, c, a, b']

    Args (PyTorch's): in_channels, out_channels, kernel_size, stride=1, padding=0 (int, pair,
    'valid' or 'same'), dilation=1, groups=1, bias=True, padding_mode='zeros' ('reflect',
    'replicate', 'circular'), device=None, dtype=None.

    Shape: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out), per axis
    out = floor((in + 2*padding - dilation*(k - 1) - 1) / stride) + 1; e.g. Conv2d(1, 6, 5, padding=2):
    (2, 1, 28, 28) -> (2, 6, 28, 28).
    """

    _nd = 2


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W): weight (out_channels, in_channels/groups, kd, kh, kw).

    Arguments and output size as :class:`Conv2d`, per axis; e.g. Conv3d(2, 4, 3, stride=2):
    (1, 2, 8, 8, 8) -> (1, 4, 3, 3, 3).
    """

    _nd = 3


# --------------------------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------------------------
class _ConvTranspose(_ConvNd):
    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            True,
            output_padding,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def _output_padding(self, input, output_size) -> tuple[int, ...]:
        """The output_padding that gives ``output_size`` (PyTorch's rule), or the layer's own."""
        nd = self._nd
        if output_size is None:
            return self.output_padding
        shape = tuple(np.shape(input))
        size = tuple(output_size)
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size):
            raise TypeError(
                f"{type(self).__name__}: output_size must be a sequence of ints. Received: output_size={output_size!r}"
            )
        non_spatial = 2 if len(shape) == nd + 2 else 1
        if len(size) == non_spatial + nd:
            size = size[non_spatial:]
        if len(size) != nd:
            self._input_error(
                f"expected output_size with {nd} or {non_spatial + nd} elements for a {len(shape)}D "
                f"input, received output_size={tuple(output_size)}"
            )
        low = self.window.transposed_output_size(shape[-nd:])  # output_padding 0
        high = tuple(m + s - 1 for m, s in zip(low, self.stride))
        if any(not lo <= v <= hi for v, lo, hi in zip(size, low, high)):
            self._input_error(
                f"expected output_size between {low} and {high} for an input of spatial size "
                f"{shape[-nd:]}, received output_size={tuple(output_size)}"
            )
        return tuple(int(v) - m for v, m in zip(size, low))

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """(N, C_in, *spatial) -> (N, C_out, *out): out = (in - 1)*s - 2p + d*(k - 1) + 1 + output_padding."""
        shape = _checked_shape(self, input_shape)
        spatial = self.window.transposed_output_size(shape[-self._nd :], self.output_padding)
        if min(spatial) < 1:
            self._input_error(
                f"the output size {spatial} is below 1 for an input of spatial size "
                f"{shape[-self._nd :]}, received shape {shape}"
            )
        return shape[: -self._nd - 1] + (self.out_channels,) + spatial

    def summary_counts(self, input_shapes, output_shape) -> dict:
        """For cn.summary: MACs = in_elements * C_out/groups * prod(kernel) (each input is spread over
        that many outputs); connections = MACs + out_elements when there is a bias."""
        out_el = math.prod(output_shape)
        macs = math.prod(input_shapes[0]) * (self.out_channels // self.groups) * math.prod(self.kernel_size)
        return {"macs": macs, "connections": macs + out_el * (self.bias is not None)}

    def forward(self, input, output_size=None):
        self._check(input)
        output_padding = self._output_padding(input, output_size)
        return _layer_call(
            self,
            _CONV_T[self._nd],
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution ("deconvolution"): weight (in_channels, out_channels/groups, k).

    Args (PyTorch's): in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
    groups=1, bias=True, dilation=1, padding_mode='zeros', device=None, dtype=None;
    ``forward(input, output_size=None)`` may ask for an output size (it sets output_padding).

    Shape: L_out = (L - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1;
    e.g. ConvTranspose1d(4, 3, 4, stride=2, padding=1): (2, 4, 5) -> (2, 3, 10).
    """

    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution: the gradient of Conv2d with respect to its input, as a layer.

    weight (in_channels, out_channels/groups, kh, kw). Arguments as :class:`ConvTranspose1d`.
    Shape per axis: out = (in - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1;
    e.g. ConvTranspose2d(8, 4, 4, stride=2, padding=1): (1, 8, 16, 16) -> (1, 4, 32, 32).
    """

    _nd = 2


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution: weight (in_channels, out_channels/groups, kd, kh, kw).

    E.g. ConvTranspose3d(2, 4, 3, stride=2): (1, 2, 3, 3, 3) -> (1, 4, 7, 7, 7).
    """

    _nd = 3


# --------------------------------------------------------------------------------------------
# Locally connected
# --------------------------------------------------------------------------------------------
class LocallyConnected2d(Module):
    """A convolution without weight sharing: every output position (i, j) has its own filters.

        y[n, o, i, j] = b[o, i, j] + sum_{c, a, b} W[i, j, o, c, a, b] * x_pad[n, c, s_h*i + a, s_w*j + b]

    Args:
        in_channels, out_channels, kernel_size, stride=1, padding=0 (zeros), bias=True: as Conv2d.
        input_size: (H, W) of the input (an int for a square input). The layer owns one filter
            bank per output position, so it is built for one input size (Keras' LocallyConnected2D
            infers it from the input; here it is given).
        device, dtype: "cpu" only; parameter dtype (float32 by default).

    Attributes: ``output_size`` (out_h, out_w), out = floor((in + 2*padding - k) / stride) + 1.
    Parameters: ``weight`` (out_h, out_w, out_channels, in_channels, kh, kw), the layout of
    :func:`convnp.nn.functional.locally_connected2d`; ``bias`` (out_channels, out_h, out_w). Both
    are drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels * kh * kw (the bound
    of Conv2d's default initialisation, since each output unit sees the same fan-in).

    Shape: (N, C_in, H, W) -> (N, C_out, out_h, out_w); e.g. LocallyConnected2d(3, 4, 3, (8, 8)):
    (2, 3, 8, 8) -> (2, 4, 6, 6) with 6*6*4*3*3*3 = 3888 weights (Conv2d: 108).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        input_size,
        stride=1,
        padding=0,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        dt = _factory_dtype(name, device, dtype)
        self.in_channels = _check_int(name, "in_channels", in_channels, 1)
        self.out_channels = _check_int(name, "out_channels", out_channels, 1)
        self.kernel_size = ntuple(kernel_size, 2, "kernel_size", name)
        self.input_size = ntuple(input_size, 2, "input_size", name)
        self.stride = ntuple(stride, 2, "stride", name)
        self.padding = ntuple(padding, 2, "padding", name)
        check_at_least(self.kernel_size, 1, "kernel_size", name)
        check_at_least(self.input_size, 1, "input_size", name)
        check_at_least(self.stride, 1, "stride", name)
        check_at_least(self.padding, 0, "padding", name)
        out = self.window.output_size(self.input_size)
        if min(out) < 1:
            padded = tuple(n + 2 * p for n, p in zip(self.input_size, self.padding))
            raise ValueError(
                f"{name}: the kernel {self.kernel_size} does not fit in the padded input {padded}, so "
                f"there is no output position. Received: input_size={self.input_size}, "
                f"kernel_size={self.kernel_size}, padding={self.padding}"
            )
        self.output_size = out
        kh, kw = self.kernel_size
        self.weight = Parameter(np.empty((*out, self.out_channels, self.in_channels, kh, kw), dtype=dt))
        if _check_bool(name, "bias", bias):
            self.bias = Parameter(np.empty((self.out_channels, *out), dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels * kh * kw."""
        bound = 1 / math.sqrt(self.in_channels * math.prod(self.kernel_size))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    @property
    def window(self) -> Window:
        """The window every output position's own filter reads (no dilation)."""
        return Window.of(2, self.kernel_size, self.stride, self.padding, op=type(self).__name__)

    def _check(self, input) -> None:
        self.check_input(input, ndim=4, channels=self.in_channels, layout="(N, C, H, W)")
        shape = tuple(input.shape) if hasattr(input, "shape") else tuple(np.shape(input))
        if shape[2:] != self.input_size:
            self._input_error(
                f"expected input of spatial size (H, W) = {self.input_size} (the input_size the "
                f"layer was built for), received shape {shape}"
            )

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """(N, C_in, *input_size) -> (N, C_out, *output_size)."""
        shape = _checked_shape(self, input_shape)
        return (shape[0], self.out_channels) + self.output_size

    def summary_counts(self, input_shapes, output_shape) -> dict:
        """For cn.summary: MACs = out_elements * C_in * prod(kernel); connections MACs + out_elements with a bias."""
        out_el = math.prod(output_shape)
        macs = out_el * self.in_channels * math.prod(self.kernel_size)
        return {"macs": macs, "connections": macs + out_el * (self.bias is not None)}

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.locally_connected2d, input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"input_size={self.input_size}, stride={self.stride}"
        )
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s
