"""One forward pass watched with hooks: every module call, in call order, with what it received and
returned. ``cn.summary`` counts from it and ``convnp.inspect`` looks inside it; both read a layer's
geometry from the layer (:func:`window_of`, ``output_shape``) rather than from its class.

>>> import numpy as np
>>> from convnp.autograd.tensor import Tensor
>>> from convnp.nn import Conv2d, ReLU, Sequential
>>> calls, out, complete = record_calls(Sequential(Conv2d(1, 4, 3), ReLU()), Tensor(np.zeros((2, 1, 8, 8), np.float32)))
>>> [(c.path, c.depth, c.parent) for c in calls], out.shape
([('', 0, None), ('0', 1, 0), ('1', 1, 0)], (2, 4, 6, 6))
"""

from __future__ import annotations

from dataclasses import dataclass, field

from convnp.arraymath.conv_arithmetic import Window
from convnp.nn.module import Module

__all__ = ["LayerCall", "record_calls", "window_of"]


@dataclass(eq=False)
class LayerCall:
    """One call of one module during a forward pass."""

    path: str  # dotted path of the module ("" is the model itself)
    call: int  # 0 for the module's first call, 1 for its second, ...
    module: Module
    inputs: tuple = ()  # the positional arguments it received (tensors as they were)
    output: object = None  # what it returned (a Tensor for every ordinary layer)
    order: int = 0  # position in call order (a container before what it contains)
    depth: int = 0  # nesting depth (the model's own call is depth 0)
    calls_total: int = field(default=1, repr=False)
    parent: int | None = field(default=None, repr=False)  # order of the enclosing call
    start: int = field(default=0, repr=False)  # event numbers: the call began at ``start`` and returned at
    end: int = field(default=-1, repr=False)  # ``end`` (-1: never returned); calls inside it lie between

    @property
    def key(self) -> str:
        """The name of this call: the path, with ``#k`` when the module ran more than once."""
        return self.path if self.calls_total == 1 else f"{self.path}#{self.call}"

    @property
    def kind(self) -> str:
        return type(self.module).__name__

    @property
    def is_leaf(self) -> bool:
        return not self.module._modules


class StopTrace(Exception):
    """Raised by a hook once every requested layer has returned: the rest of the forward is skipped."""


def record_calls(model: Module, *args, stop_after: set[str] | None = None) -> tuple[list[LayerCall], object, bool]:
    """Run ``model(*args)`` once with a pre- and a post-hook on every module (the caller chooses the
    grad mode and the training flags) and return ``(calls, output, complete)``.

    ``calls``: one :class:`LayerCall` per module call in call order, ``calls_total`` filled in.
    ``stop_after``: layer keys (``path`` or ``path#k``); the forward stops once all of them have
    returned, ``output`` is then None and ``complete`` False (the calls still open are dropped).
    """
    names: dict[int, str] = {}
    for path, m in model.named_modules():
        names.setdefault(id(m), path)
    counts: dict[str, int] = {}
    calls: list[LayerCall] = []
    stack: list[LayerCall] = []
    seen: set[str] = set()
    events = [0]

    def pre(module, args):
        path = names.get(id(module), "?")
        k = counts.get(path, 0)
        counts[path] = k + 1
        parent = stack[-1].order if stack else None
        c = LayerCall(
            path=path,
            call=k,
            module=module,
            inputs=tuple(args),
            order=len(calls),
            depth=len(stack),
            parent=parent,
            start=events[0],
        )
        events[0] += 1
        calls.append(c)
        stack.append(c)

    def post(module, args, output):
        c = stack.pop()
        c.output = output
        c.end = events[0]
        events[0] += 1
        if stop_after is not None:
            seen.add(c.path)
            seen.add(f"{c.path}#{c.call}")
            if stop_after <= seen:
                raise StopTrace()

    handles = []
    for m in {id(m): m for _, m in model.named_modules()}.values():
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    complete, out = True, None
    try:
        try:
            out = model(*args)
        except StopTrace:
            complete = False
    finally:
        for h in handles:
            h.remove()
    if not complete:
        calls = [c for c in calls if c.end >= 0]  # the containers still open around the last layer
    for c in calls:
        c.calls_total = counts[c.path]
    return calls, out, complete


def window_of(module: Module, nd: int) -> Window | None:
    """The sliding window of a window layer over ``nd`` spatial axes: its ``window`` (Conv2d,
    MaxPool2d, ...), or for a module that only keeps ``kernel_size`` and ``stride`` attributes
    (LeNet-5's subsampling, a custom block) the window they make with its ``padding`` and
    ``dilation`` if any; None for every other module. A transposed convolution (``transposed``)
    gives its forward convolution's window."""
    if module._modules:
        return None  # a container: its layers have the windows
    window = getattr(module, "window", None)
    if isinstance(window, Window):
        return window if len(window.kernel) == nd else None
    if not (hasattr(module, "kernel_size") and hasattr(module, "stride")):
        return None
    try:  # attributes of a module convnp does not know
        return Window.of(
            nd,
            module.kernel_size,
            module.stride,
            getattr(module, "padding", 0),
            getattr(module, "dilation", 1),
            op=type(module).__name__,
        )
    except (TypeError, ValueError):
        return None
