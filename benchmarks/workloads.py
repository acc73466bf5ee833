"""The benchmark's workloads: a registry of (section, name) -> setup, extensible by decorator.

A workload's setup builds the inputs once (the same numbers for both libraries) and returns a
:class:`Pair`: two zero-argument callables, convnp's and PyTorch's, and the floating-point
operations of one call (None where GFLOP/s means nothing). Add rows with::

    @workload("pooling", "max_pool2d 2x2/2 N64 C64 32x32 fwd+bwd")
    def _():
        ...
        return Pair(ours, theirs, flops=None)

Sections print in the order they were first registered (one markdown table each, with its
median and worst ratio); ``quick`` marks the rows of ``--quick``; ``--only`` matches substrings
of "section name". Later sections (pooling, batch_norm, linear, relu, cross_entropy, training
steps, latency) register themselves the same way: a training step is a Pair whose callables run
one step, so the table's time per call converts to images/s as batch / time. A memory row
(peak RSS) measures something else than time and will want its own table function beside
``harness.markdown_table``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class Pair:
    ours: Callable[[], object]
    theirs: Callable[[], object]
    flops: float | None = None


@dataclass
class Workload:
    section: str
    name: str
    setup: Callable[[], Pair]
    quick: bool = False


REGISTRY: list[Workload] = []


def workload(section: str, name: str, *, quick: bool = False):
    """Register ``setup`` (a function returning a :class:`Pair`) under a section and a name."""
    def register(setup):
        if any(w.section == section and w.name == name for w in REGISTRY):
            raise ValueError(f"workload {section!r} / {name!r} is registered twice")
        REGISTRY.append(Workload(section, name, setup, quick))
        return setup
    return register


def select(only: list[str] | None = None, quick: bool = False) -> list[Workload]:
    """Workloads whose 'section name' contains any of the ``only`` substrings (case-insensitive)."""
    chosen = []
    for w in REGISTRY:
        text = f"{w.section} {w.name}".lower()
        if only and not any(o.lower() in text for o in only):
            continue
        if quick and not w.quick:
            continue
        chosen.append(w)
    return chosen


# ============================================================================================
# Convolution: the eight layers, forward and forward+backward (dX and dW)
# ============================================================================================

@dataclass(frozen=True)
class ConvLayer:
    label: str
    n: int
    cin: int
    cout: int
    size: int
    k: int
    stride: int = 1
    padding: int = 0
    groups: int = 1
    quick: bool = False

    @property
    def out(self) -> int:
        return (self.size + 2 * self.padding - self.k) // self.stride + 1

    @property
    def flops(self) -> float:
        """2 * N * C_out * Ho * Wo * (C_in / groups) * k * k: one multiply and one add per tap."""
        return 2.0 * self.n * self.cout * self.out ** 2 * (self.cin // self.groups) * self.k ** 2


CONV_LAYERS = [
    ConvLayer("N64 3->32 32x32 k3 p1", 64, 3, 32, 32, 3, padding=1, quick=True),
    ConvLayer("N64 64->64 32x32 k3 p1", 64, 64, 64, 32, 3, padding=1, quick=True),
    ConvLayer("N64 128->128 16x16 k3 p1", 64, 128, 128, 16, 3, padding=1),
    ConvLayer("N32 256->256 8x8 k3 p1", 32, 256, 256, 8, 3, padding=1),
    ConvLayer("N64 64->128 32x32 k3 s2 p1", 64, 64, 128, 32, 3, stride=2, padding=1),
    ConvLayer("N64 64->64 32x32 k1", 64, 64, 64, 32, 1, quick=True),
    ConvLayer("N256 1->6 32x32 k5 (LeNet C1)", 256, 1, 6, 32, 5, quick=True),
    ConvLayer("N64 depthwise 64 32x32 k3 p1", 64, 64, 64, 32, 3, padding=1, groups=64, quick=True),
]


def _conv_arrays(layer: ConvLayer, seed: int = 0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((layer.n, layer.cin, layer.size, layer.size), dtype=np.float32)
    w = r.standard_normal((layer.cout, layer.cin // layer.groups, layer.k, layer.k), dtype=np.float32)
    w *= 1.0 / np.sqrt(w[0].size)
    g = r.standard_normal((layer.n, layer.cout, layer.out, layer.out), dtype=np.float32)
    return x, w, g


def _conv_forward(layer: ConvLayer) -> Pair:
    import torch
    import torch.nn.functional as F

    import convnp as cn
    from convnp.ops.convolution import conv2d

    x, w, _ = _conv_arrays(layer)
    cx, cw = cn.tensor(x), cn.tensor(w)
    tx, tw = torch.from_numpy(x.copy()), torch.from_numpy(w.copy())
    kw = dict(stride=layer.stride, padding=layer.padding, groups=layer.groups)

    def ours():
        with cn.no_grad():
            return conv2d(cx, cw, **kw)

    def theirs():
        with torch.no_grad():
            return F.conv2d(tx, tw, **kw)

    return Pair(ours, theirs, layer.flops)


def _conv_forward_backward(layer: ConvLayer) -> Pair:
    """y = conv2d(x, w); y.backward(g): the forward and both gradients (dX and dW), no bias."""
    import torch
    import torch.nn.functional as F

    import convnp as cn
    from convnp.ops.convolution import conv2d

    x, w, g = _conv_arrays(layer)
    cx, cw = cn.tensor(x, requires_grad=True), cn.tensor(w, requires_grad=True)
    tx, tw = torch.from_numpy(x.copy()).requires_grad_(), torch.from_numpy(w.copy()).requires_grad_()
    tg = torch.from_numpy(g.copy())
    kw = dict(stride=layer.stride, padding=layer.padding, groups=layer.groups)

    def ours():
        cx.grad = cw.grad = None
        conv2d(cx, cw, **kw).backward(g)

    def theirs():
        tx.grad = tw.grad = None
        F.conv2d(tx, tw, **kw).backward(tg)

    return Pair(ours, theirs, 3 * layer.flops)


for _layer in CONV_LAYERS:
    workload("conv2d forward", _layer.label, quick=_layer.quick)(
        lambda layer=_layer: _conv_forward(layer))
for _layer in CONV_LAYERS:
    workload("conv2d forward+backward (dX, dW)", _layer.label, quick=_layer.quick)(
        lambda layer=_layer: _conv_forward_backward(layer))
