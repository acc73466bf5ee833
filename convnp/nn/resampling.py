"""Resampling layers: Upsample (F.interpolate as a layer), PixelShuffle and PixelUnshuffle.

>>> import convnp as cn
>>> Upsample(scale_factor=2, mode="bilinear")(cn.randn(1, 3, 5, 7)).shape
(1, 3, 10, 14)
>>> PixelShuffle(2)(cn.randn(1, 12, 4, 4)).shape
(1, 3, 8, 8)
"""

from __future__ import annotations

from convnp.nn import functional as F
from convnp.nn.layer_utils import _check_int, _checked_shape, _layer_call
from convnp.nn.module import Module, _shape_arg
from convnp.ops.resampling import _LINEAR, _MODES, interpolate_plan

__all__ = ["Upsample", "PixelShuffle", "PixelUnshuffle"]


class Upsample(Module):
    """Resize the spatial dimensions: F.interpolate with the layer's arguments (PyTorch's Upsample).

    Args: size or scale_factor (exactly one), mode='nearest' ('nearest-exact', 'linear', 'bilinear',
    'trilinear'), align_corners=None (linear modes only), recompute_scale_factor=None.
    Shape: (N, C, *spatial) -> (N, C, *size) or (N, C, *floor(spatial * scale_factor)).
    """

    def __init__(
        self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None, recompute_scale_factor=None
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if mode not in _MODES:
            raise ValueError(f"{name}: mode must be one of {', '.join(map(repr, _MODES))}. Received: mode={mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError(
                f"{name}: give exactly one of size and scale_factor. Received: size={size!r}, "
                f"scale_factor={scale_factor!r}"
            )
        if align_corners is not None and mode not in _LINEAR:
            raise ValueError(
                f"{name}: align_corners can only be set with the linear modes (linear, bilinear, "
                f"trilinear). Received: align_corners={align_corners!r} with mode={mode!r}"
            )
        self.size = tuple(size) if isinstance(size, list) else size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) else scale_factor
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def _args(self):
        return self.size, self.scale_factor, self.mode, self.align_corners, self.recompute_scale_factor

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """(N, C, *spatial) -> (N, C, *the output size interpolate computes)."""
        shape = _shape_arg(self, input_shape)
        try:
            out, _ = interpolate_plan(shape, *self._args())
        except ValueError as err:
            self._input_error(str(err))
        return shape[:2] + out

    def forward(self, input):
        return _layer_call(self, F.interpolate, input, *self._args())

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode='{self.mode}'"


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r), r = upscale_factor (sub-pixel convolution, Shi et al. 2016)."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = _check_int(type(self).__name__, "upscale_factor", upscale_factor, 1)

    def _check(self, input) -> None:
        shape, r = tuple(input.shape), self.upscale_factor
        if len(shape) < 3 or shape[-3] % (r * r):
            self._input_error(
                f"expected input of shape (*, C * {r * r}, H, W) (channels divisible by "
                f"upscale_factor ** 2), received shape {shape}"
            )

    def output_shape(self, input_shape) -> tuple[int, ...]:
        *lead, c, h, w = _checked_shape(self, input_shape)
        r = self.upscale_factor
        return (*lead, c // (r * r), h * r, w * r)

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.pixel_shuffle, input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W), r = downscale_factor; the inverse of PixelShuffle."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = _check_int(type(self).__name__, "downscale_factor", downscale_factor, 1)

    def _check(self, input) -> None:
        shape, r = tuple(input.shape), self.downscale_factor
        if len(shape) < 3 or shape[-1] % r or shape[-2] % r:
            self._input_error(
                f"expected input of shape (*, C, H * {r}, W * {r}) (height and width divisible by "
                f"downscale_factor), received shape {shape}"
            )

    def output_shape(self, input_shape) -> tuple[int, ...]:
        *lead, c, h, w = _checked_shape(self, input_shape)
        r = self.downscale_factor
        return (*lead, c * r * r, h // r, w // r)

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.pixel_unshuffle, input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
