"""Pooling: max, average and adaptive pooling, and max unpooling, each forward beside its backward.

Pooling slides a window over every activation map independently (the lectures: no parameters,
"makes the representations smaller and more manageable") and replaces each window by one number.
With x the padded input, s the stride, d the dilation and i, a multi-indices over the spatial
axes (output position and kernel offset)::

    max pooling      y[n, c, i] = max_a  x[n, c, s*i + d*a]                 (x padded with -inf)
    average pooling  y[n, c, i] = (1 / D[i]) * sum_a  x[n, c, s*i + a]      (x padded with 0)

and their backward passes, given the upstream gradient g = dL/dy:

    max:  dL/dx[p] = sum over the windows i whose argmax is p of g[i]
          "In the forward pass, store the index that took the max; the backprop gradient is the
          input gradient at that index" -- backprop through the stored argmax (the switches).
    avg:  dL/dx[p] = sum over the windows i that contain p of g[i] / D[i]

Output sizes per axis come from :func:`convnp.arraymath.conv_arithmetic.conv_output_size`::

    out = floor((in + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1

``ceil_mode`` rounds up instead (one more, partial window) unless that window would start in the
right padding; the partial window reads -inf (max) or is left out of the divisor (avg).

The adaptive pools choose the windows from the output size: bin i of Out over In pixels is
``[floor(i*In/Out), ceil((i+1)*In/Out))`` (PyTorch's bins, which may overlap and differ in size).

Everything works on (N, C, *spatial) and on unbatched (C, *spatial) input, as PyTorch does.

>>> import convnp as cn
>>> max_pool2d(cn.randn(2, 3, 32, 32), 2).shape
(2, 3, 16, 16)
>>> y, idx = max_pool2d(cn.randn(2, 3, 7, 7), 3, stride=2, padding=1, ceil_mode=True, return_indices=True)
>>> y.shape, idx.dtype
((2, 3, 4, 4), dtype('int64'))
>>> avg_pool1d(cn.randn(3, 10), 4, stride=3).shape
(3, 3)
>>> adaptive_avg_pool2d(cn.randn(2, 3, 7, 5), (3, None)).shape
(2, 3, 3, 5)
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from convnp.arraymath.broadcast import is_float
from convnp.arraymath.conv_arithmetic import check_at_least, conv_output_size, ntuple
from convnp.arraymath.im2col import pad_spatial, sliding_windows
from convnp.arraymath.parallel import parallel_map, work_runs, workspace
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.ops.checks import checked_once

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_unpool2d", "avg_pool1d", "avg_pool2d",
           "avg_pool3d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]

_AXES = {1: "L", 2: "H, W", 3: "D, H, W"}


# ============================================================================================
# Window arithmetic shared by the pools
# ============================================================================================

def _right_pads(spatial, kernel, stride, padding, dilation, out) -> tuple[int, ...]:
    """Right padding that makes the padded input exactly long enough for every window.

    It equals ``padding`` when the stride fits, less when floor mode leaves pixels unused, more
    when ceil mode's last window overhangs the padding.
    """
    return tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - n - p)
                 for n, k, s, p, d, o in zip(spatial, kernel, stride, padding, dilation, out))


def _first(out) -> tuple:
    """Index selecting the first ``out`` windows of a (N, C, *windows, *kernel) view."""
    return (slice(None), slice(None), *(slice(0, o) for o in out))


def _grid(axis: int, nd: int, values: np.ndarray) -> np.ndarray:
    """A 1-D array along spatial axis ``axis`` of an (N, C, *spatial) array: shape (1, 1, .., L, .., 1)."""
    shape = [1] * (nd + 2)
    shape[2 + axis] = values.size
    return values.reshape(shape)


def _show(values):
    return values[0] if len(set(values)) == 1 else tuple(values)


def _batched(x: np.ndarray, nd: int) -> tuple[np.ndarray, bool]:
    """(C, *spatial) -> (1, C, *spatial); batched input passes through."""
    if x.ndim == nd + 1:
        return x[None], True
    return x, False


# ============================================================================================
# Argument checking (at the door of every public function)
# ============================================================================================

def _check_input(op: str, input, nd: int) -> np.ndarray:
    if not isinstance(input, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: expected input to be a Tensor. Received: input of type {type(input).__name__}")
    x = input.data if isinstance(input, Tensor) else input
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 1}-D (C, {_AXES[nd]}) or {nd + 2}-D (N, C, {_AXES[nd]}) "
                         f"input. Received: input of shape {tuple(x.shape)}")
    if not is_float(x.dtype):
        raise TypeError(f"{op}: expected a floating-point input. Received: input of dtype {x.dtype}")
    if 0 in x.shape[-(nd + 1):]:
        raise ValueError(f"{op}: expected non-zero sizes for the channel and spatial axes. "
                         f"Received: input of shape {tuple(x.shape)}")
    return x


def _check_flag(op: str, value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be a bool. Received: {name}={value!r}")
    return bool(value)


def window_args(op: str, nd: int, kernel_size, stride, padding, dilation=1):
    """Parse and check kernel_size, stride (None: kernel_size), padding and dilation (PyTorch's rules;
    the pooling layers check their constructor arguments with it too)."""
    kernel = ntuple(kernel_size, nd, "kernel_size", op)
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        stride = kernel
    else:
        stride = ntuple(stride, nd, "stride", op)
    padding = ntuple(padding, nd, "padding", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    check_at_least(kernel, 1, "kernel_size", op)
    check_at_least(stride, 1, "stride", op)
    check_at_least(dilation, 1, "dilation", op)
    check_at_least(padding, 0, "padding", op)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding must be at most half the kernel size (padding <= kernel_size // 2). "
                         f"Received: padding={_show(padding)}, kernel_size={_show(kernel)}")
    return kernel, stride, padding, dilation


def _output_size(op, x_shape, nd, kernel, stride, padding, dilation, ceil_mode) -> tuple[int, ...]:
    spatial = x_shape[-nd:]
    out = tuple(conv_output_size(n, k, s, p, p, d, ceil_mode)
                for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation))
    if any(o < 1 for o in out):
        raise ValueError(f"{op}: the input is too small for the pooling window: the output size would be "
                         f"{out}, expected at least 1 on every axis. Received: input of shape {tuple(x_shape)}, "
                         f"kernel_size={_show(kernel)}, stride={_show(stride)}, padding={_show(padding)}, "
                         f"dilation={_show(dilation)}, ceil_mode={ceil_mode}")
    return out


# ============================================================================================
# Max pooling
# ============================================================================================

class MaxPoolNd(Function):
    """Max pooling in any number of spatial axes; the argmax of each window is kept (the switches).

    Two ways to the same numbers:

    - the separable path (:func:`_max_pool_separable`, used whenever it applies): the maximum
      over a box is the maximum over its last axis, then over the one before, ... Each axis is
      reduced by a few whole-array operations on shifted slices, and each keeps the offset of its
      first maximum as a uint8 (the switches of that axis); the backward routes the gradient
      back through them axis by axis (:func:`_max_pool_separable_backward`).
    - the general path: pad with -inf (plus the overhang of a ceil_mode window), view every
      window with sliding_windows, flatten it and take argmax; NumPy's argmax returns the FIRST
      maximum, which is PyTorch's rule for ties. Backward: backprop through the stored argmax --
      each upstream gradient goes to the pixel its window chose; np.bincount adds the
      contributions of overlapping windows that chose the same pixel. It applies PyTorch's rules
      for NaN and for all -inf windows, which the separable path leaves to it.

    Shapes: (N, C, *spatial) -> (N, C, *out).

    A dilated window may hold padding only (a 1-pixel row, kernel 2, dilation 2, padding 1): its
    output is -inf and its index PyTorch's (the first tap at or after pixel 0, which lies past the
    input), but its gradient, the derivative of a constant, is dropped, where PyTorch adds it
    to whatever pixel that flat index names.
    """

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, dilation, out_size, return_indices):
        nd = len(kernel)
        x, unbatched = _batched(x, nd)                                    # (C, *S) -> (1, C, *S)
        n, c, *spatial = x.shape
        right = _right_pads(spatial, kernel, stride, padding, dilation, out_size)
        ctx.unbatched, ctx.dtype, ctx.separable = unbatched, x.dtype, None
        if (x.size <= _TILED_MAX and not ctx.needs_input_grad[0] and not return_indices
                and kernel == stride and not any(padding) and not any(right) and all(d == 1 for d in dilation)):
            y = _max_of_tiles(x, kernel, out_size)                       # inference on a small input
            return y[0] if unbatched else y
        if max(kernel) <= _MAX_SEPARABLE_KERNEL:
            track = ctx.needs_input_grad[0] or return_indices
            done = _max_pool_separable(x, kernel, stride, padding, dilation, out_size, track,
                                       padded=any(padding) or any(right))
            if done is not None:
                y, axes, switches = done
                if ctx.needs_input_grad[0]:
                    ctx.separable, ctx.shape = (axes, switches), x.shape
                if not return_indices:
                    return y[0] if unbatched else y
                indices = _separable_indices(axes, switches, spatial).reshape(y.shape)   # (N, C, *out)
                return (y[0], indices[0]) if unbatched else (y, indices)
        xp = pad_spatial(x, list(zip(padding, right)), value=-np.inf)     # (N, C, *S) -> (N, C, *S_pad)
        win = sliding_windows(xp, kernel, stride, dilation)[_first(out_size)]   # (N, C, *out, *k), a view
        flat = win.reshape(n, c, *out_size, -1)                           # (N, C, *out, K), K = prod(k)
        k = flat.argmax(axis=-1)                                          # (N, C, *out): first maximum
        y = np.take_along_axis(flat, k[..., None], axis=-1)[..., 0]      # (N, C, *out)

        # PyTorch's rule for NaN (a NaN wins, and a later NaN replaces an earlier one) ...
        nan = np.isnan(y)
        if nan.any():
            last_nan = flat.shape[-1] - 1 - np.argmax(np.isnan(flat[..., ::-1]), axis=-1)
            k = np.where(nan, last_nan, k)
        # ... and for a window whose maximum is -inf: argmax may have picked a -inf of the padding,
        # PyTorch keeps its starting point, the window's first tap at or after pixel 0 on every axis.
        if any(padding) or any(right):
            lost = np.isneginf(y)
            if lost.any():
                first_taps = []
                for ax in range(nd):
                    start = np.arange(out_size[ax]) * stride[ax] - padding[ax]
                    tap = np.minimum(-(np.minimum(start, 0) // dilation[ax]), kernel[ax] - 1)
                    first_taps.append(_grid(ax, nd, tap))
                k = np.where(lost, np.ravel_multi_index(np.broadcast_arrays(*first_taps), kernel), k)

        taps = np.unravel_index(k, kernel)                                # nd arrays (N, C, *out)
        # position of the chosen tap in padded coordinates, per axis: s*i + d*a
        pos = [_grid(ax, nd, np.arange(out_size[ax])) * stride[ax] + taps[ax] * dilation[ax]
               for ax in range(nd)]
        padded = xp.shape[2:]
        route = np.arange(n * c).reshape(n, c, *([1] * nd)) * math.prod(padded)
        for ax in range(nd):
            route = route + pos[ax] * math.prod(padded[ax + 1:])
        ctx.route = route                                                 # (N, C, *out): flat index into xp
        ctx.padded_shape = xp.shape
        ctx.crop = (slice(None), slice(None), *(slice(p, p + s) for p, s in zip(padding, spatial)))
        if unbatched:
            y = y[0]
        if not return_indices:
            return y
        # PyTorch's indices: flat position in the (unpadded) plane of each (n, c), e.g. h*W + w
        indices = np.zeros(k.shape, dtype=np.int64)
        for ax in range(nd):
            indices += (pos[ax] - padding[ax]) * math.prod(spatial[ax + 1:])
        return y, (indices[0] if unbatched else indices)

    @staticmethod
    def backward(ctx, grad):
        g = grad[None] if ctx.unbatched else grad                         # (N, C, *out)
        if ctx.separable is not None:
            dx = _max_pool_separable_backward(g, *ctx.separable, ctx.shape, ctx.dtype)
            return dx[0] if ctx.unbatched else dx
        size = math.prod(ctx.padded_shape)
        dxp = np.bincount(ctx.route.ravel(), weights=g.ravel(), minlength=size)   # summed where windows agree
        dx = dxp.reshape(ctx.padded_shape)[ctx.crop].astype(ctx.dtype)   # (N, C, *S_pad) -> (N, C, *S)
        return dx[0] if ctx.unbatched else dx


_TILED_MAX = 1 << 14               # elements: below this, inference takes the maximum of strided views


def _max_of_tiles(x, kernel, out_size):
    """Max pooling of windows that tile the input (stride = kernel, no padding, no overhang), no
    switches kept: the maximum of the prod(kernel) strided views x[:, :, a::k], a few whole-array
    calls where the separable path's bookkeeping would cost more (a batch of one, inference).

    np.maximum(later, earlier) returns ``earlier`` on ties, so a zero maximum keeps the sign of the
    window's first zero, and a NaN anywhere in the window makes the maximum NaN: PyTorch's rules.
    """
    first, *rest = _tile_views(kernel, out_size)                       # each x[...] is (N, C, *out)
    y = x[first].copy()
    for view in rest:
        np.maximum(x[view], y, out=y)
    return y


@functools.lru_cache(maxsize=256)
def _tile_views(kernel, out_size):
    """The index of every tap's strided view x[:, :, a::k] for :func:`_max_of_tiles`."""
    return tuple((slice(None), slice(None), *(slice(a, a + k * o, k) for a, k, o in zip(off, kernel, out_size)))
                 for off in itertools.product(*(range(k) for k in kernel)))


