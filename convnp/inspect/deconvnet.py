"""Project one activation back to pixel space: Zeiler & Fergus's deconvnet and guided backprop.

Zeiler & Fergus (2014, "Visualizing and understanding convolutional networks") keep one
activation of a feature map, set every other activation of the layer to zero, and run the layers
backwards down to the image:

    max pooling   unpool: put each value back where the window's maximum was (the *switches*
                  recorded on the way up), zeros elsewhere
    ReLU          rectify the reconstructed signal: R <- max(R, 0)
    convolution   a transposed convolution with the same filters: R <- conv_transpose2d(R, W)

Each of these is the backward rule of its layer with one change. The backward of max pooling *is*
unpooling with the switches and the input-gradient of a convolution *is* the transposed
convolution with the same filters; only the ReLU differs (Springenberg et al. 2015):

    gradient (saliency)   R_in = R_out * [x > 0]                    (the forward's mask)
    deconvnet             R_in = max(R_out, 0)                      (rectify the signal)
    guided backprop       R_in = max(R_out, 0) * [x > 0]            (both)

So :func:`deconv` and :func:`guided_backprop` run the ordinary autograd backward from the chosen
activation with the ReLU nodes of the recorded graph swapped for these rules. That works for any
network the graph covers: residual additions pass the signal to both branches, GoogLeNet's
concatenation splits it, BatchNorm (evaluation mode) scales it, as their backward rules do.

:func:`deconv_layers` is the same deconvnet written out layer by layer as the paper describes it
(``F.max_unpool2d`` with the stored switches, ``relu``, ``F.conv_transpose2d`` with the same
filters) for networks that are a plain chain of Conv2d / ReLU / MaxPool2d layers; the tests check
that both give the same picture.
"""

from __future__ import annotations

import numpy as np

from convnp.autograd.function import Function
from convnp.autograd.grad_mode import no_grad
from convnp.autograd.tensor import Tensor
from convnp.inspect.trace import as_input, spatial_output, trace
from convnp.kernels.activation import BitmaskRelu
from convnp.nn import functional as F
from convnp.nn.activation import ReLU
from convnp.nn.containers import Identity
from convnp.nn.conv import Conv2d
from convnp.nn.dropout import Dropout, Dropout2d
from convnp.nn.module import Module
from convnp.nn.pooling import MaxPool2d
from convnp.ops.activation import Relu

__all__ = ["deconv", "guided_backprop", "project", "deconv_layers", "MODES"]

MODES = ("deconvnet", "guided", "gradient")


class _DeconvRelu(Function):
    """The deconvnet's ReLU on the way down: rectify the signal, R_in = max(R_out, 0)."""

    @staticmethod
    def backward(ctx, grad):
        return np.maximum(grad, 0)


def _guided(relu: type[Function]) -> type[Function]:
    """Guided backprop's ReLU: R_in = max(R_out, 0) * [x > 0], the mask read from ``relu``'s context."""

    class _GuidedRelu(Function):
        @staticmethod
        def backward(ctx, grad):
            return np.maximum(grad, 0) * relu.pass_mask(ctx)

    return _GuidedRelu


_RELUS = (Relu, BitmaskRelu)  # the lecture Function and its kernel: both offer pass_mask(ctx)
_SWAP = {"deconvnet": {r: _DeconvRelu for r in _RELUS}, "guided": {r: _guided(r) for r in _RELUS}}


def _swap_relus(root: Tensor, mode: str) -> int:
    """Replace the backward rule of every ReLU node between ``root`` and the leaves; returns how many."""
    rule = _SWAP.get(mode)
    if rule is None:
        return 0
    swapped, seen, stack = 0, set(), [root]
    while stack:
        t = stack.pop()
        if id(t) in seen or t._node is None:
            continue
        seen.add(id(t))
        if t._node.function in rule:
            t._node.function = rule[t._node.function]
            swapped += 1
        stack.extend(a for a in t._node.inputs if isinstance(a, Tensor) and a.requires_grad)
    return swapped


def _check_mode(op: str, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"{op}: mode must be one of {', '.join(MODES)}. Received: mode={mode!r}")


