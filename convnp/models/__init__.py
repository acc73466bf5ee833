"""convnp.models: the classic networks of the lectures, each built the way its paper describes.

=================  ==========================================================  ================
name               network                                                     torchvision twin
=================  ==========================================================  ================
lenet5             LeNet-5 (LeCun et al. 1998); variant "modern" | "original"  -
alexnet            AlexNet (Krizhevsky et al. 2012)                            alexnet
zfnet              ZFNet (Zeiler & Fergus 2014)                                -
vgg11 ... vgg19    VGG A, B, D, E (Simonyan & Zisserman 2015), and ``_bn``     vgg11 ... vgg19_bn
googlenet          GoogLeNet / Inception v1 (Szegedy et al. 2015)              googlenet
resnet18 ... 152   ResNet for ImageNet (He et al. 2016)                        resnet18 ... 152
resnet20 ... 110   ResNet for CIFAR-10, option A shortcuts (He et al. 2016)    -
tinyvgg            TinyVGG of CNN Explainer (Wang et al. 2020)                 -
=================  ==========================================================  ================

Every constructor takes ``num_classes`` and ``in_channels``; the torchvision twins have exactly
torchvision's module tree, parameter names and shapes, so a torchvision state dict (converted to
NumPy arrays) loads with ``load_state_dict(strict=True)``.

>>> import convnp as cn
>>> model = get_model("resnet20", num_classes=10)
>>> "vgg16_bn" in list_models()
True
"""

from __future__ import annotations

from collections.abc import Callable

from convnp.models.alexnet import AlexNet, alexnet
from convnp.models.googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from convnp.models.lenet import LeNet5, lenet5
from convnp.models.resnet import (
    BasicBlock,
    Bottleneck,
    CifarResNet,
    ResNet,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet44,
    resnet50,
    resnet56,
    resnet101,
    resnet110,
    resnet152,
)
from convnp.models.tinyvgg import TinyVGG, tinyvgg
from convnp.models.vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn
from convnp.models.zfnet import ZFNet, zfnet
from convnp.nn.module import Module

__all__ = [
    "get_model",
    "list_models",
    "MODELS",
    "LeNet5",
    "AlexNet",
    "ZFNet",
    "VGG",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "ResNet",
    "CifarResNet",
    "BasicBlock",
    "Bottleneck",
    "TinyVGG",
    "lenet5",
    "alexnet",
    "zfnet",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "googlenet",
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
    "tinyvgg",
]

# model name -> constructor (each takes num_classes and in_channels, and its own keywords)
MODELS: dict[str, Callable[..., Module]] = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "zfnet": zfnet,
    "vgg11": vgg11,
    "vgg11_bn": vgg11_bn,
    "vgg13": vgg13,
    "vgg13_bn": vgg13_bn,
    "vgg16": vgg16,
    "vgg16_bn": vgg16_bn,
    "vgg19": vgg19,
    "vgg19_bn": vgg19_bn,
    "googlenet": googlenet,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnet152": resnet152,
    "resnet20": resnet20,
    "resnet32": resnet32,
    "resnet44": resnet44,
    "resnet56": resnet56,
    "resnet110": resnet110,
    "tinyvgg": tinyvgg,
}


def list_models() -> list[str]:
    """The names :func:`get_model` knows, sorted."""
    return sorted(MODELS)


def get_model(name: str, **kwargs) -> Module:
    """Build the model registered as ``name`` (case-insensitive), passing ``kwargs`` (num_classes,
    in_channels, variant, aux_logits, ...) to its constructor.

    >>> get_model("lenet5", variant="original").variant
    'original'
    """
    if not isinstance(name, str):
        raise TypeError(f"get_model: name must be a string. Received: name={name!r}")
    key = name.lower()
    if key not in MODELS:
        raise ValueError(
            f"get_model: unknown model {name!r}. Expected one of: {', '.join(list_models())}. Received: name={name!r}"
        )
    return MODELS[key](**kwargs)
