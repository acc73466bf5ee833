"""AlexNet (Krizhevsky, Sutskever & Hinton 2012), in torchvision's layout.

torchvision's single-tower version (the "one weird trick" variant of Krizhevsky 2014: 64, 192,
384, 256, 256 filters, no local response normalization), so that a torchvision state dict loads
with ``strict=True`` (``features.0.weight`` ... ``classifier.6.bias``)::

    features    conv 11x11/4 pad 2, 64   -> ReLU -> maxpool 3/2       224 -> 55 -> 27
                conv 5x5 pad 2, 192      -> ReLU -> maxpool 3/2            27 -> 13
                conv 3x3 pad 1, 384 -> ReLU -> conv 3x3, 256 -> ReLU -> conv 3x3, 256 -> ReLU -> maxpool 3/2   13 -> 6
    avgpool     AdaptiveAvgPool2d((6, 6))           (any input of at least 63x63 pixels)
    classifier  Dropout -> FC 9216->4096 -> ReLU -> Dropout -> FC 4096->4096 -> ReLU -> FC 4096->num_classes

61,100,840 parameters for 1000 classes; 0.71 G multiply-accumulates at 224x224.

>>> import convnp as cn
>>> alexnet(num_classes=10).eval()(cn.randn(1, 3, 63, 63)).shape
(1, 10)
"""

from __future__ import annotations

from convnp.nn.activation import ReLU
from convnp.nn.containers import Sequential
from convnp.nn.conv import Conv2d
from convnp.nn.dropout import Dropout
from convnp.nn.linear import Linear
from convnp.nn.module import Module
from convnp.nn.pooling import AdaptiveAvgPool2d, MaxPool2d

__all__ = ["AlexNet", "alexnet"]

# (filters, kernel, stride, padding, max pool after it): the five convolutions of the features
ALEXNET_CONVS = (
    (64, 11, 4, 2, True),
    (192, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, False),
    (256, 3, 1, 1, True),
)


class AlexNet(Module):
    """torchvision.models.AlexNet: ``features`` (convolutions), ``avgpool``, ``classifier``.

    Args: num_classes=1000, dropout=0.5, in_channels=3.
    Shape: (N, in_channels, H, W) with H, W >= 63 -> (N, num_classes).
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, in_channels: int = 3) -> None:
        super().__init__()
        layers, channels = [], in_channels
        for filters, kernel, stride, padding, pool in ALEXNET_CONVS:
            layers += [
                Conv2d(channels, filters, kernel_size=kernel, stride=stride, padding=padding),
                ReLU(inplace=True),
            ]
            if pool:
                layers.append(MaxPool2d(kernel_size=3, stride=2))
            channels = filters
        self.features = Sequential(*layers)  # (N, 3, 224, 224) -> (N, 256, 6, 6)
        self.avgpool = AdaptiveAvgPool2d((6, 6))
        self.classifier = Sequential(
            Dropout(p=dropout),
            Linear(256 * 6 * 6, 4096),
            ReLU(inplace=True),
            Dropout(p=dropout),
            Linear(4096, 4096),
            ReLU(inplace=True),
            Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = x.flatten(1)  # (N, 256, 6, 6) -> (N, 9216)
        return self.classifier(x)


def alexnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> AlexNet:
    """AlexNet in torchvision's layout (61,100,840 parameters for 1000 classes)."""
    return AlexNet(num_classes=num_classes, dropout=dropout, in_channels=in_channels)
