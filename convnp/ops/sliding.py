"""The sliding dot product / sliding window in plain loops: the slow, obviously correct oracle
that tests hold both tiers to.

Convolution and pooling as the lectures draw them. The lecture tier (im2col + GEMM in
convolution.py, the pooling Functions) and every kernel of convnp/kernels (the shifted GEMMs, the
depthwise multiply-adds, ...) are tested against these functions. They slide a window over the
(zero-padded) input and take one dot product per output position, ``np.sum(patch * kernel)``,
with a Python loop over the output positions: the only place in convnp where such a loop is
allowed, because here the point is to be read, not to be fast. Batch and channels are handled
inside the loop body by broadcasting. No engine runs this code: it is for reading and testing.

All functions work for any number of spatial axes (1-D, 2-D, 3-D) on (N, C, *spatial) arrays;
``pads`` is one (before, after) pair per spatial axis, as in ``conv_forward``'s callers.

Convolution (cross-correlation; x is the zero-padded input, s the stride, d the dilation)::

    y[n, o, i]     = sum_c sum_a  x[n, c, s*i + d*a] * w[o, c, a]
    dL/dw[o, c, a] = sum_n sum_i  g[n, o, i] * x[n, c, s*i + d*a]
    dL/dx[n, c, p] = sum over (o, i, a) with s*i + d*a = p of  g[n, o, i] * w[o, c, a]

Read at one output position i, the two gradients say: the patch under position i receives
g[n, o, i] * w[o] (every pixel that took part in the dot product gets the weight it was
multiplied by), and the kernel receives g[n, o, i] * patch (every weight gets the pixel it was
multiplied by). That is how the backward functions below are written.

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 1, 4, 4); w = np.ones((1, 1, 2, 2))
>>> conv_forward(x, w, [(0, 0), (0, 0)], (2, 2), (1, 1), 1)[0, 0]
array([[10., 18.],
       [42., 50.]])
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from convnp.arraymath.conv_arithmetic import conv_output_size
from convnp.arraymath.im2col import pad_spatial


def _window(i, kernel, stride, dilation) -> tuple:
    """The index of the receptive field of output position i: (..., s*i + d*a for a < k, ...)."""
    return tuple(slice(s * p, s * p + d * (k - 1) + 1, d) for p, k, s, d in zip(i, kernel, stride, dilation))


def _out_size(padded, kernel, stride, dilation) -> tuple[int, ...]:
    return tuple(conv_output_size(p, k, s, 0, 0, d) for p, k, s, d in zip(padded, kernel, stride, dilation))


# ============================================================================================
# Convolution
# ============================================================================================


def conv_forward(x, w, pads, stride, dilation, groups):
    """y = x (*) w, one dot product per output position: (N, C_in, *s), (C_out, C_in/G, *k) -> (N, C_out, *out)."""
    nd = w.ndim - 2
    kernel = w.shape[2:]
    xp = pad_spatial(x, pads)  # (N, C_in, *padded)
    out = _out_size(xp.shape[2:], kernel, stride, dilation)
    n, cout, cig = x.shape[0], w.shape[0], w.shape[1]
    og = cout // groups
    y = np.zeros((n, cout, *out), dtype=np.result_type(x, w))
    taps = tuple(range(2, 3 + nd))  # the (channel, *kernel) axes of a patch
    for i in itertools.product(*(range(o) for o in out)):  # every output position
        where = _window(i, kernel, stride, dilation)
        for g in range(groups):
            patch = xp[(slice(None), slice(g * cig, (g + 1) * cig)) + where]  # (N, C_in/G, *k)
            kernel_g = w[g * og : (g + 1) * og]  # (C_out/G, C_in/G, *k)
            # the lectures' np.sum(patch * kernel), for every sample and output channel at once
            y[(slice(None), slice(g * og, (g + 1) * og)) + i] = np.sum(patch[:, None] * kernel_g[None], axis=taps)
    return y


def conv_input_grad(g, w, x_shape, pads, stride, dilation, groups):
    """dL/dx: every patch gets back the kernel weighted by the gradient of its output position."""
    nd = w.ndim - 2
    kernel = w.shape[2:]
    padded = tuple(s + a + b for s, (a, b) in zip(x_shape[2:], pads))
    cig, og = w.shape[1], w.shape[0] // groups
    dxp = np.zeros((x_shape[0], x_shape[1], *padded), dtype=g.dtype)  # (N, C_in, *padded)
    for i in itertools.product(*(range(o) for o in g.shape[2:])):
        where = _window(i, kernel, stride, dilation)
        for grp in range(groups):
            gi = g[(slice(None), slice(grp * og, (grp + 1) * og)) + i]  # (N, C_out/G)
            kernel_g = w[grp * og : (grp + 1) * og]  # (C_out/G, C_in/G, *k)
            contribution = np.sum(gi[(...,) + (None,) * (nd + 1)] * kernel_g[None], axis=1)  # (N, C_in/G, *k)
            dxp[(slice(None), slice(grp * cig, (grp + 1) * cig)) + where] += contribution
    crop = tuple(slice(a, a + s) for s, (a, _) in zip(x_shape[2:], pads))
    return np.ascontiguousarray(dxp[(slice(None), slice(None)) + crop])


def conv_weight_grad(g, x, w_shape, pads, stride, dilation, groups):
    """dL/dw: every weight collects the pixels it multiplied, weighted by their output's gradient."""
    nd = len(w_shape) - 2
    kernel = w_shape[2:]
    xp = pad_spatial(x, pads)
    cig, og = w_shape[1], w_shape[0] // groups
    dw = np.zeros(w_shape, dtype=g.dtype)  # (C_out, C_in/G, *k)
    for i in itertools.product(*(range(o) for o in g.shape[2:])):
        where = _window(i, kernel, stride, dilation)
        for grp in range(groups):
            patch = xp[(slice(None), slice(grp * cig, (grp + 1) * cig)) + where]  # (N, C_in/G, *k)
            gi = g[(slice(None), slice(grp * og, (grp + 1) * og)) + i]  # (N, C_out/G)
            dw[grp * og : (grp + 1) * og] += np.sum(gi[(...,) + (None,) * (nd + 1)] * patch[:, None], axis=0)
    return dw


