"""Padding: constant (zeros), reflect, replicate and circular, exactly like torch.nn.functional.pad.

``pad`` is a flat tuple of (before, after) pairs starting from the LAST dimension:
``(left, right)`` pads W, ``(left, right, top, bottom)`` pads W and H, a third pair pads D.
For one padded axis of size n with pads (p, q) the output has n + p + q entries; output entry
j (counted from -p, so j = 0 is the first input pixel) reads input pixel src(j)::

    constant    x[j] for 0 <= j < n, else value             (torch.nn.ConstantPad*d)
    reflect     mirror about the edge pixel, which is NOT repeated:
                src(j) = |j| folded at n - 1:  [a b c d] -> c b | a b c d | c b
    replicate   repeat the edge pixel:  src(j) = clip(j, 0, n - 1):  a a | a b c d | d d
    circular    wrap around:  src(j) = j mod n:                       c d | a b c d | a b

A negative pad crops instead (PyTorch allows it in every mode). constant, reflect and replicate
pad the kept side as above and then crop; circular (like PyTorch) crops first and wraps around
the cropped array.

Forward of reflect/replicate/circular is a gather per padded axis: with the index array idx of
src(j), the padded axis is ``x.take(idx, axis)``. Its backward is the adjoint, a scatter-add:
the border pixels are copies, so the gradient of every copy is added back onto its source,
``dx[..., idx[j], ...] += g[..., j, ...]``. The interior block (where src is the identity) is
copied in one slice and only the border columns go through ``np.add.at`` (repeated sources in
idx, e.g. every replicated pixel, accumulate). Axes are undone in reverse order. Constant
padding's backward is the slice of the gradient that covers the kept input (padded entries
are constants and receive nothing; cropped input pixels get zero).

>>> import convnp as cn
>>> pad(cn.randn(2, 3, 8, 8), (1, 1, 2, 2), mode="reflect").shape
(2, 3, 12, 10)
>>> pad(cn.randn(2, 3, 8, 8), (-1, 0)).shape     # crop one column on the left
(2, 3, 8, 7)
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.ops.checks import checked_once

_MODES = ("constant", "reflect", "replicate", "circular")


class AxisGather(NamedTuple):
    """One padded axis of reflect / replicate / circular padding: output pixel j of ``axis`` reads
    input pixel ``index[j]``; ``direct`` = (out_start, in_start, length), the run read one to one."""

    axis: int
    index: np.ndarray
    direct: tuple[int, int, int]


# ============================================================================================
# Index arrays: which input pixel each output pixel of one padded axis reads
# ============================================================================================


def _source_index(n: int, before: int, after: int, mode: str) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Index array src of one padded axis, and its direct block (out_start, in_start, length).

    The direct block is the run of outputs that read the input one to one (src(j) = in_start +
    j - out_start); everything else is a border copy. The pads have been validated.
    """
    if mode == "circular":
        # crop first, then wrap around the m kept pixels starting at s (PyTorch's order)
        s = max(-before, 0)
        m = n - s - max(-after, 0)
        lead = max(before, 0)
        j = np.arange(-lead, m + max(after, 0))  # positions in the cropped array
        idx = s + np.mod(j, m) if m > 0 else np.zeros(0, dtype=np.intp)
        return idx.astype(np.intp), (lead, s, max(m, 0))
    j = np.arange(-before, n + after)  # positions in the input
    if mode == "replicate":
        idx = np.clip(j, 0, n - 1)
    else:  # reflect, |pads| < n: one fold
        idx = np.abs(j)
        idx = np.where(idx > n - 1, 2 * (n - 1) - idx, idx)
    lo, hi = max(-before, 0), n - max(-after, 0)  # input pixels kept as they are
    return idx.astype(np.intp), (lo + before, lo, max(hi - lo, 0))


def _scatter_add(grad: np.ndarray, idx: np.ndarray, direct, n: int, axis: int) -> np.ndarray:
    """Adjoint of ``x.take(idx, axis)``: add every output gradient onto the pixel it was read from.

    (..., len(idx), ...) -> (..., n, ...)
    """
    out_start, in_start, length = direct
    shape = list(grad.shape)
    shape[axis] = n
    dx = np.zeros(shape, dtype=grad.dtype)
    lead = (slice(None),) * axis
    dx[lead + (slice(in_start, in_start + length),)] = grad[lead + (slice(out_start, out_start + length),)]
    border = np.r_[0:out_start, out_start + length : idx.size]  # output positions that are copies
    if border.size:
        np.add.at(dx, lead + (idx[border],), grad[lead + (border,)])
    return dx


# ============================================================================================
# The two Functions
# ============================================================================================


