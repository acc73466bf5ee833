"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document
recognition"), as published and in its modern form.

The network of the paper's Fig. 2, for a 32x32 input (the 28x28 MNIST digit centred in a 32x32
field)::

    layer  what                                   output     trainable   connections
    C1     6 conv 5x5                             6@28x28          156       122,304
    S2     2x2 subsampling, coefficient + bias    6@14x14           12         5,880
    C3     16 conv 5x5, partial table (Table I)   16@10x10       1,516       151,600
    S4     2x2 subsampling, coefficient + bias    16@5x5            32         2,000
    C5     120 conv 5x5 (a full 5x5 window: 1x1)  120@1x1       48,120        48,120
    F6     84 units                               84            10,164        10,164
    output 10 units                               10

``variant="original"``: every unit squashes its weighted sum with the scaled tanh
f(a) = 1.7159 tanh(2a/3) (the paper's Appendix A); S2 and S4 average each 2x2 window, multiply it by
one trainable coefficient per map and add one trainable bias per map; C3 connects its 16 maps to
S2's 6 maps through Table I (maps 0-5 see 3 contiguous maps, 6-11 see 4 contiguous, 12-14 see 4
non-contiguous, 15 sees all 6: 60 kernels of 5x5 + 16 biases = 1,516 parameters). Weights start
uniform in (-2.4/F_i, 2.4/F_i) with F_i the unit's fan-in, as in the paper. The paper's output
layer is Euclidean RBF units with fixed prototypes; here it is a trainable ``Linear(84,
num_classes)`` (the modern reading; softmax / cross-entropy on top).

``variant="modern"``: the same sizes with ReLU, 2x2 max pooling, a full C3 (2,416 parameters) and
PyTorch's default initialisation.

Both accept 32x32 input, or 28x28 input which ``forward`` zero-pads by 2 pixels per side to
32x32 ("the digit centred in a 32x32 field", equal to padding=2 in C1).

