"""The arithmetic of sliding windows: output sizes, 'same' padding, argument checking.

Every convolution and pooling in convnp sizes its output with :func:`conv_output_size`, the
lectures' formula written once::

    out = floor((in + pad_before + pad_after - dilation * (kernel - 1) - 1) / stride) + 1

With dilation 1 and symmetric padding P this is the familiar (W - F + 2P) / S + 1: a window of
F pixels fits at the positions 0, S, 2S, ... as long as it stays inside the padded input of
W + 2P pixels. A dilated kernel of F taps covers dilation * (F - 1) + 1 pixels, so that is the
effective F. When S does not divide W - F + 2P the last pixels are never covered (7x7 input,
3x3 filter, stride 3: (7 - 3) / 3 + 1 = 2.33, floored to 2). Pooling's ``ceil_mode`` rounds up
instead, adding one more window as long as it starts inside the input or its left padding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def ntuple(value, n: int, name: str, op: str) -> tuple[int, ...]:
    """Expand an int (or check a sequence) into an n-tuple of ints.

    >>> ntuple(3, 2, "kernel_size", "conv2d")
    (3, 3)
    """
    if _is_int(value):
        return (int(value),) * n
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) == n and all(_is_int(v) for v in value):
            return tuple(int(v) for v in value)
    raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints. Received: {name}={value!r}")


def check_at_least(values: Sequence[int], minimum: int, name: str, op: str) -> None:
    """Raise a ValueError naming the argument when any entry is below ``minimum``."""
    if any(v < minimum for v in values):
        shown = values[0] if len(set(values)) == 1 else tuple(values)
        raise ValueError(f"{op}: {name} must be at least {minimum}. Received: {name}={shown}")


def conv_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    pad_before: int = 0,
    pad_after: int | None = None,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of a sliding window along one axis.

    h_O = floor((h_I + p_before + p_after - (dilation * (h_K - 1) + 1)) / s) + 1

    ``ceil_mode`` (pooling only) rounds the division up, but drops a last window that would start
    in the right padding, as PyTorch does. The result may be below 1; callers report that.
    """
    if pad_after is None:
        pad_after = pad_before
    span = dilation * (kernel - 1) + 1
    room = size + pad_before + pad_after - span  # may be negative: the output is then < 1
    if ceil_mode:
        out = (room + stride - 1) // stride + 1
        if (out - 1) * stride >= size + pad_before:  # the last window would start in the padding
            out -= 1
        return out
    return room // stride + 1


@dataclass(frozen=True)
class Window:
    """The geometry of a sliding window, one entry per spatial axis: what a convolution or a
    pooling layer slides over its input, and what receptive fields and summaries read.

    >>> w = Window(kernel=(3, 3), stride=(2, 2), padding=((1, 1), (1, 1)), dilation=(1, 1))
    >>> w.output_size((32, 31))
    (16, 16)
    """

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]  # (before, after) per axis
    dilation: tuple[int, ...]
    ceil_mode: bool = False

    def output_size(self, spatial: Sequence[int]) -> tuple[int, ...]:
        """The output's spatial size for an input of spatial size ``spatial``."""
        return tuple(
            conv_output_size(n, k, s, before, after, d, self.ceil_mode)
            for n, k, s, (before, after), d in zip(spatial, self.kernel, self.stride, self.padding, self.dilation)
        )

    def transposed_output_size(
        self, spatial: Sequence[int], output_padding: Sequence[int] | None = None
    ) -> tuple[int, ...]:
        """The output's spatial size of the transposed convolution (or max unpooling) of this
        window: the input size its forward convolution maps onto ``spatial``,
        (in - 1) * s - p_before - p_after + d * (k - 1) + 1 + output_padding."""
        extra = output_padding if output_padding is not None else (0,) * len(self.kernel)
        return tuple(
            (n - 1) * s - before - after + span + q
            for n, s, (before, after), span, q in zip(spatial, self.stride, self.padding, self.span, extra)
        )

    @property
    def span(self) -> tuple[int, ...]:
        """The effective kernel per axis, dilation * (kernel - 1) + 1 pixels."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    @classmethod
    def of(
        cls, nd: int, kernel, stride=None, padding=0, dilation=1, ceil_mode: bool = False, op: str = "window"
    ) -> Window:
        """A window from a layer's arguments as given: ints or nd-tuples, ``stride=None`` meaning
        the kernel (pooling), ``padding`` an int, an nd-tuple of ints or of (before, after) pairs,
        ``'valid'`` or ``'same'`` (resolved by :func:`same_padding`).

        >>> Window.of(2, 4, padding="same").padding
        ((1, 2), (1, 2))
        >>> Window.of(1, 3, stride=None, padding=1)
        Window(kernel=(3,), stride=(3,), padding=((1, 1),), dilation=(1,), ceil_mode=False)
        """
        kernel = ntuple(kernel, nd, "kernel_size", op)
        stride = kernel if stride is None else ntuple(stride, nd, "stride", op)
        dilation = ntuple(dilation, nd, "dilation", op)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{op}: padding must be 'valid', 'same', an int or a tuple of {nd} ints. "
                    f"Received: padding={padding!r}"
                )
            pads = same_padding(kernel, dilation) if padding == "same" else [(0, 0)] * nd
        elif (
            isinstance(padding, (list, tuple))
            and len(padding) == nd
            and all(isinstance(p, (list, tuple)) for p in padding)
        ):
            pads = [(int(a), int(b)) for a, b in padding]
        else:
            pads = [(p, p) for p in ntuple(padding, nd, "padding", op)]
        return cls(kernel, stride, tuple(tuple(p) for p in pads), dilation, bool(ceil_mode))


def same_padding(kernel: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int]]:
    """PyTorch's padding='same' for stride 1: total dilation * (k - 1) per axis, the extra
    pixel of an odd total (even kernels) on the right / bottom."""
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return pads


def describe_fit(size: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1) -> str:
    """The lectures' (W - F + 2P) / S + 1 with the numbers filled in, and whether it fits."""
    span = dilation * (kernel - 1) + 1
    exact = (size - span + 2 * padding) / stride + 1
    out = conv_output_size(size, kernel, stride, padding, padding, dilation)
    text = f"({size} - {span} + 2*{padding}) / {stride} + 1 = {round(exact, 2):g}"
    if not float(exact).is_integer():
        covered = (out - 1) * stride + span
        text += (
            f" -> {out}: the stride does not fit, the last {size + 2 * padding - covered} "
            f"pixel(s) of the padded input are never covered"
        )
    return text


def prod(values) -> int:
    return math.prod(values)
