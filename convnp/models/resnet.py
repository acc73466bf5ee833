"""Residual networks (He, Zhang, Ren & Sun 2016, "Deep residual learning for image recognition").

A residual block learns F(x) and outputs relu(F(x) + shortcut(x)); the shortcut is the identity,
or a projection (1x1 convolution + BatchNorm) where the shape changes. Networks are a block class
and a stage table, as the paper's Table 1 (ImageNet) and Section 4.2 (CIFAR-10):

ImageNet (torchvision's layout: ``conv1``, ``bn1``, ``layer1``..``layer4``, ``fc``, blocks with
``conv1``/``bn1``/``conv2``/``bn2``[/``conv3``/``bn3``] and ``downsample.0``/``downsample.1``, so
torchvision state dicts load with ``strict=True``)::

    conv1 7x7/2, 64 -> maxpool 3x3/2 -> layer1 (64) -> layer2 (128, /2) -> layer3 (256, /2)
          -> layer4 (512, /2) -> global average pool -> fc
    resnet18   BasicBlock  [2, 2, 2, 2]   11,689,512 parameters   1.81 G MACs at 224x224
    resnet34   BasicBlock  [3, 4, 6, 3]   21,797,672              3.66 G
    resnet50   Bottleneck  [3, 4, 6, 3]   25,557,032              4.09 G
    resnet101  Bottleneck  [3, 4, 23, 3]  44,549,160              7.80 G
    resnet152  Bottleneck  [3, 8, 36, 3]  60,192,808             11.51 G

A BasicBlock is two 3x3 convolutions; a Bottleneck is 1x1 (reduce) -> 3x3 -> 1x1 (expand 4x),
with the stride on the 3x3 convolution (torchvision's "ResNet v1.5").

CIFAR-10 (Section 4.2): conv 3x3, 16 -> 3 stages of n BasicBlocks with 16, 32, 64 filters on
32x32, 16x16, 8x8 maps -> global average pool -> fc: 6n + 2 layers, and the paper's option A
shortcut where the shape changes: the identity subsampled by the stride and zero-padded with the
extra channels, no parameters (Table 6)::

    resnet20 (n=3) 0.27M   resnet32 (n=5) 0.46M   resnet44 (n=7) 0.66M   resnet56 (n=9) 0.85M
    resnet110 (n=18) 1.7M

>>> import convnp as cn
>>> resnet18(num_classes=10).eval()(cn.randn(1, 3, 32, 32)).shape
(1, 10)
>>> sum(p.numel() for p in resnet20().parameters())
269722
"""

from __future__ import annotations

from convnp.nn import functional as F
from convnp.nn import init
from convnp.nn.activation import ReLU
from convnp.nn.containers import Sequential
from convnp.nn.conv import Conv2d
from convnp.nn.linear import Linear
from convnp.nn.module import Module
from convnp.nn.normalization import BatchNorm2d
from convnp.nn.pooling import AdaptiveAvgPool2d, MaxPool2d

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "CifarResNet",
    "PadShortcut",
    "conv3x3",
    "conv1x1",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet20",
    "resnet32",
    "resnet44",
    "resnet56",
    "resnet110",
]

# name -> (block, blocks per stage): the paper's Table 1
IMAGENET_STAGES = {
    "resnet18": ("basic", [2, 2, 2, 2]),
    "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]),
    "resnet101": ("bottleneck", [3, 4, 23, 3]),
    "resnet152": ("bottleneck", [3, 8, 36, 3]),
}
# name -> blocks per stage n (6n + 2 layers): Section 4.2
CIFAR_DEPTHS = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> Conv2d:
    """3x3 convolution, padding = dilation (size kept at stride 1), no bias (a BatchNorm follows)."""
    return Conv2d(
        in_planes,
        out_planes,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> Conv2d:
    """1x1 convolution, no bias."""
    return Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(Module):
    """Two 3x3 convolutions and a shortcut: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).

    Args (torchvision's): inplanes, planes, stride=1 (on conv1), downsample=None (the shortcut
    module; None = identity), groups=1, base_width=64, dilation=1, norm_layer=BatchNorm2d.
    Shape: (N, inplanes, H, W) -> (N, planes, H/stride, W/stride).
    """

    expansion: int = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer=None,
    ) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError(
                f"BasicBlock: only groups=1 and base_width=64 are supported. "
                f"Received: groups={groups}, base_width={base_width}"
            )
        if dilation > 1:
            raise ValueError(f"BasicBlock: dilation > 1 is not supported. Received: dilation={dilation}")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity  # the residual connection
        return self.relu(out)


