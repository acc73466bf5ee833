"""The kernels of the activation family: ReLU with a one-byte gradient mask, on the worker threads.

Same contract as the lecture :class:`convnp.ops.activation.Relu`: y = max(0, x) with PyTorch's rules
bit for bit (relu(NaN) = NaN, relu(-0.0) = -0.0) and the backward threshold_backward(g, y, 0) =
(y <= 0 ? 0 : g): a NaN output passes its gradient, a blocked position gives +0 even where g is
inf or NaN. Both offer ``pass_mask(ctx)`` (where the gradient passes, as bools) for
convnp.inspect's guided backprop.

Selection (``select``, ``cn.set_engine(activation=...)``): "reference" -> the lecture Relu;
"bitmask" or "auto" -> :class:`BitmaskRelu` at every size. Measured against the lecture Relu
(y = max(0, x), mask = not (y <= 0), dx = where(mask, g, 0)), float32, the public relu forward +
backward, one process on the shared 2-core machine (min of 9 interleaved samples):

    (1, 6, 28, 28)  69 vs 77 us       (LeNet C1 at batch 1)
    (1, 16, 32, 32) 60 vs 140 us
    (8, 64, 32, 32) 1.5 vs 6.6 ms
    (64, 64, 32, 32) 17 vs 45 ms      (the benchmark's row; the lecture's np.where backward is the slow part)

so the kernel pays from the smallest layer on and there is no size threshold between the two;
the thresholds below are the kernel's own.
"""

from __future__ import annotations

import numpy as np

from convnp.arraymath.parallel import batch_slices, parallel_map, workspace
from convnp.autograd.function import Function
from convnp.kernels.engine import get_engine

_PARALLEL_MIN = 1 << 20  # entries: below this one thread is faster than two (a hand-off costs ~0.1 ms)
_ROW = 1 << 16  # the zero block of the forward: long rows, few iterator steps
_INT = {2: np.int16, 4: np.int32, 8: np.int64}  # float width -> the integer the mask widens to


def select(x: np.ndarray):
    """The kernel Function for relu of ``x``, or None for the lecture Relu (``cn.get_engine("activation")``)."""
    if get_engine("activation") == "reference":
        return None
    return BitmaskRelu  # "bitmask" and "auto": every size (see above)


class BitmaskRelu(Function):
    """y = max(x, 0);  dy/dx = 1 where not (y <= 0), else 0, as the lecture Relu.

    Forward: y = np.maximum(zeros, x) with a small zero block broadcast over rows of x (NumPy's
    SIMD loop wants both operands as arrays; with a scalar 0 it runs about twice as slow). While
    y is still in cache the forward keeps the gradient mask as one byte per entry, -1 (all bits
    set) where y != 0 and 0 elsewhere, so that the backward is a single pass: the bits of g ANDed
    with the mask widened to g's width. (Rebuilding the mask from y in the backward would re-read
    y from memory: 4 bytes per entry instead of 1, measured slower in a resnet20 step.) Arrays of
    at least _PARALLEL_MIN entries are cut along axis 0, one slice per worker thread.
    """

    @staticmethod
    def forward(ctx, x):
        y = np.empty_like(x, order="C")
        if any(ctx.needs_input_grad) and y.itemsize in _INT:
            ones = np.empty(y.shape, np.int8)
            _split(_relu_forward, x, y, ones)
            ctx.ones = ones
        else:  # no backward to come (or long double: no mask)
            _split(_relu_forward, x, y)
            ctx.y = y
        return y

    @staticmethod
    def pass_mask(ctx) -> np.ndarray:
        """Where the gradient passes, not (y <= 0), as bools: the backward does not need it,
        convnp.inspect's guided backprop does."""
        ones = getattr(ctx, "ones", None)
        return np.not_equal(ones, 0) if ones is not None else np.logical_not(np.less_equal(ctx.y, 0))

    @staticmethod
    def backward(ctx, grad):
        g = grad if grad.flags.c_contiguous else grad.copy(order="C")
        dx = np.empty(g.shape, g.dtype)
        ones = getattr(ctx, "ones", None)
        if ones is None:  # no mask kept (long double, or a forward run by hand)
            np.copyto(dx, np.where(np.less_equal(ctx.y, 0), 0, g))
        else:
            _split(_relu_backward, ones, g, dx)
        return dx


def _split(fn, *arrays) -> None:
    """fn(*arrays) in place, over slices of axis 0 on the worker threads for large arrays."""
    parts = batch_slices(arrays[0], _PARALLEL_MIN)
    if len(parts) == 1:
        fn(*arrays)
    else:
        parallel_map(lambda b: fn(*(a[b] for a in arrays)), parts)


def _relu_forward(x: np.ndarray, y: np.ndarray, ones: np.ndarray | None = None) -> None:
    """y = max(0, x) (zeros first: max(0, -0.0) = -0.0, as PyTorch); y C-contiguous. With ``ones``
    (int8, y's shape), also the mask: -1 where not (y <= 0), that is y != 0 (NaN passes), else 0."""
    zeros = workspace("relu.zeros", (_ROW,), x.dtype, zero=True)
    if x.ndim == 0 or not x.flags.c_contiguous:
        np.maximum(zeros[:1].reshape(()), x, out=y)
    else:
        xf, yf = x.reshape(-1), y.reshape(-1)
        rows = xf.size // _ROW
        if rows:  # (size,) -> (rows, _ROW) + tail
            np.maximum(zeros, xf[: rows * _ROW].reshape(rows, _ROW), out=yf[: rows * _ROW].reshape(rows, _ROW))
        tail = xf.size - rows * _ROW
        if tail:
            np.maximum(zeros[:tail], xf[rows * _ROW :], out=yf[rows * _ROW :])
    if ones is not None:
        np.not_equal(y, 0, out=ones.view(bool))  # -0.0 blocks, NaN passes
        np.negative(ones, out=ones)  # True -> -1: all bits set once widened


def _relu_backward(ones: np.ndarray, g: np.ndarray, dx: np.ndarray) -> None:
    """dx = g & mask, bit for bit: the int8 mask (0 / -1) widens to g's integer width, sign and all."""
    itype = _INT[g.itemsize]
    np.bitwise_and(g.view(itype), ones, out=dx.view(itype))
