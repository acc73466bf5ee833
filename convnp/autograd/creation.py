"""Making tensors: zeros, ones, random numbers, ranges (float32 unless dtype= says otherwise)."""

from __future__ import annotations

import numpy as np

from convnp.arraymath import random as _random
from convnp.autograd.tensor import Tensor


def _shape(size, keyword=None) -> tuple[int, ...]:
    if keyword is not None:  # torch's size= keyword: cn.randn(size=(2, 3))
        if size:
            raise TypeError(f"the size is given twice, as arguments and as size=. Received: {size} and size={keyword}")
        size = tuple(keyword) if isinstance(keyword, (tuple, list)) else (keyword,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(s, (int, np.integer)) and s >= 0 for s in size):
        raise ValueError(f"the size must be non-negative ints. Received size={size}")
    return tuple(int(s) for s in size)


def _make(data, dtype, requires_grad) -> Tensor:
    return Tensor(
        data.astype(np.float32 if dtype is None else dtype, copy=False), requires_grad=requires_grad, _copy=False
    )


def zeros(*shape, size=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype=``), like torch.zeros.

    >>> zeros(2, 3).shape
    (2, 3)
    """
    return _make(np.zeros(_shape(shape, size)), dtype, requires_grad)


def ones(*shape, size=None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_shape(shape, size)), dtype, requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(np.full(_shape((size,)), fill_value), dtype, requires_grad)


def zeros_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(np.shape(t)), dtype or np.asarray(t).dtype, requires_grad)


def ones_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(np.shape(t)), dtype or np.asarray(t).dtype, requires_grad)


def randn(*shape, size=None, dtype=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal samples from convnp's generator (see cn.manual_seed)."""
    rng = _random.resolve(generator)
    return _make(rng.standard_normal(_shape(shape, size)), dtype, requires_grad)


def rand(*shape, size=None, dtype=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform samples on [0, 1) from convnp's generator."""
    rng = _random.resolve(generator)
    return _make(rng.random(_shape(shape, size)), dtype, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Like torch.arange: integers give int64, any float argument gives float32."""
    if end is None:
        start, end = 0, start
    data = np.arange(start, end, step)
    if dtype is None:
        dtype = np.int64 if data.dtype.kind in "iu" else np.float32
    return Tensor(data.astype(dtype), requires_grad=requires_grad, _copy=False)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with the array (no copy, dtype kept)."""
    return Tensor(np.asarray(array), _copy=False)
