"""PLACEHOLDER: normalization operations, being written."""

def batch_norm(*args, **kwargs):
    raise NotImplementedError('batch_norm')


def layer_norm(*args, **kwargs):
    raise NotImplementedError('layer_norm')


def group_norm(*args, **kwargs):
    raise NotImplementedError('group_norm')


def local_response_norm(*args, **kwargs):
    raise NotImplementedError('local_response_norm')


