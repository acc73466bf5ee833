"""im2col and col2im: a convolution as one matrix product.

Sliding a kernel over an image is a dot product at every position. im2col writes the patch
under every position as one column of a matrix, so that all those dot products become a single
GEMM (the lectures' vectorisation slide)::

    x: (N, C, H, W)  --im2col-->  cols: (C*kh*kw, N*Ho*Wo)
    weight: (C_out, C*kh*kw) @ cols  ->  (C_out, N*Ho*Wo)  ->  (N, C_out, Ho, Wo)

Rows are ordered (channel, kernel offset) like a flattened weight; columns (sample, output
position). With this layout, the copy for one kernel offset moves whole contiguous image rows.
col2im is its adjoint: every column entry is added back onto the pixel it was copied from. It is
the transposed convolution, the backward of im2col. Everything here works for any number of
spatial axes (1-D, 2-D, 3-D).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convnp.arraymath.conv_arithmetic import conv_output_size


def pad_spatial(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """Pad the spatial axes of (N, C, *spatial); ``pads`` is one (before, after) pair per axis."""
    if all(a == 0 and b == 0 for a, b in pads):
        return x
    return np.pad(x, [(0, 0), (0, 0), *pads], mode="constant", constant_values=value)


def window_counts(spatial, kernel, stride, dilation) -> tuple[int, ...]:
    """How many whole windows fit along each axis of an (already padded) input."""
    return tuple(conv_output_size(s, k, st, 0, 0, d) for s, k, st, d in zip(spatial, kernel, stride, dilation))


def sliding_windows(x: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """A read-only view of every window: (N, C, *spatial) -> (N, C, *out, *kernel), no copy.

    Element [n, c, i, j, a, b] is x[n, c, i*stride + a*dilation, j*stride + b*dilation].
    """
    nd = len(kernel)
    out = window_counts(x.shape[2:], kernel, stride, dilation)
    spatial_strides = x.strides[2:]
    shape = x.shape[:2] + out + tuple(kernel)
    strides = (
        x.strides[:2]
        + tuple(st * s for st, s in zip(stride, spatial_strides))
        + tuple(d * s for d, s in zip(dilation, spatial_strides))
    )
    assert len(shape) == 2 + 2 * nd
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def im2col(x: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """(N, C, *spatial) -> (C*prod(kernel), N*prod(out)); the input is already padded."""
    n, c = x.shape[:2]
    nd = len(kernel)
    win = sliding_windows(x, kernel, stride, dilation)  # (N, C, *out, *k)
    out = win.shape[2 : 2 + nd]
    # (N, C, *out, *k) -> (C, *k, N, *out), then one copy into rows of (C*k, N*out)
    order = (1, *range(2 + nd, 2 + 2 * nd), 0, *range(2, 2 + nd))
    return np.ascontiguousarray(win.transpose(order)).reshape(c * math.prod(kernel), n * math.prod(out))


def col2im(cols: np.ndarray, padded_shape, kernel, stride, dilation) -> np.ndarray:
    """Adjoint of :func:`im2col`: (C*prod(kernel), N*prod(out)) -> (N, C, *padded_spatial).

    Each kernel offset's row block goes back onto the pixels that offset read, added where
    windows overlap. The loop runs over kernel offsets only (9 for a 3x3 kernel), never pixels.
    """
    n, c = padded_shape[:2]
    spatial = padded_shape[2:]
    nd = len(kernel)
    out = window_counts(spatial, kernel, stride, dilation)
    blocks = cols.reshape(c, *kernel, n, *out)  # (C, *k, N, *out)
    dx = np.zeros((c, n, *spatial), dtype=cols.dtype)  # built as (C, N, ...) to match
    for offset in itertools.product(*(range(k) for k in kernel)):
        target = tuple(slice(o * d, o * d + st * (m - 1) + 1, st) for o, d, st, m in zip(offset, dilation, stride, out))
        dx[(slice(None), slice(None)) + target] += blocks[(slice(None),) + offset]
    return dx.transpose(1, 0, *range(2, 2 + nd))  # (C, N, ...) -> (N, C, ...)
