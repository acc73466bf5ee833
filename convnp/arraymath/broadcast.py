"""Broadcasting and dtype rules shared by every elementwise operation."""

from __future__ import annotations

import numpy as np


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Reduce a gradient of a broadcast result back to the shape of one input.

    NumPy broadcasting prepends axes and stretches axes of length 1. Each stretched copy of
    an input element received its own gradient, so the input's gradient is their sum: sum away
    the prepended axes, then sum (keeping the axis) every axis that was 1 in the input.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def is_float(dtype) -> bool:
    return np.issubdtype(dtype, np.floating)


def result_float_dtype(*arrays) -> np.dtype:
    """The float dtype PyTorch gives an operation on these operands.

    Float arrays promote as usual (float32 with float64 gives float64). Integer or bool arrays and
    Python numbers do not raise precision: without a float array the result is float32, the
    default dtype.
    """
    floats = [a.dtype for a in arrays if isinstance(a, np.ndarray) and is_float(a.dtype)]
    if not floats:
        return np.dtype(np.float32)
    return np.result_type(*floats)
