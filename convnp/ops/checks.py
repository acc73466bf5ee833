"""Argument checks shared by the operations: bad input is stopped at the door with a message
naming the operation, what was expected and what was received."""

from __future__ import annotations

import numpy as np

from convnp.autograd.tensor import Tensor


def float_tensor(op: str, x, what: str = "input") -> Tensor:
    """``x`` as a Tensor (torch.tensor's rules for lists and numbers) with a float dtype."""
    if type(x) is Tensor and x.data.dtype.kind == "f":  # the usual case, first
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
        raise TypeError(
            f"{op}: expected input to be a convnp Tensor or a NumPy array. Received: {type(input).__name__}"
        )
    x = input.data if isinstance(input, Tensor) else input
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input. Received: input of dtype {x.dtype}")
    if x.ndim < min_ndim:
        where = f" {layout}" if layout else ""
        raise ValueError(
            f"{op}: expected input of {min_ndim} or more dimensions{where}. Received: input of shape {x.shape}"
        )
    return x


# --------------------------------------------------------------------------------------------
# Checks that run once per combination of arguments
# --------------------------------------------------------------------------------------------

_PLAIN = frozenset({int, float, str, bool, type(None)})
_MEMO_LIMIT = 4096
_MISSING = object()


def _ints(a: tuple) -> bool:
    """Whether a tuple holds only ints (not bools) and tuples of them."""
    for v in a:
        if type(v) is not int and not (type(v) is tuple and _ints(v)):
            return False
    return True


def _plain_key(args) -> tuple | None:
    """A dictionary key of ``args`` in which True never stands for 1 nor 2.0 for 2, or None when
    some argument is not plain: an int, float, str, bool, None, dtype, or a tuple of ints (a shape,
    a stride) or of such tuples (pads)."""
    key = []
    for a in args:
        t = type(a)
        if t is tuple:
            if not _ints(a):
                return None
            key.append(a)
        elif t in _PLAIN or isinstance(a, np.dtype):
            key.append((t, a))
        else:
            return None
    return tuple(key)


def checked_once(fn):
    """Memoise an argument check: ``fn`` must be a pure function of its arguments that raises on
    bad ones and returns an immutable result (the normalised arguments). The first call with a
    combination of plain arguments runs the checks; later calls with the same ones return the
    result at once (a layer calls its operation with the same shapes and settings every step).
    Errors are never remembered, and arguments that are not plain (a list, a NumPy integer) are
    checked every time."""
    memo: dict = {}

    def check(*args):
        key = _plain_key(args)
        if key is None:
            return fn(*args)
        result = memo.get(key, _MISSING)
        if result is _MISSING:
            result = fn(*args)
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[key] = result
        return result

    check.__doc__, check.__name__, check.__wrapped__ = fn.__doc__, fn.__name__, fn
    return check
