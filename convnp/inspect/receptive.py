"""Receptive fields: for every position of a layer's output, the box of input pixels it sees.

The lectures follow a field through a network with two numbers per layer,

    r_out = r_in + (k_eff - 1) * j_in,    j_out = j_in * s,    k_eff = d * (k - 1) + 1,

(``cn.summary`` prints them). Cropping the image patch behind one activation needs more: where
the box of a given output position (y, x) starts, which depends on the padding, and where the
image ends. This module computes, per spatial axis, for every output position i,

    lo[i], hi[i]    the first and last input pixel that position i depends on (clipped: pixels
                    of zero padding are not pixels of the image, so a field is cut at the border)

by composing the layers from the input: a window layer (convolution, pooling: kernel k, stride s,
padding p, dilation d) reads input positions u = s*i - p + d*a, a = 0 .. k-1, so

    lo_out[i] = min_a lo_in[s*i - p + d*a],   hi_out[i] = max_a hi_in[s*i - p + d*a]

over the taps u that lie inside the input (0 <= u < n_in). It keeps as well the *nominal*
(unclipped) box, which runs on into the padding with the jump j, to place a border crop inside a
canvas of the full field size.

The arithmetic is :mod:`convnp.arraymath.receptive`'s. The graph is traced with hooks
(:func:`convnp.nn.tracing.record_calls`, as ``cn.summary``): layers with a window
(:func:`convnp.nn.tracing.window_of`: Conv2d, MaxPool2d, AvgPool2d, LeNet-5's subsampling, a
ResNet's option-A shortcut) and adaptive pooling apply their rule; the rest (activations,
normalisation, a residual ``out + identity``, GoogLeNet's ``cat``, a functional ``F.pad``,
``F.conv2d`` or ``F.max_pool2d`` in a forward) are followed through the autograd graph: padding and
slicing shift positions, a functional convolution or pooling applies the window its context keeps
(``ctx.config.window``), an element-wise operation or a concatenation takes the union of its inputs'
fields (the largest field wins where branches meet), and a flatten or a linear layer sees the
union of everything before it.

>>> from convnp.nn import Conv2d, MaxPool2d, Sequential
>>> rf = receptive_field(Sequential(Conv2d(1, 2, 3, padding=1), MaxPool2d(2)), "1", (1, 1, 8, 8))
>>> rf.size, rf.jump, rf.box(0, 0), rf.box(3, 3)
((4, 4), (2, 2), (0, 3, 0, 3), (5, 8, 5, 8))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convnp.arraymath.conv_arithmetic import Window
from convnp.arraymath.conv_config import ConvConfig
from convnp.arraymath.pool_arithmetic import PoolConfig
from convnp.arraymath.receptive import (
    bins_axis,
    broadcast_axis,
    gather_axis,
    identity_axis,
    union_axis,
    whole,
    window_axis,
)
from convnp.autograd import tensor_ops as _tops
from convnp.autograd.tensor import Tensor
from convnp.inspect.trace import ModelTrace, as_input, output_tensor, trace
from convnp.nn.module import Module
from convnp.nn.pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d
from convnp.nn.tracing import window_of
from convnp.ops import convolution as _oconv
from convnp.ops import padding as _opad
from convnp.ops import pooling as _opool

__all__ = ["ReceptiveField", "receptive_field", "receptive_fields", "field_of_tensors"]


@dataclass
class _Field:
    axes: tuple | None  # (Axis for H, Axis for W) of a feature map
    box: tuple | None  # (lo_h, hi_h, lo_w, hi_w, nlo_h, nhi_h, nlo_w, nhi_w, jump_h, jump_w) when not spatial
    exact: bool = True

    def overall(self) -> tuple:
        """The union of the fields of all positions: one box."""
        if self.box is not None:
            return self.box
        h, w = self.axes
        return (
            int(h.lo.min()),
            int(h.hi.max()),
            int(w.lo.min()),
            int(w.hi.max()),
            int(h.nlo.min()),
            int(h.nhi.max()),
            int(w.nlo.min()),
            int(w.nhi.max()),
            h.jump,
            w.jump,
        )


def _union_fields(fields: list[_Field], out_shape: tuple) -> _Field:
    """The field of a tensor made from several: positions keep their own place when a part has the
    output's spatial size; a part of another size (broadcast, flattened) reaches every position."""
    exact = all(f.exact for f in fields)
    spatial = len(out_shape) == 4
    if not spatial:
        boxes = [f.overall() for f in fields]
        return _Field(None, _merge_boxes(boxes), exact)
    hs, ws = out_shape[2], out_shape[3]
    h_parts, w_parts = [], []
    for f in fields:
        if f.axes is not None and f.axes[0].lo.size == hs and f.axes[1].lo.size == ws:
            h_parts.append(f.axes[0])
            w_parts.append(f.axes[1])
        else:
            b = f.overall()
            exact = exact and (f.axes is None or (f.axes[0].lo.size == 1 and f.axes[1].lo.size == 1))
            h_parts.append(broadcast_axis(b[0], b[1], b[4], b[5], b[8], hs))
            w_parts.append(broadcast_axis(b[2], b[3], b[6], b[7], b[9], ws))
    return _Field((union_axis(h_parts), union_axis(w_parts)), None, exact)


