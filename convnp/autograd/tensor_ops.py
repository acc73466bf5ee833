"""The tensor's own operations, each forward beside its backward.

Families, one banner each: elementwise (with broadcasting), reductions, movement (shape and
indexing), matrix product. The network operations (convolution, pooling, ...) live in
convnp/ops/, one file per family, built the same way.

tensor.py imports this file (the Tensor methods call its functions), so this file does not import
tensor.py: it reads the Tensor class where tensor.py registers it, ``function.Tensor``.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from types import SimpleNamespace

import numpy as np

from convnp.arraymath.broadcast import is_float, result_float_dtype, unbroadcast
from convnp.autograd import function as _function
from convnp.autograd.function import Function


def _operand(x):
    """Tensors pass through; arrays, lists and numbers stay raw (Python numbers stay weakly typed)."""
    if isinstance(x, (_function.Tensor, np.ndarray, int, float, bool)):
        return x
    if isinstance(x, np.generic):
        return x.item()
    return np.asarray(x)


def _fix_dtype(out: np.ndarray, *operands) -> np.ndarray:
    """Give an elementwise result PyTorch's dtype (see result_float_dtype)."""
    if not is_float(out.dtype):
        return out
    want = result_float_dtype(*operands)
    return out if out.dtype == want else out.astype(want)


def _shape(x):
    return np.shape(x)


