"""Module and Parameter: the machinery every layer stands on (torch.nn.Module's behaviour).

A ``Module`` files what is assigned to it as it is assigned::

    class Block(Module):
        def __init__(self):
            super().__init__()
            self.weight = Parameter(np.zeros((4, 3), dtype=np.float32))   # -> self._parameters
            self.register_buffer("running_mean", np.zeros(4, np.float32)) # -> self._buffers
            self.head = Identity()                                        # -> self._modules

so ``parameters()``, ``state_dict()``, ``train()``, ``float()`` ... walk the tree without any
hand-written lists. Names are dotted paths from the root, exactly as PyTorch names them
(``features.0.weight``, ``bn1.running_mean``, ``bn1.num_batches_tracked``).

Parameters are tensors (``Parameter`` is a ``Tensor``) whose ``.grad`` is a NumPy array; buffers
are plain NumPy arrays that the operations update in place (BatchNorm's running statistics).

Layer-path errors: a layer that receives bad input calls ``self._input_error("expected ...")``
(or the one-liner ``self.check_input(x, ndim=4, channels=6)``). That raises ``LayerInputError``
(a ValueError) remembering the layer; each ``Module.__call__`` it passes through looks the layer
up among its own submodules, so the message the user finally sees names the layer by its path
from the outermost module called::

    features.3 (Conv2d): expected input with 6 channels, received shape (2, 3, 28, 28)

(called directly on the layer, the path is just ``Conv2d``).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from convnp.arraymath.broadcast import is_float
from convnp.autograd.tensor import Tensor, _to_array

__all__ = ["Module", "Parameter", "LayerInputError", "LoadStateDictError", "RemovableHandle"]


# --------------------------------------------------------------------------------------------
# Parameter
# --------------------------------------------------------------------------------------------
class Parameter(Tensor):
    """A tensor that is a learnable parameter of a Module (torch.nn.Parameter).

    ``Parameter(data, requires_grad=True)``: ``data`` is a NumPy array (copied, dtype kept: float64
    stays float64, float32 stays float32), a Tensor (memory shared, as torch does), or Python data
    (float32, torch's default). ``None`` gives an empty float32 parameter.

    ``.grad`` is a NumPy array of the parameter's shape (or None) and may be assigned directly;
    an assigned gradient is cast to the parameter's dtype.

    >>> p = Parameter(np.zeros((2, 3)))
    >>> p.dtype, p.requires_grad, p.grad is None
    (dtype('float64'), True, True)
    """

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        if isinstance(data, Tensor):
            array = data.data  # share memory, like torch
        elif isinstance(data, np.ndarray):
            array = np.array(data)  # own, contiguous, writeable copy
        else:
            array = _to_array(data)  # Python floats -> float32
        super().__init__(array, requires_grad=False, _copy=False)
        if requires_grad:
            self.requires_grad_(True)

    @property
    def grad(self) -> np.ndarray | None:
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            self._grad = None
            return
        if isinstance(value, Tensor):
            value = value.data
        value = np.asarray(value)
        if value.shape != self.data.shape:
            raise ValueError(
                f"Parameter.grad: the gradient must have the parameter's shape {self.data.shape}. "
                f"Received: shape {value.shape}"
            )
        if value.dtype != self.data.dtype:
            value = value.astype(self.data.dtype)
        self._grad = value

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


# --------------------------------------------------------------------------------------------
# Errors and small helpers
# --------------------------------------------------------------------------------------------
class LayerInputError(ValueError):
    """Bad input to a layer. ``module`` is the layer that raised, ``detail`` the message without
    the layer's name, ``path`` the layer's dotted path from the outermost module called (None
    until a ``Module.__call__`` finds it)."""

    def __init__(self, module: Module, detail: str):
        self.module = module
        self.detail = detail
        self.path: str | None = None
        super().__init__(f"{module._get_name()}: {detail}")

    def _set_path(self, path: str) -> None:
        self.path = path
        name = self.module._get_name()
        self.args = (f"{path} ({name}): {self.detail}" if path else f"{name}: {self.detail}",)


class LoadStateDictError(RuntimeError, ValueError):
    """``Module.load_state_dict`` failed: PyTorch raises RuntimeError, convnp's convention is
    ValueError, so this is both."""


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by the hook registrations; ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _addindent(s: str, num_spaces: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    lines = [(num_spaces * " ") + line if line.strip() else "" for line in lines]
    return first + "\n" + "\n".join(lines)


def _typename(obj) -> str:
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _as_buffer(name: str, value):
    """A value stored as a buffer: a NumPy array (tensors are unwrapped) or None."""
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.generic):
        return np.asarray(value)
    raise TypeError(
        f"cannot assign '{_typename(value)}' object to buffer '{name}' (NumPy array, Tensor or None required)"
    )


class ShapeOnly:
    """Stands for an input of this shape in ``check_input`` (a layer's ``output_shape`` checks the
    shape it is given as its forward checks the input)."""

    __slots__ = ("shape",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape


def _shape_arg(module: Module, input_shape) -> tuple[int, ...]:
    """``input_shape`` as a tuple of ints (a TypeError naming the layer otherwise)."""
    if isinstance(input_shape, (tuple, list)) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= 0 for v in input_shape
    ):
        return tuple(int(v) for v in input_shape)
    raise TypeError(
        f"{type(module).__name__}.output_shape: expected the input's shape as a tuple of non-negative "
        f"ints, such as (1, 3, 32, 32). Received: input_shape={input_shape!r}"
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --------------------------------------------------------------------------------------------
# Module
# --------------------------------------------------------------------------------------------
class Module:
    """Base class of every layer and model (torch.nn.Module).

    Subclasses call ``super().__init__()`` first, assign Parameters, buffers
    (``register_buffer``) and child Modules as attributes, and define ``forward``. Calling the
    module (``model(x)``) runs ``forward`` through ``__call__`` (hooks, layer-path errors).
    """

    training: bool

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments: args={args}, "
                f"kwargs={kwargs} (Module.__init__ takes none)"
            )
        sa = object.__setattr__
        sa(self, "training", True)
        sa(self, "_parameters", OrderedDict())
        sa(self, "_buffers", OrderedDict())
        sa(self, "_non_persistent_buffers_set", set())
        sa(self, "_modules", OrderedDict())
        sa(self, "_forward_pre_hooks", OrderedDict())
        sa(self, "_forward_hooks", OrderedDict())

    # --- forward ---------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        try:
            if self._forward_pre_hooks:
                args = self._run_pre_hooks(args)
            output = self.forward(*args, **kwargs)
            if self._forward_hooks:  # (read after forward, which may add one)
                output = self._run_forward_hooks(args, output)
            return output
        except LayerInputError as err:
            # Name the raising layer by its path from this module. Every enclosing __call__ does
            # this again on the way out, so the outermost module that contains the layer wins.
            path = self._path_of(err.module)
            if path is not None:
                err._set_path(path)
            raise

    def _run_pre_hooks(self, args: tuple) -> tuple:
        for hook in tuple(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        return args

    def _run_forward_hooks(self, args: tuple, output):
        for hook in tuple(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def _path_of(self, module: Module) -> str | None:
        for name, m in self.named_modules():
            if m is module:
                return name
        return None

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args)`` runs before forward; it may return new args (a tuple or one value)."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args, output)`` runs after forward; it may return a replacement output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # --- geometry -----------------------------------------------------------------------------
    def output_shape(self, input_shape) -> tuple[int, ...]:
        """The shape of ``forward``'s output for an input of shape ``input_shape`` (batch axis
        included, PyTorch's layout), with the layer's own ValueError for a shape it does not take.

        Layers answer from their geometry without computing (Conv2d from its window, Sequential by
        composing its layers). This default, for a module that only defines ``forward``, runs the
        forward once on zeros in evaluation mode without gradients and leaves every flag as it was.

        >>> from convnp.nn import Conv2d, MaxPool2d, Sequential
        >>> Sequential(Conv2d(3, 8, 5, padding=2), MaxPool2d(2)).output_shape((1, 3, 32, 32))
        (1, 8, 16, 16)
        """
        from convnp.autograd.grad_mode import no_grad

        shape = _shape_arg(self, input_shape)
        dtype = next((p.data.dtype for p in self.parameters() if is_float(p.data.dtype)), np.dtype(np.float32))
        modes = [(m, m.training) for m in self.modules()]
        self.eval()
        try:
            with no_grad():
                out = self(Tensor(np.zeros(shape, dtype=dtype), _copy=False))
        finally:
            for m, mode in modes:
                m.training = mode
        if isinstance(out, tuple) and out and isinstance(out[0], Tensor):
            out = out[0]
        return tuple(out.shape)

    # --- input checks for layers -------------------------------------------------------------
    def _input_error(self, detail: str):
        """Raise LayerInputError: ``detail`` is what was expected and received, without the
        layer's name (added here, and replaced by the layer's path by the enclosing calls)."""
        raise LayerInputError(self, detail)

    def check_input(
        self, x, ndim=None, channels: int | None = None, channel_axis: int = 1, layout: str | None = None
    ) -> None:
        """One-line input check for layers.

        ``ndim``: the number of dimensions expected (an int, or a tuple of accepted ints);
        ``channels``: the size expected along ``channel_axis`` (negative counts from the end);
        ``layout``: an optional description such as ``"(N, C, H, W)"`` for the message.

        >>> # in Conv2d.forward: self.check_input(x, ndim=(3, 4), channels=self.in_channels, channel_axis=-3)
        """
        if type(x) is Tensor:  # the usual case, without the generic lookups
            shape = x.data.shape
        else:
            shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
        n = len(shape)
        if ndim is not None:
            allowed = (ndim,) if isinstance(ndim, (int, np.integer)) else tuple(ndim)
            if n not in allowed:
                want = " or ".join(f"{d}D" for d in allowed)
                desc = f" {layout}" if layout else ""
                self._input_error(f"expected {want} input{desc}, received shape {shape}")
        if channels is not None:
            axis = channel_axis + n if channel_axis < 0 else channel_axis
            if not 0 <= axis < n or shape[axis] != channels:
                self._input_error(f"expected input with {_plural(channels, 'channel')}, received shape {shape}")

    # --- registration --------------------------------------------------------------------------
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None: a declared but absent parameter, skipped everywhere)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter", self._parameters)
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                f"(convnp.nn.Parameter or None required)"
            )
        elif not param.is_leaf:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                f"created explicitly. To express '{name}' as a function of another Tensor, "
                f"compute the value in the forward() method."
            )
        else:
            self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add a buffer: a NumPy array that is state but not a parameter (running statistics).

        Persistent buffers are part of ``state_dict()``; a Tensor is stored as its array.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer", self._buffers)
        self._buffers[name] = _as_buffer(name, tensor)
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module, reachable as the attribute ``name``."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")
        self._check_name(name, "module", self._modules)
        self._modules[name] = module

    register_module = add_module

    def _check_name(self, name, kind: str, own: dict) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
        exists = hasattr(self, name) and name not in own
        if kind == "module" and exists:  # PyTorch's order of checks for modules
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(
                f'{kind} name can\'t contain ".", got: {name}'
                if kind == "module"
                else f'{kind} name can\'t contain "."'
            )
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if exists:
            raise KeyError(f"attribute '{name}' already exists")

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``""`` is the module itself)."""
        if target == "":
            return self
        mod: Module = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not a Module")
        return mod

    # --- attribute filing ----------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for kind in ("_parameters", "_buffers", "_modules"):
            store = d.get(kind)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        def remove_from(*dicts_or_sets):
            for d in dicts_or_sets:
                if name in d:
                    if isinstance(d, dict):
                        del d[name]
                    else:
                        d.discard(name)

        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(self.__dict__, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' (convnp.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
        else:
            modules = self.__dict__.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                remove_from(self.__dict__, self._parameters, self._buffers, self._non_persistent_buffers_set)
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(
                        f"cannot assign '{_typename(value)}' as child module '{name}' "
                        f"(convnp.nn.Module or None expected)"
                    )
                modules[name] = value
            else:
                buffers = self.__dict__.get("_buffers")
                if buffers is not None and name in buffers:
                    buffers[name] = _as_buffer(name, value)  # stays a buffer
                else:
                    object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        keys = (
            list(dir(type(self)))
            + list(self.__dict__)
            + list(self._parameters)
            + list(self._modules)
            + list(self._buffers)
        )
        return sorted(k for k in set(keys) if not k[0].isdigit())

    # --- walking the tree ------------------------------------------------------------------------
    def _named_members(self, get_members, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        memo: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or id(v) in memo:
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (module_prefix + ("." if module_prefix else "") + k), v

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter of the module (and of its submodules if ``recurse``), shared ones once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs: own parameters first, then each child's, in order."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, np.ndarray]]:
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        memo: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """``(dotted path, module)`` for this module (path ``prefix``) and all below, depth first."""
        if memo is None:
            memo = set()
        if self not in memo:
            if remove_duplicate:
                memo.add(self)
            yield prefix, self
            for name, module in self._modules.items():
                if module is None:
                    continue
                sub_prefix = prefix + ("." if prefix else "") + name
                yield from module.named_modules(memo, sub_prefix, remove_duplicate)

    # --- modes, gradients, dtypes --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, BatchNorm uses batch statistics) for this module and all below."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: training mode is expected to be boolean. Received: mode={mode!r}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Whether autograd records gradients for every parameter (``False`` freezes the module)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (default) or to zeros in place."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad[...] = 0

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on self, e.g. to initialise weights."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args, dtype=None, device=None) -> Module:
        """Convert float parameters, their gradients and float buffers to ``dtype``, in place.

        ``to(np.float64)``, ``to("float32")``, ``to(dtype=cn.float64)``; the device ``"cpu"`` is
        accepted (convnp runs on the CPU) and anything else is an error.
        """
        for arg in args:
            if isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta"):
                device = arg
            elif dtype is None:
                dtype = arg
            else:
                raise TypeError(f"Module.to: expected at most one dtype and one device. Received: args={args}")
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"Module.to: convnp runs on the CPU only. Received: device={device!r}")
        if dtype is None:
            return self
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Module.to: expected a float dtype or the device 'cpu'. Received: {dtype!r}") from None
        if not is_float(dt):
            raise TypeError(f"Module.to: only floating point dtypes are accepted. Received: dtype={dt}")
        return self._cast(dt)

    def float(self) -> Module:
        """Float parameters and buffers to float32."""
        return self._cast(np.dtype(np.float32))

    def double(self) -> Module:
        """Float parameters and buffers to float64."""
        return self._cast(np.dtype(np.float64))

    def _cast(self, dt: np.dtype) -> Module:
        for module in self.modules():
            for p in module._parameters.values():
                if p is None or not is_float(p.data.dtype):
                    continue
                p.data = p.data.astype(dt, copy=False)  # same Parameter object: optimisers keep it
                if p.grad is not None:
                    p.grad = p.grad.astype(dt, copy=False)
            for name, b in module._buffers.items():
                if b is not None and is_float(b.dtype):
                    module._buffers[name] = b.astype(dt, copy=False)
        return self

    # --- state dict ----------------------------------------------------------------------------
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.data.copy()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.copy()

    def state_dict(
        self, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, np.ndarray]:
        """The module's state: an OrderedDict from dotted name to a NumPy copy of each parameter
        and persistent buffer, keyed and ordered as PyTorch keys the same tree (own parameters,
        own buffers, then each child recursively). ``keep_vars=True`` gives the objects themselves."""
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _load_from_state_dict(self, state_dict, prefix, missing_keys, unexpected_keys, error_msgs) -> None:
        persistent = {k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set}
        local_state = {k: v for k, v in itertools.chain(self._parameters.items(), persistent.items()) if v is not None}
        for name, target in local_state.items():
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            value = state_dict[key]
            if isinstance(value, Tensor):
                value = value.data
            elif isinstance(value, (np.generic, bool, int, float)):
                value = np.asarray(value)
            if not isinstance(value, np.ndarray):
                error_msgs.append(
                    f'While copying the parameter named "{key}", expected a NumPy array or tensor '
                    f"from checkpoint but received {_typename(value)}"
                )
                continue
            array = target.data if isinstance(target, Tensor) else target
            if value.shape != array.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {value.shape} from "
                    f"checkpoint, the shape in current model is {array.shape}."
                )
                continue
            try:
                array[...] = value  # in place, the existing dtype kept
            except Exception as ex:  # e.g. a read-only array
                error_msgs.append(
                    f'While copying the parameter named "{key}", whose dimensions in the model are '
                    f"{array.shape} and whose dimensions in the checkpoint are {value.shape}, an "
                    f"exception occurred : {ex.args}."
                )
        for key in state_dict.keys():
            if not isinstance(key, str) or not key.startswith(prefix):
                continue
            input_name = key[len(prefix) :].split(".", 1)
            if len(input_name) > 1:
                if input_name[0] not in self._modules:
                    unexpected_keys.append(key)
            elif input_name[0] not in local_state:
                unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict: bool = True) -> _IncompatibleKeys:
        """Copy ``state_dict`` (name -> NumPy array or tensor) into the existing parameters and
        buffers, in place and keeping their dtypes. Returns ``(missing_keys, unexpected_keys)``.

        A shape mismatch is always an error; with ``strict`` (default) so are missing and
        unexpected keys. The error (LoadStateDictError, a RuntimeError and a ValueError) lists the
        problems as PyTorch does, e.g. ``size mismatch for features.0.weight: copying a param with
        shape (6, 3, 5, 5) from checkpoint, the shape in current model is (6, 1, 5, 5).``
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {_typename(state_dict)}.")
        missing_keys: list[str] = []
        unexpected_keys: list[str] = []
        error_msgs: list[str] = []

        def load(module: Module, local_state_dict, prefix: str = "") -> None:
            module._load_from_state_dict(local_state_dict, prefix, missing_keys, unexpected_keys, error_msgs)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    child_state = {
                        k: v for k, v in local_state_dict.items() if isinstance(k, str) and k.startswith(child_prefix)
                    }
                    load(child, child_state, child_prefix)

        load(self, state_dict)
        if strict:
            if unexpected_keys:
                error_msgs.insert(
                    0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected_keys))
                )
            if missing_keys:
                error_msgs.insert(
                    0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing_keys))
                )
        if error_msgs:
            raise LoadStateDictError(
                "Error(s) in loading state_dict for {}:\n\t{}".format(self._get_name(), "\n\t".join(error_msgs))
            )
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    # --- printing ------------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The layer's settings for its repr, e.g. ``3, 6, kernel_size=(5, 5), stride=(1, 1)``."""
        return ""

    def __repr__(self) -> str:
        extra_lines = []
        extra_repr = self.extra_repr()
        if extra_repr:
            extra_lines = extra_repr.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            mod_str = _addindent(repr(module), 2)
            child_lines.append("(" + key + "): " + mod_str)
        lines = extra_lines + child_lines
        main_str = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main_str += extra_lines[0]
            else:
                main_str += "\n  " + "\n  ".join(lines) + "\n"
        return main_str + ")"
