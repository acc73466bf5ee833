"""PLACEHOLDER: correlation operations, being written."""

def correlate2d(*args, **kwargs):
    raise NotImplementedError('correlate2d')


def convolve2d(*args, **kwargs):
    raise NotImplementedError('convolve2d')