# ============================================================================================
# Pooling (forward only; the pooling module's fast paths are compared with these)
# ============================================================================================


def _pool_geometry(x, kernel, stride, padding, dilation, ceil_mode):
    out = tuple(
        conv_output_size(s, k, st, p, p, d, ceil_mode)
        for s, k, st, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)
    )
    return out


def max_pool_forward(x, kernel, stride, padding=0, dilation=1, ceil_mode=False):
    """y[n, c, i] = max over the window of x padded with -inf; windows of ceil_mode may run past the edge.

    (N, C, *s) -> (N, C, *out); kernel, stride, padding and dilation are one int per spatial axis
    (or an int for all). E.g. (1, 1, 4, 4), kernel 2, stride 2 -> (1, 1, 2, 2).
    """
    nd = x.ndim - 2
    kernel, stride, padding, dilation = (
        tuple(np.broadcast_to(v, (nd,)).tolist()) for v in (kernel, stride, padding, dilation)
    )
    out = _pool_geometry(x, kernel, stride, padding, dilation, ceil_mode)
    # pad far enough on the right for every ceil_mode window to exist; -inf never wins a max
    extra = [
        max(0, (o - 1) * s + d * (k - 1) + 1 - (size + p))
        for o, s, d, k, size, p in zip(out, stride, dilation, kernel, x.shape[2:], padding)
    ]
    xp = pad_spatial(x, [(p, p + e) for p, e in zip(padding, extra)], value=-np.inf)
    y = np.empty((*x.shape[:2], *out), dtype=x.dtype)
    axes = tuple(range(2, 2 + nd))
    for i in itertools.product(*(range(o) for o in out)):
        patch = xp[(slice(None), slice(None)) + _window(i, kernel, stride, dilation)]  # (N, C, *k)
        y[(slice(None), slice(None)) + i] = np.max(patch, axis=axes)
    return y


def avg_pool_forward(x, kernel, stride, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    """y[n, c, i] = the window's sum / its size, PyTorch's rules for the divisor.

    The divisor is ``divisor_override`` when given; else the number of window pixels inside the
    padded input (count_include_pad=True; a ceil_mode window running past it counts only what
    is inside), or inside the unpadded input (count_include_pad=False).
    """
    nd = x.ndim - 2
    kernel, stride, padding = (tuple(np.broadcast_to(v, (nd,)).tolist()) for v in (kernel, stride, padding))
    out = _pool_geometry(x, kernel, stride, padding, (1,) * nd, ceil_mode)
    extra = [
        max(0, (o - 1) * s + k - (size + 2 * p)) for o, s, k, size, p in zip(out, stride, kernel, x.shape[2:], padding)
    ]
    xp = pad_spatial(x, [(p, p + e) for p, e in zip(padding, extra)])
    y = np.empty((*x.shape[:2], *out), dtype=x.dtype)
    axes = tuple(range(2, 2 + nd))
    for i in itertools.product(*(range(o) for o in out)):
        patch = xp[(slice(None), slice(None)) + _window(i, kernel, stride, (1,) * nd)]
        if divisor_override:
            divisor = divisor_override
        else:
            starts = [s * p for s, p in zip(stride, i)]  # in padded coordinates
            if count_include_pad:
                lo, hi = [0] * nd, [size + 2 * p for size, p in zip(x.shape[2:], padding)]
            else:
                lo, hi = list(padding), [size + p for size, p in zip(x.shape[2:], padding)]
            divisor = math.prod(max(0, min(a + k, h) - max(a, low)) for a, k, low, h in zip(starts, kernel, lo, hi))
        y[(slice(None), slice(None)) + i] = np.sum(patch, axis=axes) / divisor
    return y