class Bottleneck(Module):
    """1x1 reduce -> 3x3 (the stride) -> 1x1 expand (x4), plus a shortcut.

    width = int(planes * base_width / 64) * groups; output channels planes * 4.
    Args as :class:`BasicBlock`. Shape: (N, inplanes, H, W) -> (N, 4 * planes, H/stride, W/stride).
    """

    expansion: int = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer=None,
    ) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        return self.relu(out)


_BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


def _init_resnet(model: Module, zero_init_residual: bool) -> None:
    """torchvision's: convolutions kaiming_normal_(fan_out, relu), norms weight 1 and bias 0;
    ``zero_init_residual`` zeroes the last BatchNorm of each block (each block starts as the identity)."""
    for m in model.modules():
        if isinstance(m, Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, BatchNorm2d):
            init.constant_(m.weight, 1)
            init.constant_(m.bias, 0)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                init.constant_(m.bn3.weight, 0)
            elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                init.constant_(m.bn2.weight, 0)


class ResNet(Module):
    """torchvision.models.ResNet for ImageNet-sized inputs.

    Args (torchvision's): block (BasicBlock or Bottleneck), layers (blocks per stage, 4 ints),
    num_classes=1000, zero_init_residual=False, groups=1, width_per_group=64,
    replace_stride_with_dilation=None (3 bools: dilate instead of striding in layer2..4),
    norm_layer=BatchNorm2d; and in_channels=3.
    Shape: (N, in_channels, H, W) -> (N, num_classes); the maps shrink 32x (224 -> 7).
    """

    def __init__(
        self,
        block,
        layers,
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation=None,
        norm_layer=None,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = BatchNorm2d
        self._norm_layer = norm_layer
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers must list the blocks of 4 stages. Received: layers={layers!r}")
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(
                f"ResNet: replace_stride_with_dilation should be None or a 3-element tuple. "
                f"Received: replace_stride_with_dilation={replace_stride_with_dilation!r}"
            )
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = ReLU(inplace=True)
        self.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=replace_stride_with_dilation[2])
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(512 * block.expansion, num_classes)
        _init_resnet(self, zero_init_residual)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1, dilate: bool = False) -> Sequential:
        """One stage: ``blocks`` blocks of ``planes``; the first may stride and takes a projection
        shortcut (1x1 conv + BatchNorm, torchvision's ``downsample``) when the shape changes."""
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride), norm_layer(planes * block.expansion)
            )
        layers = [
            block(
                self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation, norm_layer
            )
        ]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(
                block(
                    self.inplanes,
                    planes,
                    groups=self.groups,
                    base_width=self.base_width,
                    dilation=self.dilation,
                    norm_layer=norm_layer,
                )
            )
        return Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 3, 224, 224) -> (N, 64, 56, 56)
        x = self.layer1(x)
        x = self.layer2(x)  # -> (N, 128, 28, 28)
        x = self.layer3(x)  # -> (N, 256, 14, 14)
        x = self.layer4(x)  # -> (N, 512 * expansion, 7, 7)
        x = self.avgpool(x)
        x = x.flatten(1)  # (N, C, 1, 1) -> (N, C)
        return self.fc(x)


def _resnet(name: str, num_classes: int, in_channels: int, **kwargs) -> ResNet:
    block, layers = IMAGENET_STAGES[name]
    return ResNet(_BLOCKS[block], layers, num_classes=num_classes, in_channels=in_channels, **kwargs)