class ConstantPad(Function):
    """Constant padding with negative pads cropping: crop, then place inside a filled array."""

    @staticmethod
    def forward(ctx, x, pads, value=0.0):
        # pads: one (before, after) per axis of x, validated
        crop, place, out_shape = _constant_layout(x.shape, tuple(map(tuple, pads)))
        out = np.full(out_shape, value, dtype=x.dtype)  # (..., n_i, ...) -> (..., n_i + b + a, ...)
        out[place] = x[crop]
        ctx.shape, ctx.crop, ctx.place = x.shape, crop, place
        return out

    @staticmethod
    def backward(ctx, grad):
        dx = np.zeros(ctx.shape, dtype=grad.dtype)
        dx[ctx.crop] = grad[ctx.place]  # padded entries were constants
        return dx


@checked_once
def _constant_layout(shape, pads):
    """For ConstantPad: the slice of x that is kept (negative pads crop), where it goes in the
    output, and the output's shape."""
    crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for n, (b, a) in zip(shape, pads))
    kept = tuple(c.stop - c.start for c in crop)
    place = tuple(slice(max(b, 0), max(b, 0) + k) for k, (b, _) in zip(kept, pads))
    return crop, place, tuple(k + max(b, 0) + max(a, 0) for k, (b, a) in zip(kept, pads))


class IndexPad(Function):
    """reflect / replicate / circular: one gather per padded axis; backward scatter-adds."""

    @staticmethod
    def forward(ctx, x, plan):
        # plan: one AxisGather (axis, index, direct) per padded axis
        ctx.plan, ctx.shape = plan, x.shape
        out = x
        for axis, idx, _ in plan:
            out = out.take(idx, axis=axis)  # (..., n, ...) -> (..., len(idx), ...)
        return out if plan else x.copy()

    @staticmethod
    def backward(ctx, grad):
        for axis, idx, direct in reversed(ctx.plan):
            grad = _scatter_add(grad, idx, direct, ctx.shape[axis], axis)
        return grad


# ============================================================================================
# The public function: PyTorch's checks, then apply
# ============================================================================================


def pad(input, pad, mode: str = "constant", value=None):
    """Pad (or, with negative pads, crop) the last len(pad) // 2 dimensions, like torch.nn.functional.pad.

    Args:
        input: tensor of any rank for 'constant'; for 'reflect', 'replicate' and 'circular'
            the last 1, 2 or 3 dimensions of a 2-D/3-D, 3-D/4-D or 4-D/5-D input (unbatched
            or batched, e.g. (C, H, W) or (N, C, H, W) with 4 pads).
        pad: flat tuple of ints (left, right, top, bottom, front, back), pairs from the last
            dimension backwards. Must have even length, at most 2 * input.ndim.
        mode: 'constant', 'reflect' (mirror, edge not repeated; each pad < the size of its
            dimension), 'replicate' (repeat the edge) or 'circular' (wrap around; each pad at most
            the size of its dimension).
        value: fill value of 'constant' (default 0); other modes accept only None or 0.

    Shape: out[d] = in[d] + pad_before[d] + pad_after[d] for the padded dimensions d.

    >>> import convnp as cn
    >>> x = cn.tensor([[[0.0, 1.0, 2.0, 3.0]]])
    >>> pad(x, (2, 1), mode="reflect").tolist()
    [[[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0]]]
    >>> pad(x, (2, 1), mode="circular").tolist()
    [[[2.0, 3.0, 0.0, 1.0, 2.0, 3.0, 0.0]]]
    """
    if not isinstance(input, Tensor):
        input = np.asarray(input)
    kind, how = _pad_plan(tuple(input.shape), pad, mode, value)
    if kind == "constant":
        return ConstantPad.apply(input, pads=how[0], value=how[1])
    return IndexPad.apply(input, plan=how)


