"""What cross-entropy keeps for its backward, and the row layout of the classification losses,
shared by the lecture tier (convnp/ops/loss.py) and the kernels tier (convnp/kernels/loss.py).

A classification loss works on the class axis 1 of input (N, C) or (N, C, d1, ..., dk) (or (C,)
for one sample): the class axis is moved last and every other axis flattened, so the loss sees
M = N * d1 * ... * dk rows of C scores.

>>> import numpy as np
>>> x = np.zeros((2, 5, 3))                  # (N, C, d1)
>>> rows(x).shape, index_shape(x)
((6, 5), (2, 3))
>>> unrows(rows(x), x.shape).shape
(2, 5, 3)
>>> CrossEntropyConfig(reduction="mean", smoothing=0.1)
CrossEntropyConfig(reduction='mean', smoothing=0.1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CrossEntropyConfig:
    """reduction: 'mean', 'sum' or 'none'; smoothing: the label smoothing eps. (What 'mean' divides
    by depends on the targets: the Functions take it as ``denominator``.)"""

    reduction: str
    smoothing: float = 0.0


def index_shape(x: np.ndarray) -> tuple[int, ...]:
    """The shape of class-index targets for input x: (N, d1, ...) for (N, C, d1, ...); () for (C,)."""
    return x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()


def rows(x: np.ndarray) -> np.ndarray:
    """Move the class axis last and flatten the rest: (N, C, d1, ...) -> (M, C); (C,) -> (1, C)."""
    if x.ndim <= 2:  # (N, C) as it is; (C,) -> (1, C)
        return x if x.ndim == 2 else x.reshape(1, -1)
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def unrows(r: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of rows: (M, C) -> (N, C, d1, ...)."""
    if len(shape) <= 2:
        return r.reshape(shape)
    moved = shape[:1] + shape[2:] + shape[1:2]
    return np.moveaxis(r.reshape(moved), -1, 1)


def reduce_rows(loss_rows: np.ndarray, reduction: str, denominator, out_shape, dtype) -> np.ndarray:
    """(M,) per-row losses -> 'none': out_shape; 'sum': sum; 'mean': sum / denominator."""
    if reduction == "none":
        return loss_rows.reshape(out_shape)
    total = loss_rows.sum(dtype=dtype)
    if reduction == "sum":
        return np.asarray(total, dtype=dtype)
    return np.asarray(divide(total, denominator, dtype), dtype=dtype)


def divide(value, denominator, dtype):
    """value / denominator for 'mean', in dtype. A row count (an int) divides plainly; a sum of
    weights may be 0 when every row is ignored, and 0/0 = nan then, as PyTorch (no warning)."""
    if type(denominator) is int and denominator > 0:
        return value / dtype.type(denominator)
    with np.errstate(invalid="ignore", divide="ignore"):
        return value / np.asarray(denominator, dtype=dtype)


def row_grad(grad: np.ndarray, reduction: str, denominator, M: int, dtype) -> np.ndarray:
    """dL/d(row loss) as (M, 1) from the upstream gradient of the reduced loss."""
    if reduction == "none":
        return grad.reshape(M, 1)
    g = np.asarray(grad, dtype=dtype)
    if reduction == "mean":
        g = divide(g, denominator, dtype)
    return np.full((M, 1), g, dtype=dtype)