def _merge_boxes(boxes: list[tuple]) -> tuple:
    return (
        min(b[0] for b in boxes),
        max(b[1] for b in boxes),
        min(b[2] for b in boxes),
        max(b[3] for b in boxes),
        min(b[4] for b in boxes),
        max(b[5] for b in boxes),
        min(b[6] for b in boxes),
        max(b[7] for b in boxes),
        max(b[8] for b in boxes),
        max(b[9] for b in boxes),
    )


# --------------------------------------------------------------------------------------------
# Rules: layers (from the hooks) and operations (from the autograd graph)
# --------------------------------------------------------------------------------------------
def _window_module(module: Module) -> tuple | None:
    """(kernel, stride, padding before, dilation) of a window layer (its ``window``), or None:
    transposed windows and containers are followed through the graph."""
    window = window_of(module, 2)
    if window is None or getattr(module, "transposed", False):
        return None
    return window.kernel, window.stride, tuple(before for before, _ in window.padding), window.dilation


def _window_field(f: _Field, out_shape, k, s, p, d) -> _Field:
    h, w = f.axes
    return _Field(
        (window_axis(h, out_shape[2], k[0], s[0], p[0], d[0]), window_axis(w, out_shape[3], k[1], s[1], p[1], d[1])),
        None,
        f.exact,
    )


def _bins_field(f: _Field, out_shape) -> _Field:
    h, w = f.axes
    return _Field((bins_axis(h, out_shape[2]), bins_axis(w, out_shape[3])), None, f.exact)


def _slice_maps(index, shape, out_shape):
    """For a basic index, per spatial axis (src, nominal src, step) or None if it is not slices there."""
    parts = index if isinstance(index, tuple) else (index,)
    if any(p is None or isinstance(p, (int, np.integer)) for p in parts):
        return None
    if any(not (p is Ellipsis or isinstance(p, slice)) for p in parts):
        return None
    if Ellipsis in parts:
        i = parts.index(Ellipsis)
        parts = parts[:i] + (slice(None),) * (len(shape) - len(parts) + 1) + parts[i + 1 :]
    parts = parts + (slice(None),) * (len(shape) - len(parts))
    maps = []
    for ax in (2, 3):
        start, _, step = parts[ax].indices(shape[ax])
        o = np.arange(out_shape[ax], dtype=np.int64)
        src = start + o * step
        maps.append((src, src, abs(step)))
    return maps


def _node_field(t: Tensor, parents: list[tuple[Tensor, _Field]]) -> _Field:
    """The field of ``t`` made by its autograd node from input-dependent ``parents``."""
    f = _shape_changing_rule(t, parents)
    return f if f is not None else _generic_rule(t, parents)