@checked_once
def _pad_plan(shape, pad, mode, value):
    """PyTorch's checks of F.pad's arguments for an input of this shape, and what to do:
    ("constant", (pairs, value)) or ("index", the plan of IndexPad)."""
    ndim = len(shape)
    # --- argument types -------------------------------------------------------------------
    if not isinstance(pad, (tuple, list)) or not all(
        isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_)) for p in pad
    ):
        raise TypeError(f"pad: pad must be a tuple of ints (left, right, top, bottom, ...). Received: pad={pad!r}")
    pad = tuple(int(p) for p in pad)
    if not isinstance(mode, str):
        raise TypeError(f"pad: mode must be a string, one of {', '.join(map(repr, _MODES))}. Received: mode={mode!r}")
    if value is not None and not isinstance(value, numbers.Real):
        raise TypeError(f"pad: value must be a real number or None. Received: value={value!r}")
    # --- pad length ------------------------------------------------------------------------
    if len(pad) % 2:
        raise ValueError(
            f"pad: the padding length must be even, one (before, after) pair per padded dimension "
            f"starting from the last. Received: pad={pad} of length {len(pad)}"
        )
    k = len(pad) // 2
    if k > ndim:
        raise ValueError(
            f"pad: padding of length {len(pad)} pads {k} dimensions, but the input has only {ndim} "
            f"(at most 2 * input.ndim = {2 * ndim} values). Received: pad={pad} for an input of "
            f"shape {shape}"
        )
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(map(repr, _MODES))}. Received: mode={mode!r}")
    # pairs[d] = (before, after) for every dimension d of the input (0 for the unpadded ones)
    pairs = [(0, 0)] * ndim
    for i in range(k):
        pairs[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    padded = range(ndim - k, ndim)

    if mode == "constant":
        for d in padded:
            (b, a), n = pairs[d], shape[d]
            if max(-b, 0) + max(-a, 0) > n:
                raise ValueError(
                    f"pad: negative padding {(b, a)} crops {max(-b, 0) + max(-a, 0)} entries from "
                    f"dimension {d}, which has only {n}. Received: pad={pad} for an input of shape "
                    f"{shape}"
                )
        return "constant", (tuple(pairs), 0.0 if value is None else value)

    # --- reflect / replicate / circular: PyTorch's restrictions -----------------------------
    if value is not None and value != 0:
        raise ValueError(
            f"pad: mode {mode!r} does not take a value argument (only 'constant' fills with a value). "
            f"Received: value={value!r}"
        )
    if not 1 <= k <= 3 or ndim not in (k + 1, k + 2):
        raise ValueError(
            f"pad: mode {mode!r} pads the last 1, 2 or 3 dimensions of an unbatched or batched input: "
            f"2 values need a 2-D or 3-D input, 4 values a 3-D or 4-D input, 6 values a 4-D or 5-D "
            f"input. Received: pad={pad} (length {len(pad)}) for an input of shape {shape} ({ndim}-D)"
        )
    if mode != "circular":
        first = 1 if ndim == k + 2 else 0  # the batch dimension may be empty
        if any(shape[d] == 0 for d in range(first, ndim)):
            raise ValueError(
                f"pad: mode {mode!r} needs non-empty dimensions (only a batch dimension may be 0). "
                f"Received: input of shape {shape}"
            )
    least = 1 if k == 1 else 0  # PyTorch: 1-D padding may not empty an axis
    plan = []
    for d in padded:
        (b, a), n = pairs[d], shape[d]
        where = f"Received: padding {(b, a)} for dimension {d} of size {n} in an input of shape {shape}"
        if mode == "reflect" and (b >= n or a >= n):
            raise ValueError(
                f"pad: reflect padding must be smaller than the size of the dimension it pads (the edge "
                f"pixel is not repeated, so at most n - 1 = {n - 1} pixels can be mirrored). {where}"
            )
        if mode == "circular":
            m = n - max(-b, 0) - max(-a, 0)  # size left after cropping
            if b > n or a > n:
                raise ValueError(
                    f"pad: circular padding can wrap around at most once: each pad must be at most the "
                    f"size of the dimension ({n}). {where}"
                )
            if n + b + a < 0:
                raise ValueError(
                    f"pad: the output size along dimension {d} would be {n} + {b} + {a} = {n + b + a}, "
                    f"it must be at least 0. {where}"
                )
            if n + b + a == 0:  # an empty axis, as PyTorch allows
                plan.append(AxisGather(d, np.zeros(0, dtype=np.intp), (0, 0, 0)))
                continue
            if m < 0:
                raise ValueError(
                    f"pad: negative padding crops {max(-b, 0) + max(-a, 0)} entries from dimension {d}, "
                    f"which has only {n}. {where}"
                )
            if b > m or a > m:
                raise ValueError(
                    f"pad: circular padding can wrap around at most once: each pad must be at most the "
                    f"{m} pixel(s) left after the negative pad crops. {where}"
                )
        elif n + b + a < least:
            raise ValueError(
                f"pad: the input is too small for this padding: the output size along dimension {d} "
                f"would be {n} + {b} + {a} = {n + b + a}, it must be at least {least}. {where}"
            )
        if b == 0 and a == 0:
            continue
        idx, direct = _source_index(n, b, a, mode)
        idx.flags.writeable = False  # the plan is shared by later calls
        plan.append(AxisGather(d, idx, direct))
    return "index", tuple(plan)
