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
(peak RSS, ``kind="memory"``) runs each library in a subprocess (benchmarks/memory.py) and has its
own table, ``harness.memory_table``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Pair:
    ours: Callable[[], object]
    theirs: Callable[[], object]
    flops: float | None = None
    batch: int | None = None  # images per call, for the images/s of a training step


@dataclass
class Workload:
    section: str
    name: str
    setup: Callable[[], Pair]
    quick: bool = False
    kind: str = "time"  # "time" | "throughput" | "latency" (timed Pairs) | "memory" (setup -> MemoryResult)


REGISTRY: list[Workload] = []


def workload(section: str, name: str, *, quick: bool = False, kind: str = "time"):
    """Register ``setup`` (a function returning a :class:`Pair`) under a section and a name.

    ``kind`` picks the section's table: "time" (ms, GFLOP/s), "throughput" (images/s of a
    training step; the Pair carries ``batch``), "latency" (µs) or "memory" (``setup`` measures
    and returns a :class:`benchmarks.harness.MemoryResult` itself)."""
    if kind not in ("time", "throughput", "latency", "memory"):
        raise ValueError(f"workload: kind must be time, throughput, latency or memory. Received: kind={kind!r}")

    def register(setup):
        if any(w.section == section and w.name == name for w in REGISTRY):
            raise ValueError(f"workload {section!r} / {name!r} is registered twice")
        REGISTRY.append(Workload(section, name, setup, quick, kind))
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
        return 2.0 * self.n * self.cout * self.out**2 * (self.cin // self.groups) * self.k**2


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
    workload("conv2d forward", _layer.label, quick=_layer.quick)(lambda layer=_layer: _conv_forward(layer))
for _layer in CONV_LAYERS:
    workload("conv2d forward+backward (dX, dW)", _layer.label, quick=_layer.quick)(
        lambda layer=_layer: _conv_forward_backward(layer)
    )


# ============================================================================================
# Layers forward+backward: pooling, batch_norm, linear, relu, cross_entropy
# ============================================================================================

LAYERS = "layers forward+backward"


def _rng(seed=0):
    return np.random.default_rng(seed)


def _unary_fwd_bwd(x: np.ndarray, ours_fn, theirs_fn, flops=None) -> Pair:
    """y = f(x); y.backward(g) with the same x and g both sides; f's parameters are closed over."""
    import torch

    import convnp as cn

    cx = cn.tensor(x, requires_grad=True)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    with cn.no_grad():
        g = _rng(1).standard_normal(ours_fn(cn.tensor(x)).shape, dtype=np.float32)
    tg = torch.from_numpy(g.copy())

    def ours():
        cx.grad = None
        ours_fn(cx).backward(g)

    def theirs():
        tx.grad = None
        theirs_fn(tx).backward(tg)

    return Pair(ours, theirs, flops)


def _pool(k: int, s: int) -> Pair:
    import torch.nn.functional as TF

    import convnp.nn.functional as F

    x = _rng().standard_normal((64, 64, 32, 32), dtype=np.float32)
    return _unary_fwd_bwd(x, lambda t: F.max_pool2d(t, k, s), lambda t: TF.max_pool2d(t, k, s))


workload(LAYERS, "max_pool2d 2x2/2 N64 C64 32x32", quick=True)(lambda: _pool(2, 2))
workload(LAYERS, "max_pool2d 3x3/2 N64 C64 32x32 (overlapping)", quick=True)(lambda: _pool(3, 2))


@workload(LAYERS, "batch_norm training N64 C64 32x32 (dX, dgamma, dbeta)", quick=True)
def _():
    import torch
    import torch.nn.functional as TF

    import convnp as cn
    import convnp.nn.functional as F

    r = _rng()
    x = r.standard_normal((64, 64, 32, 32), dtype=np.float32)
    gamma, beta = r.standard_normal(64, dtype=np.float32), r.standard_normal(64, dtype=np.float32)
    cw, cb = cn.tensor(gamma, requires_grad=True), cn.tensor(beta, requires_grad=True)
    tw, tb = torch.from_numpy(gamma.copy()).requires_grad_(), torch.from_numpy(beta.copy()).requires_grad_()
    c_mean, c_var = np.zeros(64, np.float32), np.ones(64, np.float32)
    t_mean, t_var = torch.zeros(64), torch.ones(64)

    def ours_fn(t):
        cw.grad = cb.grad = None
        return F.batch_norm(t, c_mean, c_var, cw, cb, training=True)

    def theirs_fn(t):
        tw.grad = tb.grad = None
        return TF.batch_norm(t, t_mean, t_var, tw, tb, training=True)

    return _unary_fwd_bwd(x, ours_fn, theirs_fn)


def _linear(n: int, fin: int, fout: int) -> Pair:
    """y = x W^T + b; forward and dX, dW, db: three GEMMs of 2*n*fin*fout flops each."""
    import torch
    import torch.nn.functional as TF

    import convnp as cn
    import convnp.nn.functional as F

    r = _rng()
    x = r.standard_normal((n, fin), dtype=np.float32)
    w = (r.standard_normal((fout, fin), dtype=np.float32) / np.sqrt(fin)).astype(np.float32)
    b = r.standard_normal(fout, dtype=np.float32)
    cw, cb = cn.tensor(w, requires_grad=True), cn.tensor(b, requires_grad=True)
    tw, tb = torch.from_numpy(w.copy()).requires_grad_(), torch.from_numpy(b.copy()).requires_grad_()

    def ours_fn(t):
        cw.grad = cb.grad = None
        return F.linear(t, cw, cb)

    def theirs_fn(t):
        tw.grad = tb.grad = None
        return TF.linear(t, tw, tb)

    return _unary_fwd_bwd(x, ours_fn, theirs_fn, flops=3 * 2.0 * n * fin * fout)


workload(LAYERS, "linear N128 4096->1000 (dX, dW, db)", quick=True)(lambda: _linear(128, 4096, 1000))
workload(LAYERS, "linear N128 512->10 (VGG-CIFAR head)")(lambda: _linear(128, 512, 10))


@workload(LAYERS, "relu N64 C64 32x32", quick=True)
def _():
    import torch.nn.functional as TF

    import convnp.nn.functional as F

    x = _rng().standard_normal((64, 64, 32, 32), dtype=np.float32)
    return _unary_fwd_bwd(x, F.relu, TF.relu)


def _cross_entropy(n: int, classes: int) -> Pair:
    """loss = cross_entropy(logits, y) (mean); loss.backward(): dlogits."""
    import torch
    import torch.nn.functional as TF

    import convnp as cn
    import convnp.nn.functional as F

    r = _rng()
    logits = r.standard_normal((n, classes), dtype=np.float32)
    y = r.integers(0, classes, n)
    cx, cy = cn.tensor(logits, requires_grad=True), cn.tensor(y)
    tx, ty = torch.from_numpy(logits.copy()).requires_grad_(), torch.from_numpy(y.copy())

    def ours():
        cx.grad = None
        F.cross_entropy(cx, cy).backward()

    def theirs():
        tx.grad = None
        TF.cross_entropy(tx, ty).backward()

    return Pair(ours, theirs)


workload(LAYERS, "cross_entropy N128 10 classes", quick=True)(lambda: _cross_entropy(128, 10))
workload(LAYERS, "cross_entropy N128 1000 classes", quick=True)(lambda: _cross_entropy(128, 1000))


# ============================================================================================
# Models: convnp's and their PyTorch twins (benchmarks/twins.py) with the same weights
# ============================================================================================

INPUT_SHAPES = {"lenet5": (1, 28, 28), "resnet20": (3, 32, 32), "vgg11_cifar": (3, 32, 32)}


def cifar_vgg11():
    """A VGG-style CIFAR net: convnp.models.vgg.make_layers(VGG_CONFIGS["vgg11"], batch_norm=True)
    (Table 1 column A with BatchNorm; 32x32 -> 512x1x1 after five 2x2 pools), flatten, and a
    Linear(512, 10) head named ``classifier``. Shape: (N, 3, 32, 32) -> (N, 10)."""
    from convnp.models.vgg import VGG_CONFIGS, make_layers
    from convnp.nn import Linear, Module, init

    class CifarVGG(Module):
        def __init__(self):
            super().__init__()
            self.features = make_layers(VGG_CONFIGS["vgg11"], batch_norm=True)
            self.classifier = Linear(512, 10)
            for name, p in self.named_parameters():
                if name.startswith("features") and p.ndim == 4:
                    init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            return self.classifier(self.features(x).flatten(1))  # (N, 512, 1, 1) -> (N, 512) -> (N, 10)

    return CifarVGG()


def convnp_model(name: str):
    import convnp as cn

    if name == "vgg11_cifar":
        return cifar_vgg11()
    return {"lenet5": cn.models.lenet5, "resnet20": cn.models.resnet20}[name]()


def model_pair(name: str):
    """convnp's model and its PyTorch twin carrying convnp's weights (checked: same outputs)."""
    import torch

    import convnp as cn
    from benchmarks import twins

    ours = convnp_model(name)
    theirs = twins.twin(name)
    theirs.load_state_dict(twins.state_dict_to_torch(ours.state_dict()), strict=True)
    x = _rng(5).standard_normal((2,) + INPUT_SHAPES[name], dtype=np.float32)
    ours.eval(), theirs.eval()
    with cn.no_grad(), torch.no_grad():
        a, b = ours(cn.tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy()
    if not np.allclose(a, b, rtol=1e-3, atol=1e-4):
        raise AssertionError(f"{name}: the PyTorch twin disagrees with convnp (max |diff| {np.abs(a - b).max():.3g})")
    return ours, theirs


TRAIN = "training step (forward, backward, SGD momentum), float32"


def _train_step(name: str, batch: int) -> Pair:
    import torch
    import torch.nn.functional as TF

    import convnp as cn
    import convnp.nn.functional as F

    ours, theirs = model_pair(name)
    ours.train(), theirs.train()
    c_opt = cn.optim.SGD(ours.parameters(), lr=0.01, momentum=0.9)
    t_opt = torch.optim.SGD(theirs.parameters(), lr=0.01, momentum=0.9)
    r = _rng(3)
    x = r.standard_normal((batch,) + INPUT_SHAPES[name], dtype=np.float32)
    y = r.integers(0, 10, batch)
    cx, cy = cn.tensor(x), cn.tensor(y)
    tx, ty = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())

    def step_ours():
        c_opt.zero_grad()
        F.cross_entropy(ours(cx), cy).backward()
        c_opt.step()

    def step_theirs():
        t_opt.zero_grad()
        TF.cross_entropy(theirs(tx), ty).backward()
        t_opt.step()

    return Pair(step_ours, step_theirs, batch=batch)


workload(TRAIN, "lenet5 1x28x28 batch 128", quick=True, kind="throughput")(lambda: _train_step("lenet5", 128))
workload(TRAIN, "resnet20 3x32x32 batch 128", quick=True, kind="throughput")(lambda: _train_step("resnet20", 128))
workload(TRAIN, "vgg11_bn-CIFAR 3x32x32 batch 128", kind="throughput")(lambda: _train_step("vgg11_cifar", 128))


LATENCY = "inference latency, batch 1 (eval mode, no grad)"


def _latency(name: str) -> Pair:
    import torch

    import convnp as cn

    ours, theirs = model_pair(name)
    x = _rng(4).standard_normal((1,) + INPUT_SHAPES[name], dtype=np.float32)
    cx, tx = cn.tensor(x), torch.from_numpy(x.copy())

    def infer_ours():
        with cn.no_grad():
            return ours(cx)

    def infer_theirs():
        with torch.no_grad():
            return theirs(tx)

    return Pair(infer_ours, infer_theirs, batch=1)


workload(LATENCY, "lenet5 1x28x28", quick=True, kind="latency")(lambda: _latency("lenet5"))
workload(LATENCY, "resnet20 3x32x32", quick=True, kind="latency")(lambda: _latency("resnet20"))


MEMORY = "peak memory (RSS), one subprocess per library"


def _memory(name: str, batch: int, steps: int = 3):
    from benchmarks.harness import MemoryResult
    from benchmarks.memory import measure_side

    threads = int(os.environ.get("CONVNP_BENCH_THREADS", "2"))
    ours = measure_side("convnp", name, batch, steps, threads)
    theirs = measure_side("torch", name, batch, steps, threads)
    return MemoryResult(f"{name} training, batch {batch}, {steps} steps", ours, theirs)


workload(MEMORY, "resnet20 training batch 128", quick=True, kind="memory")(lambda: _memory("resnet20", 128))