>>> import convnp as cn
>>> net = lenet5(variant="original")
>>> net(cn.randn(2, 1, 28, 28)).shape
(2, 10)
>>> sum(p.numel() for p in net.c3.parameters())
1516
"""

from __future__ import annotations

import numpy as np

from convnp.nn import functional as F
from convnp.nn import init
from convnp.nn.activation import ReLU
from convnp.nn.conv import Conv2d
from convnp.nn.linear import Flatten, Linear
from convnp.nn.module import Module, Parameter
from convnp.nn.pooling import MaxPool2d

__all__ = ["LeNet5", "lenet5", "ScaledTanh", "Subsampling", "ConnectionTableConv2d", "LENET5_C3_TABLE"]

# Table I of the paper: the S2 maps (columns 0-5 of the paper's table) each C3 map combines.
LENET5_C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2),
    (1, 2, 3),
    (2, 3, 4),
    (3, 4, 5),
    (4, 5, 0),
    (5, 0, 1),  # 6 maps see 3 neighbours
    (0, 1, 2, 3),
    (1, 2, 3, 4),
    (2, 3, 4, 5),
    (3, 4, 5, 0),
    (4, 5, 0, 1),
    (5, 0, 1, 2),  # 9 see 4: contiguous
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),  #   ... and discontinuous
    (0, 1, 2, 3, 4, 5),  # 1 sees all 6
)


class ScaledTanh(Module):
    """LeCun's squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3 (so f(1) = 1, f(-1) = -1,
    and the second derivative is largest at a = +-1). Shape: any -> same."""

    def __init__(self, amplitude: float = 1.7159, slope: float = 2.0 / 3.0) -> None:
        super().__init__()
        self.amplitude = amplitude
        self.slope = slope

    def forward(self, input):
        return F.tanh(input * self.slope) * self.amplitude

    def extra_repr(self) -> str:
        return f"amplitude={self.amplitude}, slope={self.slope:.4g}"


class Subsampling(Module):
    """LeNet-5's trainable subsampling (S2, S4): per map c and window,

        y[n, c, i, j] = w[c] * mean(x[n, c, 2i:2i+2, 2j:2j+2]) + b[c]

    (the paper adds the four inputs and multiplies by the coefficient; the mean only rescales it).
    Parameters ``weight`` (C,) and ``bias`` (C,): 2 per map. Each output unit has 4 inputs and a
    bias, 5 connections. Shape: (N, C, H, W) -> (N, C, H/2, W/2), e.g. (2, 6, 28, 28) -> (2, 6, 14, 14).
    """

    def __init__(self, channels: int, kernel_size: int = 2) -> None:
        super().__init__()
        self.channels = channels
        self.kernel_size = (kernel_size, kernel_size)  # read by cn.summary (receptive field)
        self.stride = (kernel_size, kernel_size)
        self.padding = (0, 0)
        self.dilation = (1, 1)
        self.weight = Parameter(np.ones(channels, dtype=np.float32))
        self.bias = Parameter(np.zeros(channels, dtype=np.float32))

    def forward(self, input):
        self.check_input(input, ndim=4, channels=self.channels, layout="(N, C, H, W)")
        pooled = F.avg_pool2d(input, self.kernel_size)  # (N, C, H, W) -> (N, C, H/2, W/2)
        return pooled * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)

    def summary_counts(self, input_shapes, output_shape) -> dict:
        """For cn.summary: no multiply-accumulates beyond the pooling's; LeCun's connections,
        (kh*kw inputs + 1 bias) per output unit."""
        kh, kw = self.kernel_size
        return {"macs": 0, "connections": int(np.prod(output_shape)) * (kh * kw + 1)}

    def extra_repr(self) -> str:
        return f"{self.channels}, kernel_size={self.kernel_size}"


class ConnectionTableConv2d(Module):
    """A convolution in which output map o sees only the input maps ``table[o]`` (LeNet-5's C3).

        y[n, o] = b[o] + sum_{c in table[o]} x[n, c] (*) w[o, c]

    Only the connected kernels are parameters: ``weight`` (number of connections, kh, kw), one
    5x5 kernel per entry of the table in order, and ``bias`` (out_channels,). The forward scatters
    them into a dense (out, in, kh, kw) kernel with a constant 0/1 matrix (so unconnected kernels
    are exactly zero and get no gradient) and convolves once.

    Shape: (N, C_in, H, W) -> (N, C_out, H - kh + 1, W - kw + 1); C3: (2, 6, 14, 14) -> (2, 16, 10, 10).
    """

    def __init__(self, in_channels: int, table, kernel_size: int = 5) -> None:
        super().__init__()
        table = tuple(tuple(int(c) for c in row) for row in table)
        for row in table:
            if not row or any(not 0 <= c < in_channels for c in row) or len(set(row)) != len(row):
                raise ValueError(
                    f"ConnectionTableConv2d: every row of the table must list distinct input maps "
                    f"in [0, {in_channels}). Received: {row}"
                )
        self.in_channels = in_channels
        self.out_channels = len(table)
        self.table = table
        self.kernel_size = (kernel_size, kernel_size)
        self.stride = (1, 1)
        self.padding = (0, 0)
        self.dilation = (1, 1)
        n_conn = sum(len(row) for row in table)
        # scatter[o * C_in + c, k] = 1 when connection k joins input map c to output map o
        scatter = np.zeros((self.out_channels * in_channels, n_conn))
        k = 0
        for o, row in enumerate(table):
            for c in row:
                scatter[o * in_channels + c, k] = 1.0
                k += 1
        self._scatter = scatter
        self.weight = Parameter(np.empty((n_conn, kernel_size, kernel_size), dtype=np.float32))
        self.bias = Parameter(np.empty(self.out_channels, dtype=np.float32))
        self.reset_parameters()

    def fan_in(self) -> np.ndarray:
        """Inputs of each output unit: (maps it sees) * kh * kw, per output map."""
        return np.array([len(row) * self.kernel_size[0] * self.kernel_size[1] for row in self.table])

    def reset_parameters(self) -> None:
        """PyTorch-style default: U(-1/sqrt(F_i), 1/sqrt(F_i)) per output map's fan-in F_i."""
        fan = self.fan_in()
        per_conn = np.repeat(fan, [len(row) for row in self.table])[:, None, None]
        init.uniform_(self.weight, -1.0, 1.0)
        self.weight.data[...] = self.weight.data / np.sqrt(per_conn)
        init.uniform_(self.bias, -1.0, 1.0)
        self.bias.data[...] = self.bias.data / np.sqrt(fan)

    def dense_weight(self):
        """The (out, in, kh, kw) kernel with zeros where the table has no connection."""
        kh, kw = self.kernel_size
        flat = self.weight.reshape(self.weight.shape[0], kh * kw)  # (n_conn, kh*kw)
        dense = self._scatter.astype(self.weight.dtype) @ flat  # (out*in, kh*kw)
        return dense.reshape(self.out_channels, self.in_channels, kh, kw)

    def forward(self, input):
        self.check_input(input, ndim=4, channels=self.in_channels, layout="(N, C, H, W)")
        return F.conv2d(input, self.dense_weight(), self.bias)

    def summary_counts(self, input_shapes, output_shape) -> dict:
        """For cn.summary: only the table's connections count. Per output unit of map o:
        len(table[o]) * kh * kw multiply-adds, plus its bias for LeCun's connections."""
        n, _, h, w = output_shape
        per_map = self.fan_in()
        return {"macs": int(n * h * w * per_map.sum()), "connections": int(n * h * w * (per_map + 1).sum())}

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"connections={self.weight.shape[0]}"
        )


