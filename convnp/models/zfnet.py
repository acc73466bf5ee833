"""ZFNet (Zeiler & Fergus 2014, "Visualizing and understanding convolutional networks", Fig. 3).

AlexNet with the first layers changed after looking at what they learned: 7x7 filters with
stride 2 (instead of 11x11 with stride 4), and stride 2 in the second layer::

    layer  filters  kernel/stride  then                              224x224x3 input ->
    1      96       7x7 / 2 pad 1  ReLU, max pool 3/2, contrast norm  110x110x96 -> 55x55x96
    2      256      5x5 / 2        ReLU, max pool 3/2, contrast norm  26x26x256  -> 13x13x256
    3      384      3x3 / 1 pad 1  ReLU                               13x13x384
    4      384      3x3 / 1 pad 1  ReLU                               13x13x384
    5      256      3x3 / 1 pad 1  ReLU, max pool 3/2                 13x13x256  -> 6x6x256
    6, 7   FC 4096, FC 4096 (ReLU, dropout 0.5);  8: FC num_classes

The paper's sizes (110, 55, 26, 13, 6) fix the first convolution's padding at 1 and put the
pools in ceil mode. "Contrast normalization" across feature maps is AlexNet's local response
normalization (size 5, alpha 1e-4, beta 0.75, k 2). An ``AdaptiveAvgPool2d((6, 6))`` before the
classifier (the identity at 224x224) lets smaller inputs through. 62,357,608 parameters for 1000 classes.

>>> import convnp as cn
>>> zfnet(num_classes=10).eval()(cn.randn(1, 3, 64, 64)).shape
(1, 10)
"""

from __future__ import annotations

from convnp.nn.activation import ReLU
from convnp.nn.containers import Sequential
from convnp.nn.conv import Conv2d
from convnp.nn.dropout import Dropout
from convnp.nn.linear import Linear
from convnp.nn.module import Module
from convnp.nn.normalization import LocalResponseNorm
from convnp.nn.pooling import AdaptiveAvgPool2d, MaxPool2d

__all__ = ["ZFNet", "zfnet"]

# (filters, kernel, stride, padding, max pool 3/2 after it, contrast normalization after that)
ZFNET_CONVS = (
    (96, 7, 2, 1, True, True),
    (256, 5, 2, 0, True, True),
    (384, 3, 1, 1, False, False),
    (384, 3, 1, 1, False, False),
    (256, 3, 1, 1, True, False),
)


class ZFNet(Module):
    """Zeiler & Fergus (2014): ``features``, ``avgpool``, ``classifier`` (as AlexNet's layout).

    Args: num_classes=1000, in_channels=3, dropout=0.5.
    Shape: (N, in_channels, H, W) with H, W >= 63 -> (N, num_classes).
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        layers, channels = [], in_channels
        for filters, kernel, stride, padding, pool, norm in ZFNET_CONVS:
            layers += [
                Conv2d(channels, filters, kernel_size=kernel, stride=stride, padding=padding),
                ReLU(inplace=True),
            ]
            if pool:
                layers.append(MaxPool2d(kernel_size=3, stride=2, ceil_mode=True))
            if norm:
                layers.append(LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0))
            channels = filters
        self.features = Sequential(*layers)  # (N, 3, 224, 224) -> (N, 256, 6, 6)
        self.avgpool = AdaptiveAvgPool2d((6, 6))
        self.classifier = Sequential(
            Linear(256 * 6 * 6, 4096),
            ReLU(inplace=True),
            Dropout(p=dropout),
            Linear(4096, 4096),
            ReLU(inplace=True),
            Dropout(p=dropout),
            Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = x.flatten(1)  # (N, 256, 6, 6) -> (N, 9216)
        return self.classifier(x)


def zfnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> ZFNet:
    """ZFNet (Zeiler & Fergus 2014): the 7x7 stride-2 first layer of the lectures' figure."""
    return ZFNet(num_classes=num_classes, in_channels=in_channels, dropout=dropout)