def _positions(op: str, act: np.ndarray, channels, positions):
    """Per image: (channel, y, x) of the activation to project (default: the strongest of the channel)."""
    n, c, h, w = act.shape
    ch = np.broadcast_to(np.asarray(channels, dtype=np.int64), (n,)).copy() if np.ndim(channels) <= 1 else None
    if ch is None or ch.shape != (n,):
        raise ValueError(f"{op}: channel must be an int or one per image. Received: channel={channels!r}")
    if ch.min() < 0 or ch.max() >= c:
        raise ValueError(
            f"{op}: channel must lie in [0, {c}) for this layer of {c} channels. Received: channel={channels!r}"
        )
    if positions is None:
        maps = act[np.arange(n), ch].reshape(n, h * w)  # (N, H*W)
        flat = np.argmax(maps, axis=1)  # first maximum on ties
        return ch, flat // w, flat % w
    pos = np.asarray(positions, dtype=np.int64)
    if pos.shape == (2,):
        pos = np.broadcast_to(pos, (n, 2))
    if pos.shape != (n, 2):
        raise ValueError(f"{op}: position must be (y, x) or one (y, x) per image. Received: position={positions!r}")
    ys, xs = pos[:, 0], pos[:, 1]
    if ys.min() < 0 or ys.max() >= h or xs.min() < 0 or xs.max() >= w:
        raise ValueError(f"{op}: position must lie inside the {h}x{w} feature map. Received: position={positions!r}")
    return ch, ys, xs


def project(
    model: Module, x, layer: str, channel, position=None, mode: str = "deconvnet", return_positions: bool = False
):
    """Project one activation per image of ``layer`` back to the input (the engine of :func:`deconv`).

    ``channel``: an int or one per image; ``position``: (y, x), one (y, x) per image, or None for
    the strongest activation of that channel in each image. ``mode``: 'deconvnet' (Zeiler &
    Fergus), 'guided' (guided backprop) or 'gradient' (the plain gradient of that activation).
    The activation keeps its value as the seed; every other activation of the layer is zero.
    Returns (N, C, H, W) like ``x`` (and the (channel, y, x) arrays with ``return_positions``).
    """
    op = "deconv" if mode == "deconvnet" else ("guided_backprop" if mode == "guided" else "project")
    _check_mode(op, mode)
    arr = as_input(model, x, op)
    tr = trace(model, arr, grad=True, stop_after=layer)
    act = spatial_output(tr[layer], op)
    ch, ys, xs = _positions(op, act.data, channel, position)
    n = arr.shape[0]
    seed = np.zeros_like(act.data)
    seed[np.arange(n), ch, ys, xs] = act.data[np.arange(n), ch, ys, xs]  # one activation per image
    if not act.requires_grad:
        result = np.zeros_like(arr)
    else:
        _swap_relus(act, mode)
        act.backward(seed)
        result = tr.input.grad if tr.input.grad is not None else np.zeros_like(arr)
    return (result, (ch, ys, xs)) if return_positions else result


def deconv(model: Module, x, layer: str, channel, position=None) -> np.ndarray:
    """Zeiler & Fergus's deconvnet projection of one activation of ``layer`` to pixel space.

    For each image of ``x`` (N, C, H, W): the activation of ``channel`` at ``position`` (y, x)
    (default: the strongest one in that channel) is kept, the rest of the layer is set to zero,
    and the signal goes down through unpooling with the switches, rectification and transposed
    convolutions with the same filters. Returns (N, C, H, W); it is zero outside that activation's
    receptive field.

    >>> import numpy as np, convnp as cn
    >>> from convnp.nn import Conv2d, ReLU, MaxPool2d, Sequential
    >>> net = Sequential(Conv2d(1, 4, 3), ReLU(), MaxPool2d(2))
    >>> deconv(net, np.random.default_rng(0).random((2, 1, 10, 10)), "2", channel=1).shape
    (2, 1, 10, 10)
    """
    return project(model, x, layer, channel, position, "deconvnet")


def guided_backprop(model: Module, x, layer: str, channel, position=None) -> np.ndarray:
    """Guided backprop (Springenberg et al. 2015) of one activation of ``layer``: as :func:`deconv`,
    but each ReLU passes the signal only where it is positive *and* where the forward's input was
    positive. Returns (N, C, H, W)."""
    return project(model, x, layer, channel, position, "guided")


# --------------------------------------------------------------------------------------------
# The deconvnet written out layer by layer (plain chains of Conv2d / ReLU / MaxPool2d)
# --------------------------------------------------------------------------------------------
_PASS = (Identity, Dropout, Dropout2d)


def _chain(model: Module, arr: np.ndarray, layer: str):
    """The leaf layers from the input to ``layer`` if they form a plain chain, else None."""
    tr = trace(model, arr, stop_after=layer)  # stops right after ``layer`` returns
    leaves = [c for c in tr.calls if c.is_leaf]
    current = tr.input
    for c in leaves:
        if not isinstance(c.module, (Conv2d, ReLU, MaxPool2d) + _PASS) or not c.inputs or c.inputs[0] is not current:
            return None
        if isinstance(c.module, Conv2d) and (isinstance(c.module.padding, str) or c.module.padding_mode != "zeros"):
            return None
        current = c.output
    if not leaves or current is not spatial_output(tr[layer], "deconv_layers"):
        return None
    return leaves


