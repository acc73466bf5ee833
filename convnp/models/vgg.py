"""VGG (Simonyan & Zisserman 2015, "Very deep convolutional networks"), in torchvision's layout.

Each network is a column of the paper's Table 1, written as data: a list of 3x3 convolution
widths (stride 1, padding 1, so the size is kept) and 'M' for a 2x2 max pool of stride 2 (which
halves it)::

    vgg11 (A)  64 M 128 M 256 256 M 512 512 M 512 512 M
    vgg13 (B)  64 64 M 128 128 M 256 256 M 512 512 M 512 512 M
    vgg16 (D)  64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M
    vgg19 (E)  64 64 M 128 128 M 256 256 256 256 M 512 512 512 512 M 512 512 512 512 M

then ``AdaptiveAvgPool2d((7, 7))`` (the identity at 224x224) and the classifier FC 25088->4096,
ReLU, Dropout, FC 4096->4096, ReLU, Dropout, FC 4096->num_classes. The ``_bn`` forms put a
BatchNorm2d between each convolution and its ReLU. Names are torchvision's (``features.0.weight``,
``classifier.6.bias``), so its state dicts load with ``strict=True``.

Parameters for 1000 classes: vgg11 132,863,336; vgg13 133,047,848; vgg16 138,357,544;
vgg19 143,667,240; vgg16_bn 138,365,992. Inputs of at least 32x32 pixels.

>>> import convnp as cn
>>> vgg11(num_classes=10).eval()(cn.randn(1, 3, 32, 32)).shape
(1, 10)
"""

from __future__ import annotations

from convnp.nn import init
from convnp.nn.activation import ReLU
from convnp.nn.containers import Sequential
from convnp.nn.conv import Conv2d
from convnp.nn.dropout import Dropout
from convnp.nn.linear import Linear
from convnp.nn.module import Module
from convnp.nn.normalization import BatchNorm2d
from convnp.nn.pooling import AdaptiveAvgPool2d, MaxPool2d

__all__ = [
    "VGG",
    "VGG_CONFIGS",
    "make_layers",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]

# The columns of Table 1 (torchvision's cfgs "A", "B", "D", "E")
VGG_CONFIGS: dict[str, list] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg: list, batch_norm: bool = False, in_channels: int = 3) -> Sequential:
    """The feature extractor of a VGG column: each int v is conv3x3(v, padding 1) [+ BatchNorm2d(v)]
    + ReLU, each 'M' a MaxPool2d(2, 2). Shape: (N, C, H, W) -> (N, cfg's last width, H/2^m, W/2^m)."""
    layers = []
    channels = in_channels
    for v in cfg:
        if v == "M":
            layers.append(MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(Conv2d(channels, v, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(BatchNorm2d(v))
            layers.append(ReLU(inplace=True))
            channels = v
    return Sequential(*layers)


class VGG(Module):
    """torchvision.models.VGG: ``features`` (from :func:`make_layers`), ``avgpool``, ``classifier``.

    Args: features (a Sequential ending in 512 channels), num_classes=1000, init_weights=True
    (torchvision's: convolutions kaiming_normal_(fan_out, relu) with zero bias, BatchNorm 1 and 0,
    linear N(0, 0.01) with zero bias), dropout=0.5.
    Shape: (N, C, H, W), H, W >= 32 -> (N, num_classes).
    """

    def __init__(
        self, features: Module, num_classes: int = 1000, init_weights: bool = True, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = AdaptiveAvgPool2d((7, 7))
        self.classifier = Sequential(
            Linear(512 * 7 * 7, 4096),
            ReLU(True),
            Dropout(p=dropout),
            Linear(4096, 4096),
            ReLU(True),
            Dropout(p=dropout),
            Linear(4096, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        init.constant_(m.bias, 0)
                elif isinstance(m, BatchNorm2d):
                    init.constant_(m.weight, 1)
                    init.constant_(m.bias, 0)
                elif isinstance(m, Linear):
                    init.normal_(m.weight, 0, 0.01)
                    init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.features(x)  # (N, 3, 224, 224) -> (N, 512, 7, 7)
        x = self.avgpool(x)
        x = x.flatten(1)  # (N, 512, 7, 7) -> (N, 25088)
        return self.classifier(x)


def _vgg(cfg: str, batch_norm: bool, num_classes: int, in_channels: int, **kwargs) -> VGG:
    return VGG(
        make_layers(VGG_CONFIGS[cfg], batch_norm=batch_norm, in_channels=in_channels), num_classes=num_classes, **kwargs
    )


def vgg11(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG 11-layer, configuration A."""
    return _vgg("vgg11", False, num_classes, in_channels, **kwargs)


def vgg11_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG 11-layer, configuration A, with batch normalization."""
    return _vgg("vgg11", True, num_classes, in_channels, **kwargs)


def vgg13(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG 13-layer, configuration B."""
    return _vgg("vgg13", False, num_classes, in_channels, **kwargs)


def vgg13_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG 13-layer, configuration B, with batch normalization."""
    return _vgg("vgg13", True, num_classes, in_channels, **kwargs)


def vgg16(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG 16-layer, configuration D (138,357,544 parameters)."""
    return _vgg("vgg16", False, num_classes, in_channels, **kwargs)


def vgg16_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG 16-layer, configuration D, with batch normalization (138,365,992 parameters)."""
    return _vgg("vgg16", True, num_classes, in_channels, **kwargs)


def vgg19(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG 19-layer, configuration E (143,667,240 parameters)."""
    return _vgg("vgg19", False, num_classes, in_channels, **kwargs)


def vgg19_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG 19-layer, configuration E, with batch normalization."""
    return _vgg("vgg19", True, num_classes, in_channels, **kwargs)
