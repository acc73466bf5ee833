"""Function: one differentiable operation, its forward and its hand-written backward.

Every operation in convnp is a subclass with two static methods side by side::

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):            # NumPy arrays in, a NumPy array out
            ctx.a, ctx.b = a, b            # keep what the backward needs
            return a * b

        @staticmethod
        def backward(ctx, grad):           # dL/d(output) in, one dL/d(input) per input out
            return grad * ctx.b, grad * ctx.a

``Mul.apply(x, y)`` unwraps tensors to arrays, runs forward and, when any input needs a gradient
(and recording is on), remembers the node so that ``loss.backward()`` can call backward later.
``backward`` returns one entry per positional argument of ``forward`` (None where there is no
gradient); ``ctx.needs_input_grad`` says which are wanted, so work for the others can be skipped.
Keyword arguments are configuration (stride, padding, ...), never differentiated.

``forward`` may return a tuple: the first array is the differentiable result, the others
(max pooling's argmax indices, say) come back as tensors without gradient.
"""

from __future__ import annotations

import numpy as np

from convnp.autograd import grad_mode
from convnp.autograd.tensor import Tensor


class Context:
    """Scratch space a forward fills for its backward."""

    needs_input_grad: tuple[bool, ...] = ()


class Function:
    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = grad_mode.is_grad_enabled() and any(needs)
        ctx = Context()
        ctx.needs_input_grad = needs
        outputs = cls.forward(ctx, *arrays, **kwargs)
        extras = ()
        if isinstance(outputs, tuple):
            outputs, *extras = outputs
        out = Tensor(outputs, requires_grad=record, _copy=False)
        if record:
            out._node = Node(cls, ctx, args)
        if extras:
            return (out, *(Tensor(e, _copy=False) for e in extras))
        return out


class Node:
    """A recorded application of a Function: what to call, its saved context, its inputs."""

    __slots__ = ("function", "ctx", "inputs")

    def __init__(self, function, ctx, inputs):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs

    def __repr__(self):
        return f"<{self.function.__name__}Backward>"


def as_array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)