def deconv_layers(model: Module, x, layer: str, channel, position=None) -> np.ndarray:
    """The deconvnet of :func:`deconv` computed the way the paper draws it, one layer at a time.

    Only for a network whose layers from the input to ``layer`` are a plain chain of Conv2d, ReLU
    and MaxPool2d (VGG's ``features``, AlexNet, ZFNet without its normalisation): on the way up the
    max-pooling switches are recorded (``F.max_pool2d(..., return_indices=True)``), on the way
    down each layer is undone in reverse order:

        MaxPool2d  R = F.max_unpool2d(R, switches, kernel, stride, padding, output_size=input size)
                   (overlapping windows add the values of windows that share a maximum)
        ReLU       R = relu(R)
        Conv2d     R = F.conv_transpose2d(R, W, stride, padding, output_padding, groups, dilation)

    (``output_padding`` gives back the rows a strided convolution dropped). A ValueError names
    what stops a network from being such a chain; :func:`deconv` works for every network.
    """
    op = "deconv_layers"
    arr = as_input(model, x, op)
    leaves = _chain(model, arr, layer)
    if leaves is None:
        raise ValueError(
            f"{op}: the layers from the input to {layer!r} are not a plain chain of Conv2d, ReLU and "
            f"MaxPool2d (use deconv, which follows any graph). Received: layer={layer!r}"
        )
    switches = []
    with no_grad():
        out = Tensor(arr)
        for c in leaves:  # the way up, keeping the switches
            m = c.module
            if isinstance(m, MaxPool2d):
                y, idx = F.max_pool2d(
                    out, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, return_indices=True
                )
                switches.append((out.shape, idx))
            else:
                y = m(out) if not isinstance(m, _PASS) else out
                switches.append((out.shape, None))
            out = y
        act = out.data
        ch, ys, xs = _positions(op, act, channel, position)
        n = arr.shape[0]
        r = np.zeros_like(act)
        r[np.arange(n), ch, ys, xs] = act[np.arange(n), ch, ys, xs]
        r = Tensor(r)
        for c, (in_shape, idx) in zip(reversed(leaves), reversed(switches)):  # the way down
            m = c.module
            if isinstance(m, MaxPool2d):
                if m.dilation not in (1, (1, 1)):
                    raise ValueError(
                        f"{op}: max_unpool2d cannot undo a dilated max pooling ({c.key}). "
                        f"Received: dilation={m.dilation}"
                    )
                r = _unpool(r, idx, m, in_shape)
            elif isinstance(m, ReLU):
                r = F.relu(r)
            elif isinstance(m, Conv2d):
                r = _conv_down(r, m, in_shape)
    return r.data


def _unpool(r: Tensor, idx: Tensor, m: MaxPool2d, in_shape) -> Tensor:
    """Put each value back at its window's maximum. Windows that do not overlap: ``F.max_unpool2d``.
    Overlapping windows (3x3 stride 2, as in AlexNet and ZFNet) can share a maximum, and an unpooling
    that writes would let one window's zero overwrite another's value: their values are added."""
    window = m.window
    if all(s >= k for s, k in zip(window.stride, window.kernel)):
        return F.max_unpool2d(r, idx, m.kernel_size, m.stride, m.padding, output_size=tuple(in_shape[2:]))
    n, c, h, w = in_shape
    plane = (np.arange(n * c, dtype=np.int64) * (h * w)).reshape(n, c, 1, 1)
    flat = (idx.data + plane).ravel()  # (N*C*Ho*Wo,) into (N*C*H*W,)
    out = np.bincount(flat, weights=r.data.ravel(), minlength=n * c * h * w)
    return Tensor(out.reshape(in_shape).astype(r.dtype, copy=False))


def _conv_down(r: Tensor, m: Conv2d, in_shape) -> Tensor:
    """conv_transpose2d with the layer's own filters, back to the layer's input size."""
    s, p, d = m.stride, m.padding, m.dilation
    natural = m.window.transposed_output_size(r.shape[2:])  # (in - 1)*s - 2p + d*(k - 1) + 1
    out_pad = [n - size for n, size in zip(in_shape[2:], natural)]  # rows the forward's floor dropped
    if all(op_ < max(s_, d_) for op_, s_, d_ in zip(out_pad, s, d)):
        return F.conv_transpose2d(r, m.weight.data, None, s, p, tuple(out_pad), m.groups, d)
    y = F.conv_transpose2d(r, m.weight.data, None, s, p, 0, m.groups, d)  # then pad what is missing
    return F.pad(y, (0, in_shape[3] - y.shape[3], 0, in_shape[2] - y.shape[2]))
