"""Reverse-mode automatic differentiation: the Tensor, the Function it records, gradcheck."""

from convnp.autograd.creation import (
    arange,
    from_numpy,
    full,
    is_tensor,
    ones,
    ones_like,
    rand,
    randn,
    zeros,
    zeros_like,
)
from convnp.autograd.function import Function
from convnp.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from convnp.autograd.gradcheck import GradcheckError, gradcheck
from convnp.autograd.tensor import Size, Tensor, device, tensor
from convnp.autograd.tensor_ops import (
    argmax,
    argmin,
    cat,
    clamp,
    flatten,
    max,
    mean,
    min,
    return_types,
    sort,
    stack,
    sum,
    topk,
    where,
)


class inference_mode(set_grad_enabled):
    """torch.inference_mode: here the same as ``no_grad`` (nothing is recorded); ``inference_mode(False)``
    leaves recording on."""

    def __init__(self, mode: bool = True):
        super().__init__(not mode)


__all__ = [
    "Tensor",
    "tensor",
    "Function",
    "gradcheck",
    "GradcheckError",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "inference_mode",
    "zeros",
    "ones",
    "full",
    "zeros_like",
    "ones_like",
    "randn",
    "rand",
    "arange",
    "from_numpy",
    "is_tensor",
    "cat",
    "stack",
    "where",
    "Size",
    "device",
    "return_types",
    "argmax",
    "argmin",
    "clamp",
    "flatten",
    "max",
    "min",
    "mean",
    "sort",
    "sum",
    "topk",
]
