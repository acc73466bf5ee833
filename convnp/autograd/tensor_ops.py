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
        db = unbroadcast(-grad, sb) if ctx.needs_input_grad[1] else None     # no negated copy for nothing
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
        return grad * np.sign(ctx.x)          # 0 at 0, as PyTorch


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
        return (None, unbroadcast(np.where(ctx.condition, grad, zero), sa),
                unbroadcast(np.where(ctx.condition, zero, grad), sb))


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


# ============================================================================================
# Movement: shape and indexing
# ============================================================================================

class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                             f"into shape {tuple(shape)}") from None

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
            raise ValueError("matmul: both operands need at least one dimension. "
                             f"Received shapes {a.shape} and {b.shape}")
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape} ({k_a} != {k_b})")
        ctx.a, ctx.b = a, b
        return _fix_dtype(np.matmul(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        if a.ndim == 1 and b.ndim == 1:                       # dot product: a scalar out
            return grad * b, grad * a
        a2 = a[None, :] if a.ndim == 1 else a                 # (k,) -> (1, k)
        b2 = b[:, None] if b.ndim == 1 else b                 # (k,) -> (k, 1)
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


def sum(x, axis=None, keepdims=False):
    return Sum.apply(_as_tensor(x), axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return Mean.apply(_as_tensor(x), axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return Max.apply(_as_tensor(x), axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    return Min.apply(_as_tensor(x), axis=axis, keepdims=keepdims)


def reshape(x, shape):
    return Reshape.apply(_as_tensor(x), tuple(shape))


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge axes start_dim..end_dim into one: (N, C, H, W).flatten(1) -> (N, C*H*W)."""
    x = _as_tensor(x)
    shape = x.data.shape
    if not shape:
        return reshape(x, (1,))
    s, e = start_dim % len(shape), end_dim % len(shape)
    return reshape(x, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])   # math.prod: no array made


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


def _as_tensor(x):
    Tensor = _function.Tensor
    return x if isinstance(x, Tensor) else Tensor(x)
