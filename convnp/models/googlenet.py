"""GoogLeNet (Szegedy et al. 2015, "Going deeper with convolutions"): Inception v1, in torchvision's layout.

An Inception module runs four branches side by side on the same input and concatenates their
outputs along the channels (the paper's Fig. 2b)::

    branch1  1x1 conv                       (ch1x1)
    branch2  1x1 conv (reduce) -> 3x3 conv  (ch3x3red -> ch3x3)
    branch3  1x1 conv (reduce) -> 3x3 conv  (ch5x5red -> ch5x5)   * the paper's 5x5, see below
    branch4  3x3 max pool /1 -> 1x1 conv    (pool_proj)
    output channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

The network is the paper's Table 1, written as the table of the modules' widths below. Every
convolution is torchvision's ``BasicConv2d``: conv (no bias) -> BatchNorm2d(eps=0.001) -> ReLU (the
batch normalization is torchvision's addition, as in its pretrained weights). torchvision's
branch3 uses a 3x3 convolution where the paper has 5x5 — a known slip kept for its pretrained
weights; ``branch3_kernel_size=5`` gives the paper's. With ``aux_logits`` the two auxiliary
classifiers (after inception4a and inception4d) run in training mode and the model returns
``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``; otherwise the logits.

6,624,904 parameters for 1000 classes without the auxiliary heads (13,004,888 with them);
names are torchvision's (``inception3a.branch2.1.conv.weight``, ``aux1.fc1.weight``, ...).

>>> import convnp as cn
>>> googlenet(num_classes=10, aux_logits=False).eval()(cn.randn(1, 3, 32, 32)).shape
(1, 10)
"""

from __future__ import annotations

from collections import namedtuple

from convnp.autograd.tensor_ops import cat
from convnp.nn import functional as F
from convnp.nn import init
from convnp.nn.containers import Sequential
from convnp.nn.conv import Conv2d
from convnp.nn.dropout import Dropout
from convnp.nn.linear import Linear
from convnp.nn.module import Module
from convnp.nn.normalization import BatchNorm2d
from convnp.nn.pooling import AdaptiveAvgPool2d, MaxPool2d

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux", "BasicConv2d", "INCEPTION_V1", "googlenet"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])

# Table 1 of the paper: name -> (in_channels, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)
INCEPTION_V1 = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32),
    "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64),
    "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64),
    "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128),
    "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}


