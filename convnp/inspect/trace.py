"""Run a model once with forward hooks on every module and keep what each module call saw.

Everything in ``convnp.inspect`` names a layer by its dotted module path, as ``named_modules()``
gives it (``"features.0"``, ``"layer2.1.conv1"``, ``"c3"``). A module that the forward calls more
than once (LeNet-5 applies one shared ``act`` after every layer) has one entry per call:
``"act#0"``, ``"act#1"``, ...; the bare name means its first call.

>>> import numpy as np
>>> from convnp.nn import Conv2d, ReLU, Sequential
>>> net = Sequential(Conv2d(1, 4, 3), ReLU())
>>> t = trace(net, np.zeros((2, 1, 8, 8), np.float32))
>>> t.keys(), t["0"].output.shape
(['0', '1'], (2, 4, 6, 6))
"""

from __future__ import annotations

import contextlib

import numpy as np

from convnp.autograd.grad_mode import no_grad, set_grad_enabled
from convnp.autograd.tensor import Tensor
from convnp.nn.module import Module
from convnp.nn.tracing import LayerCall, record_calls

__all__ = ["LayerCall", "ModelTrace", "trace", "evaluation", "as_input", "model_dtype", "conv_like"]


class ModelTrace:
    """The module calls of one forward pass, in call order, and the tensors they exchanged."""

    def __init__(self, model: Module, input: Tensor, calls: list[LayerCall], output, complete: bool):
        self.model = model
        self.input = input
        self.calls = calls
        self.output = output  # the model's output (None when the forward was stopped early)
        self.complete = complete
        self._by_key: dict[str, LayerCall] = {}
        for c in calls:
            self._by_key[c.key] = c
            self._by_key.setdefault(c.path, c)  # the bare name: the first call
            self._by_key.setdefault(f"{c.path}#{c.call}", c)

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def __getitem__(self, key: str) -> LayerCall:
        if key not in self._by_key:
            raise KeyError(layer_error(self.model, key, self.keys()))
        return self._by_key[key]

    def keys(self) -> list[str]:
        return [c.key for c in self.calls if c.path]


def layer_error(model: Module, key, known: list[str]) -> str:
    names = ", ".join(known[:40]) + (" ..." if len(known) > 40 else "")
    return (
        f"inspect: no layer named {key!r} in {type(model).__name__} (layers are dotted module paths as "
        f"named_modules() gives them, '#k' for the k-th call of a module called several times: {names}). "
        f"Received: layer={key!r}"
    )


def model_dtype(model: Module) -> np.dtype | None:
    """The dtype of the model's float parameters (None for a model without any)."""
    for p in model.parameters():
        if p.data.dtype.kind == "f":
            return p.data.dtype
    return None


def as_input(model: Module, x, op: str) -> np.ndarray:
    """The images as a float array of the model's dtype, (N, C, H, W) (a single (C, H, W) image gets N = 1)."""
    if isinstance(x, Tensor):
        x = x.data
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception:  # noqa: BLE001
            raise TypeError(
                f"{op}: expected images as a NumPy array or Tensor of shape (N, C, H, W). Received: {type(x).__name__}"
            ) from None
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{op}: expected numeric images. Received: dtype {x.dtype}")
    if x.ndim == 3:
        x = x[None]  # (C, H, W) -> (1, C, H, W)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected images of shape (N, C, H, W) or (C, H, W). Received: shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{op}: expected at least one image. Received: shape {x.shape}")
    dt = model_dtype(model) or (x.dtype if x.dtype.kind == "f" else np.dtype(np.float32))
    return np.ascontiguousarray(x, dtype=dt)


def conv_like(module: Module) -> bool:
    """A layer with a bank of 2-D filters: a weight of shape (out, in/groups, kh, kw), or a
    ``dense_weight()`` that gives one (LeNet-5's connection-table C3)."""
    if getattr(module, "transposed", False):
        return False
    if callable(getattr(module, "dense_weight", None)):
        return True
    w = getattr(module, "weight", None)
    return isinstance(w, Tensor) and w.ndim == 4 and hasattr(module, "kernel_size")


@contextlib.contextmanager
def evaluation(model: Module, params_grad: bool = False):
    """Evaluation mode (and, unless ``params_grad``, no gradients for the parameters) for the
    duration; every module's training flag and every parameter's requires_grad put back after."""
    modes = [(m, m.training) for m in model.modules()]
    grads = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    if not params_grad:
        for p, _ in grads:
            p.requires_grad = False
    try:
        yield model
    finally:
        for m, mode in modes:
            m.training = mode
        for p, flag in grads:
            p.requires_grad = flag


def trace(
    model: Module, x, *, grad: bool = False, stop_after=None, input_requires_grad: bool | None = None
) -> ModelTrace:
    """Run ``model`` on ``x`` once in evaluation mode with a forward hook on every module.

    ``grad``: record the autograd graph (the input requires grad; the parameters do not), for
    gradients and for the receptive-field walk. ``stop_after``: a layer key or a list of them; the
    forward stops as soon as all of them have returned (the rest of the network is not run).
    Returns a :class:`ModelTrace`; ``trace[key]`` is the :class:`LayerCall` of that layer.
    """
    if not isinstance(model, Module):
        raise TypeError(f"inspect: expected a convnp Module. Received: {type(model).__name__}")
    arr = as_input(model, x, "inspect")
    wanted = None if stop_after is None else ({stop_after} if isinstance(stop_after, str) else set(stop_after))
    requires = grad if input_requires_grad is None else input_requires_grad
    inp = Tensor(arr, requires_grad=requires, _copy=False)
    with evaluation(model), set_grad_enabled(True) if grad else no_grad():
        calls, out, complete = record_calls(model, inp, stop_after=wanted)
    if wanted is not None and complete:
        seen = {c.path for c in calls} | {f"{c.path}#{c.call}" for c in calls}
        missing = sorted(wanted - seen)
        if missing:
            raise KeyError(layer_error(model, missing[0], [c.key for c in calls if c.path]))
    return ModelTrace(model, inp, calls, out, complete)


def output_tensor(call: LayerCall, op: str) -> Tensor:
    """The layer's output as a Tensor, or a ValueError naming the layer."""
    out = call.output
    if isinstance(out, tuple) and out and isinstance(out[0], Tensor):
        out = out[0]
    if not isinstance(out, Tensor):
        raise ValueError(
            f"{op}: layer {call.key!r} ({call.kind}) does not return a tensor. Received: {type(call.output).__name__}"
        )
    return out


def spatial_output(call: LayerCall, op: str) -> Tensor:
    """The layer's output, which must be a feature map (N, C, H, W)."""
    out = output_tensor(call, op)
    if out.ndim != 4:
        raise ValueError(
            f"{op}: layer {call.key!r} ({call.kind}) gives no feature maps: expected an output of "
            f"shape (N, C, H, W). Received: output shape {out.shape}"
        )
    return out
