"""PLACEHOLDER: linear operations, being written."""

def linear(*args, **kwargs):
    raise NotImplementedError('linear')


