"""What a convolution keeps for its backward, shared by the lecture tier and the kernels tier.

:class:`ConvConfig` is ``ctx.config`` of :class:`convnp.ops.convolution.ConvNd`,
:class:`~convnp.ops.convolution.ConvTransposeNd` and of their kernels in :mod:`convnp.kernels.conv`:
the window (kernel, stride, the padding actually applied as (before, after) pairs, dilation),
the groups and the input's shape. :func:`cut_or_extend` is the one array helper both tiers need
for transposed convolutions: cut the padding off the full scatter, or put it back.

>>> from convnp.arraymath.conv_arithmetic import Window
>>> cfg = ConvConfig(Window((3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)), groups=1, input_shape=(8, 3, 32, 32))
>>> cfg.output_shape((16, 3, 3, 3))
(8, 16, 16, 16)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convnp.arraymath.conv_arithmetic import Window
from convnp.arraymath.im2col import pad_spatial


@dataclass(frozen=True)
class ConvConfig:
    """A convolution's settings, one entry per spatial axis where it has axes.

    For a transposed convolution ``window`` is that of the convolution whose input gradient it
    is (its ``padding`` is cut off both sides of the full scatter) and ``output_padding`` is
    not None."""

    window: Window  # kernel, stride, padding (before, after) as applied, dilation
    groups: int
    input_shape: tuple[int, ...]  # (N, C_in, *spatial), with the batch axis
    unbatched: bool = False  # the caller's input had no batch axis (N = 1 was added)
    output_padding: tuple[int, ...] | None = None  # transposed only: zeros appended at the end of each axis

    @property
    def transposed(self) -> bool:
        return self.output_padding is not None

    def full_size(self) -> tuple[int, ...]:
        """Transposed: the full scatter before padding is cut, (in - 1)*s + d*(k - 1) + 1 per axis."""
        w = self.window
        return tuple(
            (i - 1) * s + d * (k - 1) + 1 for i, k, s, d in zip(self.input_shape[2:], w.kernel, w.stride, w.dilation)
        )

    def output_shape(self, weight_shape) -> tuple[int, ...]:
        """(N, C_out, *out) of the batched output."""
        n, w = self.input_shape[0], self.window
        if self.transposed:
            out = tuple(f - a - b + q for f, (a, b), q in zip(self.full_size(), w.padding, self.output_padding))
            return (n, weight_shape[1] * self.groups, *out)
        return (n, weight_shape[0], *w.output_size(self.input_shape[2:]))


def cut_or_extend(x: np.ndarray, starts, lengths) -> np.ndarray:
    """x[:, :, start:start + length] on every spatial axis; a negative start or an end past the
    input reads zeros there (a view when nothing needs zeros).

    >>> cut_or_extend(np.arange(5.0).reshape(1, 1, 5), [-1], [4])[0, 0]
    array([0., 0., 1., 2.])
    """
    pads = [(max(0, -s), max(0, s + n - size)) for s, n, size in zip(starts, lengths, x.shape[2:])]
    x = pad_spatial(x, pads)
    cut = tuple(slice(s + before, s + before + n) for s, n, (before, _) in zip(starts, lengths, pads))
    return x[(slice(None), slice(None)) + cut]
