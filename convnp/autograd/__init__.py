"""Reverse-mode automatic differentiation: the Tensor, the Function it records, gradcheck."""

from convnp.autograd.creation import arange, from_numpy, full, ones, ones_like, rand, randn, zeros, zeros_like
from convnp.autograd.function import Function
from convnp.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from convnp.autograd.gradcheck import GradcheckError, gradcheck
from convnp.autograd.tensor import Tensor, tensor
from convnp.autograd.tensor_ops import cat, stack, where

__all__ = ["Tensor", "tensor", "Function", "gradcheck", "GradcheckError", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "zeros", "ones", "full", "zeros_like", "ones_like", "randn",
           "rand", "arange", "from_numpy", "cat", "stack", "where"]
