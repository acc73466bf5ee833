"""convnp: convolutional neural networks from first principles, in NumPy.

>>> import convnp as cn
>>> x = cn.randn(2, 3, 8, 8, requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad.shape
(2, 3, 8, 8)
"""

import os as _os

from convnp.arraymath.allocator import keep_freed_memory, keeps_freed_memory
from convnp.arraymath.random import get_rng_state, manual_seed, set_rng_state
from convnp.autograd import (
    Function, GradcheckError, Tensor, arange, cat, enable_grad, from_numpy, full, gradcheck, is_grad_enabled,
    no_grad, ones, ones_like, rand, randn, set_grad_enabled, stack, tensor, where, zeros, zeros_like,
)
from convnp.autograd.tensor_ops import clip, exp, log, matmul, sqrt
from convnp.kernels.engine import engine, get_engine, set_engine
from convnp.ops import conv_engine, get_conv_engine, set_conv_engine
from convnp.serialization import load, save
from convnp import models, nn, optim  # noqa: E402  (after the names they use)
from convnp.summary import summary  # noqa: E402

import numpy as _np

float32, float64, int64 = _np.float32, _np.float64, _np.int64

__version__ = "0.1.0"

if _os.environ.get("CONVNP_KEEP_FREED_MEMORY", "1") != "0":
    keep_freed_memory(True)      # reuse freed activations' pages: no page faults per step (allocator.py)
