"""Tensor: a NumPy array that remembers how it was computed, for reverse-mode autograd.

A tensor made by an operation keeps a ``Node`` (the Function that made it, its saved context and
its inputs). ``loss.backward()`` walks those nodes from the loss back to the leaves in reverse
topological order, calling each Function's backward once with the sum of the gradients that
reached its output, so a tensor used twice (a residual connection, a shared weight) gets both
contributions. Leaves that require grad accumulate the result in ``.grad`` (a NumPy array).

The methods (``+``, ``@``, ``.sum()``, ``.reshape()``, ...) call the functions of tensor_ops.py, where
the operations are written as Functions. Imports flow one way, tensor -> tensor_ops -> function:
``@tensor_class`` tells Function.apply which class to make, so function.py needs no import of this file.

The methods take PyTorch's names, arguments and results, so tutorial code runs as written:
``x.size(0)`` is an int and ``x.size()`` a ``Size`` (a tuple); reductions take ``dim`` (an int or a
tuple) and ``keepdim`` (NumPy's ``axis``/``keepdims`` mean the same); ``out.max(1)`` is the named tuple
``(values, indices)`` (``amax`` is the maximum alone); ``.to(...)``, ``.long()``, ``.device`` and the
rest behave as in PyTorch on its CPU.
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
            arr = arr.astype(np.float32)  # Python floats -> float32, torch's default
        elif dtype is None and arr.dtype.kind == "i":
            arr = arr.astype(np.int64)
        if dtype is not None:
            arr = arr.astype(dtype)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor: data must be numeric (bool, integer or float). Received dtype {arr.dtype}")
    return arr


class Size(tuple):
    """A tensor's shape as ``t.size()`` gives it: a tuple (as torch.Size), with ``numel()``.

    >>> Size((2, 3)), Size((2, 3)) == (2, 3), Size((2, 3)).numel()
    (convnp.Size([2, 3]), True, 6)
    """

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"convnp.Size({list(self)})"


class device:
    """Where a tensor lives: always the CPU (convnp computes with NumPy), as ``cn.device("cpu")``.

    >>> device("cpu"), device("cpu") == "cpu"
    (device(type='cpu'), True)
    """

    __slots__ = ("type",)

    def __init__(self, type="cpu", index=None):
        name = type.type if isinstance(type, device) else type
        if name != "cpu" or index not in (None, 0):
            raise ValueError(
                "device: convnp computes on the CPU only (NumPy), so the one device is 'cpu'. "
                f"Received: {name!r}" + ("" if index is None else f", index={index!r}")
            )
        self.type = "cpu"

    @property
    def index(self):
        return None

    def __eq__(self, other):
        return isinstance(other, (device, str)) and str(other) == "cpu"

    def __hash__(self):
        return hash("cpu")

    def __str__(self) -> str:
        return "cpu"

    def __repr__(self) -> str:
        return "device(type='cpu')"


_CPU = device("cpu")
_DEVICE_NAMES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "ipu", "hpu", "privateuseone")
_DeviceType = device  # the class, where a method's argument is called device
_TYPE_NAMES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "float16": "HalfTensor",
    "int64": "LongTensor",
    "int32": "IntTensor",
    "int16": "ShortTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "bool": "BoolTensor",
}


def _to_dtype(op: str, dtype) -> np.dtype:
    """A NumPy dtype from a dtype, a type or a name like "float32" or "convnp.LongTensor"."""
    if isinstance(dtype, str):
        short = dtype.rsplit(".", 1)[-1]
        for name, tensor_name in _TYPE_NAMES.items():
            if short == tensor_name:
                dtype = name
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: expected a dtype (cn.float32, cn.long, ...). Received: {dtype!r}") from None
    if dt.kind not in "biuf":
        raise TypeError(f"{op}: expected a numeric dtype (bool, integer or float). Received: {dt}")
    return dt


@tensor_class
class Tensor:
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operators

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

    def size(self, dim: int | None = None):
        """The shape as a ``cn.Size`` (a tuple), or the length of one dimension: ``x.size(0)``.

        >>> t = tensor([[1.0, 2.0, 3.0]])
        >>> t.size(), t.size(-1), t.numel()
        (convnp.Size([1, 3]), 3, 3)
        """
        if dim is None:
            return Size(self.data.shape)
        if self.data.ndim == 0:
            raise IndexError(f"size: a 0-d tensor has no dimensions. Received: dim={dim!r}")
        return self.data.shape[_ops._dim("size", dim, self.data.ndim)]

    @property
    def device(self) -> device:
        return _CPU

    @property
    def is_cuda(self) -> bool:
        return False

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
            raise ValueError(
                f"item: only a tensor with one element can be converted to a Python number. Received shape {self.shape}"
            )
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory, like torch)."""
        return Tensor(self.data, _copy=False)

    def clone(self) -> Tensor:
        return _ops.Clone.apply(self)

    def astype(self, dtype) -> Tensor:
        dtype = np.dtype(dtype)
        if not is_float(dtype):  # an integer or bool result carries no gradient
            return Tensor(self.data.astype(dtype), _copy=False)
        return _ops.Cast.apply(self, dtype=dtype)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def half(self) -> Tensor:
        return self.astype(np.float16)

    def long(self) -> Tensor:
        return self.astype(np.int64)

    def int(self) -> Tensor:
        return self.astype(np.int32)

    def bool(self) -> Tensor:
        return self.astype(np.bool_)

    def type(self, dtype=None):
        """Without an argument the type's name ("convnp.FloatTensor"); with a dtype, the tensor cast to it."""
        if dtype is None:
            return "convnp." + _TYPE_NAMES.get(self.data.dtype.name, self.data.dtype.name)
        dt = _to_dtype("type", dtype)
        return self if dt == self.data.dtype else self.astype(dt)

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """``t.to(cn.float64)``, ``t.to("cpu")``, ``t.to(device, dtype)``, ``t.to(other)`` (other's dtype).

        The device must be the CPU; the tensor itself comes back when nothing changes (as in PyTorch).
        """
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.data.dtype
            elif isinstance(a, _DeviceType) or (isinstance(a, str) and a.split(":")[0] in _DEVICE_NAMES):
                device = a
            else:
                dtype = a
        if device is not None:
            _DeviceType(device)  # "cpu" or a clear error
        dtype = None if dtype is None else _to_dtype("to", dtype)
        out = self if dtype is None or dtype == self.data.dtype else self.astype(dtype)
        return out.clone() if copy and out is self else out

    def cpu(self) -> Tensor:
        return self

    def contiguous(self) -> Tensor:
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
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

    def _number(self, what: str):
        if self.data.size != 1:
            raise ValueError(
                f"{what}: only a tensor with one element can be converted to a Python number. "
                f"Received: shape {self.shape}"
            )
        return self.data.item()

    def __int__(self) -> int:
        return int(self._number("int"))

    def __float__(self) -> float:
        return float(self._number("float"))

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(
                "__index__: only an integer tensor with one element can be used as an index. "
                f"Received: dtype {self.dtype}, shape {self.shape}"
            )
        return int(self.data.item())

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a one-element tensor as its number; other tensors take no spec."""
        if self.data.size == 1 and self.data.ndim == 0:
            return format(self.data.item(), spec)
        return format(str(self), spec)

    # --- backpropagation -------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        A scalar starts from 1; any other tensor needs ``grad`` of its own shape (dL/d(self)).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph "
                "(were its inputs made with requires_grad=True, outside cn.no_grad()?)"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward: a gradient is needed for a non-scalar output. "
                    f"Expected grad of shape {self.shape}, or call backward on a scalar "
                    f"(e.g. loss.sum()). Received no grad for shape {self.shape}"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.data.dtype)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward: grad must have the tensor's shape {self.shape}. Received shape {grad.shape}"
                )
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
                    raise RuntimeError(
                        f"{node.function.__name__}.backward returned a gradient of shape "
                        f"{ig.shape} for an input of shape {data.shape}"
                    )
                if ig.dtype != data.dtype:
                    ig = ig.astype(data.dtype)
                key = id(inp)
                grads[key] = ig if key not in grads else grads[key] + ig

    def _topological_order(self) -> list[Tensor]:
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

    def eq(self, other):
        return self.__eq__(other)

    def ne(self, other):
        return self.__ne__(other)

    def lt(self, other):
        return self.__lt__(other)

    def le(self, other):
        return self.__le__(other)

    def gt(self, other):
        return self.__gt__(other)

    def ge(self, other):
        return self.__ge__(other)

    def pow(self, exponent):
        return _ops.pow(self, exponent)

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` is true, self elsewhere (the gradient flows where the mask is false)."""
        mask = np.asarray(_raw(mask))
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill: the mask must be a bool tensor. Received: dtype {mask.dtype}")
        value = _raw(value)
        if np.ndim(value) != 0:
            raise ValueError(
                f"masked_fill: the value must be a number or a 0-d tensor. Received: shape {np.shape(value)}"
            )
        fill = np.asarray(value, dtype=self.data.dtype)
        return (
            _ops.where(np.broadcast_to(mask, self.shape), fill, self)
            if mask.shape != self.shape
            else _ops.where(mask, fill, self)
        )

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

    # reductions take PyTorch's dim= and keepdim= (an int or a tuple of ints; None: all of them), and
    # NumPy's axis= and keepdims= as the same thing
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return _ops.sum(x, _axis(dim, axis), _keep(keepdim, keepdims))

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None):
        x = self if dtype is None else self.to(dtype)
        return _ops.mean(x, _axis(dim, axis), _keep(keepdim, keepdims))

    def prod(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _ops.prod(self, _axis(dim, axis), _keep(keepdim, keepdims))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        """Variance, dividing by n - correction (1 unless ``correction=`` or ``unbiased=False`` says 0)."""
        if isinstance(dim, bool):  # t.var(False): PyTorch's var(unbiased) overload
            dim, unbiased = None, dim
        return _ops.var(self, _axis(dim, axis), _keep(keepdim, keepdims), _correction(unbiased, correction))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        return _ops.sqrt(self.var(dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims))

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _logical(np.all, self, _axis(dim, axis), _keep(keepdim, keepdims))

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _logical(np.any, self, _axis(dim, axis), _keep(keepdim, keepdims))

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Without dim the largest element (a 0-d tensor; tied maxima share the gradient); with dim the
        named tuple ``(values, indices)``, as PyTorch: ``_, pred = out.max(1)``."""
        return _ops.max(self, _axis(dim, axis), _keep(keepdim, keepdims))

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _ops.min(self, _axis(dim, axis), _keep(keepdim, keepdims))

    def amax(self, dim=None, keepdim=False):
        """Largest elements over dim (an int or a tuple; None: all); tied maxima share the gradient."""
        return _ops.Max.apply(self, axis=dim, keepdims=keepdim)

    def amin(self, dim=None, keepdim=False):
        return _ops.Min.apply(self, axis=dim, keepdims=keepdim)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _ops.argmax(self, _axis(dim, axis), _keep(keepdim, keepdims))

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _ops.argmin(self, _axis(dim, axis), _keep(keepdim, keepdims))

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _ops.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False, stable=False):
        return _ops.sort(self, dim, descending, stable)

    # --- movement ---------------------------------------------------------------------------
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    view = reshape

    def view_as(self, other):
        return _ops.reshape(self, other.shape)

    def expand(self, *sizes):
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        return _ops.expand(self, sizes)

    def expand_as(self, other):
        return _ops.expand(self, other.shape)

    def repeat(self, *repeats):
        if len(repeats) == 1 and isinstance(repeats[0], (tuple, list)):
            repeats = tuple(repeats[0])
        return _ops.repeat(self, repeats)

    def gather(self, dim, index):
        return _ops.gather(self, dim, index)

    def split(self, split_size_or_sections, dim=0):
        """Pieces of ``split_size`` along dim (the last may be shorter), or of the listed sizes."""
        axis = _ops._dim("split", dim, self.ndim)
        n = self.shape[axis]
        sizes = split_size_or_sections
        if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
            if sizes <= 0 and n:
                raise ValueError(f"split: the split size must be positive. Received: {sizes}")
            sizes = [min(sizes, n - start) for start in range(0, n, sizes)] if n else [0]
        elif sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(
                f"split: the sizes must be non-negative and add up to {n} (the size of dim {dim}). "
                f"Received: {list(sizes)}"
            )
        bounds = np.cumsum([0, *sizes])
        lead = (slice(None),) * axis
        return tuple(self[lead + (slice(int(a), int(b)),)] for a, b in zip(bounds[:-1], bounds[1:]))

    def chunk(self, chunks: int, dim=0):
        """At most ``chunks`` pieces of ceil(n / chunks) along dim (fewer when they run out, as PyTorch)."""
        if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks < 1:
            raise ValueError(f"chunk: chunks must be a positive int. Received: {chunks!r}")
        n = self.shape[_ops._dim("chunk", dim, self.ndim)]
        return self.split(max(-(-n // chunks), 1), dim)

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


def _axis(dim, axis):
    return dim if dim is not None else axis


def _keep(keepdim, keepdims):
    return keepdims if keepdims is not None else keepdim


def _correction(unbiased, correction):
    if correction is not None:
        if unbiased is not None:
            raise ValueError(
                "var/std: give correction= or unbiased=, not both. "
                f"Received: unbiased={unbiased}, correction={correction}"
            )
        return correction
    return 0 if unbiased is False else 1


def _logical(reduce, x, dim, keepdim):
    axes = None if dim is None else _ops._axes(dim, x.ndim)
    return Tensor(np.asarray(reduce(x.data, axis=axes, keepdims=keepdim)), _copy=False)


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a tensor, with torch.tensor's dtype rules.

    A NumPy array keeps its dtype (float64 stays float64); Python floats and lists of them become
    float32; integers stay integers (int64); ``dtype=`` converts. The data is copied.

    >>> tensor([[1.0, 2.0]]).shape, tensor([[1.0, 2.0]]).dtype
    ((1, 2), dtype('float32'))
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)
