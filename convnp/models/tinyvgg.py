"""TinyVGG: the small network CNN Explainer visualises (Wang et al. 2020, poloclub.github.io/cnn-explainer).

Two VGG-style blocks, then a linear classifier, for 64x64x3 images (10 classes in CNN Explainer)::

    block1      conv 3x3 (10) -> ReLU -> conv 3x3 (10) -> ReLU -> max pool 2    64 -> 62 -> 60 -> 30
    block2      conv 3x3 (10) -> ReLU -> conv 3x3 (10) -> ReLU -> max pool 2    30 -> 28 -> 26 -> 13
    classifier  flatten (10*13*13 = 1690) -> linear -> num_classes

The convolutions are unpadded ("valid"), stride 1. 19,920 parameters for 10 classes at 64x64.

>>> import convnp as cn
>>> tinyvgg()(cn.randn(2, 3, 64, 64)).shape
(2, 10)
"""

from __future__ import annotations

from convnp.arraymath.conv_arithmetic import conv_output_size
from convnp.nn.activation import ReLU
from convnp.nn.containers import Sequential
from convnp.nn.conv import Conv2d
from convnp.nn.linear import Flatten, Linear
from convnp.nn.module import Module
from convnp.nn.pooling import MaxPool2d

__all__ = ["TinyVGG", "tinyvgg"]


def _block(in_channels: int, hidden: int) -> Sequential:
    return Sequential(
        Conv2d(in_channels, hidden, kernel_size=3, stride=1, padding=0),
        ReLU(),
        Conv2d(hidden, hidden, kernel_size=3, stride=1, padding=0),
        ReLU(),
        MaxPool2d(kernel_size=2, stride=2),
    )


class TinyVGG(Module):
    """CNN Explainer's TinyVGG: ``block1``, ``block2``, ``classifier``.

    Args: num_classes=10, in_channels=3, hidden_units=10 (filters per convolution),
    input_size=64 (height = width of the images; sizes the classifier).
    Shape: (N, in_channels, input_size, input_size) -> (N, num_classes).
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 3, hidden_units: int = 10, input_size: int = 64
    ) -> None:
        super().__init__()
        side = input_size
        for _ in range(2):  # two blocks: -2, -2, then halve
            side = conv_output_size(conv_output_size(conv_output_size(side, 3), 3), 2, 2)
        if side < 1:
            raise ValueError(
                f"TinyVGG: input_size is too small for two blocks of two 3x3 convolutions and a "
                f"2x2 max pool (expected at least 16). Received: input_size={input_size}"
            )
        self.block1 = _block(in_channels, hidden_units)
        self.block2 = _block(hidden_units, hidden_units)
        self.classifier = Sequential(Flatten(), Linear(hidden_units * side * side, num_classes))

    def forward(self, x):
        x = self.block1(x)  # (N, 3, 64, 64) -> (N, 10, 30, 30)
        x = self.block2(x)  # -> (N, 10, 13, 13)
        return self.classifier(x)  # -> (N, num_classes)


def tinyvgg(num_classes: int = 10, in_channels: int = 3, hidden_units: int = 10, input_size: int = 64) -> TinyVGG:
    """TinyVGG of CNN Explainer (19,920 parameters for 10 classes at 64x64)."""
    return TinyVGG(num_classes=num_classes, in_channels=in_channels, hidden_units=hidden_units, input_size=input_size)