_LECTURE_WINDOWED = (_oconv.ConvNd, _opool.MaxPoolNd, _opool.AvgPoolNd)


def _node_window(fn, ctx) -> Window | None:
    """The window of a convolution or pooling called in a forward: ``ctx.config.window``, where
    ``ctx.config`` is the family's ConvConfig or PoolConfig, kept alike by the lecture Functions
    (ConvNd, MaxPoolNd, AvgPoolNd) and their kernels. A transposed convolution (``config.transposed``)
    is followed as an operation without a rule."""
    if fn in _LECTURE_WINDOWED:
        return ctx.config.window  # by name: a renamed field fails here
    config = vars(ctx).get("config")  # a kernel's context: the same config
    if isinstance(config, PoolConfig) or (isinstance(config, ConvConfig) and not config.transposed):
        return config.window
    return None


def _shape_changing_rule(t: Tensor, parents: list[tuple[Tensor, _Field]]) -> _Field | None:
    """Padding, slicing, a functional convolution / pooling: read from the node's saved context."""
    node = t._node
    fn = node.function
    out_shape = t.shape
    if len(parents) == 1 and len(out_shape) == 4:
        src, f = parents[0]
        if f.axes is not None and len(src.shape) == 4:
            ctx = node.ctx
            if fn is _opad.ConstantPad:  # F.pad: shift, padding sees nothing
                axes = []
                for ax, a in zip((2, 3), f.axes):
                    crop, place = ctx.crop[ax], ctx.place[ax]
                    o = np.arange(out_shape[ax], dtype=np.int64)
                    nominal = o - place.start + crop.start
                    inside = (o >= place.start) & (o < place.stop)
                    axes.append(gather_axis(a, np.where(inside, nominal, -1), nominal))
                return _Field(tuple(axes), None, f.exact)
            if fn is _opad.IndexPad:  # reflect / replicate / circular
                axes = list(f.axes)
                for axis, idx, direct in ctx.plan:
                    if axis in (2, 3):
                        o = np.arange(idx.size, dtype=np.int64)
                        axes[axis - 2] = gather_axis(axes[axis - 2], idx.astype(np.int64), o - direct[0] + direct[1])
                return _Field(tuple(axes), None, f.exact)
            if fn is _tops.GetItem:  # x[:, :, ::2, ::2]
                maps = _slice_maps(ctx.index, src.shape, out_shape)
                if maps is not None:
                    return _Field(tuple(gather_axis(a, m[0], m[1], m[2]) for a, m in zip(f.axes, maps)), None, f.exact)
            window = _node_window(fn, ctx)  # F.conv2d, F.max_pool2d ... in a forward
            if window is not None and len(window.kernel) == 2:
                return _window_field(
                    f,
                    out_shape,
                    window.kernel,
                    window.stride,
                    tuple(before for before, _ in window.padding),
                    window.dilation,
                )
            if fn in (_opool.AdaptiveAvgPool2d, _opool.AdaptiveMaxPool2d):
                return _bins_field(f, out_shape)
    return None


def _generic_rule(t: Tensor, parents: list[tuple[Tensor, _Field]]) -> _Field:
    """Element-wise operations, additions, concatenations, reshapes: the union of the inputs' fields."""
    out_shape = t.shape
    fields = []
    exact = True
    for src, f in parents:
        same = len(src.shape) == 4 and len(out_shape) == 4 and src.shape[2:] == out_shape[2:]
        broadcast = (
            len(src.shape) == 4
            and len(out_shape) == 4
            and all(a == 1 or a == b for a, b in zip(src.shape[2:], out_shape[2:]))
        )
        if not (same or broadcast or len(out_shape) != 4):
            exact = False  # an operation convnp has no rule for: its whole input
        fields.append(f)
    u = _union_fields(fields, out_shape)
    u.exact = u.exact and exact
    return u


