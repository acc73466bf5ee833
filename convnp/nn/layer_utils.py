"""Helpers every layer file uses: the ``dtype``/``device`` arguments of layers with parameters,
Keras-style constructor checks, PyTorch's default fan-in initialisation, and :func:`_layer_call`
(run a functional operation and report its complaints about the input as a layer-path error)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from convnp.arraymath.conv_arithmetic import Window
from convnp.nn import init
from convnp.nn.module import LayerInputError, Module, Parameter, ShapeOnly, _shape_arg


# --------------------------------------------------------------------------------------------
def _factory_dtype(layer: str, device=None, dtype=None) -> np.dtype:
    """The dtype of a new layer's parameters: float32 (PyTorch's default) unless ``dtype`` says
    otherwise; ``device`` may only be None or "cpu"."""
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"{layer}: convnp runs on the CPU only. Received: device={device!r}")
    if dtype is None:
        return np.dtype(np.float32)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{layer}: dtype must be a floating-point dtype. Received: dtype={dtype!r}") from None
    if dt.kind != "f":
        raise TypeError(f"{layer}: dtype must be a floating-point dtype. Received: dtype={dt}")
    return dt


def _layer_call(module: Module, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, with a ValueError about the input re-raised as a LayerInputError,
    so the message names the layer by its path (``features.3 (Conv2d): conv2d: ...``)."""
    try:
        return fn(*args, **kwargs)
    except LayerInputError:
        raise
    except ValueError as err:
        raise LayerInputError(module, str(err)) from err


def _check_int(layer: str, name: str, value, minimum: int) -> int:
    """A constructor argument that must be an int >= minimum (Keras-style message)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{layer}: {name} must be an int. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"{layer}: {name} must be at least {minimum}. Received: {name}={value}")
    return int(value)


def _check_bool(layer: str, name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{layer}: {name} must be a bool. Received: {name}={value!r}")
    return bool(value)


def _check_real(layer: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: {name} must be a number. Received: {name}={value!r}")
    return value


def _reset_fan_in_uniform(weight: Parameter, bias: Parameter | None, fan_in: int) -> None:
    """PyTorch's default for Linear and Conv: W ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), ..),
    b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (0 when fan_in is 0)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


def _checked_shape(module: Module, input_shape) -> tuple[int, ...]:
    """``input_shape`` as a tuple, after the layer's own input check (``module._check``)."""
    shape = _shape_arg(module, input_shape)
    module._check(ShapeOnly(shape))
    return shape


def _window_output(module: Module, shape: tuple[int, ...], window: Window) -> tuple[int, ...]:
    """The spatial output size of ``window`` over the last axes of ``shape``; the layer's input
    error when the window leaves no output position."""
    spatial = window.output_size(shape[-len(window.kernel) :])
    if min(spatial) < 1:
        module._input_error(
            f"the input is too small for the window (kernel {window.kernel}, stride {window.stride}, "
            f"padding {window.padding}, dilation {window.dilation}): the output size would be "
            f"{spatial}, expected at least 1 on every axis, received shape {shape}"
        )
    return spatial


def _same_shape(module: Module, input_shape) -> tuple[int, ...]:
    """``output_shape`` of a layer that keeps the shape (activations, dropout, normalisation), after
    the layer's own input check when it has one (``module._check``)."""
    shape = _shape_arg(module, input_shape)
    check = getattr(module, "_check", None)
    if check is not None:
        check(ShapeOnly(shape))
    return shape
