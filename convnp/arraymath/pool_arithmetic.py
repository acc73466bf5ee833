"""What a pooling keeps for its backward, shared by the lecture tier and the kernels tier.

:class:`PoolConfig` is ``ctx.config`` of :class:`convnp.ops.pooling.MaxPoolNd` and
:class:`~convnp.ops.pooling.AvgPoolNd` and of the max pooling kernels in :mod:`convnp.kernels.pooling`:
the window as the caller gave it (kernel, stride, padding (p, p) per axis, dilation, ceil_mode), the
input's shape with the batch axis, and the flags of max and average pooling.

The padding actually applied (:attr:`PoolConfig.applied_padding`) makes the padded input end exactly
with the last window: more than p on the right when a ceil_mode window overhangs the padding, less
when floor mode leaves the last pixels unread.

>>> from convnp.arraymath.conv_arithmetic import Window
>>> cfg = PoolConfig(Window((3,), (2,), ((1, 1),), (1,), ceil_mode=True), input_shape=(2, 3, 8))
>>> cfg.output_size, cfg.applied_padding
((5,), ((1, 2),))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from convnp.arraymath.conv_arithmetic import Window


@dataclass(frozen=True)
class PoolConfig:
    """A pooling's settings, one entry per spatial axis where it has axes (cached per call site
    by the operation's argument check, so its derived sizes are computed once)."""

    window: Window  # kernel, stride, padding (p, p) as given, dilation, ceil_mode
    input_shape: tuple[int, ...]  # (N, C, *spatial), with the batch axis
    unbatched: bool = False  # the caller's input had no batch axis (N = 1 was added)
    return_indices: bool = False  # max pooling: also return PyTorch's flat indices
    count_include_pad: bool = True  # average pooling: the zero padding counts in the divisor
    divisor_override: int | None = None  # average pooling: divide by this instead

    @cached_property
    def output_size(self) -> tuple[int, ...]:
        """(*out): the number of windows per spatial axis."""
        return self.window.output_size(self.input_shape[2:])

    @cached_property
    def output_shape(self) -> tuple[int, ...]:
        """(N, C, *out) of the batched output."""
        return (*self.input_shape[:2], *self.output_size)

    @cached_property
    def applied_padding(self) -> tuple[tuple[int, int], ...]:
        """(before, after) per axis: before as given, after exactly what the last window needs."""
        w = self.window
        return tuple(
            (before, max(0, (o - 1) * s + d * (k - 1) + 1 - n - before))
            for n, k, s, (before, _), d, o in zip(
                self.input_shape[2:], w.kernel, w.stride, w.padding, w.dilation, self.output_size
            )
        )

    @cached_property
    def padded_shape(self) -> tuple[int, ...]:
        """(N, C, *S_pad): the shape of the input padded by :attr:`applied_padding`."""
        return (
            *self.input_shape[:2],
            *(n + before + after for n, (before, after) in zip(self.input_shape[2:], self.applied_padding)),
        )

    @cached_property
    def padded(self) -> bool:
        """Whether any window reaches past the input (padding or a ceil_mode overhang)."""
        return any(before or after for before, after in self.applied_padding)
