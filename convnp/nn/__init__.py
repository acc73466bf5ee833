"""convnp.nn: layers and the functional operations they call.

``Module`` and ``Parameter`` (module.py) are the machinery every layer stands on; the containers
(``Sequential``, ``ModuleList``, ``ModuleDict``, ``Identity``) hold layers; ``init`` initialises
weights; ``functional`` holds the operations under PyTorch's names. The layers, one class per
operation with PyTorch's constructor signatures: conv.py, pooling.py, linear.py, dropout.py,
activation.py, normalization.py, loss.py. Every layer answers ``output_shape(input_shape)``; window
layers expose their ``window`` (a ``convnp.arraymath.conv_arithmetic.Window``); tracing.py watches
one forward pass with hooks (for ``cn.summary`` and ``convnp.inspect``).
"""

from convnp.nn import functional
from convnp.nn import init
from convnp.nn.containers import Identity, ModuleDict, ModuleList, Sequential
from convnp.nn.module import LayerInputError, LoadStateDictError, Module, Parameter
from convnp.nn.activation import ELU, GELU, LeakyReLU, LogSoftmax, PReLU, ReLU, Sigmoid, Softmax, Tanh
from convnp.nn.activation import Hardsigmoid, Hardswish, ReLU6, SiLU
from convnp.nn.conv import (
    Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, LocallyConnected2d,
)
from convnp.nn.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d
from convnp.nn.linear import Flatten, Linear, Unflatten
from convnp.nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, FocalLoss, MSELoss, NLLLoss
from convnp.nn.normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, LayerNorm, LocalResponseNorm
from convnp.nn.normalization import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from convnp.nn.resampling import PixelShuffle, PixelUnshuffle, Upsample
from convnp.nn.padding import (
    CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d, ReflectionPad1d,
    ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, ZeroPad1d, ZeroPad2d,
    ZeroPad3d,
)
from convnp.nn.pooling import (
    AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d,
    MaxUnpool2d,
)

__all__ = ["functional", "init", "Module", "Parameter", "LayerInputError", "LoadStateDictError",
           "Sequential", "ModuleList", "ModuleDict", "Identity",
           # layers
           "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "LocallyConnected2d",
           "MaxPool1d", "MaxPool2d", "MaxPool3d", "MaxUnpool2d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
           "Linear", "Flatten", "Unflatten", "Dropout", "Dropout2d",
           "Dropout1d", "Dropout3d", "AlphaDropout",
           "Upsample", "PixelShuffle", "PixelUnshuffle",
           "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
           "ReLU", "LeakyReLU", "PReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
           "ReLU6", "Hardsigmoid", "Hardswish", "SiLU",
           "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "LocalResponseNorm",
           "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "BCEWithLogitsLoss", "FocalLoss"]