# ============================================================================================
# Elementwise
# ============================================================================================


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return _fix_dtype(np.add(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return unbroadcast(grad, sa), unbroadcast(grad, sb)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return _fix_dtype(np.subtract(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        db = unbroadcast(-grad, sb) if ctx.needs_input_grad[1] else None  # no negated copy for nothing
        return unbroadcast(grad, sa), db


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return _fix_dtype(np.multiply(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        da = unbroadcast(grad * b, _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(grad * a, _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return _fix_dtype(np.true_divide(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        da = unbroadcast(grad / b, _shape(a)) if ctx.needs_input_grad[0] else None
        db = unbroadcast(-grad * a / (b * b), _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """x ** p for a constant exponent p: d/dx = p x^(p-1)."""

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.x, ctx.p = x, exponent
        return _fix_dtype(np.power(x, exponent), x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.p * np.power(ctx.x, ctx.p - 1), None


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.y = np.exp(x)
        return ctx.y

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.y


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        return grad / ctx.x


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.y = np.sqrt(x)
        return ctx.y

    @staticmethod
    def backward(ctx, grad):
        return grad / (2 * ctx.y)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * np.sign(ctx.x)  # 0 at 0, as PyTorch


class Clip(Function):
    """Clamp to [lo, hi]; the gradient passes where lo <= x <= hi (bounds inclusive, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        inside = np.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        ctx.inside = inside
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.inside, None, None


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = np.asarray(condition, dtype=bool)
        ctx.shapes = _shape(a), _shape(b)
        return _fix_dtype(np.where(ctx.condition, a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        zero = np.zeros((), grad.dtype)
        return (
            None,
            unbroadcast(np.where(ctx.condition, grad, zero), sa),
            unbroadcast(np.where(ctx.condition, zero, grad), sb),
        )


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype), None


# ============================================================================================
# Reductions
# ============================================================================================


def _axes(axis, ndim) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    for a in axis:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"reduction: axis {a} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(a % builtins.max(ndim, 1) for a in axis))


def _expand(grad, axes, keepdims):
    """Put the reduced axes back (length 1) so the gradient broadcasts over the input."""
    return grad if keepdims else np.expand_dims(grad, axes)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, _axes(axis, x.ndim), keepdims
        return np.asarray(np.sum(x, axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        return np.broadcast_to(_expand(grad, ctx.axes, ctx.keepdims), ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, _axes(axis, x.ndim), keepdims
        ctx.count = int(np.prod([x.shape[a] for a in ctx.axes]))
        return np.asarray(np.mean(x, axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        return np.broadcast_to(_expand(grad, ctx.axes, ctx.keepdims) / ctx.count, ctx.shape)


class Max(Function):
    """Maximum over axes; the gradient is shared equally among tied maxima (like torch.amax)."""

    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False):
        axes = _axes(axis, x.ndim)
        if x.size == 0:
            raise ValueError(f"{cls.__name__.lower()}: cannot reduce an empty tensor of shape {x.shape}")
        out = cls.reduce(x, axis=axes, keepdims=True)
        ctx.mask = x == out
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, grad):
        g = _expand(grad, ctx.axes, ctx.keepdims)
        return ctx.mask * (g / ctx.mask.sum(axis=ctx.axes, keepdims=True))


class Min(Max):
    reduce = staticmethod(np.min)


class Prod(Function):
    """Product over axes: d/dx_i = prod_{j != i} x_j, as the product of everything before i times
    everything after it (exact where x has zeros, unlike prod / x_i)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.x, ctx.axes, ctx.keepdims = x, _axes(axis, x.ndim), keepdims
        return np.asarray(np.prod(x, axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        x, axes = ctx.x, ctx.axes
        rest = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x, rest + list(axes))  # reduced axes last
        flat = moved.reshape(moved.shape[: len(rest)] + (-1,))  # (..., K)
        ones = np.ones(flat.shape[:-1] + (1,), x.dtype)
        before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (before * after).reshape(moved.shape)  # prod of all but x_i
        others = np.transpose(others, np.argsort(rest + list(axes)))
        return _expand(grad, axes, ctx.keepdims) * others


class Var(Function):
    """Variance over axes: sum((x - mean)^2) / (n - correction); d/dx = 2 (x - mean) / (n - correction)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False, correction=1):
        ctx.axes, ctx.keepdims = _axes(axis, x.ndim), keepdims
        n = int(np.prod([x.shape[a] for a in ctx.axes]))
        ctx.denominator = x.dtype.type(builtins.max(n - correction, 0))
        ctx.centred = x - np.mean(x, axis=ctx.axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.sum(ctx.centred**2, axis=ctx.axes, keepdims=keepdims) / ctx.denominator)

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _expand(grad, ctx.axes, ctx.keepdims) * (2 * ctx.centred / ctx.denominator)


class Gather(Function):
    """out[..., i, ...] = x[..., index[..., i, ...], ...] along ``axis`` (torch.gather); the gradient
    is added back at the gathered positions (an index taken twice gets both)."""

    @staticmethod
    def forward(ctx, x, index, axis=0):
        ctx.shape, ctx.index, ctx.axis = x.shape, index, axis
        return np.take_along_axis(x, index, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        dx = np.zeros(ctx.shape, grad.dtype)
        where = list(np.ogrid[tuple(slice(n) for n in ctx.index.shape)])  # open grids, one per axis
        where[ctx.axis] = ctx.index
        np.add.at(dx, tuple(where), grad)
        return dx, None


# ============================================================================================
# Movement: shape and indexing
# ============================================================================================


class Expand(Function):
    """Broadcast to a larger shape without copying (torch.expand); the gradient sums back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape), None


class Repeat(Function):
    """Tile the tensor ``repeats[i]`` times along axis i (torch.repeat); the gradient sums the tiles."""

    @staticmethod
    def forward(ctx, x, repeats):
        ctx.original = x.shape
        x = x.reshape((1,) * (len(repeats) - x.ndim) + x.shape)  # new leading axes of length 1
        ctx.shape, ctx.repeats = x.shape, repeats
        return np.tile(x, repeats)

    @staticmethod
    def backward(ctx, grad):
        split = [n for pair in zip(ctx.repeats, ctx.shape) for n in pair]  # (r0, s0, r1, s1, ...)
        dx = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return dx.reshape(ctx.original), None


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into shape {tuple(shape)}"
            ) from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Permute(Function):
    @staticmethod
    def forward(ctx, x, axes):
        if sorted(a % builtins.max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ValueError(f"permute: axes must be a permutation of 0..{x.ndim - 1}. Received axes={tuple(axes)}")
        ctx.inverse = np.argsort([a % x.ndim for a in axes])
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(ctx.inverse), None


def _is_basic_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice, np.integer)) for p in parts)


class GetItem(Function):
    """x[index]. Basic indexing (ints, slices) writes the gradient back into the same view;
    integer-array indexing adds it with np.add.at, so an element picked twice gets both."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return np.asarray(x[index])

    @staticmethod
    def backward(ctx, grad):
        dx = np.zeros(ctx.shape, ctx.dtype)
        if _is_basic_index(ctx.index):
            dx[ctx.index] = grad
        else:
            np.add.at(dx, ctx.index, grad)
        return dx, None


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis, ctx.count = axis, len(arrays)
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.axis, 0))


# ============================================================================================
# Matrix product
# ============================================================================================


class MatMul(Function):
    """a @ b with NumPy's rules (1-D operands, batch broadcasting).

    dA = dC @ B^T and dB = A^T @ dC, with broadcast batch axes summed back.
    """

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul: both operands need at least one dimension. Received shapes {a.shape} and {b.shape}"
            )
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape} ({k_a} != {k_b})")
        ctx.a, ctx.b = a, b
        return _fix_dtype(np.matmul(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        if a.ndim == 1 and b.ndim == 1:  # dot product: a scalar out
            return grad * b, grad * a
        a2 = a[None, :] if a.ndim == 1 else a  # (k,) -> (1, k)
        b2 = b[:, None] if b.ndim == 1 else b  # (k,) -> (k, 1)
        g = grad
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            db = unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return da, db


# ============================================================================================
# The functions the Tensor methods call
# ============================================================================================


def add(a, b):
    return Add.apply(_operand(a), _operand(b))


def sub(a, b):
    return Sub.apply(_operand(a), _operand(b))


def mul(a, b):
    return Mul.apply(_operand(a), _operand(b))


def div(a, b):
    return Div.apply(_operand(a), _operand(b))


def matmul(a, b):
    return MatMul.apply(_as_tensor(a), _as_tensor(b))


def pow(x, exponent):
    if isinstance(exponent, _function.Tensor) or np.ndim(exponent) != 0:
        raise TypeError(f"pow: the exponent must be a Python number. Received {type(exponent).__name__}")
    return Pow.apply(x, exponent)


def neg(x):
    return Neg.apply(x)


def exp(x):
    return Exp.apply(_as_tensor(x))


def log(x):
    return Log.apply(_as_tensor(x))


def sqrt(x):
    return Sqrt.apply(_as_tensor(x))


def abs(x):
    return Abs.apply(_as_tensor(x))


def clip(x, min=None, max=None):
    return Clip.apply(_as_tensor(x), min, max)


clamp = clip


def sum(input, dim=None, keepdim=False):
    """torch.sum: over dim (an int or a tuple of ints; None: everything)."""
    return Sum.apply(_as_tensor(input), axis=dim, keepdims=keepdim)


def mean(input, dim=None, keepdim=False):
    return Mean.apply(_as_tensor(input), axis=dim, keepdims=keepdim)


def max(input, dim=None, keepdim=False):
    """torch.max: without dim the largest element (a 0-d tensor; tied maxima share the gradient), with dim
    the named tuple ``(values, indices)``: ``_, predicted = cn.max(outputs, 1)``."""
    if dim is None:
        return Max.apply(_as_tensor(input))
    return max_dim(input, dim, keepdim, "max")


def min(input, dim=None, keepdim=False):
    if dim is None:
        return Min.apply(_as_tensor(input))
    return max_dim(input, dim, keepdim, "min")


def _arg(pick, x, dim, keepdim):
    """Index of the extreme (the first among ties); over the flattened tensor without dim."""
    x = _as_tensor(x)
    if dim is None:
        out = pick(x.data.reshape(-1)).reshape((1,) * x.ndim if keepdim else ())
    else:
        out = pick(x.data, axis=_dim(pick.__name__, dim, x.ndim), keepdims=keepdim)
    return _function.Tensor(np.asarray(out, dtype=np.int64), _copy=False)


def argmax(input, dim=None, keepdim=False):
    return _arg(np.argmax, input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    return _arg(np.argmin, input, dim, keepdim)


def reshape(x, shape):
    return Reshape.apply(_as_tensor(x), tuple(shape))


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge axes start_dim..end_dim into one: (N, C, H, W).flatten(1) -> (N, C*H*W)."""
    x = _as_tensor(x)
    shape = x.data.shape
    if not shape:
        return reshape(x, (1,))
    s, e = start_dim % len(shape), end_dim % len(shape)
    return reshape(x, shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :])  # math.prod: no array made


def permute(x, axes):
    return Permute.apply(_as_tensor(x), tuple(axes))


def getitem(x, index):
    if isinstance(index, _function.Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, _function.Tensor) else i for i in index)
    elif isinstance(index, list):
        index = np.asarray(index)
    return GetItem.apply(x, index)


def cat(tensors, axis: int = 0, *, dim: int | None = None):
    """Join tensors along an existing axis (torch.cat)."""
    tensors = [_as_tensor(t) for t in tensors]
    return Cat.apply(*tensors, axis=axis if dim is None else dim)


def stack(tensors, axis: int = 0, *, dim: int | None = None):
    """Join tensors along a new axis (torch.stack)."""
    tensors = [_as_tensor(t) for t in tensors]
    return Stack.apply(*tensors, axis=axis if dim is None else dim)


def where(condition, a, b):
    """Elementwise choice: a where condition is true, else b (gradients flow to the chosen one)."""
    cond = condition.data if isinstance(condition, _function.Tensor) else np.asarray(condition)
    return Where.apply(cond, _operand(a), _operand(b))


# named results, as torch.return_types: values, indices = t.max(1); t.max(1).indices
return_types = SimpleNamespace(
    **{name: namedtuple(name, ["values", "indices"]) for name in ("max", "min", "topk", "sort")}
)


def _dim(op: str, dim, ndim: int) -> int:
    """One axis, checked, as a non-negative int (a 0-d tensor has the axes 0 and -1, as in PyTorch)."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int. Received: dim={dim!r}")
    span = builtins.max(ndim, 1)
    if not -span <= dim < span:
        raise IndexError(f"{op}: dim out of range (expected to be in [{-span}, {span - 1}]). Received: dim={dim}")
    return int(dim) % span


def max_dim(x, dim, keepdim=False, op="max"):
    """(values, indices) of the maxima (minima for op="min") along dim; the gradient goes to the
    index returned (the first extreme, as PyTorch on the CPU)."""
    x = _as_tensor(x)
    axis = _dim(op, dim, x.ndim)
    if x.ndim == 0:
        return getattr(return_types, op)(x.clone(), _function.Tensor(np.zeros((), np.int64), _copy=False))
    if x.shape[axis] == 0:
        raise IndexError(f"{op}: cannot reduce an empty dimension. Received: shape {x.shape}, dim={dim}")
    pick = np.argmax if op == "max" else np.argmin
    index = pick(x.data, axis=axis, keepdims=True)  # (..., 1, ...)
    values = Gather.apply(x, index, axis=axis)
    if not keepdim:
        values, index = reshape(values, np.squeeze(index, axis).shape), np.squeeze(index, axis)
    return getattr(return_types, op)(values, _function.Tensor(index, _copy=False))


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along dim (stable order among ties)."""
    x = _as_tensor(x)
    axis = _dim("sort", dim, x.ndim)
    if x.ndim == 0:
        return return_types.sort(x.clone(), _function.Tensor(np.zeros((), np.int64), _copy=False))
    data = x.data
    key = data if not descending else (-data if data.dtype.kind in "fi" else ~data)  # ~: bool, unsigned
    index = np.argsort(key, axis=axis, kind="stable")
    return return_types.sort(Gather.apply(x, index, axis=axis), _function.Tensor(index, _copy=False))


def topk(x, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (smallest) entries along dim."""
    x = _as_tensor(x)
    axis = _dim("topk", dim, x.ndim)
    n = x.shape[axis] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"topk: k must be an int from 0 to {n} (the size of dim {dim}). Received: k={k!r}")
    values, index = sort(x, dim=axis, descending=largest)
    if x.ndim == 0:
        return return_types.topk(values, index)
    take = (slice(None),) * axis + (slice(0, int(k)),)
    return return_types.topk(values[take], _function.Tensor(index.data[take], _copy=False))


def gather(x, dim, index):
    x = _as_tensor(x)
    axis = _dim("gather", dim, x.ndim)
    index = np.asarray(index.data if isinstance(index, _function.Tensor) else index)
    if index.dtype.kind not in "iu" or index.ndim != x.ndim:
        raise ValueError(
            f"gather: index must be an integer tensor with as many dimensions as the input "
            f"({x.ndim}). Received: index of dtype {index.dtype} and shape {index.shape}"
        )
    return Gather.apply(x, index, axis=axis)


def prod(x, axis=None, keepdims=False):
    return Prod.apply(_as_tensor(x), axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False, correction=1):
    return Var.apply(_as_tensor(x), axis=axis, keepdims=keepdims, correction=correction)


def expand(x, shape):
    x = _as_tensor(x)
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: the shape must have at least {x.ndim} dimensions. Received: shape {shape}")
    want = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    try:
        np.broadcast_shapes(x.shape, want)
        bad = any(s < 0 for s in want) or np.broadcast_shapes(x.shape, want) != want
    except ValueError:
        bad = True
    if bad:
        raise ValueError(
            f"expand: cannot expand a tensor of shape {x.shape} to {shape} (only axes of length 1 "
            f"can grow, -1 keeps an axis). Received: shape {shape}"
        )
    return Expand.apply(x, want)


def repeat(x, repeats):
    x = _as_tensor(x)
    repeats = tuple(int(r) for r in repeats)
    if len(repeats) < x.ndim or any(r < 0 for r in repeats):
        raise ValueError(
            f"repeat: expected at least {x.ndim} non-negative repeats (one per dimension). Received: {repeats}"
        )
    return Repeat.apply(x, repeats)


def _as_tensor(x):
    Tensor = _function.Tensor
    return x if isinstance(x, Tensor) else Tensor(x)
