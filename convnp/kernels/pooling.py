"""The max pooling kernels: the maxima and switches of :mod:`convnp.ops.pooling`, computed faster.

Both kernels have the contract of the lecture's :class:`~convnp.ops.pooling.MaxPoolNd`: the input
x (N, C, *S) or (C, *S) in; y (N, C, *out), and PyTorch's int64 flat indices when
``config.return_indices``, out; ``ctx.config`` the same :class:`~convnp.arraymath.pool_arithmetic.PoolConfig`.
Their outputs and indices agree with the lecture's bit for bit (a maximum is one of its inputs, and
ties go to the first tap in scan order both ways), their gradients to the rounding of the sums where
several windows chose one pixel (added in another order); tests/kernels/test_pooling.py holds them to it.

``"separable"``  the maximum over a box is the maximum over its last axis, then over the one before,
                 ... Each axis is reduced by a few whole-array np.maximum calls on contiguous,
                 shifted slices of phase buffers (see :class:`_AxisPlan`), keeping the offset of its
                 first maximum as a uint8 (the switches of that axis); the backward routes the
                 gradient back through them axis by axis. The planes are cut into cache-sized
                 pieces shared by the worker threads. See :class:`SeparableMaxPool`.
``"tiled"``      inference on windows that tile the input (stride = kernel, no padding, no
                 overhang): the maximum of the prod(kernel) strided views x[:, :, a::k], no
                 switches. See :class:`TiledMaxPool`.

The separable kernel leaves two cases to the lecture, which applies PyTorch's rules there: a NaN
in the output (a NaN is the maximum and the last NaN of a window gives its index) and a window
whose maximum is -inf next to padding (its index is its first tap inside the input). It finds
them only once the output is computed, and then raises :class:`Declined`: the operation runs the
lecture instead (convnp.ops.pooling's ``_max_pool``). The tiled kernel needs no index and
propagates NaN as PyTorch does.

``cn.set_engine(pool=NAME)`` forces one of them wherever it applies (the lecture elsewhere);
``"auto"``, the default, picks by :func:`select` and the thresholds just below; ``"reference"``
always runs the lecture. Average and adaptive pooling have no kernel: their lecture is the fast path.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from convnp.arraymath.parallel import parallel_map, work_runs, workspace
from convnp.arraymath.pool_arithmetic import PoolConfig
from convnp.autograd.function import Function
from convnp.kernels.engine import get_engine

# ============================================================================================
# The thresholds, in one place (measured on this repository's 2-core AVX-512 machine; python -m
# benchmarks measures the rows again). Tests monkeypatch them to reach both sides.
# ============================================================================================

# "auto": inference on at most this many input elements, windows tiling the input, takes the tiled
# kernel: a few whole-array calls where the separable kernel's bookkeeping costs more (LeNet's S2 at
# batch 1, 6x28x28: 37 -> 30 us for the whole call when it came in). Kernels alone, float32, no grad,
# min of 300 (2x2/2): 4,704 elements tiled 8.4 us vs separable 28 us; 16K 13.6 vs 33.5; 64K 35 vs 58;
# 256K 133 vs 156; 1M 606 vs 535 (two threads); 3x3/3: 17K 22 vs 39, 279K 191 vs 191. So the bound
# could rise to about 2**17 (not done: the larger inputs' latency rows were not measured with it).
_TILED_MAX = 1 << 14
# the separable kernel keeps an axis's switches (tap offsets) as uint8: longer kernels take the lecture
_MAX_SEPARABLE_KERNEL = 255
# separable: input bytes per piece of work, so that a piece's phase buffers, maxima and masks stay in
# the caches through every step (about twice as fast as whole-activation passes; phase buffers and
# pieces together took 2x2/2 fwd+bwd at N64 C64 32x32 from the lecture's 27 ms to 11, overlapping 3x3/2
# from 89 to 23 ms)
_PIECE_BYTES = 2 << 20
# separable: input elements above which the pieces run on the worker threads; waking a worker costs
# about 0.1 ms, more than pooling a smaller input takes
_PARALLEL_MIN = 1 << 20
# separable: scratch buffers below this many bytes are allocated afresh, cheaper than the workspace's
# bookkeeping; larger ones are reused between calls (a fresh large buffer faults its pages in)
_SCRATCH_MIN_BYTES = 1 << 16


class Declined(Exception):
    """A kernel found, after computing, a case it leaves to the lecture Function (NaN, -inf windows)."""


# ============================================================================================
# The selector
# ============================================================================================


def select(config: PoolConfig, needs_grad: bool):
    """The kernel Function for this max pooling, or None for the lecture's MaxPoolNd. Reads
    ``cn.get_engine("pool")``: "reference" -> None; a kernel name -> that kernel where it applies,
    else None; "auto" -> the tiled kernel for small inference inputs (``_TILED_MAX``), else the
    separable kernel where it applies. ``needs_grad``: a backward may follow (the tiled kernel
    keeps no switches). The separable kernel may still decline (:class:`Declined`)."""
    name = get_engine("pool")
    if name == "reference":
        return None
    if name == "auto":
        if math.prod(config.input_shape) <= _TILED_MAX and TiledMaxPool.applies(config, needs_grad):
            return TiledMaxPool
        return SeparableMaxPool if SeparableMaxPool.applies(config) else None
    if name == "tiled":
        return TiledMaxPool if TiledMaxPool.applies(config, needs_grad) else None
    return SeparableMaxPool if SeparableMaxPool.applies(config) else None


# ============================================================================================
# The kernel Functions
# ============================================================================================


class SeparableMaxPool(Function):
    """MaxPoolNd's contract, one axis at a time (:func:`_max_pool_separable`); ``ctx.axes`` and
    ``ctx.switches`` (uint8 tap offsets per axis) are what its backward routes the gradient through."""

    @staticmethod
    def applies(config: PoolConfig) -> bool:
        return max(config.window.kernel) <= _MAX_SEPARABLE_KERNEL

    @staticmethod
    def forward(ctx, x, *, config):
        x = x.reshape(config.input_shape)  # (C, *S) -> (1, C, *S) if unbatched
        needs_grad = ctx.needs_input_grad[0]
        y, axes, switches = _max_pool_separable(x, config, track=needs_grad or config.return_indices)
        ctx.config = config
        if needs_grad:
            ctx.axes, ctx.switches, ctx.dtype = axes, switches, x.dtype
        if config.return_indices:
            indices = _separable_indices(axes, switches, x.shape[2:]).reshape(y.shape)  # (N, C, *out)
            return (y[0], indices[0]) if config.unbatched else (y, indices)
        return y[0] if config.unbatched else y

    @staticmethod
    def backward(ctx, grad):
        g = grad.reshape(ctx.config.output_shape)  # (N, C, *out)
        dx = _max_pool_separable_backward(g, ctx.axes, ctx.switches, ctx.config.input_shape, ctx.dtype)
        return dx[0] if ctx.config.unbatched else dx


class TiledMaxPool(Function):
    """MaxPoolNd's forward for inference on windows that tile the input (:func:`_max_of_tiles`).
    It keeps no switches: the selector never picks it when a gradient or indices are wanted."""

    @staticmethod
    def applies(config: PoolConfig, needs_grad: bool) -> bool:
        w = config.window
        return (
            not needs_grad
            and not config.return_indices
            and w.kernel == w.stride
            and not config.padded
            and all(d == 1 for d in w.dilation)
        )

    @staticmethod
    def forward(ctx, x, *, config):
        ctx.config = config
        y = _max_of_tiles(x.reshape(config.input_shape), config.window.kernel, config.output_size)
        return y[0] if config.unbatched else y

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            "TiledMaxPool keeps no switches and has no backward; select() picks it for "
            "inference only. Received: a gradient to propagate"
        )


# ============================================================================================
# Tiled: the maximum of strided views
# ============================================================================================


def _max_of_tiles(x, kernel, out_size):
    """Max pooling of windows that tile the input (stride = kernel, no padding, no overhang), no
    switches kept: the maximum of the prod(kernel) strided views x[:, :, a::k], a few whole-array
    calls where the separable kernel's bookkeeping would cost more (a batch of one, inference).

    np.maximum(later, earlier) returns ``earlier`` on ties, so a zero maximum keeps the sign of the
    window's first zero, and a NaN anywhere in the window makes the maximum NaN: PyTorch's rules.
    """
    first, *rest = _tile_views(kernel, out_size)  # each x[...] is (N, C, *out)
    y = x[first].copy()
    for view in rest:
        np.maximum(x[view], y, out=y)
    return y


@functools.lru_cache(maxsize=256)
def _tile_views(kernel, out_size):
    """The index of every tap's strided view x[:, :, a::k] for :func:`_max_of_tiles`."""
    return tuple(
        (slice(None), slice(None), *(slice(a, a + k * o, k) for a, k, o in zip(off, kernel, out_size)))
        for off in itertools.product(*(range(k) for k in kernel))
    )


