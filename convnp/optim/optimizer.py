"""Optimizer: the base of every optimiser (torch.optim.Optimizer's behaviour and state layout).

An optimiser holds ``param_groups`` (a list of dicts: ``"params"``, a list of tensors, plus that
group's options such as ``"lr"``) and ``state`` (per parameter: momentum buffers, moment
estimates, step counts, all NumPy arrays). ``step()`` updates every parameter that has a gradient
in place on ``param.data``; each subclass writes its update rule once, vectorised over a whole
parameter array, in ``_update``.

``state_dict()`` has PyTorch's layout, with NumPy arrays where PyTorch has tensors::

    {"state": {0: {"momentum_buffer": array(...)}, ...},
     "param_groups": [{"lr": 0.01, "momentum": 0.9, ..., "params": [0, 1, 2]}]}

(parameters are numbered in the order of the groups), so it can be saved with ``cn.save``.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np

from convnp.autograd.grad_mode import enable_grad
from convnp.autograd.tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Singleton for an option that every param group must give (no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


class Optimizer:
    """Base class. ``params``: an iterable of tensors (Parameters), of ``(name, tensor)`` pairs, or
    of dicts (param groups, each with ``"params"`` and options overriding ``defaults``)."""

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                "but got " + _typename(params)
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    # --- groups --------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. unfreezing layers while fine-tuning)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        param_group = dict(param_group)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering "
                "of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + _typename(p))
            if not (p.is_leaf or p._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will "
                "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3,
            )
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {txt} to the optimizer"
                )
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # --- gradients and steps -------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimised parameters: to None (default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad[...] = 0

    def step(self, closure: Callable | None = None):
        """One optimisation step over every parameter that has a gradient.

        ``closure`` (optional) re-evaluates the model and returns the loss (computed with
        gradients enabled); the loss is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._prepare_group(group)
            for p in group["params"]:
                if p.grad is None:
                    continue
                self._update(p.data, self._grad_of(p), p, group)
        return loss

    def _prepare_group(self, group: dict) -> None:
        """Per-group work before the per-parameter updates (none by default)."""

    def _update(self, param: np.ndarray, grad: np.ndarray, p: Tensor, group: dict) -> None:
        """Update ``param`` (``p.data``) in place from ``grad``; ``self.state[p]`` holds p's state."""
        raise NotImplementedError

    @staticmethod
    def _grad_of(p: Tensor) -> np.ndarray:
        grad = p.grad.data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
        if grad.shape != p.data.shape:
            raise ValueError(
                f"optimizer step: a gradient must have its parameter's shape {p.data.shape}. "
                f"Received: grad of shape {grad.shape}"
            )
        if grad.dtype != p.data.dtype:
            grad = grad.astype(p.data.dtype)
        return grad

    @staticmethod
    def _new_step() -> np.ndarray:
        """A step counter, a 0-d float32 array as PyTorch keeps it (a float32 tensor)."""
        return np.zeros((), dtype=np.float32)

    @staticmethod
    def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
        """``start += weight * (end - start)`` in place, with PyTorch's two-sided lerp formula."""
        if abs(weight) < 0.5:
            start += weight * (end - start)
        else:
            start[...] = end - (end - start) * (1 - weight)

    # --- state dict ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: array or number}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are numbered in order across the groups; arrays are copies.
        """
        param_mappings: dict[int, int] = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            param_mappings.update(
                {id(p): i for i, p in enumerate(group["params"], start_index) if id(p) not in param_mappings}
            )
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {
            (param_mappings[id(k)] if isinstance(k, Tensor) else k): _copy_state(v) for k, v in self.state.items()
        }
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()`` (possibly read back by ``cn.load``): the groups' options and each
        parameter's state, matched to this optimiser's parameters by order. Floating-point state
        takes its parameter's dtype (except ``step``); arrays are copied."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(
                "Optimizer.load_state_dict: expected a dict with 'state' and 'param_groups' "
                f"(from Optimizer.state_dict()). Received: {_typename(state_dict)}"
                + (f" with keys {list(state_dict)}" if isinstance(state_dict, dict) else "")
            )
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
            )
        id_map = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups), chain.from_iterable(g["params"] for g in groups)
            )
        )

        def cast(param: Tensor, value, index, key=None):
            if isinstance(value, Tensor):
                value = value.data
            if isinstance(value, np.ndarray):
                if key == "step":
                    return np.array(value)
                if value.dtype.kind == "f" and param.data.dtype.kind == "f":
                    if value.shape != param.data.shape and value.ndim > 0:
                        raise ValueError(
                            f"Optimizer.load_state_dict: state '{key}' of parameter {index} has shape "
                            f"{value.shape}, but the parameter has shape {param.data.shape}"
                        )
                    return np.array(value, dtype=param.data.dtype)
                return np.array(value)
            if isinstance(value, dict):
                return {k: cast(param, v, index, key=k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v, index) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v, k)
            else:
                state[k] = v
        for s in state.values():
            if isinstance(s, dict) and "step" in s and not isinstance(s["step"], np.ndarray):
                s["step"] = np.array(float(s["step"]), dtype=np.float32)

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            for name, default in self.defaults.items():
                new_group.setdefault(name, default)
            return new_group

        self.state = state
        self.param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]


def _copy_state(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy_state(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(v) for v in value)
    return value


def check_adam_args(lr, betas, eps, weight_decay) -> None:
    """The Adam family's argument checks, with PyTorch's messages (Adam, AdamW, Adamax, NAdam, RAdam)."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
