"""PLACEHOLDER: pooling operations, being written."""

def max_pool1d(*args, **kwargs):
    raise NotImplementedError('max_pool1d')


def max_pool2d(*args, **kwargs):
    raise NotImplementedError('max_pool2d')


def max_pool3d(*args, **kwargs):
    raise NotImplementedError('max_pool3d')


def max_unpool2d(*args, **kwargs):
    raise NotImplementedError('max_unpool2d')


def avg_pool1d(*args, **kwargs):
    raise NotImplementedError('avg_pool1d')


def avg_pool2d(*args, **kwargs):
    raise NotImplementedError('avg_pool2d')


def avg_pool3d(*args, **kwargs):
    raise NotImplementedError('avg_pool3d')


def adaptive_avg_pool2d(*args, **kwargs):
    raise NotImplementedError('adaptive_avg_pool2d')


def adaptive_max_pool2d(*args, **kwargs):
    raise NotImplementedError('adaptive_max_pool2d')


