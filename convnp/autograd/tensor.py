"""Tensor: a NumPy array that remembers how it was computed, for reverse-mode autograd.

A tensor made by an operation keeps a ``Node`` (the Function that made it, its saved context and
its inputs). ``loss.backward()`` walks those nodes from the loss back to the leaves in reverse
topological order, calling each Function's backward once with the sum of the gradients that
reached its output, so a tensor used twice (a residual connection, a shared weight) gets both
contributions. Leaves that require grad accumulate the result in ``.grad`` (a NumPy array).

The methods (``+``, ``@``, ``.sum()``, ``.reshape()``, ...) call the functions of tensor_ops.py, where
the operations are written as Functions. Imports flow one way, tensor -> tensor_ops -> function:
``@tensor_class`` tells Function.apply which class to make, so function.py needs no import of this file.
"""

from __future__ import annotations

import numpy as np

from convnp.arraymath.broadcast import is_float
from convnp.autograd import tensor_ops as _ops
from convnp.autograd.function import tensor_class


def _to_array(data, dtype=None) -> np.ndarray:
    """Data for a new tensor, with torch.tensor's dtype rules."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        arr = np.array(data, dtype=dtype)
    else:
        arr = np.array(data)
        if dtype is None and arr.dtype == np.float64:
            arr = arr.astype(np.float32)           # Python floats -> float32, torch's default
        elif dtype is None and arr.dtype.kind == "i":
            arr = arr.astype(np.int64)
        if dtype is not None:
            arr = arr.astype(dtype)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor: data must be numeric (bool, integer or float). Received dtype {arr.dtype}")
    return arr


@tensor_class
class Tensor:
    __array_priority__ = 1000          # ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False, dtype=None, _copy: bool = True):
        if _copy or not isinstance(data, np.ndarray):
            data = _to_array(data, dtype)
        self.data: np.ndarray = data
        self.grad: np.ndarray | None = None
        self._node = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # --- what the tensor is ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        return len(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    def numpy(self) -> np.ndarray:
        return self.data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a Python number. "
                             f"Received shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (shares memory, like torch)."""
        return Tensor(self.data, _copy=False)

    def clone(self) -> "Tensor":
        return _ops.Clone.apply(self)

    def astype(self, dtype) -> "Tensor":
        return _ops.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and not is_float(self.data.dtype):
            raise TypeError(f"requires_grad: only float tensors can require gradients. Received dtype {self.dtype}")
        if not requires_grad and self._node is not None:
            raise ValueError("requires_grad_(False): only a leaf tensor can stop requiring grad; use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        self._retains_grad = True

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.data.dtype}"
        if self._node is not None:
            extra += f", grad_fn={self._node!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"The truth value of a tensor with {self.data.size} elements is ambiguous")
        return bool(self.data)

    # --- backpropagation -------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        A scalar starts from 1; any other tensor needs ``grad`` of its own shape (dL/d(self)).
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph "
                               "(were its inputs made with requires_grad=True, outside cn.no_grad()?)")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward: a gradient is needed for a non-scalar output. "
                                 f"Expected grad of shape {self.shape}, or call backward on a scalar "
                                 f"(e.g. loss.sum()). Received no grad for shape {self.shape}")
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.data.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward: grad must have the tensor's shape {self.shape}. "
                                 f"Received shape {grad.shape}")
        order = self._topological_order()
        grads: dict[int, np.ndarray] = {id(self): grad}
        for t in order:
            g = grads.pop(id(t), None)
            if g is None:
                continue
            node = t._node
            if node is None or t._retains_grad:
                t.grad = g.copy() if t.grad is None else t.grad + g
            if node is None:
                continue
            input_grads = node.function.backward(node.ctx, g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for inp, ig in zip(node.inputs, input_grads):
                if ig is None or not isinstance(inp, Tensor) or not inp.requires_grad:
                    continue
                data = inp.data
                if ig.shape != data.shape:
                    raise RuntimeError(f"{node.function.__name__}.backward returned a gradient of shape "
                                       f"{ig.shape} for an input of shape {data.shape}")
                if ig.dtype != data.dtype:
                    ig = ig.astype(data.dtype)
                key = id(inp)
                grads[key] = ig if key not in grads else grads[key] + ig

    def _topological_order(self) -> list["Tensor"]:
        """Tensors from self back to the leaves, each after everything that consumes it.

        Iterative depth-first search (deep networks would overflow Python's recursion limit).
        """
        order, visited = [], set()
        stack = [(self, False)]
        push, pop, seen, done = stack.append, stack.pop, visited.add, order.append
        while stack:
            t, expanded = pop()
            if expanded:
                done(t)
                continue
            key = id(t)
            if key in visited:
                continue
            seen(key)
            push((t, True))
            node = t._node
            if node is not None:
                for inp in node.inputs:
                    if isinstance(inp, Tensor) and inp.requires_grad and id(inp) not in visited:
                        push((inp, False))
        order.reverse()
        return order

    # --- arithmetic (NumPy broadcasting; gradients reduced back to each input's shape) -------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __pow__(self, exponent):
        return _ops.pow(self, exponent)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    # comparisons give bool tensors and carry no gradient
    def __eq__(self, other):  # type: ignore[override]
        return Tensor(self.data == _raw(other), _copy=False)

    def __ne__(self, other):  # type: ignore[override]
        return Tensor(self.data != _raw(other), _copy=False)

    def __lt__(self, other):
        return Tensor(self.data < _raw(other), _copy=False)

    def __le__(self, other):
        return Tensor(self.data <= _raw(other), _copy=False)

    def __gt__(self, other):
        return Tensor(self.data > _raw(other), _copy=False)

    def __ge__(self, other):
        return Tensor(self.data >= _raw(other), _copy=False)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def clip(self, min=None, max=None):
        return _ops.clip(self, min, max)

    clamp = clip

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.sum(self, _axis(axis, dim), _keep(keepdims, keepdim))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.mean(self, _axis(axis, dim), _keep(keepdims, keepdim))

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.max(self, _axis(axis, dim), _keep(keepdims, keepdim))

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _ops.min(self, _axis(axis, dim), _keep(keepdims, keepdim))

    def argmax(self, axis=None, keepdims=False):
        return Tensor(np.argmax(self.data, axis=axis, keepdims=keepdims), _copy=False)

    def argmin(self, axis=None, keepdims=False):
        return Tensor(np.argmin(self.data, axis=axis, keepdims=keepdims), _copy=False)

    # --- movement ---------------------------------------------------------------------------
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return _ops.flatten(self, start_dim, end_dim)

    def transpose(self, dim0: int | None = None, dim1: int | None = None):
        """``t.transpose(d0, d1)`` swaps two axes (PyTorch); ``t.transpose()`` reverses them all."""
        if dim0 is None and dim1 is None:
            return _ops.permute(self, tuple(reversed(range(self.ndim))))
        order = list(range(self.ndim))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        return _ops.permute(self, tuple(order))

    def permute(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.permute(self, axes)

    @property
    def T(self):
        return _ops.permute(self, tuple(reversed(range(self.ndim))))

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def squeeze(self, axis=None):
        return _ops.reshape(self, np.squeeze(self.data, axis=axis).shape)

    def unsqueeze(self, axis: int):
        return _ops.reshape(self, np.expand_dims(self.data, axis).shape)


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _axis(axis, dim):
    return dim if dim is not None else axis


def _keep(keepdims, keepdim):
    return keepdim if keepdim is not None else keepdims


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a tensor, with torch.tensor's dtype rules.

    A NumPy array keeps its dtype (float64 stays float64); Python floats and lists of them become
    float32; integers stay integers (int64); ``dtype=`` converts. The data is copied.

    >>> tensor([[1.0, 2.0]]).shape, tensor([[1.0, 2.0]]).dtype
    ((1, 2), dtype('float32'))
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)
