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
gradient); ``ctx.needs_input_grad`` says which are wanted, so work for the others can be skipped
(all False when nothing is recorded - under ``no_grad``, or with no input requiring grad - since
that backward can never run: a forward need not save anything then).
Keyword arguments are configuration (stride, padding, ...), never differentiated.

``forward`` may return a tuple: the first array is the differentiable result, the others
(max pooling's argmax indices, say) come back as tensors without gradient.

Imports flow one way: tensor.py (the Tensor, whose methods call the operations) imports
tensor_ops.py (the operations, Functions), which imports this file. So this file cannot import the
Tensor class that ``apply`` reads and makes: tensor.py hands it down with ``@tensor_class`` on its
definition, once, when convnp.autograd is imported.
"""

from __future__ import annotations

import numpy as np

from convnp.autograd import grad_mode

Tensor = None  # the class convnp.autograd.tensor.Tensor, set by @tensor_class (see the module docstring)


def tensor_class(cls: type) -> type:
    """Class decorator: ``cls`` is the tensor that ``Function.apply`` unwraps and makes (tensor.py's Tensor)."""
    global Tensor
    Tensor = cls
    return cls


class Context:
    """Scratch space a forward fills for its backward."""

    needs_input_grad: tuple[bool, ...] = ()


# needs_input_grad of an application that is not recorded: its backward can never run, so no
# input needs a gradient (forwards skip saving what only a backward would read)
_NO_GRADS = tuple((False,) * n for n in range(9))


class Function:
    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        # the hot path of every operation: plain loops (no generators), the grad mode read once
        ctx = Context()
        arrays = []
        record = False
        if grad_mode._enabled:
            needs = []
            for a in args:
                if isinstance(a, Tensor):
                    arrays.append(a.data)
                    if a.requires_grad:
                        record = True
                        needs.append(True)
                    else:
                        needs.append(False)
                else:
                    arrays.append(a)
                    needs.append(False)
        else:
            for a in args:
                arrays.append(a.data if isinstance(a, Tensor) else a)
        n = len(args)
        if record:
            ctx.needs_input_grad = tuple(needs)
        else:
            ctx.needs_input_grad = _NO_GRADS[n] if n < 9 else (False,) * n
        outputs = cls.forward(ctx, *arrays, **kwargs)
        if isinstance(outputs, tuple):
            outputs, *extras = outputs
        else:
            extras = None
        if type(outputs) is np.ndarray and (not record or outputs.dtype.kind == "f"):
            out = _wrap(outputs, record)
        else:  # not a plain array (a scalar, a subclass) or an error to raise
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


_new = object.__new__


def _wrap(data: np.ndarray, requires_grad: bool = False):
    """``Tensor(data, requires_grad=requires_grad, _copy=False)`` for a NumPy array, without the
    constructor's checks: the caller guarantees an ndarray, and a float one if ``requires_grad``
    (apply wraps every result this way)."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t._node = None
    t._retains_grad = False
    t.requires_grad = requires_grad
    return t


def as_array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)