# ============================================================================================
# Separable: one axis at a time, on shifted slices of phase buffers
# ============================================================================================


class _AxisPlan:
    """How the separable kernel reduces one spatial axis (length n, kernel k, stride s, padding p,
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
        self.taps = [((d * a) % s, (d * a) // s) for a in range(k)]  # tap a -> (phase, shift)
        self.tail = max(shift for _, shift in self.taps)
        self.m = o + self.tail
        self.phases = []  # (r, rows [lo, hi) inside the input, their source slice, taps)
        inside = 0
        for r in sorted({r for r, _ in self.taps}):
            lo = min(self.m, max(0, -((r - p) // s)))  # first row with s*m + r - p >= 0
            hi = min(self.m, max(lo, -((r - p - n) // s)))  # one past the last with < n
            source = slice(s * lo + r - p, s * (hi - 1) + r - p + 1, s)
            self.phases.append((r, lo, hi, source, [(a, sh) for a, (q, sh) in enumerate(self.taps) if q == r]))
            inside += hi - lo
        self.covered = inside == n  # every input position is some window's tap (phases are disjoint)


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
    if not np.little_endian:  # the low half is the second element
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
    rule). A NaN makes the maximum NaN (the kernel then declines).
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
        rows = buf[:length].reshape(b, axis.m, t)  # (B, M, T): positions s*m + r - p
        if lo:
            rows[:, :lo] = -np.inf
        if hi < axis.m:
            rows[:, hi:] = -np.inf
        rows[:, lo:hi] = a[:, source]
    taps = [bufs[r][sh * t : sh * t + length] for r, sh in axis.taps]  # tap a: (B*M*T,), shifted sh rows
    best = out.reshape(-1)
    if axis.k == 1:
        np.copyto(best, taps[0])
        if switch is not None:
            switch.fill(0)
        return
    if switch is not None:
        first = switch.reshape(-1)
        np.greater(taps[1], taps[0], out=first.view(bool))  # offset 1 where it beats offset 0
    # np.maximum(later, earlier) keeps `earlier` on ties (its vector loop returns the second
    # operand), so a zero maximum keeps the sign of the first zero, as PyTorch's does
    np.maximum(taps[1], taps[0], out=best)
    if axis.k > 2 and switch is not None:
        beats = _scratch(f"max_pool beats {key}", (length,), np.uint8)
    for off in range(2, axis.k):
        if switch is not None:
            np.greater(taps[off], best, out=beats.view(bool))
            beats *= np.uint8(off)  # off where it beats, else 0
            np.maximum(first, beats, out=first)  # off exceeds every earlier offset
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
            target = buf[sh * t : sh * t + length]
            if j == 0:
                if sh:
                    buf[: sh * t] = 0
                if sh < axis.tail:
                    buf[sh * t + length :] = 0
            elif part is None:
                part = _scratch(f"max_pool grad part {key}", (length,), g.dtype)
            if mask is None:
                np.copyto(target, gf)
                continue
            np.equal(sw, off, out=mask.view(bool))
            np.negative(mask, out=mask)  # -1 (all bits set) where chosen
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
        b, t = x.shape[0] * math.prod(spatial[:ax]), math.prod(full[ax + 1 :])
        _reduce_axis(cur.reshape(b, spatial[ax], t), axes[ax], out, None if switches is None else switches[ax], ax)
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
        cur.fill(0)  # the ignored windows get 0
        cur[(slice(None), *(slice(0, o) for o in outs))] = g
    for ax in range(nd):
        shape = (g.shape[0], *spatial[: ax + 1], *full[ax + 1 :])
        out = dx if ax == nd - 1 else _scratch(f"max_pool grad {ax}", shape, dx.dtype)
        b, t = g.shape[0] * math.prod(spatial[:ax]), math.prod(full[ax + 1 :])
        _unreduce_axis(cur.reshape(b, full[ax], t), switches[ax], axes[ax], out.reshape(b, spatial[ax], t), ax)
        cur = out


def _jobs(planes: int, plane_size: int, itemsize: int) -> list[list[tuple[int, int]]]:
    """The planes in pieces of about _PIECE_BYTES of input, one run (job) of pieces per worker
    thread, all in the calling thread up to _PARALLEL_MIN elements (see work_runs). Each piece
    goes through every step (copies, maxima, masks) while its buffers are in the caches, about
    twice as fast as whole-activation passes."""
    return work_runs(planes, plane_size * itemsize, _PIECE_BYTES, _PARALLEL_MIN * itemsize)


def _max_pool_separable(x, config: PoolConfig, track: bool):
    """Max pooling by reducing one axis at a time (see _AxisPlan): (y, axes, switches); raises
    Declined where the lecture must decide (a NaN, or an all -inf window next to padding).

    The maximum over a box is the maximum over its last axis, then over the one before, ...;
    and the FIRST maximum of the window in scan order (row-major over the offsets, PyTorch's tie
    rule) is found the same way: the first row holding the maximum, then the first maximum in
    that row. switches[ax] (uint8) holds, for each partial window, its first-maximum offset
    along axis ax. The planes are cut into pieces handled by the worker threads.
    x (N, C, *S) -> y (N, C, *out).
    """
    n, c, *spatial = x.shape
    w, out_size = config.window, config.output_size
    before = tuple(b for b, _ in w.padding)
    axes = [_axis_plan(*v) for v in zip(spatial, w.kernel, w.stride, before, w.dilation, out_size)]
    planes = x.reshape(n * c, *spatial)  # (N*C, *S)
    y = np.empty((n * c, *out_size), dtype=x.dtype)
    full = [a.m for a in axes]
    switches = (
        [np.empty((n * c, *spatial[:ax], *full[ax:]), dtype=np.uint8) for ax in range(len(axes))] if track else None
    )

    def run(job):
        for a, b in job:
            _separable_forward(planes[a:b], axes, y[a:b], None if switches is None else [s[a:b] for s in switches])

    parallel_map(run, _jobs(n * c, math.prod(spatial), x.itemsize))
    low = y.min()
    if np.isnan(low) or (config.padded and low == -np.inf):
        raise Declined("max pooling: a NaN, or a window of -inf next to padding: PyTorch's rules, the lecture's")
    return y.reshape(n, c, *out_size), axes, switches


def _max_pool_separable_backward(g, axes, switches, shape, dtype):
    """dL/dx of _max_pool_separable: (N, C, *out) -> (N, C, *S)."""
    n, c, *spatial = shape
    dx = np.empty(shape, dtype=dtype)  # every pixel is written
    planes = dx.reshape(n * c, *spatial)  # a view: dx is returned whole
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
        sw = sw.reshape(planes, math.prod(spatial[:ax]), *outs[ax:])  # (P, prod S[:ax], *out[ax:])
        at = (np.arange(planes).reshape([-1] + [1] * nd), 0 if index is None else index, *grid[ax:])
        tap = sw[at].astype(np.int64)  # (P, *out): the offset chosen on ax
        pos = grid[ax] * axis.s + tap * axis.d - axis.p  # position on axis ax: s*i + d*a - p
        index = pos if index is None else index * spatial[ax] + pos
    return index