def resnet18(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-18: BasicBlock, [2, 2, 2, 2] (11,689,512 parameters)."""
    return _resnet("resnet18", num_classes, in_channels, **kwargs)


def resnet34(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-34: BasicBlock, [3, 4, 6, 3] (21,797,672 parameters)."""
    return _resnet("resnet34", num_classes, in_channels, **kwargs)


def resnet50(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-50: Bottleneck, [3, 4, 6, 3] (25,557,032 parameters)."""
    return _resnet("resnet50", num_classes, in_channels, **kwargs)


def resnet101(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-101: Bottleneck, [3, 4, 23, 3] (44,549,160 parameters)."""
    return _resnet("resnet101", num_classes, in_channels, **kwargs)


def resnet152(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-152: Bottleneck, [3, 8, 36, 3] (60,192,808 parameters)."""
    return _resnet("resnet152", num_classes, in_channels, **kwargs)


# --------------------------------------------------------------------------------------------
# CIFAR-10 ResNets (Section 4.2)
# --------------------------------------------------------------------------------------------
class PadShortcut(Module):
    """The paper's option A shortcut: the identity, subsampled by ``stride`` and zero-padded with the
    extra channels (half before, half after, as the common CIFAR implementations do). No parameters.

        y[n, c, i, j] = x[n, c - p, s*i, s*j] for p <= c < p + C_in, else 0,   p = (C_out - C_in) // 2

    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H/s), ceil(W/s)); e.g. (2, 16, 32, 32) -> (2, 32, 16, 16).
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int = 2) -> None:
        super().__init__()
        if out_planes < in_planes:
            raise ValueError(
                f"PadShortcut: out_planes must be at least in_planes. "
                f"Received: in_planes={in_planes}, out_planes={out_planes}"
            )
        self.in_planes = in_planes
        self.out_planes = out_planes
        self.kernel_size = (1, 1)  # read by cn.summary (receptive field)
        self.stride = (stride, stride)
        self.padding = (0, 0)
        self.dilation = (1, 1)

    def forward(self, x):
        self.check_input(x, ndim=4, channels=self.in_planes, layout="(N, C, H, W)")
        s = self.stride[0]
        x = x[:, :, ::s, ::s]  # (N, C, H, W) -> (N, C, H/s, W/s)
        extra = self.out_planes - self.in_planes
        return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))  # -> (N, C_out, H/s, W/s)

    def extra_repr(self) -> str:
        return f"{self.in_planes}, {self.out_planes}, stride={self.stride[0]}"


class CifarResNet(Module):
    """He et al.'s CIFAR-10 ResNet: conv1 (3x3, 16) -> layer1..3 (n BasicBlocks of 16, 32, 64) -> avgpool -> fc.

    Args: layers (blocks per stage, e.g. [3, 3, 3] for resnet20), num_classes=10, in_channels=3,
    shortcut='A' (the paper's zero-padding identity; 'B' = 1x1 conv + BatchNorm projections),
    widths=(16, 32, 64).
    Shape: (N, in_channels, 32, 32) -> (N, num_classes) (any size works; the maps shrink 4x).
    """

    def __init__(
        self, layers, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A", widths=(16, 32, 64)
    ) -> None:
        super().__init__()
        if shortcut not in ("A", "B"):
            raise ValueError(
                f"CifarResNet: shortcut must be 'A' (zero-padding identity) or 'B' (projection). "
                f"Received: shortcut={shortcut!r}"
            )
        if len(layers) != len(widths):
            raise ValueError(
                f"CifarResNet: expected one block count per stage width {tuple(widths)}. Received: layers={layers!r}"
            )
        self.shortcut = shortcut
        self.num_stages = len(widths)
        self.inplanes = widths[0]
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = BatchNorm2d(widths[0])
        self.relu = ReLU(inplace=True)
        for i, (planes, blocks) in enumerate(zip(widths, layers)):
            setattr(self, f"layer{i + 1}", self._make_layer(planes, blocks, stride=1 if i == 0 else 2))
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(widths[-1], num_classes)
        _init_resnet(self, zero_init_residual=False)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            if self.shortcut == "A":
                downsample = PadShortcut(self.inplanes, planes, stride)
            else:
                downsample = Sequential(conv1x1(self.inplanes, planes, stride), BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))  # (N, 3, 32, 32) -> (N, 16, 32, 32)
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)  # -> (N, 16|32|64, 32|16|8, 32|16|8)
        x = self.avgpool(x).flatten(1)  # (N, 64, 8, 8) -> (N, 64)
        return self.fc(x)


def _cifar(name: str, num_classes: int, in_channels: int, **kwargs) -> CifarResNet:
    n = CIFAR_DEPTHS[name]
    return CifarResNet([n, n, n], num_classes=num_classes, in_channels=in_channels, **kwargs)


def resnet20(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-20 (n = 3): 0.27M parameters."""
    return _cifar("resnet20", num_classes, in_channels, **kwargs)


def resnet32(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-32 (n = 5): 0.46M parameters."""
    return _cifar("resnet32", num_classes, in_channels, **kwargs)


def resnet44(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-44 (n = 7): 0.66M parameters."""
    return _cifar("resnet44", num_classes, in_channels, **kwargs)


def resnet56(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-56 (n = 9): 0.85M parameters."""
    return _cifar("resnet56", num_classes, in_channels, **kwargs)


def resnet110(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-110 (n = 18): 1.7M parameters."""
    return _cifar("resnet110", num_classes, in_channels, **kwargs)
