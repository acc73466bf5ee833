"""Resampling: interpolate (nearest, nearest-exact, linear, bilinear, trilinear), pixel_shuffle, pixel_unshuffle.

interpolate resizes each spatial axis separately. Along one axis of size ``in`` resized to ``out``, every
output position j reads a source coordinate src(j) (PyTorch's rules, ``scale`` as below):

    nearest         src = min(floor(j * scale), in - 1)
    nearest-exact   src = min(floor((j + 0.5) * scale), in - 1)
    linear          src = scale * j                                   (align_corners=True)
                    src = max(scale * (j + 0.5) - 0.5, 0)             (align_corners=False)
                    y_j = (1 - l) x[i0] + l x[i1],  i0 = floor(src), i1 = min(i0 + 1, in - 1), l = src - i0

    scale = (in - 1) / (out - 1) (align_corners, 0 when out = 1), else 1 / scale_factor when a scale
    factor is given (and recompute_scale_factor is not True), else in / out.

and PyTorch's shortcuts: an axis whose size does not change is copied (but not by nearest-exact), and
nearest in 2-D/3-D maps out = 2 in to src = j // 2. So one axis is a matrix A (out, in) whose row j holds the weights of y_j: y = A x along that axis, and
the backward is A^T g (the scatter-add of every weight back onto the input position it read).

pixel_shuffle (Shi et al. 2016) rearranges (*, C r^2, H, W) into (*, C, H r, W r) and pixel_unshuffle
undoes it; both are a reshape and a transpose, the backward of each is the other.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.ops.checks import float_tensor

_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5}  # mode -> the input rank it needs
_MODES = ("nearest", "nearest-exact") + tuple(_LINEAR)


def _axis_matrix(n_in: int, n_out: int, mode: str, align_corners: bool, scale_factor, dtype, k: int) -> np.ndarray:
    """The (n_out, n_in) matrix A of one axis: y = A x (the source rules of the module docstring)."""
    if n_out == n_in and mode != "nearest-exact":  # PyTorch copies an axis whose size does not change
        return np.eye(n_in)
    A = np.zeros((n_out, n_in))
    j = np.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        # PyTorch's arithmetic, so that floor() breaks ties as its kernels do: float32, except nearest-exact
        # on float64 (N, C, L) input (float64, then rounded to float32 before the floor)
        ct = np.float64 if mode == "nearest-exact" and dtype == np.float64 and k == 1 else np.float32
        scale = ct(1.0 / scale_factor) if scale_factor else ct(n_in) / ct(n_out)
        pos = j.astype(ct) + ct(0.5 if mode == "nearest-exact" else 0.0)
        src = np.minimum(np.floor((pos * scale).astype(np.float32)).astype(np.int64), n_in - 1)
        if mode == "nearest" and n_out == 2 * n_in and k > 1:  # PyTorch's 2-D/3-D kernels: doubling is j // 2
            src = j // 2
        A[j, src] = 1.0
        return A
    if align_corners:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        src = scale * j
    else:
        scale = 1.0 / scale_factor if scale_factor else n_in / n_out
        src = np.maximum(scale * (j + 0.5) - 0.5, 0.0)
    i0 = src.astype(np.int64)  # floor: src >= 0
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    np.add.at(A, (j, i0), 1.0 - lam)
    np.add.at(A, (j, i1), lam)
    return A


class Interpolate(Function):
    """y = x resized axis by axis: y = A_d x along each spatial axis d;  dL/dx = A_d^T g along each axis."""

    @staticmethod
    def forward(ctx, x, *, matrices):
        y = x
        for d, A in enumerate(matrices):  # spatial axis 2 + d: (.., in, ..) -> (.., out, ..)
            y = np.moveaxis(np.tensordot(A.astype(x.dtype), y, axes=([1], [2 + d])), 0, 2 + d)
        ctx.matrices = matrices
        return y

    @staticmethod
    def backward(ctx, grad):
        g = grad
        for d, A in enumerate(ctx.matrices):  # (.., out, ..) -> (.., in, ..): the scatter-add A^T g
            g = np.moveaxis(np.tensordot(A.T.astype(grad.dtype), g, axes=([1], [2 + d])), 0, 2 + d)
        return g


def _per_axis(name: str, value, k: int, kind):
    """An int/float or a sequence of k of them, as a tuple of k."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * k
    if len(values) != k or any(isinstance(v, bool) or not isinstance(v, kind) for v in values):
        raise ValueError(
            f"interpolate: expected {name} to be a number or a sequence of {k} (one per spatial "
            f"dimension). Received: {name}={value!r}"
        )
    return values