class BasicConv2d(Module):
    """conv (bias=False) -> BatchNorm2d(eps=0.001) -> ReLU; keyword arguments go to Conv2d.

    Shape: as the convolution, e.g. BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3):
    (N, 3, 224, 224) -> (N, 64, 112, 112).
    """

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(Module):
    """The Inception v1 module: four branches concatenated along the channels.

    Args: in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, conv_block=BasicConv2d,
    branch3_kernel_size=3 (torchvision's; the paper's is 5).
    Shape: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        conv_block=None,
        branch3_kernel_size: int = 3,
    ) -> None:
        super().__init__()
        if conv_block is None:
            conv_block = BasicConv2d
        if branch3_kernel_size not in (3, 5):
            raise ValueError(
                f"Inception: branch3_kernel_size must be 3 (torchvision) or 5 (the paper). "
                f"Received: branch3_kernel_size={branch3_kernel_size!r}"
            )
        k = branch3_kernel_size
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = Sequential(
            conv_block(in_channels, ch3x3red, kernel_size=1), conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1)
        )
        self.branch3 = Sequential(
            conv_block(in_channels, ch5x5red, kernel_size=1), conv_block(ch5x5red, ch5x5, kernel_size=k, padding=k // 2)
        )
        self.branch4 = Sequential(
            MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        outputs = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return cat(outputs, 1)  # 4 x (N, C_i, H, W) -> (N, sum C_i, H, W)


class InceptionAux(Module):
    """An auxiliary classifier (torchvision's): adaptive average pool to 4x4 -> 1x1 conv, 128 ->
    FC 2048->1024 -> ReLU -> Dropout(0.7) -> FC 1024->num_classes.

    Shape: (N, in_channels, H, W) -> (N, num_classes).
    """

    def __init__(self, in_channels: int, num_classes: int, conv_block=None, dropout: float = 0.7) -> None:
        super().__init__()
        if conv_block is None:
            conv_block = BasicConv2d
        self.conv = conv_block(in_channels, 128, kernel_size=1)
        self.fc1 = Linear(2048, 1024)
        self.fc2 = Linear(1024, num_classes)
        self.dropout = Dropout(p=dropout)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x, (4, 4))  # (N, 512|528, 14, 14) -> (N, C, 4, 4)
        x = self.conv(x)  # -> (N, 128, 4, 4)
        x = x.flatten(1)  # -> (N, 2048)
        x = F.relu(self.fc1(x))  # -> (N, 1024)
        x = self.dropout(x)
        return self.fc2(x)  # -> (N, num_classes)


class GoogLeNet(Module):
    """torchvision.models.GoogLeNet.

    Args (torchvision's): num_classes=1000, aux_logits=True, transform_input=False,
    init_weights=True (truncated N(0, 0.01) in [-2, 2] for convolutions and linear layers,
    BatchNorm 1 and 0), dropout=0.2, dropout_aux=0.7; and in_channels=3, branch3_kernel_size=3.
    Shape: (N, in_channels, H, W) -> (N, num_classes) (any H, W >= 1 after the 32x reduction's
    ceil-mode pools, e.g. 32x32); in training with aux_logits a GoogLeNetOutputs of three.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        transform_input: bool = False,
        init_weights: bool = True,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
        in_channels: int = 3,
        branch3_kernel_size: int = 3,
    ) -> None:
        super().__init__()
        if transform_input and in_channels != 3:
            raise ValueError(f"GoogLeNet: transform_input needs 3 input channels. Received: in_channels={in_channels}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = MaxPool2d(3, stride=2, ceil_mode=True)
        block = {"branch3_kernel_size": branch3_kernel_size}
        self.inception3a = Inception(*INCEPTION_V1["inception3a"], **block)
        self.inception3b = Inception(*INCEPTION_V1["inception3b"], **block)
        self.maxpool3 = MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(*INCEPTION_V1["inception4a"], **block)
        self.inception4b = Inception(*INCEPTION_V1["inception4b"], **block)
        self.inception4c = Inception(*INCEPTION_V1["inception4c"], **block)
        self.inception4d = Inception(*INCEPTION_V1["inception4d"], **block)
        self.inception4e = Inception(*INCEPTION_V1["inception4e"], **block)
        self.maxpool4 = MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(*INCEPTION_V1["inception5a"], **block)
        self.inception5b = Inception(*INCEPTION_V1["inception5b"], **block)
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.dropout = Dropout(p=dropout)
        self.fc = Linear(1024, num_classes)
        if init_weights:
            for m in self.modules():
                if isinstance(m, (Conv2d, Linear)):
                    init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, BatchNorm2d):
                    init.constant_(m.weight, 1)
                    init.constant_(m.bias, 0)

    def _transform_input(self, x):
        """ImageNet-normalised input -> the [-1, 1] scaling the original weights expect (torchvision's)."""
        if not self.transform_input:
            return x
        x_ch0 = x[:, 0:1] * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
        x_ch1 = x[:, 1:2] * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
        x_ch2 = x[:, 2:3] * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
        return cat([x_ch0, x_ch1, x_ch2], 1)

    def forward(self, x):
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))  # (N, 3, 224, 224) -> (N, 64, 56, 56)
        x = self.conv3(self.conv2(x))  # -> (N, 192, 56, 56)
        x = self.maxpool2(x)  # -> (N, 192, 28, 28)
        x = self.inception3b(self.inception3a(x))  # -> (N, 480, 28, 28)
        x = self.maxpool3(x)  # -> (N, 480, 14, 14)
        x = self.inception4a(x)  # -> (N, 512, 14, 14)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # -> (N, 528, 14, 14)
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.inception4e(x)  # -> (N, 832, 14, 14)
        x = self.maxpool4(x)  # -> (N, 832, 7, 7)
        x = self.inception5b(self.inception5a(x))  # -> (N, 1024, 7, 7)
        x = self.avgpool(x).flatten(1)  # -> (N, 1024)
        x = self.fc(self.dropout(x))  # -> (N, num_classes)
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = True, **kwargs) -> GoogLeNet:
    """GoogLeNet (Inception v1) in torchvision's layout; ``aux_logits=False`` drops the auxiliary heads."""
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, aux_logits=aux_logits, **kwargs)