# ============================================================================================
# Max pooling, separable: one axis at a time, on shifted slices of phase buffers
# ============================================================================================

_MAX_SEPARABLE_KERNEL = 255       # an axis's switches (tap offsets) are uint8
_PIECE_BYTES = 2 << 20           # input bytes per piece of work: a piece's buffers stay in the caches
_PARALLEL_MIN = 1 << 20           # input elements above which the pieces run on the worker threads
_SCRATCH_MIN_BYTES = 1 << 16      # smaller scratch buffers are allocated afresh


class _AxisPlan:
    """How the separable path reduces one spatial axis (length n, kernel k, stride s, padding p,
    dilation d, o windows).

    Tap a of window i reads padded position q = s*i + d*a. Cut the padded axis into its s phases,
    phase r holding the positions q = s*m + r (rows m = 0, 1, ...): tap a of window i is row
    m = i + (d*a)//s of phase (d*a) % s. In a phase buffer that holds the rows m of all the
    planes one after another, every tap is then ONE contiguous slice of the flat buffer, shifted by
    (d*a)//s rows, and the maximum over the window is k - 1 np.maximum calls on long contiguous
    slices (NumPy's fast case; np.maximum on strided views is several times slower). A plane's
    last ``tail`` windows read the next plane's first rows: the buffers keep ``m = o + tail``
    windows per plane, the first o of them real (the "full" layout), the rest computed and
    ignored. Phase rows outside the input (padding, a ceil_mode overhang) hold -inf.
    """

    __slots__ = ("n", "k", "s", "p", "d", "o", "m", "tail", "taps", "phases", "covered")

    def __init__(self, n, k, s, p, d, o):
        self.n, self.k, self.s, self.p, self.d, self.o = n, k, s, p, d, o
        self.taps = [((d * a) % s, (d * a) // s) for a in range(k)]      # tap a -> (phase, shift)
        self.tail = max(shift for _, shift in self.taps)
        self.m = o + self.tail
        self.phases = []              # (r, rows [lo, hi) inside the input, their source slice, taps)
        inside = 0
        for r in sorted({r for r, _ in self.taps}):
            lo = min(self.m, max(0, -((r - p) // s)))                    # first row with s*m + r - p >= 0
            hi = min(self.m, max(lo, -((r - p - n) // s)))              # one past the last with < n
            source = slice(s * lo + r - p, s * (hi - 1) + r - p + 1, s)
            self.phases.append((r, lo, hi, source, [(a, sh) for a, (q, sh) in enumerate(self.taps) if q == r]))
            inside += hi - lo
        self.covered = inside == n    # every input position is some window's tap (phases are disjoint)


@functools.lru_cache(maxsize=256)
def _axis_plan(n, k, s, p, d, o) -> _AxisPlan:
    return _AxisPlan(n, k, s, p, d, o)


def _scratch(name, shape, dtype):
    """A buffer that does not escape the call: a reused workspace when large, else a fresh array
    (cheaper than the workspace's bookkeeping)."""
    if math.prod(shape) * np.dtype(dtype).itemsize < _SCRATCH_MIN_BYTES:
        return np.empty(shape, dtype)
    return workspace(name, shape, dtype)


# (pair, half) unsigned types: two neighbouring elements as one integer, and one element
_PAIRS = {2: (np.uint32, np.uint16), 4: (np.uint64, np.uint32)}


def _deinterleave(flat, start, out, pair, half):
    """out = flat[start::2] (start 0 or 1, len(flat) = 2 * len(out)), about twice as fast as
    NumPy's strided copy: view two neighbouring elements as one unsigned integer and keep its
    low half (little-endian: the first element) with a truncating cast. Odd elements: the same
    on the view that starts one element later (it holds one pair fewer; the last element is
    copied alone)."""
    if not np.little_endian:                                              # the low half is the second element
        np.copyto(out, flat[start::2])
        return
    if start == 0:
        np.copyto(out.view(half), flat.view(pair), casting="unsafe")
    else:
        np.copyto(out[:-1].view(half), flat[1:-1].view(pair), casting="unsafe")
        out[-1] = flat[-1]


def _reduce_axis(a, axis, out, switch, key):
    """Window maxima along the middle axis: a (B, n, T) -> out (B, M, T), the full layout of _AxisPlan.

    switch (B, M, T) uint8 (or None): the offset of the window's FIRST maximum -- the running
    maximum is replaced only by a strictly greater tap, so on ties the earlier tap stays (PyTorch's
    rule). A NaN makes the maximum NaN (the caller then takes the general path).
    """
    b, n, t = a.shape
    length = b * axis.m * t
    pairs = _PAIRS.get(a.itemsize) if t == 1 and axis.s == 2 and n == 2 * axis.m and a.flags.c_contiguous else None
    bufs = {}
    for r, lo, hi, source, _ in axis.phases:
        buf = _scratch(f"max_pool phase {key} {r}", (length + axis.tail * t,), a.dtype)
        if axis.tail:
            buf[length:] = -np.inf
        bufs[r] = buf
        if pairs is not None and lo == 0 and hi == axis.m:
            _deinterleave(a.reshape(-1), source.start, buf[:length], *pairs)
            continue
        rows = buf[:length].reshape(b, axis.m, t)                         # (B, M, T): positions s*m + r - p
        if lo:
            rows[:, :lo] = -np.inf
        if hi < axis.m:
            rows[:, hi:] = -np.inf
        rows[:, lo:hi] = a[:, source]
    taps = [bufs[r][sh * t: sh * t + length] for r, sh in axis.taps]      # tap a: (B*M*T,), shifted sh rows
    best = out.reshape(-1)
    if axis.k == 1:
        np.copyto(best, taps[0])
        if switch is not None:
            switch.fill(0)
        return
    if switch is not None:
        first = switch.reshape(-1)
        np.greater(taps[1], taps[0], out=first.view(bool))               # offset 1 where it beats offset 0
    # np.maximum(later, earlier) keeps `earlier` on ties (its vector loop returns the second
    # operand), so a zero maximum keeps the sign of the first zero, as PyTorch's does
    np.maximum(taps[1], taps[0], out=best)
    if axis.k > 2 and switch is not None:
        beats = _scratch(f"max_pool beats {key}", (length,), np.uint8)
    for off in range(2, axis.k):
        if switch is not None:
            np.greater(taps[off], best, out=beats.view(bool))
            beats *= np.uint8(off)                                        # off where it beats, else 0
            np.maximum(first, beats, out=first)                           # off exceeds every earlier offset
        np.maximum(taps[off], best, out=best)


def _unreduce_axis(g, switch, axis, dx, key):
    """Backward of _reduce_axis: g (B, M, T) (zero on the ignored windows) -> dx (B, n, T).

    Window i hands g to its tap switch[i] (the select is a bitwise AND with an all-ones or zero
    mask, so an inf or NaN gradient reaches its pixel only); taps of one phase are shifted slices
    of one buffer, added, so windows that overlap on a pixel sum there. Pixels no window reads
    get zero.
    """
    b, _, t = dx.shape
    length = b * axis.m * t
    ints = np.dtype(f"i{g.dtype.itemsize}")
    gf = g.reshape(-1)
    gi = gf.view(ints)
    sw = switch.reshape(-1)
    mask = _scratch(f"max_pool mask {key}", (length,), np.int8) if axis.k > 1 else None
    if not axis.covered:
        dx.fill(0)
    for r, lo, hi, source, taps in axis.phases:
        if hi <= lo:
            continue
        buf = _scratch(f"max_pool grad phase {key} {r}", (length + axis.tail * t,), g.dtype)
        part = None
        for j, (off, sh) in enumerate(taps):
            target = buf[sh * t: sh * t + length]
            if j == 0:
                if sh:
                    buf[:sh * t] = 0
                if sh < axis.tail:
                    buf[sh * t + length:] = 0
            elif part is None:
                part = _scratch(f"max_pool grad part {key}", (length,), g.dtype)
            if mask is None:
                np.copyto(target, gf)
                continue
            np.equal(sw, off, out=mask.view(bool))
            np.negative(mask, out=mask)                                   # -1 (all bits set) where chosen
            if j == 0:
                np.bitwise_and(gi, mask, out=target.view(ints))
            else:
                np.bitwise_and(gi, mask, out=part.view(ints))
                target += part
        dx[:, source] = buf[:length].reshape(b, axis.m, t)[:, lo:hi]


def _separable_forward(x, axes, y, switches):
    """One piece: x (P, *S) planes -> y (P, *out); switches[ax] (P, *S[:ax], *M[ax:]) or None.

    The last axis first: reducing axis ax turns (P, *S[:ax+1], *M[ax+1:]) into (P, *S[:ax], *M[ax:]).
    """
    nd = len(axes)
    spatial = x.shape[1:]
    full = [a.m for a in axes]
    outs = [a.o for a in axes]
    cur = x
    for ax in range(nd - 1, -1, -1):
        shape = (x.shape[0], *spatial[:ax], *full[ax:])
        out = y if ax == 0 and full == outs else _scratch(f"max_pool out {ax}", shape, x.dtype)
        b, t = x.shape[0] * math.prod(spatial[:ax]), math.prod(full[ax + 1:])
        _reduce_axis(cur.reshape(b, spatial[ax], t), axes[ax], out,
                     None if switches is None else switches[ax], ax)
        cur = out
    if full != outs:
        np.copyto(y, cur[(slice(None), *(slice(0, o) for o in outs))])


def _separable_backward(g, axes, switches, dx):
    """One piece: g (P, *out) -> dx (P, *S), the first axis first (the reverse of the forward)."""
    nd = len(axes)
    spatial = dx.shape[1:]
    full = [a.m for a in axes]
    outs = [a.o for a in axes]
    if full == outs:
        cur = np.ascontiguousarray(g, dtype=dx.dtype)
    else:
        cur = _scratch("max_pool grad full", (g.shape[0], *full), dx.dtype)
        cur.fill(0)                                                       # the ignored windows get 0
        cur[(slice(None), *(slice(0, o) for o in outs))] = g
    for ax in range(nd):
        shape = (g.shape[0], *spatial[:ax + 1], *full[ax + 1:])
        out = dx if ax == nd - 1 else _scratch(f"max_pool grad {ax}", shape, dx.dtype)
        b, t = g.shape[0] * math.prod(spatial[:ax]), math.prod(full[ax + 1:])
        _unreduce_axis(cur.reshape(b, full[ax], t), switches[ax], axes[ax], out.reshape(b, spatial[ax], t), ax)
        cur = out


def _jobs(planes: int, plane_size: int, itemsize: int) -> list[list[tuple[int, int]]]:
    """The planes in pieces of about _PIECE_BYTES of input, one run (job) of pieces per worker
    thread, all in the calling thread up to _PARALLEL_MIN elements (see work_runs). Each piece
    goes through every step (copies, maxima, masks) while its buffers are in the caches, about
    twice as fast as whole-activation passes."""
    return work_runs(planes, plane_size * itemsize, _PIECE_BYTES, _PARALLEL_MIN * itemsize)


def _max_pool_separable(x, kernel, stride, padding, dilation, out_size, track, padded):
    """Max pooling by reducing one axis at a time (see _AxisPlan): (y, axes, switches), or None
    where the general path must decide (a NaN, or an all -inf window next to padding).

    The maximum over a box is the maximum over its last axis, then over the one before, ...;
    and the FIRST maximum of the window in scan order (row-major over the offsets, PyTorch's tie
    rule) is found the same way: the first row holding the maximum, then the first maximum in
    that row. switches[ax] (uint8) holds, for each partial window, its first-maximum offset
    along axis ax. The planes are cut into pieces handled by the worker threads.
    x (N, C, *S) -> y (N, C, *out).
    """
    n, c, *spatial = x.shape
    axes = [_axis_plan(*v) for v in zip(spatial, kernel, stride, padding, dilation, out_size)]
    planes = x.reshape(n * c, *spatial)                                   # (N*C, *S)
    y = np.empty((n * c, *out_size), dtype=x.dtype)
    full = [a.m for a in axes]
    switches = ([np.empty((n * c, *spatial[:ax], *full[ax:]), dtype=np.uint8) for ax in range(len(axes))]
                if track else None)

    def run(job):
        for a, b in job:
            _separable_forward(planes[a:b], axes, y[a:b], None if switches is None else [s[a:b] for s in switches])

    parallel_map(run, _jobs(n * c, math.prod(spatial), x.itemsize))
    low = y.min()
    if np.isnan(low) or (padded and low == -np.inf):
        return None                                                      # NaN wins, -inf windows: see forward
    return y.reshape(n, c, *out_size), axes, switches


def _max_pool_separable_backward(g, axes, switches, shape, dtype):
    """dL/dx of _max_pool_separable: (N, C, *out) -> (N, C, *S)."""
    n, c, *spatial = shape
    dx = np.empty(shape, dtype=dtype)                                    # every pixel is written
    planes = dx.reshape(n * c, *spatial)                                 # a view: dx is returned whole
    grads = g.reshape(n * c, *g.shape[2:])

    def run(job):
        for a, b in job:
            _separable_backward(grads[a:b], axes, [s[a:b] for s in switches], planes[a:b])

    parallel_map(run, _jobs(n * c, math.prod(spatial), dx.itemsize))
    return dx


def _separable_indices(axes, switches, spatial):
    """PyTorch's int64 indices (flat position in the unpadded plane) from the switches: (N*C, *out).

    Axis 0's switch gives the row of the window's maximum; axis 1's switch is read at that row,
    and so on: switches[ax] is indexed by the positions already found on the axes before it."""
    nd = len(axes)
    outs = [a.o for a in axes]
    planes = switches[0].shape[0]
    grid = [np.arange(o).reshape([1] * (1 + ax) + [o] + [1] * (nd - ax - 1)) for ax, o in enumerate(outs)]
    index = None
    for ax, axis in enumerate(axes):
        sw = switches[ax][(slice(None), *([slice(None)] * ax), *(slice(0, o) for o in outs[ax:]))]
        sw = sw.reshape(planes, math.prod(spatial[:ax]), *outs[ax:])      # (P, prod S[:ax], *out[ax:])
        at = (np.arange(planes).reshape([-1] + [1] * nd), 0 if index is None else index, *grid[ax:])
        tap = sw[at].astype(np.int64)                                    # (P, *out): the offset chosen on ax
        pos = grid[ax] * axis.s + tap * axis.d - axis.p                  # position on axis ax: s*i + d*a - p
        index = pos if index is None else index * spatial[ax] + pos
    return index


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x = _check_input(op, input, nd)
    kernel, stride, padding, dilation, out, return_indices = _max_pool_args(
        op, nd, x.shape, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return MaxPoolNd.apply(input, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                           out_size=out, return_indices=return_indices)


@checked_once
def _max_pool_args(op, nd, x_shape, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    kernel, stride, padding, dilation = window_args(op, nd, kernel_size, stride, padding, dilation)
    ceil_mode = _check_flag(op, ceil_mode, "ceil_mode")
    return_indices = _check_flag(op, return_indices, "return_indices")
    out = _output_size(op, x_shape, nd, kernel, stride, padding, dilation, ceil_mode)
    return kernel, stride, padding, dilation, out, return_indices


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling: y[n, c, i] = max_a x[n, c, s*i + d*a] (x padded with -inf).

    (N, C, L) -> (N, C, L_out); with ``return_indices`` also the int64 position of each maximum in
    the input row (first maximum on ties, as PyTorch). E.g. (2, 3, 10), kernel 3, stride 2 -> (2, 3, 4).
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling: y[n, c, i, j] = max_{a, b} x[n, c, s_h*i + d_h*a, s_w*j + d_w*b] (x padded with -inf).

    (N, C, H, W) -> (N, C, H_out, W_out); stride defaults to kernel_size. With ``return_indices``
    also PyTorch's int64 indices h*W + w into each (n, c) plane of the unpadded input, the first
    maximum of a window on ties. The backward routes each gradient to that stored argmax.
    E.g. (2, 3, 32, 32), kernel 2 -> (2, 3, 16, 16).
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling over (D, H, W); indices are d*H*W + h*W + w. E.g. (1, 2, 8, 8, 8), kernel 2 -> (1, 2, 4, 4, 4)."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# ============================================================================================
# Max unpooling
# ============================================================================================

class MaxUnpool2d(Function):
    """Scatter every value to the position its index names, zeros elsewhere (the deconvnet's switches).

    y.flat_plane[indices[n, c, i, j]] = x[n, c, i, j]; its backward gathers the upstream gradient
    at the same positions: dL/dx[n, c, i, j] = g.flat_plane[indices[n, c, i, j]].
    Shapes: (N, C, H, W) -> (N, C, H_out, W_out).

    Two entries with the same index (overlapping pooling windows that chose the same pixel, so
    equal values) write one position, the last one kept; the backward, as PyTorch's, still hands
    the gradient at that position to both.
    """

    @staticmethod
    def forward(ctx, x, indices, *, out_hw):
        x, unbatched = _batched(x, 2)                                     # (C, H, W) -> (1, C, H, W)
        indices = indices[None] if unbatched else indices
        n, c = x.shape[:2]
        plane = math.prod(out_hw)
        flat = (np.arange(n * c).reshape(n, c, 1, 1) * plane + indices).ravel()   # (N*C*H*W,)
        y = np.zeros(n * c * plane, dtype=x.dtype)
        y[flat] = x.ravel()
        ctx.flat, ctx.in_shape, ctx.unbatched = flat, x.shape, unbatched
        y = y.reshape(n, c, *out_hw)                                      # (N*C*Ho*Wo,) -> (N, C, Ho, Wo)
        return y[0] if unbatched else y

    @staticmethod
    def backward(ctx, grad):
        dx = grad.reshape(-1)[ctx.flat].reshape(ctx.in_shape)             # gather at the switches
        return (dx[0] if ctx.unbatched else dx), None


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool2d: put each value back where its maximum came from, zeros elsewhere.

    ``indices`` are max_pool2d's (h*W_out + w in each plane). The default output size per axis is
    (in - 1)*stride - 2*padding + kernel_size; ``output_size`` ((H, W) or (N, C, H, W)) picks
    another within stride of it, e.g. to undo a pooling that dropped a last row.
    E.g. (2, 3, 4, 4) with kernel 2 -> (2, 3, 8, 8).
    """
    op = "max_unpool2d"
    x = _check_input(op, input, 2)
    if not isinstance(indices, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: expected indices to be a Tensor. Received: indices of type {type(indices).__name__}")
    idx = indices.data if isinstance(indices, Tensor) else indices
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer tensor (int64, as max_pool2d returns). "
                        f"Received: indices of dtype {idx.dtype}")
    if idx.shape != x.shape:
        raise ValueError(f"{op}: indices must have the shape of input {tuple(x.shape)}. "
                         f"Received: indices of shape {tuple(idx.shape)}")
    kernel, stride, padding = _window_args_unpool(op, kernel_size, stride, padding)
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(x.shape[-2:], stride, padding, kernel))
    if output_size is None:
        out = default
    else:
        if not isinstance(output_size, (list, tuple)) or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in output_size):
            raise TypeError(f"{op}: output_size must be a tuple of ints, (H, W) or (N, C, H, W). "
                            f"Received: output_size={output_size!r}")
        out = tuple(int(v) for v in output_size)
        if len(out) == 4:
            out = out[2:]
        if len(out) != 2:
            raise ValueError(f"{op}: output_size must have 2 (H, W) or 4 (N, C, H, W) entries. "
                             f"Received: output_size={tuple(output_size)}")
        for ax in range(2):
            lo, hi = default[ax] - stride[ax], default[ax] + stride[ax]
            if not lo < out[ax] < hi:
                raise ValueError(f"{op}: output_size must lie strictly between default - stride and default + "
                                 f"stride on every axis (default {default}, stride {stride}; axis {ax} must be "
                                 f"in ({lo}, {hi})). Received: output_size={tuple(output_size)}")
    if any(o < 1 for o in out):
        raise ValueError(f"{op}: the output size {out} is below 1 ((in - 1)*stride - 2*padding + kernel_size). "
                         f"Received: input of shape {tuple(x.shape)}, kernel_size={_show(kernel)}, "
                         f"stride={_show(stride)}, padding={_show(padding)}")
    plane = math.prod(out)
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise ValueError(f"{op}: indices must lie in [0, {plane}) for an output of size {out}. "
                         f"Received: an index of {int(bad)}")
    return MaxUnpool2d.apply(input, idx.astype(np.int64, copy=False), out_hw=out)


def _window_args_unpool(op, kernel_size, stride, padding):
    kernel = ntuple(kernel_size, 2, "kernel_size", op)
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        stride = kernel
    else:
        stride = ntuple(stride, 2, "stride", op)
    padding = ntuple(padding, 2, "padding", op)
    check_at_least(kernel, 1, "kernel_size", op)
    check_at_least(stride, 1, "stride", op)
    check_at_least(padding, 0, "padding", op)
    return kernel, stride, padding


# ============================================================================================
# Average pooling
# ============================================================================================

def _avg_divisor(spatial, kernel, stride, padding, right, out, count_include_pad, divisor_override, dtype):
    """PyTorch's divisor D[i] of every window, computed once from a mask of counted pixels.

    The mask over the padded input is 1 on the real input, and on its zero padding when
    ``count_include_pad``; it is 0 on the overhang of a ceil_mode window. D = the window sums of
    that mask. So with count_include_pad the window is clipped to the zero-padded input; without
    it, D counts the real pixels. ``divisor_override`` replaces D. Shape: (*out) (or a scalar).
    """
    if divisor_override is not None:
        return np.asarray(divisor_override, dtype=dtype)
    counted = []
    for n, p, r in zip(spatial, padding, right):
        q = np.arange(p + n + r)                                          # padded coordinate
        keep = (q < 2 * p + n) if count_include_pad else ((q >= p) & (q < p + n))
        counted.append(keep.astype(np.float64))
    mask = counted[0]
    for axis_mask in counted[1:]:
        mask = np.multiply.outer(mask, axis_mask)                         # (*S_pad)
    win = sliding_windows(mask[None, None], kernel, stride, (1,) * len(kernel))[_first(out)]
    nd = len(kernel)
    return win.sum(axis=tuple(range(2 + nd, 2 + 2 * nd)))[0, 0].astype(dtype)   # (1, 1, *out, *k) -> (*out)


class AvgPoolNd(Function):
    """Average pooling in any number of spatial axes: window sums of the zero-padded input over D.

    Backward: every window hands g[i] / D[i] back to each of its pixels (a loop over the kernel
    offsets adds one strided slice per offset), then the padding is cropped away.
    Shapes: (N, C, *spatial) -> (N, C, *out).
    """

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, out_size, count_include_pad, divisor_override):
        nd = len(kernel)
        x, unbatched = _batched(x, nd)
        spatial = x.shape[2:]
        ones = (1,) * nd
        right = _right_pads(spatial, kernel, stride, padding, ones, out_size)
        xp = pad_spatial(x, list(zip(padding, right)))                    # (N, C, *S) -> (N, C, *S_pad)
        win = sliding_windows(xp, kernel, stride, ones)[_first(out_size)]  # (N, C, *out, *k)
        sums = win.sum(axis=tuple(range(2 + nd, 2 + 2 * nd)))              # (N, C, *out)
        divisor = _avg_divisor(spatial, kernel, stride, padding, right, out_size, count_include_pad,
                               divisor_override, x.dtype)
        y = sums / divisor
        ctx.divisor, ctx.padded_shape, ctx.unbatched = divisor, xp.shape, unbatched
        ctx.kernel, ctx.stride, ctx.out_size = kernel, stride, out_size
        ctx.crop = (slice(None), slice(None), *(slice(p, p + s) for p, s in zip(padding, spatial)))
        return y[0] if unbatched else y

    @staticmethod
    def backward(ctx, grad):
        g = (grad[None] if ctx.unbatched else grad) / ctx.divisor         # (N, C, *out)
        dxp = np.zeros(ctx.padded_shape, dtype=g.dtype)                   # (N, C, *S_pad)
        for offset in itertools.product(*(range(k) for k in ctx.kernel)):
            target = tuple(slice(o, o + s * (m - 1) + 1, s) for o, s, m in zip(offset, ctx.stride, ctx.out_size))
            dxp[(slice(None), slice(None)) + target] += g
        dx = dxp[ctx.crop]                                                # (N, C, *S_pad) -> (N, C, *S)
        return dx[0] if ctx.unbatched else dx


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x = _check_input(op, input, nd)
    kernel, stride, padding, dilation = window_args(op, nd, kernel_size, stride, padding)
    ceil_mode = _check_flag(op, ceil_mode, "ceil_mode")
    count_include_pad = _check_flag(op, count_include_pad, "count_include_pad")
    if divisor_override is not None:
        if not isinstance(divisor_override, (int, np.integer)) or isinstance(divisor_override, bool):
            raise TypeError(f"{op}: divisor_override must be an int or None. "
                            f"Received: divisor_override={divisor_override!r}")
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must not be zero. Received: divisor_override=0")
    if nd == 3 and any(n < k for n, k in zip(x.shape[-3:], kernel)):
        raise ValueError(f"{op}: expected an input at least as large as the kernel on every spatial axis "
                         f"(PyTorch's avg_pool3d requires it, whatever the padding). "
                         f"Received: input of shape {tuple(x.shape)}, kernel_size={_show(kernel)}")
    out = _output_size(op, x.shape, nd, kernel, stride, padding, dilation, ceil_mode)
    return AvgPoolNd.apply(input, kernel=kernel, stride=stride, padding=padding, out_size=out,
                           count_include_pad=count_include_pad, divisor_override=divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling: y[n, c, i] = (1/D[i]) sum_a x[n, c, s*i + a] (x zero-padded).

    D[i] is the window length clipped to the zero-padded input (``count_include_pad``) or the
    number of real input pixels in it. E.g. (2, 3, 10), kernel 3, stride 2 -> (2, 3, 4).
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling: y[n, c, i, j] = (1/D[i, j]) sum_{a, b} x[n, c, s_h*i + a, s_w*j + b].

    D as PyTorch: with ``count_include_pad`` the window's area clipped to the zero-padded input (a
    ceil_mode window hanging past the padding counts only up to its edge), otherwise the number of
    real input pixels in the window; ``divisor_override`` replaces it. E.g. (2, 3, 7, 7), kernel 3,
    stride 2, padding 1 -> (2, 3, 4, 4).
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling over (D, H, W), divisor as :func:`avg_pool2d`. E.g. (1, 2, 8, 8, 8), kernel 2 -> (1, 2, 4, 4, 4)."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ============================================================================================
# Adaptive pooling
# ============================================================================================

def _bins(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins: start_i = floor(i*In/Out), end_i = ceil((i+1)*In/Out)."""
    i = np.arange(size_out)
    return (i * size_in) // size_out, -((-(i + 1) * size_in) // size_out)


def _adaptive_output_size(op: str, x: np.ndarray, output_size) -> tuple[int, int]:
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise ValueError(f"{op}: output_size must be an int or a tuple of 2 (ints or None). "
                             f"Received: output_size={tuple(output_size)}")
        sizes = tuple(output_size)
    else:
        sizes = (output_size, output_size)
    if not all(v is None or (isinstance(v, (int, np.integer)) and not isinstance(v, bool)) for v in sizes):
        raise TypeError(f"{op}: output_size must be an int or a tuple of 2 (ints or None). "
                        f"Received: output_size={output_size!r}")
    out = tuple(int(n) if v is None else int(v) for v, n in zip(sizes, x.shape[-2:]))
    if any(o < 0 for o in out):
        raise ValueError(f"{op}: output_size must not be negative. Received: output_size={output_size!r}")
    return out


class AdaptiveAvgPool2d(Function):
    """Adaptive average pooling as two averaging matrices, one per axis.

    The bins are rectangles, so averaging over bin (i, j) is averaging rows over bin i, then
    columns over bin j: y = A_H x A_W^T with A[i, h] = 1/len_i for h in bin i, 0 elsewhere.
    The backward is the transposed products: dL/dx = A_H^T g A_W.
    Shapes: (N, C, H, W) -> (N, C, H_out, W_out) (any leading axes).
    """

    @staticmethod
    def forward(ctx, x, *, output_size):
        ctx.shape = x.shape
        if tuple(output_size) == (1, 1):
            # global average pooling (ResNet's head): one bin, a plain mean over each map, much
            # faster than a batch of 1-row matrix products
            ctx.ah = None
            return x.mean(axis=(-2, -1), keepdims=True)                   # (.., H, W) -> (.., 1, 1)
        ah = _averaging_matrix(x.shape[-2], output_size[0], x.dtype)     # (Ho, H)
        aw = _averaging_matrix(x.shape[-1], output_size[1], x.dtype)     # (Wo, W)
        ctx.ah, ctx.aw = ah, aw
        return ah @ x @ aw.T                                              # (.., H, W) -> (.., Ho, W) -> (.., Ho, Wo)

    @staticmethod
    def backward(ctx, grad):
        if ctx.ah is None:                                                # every pixel gets g / (H * W)
            h, w = ctx.shape[-2:]
            dx = np.empty(ctx.shape, dtype=grad.dtype)
            np.multiply(grad, grad.dtype.type(1 / (h * w)), out=dx)       # (.., 1, 1) -> (.., H, W)
            return dx
        return ctx.ah.T @ grad @ ctx.aw                                   # (.., Ho, Wo) -> (.., H, W)


def _averaging_matrix(size_in: int, size_out: int, dtype) -> np.ndarray:
    start, end = _bins(size_in, size_out)
    pixel = np.arange(size_in)
    inside = (pixel >= start[:, None]) & (pixel < end[:, None])          # (Out, In)
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveMaxPool2d(Function):
    """Adaptive max pooling: gather every bin padded to the largest bin size, take the first argmax.

    A bin shorter than the largest repeats its own last pixel, which can never come before the
    original in the flattened window, so argmax still returns the first maximum (PyTorch's rule).
    Backward: backprop through the stored argmax with np.bincount, as max pooling.
    Shapes: (N, C, H, W) -> (N, C, Ho, Wo, Lh, Lw) windows -> (N, C, Ho, Wo).
    """

    @staticmethod
    def forward(ctx, x, *, output_size, return_indices):
        x, unbatched = _batched(x, 2)
        n, c, h, w = x.shape
        ho, wo = output_size
        rows = _bin_gather(h, ho)                                        # (Ho, Lh)
        cols = _bin_gather(w, wo)                                        # (Wo, Lw)
        win = x[:, :, rows[:, None, :, None], cols[None, :, None, :]]    # (N, C, Ho, Wo, Lh, Lw)
        flat = win.reshape(n, c, ho, wo, rows.shape[1] * cols.shape[1])  # (N, C, Ho, Wo, Lh*Lw)
        k = flat.argmax(axis=-1)                                         # first maximum
        y = np.take_along_axis(flat, k[..., None], axis=-1)[..., 0]     # (N, C, Ho, Wo)
        nan = np.isnan(y)
        if nan.any():                                                    # PyTorch: the last NaN wins
            last_nan = flat.shape[-1] - 1 - np.argmax(np.isnan(flat[..., ::-1]), axis=-1)
            k = np.where(nan, last_nan, k)
        a, b = np.divmod(k, cols.shape[1])
        indices = rows[np.arange(ho)[:, None], a] * w + cols[np.arange(wo), b]   # (N, C, Ho, Wo): h*W + w
        ctx.route = np.arange(n * c).reshape(n, c, 1, 1) * (h * w) + indices
        ctx.in_shape, ctx.unbatched = x.shape, unbatched
        if unbatched:
            y, indices = y[0], indices[0]
        return (y, indices.astype(np.int64)) if return_indices else y

    @staticmethod
    def backward(ctx, grad):
        g = grad[None] if ctx.unbatched else grad
        dx = np.bincount(ctx.route.ravel(), weights=g.ravel(), minlength=math.prod(ctx.in_shape))
        dx = dx.reshape(ctx.in_shape).astype(grad.dtype)
        return dx[0] if ctx.unbatched else dx


def _bin_gather(size_in: int, size_out: int) -> np.ndarray:
    """(Out, L) pixel indices of every bin, L the largest bin; short bins repeat their last pixel."""
    start, end = _bins(size_in, size_out)
    longest = int((end - start).max(initial=1))
    return np.minimum(start[:, None] + np.arange(longest), end[:, None] - 1)


def adaptive_avg_pool2d(input, output_size):
    """Average over PyTorch's adaptive bins, which fit any input into ``output_size``.

    Bin i of Out over In pixels: [floor(i*In/Out), ceil((i+1)*In/Out)). ``output_size`` is an int
    or (H_out, W_out), where None keeps that axis. E.g. (2, 3, 7, 5) -> (3, None) -> (2, 3, 3, 5).
    """
    op = "adaptive_avg_pool2d"
    x = _check_input(op, input, 2)
    return AdaptiveAvgPool2d.apply(input, output_size=_adaptive_output_size(op, x, output_size))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Maximum over PyTorch's adaptive bins (see :func:`adaptive_avg_pool2d`).

    With ``return_indices`` also the int64 index h*W + w of each maximum in its input plane (first
    maximum on ties). E.g. (2, 3, 7, 5) -> 3 -> (2, 3, 3, 3).
    """
    op = "adaptive_max_pool2d"
    x = _check_input(op, input, 2)
    return_indices = _check_flag(op, return_indices, "return_indices")
    return AdaptiveMaxPool2d.apply(input, output_size=_adaptive_output_size(op, x, output_size),
                                   return_indices=return_indices)