def interpolate_plan(
    shape,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    """interpolate's checks of its arguments for an input of ``shape``; the output's spatial size and the
    scale factors the source coordinates use (None: in / out). Upsample.output_shape asks it too."""
    shape = tuple(shape)
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(map(repr, _MODES))}. Received: mode={mode!r}")
    if len(shape) not in (3, 4, 5):
        raise ValueError(
            f"interpolate: expected input of shape (N, C, L), (N, C, H, W) or (N, C, D, H, W). "
            f"Received: input of shape {shape}"
        )
    if mode in _LINEAR and len(shape) != _LINEAR[mode]:
        raise ValueError(f"interpolate: mode {mode!r} needs {_LINEAR[mode]}-D input. Received: input of shape {shape}")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError(
            f"interpolate: align_corners can only be set with the linear modes (linear, bilinear, "
            f"trilinear). Received: align_corners={align_corners!r} with mode={mode!r}"
        )
    if antialias:
        raise ValueError("interpolate: antialias is not supported. Received: antialias=True")
    if (size is None) == (scale_factor is None):
        raise ValueError(
            f"interpolate: give exactly one of size and scale_factor. Received: size={size!r}, "
            f"scale_factor={scale_factor!r}"
        )
    k, spatial = len(shape) - 2, shape[2:]
    if size is not None:
        out = _per_axis("size", size, k, numbers.Integral)
        scales = (None,) * k
    else:
        scales = _per_axis("scale_factor", scale_factor, k, numbers.Real)
        if any(not s > 0 or not math.isfinite(s) for s in scales):
            raise ValueError(f"interpolate: scale_factor must be positive. Received: scale_factor={scale_factor!r}")
        out = tuple(math.floor(n * s) for n, s in zip(spatial, scales))
        if recompute_scale_factor:
            scales = (None,) * k
    if any(o < 1 for o in out):
        raise ValueError(
            f"interpolate: the output size must be at least 1 on every axis; it would be "
            f"{tuple(out)}. Received: input of shape {shape}, size={size!r}, "
            f"scale_factor={scale_factor!r}"
        )
    return tuple(int(o) for o in out), scales


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dimensions of (N, C, L), (N, C, H, W) or (N, C, D, H, W) input, as PyTorch does.

    Give ``size`` (the output's spatial size) or ``scale_factor`` (out = floor(in * scale_factor)), not
    both. mode: 'nearest', 'nearest-exact', 'linear' (3-D input), 'bilinear' (4-D), 'trilinear' (5-D).
    align_corners (linear modes only; default False): map the corner pixels' centres onto each other.
    recompute_scale_factor=True: compute the source coordinates from in / out, not from scale_factor.

    >>> import convnp as cn
    >>> interpolate(cn.tensor([[[1.0, 2.0]]]), scale_factor=2, mode="linear").tolist()
    [[[1.0, 1.25, 1.75, 2.0]]]
    """
    x = float_tensor("interpolate", input)
    out, scales = interpolate_plan(x.shape, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)
    spatial = x.shape[2:]
    ac = bool(align_corners)
    matrices = tuple(
        _axis_matrix(n, o, mode, ac, None if ac else s, x.dtype, len(spatial)) for n, o, s in zip(spatial, out, scales)
    )
    return Interpolate.apply(x, matrices=matrices)


# --------------------------------------------------------------------------------------------
# Pixel shuffle
# --------------------------------------------------------------------------------------------
def _shuffle(x: np.ndarray, r: int) -> np.ndarray:
    """(*, C r^2, H, W) -> (*, C, H r, W r):  y[.., c, h r + i, w r + j] = x[.., c r^2 + i r + j, h, w]."""
    *lead, C, H, W = x.shape
    y = x.reshape(*lead, C // (r * r), r, r, H, W)  # (.., C, i, j, H, W)
    y = np.moveaxis(y, (-4, -3), (-2, -1))  # (.., C, H, W, i, j)
    y = np.swapaxes(y, -3, -2)  # (.., C, H, i, W, j)
    return y.reshape(*lead, C // (r * r), H * r, W * r)


def _unshuffle(x: np.ndarray, r: int) -> np.ndarray:
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of _shuffle."""
    *lead, C, H, W = x.shape
    y = x.reshape(*lead, C, H // r, r, W // r, r)  # (.., C, H, i, W, j)
    y = np.moveaxis(y, (-3, -1), (-4, -3))  # (.., C, i, j, H, W)
    return y.reshape(*lead, C * r * r, H // r, W // r)


class PixelShuffle(Function):
    """y = shuffle(x);  dL/dx = unshuffle(g)."""

    @staticmethod
    def forward(ctx, x, *, r):
        ctx.r = r
        return _shuffle(x, r)

    @staticmethod
    def backward(ctx, grad):
        return _unshuffle(grad, ctx.r)


class PixelUnshuffle(Function):
    """y = unshuffle(x);  dL/dx = shuffle(g)."""

    @staticmethod
    def forward(ctx, x, *, r):
        ctx.r = r
        return _unshuffle(x, r)

    @staticmethod
    def backward(ctx, grad):
        return _shuffle(grad, ctx.r)


def _factor(op: str, name: str, r) -> int:
    if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 1:
        raise ValueError(f"{op}: {name} must be a positive int. Received: {name}={r!r}")
    return int(r)


def pixel_shuffle(input, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r) with r = upscale_factor (sub-pixel convolution, Shi et al. 2016).

    >>> import convnp as cn
    >>> pixel_shuffle(cn.zeros(1, 8, 3, 5), 2).shape
    (1, 2, 6, 10)
    """
    x = float_tensor("pixel_shuffle", input)
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ValueError(
            f"pixel_shuffle: expected input of shape (*, C * {r * r}, H, W) (channels divisible by "
            f"upscale_factor ** 2). Received: input of shape {x.shape}"
        )
    return PixelShuffle.apply(x, r=r)


def pixel_unshuffle(input, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W) with r = downscale_factor; the inverse of pixel_shuffle.

    >>> import convnp as cn
    >>> pixel_unshuffle(cn.zeros(1, 2, 6, 10), 2).shape
    (1, 8, 3, 5)
    """
    x = float_tensor("pixel_unshuffle", input)
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    if x.ndim < 3 or x.shape[-1] % r or x.shape[-2] % r:
        raise ValueError(
            f"pixel_unshuffle: expected input of shape (*, C, H * {r}, W * {r}) (height and width "
            f"divisible by downscale_factor). Received: input of shape {x.shape}"
        )
    return PixelUnshuffle.apply(x, r=r)
