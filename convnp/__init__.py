"""convnp: convolutional neural networks from first principles, in NumPy.

>>> import convnp as cn
>>> x = cn.randn(2, 3, 8, 8, requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad.shape
(2, 3, 8, 8)
"""

import builtins as _builtins
import os as _os
import types as _types

import numpy as _np

from convnp import models, nn, optim  # noqa: E402  (after the names they use)
from convnp.arraymath import parallel as _parallel
from convnp.arraymath.allocator import keep_freed_memory, keeps_freed_memory
from convnp.arraymath.random import get_rng_state, manual_seed, set_rng_state
from convnp.autograd import (
    Function,
    GradcheckError,
    Size,
    Tensor,
    arange,
    argmax,
    argmin,
    cat,
    clamp,
    device,
    enable_grad,
    flatten,
    from_numpy,
    full,
    gradcheck,
    inference_mode,
    is_grad_enabled,
    is_tensor,
    max,
    mean,
    min,
    no_grad,
    ones,
    ones_like,
    rand,
    randn,
    return_types,
    set_grad_enabled,
    sort,
    stack,
    sum,
    tensor,
    topk,
    where,
    zeros,
    zeros_like,
)
from convnp.autograd.tensor_ops import clip, exp, log, matmul, sqrt
from convnp.kernels.engine import engine, get_engine, set_engine
from convnp.ops import conv_engine, get_conv_engine, set_conv_engine
from convnp.serialization import load, save
from convnp.summary import summary  # noqa: E402

# dtype names as in PyTorch: NumPy's types (cn.float32 is np.float32)
float16, float32, float64 = _np.float16, _np.float32, _np.float64
half, float, double = float16, float32, float64  # noqa: A001  (torch's names shadow the builtins here only)
uint8, int8, int16, int32, int64 = _np.uint8, _np.int8, _np.int16, _np.int32, _np.int64
short, int, long = int16, int32, int64  # noqa: A001
bool = _np.bool_  # noqa: A001

# convnp computes on the CPU: no CUDA device, ever
cuda = _types.SimpleNamespace(is_available=lambda: False, device_count=lambda: 0)


def set_num_threads(n) -> None:
    """How many threads convnp computes with: the kernels' worker threads (convnp.arraymath.parallel's
    set_num_workers) and OpenBLAS's threads for matrix products (when NumPy's bundled OpenBLAS is found)."""
    if isinstance(n, _builtins.bool) or not isinstance(n, (_builtins.int, _np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int. Received: {n!r}")
    _parallel.set_num_workers(_builtins.int(n))
    if _parallel._set_threads is not None:
        _parallel._set_threads(_builtins.int(n))


def get_num_threads() -> int:
    """How many worker threads the kernels split work over (see set_num_threads)."""
    return _parallel.workers()


__version__ = "0.1.0"

if _os.environ.get("CONVNP_KEEP_FREED_MEMORY", "1") != "0":
    keep_freed_memory(True)  # reuse freed activations' pages: no page faults per step (allocator.py)

# `from convnp import *` leaves Python's own int, float, bool, max, min and sum alone
__all__ = [
    _name
    for _name in dir()
    if not _name.startswith("_")
    and _name not in {"int", "float", "bool", "max", "min", "sum", "half", "double", "long", "short"}
]
