"""The convolution kernels: the sums of :mod:`convnp.ops.convolution`, computed faster.

Every engine below computes the three sums of the lecture's ConvNd (the forward, dL/dx and dL/dw)
on plain arrays: (N, C_in, *spatial) inputs, (C_out, C_in/G, *kernel) weights, ``pads`` one
(before, after) pair per axis, no bias. They agree with the lecture (im2col + GEMM) to float
rounding; tests/kernels/test_conv.py holds every one to it and to the sliding dot product of
:mod:`convnp.ops.sliding`. :class:`ConvKernel` and :class:`ConvTransposeKernel` wrap an engine in
the lecture Functions' contract (inputs, outputs, ``ctx.config``); :func:`select` picks one.

``"shifted"``    no column matrix: one GEMM per kernel offset over shifted views of the padded
                 image, accumulated by BLAS itself (beta = 1). See :class:`Shifted`.
``"blocked"``    im2col a cache-sized chunk of samples at a time, straight into the output; for
                 few input channels (a first layer). See :class:`Blocked`.
``"chwn"``       blocked im2col with the samples of a chunk innermost, (C, H, W, N): long copies
                 on small images. See :class:`ChannelsHeightWidthBatch`.
``"pointwise"``  1x1 convolutions (no padding): they are plain matrix products, x is already the
                 column matrix.
``"dense"``      a kernel as large as the input (LeNet's C5): a fully connected layer, one GEMM.
``"depthwise"``  one filter per channel (groups = C_in): per channel a thin product of its K
                 kernel weights with its K shifted rows; no GEMM over channels.

``cn.set_engine(conv=NAME)`` forces one of them wherever it applies (the lecture elsewhere);
``"auto"``, the default, picks by the rules of :func:`auto` and the thresholds just below;
``"reference"`` always runs the lecture.

The shifted and depthwise engines share one idea, the *wide layout*. Pad the image once,
channel-major, and number its pixels row by row: the pixel under kernel offset a of output
position q is then pixel q + shift(a), so for each offset the whole input the GEMM needs is a
shifted window of the same buffer, a matrix BLAS reads in place (its rows are the channels, a
fixed distance apart). Output positions are numbered on the padded grid too, so a few columns of
every row are off the image ("garbage"): they are computed and thrown away (a 32x32 image with
padding 1 lives on a 33x33 grid, 6% extra work), and the gradients put zeros there. A stride s
splits the padded image into s x s phases (every s-th pixel, starting at 0, 1, ..., s-1): within
a phase a strided convolution is again a shift. Small images, where the garbage would be a large
share, unfold the last axis instead (one copy per kernel column, no garbage along it), see
:class:`Geometry`.

The batch is cut into chunks that stay in the cache, and the chunks are shared between the
cores, each running its own copies *and* its own one-thread GEMMs (NumPy and BLAS release the
GIL), see :mod:`convnp.arraymath.parallel`. Scratch buffers are kept between calls (a fresh
large buffer costs a page fault per 4 KiB, every call).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math

import numpy as np

from convnp.arraymath.conv_arithmetic import conv_output_size
from convnp.arraymath.conv_config import ConvConfig, cut_or_extend
from convnp.arraymath.im2col import sliding_windows, window_counts
from convnp.arraymath.parallel import (  # noqa: F401  (blas_info: re-exported by convnp.ops)
    blas_info,
    blas_threads_for,
    gemm,
    has_strided_gemm,
    parallel_map,
    work_runs,
    workspace,
)
from convnp.autograd.function import Function
from convnp.kernels.engine import engine as _engine
from convnp.kernels.engine import get_engine, set_engine

# ============================================================================================
# The thresholds, in one place (measured on this repository's 2-core AVX-512 machine, float32;
# python -m benchmarks measures them again). Tests monkeypatch them to reach both sides.
# ============================================================================================

# "auto": below this many multiply-adds a convolution runs the lecture's im2col + one GEMM: the
# fast engines' chunking costs more than it saves.
TINY_MACS = 2**18
# "auto": below this many output positions per sample, or when the wide grid has at least
# SPARSE_GRID columns per output position, the lecture's im2col: the blocked engine's per-sample
# products would be matrix-vector products (LeNet's C5 that way, before "dense": 10x slower) and the
# wide layout mostly garbage; im2col's one product over the whole batch's columns is the fast one.
FEW_POSITIONS = 4
SPARSE_GRID = 4
# "auto" and Shifted: below this many input channels per group a GEMM per kernel offset is a thin,
# inefficient product (C_in = 3: inner dimension 3): gather the offsets' windows first ("gather"
# mode), and "auto" prefers the blocked engines, which have little to copy then.
GATHER_BELOW = 16
# "auto": "chwn" for few input channels (more than one) and at most this many outputs per row
# (LeNet's C3, rows of 10: fwd+bwd 7.7 -> 5 ms, lenet5 training step median 17.4 -> 14.9 ms
# in-process A/B; its C1, one channel with 28-wide rows, is faster in the plain layout).
SHORT_ROW = 10
# Geometry: unfold the last axis when the compact grid would waste more than this share of it
# (a 32x32 image with padding 1 wastes 6% on its 33-wide rows and stays compact; 8x8 would waste
# 27% and is unfolded).
UNFOLD_ABOVE = 0.1
# bytes of scratch per call: less work than this stays in the calling thread, since waking a
# worker costs about 0.1 ms (a (2, 16, 32, 32) 3x3 forward 920 -> 243 us).
SHARE_ABOVE = 1 << 20
# bytes of scratch per chunk of samples, about each core's share of the L2/L3 cache ("chwn" takes
# larger chunks than "blocked": every copy runs nb numbers further).
CHUNK_BYTES = {
    "shifted": 3 * 2**20,
    "blocked": 2 * 2**20,
    "chwn": 8 * 2**20,
    "pointwise": 4 * 2**20,
    "depthwise": 4 * 2**20,
}
# The kernels run their products on one BLAS thread below parallel.SMALL_PRODUCT_FLOPS (5e7 FLOPs:
# resnet20 batch-1 latency median 11.7 -> 6.7 ms), see ConvKernel and blas_threads_for.


# ============================================================================================
# The engine protocol
# ============================================================================================


class Engine:
    """Three sums on arrays: ``forward`` gives (y, saved), ``backward`` (dL/dx or None, dL/dw or None);
    ``saved`` is whatever forward hands to backward (``keep``: dL/dw will be asked for)."""

    name = "?"

    def applies(self, x_shape, w_shape, pads, stride, dilation, groups, dtype) -> bool:
        return True

    def forward(self, x, w, pads, stride, dilation, groups, keep):
        raise NotImplementedError

    def backward(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw):
        raise NotImplementedError


# ============================================================================================
# The wide layout: geometry shared by the shifted and depthwise engines
# ============================================================================================


class Geometry:
    """Where every kernel offset reads in the wide (padded, phase-split, row-numbered) layout.

    Per spatial axis, output position o and kernel offset a read padded pixel s*o + d*a, which is
    pixel o + (d*a)//s of phase (d*a) % s (the phase holds padded pixels ph, ph + s, ph + 2s, ...).
    Each phase is stored as a grid ``T`` per axis, samples one after another, ``block`` = prod(T)
    columns per sample, after ``head`` columns of zeros. Offset a's input is phase ``tap_phase[a]``
    starting at column ``tap_shift[a]``, and output position o is column flat(o) of the same grid;
    ``tail`` columns after the last sample keep every shifted window inside the buffer.

    Stride 1 uses a compact grid: the zeros between two rows (or two samples) serve as the right
    padding of one and the left padding of the next, so a row is only max(before, after) pixels
    longer than the image (a 32x32 image with padding 1: 33 x 33 grid, 6% garbage, not 34 x 34,
    13%; 8x8: 27%, not 56%). A left-padding pixel is then reached by a negative shift, which lands
    in the gap of the row (or sample) before, or in the head.

    Unfolded (when the compact grid would waste more than ``UNFOLD_ABOVE`` of its last axis, as
    on 8x8 images): phase b is the image shifted by kernel column b along the last axis, exactly
    out[-1] pixels wide, so only the leading axes carry gaps. It costs one input copy per kernel
    column, and the input gradient adds the phases back up.
    """

    def __init__(self, spatial, kernel, pads, stride, dilation):
        nd = len(kernel)
        self.spatial, self.kernel = tuple(spatial), tuple(kernel)
        self.out = tuple(
            conv_output_size(s, k, st, a, b, d) for s, (a, b), k, st, d in zip(spatial, pads, kernel, stride, dilation)
        )
        taps = list(itertools.product(*(range(k) for k in kernel)))  # C order, as the weight flattens
        fits = [st == 1 and min(a, b) <= d * (k - 1) for st, (a, b), k, d in zip(stride, pads, kernel, dilation)]
        self.compact = all(fits)
        # garbage the compact grid would compute along the last axis (a gap of max(before, after) per row)
        last_garbage = (spatial[-1] + max(pads[-1])) / self.out[-1] - 1
        self.unfolded = all(fits[:-1]) and (not fits[-1] or last_garbage > UNFOLD_ABOVE)
        self.overlapping = self.unfolded  # phases share input pixels
        if self.unfolded:
            # the last axis unfolded: phase b holds x shifted by kernel offset b along it, exactly
            # out[-1] wide (no garbage there); the leading axes share their gaps as in compact
            (before, _), st, d, size = pads[-1], stride[-1], dilation[-1], spatial[-1]
            self.T = tuple(s + max(a, b) for s, (a, b) in zip(spatial[:-1], pads[:-1])) + (self.out[-1],)
            grid_strides = [math.prod(self.T[i + 1 :]) for i in range(nd)]
            self.phases = list(range(kernel[-1]))
            self.tap_phase = [tap[-1] for tap in taps]
            raw = [
                sum((d_ * a - b_) * gs for a, d_, (b_, _), gs in zip(tap[:-1], dilation, pads, grid_strides))
                for tap in taps
            ]
            self.fills = []
            for b in self.phases:  # output column w reads pixel st*w + d*b - before
                lo = max(0, -((d * b - before) // st))
                hi = min(self.out[-1], (size - 1 + before - d * b) // st + 1)
                self.fills.append(
                    [(0, s, 0, 1) for s in spatial[:-1]] + [(lo, max(lo, hi), st * lo + d * b - before, st)]
                )
        elif self.compact:
            self.T = tuple(s + max(a, b) for s, (a, b) in zip(spatial, pads))
            grid_strides = [math.prod(self.T[i + 1 :]) for i in range(nd)]
            self.phases = [(0,) * nd]
            self.tap_phase = [0] * len(taps)
            raw = [
                sum((d * a - before) * gs for a, d, (before, _), gs in zip(tap, dilation, pads, grid_strides))
                for tap in taps
            ]
            self.fills = [[(0, s, 0, 1) for s in spatial]]
        else:
            self.T = tuple(o + (d * (k - 1)) // st for o, k, st, d in zip(self.out, kernel, stride, dilation))
            grid_strides = [math.prod(self.T[i + 1 :]) for i in range(nd)]
            phases_of_taps = [tuple((d * a) % st for a, st, d in zip(tap, stride, dilation)) for tap in taps]
            self.phases = sorted(set(phases_of_taps))
            index = {ph: i for i, ph in enumerate(self.phases)}
            self.tap_phase = [index[ph] for ph in phases_of_taps]
            raw = [
                sum(((d * a) // st) * gs for a, st, d, gs in zip(tap, stride, dilation, grid_strides)) for tap in taps
            ]
            # for each phase: per axis, the grid rows that hold real pixels, and which pixels (start, step)
            self.fills = []
            for ph in self.phases:
                per_axis = []
                for p, (before, _), st, size, t in zip(ph, pads, stride, spatial, self.T):
                    lo = max(0, -((p - before) // st))  # ceil((before - p) / st)
                    hi = min(t, (before + size - 1 - p) // st + 1)
                    per_axis.append((lo, max(lo, hi), st * lo + p - before, st))
                self.fills.append(per_axis)
        self.block = math.prod(self.T)
        self.head = max(0, -min(raw))
        self.tap_shift = [self.head + r for r in raw]
        self.tail = self.head + max(0, max(raw))
        covered = np.zeros(spatial, dtype=bool)
        for per_axis in self.fills:
            covered[
                tuple(
                    slice(src, src + st * (hi - lo - 1) + 1, st) if hi > lo else slice(0, 0)
                    for lo, hi, src, st in per_axis
                )
            ] = True
        self.covers_input = bool(covered.all())  # else dx needs zeros somewhere
        # what decides which parts of a reused buffer stay zero: part of every workspace key
        self.signature = (
            self.T,
            self.head,
            self.tail,
            self.unfolded,
            self.compact,
            tuple(tuple(f) for f in self.fills),
        )

    def grid_slices(self, phase_index):
        return tuple(slice(lo, hi) for lo, hi, _, _ in self.fills[phase_index])

    def source_slices(self, phase_index):
        return tuple(
            slice(src, src + st * (hi - lo - 1) + 1, st) if hi > lo else slice(0, 0)
            for lo, hi, src, st in self.fills[phase_index]
        )


@functools.lru_cache(maxsize=256)
def _geometry(spatial, kernel, pads, stride, dilation) -> Geometry:
    return Geometry(spatial, kernel, pads, stride, dilation)


def geometry(spatial, kernel, pads, stride, dilation) -> Geometry:
    return _geometry(tuple(spatial), tuple(kernel), tuple(tuple(p) for p in pads), tuple(stride), tuple(dilation))


def _fill_wide(buf, x, geo: Geometry, nb: int):
    """Copy samples x (nb, C, *s) into the phases of buf (phases, C, cols): buf[ph, c, n*block + flat(t)].

    Only the real pixels are written; the padding stays as the buffer was made (zeros).
    """
    width = nb * geo.block
    for pi in range(len(geo.phases)):
        dst = buf[pi, :, geo.head : geo.head + width].reshape(buf.shape[1], nb, *geo.T)  # (C, nb, *T), a view
        src = x[(slice(None), slice(None)) + geo.source_slices(pi)]  # (nb, C, *rows of this phase)
        np.copyto(dst[(slice(None), slice(None)) + geo.grid_slices(pi)], src.swapaxes(0, 1))


def _unfill_wide(buf, out, geo: Geometry, nb: int):
    """The adjoint of :func:`_fill_wide`: the real pixels of the phases back into out (nb, C, *s),
    added up where phases share a pixel (the unfolded layout)."""
    width = nb * geo.block
    if geo.overlapping:
        out[...] = 0
    for pi in range(len(geo.phases)):
        grid = buf[pi, :, geo.head : geo.head + width].reshape(buf.shape[1], nb, *geo.T)
        src = grid[(slice(None), slice(None)) + geo.grid_slices(pi)].swapaxes(0, 1)
        dst = out[(slice(None), slice(None)) + geo.source_slices(pi)]
        if geo.overlapping:
            np.add(dst, src, out=dst)
        else:
            np.copyto(dst, src)


def _valid(wide, geo: Geometry, nb: int):
    """The output positions of a wide (C, nb*block) array, as a (nb, C, *out) view."""
    grid = wide[:, : nb * geo.block].reshape(wide.shape[0], nb, *geo.T)
    return grid[(slice(None), slice(None)) + tuple(slice(0, o) for o in geo.out)].swapaxes(0, 1)


# ============================================================================================
# "shifted": one GEMM per kernel offset over shifted windows (or one GEMM over gathered windows)
# ============================================================================================


class Shifted(Engine):
    """y_wide = sum over offsets a of W[:, :, a] @ x_wide[:, shift(a):], accumulated by BLAS (beta = 1).

    Per chunk of samples: copy the chunk into the wide layout (one pass over the input), run one
    GEMM per offset (and group), copy the valid columns out (one pass over the output). No column
    matrix is ever built: BLAS's own packing is the only copy of the receptive fields.

    With few input channels per group a GEMM per offset would be a thin, inefficient product
    (C_in = 3: inner dimension 3), so the windows of all offsets are first gathered into a small
    column block in the cache ("gather" mode, im2col on the wide layout) and multiplied once.

    Backward, per chunk: the upstream gradient goes into the wide layout with zeros at the
    garbage columns; dL/dw[:, :, a] += g_wide @ x_wide[:, shift(a):]^T, and dL/dx is scattered
    with dx_wide[:, shift(a):] += W[:, :, a]^T @ g_wide (beta = 1 again), then copied out.
    """

    name = "shifted"

    def applies(self, x_shape, w_shape, pads, stride, dilation, groups, dtype):
        return np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.float64))

    # --- forward ---------------------------------------------------------------------------

    def forward(self, x, w, pads, stride, dilation, groups, keep):
        n, cin = x.shape[:2]
        cout, cig = w.shape[:2]
        geo = geometry(x.shape[2:], w.shape[2:], pads, stride, dilation)
        y = np.empty((n, cout, *geo.out), dtype=x.dtype)
        ktaps = len(geo.tap_shift)
        og = cout // groups
        gather = cig < GATHER_BELOW
        # weights per offset: (K, G, C_out/G, C_in/G), or gathered (G, C_out/G, K*C_in/G)
        wt = np.ascontiguousarray(np.moveaxis(w.reshape(groups, og, cig, ktaps), 3, 0))
        if gather:
            wg = np.ascontiguousarray(w.reshape(groups, og, cig, ktaps).transpose(0, 1, 3, 2)).reshape(
                groups, og, ktaps * cig
            )
        per_sample = (cin * len(geo.phases) + cout + (ktaps * cin if gather else 0)) * geo.block * x.itemsize
        key = (x.shape[1:], w.shape, geo.signature, stride, dilation, groups, x.dtype.str)

        def run(chunks):
            nb_max = max(b - a for a, b in chunks)
            xw = workspace(
                ("shift.x",) + key, (len(geo.phases), cin, nb_max * geo.block + geo.tail), x.dtype, zero=True
            )
            yw = workspace(("shift.y",) + key, (cout, nb_max * geo.block), x.dtype)
            for a, b in chunks:
                nb = b - a
                width = nb * geo.block
                _fill_wide(xw, x[a:b], geo, nb)
                if gather:
                    cols = workspace(("shift.cols",) + key, (groups, ktaps, cig, nb_max * geo.block), x.dtype)
                    for t in range(ktaps):
                        s = geo.tap_shift[t]
                        np.copyto(
                            cols[:, t, :, :width], xw[geo.tap_phase[t], :, s : s + width].reshape(groups, cig, width)
                        )
                    np.matmul(
                        wg,
                        cols.reshape(groups, ktaps * cig, -1)[:, :, :width],
                        out=yw[:, :width].reshape(groups, og, width),
                    )
                else:
                    for t in range(ktaps):
                        s, ph = geo.tap_shift[t], geo.tap_phase[t]
                        for g in range(groups):
                            gemm(
                                wt[t, g],
                                xw[ph, g * cig : (g + 1) * cig, s : s + width],
                                yw[g * og : (g + 1) * og, :width],
                                beta=0.0 if t == 0 else 1.0,
                            )
                np.copyto(y[a:b], _valid(yw, geo, nb))

        parallel_map(run, work_runs(n, per_sample, CHUNK_BYTES[self.name], SHARE_ABOVE))
        return y, None

    # --- backward --------------------------------------------------------------------------

    def backward(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw):
        n, cin = x.shape[:2]
        cout, cig = w.shape[:2]
        geo = geometry(x.shape[2:], w.shape[2:], pads, stride, dilation)
        ktaps = len(geo.tap_shift)
        og = cout // groups
        gather = cig < GATHER_BELOW
        wt = np.ascontiguousarray(np.moveaxis(w.reshape(groups, og, cig, ktaps), 3, 0))  # (K, G, Og, Cig)
        if gather:
            wg = np.ascontiguousarray(w.reshape(groups, og, cig, ktaps).transpose(0, 1, 3, 2)).reshape(
                groups, og, ktaps * cig
            )  # (G, Og, K*Cig)
        dx = None
        if need_dx:
            dx = (np.empty if geo.covers_input else np.zeros)(x.shape, dtype=x.dtype)
        nphase = len(geo.phases)
        per_sample = (cin * nphase * (need_dw + need_dx) + cout) * geo.block * x.itemsize
        if gather:
            per_sample += ktaps * cin * geo.block * x.itemsize
        key = (x.shape[1:], w.shape, geo.signature, stride, dilation, groups, x.dtype.str)

        def run(chunks):
            nb_max = max(b - a for a, b in chunks)
            cols_w = nb_max * geo.block
            gw = workspace(("shift.g",) + key, (cout, cols_w), x.dtype, zero=True)
            if need_dw:
                xw = workspace(("shift.x",) + key, (nphase, cin, cols_w + geo.tail), x.dtype, zero=True)
                if gather:
                    dw_acc = np.zeros((groups, og, ktaps * cig), dtype=x.dtype)
                else:
                    dw_acc = np.zeros((ktaps, groups, og, cig), dtype=x.dtype)
            if need_dx:
                dxw = workspace(("shift.dx",) + key, (nphase, cin, cols_w + geo.tail), x.dtype)
            if gather:
                cols = workspace(("shift.cols",) + key, (groups, ktaps, cig, cols_w), x.dtype)
            for a, b in chunks:
                nb = b - a
                width = nb * geo.block
                np.copyto(_valid(gw, geo, nb), g[a:b])  # garbage columns stay zero
                if need_dw:
                    _fill_wide(xw, x[a:b], geo, nb)
                if gather:
                    g3 = gw[:, :width].reshape(groups, og, width)
                    c3 = cols.reshape(groups, ktaps * cig, -1)[:, :, :width]
                    if need_dw:
                        for t in range(ktaps):
                            s = geo.tap_shift[t]
                            np.copyto(
                                cols[:, t, :, :width],
                                xw[geo.tap_phase[t], :, s : s + width].reshape(groups, cig, width),
                            )
                        dw_acc += np.matmul(g3, c3.transpose(0, 2, 1))
                    if need_dx:
                        dxw[:, :, : width + geo.tail] = 0
                        np.matmul(wg.transpose(0, 2, 1), g3, out=c3)  # (G, K*Cig, width)
                        for t in range(ktaps):
                            s = geo.tap_shift[t]
                            view = dxw[geo.tap_phase[t], :, s : s + width]
                            np.add(view, cols[:, t, :, :width].reshape(cin, width), out=view)
                else:
                    if need_dw:
                        for t in range(ktaps):
                            s, ph = geo.tap_shift[t], geo.tap_phase[t]
                            for grp in range(groups):
                                gemm(
                                    gw[grp * og : (grp + 1) * og, :width],
                                    xw[ph, grp * cig : (grp + 1) * cig, s : s + width],
                                    dw_acc[t, grp],
                                    trans_b=True,
                                    beta=1.0,
                                )
                    if need_dx:
                        dxw[:, :, : width + geo.tail] = 0
                        for t in range(ktaps):
                            s, ph = geo.tap_shift[t], geo.tap_phase[t]
                            for grp in range(groups):
                                gemm(
                                    wt[t, grp],
                                    gw[grp * og : (grp + 1) * og, :width],
                                    dxw[ph, grp * cig : (grp + 1) * cig, s : s + width],
                                    trans_a=True,
                                    beta=1.0,
                                )
                if need_dx:
                    _unfill_wide(dxw, dx[a:b], geo, nb)
            return dw_acc if need_dw else None

        parts = parallel_map(run, work_runs(n, per_sample, CHUNK_BYTES[self.name], SHARE_ABOVE))
        dw = None
        if need_dw:
            acc = parts[0] if len(parts) == 1 else np.sum(parts, axis=0)
            if gather:  # (G, Og, K, Cig) -> (C_out, C_in/G, *k)
                dw = acc.reshape(groups, og, ktaps, cig).transpose(0, 1, 3, 2).reshape(w.shape)
            else:  # (K, G, Og, Cig) -> (C_out, C_in/G, *k)
                dw = np.moveaxis(acc, 0, 3).reshape(w.shape)
            dw = np.ascontiguousarray(dw)
        return dx, dw


# ============================================================================================
# "blocked": im2col one cache-sized chunk of samples at a time, straight into the output
# ============================================================================================


class Blocked(Engine):
    """The im2col engine done in chunks: per chunk of samples, pad (into a reused buffer whose
    border stays zero), copy the receptive fields into a column block (nb, C_in*K, L) that fits in
    the cache, and multiply: y[n] = W @ cols[n] lands directly in the (N, C_out, *out) output, no
    garbage columns, no reordering. Backward: dW = sum_n g[n] @ cols[n]^T (the columns rebuilt
    from x, not kept), dX = col2im(W^T @ g[n]) scattered into a reused padded buffer.

    Its copies run along the image's short rows, so it pays where there is little to copy: few
    input channels per group (a first layer, LeNet's C1).
    """

    name = "blocked"

    def applies(self, x_shape, w_shape, pads, stride, dilation, groups, dtype):
        return np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.float64))

    @staticmethod
    def _setup(x, w, pads, stride, dilation, groups):
        """What forward and backward both need: the kernel, the padded and output sizes, the slices
        of the image inside the padding, L and K, C_out/G and C_in/G*K, the weight per group
        (G, C_out/G, C_in/G*K) and the workspace key."""
        kernel = tuple(w.shape[2:])
        padded = tuple(s + a + b for s, (a, b) in zip(x.shape[2:], pads))
        out = window_counts(padded, kernel, stride, dilation)
        interior = tuple(slice(a, a + s) for s, (a, _) in zip(x.shape[2:], pads))
        length, ktaps = math.prod(out), math.prod(kernel)
        og, ck = w.shape[0] // groups, (x.shape[1] // groups) * ktaps
        key = (x.shape[1:], w.shape, tuple(map(tuple, pads)), stride, dilation, x.dtype.str)
        return kernel, padded, out, interior, length, ktaps, og, ck, w.reshape(groups, og, ck), key

    @staticmethod
    def _columns(xp, kernel, stride, dilation):
        """(nb, C, *padded) -> a (nb, C, *k, *out) view of every window (no copy)."""
        nd = len(kernel)
        win = sliding_windows(xp, kernel, stride, dilation)  # (nb, C, *out, *k)
        return win.transpose(0, 1, *range(2 + nd, 2 + 2 * nd), *range(2, 2 + nd))

    def forward(self, x, w, pads, stride, dilation, groups, keep):
        n, cin = x.shape[:2]
        cout = w.shape[0]
        kernel, padded, out, interior, length, ktaps, og, ck, wg, key = self._setup(
            x, w, pads, stride, dilation, groups
        )
        y = np.empty((n, cout, *out), dtype=x.dtype)
        per_sample = (cin * (math.prod(padded) + ktaps * length)) * x.itemsize

        def run(chunks):
            nb_max = max(b - a for a, b in chunks)
            xp = workspace(("blk.x",) + key, (nb_max, cin, *padded), x.dtype, zero=True)
            cols = workspace(("blk.cols",) + key, (nb_max, cin, *kernel, *out), x.dtype)
            for a, b in chunks:
                nb = b - a
                xp[(slice(0, nb), slice(None)) + interior] = x[a:b]
                np.copyto(cols[:nb], self._columns(xp[:nb], kernel, stride, dilation))
                np.matmul(wg, cols[:nb].reshape(nb, groups, ck, length), out=y[a:b].reshape(nb, groups, og, length))

        parallel_map(run, work_runs(n, per_sample, CHUNK_BYTES[self.name], SHARE_ABOVE))
        return y, None

    def backward(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw):
        n, cin = x.shape[:2]
        kernel, padded, out, interior, length, ktaps, og, ck, wg, key = self._setup(
            x, w, pads, stride, dilation, groups
        )
        dx = np.empty(x.shape, dtype=x.dtype) if need_dx else None
        per_sample = (cin * (math.prod(padded) * (need_dx + need_dw) + ktaps * length)) * x.itemsize
        offsets = list(itertools.product(*(range(k) for k in kernel)))

        def run(chunks):
            nb_max = max(b - a for a, b in chunks)
            cols = workspace(("blk.cols",) + key, (nb_max, cin, *kernel, *out), x.dtype)
            if need_dw:
                xp = workspace(("blk.x",) + key, (nb_max, cin, *padded), x.dtype, zero=True)
                acc = np.zeros((groups, og, ck), dtype=x.dtype)
            if need_dx:
                dxp = workspace(("blk.dx",) + key, (nb_max, cin, *padded), x.dtype)
            for a, b in chunks:
                nb = b - a
                gc = g[a:b].reshape(nb, groups, og, length)
                c4 = cols[:nb].reshape(nb, groups, ck, length)
                if need_dw:
                    xp[(slice(0, nb), slice(None)) + interior] = x[a:b]
                    np.copyto(cols[:nb], self._columns(xp[:nb], kernel, stride, dilation))
                    acc += np.matmul(gc, c4.transpose(0, 1, 3, 2)).sum(axis=0)
                if need_dx:  # col2im: each offset's block back onto the pixels it read
                    np.matmul(wg.transpose(0, 2, 1), gc, out=c4)  # (nb, G, C_in/G*K, L)
                    dxp[:nb] = 0
                    for off in offsets:
                        target = tuple(
                            slice(o * d, o * d + st * (m - 1) + 1, st)
                            for o, d, st, m in zip(off, dilation, stride, out)
                        )
                        view = dxp[(slice(0, nb), slice(None)) + target]
                        np.add(view, cols[(slice(0, nb), slice(None)) + off], out=view)
                    np.copyto(dx[a:b], dxp[(slice(0, nb), slice(None)) + interior])
            return acc if need_dw else None

        parts = parallel_map(run, work_runs(n, per_sample, CHUNK_BYTES[self.name], SHARE_ABOVE))
        dw = np.sum(parts, axis=0).reshape(w.shape) if need_dw else None
        return dx, dw


# ============================================================================================
# "chwn": blocked im2col with the samples of a chunk innermost
# ============================================================================================


class ChannelsHeightWidthBatch(Blocked):
    """Blocked im2col in cuda-convnet's (C, H, W, N) layout: each chunk of nb samples is turned so
    that the sample axis is the innermost one, (C_in, *padded, nb), before the receptive fields
    are copied out. A row of the column block is then out[-1] * nb numbers long instead of
    out[-1], and so is every add of the col2im: on small images (LeNet's C3, 10x10 outputs) the
    copies stop being a loop over short rows. One GEMM per chunk (and group) over all nb*L
    columns: y = W @ cols, dW += cols @ g^T, dcols = W^T @ g; then the output, and the input
    gradient, are turned back to (N, C, *spatial).

    It pays where rows are short and the turns cheap: few input channels, at most
    ``SHORT_ROW`` outputs per row (see :func:`auto`).
    """

    name = "chwn"

    @staticmethod
    def _windows(xp, kernel, stride, dilation):
        """(C, *padded, nb) -> a (C, *k, *out, nb) view of every window (no copy)."""
        nd = len(kernel)
        win = sliding_windows(np.moveaxis(xp, -1, 0), kernel, stride, dilation)  # (nb, C, *out, *k)
        return win.transpose(1, *range(2 + nd, 2 + 2 * nd), *range(2, 2 + nd), 0)

    def forward(self, x, w, pads, stride, dilation, groups, keep):
        n, cin = x.shape[:2]
        cout, nd = w.shape[0], x.ndim - 2
        kernel, padded, out, interior, length, ktaps, og, ck, wg, key = self._setup(
            x, w, pads, stride, dilation, groups
        )
        y = np.empty((n, cout, *out), dtype=x.dtype)
        per_sample = (cin * (math.prod(padded) + ktaps * length) + cout * length) * x.itemsize
        batch_last, batch_first = _turns(nd)

        def run(chunks):
            for a, b in chunks:
                nb = b - a
                xp = workspace(("chwn.x", nb) + key, (cin, *padded, nb), x.dtype, zero=True)
                cols = workspace(("chwn.cols", nb) + key, (cin, *kernel, *out, nb), x.dtype)
                yt = workspace(("chwn.y", nb) + key, (cout, *out, nb), x.dtype)
                xp[(slice(None),) + interior] = x[a:b].transpose(batch_last)
                np.copyto(cols, self._windows(xp, kernel, stride, dilation))
                np.matmul(wg, cols.reshape(groups, ck, length * nb), out=yt.reshape(groups, og, length * nb))
                np.copyto(y[a:b], yt.transpose(batch_first))

        parallel_map(run, work_runs(n, per_sample, CHUNK_BYTES[self.name], SHARE_ABOVE))
        return y, None

    def backward(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw):
        n, cin = x.shape[:2]
        cout, nd = w.shape[0], x.ndim - 2
        kernel, padded, out, interior, length, ktaps, og, ck, wg, key = self._setup(
            x, w, pads, stride, dilation, groups
        )
        dx = np.empty(x.shape, dtype=x.dtype) if need_dx else None
        per_sample = (cin * (math.prod(padded) * (need_dx + need_dw) + ktaps * length) + cout * length) * x.itemsize
        offsets = list(itertools.product(*(range(k) for k in kernel)))
        batch_last, batch_first = _turns(nd)

        def run(chunks):
            acc = np.zeros((groups, ck, og), dtype=x.dtype) if need_dw else None  # dW^T per group
            for a, b in chunks:
                nb = b - a
                cols = workspace(("chwn.cols", nb) + key, (cin, *kernel, *out, nb), x.dtype)
                gt = workspace(("chwn.y", nb) + key, (cout, *out, nb), x.dtype)
                np.copyto(gt, g[a:b].transpose(batch_last))
                g3 = gt.reshape(groups, og, length * nb)
                c3 = cols.reshape(groups, ck, length * nb)
                if need_dw:
                    xp = workspace(("chwn.x", nb) + key, (cin, *padded, nb), x.dtype, zero=True)
                    xp[(slice(None),) + interior] = x[a:b].transpose(batch_last)
                    np.copyto(cols, self._windows(xp, kernel, stride, dilation))
                    acc += np.matmul(c3, g3.transpose(0, 2, 1))  # this orientation: the faster GEMM
                if need_dx:  # col2im: each offset's block back onto the pixels it read
                    dxp = workspace(("chwn.dx", nb) + key, (cin, *padded, nb), x.dtype)
                    np.matmul(wg.transpose(0, 2, 1), g3, out=c3)
                    dxp[...] = 0
                    for off in offsets:
                        target = tuple(
                            slice(o * d, o * d + st * (m - 1) + 1, st)
                            for o, d, st, m in zip(off, dilation, stride, out)
                        )
                        view = dxp[(slice(None),) + target]
                        np.add(view, cols[(slice(None),) + off], out=view)
                    np.copyto(dx[a:b], dxp[(slice(None),) + interior].transpose(batch_first))
            return acc

        parts = parallel_map(run, work_runs(n, per_sample, CHUNK_BYTES[self.name], SHARE_ABOVE))
        dw = None
        if need_dw:
            dw = np.ascontiguousarray(np.sum(parts, axis=0).transpose(0, 2, 1)).reshape(w.shape)
        return dx, dw


def _turns(nd: int):
    """The axis orders (N, C, *s) -> (C, *s, N) and back."""
    return tuple(range(1, nd + 2)) + (0,), (nd + 1,) + tuple(range(nd + 1))


# ============================================================================================
# "pointwise": a 1x1 convolution is a matrix product per sample
# ============================================================================================


class Pointwise(Engine):
    """y[n] = W @ x[n] with x[n] as (C_in, H*W): x already *is* the column matrix (no copy).

    dL/dx[n] = W^T @ g[n] and dL/dW = sum_n g[n] @ x[n]^T. A stride keeps every s-th pixel (one
    copy); the gradient goes back to those pixels and is zero elsewhere.
    """

    name = "pointwise"

    def applies(self, x_shape, w_shape, pads, stride, dilation, groups, dtype):
        return all(k == 1 for k in w_shape[2:]) and all(a == 0 and b == 0 for a, b in pads)

    @staticmethod
    def _sub(x, stride):
        if all(s == 1 for s in stride):
            return x
        return x[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]

    def forward(self, x, w, pads, stride, dilation, groups, keep):
        xs = self._sub(x, stride)
        n, cin = x.shape[:2]
        cout = w.shape[0]
        out = xs.shape[2:]
        length = math.prod(out)
        y = np.empty((n, cout, *out), dtype=x.dtype)
        wg = w.reshape(groups, cout // groups, cin // groups)  # (G, Og, Cig)

        def run(chunks):
            for a, b in chunks:
                xc = np.ascontiguousarray(xs[a:b]).reshape(b - a, groups, cin // groups, length)
                np.matmul(wg, xc, out=y[a:b].reshape(b - a, groups, cout // groups, length))

        per_sample = (cin + cout) * length * x.itemsize
        parallel_map(run, work_runs(n, per_sample, CHUNK_BYTES[self.name], SHARE_ABOVE))
        return y, None

    def backward(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw):
        xs = self._sub(x, stride)
        n, cin = x.shape[:2]
        cout = w.shape[0]
        length = math.prod(g.shape[2:])
        og, cig = cout // groups, cin // groups
        wg = w.reshape(groups, og, cig)
        strided = any(s != 1 for s in stride)
        dx = None
        if need_dx:
            dx = (np.zeros if strided else np.empty)(x.shape, dtype=x.dtype)
        dxs = self._sub(dx, stride) if need_dx else None

        def run(chunks):
            acc = np.zeros((groups, og, cig), dtype=x.dtype) if need_dw else None
            for a, b in chunks:
                gc = g[a:b].reshape(b - a, groups, og, length)
                if need_dw:
                    xc = np.ascontiguousarray(xs[a:b]).reshape(b - a, groups, cig, length)
                    acc += np.matmul(gc, xc.transpose(0, 1, 3, 2)).sum(axis=0)
                if need_dx:
                    if strided:
                        dxs[a:b] = np.matmul(wg.transpose(0, 2, 1), gc).reshape(dxs[a:b].shape)
                    else:
                        np.matmul(wg.transpose(0, 2, 1), gc, out=dx[a:b].reshape(b - a, groups, cig, length))
            return acc

        per_sample = (cin + cout) * length * x.itemsize
        parts = parallel_map(run, work_runs(n, per_sample, CHUNK_BYTES[self.name], SHARE_ABOVE))
        dw = np.sum(parts, axis=0).reshape(w.shape) if need_dw else None
        return dx, dw


# ============================================================================================
# "dense": a kernel as large as the input is a fully connected layer
# ============================================================================================


class Dense(Engine):
    """A kernel that covers the whole (unpadded, undilated) input has one output position, and
    its one dot product per filter reads every input value: the layer *is* a fully connected one
    (the lectures' FC <-> conv equivalence; LeNet-5's C5, VGG's classifier as convolutions).
    x (N, C_in, *k) read as (N, G, C_in/G*K) is already the column matrix:

        y = x2 @ W2^T,   dL/dx = g @ W2,   dL/dW = g^T @ x2      (per group; W2 = (C_out, C_in/G*K))
    """

    name = "dense"

    def applies(self, x_shape, w_shape, pads, stride, dilation, groups, dtype):
        return (
            tuple(x_shape[2:]) == tuple(w_shape[2:])
            and all(a == 0 and b == 0 for a, b in pads)
            and all(d == 1 for d in dilation)
        )

    @staticmethod
    def _operands(x, w, groups):
        n, cout = x.shape[0], w.shape[0]
        x2 = x.reshape(n, groups, -1).swapaxes(0, 1)  # (G, N, C_in/G*K)
        w2 = w.reshape(groups, cout // groups, -1)  # (G, C_out/G, C_in/G*K)
        return x2, w2

    def forward(self, x, w, pads, stride, dilation, groups, keep):
        n, cout, nd = x.shape[0], w.shape[0], x.ndim - 2
        x2, w2 = self._operands(x, w, groups)
        y = np.matmul(x2, w2.swapaxes(1, 2))  # (G, N, C_out/G)
        return np.ascontiguousarray(y.swapaxes(0, 1)).reshape((n, cout) + (1,) * nd), None

    def backward(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw):
        n, cout = g.shape[:2]
        x2, w2 = self._operands(x, w, groups)
        g2 = g.reshape(n, groups, cout // groups).swapaxes(0, 1)  # (G, N, C_out/G)
        dx = np.ascontiguousarray(np.matmul(g2, w2).swapaxes(0, 1)).reshape(x.shape) if need_dx else None
        dw = np.matmul(g2.swapaxes(1, 2), x2).reshape(w.shape) if need_dw else None
        return dx, dw


# ============================================================================================
# "depthwise": one filter per channel, as multiply-adds over the kernel offsets
# ============================================================================================


class Depthwise(Engine):
    """groups = C_in, one input channel per filter: y_wide[c] = sum_a w[c, a] * x_wide[c, shift(a):].

    A GEMM over channels would have an inner dimension of 1, useless to BLAS. Instead, per chunk
    (in the cache) the K shifted rows of every channel are gathered, cols[c, a] = x_wide[c, shift(a):],
    and each channel's output row is the K-vector w[c] times its (K, L) block: a batch of C thin
    products, y[c] = w[c] @ cols[c], that reads the block once (measured: half the time of K
    multiply-and-add passes with NumPy ufuncs). With a channel multiplier m (C_out = m*C_in) w[c]
    is (m, K). The gradients reuse the block: dL/dw[c] = g[c] @ cols[c]^T, and dL/dx scatters
    dcols[c] = w[c]^T @ g[c] back onto the shifted windows.
    """

    name = "depthwise"

    def applies(self, x_shape, w_shape, pads, stride, dilation, groups, dtype):
        return w_shape[1] == 1 and groups == x_shape[1] and groups > 1

    @staticmethod
    def _gather(cols, xw, geo, width):
        for t in range(len(geo.tap_shift)):
            s = geo.tap_shift[t]
            np.copyto(cols[:, t, :width], xw[geo.tap_phase[t], :, s : s + width])

    def forward(self, x, w, pads, stride, dilation, groups, keep):
        n, cin = x.shape[:2]
        cout = w.shape[0]
        m = cout // cin
        geo = geometry(x.shape[2:], w.shape[2:], pads, stride, dilation)
        ktaps = len(geo.tap_shift)
        y = np.empty((n, cout, *geo.out), dtype=x.dtype)
        wk = w.reshape(cin, m, ktaps)  # (C_in, m, K)
        key = (x.shape[1:], w.shape, geo.signature, stride, dilation, x.dtype.str)
        per_sample = (cin * (len(geo.phases) + ktaps) + cout) * geo.block * x.itemsize

        def run(chunks):
            nb_max = max(b - a for a, b in chunks)
            xw = workspace(("dw.x",) + key, (len(geo.phases), cin, nb_max * geo.block + geo.tail), x.dtype, zero=True)
            cols = workspace(("dw.cols",) + key, (cin, ktaps, nb_max * geo.block), x.dtype)
            yw = workspace(("dw.y",) + key, (cout, nb_max * geo.block), x.dtype)
            for a, b in chunks:
                width = (b - a) * geo.block
                _fill_wide(xw, x[a:b], geo, b - a)
                self._gather(cols, xw, geo, width)
                np.matmul(wk, cols[:, :, :width], out=yw[:, :width].reshape(cin, m, width))
                np.copyto(y[a:b], _valid(yw, geo, b - a))

        parallel_map(run, work_runs(n, per_sample, CHUNK_BYTES[self.name], SHARE_ABOVE))
        return y, None

    def backward(self, g, x, w, saved, pads, stride, dilation, groups, need_dx, need_dw):
        n, cin = x.shape[:2]
        cout = w.shape[0]
        m = cout // cin
        kernel = w.shape[2:]
        # the duality: with stride 1, dL/dx is the gradient correlated with the flipped kernel,
        # padded by d*(k - 1) minus the forward's padding on each side: a depthwise forward again
        dual = [(d * (k - 1) - a, d * (k - 1) - b) for k, d, (a, b) in zip(kernel, dilation, pads)]
        if need_dx and m == 1 and all(s == 1 for s in stride) and all(a >= 0 and b >= 0 for a, b in dual):
            flipped = np.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * len(kernel)])
            dx, _ = self.forward(g, flipped, dual, stride, dilation, groups, False)
            _, dw = (
                self.backward(g, x, w, saved, pads, stride, dilation, groups, False, need_dw)
                if need_dw
                else (None, None)
            )
            return dx, dw
        geo = geometry(x.shape[2:], kernel, pads, stride, dilation)
        ktaps = len(geo.tap_shift)
        wk = w.reshape(cin, m, ktaps)
        nphase = len(geo.phases)
        dx = (np.empty if geo.covers_input else np.zeros)(x.shape, dtype=x.dtype) if need_dx else None
        key = (x.shape[1:], w.shape, geo.signature, stride, dilation, x.dtype.str)
        per_sample = (cin * (nphase + ktaps) + cout) * geo.block * x.itemsize

        def run(chunks):
            nb_max = max(b - a for a, b in chunks)
            cols_w = nb_max * geo.block
            gw = workspace(("dw.g",) + key, (cout, cols_w), x.dtype, zero=True)
            cols = workspace(("dw.cols",) + key, (cin, ktaps, cols_w), x.dtype)
            if need_dw:
                xw = workspace(("dw.x",) + key, (nphase, cin, cols_w + geo.tail), x.dtype, zero=True)
                acc = np.zeros((cin, m, ktaps), dtype=x.dtype)
            if need_dx:
                dxw = workspace(("dw.dx",) + key, (nphase, cin, cols_w + geo.tail), x.dtype)
            for a, b in chunks:
                nb = b - a
                width = nb * geo.block
                np.copyto(_valid(gw, geo, nb), g[a:b])  # garbage columns stay zero
                g3 = gw[:, :width].reshape(cin, m, width)
                if need_dw:
                    _fill_wide(xw, x[a:b], geo, nb)
                    self._gather(cols, xw, geo, width)
                    acc += np.matmul(g3, cols[:, :, :width].transpose(0, 2, 1))  # (C_in, m, K)
                if need_dx:
                    dxw[:, :, : width + geo.tail] = 0
                    if m == 1:  # (C_in, K, width)
                        np.multiply(wk.transpose(0, 2, 1), g3, out=cols[:, :, :width])
                    else:
                        np.matmul(wk.transpose(0, 2, 1), g3, out=cols[:, :, :width])
                    for t in range(ktaps):
                        s = geo.tap_shift[t]
                        view = dxw[geo.tap_phase[t], :, s : s + width]
                        np.add(view, cols[:, t, :width], out=view)
                    _unfill_wide(dxw, dx[a:b], geo, nb)
            return acc if need_dw else None

        parts = parallel_map(run, work_runs(n, per_sample, CHUNK_BYTES[self.name], SHARE_ABOVE))
        dw = np.sum(parts, axis=0).reshape(w.shape) if need_dw else None
        return dx, dw


# ============================================================================================
# The kernel Functions: the lecture's contract, an engine's sums
# ============================================================================================


def _flops(x_shape, w_shape, stride) -> float:
    """About the floating-point operations of the convolution (for the BLAS thread choice)."""
    return 2.0 * x_shape[0] * math.prod(x_shape[2:]) / math.prod(stride) * math.prod(w_shape)


def _add_bias(y: np.ndarray, bias) -> np.ndarray:
    if bias is not None:
        y += bias.reshape(1, -1, *(1,) * (y.ndim - 2))
    return y


def _bias_grad(grad: np.ndarray) -> np.ndarray:
    return grad.sum(axis=(0, *range(2, grad.ndim)))  # (N, C, *out) -> (C,)


class ConvKernel(Function):
    """ConvNd (x, weight, bias -> y; ``ctx.config`` a ConvConfig) computed by ``engine``.

    Small convolutions (a batch of one, LeNet's layers) run their products in this thread on one
    BLAS thread (:func:`convnp.arraymath.parallel.blas_threads_for`)."""

    engine: Engine

    @classmethod
    def forward(cls, ctx, x, weight, bias, *, config: ConvConfig):
        win = config.window
        if config.unbatched:
            x = x[None]  # (C, *s) -> (1, C, *s)
        ctx.flops = _flops(x.shape, weight.shape, win.stride)
        with blas_threads_for(ctx.flops):
            y, ctx.saved = cls.engine.forward(
                x, weight, win.padding, win.stride, win.dilation, config.groups, ctx.needs_input_grad[1]
            )
        y = _add_bias(y, bias)
        ctx.config, ctx.weight = config, weight
        ctx.x = x if ctx.needs_input_grad[1] else None  # dW reads x; dX only its shape
        return y[0] if config.unbatched else y

    @classmethod
    def backward(cls, ctx, grad):
        config, weight = ctx.config, ctx.weight
        win = config.window
        g = np.ascontiguousarray(grad[None] if config.unbatched else grad)
        x = ctx.x if ctx.x is not None else np.empty(config.input_shape, weight.dtype)  # only its shape is used
        dx = dw = db = None
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            with blas_threads_for(ctx.flops):
                dx, dw = cls.engine.backward(
                    g,
                    x,
                    weight,
                    ctx.saved,
                    win.padding,
                    win.stride,
                    win.dilation,
                    config.groups,
                    ctx.needs_input_grad[0],
                    ctx.needs_input_grad[1],
                )
        if dx is not None and config.unbatched:
            dx = dx[0]
        if ctx.needs_input_grad[2]:
            db = _bias_grad(g)
        return dx, dw, db


class ConvTransposeKernel(Function):
    """ConvTransposeNd (``ctx.config`` a ConvConfig with output_padding) computed by ``engine``:
    its forward is the engine's dL/dx of the convolution it transposes (no padding, on the full
    scatter), its dX that convolution's forward, its dW that convolution's dL/dw."""

    engine: Engine

    @classmethod
    def forward(cls, ctx, x, weight, bias, *, config: ConvConfig):
        win = config.window
        if config.unbatched:
            x = x[None]  # (C, *s) -> (1, C, *s)
        full = (x.shape[0], weight.shape[1] * config.groups, *config.full_size())  # (N, C_out, *full)
        nopad = ((0, 0),) * len(win.kernel)
        ctx.flops = _flops(x.shape, weight.shape, (1,))
        with blas_threads_for(ctx.flops):
            y_full, _ = cls.engine.backward(
                np.ascontiguousarray(x),
                np.empty(full, x.dtype),
                weight,
                None,
                nopad,
                win.stride,
                win.dilation,
                config.groups,
                True,
                False,
            )
        out = config.output_shape(weight.shape)[2:]
        y = _add_bias(np.ascontiguousarray(cut_or_extend(y_full, [a for a, _ in win.padding], out)), bias)
        ctx.config, ctx.weight = config, weight
        ctx.x = x if ctx.needs_input_grad[1] else None  # dW correlates x with the gradient
        return y[0] if config.unbatched else y

    @classmethod
    def backward(cls, ctx, grad):
        config, weight = ctx.config, ctx.weight
        win = config.window
        grad = grad[None] if config.unbatched else grad
        nopad = ((0, 0),) * len(win.kernel)
        dx = dw = db = None
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            g_full = np.ascontiguousarray(cut_or_extend(grad, [-a for a, _ in win.padding], config.full_size()))
            with blas_threads_for(ctx.flops):
                if ctx.needs_input_grad[0]:  # dX: a convolution of the gradient with W
                    dx, _ = cls.engine.forward(g_full, weight, nopad, win.stride, win.dilation, config.groups, False)
                    dx = dx[0] if config.unbatched else dx
                if ctx.needs_input_grad[1]:  # dW: x correlated with the gradient
                    _, dw = cls.engine.backward(
                        np.ascontiguousarray(ctx.x),
                        g_full,
                        weight,
                        None,
                        nopad,
                        win.stride,
                        win.dilation,
                        config.groups,
                        False,
                        True,
                    )
        if ctx.needs_input_grad[2]:
            db = _bias_grad(grad)
        return dx, dw, db


def _kernels(base):
    """One Function class per engine ("ShiftedConv", "ShiftedConvTranspose", ...)."""
    suffix = base.__name__.removeprefix("Conv").removesuffix("Kernel")
    return {
        e.name: type(f"{type(e).__name__}Conv{suffix}", (base,), {"engine": e, "__doc__": base.__doc__})
        for e in ENGINES.values()
    }


SHIFTED, BLOCKED, CHWN = Shifted(), Blocked(), ChannelsHeightWidthBatch()
POINTWISE, DENSE, DEPTHWISE = Pointwise(), Dense(), Depthwise()
ENGINES = {e.name: e for e in (SHIFTED, BLOCKED, CHWN, POINTWISE, DENSE, DEPTHWISE)}
KERNELS, TRANSPOSE_KERNELS = _kernels(ConvKernel), _kernels(ConvTransposeKernel)


# ============================================================================================
# Choosing a kernel
# ============================================================================================


def auto(x_shape, w_shape, pads, stride, dilation, groups, dtype):
    """The rules of "auto": an engine, or None for the lecture's im2col + GEMM (measured on a 2-core
    AVX-512 machine, float32; the thresholds and their measurements are at the top of this file).

    A kernel as large as the input is a fully connected layer (LeNet's C5); tiny convolutions
    (TINY_MACS) stay with the lecture (the fast engines' chunking costs more than it saves), and so
    do those with a few output positions per sample (FEW_POSITIONS, SPARSE_GRID); 1x1 convolutions
    are GEMMs; depthwise ones are multiply-adds; few input channels per group (GATHER_BELOW: a first
    layer) and single samples (inference at batch 1) go to blocked im2col - in the (C, H, W, N)
    layout when the output rows are short (SHORT_ROW) and there is more than one input channel
    (LeNet's C3, while its C1, one channel with 28-wide rows, is faster in the plain layout) -
    everything else to the shifted GEMMs.
    """
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        return None
    if DENSE.applies(x_shape, w_shape, pads, stride, dilation, groups, dtype):
        return DENSE
    macs = x_shape[0] * w_shape[0] * math.prod(w_shape[1:]) * math.prod(x_shape[2:])
    if macs < TINY_MACS:
        return None
    for engine in (POINTWISE, DEPTHWISE):
        if engine.applies(x_shape, w_shape, pads, stride, dilation, groups, dtype):
            return engine
    geo = geometry(x_shape[2:], w_shape[2:], pads, stride, dilation)
    length = math.prod(geo.out)
    if length < FEW_POSITIONS or length * SPARSE_GRID <= geo.block:
        # a few output positions per sample (a kernel nearly as large as the input): the blocked
        # engine's per-sample products would be matrix-vector products, and the wide layout would
        # be mostly garbage; im2col's one product over the whole batch's columns is the fast one
        return None
    if w_shape[1] < GATHER_BELOW or not has_strided_gemm(dtype):
        # few input channels per group: little to copy; with short rows, copied samples-innermost
        if x_shape[0] > 1 and w_shape[1] > 1 and geo.out[-1] <= SHORT_ROW:
            return CHWN
        return BLOCKED
    if x_shape[0] == 1:
        return BLOCKED  # one sample: one column block and one GEMM, in the cache
    return SHIFTED


def select(config: ConvConfig, weight_shape, dtype):
    """The kernel Function for this convolution (or transposed convolution), or None for the
    lecture's ConvNd / ConvTransposeNd. Reads ``cn.get_engine("conv")``: "reference" -> None;
    a kernel name -> that kernel where it applies, else None; "auto" -> :func:`auto`."""
    name = get_engine("conv")
    if name == "reference":
        return None
    win = config.window
    if config.transposed:  # the convolution it transposes: input (N, C_out, *full), no padding
        x_shape = (config.input_shape[0], weight_shape[1] * config.groups, *config.full_size())
        pads, table = ((0, 0),) * len(win.kernel), TRANSPOSE_KERNELS
    else:
        x_shape, pads, table = config.input_shape, win.padding, KERNELS
    args = (x_shape, weight_shape, pads, win.stride, win.dilation, config.groups, dtype)
    if name == "auto":
        engine = auto(*args)
    else:
        engine = ENGINES[name] if ENGINES[name].applies(*args) else None
    return None if engine is None else table[engine.name]


# ============================================================================================
# The old switch, kept as a thin alias of cn.set_engine(conv=...)
# ============================================================================================


def _alias(name):
    return "reference" if name == "im2col" else name  # "im2col" was the lecture's engine's name


def set_conv_engine(name: str) -> None:
    """``set_conv_engine(name)`` is ``cn.set_engine(conv=name)``; "im2col" is an old name of "reference".

    >>> from convnp.ops import get_conv_engine, set_conv_engine
    >>> set_conv_engine("im2col")                # the lecture's im2col + GEMM
    >>> get_conv_engine()
    'reference'
    >>> set_conv_engine("auto")
    """
    set_engine(conv=_alias(name))


def get_conv_engine() -> str:
    """``cn.get_engine("conv")``: "auto" unless changed."""
    return get_engine("conv")


@contextlib.contextmanager
def conv_engine(name: str):
    """``with conv_engine("reference"): ...`` is ``with cn.engine(conv="reference"): ...``."""
    with _engine(conv=_alias(name)):
        yield
