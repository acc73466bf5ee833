"""convnp.nn.functional: every operation of a CNN under PyTorch's names, argument order and defaults.

The implementations live in convnp/ops/, one file per family, forward beside backward.
"""

from convnp.ops.activation import (
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    leaky_relu,
    log_softmax,
    prelu,
    relu,
    relu6,
    sigmoid,
    silu,
    softmax,
    tanh,
)
from convnp.ops.convolution import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d
from convnp.ops.correlation import convolve2d, correlate2d
from convnp.ops.dropout import alpha_dropout, dropout, dropout1d, dropout2d, dropout3d
from convnp.ops.linear import linear
from convnp.ops.locally_connected import locally_connected2d
from convnp.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    focal_loss,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from convnp.ops.normalization import batch_norm, group_norm, instance_norm, layer_norm, local_response_norm
from convnp.ops.padding import pad
from convnp.ops.pooling import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool2d,
)
from convnp.ops.resampling import interpolate, pixel_shuffle, pixel_unshuffle

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
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "binary_cross_entropy",
    "kl_div",
]