def field_of_tensors(tr: ModelTrace, targets: list[Tensor]) -> dict[int, _Field]:
    """Fields of ``targets`` (tensors of the traced, graph-recording forward ``tr``), by id."""
    image = tr.input
    x_shape = image.shape
    producers: dict[int, object] = {}
    for c in sorted(tr.calls, key=lambda c: -c.depth):  # innermost first
        out = c.output
        if isinstance(out, tuple) and out and isinstance(out[0], Tensor):
            out = out[0]
        if isinstance(out, Tensor) and id(out) not in producers and out is not image:
            producers[id(out)] = c
    memo: dict[int, _Field | None] = {id(image): _Field((identity_axis(x_shape[2]), identity_axis(x_shape[3])), None)}
    keep = [image]  # hold tensors: ids stay unique

    def deps(t: Tensor) -> list[Tensor]:
        c = producers.get(id(t))
        if c is not None and (_window_module(c.module) is not None or _is_adaptive(c.module)):
            arg = c.inputs[0] if c.inputs else None
            return [arg] if isinstance(arg, Tensor) else []
        if t._node is None:
            return []
        return [a for a in t._node.inputs if isinstance(a, Tensor)]

    for target in targets:
        stack = [(target, False)]
        while stack:  # iterative post-order walk
            t, expanded = stack.pop()
            if id(t) in memo and not expanded:
                continue
            if not expanded:
                stack.append((t, True))
                for d in deps(t):
                    if id(d) not in memo:
                        stack.append((d, False))
                continue
            if id(t) in memo:
                continue
            keep.append(t)
            memo[id(t)] = _compute(t, producers.get(id(t)), memo, deps(t))
    return memo


def _is_adaptive(module) -> bool:
    return isinstance(module, (AdaptiveAvgPool2d, AdaptiveMaxPool2d))


def _compute(t: Tensor, call, memo, parents) -> _Field | None:
    known = [(p, memo.get(id(p))) for p in parents]
    known = [(p, f) for p, f in known if f is not None]
    if not known:
        return None  # a constant, a parameter
    if call is not None and len(t.shape) == 4:
        ((src, f),) = known[:1]
        if f.axes is not None and len(src.shape) == 4:
            win = _window_module(call.module)
            if win is not None:
                return _window_field(f, t.shape, *win)
            if _is_adaptive(call.module):
                return _bins_field(f, t.shape)
    if t._node is None:
        return _union_fields([f for _, f in known], t.shape)
    return _node_field(t, known)


