"""PLACEHOLDER: convolution operations, being written."""

def conv1d(*args, **kwargs):
    raise NotImplementedError('conv1d')


def conv2d(*args, **kwargs):
    raise NotImplementedError('conv2d')


def conv3d(*args, **kwargs):
    raise NotImplementedError('conv3d')


def conv_transpose1d(*args, **kwargs):
    raise NotImplementedError('conv_transpose1d')


def conv_transpose2d(*args, **kwargs):
    raise NotImplementedError('conv_transpose2d')


def conv_transpose3d(*args, **kwargs):
    raise NotImplementedError('conv_transpose3d')


