"""Receptive-field arithmetic, written once: the numbers the lectures carry from layer to layer, and
the box of input pixels behind every output position.

Per spatial axis a unit has a receptive field r (pixels of the image it depends on) and a jump j
(image pixels between neighbouring units). The image itself has r = j = 1; a window layer (kernel
k, stride s, dilation d; k_eff = d * (k - 1) + 1) gives

    r_out = r_in + (k_eff - 1) * j_in,    j_out = j_in * s.

>>> from convnp.arraymath.conv_arithmetic import Window
>>> w = Window.of(2, 3, stride=2, padding=1)
>>> field_step((1, 1), (1, 1), w)
((3, 3), (2, 2))
>>> field_step((3, 3), (2, 2), w)
((7, 7), (4, 4))

Where a field sits, per output position i: :class:`Axis` keeps ``lo[i]``, ``hi[i]`` (the first and
last input pixel, clipped to the image: zero padding is not a pixel) and the nominal ``nlo[i]``,
``nhi[i]`` (unclipped, running on into the padding with the jump). A window reads the input
positions u = s*i - p + d*a, a = 0 .. k-1, so lo_out[i] = min_a lo_in[u], hi_out[i] = max_a hi_in[u]
over the taps u inside the input (:func:`window_axis`).

>>> a = window_axis(identity_axis(8), 4, 3, 2, 1, 1)       # 8 pixels, kernel 3, stride 2, padding 1
>>> a.lo.tolist(), a.hi.tolist(), a.nlo.tolist()
([0, 1, 3, 5], [1, 3, 5, 7], [-1, 1, 3, 5])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from convnp.arraymath.conv_arithmetic import Window

__all__ = [
    "whole",
    "field_step",
    "transposed_field_step",
    "adaptive_bins",
    "adaptive_field_step",
    "dense_field_step",
    "Axis",
    "identity_axis",
    "window_axis",
    "bins_axis",
    "gather_axis",
    "union_axis",
    "broadcast_axis",
    "EMPTY_LO",
    "EMPTY_HI",
]

EMPTY_LO = np.iinfo(np.int64).max // 4  # the field of a position that sees no pixel: lo > hi
EMPTY_HI = -1


def whole(v):
    """An int when ``v`` is a whole number (jumps print as 2, not 2.0), else the float."""
    return int(v) if float(v).is_integer() else float(v)


# --------------------------------------------------------------------------------------------
# Field size and jump
# --------------------------------------------------------------------------------------------
def field_step(rf: Sequence, jump: Sequence, window: Window) -> tuple[tuple, tuple]:
    """A window layer: r_out = r_in + (k_eff - 1) * j_in, j_out = j_in * s, per axis."""
    return (
        tuple(r + (span - 1) * j for r, j, span in zip(rf, jump, window.span)),
        tuple(whole(j * s) for j, s in zip(jump, window.stride)),
    )


def transposed_field_step(rf: Sequence, jump: Sequence, window: Window) -> tuple[tuple, tuple]:
    """A transposed convolution with ``window`` (its forward convolution's): an output unit reads
    ceil(k_eff / s) input units, so r_out = r_in + (ceil(k_eff / s) - 1) * j_in and j_out = j_in / s."""
    return (
        tuple(r + (math.ceil(span / s) - 1) * j for r, j, span, s in zip(rf, jump, window.span, window.stride)),
        tuple(whole(j / s) for j, s in zip(jump, window.stride)),
    )


def adaptive_bins(n_in: int, n_out: int) -> list[int]:
    """The lengths of PyTorch's adaptive bins: bin i is [floor(i*In/Out), ceil((i+1)*In/Out)).

    >>> adaptive_bins(7, 3)
    [3, 3, 3]
    """
    return [-(-((i + 1) * n_in) // n_out) - (i * n_in) // n_out for i in range(n_out)]


def adaptive_field_step(
    rf: Sequence, jump: Sequence, spatial_in: Sequence, spatial_out: Sequence
) -> tuple[tuple, tuple]:
    """Adaptive pooling: the largest bin is the window, the jump is j * in / out."""
    return (
        tuple(r + (max(adaptive_bins(n, o)) - 1) * j for r, j, n, o in zip(rf, jump, spatial_in, spatial_out)),
        tuple(whole(j * n / o) for j, n, o in zip(jump, spatial_in, spatial_out)),
    )


def dense_field_step(rf: Sequence, jump: Sequence, grid: Sequence) -> tuple:
    """A unit joined to every position of a map of ``grid`` positions: r_out = r_in + (n - 1) * j_in."""
    return tuple(r + (n - 1) * j for r, j, n in zip(rf, jump, grid))


# --------------------------------------------------------------------------------------------
# The box of every position, per axis
# --------------------------------------------------------------------------------------------
@dataclass
class Axis:
    lo: np.ndarray  # (n,) int64: first image pixel position i depends on (clipped)
    hi: np.ndarray  # (n,) int64: last one (lo > hi: none)
    nlo: np.ndarray  # (n,) int64: nominal (unclipped) first pixel
    nhi: np.ndarray  # (n,) int64: nominal last pixel
    jump: float  # image pixels between neighbouring positions

    def ext(self, u: np.ndarray, which: str) -> np.ndarray:
        """The nominal field of positions ``u`` that may lie outside 0..n-1 (in the padding): the
        field of the nearest real position, moved by the jump per position."""
        arr = self.nlo if which == "lo" else self.nhi
        n = arr.size
        uc = np.clip(u, 0, n - 1)
        return arr[uc] + np.round((u - uc) * self.jump).astype(np.int64)


def identity_axis(n: int) -> Axis:
    """The image's own axis of n pixels: position i sees pixel i."""
    i = np.arange(n, dtype=np.int64)
    return Axis(i, i.copy(), i.copy(), i.copy(), 1.0)


def window_axis(a: Axis, m: int, k: int, s: int, p: int, d: int) -> Axis:
    """Output positions 0..m-1 of a window of k taps, stride s, padding p (before), dilation d over ``a``."""
    n = a.lo.size
    start = np.arange(m, dtype=np.int64) * s - p  # (m,) first tap, in input positions
    lo = np.full(m, EMPTY_LO, dtype=np.int64)
    hi = np.full(m, EMPTY_HI, dtype=np.int64)
    for t in range(k):  # loop over kernel taps
        u = start + d * t
        inside = (u >= 0) & (u < n)
        uc = np.clip(u, 0, n - 1)
        lo = np.where(inside, np.minimum(lo, a.lo[uc]), lo)
        hi = np.where(inside, np.maximum(hi, a.hi[uc]), hi)
    nlo = a.ext(start, "lo")
    nhi = a.ext(start + d * (k - 1), "hi")
    return Axis(lo, hi, nlo, nhi, a.jump * s)


def bins_axis(a: Axis, m: int) -> Axis:
    """Adaptive pooling from n to m positions: bin i covers [floor(i n / m), ceil((i + 1) n / m))."""
    n = a.lo.size
    i = np.arange(m, dtype=np.int64)
    start = (i * n) // m
    stop = -((-(i + 1) * n) // m)  # ceil((i+1) n / m)
    width = int((stop - start).max())
    lo = np.full(m, EMPTY_LO, dtype=np.int64)
    hi = np.full(m, EMPTY_HI, dtype=np.int64)
    for t in range(width):  # loop over the taps of the widest bin
        u = start + t
        inside = u < stop
        uc = np.clip(u, 0, n - 1)
        lo = np.where(inside, np.minimum(lo, a.lo[uc]), lo)
        hi = np.where(inside, np.maximum(hi, a.hi[uc]), hi)
    return Axis(lo, hi, a.nlo[start], a.nhi[stop - 1], a.jump * n / m)


def gather_axis(a: Axis, src: np.ndarray, nominal_src: np.ndarray, jump_scale: float = 1.0) -> Axis:
    """Output position o reads input position src[o] (outside 0..n-1: none, a constant of the padding)."""
    n = a.lo.size
    inside = (src >= 0) & (src < n)
    sc = np.clip(src, 0, n - 1)
    lo = np.where(inside, a.lo[sc], EMPTY_LO)
    hi = np.where(inside, a.hi[sc], EMPTY_HI)
    return Axis(lo, hi, a.ext(nominal_src, "lo"), a.ext(nominal_src, "hi"), a.jump * jump_scale)


def union_axis(parts: list[Axis]) -> Axis:
    """Position by position, the union of the fields of several tensors of the same size."""
    lo, hi, nlo, nhi = parts[0].lo, parts[0].hi, parts[0].nlo, parts[0].nhi
    for p in parts[1:]:
        lo, hi = np.minimum(lo, p.lo), np.maximum(hi, p.hi)
        nlo, nhi = np.minimum(nlo, p.nlo), np.maximum(nhi, p.nhi)
    return Axis(lo, hi, nlo, nhi, max(p.jump for p in parts))


def broadcast_axis(box_lo, box_hi, box_nlo, box_nhi, jump, n) -> Axis:
    """One box for every one of n positions."""
    full = np.ones(n, dtype=np.int64)
    return Axis(full * box_lo, full * box_hi, full * box_nlo, full * box_nhi, jump)
