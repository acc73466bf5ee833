"""Argument checks shared by the operations: bad input is stopped at the door with a message
naming the operation, what was expected and what was received."""

from __future__ import annotations

import numpy as np

from convnp.autograd.tensor import Tensor


def float_tensor(op: str, x, what: str = "input") -> Tensor:
    """``x`` as a Tensor (torch.tensor's rules for lists and numbers) with a float dtype."""
    if type(x) is Tensor and x.data.dtype.kind == "f":      # the usual case, first
        return x
    if not isinstance(x, Tensor):
        try:
            x = Tensor(x)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{op}: expected {what} to be a tensor. Received: {type(x).__name__}") from e
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point {what}. Received: {what} of dtype {x.dtype}")
    return x


def float_array(op: str, input, min_ndim: int = 0, layout: str = "") -> np.ndarray:
    """The float NumPy array behind a Tensor or array ``input`` with at least ``min_ndim`` axes."""
    if not isinstance(input, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: expected input to be a convnp Tensor or a NumPy array. "
                        f"Received: {type(input).__name__}")
    x = input.data if isinstance(input, Tensor) else input
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input. Received: input of dtype {x.dtype}")
    if x.ndim < min_ndim:
        where = f" {layout}" if layout else ""
        raise ValueError(f"{op}: expected input of {min_ndim} or more dimensions{where}. "
                         f"Received: input of shape {x.shape}")
    return x
