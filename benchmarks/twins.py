"""PyTorch twins of the benchmarked convnp models: the same architecture under the same layer names.

convnp's models keep torchvision's (or the paper's) names, so ``twin.load_state_dict(
state_dict_to_torch(model.state_dict()))`` gives the twin convnp's very weights, and both sides of
a benchmark row compute the same function of the same numbers.

    lenet5_twin()      convnp.models.lenet5() (variant "modern": ReLU, max pooling; 28x28 zero-padded to 32x32)
    resnet20_twin()    convnp.models.resnet20() (He et al.'s CIFAR ResNet, option-A zero-padding shortcuts)
    cifar_vgg11_twin() the VGG-11-BN feature extractor (Table 1 column A, torchvision's ``features``)
                       with a 512 -> 10 linear head for 32x32 input (see workloads.cifar_vgg11)

This module imports torch; it is part of the benchmarks, never of the library.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# torchvision's VGG column A ("vgg11"); convnp.models.vgg.VGG_CONFIGS holds the same list
VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


def state_dict_to_torch(state: dict) -> dict:
    """convnp's state dict (dotted name -> NumPy array) as torch tensors, for ``load_state_dict``."""
    return {k: torch.from_numpy(np.ascontiguousarray(v).copy()) for k, v in state.items()}


class LeNet5(nn.Module):
    """c1 5x5 (1->6) -> max 2 -> c3 5x5 (6->16) -> max 2 -> c5 5x5 (16->120) -> f6 (120->84) -> output, ReLU."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(in_channels, 6, 5)
        self.s2 = nn.MaxPool2d(2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.s4 = nn.MaxPool2d(2)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.flatten = nn.Flatten()
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)
        self.act = nn.ReLU()

    def forward(self, x):
        if x.shape[-2:] == (28, 28):
            x = F.pad(x, (2, 2, 2, 2))  # (N, C, 28, 28) -> (N, C, 32, 32)
        x = self.s2(self.act(self.c1(x)))
        x = self.s4(self.act(self.c3(x)))
        x = self.act(self.c5(x))
        x = self.act(self.f6(self.flatten(x)))
        return self.output(x)


class PadShortcut(nn.Module):
    """Option A shortcut: x[:, :, ::s, ::s] zero-padded with (C_out - C_in) channels, half before."""

    def __init__(self, in_planes: int, out_planes: int, stride: int = 2) -> None:
        super().__init__()
        self.extra = out_planes - in_planes
        self.s = stride

    def forward(self, x):
        x = x[:, :, :: self.s, :: self.s]
        return F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))


class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class CifarResNet(nn.Module):
    def __init__(self, layers=(3, 3, 3), num_classes: int = 10, in_channels: int = 3, widths=(16, 32, 64)) -> None:
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.stages = len(widths)
        for i, (planes, blocks) in enumerate(zip(widths, layers)):
            stride = 1 if i == 0 else 2
            down = PadShortcut(self.inplanes, planes, stride) if stride != 1 or self.inplanes != planes else None
            mods = [BasicBlock(self.inplanes, planes, stride, down)]
            self.inplanes = planes
            mods += [BasicBlock(planes, planes) for _ in range(1, blocks)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*mods))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))


def make_layers(cfg, batch_norm: bool = True, in_channels: int = 3) -> nn.Sequential:
    """torchvision.models.vgg.make_layers: conv3x3 p1 [+ BatchNorm2d] + ReLU per int, MaxPool2d(2) per 'M'."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=True))
            in_channels = v
    return nn.Sequential(*layers)


class CifarVGG(nn.Module):
    """``features`` (VGG-11-BN, 32x32 -> 512x1x1), flatten, ``classifier`` Linear(512, num_classes)."""

    def __init__(self, cfg=VGG11, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.features = make_layers(cfg, batch_norm=True, in_channels=in_channels)
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def lenet5_twin() -> LeNet5:
    return LeNet5()


def resnet20_twin() -> CifarResNet:
    return CifarResNet((3, 3, 3))


def cifar_vgg11_twin() -> CifarVGG:
    return CifarVGG()


TWINS = {"lenet5": lenet5_twin, "resnet20": resnet20_twin, "vgg11_cifar": cifar_vgg11_twin}


def twin(name: str):
    """A fresh PyTorch twin of the convnp model of that name (benchmarks.workloads.convnp_model)."""
    return TWINS[name]()
