"""The operations of a CNN, one file per family, each forward beside its hand-written backward.

convolution      conv1d/2d/3d and conv_transpose1d/2d/3d (im2col + GEMM; the backward duality)
sliding          the sliding dot product / sliding window in plain loops (convolution, pooling): the
                 slow, obviously correct oracle that tests hold both tiers to
correlation      correlate2d / convolve2d: cross-correlation versus true convolution
locally_connected  a convolution without weight sharing
padding          pad: constant (zeros), reflect, replicate, circular
pooling          max / average / adaptive pooling, max_unpool2d
linear           the fully connected layer
dropout          inverted dropout, dropout2d
activation       relu, leaky_relu, prelu, elu, gelu, sigmoid, tanh, softmax, log_softmax
normalization    batch_norm, layer_norm, group_norm, local_response_norm
loss             cross_entropy, nll_loss, mse_loss, binary_cross_entropy_with_logits, focal_loss

The public names are gathered in convnp.nn.functional.
"""

# the old convolution switch, now a thin alias of cn.set_engine(conv=...); the BLAS the kernels run on
from convnp.kernels.conv import blas_info, conv_engine, get_conv_engine, set_conv_engine  # noqa: F401