# --------------------------------------------------------------------------------------------
# The public object
# --------------------------------------------------------------------------------------------
class ReceptiveField:
    """The input box behind every output position of one layer.

    ``box(y, x)`` -> ``(y0, y1, x0, x1)``, half-open (the crop is ``image[:, y0:y1, x0:x1]``),
    clipped to the image; ``nominal_box(y, x)`` the same without clipping (it may start below 0);
    ``size`` the (height, width) of the largest field, ``jump`` the stride of the layer on the
    image in pixels. ``exact`` is False when an operation without a rule was met (its output was
    given its whole input's field). Arrays ``lo``/``hi`` hold, per axis, the first and last pixel
    (inclusive) of every position.
    """

    def __init__(self, layer: str, field: _Field, out_shape: tuple, input_shape: tuple):
        self.layer = layer
        self.output_shape = tuple(out_shape)
        self.input_shape = tuple(input_shape)
        self.exact = field.exact
        self.spatial = field.axes is not None
        if field.axes is None:
            b = field.box
            self.lo = (np.array([b[0]]), np.array([b[2]]))
            self.hi = (np.array([b[1]]), np.array([b[3]]))
            self.nominal_lo = (np.array([b[4]]), np.array([b[6]]))
            self.nominal_hi = (np.array([b[5]]), np.array([b[7]]))
            self.jump = (whole(b[8]), whole(b[9]))
        else:
            h, w = field.axes
            self.lo, self.hi = (h.lo, w.lo), (h.hi, w.hi)
            self.nominal_lo, self.nominal_hi = (h.nlo, w.nlo), (h.nhi, w.nhi)
            self.jump = (whole(h.jump), whole(w.jump))
        self.size = tuple(int((nh - nl + 1).max()) for nl, nh in zip(self.nominal_lo, self.nominal_hi))

    def _pos(self, y, x):
        y, x = np.asarray(y), np.asarray(x)
        if not self.spatial:
            return np.zeros_like(y), np.zeros_like(x)
        return y, x

    def box(self, y, x):
        """(y0, y1, x0, x1), half-open and clipped to the image, of output position(s) (y, x)."""
        y, x = self._pos(y, x)
        y0, y1 = self.lo[0][y], self.hi[0][y] + 1
        x0, x1 = self.lo[1][x], self.hi[1][x] + 1
        y1, x1 = np.maximum(y1, y0), np.maximum(x1, x0)  # an empty field: y0 == y1
        if np.ndim(y0) == 0:
            return int(y0), int(y1), int(x0), int(x1)
        return y0, y1, x0, x1

    def nominal_box(self, y, x):
        """(y0, y1, x0, x1), half-open, not clipped: the field as if the image went on."""
        y, x = self._pos(y, x)
        y0, y1 = self.nominal_lo[0][y], self.nominal_hi[0][y] + 1
        x0, x1 = self.nominal_lo[1][x], self.nominal_hi[1][x] + 1
        if np.ndim(y0) == 0:
            return int(y0), int(y1), int(x0), int(x1)
        return y0, y1, x0, x1

    def mask(self, y: int, x: int) -> np.ndarray:
        """(H, W) bool: the image pixels inside the field of (y, x)."""
        y0, y1, x0, x1 = self.box(y, x)
        m = np.zeros(self.input_shape[2:], dtype=bool)
        m[y0:y1, x0:x1] = True
        return m

    def __repr__(self) -> str:
        return (
            f"ReceptiveField({self.layer!r}, size={self.size}, jump={self.jump}, "
            f"output={self.output_shape[2:] if self.spatial else self.output_shape}, exact={self.exact})"
        )


def _input_for(model: Module, input_size) -> np.ndarray:
    if isinstance(input_size, (np.ndarray, Tensor)):
        x = as_input(model, input_size, "receptive_field")[:1]
        return np.zeros_like(x)
    size = tuple(int(s) for s in input_size)
    if len(size) == 3:
        size = (1,) + size
    if len(size) != 4 or min(size) < 1:
        raise ValueError(
            f"receptive_field: expected input_size (N, C, H, W) or (C, H, W) of positive sizes. "
            f"Received: input_size={input_size!r}"
        )
    return np.zeros((1,) + size[1:], dtype=np.float32)


def receptive_fields(model: Module, input_size, layers=None) -> dict[str, ReceptiveField]:
    """The receptive field of every layer (or of ``layers``) for images of ``input_size``
    ((N, C, H, W), (C, H, W) or an example batch). One forward pass of one zero image."""
    x = _input_for(model, input_size)
    tr = trace(model, x, grad=True, stop_after=None if layers is None else list(layers))
    keys = [c.key for c in tr.calls if c.path] if layers is None else list(layers)
    calls = [tr[k] for k in keys]
    outs = []
    for c in calls:
        try:
            outs.append(output_tensor(c, "receptive_field"))
        except ValueError:
            outs.append(None)
    memo = field_of_tensors(tr, [o for o in outs if o is not None])
    result = {}
    for key, c, o in zip(keys, calls, outs):
        f = memo.get(id(o)) if o is not None else None
        if f is not None:
            result[key] = ReceptiveField(c.key, f, o.shape, x.shape)
        elif layers is not None:
            raise ValueError(
                f"receptive_field: the output of layer {key!r} does not depend on the input image. "
                f"Received: layer={key!r}"
            )
    return result


def receptive_field(model: Module, layer: str, input_size) -> ReceptiveField:
    """The receptive field of ``layer`` for images of ``input_size``; see :class:`ReceptiveField`."""
    return receptive_fields(model, input_size, [layer])[layer]
