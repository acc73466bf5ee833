"""Small networks and helpers shared by the convnp.inspect tests."""

from __future__ import annotations

import numpy as np

from convnp.autograd.tensor_ops import cat
from convnp.nn import functional as F
from convnp.nn.activation import ReLU
from convnp.nn.containers import Sequential
from convnp.nn.conv import Conv2d
from convnp.nn.linear import Flatten, Linear
from convnp.nn.module import Module
from convnp.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d


def positive(model: Module, seed: int = 0) -> Module:
    """All weights uniform in (0.1, 1), biases 0: every path adds, so a big positive probe reaches
    every output whose field covers it, through ReLUs and max pooling alike."""
    rng = np.random.default_rng(seed)
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            p.data[...] = 0
        else:
            p.data[...] = rng.uniform(0.1, 1.0, p.shape)
    return model


def randomize(model: Module, seed: int = 0) -> Module:
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    return model


class Residual(Module):
    """conv 3x3 -> ReLU -> conv 3x3, plus the input: out = relu(f(x) + x)."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = Conv2d(c, c, 3, padding=1)
        self.relu = ReLU()
        self.conv2 = Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.relu(self.conv2(self.relu(self.conv1(x))) + x)


class Inception(Module):
    """Three branches concatenated along the channels: 1x1, 5x5 (padding 2), 3x3 max pool + 1x1."""

    def __init__(self, c):
        super().__init__()
        self.b1 = Conv2d(c, 2, 1)
        self.b2 = Sequential(Conv2d(c, 2, 1), ReLU(), Conv2d(2, 2, 5, padding=2))
        self.b3 = Sequential(MaxPool2d(3, stride=1, padding=1), Conv2d(c, 2, 1))

    def forward(self, x):
        return cat([self.b1(x), self.b2(x), self.b3(x)], 1)


class Branchy(Module):
    """F.pad in the forward, a residual block, an inception block, slicing ::2, a stride-2 conv."""

    def __init__(self):
        super().__init__()
        self.stem = Conv2d(1, 3, 3)
        self.act = ReLU()
        self.res = Residual(3)
        self.inc = Inception(3)
        self.down = Conv2d(6, 4, 3, stride=2, padding=1)
        self.pool = MaxPool2d(2, ceil_mode=True)
        self.head = Sequential(Flatten(), Linear(4 * 2 * 2, 5))

    def forward(self, x):
        x = F.pad(x, (1, 2, 2, 1))  # left 1, right 2, top 2, bottom 1
        x = self.act(self.stem(x))
        x = self.res(x)
        x = self.inc(x)
        x = x[:, :, ::2, ::2]
        x = self.act(self.down(x))
        return self.head(self.pool(x))


def linear_chain() -> Sequential:
    """Linear layers only (no ReLU, no max): a probe changes an output iff a path of weights joins them."""
    return Sequential(
        Conv2d(2, 3, 3, stride=2, padding=1),
        AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
        Conv2d(3, 2, (2, 3), padding=(0, 1)),
        AdaptiveAvgPool2d((2, 3)),
    )


def dilated_chain() -> Sequential:
    return Sequential(Conv2d(1, 2, 3, dilation=2, padding=2), Conv2d(2, 2, 2, stride=3), Conv2d(2, 1, 3, dilation=3))


def vgg_like(c_in: int = 3) -> Sequential:
    return Sequential(
        Conv2d(c_in, 4, 3, padding=1),
        ReLU(),
        MaxPool2d(2),
        Conv2d(4, 6, 3, padding=1),
        ReLU(),
        MaxPool2d(3, stride=2, padding=1),
        Conv2d(6, 5, 3),
        ReLU(),
    )


def probe_changes(model: Module, x: np.ndarray, layer: str, delta: float) -> np.ndarray:
    """(H, W, h, w) bool: whether adding ``delta`` to input pixel (i, j) (all channels) changes any
    channel of the layer's output at (y, x). One batched forward of H*W probed copies."""
    from convnp.inspect import feature_maps

    _, c, h, w = x.shape
    base = feature_maps(model, x, layer)[layer]  # (1, C', h', w')
    probes = np.repeat(x, h * w, axis=0)  # (H*W, C, H, W)
    probes.reshape(h * w, c, h * w)[np.arange(h * w), :, np.arange(h * w)] += delta
    out = feature_maps(model, probes, layer)[layer]  # (H*W, C', h', w')
    diff = np.abs(out - base).max(axis=1)  # (H*W, h', w')
    scale = max(np.abs(base).max(), 1.0)
    return (diff > 1e-9 * scale).reshape(h, w, *diff.shape[1:])


def field_masks(rf) -> np.ndarray:
    """(H, W, h, w) bool: pixel (i, j) inside the field of output (y, x), from the ReceptiveField."""
    h, w = rf.input_shape[2:]
    i = np.arange(h)[:, None, None, None]
    j = np.arange(w)[None, :, None, None]
    lo_h, hi_h = rf.lo[0][None, None, :, None], rf.hi[0][None, None, :, None]
    lo_w, hi_w = rf.lo[1][None, None, None, :], rf.hi[1][None, None, None, :]
    return (i >= lo_h) & (i <= hi_h) & (j >= lo_w) & (j <= hi_w)