class LeNet5(Module):
    """LeNet-5: c1 -> s2 -> c3 -> s4 -> c5 -> f6 -> output (see the module docstring).

    Attributes are named after the paper's layers (``c1``, ``s2``, ``c3``, ``s4``, ``c5``, ``f6``,
    ``output``) so that ``cn.summary`` lists them by those names; ``act`` is the squashing
    function applied after each of c1 ... f6 (ScaledTanh, or ReLU for the modern variant).

    Input: (N, in_channels, 32, 32) or (N, in_channels, 28, 28) (zero-padded to 32x32).
    Output: (N, num_classes) scores.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, variant: str = "modern") -> None:
        super().__init__()
        if variant not in ("modern", "original"):
            raise ValueError(f"lenet5: variant must be 'modern' or 'original'. Received: variant={variant!r}")
        self.variant = variant
        self.in_channels = in_channels
        self.c1 = Conv2d(in_channels, 6, 5)  # (N, C, 32, 32) -> (N, 6, 28, 28)
        if variant == "original":
            self.s2 = Subsampling(6)  # -> (N, 6, 14, 14)
            self.c3 = ConnectionTableConv2d(6, LENET5_C3_TABLE, 5)  # -> (N, 16, 10, 10)
            self.s4 = Subsampling(16)  # -> (N, 16, 5, 5)
        else:
            self.s2 = MaxPool2d(2)
            self.c3 = Conv2d(6, 16, 5)
            self.s4 = MaxPool2d(2)
        self.c5 = Conv2d(16, 120, 5)  # -> (N, 120, 1, 1)
        self.flatten = Flatten()  # -> (N, 120)
        self.f6 = Linear(120, 84)  # -> (N, 84)
        self.output = Linear(84, num_classes)  # -> (N, num_classes)
        self.act = ScaledTanh() if variant == "original" else ReLU()
        if variant == "original":
            self._init_lecun()

    def _init_lecun(self) -> None:
        """Weights and biases U(-2.4/F_i, 2.4/F_i), F_i = the fan-in of the unit (the paper)."""
        for layer in (self.c1, self.c5):
            fan = layer.weight.shape[1] * layer.weight.shape[2] * layer.weight.shape[3]
            _uniform_scaled_(layer.weight, 2.4 / fan)
            _uniform_scaled_(layer.bias, 2.4 / fan)
        for layer in (self.f6, self.output):
            fan = layer.weight.shape[1]
            _uniform_scaled_(layer.weight, 2.4 / fan)
            _uniform_scaled_(layer.bias, 2.4 / fan)
        fan = self.c3.fan_in().astype(np.float64)  # 75, 100 or 150 per map
        per_conn = np.repeat(fan, [len(row) for row in self.c3.table])[:, None, None]
        _uniform_scaled_(self.c3.weight, 2.4 / per_conn)
        _uniform_scaled_(self.c3.bias, 2.4 / fan)
        # subsampling: the paper's coefficient multiplies the sum of 4 inputs (fan-in 4); ours
        # multiplies their mean, so it is 4 times the paper's: U(-2.4, 2.4)
        for layer in (self.s2, self.s4):
            _uniform_scaled_(layer.weight, 2.4)
            _uniform_scaled_(layer.bias, 2.4 / 4)

    def forward(self, x):
        shape = tuple(x.shape)
        if len(shape) != 4 or shape[-2:] not in ((28, 28), (32, 32)):
            self._input_error(
                f"expected input of shape (N, {self.in_channels}, 32, 32) or (N, {self.in_channels}, "
                f"28, 28) (zero-padded to 32x32, as in the paper), received shape {shape}"
            )
        if shape[-2:] == (28, 28):
            x = F.pad(x, (2, 2, 2, 2))  # (N, C, 28, 28) -> (N, C, 32, 32)
        act, original = self.act, self.variant == "original"
        x = act(self.c1(x))
        x = self.s2(x)
        if original:
            x = act(x)  # S2's units squash too
        x = act(self.c3(x))
        x = self.s4(x)
        if original:
            x = act(x)
        x = act(self.c5(x))  # (N, 120, 1, 1)
        x = act(self.f6(self.flatten(x)))  # (N, 84)
        return self.output(x)


def _uniform_scaled_(param: Parameter, bound) -> None:
    """param <- U(-bound, bound) (``bound`` a number or an array broadcasting against param)."""
    init.uniform_(param, -1.0, 1.0)
    param.data[...] = param.data * np.asarray(bound, dtype=param.data.dtype)


def lenet5(num_classes: int = 10, in_channels: int = 1, variant: str = "modern") -> LeNet5:
    """LeNet-5 (LeCun et al. 1998): ``variant="original"`` as published, ``"modern"`` with ReLU and max pooling.

    >>> sum(p.numel() for p in lenet5(variant="original").parameters())   # the paper's "60,000", with a linear output
    60850
    """
    return LeNet5(num_classes=num_classes, in_channels=in_channels, variant=variant)
