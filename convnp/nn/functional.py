"""convnp.nn.functional: every operation of a CNN under PyTorch's names, argument order and defaults.

The implementations live in convnp/ops/, one file per family, forward beside backward.
"""

from convnp.ops.convolution import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d
from convnp.ops.correlation import correlate2d, convolve2d
from convnp.ops.locally_connected import locally_connected2d
from convnp.ops.padding import pad
from convnp.ops.pooling import max_pool1d, max_pool2d, max_pool3d, max_unpool2d, avg_pool1d, avg_pool2d, avg_pool3d, adaptive_avg_pool2d, adaptive_max_pool2d
from convnp.ops.linear import linear
from convnp.ops.dropout import dropout, dropout2d, dropout1d, dropout3d, alpha_dropout
from convnp.ops.resampling import interpolate, pixel_shuffle, pixel_unshuffle
from convnp.ops.activation import relu, leaky_relu, prelu, elu, gelu, sigmoid, tanh, softmax, log_softmax
from convnp.ops.activation import relu6, hardsigmoid, hardswish, silu
from convnp.ops.normalization import batch_norm, layer_norm, group_norm, local_response_norm, instance_norm
from convnp.ops.loss import cross_entropy, nll_loss, mse_loss, binary_cross_entropy_with_logits, focal_loss

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "correlate2d",
    "convolve2d",
    "locally_connected2d",
    "pad",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool2d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "linear",
    "dropout",
    "dropout2d",
    "dropout1d",
    "dropout3d",
    "alpha_dropout",
    "interpolate",
    "pixel_shuffle",
    "pixel_unshuffle",
    "relu",
    "leaky_relu",
    "prelu",
    "elu",
    "gelu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "relu6",
    "hardsigmoid",
    "hardswish",
    "silu",
    "batch_norm",
    "layer_norm",
    "group_norm",
    "local_response_norm",
    "instance_norm",
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "binary_cross_entropy_with_logits",
    "focal_loss",
]
