"""PLACEHOLDER: locally_connected operations, being written."""

def locally_connected2d(*args, **kwargs):
    raise NotImplementedError('locally_connected2d')


